package ingest

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
)

// deniedS3 answers GetObject on one key with AccessDenied, as S3 does for a key the role cannot read.
type deniedS3 struct {
	*s3.Client
	key string
}

func (d deniedS3) GetObject(ctx context.Context, in *s3.GetObjectInput, opts ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	if aws.ToString(in.Key) == d.key {
		return nil, &smithy.GenericAPIError{Code: "AccessDenied", Message: "Access Denied"}
	}
	return d.Client.GetObject(ctx, in, opts...)
}

// An unreadable entries.json fails Validate with an error (not a validation problem); the workflow
// catches it and the report names it, and nothing of the job is deleted.
func TestUnreadableEntriesEndsWithAReportNamingTheError(t *testing.T) {
	r, c := newRunner(t)
	uploadJob(t, c, "job1", "MMS", t0, []int{0}, "")
	r.S3 = deniedS3{Client: c, key: "job1/entries.json"}
	rep, err := r.Run(context.Background(), "job1", 10)
	if err == nil || rep == nil {
		t.Fatalf("run: %v %v", rep, err)
	}
	got := readReport(t, c, "job1")
	if got.Status != "failed" || !strings.Contains(got.Error, "AccessDenied") || got.Location != "s3://"+uploadBucket+"/job1/report.json" {
		t.Fatalf("report: %+v", got)
	}
	if !exists(c, uploadBucket, "job1/entries.json") {
		t.Fatal("a failed job's uploads were deleted")
	}
}

// The state machine passes a failed Lambda's Cause as its JSON error; the report keeps the message.
func TestReportOfAFailedStepKeepsTheFunctionsMessage(t *testing.T) {
	r, c := newRunner(t)
	cause, _ := json.Marshal(map[string]string{"errorMessage": "read s3://x/job1/entries.json: AccessDenied", "errorType": "wrapError"})
	rep, err := r.Report(context.Background(), ReportInput{Job: "job1", Marker: "", Status: "failed", Error: "Error", Cause: string(cause), Execution: "arn:aws:states:us-east-1:1:execution:W:e1"})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Error != "Error: read s3://x/job1/entries.json: AccessDenied" || readReport(t, c, "job1").Execution != "arn:aws:states:us-east-1:1:execution:W:e1" {
		t.Fatalf("report: %+v", rep)
	}
}

// A marker that does not name a job (a folder deeper than <job>/) fails Validate; the report goes
// beside the marker and names the problem, for the event and for whoever uploaded it.
func TestReportOfAMalformedMarkerGoesBesideIt(t *testing.T) {
	r, c := newRunner(t)
	_, verr := r.Validate(context.Background(), JobInput{Marker: "team/job 1/_READY"})
	if verr == nil {
		t.Fatal("a marker in team/job 1/ was accepted")
	}
	rep, err := r.Report(context.Background(), ReportInput{Marker: "team/job 1/_READY", Status: "failed", Error: "Error", Cause: verr.Error()})
	if err != nil {
		t.Fatal(err)
	}
	got := readReport(t, c, "team/job 1")
	if got.Status != "failed" || len(got.Problems) != 1 || !strings.Contains(got.Problems[0].Message, "is not a job name") || rep.Location != "s3://"+uploadBucket+"/team/job 1/report.json" {
		t.Fatalf("report: %+v", got)
	}
}

// With no job and no marker there is no folder: the report is returned (for the event) and not written.
func TestReportWithNoJobReturnsWithoutWriting(t *testing.T) {
	r, _ := newRunner(t)
	rep, err := r.Report(context.Background(), ReportInput{Status: "failed", Error: "States.Runtime"})
	if err != nil || rep.Status != "failed" || rep.Location != "" || rep.Error == "" {
		t.Fatalf("%+v %v", rep, err)
	}
}
