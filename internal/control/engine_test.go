package control

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ekstypes "github.com/aws/aws-sdk-go-v2/service/eks/types"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/stratolab/stratolab/internal/controlapi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const smArn = "arn:aws:states:eu-central-1:123456789012:stateMachine:lab-control-staging"

// seedDefinition is the seed's case: directory, then data (status checks), then app, by Name tag.
func seedDefinition() Definition {
	return Definition{Instance: "lab", Environment: "staging", StateMachineArn: smArn, Table: "runs", Stages: []Stage{
		{Name: "directory", InstanceTags: map[string][]string{"Name": {"ad01"}}, Wait: WaitRunning, TimeoutSeconds: 600},
		{Name: "data", InstanceTags: map[string][]string{"Name": {"sqlsvr", "filesvr"}}, Wait: WaitStatusChecks, TimeoutSeconds: 600, SettleSeconds: 30},
		{Name: "app", InstanceIDs: []string{"i-0000000000000app1"}, AutoScalingGroups: []string{"web"}, ECSServices: []string{"svc/api"}, Wait: WaitRunning, TimeoutSeconds: 300},
	}}
}

func seedWorld() *world {
	w := newWorld()
	w.instance("i-00000000000000ad1", "ad01", "stopped")
	w.instance("i-0000000000000sql1", "sqlsvr", "stopped")
	w.instance("i-000000000000file1", "filesvr", "stopped")
	w.instance("i-0000000000000app1", "app01", "stopped")
	w.instance("i-0000000000000old1", "ad01", "terminated") // a Name tag that also matches a terminated instance
	w.asg.groups["web"] = &fakeGroup{min: 1, max: 4, desired: 2, inService: 2}
	w.ecs.services["svc/api"] = &fakeService{desired: 2, running: 2}
	return w
}

// runner drives an Engine as the state machine does: Begin, then per stage Act and Check every
// 15 s until it is not waiting (tick moves the world on between checks), then Finish.
type runner struct {
	t    *testing.T
	w    *world
	e    *Engine
	def  Definition
	tick func(stage string, n int)
}

func newRunner(t *testing.T, w *world, def Definition) *runner {
	return &runner{t: t, w: w, def: def, e: &Engine{Clients: w.c, Table: &Table{API: w.ddb, Name: def.Table, Env: def.Environment}, Instance: def.Instance, TopicArn: "arn:aws:sns:eu-central-1:123456789012:t"}}
}

func (r *runner) run(action controlapi.Action, name string) (controlapi.Run, error) {
	ctx := context.Background()
	x := Execution{Name: name, Arn: r.def.ExecutionArn(name), Started: r.w.now.Format(time.RFC3339Nano)}
	start := r.w.now
	r.w.sfn.executions[x.Arn] = &sfnDescribe{Status: sfntypes.ExecutionStatusRunning, StartDate: &start}
	var names []string
	for _, s := range r.def.Stages {
		names = append(names, s.Name)
	}
	stages := r.def.InOrder(action == controlapi.Stop)
	finish := func(status string, cause string) (controlapi.Run, error) {
		in := FinishInput{Execution: x, Status: status}
		if cause != "" {
			in.Error = &struct {
				Error string `json:"Error"`
				Cause string `json:"Cause"`
			}{"StageFailed", cause}
		}
		run, err := r.e.Finish(ctx, in)
		r.w.sfn.executions[x.Arn].Status = sfntypes.ExecutionStatusSucceeded
		return run, err
	}
	if _, err := r.e.Begin(ctx, BeginInput{Execution: x, Action: string(action), By: "alice", Stages: names}); err != nil {
		r.w.sfn.executions[x.Arn].Status = sfntypes.ExecutionStatusFailed
		return controlapi.Run{}, err
	}
	for _, st := range stages {
		state, err := r.e.Act(ctx, StageInput{Execution: x, Action: string(action), By: "alice", Stage: st})
		require.NoError(r.t, err)
		for n := 0; state.Status == controlapi.StageWaiting; n++ {
			r.w.now = r.w.now.Add(15 * time.Second)
			if r.tick != nil {
				r.tick(st.Name, n)
			}
			state, err = r.e.Check(ctx, StageInput{Execution: x, Action: string(action), By: "alice", Stage: st, State: &state})
			require.NoError(r.t, err)
			require.Less(r.t, n, 1000, "a check loop that never ends")
		}
		if state.Status == controlapi.StageFailed {
			return finish(controlapi.RunFailed, state.Message)
		}
		if action == controlapi.Start {
			r.w.now = r.w.now.Add(time.Duration(st.SettleSeconds) * time.Second)
		}
	}
	return finish(controlapi.RunSucceeded, "")
}

