package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stratolab/stratolab/internal/control"
	"github.com/stratolab/stratolab/internal/controlapi"
)

// fakeControl replays a recorded run and answers status and plan from fixed values.
type fakeControl struct {
	recorded []controlapi.Run
	calls    int
	busy     *controlapi.Run
	env      controlapi.Environment
	plan     []control.PlannedStage
	hold     *controlapi.Hold
	started  []string
}

func (f *fakeControl) Environments(context.Context) ([]string, error) {
	return []string{"staging"}, nil
}
func (f *fakeControl) Environment(_ context.Context, name string) (controlapi.Environment, error) {
	if name != "staging" {
		return controlapi.Environment{}, fmt.Errorf("%w %q (environments: staging)", controlapi.ErrUnknownEnvironment, name)
	}
	return f.env, nil
}
func (f *fakeControl) Runs(context.Context, string, int) ([]controlapi.Run, error) {
	return []controlapi.Run{f.recorded[len(f.recorded)-1]}, nil
}
func (f *fakeControl) Run(_ context.Context, _, id string) (controlapi.Run, error) {
	f.calls++
	if f.calls >= len(f.recorded) {
		return f.recorded[len(f.recorded)-1], nil
	}
	return f.recorded[f.calls], nil
}
func (f *fakeControl) StartRun(_ context.Context, name string, action controlapi.Action, by string) (controlapi.Run, error) {
	if f.busy != nil {
		return controlapi.Run{}, &controlapi.BusyError{Environment: name, Running: *f.busy}
	}
	f.started = append(f.started, string(action)+" by "+by)
	return f.recorded[0], nil
}
func (f *fakeControl) Plan(context.Context, string, controlapi.Action) ([]control.PlannedStage, error) {
	return f.plan, nil
}
func (f *fakeControl) SetHold(_ context.Context, _ string, h controlapi.Hold) error {
	f.hold = &h
	return nil
}
func (f *fakeControl) ClearHold(context.Context, string) error { f.hold = nil; return nil }

func withFakeControl(t *testing.T, f *fakeControl) {
	oldSvc, oldPoll, oldWho := newControlService, controlPoll, whoAmI
	t.Cleanup(func() { newControlService, controlPoll, whoAmI = oldSvc, oldPoll, oldWho })
	newControlService = func(context.Context) (controlBackend, error) {
		if controlFlags.instance != "lab" {
			return nil, fmt.Errorf("instance %q", controlFlags.instance)
		}
		return f, nil
	}
	controlPoll = time.Millisecond
	whoAmI = func() string { return "alice" }
}

func recorded(t *testing.T, file string) []controlapi.Run {
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var runs []controlapi.Run
	if err := json.Unmarshal(data, &runs); err != nil {
		t.Fatal(err)
	}
	return runs
}

func cli(args ...string) (string, string, int) {
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb)
	return out.String(), errb.String(), code
}

// The progress of start against a recorded run that fails in its second stage: one plain line per
// change of a stage (the repeated snapshot prints nothing), the failure on stderr, exit 1.
func TestControlStartShowsProgressOfARecordedRun(t *testing.T) {
	f := &fakeControl{recorded: recorded(t, "testdata/control-run-failed.json")}
	withFakeControl(t, f)
	out, errs, code := cli("control", "start", "staging", "--instance", "lab")
	if code != 1 {
		t.Fatalf("exit %d, want 1 for a failed stage; stderr %q", code, errs)
	}
	want := `start of staging: run start-20261201T070000-000Z
~ directory                waiting  0/1  waiting for ad01 (i-00000000000000ad1): is pending
+ directory                ready    1/1
~ data                     waiting  1/2  waiting for filesvr (i-000000000000file1): status checks initializing
x data                     failed   1/2  sqlsvr (i-0000000000000sql1): went back to stopped after the start (Server.InsufficientInstanceCapacity: Insufficient capacity.)
- app                      skipped
`
	if out != want {
		t.Errorf("progress:\n%s\nwant:\n%s", out, want)
	}
	if !strings.Contains(errs, "start of staging failed in 4m30s: sqlsvr (i-0000000000000sql1): went back to stopped") || !strings.Contains(errs, "left as it is") {
		t.Errorf("stderr %q", errs)
	}
	if len(f.started) != 1 || f.started[0] != "start by alice" {
		t.Errorf("started %v", f.started)
	}
}

