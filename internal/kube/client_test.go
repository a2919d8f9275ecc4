package kube

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

const testToken = "k8s-aws-v1.test"

// request is one call the fake API server saw.
type request struct {
	Method, Path, Query string
	Body                []byte
}

// fakeAPI is an in-memory Kubernetes API over TLS for the paths Client calls: objects are kept
// as JSON by item path; lists are served two items a page to exercise continue tokens.
type fakeAPI struct {
	t    *testing.T
	srv  *httptest.Server
	mu   sync.Mutex
	objs map[string][]byte // item path -> object JSON
	reqs []request
	// fail, when set, answers every request with this status and a Status body carrying message.
	failStatus  int
	failMessage string
}

func newFakeAPI(t *testing.T) *fakeAPI {
	f := &fakeAPI{t: t, objs: map[string][]byte{}}
	f.srv = httptest.NewTLSServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// client returns a Client built by New that trusts only the fake server's certificate.
func (f *fakeAPI) client(t *testing.T) *Client {
	t.Helper()
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: f.srv.Certificate().Raw})
	c, err := New(f.srv.URL, ca, func(context.Context) (string, error) { return testToken, nil })
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (f *fakeAPI) put(path string, labels map[string]string) {
	name := path[strings.LastIndex(path, "/")+1:]
	b, _ := json.Marshal(map[string]any{"metadata": map[string]any{"name": name, "labels": labels}})
	f.objs[path] = b
}

func status(w http.ResponseWriter, code int, reason, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	fmt.Fprintf(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":%q,"message":%q,"code":%d}`, reason, msg, code)
}

func (f *fakeAPI) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	body, _ := io.ReadAll(r.Body)
	f.reqs = append(f.reqs, request{r.Method, r.URL.Path, r.URL.RawQuery, body})
	if r.Header.Get("Authorization") != "Bearer "+testToken {
		status(w, 401, "Unauthorized", "Unauthorized")
		return
	}
	if f.failStatus != 0 {
		status(w, f.failStatus, "Invalid", f.failMessage)
		return
	}
	path := r.URL.Path
	// A collection path ends in a plural after /namespaces/<ns>/; an item path has one more element.
	parts := strings.Split(strings.TrimPrefix(path, "/"), "/")
	nsAt := -1
	for i, p := range parts {
		if p == "namespaces" {
			nsAt = i
		}
	}
	if nsAt < 0 {
		status(w, 404, "NotFound", "no such path")
		return
	}
	isItem := len(parts) == nsAt+4
	switch {
	case r.Method == http.MethodGet && isItem:
		obj, ok := f.objs[path]
		if !ok {
			status(w, 404, "NotFound", parts[len(parts)-1]+" not found")
			return
		}
		w.Write(obj)
	case r.Method == http.MethodGet:
		f.list(w, path, r.URL.Query().Get("labelSelector"), r.URL.Query().Get("continue"))
	case r.Method == http.MethodPost:
		var o struct {
			Metadata ObjectMeta `json:"metadata"`
		}
		json.Unmarshal(body, &o)
		item := path + "/" + o.Metadata.Name
		if _, ok := f.objs[item]; ok {
			status(w, 409, "AlreadyExists", o.Metadata.Name+" already exists")
			return
		}
		f.objs[item] = body
		w.WriteHeader(201)
		w.Write(body)
	case r.Method == http.MethodPut:
		if _, ok := f.objs[path]; !ok {
			status(w, 404, "NotFound", "not found")
			return
		}
		f.objs[path] = body
		w.Write(body)
	case r.Method == http.MethodDelete && isItem:
		if _, ok := f.objs[path]; !ok {
			status(w, 404, "NotFound", "not found")
			return
		}
		delete(f.objs, path)
		w.Write([]byte(`{"kind":"Status","status":"Success"}`))
	case r.Method == http.MethodDelete:
		for _, p := range f.matching(path, r.URL.Query().Get("labelSelector")) {
			delete(f.objs, p)
		}
		w.Write([]byte(`{"kind":"List","items":[]}`))
	default:
		status(w, 405, "MethodNotAllowed", "method not allowed")
	}
}