// boot moves every pending instance to running with status checks initializing, then ok one tick later.
func boot(w *world) func(string, int) {
	return func(string, int) {
		for id, in := range w.ec2.instances {
			switch {
			case in.state == "pending":
				w.ec2.set(id, "running", "initializing")
			case in.state == "running" && in.instOK == "initializing":
				w.ec2.set(id, "running", "ok")
			case in.state == "stopping":
				w.ec2.set(id, "stopped", "")
			}
		}
		for _, g := range w.asg.groups {
			g.inService = g.desired
		}
		for _, s := range w.ecs.services {
			s.running = s.desired
		}
	}
}

func TestStartVisitsStagesInOrderAndSkipsTerminated(t *testing.T) {
	w := seedWorld()
	r := newRunner(t, w, seedDefinition())
	r.tick = boot(w)
	run, err := r.run(controlapi.Start, "start-1")
	require.NoError(t, err)
	assert.Equal(t, controlapi.RunSucceeded, run.Status, run.Error)
	// directory first, then data's two together, then app; never the terminated ad01.
	assert.Equal(t, []string{"start i-00000000000000ad1", "start i-0000000000000sql1,i-000000000000file1", "start i-0000000000000app1"}, w.ec2.calls)
	require.Len(t, run.Stages, 3)
	for _, s := range run.Stages {
		assert.Equal(t, controlapi.StageReady, s.Status, s.Name)
	}
	assert.Equal(t, "start", w.ec2.instances["i-00000000000000ad1"].tags[TagLastAction])
	assert.Equal(t, "alice", w.ec2.instances["i-00000000000000ad1"].tags[TagLastActionBy])
	assert.NotContains(t, w.ec2.instances["i-0000000000000old1"].tags, TagLastAction)
	assert.Equal(t, []string{"stratolab lab: start of staging succeeded"}, w.sns.messages)
	lock, err := r.e.Table.ReadLock(context.Background())
	require.NoError(t, err)
	assert.Nil(t, lock, "the lock is released at the end")
}

func TestStatusChecksGateWaitsForBothChecks(t *testing.T) {
	w := seedWorld()
	st := seedDefinition().Stages[1]
	for _, id := range []string{"i-0000000000000sql1", "i-000000000000file1"} {
		w.ec2.set(id, "running", "initializing")
	}
	ob, err := w.c.observe(context.Background(), st)
	require.NoError(t, err)
	v := assess(st, controlapi.Start, ob, nil)
	assert.Equal(t, controlapi.StageWaiting, v.Status)
	assert.Contains(t, v.Message, "status checks initializing")
	w.ec2.instances["i-0000000000000sql1"].instOK, w.ec2.instances["i-0000000000000sql1"].sysOK = "ok", "ok"
	w.ec2.instances["i-000000000000file1"].instOK, w.ec2.instances["i-000000000000file1"].sysOK = "ok", "initializing"
	ob, _ = w.c.observe(context.Background(), st)
	v = assess(st, controlapi.Start, ob, nil)
	assert.Equal(t, controlapi.StageWaiting, v.Status, "system status still initializing")
	assert.Equal(t, 1, v.Ready)
	st.Wait = WaitRunning
	assert.Equal(t, controlapi.StageReady, assess(st, controlapi.Start, ob, nil).Status, "running is enough for wait: running")
}

func TestCheckFailsWhenAnInstanceFallsBackToStopped(t *testing.T) {
	w := seedWorld()
	r := newRunner(t, w, seedDefinition())
	// EC2 accepts the start of sqlsvr, then gives up: no capacity (the same happens with a KMS key
	// the instance may not use, as Client.InternalError).
	r.tick = func(stage string, n int) {
		boot(w)(stage, n)
		if stage == "data" {
			w.ec2.instances["i-0000000000000sql1"].state = "stopped"
			w.ec2.instances["i-0000000000000sql1"].reason = "Server.InsufficientInstanceCapacity: Insufficient capacity."
		}
	}
	run, err := r.run(controlapi.Start, "start-ice")
	require.NoError(t, err)
	assert.Equal(t, controlapi.RunFailed, run.Status)
	assert.Contains(t, run.Error, "sqlsvr (i-0000000000000sql1): went back to stopped after the start (Server.InsufficientInstanceCapacity: Insufficient capacity.)")
	assert.Equal(t, []string{controlapi.StageReady, controlapi.StageFailed, controlapi.StageSkipped}, statuses(run))
	assert.Len(t, w.ec2.calls, 2, "app is never started")
	assert.Equal(t, "running", w.ec2.instances["i-00000000000000ad1"].state, "what was started is left running")
}

