package controlpage

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/aws/aws-lambda-go/events"
)

// LambdaHandler adapts an http.Handler to an API Gateway HTTP API's Lambda proxy integration (payload
// format 2.0): the event becomes an *http.Request whose context carries the JWT authorizer's verified
// claims (see WithClaims and JWTClaims), and what the handler writes becomes the response. Cookies in
// the event are dropped: the page uses none.
func LambdaHandler(h http.Handler) func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return func(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		req, err := RequestFromEvent(ctx, ev)
		if err != nil {
			return textResponse(http.StatusBadRequest, err.Error()), nil
		}
		rec := newRecorder()
		h.ServeHTTP(rec, req)
		return rec.response(), nil
	}
}

// RequestFromEvent builds the request an API Gateway HTTP API event describes.
func RequestFromEvent(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (*http.Request, error) {
	var claims map[string]string
	if a := ev.RequestContext.Authorizer; a != nil && a.JWT != nil {
		claims = a.JWT.Claims
	}
	ctx = WithClaims(ctx, claims)
	body := []byte(ev.Body)
	if ev.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(ev.Body)
		if err != nil {
			return nil, fmt.Errorf("the request body is not valid base64")
		}
		body = b
	}
	path := ev.RawPath
	if path == "" {
		path = ev.RequestContext.HTTP.Path
	}
	if path == "" {
		path = "/"
	}
	u := &url.URL{Path: path, RawQuery: ev.RawQueryString}
	if p, err := url.PathUnescape(path); err == nil {
		u.Path, u.RawPath = p, path
	}
	method := ev.RequestContext.HTTP.Method
	if method == "" {
		method = http.MethodGet
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("the request cannot be read: %v", err)
	}
	// A 2.0 event joins repeated headers with commas in one value, which is how HTTP combines them too.
	for k, v := range ev.Headers {
		if strings.EqualFold(k, "cookie") {
			continue
		}
		req.Header.Set(k, v)
	}
	req.Host = ev.RequestContext.DomainName
	req.RemoteAddr = ev.RequestContext.HTTP.SourceIP
	req.RequestURI = u.RequestURI()
	return req, nil
}

// recorder collects what a handler writes.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func newRecorder() *recorder { return &recorder{header: http.Header{}} }

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(b)
}

// response returns text bodies as they are and anything else in base64, as API Gateway expects.
func (r *recorder) response() events.APIGatewayV2HTTPResponse {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	out := events.APIGatewayV2HTTPResponse{StatusCode: r.status, Headers: map[string]string{}}
	for k, vs := range r.header {
		out.Headers[k] = strings.Join(vs, ", ")
	}
	ct := r.header.Get("Content-Type")
	if ct == "" && r.body.Len() > 0 {
		ct = http.DetectContentType(r.body.Bytes())
		out.Headers["Content-Type"] = ct
	}
	if isText(ct) {
		out.Body = r.body.String()
	} else {
		out.Body = base64.StdEncoding.EncodeToString(r.body.Bytes())
		out.IsBase64Encoded = true
	}
	return out
}

func isText(ct string) bool {
	ct = strings.ToLower(ct)
	return ct == "" || strings.HasPrefix(ct, "text/") || strings.HasPrefix(ct, "application/json") ||
		strings.HasPrefix(ct, "application/javascript") || strings.HasPrefix(ct, "text/javascript")
}

func textResponse(status int, msg string) events.APIGatewayV2HTTPResponse {
	return events.APIGatewayV2HTTPResponse{StatusCode: status,
		Headers: map[string]string{"Content-Type": "text/plain; charset=utf-8", "X-Content-Type-Options": "nosniff",
			"Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'"},
		Body: msg}
}
