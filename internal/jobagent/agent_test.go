package jobagent_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"github.com/stratolab/stratolab/internal/s3local"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stratolab/stratolab/internal/jobagent"
	"github.com/stratolab/stratolab/internal/jobs"
	"github.com/stratolab/stratolab/internal/jobs/jobsfake"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const bucket = "jobs-bucket"

// newS3 starts an in-process S3-compatible server and returns a real SDK client for it.
func newS3(t testing.TB) *s3.Client { return s3local.New(t, bucket) }

func putObject(t testing.TB, c *s3.Client, key, body string) {
	t.Helper()
	_, err := c.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader(body)})
	require.NoError(t, err)
}

func getObject(t testing.TB, c *s3.Client, key string) (string, bool) {
	t.Helper()
	out, err := c.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return "", false
	}
	defer out.Body.Close()
	b, _ := io.ReadAll(out.Body)
	return string(b), true
}

type protector struct {
	mu    sync.Mutex
	calls []bool
}

func (p *protector) Protect(_ context.Context, on bool) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls = append(p.calls, on)
	return nil
}

type publisher struct {
	mu     sync.Mutex
	states []string
}

func (p *publisher) Publish(_ context.Context, e jobs.Event) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.states = append(p.states, e.State)
	return nil
}

type logs struct {
	mu      sync.Mutex
	streams map[string]*bytes.Buffer
}

type stream struct {
	l   *logs
	buf *bytes.Buffer
}

func (s stream) Write(p []byte) (int, error) {
	s.l.mu.Lock()
	defer s.l.mu.Unlock()
	return s.buf.Write(p)
}
func (s stream) Close(context.Context) error { return nil }

func (l *logs) Open(_ context.Context, name string) (jobagent.LogStream, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.streams == nil {
		l.streams = map[string]*bytes.Buffer{}
	}
	b := &bytes.Buffer{}
	l.streams[name] = b
	return stream{l, b}, nil
}

func (l *logs) text(name string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if b := l.streams[name]; b != nil {
		return b.String()
	}
	return ""
}

type clock struct{ t time.Time }

func (c clock) Now() time.Time { return c.t }

type rig struct {
	agent *jobagent.Agent
	queue *jobsfake.Queue
	table *jobsfake.Table
	s3    *s3.Client
	prot  *protector
	pub   *publisher
	logs  *logs
}

var t0 = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