func TestCheckFailsOnTimeout(t *testing.T) {
	w := seedWorld()
	def := seedDefinition()
	r := newRunner(t, w, def)
	r.tick = func(stage string, n int) {} // nothing ever boots
	start := w.now
	run, err := r.run(controlapi.Start, "start-slow")
	require.NoError(t, err)
	assert.Equal(t, controlapi.RunFailed, run.Status)
	assert.Contains(t, run.Error, "timed out after 10m0s, still waiting for ad01 (i-00000000000000ad1): is pending")
	assert.Equal(t, start.Add(600*time.Second), w.now, "fails at the deadline, not later")
}

func TestStartOfAStoppingInstanceWaitsForStoppedThenStarts(t *testing.T) {
	w := seedWorld()
	w.ec2.instances["i-00000000000000ad1"].state = "stopping"
	def := seedDefinition()
	def.Stages = def.Stages[:1]
	r := newRunner(t, w, def)
	r.tick = boot(w)
	run, err := r.run(controlapi.Start, "start-stopping")
	require.NoError(t, err)
	assert.Equal(t, controlapi.RunSucceeded, run.Status, run.Error)
	assert.Equal(t, []string{"start i-00000000000000ad1"}, w.ec2.calls, "started once it had stopped, never while stopping")
}

func TestStartFailsWhenTagsMatchNothing(t *testing.T) {
	w := seedWorld()
	def := seedDefinition()
	def.Stages = []Stage{{Name: "x", InstanceTags: map[string][]string{"Name": {"nope"}}, Wait: WaitRunning, TimeoutSeconds: 60}}
	run, err := newRunner(t, w, def).run(controlapi.Start, "start-none")
	require.NoError(t, err)
	assert.Equal(t, controlapi.RunFailed, run.Status)
	assert.Contains(t, run.Error, "no instance matches Name=nope")
}

func TestOneBrokenInstanceIsNamedAndDoesNotHideTheOthers(t *testing.T) {
	w := seedWorld()
	w.ec2.startErr["i-0000000000000sql1"] = errors.New("api error InvalidParameterValue: bad")
	def := seedDefinition()
	def.Stages = def.Stages[1:2]
	run, err := newRunner(t, w, def).run(controlapi.Start, "start-broken")
	require.NoError(t, err)
	assert.Equal(t, controlapi.RunFailed, run.Status)
	assert.Contains(t, run.Error, "start i-0000000000000sql1: api error InvalidParameterValue")
	assert.Contains(t, w.ec2.calls, "start i-000000000000file1")
}

func TestStopSavesSizesAndStartRestoresThem(t *testing.T) {
	w := seedWorld()
	w.ec2.set("i-0000000000000app1", "running", "ok")
	def := seedDefinition()
	def.Stages = def.Stages[2:]
	r := newRunner(t, w, def)
	r.tick = boot(w)
	run, err := r.run(controlapi.Stop, "stop-1")
	require.NoError(t, err)
	require.Equal(t, controlapi.RunSucceeded, run.Status, run.Error)
	assert.Equal(t, []string{"size web 0/0/4"}, w.asg.calls)
	assert.Equal(t, []string{"service svc/api 0"}, w.ecs.calls)
	assert.Equal(t, "stopped", w.ec2.instances["i-0000000000000app1"].state)
	assert.Equal(t, "stop", w.asg.groups["web"].tags[TagLastAction])
	assert.Equal(t, "alice", w.ecs.services["svc/api"].tags[TagLastActionBy])

	w.asg.calls, w.ecs.calls = nil, nil
	run, err = r.run(controlapi.Start, "start-2")
	require.NoError(t, err)
	require.Equal(t, controlapi.RunSucceeded, run.Status, run.Error)
	assert.Equal(t, []string{"size web 1/2/4"}, w.asg.calls)
	assert.Equal(t, []string{"service svc/api 2"}, w.ecs.calls)
}

