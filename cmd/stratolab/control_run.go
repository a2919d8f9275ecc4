package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/user"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/spf13/cobra"
	"github.com/stratolab/stratolab/internal/control"
	"github.com/stratolab/stratolab/internal/controlapi"
)

// controlBackend is what the control commands use: the page's Service and the CLI's extras.
type controlBackend interface {
	controlapi.Service
	Plan(ctx context.Context, name string, action controlapi.Action) ([]control.PlannedStage, error)
	SetHold(ctx context.Context, name string, h controlapi.Hold) error
	ClearHold(ctx context.Context, name string) error
}

var controlFlags struct {
	instance string
}

// controlPoll is how often start and stop look at their run.
var controlPoll = 5 * time.Second

// newControlService finds the instance's control environments through what its Control stack publishes.
var newControlService = func(ctx context.Context) (controlBackend, error) {
	if controlFlags.instance == "" {
		return nil, fmt.Errorf("--instance is required (the instance's name, as in instance/NAME.yaml)")
	}
	cfg, err := awsConfig(ctx)
	if err != nil {
		return nil, err
	}
	defs, err := control.LoadDefinitions(ctx, ssm.NewFromConfig(cfg), controlFlags.instance)
	if err != nil {
		return nil, err
	}
	return control.NewService(control.NewClients(cfg), defs)
}

// whoAmI names the person in runs and holds.
var whoAmI = func() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return "cli"
}

func init() {
	controlCmd.PersistentFlags().StringVar(&controlFlags.instance, "instance", "", "instance name (required)")
	for _, action := range []controlapi.Action{controlapi.Start, controlapi.Stop} {
		action := action
		var noWait bool
		order := "top to bottom, each stage waiting for its readiness gate"
		if action == controlapi.Stop {
			order = "bottom to top"
		}
		cmd := &cobra.Command{
			Use:   string(action) + " ENV",
			Short: fmt.Sprintf("%s an environment's stages, %s, and follow the run", strings.ToUpper(string(action[:1]))+string(action[1:]), order),
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				defer func() { noWait = false }() // flags keep their values between runs of one process (tests)
				svc, err := newControlService(cmd.Context())
				if err != nil {
					return err
				}
				return startAndFollow(cmd.Context(), svc, args[0], action, !noWait, cmd.OutOrStdout())
			},
		}
		cmd.Flags().BoolVar(&noWait, "no-wait", false, "start the run and return at once")
		controlCmd.AddCommand(cmd)
	}

	var asJSON bool
	status := &cobra.Command{
		Use:   "status ENV",
		Short: "Each stage's targets, their state and checks, the schedule, a hold and the running run",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			defer func() { asJSON = false }()
			svc, err := newControlService(cmd.Context())
			if err != nil {
				return err
			}
			env, err := svc.Environment(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if asJSON {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(env)
			}
			printStatus(cmd.OutOrStdout(), env)
			return nil
		},
	}
	status.Flags().BoolVar(&asJSON, "json", false, "print the environment as JSON (the page's format)")
	controlCmd.AddCommand(status)

	var planAction string
	plan := &cobra.Command{
		Use:   "plan ENV",
		Short: "What a start (or --action stop) would touch, stage by stage, resolved now; changes nothing",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			defer func() { planAction = "start" }()
			action := controlapi.Action(planAction)
			if !action.Valid() {
				return fmt.Errorf("--action %q is not start or stop", planAction)
			}
			svc, err := newControlService(cmd.Context())
			if err != nil {
				return err
			}
			stages, err := svc.Plan(cmd.Context(), args[0], action)
			if err != nil {
				return err
			}
			printPlan(cmd.OutOrStdout(), args[0], action, stages)
			return nil
		},
	}
	plan.Flags().StringVar(&planAction, "action", "start", "start or stop")
	controlCmd.AddCommand(plan)

	var hold struct {
		until, reason string
		clear         bool
	}
	holdCmd := &cobra.Command{
		Use:   "hold ENV --until TIME [--reason TEXT] | hold ENV --clear",
		Short: "Suspend the environment's schedule (its scheduled starts and stops) until TIME, or end the hold",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			defer func() { hold.until, hold.reason, hold.clear = "", "", false }()
			if hold.clear == (hold.until != "") {
				return errors.New("give either --until TIME or --clear")
			}
			svc, err := newControlService(cmd.Context())
			if err != nil {
				return err
			}
			if hold.clear {
				if err := svc.ClearHold(cmd.Context(), args[0]); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s: no hold; the schedule runs again\n", args[0])
				return nil
			}
			env, err := svc.Environment(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			tz := "UTC"
			if env.Schedule != nil {
				tz = env.Schedule.Timezone
			}
			until, err := parseUntil(hold.until, tz)
			if err != nil {
				return err
			}
			h := controlapi.Hold{Until: until.UTC(), By: whoAmI(), Reason: hold.reason}
			if err := svc.SetHold(cmd.Context(), args[0], h); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: schedule held until %s by %s\n", args[0], h.Until.Format(time.RFC3339), h.By)
			return nil
		},
	}
	holdCmd.Flags().StringVar(&hold.until, "until", "", "RFC 3339 time (2026-12-01T18:00:00+01:00), or YYYY-MM-DDTHH:MM in the schedule's time zone")
	holdCmd.Flags().StringVar(&hold.reason, "reason", "", "why (shown in status and on the page)")
	holdCmd.Flags().BoolVar(&hold.clear, "clear", false, "end the hold now")
	controlCmd.AddCommand(holdCmd)

	var limit int
	runs := &cobra.Command{
		Use:   "runs ENV",
		Short: "The environment's latest runs, newest first",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			svc, err := newControlService(cmd.Context())
			if err != nil {
				return err
			}
			defer func() { limit = 10 }()
			list, err := svc.Runs(cmd.Context(), args[0], limit)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if len(list) == 0 {
				fmt.Fprintf(w, "%s has no runs yet\n", args[0])
			}
			for _, r := range list {
				line := fmt.Sprintf("%s  %-5s %-9s by %s at %s", r.ID, r.Action, r.Status, r.StartedBy, r.StartedAt.UTC().Format(time.RFC3339))
				if r.StoppedAt != nil {
					line += " (" + r.StoppedAt.Sub(r.StartedAt).Round(time.Second).String() + ")"
				}
				if r.Error != "" {
					line += ": " + r.Error
				}
				fmt.Fprintln(w, line)
			}
			return nil
		},
	}
	runs.Flags().IntVar(&limit, "limit", 10, "how many runs")
	controlCmd.AddCommand(runs)
}

