package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/stratolab/stratolab/internal/controlapi"
	"github.com/stratolab/stratolab/internal/published"
)

// Module is the module name of control's published parameters (/stratolab/<instance>/control/).
const Module = "control"

// DefinitionPrefix is the key, under the module's path, of each environment's definition.
const DefinitionPrefix = "environments/"

// LoadDefinitions reads every environment's definition that the Control stack publishes, in the
// config's order.
func LoadDefinitions(ctx context.Context, api published.SSM, instance string) ([]Definition, error) {
	params, err := published.Read(ctx, api, instance, Module)
	if err != nil {
		return nil, err
	}
	var defs []Definition
	for k, v := range params {
		if !strings.HasPrefix(k, DefinitionPrefix) {
			continue
		}
		var d Definition
		if err := json.Unmarshal([]byte(v), &d); err != nil {
			return nil, fmt.Errorf("%s%s: %w", published.Path(instance, Module), k, err)
		}
		defs = append(defs, d)
	}
	if len(defs) == 0 {
		return nil, fmt.Errorf("instance %s publishes no control environments under %s%s", instance, published.Path(instance, Module), DefinitionPrefix)
	}
	sort.SliceStable(defs, func(i, j int) bool {
		if defs[i].Order != defs[j].Order {
			return defs[i].Order < defs[j].Order
		}
		return defs[i].Environment < defs[j].Environment
	})
	return defs, nil
}

// Service is controlapi.Service against AWS, for the CLI and the page's function.
type Service struct {
	c    *Clients
	defs []Definition
}

var _ controlapi.Service = (*Service)(nil)

// NewService makes a Service over the definitions (from LoadDefinitions). The clients need EC2,
// AutoScaling, ECS, ELB, SFN and Dynamo (and EKS for environments with node groups).
func NewService(c *Clients, defs []Definition) (*Service, error) {
	if c == nil || c.EC2 == nil || c.AutoScaling == nil || c.ECS == nil || c.ELB == nil || c.SFN == nil || c.Dynamo == nil {
		return nil, errors.New("control: NewService needs the EC2, Auto Scaling, ECS, ELB, Step Functions and DynamoDB clients")
	}
	for i := range defs {
		if err := defs[i].Check(); err != nil {
			return nil, err
		}
	}
	return &Service{c: c, defs: defs}, nil
}

func (s *Service) def(name string) (*Definition, error) {
	for i := range s.defs {
		if s.defs[i].Environment == name {
			return &s.defs[i], nil
		}
	}
	names, _ := s.Environments(context.Background())
	return nil, fmt.Errorf("%w %q (environments: %s)", controlapi.ErrUnknownEnvironment, name, strings.Join(names, ", "))
}

func (s *Service) table(d *Definition) *Table {
	return &Table{API: s.c.Dynamo, Name: d.Table, Env: d.Environment}
}

// Environments lists the environment names in config order.
func (s *Service) Environments(context.Context) ([]string, error) {
	out := make([]string, len(s.defs))
	for i, d := range s.defs {
		out[i] = d.Environment
	}
	return out, nil
}

// Environment returns the environment with each stage's targets resolved now.
func (s *Service) Environment(ctx context.Context, name string) (controlapi.Environment, error) {
	d, err := s.def(name)
	if err != nil {
		return controlapi.Environment{}, err
	}
	env := controlapi.Environment{Name: name}
	for _, st := range d.Stages {
		ob, err := s.c.observe(ctx, st)
		if err != nil {
			return env, err
		}
		stage := controlapi.Stage{Name: st.Name, Wait: st.Wait, Targets: []controlapi.Target{}}
		for _, t := range ob.Targets {
			stage.Targets = append(stage.Targets, t.Target)
		}
		env.Stages = append(env.Stages, stage)
	}
	t := s.table(d)
	hold, err := t.Hold(ctx)
	if err != nil {
		return env, err
	}
	now := s.c.now()
	if hold != nil && now.Before(hold.Until) {
		env.Hold = hold
	} else {
		hold = nil
	}
	if sc := d.Schedule; sc != nil {
		es := &controlapi.Schedule{Timezone: sc.Timezone, Start: sc.Start, Stop: sc.Stop, Days: sc.Days}
		if t, ok := sc.Next(controlapi.Start, now, hold); ok {
			es.NextStart = &t
		}
		if t, ok := sc.Next(controlapi.Stop, now, hold); ok {
			es.NextStop = &t
		}
		env.Schedule = es
	}
	running, err := s.running(ctx, d)
	if err != nil {
		return env, err
	}
	env.Running = running
	return env, nil
}

