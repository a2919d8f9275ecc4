// Package jobclient is the logic of `stratolab jobs`: submit a job (upload its inputs, record it, queue
// it), read its state, wait for it, read its log, fetch its outputs and cancel it. It speaks the contract
// of internal/jobs, so a job it submits is run by the worker agent (internal/jobagent) and by any worker
// that follows the same contract.
package jobclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stratolab/stratolab/internal/jobs"
)

// Objects is the part of *s3.Client the commands use.
type Objects interface {
	PutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, optFns ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
}

// LogsAPI is the part of *cloudwatchlogs.Client `logs` uses.
type LogsAPI interface {
	GetLogEvents(ctx context.Context, in *cloudwatchlogs.GetLogEventsInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.GetLogEventsOutput, error)
}

// Client runs the commands against one instance's jobs platform.
type Client struct {
	Table  jobs.Table
	Bucket string
	S3     Objects
	// Queue returns a class's queue; an error names the classes there are.
	Queue func(class string) (jobs.Queue, error)
	// Logs reads job logs from CloudWatch; nil: `logs` reads outputs/<job>/job.log.
	Logs LogsAPI
	// Now is the clock. Default: - time.Now
	Now func() time.Time
	// Progress receives one line per step. Default: - nothing
	Progress io.Writer
}

func (c *Client) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

func (c *Client) progress(format string, args ...any) {
	if c.Progress != nil {
		fmt.Fprintf(c.Progress, format+"\n", args...)
	}
}

// Submission is what `submit` takes.
type Submission struct {
	Class   string
	UserID  string
	Command []string
	// Inputs are local files, uploaded to uploads/<job_id>/<file name>.
	Inputs []string
	// CodeKey is a .tar.gz under code/ to run the command in.
	CodeKey        string
	TimeoutSeconds int
}

// Submit uploads the inputs, records the job as queued and sends it to its class's queue.
func (c *Client) Submit(ctx context.Context, s Submission) (jobs.Spec, error) {
	q, err := c.Queue(s.Class)
	if err != nil {
		return jobs.Spec{}, err
	}
	now := c.now()
	spec := jobs.Spec{JobID: jobs.NewID(now), Class: s.Class, UserID: s.UserID, Command: s.Command, CodeKey: s.CodeKey,
		TimeoutSeconds: s.TimeoutSeconds, SubmittedAt: now.Unix()}
	seen := map[string]string{}
	for _, f := range s.Inputs {
		name := filepath.Base(f)
		if other, dup := seen[name]; dup {
			return jobs.Spec{}, fmt.Errorf("inputs %s and %s have the same name %s (a job's inputs land in one directory)", other, f, name)
		}
		seen[name] = f
		spec.Inputs = append(spec.Inputs, jobs.UploadsPrefix(spec.JobID)+name)
	}
	if err := spec.Check(); err != nil {
		return jobs.Spec{}, err
	}
	for i, f := range s.Inputs {
		if err := c.upload(ctx, f, spec.Inputs[i]); err != nil {
			return jobs.Spec{}, err
		}
		c.progress("uploaded %s to s3://%s/%s", f, c.Bucket, spec.Inputs[i])
	}
	if err := c.Table.Put(ctx, jobs.Job{JobID: spec.JobID, UserID: s.UserID, Class: s.Class, State: jobs.StateQueued,
		Command: s.Command, SubmittedAt: spec.SubmittedAt}); err != nil {
		return jobs.Spec{}, fmt.Errorf("record job %s: %w", spec.JobID, err)
	}
	body, _ := json.Marshal(spec)
	if _, err := q.Send(ctx, string(body)); err != nil {
		return jobs.Spec{}, fmt.Errorf("queue job %s: %w (it is recorded as queued: cancel it with stratolab jobs cancel %s)", spec.JobID, err, spec.JobID)
	}
	c.progress("queued %s on %s", spec.JobID, s.Class)
	return spec, nil
}

func (c *Client) upload(ctx context.Context, file, key string) error {
	f, err := os.Open(file)
	if err != nil {
		return fmt.Errorf("input: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return fmt.Errorf("input: %w", err)
	}
	if !info.Mode().IsRegular() {
		return fmt.Errorf("input %s is not a file", file)
	}
	_, err = c.S3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(c.Bucket), Key: aws.String(key), Body: f, ContentLength: aws.Int64(info.Size())})
	if err != nil {
		return fmt.Errorf("upload %s to s3://%s/%s: %w", file, c.Bucket, key, err)
	}
	return nil
}

// Status reads a job.
func (c *Client) Status(ctx context.Context, jobID string) (jobs.Job, error) {
	j, err := c.Table.Get(ctx, jobID)
	if errors.Is(err, jobs.ErrNotFound) {
		return j, fmt.Errorf("no job %s in this instance", jobID)
	}
	return j, err
}

