package jobagent

import (
	"errors"
	"testing"

	"github.com/aws/smithy-go"
)

// TestAccessDeniedOnADownloadIsAMissingKey: without an unconditioned s3:ListBucket, S3 answers a
// GetObject of a missing key with 403 AccessDenied (GetObject API reference, "Permissions"); the job must
// fail at once, not go back to the queue three times and on to the dead-letter queue.
func TestAccessDeniedOnADownloadIsAMissingKey(t *testing.T) {
	for code, missing := range map[string]bool{"NoSuchKey": true, "NotFound": true, "AccessDenied": true, "SlowDown": false, "InternalError": false} {
		err := &smithy.GenericAPIError{Code: code, Message: "x"}
		if isNotFound(err) != missing {
			t.Errorf("%s: isNotFound = %v, want %v", code, !missing, missing)
		}
	}
	if isNotFound(errors.New("dial tcp: i/o timeout")) {
		t.Error("a network error may pass: the job goes back to the queue")
	}
}
