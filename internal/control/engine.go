package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/applicationautoscaling"
	aastypes "github.com/aws/aws-sdk-go-v2/service/applicationautoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	ekstypes "github.com/aws/aws-sdk-go-v2/service/eks/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/stratolab/stratolab/internal/controlapi"
)

// Events the workflow puts on the default bus.
const (
	EventSource          = "stratolab.control"
	EventStageChanged    = "Control stage changed"
	EventRunFinished     = "Control run finished"
	EventRunStarted      = "Control run started"
	ScheduleBy           = "schedule"
	executionTimeLayout  = time.RFC3339Nano
	defaultTimeoutSecond = 900
)

// Engine runs the workflow's steps for one environment. The state machine calls Begin once, then
// for each stage Act once and Check until it is not waiting, then Finish.
type Engine struct {
	Clients  *Clients
	Table    *Table
	Instance string
	// TopicArn, when set, gets a message at the end of each run.
	TopicArn string
}

// Execution names the Step Functions execution a step runs in.
type Execution struct {
	Name    string `json:"execution"`
	Arn     string `json:"execution_arn"`
	Started string `json:"started"` // $$.Execution.StartTime
}

func (x Execution) startTime() time.Time {
	t, err := time.Parse(executionTimeLayout, x.Started)
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}

// BeginInput is the first step's payload.
type BeginInput struct {
	Execution
	Action string `json:"action"`
	By     string `json:"by"`
	// ScheduledTime is set by the schedule (Scheduler's <aws.scheduler.scheduled-time>), "" otherwise.
	ScheduledTime string    `json:"scheduled_time"`
	Schedule      *Schedule `json:"schedule"`
	// Stages are the stage names in start order (a stop visits them in reverse).
	Stages []string `json:"stages"`
}

// BeginOutput says whether the run goes on.
type BeginOutput struct {
	Skip   bool   `json:"skip"`
	Reason string `json:"reason,omitempty"`
}

// Begin takes the environment's lock (refusing with a *controlapi.BusyError while another execution
// runs, taking over a lock whose execution has ended), or, for a scheduled run that a hold or a skip
// date cancels, records a skipped run and takes nothing.
func (e *Engine) Begin(ctx context.Context, in BeginInput) (BeginOutput, error) {
	action := controlapi.Action(in.Action)
	if !action.Valid() {
		return BeginOutput{}, fmt.Errorf("action %q is not start or stop", in.Action)
	}
	by := in.By
	if by == "" {
		by = "unknown"
	}
	started := in.startTime()
	if started.IsZero() {
		started = e.Clients.now()
	}
	run := controlapi.Run{ID: in.Name, Environment: e.Table.Env, Action: action, Status: controlapi.RunRunning, StartedBy: by, StartedAt: started}
	for i := range in.Stages {
		name := in.Stages[i]
		if action == controlapi.Stop {
			name = in.Stages[len(in.Stages)-1-i]
		}
		run.Stages = append(run.Stages, controlapi.StageProgress{Name: name, Status: controlapi.StagePending})
	}
	if in.ScheduledTime != "" && in.Schedule != nil {
		at, err := time.Parse(time.RFC3339, in.ScheduledTime)
		if err != nil {
			return BeginOutput{}, fmt.Errorf("scheduled_time %q: %w", in.ScheduledTime, err)
		}
		hold, err := e.Table.Hold(ctx)
		if err != nil {
			return BeginOutput{}, err
		}
		if why := in.Schedule.Skipped(action, at, hold); why != "" {
			now := e.Clients.now()
			run.Status, run.StoppedAt, run.Error = controlapi.RunSkipped, &now, why
			for i := range run.Stages {
				run.Stages[i].Status = controlapi.StageSkipped
			}
			if err := e.Table.PutRun(ctx, run); err != nil {
				return BeginOutput{}, err
			}
			e.event(ctx, EventRunFinished, map[string]any{"environment": e.Table.Env, "run": run.ID, "action": action, "status": run.Status, "reason": why})
			return BeginOutput{Skip: true, Reason: why}, nil
		}
	}
	if err := e.lock(ctx, Lock{Execution: in.Name, ExecutionArn: in.Arn, Since: started}); err != nil {
		return BeginOutput{}, err
	}
	if err := e.Table.PutRun(ctx, run); err != nil {
		return BeginOutput{}, err
	}
	e.event(ctx, EventRunStarted, map[string]any{"environment": e.Table.Env, "run": run.ID, "action": action, "by": by})
	return BeginOutput{}, nil
}