// The lookup app's service has a scalable target (min 2): left alone, Application Auto Scaling would
// bring a stopped service back to 2 tasks, and a start that restored only the desired count into
// bounds of 0..0 would be scaled straight back to 0.
func TestStopBoundsAScalableServiceToZeroAndStartRestoresTheBoundsFirst(t *testing.T) {
	w := seedWorld()
	w.aas.targets["service/svc/api"] = [2]int{2, 4}
	def := seedDefinition()
	def.Stages = []Stage{{Name: "api", ECSServices: []string{"svc/api"}, Wait: WaitRunning, TimeoutSeconds: 300}}
	r := newRunner(t, w, def)
	r.tick = boot(w)
	run, err := r.run(controlapi.Stop, "stop-api")
	require.NoError(t, err)
	require.Equal(t, controlapi.RunSucceeded, run.Status, run.Error)
	assert.Equal(t, []string{"bounds service/svc/api 0..0"}, w.aas.calls)
	assert.Equal(t, 0, w.ecs.services["svc/api"].desired)

	w.aas.calls, w.ecs.calls = nil, nil
	run, err = r.run(controlapi.Start, "start-api")
	require.NoError(t, err)
	require.Equal(t, controlapi.RunSucceeded, run.Status, run.Error)
	assert.Equal(t, []string{"bounds service/svc/api 2..4"}, w.aas.calls)
	assert.Equal(t, []string{"service svc/api 2"}, w.ecs.calls, "the desired count after the bounds")
	assert.Equal(t, 2, w.ecs.services["svc/api"].desired)
}

// The hub: its core node group holds the hub, the user groups scale from zero. A stop sets min and
// desired to 0 (EKS refuses a maximum below 1); a start restores them and waits for the core nodes.
func TestNodeGroupsAreSizedToZeroAndBack(t *testing.T) {
	w := seedWorld()
	w.eks.groups["hub/core"] = &ekstypes.NodegroupScalingConfig{MinSize: aws.Int32(1), DesiredSize: aws.Int32(1), MaxSize: aws.Int32(2)}
	w.eks.groups["hub/general"] = &ekstypes.NodegroupScalingConfig{MinSize: aws.Int32(0), DesiredSize: aws.Int32(3), MaxSize: aws.Int32(15)}
	w.asg.groups["eks-core"] = &fakeGroup{min: 1, max: 2, desired: 1, inService: 1}
	w.asg.groups["eks-general"] = &fakeGroup{min: 0, max: 15, desired: 3, inService: 3}
	def := seedDefinition()
	def.Stages = []Stage{
		{Name: "hub.hub-core", Module: "hub", EKSNodegroups: []string{"hub/core"}, Wait: WaitRunning, TimeoutSeconds: 900},
		{Name: "hub.hub-users", Module: "hub", EKSNodegroups: []string{"hub/general"}, Wait: WaitRunning, TimeoutSeconds: 900},
	}
	r := newRunner(t, w, def)
	r.tick = boot(w)
	run, err := r.run(controlapi.Stop, "stop-hub")
	require.NoError(t, err)
	require.Equal(t, controlapi.RunSucceeded, run.Status, run.Error)
	assert.Equal(t, []string{"nodegroup hub/general 0/0/15", "nodegroup hub/core 0/0/2"}, w.eks.calls, "users first, then the core")

	w.eks.calls = nil
	plan, err := (&Service{c: w.c, defs: []Definition{def}}).Plan(context.Background(), "staging", controlapi.Start)
	require.NoError(t, err)
	assert.Equal(t, "size hub/core to min 1, desired 1 (saved by the last stop), now active, 0/0 nodes", plan[0].Actions[0])
	run, err = r.run(controlapi.Start, "start-hub")
	require.NoError(t, err)
	require.Equal(t, controlapi.RunSucceeded, run.Status, run.Error)
	assert.Equal(t, []string{"nodegroup hub/core 1/1/2", "nodegroup hub/general 0/3/15"}, w.eks.calls)
}

func TestStopVisitsStagesInReverse(t *testing.T) {
	w := seedWorld()
	for id := range w.ec2.instances {
		if w.ec2.instances[id].state != "terminated" {
			w.ec2.set(id, "running", "ok")
		}
	}
	r := newRunner(t, w, seedDefinition())
	r.tick = boot(w)
	run, err := r.run(controlapi.Stop, "stop-2")
	require.NoError(t, err)
	require.Equal(t, controlapi.RunSucceeded, run.Status, run.Error)
	assert.Equal(t, []string{"stop i-0000000000000app1", "stop i-0000000000000sql1,i-000000000000file1", "stop i-00000000000000ad1"}, w.ec2.calls)
	assert.Equal(t, "app", run.Stages[0].Name)
}

