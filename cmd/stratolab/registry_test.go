package main

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"github.com/stratolab/stratolab/internal/s3local"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/stratolab/stratolab/internal/ingest"
)

func writeJob(t *testing.T, files int, badSize bool) string {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "entries.json"), []byte(`[{"id": "MMS", "index": "s3://lab-helio-public/MMS/", "title": "MMS data"}]`), 0o644)
	os.MkdirAll(filepath.Join(dir, "MMS", "l2"), 0o755)
	var m strings.Builder
	m.WriteString("start,stop,key,filesize,checksum\n")
	for i := 0; i < files; i++ {
		body := []byte(fmt.Sprintf("file %d", i))
		key := fmt.Sprintf("l2/f%03d.cdf", i)
		os.WriteFile(filepath.Join(dir, "MMS", key), body, 0o644)
		size := len(body)
		if badSize && i == 1 {
			size++
		}
		sum := md5.Sum(body)
		fmt.Fprintf(&m, "2015-09-01T12:%02d:00Z,,%s,%d,%s\n", i, key, size, hex.EncodeToString(sum[:]))
	}
	os.WriteFile(filepath.Join(dir, "MMS", "manifest.csv"), []byte(m.String()), 0o644)
	return dir
}

func TestRegistryValidateListsEveryProblemAndFails(t *testing.T) {
	dir := writeJob(t, 3, true)
	os.Remove(filepath.Join(dir, "MMS", "l2", "f002.cdf"))
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"registry", "validate", dir}, &out, &errb)
	if code != 1 {
		t.Fatalf("code %d", code)
	}
	for _, want := range []string{dir + "/MMS/manifest.csv:3: l2/f001.cdf: WRONG_SIZE", dir + "/MMS/manifest.csv:4: l2/f002.cdf: NOT_FOUND"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if !strings.Contains(errb.String(), "2 problem(s); nothing was uploaded") {
		t.Errorf("stderr: %s", errb.String())
	}
}

func TestRegistryValidatePassesAGoodJob(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"registry", "validate", writeJob(t, 3, false)}, &out, &errb); code != 0 {
		t.Fatalf("code %d: %s %s", code, out.String(), errb.String())
	}
	if !strings.Contains(out.String(), "1 dataset(s), 5 file(s)") {
		t.Fatal(out.String())
	}
}

func fakeS3(t *testing.T) *s3.Client { return s3local.New(t, "lab-upload") }

func TestRegistryUploadResumesAndWritesTheMarkerLast(t *testing.T) {
	c := fakeS3(t)
	dir := writeJob(t, 4, false)
	job, probs := ingest.ValidateDir(dir)
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	var out bytes.Buffer
	if err := uploadJob(context.Background(), c, "lab-upload", "j1", job, "", 2, &out); err != nil {
		t.Fatal(err)
	}
	if _, err := c.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String("lab-upload"), Key: aws.String("j1/MMS/l2/f003.cdf")}); err != nil {
		t.Fatal(err)
	}
	// A second run skips the data already there, then uploads the marker.
	out.Reset()
	if err := uploadJob(context.Background(), c, "lab-upload", "j1", job, "_READY", 2, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "4 file(s) already uploaded, skipped") || !strings.Contains(out.String(), "the job starts now") {
		t.Fatal(out.String())
	}
	if !strings.Contains(out.String(), "files") || !strings.Contains(out.String(), "ETA") {
		t.Fatal("no progress line: " + out.String())
	}
}

type fakeSFN struct {
	states []sfntypes.ExecutionStatus
	input  string
	// started, when set, runs with the new execution's ARN (to write its report).
	started func(arn string)
}

func (f *fakeSFN) StartExecution(_ context.Context, in *sfn.StartExecutionInput, _ ...func(*sfn.Options)) (*sfn.StartExecutionOutput, error) {
	f.input = aws.ToString(in.Input)
	arn := "arn:aws:states:us-east-1:123456789012:execution:wf:" + aws.ToString(in.Name)
	if f.started != nil {
		f.started(arn)
	}
	return &sfn.StartExecutionOutput{ExecutionArn: aws.String(arn)}, nil
}