// On a terminal the stages are redrawn in place: cursor up over the block, each line cleared.
func TestControlProgressRedrawsOnATerminal(t *testing.T) {
	runs := recorded(t, "testdata/control-run-failed.json")
	var b bytes.Buffer
	p := newRunProgress(&b, true)
	p.update(runs[1])
	p.update(runs[3])
	out := b.String()
	if strings.Count(out, "\x1b[3A") != 1 || strings.Count(out, "\x1b[2K") != 6 {
		t.Errorf("terminal output %q", out)
	}
	if !strings.Contains(out, "\x1b[2K+ directory                ready    1/1\n") {
		t.Errorf("terminal output %q", out)
	}
}

func TestControlStartIsRefusedWhileARunIsGoing(t *testing.T) {
	f := &fakeControl{recorded: recorded(t, "testdata/control-run-failed.json"),
		busy: &controlapi.Run{ID: "stop-20261201T065900-000Z", Action: controlapi.Stop, StartedBy: "bob", StartedAt: time.Date(2026, 12, 1, 6, 59, 0, 0, time.UTC)}}
	withFakeControl(t, f)
	_, errs, code := cli("control", "start", "staging", "--instance", "lab")
	if code != 1 || !strings.Contains(errs, "refused: environment staging is busy: stop run stop-20261201T065900-000Z started by bob at 2026-12-01T06:59:00Z is still going") {
		t.Errorf("exit %d, stderr %q", code, errs)
	}
}

func TestControlStartSucceeds(t *testing.T) {
	runs := recorded(t, "testdata/control-run-failed.json")
	last := runs[len(runs)-1]
	last.Status, last.Error = controlapi.RunSucceeded, ""
	last.Stages[1].Status, last.Stages[1].Ready, last.Stages[1].Message = controlapi.StageReady, 2, ""
	last.Stages[2] = controlapi.StageProgress{Name: "app", Status: controlapi.StageReady, Ready: 2, Total: 2}
	f := &fakeControl{recorded: append(runs[:4], last)}
	withFakeControl(t, f)
	out, errs, code := cli("control", "start", "staging", "--instance", "lab")
	if code != 0 || !strings.HasSuffix(out, "+ app                      ready    2/2\nstart of staging succeeded in 4m30s\n") {
		t.Errorf("exit %d, out %q, err %q", code, out, errs)
	}
}

func TestControlStatusAndPlanAgainstFakes(t *testing.T) {
	at := time.Date(2026, 12, 1, 6, 0, 0, 0, time.UTC)
	next := time.Date(2026, 12, 2, 7, 0, 0, 0, time.UTC)
	f := &fakeControl{recorded: recorded(t, "testdata/control-run-failed.json"),
		env: controlapi.Environment{Name: "staging",
			Stages: []controlapi.Stage{{Name: "directory", Wait: "running", Targets: []controlapi.Target{{Kind: "ec2", ID: "i-00000000000000ad1", Name: "ad01", State: "running", Checks: "ok", LastAction: "start", LastActionBy: "alice", LastActionAt: &at}}},
				{Name: "app.jobs-web", Wait: "running", Targets: []controlapi.Target{{Kind: "module:jobs", ID: "lab-web", State: "0/0 in service"}}}},
			Schedule: &controlapi.Schedule{Timezone: "Europe/Berlin", Start: "08:00", Stop: "19:00", Days: []string{"mon", "tue"}, NextStart: &next},
			Hold:     &controlapi.Hold{Until: next, By: "bob", Reason: "patching"}},
		plan: []control.PlannedStage{{Name: "directory", Wait: "running", Actions: []string{"nothing: i-00000000000000ad1 (ad01) is running"}},
			{Name: "app.jobs-web", Wait: "running", Actions: []string{"size lab-web to 2 (saved by the last stop)"}}},
	}
	withFakeControl(t, f)
	out, _, code := cli("control", "status", "staging", "--instance", "lab")
	want := `environment staging
1. directory (wait: running)
   ec2            i-00000000000000ad1 ad01 running, checks ok (last start by alice at 2026-12-01T06:00:00Z)
2. app.jobs-web (wait: running)
   module:jobs    lab-web                0/0 in service
schedule: Europe/Berlin, days mon,tue, next start 2026-12-02T07:00:00Z
hold: until 2026-12-02T07:00:00Z by bob (patching)
`
	if code != 0 || out != want {
		t.Errorf("status exit %d:\n%s\nwant:\n%s", code, out, want)
	}
	out, _, code = cli("control", "plan", "staging", "--instance", "lab")
	want = `a start of staging would, in this order (nothing was changed):
1. directory (then wait: running)
   nothing: i-00000000000000ad1 (ad01) is running
2. app.jobs-web (then wait: running)
   size lab-web to 2 (saved by the last stop)
`
	if code != 0 || out != want {
		t.Errorf("plan exit %d:\n%s\nwant:\n%s", code, out, want)
	}
	out, _, code = cli("control", "status", "staging", "--instance", "lab", "--json")
	var env controlapi.Environment
	if code != 0 || json.Unmarshal([]byte(out), &env) != nil || env.Stages[0].Targets[0].ID != "i-00000000000000ad1" {
		t.Errorf("status --json: %d %s", code, out)
	}
	_, errs, code := cli("control", "status", "prod", "--instance", "lab")
	if code != 1 || !strings.Contains(errs, `unknown environment "prod" (environments: staging)`) {
		t.Errorf("unknown env: %d %q", code, errs)
	}
	_, errs, code = cli("control", "plan", "staging", "--instance", "lab", "--action", "reboot")
	if code != 1 || !strings.Contains(errs, `--action "reboot" is not start or stop`) {
		t.Errorf("bad action: %d %q", code, errs)
	}
}

