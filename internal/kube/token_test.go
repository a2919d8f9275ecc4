package kube

import (
	"context"
	"encoding/base64"
	"errors"
	"net/url"
	"strings"
	"testing"

	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// realPresigner is the SDK's STS presign client with static credentials: presigning is offline.
func realPresigner() *sts.PresignClient {
	return sts.NewPresignClient(sts.New(sts.Options{
		Region:      "us-west-2",
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secretkeyexample", ""),
	}))
}

func decodeToken(t *testing.T, token string) *url.URL {
	t.Helper()
	if !strings.HasPrefix(token, "k8s-aws-v1.") {
		t.Fatalf("token %q lacks the k8s-aws-v1. prefix", token)
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(token, "k8s-aws-v1."))
	if err != nil {
		t.Fatalf("token is not unpadded base64url: %v", err)
	}
	u, err := url.Parse(string(raw))
	if err != nil {
		t.Fatalf("token does not decode to a URL: %v", err)
	}
	return u
}

func TestEKSTokenIsPresignedGetCallerIdentityForTheCluster(t *testing.T) {
	token, err := EKSToken(context.Background(), realPresigner(), "hub-cluster")
	if err != nil {
		t.Fatal(err)
	}
	u := decodeToken(t, token)
	q := u.Query()
	if u.Scheme != "https" || u.Host != "sts.us-west-2.amazonaws.com" {
		t.Errorf("URL %s: want the regional STS endpoint", u.Redacted())
	}
	if got := q.Get("Action"); got != "GetCallerIdentity" {
		t.Errorf("Action = %q, want GetCallerIdentity", got)
	}
	if got := q.Get("X-Amz-Expires"); got != "60" {
		t.Errorf("X-Amz-Expires = %q, want 60", got)
	}
	signed := strings.Split(q.Get("X-Amz-SignedHeaders"), ";")
	if !contains(signed, "x-k8s-aws-id") || !contains(signed, "host") {
		t.Errorf("X-Amz-SignedHeaders = %v, want host and x-k8s-aws-id", signed)
	}
	if q.Get("X-Amz-Signature") == "" || !strings.HasPrefix(q.Get("X-Amz-Credential"), "AKIDEXAMPLE/") {
		t.Errorf("URL is not SigV4-presigned with the given credentials: %v", q)
	}
	if strings.Contains(token, "=") {
		t.Errorf("token %q is padded", token)
	}
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// countingPresigner returns a fixed URL and counts calls.
type countingPresigner struct{ calls int }

func (p *countingPresigner) PresignGetCallerIdentity(ctx context.Context, in *sts.GetCallerIdentityInput, optFns ...func(*sts.PresignOptions)) (*v4.PresignedHTTPRequest, error) {
	p.calls++
	var po sts.PresignOptions
	for _, fn := range optFns {
		fn(&po)
	}
	if len(po.ClientOptions) != 1 {
		return nil, errors.New("EKSToken passed no client options")
	}
	return &v4.PresignedHTTPRequest{URL: "https://sts.example/?Action=GetCallerIdentity", Method: "GET"}, nil
}

func TestEKSTokenSourceReusesToken(t *testing.T) {
	p := &countingPresigner{}
	src := EKSTokenSource(p, "c")
	a, err := src(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	b, _ := src(context.Background())
	if a != b || p.calls != 1 {
		t.Errorf("two calls within the token's life presigned %d times (tokens equal: %v), want once", p.calls, a == b)
	}
	if u := decodeToken(t, a); u.Host != "sts.example" {
		t.Errorf("token encodes %s, want the presigned URL", u)
	}
}

func TestEKSTokenRejectsEmptyClusterName(t *testing.T) {
	if _, err := EKSToken(context.Background(), realPresigner(), ""); err == nil {
		t.Fatal("EKSToken with no cluster name succeeded")
	}
}
