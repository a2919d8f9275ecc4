package controlpage_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stratolab/stratolab/internal/controlapi"
	"github.com/stratolab/stratolab/internal/controlpage"
	"github.com/stratolab/stratolab/internal/controlpage/demo"
)

// tokens is the test's authenticator: a Bearer token names a user and its groups.
var tokens = map[string]controlpage.Identity{
	"tok-operator": {User: "olga", Groups: []string{"control-staging"}},
	"tok-other":    {User: "otto", Groups: []string{"control-training", "admins"}},
	"tok-nobody":   {User: "nina"},
	"tok-ghost":    {User: "gus", Groups: []string{"control-nope"}},
}

var tokenAuth = controlpage.AuthenticatorFunc(func(r *http.Request) (controlpage.Identity, bool) {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return controlpage.Identity{}, false
	}
	id, ok := tokens[tok]
	return id, ok
})

func newHandler(t *testing.T, svc controlapi.Service, watchAll bool, log *slog.Logger) http.Handler {
	t.Helper()
	h, err := controlpage.New(controlpage.Options{Service: svc, Auth: tokenAuth, WatchAll: watchAll, Log: log,
		Page: controlpage.PageConfig{Demo: true}})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func do(h http.Handler, method, path, token, body string) *httptest.ResponseRecorder {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, rd)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// apiRoutes are every API route, each with a body where it takes one.
var apiRoutes = []struct{ method, path, body string }{
	{"GET", "/api/environments/staging", ""},
	{"GET", "/api/environments/staging/runs", ""},
	{"GET", "/api/environments/staging/runs/staging-start-1", ""},
	{"POST", "/api/environments/staging/runs", `{"action":"start"}`},
}

// TestAPIRefusesRequestsWithoutToken: every API route answers 401 with a WWW-Authenticate challenge
// when the request has no token, or a token the authenticator does not know.
func TestAPIRefusesRequestsWithoutToken(t *testing.T) {
	h := newHandler(t, demo.NewService(time.Hour), true, nil)
	routes := append(apiRoutes, struct{ method, path, body string }{"GET", "/api/environments", ""})
	for _, r := range routes {
		for _, tok := range []string{"", "forged"} {
			rec := do(h, r.method, r.path, tok, r.body)
			if rec.Code != http.StatusUnauthorized || !strings.HasPrefix(rec.Header().Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("%s %s with token %q: %d %q; want 401 with a Bearer challenge", r.method, r.path, tok, rec.Code, rec.Body)
			}
		}
	}
}

// TestAPIRefusesWrongGroup: a user outside control-staging gets 403 on every staging route when
// watching is off, and does not see staging in the list.
func TestAPIRefusesWrongGroup(t *testing.T) {
	svc := demo.NewService(time.Hour)
	if _, err := svc.StartRun(context.Background(), "staging", controlapi.Start, "olga"); err != nil {
		t.Fatal(err)
	}
	h := newHandler(t, svc, false, nil)
	for _, tok := range []string{"tok-other", "tok-nobody"} {
		for _, r := range apiRoutes {
			rec := do(h, r.method, r.path, tok, r.body)
			if rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), "control-staging") {
				t.Errorf("%s %s as %s: %d %s; want 403 naming the group control-staging", r.method, r.path, tok, rec.Code, rec.Body)
			}
		}
		var list controlpage.EnvironmentsResponse
		decode(t, do(h, "GET", "/api/environments", tok, ""), http.StatusOK, &list)
		for _, e := range list.Environments {
			if e.Name == "staging" {
				t.Errorf("%s sees staging in the list without its group: %+v", tok, list)
			}
		}
	}
}

