// Package kube is a minimal Kubernetes REST client: the few calls stratolab's Lambdas make against
// an EKS cluster (write a Secret; get, list and delete namespaced objects), over net/http and
// encoding/json, without client-go.
//
// Errors carry the HTTP method, the path, the status and the API's Status message, never a request
// body: a body may hold a Secret's data.
package kube

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Resource names a kind of namespaced object by the API path of its group version and its plural.
type Resource struct {
	// APIPath is "/api/v1" for the core group, else "/apis/<group>/<version>".
	APIPath string
	// Plural is the resource's plural name, as in the URL: "secrets", "ingresses".
	Plural string
}

// The resources stratolab's Lambdas use.
var (
	Secrets                = Resource{APIPath: "/api/v1", Plural: "secrets"}
	Pods                   = Resource{APIPath: "/api/v1", Plural: "pods"}
	PersistentVolumeClaims = Resource{APIPath: "/api/v1", Plural: "persistentvolumeclaims"}
	Ingresses              = Resource{APIPath: "/apis/networking.k8s.io/v1", Plural: "ingresses"}
)

func (r Resource) collectionPath(namespace string) string {
	return r.APIPath + "/namespaces/" + url.PathEscape(namespace) + "/" + r.Plural
}

func (r Resource) itemPath(namespace, name string) string {
	return r.collectionPath(namespace) + "/" + url.PathEscape(name)
}

// Client calls one cluster's Kubernetes API.
type Client struct {
	// Endpoint is the API server's URL, such as EKS's "https://ABC.gr7.us-east-1.eks.amazonaws.com".
	Endpoint string
	// CA is the PEM bundle the API server's certificate must chain to.
	CA []byte
	// Token returns the bearer token for each request; see EKSTokenSource.
	Token func(ctx context.Context) (string, error)
	// HTTP sends the requests. New builds one that trusts only CA.
	HTTP *http.Client
}

// New returns a Client for endpoint whose HTTP client trusts only the certificates in caPEM,
// with a 30-second limit on each request.
func New(endpoint string, caPEM []byte, token func(context.Context) (string, error)) (*Client, error) {
	u, err := url.Parse(endpoint)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("kube: endpoint %q: want an https:// URL such as the EKS cluster's endpoint", endpoint)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("kube: certificate authority for %s holds no PEM certificate (EKS returns it base64-encoded: decode it first)", endpoint)
	}
	if token == nil {
		return nil, fmt.Errorf("kube: no token function for %s", endpoint)
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return &Client{
		Endpoint: strings.TrimRight(endpoint, "/"),
		CA:       caPEM,
		Token:    token,
		HTTP:     &http.Client{Transport: transport, Timeout: 30 * time.Second},
	}, nil
}

// APIError is a request the API server refused or failed.
type APIError struct {
	Method string
	Path   string
	// Status is the HTTP status code.
	Status int
	// Reason is the Status object's machine-readable reason, such as "AlreadyExists" or "Forbidden".
	Reason string
	// Message is the Status object's message, or the HTTP status text when the body was no Status.
	Message string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("kube: %s %s: %d %s: %s", e.Method, e.Path, e.Status, e.Reason, e.Message)
}

// IsNotFound reports whether err is an APIError with status 404.
func IsNotFound(err error) bool { return statusOf(err) == http.StatusNotFound }

// IsConflict reports whether err is an APIError with status 409 (AlreadyExists or Conflict).
func IsConflict(err error) bool { return statusOf(err) == http.StatusConflict }

func statusOf(err error) int {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Status
	}
	return 0
}

// ObjectMeta is the part of an object's metadata stratolab reads or writes.
type ObjectMeta struct {
	Name            string            `json:"name"`
	Namespace       string            `json:"namespace,omitempty"`
	Labels          map[string]string `json:"labels,omitempty"`
	Annotations     map[string]string `json:"annotations,omitempty"`
	ResourceVersion string            `json:"resourceVersion,omitempty"`
}

// Secret is a core/v1 Secret. Data values are raw bytes; JSON carries them base64-encoded, as the API wants.
type Secret struct {
	APIVersion string            `json:"apiVersion"`
	Kind       string            `json:"kind"`
	Metadata   ObjectMeta        `json:"metadata"`
	Type       string            `json:"type,omitempty"`
	Data       map[string][]byte `json:"data,omitempty"`
}

// ApplySecret makes the Secret exactly s: it creates it, and when it already exists (409) replaces
// it whole with an unconditional update (PUT). Replacing, rather than server-side apply, drops keys,
// labels and annotations that an earlier writer (such as kubectl) left, works on every API version
// and needs only the create and update verbs. Any copy of a data value in an API message is
// redacted from the error.
func (c *Client) ApplySecret(ctx context.Context, s *Secret) error {
	if s.Metadata.Name == "" || s.Metadata.Namespace == "" {
		return fmt.Errorf("kube: secret needs a name and a namespace")
	}
	obj := *s
	obj.APIVersion, obj.Kind = "v1", "Secret"
	if obj.Type == "" {
		obj.Type = "Opaque"
	}
	obj.Metadata.ResourceVersion = ""
	body, err := json.Marshal(&obj)
	if err != nil {
		return fmt.Errorf("kube: encode secret %s/%s: %w", s.Metadata.Namespace, s.Metadata.Name, err)
	}
	err = c.do(ctx, http.MethodPost, Secrets.collectionPath(obj.Metadata.Namespace), nil, body, nil)
	if IsConflict(err) {
		err = c.do(ctx, http.MethodPut, Secrets.itemPath(obj.Metadata.Namespace, obj.Metadata.Name), nil, body, nil)
	}
	return redact(err, obj.Data)
}