// parseUntil reads an RFC 3339 time, or a local YYYY-MM-DDTHH:MM[:SS] in the time zone tz.
func parseUntil(s, tz string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return time.Time{}, err
	}
	for _, layout := range []string{"2006-01-02T15:04", "2006-01-02T15:04:05"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("--until %q is not a time (RFC 3339 such as 2026-12-01T18:00:00Z, or 2026-12-01T18:00 in %s)", s, tz)
}

// startAndFollow starts a run and, with follow, shows its stages' progress until it ends; a failed
// run is an error (so a non-zero exit).
func startAndFollow(ctx context.Context, svc controlapi.Service, env string, action controlapi.Action, follow bool, w io.Writer) error {
	run, err := svc.StartRun(ctx, env, action, whoAmI())
	var busy *controlapi.BusyError
	if errors.As(err, &busy) {
		return fmt.Errorf("refused: %w", err)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "%s of %s: run %s\n", action, env, run.ID)
	if !follow {
		return nil
	}
	p := newRunProgress(w, isTerminal(w))
	for {
		p.update(run)
		if run.Status != controlapi.RunRunning {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("stopped following run %s, which goes on (stratolab control status %s): %w", run.ID, env, ctx.Err())
		case <-time.After(controlPoll):
		}
		if run, err = svc.Run(ctx, env, run.ID); err != nil {
			return err
		}
	}
	took := ""
	if run.StoppedAt != nil {
		took = " in " + run.StoppedAt.Sub(run.StartedAt).Round(time.Second).String()
	}
	switch run.Status {
	case controlapi.RunSucceeded:
		fmt.Fprintf(w, "%s of %s succeeded%s\n", action, env, took)
		return nil
	case controlapi.RunSkipped:
		fmt.Fprintf(w, "%s of %s skipped: %s\n", action, env, run.Error)
		return nil
	}
	return fmt.Errorf("%s of %s failed%s: %s (what was already %sed is left as it is)", action, env, took, run.Error, action)
}