// TestAPIWatcherSeesButMayNotStartOrStop: with WatchAll, a logged-in user outside the group reads
// every route, with can_control false, and gets 403 on start and on stop.
func TestAPIWatcherSeesButMayNotStartOrStop(t *testing.T) {
	svc := demo.NewService(time.Hour)
	if _, err := svc.StartRun(context.Background(), "staging", controlapi.Start, "olga"); err != nil {
		t.Fatal(err)
	}
	h := newHandler(t, svc, true, nil)
	for _, r := range apiRoutes[:3] {
		if rec := do(h, r.method, r.path, "tok-nobody", ""); rec.Code != http.StatusOK {
			t.Errorf("watcher %s %s: %d %s; want 200", r.method, r.path, rec.Code, rec.Body)
		}
	}
	var env controlpage.EnvironmentResponse
	decode(t, do(h, "GET", "/api/environments/staging", "tok-nobody", ""), http.StatusOK, &env)
	if env.CanControl {
		t.Error("watcher's environment has can_control true")
	}
	for _, action := range []string{"start", "stop"} {
		rec := do(h, "POST", "/api/environments/training/runs", "tok-nobody", `{"action":"`+action+`"}`)
		if rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), "may watch") {
			t.Errorf("watcher %s: %d %s; want 403 saying it may only watch", action, rec.Code, rec.Body)
		}
	}
	var list controlpage.EnvironmentsResponse
	decode(t, do(h, "GET", "/api/environments", "tok-nobody", ""), http.StatusOK, &list)
	if len(list.Environments) != 2 || list.Environments[0].CanControl || list.Environments[1].CanControl {
		t.Errorf("watcher's list: %+v; want staging and training, neither controllable", list)
	}
}

// TestAPIRightGroupStartsAndWatches: a member of control-staging lists staging as controllable, starts
// it (202 and the run), sees it running, reads its runs and the run, and a second start is refused
// with 409 and the BusyError's message naming the running run.
func TestAPIRightGroupStartsAndWatches(t *testing.T) {
	h := newHandler(t, demo.NewService(time.Hour), false, nil)
	var list controlpage.EnvironmentsResponse
	decode(t, do(h, "GET", "/api/environments", "tok-operator", ""), http.StatusOK, &list)
	if list.User != "olga" || len(list.Environments) != 1 || list.Environments[0] != (controlpage.EnvironmentSummary{Name: "staging", CanControl: true}) {
		t.Fatalf("list: %+v; want olga with staging, controllable", list)
	}
	var run controlapi.Run
	decode(t, do(h, "POST", "/api/environments/staging/runs", "tok-operator", `{"action":"start"}`), http.StatusAccepted, &run)
	if run.Action != controlapi.Start || run.StartedBy != "olga" || run.Status != controlapi.RunRunning || len(run.Stages) != 3 {
		t.Fatalf("started run: %+v; want a running start by olga with 3 stages", run)
	}
	var env controlpage.EnvironmentResponse
	decode(t, do(h, "GET", "/api/environments/staging", "tok-operator", ""), http.StatusOK, &env)
	if !env.CanControl || env.Running == nil || env.Running.ID != run.ID {
		t.Errorf("environment after start: can_control %v running %+v; want true and run %s", env.CanControl, env.Running, run.ID)
	}
	var runs []controlapi.Run
	decode(t, do(h, "GET", "/api/environments/staging/runs", "tok-operator", ""), http.StatusOK, &runs)
	if len(runs) != 1 || runs[0].ID != run.ID {
		t.Errorf("runs: %+v; want the one run", runs)
	}
	var one controlapi.Run
	decode(t, do(h, "GET", "/api/environments/staging/runs/"+run.ID, "tok-operator", ""), http.StatusOK, &one)
	if one.ID != run.ID {
		t.Errorf("run: %+v", one)
	}
	rec := do(h, "POST", "/api/environments/staging/runs", "tok-operator", `{"action":"stop"}`)
	var e controlpage.ErrorResponse
	decode(t, rec, http.StatusConflict, &e)
	if !strings.Contains(e.Error, "busy") || !strings.Contains(e.Error, run.ID) || !strings.Contains(e.Error, "olga") {
		t.Errorf("busy message %q; want the BusyError's, naming run %s and olga", e.Error, run.ID)
	}
}