func newRig(t testing.TB, s3c *s3.Client) *rig {
	if s3c == nil {
		s3c = newS3(t)
	}
	r := &rig{queue: &jobsfake.Queue{}, table: &jobsfake.Table{}, s3: s3c, prot: &protector{}, pub: &publisher{}, logs: &logs{}}
	r.agent = &jobagent.Agent{
		Config: jobagent.Config{
			Class: "prod", Bucket: bucket, InstanceID: "i-0123", LogGroup: "/stratolab/lab/jobs", WorkDir: t.TempDir(),
			Visibility: 3 * time.Second, Heartbeat: 50 * time.Millisecond, NoticePoll: 10 * time.Millisecond,
			InterruptGrace: 100 * time.Millisecond, KillGrace: 200 * time.Millisecond, Wait: time.Millisecond,
		},
		Queue: r.queue, Table: r.table, S3: s3c, Protect: r.prot, Events: r.pub, Logs: r.logs, Clock: clock{t0},
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	return r
}

func (r *rig) submit(t testing.TB, spec jobs.Spec) {
	t.Helper()
	if spec.Class == "" {
		spec.Class = "prod"
	}
	require.NoError(t, r.table.Put(context.Background(), jobs.Job{JobID: spec.JobID, Class: spec.Class, State: jobs.StateQueued, Command: spec.Command, SubmittedAt: t0.Unix()}))
	body, _ := json.Marshal(spec)
	_, err := r.queue.Send(context.Background(), string(body))
	require.NoError(t, err)
}

func sh(script string) []string { return []string{"/bin/sh", "-c", script} }

func TestAgentRunsJobs(t *testing.T) {
	s3c := newS3(t)
	putObject(t, s3c, "uploads/j1/a.txt", "hello")
	putObject(t, s3c, "uploads/shared/b.txt", "world")
	cases := []struct {
		name      string
		spec      jobs.Spec
		state     string
		exit      *int
		reason    string
		outputs   map[string]string // key under outputs/<job>/ → content
		deleted   bool              // the message is gone
		visible   bool              // the message is back in the queue
		logHas    string
		protected []bool
	}{
		{name: "succeeds with its inputs and uploads its outputs",
			spec: jobs.Spec{JobID: "j1", Command: sh(`cat "$JOB_INPUTS/a.txt" "$JOB_INPUTS/shared/b.txt" > "$JOB_OUTPUTS/out.txt"; mkdir "$JOB_OUTPUTS/sub"; echo x > "$JOB_OUTPUTS/sub/y"; echo done`),
				Inputs: []string{"uploads/j1/a.txt", "uploads/shared/b.txt"}},
			state: jobs.StateSucceeded, exit: intp(0), outputs: map[string]string{"out.txt": "helloworld", "sub/y": "x\n"}, deleted: true, logHas: "done\n",
			protected: []bool{true, false}},
		{name: "fails with the command's exit code and still uploads",
			spec:  jobs.Spec{JobID: "j2", Command: sh(`echo partial > "$JOB_OUTPUTS/p"; echo oops >&2; exit 3`)},
			state: jobs.StateFailed, exit: intp(3), reason: "exit code 3", outputs: map[string]string{"p": "partial\n"}, deleted: true, logHas: "oops\n",
			protected: []bool{true, false}},
		{name: "times out",
			spec:  jobs.Spec{JobID: "j3", Command: sh(`sleep 30`), TimeoutSeconds: 1},
			state: jobs.StateFailed, exit: intp(jobs.ExitTimedOut), reason: "timed out after 1s", deleted: true, protected: []bool{true, false}},
		{name: "has a missing input",
			spec:  jobs.Spec{JobID: "j4", Command: sh(`true`), Inputs: []string{"uploads/j4/nothere"}},
			state: jobs.StateFailed, reason: "input s3://jobs-bucket/uploads/j4/nothere is missing (or not readable by workers)", deleted: true, logHas: "is missing", protected: []bool{true, false}},
		{name: "cannot start its command",
			spec:  jobs.Spec{JobID: "j5", Command: []string{"/no/such/program"}},
			state: jobs.StateFailed, exit: intp(127), deleted: true, protected: []bool{true, false}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := newRig(t, s3c)
			c.spec.Class = "prod"
			r.submit(t, c.spec)
			out, err := r.agent.Once(context.Background())
			require.NoError(t, err)
			assert.Equal(t, c.state, out.State)
			job, err := r.table.Get(context.Background(), c.spec.JobID)
			require.NoError(t, err)
			assert.Equal(t, c.state, job.State)
			assert.Equal(t, c.exit, job.ExitCode)
			if c.reason != "" {
				assert.Equal(t, c.reason, job.Reason)
			}
			assert.Equal(t, "i-0123", job.InstanceID)
			assert.Equal(t, t0.Unix(), job.StartedAt)
			assert.Equal(t, t0.Unix(), job.FinishedAt)
			assert.Equal(t, 1, job.Attempts)
			assert.Equal(t, c.spec.JobID+"/i-0123", job.LogStream)
			for k, want := range c.outputs {
				got, ok := getObject(t, s3c, "outputs/"+c.spec.JobID+"/"+k)
				assert.True(t, ok, k)
				assert.Equal(t, want, got, k)
			}
			logCopy, ok := getObject(t, s3c, "outputs/"+c.spec.JobID+"/job.log")
			assert.True(t, ok, "job.log uploaded")
			assert.Contains(t, logCopy, c.logHas)
			assert.Contains(t, r.logs.text(c.spec.JobID+"/i-0123"), c.logHas)
			pending, visible := r.queue.Pending()
			assert.Equal(t, c.deleted, pending == 0, "message deleted")
			assert.Equal(t, c.visible, visible == 1, "message visible again")
			assert.Equal(t, c.protected, r.prot.calls, "scale-in protection on while running, off after")
			assert.Equal(t, []string{jobs.StateRunning, c.state}, r.pub.states)
		})
	}
}

