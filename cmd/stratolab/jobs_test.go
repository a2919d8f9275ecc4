package main

import (
	"bytes"
	"context"
	"fmt"
	"github.com/stratolab/stratolab/internal/s3local"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stratolab/stratolab/internal/jobagent"
	"github.com/stratolab/stratolab/internal/jobclient"
	"github.com/stratolab/stratolab/internal/jobs"
	"github.com/stratolab/stratolab/internal/jobs/jobsfake"
)

// The job commands end to end: submit → the worker agent → status → fetch, with S3 through the real
// SDK against an in-process S3 server and in-memory SQS and DynamoDB in place of what the instance publishes.
func TestJobsCommandsEndToEnd(t *testing.T) {
	s3c := s3local.New(t, "jobs-b")
	q, tbl := &jobsfake.Queue{}, &jobsfake.Table{}
	old := newJobsClient
	defer func() { newJobsClient = old }()
	newJobsClient = func(_ context.Context, progress io.Writer) (*jobclient.Client, error) {
		if jobsFlags.instance != "lab" {
			return nil, fmt.Errorf("instance %q", jobsFlags.instance)
		}
		return &jobclient.Client{Table: tbl, Bucket: "jobs-b", S3: s3c, Progress: progress, Queue: func(class string) (jobs.Queue, error) {
			if class != "prod" {
				return nil, fmt.Errorf("instance lab has no job class %q (its classes: prod)", class)
			}
			return q, nil
		}}, nil
	}
	dir := t.TempDir()
	input := filepath.Join(dir, "in.txt")
	if err := os.WriteFile(input, []byte("hello\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cli := func(args ...string) (string, string, int) {
		var out, errb bytes.Buffer
		code := run(context.Background(), args, &out, &errb)
		return out.String(), errb.String(), code
	}
	out, errs, code := cli("jobs", "submit", "--instance", "lab", "--class", "prod", "--input", input, "--", "/bin/sh", "-c", `tr a-z A-Z < "$JOB_INPUTS/in.txt" > "$JOB_OUTPUTS/up.txt"`)
	if code != 0 {
		t.Fatalf("submit: %d %s", code, errs)
	}
	id := strings.TrimSpace(out)
	if !strings.Contains(errs, "queued "+id+" on prod") {
		t.Errorf("submit progress: %q", errs)
	}
	agent := &jobagent.Agent{Config: jobagent.Config{Class: "prod", Bucket: "jobs-b", InstanceID: "i-9", WorkDir: t.TempDir(), Wait: time.Millisecond},
		Queue: q, Table: tbl, S3: s3c, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if o, err := agent.Once(context.Background()); err != nil || o.State != jobs.StateSucceeded {
		t.Fatalf("agent: %+v %v", o, err)
	}
	out, errs, code = cli("jobs", "status", "--instance", "lab", id)
	if code != 0 || !strings.HasPrefix(out, id+" succeeded class=prod instance=i-9 exit=0") {
		t.Fatalf("status: %d %q %q", code, out, errs)
	}
	dest := filepath.Join(t.TempDir(), "results")
	out, errs, code = cli("jobs", "fetch", "--instance", "lab", id, dest)
	if code != 0 || out != "2 files in "+dest+"\n" {
		t.Fatalf("fetch: %d %q %q", code, out, errs)
	}
	if b, _ := os.ReadFile(filepath.Join(dest, "up.txt")); string(b) != "HELLO\n" {
		t.Fatalf("up.txt: %q", b)
	}
	// Mistakes fail with one line.
	_, errs, code = cli("jobs", "submit", "--instance", "lab", "--class", "gpu", "--", "true")
	if code != 1 || errs != "stratolab: instance lab has no job class \"gpu\" (its classes: prod)\n" {
		t.Fatalf("unknown class: %d %q", code, errs)
	}
	_, errs, code = cli("jobs", "status", "--instance", "lab", "j-nope")
	if code != 1 || errs != "stratolab: no job j-nope in this instance\n" {
		t.Fatalf("unknown job: %d %q", code, errs)
	}
}