func TestStopOfAGroupWaitsForItsInstancesToGo(t *testing.T) {
	st := Stage{Name: "web", AutoScalingGroups: []string{"web"}, Wait: WaitRunning, TimeoutSeconds: 60}
	w := seedWorld()
	w.asg.groups["web"] = &fakeGroup{min: 0, max: 4, desired: 0, terminating: 1}
	ob, err := w.c.observe(context.Background(), st)
	require.NoError(t, err)
	v := assess(st, controlapi.Stop, ob, nil)
	assert.Equal(t, controlapi.StageWaiting, v.Status)
	assert.Contains(t, v.Message, "web: has 0/0 in service, 1 other")
	w.asg.groups["web"].terminating = 0
	ob, _ = w.c.observe(context.Background(), st)
	assert.Equal(t, controlapi.StageReady, assess(st, controlapi.Stop, ob, nil).Status)
}

func TestStartOfAGroupAtZeroWithoutSavedSizeFails(t *testing.T) {
	w := seedWorld()
	w.asg.groups["web"] = &fakeGroup{min: 0, max: 4, desired: 0}
	def := seedDefinition()
	def.Stages = []Stage{{Name: "web", AutoScalingGroups: []string{"web"}, Wait: WaitRunning, TimeoutSeconds: 60}}
	run, err := newRunner(t, w, def).run(controlapi.Start, "start-zero")
	require.NoError(t, err)
	assert.Equal(t, controlapi.RunFailed, run.Status)
	assert.Contains(t, run.Error, "web: has a desired size of 0")
}

func TestTargetGroupGateWaitsForHealthyTargets(t *testing.T) {
	w := seedWorld()
	tg := "arn:aws:elasticloadbalancing:eu-central-1:123456789012:targetgroup/web/0123456789abcdef"
	w.elb.health[tg] = []string{"healthy", "initial"}
	st := Stage{Name: "web", AutoScalingGroups: []string{"web"}, Wait: WaitTargetGroup, TargetGroupArns: []string{tg}, TimeoutSeconds: 60}
	ob, err := w.c.observe(context.Background(), st)
	require.NoError(t, err)
	v := assess(st, controlapi.Start, ob, nil)
	assert.Equal(t, controlapi.StageWaiting, v.Status)
	assert.Contains(t, v.Message, "target group web (healthy 1/2) not healthy")
	w.elb.health[tg] = []string{"healthy", "healthy"}
	ob, _ = w.c.observe(context.Background(), st)
	assert.Equal(t, controlapi.StageReady, assess(st, controlapi.Start, ob, nil).Status)
}

func TestSecondRunIsRefusedWhileTheFirstRuns(t *testing.T) {
	w := seedWorld()
	def := seedDefinition()
	r := newRunner(t, w, def)
	ctx := context.Background()
	first := Execution{Name: "start-a", Arn: def.ExecutionArn("start-a"), Started: w.now.Format(time.RFC3339Nano)}
	w.sfn.executions[first.Arn] = &sfnDescribe{Status: sfntypes.ExecutionStatusRunning, StartDate: aws.Time(w.now)}
	_, err := r.e.Begin(ctx, BeginInput{Execution: first, Action: "start", By: "alice", Stages: []string{"directory"}})
	require.NoError(t, err)

	_, err = r.run(controlapi.Stop, "stop-b")
	var busy *controlapi.BusyError
	require.ErrorAs(t, err, &busy)
	assert.Equal(t, "start-a", busy.Running.ID)
	assert.Equal(t, "alice", busy.Running.StartedBy, "the refusal says who started the running one")
	assert.Contains(t, err.Error(), "environment staging is busy: start run start-a")
	lock, _ := r.e.Table.ReadLock(ctx)
	assert.Equal(t, "start-a", lock.Execution, "a refused run leaves the lock alone")
}

func TestLockOfAnEndedExecutionIsTakenOver(t *testing.T) {
	w := seedWorld()
	def := seedDefinition()
	r := newRunner(t, w, def)
	r.tick = boot(w)
	ctx := context.Background()
	crashed := Execution{Name: "start-crashed", Arn: def.ExecutionArn("start-crashed"), Started: w.now.Format(time.RFC3339Nano)}
	w.sfn.executions[crashed.Arn] = &sfnDescribe{Status: sfntypes.ExecutionStatusRunning, StartDate: aws.Time(w.now)}
	_, err := r.e.Begin(ctx, BeginInput{Execution: crashed, Action: "start", By: "alice"})
	require.NoError(t, err)
	// It timed out (or was aborted) without reaching Finish: its lock is still there.
	w.sfn.executions[crashed.Arn].Status = sfntypes.ExecutionStatusTimedOut

	run, err := r.run(controlapi.Start, "start-next")
	require.NoError(t, err)
	assert.Equal(t, controlapi.RunSucceeded, run.Status, run.Error)
}