func intp(i int) *int { return &i }

// A second delivery of a job that has ended (SQS delivers at least once) is deleted without running again.
func TestAgentDeletesASecondDeliveryOfAFinishedJob(t *testing.T) {
	r := newRig(t, nil)
	r.submit(t, jobs.Spec{JobID: "dup", Command: sh(`echo ran >> "$JOB_OUTPUTS/count"`)})
	body, _ := json.Marshal(jobs.Spec{JobID: "dup", Class: "prod", Command: sh(`echo ran >> "$JOB_OUTPUTS/count"`)})
	_, _ = r.queue.Send(context.Background(), string(body)) // the duplicate
	first, err := r.agent.Once(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "ran", first.Action)
	second, err := r.agent.Once(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "duplicate", second.Action)
	assert.Equal(t, jobs.StateSucceeded, second.State)
	pending, _ := r.queue.Pending()
	assert.Zero(t, pending)
	job, _ := r.table.Get(context.Background(), "dup")
	assert.Equal(t, 1, job.Attempts)
	assert.Equal(t, []bool{true, false}, r.prot.calls, "protected once, for the one run")
}

// A job another worker runs (fresh heartbeat) is left alone; one whose worker died (stale heartbeat) is taken over.
func TestAgentLeavesAJobRunningElsewhereAndTakesOverAnAbandonedOne(t *testing.T) {
	r := newRig(t, nil)
	r.submit(t, jobs.Spec{JobID: "elsewhere", Command: sh(`true`)})
	r.table.Set(jobs.Job{JobID: "elsewhere", State: jobs.StateRunning, InstanceID: "i-other", HeartbeatAt: t0.Unix(), Attempts: 1})
	out, err := r.agent.Once(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "busy", out.Action)
	assert.Empty(t, r.prot.calls)

	r2 := newRig(t, nil)
	r2.submit(t, jobs.Spec{JobID: "abandoned", Command: sh(`true`)})
	r2.table.Set(jobs.Job{JobID: "abandoned", State: jobs.StateRunning, InstanceID: "i-dead", HeartbeatAt: t0.Add(-time.Hour).Unix(), Attempts: 1})
	out, err = r2.agent.Once(context.Background())
	require.NoError(t, err)
	assert.Equal(t, jobs.StateSucceeded, out.State)
	job, _ := r2.table.Get(context.Background(), "abandoned")
	assert.Equal(t, 2, job.Attempts)
	assert.Equal(t, "i-0123", job.InstanceID)
}

func TestAgentRejectsAMessageThatIsNotAJob(t *testing.T) {
	for name, body := range map[string]string{
		"not JSON":               "{",
		"SNS envelope":           `{"Type":"Notification","Message":"{\"job_id\":\"x\"}"}`,
		"empty command":          `{"job_id":"x","command":[]}`,
		"input outside uploads/": `{"job_id":"x","command":["true"],"inputs":["outputs/y"]}`,
	} {
		t.Run(name, func(t *testing.T) {
			r := newRig(t, nil)
			_, _ = r.queue.Send(context.Background(), body)
			out, err := r.agent.Once(context.Background())
			require.NoError(t, err)
			assert.Equal(t, "rejected", out.Action)
			pending, _ := r.queue.Pending()
			assert.Zero(t, pending)
		})
	}
}

// While a job runs the agent renews the message's visibility and the table's heartbeat.
func TestAgentHeartbeatExtendsVisibilityWhileTheJobRuns(t *testing.T) {
	r := newRig(t, nil)
	r.submit(t, jobs.Spec{JobID: "long", Command: sh(`sleep 0.4`)})
	out, err := r.agent.Once(context.Background())
	require.NoError(t, err)
	assert.Equal(t, jobs.StateSucceeded, out.State)
	assert.GreaterOrEqual(t, r.queue.CallsOf("visibility 3"), 3, "ChangeMessageVisibility to Visibility every Heartbeat: %v", r.queue.Calls)
	assert.Equal(t, "delete", r.queue.Calls[len(r.queue.Calls)-1], "deleted only at the end")
}

