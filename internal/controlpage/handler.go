// Package controlpage serves the control page: one HTML page with its CSS and JavaScript (embedded,
// no build step, no third-party script) and a small JSON API over a controlapi.Service, from which
// testers see their environments, start and stop them, and watch the runs.
//
// # Who may do what
//
// A caller is identified by an Authenticator: behind API Gateway, from the claims of the token the
// HTTP API's JWT authorizer verified (JWTClaims); in demo mode, from a fake login. A member of the
// Cognito group control-<env> sees environment <env> and may start and stop it. With
// Options.WatchAll, any logged-in user sees every environment but gets no buttons (the API refuses
// their start and stop with 403). Anyone else sees nothing of it.
//
// # Tokens, cookies and CSRF
//
// The page sends its access token in the Authorization header (Bearer) of each API call, from
// JavaScript; the API sets and reads no cookie. A cross-site request forgery needs a credential that
// the browser attaches by itself to a request another site makes (a cookie, HTTP auth); a header that
// only our own script can add is not one, so a forged request arrives without a token and gets 401.
// No token is ever put in a URL (the authorization code arrives in the callback's query, as OAuth
// prescribes, and the page removes it from the address bar at once) and nothing logs a token, a
// header or a query string.
//
// # Headers
//
// Every response, the page, its assets, the API and the errors, carries a strict
// Content-Security-Policy (only this origin's script and style, no inline script, no framing),
// X-Content-Type-Options: nosniff, Referrer-Policy: no-referrer and Strict-Transport-Security.
package controlpage

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/stratolab/stratolab/internal/controlapi"
)

//go:embed static
var staticFS embed.FS

// GroupPrefix names the group that may start and stop an environment: control-<env>.
const GroupPrefix = "control-"

// Group returns the name of the Cognito group that may start and stop env.
func Group(env string) string { return GroupPrefix + env }

// DefaultRunsLimit is how many of an environment's latest runs the page lists.
const DefaultRunsLimit = 10

// Options configure the handler.
type Options struct {
	// Service is the control module. Required.
	Service controlapi.Service
	// Auth identifies callers. Required: JWTClaims behind API Gateway, demo.Login in demo mode.
	Auth Authenticator
	// Page is what the page's JavaScript needs to log in, served at /config.json.
	Page PageConfig
	// WatchAll lets any logged-in user see every environment, without buttons.
	// Default: - false: only members of control-<env> see <env>
	WatchAll bool
	// RunsLimit is how many runs /api/environments/{env}/runs returns.
	// Default: - DefaultRunsLimit
	RunsLimit int
	// Log receives one line per failed backend call: method, route pattern, status, user, error. Never a
	// token, a header or a query string.
	// Default: - discarded
	Log *slog.Logger
	// Extra routes (the demo's fake login), served with the same headers.
	// Default: - none
	Extra map[string]http.Handler
}

// PageConfig is the page's login configuration, served as JSON at /config.json.
//
// For Cognito (Demo false) the page runs the authorization code grant with PKCE as a public client
// (no secret), as Amazon Cognito's developer guide describes its endpoints
// (https://docs.aws.amazon.com/cognito/latest/developerguide/authorization-endpoint.html,
// token-endpoint.html and logout-endpoint.html):
//   - GET <domain>/oauth2/authorize with response_type=code, client_id, redirect_uri, scope, state,
//     code_challenge_method=S256 (the only method Cognito supports) and code_challenge =
//     BASE64URL(SHA-256(code_verifier)) without padding;
//   - POST <domain>/oauth2/token, Content-Type application/x-www-form-urlencoded, with
//     grant_type=authorization_code, client_id, code, redirect_uri (the same as above) and
//     code_verifier; no Authorization header, because the client has no secret. The token endpoint
//     answers with Access-Control-Allow-Origin: *, so the page can call it from its own origin;
//   - GET <domain>/logout with client_id and logout_uri (one of the client's sign-out URLs).
type PageConfig struct {
	// Demo selects the fake login of demo mode instead of Cognito.
	Demo bool `json:"demo"`
	// DemoUsers are the users the demo's login offers.
	DemoUsers []DemoUser `json:"demo_users,omitempty"`
	// ClientID is the user pool client of the page (public: no secret).
	ClientID string `json:"client_id,omitempty"`
	// AuthorizeEndpoint is https://<domain>/oauth2/authorize.
	AuthorizeEndpoint string `json:"authorize_endpoint,omitempty"`
	// TokenEndpoint is https://<domain>/oauth2/token.
	TokenEndpoint string `json:"token_endpoint,omitempty"`
	// LogoutEndpoint is https://<domain>/logout.
	LogoutEndpoint string `json:"logout_endpoint,omitempty"`
	// RedirectURI is the page's address, registered as the client's callback and sign-out URL.
	RedirectURI string `json:"redirect_uri,omitempty"`
	// Scope is the space-separated scopes the page asks for: "openid email profile".
	Scope string `json:"scope,omitempty"`
}