// matching returns the item paths directly under collection whose labels match selector (k=v[,k=v]).
func (f *fakeAPI) matching(collection, selector string) []string {
	var out []string
	for p, obj := range f.objs {
		if !strings.HasPrefix(p, collection+"/") || strings.Contains(p[len(collection)+1:], "/") {
			continue
		}
		var o struct {
			Metadata ObjectMeta `json:"metadata"`
		}
		json.Unmarshal(obj, &o)
		ok := true
		for _, term := range strings.Split(selector, ",") {
			if k, v, found := strings.Cut(term, "="); found && o.Metadata.Labels[k] != v {
				ok = false
			}
		}
		if ok {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

func (f *fakeAPI) list(w http.ResponseWriter, collection, selector, cont string) {
	paths := f.matching(collection, selector)
	start := 0
	if cont != "" {
		fmt.Sscanf(cont, "page-%d", &start)
	}
	end := min(start+2, len(paths))
	var items []json.RawMessage
	for _, p := range paths[start:end] {
		items = append(items, f.objs[p])
	}
	next := ""
	if end < len(paths) {
		next = fmt.Sprintf("page-%d", end)
	}
	json.NewEncoder(w).Encode(map[string]any{"kind": "List", "metadata": map[string]any{"continue": next}, "items": items})
}

func (f *fakeAPI) requests() []request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]request(nil), f.reqs...)
}

func testSecret() *Secret {
	return &Secret{
		Metadata: ObjectMeta{Name: "hub-oauth", Namespace: "jhub", Labels: map[string]string{"app.kubernetes.io/managed-by": "stratolab"}},
		Data:     map[string][]byte{"client-secret": []byte("s3cr3t-value")},
	}
}

func TestNewRejectsBadEndpointAndCA(t *testing.T) {
	f := newFakeAPI(t)
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: f.srv.Certificate().Raw})
	tok := func(context.Context) (string, error) { return "", nil }
	if _, err := New("http://insecure.example", ca, tok); err == nil || !strings.Contains(err.Error(), "https://") {
		t.Errorf("http endpoint: err = %v, want one asking for https", err)
	}
	if _, err := New(f.srv.URL, []byte(base64.StdEncoding.EncodeToString(ca)), tok); err == nil || !strings.Contains(err.Error(), "base64") {
		t.Errorf("base64 CA: err = %v, want one saying to decode it", err)
	}
}

func TestClientTrustsOnlyItsCA(t *testing.T) {
	f := newFakeAPI(t)
	c, err := New(f.srv.URL, selfSignedCA(t), func(context.Context) (string, error) { return testToken, nil })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Get(context.Background(), Secrets, "jhub", "x"); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("Get with a CA that did not sign the server's certificate: err = %v, want a certificate error", err)
	}
	if len(f.requests()) != 0 {
		t.Errorf("the request reached an untrusted server")
	}
}

// selfSignedCA returns a fresh CA certificate, in PEM, that signed nothing the tests serve.
func selfSignedCA(t *testing.T) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "stratolab-test-ca"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func TestApplySecretCreates(t *testing.T) {
	f := newFakeAPI(t)
	if err := f.client(t).ApplySecret(context.Background(), testSecret()); err != nil {
		t.Fatal(err)
	}
	reqs := f.requests()
	if len(reqs) != 1 || reqs[0].Method != "POST" || reqs[0].Path != "/api/v1/namespaces/jhub/secrets" {
		t.Fatalf("requests = %+v, want one POST to the namespace's secrets", reqs)
	}
	var got map[string]any
	json.Unmarshal(reqs[0].Body, &got)
	want := map[string]any{
		"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
		"metadata": map[string]any{"name": "hub-oauth", "namespace": "jhub", "labels": map[string]any{"app.kubernetes.io/managed-by": "stratolab"}},
		"data":     map[string]any{"client-secret": base64.StdEncoding.EncodeToString([]byte("s3cr3t-value"))},
	}
	if g, w := mustJSON(got), mustJSON(want); g != w {
		t.Errorf("secret body\n got %s\nwant %s", g, w)
	}
}

func TestApplySecretReplacesOnConflict(t *testing.T) {
	f := newFakeAPI(t)
	f.put("/api/v1/namespaces/jhub/secrets/hub-oauth", map[string]string{"stale": "label"})
	if err := f.client(t).ApplySecret(context.Background(), testSecret()); err != nil {
		t.Fatal(err)
	}
	reqs := f.requests()
	if len(reqs) != 2 || reqs[0].Method != "POST" || reqs[1].Method != "PUT" || reqs[1].Path != "/api/v1/namespaces/jhub/secrets/hub-oauth" {
		t.Fatalf("requests = %+v, want POST (409) then PUT of the item", reqs)
	}
	if string(reqs[1].Body) != string(reqs[0].Body) {
		t.Errorf("PUT body differs from the POST body: the replace must send the whole secret")
	}
	if strings.Contains(string(f.objs["/api/v1/namespaces/jhub/secrets/hub-oauth"]), "stale") {
		t.Errorf("replaced secret kept the old labels")
	}
}

