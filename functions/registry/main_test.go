package main

import (
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/stratolab/stratolab/internal/ingest"
)

// Each STEP is wired to its step: the steps that need a job refuse an empty one (ingest.CheckJob's
// message), and those that do not succeed on an empty input without touching AWS (report: a report
// with no job to name has nowhere to go, and returns for the workflow's event).
func TestEveryStepIsWiredToItsHandler(t *testing.T) {
	r := &ingest.Runner{}
	for step, wantErr := range map[string]bool{"validate": true, "index": true, "report": false, "copy": false, "catalog": false} {
		h, err := handler(r, step)
		if err != nil {
			t.Fatal(err)
		}
		_, err = lambda.NewHandler(h).Invoke(t.Context(), []byte(`{}`))
		switch {
		case wantErr && (err == nil || !strings.Contains(err.Error(), "is not a job name")):
			t.Errorf("%s: %v, want the job check's error", step, err)
		case !wantErr && err != nil:
			t.Errorf("%s: %v", step, err)
		}
		if _, err := lambda.NewHandler(h).Invoke(t.Context(), []byte(`not json`)); err == nil {
			t.Errorf("%s: a bad payload is accepted", step)
		}
	}
	if _, err := handler(r, "nope"); err == nil {
		t.Fatal("unknown step accepted")
	}
}