// lock takes the lock for l, taking it over from an execution that is no longer running.
func (e *Engine) lock(ctx context.Context, l Lock) error {
	return takeLock(ctx, e.Clients, e.Table, l)
}

func takeLock(ctx context.Context, c *Clients, t *Table, l Lock) error {
	for attempt := 0; attempt < 3; attempt++ {
		err := t.TakeLock(ctx, l, "")
		if !errors.Is(err, ErrLockHeld) {
			return err
		}
		holder, err := t.ReadLock(ctx)
		if err != nil {
			return err
		}
		if holder == nil {
			continue // released meanwhile
		}
		running, err := executionRunning(ctx, c, holder.ExecutionArn)
		if err != nil {
			return err
		}
		if running {
			other, ok, err := t.GetRun(ctx, holder.Since, holder.Execution)
			if err != nil || !ok {
				other = controlapi.Run{ID: holder.Execution, Environment: t.Env, Status: controlapi.RunRunning, StartedAt: holder.Since, StartedBy: "unknown", Action: actionOf(holder.Execution)}
			}
			return &controlapi.BusyError{Environment: t.Env, Running: other}
		}
		err = t.TakeLock(ctx, l, holder.Execution)
		if !errors.Is(err, ErrLockHeld) {
			return err
		}
		// Someone else took it over first: look again.
	}
	return fmt.Errorf("the lock of %s changed hands three times while taking it; try again", t.Env)
}

// actionOf guesses a run's action from its name (the CLI and the page name runs <action>-<time>).
func actionOf(name string) controlapi.Action {
	a, _, _ := strings.Cut(name, "-")
	if controlapi.Action(a).Valid() {
		return controlapi.Action(a)
	}
	return ""
}

func executionRunning(ctx context.Context, c *Clients, arn string) (bool, error) {
	if arn == "" {
		return false, nil
	}
	out, err := c.SFN.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)})
	var nf *sfntypes.ExecutionDoesNotExist
	if errors.As(err, &nf) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("describe execution %s: %w", arn, err)
	}
	return out.Status == sfntypes.ExecutionStatusRunning, nil
}

// StageInput is the payload of Act and Check.
type StageInput struct {
	Execution
	Action string `json:"action"`
	By     string `json:"by"`
	Stage  Stage  `json:"stage"`
	// State is what the previous Act or Check returned (nil for Act).
	State *StageState `json:"state,omitempty"`
}

// StageState is what Act and Check return, and the next Check gets back.
type StageState struct {
	// Status is controlapi.StageWaiting, StageReady or StageFailed.
	Status   string `json:"status"`
	Message  string `json:"message,omitempty"`
	Deadline string `json:"deadline"`
	// Deferred are instances that were stopping when the start came; Check starts them once stopped.
	Deferred []string `json:"deferred"`
}