func TestApplySecretErrorCarriesStatusButNotTheValue(t *testing.T) {
	f := newFakeAPI(t)
	v := "s3cr3t-value"
	f.failStatus = 422
	f.failMessage = fmt.Sprintf("Secret is invalid: data[client-secret]: %q / %s", v, base64.StdEncoding.EncodeToString([]byte(v)))
	err := f.client(t).ApplySecret(context.Background(), testSecret())
	if err == nil {
		t.Fatal("ApplySecret against a failing API succeeded")
	}
	msg := err.Error()
	if strings.Contains(msg, v) || strings.Contains(msg, base64.StdEncoding.EncodeToString([]byte(v))) {
		t.Errorf("error %q carries the secret value", msg)
	}
	for _, want := range []string{"POST", "/api/v1/namespaces/jhub/secrets", "422", "Invalid", "Secret is invalid", "[redacted]"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
}

func TestGetFoundAndNotFound(t *testing.T) {
	f := newFakeAPI(t)
	f.put("/apis/networking.k8s.io/v1/namespaces/jhub/ingresses/jupyterhub", nil)
	c := f.client(t)
	if ok, err := c.Get(context.Background(), Ingresses, "jhub", "jupyterhub"); !ok || err != nil {
		t.Errorf("Get existing ingress = %v, %v; want true, nil", ok, err)
	}
	if ok, err := c.Get(context.Background(), Ingresses, "jhub", "other"); ok || err != nil {
		t.Errorf("Get missing ingress = %v, %v; want false, nil", ok, err)
	}
}

func TestListFollowsContinueAndSelector(t *testing.T) {
	f := newFakeAPI(t)
	for _, n := range []string{"jupyter-a", "jupyter-b", "jupyter-c"} {
		f.put("/api/v1/namespaces/jhub/pods/"+n, map[string]string{"component": "singleuser-server"})
	}
	f.put("/api/v1/namespaces/jhub/pods/hub-0", map[string]string{"component": "hub"})
	names, err := f.client(t).List(context.Background(), Pods, "jhub", "component=singleuser-server")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(names, ","); got != "jupyter-a,jupyter-b,jupyter-c" {
		t.Errorf("List = %s, want the three user pods over two pages", got)
	}
	reqs := f.requests()
	if len(reqs) != 2 || !strings.Contains(reqs[1].Query, "continue=page-2") || !strings.Contains(reqs[0].Query, "labelSelector=component%3Dsingleuser-server") {
		t.Errorf("requests = %+v, want two pages with the label selector", reqs)
	}
}

func TestDeleteIsBackgroundAndMissingIsNoError(t *testing.T) {
	f := newFakeAPI(t)
	f.put("/api/v1/namespaces/jhub/persistentvolumeclaims/claim-a", nil)
	c := f.client(t)
	if err := c.Delete(context.Background(), PersistentVolumeClaims, "jhub", "claim-a"); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(context.Background(), PersistentVolumeClaims, "jhub", "claim-a"); err != nil {
		t.Errorf("Delete of a gone object: %v, want nil", err)
	}
	r := f.requests()[0]
	if r.Method != "DELETE" || r.Path != "/api/v1/namespaces/jhub/persistentvolumeclaims/claim-a" || !strings.Contains(string(r.Body), `"propagationPolicy":"Background"`) {
		t.Errorf("request = %+v, want DELETE of the item with propagationPolicy Background", r)
	}
}

func TestDeleteCollectionBySelector(t *testing.T) {
	f := newFakeAPI(t)
	f.put("/api/v1/namespaces/jhub/pods/jupyter-a", map[string]string{"component": "singleuser-server"})
	f.put("/api/v1/namespaces/jhub/pods/hub-0", map[string]string{"component": "hub"})
	if err := f.client(t).DeleteCollection(context.Background(), Pods, "jhub", "component=singleuser-server"); err != nil {
		t.Fatal(err)
	}
	if _, ok := f.objs["/api/v1/namespaces/jhub/pods/jupyter-a"]; ok {
		t.Error("user pod survived DeleteCollection")
	}
	if _, ok := f.objs["/api/v1/namespaces/jhub/pods/hub-0"]; !ok {
		t.Error("DeleteCollection deleted a pod outside the selector")
	}
	if r := f.requests()[0]; !strings.Contains(string(r.Body), "Background") || r.Query != "labelSelector=component%3Dsingleuser-server" {
		t.Errorf("request = %+v, want the selector and propagationPolicy Background", r)
	}
}

func TestErrorsCarryStatusAndReason(t *testing.T) {
	f := newFakeAPI(t)
	c := f.client(t)
	c.Token = func(context.Context) (string, error) { return "wrong", nil }
	_, err := c.Get(context.Background(), Ingresses, "jhub", "jupyterhub")
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != 401 || ae.Reason != "Unauthorized" {
		t.Fatalf("err = %v, want an APIError 401 Unauthorized", err)
	}
	if IsNotFound(err) || IsConflict(err) {
		t.Errorf("401 reported as not-found or conflict")
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
