package jobclient_test

import (
	"bytes"
	"context"
	"fmt"
	"github.com/stratolab/stratolab/internal/s3local"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stratolab/stratolab/internal/jobagent"
	"github.com/stratolab/stratolab/internal/jobclient"
	"github.com/stratolab/stratolab/internal/jobs"
	"github.com/stratolab/stratolab/internal/jobs/jobsfake"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const bucket = "jobs-bucket"

func newS3(t testing.TB) *s3.Client { return s3local.New(t, bucket) }

type platform struct {
	client *jobclient.Client
	agent  *jobagent.Agent
	queue  *jobsfake.Queue
	table  *jobsfake.Table
}

func newPlatform(t testing.TB, s3c *s3.Client) *platform {
	q, tbl := &jobsfake.Queue{}, &jobsfake.Table{}
	return &platform{
		queue: q, table: tbl,
		client: &jobclient.Client{Table: tbl, Bucket: bucket, S3: s3c, Queue: func(class string) (jobs.Queue, error) {
			if class != "prod" {
				return nil, fmt.Errorf("no class %q (classes: prod)", class)
			}
			return q, nil
		}},
		agent: &jobagent.Agent{
			Config: jobagent.Config{Class: "prod", Bucket: bucket, InstanceID: "i-1", WorkDir: t.(interface{ TempDir() string }).TempDir(),
				Visibility: 30 * time.Second, Wait: time.Millisecond},
			Queue: q, Table: tbl, S3: s3c, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		},
	}
}

// stratolab jobs submit → the worker agent → stratolab jobs status / logs / fetch, with S3 through the
// real SDK against an in-process S3 server and in-memory SQS and DynamoDB.
func TestSubmitRunFetchEndToEnd(t *testing.T) {
	ctx := context.Background()
	p := newPlatform(t, newS3(t))
	dir := t.TempDir()
	in1, in2 := filepath.Join(dir, "numbers.txt"), filepath.Join(dir, "words.txt")
	require.NoError(t, os.WriteFile(in1, []byte("3\n1\n2\n"), 0o644))
	require.NoError(t, os.WriteFile(in2, []byte("b a"), 0o644))
	var progress bytes.Buffer
	p.client.Progress = &progress

	spec, err := p.client.Submit(ctx, jobclient.Submission{Class: "prod", UserID: "ada", Inputs: []string{in1, in2},
		Command: []string{"/bin/sh", "-c", `sort "$JOB_INPUTS/numbers.txt" > "$JOB_OUTPUTS/sorted.txt"; wc -w < "$JOB_INPUTS/words.txt" > "$JOB_OUTPUTS/count"; echo finished`}})
	require.NoError(t, err)
	assert.Contains(t, progress.String(), "queued "+spec.JobID)
	j, err := p.client.Status(ctx, spec.JobID)
	require.NoError(t, err)
	assert.Equal(t, jobs.StateQueued, j.State)
	assert.Equal(t, "ada", j.UserID)

	out, err := p.agent.Once(ctx)
	require.NoError(t, err)
	require.Equal(t, jobs.StateSucceeded, out.State, out.Reason)

	var states []string
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	j, err = p.client.Wait(wctx, spec.JobID, 10*time.Millisecond, func(j jobs.Job) { states = append(states, j.State) })
	require.NoError(t, err)
	assert.Equal(t, []string{jobs.StateSucceeded}, states)
	assert.Contains(t, jobclient.Describe(j), spec.JobID+" succeeded class=prod instance=i-1 exit=0")

	var log bytes.Buffer
	require.NoError(t, p.client.Log(ctx, spec.JobID, &log))
	assert.Contains(t, log.String(), "finished\n")

	dest := t.TempDir()
	files, err := p.client.Fetch(ctx, spec.JobID, dest)
	require.NoError(t, err)
	var rel []string
	for _, f := range files {
		r, _ := filepath.Rel(dest, f)
		rel = append(rel, r)
	}
	sort.Strings(rel)
	assert.Equal(t, []string{"count", "job.log", "sorted.txt"}, rel)
	sorted, _ := os.ReadFile(filepath.Join(dest, "sorted.txt"))
	assert.Equal(t, "1\n2\n3\n", string(sorted))
	count, _ := os.ReadFile(filepath.Join(dest, "count"))
	assert.Equal(t, "2", strings.TrimSpace(string(count)))
	pending, _ := p.queue.Pending()
	assert.Zero(t, pending, "the message is deleted once the job has ended")
}

func TestCancelAQueuedJobIsNeverRun(t *testing.T) {
	ctx := context.Background()
	p := newPlatform(t, newS3(t))
	spec, err := p.client.Submit(ctx, jobclient.Submission{Class: "prod", Command: []string{"/bin/sh", "-c", "touch \"$JOB_OUTPUTS/ran\""}})
	require.NoError(t, err)
	j, err := p.client.Cancel(ctx, spec.JobID)
	require.NoError(t, err)
	assert.Equal(t, jobs.StateCancelled, j.State)
	out, err := p.agent.Once(ctx)
	require.NoError(t, err)
	assert.Equal(t, "duplicate", out.Action, "the worker deletes the message of a cancelled job")
	_, err = p.client.Cancel(ctx, spec.JobID)
	assert.ErrorContains(t, err, "already ended: it is cancelled")
	_, err = p.client.Fetch(ctx, spec.JobID, t.TempDir())
	assert.ErrorContains(t, err, "has no outputs yet: it is cancelled")
}

func TestSubmitRejects(t *testing.T) {
	ctx := context.Background()
	p := newPlatform(t, newS3(t))
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a", "x.txt"), filepath.Join(dir, "b", "x.txt")
	for _, f := range []string{a, b} {
		require.NoError(t, os.MkdirAll(filepath.Dir(f), 0o755))
		require.NoError(t, os.WriteFile(f, nil, 0o644))
	}
	for name, c := range map[string]struct {
		s    jobclient.Submission
		want string
	}{
		"an unknown class":         {jobclient.Submission{Class: "gpu", Command: []string{"true"}}, `no class "gpu"`},
		"an empty command":         {jobclient.Submission{Class: "prod"}, "command is empty"},
		"two inputs with one name": {jobclient.Submission{Class: "prod", Command: []string{"true"}, Inputs: []string{a, b}}, "have the same name x.txt"},
		"a missing input":          {jobclient.Submission{Class: "prod", Command: []string{"true"}, Inputs: []string{filepath.Join(dir, "nope")}}, "no such file"},
		"code outside code/":       {jobclient.Submission{Class: "prod", Command: []string{"true"}, CodeKey: "uploads/x.tar.gz"}, "is not a .tar.gz under code/"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := p.client.Submit(ctx, c.s)
			assert.ErrorContains(t, err, c.want)
		})
	}
	pending, _ := p.queue.Pending()
	assert.Zero(t, pending, "nothing was queued")
}