// runProgress draws a run's stages: on a terminal, one line per stage redrawn in place; elsewhere, a
// plain line each time a stage changes.
type runProgress struct {
	w     io.Writer
	tty   bool
	last  map[string]string
	drawn int
}

func newRunProgress(w io.Writer, tty bool) *runProgress {
	return &runProgress{w: w, tty: tty, last: map[string]string{}}
}

var stageMark = map[string]string{
	controlapi.StagePending: " ", controlapi.StageActing: ">", controlapi.StageWaiting: "~",
	controlapi.StageReady: "+", controlapi.StageFailed: "x", controlapi.StageSkipped: "-",
}

func stageLine(s controlapi.StageProgress) string {
	line := fmt.Sprintf("%s %-24s %-8s", stageMark[s.Status], s.Name, s.Status)
	if s.Total > 0 {
		line += fmt.Sprintf(" %d/%d", s.Ready, s.Total)
	}
	if s.Message != "" {
		line += "  " + s.Message
	}
	return strings.TrimRight(line, " ")
}

func (p *runProgress) update(r controlapi.Run) {
	if p.tty {
		if p.drawn > 0 {
			fmt.Fprintf(p.w, "\x1b[%dA", p.drawn)
		}
		for _, s := range r.Stages {
			fmt.Fprintf(p.w, "\x1b[2K%s\n", stageLine(s))
		}
		p.drawn = len(r.Stages)
		return
	}
	for _, s := range r.Stages {
		line := stageLine(s)
		if p.last[s.Name] != line {
			p.last[s.Name] = line
			if s.Status != controlapi.StagePending {
				fmt.Fprintln(p.w, line)
			}
		}
	}
}

func printStatus(w io.Writer, env controlapi.Environment) {
	fmt.Fprintf(w, "environment %s\n", env.Name)
	for i, s := range env.Stages {
		fmt.Fprintf(w, "%d. %s (wait: %s)\n", i+1, s.Name, s.Wait)
		if len(s.Targets) == 0 {
			fmt.Fprintln(w, "   no targets found now")
		}
		for _, t := range s.Targets {
			line := fmt.Sprintf("   %-14s %-22s %s", t.Kind, t.ID, t.State)
			if t.Name != "" {
				line = fmt.Sprintf("   %-14s %-22s %s", t.Kind, t.ID+" "+t.Name, t.State)
			}
			if t.Checks != "" {
				line += ", checks " + t.Checks
			}
			if t.LastAction != "" {
				line += fmt.Sprintf(" (last %s", t.LastAction)
				if t.LastActionBy != "" {
					line += " by " + t.LastActionBy
				}
				if t.LastActionAt != nil {
					line += " at " + t.LastActionAt.UTC().Format(time.RFC3339)
				}
				line += ")"
			}
			fmt.Fprintln(w, line)
		}
	}
	if sc := env.Schedule; sc != nil {
		line := fmt.Sprintf("schedule: %s, days %s", sc.Timezone, strings.Join(sc.Days, ","))
		if sc.NextStart != nil {
			line += ", next start " + sc.NextStart.UTC().Format(time.RFC3339)
		}
		if sc.NextStop != nil {
			line += ", next stop " + sc.NextStop.UTC().Format(time.RFC3339)
		}
		fmt.Fprintln(w, line)
	} else {
		fmt.Fprintln(w, "schedule: none (on demand only)")
	}
	if h := env.Hold; h != nil {
		line := fmt.Sprintf("hold: until %s by %s", h.Until.UTC().Format(time.RFC3339), h.By)
		if h.Reason != "" {
			line += " (" + h.Reason + ")"
		}
		fmt.Fprintln(w, line)
	}
	if r := env.Running; r != nil {
		fmt.Fprintf(w, "running: %s %s by %s since %s\n", r.Action, r.ID, r.StartedBy, r.StartedAt.UTC().Format(time.RFC3339))
	}
}

func printPlan(w io.Writer, env string, action controlapi.Action, stages []control.PlannedStage) {
	fmt.Fprintf(w, "a %s of %s would, in this order (nothing was changed):\n", action, env)
	for i, s := range stages {
		fmt.Fprintf(w, "%d. %s (then wait: %s)\n", i+1, s.Name, s.Wait)
		if len(s.Actions) == 0 {
			fmt.Fprintln(w, "   nothing: no targets found now")
		}
		for _, a := range s.Actions {
			fmt.Fprintln(w, "   "+a)
		}
	}
}