func TestFinishReleasesOnlyItsOwnLock(t *testing.T) {
	w := seedWorld()
	tb := &Table{API: w.ddb, Name: "runs", Env: "staging"}
	ctx := context.Background()
	require.NoError(t, tb.TakeLock(ctx, Lock{Execution: "a", ExecutionArn: "arn-a", Since: w.now}, ""))
	require.ErrorIs(t, tb.TakeLock(ctx, Lock{Execution: "b", Since: w.now}, ""), ErrLockHeld)
	require.NoError(t, tb.ReleaseLock(ctx, "b"))
	l, _ := tb.ReadLock(ctx)
	require.NotNil(t, l)
	assert.Equal(t, "a", l.Execution, "b may not release a's lock")
	require.ErrorIs(t, tb.TakeLock(ctx, Lock{Execution: "c", Since: w.now}, "b"), ErrLockHeld, "a takeover names the holder it replaces")
	require.NoError(t, tb.ReleaseLock(ctx, "a"))
	l, _ = tb.ReadLock(ctx)
	assert.Nil(t, l)
}

func TestScheduledStartOnASkipDateOrDuringAHoldIsSkipped(t *testing.T) {
	w := seedWorld()
	def := seedDefinition()
	def.Schedule = &Schedule{Timezone: "Europe/Berlin", Start: "08:00", Stop: "19:00", Days: []string{"mon", "tue", "wed", "thu", "fri"}, SkipDates: []string{"2026-12-24"}}
	r := newRunner(t, w, def)
	ctx := context.Background()
	x := Execution{Name: "sched-1", Arn: def.ExecutionArn("sched-1"), Started: "2026-12-24T07:00:01.5Z"}
	out, err := r.e.Begin(ctx, BeginInput{Execution: x, Action: "start", By: ScheduleBy, ScheduledTime: "2026-12-24T07:00:00Z", Schedule: def.Schedule, Stages: []string{"directory"}})
	require.NoError(t, err)
	assert.Equal(t, BeginOutput{Skip: true, Reason: "skip date 2026-12-24"}, out)
	lock, _ := r.e.Table.ReadLock(ctx)
	assert.Nil(t, lock, "a skipped run takes no lock")
	runs, err := r.e.Table.Runs(ctx, 5)
	require.NoError(t, err)
	require.Len(t, runs, 1)
	assert.Equal(t, controlapi.RunSkipped, runs[0].Status)

	require.NoError(t, r.e.Table.SetHold(ctx, controlapi.Hold{Until: time.Date(2026, 12, 28, 17, 0, 0, 0, time.UTC), By: "bob", Reason: "patching"}))
	out, err = r.e.Begin(ctx, BeginInput{Execution: Execution{Name: "sched-2", Started: "2026-12-25T18:00:01Z"}, Action: "stop", By: ScheduleBy, ScheduledTime: "2026-12-25T18:00:00Z", Schedule: def.Schedule})
	require.NoError(t, err)
	assert.Equal(t, "held until 2026-12-28T17:00:00Z by bob (patching)", out.Reason)
	// An operator's own start is never skipped, hold or not.
	out, err = r.e.Begin(ctx, BeginInput{Execution: Execution{Name: "start-3", Started: "2026-12-25T18:00:01Z"}, Action: "start", By: "alice", Schedule: def.Schedule})
	require.NoError(t, err)
	assert.False(t, out.Skip)
}

func statuses(r controlapi.Run) []string {
	var out []string
	for _, s := range r.Stages {
		out = append(out, s.Status)
	}
	return out
}

func TestCauseMessageReadsLambdaErrors(t *testing.T) {
	assert.Equal(t, "boom", causeMessage("Lambda.Unknown", `{"errorMessage":"boom","errorType":"errorString"}`)[len("Lambda.Unknown: "):])
	assert.Equal(t, "x timed out", causeMessage("StageFailed", "x timed out"))
	assert.True(t, strings.HasPrefix(causeMessage("States.Timeout", ""), "States.Timeout"))
}