// Act starts or stops the stage's targets and writes their status tags. It returns the state the
// checks begin from, with the stage's deadline.
func (e *Engine) Act(ctx context.Context, in StageInput) (StageState, error) {
	action := controlapi.Action(in.Action)
	st := in.Stage
	now := e.Clients.now()
	timeout := st.TimeoutSeconds
	if timeout <= 0 {
		timeout = defaultTimeoutSecond
	}
	state := StageState{Status: controlapi.StageWaiting, Deadline: now.Add(time.Duration(timeout) * time.Second).Format(time.RFC3339), Deferred: []string{}}
	e.progress(ctx, in.Execution, st.Name, func(p *controlapi.StageProgress) {
		p.Status, p.Started, p.Message = controlapi.StageActing, &now, ""
	})
	ob, err := e.Clients.observe(ctx, st)
	if err != nil {
		return state, err
	}
	var toStart, toStop, tagEC2, tagASG, tagECS []string
	var failures []string
	for _, t := range ob.Targets {
		if t.State == Missing {
			continue
		}
		switch t.Type {
		case KindEC2:
			switch {
			case action == controlapi.Start && t.State == "stopped":
				toStart = append(toStart, t.ID)
			case action == controlapi.Start && t.State == "stopping":
				state.Deferred = append(state.Deferred, t.ID)
			case action == controlapi.Stop && (t.State == "running" || t.State == "pending"):
				toStop = append(toStop, t.ID)
			default:
				continue
			}
			tagEC2 = append(tagEC2, t.ID)
		case KindAutoScaling:
			changed, err := e.sizeGroup(ctx, action, t)
			if err != nil {
				failures = append(failures, err.Error())
			} else if changed {
				tagASG = append(tagASG, t.ID)
			}
		case KindEKS:
			if err := e.sizeNodegroup(ctx, action, t); err != nil {
				failures = append(failures, err.Error())
			}
		case KindECS:
			if err := e.sizeService(ctx, action, t); err != nil {
				failures = append(failures, err.Error())
			} else if t.Arn != "" {
				tagECS = append(tagECS, t.Arn)
			}
		}
	}
	failures = append(failures, e.ec2Call(ctx, action, toStart, toStop)...)
	e.tag(ctx, action, in.By, now, tagEC2, tagASG, tagECS)
	if len(failures) > 0 {
		state.Status, state.Message = controlapi.StageFailed, strings.Join(failures, "; ")
		e.stageDone(ctx, in.Execution, action, st.Name, Verdict{Status: controlapi.StageFailed, Total: len(ob.Targets), Message: state.Message})
		return state, nil
	}
	e.progress(ctx, in.Execution, st.Name, func(p *controlapi.StageProgress) {
		p.Status, p.Total = controlapi.StageWaiting, len(ob.Targets)
	})
	e.event(ctx, EventStageChanged, map[string]any{"environment": e.Table.Env, "run": in.Name, "action": action, "stage": st.Name, "status": controlapi.StageWaiting})
	return state, nil
}

// ec2Call starts or stops the instances, all in one call; when that call fails, one by one, so that
// one broken instance is named and does not hide the others.
func (e *Engine) ec2Call(ctx context.Context, action controlapi.Action, toStart, toStop []string) []string {
	call := func(ids []string) error {
		if action == controlapi.Start {
			_, err := e.Clients.EC2.StartInstances(ctx, &ec2.StartInstancesInput{InstanceIds: ids})
			return err
		}
		_, err := e.Clients.EC2.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: ids})
		return err
	}
	ids := toStart
	if action == controlapi.Stop {
		ids = toStop
	}
	if len(ids) == 0 || call(ids) == nil {
		return nil
	}
	var failures []string
	for _, id := range ids {
		if err := call([]string{id}); err != nil {
			failures = append(failures, fmt.Sprintf("%s %s: %v", action, id, err))
		}
	}
	return failures
}

