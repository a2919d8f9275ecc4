package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/stratolab/stratolab/internal/control"
)

// fakeSSM answers GetParametersByPath with the parameters the Control stack publishes.
type fakeSSM struct {
	params map[string]string
	paths  []string
}

func (f *fakeSSM) GetParametersByPath(_ context.Context, in *ssm.GetParametersByPathInput, _ ...func(*ssm.Options)) (*ssm.GetParametersByPathOutput, error) {
	f.paths = append(f.paths, aws.ToString(in.Path))
	out := &ssm.GetParametersByPathOutput{}
	for k, v := range f.params {
		if strings.HasPrefix(k, aws.ToString(in.Path)) {
			out.Parameters = append(out.Parameters, ssmtypes.Parameter{Name: aws.String(k), Value: aws.String(v)})
		}
	}
	return out, nil
}

// env is what constructs/controlpage and stacks/control.go give the function.
func env(overrides map[string]string) func(string) string {
	vals := map[string]string{
		"CONTROL_INSTANCE":      "lab",
		"CONTROL_PAGE_URL":      "https://abc123.execute-api.us-east-1.amazonaws.com/",
		"CONTROL_HOSTED_UI_URL": "https://lab-123456789012.auth.us-east-1.amazoncognito.com",
		"CONTROL_CLIENT_ID":     "1example23456789",
		"CONTROL_WATCH_ALL":     "false",
	}
	for k, v := range overrides {
		vals[k] = v
	}
	return func(k string) string { return vals[k] }
}

func staging(t *testing.T) string {
	d := control.Definition{Instance: "lab", Environment: "staging", StateMachineArn: "arn:aws:states:us-east-1:123456789012:stateMachine:lab-control-staging",
		Table: "lab-control-runs", Stages: []control.Stage{{Name: "app", InstanceIDs: []string{"i-0123456789abcdef0"}, Wait: control.WaitRunning, TimeoutSeconds: 900}}}
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func clientsForTest() *control.Clients {
	return control.NewClients(aws.Config{Region: "us-east-1"})
}

// The function reads the environments its instance publishes, and serves the page with the login
// configuration its construct gave it.
func TestHandlerServesThePageOfThePublishedEnvironments(t *testing.T) {
	params := &fakeSSM{params: map[string]string{"/stratolab/lab/control/environments/staging": staging(t)}}
	h, err := handler(context.Background(), params, clientsForTest(), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if len(params.paths) != 1 || params.paths[0] != "/stratolab/lab/control/" {
		t.Fatalf("read %v, want the instance's control path", params.paths)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/config.json", nil))
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "1example23456789") {
		t.Fatalf("config.json: %d %s", rec.Code, rec.Body.String())
	}
	// Without the authorizer's claims the API refuses (API Gateway's JWT authorizer sets them).
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/environments", nil))
	if rec.Code != http.StatusUnauthorized {
		t.Fatalf("/api/environments without claims: %d, want 401", rec.Code)
	}
}

func TestHandlerRefusesAMissingInstanceOrUnpublishedEnvironments(t *testing.T) {
	if _, err := handler(context.Background(), &fakeSSM{}, clientsForTest(), env(map[string]string{"CONTROL_INSTANCE": ""})); err == nil || !strings.Contains(err.Error(), "CONTROL_INSTANCE is required") {
		t.Fatalf("missing instance: %v", err)
	}
	if _, err := handler(context.Background(), &fakeSSM{}, clientsForTest(), env(nil)); err == nil || !strings.Contains(err.Error(), "publishes nothing under /stratolab/lab/control/") {
		t.Fatalf("nothing published: %v", err)
	}
	if _, err := handler(context.Background(), &fakeSSM{}, clientsForTest(), env(map[string]string{"CONTROL_CLIENT_ID": ""})); err == nil {
		t.Fatal("a page without its client ID must not start")
	}
}
