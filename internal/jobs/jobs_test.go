package jobs

import (
	"strings"
	"testing"
	"time"
)

// TestCheckRefusesATimeoutSQSCannotHide: SQS keeps a received message hidden for at most 12 hours from
// its receive (SQS developer guide, Visibility timeout), so a longer job would be received again while
// it runs.
func TestCheckRefusesATimeoutSQSCannotHide(t *testing.T) {
	spec := Spec{JobID: "j1", Command: []string{"true"}}
	for _, ok := range []time.Duration{0, time.Second, MaxTimeout} {
		spec.TimeoutSeconds = int(ok / time.Second)
		if err := spec.Check(); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for _, bad := range []time.Duration{12 * time.Hour, 24 * time.Hour, -time.Second} {
		spec.TimeoutSeconds = int(bad / time.Second)
		if err := spec.Check(); err == nil || !strings.Contains(err.Error(), "is out of range (1 to 41400") {
			t.Errorf("%s: %v", bad, err)
		}
	}
	if MaxTimeout >= 12*time.Hour {
		t.Fatal("MaxTimeout must leave room under SQS's 12 hours")
	}
}
