package control

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/stratolab/stratolab/internal/controlapi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type fakeSSM struct{ params map[string]string }

func (f *fakeSSM) GetParametersByPath(_ context.Context, in *ssm.GetParametersByPathInput, _ ...func(*ssm.Options)) (*ssm.GetParametersByPathOutput, error) {
	out := &ssm.GetParametersByPathOutput{}
	for k, v := range f.params {
		out.Parameters = append(out.Parameters, ssmtypes.Parameter{Name: aws.String(k), Value: aws.String(v)})
	}
	return out, nil
}

func TestLoadDefinitionsInConfigOrder(t *testing.T) {
	a, b := seedDefinition(), seedDefinition()
	a.Environment, a.Order = "zeta", 0
	b.Environment, b.Order = "alpha", 1
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	defs, err := LoadDefinitions(context.Background(), &fakeSSM{params: map[string]string{
		"/stratolab/lab/control/environments/zeta": string(ja), "/stratolab/lab/control/environments/alpha": string(jb), "/stratolab/lab/control/table": "runs",
	}}, "lab")
	require.NoError(t, err)
	require.Len(t, defs, 2)
	assert.Equal(t, "zeta", defs[0].Environment)
	_, err = LoadDefinitions(context.Background(), &fakeSSM{}, "lab")
	assert.ErrorContains(t, err, "publishes nothing under /stratolab/lab/control/")
}

func newTestService(t *testing.T, w *world) *Service {
	def := seedDefinition()
	def.Schedule = &Schedule{Timezone: "Europe/Berlin", Start: "08:00", Stop: "19:00", Days: []string{"mon", "tue", "wed", "thu", "fri"}}
	s, err := NewService(w.c, []Definition{def})
	require.NoError(t, err)
	return s
}

func TestServiceEnvironmentResolvesTargetsNow(t *testing.T) {
	w := seedWorld()
	w.ec2.set("i-0000000000000sql1", "running", "initializing")
	s := newTestService(t, w)
	env, err := s.Environment(context.Background(), "staging")
	require.NoError(t, err)
	require.Len(t, env.Stages, 3)
	assert.Equal(t, []controlapi.Target{{Kind: "ec2", ID: "i-00000000000000ad1", Name: "ad01", State: "stopped"}}, env.Stages[0].Targets, "the terminated ad01 is not a target")
	assert.Equal(t, "initializing", env.Stages[1].Targets[0].Checks)
	assert.Equal(t, "web", env.Stages[2].Targets[1].ID)
	assert.Equal(t, "2/2 in service", env.Stages[2].Targets[1].State)
	assert.Equal(t, "2/2 tasks", env.Stages[2].Targets[2].State)
	require.NotNil(t, env.Schedule)
	assert.Equal(t, utc("2026-12-01T07:00:00Z").Add(24*time.Hour), *env.Schedule.NextStart, "07:00Z on Tuesday is past: the next start is Wednesday's")
	assert.Equal(t, utc("2026-12-01T18:00:00Z"), *env.Schedule.NextStop)
	assert.Nil(t, env.Running)

	_, err = s.Environment(context.Background(), "prod")
	assert.True(t, errors.Is(err, controlapi.ErrUnknownEnvironment))
}

func TestServicePlanChangesNothing(t *testing.T) {
	w := seedWorld()
	w.ec2.set("i-00000000000000ad1", "running", "ok")
	s := newTestService(t, w)
	plan, err := s.Plan(context.Background(), "staging", controlapi.Start)
	require.NoError(t, err)
	require.Len(t, plan, 3)
	assert.Equal(t, []string{"nothing: i-00000000000000ad1 (ad01) is running"}, plan[0].Actions)
	assert.Equal(t, []string{"start i-0000000000000sql1 (sqlsvr), now stopped", "start i-000000000000file1 (filesvr), now stopped"}, plan[1].Actions)
	assert.Equal(t, "nothing: web has 2/2 in service", plan[2].Actions[1])
	stop, err := s.Plan(context.Background(), "staging", controlapi.Stop)
	require.NoError(t, err)
	assert.Equal(t, "app", stop[0].Name)
	assert.Equal(t, "size web to 0 (saving 2), now 2/2 in service", stop[0].Actions[1])
	assert.Empty(t, w.ec2.calls)
	assert.Empty(t, w.asg.calls)
	assert.Empty(t, w.ecs.calls)
}

func TestServiceStartRunIsRefusedWhileOneRuns(t *testing.T) {
	w := seedWorld()
	s := newTestService(t, w)
	ctx := context.Background()
	run, err := s.StartRun(ctx, "staging", controlapi.Start, "alice")
	require.NoError(t, err)
	assert.Equal(t, "start-20261201T070000-000Z", run.ID)
	require.Len(t, w.sfn.started, 1)
	assert.JSONEq(t, `{"action":"start","by":"alice","scheduled_time":""}`, aws.ToString(w.sfn.started[0].Input))
	// The workflow's Begin takes the lock for it.
	def := s.defs[0]
	e := &Engine{Clients: w.c, Table: s.table(&def)}
	_, err = e.Begin(ctx, BeginInput{Execution: Execution{Name: run.ID, Arn: def.ExecutionArn(run.ID), Started: w.now.Format(time.RFC3339Nano)}, Action: "start", By: "alice", Stages: []string{"directory", "data", "app"}})
	require.NoError(t, err)

	w.now = w.now.Add(time.Minute)
	_, err = s.StartRun(ctx, "staging", controlapi.Stop, "bob")
	var busy *controlapi.BusyError
	require.ErrorAs(t, err, &busy)
	assert.Equal(t, run.ID, busy.Running.ID)
	assert.Equal(t, "alice", busy.Running.StartedBy)
	assert.Len(t, w.sfn.started, 1, "no second execution")

	env, err := s.Environment(ctx, "staging")
	require.NoError(t, err)
	require.NotNil(t, env.Running)
	assert.Equal(t, run.ID, env.Running.ID)

	// The execution dies without Finish: the run reads as failed, and a new start goes ahead.
	w.sfn.executions[def.ExecutionArn(run.ID)].Status = sfntypes.ExecutionStatusTimedOut
	got, err := s.Run(ctx, "staging", run.ID)
	require.NoError(t, err)
	assert.Equal(t, controlapi.RunFailed, got.Status)
	assert.Contains(t, got.Error, "the workflow ended (TIMED_OUT)")
	_, err = s.StartRun(ctx, "staging", controlapi.Stop, "bob")
	require.NoError(t, err)
}

func TestServiceHold(t *testing.T) {
	w := seedWorld()
	s := newTestService(t, w)
	ctx := context.Background()
	assert.ErrorContains(t, s.SetHold(ctx, "staging", controlapi.Hold{Until: w.now.Add(-time.Hour), By: "bob"}), "not in the future")
	require.NoError(t, s.SetHold(ctx, "staging", controlapi.Hold{Until: utc("2026-12-03T12:00:00Z"), By: "bob", Reason: "demo"}))
	env, err := s.Environment(ctx, "staging")
	require.NoError(t, err)
	require.NotNil(t, env.Hold)
	assert.Equal(t, utc("2026-12-04T07:00:00Z"), *env.Schedule.NextStart, "the schedule's next start is after the hold")
	require.NoError(t, s.ClearHold(ctx, "staging"))
	env, _ = s.Environment(ctx, "staging")
	assert.Nil(t, env.Hold)
}
