package safebuild

import (
	"errors"
	"testing"
)

func TestRunTellsARefusalFromABug(t *testing.T) {
	if err := Run(func() {}); err != nil {
		t.Fatalf("no panic: %v", err)
	}
	var refusal Refusal
	if err := Run(func() { panic("hub Hub: the VPC has 0 private subnet(s) with egress") }); !errors.As(err, &refusal) ||
		err.Error() != "hub Hub: the VPC has 0 private subnet(s) with egress" {
		t.Fatalf("a construct's message: %#v", err)
	}
	var internal Internal
	if err := Run(func() { var m map[string]int; m["x"]++ }); !errors.As(err, &internal) {
		t.Fatalf("a runtime error: %#v", err)
	}
	if err := Run(func() { panic(errors.New("AmiTypeDoesNotMatchInstanceArchitecture")) }); !errors.As(err, &internal) ||
		err.Error() != "AmiTypeDoesNotMatchInstanceArchitecture" {
		t.Fatalf("an error thrown by aws-cdk-lib: %#v", err)
	}
}
