package control

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/applicationautoscaling"
	aastypes "github.com/aws/aws-sdk-go-v2/service/applicationautoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	ekstypes "github.com/aws/aws-sdk-go-v2/service/eks/types"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
)

// fakeInstance is one EC2 instance of the fake world.
type fakeInstance struct {
	id, state, reason string
	tags              map[string]string
	instOK, sysOK     string // status checks: ok, initializing, impaired
}

type fakeEC2 struct {
	mu        sync.Mutex
	instances map[string]*fakeInstance
	calls     []string
	// startErr fails StartInstances for these IDs (as EC2 fails the whole call).
	startErr map[string]error
}

func (f *fakeEC2) DescribeInstances(_ context.Context, in *ec2.DescribeInstancesInput, _ ...func(*ec2.Options)) (*ec2.DescribeInstancesOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(in.InstanceIds) > 0 {
		return nil, fmt.Errorf("the fake wants filters, not InstanceIds (an unknown ID would fail the call)")
	}
	var ids []string
	for id := range f.instances {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var out []ec2types.Instance
	for _, id := range ids {
		inst := f.instances[id]
		match := true
		for _, flt := range in.Filters {
			name := aws.ToString(flt.Name)
			var v string
			switch {
			case name == "instance-id":
				v = inst.id
			case name == "instance-state-name":
				v = inst.state
			case strings.HasPrefix(name, "tag:"):
				var ok bool
				if v, ok = inst.tags[strings.TrimPrefix(name, "tag:")]; !ok {
					match = false
				}
			default:
				return nil, fmt.Errorf("filter %s unknown to the fake", name)
			}
			if !slices.Contains(flt.Values, v) {
				match = false
			}
		}
		if !match {
			continue
		}
		i := ec2types.Instance{InstanceId: aws.String(inst.id), State: &ec2types.InstanceState{Name: ec2types.InstanceStateName(inst.state)}}
		if inst.reason != "" {
			code, msg, _ := strings.Cut(inst.reason, ": ")
			i.StateReason = &ec2types.StateReason{Code: aws.String(code), Message: aws.String(msg)}
		}
		for k, v := range inst.tags {
			i.Tags = append(i.Tags, ec2types.Tag{Key: aws.String(k), Value: aws.String(v)})
		}
		out = append(out, i)
	}
	return &ec2.DescribeInstancesOutput{Reservations: []ec2types.Reservation{{Instances: out}}}, nil
}

func (f *fakeEC2) DescribeInstanceStatus(_ context.Context, in *ec2.DescribeInstanceStatusInput, _ ...func(*ec2.Options)) (*ec2.DescribeInstanceStatusOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []ec2types.InstanceStatus
	for _, id := range in.InstanceIds {
		inst := f.instances[id]
		out = append(out, ec2types.InstanceStatus{InstanceId: aws.String(id),
			InstanceStatus: &ec2types.InstanceStatusSummary{Status: ec2types.SummaryStatus(inst.instOK)},
			SystemStatus:   &ec2types.InstanceStatusSummary{Status: ec2types.SummaryStatus(inst.sysOK)}})
	}
	return &ec2.DescribeInstanceStatusOutput{InstanceStatuses: out}, nil
}

func (f *fakeEC2) StartInstances(_ context.Context, in *ec2.StartInstancesInput, _ ...func(*ec2.Options)) (*ec2.StartInstancesOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, id := range in.InstanceIds {
		if err := f.startErr[id]; err != nil {
			f.calls = append(f.calls, "start-failed "+strings.Join(in.InstanceIds, ","))
			return nil, err
		}
		if f.instances[id].state != "stopped" {
			return nil, fmt.Errorf("IncorrectInstanceState: %s is %s", id, f.instances[id].state)
		}
	}
	for _, id := range in.InstanceIds {
		f.instances[id].state, f.instances[id].instOK, f.instances[id].sysOK = "pending", "initializing", "initializing"
	}
	f.calls = append(f.calls, "start "+strings.Join(in.InstanceIds, ","))
	return &ec2.StartInstancesOutput{}, nil
}

func (f *fakeEC2) StopInstances(_ context.Context, in *ec2.StopInstancesInput, _ ...func(*ec2.Options)) (*ec2.StopInstancesOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, id := range in.InstanceIds {
		f.instances[id].state = "stopping"
	}
	f.calls = append(f.calls, "stop "+strings.Join(in.InstanceIds, ","))
	return &ec2.StopInstancesOutput{}, nil
}

func (f *fakeEC2) CreateTags(_ context.Context, in *ec2.CreateTagsInput, _ ...func(*ec2.Options)) (*ec2.CreateTagsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, id := range in.Resources {
		for _, t := range in.Tags {
			if !slices.Contains(StatusTagKeys, aws.ToString(t.Key)) {
				return nil, fmt.Errorf("tag key %s is not a status tag", aws.ToString(t.Key))
			}
			f.instances[id].tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
		}
	}
	return &ec2.CreateTagsOutput{}, nil
}

// set moves an instance to a state (and status checks) as EC2 would over time.
func (f *fakeEC2) set(id, state, checks string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.instances[id].state, f.instances[id].instOK, f.instances[id].sysOK = state, checks, checks
}

type fakeGroup struct {
	min, max, desired, inService int
	terminating                  int
	tags                         map[string]string
}

type fakeASG struct {
	groups map[string]*fakeGroup
	calls  []string
}

func (f *fakeASG) DescribeAutoScalingGroups(_ context.Context, in *autoscaling.DescribeAutoScalingGroupsInput, _ ...func(*autoscaling.Options)) (*autoscaling.DescribeAutoScalingGroupsOutput, error) {
	var out []astypes.AutoScalingGroup
	for _, n := range in.AutoScalingGroupNames {
		g, ok := f.groups[n]
		if !ok {
			continue // Auto Scaling leaves unknown names out
		}
		ag := astypes.AutoScalingGroup{AutoScalingGroupName: aws.String(n), MinSize: aws.Int32(int32(g.min)), MaxSize: aws.Int32(int32(g.max)), DesiredCapacity: aws.Int32(int32(g.desired))}
		for i := 0; i < g.inService; i++ {
			ag.Instances = append(ag.Instances, astypes.Instance{LifecycleState: astypes.LifecycleStateInService, HealthStatus: aws.String("Healthy")})
		}
		for i := 0; i < g.terminating; i++ {
			ag.Instances = append(ag.Instances, astypes.Instance{LifecycleState: astypes.LifecycleStateTerminating, HealthStatus: aws.String("Healthy")})
		}
		for k, v := range g.tags {
			ag.Tags = append(ag.Tags, astypes.TagDescription{Key: aws.String(k), Value: aws.String(v)})
		}
		out = append(out, ag)
	}
	return &autoscaling.DescribeAutoScalingGroupsOutput{AutoScalingGroups: out}, nil
}

func (f *fakeASG) UpdateAutoScalingGroup(_ context.Context, in *autoscaling.UpdateAutoScalingGroupInput, _ ...func(*autoscaling.Options)) (*autoscaling.UpdateAutoScalingGroupOutput, error) {
	g := f.groups[aws.ToString(in.AutoScalingGroupName)]
	if in.MinSize != nil {
		g.min = int(*in.MinSize)
	}
	if in.MaxSize != nil {
		g.max = int(*in.MaxSize)
	}
	if in.DesiredCapacity != nil {
		g.desired = int(*in.DesiredCapacity)
	}
	if g.desired < g.min || g.desired > g.max {
		return nil, fmt.Errorf("ValidationError: desired %d outside %d..%d", g.desired, g.min, g.max)
	}
	f.calls = append(f.calls, fmt.Sprintf("size %s %d/%d/%d", aws.ToString(in.AutoScalingGroupName), g.min, g.desired, g.max))
	return &autoscaling.UpdateAutoScalingGroupOutput{}, nil
}

func (f *fakeASG) CreateOrUpdateTags(_ context.Context, in *autoscaling.CreateOrUpdateTagsInput, _ ...func(*autoscaling.Options)) (*autoscaling.CreateOrUpdateTagsOutput, error) {
	for _, t := range in.Tags {
		g := f.groups[aws.ToString(t.ResourceId)]
		if g.tags == nil {
			g.tags = map[string]string{}
		}
		g.tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return &autoscaling.CreateOrUpdateTagsOutput{}, nil
}

type fakeService struct {
	desired, running int
	tags             map[string]string
}

type fakeECS struct {
	services map[string]*fakeService // cluster/service
	calls    []string
}

func (f *fakeECS) DescribeServices(_ context.Context, in *ecs.DescribeServicesInput, _ ...func(*ecs.Options)) (*ecs.DescribeServicesOutput, error) {
	if len(in.Services) > 10 {
		return nil, fmt.Errorf("InvalidParameterException: at most 10 services")
	}
	out := &ecs.DescribeServicesOutput{}
	for _, n := range in.Services {
		s, ok := f.services[aws.ToString(in.Cluster)+"/"+n]
		if !ok {
			out.Failures = append(out.Failures, ecstypes.Failure{Reason: aws.String("MISSING")})
			continue
		}
		out.Services = append(out.Services, ecstypes.Service{ServiceName: aws.String(n), Status: aws.String("ACTIVE"),
			ServiceArn: aws.String("arn:aws:ecs:eu-central-1:123456789012:service/" + aws.ToString(in.Cluster) + "/" + n), DesiredCount: int32(s.desired), RunningCount: int32(s.running),
			Deployments: []ecstypes.Deployment{{RolloutState: ecstypes.DeploymentRolloutStateCompleted}}})
	}
	return out, nil
}

func (f *fakeECS) UpdateService(_ context.Context, in *ecs.UpdateServiceInput, _ ...func(*ecs.Options)) (*ecs.UpdateServiceOutput, error) {
	k := aws.ToString(in.Cluster) + "/" + aws.ToString(in.Service)
	f.services[k].desired = int(aws.ToInt32(in.DesiredCount))
	f.calls = append(f.calls, fmt.Sprintf("service %s %d", k, f.services[k].desired))
	return &ecs.UpdateServiceOutput{}, nil
}

// fakeAppScaling holds scalable targets by resource ID; calls records each registration, and ecs
// lets a registration scale the service the way Application Auto Scaling would (into the bounds).
type fakeAppScaling struct {
	targets map[string][2]int
	calls   []string
	ecs     *fakeECS
}

func (f *fakeAppScaling) DescribeScalableTargets(_ context.Context, in *applicationautoscaling.DescribeScalableTargetsInput, _ ...func(*applicationautoscaling.Options)) (*applicationautoscaling.DescribeScalableTargetsOutput, error) {
	if in.ServiceNamespace != aastypes.ServiceNamespaceEcs || in.ScalableDimension != aastypes.ScalableDimensionECSServiceDesiredCount {
		return nil, fmt.Errorf("ValidationException: namespace %s dimension %s", in.ServiceNamespace, in.ScalableDimension)
	}
	out := &applicationautoscaling.DescribeScalableTargetsOutput{}
	for _, id := range in.ResourceIds {
		if b, ok := f.targets[id]; ok {
			out.ScalableTargets = append(out.ScalableTargets, aastypes.ScalableTarget{ResourceId: aws.String(id), MinCapacity: aws.Int32(int32(b[0])), MaxCapacity: aws.Int32(int32(b[1]))})
		}
	}
	return out, nil
}

func (f *fakeAppScaling) RegisterScalableTarget(_ context.Context, in *applicationautoscaling.RegisterScalableTargetInput, _ ...func(*applicationautoscaling.Options)) (*applicationautoscaling.RegisterScalableTargetOutput, error) {
	id := aws.ToString(in.ResourceId)
	b := [2]int{int(aws.ToInt32(in.MinCapacity)), int(aws.ToInt32(in.MaxCapacity))}
	f.targets[id] = b
	f.calls = append(f.calls, fmt.Sprintf("bounds %s %d..%d", id, b[0], b[1]))
	if svc := f.ecs.services[strings.TrimPrefix(id, "service/")]; svc != nil {
		svc.desired = min(max(svc.desired, b[0]), b[1])
	}
	return &applicationautoscaling.RegisterScalableTargetOutput{}, nil
}

func (f *fakeECS) TagResource(_ context.Context, in *ecs.TagResourceInput, _ ...func(*ecs.Options)) (*ecs.TagResourceOutput, error) {
	k := strings.TrimPrefix(aws.ToString(in.ResourceArn), "arn:aws:ecs:eu-central-1:123456789012:service/")
	s, ok := f.services[k]
	if !ok {
		return nil, fmt.Errorf("InvalidParameterException: %s", aws.ToString(in.ResourceArn))
	}
	if s.tags == nil {
		s.tags = map[string]string{}
	}
	for _, t := range in.Tags {
		s.tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return &ecs.TagResourceOutput{}, nil
}

// fakeEKS has managed node groups (cluster/name) whose nodes are the fake Auto Scaling group "eks-<name>".
type fakeEKS struct {
	groups map[string]*ekstypes.NodegroupScalingConfig
	asg    *fakeASG
	calls  []string
}

func (f *fakeEKS) DescribeNodegroup(_ context.Context, in *eks.DescribeNodegroupInput, _ ...func(*eks.Options)) (*eks.DescribeNodegroupOutput, error) {
	sc, ok := f.groups[aws.ToString(in.ClusterName)+"/"+aws.ToString(in.NodegroupName)]
	if !ok {
		return nil, &ekstypes.ResourceNotFoundException{}
	}
	asg := "eks-" + aws.ToString(in.NodegroupName)
	return &eks.DescribeNodegroupOutput{Nodegroup: &ekstypes.Nodegroup{Status: ekstypes.NodegroupStatusActive, ScalingConfig: sc,
		Resources: &ekstypes.NodegroupResources{AutoScalingGroups: []ekstypes.AutoScalingGroup{{Name: aws.String(asg)}}}}}, nil
}

func (f *fakeEKS) UpdateNodegroupConfig(_ context.Context, in *eks.UpdateNodegroupConfigInput, _ ...func(*eks.Options)) (*eks.UpdateNodegroupConfigOutput, error) {
	sc := in.ScalingConfig
	if aws.ToInt32(sc.MaxSize) < 1 {
		return nil, fmt.Errorf("InvalidParameterException: maxSize must be at least 1")
	}
	k := aws.ToString(in.ClusterName) + "/" + aws.ToString(in.NodegroupName)
	f.groups[k] = sc
	if g := f.asg.groups["eks-"+aws.ToString(in.NodegroupName)]; g != nil {
		g.min, g.max, g.desired = int(aws.ToInt32(sc.MinSize)), int(aws.ToInt32(sc.MaxSize)), int(aws.ToInt32(sc.DesiredSize))
	}
	f.calls = append(f.calls, fmt.Sprintf("nodegroup %s %d/%d/%d", k, aws.ToInt32(sc.MinSize), aws.ToInt32(sc.DesiredSize), aws.ToInt32(sc.MaxSize)))
	return &eks.UpdateNodegroupConfigOutput{}, nil
}

type fakeELB struct{ health map[string][]string }

func (f *fakeELB) DescribeTargetHealth(_ context.Context, in *elasticloadbalancingv2.DescribeTargetHealthInput, _ ...func(*elasticloadbalancingv2.Options)) (*elasticloadbalancingv2.DescribeTargetHealthOutput, error) {
	out := &elasticloadbalancingv2.DescribeTargetHealthOutput{}
	for _, h := range f.health[aws.ToString(in.TargetGroupArn)] {
		out.TargetHealthDescriptions = append(out.TargetHealthDescriptions, elbtypes.TargetHealthDescription{TargetHealth: &elbtypes.TargetHealth{State: elbtypes.TargetHealthStateEnum(h)}})
	}
	return out, nil
}

type fakeSFN struct {
	executions map[string]*sfn.DescribeExecutionOutput // by ARN
	started    []*sfn.StartExecutionInput
	now        func() time.Time
}

func (f *fakeSFN) StartExecution(_ context.Context, in *sfn.StartExecutionInput, _ ...func(*sfn.Options)) (*sfn.StartExecutionOutput, error) {
	arn := strings.Replace(aws.ToString(in.StateMachineArn), ":stateMachine:", ":execution:", 1) + ":" + aws.ToString(in.Name)
	if _, dup := f.executions[arn]; dup {
		return nil, &sfntypes.ExecutionAlreadyExists{}
	}
	start := f.now()
	f.executions[arn] = &sfn.DescribeExecutionOutput{ExecutionArn: aws.String(arn), Status: sfntypes.ExecutionStatusRunning, StartDate: &start}
	f.started = append(f.started, in)
	return &sfn.StartExecutionOutput{ExecutionArn: aws.String(arn), StartDate: &start}, nil
}

func (f *fakeSFN) DescribeExecution(_ context.Context, in *sfn.DescribeExecutionInput, _ ...func(*sfn.Options)) (*sfn.DescribeExecutionOutput, error) {
	x, ok := f.executions[aws.ToString(in.ExecutionArn)]
	if !ok {
		return nil, &sfntypes.ExecutionDoesNotExist{}
	}
	return x, nil
}

// fakeDynamo is the run table. It knows exactly the expressions the Table uses and refuses others,
// as DynamoDB refuses unknown attribute aliases.
type fakeDynamo struct {
	items map[string]map[string]ddbtypes.AttributeValue
}

func itemKey(m map[string]ddbtypes.AttributeValue) string { return str(m, "pk") + "|" + str(m, "sk") }

func (f *fakeDynamo) cond(expr *string, names map[string]string, values map[string]ddbtypes.AttributeValue, old map[string]ddbtypes.AttributeValue) (bool, error) {
	if expr == nil {
		if len(names) > 0 || len(values) > 0 {
			return false, fmt.Errorf("ValidationException: unused expression attributes")
		}
		return true, nil
	}
	if names["#execution"] != "execution" || len(names) != 1 || len(values) != 1 || values[":execution"] == nil {
		return false, fmt.Errorf("ValidationException: attributes %v %v do not fit %q", names, values, *expr)
	}
	want := str(values, ":execution")
	switch *expr {
	case condLockFree:
		return old == nil || str(old, "execution") == want, nil
	case condLockOwner:
		return old != nil && str(old, "execution") == want, nil
	}
	return false, fmt.Errorf("ValidationException: the fake does not know %q", *expr)
}

func (f *fakeDynamo) GetItem(_ context.Context, in *dynamodb.GetItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	return &dynamodb.GetItemOutput{Item: f.items[itemKey(in.Key)]}, nil
}

func (f *fakeDynamo) PutItem(_ context.Context, in *dynamodb.PutItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	k := itemKey(in.Item)
	ok, err := f.cond(in.ConditionExpression, in.ExpressionAttributeNames, in.ExpressionAttributeValues, f.items[k])
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, &ddbtypes.ConditionalCheckFailedException{}
	}
	f.items[k] = in.Item
	return &dynamodb.PutItemOutput{}, nil
}

func (f *fakeDynamo) DeleteItem(_ context.Context, in *dynamodb.DeleteItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	k := itemKey(in.Key)
	ok, err := f.cond(in.ConditionExpression, in.ExpressionAttributeNames, in.ExpressionAttributeValues, f.items[k])
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, &ddbtypes.ConditionalCheckFailedException{}
	}
	delete(f.items, k)
	return &dynamodb.DeleteItemOutput{}, nil
}

func (f *fakeDynamo) Query(_ context.Context, in *dynamodb.QueryInput, _ ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	if aws.ToString(in.KeyConditionExpression) != keyCondRuns || len(in.ExpressionAttributeValues) != 2 {
		return nil, fmt.Errorf("ValidationException: the fake does not know %q", aws.ToString(in.KeyConditionExpression))
	}
	pk, prefix := str(in.ExpressionAttributeValues, ":pk"), str(in.ExpressionAttributeValues, ":prefix")
	var keys []string
	for k, item := range f.items {
		if str(item, "pk") == pk && strings.HasPrefix(str(item, "sk"), prefix) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	if !aws.ToBool(in.ScanIndexForward) {
		slices.Reverse(keys)
	}
	out := &dynamodb.QueryOutput{}
	for i, k := range keys {
		if in.Limit != nil && i >= int(*in.Limit) {
			break
		}
		out.Items = append(out.Items, f.items[k])
	}
	return out, nil
}

type fakeEvents struct{ entries []string }

func (f *fakeEvents) PutEvents(_ context.Context, in *eventbridge.PutEventsInput, _ ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error) {
	for _, e := range in.Entries {
		f.entries = append(f.entries, aws.ToString(e.DetailType)+" "+aws.ToString(e.Detail))
	}
	return &eventbridge.PutEventsOutput{}, nil
}

type fakeSNS struct{ messages []string }

func (f *fakeSNS) Publish(_ context.Context, in *sns.PublishInput, _ ...func(*sns.Options)) (*sns.PublishOutput, error) {
	f.messages = append(f.messages, aws.ToString(in.Subject))
	return &sns.PublishOutput{}, nil
}

// world is a whole fake account with a clock the test moves.
type world struct {
	ec2    *fakeEC2
	asg    *fakeASG
	ecs    *fakeECS
	aas    *fakeAppScaling
	eks    *fakeEKS
	elb    *fakeELB
	sfn    *fakeSFN
	ddb    *fakeDynamo
	events *fakeEvents
	sns    *fakeSNS
	now    time.Time
	c      *Clients
}

func newWorld() *world {
	w := &world{
		ec2: &fakeEC2{instances: map[string]*fakeInstance{}, startErr: map[string]error{}},
		asg: &fakeASG{groups: map[string]*fakeGroup{}}, ecs: &fakeECS{services: map[string]*fakeService{}},
		elb: &fakeELB{health: map[string][]string{}}, ddb: &fakeDynamo{items: map[string]map[string]ddbtypes.AttributeValue{}},
		events: &fakeEvents{}, sns: &fakeSNS{}, now: time.Date(2026, 12, 1, 7, 0, 0, 0, time.UTC),
	}
	w.eks = &fakeEKS{groups: map[string]*ekstypes.NodegroupScalingConfig{}, asg: w.asg}
	w.aas = &fakeAppScaling{targets: map[string][2]int{}, ecs: w.ecs}
	w.sfn = &fakeSFN{executions: map[string]*sfn.DescribeExecutionOutput{}, now: func() time.Time { return w.now }}
	w.c = &Clients{EC2: w.ec2, AutoScaling: w.asg, ECS: w.ecs, AppScaling: w.aas, EKS: w.eks, ELB: w.elb, SFN: w.sfn, Dynamo: w.ddb, Events: w.events, SNS: w.sns, Clock: func() time.Time { return w.now }}
	return w
}

func (w *world) instance(id, name, state string) {
	w.ec2.instances[id] = &fakeInstance{id: id, state: state, tags: map[string]string{"Name": name}, instOK: "ok", sysOK: "ok"}
}

type sfnDescribe = sfn.DescribeExecutionOutput
