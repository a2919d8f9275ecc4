package main

import (
	"testing"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/stratolab/stratolab/internal/ingest"
)

// Every step's handler has a signature lambda.Start accepts.
func TestEveryStepHasAValidHandler(t *testing.T) {
	r := &ingest.Runner{}
	for _, step := range []string{"validate", "copy", "index", "catalog", "report"} {
		h, err := handler(r, step)
		if err != nil {
			t.Fatal(err)
		}
		// A handler of a bad signature answers every call with an error; a good one fails on bad JSON only.
		if _, err := lambda.NewHandler(h).Invoke(t.Context(), []byte(`not json`)); err == nil {
			t.Errorf("%s: a bad payload is accepted", step)
		}
	}
	if _, err := handler(r, "nope"); err == nil {
		t.Fatal("unknown step accepted")
	}
}
