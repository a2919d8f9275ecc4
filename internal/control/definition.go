// Package control is the control module's run logic: what an environment's stages are, how a stage's
// targets are resolved, started, stopped and checked, the one-run-at-a-time lock, holds and schedules.
// Targets are EC2 instances (by ID or tags; only existing, non-terminated ones), Auto Scaling groups and
// EKS managed node groups (sizes saved on stop and restored on start) and ECS services (desired count,
// and the bounds of a scalable target, saved and restored).
//
// For the page's function: defs, err := control.LoadDefinitions(ctx, ssmClient, instance), then
// svc, err := control.NewService(&control.Clients{EC2: ..., AutoScaling: ..., ECS: ..., EKS: ..., ELB: ...,
// SFN: ..., Dynamo: ...}, defs); svc is a controlapi.Service. Its role needs what an environment's
// operator policy allows (the Control stack's <Env>OperatorPolicyArn outputs).
// It has no CDK in it. The workflow's function (functions/control) calls Engine's steps; the CLI and
// the control page use Service, which implements controlapi.Service against AWS.
//
// # Where the definitions come from
//
// The Control stack publishes one JSON Definition per environment as the SSM String parameter
// /stratolab/<instance>/control/environments/<env> (LoadDefinitions reads them all with one
// GetParametersByPath). The workflow does not read them: each of its steps gets its stage's
// definition in its payload, written into the state machine at synth time.
//
// # The run table
//
// One DynamoDB table (keys pk, sk, both strings) per instance holds, per environment:
//
//	pk env#<env>   sk lock                  the running execution's name and ARN (the lock)
//	pk env#<env>   sk run#<start>#<name>    a run: the controlapi.Run as JSON in attribute run
//	pk env#<env>   sk size#<kind>#<id>      the size a group or service had when a stop set it to 0
//	pk hold#<env>  sk hold                  a hold: until, by, reason
//
// Holds sit under a partition key of their own so that an operator's policy may write them
// (dynamodb:LeadingKeys hold#<env>) without being able to touch the lock or the runs.
//
// # The lock
//
// Begin takes the lock with a conditional write naming its execution (attribute_not_exists(pk) OR
// execution = me). If another execution holds it, Begin asks Step Functions for that execution's
// status: while it is RUNNING the new run fails as busy; otherwise (it finished, failed, timed out or
// was aborted, so it never released the lock) Begin takes it over with a write conditional on the old
// holder. The lock therefore never outlives its execution, whatever happened to it.
package control

import (
	"fmt"
	"sort"
	"strings"
)

// Wait kinds, a stage's readiness gate.
const (
	WaitRunning      = "running"       // EC2 running, groups and services at their size
	WaitStatusChecks = "status_checks" // and EC2 instance and system status checks ok
	WaitTargetGroup  = "target_group"  // and every target of the stage's target groups healthy
)

// Target kinds.
const (
	KindEC2         = "ec2"
	KindAutoScaling = "autoscaling"
	KindECS         = "ecs"
	KindEKS         = "eks"
)

// Definition is one environment, as the stack publishes it and the CLI and the page read it.
type Definition struct {
	Instance    string `json:"instance"`
	Environment string `json:"environment"`
	// Order is the environment's place in the config (environments are listed in this order).
	Order           int     `json:"order"`
	StateMachineArn string  `json:"state_machine_arn"`
	Table           string  `json:"table"`
	Stages          []Stage `json:"stages"` // in start order
	// Schedule is nil when the environment has none.
	Schedule *Schedule `json:"schedule,omitempty"`
}

// Stage is one step of an environment: its targets and its gate.
type Stage struct {
	Name string `json:"name"`
	// Module is set for a stage that is a piece of one of the instance's own modules ("lookup").
	Module string `json:"module,omitempty"`
	// EC2 instances by ID, or by tags: every key must match one of its values.
	InstanceIDs  []string            `json:"instance_ids,omitempty"`
	InstanceTags map[string][]string `json:"instance_tags,omitempty"`
	// AutoScalingGroups by name.
	AutoScalingGroups []string `json:"autoscaling_groups,omitempty"`
	// ECSServices as cluster/service.
	ECSServices []string `json:"ecs_services,omitempty"`
	// EKSNodegroups as cluster/nodegroup.
	EKSNodegroups []string `json:"eks_nodegroups,omitempty"`
	// Wait is WaitRunning (the default), WaitStatusChecks or WaitTargetGroup.
	Wait            string   `json:"wait"`
	TargetGroupArns []string `json:"target_group_arns,omitempty"`
	TimeoutSeconds  int      `json:"timeout_seconds"`
	SettleSeconds   int      `json:"settle_seconds,omitempty"`
}

// Schedule is an environment's schedule, in local time of an IANA time zone.
type Schedule struct {
	Timezone string `json:"timezone"`
	Start    string `json:"start,omitempty"` // HH:MM
	Stop     string `json:"stop,omitempty"`
	// Days are mon..sun, expanded (no ranges), in week order. The start runs on these days; the stop
	// too, or on the day after each when Overnight is set.
	Days      []string `json:"days"`
	Overnight bool     `json:"overnight,omitempty"`
	// SkipDates (YYYY-MM-DD, local) are days on which a scheduled start does nothing.
	SkipDates []string `json:"skip_dates,omitempty"`
}

// InOrder returns the stages in the order action visits them: as listed for start, reversed for stop.
func (d *Definition) InOrder(stop bool) []Stage {
	out := append([]Stage(nil), d.Stages...)
	if stop {
		for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
			out[i], out[j] = out[j], out[i]
		}
	}
	return out
}

// TargetCount is how many target selectors the stage has (tags count as one).
func (s *Stage) TargetCount() int {
	n := len(s.InstanceIDs) + len(s.AutoScalingGroups) + len(s.ECSServices) + len(s.EKSNodegroups)
	if len(s.InstanceTags) > 0 {
		n++
	}
	return n
}

// Check says what is wrong with a definition, or nil.
func (d *Definition) Check() error {
	var errs []string
	if d.Environment == "" || d.StateMachineArn == "" || d.Table == "" {
		errs = append(errs, "environment, state_machine_arn and table are required")
	}
	if len(d.Stages) == 0 {
		errs = append(errs, "no stages")
	}
	seen := map[string]bool{}
	for i, s := range d.Stages {
		if s.Name == "" || seen[s.Name] {
			errs = append(errs, fmt.Sprintf("stage %d: name %q is empty or not unique", i, s.Name))
		}
		seen[s.Name] = true
		if s.TargetCount() == 0 {
			errs = append(errs, fmt.Sprintf("stage %s: no targets", s.Name))
		}
		switch s.Wait {
		case WaitRunning, WaitStatusChecks:
		case WaitTargetGroup:
			if len(s.TargetGroupArns) == 0 {
				errs = append(errs, fmt.Sprintf("stage %s: wait target_group without target groups", s.Name))
			}
		default:
			errs = append(errs, fmt.Sprintf("stage %s: wait %q is not running, status_checks or target_group", s.Name, s.Wait))
		}
		if s.TimeoutSeconds <= 0 {
			errs = append(errs, fmt.Sprintf("stage %s: timeout_seconds must be positive", s.Name))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("environment %s: %s", d.Environment, strings.Join(errs, "; "))
	}
	return nil
}

// TagFilterString renders tags as k=v1|v2,k2=v (sorted), for messages.
func TagFilterString(tags map[string][]string) string {
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + strings.Join(tags[k], "|")
	}
	return strings.Join(parts, ",")
}