// running returns the run holding the lock while its execution runs, nil otherwise.
func (s *Service) running(ctx context.Context, d *Definition) (*controlapi.Run, error) {
	lock, err := s.table(d).ReadLock(ctx)
	if err != nil || lock == nil {
		return nil, err
	}
	ok, err := executionRunning(ctx, s.c, lock.ExecutionArn)
	if err != nil || !ok {
		return nil, err
	}
	r, err := s.Run(ctx, d.Environment, lock.Execution)
	if err != nil {
		return nil, err
	}
	return &r, nil
}

// Runs returns the latest runs, newest first.
func (s *Service) Runs(ctx context.Context, name string, limit int) ([]controlapi.Run, error) {
	d, err := s.def(name)
	if err != nil {
		return nil, err
	}
	if limit <= 0 {
		limit = 20
	}
	return s.table(d).Runs(ctx, limit)
}

// ExecutionArn is the ARN of the environment's execution named id.
func (d *Definition) ExecutionArn(id string) string {
	return strings.Replace(d.StateMachineArn, ":stateMachine:", ":execution:", 1) + ":" + id
}

// Run returns one run. A run whose execution ended without the workflow recording its end (a crash,
// the workflow's own timeout, an abort) is reported as failed with the execution's status.
func (s *Service) Run(ctx context.Context, name, id string) (controlapi.Run, error) {
	d, err := s.def(name)
	if err != nil {
		return controlapi.Run{}, err
	}
	x, err := s.c.SFN.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(d.ExecutionArn(id))})
	if err != nil {
		return controlapi.Run{}, fmt.Errorf("run %s of %s: %w", id, name, err)
	}
	started := aws.ToTime(x.StartDate).UTC()
	r, ok, err := s.table(d).GetRun(ctx, started, id)
	if err != nil {
		return r, err
	}
	if !ok {
		// Begin has not written it yet (or refused the run before writing it).
		r = controlapi.Run{ID: id, Environment: name, Action: actionOf(id), Status: controlapi.RunRunning, StartedAt: started, Stages: pending(d, actionOf(id))}
	}
	if x.Status != sfntypes.ExecutionStatusRunning && r.Status == controlapi.RunRunning {
		r.Status = controlapi.RunFailed
		r.Error = fmt.Sprintf("the workflow ended (%s) without recording the run's end", x.Status)
		if c := aws.ToString(x.Cause); c != "" {
			r.Error += ": " + causeMessage(aws.ToString(x.Error), c)
		}
		r.StoppedAt = x.StopDate
	}
	return r, nil
}

func pending(d *Definition, action controlapi.Action) []controlapi.StageProgress {
	var out []controlapi.StageProgress
	for _, st := range d.InOrder(action == controlapi.Stop) {
		out = append(out, controlapi.StageProgress{Name: st.Name, Status: controlapi.StagePending})
	}
	return out
}

// RunName is the execution name of a run started now: <action>-<UTC time to the millisecond>.
func RunName(action controlapi.Action, now time.Time) string {
	return string(action) + "-" + strings.ReplaceAll(now.UTC().Format("20060102T150405.000Z"), ".", "-")
}

// StartRun starts a run, refusing with a *controlapi.BusyError while another one runs. (The
// workflow's first step takes the lock itself, so two starts that race are still one run.)
func (s *Service) StartRun(ctx context.Context, name string, action controlapi.Action, by string) (controlapi.Run, error) {
	d, err := s.def(name)
	if err != nil {
		return controlapi.Run{}, err
	}
	if !action.Valid() {
		return controlapi.Run{}, fmt.Errorf("action %q is not start or stop", action)
	}
	running, err := s.running(ctx, d)
	if err != nil {
		return controlapi.Run{}, err
	}
	if running != nil {
		return controlapi.Run{}, &controlapi.BusyError{Environment: name, Running: *running}
	}
	now := s.c.now()
	id := RunName(action, now)
	input, _ := json.Marshal(map[string]string{"action": string(action), "by": by, "scheduled_time": ""})
	out, err := s.c.SFN.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(d.StateMachineArn), Name: aws.String(id), Input: aws.String(string(input))})
	if err != nil {
		return controlapi.Run{}, fmt.Errorf("start a %s of %s: %w", action, name, err)
	}
	started := now
	if out.StartDate != nil {
		started = out.StartDate.UTC()
	}
	return controlapi.Run{ID: id, Environment: name, Action: action, Status: controlapi.RunRunning, StartedBy: by, StartedAt: started, Stages: pending(d, action)}, nil
}