// TestAPIRejectsBadStartRequests: a body that is not {"action": "start"|"stop"} is 400, a body that
// is not JSON by its Content-Type is 415 (a form post, which a cross-site page could send, never
// starts anything), an unknown environment of one's group is 404.
func TestAPIRejectsBadStartRequests(t *testing.T) {
	h := newHandler(t, demo.NewService(time.Hour), false, nil)
	for _, body := range []string{`{"action":"reboot"}`, `{}`, `not json`, `{"action":"start","extra":1}`} {
		if rec := do(h, "POST", "/api/environments/staging/runs", "tok-operator", body); rec.Code != http.StatusBadRequest {
			t.Errorf("body %s: %d; want 400", body, rec.Code)
		}
	}
	req := httptest.NewRequest("POST", "/api/environments/staging/runs", strings.NewReader("action=start"))
	req.Header.Set("Authorization", "Bearer tok-operator")
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusUnsupportedMediaType {
		t.Errorf("form post: %d; want 415", rec.Code)
	}
	if rec := do(h, "GET", "/api/environments/nope", "tok-ghost", ""); rec.Code != http.StatusNotFound {
		t.Errorf("unknown environment: %d %s; want 404", rec.Code, rec.Body)
	}
}

// TestAPIJSONShapes pins the JSON field names the page's JavaScript reads.
func TestAPIJSONShapes(t *testing.T) {
	svc := demo.NewService(time.Hour)
	h := newHandler(t, svc, false, nil)
	do(h, "POST", "/api/environments/staging/runs", "tok-operator", `{"action":"start"}`)
	keys := func(path string) map[string]any {
		var m map[string]any
		decode(t, do(h, "GET", path, "tok-operator", ""), http.StatusOK, &m)
		return m
	}
	want := func(what string, m map[string]any, names ...string) {
		t.Helper()
		for _, n := range names {
			if _, ok := m[n]; !ok {
				t.Errorf("%s has no %q: %v", what, n, sortedKeys(m))
			}
		}
	}
	list := keys("/api/environments")
	want("environments list", list, "user", "environments")
	want("environment summary", list["environments"].([]any)[0].(map[string]any), "name", "can_control")
	env := keys("/api/environments/staging")
	want("environment", env, "name", "stages", "schedule", "running", "can_control")
	stage := env["stages"].([]any)[0].(map[string]any)
	want("stage", stage, "name", "wait", "targets")
	want("target", stage["targets"].([]any)[0].(map[string]any), "kind", "id", "name", "state", "last_action", "last_action_at", "last_action_by")
	want("schedule", env["schedule"].(map[string]any), "timezone", "start", "stop", "days", "next_start", "next_stop")
	run := env["running"].(map[string]any)
	want("run", run, "id", "environment", "action", "status", "started_by", "started_at", "stages")
	want("stage progress", run["stages"].([]any)[0].(map[string]any), "name", "status", "ready", "total", "message", "started")
	var runs []map[string]any
	decode(t, do(h, "GET", "/api/environments/staging/runs", "tok-operator", ""), http.StatusOK, &runs)
	want("runs[0]", runs[0], "id", "action", "status", "started_by", "started_at")
	var e map[string]any
	decode(t, do(h, "GET", "/api/environments/staging", "", ""), http.StatusUnauthorized, &e)
	want("error", e, "error")
}