// sizeGroup restores a group's saved size on start, or saves it and sizes the group to 0 on stop.
func (e *Engine) sizeGroup(ctx context.Context, action controlapi.Action, t Observed) (bool, error) {
	if action == controlapi.Stop {
		if t.Desired == 0 && t.Min == 0 {
			return false, nil
		}
		if err := e.Table.SaveSize(ctx, KindAutoScaling, t.ID, Size{Min: t.Min, Max: t.Max, Desired: t.Desired}); err != nil {
			return false, err
		}
		_, err := e.Clients.AutoScaling.UpdateAutoScalingGroup(ctx, &autoscaling.UpdateAutoScalingGroupInput{AutoScalingGroupName: aws.String(t.ID), MinSize: aws.Int32(0), DesiredCapacity: aws.Int32(0)})
		if err != nil {
			return false, fmt.Errorf("stop group %s: %v", t.ID, err)
		}
		return true, nil
	}
	saved, ok, err := e.Table.SavedSize(ctx, KindAutoScaling, t.ID)
	if err != nil || !ok || t.Desired > 0 {
		return false, err // nothing saved (the group is as it was made) or already sized
	}
	_, err = e.Clients.AutoScaling.UpdateAutoScalingGroup(ctx, &autoscaling.UpdateAutoScalingGroupInput{AutoScalingGroupName: aws.String(t.ID),
		MinSize: aws.Int32(int32(saved.Min)), MaxSize: aws.Int32(int32(max(saved.Max, saved.Desired))), DesiredCapacity: aws.Int32(int32(saved.Desired))})
	if err != nil {
		return false, fmt.Errorf("start group %s: %v", t.ID, err)
	}
	return true, nil
}

// sizeNodegroup saves a managed node group's scaling and sets its minimum and desired size to 0 on
// stop (EKS keeps a maximum of at least 1), and restores it on start.
func (e *Engine) sizeNodegroup(ctx context.Context, action controlapi.Action, t Observed) error {
	cluster, name, _ := strings.Cut(t.ID, "/")
	var sc ekstypes.NodegroupScalingConfig
	if action == controlapi.Stop {
		if t.Desired == 0 && t.Min == 0 {
			return nil
		}
		if err := e.Table.SaveSize(ctx, KindEKS, t.ID, Size{Min: t.Min, Max: t.Max, Desired: t.Desired}); err != nil {
			return err
		}
		sc = ekstypes.NodegroupScalingConfig{MinSize: aws.Int32(0), DesiredSize: aws.Int32(0), MaxSize: aws.Int32(int32(max(t.Max, 1)))}
	} else {
		saved, ok, err := e.Table.SavedSize(ctx, KindEKS, t.ID)
		if err != nil || !ok || t.Desired >= saved.Desired && t.Min >= saved.Min {
			return err
		}
		sc = ekstypes.NodegroupScalingConfig{MinSize: aws.Int32(int32(saved.Min)), DesiredSize: aws.Int32(int32(saved.Desired)), MaxSize: aws.Int32(int32(max(saved.Max, 1)))}
	}
	_, err := e.Clients.EKS.UpdateNodegroupConfig(ctx, &eks.UpdateNodegroupConfigInput{ClusterName: aws.String(cluster), NodegroupName: aws.String(name), ScalingConfig: &sc})
	if err != nil {
		return fmt.Errorf("%s node group %s: %v", action, t.ID, err)
	}
	return nil
}

// KindAppScaling is the kind under which a service's scalable target's bounds are saved.
const KindAppScaling = "appscaling"

// sizeService restores a service's saved desired count on start (its scalable target's bounds first,
// if it has one), or saves them and sets 0 on stop.
func (e *Engine) sizeService(ctx context.Context, action controlapi.Action, t Observed) error {
	cluster, service, _ := strings.Cut(t.ID, "/")
	desired := 0
	if action == controlapi.Stop {
		if t.Desired == 0 {
			return nil
		}
		if err := e.Table.SaveSize(ctx, KindECS, t.ID, Size{Desired: t.Desired}); err != nil {
			return err
		}
		if err := e.boundScaling(ctx, t.ID, nil); err != nil {
			return err
		}
	} else {
		saved, ok, err := e.Table.SavedSize(ctx, KindECS, t.ID)
		if err != nil || !ok || t.Desired > 0 {
			return err
		}
		bounds, ok, err := e.Table.SavedSize(ctx, KindAppScaling, t.ID)
		if err != nil {
			return err
		}
		if ok {
			if err := e.boundScaling(ctx, t.ID, &bounds); err != nil {
				return err
			}
		}
		desired = saved.Desired
	}
	_, err := e.Clients.ECS.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String(cluster), Service: aws.String(service), DesiredCount: aws.Int32(int32(desired))})
	if err != nil {
		return fmt.Errorf("%s service %s: %v", action, t.ID, err)
	}
	return nil
}