func TestAgentStopsAJobCancelledWhileRunning(t *testing.T) {
	r := newRig(t, nil)
	r.submit(t, jobs.Spec{JobID: "c1", Command: sh(`sleep 30`)})
	go func() {
		for {
			if j, _ := r.table.Get(context.Background(), "c1"); j.State == jobs.StateRunning {
				_, _ = r.table.Cancel(context.Background(), "c1", t0)
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	start := time.Now()
	out, err := r.agent.Once(context.Background())
	require.NoError(t, err)
	assert.Less(t, time.Since(start), 5*time.Second)
	assert.Equal(t, jobs.StateCancelled, out.State)
	pending, _ := r.queue.Pending()
	assert.Zero(t, pending)
	assert.Equal(t, []bool{true, false}, r.prot.calls)
}

// A spot interruption notice: a job that cannot finish within the grace is stopped, its message made
// visible at once (not after the queue's 12 h visibility timeout) and the job marked interrupted; the
// next worker takes it as attempt 2. One that finishes within the grace is recorded as usual.
func TestAgentOnSpotInterruption(t *testing.T) {
	for _, c := range []struct {
		name, script, state string
		visible             bool
	}{
		{"a long job is returned to the queue", `[ "$JOB_ATTEMPT" = 1 ] && sleep 30; true`, jobs.StateInterrupted, true},
		{"a short job finishes", `sleep 0.05`, jobs.StateSucceeded, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := newRig(t, nil)
			r.agent.InterruptGrace = 300 * time.Millisecond
			r.submit(t, jobs.Spec{JobID: "spot", Command: sh(c.script)})
			r.agent.SetNotice(jobagent.Notice{Kind: jobagent.NoticeInterruption, At: t0.Add(2 * time.Minute)})
			start := time.Now()
			out, err := r.agent.Handle(context.Background(), mustReceive(t, r.queue))
			require.NoError(t, err)
			assert.Less(t, time.Since(start), 5*time.Second)
			assert.Equal(t, c.state, out.State)
			assert.Equal(t, []bool{true, false}, r.prot.calls)
			_, visible := r.queue.Pending()
			assert.Equal(t, c.visible, visible == 1)
			assert.True(t, r.agent.Draining())
			if c.visible {
				assert.Contains(t, r.queue.Calls, "visibility 0")
				again := newRig(t, r.s3)
				again.queue, again.table = r.queue, r.table
				again.agent.Queue, again.agent.Table = r.queue, r.table
				out, err := again.agent.Once(context.Background())
				require.NoError(t, err)
				assert.Equal(t, jobs.StateSucceeded, out.State)
				j, _ := again.table.Get(context.Background(), "spot")
				assert.Equal(t, 2, j.Attempts)
			}
		})
	}
}

func mustReceive(t testing.TB, q *jobsfake.Queue) jobs.Message {
	msgs, err := q.Receive(context.Background(), 0, 3*time.Second)
	require.NoError(t, err)
	require.Len(t, msgs, 1)
	return msgs[0]
}

// After a notice Run takes no more jobs, and asks the fleet to replace the instance once.
func TestAgentRunDrainsAfterANotice(t *testing.T) {
	r := newRig(t, nil)
	r.submit(t, jobs.Spec{JobID: "later", Command: sh(`true`)})
	r.agent.SetNotice(jobagent.Notice{Kind: jobagent.NoticeRebalance})
	l := &leaver{}
	r.agent.Leave = l
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	require.NoError(t, r.agent.Run(ctx))
	_, visible := r.queue.Pending()
	assert.Equal(t, 1, visible, "the job waits for another worker")
	assert.Equal(t, []bool{false}, l.shrink, "asks for a replacement")
}

type leaver struct {
	mu     sync.Mutex
	n      int
	shrink []bool
	err    error
}

func (l *leaver) Leave(_ context.Context, shrink bool) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.n++
	l.shrink = append(l.shrink, shrink)
	return l.err
}

// An idle worker leaves its fleet, lowering the desired capacity; when the fleet refuses (at its minimum)
// it stays and tries again after another idle period.
func TestAgentLeavesTheFleetWhenIdle(t *testing.T) {
	r := newRig(t, nil)
	r.agent.IdleExit = 50 * time.Millisecond
	l := &leaver{}
	r.agent.Leave = l
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	require.NoError(t, r.agent.Run(ctx))
	assert.Equal(t, []bool{true}, l.shrink, "left once, shrinking the fleet")

	r2 := newRig(t, nil)
	r2.agent.IdleExit = 50 * time.Millisecond
	l2 := &leaver{err: errors.New("ValidationError: would violate the min size constraint")}
	r2.agent.Leave = l2
	ctx2, cancel2 := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel2()
	require.NoError(t, r2.agent.Run(ctx2))
	assert.GreaterOrEqual(t, l2.n, 2, "tries again after each idle period")
}

func TestAgentRunsTheCodeTarballInItsDirectory(t *testing.T) {
	r := newRig(t, nil)
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	script := "#!/bin/sh\necho from-code > \"$JOB_OUTPUTS/r\"\n"
	require.NoError(t, tw.WriteHeader(&tar.Header{Name: "app/", Typeflag: tar.TypeDir, Mode: 0o755}))
	require.NoError(t, tw.WriteHeader(&tar.Header{Name: "app/run.sh", Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(script))}))
	_, _ = tw.Write([]byte(script))
	require.NoError(t, tw.Close())
	require.NoError(t, gz.Close())
	putObject(t, r.s3, "code/app.tar.gz", buf.String())
	r.submit(t, jobs.Spec{JobID: "code1", Command: []string{"./app/run.sh"}, CodeKey: "code/app.tar.gz"})
	out, err := r.agent.Once(context.Background())
	require.NoError(t, err)
	require.Equal(t, jobs.StateSucceeded, out.State, out.Reason)
	got, _ := getObject(t, r.s3, "outputs/code1/r")
	assert.Equal(t, "from-code\n", got)
}