// Get reports whether the object namespace/name of resource r exists.
func (c *Client) Get(ctx context.Context, r Resource, namespace, name string) (bool, error) {
	err := c.do(ctx, http.MethodGet, r.itemPath(namespace, name), nil, nil, nil)
	if IsNotFound(err) {
		return false, nil
	}
	return err == nil, err
}

// List returns the names of the objects of resource r in namespace that match labelSelector
// ("" matches all), following the API's pages.
func (c *Client) List(ctx context.Context, r Resource, namespace, labelSelector string) ([]string, error) {
	var names []string
	cont := ""
	for {
		q := url.Values{"limit": {"500"}}
		if labelSelector != "" {
			q.Set("labelSelector", labelSelector)
		}
		if cont != "" {
			q.Set("continue", cont)
		}
		var list struct {
			Metadata struct {
				Continue string `json:"continue"`
			} `json:"metadata"`
			Items []struct {
				Metadata ObjectMeta `json:"metadata"`
			} `json:"items"`
		}
		if err := c.do(ctx, http.MethodGet, r.collectionPath(namespace), q, nil, &list); err != nil {
			return nil, err
		}
		for _, it := range list.Items {
			names = append(names, it.Metadata.Name)
		}
		if cont = list.Metadata.Continue; cont == "" {
			return names, nil
		}
	}
}

// backgroundDelete asks the API to delete an object's dependents after the object itself.
var backgroundDelete = []byte(`{"kind":"DeleteOptions","apiVersion":"v1","propagationPolicy":"Background"}`)

// Delete deletes the object namespace/name of resource r with propagation policy Background.
// An object that is already gone is no error. Deletion may finish later, once finalizers are done.
func (c *Client) Delete(ctx context.Context, r Resource, namespace, name string) error {
	err := c.do(ctx, http.MethodDelete, r.itemPath(namespace, name), nil, backgroundDelete, nil)
	if IsNotFound(err) {
		return nil
	}
	return err
}

// DeleteCollection deletes the objects of resource r in namespace that match labelSelector
// ("" deletes them all) with propagation policy Background.
func (c *Client) DeleteCollection(ctx context.Context, r Resource, namespace, labelSelector string) error {
	var q url.Values
	if labelSelector != "" {
		q = url.Values{"labelSelector": {labelSelector}}
	}
	return c.do(ctx, http.MethodDelete, r.collectionPath(namespace), q, backgroundDelete, nil)
}

// maxBody bounds what is read of a response.
const maxBody = 32 << 20

// do sends one request and decodes a 2xx JSON response into out (when out is not nil).
// The error never includes the request body.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, body []byte, out any) error {
	u := c.Endpoint + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return fmt.Errorf("kube: %s %s: %w", method, path, err)
	}
	token, err := c.Token(ctx)
	if err != nil {
		return fmt.Errorf("kube: %s %s: token: %w", method, path, err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "stratolab")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		// A *url.Error names the URL (no credentials in it) and the cause.
		return fmt.Errorf("kube: %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return fmt.Errorf("kube: %s %s: read response: %w", method, path, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return statusError(method, path, resp, data)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("kube: %s %s: decode response: %w", method, path, err)
	}
	return nil
}

// statusError turns a failed response into an APIError, taking reason and message from a
// Kubernetes Status body when there is one.
func statusError(method, path string, resp *http.Response, data []byte) error {
	e := &APIError{Method: method, Path: path, Status: resp.StatusCode, Reason: http.StatusText(resp.StatusCode)}
	var st struct {
		Kind    string `json:"kind"`
		Reason  string `json:"reason"`
		Message string `json:"message"`
	}
	if json.Unmarshal(data, &st) == nil && st.Kind == "Status" {
		if st.Reason != "" {
			e.Reason = st.Reason
		}
		e.Message = st.Message
	}
	if e.Message == "" {
		e.Message = resp.Status
	}
	return e
}

// redact removes each value of data, raw or base64-encoded, from an APIError's message, so that
// an API server echoing a field back cannot put a secret into a log.
func redact(err error, data map[string][]byte) error {
	var ae *APIError
	if !errors.As(err, &ae) {
		return err
	}
	for _, v := range data {
		if len(v) == 0 {
			continue
		}
		ae.Message = strings.ReplaceAll(ae.Message, string(v), "[redacted]")
		ae.Message = strings.ReplaceAll(ae.Message, base64.StdEncoding.EncodeToString(v), "[redacted]")
	}
	return err
}