// boundScaling sets the bounds of the service's scalable target, if it has one: to 0 (saving the old
// ones) when restore is nil, else back to restore.
func (e *Engine) boundScaling(ctx context.Context, id string, restore *Size) error {
	if e.Clients.AppScaling == nil {
		return nil
	}
	rid := "service/" + id
	out, err := e.Clients.AppScaling.DescribeScalableTargets(ctx, &applicationautoscaling.DescribeScalableTargetsInput{
		ServiceNamespace: aastypes.ServiceNamespaceEcs, ResourceIds: []string{rid}, ScalableDimension: aastypes.ScalableDimensionECSServiceDesiredCount})
	if err != nil {
		return fmt.Errorf("describe the scaling of service %s: %v", id, err)
	}
	if len(out.ScalableTargets) == 0 {
		return nil
	}
	minC, maxC := int32(0), int32(0)
	if restore == nil {
		st := out.ScalableTargets[0]
		if aws.ToInt32(st.MaxCapacity) == 0 {
			return nil // already bounded to 0 by an earlier stop: keep the bounds saved then
		}
		if err := e.Table.SaveSize(ctx, KindAppScaling, id, Size{Min: int(aws.ToInt32(st.MinCapacity)), Max: int(aws.ToInt32(st.MaxCapacity))}); err != nil {
			return err
		}
	} else {
		minC, maxC = int32(restore.Min), int32(restore.Max)
	}
	_, err = e.Clients.AppScaling.RegisterScalableTarget(ctx, &applicationautoscaling.RegisterScalableTargetInput{
		ServiceNamespace: aastypes.ServiceNamespaceEcs, ResourceId: aws.String(rid), ScalableDimension: aastypes.ScalableDimensionECSServiceDesiredCount,
		MinCapacity: aws.Int32(minC), MaxCapacity: aws.Int32(maxC)})
	if err != nil {
		return fmt.Errorf("set the scaling bounds of service %s: %v", id, err)
	}
	return nil
}

// tag writes the status tags on the EC2 instances, groups and services acted on. A failure to tag does not
// fail the stage (the tags are information).
func (e *Engine) tag(ctx context.Context, action controlapi.Action, by string, now time.Time, instances, groups, services []string) {
	values := map[string]string{TagLastAction: string(action), TagLastActionAt: now.Format(time.RFC3339), TagLastActionBy: tagValue(by)}
	if len(instances) > 0 {
		var tags []ec2types.Tag
		for _, k := range StatusTagKeys {
			tags = append(tags, ec2types.Tag{Key: aws.String(k), Value: aws.String(values[k])})
		}
		_, _ = e.Clients.EC2.CreateTags(ctx, &ec2.CreateTagsInput{Resources: instances, Tags: tags})
	}
	for _, g := range groups {
		var tags []astypes.Tag
		for _, k := range StatusTagKeys {
			tags = append(tags, astypes.Tag{Key: aws.String(k), Value: aws.String(values[k]), ResourceId: aws.String(g),
				ResourceType: aws.String("auto-scaling-group"), PropagateAtLaunch: aws.Bool(false)})
		}
		_, _ = e.Clients.AutoScaling.CreateOrUpdateTags(ctx, &autoscaling.CreateOrUpdateTagsInput{Tags: tags})
	}
	for _, arn := range services {
		var tags []ecstypes.Tag
		for _, k := range StatusTagKeys {
			tags = append(tags, ecstypes.Tag{Key: aws.String(k), Value: aws.String(values[k])})
		}
		_, _ = e.Clients.ECS.TagResource(ctx, &ecs.TagResourceInput{ResourceArn: aws.String(arn), Tags: tags})
	}
}

