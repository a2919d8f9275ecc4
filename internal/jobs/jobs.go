// Package jobs is the contract between everything that touches a stratolab job: the operator CLI
// (`stratolab jobs ...`), the worker agent (cmd/stratolab-worker) and any web app that submits jobs.
//
// A job is one SQS message (Spec, as JSON, no SNS envelope) on its class's queue and one item in the
// jobs table (Job). Its files live in the jobs bucket: inputs under uploads/<job_id>/, results under
// outputs/<job_id>/. The item moves queued → running → succeeded | failed | interrupted | cancelled;
// an interrupted job goes back to queued when a worker takes it again.
//
// The package holds no AWS client of its own beyond the thin DynamoDB and SQS adapters that satisfy
// Table and Queue; the logic that uses them (internal/jobagent, internal/jobclient) is tested with the
// in-memory fakes of jobs/jobsfake.
package jobs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"path"
	"regexp"
	"strings"
	"time"
)

// States of a job.
const (
	StateQueued      = "queued"
	StateRunning     = "running"
	StateSucceeded   = "succeeded"
	StateFailed      = "failed"
	StateInterrupted = "interrupted"
	StateCancelled   = "cancelled"
)

// Terminal reports whether a job in state s will not run again.
func Terminal(s string) bool {
	return s == StateSucceeded || s == StateFailed || s == StateCancelled
}

// Bucket prefixes (the same as constructs/jobstore's).
const (
	PrefixUploads = "uploads/"
	PrefixOutputs = "outputs/"
	PrefixCode    = "code/"
)

// ExitTimedOut is the exit code recorded for a job killed at its time limit (as timeout(1) reports).
const ExitTimedOut = 124

// Spec is the message a submitter sends to a class's queue: raw JSON, no SNS envelope.
type Spec struct {
	JobID string `json:"job_id"`
	Class string `json:"class"`
	// UserID is who submitted it (the by-user index of the jobs table).
	UserID string `json:"user_id,omitempty"`
	// Command is the argv to run (no shell unless you name one: ["bash", "-c", "..."]).
	Command []string `json:"command"`
	// Inputs are object keys under uploads/ that the worker downloads into $JOB_INPUTS before the
	// command starts; a key under uploads/<job_id>/ lands at that relative path, any other under
	// uploads/ at the path after uploads/.
	Inputs []string `json:"inputs,omitempty"`
	// CodeKey is a .tar.gz under code/ that the worker unpacks into $JOB_CODE, where the command then runs.
	CodeKey string `json:"code_key,omitempty"`
	// TimeoutSeconds limits the command's run time. 0: the worker's default.
	TimeoutSeconds int `json:"timeout_seconds,omitempty"`
	// SubmittedAt is seconds since the epoch.
	SubmittedAt int64 `json:"submitted_at"`
}

// MaxTimeout is the longest a job may run. SQS keeps a received message hidden for at most 12 hours
// from its receive, however often its visibility is extended ("the maximum is 12 hours", SQS developer
// guide, Visibility timeout); a job still running then would be received again. Half an hour is kept
// for the upload of its outputs.
const MaxTimeout = 11*time.Hour + 30*time.Minute

var jobIDRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$`)

// Check returns what is wrong with s, or nil.
func (s Spec) Check() error {
	var errs []string
	if !jobIDRe.MatchString(s.JobID) || strings.Contains(s.JobID, "..") {
		errs = append(errs, fmt.Sprintf("job_id %q is not a job ID (letters, digits, _ . -, at most 128)", s.JobID))
	}
	if len(s.Command) == 0 || s.Command[0] == "" {
		errs = append(errs, "command is empty")
	}
	for _, k := range s.Inputs {
		if _, err := InputPath(s.JobID, k); err != nil {
			errs = append(errs, err.Error())
		}
	}
	if s.CodeKey != "" && (!strings.HasPrefix(s.CodeKey, PrefixCode) || !strings.HasSuffix(s.CodeKey, ".tar.gz")) {
		errs = append(errs, fmt.Sprintf("code_key %q is not a .tar.gz under code/", s.CodeKey))
	}
	if s.TimeoutSeconds < 0 || time.Duration(s.TimeoutSeconds)*time.Second > MaxTimeout {
		errs = append(errs, fmt.Sprintf("timeout_seconds %d is out of range (1 to %d; 0 is the worker's default)", s.TimeoutSeconds, int(MaxTimeout/time.Second)))
	}
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "; "))
	}
	return nil
}

// InputPath is where input key lands, relative to $JOB_INPUTS.
func InputPath(jobID, key string) (string, error) {
	rel, ok := strings.CutPrefix(key, UploadsPrefix(jobID))
	if !ok {
		rel, ok = strings.CutPrefix(key, PrefixUploads)
	}
	clean := path.Clean(rel)
	if !ok || rel == "" || clean != rel || clean == "." || strings.HasPrefix(clean, "../") || clean == ".." || strings.HasPrefix(clean, "/") {
		return "", fmt.Errorf("input %q is not an object key under uploads/", key)
	}
	return clean, nil
}

// UploadsPrefix is where a job's own inputs go: uploads/<job_id>/.
func UploadsPrefix(jobID string) string { return PrefixUploads + jobID + "/" }

// OutputsPrefix is where a job's results go: outputs/<job_id>/.
func OutputsPrefix(jobID string) string { return PrefixOutputs + jobID + "/" }

// LogObject is the copy of the job's log the worker uploads with its outputs.
const LogObject = "job.log"

// NewID returns a new job ID: the UTC time and 6 random hex digits (sortable, unique enough).
func NewID(now time.Time) string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return "j" + now.UTC().Format("20060102-150405") + "-" + hex.EncodeToString(b)
}

// Job is a job's item in the jobs table.
type Job struct {
	JobID       string
	UserID      string
	Class       string
	State       string
	Command     []string
	SubmittedAt int64
	StartedAt   int64
	FinishedAt  int64
	HeartbeatAt int64
	InstanceID  string
	// ExitCode is nil until the command has exited.
	ExitCode        *int
	Reason          string
	Attempts        int
	LogGroup        string
	LogStream       string
	CancelRequested bool
}

// Errors of Table.
var (
	// ErrNotFound: no such job.
	ErrNotFound = errors.New("no such job")
	// ErrExists: Put found the job already recorded.
	ErrExists = errors.New("job already exists")
)

// NotClaimableError is Claim's answer when the job is not there to take: Current is its item.
type NotClaimableError struct{ Current Job }

func (e *NotClaimableError) Error() string {
	return fmt.Sprintf("job %s is %s (on %s)", e.Current.JobID, e.Current.State, e.Current.InstanceID)
}

// LostError is Heartbeat's or Finish's answer when the job is no longer this worker's.
type LostError struct{ Current Job }

func (e *LostError) Error() string {
	return fmt.Sprintf("job %s is no longer this worker's: it is %s on %q", e.Current.JobID, e.Current.State, e.Current.InstanceID)
}

// Claim says which worker takes a job, and when.
type Claim struct {
	Spec       Spec
	InstanceID string
	LogGroup   string
	LogStream  string
	Now        time.Time
	// StaleBefore: a running job whose heartbeat is older than this was abandoned (its worker died)
	// and may be taken.
	StaleBefore time.Time
}

// Finish is how a job ended on a worker.
type Finish struct {
	JobID      string
	InstanceID string
	State      string
	ExitCode   *int
	Reason     string
	Now        time.Time
}

// Table is the jobs table. Every method is one conditional write or one read.
type Table interface {
	// Put records a new job (state queued); ErrExists if it is there.
	Put(ctx context.Context, j Job) error
	// Get reads a job; ErrNotFound if it is not there.
	Get(ctx context.Context, jobID string) (Job, error)
	// Claim marks the job running on c.InstanceID if it is queued, interrupted, abandoned or not
	// recorded; otherwise *NotClaimableError with the item.
	Claim(ctx context.Context, c Claim) (Job, error)
	// Heartbeat records that the job still runs on instanceID and returns its item (CancelRequested
	// tells the worker to stop it); *LostError if it is no longer running there.
	Heartbeat(ctx context.Context, jobID, instanceID string, now time.Time) (Job, error)
	// Finish records the end of a job running on f.InstanceID; *LostError if it is no longer running there.
	Finish(ctx context.Context, f Finish) error
	// Cancel cancels a queued job at once, or asks the worker of a running one to stop it. It returns
	// the item after the change, or an error naming its state if it has ended.
	Cancel(ctx context.Context, jobID string, now time.Time) (Job, error)
}

// Message is one received queue message.
type Message struct {
	ID, Receipt, Body string
	// ReceiveCount is SQS's ApproximateReceiveCount: 1 on the first delivery.
	ReceiveCount int
}

// Queue is a class's jobs queue.
type Queue interface {
	Send(ctx context.Context, body string) (string, error)
	// Receive waits up to wait for at most one message and hides it for visibility.
	Receive(ctx context.Context, wait, visibility time.Duration) ([]Message, error)
	Delete(ctx context.Context, receipt string) error
	// SetVisibility hides the message for d from now (0: visible again at once).
	SetVisibility(ctx context.Context, receipt string, d time.Duration) error
}

// Published parameter names under /stratolab/<instance>/jobs/ (see internal/published).
const (
	ParamBucket      = "bucket-name"
	ParamJobsTable   = "jobs-table-name"
	ParamLogGroup    = "log-group-name"
	ParamEventsTopic = "events-topic-arn"
	// ParamQueuePrefix + class is the class's queue URL.
	ParamQueuePrefix = "queue-url/"
)

// Event is what the worker publishes to the jobs topic on each change of state.
type Event struct {
	JobID      string `json:"job_id"`
	Class      string `json:"class"`
	State      string `json:"state"`
	InstanceID string `json:"instance_id"`
	ExitCode   *int   `json:"exit_code,omitempty"`
	Reason     string `json:"reason,omitempty"`
	At         int64  `json:"at"`
}
