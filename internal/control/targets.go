package control

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	ekstypes "github.com/aws/aws-sdk-go-v2/service/eks/types"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/stratolab/stratolab/internal/controlapi"
)

// Status tags the workflow writes on the targets it acts on.
const (
	TagLastAction   = "stratolab:control:last-action"
	TagLastActionAt = "stratolab:control:last-action-at"
	TagLastActionBy = "stratolab:control:last-action-by"
)

// StatusTagKeys are the only tag keys the workflow writes (its role may write no others).
var StatusTagKeys = []string{TagLastAction, TagLastActionAt, TagLastActionBy}

// Missing is the state of a target that does not exist (or, for EC2, is terminated).
const Missing = "missing"

// Observed is one target as AWS reports it now.
type Observed struct {
	controlapi.Target
	// Type is KindEC2, KindAutoScaling or KindECS (Kind may be a module's).
	Type string
	// Reason is EC2's state reason ("Server.InsufficientInstanceCapacity: ..."), when it gives one.
	Reason string
	// StatusOK: both EC2 status checks passed.
	StatusOK bool
	// Desired, Running, Min, Max: a group's or service's sizes (Running: in service / running tasks).
	Desired, Running, Min, Max int
	// Settled: an ECS service has one deployment and it is COMPLETED.
	Settled bool
	// Instances is every instance of a group, in service or not (a stop waits until there are none).
	Instances int
	// Arn is an ECS service's ARN (its status tags go there).
	Arn string
}

// Observation is a stage's targets and its target groups' health, now.
type Observation struct {
	Targets []Observed
	// Unhealthy names each target group whose targets are not all healthy (or that has none).
	Unhealthy []string
	// NoMatch is set when the stage's tags match no instance.
	NoMatch bool
}

func (c *Clients) observe(ctx context.Context, st Stage) (Observation, error) {
	var ob Observation
	ec2s, noMatch, err := c.observeEC2(ctx, st)
	if err != nil {
		return ob, err
	}
	ob.NoMatch = noMatch
	ob.Targets = append(ob.Targets, ec2s...)
	if len(st.AutoScalingGroups) > 0 {
		out, err := c.AutoScaling.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: st.AutoScalingGroups})
		if err != nil {
			return ob, fmt.Errorf("describe auto scaling groups %s: %w", strings.Join(st.AutoScalingGroups, ", "), err)
		}
		byName := map[string]astypes.AutoScalingGroup{}
		for _, g := range out.AutoScalingGroups {
			byName[aws.ToString(g.AutoScalingGroupName)] = g
		}
		for _, name := range st.AutoScalingGroups {
			o := Observed{Type: KindAutoScaling, Target: controlapi.Target{Kind: kind(st, KindAutoScaling), ID: name, State: Missing}}
			if g, ok := byName[name]; ok {
				o.Desired, o.Min, o.Max = int(aws.ToInt32(g.DesiredCapacity)), int(aws.ToInt32(g.MinSize)), int(aws.ToInt32(g.MaxSize))
				for _, in := range g.Instances {
					if in.LifecycleState == astypes.LifecycleStateInService && aws.ToString(in.HealthStatus) == "Healthy" {
						o.Running++
					}
				}
				o.Instances = len(g.Instances)
				o.State = fmt.Sprintf("%d/%d in service", o.Running, o.Desired)
				if len(g.Instances) > o.Running {
					o.State += fmt.Sprintf(", %d other", len(g.Instances)-o.Running)
				}
				for _, t := range g.Tags {
					o.setStatusTag(aws.ToString(t.Key), aws.ToString(t.Value))
				}
			}
			ob.Targets = append(ob.Targets, o)
		}
	}
	byCluster := map[string][]string{}
	var clusters []string
	for _, cs := range st.ECSServices {
		cl, svc, _ := strings.Cut(cs, "/")
		if _, ok := byCluster[cl]; !ok {
			clusters = append(clusters, cl)
		}
		byCluster[cl] = append(byCluster[cl], svc)
	}
	for _, cl := range clusters {
		out, err := c.ECS.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(cl), Services: byCluster[cl]})
		if err != nil {
			return ob, fmt.Errorf("describe ECS services of cluster %s: %w", cl, err)
		}
		found := map[string]Observed{}
		for _, s := range out.Services {
			o := Observed{Desired: int(s.DesiredCount), Running: int(s.RunningCount), Arn: aws.ToString(s.ServiceArn)}
			o.Settled = len(s.Deployments) == 1 && string(s.Deployments[0].RolloutState) != "IN_PROGRESS" && string(s.Deployments[0].RolloutState) != "FAILED"
			o.State = fmt.Sprintf("%d/%d tasks", o.Running, o.Desired)
			if aws.ToString(s.Status) != "ACTIVE" {
				o.State = Missing
			}
			found[aws.ToString(s.ServiceName)] = o
		}
		for _, svc := range byCluster[cl] {
			o, ok := found[svc]
			if !ok {
				o.State = Missing
			}
			o.Type, o.Kind, o.ID = KindECS, kind(st, KindECS), cl+"/"+svc
			ob.Targets = append(ob.Targets, o)
		}
	}
	if err := c.observeEKS(ctx, st, &ob); err != nil {
		return ob, err
	}
	for _, tg := range st.TargetGroupArns {
		out, err := c.ELB.DescribeTargetHealth(ctx, &elasticloadbalancingv2.DescribeTargetHealthInput{TargetGroupArn: aws.String(tg)})
		if err != nil {
			return ob, fmt.Errorf("describe target health of %s: %w", tg, err)
		}
		healthy := 0
		for _, d := range out.TargetHealthDescriptions {
			if d.TargetHealth != nil && string(d.TargetHealth.State) == "healthy" {
				healthy++
			}
		}
		if healthy == 0 || healthy < len(out.TargetHealthDescriptions) {
			ob.Unhealthy = append(ob.Unhealthy, fmt.Sprintf("%s (healthy %d/%d)", shortTG(tg), healthy, len(out.TargetHealthDescriptions)))
		}
	}
	return ob, nil
}