// Wait polls a job every poll until it has ended (or is interrupted with no worker to rerun it: it
// goes on waiting then, since another worker takes it), calling seen on each change of state.
func (c *Client) Wait(ctx context.Context, jobID string, poll time.Duration, seen func(jobs.Job)) (jobs.Job, error) {
	last := ""
	for {
		j, err := c.Status(ctx, jobID)
		if err != nil {
			return j, err
		}
		if j.State != last && seen != nil {
			seen(j)
		}
		last = j.State
		if jobs.Terminal(j.State) {
			return j, nil
		}
		t := time.NewTimer(poll)
		select {
		case <-ctx.Done():
			t.Stop()
			return j, ctx.Err()
		case <-t.C:
		}
	}
}

// Cancel cancels a queued job, or asks the worker of a running one to stop it.
func (c *Client) Cancel(ctx context.Context, jobID string) (jobs.Job, error) {
	j, err := c.Table.Cancel(ctx, jobID, c.now())
	if errors.Is(err, jobs.ErrNotFound) {
		return j, fmt.Errorf("no job %s in this instance", jobID)
	}
	return j, err
}

// Fetch downloads outputs/<job_id>/ into dir and returns the local paths.
func (c *Client) Fetch(ctx context.Context, jobID, dir string) ([]string, error) {
	prefix := jobs.OutputsPrefix(jobID)
	var files []string
	in := &s3.ListObjectsV2Input{Bucket: aws.String(c.Bucket), Prefix: aws.String(prefix)}
	for {
		page, err := c.S3.ListObjectsV2(ctx, in)
		if err != nil {
			return files, fmt.Errorf("list s3://%s/%s: %w", c.Bucket, prefix, err)
		}
		for _, o := range page.Contents {
			key := aws.ToString(o.Key)
			rel := strings.TrimPrefix(key, prefix)
			clean := path.Clean(rel)
			if rel == "" || strings.HasSuffix(key, "/") || clean != rel || strings.HasPrefix(clean, "../") {
				continue
			}
			dest := filepath.Join(dir, filepath.FromSlash(clean))
			if err := c.download(ctx, key, dest); err != nil {
				return files, err
			}
			files = append(files, dest)
			c.progress("fetched %s", dest)
		}
		if !aws.ToBool(page.IsTruncated) {
			break
		}
		in.ContinuationToken = page.NextContinuationToken
	}
	if len(files) == 0 {
		j, err := c.Status(ctx, jobID)
		if err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("job %s has no outputs yet: it is %s", jobID, j.State)
	}
	return files, nil
}

func (c *Client) download(ctx context.Context, key, dest string) error {
	return jobs.Download(ctx, c.S3, c.Bucket, key, dest)
}

// Log writes a job's log to w: from CloudWatch while it runs (its latest attempt's stream), else the copy
// the worker uploaded with the outputs.
func (c *Client) Log(ctx context.Context, jobID string, w io.Writer) error {
	j, err := c.Status(ctx, jobID)
	if err != nil {
		return err
	}
	if c.Logs != nil && j.LogGroup != "" && j.LogGroup != "-" && j.LogStream != "" && j.LogStream != "-" {
		in := &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String(j.LogGroup), LogStreamName: aws.String(j.LogStream), StartFromHead: aws.Bool(true)}
		for {
			out, err := c.Logs.GetLogEvents(ctx, in)
			if err != nil {
				return fmt.Errorf("read log %s/%s: %w", j.LogGroup, j.LogStream, err)
			}
			for _, e := range out.Events {
				fmt.Fprintln(w, aws.ToString(e.Message))
			}
			if len(out.Events) == 0 || aws.ToString(out.NextForwardToken) == aws.ToString(in.NextToken) {
				return nil
			}
			in.NextToken = out.NextForwardToken
		}
	}
	key := jobs.OutputsPrefix(jobID) + jobs.LogObject
	out, err := c.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(c.Bucket), Key: aws.String(key)})
	if err != nil {
		return fmt.Errorf("job %s is %s and has no log yet (s3://%s/%s): %w", jobID, j.State, c.Bucket, key, err)
	}
	defer out.Body.Close()
	_, err = io.Copy(w, out.Body)
	return err
}

// Describe is one line about a job.
func Describe(j jobs.Job) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", j.JobID, j.State)
	if j.Class != "" {
		fmt.Fprintf(&b, " class=%s", j.Class)
	}
	if j.InstanceID != "" && j.InstanceID != "-" {
		fmt.Fprintf(&b, " instance=%s", j.InstanceID)
	}
	if j.ExitCode != nil {
		fmt.Fprintf(&b, " exit=%d", *j.ExitCode)
	}
	if j.Attempts > 1 {
		fmt.Fprintf(&b, " attempts=%d", j.Attempts)
	}
	if j.StartedAt > 0 && j.FinishedAt >= j.StartedAt {
		fmt.Fprintf(&b, " ran=%s", time.Duration(j.FinishedAt-j.StartedAt)*time.Second)
	}
	if j.Reason != "" {
		fmt.Fprintf(&b, " (%s)", j.Reason)
	}
	if j.CancelRequested {
		b.WriteString(" [cancel requested]")
	}
	return b.String()
}
