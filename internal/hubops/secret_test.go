package hubops

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/stratolab/stratolab/internal/kube"
)

const clientSecret = "c0gn1to-cl1ent-s3cret"

func secretProps() Props {
	return Props{ClusterName: "hub-cluster", Namespace: "jhub", UserPoolID: "us-west-2_Pool", ClientID: "client123",
		SecretName: "hub-oauth", SecretKey: "client-secret"}
}

func TestSyncClientSecretWritesTheSecret(t *testing.T) {
	cog := &fakeCognito{secret: clientSecret}
	k := &fakeKube{}
	var l logs
	if err := SyncClientSecret(context.Background(), Deps{Cognito: cog, Kube: k, Logf: l.logf}, secretProps()); err != nil {
		t.Fatal(err)
	}
	if aws.ToString(cog.in.UserPoolId) != "us-west-2_Pool" || aws.ToString(cog.in.ClientId) != "client123" {
		t.Errorf("DescribeUserPoolClient input = %+v, want the pool and client of the props", cog.in)
	}
	if len(k.secrets) != 1 {
		t.Fatalf("ApplySecret called %d times, want once", len(k.secrets))
	}
	s := k.secrets[0]
	if s.Metadata.Name != "hub-oauth" || s.Metadata.Namespace != "jhub" || s.Type != "Opaque" {
		t.Errorf("secret = %s/%s type %q, want jhub/hub-oauth Opaque", s.Metadata.Namespace, s.Metadata.Name, s.Type)
	}
	if got := s.Metadata.Labels["app.kubernetes.io/managed-by"]; got != "stratolab" || len(s.Metadata.Labels) != 1 {
		t.Errorf("labels = %v, want only app.kubernetes.io/managed-by=stratolab", s.Metadata.Labels)
	}
	if len(s.Data) != 1 || string(s.Data["client-secret"]) != clientSecret {
		t.Errorf("data keys = %d, client-secret set: %v; want exactly the client secret under client-secret", len(s.Data), string(s.Data["client-secret"]) == clientSecret)
	}
	if strings.Contains(l.String(), clientSecret) {
		t.Errorf("a progress line carries the secret")
	}
}

func TestSyncClientSecretErrorNeverCarriesTheSecret(t *testing.T) {
	b64 := base64.StdEncoding.EncodeToString([]byte(clientSecret))
	k := &fakeKube{applyErr: fmt.Errorf("kube: POST /api/v1/namespaces/jhub/secrets: 422 Invalid: data %q (%s) is invalid", clientSecret, b64)}
	var l logs
	err := SyncClientSecret(context.Background(), Deps{Cognito: &fakeCognito{secret: clientSecret}, Kube: k, Logf: l.logf}, secretProps())
	if err == nil {
		t.Fatal("SyncClientSecret with a failing API succeeded")
	}
	if strings.Contains(err.Error(), clientSecret) || strings.Contains(err.Error(), b64) {
		t.Errorf("error %q carries the secret", err)
	}
	if !strings.Contains(err.Error(), "422 Invalid") || !strings.Contains(err.Error(), "jhub/hub-oauth") {
		t.Errorf("error %q lost the API's status or the secret's name", err)
	}
	if strings.Contains(l.String(), clientSecret) {
		t.Errorf("a progress line carries the secret")
	}
}

func TestSyncClientSecretRejectsClientWithoutSecret(t *testing.T) {
	k := &fakeKube{}
	err := SyncClientSecret(context.Background(), Deps{Cognito: &fakeCognito{}, Kube: k}, secretProps())
	if err == nil || !strings.Contains(err.Error(), "no client secret") {
		t.Fatalf("err = %v, want one saying the client has no secret", err)
	}
	if len(k.calls) != 0 {
		t.Errorf("Kubernetes was called: %v", k.calls)
	}
}

func TestSyncClientSecretReportsCognitoError(t *testing.T) {
	err := SyncClientSecret(context.Background(), Deps{Cognito: &fakeCognito{err: errors.New("AccessDeniedException")}, Kube: &fakeKube{}}, secretProps())
	if err == nil || !strings.Contains(err.Error(), "client123") || !strings.Contains(err.Error(), "AccessDeniedException") {
		t.Fatalf("err = %v, want the client ID and Cognito's error", err)
	}
}

// TestSyncClientSecretOverTheAPIReplacesOnConflict runs SyncClientSecret through a real kube.Client
// against a TLS fake of the Kubernetes API: the first sync creates the Secret, the second meets a
// 409 and replaces it, and each request carries the bearer token.
func TestSyncClientSecretOverTheAPIReplacesOnConflict(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	stored := map[string][]byte{}
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		body, _ := io.ReadAll(r.Body)
		seen = append(seen, r.Method+" "+r.URL.Path)
		if r.Header.Get("Authorization") != "Bearer k8s-aws-v1.t" {
			w.WriteHeader(401)
			return
		}
		const coll = "/api/v1/namespaces/jhub/secrets"
		switch {
		case r.Method == "POST" && r.URL.Path == coll:
			if _, ok := stored[coll+"/hub-oauth"]; ok {
				w.WriteHeader(409)
				io.WriteString(w, `{"kind":"Status","reason":"AlreadyExists","message":"secrets \"hub-oauth\" already exists","code":409}`)
				return
			}
			stored[coll+"/hub-oauth"] = body
			w.WriteHeader(201)
		case r.Method == "PUT" && r.URL.Path == coll+"/hub-oauth":
			stored[r.URL.Path] = body
		default:
			w.WriteHeader(404)
		}
	}))
	defer srv.Close()
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	kc, err := kube.New(srv.URL, ca, func(context.Context) (string, error) { return "k8s-aws-v1.t", nil })
	if err != nil {
		t.Fatal(err)
	}
	d := Deps{Cognito: &fakeCognito{secret: clientSecret}, Kube: kc}
	for range 2 {
		if err := SyncClientSecret(context.Background(), d, secretProps()); err != nil {
			t.Fatal(err)
		}
	}
	if got := strings.Join(seen, ", "); got != "POST /api/v1/namespaces/jhub/secrets, POST /api/v1/namespaces/jhub/secrets, PUT /api/v1/namespaces/jhub/secrets/hub-oauth" {
		t.Errorf("requests = %s, want create, then create (409) and replace", got)
	}
	var obj struct {
		APIVersion, Kind, Type string
		Metadata               struct {
			Name, Namespace string
			Labels          map[string]string
		}
		Data map[string]string
	}
	if err := json.Unmarshal(stored["/api/v1/namespaces/jhub/secrets/hub-oauth"], &obj); err != nil {
		t.Fatal(err)
	}
	if obj.APIVersion != "v1" || obj.Kind != "Secret" || obj.Type != "Opaque" || obj.Metadata.Name != "hub-oauth" ||
		obj.Metadata.Namespace != "jhub" || obj.Metadata.Labels["app.kubernetes.io/managed-by"] != "stratolab" ||
		len(obj.Data) != 1 || obj.Data["client-secret"] != base64.StdEncoding.EncodeToString([]byte(clientSecret)) {
		t.Errorf("stored secret = %+v, want a v1 Opaque Secret jhub/hub-oauth, labelled, with the base64 client secret", obj)
	}
}