// tagValue keeps what EC2 and Auto Scaling allow in a tag value (letters, digits, spaces, _.:/=+-@).
func tagValue(v string) string {
	var b strings.Builder
	for _, r := range v {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune(" _.:/=+-@", r) {
			b.WriteRune(r)
		} else {
			b.WriteRune('_')
		}
	}
	out := b.String()
	if len(out) > 256 {
		out = out[:256]
	}
	return out
}

// Check looks at the stage's targets again. It starts instances that were stopping when Act ran
// and have stopped since, fails the stage on a terminal state or once the deadline has passed, and
// says ready when every target passed the gate.
func (e *Engine) Check(ctx context.Context, in StageInput) (StageState, error) {
	action := controlapi.Action(in.Action)
	st := in.Stage
	state := StageState{Deferred: []string{}}
	if in.State != nil {
		state = *in.State
		if state.Deferred == nil {
			state.Deferred = []string{}
		}
	}
	ob, err := e.Clients.observe(ctx, st)
	if err != nil {
		return state, err
	}
	deferred := map[string]bool{}
	var stillDeferred, nowStopped []string
	for _, id := range state.Deferred {
		deferred[id] = true
		for _, t := range ob.Targets {
			if t.ID == id {
				if t.State == "stopped" {
					nowStopped = append(nowStopped, id)
				} else if t.State == "stopping" {
					stillDeferred = append(stillDeferred, id)
				}
			}
		}
	}
	if len(nowStopped) > 0 {
		if f := e.ec2Call(ctx, controlapi.Start, nowStopped, nil); len(f) > 0 {
			state.Status, state.Message = controlapi.StageFailed, strings.Join(f, "; ")
			e.stageDone(ctx, in.Execution, action, st.Name, Verdict{Status: controlapi.StageFailed, Total: len(ob.Targets), Message: state.Message})
			return state, nil
		}
	}
	if stillDeferred == nil {
		stillDeferred = []string{}
	}
	state.Deferred = stillDeferred
	v := assess(st, action, ob, deferred)
	if v.Status == controlapi.StageWaiting {
		deadline, err := time.Parse(time.RFC3339, state.Deadline)
		if err == nil && !e.Clients.now().Before(deadline) {
			v.Status = controlapi.StageFailed
			secs := st.TimeoutSeconds
			if secs <= 0 {
				secs = defaultTimeoutSecond
			}
			v.Message = fmt.Sprintf("timed out after %s, still %s", time.Duration(secs)*time.Second, v.Message)
		}
	}
	state.Status, state.Message = v.Status, v.Message
	if v.Status == controlapi.StageWaiting {
		e.progress(ctx, in.Execution, st.Name, func(p *controlapi.StageProgress) {
			p.Status, p.Ready, p.Total, p.Message = controlapi.StageWaiting, v.Ready, v.Total, v.Message
		})
		return state, nil
	}
	e.stageDone(ctx, in.Execution, action, st.Name, v)
	return state, nil
}

func (e *Engine) stageDone(ctx context.Context, x Execution, action controlapi.Action, stage string, v Verdict) {
	now := e.Clients.now()
	e.progress(ctx, x, stage, func(p *controlapi.StageProgress) {
		p.Status, p.Ready, p.Total, p.Message, p.Done = v.Status, v.Ready, v.Total, v.Message, &now
	})
	e.event(ctx, EventStageChanged, map[string]any{"environment": e.Table.Env, "run": x.Name, "action": action, "stage": stage, "status": v.Status, "message": v.Message})
}

// FinishInput is the last step's payload.
type FinishInput struct {
	Execution
	Status string `json:"status"` // succeeded or failed
	// Error is a caught error ({"Error", "Cause"}) or a stage failure, absent on success.
	Error *struct {
		Error string `json:"Error"`
		Cause string `json:"Cause"`
	} `json:"error,omitempty"`
}