// TestAgentEndsAnInterruptedJobAsFailedOnTheLastDelivery: on the queue's last allowed delivery
// (maxReceiveCount, SQS developer guide "Dead-letter queues") a job returned to the queue would move to
// the dead-letter queue, where nothing runs it: the agent ends it as failed and deletes its message, so
// `stratolab jobs status --wait` ends.
func TestAgentEndsAnInterruptedJobAsFailedOnTheLastDelivery(t *testing.T) {
	r := newRig(t, nil)
	r.agent.InterruptGrace = 100 * time.Millisecond
	r.agent.MaxReceives = 1 // the fake's first delivery is then the last
	r.submit(t, jobs.Spec{JobID: "last", Command: sh(`sleep 30`)})
	r.agent.SetNotice(jobagent.Notice{Kind: jobagent.NoticeInterruption, At: t0.Add(2 * time.Minute)})
	m := mustReceive(t, r.queue)
	require.Equal(t, 1, m.ReceiveCount)
	out, err := r.agent.Handle(context.Background(), m)
	require.NoError(t, err)
	assert.Equal(t, jobs.StateFailed, out.State)
	assert.Contains(t, out.Reason, "on delivery 1 of 1 (the queue's limit): not retried")
	pending, visible := r.queue.Pending()
	assert.Zero(t, pending+visible, "the message is deleted, not returned")
	j, _ := r.table.Get(context.Background(), "last")
	assert.Equal(t, jobs.StateFailed, j.State)
}

// slowOutputs stalls the upload of one output key until the upload's context ends (at most 5 s), and
// raises a spot interruption notice when that upload starts.
type slowOutputs struct {
	jobagent.Objects
	key    string
	onPut  func()
	killed bool
}