func TestControlHold(t *testing.T) {
	f := &fakeControl{recorded: recorded(t, "testdata/control-run-failed.json"),
		env: controlapi.Environment{Name: "staging", Schedule: &controlapi.Schedule{Timezone: "Europe/Berlin"}}}
	withFakeControl(t, f)
	// A local time is read in the schedule's time zone: 18:00 in Berlin in December is 17:00 UTC.
	out, errs, code := cli("control", "hold", "staging", "--instance", "lab", "--until", "2026-12-01T18:00", "--reason", "demo")
	if code != 0 || f.hold == nil || !f.hold.Until.Equal(time.Date(2026, 12, 1, 17, 0, 0, 0, time.UTC)) || f.hold.Reason != "demo" || f.hold.By != "alice" {
		t.Fatalf("hold: %d %q %q %+v", code, out, errs, f.hold)
	}
	if out != "staging: schedule held until 2026-12-01T17:00:00Z by alice\n" {
		t.Errorf("hold output %q", out)
	}
	_, _, code = cli("control", "hold", "staging", "--instance", "lab", "--clear")
	if code != 0 || f.hold != nil {
		t.Errorf("clear: %d %+v", code, f.hold)
	}
	_, errs, code = cli("control", "hold", "staging", "--instance", "lab", "--until", "tomorrow")
	if code != 1 || !strings.Contains(errs, `--until "tomorrow" is not a time`) {
		t.Errorf("bad until: %d %q", code, errs)
	}
	_, errs, code = cli("control", "hold", "staging", "--instance", "lab")
	if code != 1 || !strings.Contains(errs, "give either --until TIME or --clear") {
		t.Errorf("neither: %d %q", code, errs)
	}
}

func TestControlRuns(t *testing.T) {
	f := &fakeControl{recorded: recorded(t, "testdata/control-run-failed.json")}
	withFakeControl(t, f)
	out, _, code := cli("control", "runs", "staging", "--instance", "lab")
	want := "start-20261201T070000-000Z  start failed    by alice at 2026-12-01T07:00:00Z (4m30s): sqlsvr (i-0000000000000sql1): went back to stopped after the start (Server.InsufficientInstanceCapacity: Insufficient capacity.)\n"
	if code != 0 || out != want {
		t.Errorf("runs %d:\n%q\nwant\n%q", code, out, want)
	}
}

func TestControlNeedsAnInstance(t *testing.T) {
	controlFlags.instance = ""
	_, errs, code := cli("control", "runs", "staging")
	if code != 1 || !strings.Contains(errs, "--instance is required") {
		t.Errorf("%d %q", code, errs)
	}
}