// TestEverResponseSetsSecurityHeaders: the page, its assets, its configuration, the API, errors and
// unknown paths all carry the strict CSP and the other headers.
func TestEveryResponseSetsSecurityHeaders(t *testing.T) {
	h := newHandler(t, demo.NewService(time.Hour), false, nil)
	paths := []struct{ method, path, token, body string }{
		{"GET", "/", "", ""}, {"GET", "/app.js", "", ""}, {"GET", "/style.css", "", ""}, {"GET", "/config.json", "", ""},
		{"GET", "/api/environments", "tok-operator", ""}, {"GET", "/api/environments", "", ""},
		{"GET", "/api/environments/staging", "tok-nobody", ""}, {"POST", "/api/environments/staging/runs", "tok-operator", "x"},
		{"GET", "/nothing", "", ""}, {"DELETE", "/api/environments/staging", "tok-operator", ""}, {"GET", "/index.html", "", ""},
	}
	for _, p := range paths {
		rec := do(h, p.method, p.path, p.token, p.body)
		hd := rec.Header()
		csp := parseCSP(hd.Get("Content-Security-Policy"))
		if csp["default-src"] != "'self'" || csp["frame-ancestors"] != "'none'" || csp["script-src"] != "'self'" ||
			csp["object-src"] != "'none'" || csp["base-uri"] != "'none'" {
			t.Errorf("%s %s (%d): CSP %q; want default-src 'self', script-src 'self', frame-ancestors 'none', object-src and base-uri 'none'", p.method, p.path, rec.Code, hd.Get("Content-Security-Policy"))
		}
		for k, v := range map[string]string{"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
			"Strict-Transport-Security": "max-age=63072000; includeSubDomains", "X-Frame-Options": "DENY"} {
			if hd.Get(k) != v {
				t.Errorf("%s %s: %s %q; want %q", p.method, p.path, k, hd.Get(k), v)
			}
		}
		if hd.Get("Set-Cookie") != "" {
			t.Errorf("%s %s sets a cookie", p.method, p.path)
		}
		if strings.HasPrefix(p.path, "/api/") && hd.Get("Cache-Control") != "no-store" {
			t.Errorf("%s %s: Cache-Control %q; want no-store", p.method, p.path, hd.Get("Cache-Control"))
		}
	}
}

func parseCSP(s string) map[string]string {
	out := map[string]string{}
	for _, d := range strings.Split(s, ";") {
		f := strings.Fields(d)
		if len(f) > 0 {
			out[f[0]] = strings.Join(f[1:], " ")
		}
	}
	return out
}

// TestPageHasNoInlineScriptOrStyle: the CSP allows no inline script or style, so the page has none, and
// its script renders without innerHTML, eval or document.write, and loads nothing from another origin.
func TestPageHasNoInlineScriptOrStyle(t *testing.T) {
	h := newHandler(t, demo.NewService(time.Hour), false, nil)
	page := do(h, "GET", "/", "", "").Body.String()
	if m := regexp.MustCompile(`<script(?:\s[^>]*)?>`).FindAllString(page, -1); len(m) != 1 || !strings.Contains(m[0], `src="app.js"`) {
		t.Errorf("script tags %q; want exactly one, <script src=\"app.js\">", m)
	}
	for _, bad := range []string{"<style", " style=", " onclick=", " onload=", "http://", "https://", "javascript:"} {
		if strings.Contains(page, bad) {
			t.Errorf("the page contains %q", bad)
		}
	}
	js := do(h, "GET", "/app.js", "", "").Body.String()
	for _, bad := range []string{"innerHTML", "outerHTML", "eval(", "new Function", "document.write", "localStorage", "http://", "https://"} {
		if strings.Contains(js, bad) {
			t.Errorf("app.js contains %q", bad)
		}
	}
}

