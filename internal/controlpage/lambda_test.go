package controlpage_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stratolab/stratolab/internal/controlpage"
	"github.com/stratolab/stratolab/internal/controlpage/demo"
)

// event is an HTTP API payload 2.0 event as API Gateway sends it after its JWT authorizer passed
// (claims nil: a route without the authorizer).
func event(method, path, query string, headers, claims map[string]string, body string, b64 bool) events.APIGatewayV2HTTPRequest {
	ev := events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: method + " " + path, RawPath: path, RawQueryString: query, Headers: headers,
		Body: body, IsBase64Encoded: b64,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			DomainName: "abc123.execute-api.eu-west-1.amazonaws.com", RequestID: "req-1",
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: method, Path: path, SourceIP: "192.0.2.10"},
		},
	}
	if claims != nil {
		ev.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
			JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: claims, Scopes: []string{"openid"}}}
	}
	return ev
}

// accessClaims are a Cognito access token's claims as the HTTP API hands them over: every value a
// string, the cognito:groups array flattened to "[a b]".
var accessClaims = map[string]string{
	"sub": "5f3c-0001", "username": "olga", "cognito:groups": "[control-staging admins]", "client_id": "client123",
	"token_use": "access", "scope": "openid email profile", "iss": "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc",
}

func lambdaHandler(t *testing.T) func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	t.Helper()
	h, err := controlpage.New(controlpage.Options{Service: demo.NewService(time.Hour), Auth: controlpage.JWTClaims})
	if err != nil {
		t.Fatal(err)
	}
	return controlpage.LambdaHandler(h)
}

// TestLambdaPassesAuthorizerClaims: the JWT authorizer's claims identify the caller; the group in the
// flattened cognito:groups claim lets it start staging, through a base64 body as API Gateway may send.
func TestLambdaPassesAuthorizerClaims(t *testing.T) {
	fn := lambdaHandler(t)
	resp, err := fn(context.Background(), event("GET", "/api/environments", "", map[string]string{"authorization": "Bearer x.y.z"}, accessClaims, "", false))
	if err != nil {
		t.Fatal(err)
	}
	var list controlpage.EnvironmentsResponse
	if resp.StatusCode != 200 || json.Unmarshal([]byte(resp.Body), &list) != nil || list.User != "olga" ||
		len(list.Environments) != 1 || !list.Environments[0].CanControl {
		t.Fatalf("list: %d %s; want olga with staging controllable", resp.StatusCode, resp.Body)
	}
	if resp.Headers["Content-Type"] != "application/json; charset=utf-8" || resp.IsBase64Encoded ||
		!strings.Contains(resp.Headers["Content-Security-Policy"], "frame-ancestors 'none'") {
		t.Errorf("headers %v base64 %v; want JSON, not base64, with the CSP", resp.Headers, resp.IsBase64Encoded)
	}
	body := base64.StdEncoding.EncodeToString([]byte(`{"action":"start"}`))
	resp, _ = fn(context.Background(), event("POST", "/api/environments/staging/runs", "", map[string]string{"content-type": "application/json"}, accessClaims, body, true))
	if resp.StatusCode != http.StatusAccepted || !strings.Contains(resp.Body, `"started_by":"olga"`) {
		t.Errorf("start: %d %s; want 202 started by olga", resp.StatusCode, resp.Body)
	}
}

// TestLambdaRefusesRequestWithoutAuthorizerClaims: a request that did not pass the JWT authorizer has
// no identity, whatever its Authorization header says (the adapter never reads tokens itself), and a
// claim set without a subject is no identity either.
func TestLambdaRefusesRequestWithoutAuthorizerClaims(t *testing.T) {
	fn := lambdaHandler(t)
	for name, claims := range map[string]map[string]string{"no authorizer": nil, "no sub": {"username": "olga", "cognito:groups": "[control-staging]"}} {
		resp, _ := fn(context.Background(), event("GET", "/api/environments/staging", "", map[string]string{"authorization": "Bearer forged"}, claims, "", false))
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s: %d %s; want 401", name, resp.StatusCode, resp.Body)
		}
	}
}

