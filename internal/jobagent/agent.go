// Package jobagent is the logic of the worker agent (cmd/stratolab-worker) that runs on every
// instance of a job class's fleet. It takes one job at a time from the class's queue and:
//
//  1. claims it in the jobs table (queued → running, with the instance, the time and the attempt), so that a
//     second delivery of a finished job is deleted without running it again;
//  2. protects its instance from scale-in while the job runs, and lifts the protection after;
//  3. downloads the job's inputs from uploads/ (and its code tarball from code/), then runs its command as an
//     unprivileged user with a time limit, streaming the output to CloudWatch Logs;
//  4. extends the message's visibility every Heartbeat while the job runs and records the heartbeat in the
//     table (a worker that dies leaves a message that reappears within Visibility, and a stale heartbeat that
//     another worker may take over); a cancel recorded in the table stops the job;
//  5. uploads outputs/<job_id>/ (with job.log), records succeeded or failed with the exit code, and only then
//     deletes the message;
//  6. on a spot interruption or rebalance notice stops taking work; a running job may finish within
//     InterruptGrace, or is stopped, its message made visible at once and the job marked interrupted;
//  7. publishes each change of state to the jobs topic.
//
// Every AWS call goes through a small interface, so that the tests drive the agent with in-memory fakes
// (jobs/jobsfake) and S3 through the real SDK against an in-process S3 server.
package jobagent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/s3/manager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stratolab/stratolab/internal/jobs"
)

// Objects is the part of *s3.Client the agent uses: GetObject for inputs and code, and the calls of
// the SDK's upload manager for outputs (PutObject for a small file, a multipart upload in parts for a
// large one, so that an output may be larger than PutObject's 5 GiB).
type Objects interface {
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	manager.UploadAPIClient
}

// Notice kinds.
const (
	NoticeNone         = ""
	NoticeRebalance    = "rebalance"    // EC2 rebalance recommendation: elevated risk, no deadline
	NoticeInterruption = "interruption" // spot instance-action: the instance stops or terminates at At
)

// Notice is an interruption warning from the instance metadata service.
type Notice struct {
	Kind string
	At   time.Time // when the instance goes (interruption only)
}

// Metadata reads the instance's interruption notices.
type Metadata interface {
	Notice(ctx context.Context) (Notice, error)
}

// Protector turns the instance's scale-in protection on or off.
type Protector interface {
	Protect(ctx context.Context, on bool) error
}

// Leaver takes this instance out of its fleet: shrink lowers the fleet's desired capacity (an idle worker
// leaving; the fleet refuses below its minimum), otherwise the fleet launches a replacement (after a
// rebalance notice).
type Leaver interface {
	Leave(ctx context.Context, shrink bool) error
}

// Publisher sends job events (to the jobs topic).
type Publisher interface {
	Publish(ctx context.Context, e jobs.Event) error
}

// LogStream receives a job's output; Close flushes it.
type LogStream interface {
	io.Writer
	Close(ctx context.Context) error
}

// Logs opens a job's log stream.
type Logs interface {
	Open(ctx context.Context, stream string) (LogStream, error)
}

// Clock tells the time recorded in the table.
type Clock interface{ Now() time.Time }

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