// DemoUser is a user of the demo's fake login.
type DemoUser struct {
	Name        string `json:"name"`
	Description string `json:"description"`
}

// Scopes are the OAuth scopes the page asks for; the API's routes require openid, which only access
// tokens carry in their scope claim (API Gateway's advice to tell access tokens from ID tokens).
const Scopes = "openid email profile"

// CognitoPage returns the page configuration for a Cognito hosted UI at domainURL
// (https://<prefix>.auth.<region>.amazoncognito.com, or a custom domain), the page's public client
// and the page's address.
func CognitoPage(domainURL, clientID, pageURL string) (PageConfig, error) {
	var problems []string
	d, err := url.Parse(domainURL)
	if err != nil || d.Scheme != "https" || d.Host == "" || (d.Path != "" && d.Path != "/") || d.RawQuery != "" {
		problems = append(problems, fmt.Sprintf("hosted UI domain %q: want https://<host> without a path", domainURL))
	}
	if clientID == "" {
		problems = append(problems, "client ID: empty")
	}
	p, err := url.Parse(pageURL)
	if err != nil || p.Host == "" || (p.Scheme != "https" && !(p.Scheme == "http" && isLoopback(p.Hostname()))) {
		problems = append(problems, fmt.Sprintf("page URL %q: want https://<host>/ (Cognito allows http only for localhost)", pageURL))
	}
	if len(problems) > 0 {
		return PageConfig{}, errors.New("controlpage: " + strings.Join(problems, "; "))
	}
	base := strings.TrimSuffix(domainURL, "/")
	return PageConfig{
		ClientID:          clientID,
		AuthorizeEndpoint: base + "/oauth2/authorize",
		TokenEndpoint:     base + "/oauth2/token",
		LogoutEndpoint:    base + "/logout",
		RedirectURI:       pageURL,
		Scope:             Scopes,
	}, nil
}

func isLoopback(host string) bool { return host == "localhost" || host == "127.0.0.1" || host == "::1" }

// handler is the page and its API.
type handler struct {
	o   Options
	mux *http.ServeMux
	csp string
}

// New returns the page's handler.
func New(o Options) (http.Handler, error) {
	if o.Service == nil || o.Auth == nil {
		return nil, errors.New("controlpage: Options.Service and Options.Auth are required")
	}
	if o.RunsLimit <= 0 {
		o.RunsLimit = DefaultRunsLimit
	}
	if o.Log == nil {
		o.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	csp, err := contentSecurityPolicy(o.Page)
	if err != nil {
		return nil, err
	}
	h := &handler{o: o, mux: http.NewServeMux(), csp: csp}
	static, _ := fs.Sub(staticFS, "static")
	files := http.FileServerFS(static)
	h.mux.Handle("GET /{$}", files)
	h.mux.Handle("GET /app.js", files)
	h.mux.Handle("GET /style.css", files)
	h.mux.HandleFunc("GET /config.json", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, http.StatusOK, o.Page) })
	h.mux.HandleFunc("GET /api/environments", h.auth(h.listEnvironments))
	h.mux.HandleFunc("GET /api/environments/{env}", h.auth(h.environment))
	h.mux.HandleFunc("GET /api/environments/{env}/runs", h.auth(h.runs))
	h.mux.HandleFunc("POST /api/environments/{env}/runs", h.auth(h.startRun))
	h.mux.HandleFunc("GET /api/environments/{env}/runs/{id}", h.auth(h.run))
	for pattern, extra := range o.Extra {
		h.mux.Handle(pattern, extra)
	}
	h.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such page or API route")
	})
	return h, nil
}

