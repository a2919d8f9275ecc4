package demo

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stratolab/stratolab/internal/controlapi"
)

// TestStartTurnsTargetsReadyOneByOne: with a fake clock, each target is ready one step after the one
// before it, stage by stage; the run succeeds with the last; a stop then walks the stages in reverse.
func TestStartTurnsTargetsReadyOneByOne(t *testing.T) {
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	s := NewService(time.Second)
	s.Now = func() time.Time { return now }
	ctx := context.Background()
	run, err := s.StartRun(ctx, "staging", controlapi.Start, "alice")
	if err != nil {
		t.Fatal(err)
	}
	statuses := func() string {
		r, err := s.Run(ctx, "staging", run.ID)
		if err != nil {
			t.Fatal(err)
		}
		out := r.Status + ":"
		for _, p := range r.Stages {
			out += " " + p.Name + "=" + p.Status
		}
		return out
	}
	want := []string{
		"running: directory=waiting data=pending app=pending",
		"running: directory=ready data=waiting app=pending",
		"running: directory=ready data=waiting app=pending",
		"running: directory=ready data=ready app=waiting",
		"running: directory=ready data=ready app=waiting",
		"succeeded: directory=ready data=ready app=ready",
	}
	for i, w := range want {
		if got := statuses(); got != w {
			t.Errorf("after %d s: %s; want %s", i, got, w)
		}
		now = now.Add(time.Second)
	}
	stop, err := s.StartRun(ctx, "staging", controlapi.Stop, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if stop.Stages[0].Name != "app" || stop.Stages[2].Name != "directory" {
		t.Errorf("stop visits %v; want app, data, directory", stop.Stages)
	}
	_, err = s.StartRun(ctx, "staging", controlapi.Start, "bob")
	var busy *controlapi.BusyError
	if !errors.As(err, &busy) || busy.Running.ID != stop.ID {
		t.Errorf("second run: %v; want a BusyError naming %s", err, stop.ID)
	}
	if _, err := s.Environment(ctx, "nope"); !errors.Is(err, controlapi.ErrUnknownEnvironment) {
		t.Errorf("unknown environment: %v", err)
	}
}