// Config is the agent's settings (cmd/stratolab-worker reads them from its environment).
type Config struct {
	Class, Bucket, InstanceID string
	// LogGroup is recorded in the table for `stratolab jobs logs`.
	LogGroup string
	// WorkDir holds one directory per running job. Required.
	WorkDir string
	// RunAs is the user and group jobs run as. Default: - the agent's own (tests)
	RunAs *syscall.Credential
	// Sandbox runs each job in a systemd scope as RunAs's user, with the instance metadata service out of
	// reach (see Sandbox). Default: - none: the job is started directly as RunAs (tests)
	Sandbox *Sandbox
	// Visibility is how long a received message stays hidden; the heartbeat renews it. Default: - 10 minutes
	Visibility time.Duration
	// Heartbeat is how often the agent renews the message and records the heartbeat. Default: - Visibility/3
	Heartbeat time.Duration
	// DefaultTimeout limits a job that names no timeout, at most jobs.MaxTimeout. Default: - jobs.MaxTimeout
	DefaultTimeout time.Duration
	// InterruptGrace is how long a running job may go on after a spot interruption notice (which comes two
	// minutes before the instance goes). Default: - 75 seconds
	InterruptGrace time.Duration
	// UploadPartSize is the part size of an output's multipart upload (at least 5 MiB, S3's minimum
	// part; a file of at most one part goes up in one PutObject). With S3's 10,000 parts, 64 MiB parts
	// carry a file of up to 625 GiB.
	// Default: 64 MiB
	UploadPartSize int64
	// NoticePoll is how often the agent reads the interruption notices. Default: - 5 seconds
	NoticePoll time.Duration
	// Wait is the long poll of each receive. Default: - 20 seconds
	Wait time.Duration
	// KillGrace is how long a stopped job has between SIGTERM and SIGKILL. Default: - 10 seconds
	KillGrace time.Duration
	// KeepWorkDirs leaves each job's directory behind (for debugging). Default: - false
	KeepWorkDirs bool
	// IdleExit: a worker that has received no job for this long leaves its fleet (Leave with shrink).
	// Default: - 0, never
	IdleExit time.Duration
	// MaxReceives is the queue's redrive limit (maxReceiveCount). On that delivery a job that would be
	// returned to the queue (interrupted) ends as failed instead: the queue would move it to its
	// dead-letter queue, where nothing runs it and its state would stay interrupted for ever.
	// Default: - 0, unknown: every interrupted job is returned
	MaxReceives int
}

func (c *Config) defaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&c.Visibility, 10*time.Minute)
	def(&c.Heartbeat, c.Visibility/3)
	def(&c.DefaultTimeout, jobs.MaxTimeout)
	c.DefaultTimeout = min(c.DefaultTimeout, jobs.MaxTimeout)
	def(&c.InterruptGrace, 75*time.Second)
	def(&c.NoticePoll, 5*time.Second)
	def(&c.Wait, 20*time.Second)
	def(&c.KillGrace, 10*time.Second)
}

// Agent runs jobs. Queue, Table and S3 are required; the rest may be nil (then that step is skipped).
type Agent struct {
	Config
	Queue   jobs.Queue
	Table   jobs.Table
	S3      Objects
	Meta    Metadata
	Protect Protector
	Leave   Leaver
	Events  Publisher
	Logs    Logs
	Clock   Clock
	// Log is the agent's own log (the journal). Default: - slog.Default()
	Log *slog.Logger

	once   sync.Once
	notice atomic.Pointer[Notice]
}

func (a *Agent) init() {
	a.once.Do(func() {
		a.Config.defaults()
		if a.Clock == nil {
			a.Clock = systemClock{}
		}
		if a.Log == nil {
			a.Log = slog.Default()
		}
	})
}

// Outcome is what handling one message did.
type Outcome struct {
	// Action: "none" (no message), "ran", "duplicate" (already ended: deleted), "busy" (running elsewhere:
	// left alone), "rejected" (not a job: deleted), "released" (made visible again).
	Action   string
	JobID    string
	State    string
	ExitCode *int
	Reason   string
}

// Draining reports whether an interruption or rebalance notice has stopped the agent taking work.
func (a *Agent) Draining() bool { a.init(); return a.notice.Load() != nil }

// SetNotice records a notice as the metadata watcher does (an interruption replaces a rebalance).
func (a *Agent) SetNotice(n Notice) {
	a.init()
	if n.Kind == NoticeNone {
		return
	}
	for {
		old := a.notice.Load()
		if old != nil && (old.Kind == NoticeInterruption || old.Kind == n.Kind) {
			return
		}
		if a.notice.CompareAndSwap(old, &n) {
			a.Log.Warn("interruption notice: taking no more jobs", "kind", n.Kind, "at", n.At)
			return
		}
	}
}