// TestCognitoPageConfig: the configuration the page's login reads names Cognito's endpoints as its
// developer guide gives them (/oauth2/authorize, /oauth2/token, /logout on the hosted UI's domain),
// asks for openid email profile, and the CSP lets the page's script reach the token endpoint's origin
// and nothing else beyond its own.
func TestCognitoPageConfig(t *testing.T) {
	pc, err := controlpage.CognitoPage("https://physics.auth.eu-west-1.amazoncognito.com", "client123", "https://abc.execute-api.eu-west-1.amazonaws.com/")
	if err != nil {
		t.Fatal(err)
	}
	h, err := controlpage.New(controlpage.Options{Service: demo.NewService(time.Hour), Auth: controlpage.JWTClaims, Page: pc})
	if err != nil {
		t.Fatal(err)
	}
	rec := do(h, "GET", "/config.json", "", "")
	var got map[string]any
	decode(t, rec, http.StatusOK, &got)
	want := map[string]any{
		"demo":               false,
		"client_id":          "client123",
		"authorize_endpoint": "https://physics.auth.eu-west-1.amazoncognito.com/oauth2/authorize",
		"token_endpoint":     "https://physics.auth.eu-west-1.amazoncognito.com/oauth2/token",
		"logout_endpoint":    "https://physics.auth.eu-west-1.amazoncognito.com/logout",
		"redirect_uri":       "https://abc.execute-api.eu-west-1.amazonaws.com/",
		"scope":              "openid email profile",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("config.json %s = %v; want %v", k, got[k], v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("config.json has keys %v; want exactly %v (no secret, nothing else)", sortedKeys(got), sortedKeys(want))
	}
	if c := parseCSP(rec.Header().Get("Content-Security-Policy"))["connect-src"]; c != "'self' https://physics.auth.eu-west-1.amazoncognito.com" {
		t.Errorf("connect-src %q; want 'self' and the hosted UI's origin", c)
	}
}

// TestCognitoPageRejectsBadAddresses: a hosted UI that is not https or has a path, an empty client, and
// a page address that is neither https nor http on localhost (Cognito's rule for callback URLs) are
// refused, all at once.
func TestCognitoPageRejectsBadAddresses(t *testing.T) {
	_, err := controlpage.CognitoPage("http://x.auth.eu-west-1.amazoncognito.com/login", "", "http://example.org/")
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"hosted UI domain", "client ID", "page URL"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
	if _, err := controlpage.CognitoPage("https://x.auth.eu-west-1.amazoncognito.com", "c", "http://localhost:8080/"); err != nil {
		t.Errorf("http://localhost is a valid Cognito callback: %v", err)
	}
}

type failing struct{ controlapi.Service }

func (failing) Environments(context.Context) ([]string, error) {
	return nil, errors.New("AccessDenied calling states:ListExecutions")
}

// TestLogNeverHoldsTokenOrQuery: a failing backend call is logged with the route and user, but not the
// Authorization header or the query string (which carries the OAuth code on the callback), and the
// caller gets a generic 502.
func TestLogNeverHoldsTokenOrQuery(t *testing.T) {
	var buf bytes.Buffer
	h := newHandler(t, failing{demo.NewService(time.Hour)}, false, slog.New(slog.NewTextHandler(&buf, nil)))
	rec := do(h, "GET", "/api/environments?code=secret-code-123", "tok-operator", "")
	if rec.Code != http.StatusBadGateway || strings.Contains(rec.Body.String(), "AccessDenied") {
		t.Errorf("failing backend: %d %s; want 502 without the backend's error", rec.Code, rec.Body)
	}
	log := buf.String()
	if !strings.Contains(log, "AccessDenied") || !strings.Contains(log, "olga") {
		t.Errorf("log %q; want the error and the user", log)
	}
	for _, secret := range []string{"tok-operator", "secret-code-123", "Bearer"} {
		if strings.Contains(log, secret) {
			t.Errorf("log holds %q: %s", secret, log)
		}
	}
}

func decode(t *testing.T, rec *httptest.ResponseRecorder, status int, v any) {
	t.Helper()
	if rec.Code != status {
		t.Fatalf("status %d, body %s; want %d", rec.Code, rec.Body, status)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Fatalf("Content-Type %q; want application/json; charset=utf-8", ct)
	}
	if err := json.Unmarshal(rec.Body.Bytes(), v); err != nil {
		t.Fatalf("body %s: %v", rec.Body, err)
	}
}

func sortedKeys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
