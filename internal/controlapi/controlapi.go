// Package controlapi is the contract between the control module's run logic (internal/control, which
// talks to Step Functions, EC2, Auto Scaling, ECS and the run table) and the programs that show and
// drive it: the operator CLI (`stratolab control ...`) and the control page (internal/controlpage).
//
// The types are also the page's JSON API: their JSON field names are what the page's JavaScript reads,
// so a change here is a change of the page's API. Times are RFC 3339 in UTC.
package controlapi

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Action is what a run does to an environment.
type Action string

const (
	// Start starts the stages top to bottom, each gated by its readiness check.
	Start Action = "start"
	// Stop stops the stages bottom to top.
	Stop Action = "stop"
)

// Valid reports whether a is start or stop.
func (a Action) Valid() bool { return a == Start || a == Stop }

// Run statuses.
const (
	RunRunning   = "running"
	RunSucceeded = "succeeded"
	RunFailed    = "failed"
	RunSkipped   = "skipped" // a scheduled run that a hold or a skip date turned into nothing
)

// Stage statuses within a run.
const (
	StagePending = "pending" // not reached yet
	StageActing  = "acting"  // start or stop calls are being made
	StageWaiting = "waiting" // waiting for the readiness gate (or the settle delay)
	StageReady   = "ready"   // every target reached the wanted state and passed the gate
	StageFailed  = "failed"  // a target reached a terminal state or the wait timed out
	StageSkipped = "skipped" // not run because an earlier stage failed
)

// Environment is what a user may see of one environment: its stages in start order, each target's
// current state, the schedule's next actions, a hold if one is set.
type Environment struct {
	Name   string  `json:"name"`
	Stages []Stage `json:"stages"`
	// Schedule is nil when the environment has none.
	Schedule *Schedule `json:"schedule,omitempty"`
	// Hold is nil when no hold is in force.
	Hold *Hold `json:"hold,omitempty"`
	// Running is the run in progress, nil when none.
	Running *Run `json:"running,omitempty"`
}

// Stage is one step of an environment, in start order.
type Stage struct {
	Name string `json:"name"`
	// Wait is the readiness gate: "running", "status_checks" or "health_check".
	Wait    string   `json:"wait"`
	Targets []Target `json:"targets"`
}

// Target is one thing a stage starts and stops, resolved now (tags become instance IDs).
type Target struct {
	// Kind is "ec2", "autoscaling", "ecs", "eks" (a managed node group), "rds" or "module:<name>" for a module's own piece.
	Kind string `json:"kind"`
	// ID is the AWS identifier: an instance ID, a group name, cluster/service, a DB identifier.
	ID string `json:"id"`
	// Name is a human name (the Name tag), may be empty.
	Name string `json:"name,omitempty"`
	// State is the target's state as AWS reports it ("running", "stopped", "pending", "3/3 tasks", ...).
	State string `json:"state"`
	// Checks is the readiness detail: "ok", "initializing", "impaired", "healthy 2/2", "" when none apply.
	Checks string `json:"checks,omitempty"`
	// LastAction, LastActionAt and LastActionBy come from the status tags the workflow writes.
	LastAction   string     `json:"last_action,omitempty"`
	LastActionAt *time.Time `json:"last_action_at,omitempty"`
	LastActionBy string     `json:"last_action_by,omitempty"`
}

// Schedule is an environment's schedule and its next actions (already past holds and skip dates).
type Schedule struct {
	Timezone  string     `json:"timezone"`
	Start     string     `json:"start,omitempty"` // HH:MM local time, empty for a stop-only schedule
	Stop      string     `json:"stop,omitempty"`
	Days      []string   `json:"days"`
	NextStart *time.Time `json:"next_start,omitempty"`
	NextStop  *time.Time `json:"next_stop,omitempty"`
}

// Hold suspends an environment's schedule until a time.
type Hold struct {
	Until  time.Time `json:"until"`
	By     string    `json:"by"`
	Reason string    `json:"reason,omitempty"`
}

// Run is one start or stop of an environment, running or finished.
type Run struct {
	ID          string          `json:"id"` // the Step Functions execution name
	Environment string          `json:"environment"`
	Action      Action          `json:"action"`
	Status      string          `json:"status"`
	StartedBy   string          `json:"started_by"` // a user name, or "schedule"
	StartedAt   time.Time       `json:"started_at"`
	StoppedAt   *time.Time      `json:"stopped_at,omitempty"`
	Stages      []StageProgress `json:"stages"` // in the order the run visits them
	Error       string          `json:"error,omitempty"`
}

// StageProgress is a stage's progress within a run.
type StageProgress struct {
	Name    string     `json:"name"`
	Status  string     `json:"status"`
	Ready   int        `json:"ready"` // targets in the wanted state and past the gate
	Total   int        `json:"total"`
	Message string     `json:"message,omitempty"` // the reason of a failure, or what is awaited
	Started *time.Time `json:"started,omitempty"`
	Done    *time.Time `json:"done,omitempty"`
}

// Service is what the CLI and the page need from the control module. Environment names are the
// config's; an unknown one returns an error that wraps ErrUnknownEnvironment.
type Service interface {
	// Environments lists the environment names in config order.
	Environments(ctx context.Context) ([]string, error)
	// Environment returns an environment with its targets resolved and their state now.
	Environment(ctx context.Context, name string) (Environment, error)
	// Runs returns the environment's latest runs, newest first, at most limit.
	Runs(ctx context.Context, name string, limit int) ([]Run, error)
	// Run returns one run with its stages' progress.
	Run(ctx context.Context, name, id string) (Run, error)
	// StartRun starts a run of action on the environment on behalf of by. While another run of the
	// environment is going it returns a *BusyError naming that run.
	StartRun(ctx context.Context, name string, action Action, by string) (Run, error)
}

// ErrUnknownEnvironment is wrapped by errors about an environment the config does not have.
var ErrUnknownEnvironment = errors.New("unknown environment")

// BusyError is returned by StartRun while another run of the same environment is going.
type BusyError struct {
	Environment string
	Running     Run
}

func (e *BusyError) Error() string {
	return fmt.Sprintf("environment %s is busy: %s run %s started by %s at %s is still going",
		e.Environment, e.Running.Action, e.Running.ID, e.Running.StartedBy, e.Running.StartedAt.UTC().Format(time.RFC3339))
}