// Run takes jobs until ctx ends. After a notice it finishes the running job, asks the fleet to replace
// the instance (Leave) and then idles until ctx ends.
func (a *Agent) Run(ctx context.Context) error {
	a.init()
	if a.Meta != nil {
		go a.watch(ctx)
	}
	left := false
	lastWork := time.Now()
	for ctx.Err() == nil {
		if left {
			sleep(ctx, a.NoticePoll)
			continue
		}
		if a.Draining() {
			left = true
			if a.Leave != nil {
				if err := a.Leave.Leave(ctx, false); err != nil {
					a.Log.Error("cannot ask the fleet to replace this instance", "err", err)
				}
			}
			continue
		}
		if a.IdleExit > 0 && a.Leave != nil && time.Since(lastWork) >= a.IdleExit {
			if err := a.Leave.Leave(ctx, true); err != nil {
				// Usually: the fleet is at its minimum. Try again after another idle period.
				a.Log.Info("idle, staying in the fleet", "reason", err)
				lastWork = time.Now()
				continue
			}
			a.Log.Info("idle: left the fleet")
			left = true
			continue
		}
		out, err := a.Once(ctx)
		if err != nil && ctx.Err() == nil {
			a.Log.Error("job handling failed", "err", err)
			sleep(ctx, 5*time.Second)
		}
		if out.Action != "none" {
			lastWork = time.Now()
		}
	}
	return nil
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

func (a *Agent) watch(ctx context.Context) {
	for ctx.Err() == nil {
		n, err := a.Meta.Notice(ctx)
		if err != nil {
			a.Log.Debug("cannot read interruption notices", "err", err)
		} else {
			a.SetNotice(n)
		}
		sleep(ctx, a.NoticePoll)
	}
}

// Once receives at most one message and handles it.
func (a *Agent) Once(ctx context.Context) (Outcome, error) {
	a.init()
	msgs, err := a.Queue.Receive(ctx, a.Wait, a.Visibility)
	if err != nil {
		return Outcome{}, fmt.Errorf("receive: %w", err)
	}
	if len(msgs) == 0 {
		return Outcome{Action: "none"}, nil
	}
	return a.Handle(ctx, msgs[0])
}

// Handle runs the job of one received message.
func (a *Agent) Handle(ctx context.Context, m jobs.Message) (Outcome, error) {
	a.init()
	var spec jobs.Spec
	err := json.Unmarshal([]byte(m.Body), &spec)
	if err == nil {
		err = spec.Check()
	}
	if err != nil {
		a.Log.Error("not a job: deleting the message", "message", m.ID, "err", err)
		if derr := a.Queue.Delete(ctx, m.Receipt); derr != nil {
			return Outcome{}, fmt.Errorf("delete message %s: %w", m.ID, derr)
		}
		return Outcome{Action: "rejected", JobID: spec.JobID, Reason: err.Error()}, nil
	}
	now := a.Clock.Now()
	job, err := a.Table.Claim(ctx, jobs.Claim{
		Spec: spec, InstanceID: a.InstanceID, LogGroup: a.LogGroup, LogStream: a.stream(spec.JobID, 0),
		// Two missed heartbeats: a dead worker's job is taken over on its first redelivery (its visibility
		// runs out one heartbeat period after its last beat).
		Now: now, StaleBefore: now.Add(-2 * a.Heartbeat),
	})
	var nc *jobs.NotClaimableError
	if errors.As(err, &nc) {
		if jobs.Terminal(nc.Current.State) {
			a.Log.Info("job already ended: deleting its message", "job", spec.JobID, "state", nc.Current.State)
			if derr := a.Queue.Delete(ctx, m.Receipt); derr != nil {
				return Outcome{}, fmt.Errorf("delete message %s: %w", m.ID, derr)
			}
			return Outcome{Action: "duplicate", JobID: spec.JobID, State: nc.Current.State}, nil
		}
		a.Log.Info("job runs on another worker: leaving its message", "job", spec.JobID, "on", nc.Current.InstanceID)
		return Outcome{Action: "busy", JobID: spec.JobID, State: nc.Current.State}, nil
	}
	if err != nil {
		_ = a.Queue.SetVisibility(ctx, m.Receipt, 0)
		return Outcome{}, fmt.Errorf("claim %s: %w", spec.JobID, err)
	}
	a.event(ctx, spec, jobs.StateRunning, nil, "")
	if a.Protect != nil {
		pctx, cancel := context.WithTimeout(ctx, sideCallTimeout)
		err := a.Protect.Protect(pctx, true)
		cancel()
		if err != nil {
			a.Log.Warn("cannot protect the instance from scale-in", "err", err)
		}
	}
	r := a.run(ctx, m, spec, job.Attempts)
	// Record and clean up even when ctx has ended (the agent is being stopped).
	done, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if a.Protect != nil {
		defer func() {
			if err := a.Protect.Protect(done, false); err != nil {
				a.Log.Warn("cannot lift scale-in protection", "err", err)
			}
		}()
	}
	out := Outcome{Action: "ran", JobID: spec.JobID, State: r.state, ExitCode: r.exit, Reason: r.reason}
	if r.state == stateLost {
		a.Log.Warn("job taken over or removed: leaving it", "job", spec.JobID, "reason", r.reason)
		return out, nil
	}
	if r.state == jobs.StateInterrupted && a.MaxReceives > 0 && m.ReceiveCount >= a.MaxReceives {
		r.state = jobs.StateFailed
		r.reason = fmt.Sprintf("%s on delivery %d of %d (the queue's limit): not retried", r.reason, m.ReceiveCount, a.MaxReceives)
		out.State, out.Reason = r.state, r.reason
	}
	err = a.Table.Finish(done, jobs.Finish{JobID: spec.JobID, InstanceID: a.InstanceID, State: r.state, ExitCode: r.exit, Reason: r.reason, Now: a.Clock.Now()})
	if err != nil {
		return out, fmt.Errorf("record %s %s: %w", spec.JobID, r.state, err)
	}
	a.event(done, spec, r.state, r.exit, r.reason)
	if r.state == jobs.StateInterrupted {
		out.Action = "released"
		if err := a.Queue.SetVisibility(done, m.Receipt, 0); err != nil {
			return out, fmt.Errorf("return %s to the queue: %w", spec.JobID, err)
		}
		return out, nil
	}
	if err := a.Queue.Delete(done, m.Receipt); err != nil {
		return out, fmt.Errorf("delete message of %s: %w", spec.JobID, err)
	}
	return out, nil
}

func (a *Agent) stream(jobID string, _ int) string { return jobID + "/" + a.InstanceID }

func (a *Agent) event(ctx context.Context, spec jobs.Spec, state string, exit *int, reason string) {
	if a.Events == nil {
		return
	}
	e := jobs.Event{JobID: spec.JobID, Class: spec.Class, State: state, InstanceID: a.InstanceID, ExitCode: exit, Reason: reason, At: a.Clock.Now().Unix()}
	ctx, cancel := context.WithTimeout(ctx, sideCallTimeout)
	defer cancel()
	if err := a.Events.Publish(ctx, e); err != nil {
		a.Log.Warn("cannot publish job event", "job", spec.JobID, "state", state, "err", err)
	}
}

// sideCallTimeout bounds the calls a job does not depend on (events, scale-in protection): a missing
// endpoint must not hold a job up.
const sideCallTimeout = 15 * time.Second

// stateLost: the job is no longer this worker's; nothing is recorded and the message is left alone.
const stateLost = "lost"

type result struct {
	state  string
	exit   *int
	reason string
}

var (
	errTimeout     = errors.New("time limit")
	errCancelled   = errors.New("cancelled")
	errInterrupted = errors.New("interrupted")
	errLost        = errors.New("lost")
)

func intp(i int) *int { return &i }

// run prepares the job's directory, runs the command and uploads its outputs.
func (a *Agent) run(ctx context.Context, m jobs.Message, spec jobs.Spec, attempt int) result {
	dir := filepath.Join(a.WorkDir, fmt.Sprintf("%s-%d", spec.JobID, attempt))
	inputs, outputs, code := filepath.Join(dir, "inputs"), filepath.Join(dir, "outputs"), filepath.Join(dir, "code")
	for _, d := range []string{inputs, outputs} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return result{state: jobs.StateInterrupted, reason: "worker cannot make its work directory: " + err.Error()}
		}
	}
	if !a.KeepWorkDirs {
		defer os.RemoveAll(dir)
	}
	logFile, err := os.Create(filepath.Join(dir, jobs.LogObject))
	if err != nil {
		return result{state: jobs.StateInterrupted, reason: "worker cannot write the job log: " + err.Error()}
	}
	defer logFile.Close()
	var sink io.Writer = logFile
	var stream LogStream
	if a.Logs != nil {
		if stream, err = a.Logs.Open(ctx, a.stream(spec.JobID, attempt)); err != nil {
			a.Log.Warn("cannot open the job's log stream; the log goes to outputs only", "job", spec.JobID, "err", err)
		} else {
			sink = io.MultiWriter(logFile, stream)
			defer func() {
				cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
				defer cancel()
				if err := stream.Close(cctx); err != nil {
					a.Log.Warn("cannot flush the job's log stream", "job", spec.JobID, "err", err)
				}
			}()
		}
	}
	out := &lockedWriter{w: sink}

	// Inputs and code, under the heartbeat too (a big download may take longer than Visibility).
	runCtx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	hbDone := make(chan struct{})
	go a.heartbeat(runCtx, m, spec, stop, hbDone)
	defer func() { stop(nil); <-hbDone }()

	r := a.prepare(runCtx, spec, inputs, code, out)
	if r == nil {
		r = a.execute(runCtx, spec, attempt, dir, inputs, outputs, code, out)
	}
	if c := context.Cause(runCtx); r.state == jobs.StateInterrupted || c == errLost {
		if c == errLost {
			r.state = stateLost
		}
		return *r
	}
	// Outputs (and the log) go up whatever the exit code: a failed job's partial results help.
	fmt.Fprintf(out, "stratolab-worker: job %s %s%s\n", spec.JobID, r.state, suffix(r.reason))
	// The upload goes on if the agent is being stopped (systemd gives it TimeoutStopSec), but not past a
	// spot interruption's grace, nor once another worker has taken the job over: then the outputs are
	// incomplete, and the job goes back to the queue (or to its new owner) instead.
	uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Minute)
	defer cancel()
	go func() {
		select {
		case <-runCtx.Done():
			if c := context.Cause(runCtx); c == errInterrupted || c == errLost {
				cancel()
			}
		case <-uctx.Done():
		}
	}()
	if err := a.upload(uctx, spec.JobID, outputs, logFile); err != nil {
		switch context.Cause(runCtx) {
		case errInterrupted:
			return result{state: jobs.StateInterrupted, reason: "spot interruption while uploading outputs"}
		case errLost:
			return result{state: stateLost}
		}
		r.state, r.reason = jobs.StateFailed, "upload outputs: "+err.Error()
	}
	return *r
}