// observeEKS reads each managed node group's scaling and, through its Auto Scaling group, its nodes in service.
func (c *Clients) observeEKS(ctx context.Context, st Stage, ob *Observation) error {
	if len(st.EKSNodegroups) == 0 {
		return nil
	}
	if c.EKS == nil {
		return fmt.Errorf("stage %s has EKS node groups but no EKS client", st.Name)
	}
	for _, id := range st.EKSNodegroups {
		cluster, name, _ := strings.Cut(id, "/")
		o := Observed{Type: KindEKS, Target: controlapi.Target{Kind: kind(st, KindEKS), ID: id, State: Missing}}
		out, err := c.EKS.DescribeNodegroup(ctx, &eks.DescribeNodegroupInput{ClusterName: aws.String(cluster), NodegroupName: aws.String(name)})
		var nf *ekstypes.ResourceNotFoundException
		if errors.As(err, &nf) {
			ob.Targets = append(ob.Targets, o)
			continue
		}
		if err != nil {
			return fmt.Errorf("describe node group %s: %w", id, err)
		}
		ng := out.Nodegroup
		if sc := ng.ScalingConfig; sc != nil {
			o.Min, o.Max, o.Desired = int(aws.ToInt32(sc.MinSize)), int(aws.ToInt32(sc.MaxSize)), int(aws.ToInt32(sc.DesiredSize))
		}
		o.Settled = ng.Status == ekstypes.NodegroupStatusActive
		if ng.Resources != nil && len(ng.Resources.AutoScalingGroups) > 0 {
			g, err := c.AutoScaling.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{aws.ToString(ng.Resources.AutoScalingGroups[0].Name)}})
			if err != nil {
				return fmt.Errorf("describe the nodes of node group %s: %w", id, err)
			}
			for _, grp := range g.AutoScalingGroups {
				o.Instances = len(grp.Instances)
				for _, in := range grp.Instances {
					if in.LifecycleState == astypes.LifecycleStateInService {
						o.Running++
					}
				}
			}
		}
		o.State = fmt.Sprintf("%s, %d/%d nodes", strings.ToLower(string(ng.Status)), o.Running, o.Desired)
		ob.Targets = append(ob.Targets, o)
	}
	return nil
}

