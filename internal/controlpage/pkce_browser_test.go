package controlpage_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stratolab/stratolab/internal/controlpage"
	"github.com/stratolab/stratolab/internal/controlpage/demo"
)

// fakeCognito is a hosted UI that checks what the page sends against the rules of Amazon Cognito's
// developer guide (authorization-endpoint.html and token-endpoint.html):
//   - GET /oauth2/authorize: response_type=code, client_id, redirect_uri (a callback URL of the client),
//     scope, state, code_challenge_method=S256 (the only method Cognito supports) and code_challenge;
//   - POST /oauth2/token, application/x-www-form-urlencoded: grant_type=authorization_code, client_id,
//     code, redirect_uri (the same), code_verifier with BASE64URL(SHA-256(code_verifier)) equal to the
//     challenge (RFC 7636 S256), and no Authorization header for a public client. The real endpoint
//     answers with Access-Control-Allow-Origin: *, which is what lets the page call it.
type fakeCognito struct {
	t                   *testing.T
	clientID, redirect  string
	mu                  sync.Mutex
	challenge, verifier string
	problems            []string
}

func (f *fakeCognito) fail(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.problems = append(f.problems, fmt.Sprintf(format, args...))
	f.t.Errorf(format, args...)
}

func (f *fakeCognito) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == "GET" && r.URL.Path == "/oauth2/authorize":
		q := r.URL.Query()
		for k, v := range map[string]string{"response_type": "code", "client_id": f.clientID, "redirect_uri": f.redirect,
			"scope": "openid email profile", "code_challenge_method": "S256"} {
			if q.Get(k) != v {
				f.fail("authorize: %s = %q; want %q", k, q.Get(k), v)
			}
		}
		if len(q.Get("state")) < 16 {
			f.fail("authorize: state %q is too short to be unguessable", q.Get("state"))
		}
		if c := q.Get("code_challenge"); len(c) != 43 || strings.ContainsAny(c, "+/=") {
			f.fail("authorize: code_challenge %q; want 43 base64url characters without padding (SHA-256)", c)
		}
		f.mu.Lock()
		f.challenge = q.Get("code_challenge")
		f.mu.Unlock()
		// The hosted UI would show its login form here; the user logs in and comes back with a code.
		back := f.redirect + "?" + url.Values{"code": {"code-0001"}, "state": {q.Get("state")}}.Encode()
		http.Redirect(w, r, back, http.StatusFound)
	case r.Method == "POST" && r.URL.Path == "/oauth2/token":
		w.Header().Set("Access-Control-Allow-Origin", "*")
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
			f.fail("token: Content-Type %q; want application/x-www-form-urlencoded", ct)
		}
		if r.Header.Get("Authorization") != "" {
			f.fail("token: an Authorization header from a public client")
		}
		if err := r.ParseForm(); err != nil {
			f.fail("token: %v", err)
		}
		for k, v := range map[string]string{"grant_type": "authorization_code", "client_id": f.clientID, "code": "code-0001", "redirect_uri": f.redirect} {
			if r.PostForm.Get(k) != v {
				f.fail("token: %s = %q; want %q", k, r.PostForm.Get(k), v)
			}
		}
		v := r.PostForm.Get("code_verifier")
		sum := sha256.Sum256([]byte(v))
		f.mu.Lock()
		want := f.challenge
		f.verifier = v
		f.mu.Unlock()
		if got := base64.RawURLEncoding.EncodeToString(sum[:]); got != want || len(v) < 43 || len(v) > 128 {
			f.fail("token: BASE64URL(SHA-256(code_verifier %q)) = %s; want the challenge %s (verifier of 43 to 128 characters)", v, got, want)
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(`{"error":"invalid_grant"}`))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"access_token": "at-0001", "id_token": "it-0001", "refresh_token": "rt-0001",
			"token_type": "Bearer", "expires_in": 3600})
	default:
		http.NotFound(w, r)
	}
}

// TestBrowserCognitoLoginWithPKCE runs the page's real login in Chromium against a fake hosted UI:
// the page sends the authorization request, exchanges the code with its verifier, removes the code
// from the address bar, keeps the token out of storage and sends it only in the Authorization header.
func TestBrowserCognitoLoginWithPKCE(t *testing.T) {
	ctx := browser(t, 420, 900) // a phone's width
	cognito := &fakeCognito{t: t, clientID: "client123"}
	idp := httptest.NewServer(cognito)
	defer idp.Close()

	var mu sync.Mutex
	var authHeaders []string
	auth := controlpage.AuthenticatorFunc(func(r *http.Request) (controlpage.Identity, bool) {
		mu.Lock()
		authHeaders = append(authHeaders, r.Header.Get("Authorization"))
		mu.Unlock()
		if r.Header.Get("Authorization") == "Bearer at-0001" {
			return controlpage.Identity{User: "olga", Groups: []string{"control-staging"}}, true
		}
		return controlpage.Identity{}, false
	})
	page := httptest.NewUnstartedServer(nil)
	page.Start()
	defer page.Close()
	cognito.redirect = page.URL + "/"
	h, err := controlpage.New(controlpage.Options{Service: demo.NewService(time.Hour), Auth: auth, Page: controlpage.PageConfig{
		ClientID: "client123", AuthorizeEndpoint: idp.URL + "/oauth2/authorize", TokenEndpoint: idp.URL + "/oauth2/token",
		LogoutEndpoint: idp.URL + "/logout", RedirectURI: page.URL + "/", Scope: controlpage.Scopes,
	}})
	if err != nil {
		t.Fatal(err)
	}
	page.Config.Handler = h

	var href, storage string
	var shot []byte
	if err := chromedp.Run(ctx,
		chromedp.Navigate(page.URL+"/"),
		chromedp.WaitVisible("#login-button", chromedp.ByID),
		chromedp.Click("#login-button", chromedp.ByID),
		chromedp.WaitVisible("#env-staging .stage", chromedp.ByQuery),
		chromedp.Location(&href),
		chromedp.Evaluate(`JSON.stringify([Object.entries(sessionStorage), Object.entries(localStorage), document.cookie])`, &storage),
		chromedp.FullScreenshot(&shot, 100),
	); err != nil {
		t.Fatalf("login: %v (fake Cognito problems: %v)", err, cognito.problems)
	}
	saveScreenshot(t, "control-page-phone.png", shot)
	if href != page.URL+"/" {
		t.Errorf("after login the address is %s; want %s/ (code and state removed)", href, page.URL)
	}
	if storage != `[[],[],""]` {
		t.Errorf("after login storage and cookies hold %s; want nothing (token in memory only, verifier removed)", storage)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(authHeaders) == 0 {
		t.Fatal("the page called no API")
	}
	for _, a := range authHeaders {
		if a != "Bearer at-0001" {
			t.Errorf("an API call carried Authorization %q; want the access token", a)
		}
	}
}