func suffix(reason string) string {
	if reason == "" {
		return ""
	}
	return ": " + reason
}

// heartbeat renews the message and the table's heartbeat until ctx ends; it stops the job on a cancel,
// on losing the job, and on an interruption notice once the grace has passed.
func (a *Agent) heartbeat(ctx context.Context, m jobs.Message, spec jobs.Spec, stop context.CancelCauseFunc, done chan struct{}) {
	defer close(done)
	tick := time.NewTicker(a.Heartbeat)
	defer tick.Stop()
	check := time.NewTicker(min(a.NoticePoll, time.Second))
	defer check.Stop()
	var deadline <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-check.C:
			if n := a.notice.Load(); n != nil && n.Kind == NoticeInterruption && deadline == nil {
				grace := a.InterruptGrace
				if !n.At.IsZero() {
					if left := n.At.Sub(a.Clock.Now()) - 30*time.Second; left < grace {
						grace = max(left, 0)
					}
				}
				a.Log.Warn("spot interruption: the job may run a little longer", "job", spec.JobID, "grace", grace)
				deadline = time.After(grace)
			}
		case <-deadline:
			stop(errInterrupted)
			return
		case <-tick.C:
			if err := a.Queue.SetVisibility(ctx, m.Receipt, a.Visibility); err != nil && ctx.Err() == nil {
				a.Log.Warn("cannot extend the message's visibility", "job", spec.JobID, "err", err)
			}
			j, err := a.Table.Heartbeat(ctx, spec.JobID, a.InstanceID, a.Clock.Now())
			var lost *jobs.LostError
			switch {
			case errors.As(err, &lost):
				stop(errLost)
				return
			case err != nil:
				if ctx.Err() == nil {
					a.Log.Warn("cannot record the heartbeat", "job", spec.JobID, "err", err)
				}
			case j.CancelRequested:
				stop(errCancelled)
				return
			}
		}
	}
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// stopped maps why the job's context ended to a result, or nil if it did not.
func stopped(ctx context.Context) *result {
	switch context.Cause(ctx) {
	case errCancelled:
		return &result{state: jobs.StateCancelled, reason: "cancelled while running"}
	case errInterrupted:
		return &result{state: jobs.StateInterrupted, reason: "spot interruption"}
	case errLost:
		return &result{state: stateLost}
	}
	if ctx.Err() != nil {
		return &result{state: jobs.StateInterrupted, reason: "worker stopped"}
	}
	return nil
}