func shortTG(arn string) string {
	if i := strings.Index(arn, ":targetgroup/"); i >= 0 {
		return strings.Split(arn[i+len(":targetgroup/"):], "/")[0]
	}
	return arn
}

func kind(st Stage, k string) string {
	if st.Module != "" {
		return "module:" + st.Module
	}
	return k
}

func (o *Observed) setStatusTag(k, v string) {
	switch k {
	case TagLastAction:
		o.LastAction = v
	case TagLastActionBy:
		o.LastActionBy = v
	case TagLastActionAt:
		if t, err := time.Parse(time.RFC3339, v); err == nil {
			o.LastActionAt = &t
		}
	}
}

// observeEC2 finds the stage's instances that exist and are not terminated (or shutting down).
func (c *Clients) observeEC2(ctx context.Context, st Stage) ([]Observed, bool, error) {
	if len(st.InstanceIDs) == 0 && len(st.InstanceTags) == 0 {
		return nil, false, nil
	}
	alive := ec2types.Filter{Name: aws.String("instance-state-name"), Values: []string{"pending", "running", "stopping", "stopped"}}
	var queries [][]ec2types.Filter
	if len(st.InstanceIDs) > 0 {
		queries = append(queries, []ec2types.Filter{{Name: aws.String("instance-id"), Values: st.InstanceIDs}, alive})
	}
	if len(st.InstanceTags) > 0 {
		f := []ec2types.Filter{alive}
		keys := make([]string, 0, len(st.InstanceTags))
		for k := range st.InstanceTags {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			f = append(f, ec2types.Filter{Name: aws.String("tag:" + k), Values: st.InstanceTags[k]})
		}
		queries = append(queries, f)
	}
	seen := map[string]bool{}
	var out []Observed
	tagged := 0
	for qi, filters := range queries {
		in := &ec2.DescribeInstancesInput{Filters: filters}
		for {
			page, err := c.EC2.DescribeInstances(ctx, in)
			if err != nil {
				return nil, false, fmt.Errorf("describe instances of stage %s: %w", st.Name, err)
			}
			for _, r := range page.Reservations {
				for _, inst := range r.Instances {
					id := aws.ToString(inst.InstanceId)
					if qi == len(queries)-1 && len(st.InstanceTags) > 0 {
						tagged++
					}
					if seen[id] {
						continue
					}
					seen[id] = true
					o := Observed{Type: KindEC2, Target: controlapi.Target{Kind: kind(st, KindEC2), ID: id}}
					if inst.State != nil {
						o.State = string(inst.State.Name)
					}
					if inst.StateReason != nil && aws.ToString(inst.StateReason.Code) != "" {
						o.Reason = aws.ToString(inst.StateReason.Code) + ": " + aws.ToString(inst.StateReason.Message)
					}
					for _, t := range inst.Tags {
						if aws.ToString(t.Key) == "Name" {
							o.Name = aws.ToString(t.Value)
						}
						o.setStatusTag(aws.ToString(t.Key), aws.ToString(t.Value))
					}
					out = append(out, o)
				}
			}
			if page.NextToken == nil {
				break
			}
			in.NextToken = page.NextToken
		}
	}
	for _, id := range st.InstanceIDs {
		if !seen[id] {
			out = append(out, Observed{Type: KindEC2, Target: controlapi.Target{Kind: kind(st, KindEC2), ID: id, State: Missing}})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	var running []string
	for _, o := range out {
		if o.State == "running" {
			running = append(running, o.ID)
		}
	}
	if len(running) > 0 {
		status := map[string]ec2types.InstanceStatus{}
		in := &ec2.DescribeInstanceStatusInput{InstanceIds: running, IncludeAllInstances: aws.Bool(true)}
		for {
			page, err := c.EC2.DescribeInstanceStatus(ctx, in)
			if err != nil {
				return nil, false, fmt.Errorf("describe instance status of stage %s: %w", st.Name, err)
			}
			for _, s := range page.InstanceStatuses {
				status[aws.ToString(s.InstanceId)] = s
			}
			if page.NextToken == nil {
				break
			}
			in.NextToken = page.NextToken
		}
		for i := range out {
			s, ok := status[out[i].ID]
			if !ok || out[i].State != "running" {
				continue
			}
			inst, sys := "", ""
			if s.InstanceStatus != nil {
				inst = string(s.InstanceStatus.Status)
			}
			if s.SystemStatus != nil {
				sys = string(s.SystemStatus.Status)
			}
			out[i].StatusOK = inst == "ok" && sys == "ok"
			switch {
			case out[i].StatusOK:
				out[i].Checks = "ok"
			case inst == "impaired" || sys == "impaired":
				out[i].Checks = "impaired"
			default:
				out[i].Checks = "initializing"
			}
		}
	}
	return out, len(st.InstanceTags) > 0 && tagged == 0, nil
}

// Verdict is what a stage's check found.
type Verdict struct {
	// Status is controlapi.StageReady, StageWaiting or StageFailed.
	Status  string
	Ready   int
	Total   int
	Message string
}

// assess decides whether the stage is done, still going or failed, from what observe saw. deferred
// are the instances act could not start yet because they were stopping.
func assess(st Stage, action controlapi.Action, ob Observation, deferred map[string]bool) Verdict {
	v := Verdict{Total: len(ob.Targets)}
	var waiting, failed []string
	if action == controlapi.Start && ob.NoMatch {
		failed = append(failed, "no instance matches "+TagFilterString(st.InstanceTags)+" (or every match is terminated)")
	}
	for _, t := range ob.Targets {
		name := t.ID
		if t.Name != "" {
			name = t.Name + " (" + t.ID + ")"
		}
		ready, why, terminal := targetReady(st, action, t, deferred[t.ID])
		switch {
		case ready:
			v.Ready++
		case terminal:
			failed = append(failed, name+": "+why)
		default:
			waiting = append(waiting, name+": "+why)
		}
	}
	if action == controlapi.Start && len(ob.Unhealthy) > 0 && len(failed) == 0 {
		waiting = append(waiting, "target group "+strings.Join(ob.Unhealthy, ", ")+" not healthy")
	}
	switch {
	case len(failed) > 0:
		v.Status, v.Message = controlapi.StageFailed, strings.Join(failed, "; ")
	case len(waiting) > 0:
		v.Status, v.Message = controlapi.StageWaiting, "waiting for "+strings.Join(waiting, "; ")
	default:
		v.Status = controlapi.StageReady
	}
	return v
}

// targetReady: is the target where action wants it, and if not, is that final (terminal)?
func targetReady(st Stage, action controlapi.Action, t Observed, deferred bool) (ready bool, why string, terminal bool) {
	if t.State == Missing {
		if action == controlapi.Stop {
			return true, "", false // nothing left to stop
		}
		return false, "does not exist (or is terminated)", true
	}
	if t.Type == KindEC2 {
		if action == controlapi.Stop {
			return t.State == "stopped", "is " + t.State, false
		}
		switch t.State {
		case "running":
			if st.Wait == WaitStatusChecks && !t.StatusOK {
				if t.Checks == "impaired" {
					return false, "status checks impaired", true
				}
				return false, "status checks " + orDash(t.Checks), false
			}
			return true, "", false
		case "pending":
			return false, "is pending", false
		case "stopping":
			return false, "is stopping (it is started once stopped)", false
		case "stopped":
			if deferred {
				return false, "is stopped (being started)", false
			}
			// Started, then back to stopped: EC2 gave up (InsufficientInstanceCapacity, a KMS key it
			// may not use, an internal error). Waiting longer would not help.
			reason := t.Reason
			if reason == "" {
				reason = "no reason given"
			}
			return false, "went back to stopped after the start (" + reason + ")", true
		}
		return false, "is " + t.State, true
	}
	if action == controlapi.Stop {
		return t.Running == 0 && t.Desired == 0 && t.Instances == 0, "has " + t.State, false
	}
	if t.Type == KindEKS {
		// A user node group scaled from zero by the cluster autoscaler is ready at 0 nodes.
		if !t.Settled {
			return false, "is " + t.State, false
		}
		return t.Running >= t.Desired, "has " + t.State, false
	}
	if t.Desired == 0 {
		return false, "has a desired size of 0", true
	}
	if t.Type == KindECS && !t.Settled {
		return false, "has " + t.State + ", deployment in progress", false
	}
	return t.Running >= t.Desired, "has " + t.State, false
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