func (f *fakeSFN) DescribeExecution(context.Context, *sfn.DescribeExecutionInput, ...func(*sfn.Options)) (*sfn.DescribeExecutionOutput, error) {
	s := f.states[0]
	if len(f.states) > 1 {
		f.states = f.states[1:]
	}
	out := &sfn.DescribeExecutionOutput{Status: s}
	if s == sfntypes.ExecutionStatusFailed {
		out.Error, out.Cause = aws.String("IngestFailed"), aws.String("job j1 failed: see report.json")
	}
	return out, nil
}

func TestRegistryIngestWaitFailsWithTheReport(t *testing.T) {
	c := fakeS3(t)
	f := &fakeSFN{states: []sfntypes.ExecutionStatus{sfntypes.ExecutionStatusRunning, sfntypes.ExecutionStatusFailed}}
	f.started = func(arn string) {
		c.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String("lab-upload"), Key: aws.String("j1/report.json"),
			Body: strings.NewReader(`{"job":"j1","status":"failed","execution":"` + arn + `","files":3,"problems":[{"file":"MMS/manifest.csv","line":3,"message":"l2/x.cdf: WRONG_SIZE"}]}`)})
	}
	var out bytes.Buffer
	err := startAndWait(context.Background(), f, c, &registryParams{upload: "lab-upload", workflow: "arn:wf"}, "j1", true, time.Millisecond, &out)
	if err == nil || !strings.Contains(err.Error(), "job j1 failed: IngestFailed") {
		t.Fatalf("err %v", err)
	}
	if !strings.Contains(out.String(), "MMS/manifest.csv:3: l2/x.cdf: WRONG_SIZE") || !strings.Contains(out.String(), "job j1: running") {
		t.Fatal(out.String())
	}
	if f.input != `{"job":"j1","marker":""}` {
		t.Fatalf("input %s", f.input)
	}
}

// A report.json left by an earlier run of the same job name is not this execution's: --wait says
// so instead of showing its problems.
func TestRegistryIngestWaitRejectsAnOlderExecutionsReport(t *testing.T) {
	c := fakeS3(t)
	c.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String("lab-upload"), Key: aws.String("j1/report.json"),
		Body: strings.NewReader(`{"job":"j1","status":"failed","execution":"arn:aws:states:us-east-1:123456789012:execution:wf:j1-old","problems":[{"file":"old.csv","line":1,"message":"stale"}]}`)})
	f := &fakeSFN{states: []sfntypes.ExecutionStatus{sfntypes.ExecutionStatusFailed}}
	var out bytes.Buffer
	err := startAndWait(context.Background(), f, c, &registryParams{upload: "lab-upload", workflow: "arn:wf"}, "j1", true, time.Millisecond, &out)
	if err == nil || !strings.Contains(err.Error(), "is from arn:aws:states:us-east-1:123456789012:execution:wf:j1-old, not this one") {
		t.Fatalf("err %v", err)
	}
	if strings.Contains(out.String(), "stale") {
		t.Fatalf("the older report was shown: %s", out.String())
	}
}

func TestRegistryIngestWaitSucceeds(t *testing.T) {
	c := fakeS3(t)
	f := &fakeSFN{states: []sfntypes.ExecutionStatus{sfntypes.ExecutionStatusSucceeded}}
	if err := startAndWait(context.Background(), f, c, &registryParams{upload: "lab-upload", workflow: "arn:wf"}, "j1", true, time.Millisecond, io.Discard); err != nil {
		t.Fatal(err)
	}
}

func TestRegistryCommandsNeedInstanceAndJob(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"registry", "ingest"}, &out, &errb); code != 1 || !strings.Contains(errb.String(), `required flag(s) "instance", "job" not set`) {
		t.Fatalf("code %d: %s", code, errb.String())
	}
}