func (a *Agent) execute(ctx context.Context, spec jobs.Spec, attempt int, dir, inputs, outputs, code string, out io.Writer) *result {
	timeout := a.DefaultTimeout
	if spec.TimeoutSeconds > 0 {
		timeout = time.Duration(spec.TimeoutSeconds) * time.Second
	}
	cmdCtx, cancel := context.WithTimeoutCause(ctx, timeout, errTimeout)
	defer cancel()
	argv := spec.Command
	var unit string
	if a.Sandbox != nil {
		unit = a.Sandbox.Unit(spec.JobID, attempt)
		argv = a.Sandbox.Command(unit, dir, argv)
	}
	cmd := exec.CommandContext(cmdCtx, argv[0], argv[1:]...)
	cmd.Dir = dir
	env := []string{"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=" + dir, "LANG=C.UTF-8", "JOB_ID=" + spec.JobID, "JOB_CLASS=" + spec.Class,
		"JOB_ATTEMPT=" + fmt.Sprint(attempt), "JOB_INPUTS=" + inputs, "JOB_OUTPUTS=" + outputs, "JOB_WORK=" + dir}
	if spec.CodeKey != "" {
		cmd.Dir = code
		env = append(env, "JOB_CODE="+code)
	}
	if r := os.Getenv("AWS_REGION"); r != "" {
		env = append(env, "AWS_REGION="+r)
	}
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: a.RunAs}
	if a.Sandbox != nil {
		// systemd-run starts as the agent and drops to the job's user itself, once in its scope.
		cmd.SysProcAttr.Credential = rootCredential()
	}
	// Stop the whole process group: SIGTERM, then SIGKILL after KillGrace.
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) }
	cmd.WaitDelay = a.KillGrace
	if a.RunAs != nil {
		if err := chownTree(dir, int(a.RunAs.Uid), int(a.RunAs.Gid)); err != nil {
			return &result{state: jobs.StateInterrupted, reason: "worker cannot hand the work directory to the job user: " + err.Error()}
		}
	}
	err := cmd.Run()
	if cmd.Process != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // whatever the job left running
	}
	if a.Sandbox != nil {
		// And whatever left the process group: it is still in the scope.
		if serr := a.Sandbox.Stop(context.WithoutCancel(ctx), unit); serr != nil {
			a.Log.Debug("cannot stop the job's scope", "job", spec.JobID, "err", serr)
		}
	}
	if r := stopped(ctx); r != nil {
		return r
	}
	if context.Cause(cmdCtx) == errTimeout {
		return &result{state: jobs.StateFailed, exit: intp(jobs.ExitTimedOut), reason: fmt.Sprintf("timed out after %s", timeout)}
	}
	var exit *exec.ExitError
	switch {
	case err == nil:
		return &result{state: jobs.StateSucceeded, exit: intp(0)}
	case errors.As(err, &exit):
		code := exit.ExitCode()
		if code < 0 { // killed by a signal
			code = 128
			if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				code += int(ws.Signal())
			}
		}
		return &result{state: jobs.StateFailed, exit: intp(code), reason: fmt.Sprintf("exit code %d", code)}
	default:
		return &result{state: jobs.StateFailed, exit: intp(127), reason: "cannot start the command: " + err.Error()}
	}
}

func chownTree(dir string, uid, gid int) error {
	return filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	})
}