// Finish records the run's end, releases the lock and announces the end (event, topic).
func (e *Engine) Finish(ctx context.Context, in FinishInput) (controlapi.Run, error) {
	now := e.Clients.now()
	run, ok, err := e.Table.GetRun(ctx, in.startTime(), in.Name)
	if err != nil {
		return run, err
	}
	if !ok {
		run = controlapi.Run{ID: in.Name, Environment: e.Table.Env, StartedAt: in.startTime()}
	}
	run.Status, run.StoppedAt = controlapi.RunSucceeded, &now
	if in.Status != controlapi.RunSucceeded {
		run.Status = controlapi.RunFailed
		run.Error = "failed"
		if in.Error != nil {
			run.Error = causeMessage(in.Error.Error, in.Error.Cause)
		}
		for i := range run.Stages {
			switch run.Stages[i].Status {
			case controlapi.StagePending:
				run.Stages[i].Status = controlapi.StageSkipped
			case controlapi.StageActing, controlapi.StageWaiting:
				run.Stages[i].Status, run.Stages[i].Done = controlapi.StageFailed, &now
				if run.Stages[i].Message == "" {
					run.Stages[i].Message = run.Error
				}
			}
		}
	}
	if err := e.Table.PutRun(ctx, run); err != nil {
		return run, err
	}
	if err := e.Table.ReleaseLock(ctx, in.Name); err != nil {
		return run, err
	}
	detail := map[string]any{"environment": e.Table.Env, "run": run.ID, "action": run.Action, "status": run.Status, "error": run.Error, "by": run.StartedBy}
	e.event(ctx, EventRunFinished, detail)
	if e.TopicArn != "" && e.Clients.SNS != nil {
		msg, _ := json.MarshalIndent(run, "", "  ")
		subject := fmt.Sprintf("stratolab %s: %s of %s %s", e.Instance, run.Action, e.Table.Env, run.Status)
		if len(subject) > 100 {
			subject = subject[:100]
		}
		// Best effort, like the events: the run is recorded and its lock released, so a topic that refuses
		// the message (a KMS key the role may not use, a deleted topic) must not fail the run afterwards.
		if _, err := e.Clients.SNS.Publish(ctx, &sns.PublishInput{TopicArn: aws.String(e.TopicArn), Subject: aws.String(subject), Message: aws.String(string(msg))}); err != nil {
			fmt.Fprintf(os.Stderr, "control: run %s: the notification to %s failed (the run is recorded): %v\n", run.ID, e.TopicArn, err)
		}
	}
	return run, nil
}

// causeMessage makes a caught error readable: a Lambda error's Cause is JSON with errorMessage.
func causeMessage(errName, cause string) string {
	var le struct {
		ErrorMessage string `json:"errorMessage"`
	}
	if json.Unmarshal([]byte(cause), &le) == nil && le.ErrorMessage != "" {
		cause = le.ErrorMessage
	}
	switch {
	case cause == "":
		return errName
	case errName == "" || errName == "StageFailed":
		return cause
	}
	return errName + ": " + cause
}

// progress updates one stage of the run's record. A failure to record progress does not fail the run.
func (e *Engine) progress(ctx context.Context, x Execution, stage string, f func(*controlapi.StageProgress)) {
	run, ok, err := e.Table.GetRun(ctx, x.startTime(), x.Name)
	if err != nil || !ok {
		return
	}
	for i := range run.Stages {
		if run.Stages[i].Name == stage {
			f(&run.Stages[i])
		}
	}
	_ = e.Table.PutRun(ctx, run)
}

// event puts one event on the default bus; events are information, so a failure is ignored.
func (e *Engine) event(ctx context.Context, detailType string, detail map[string]any) {
	if e.Clients.Events == nil {
		return
	}
	detail["instance"] = e.Instance
	data, _ := json.Marshal(detail)
	_, _ = e.Clients.Events.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{{
		Source: aws.String(EventSource), DetailType: aws.String(detailType), Detail: aws.String(string(data)),
	}}})
}
