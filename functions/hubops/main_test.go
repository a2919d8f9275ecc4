package main

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/cfn"
)

func TestDeleteOfAFailedCreateIsANoOp(t *testing.T) {
	// Properties that would fail to parse: the handler must not get that far.
	ev := cfn.Event{RequestType: cfn.RequestDelete, PhysicalResourceID: "9f3c1e2a-1111-2222-3333-444455556666",
		ResourceProperties: map[string]any{"Bogus": "x"}}
	id, _, err := handle(context.Background(), ev)
	if err != nil || id != ev.PhysicalResourceID {
		t.Fatalf("handle = %q, %v; want the same physical ID and success", id, err)
	}
}

func TestFailedCreateAnswersWithoutAPhysicalID(t *testing.T) {
	ev := cfn.Event{RequestType: cfn.RequestCreate, RequestID: "req-1", ResourceProperties: map[string]any{}}
	id, _, err := handle(context.Background(), ev)
	if err == nil || !strings.Contains(err.Error(), "property ClusterName is required") {
		t.Fatalf("err = %v, want the property errors", err)
	}
	if id != "" {
		t.Errorf("physical ID = %q, want empty so that cfn.LambdaWrap sends the request ID", id)
	}
}

// TestDeleteOfANodegroupSizeNeverTearsDown: the size resources share this function; their Delete (a
// node group removed from the config, say) must not run the hub's teardown.
func TestDeleteOfANodegroupSizeNeverTearsDown(t *testing.T) {
	ev := cfn.Event{RequestType: cfn.RequestDelete, ResourceType: "Custom::HubNodegroupSize",
		PhysicalResourceID: "stratolab-hubops-size:example-cluster/general",
		ResourceProperties: map[string]any{"ClusterName": "example-cluster", "NodegroupName": "general", "MinSize": "0", "MaxSize": "3"}}
	id, data, err := handle(context.Background(), ev)
	if err != nil || id != ev.PhysicalResourceID || data != nil {
		t.Fatalf("handle = %q, %v, %v; want a no-op", id, data, err)
	}
}