// contentSecurityPolicy allows script, style, images and fetches from this origin only, plus fetches
// to the token endpoint's origin. No inline script or style, no eval, no plugins, no framing, no
// <base>, forms post only here.
func contentSecurityPolicy(p PageConfig) (string, error) {
	connect := "'self'"
	if p.TokenEndpoint != "" {
		u, err := url.Parse(p.TokenEndpoint)
		if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
			return "", fmt.Errorf("controlpage: token endpoint %q: want an https URL", p.TokenEndpoint)
		}
		connect += " " + u.Scheme + "://" + u.Host
	}
	return "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src " + connect +
		"; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'", nil
}

// ServeHTTP sets the security headers on every response, then routes.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", h.csp)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Cross-Origin-Opener-Policy", "same-origin")
	if strings.HasPrefix(r.URL.Path, "/api/") || r.URL.Path == "/config.json" {
		hd.Set("Cache-Control", "no-store")
	} else {
		hd.Set("Cache-Control", "no-cache")
	}
	h.mux.ServeHTTP(w, r)
}

type authedFunc func(w http.ResponseWriter, r *http.Request, id Identity)

// auth refuses a request without an identity (401).
func (h *handler) auth(next authedFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, ok := h.o.Auth.Identify(r)
		if !ok || id.User == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="control"`)
			writeError(w, http.StatusUnauthorized, "log in first: this API needs a valid access token in the Authorization header")
			return
		}
		next(w, r, id)
	}
}

// access is what a caller may do with an environment.
type access int

const (
	noAccess access = iota
	watch
	control
)

func (h *handler) access(id Identity, env string) access {
	switch {
	case id.InGroup(Group(env)):
		return control
	case h.o.WatchAll:
		return watch
	}
	return noAccess
}

// EnvironmentSummary is an entry of GET /api/environments.
type EnvironmentSummary struct {
	Name string `json:"name"`
	// CanControl is true when the caller may start and stop the environment.
	CanControl bool `json:"can_control"`
}

// EnvironmentsResponse is GET /api/environments.
type EnvironmentsResponse struct {
	User         string               `json:"user"`
	Environments []EnvironmentSummary `json:"environments"`
}

// EnvironmentResponse is GET /api/environments/{env}: the environment and what the caller may do.
type EnvironmentResponse struct {
	controlapi.Environment
	CanControl bool `json:"can_control"`
}

// StartRequest is the body of POST /api/environments/{env}/runs.
type StartRequest struct {
	Action controlapi.Action `json:"action"`
}

// ErrorResponse is the body of every error.
type ErrorResponse struct {
	Error string `json:"error"`
}

func (h *handler) listEnvironments(w http.ResponseWriter, r *http.Request, id Identity) {
	names, err := h.o.Service.Environments(r.Context())
	if err != nil {
		h.fail(w, r, id, err)
		return
	}
	out := EnvironmentsResponse{User: id.User, Environments: []EnvironmentSummary{}}
	for _, n := range names {
		if a := h.access(id, n); a != noAccess {
			out.Environments = append(out.Environments, EnvironmentSummary{Name: n, CanControl: a == control})
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// allowed checks the caller's access to the path's environment, answering 403 when it has less than
// want. Whether an environment exists is told only to those who may see it.
func (h *handler) allowed(w http.ResponseWriter, r *http.Request, id Identity, want access) (string, access, bool) {
	env := r.PathValue("env")
	a := h.access(id, env)
	if a < want {
		msg := fmt.Sprintf("%s may not see environment %s: ask an administrator to add you to the Cognito group %s", id.User, env, Group(env))
		if a == watch {
			msg = fmt.Sprintf("%s may watch environment %s but not start or stop it: that needs the Cognito group %s", id.User, env, Group(env))
		}
		writeError(w, http.StatusForbidden, msg)
		return "", a, false
	}
	return env, a, true
}

func (h *handler) environment(w http.ResponseWriter, r *http.Request, id Identity) {
	env, a, ok := h.allowed(w, r, id, watch)
	if !ok {
		return
	}
	e, err := h.o.Service.Environment(r.Context(), env)
	if err != nil {
		h.fail(w, r, id, err)
		return
	}
	if e.Stages == nil {
		e.Stages = []controlapi.Stage{}
	}
	writeJSON(w, http.StatusOK, EnvironmentResponse{Environment: e, CanControl: a == control})
}

func (h *handler) runs(w http.ResponseWriter, r *http.Request, id Identity) {
	env, _, ok := h.allowed(w, r, id, watch)
	if !ok {
		return
	}
	runs, err := h.o.Service.Runs(r.Context(), env, h.o.RunsLimit)
	if err != nil {
		h.fail(w, r, id, err)
		return
	}
	if runs == nil {
		runs = []controlapi.Run{}
	}
	writeJSON(w, http.StatusOK, runs)
}

func (h *handler) run(w http.ResponseWriter, r *http.Request, id Identity) {
	env, _, ok := h.allowed(w, r, id, watch)
	if !ok {
		return
	}
	run, err := h.o.Service.Run(r.Context(), env, r.PathValue("id"))
	if err != nil {
		h.fail(w, r, id, err)
		return
	}
	writeJSON(w, http.StatusOK, run)
}

// maxBody bounds a start request's body.
const maxBody = 1 << 10

func (h *handler) startRun(w http.ResponseWriter, r *http.Request, id Identity) {
	env, _, ok := h.allowed(w, r, id, control)
	if !ok {
		return
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		writeError(w, http.StatusUnsupportedMediaType, "send the body as application/json: {\"action\": \"start\" or \"stop\"}")
		return
	}
	var req StartRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil || !req.Action.Valid() {
		writeError(w, http.StatusBadRequest, "want a body {\"action\": \"start\"} or {\"action\": \"stop\"}")
		return
	}
	run, err := h.o.Service.StartRun(r.Context(), env, req.Action, id.User)
	if err != nil {
		h.fail(w, r, id, err)
		return
	}
	writeJSON(w, http.StatusAccepted, run)
}

// fail maps a backend error to a status: a busy environment is 409 with the BusyError's message
// (naming the running run), an unknown one 404, a cancelled request 503; anything else is 502 with a
// generic message, and the error goes to the log.
func (h *handler) fail(w http.ResponseWriter, r *http.Request, id Identity, err error) {
	var busy *controlapi.BusyError
	switch {
	case errors.As(err, &busy):
		writeError(w, http.StatusConflict, busy.Error())
		return
	case errors.Is(err, controlapi.ErrUnknownEnvironment):
		writeError(w, http.StatusNotFound, err.Error())
		return
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		writeError(w, http.StatusServiceUnavailable, "the request was cancelled or timed out; try again")
	default:
		writeError(w, http.StatusBadGateway, "the control service failed; the error is in the page's log")
	}
	h.o.Log.Error("control service call failed", "method", r.Method, "route", r.Pattern, "user", id.User, "error", err.Error())
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status, body = http.StatusInternalServerError, []byte(`{"error":"cannot encode the response"}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	w.Write(append(body, '\n'))
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, ErrorResponse{Error: msg})
}