func (s *slowOutputs) PutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	if aws.ToString(in.Key) == s.key {
		s.onPut()
		select {
		case <-ctx.Done():
			s.killed = true
			return nil, ctx.Err()
		case <-time.After(5 * time.Second):
		}
	}
	return s.Objects.PutObject(ctx, in, optFns...)
}

// A spot interruption notice that arrives while a large output uploads: the upload is abandoned once the
// grace has passed, the job is marked interrupted and its message returned at once, instead of the
// agent uploading on while the instance is reclaimed (and the job's message staying hidden).
func TestAgentAbandonsAnUploadOnSpotInterruption(t *testing.T) {
	r := newRig(t, nil)
	r.agent.InterruptGrace = 200 * time.Millisecond
	slow := &slowOutputs{Objects: r.s3, key: "outputs/big/big.bin"}
	slow.onPut = func() {
		r.agent.SetNotice(jobagent.Notice{Kind: jobagent.NoticeInterruption, At: t0.Add(2 * time.Minute)})
	}
	r.agent.S3 = slow
	r.submit(t, jobs.Spec{JobID: "big", Command: sh(`head -c 100000 /dev/zero > "$JOB_OUTPUTS/big.bin"`)})
	start := time.Now()
	out, err := r.agent.Once(context.Background())
	require.NoError(t, err)
	assert.Less(t, time.Since(start), 4*time.Second, "the upload was abandoned")
	assert.True(t, slow.killed)
	assert.Equal(t, "released", out.Action)
	assert.Equal(t, jobs.StateInterrupted, out.State)
	j, _ := r.table.Get(context.Background(), "big")
	assert.Equal(t, jobs.StateInterrupted, j.State)
	assert.Equal(t, "spot interruption while uploading outputs", j.Reason)
	assert.Contains(t, r.queue.Calls, "visibility 0")
	_, visible := r.queue.Pending()
	assert.Equal(t, 1, visible)
	assert.Equal(t, []string{jobs.StateRunning, jobs.StateInterrupted}, r.pub.states)
}

// countingUploads records which S3 calls the upload of outputs makes.
type countingUploads struct {
	jobagent.Objects
	mu    sync.Mutex
	parts int
	puts  []string
}

func (c *countingUploads) UploadPart(ctx context.Context, in *s3.UploadPartInput, optFns ...func(*s3.Options)) (*s3.UploadPartOutput, error) {
	c.mu.Lock()
	c.parts++
	c.mu.Unlock()
	return c.Objects.UploadPart(ctx, in, optFns...)
}

func (c *countingUploads) PutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	c.mu.Lock()
	c.puts = append(c.puts, aws.ToString(in.Key))
	c.mu.Unlock()
	return c.Objects.PutObject(ctx, in, optFns...)
}

// An output larger than one part goes up as a multipart upload (PutObject takes at most 5 GiB: a
// science job's output often is larger), through the real SDK against the in-process S3 server, and
// arrives whole; a small one stays a single PutObject.
func TestAgentUploadsALargeOutputInParts(t *testing.T) {
	r := newRig(t, nil)
	r.agent.UploadPartSize = 5 << 20 // S3's minimum part
	up := &countingUploads{Objects: r.s3}
	r.agent.S3 = up
	r.submit(t, jobs.Spec{JobID: "large", Command: sh(`head -c 12582912 /dev/urandom > "$JOB_OUTPUTS/big.bin" && echo small > "$JOB_OUTPUTS/small.txt"`)})
	out, err := r.agent.Once(context.Background())
	require.NoError(t, err)
	require.Equal(t, jobs.StateSucceeded, out.State, out.Reason)
	got, ok := getObject(t, r.s3, "outputs/large/big.bin")
	require.True(t, ok)
	assert.Len(t, got, 12582912, "12 MiB in three parts of at most 5 MiB")
	assert.Equal(t, 3, up.parts)
	assert.Contains(t, up.puts, "outputs/large/small.txt")
	assert.NotContains(t, up.puts, "outputs/large/big.bin")
}