// PlannedStage is what a run would do to one stage, resolved now.
type PlannedStage struct {
	Name    string
	Wait    string
	Targets []controlapi.Target
	// Actions are lines such as "start i-0abc (app01), stopped" or "nothing: web-fleet is at 2/2".
	Actions []string
}

// Plan says what a run of action would touch, stage by stage in the order it would visit them,
// changing nothing.
func (s *Service) Plan(ctx context.Context, name string, action controlapi.Action) ([]PlannedStage, error) {
	d, err := s.def(name)
	if err != nil {
		return nil, err
	}
	t := s.table(d)
	var out []PlannedStage
	for _, st := range d.InOrder(action == controlapi.Stop) {
		ob, err := s.c.observe(ctx, st)
		if err != nil {
			return nil, err
		}
		ps := PlannedStage{Name: st.Name, Wait: st.Wait}
		if ob.NoMatch {
			ps.Actions = append(ps.Actions, "no instance matches "+TagFilterString(st.InstanceTags)+": a start would fail here")
		}
		for _, o := range ob.Targets {
			ps.Targets = append(ps.Targets, o.Target)
			label := o.ID
			if o.Name != "" {
				label += " (" + o.Name + ")"
			}
			var line string
			switch {
			case o.State == Missing:
				line = "missing: " + label + " does not exist"
			case o.Type == KindEC2 && action == controlapi.Start && (o.State == "stopped" || o.State == "stopping"):
				line = "start " + label + ", now " + o.State
			case o.Type == KindEC2 && action == controlapi.Stop && (o.State == "running" || o.State == "pending"):
				line = "stop " + label + ", now " + o.State
			case o.Type == KindEC2:
				line = "nothing: " + label + " is " + o.State
			case action == controlapi.Stop && o.Desired > 0:
				line = fmt.Sprintf("size %s to 0 (saving %d), now %s", label, o.Desired, o.State)
			case action == controlapi.Start && o.Type == KindEKS:
				saved, ok, err := t.SavedSize(ctx, o.Type, o.ID)
				if err != nil {
					return nil, err
				}
				if ok && (saved.Min > o.Min || saved.Desired > o.Desired) {
					line = fmt.Sprintf("size %s to min %d, desired %d (saved by the last stop), now %s", label, saved.Min, saved.Desired, o.State)
				} else {
					line = "nothing: " + label + " is " + o.State
				}
			case action == controlapi.Start && o.Desired == 0:
				saved, ok, err := t.SavedSize(ctx, o.Type, o.ID)
				if err != nil {
					return nil, err
				}
				if ok {
					line = fmt.Sprintf("size %s to %d (saved by the last stop)", label, saved.Desired)
				} else {
					line = "fail: " + label + " has a desired size of 0 and no size saved by a stop"
				}
			default:
				line = "nothing: " + label + " has " + o.State
			}
			ps.Actions = append(ps.Actions, line)
		}
		out = append(out, ps)
	}
	return out, nil
}

// SetHold suspends the environment's schedule until until.
func (s *Service) SetHold(ctx context.Context, name string, h controlapi.Hold) error {
	d, err := s.def(name)
	if err != nil {
		return err
	}
	if !h.Until.After(s.c.now()) {
		return fmt.Errorf("the hold's end %s is not in the future", h.Until.UTC().Format(time.RFC3339))
	}
	return s.table(d).SetHold(ctx, h)
}

// ClearHold ends the environment's hold.
func (s *Service) ClearHold(ctx context.Context, name string) error {
	d, err := s.def(name)
	if err != nil {
		return err
	}
	return s.table(d).ClearHold(ctx)
}