// TestLambdaWrongGroupClaimIsForbidden: a verified caller without control-staging gets 403.
func TestLambdaWrongGroupClaimIsForbidden(t *testing.T) {
	fn := lambdaHandler(t)
	claims := map[string]string{"sub": "5f3c-0002", "username": "otto", "cognito:groups": "[control-training]"}
	resp, _ := fn(context.Background(), event("POST", "/api/environments/staging/runs", "", map[string]string{"content-type": "application/json"}, claims, `{"action":"start"}`, false))
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("%d %s; want 403", resp.StatusCode, resp.Body)
	}
}

// TestLambdaServesPageWithQuery: the callback /?code=...&state=... serves the page (the route has no
// authorizer), as text.
func TestLambdaServesPageWithQuery(t *testing.T) {
	fn := lambdaHandler(t)
	resp, _ := fn(context.Background(), event("GET", "/", "code=abc&state=xyz", map[string]string{}, nil, "", false))
	if resp.StatusCode != 200 || resp.IsBase64Encoded || !strings.Contains(resp.Body, `<script src="app.js"`) ||
		!strings.HasPrefix(resp.Headers["Content-Type"], "text/html") {
		t.Errorf("page: %d base64 %v %v", resp.StatusCode, resp.IsBase64Encoded, resp.Headers)
	}
	resp, _ = fn(context.Background(), event("GET", "/app.js", "", nil, nil, "", false))
	if resp.StatusCode != 200 || !strings.Contains(resp.Headers["Content-Type"], "javascript") || resp.IsBase64Encoded {
		t.Errorf("app.js: %d %v base64 %v", resp.StatusCode, resp.Headers, resp.IsBase64Encoded)
	}
	resp, _ = fn(context.Background(), event("POST", "/api/environments/staging/runs", "", nil, accessClaims, "%%%", true))
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("bad base64 body: %d; want 400", resp.StatusCode)
	}
}

// TestParseGroupsClaim reads the forms a list claim arrives in. API Gateway's HTTP API flattens an
// array claim into "[a b c]" (reported in aws-solutions-library-samples/
// guidance-for-claude-code-with-amazon-bedrock#802, where a comma-only parser silently found no group).
func TestParseGroupsClaim(t *testing.T) {
	for in, want := range map[string][]string{
		"[control-staging admins]":     {"control-staging", "admins"},
		"[control-staging]":            {"control-staging"},
		`["control-staging","admins"]`: {"control-staging", "admins"},
		"control-staging,admins":       {"control-staging", "admins"},
		"control-staging":              {"control-staging"},
		"":                             nil,
		"[]":                           nil,
	} {
		if got := controlpage.ParseGroupsClaim(in); !reflect.DeepEqual(got, want) && !(len(got) == 0 && len(want) == 0) {
			t.Errorf("ParseGroupsClaim(%q) = %q; want %q", in, got, want)
		}
	}
}

// TestIdentityFromClaims: access tokens name the user in username, ID tokens in cognito:username.
func TestIdentityFromClaims(t *testing.T) {
	id, ok := controlpage.IdentityFromClaims(map[string]string{"sub": "s1", "cognito:username": "ida"})
	if !ok || id.User != "ida" {
		t.Errorf("ID token claims: %+v %v", id, ok)
	}
	id, ok = controlpage.IdentityFromClaims(map[string]string{"sub": "s1"})
	if !ok || id.User != "s1" {
		t.Errorf("sub only: %+v %v", id, ok)
	}
}

// TestOptionsFromEnv reads the variables the construct sets.
func TestOptionsFromEnv(t *testing.T) {
	env := map[string]string{
		controlpage.EnvHostedUIURL: "https://physics.auth.eu-west-1.amazoncognito.com",
		controlpage.EnvClientID:    "client123",
		controlpage.EnvPageURL:     "https://abc.execute-api.eu-west-1.amazonaws.com/",
		controlpage.EnvWatchAll:    "true",
	}
	o, err := controlpage.OptionsFromEnv(func(k string) string { return env[k] })
	if err != nil || !o.WatchAll || o.Page.ClientID != "client123" || o.Page.TokenEndpoint != "https://physics.auth.eu-west-1.amazoncognito.com/oauth2/token" {
		t.Fatalf("%+v %v", o, err)
	}
	env[controlpage.EnvWatchAll] = "maybe"
	if _, err := controlpage.OptionsFromEnv(func(k string) string { return env[k] }); err == nil {
		t.Error("CONTROL_WATCH_ALL=maybe accepted")
	}
}
