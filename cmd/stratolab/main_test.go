package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestUnknownCommandFailsWithOneLine(t *testing.T) {
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"frobnicate"}, &out, &errb)
	if code != 1 || !strings.HasPrefix(errb.String(), "stratolab: unknown command \"frobnicate\"") {
		t.Fatalf("code %d, stderr %q", code, errb.String())
	}
}

func TestHelpListsTheGlobalFlags(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"--help"}, &out, &errb); code != 0 {
		t.Fatalf("code %d: %s", code, errb.String())
	}
	for _, want := range []string{"--profile", "--region"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("help lacks %s:\n%s", want, out.String())
		}
	}
}

func TestNotATerminal(t *testing.T) {
	if isTerminal(&bytes.Buffer{}) {
		t.Fatal("a buffer is not a terminal")
	}
}
