package controlpage

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
)

// Identity is the caller of a request: a user name and the Cognito groups it belongs to.
type Identity struct {
	User   string
	Groups []string
}

// InGroup reports whether the caller belongs to group.
func (id Identity) InGroup(group string) bool {
	for _, g := range id.Groups {
		if g == group {
			return true
		}
	}
	return false
}

// Authenticator finds the caller of a request. ok is false for a request without a valid identity,
// which the handler answers with 401.
type Authenticator interface {
	Identify(r *http.Request) (id Identity, ok bool)
}

// AuthenticatorFunc turns a function into an Authenticator.
type AuthenticatorFunc func(r *http.Request) (Identity, bool)

// Identify calls f.
func (f AuthenticatorFunc) Identify(r *http.Request) (Identity, bool) { return f(r) }

type claimsKey struct{}

// WithClaims returns a context that carries the claims API Gateway's JWT authorizer verified
// (requestContext.authorizer.jwt.claims). The Lambda adapter sets them; nothing else should.
func WithClaims(ctx context.Context, claims map[string]string) context.Context {
	return context.WithValue(ctx, claimsKey{}, claims)
}

// ClaimsFromContext returns the claims WithClaims stored, nil when there are none.
func ClaimsFromContext(ctx context.Context) map[string]string {
	c, _ := ctx.Value(claimsKey{}).(map[string]string)
	return c
}

// JWTClaims is the Authenticator of the Lambda behind API Gateway: the HTTP API's JWT authorizer has
// already checked the token's signature, issuer, audience (the page's client), expiry and scope, and
// hands the verified claims to the function in the event. It never reads the Authorization header
// itself, so a request that did not pass the authorizer (a route without it) has no identity.
var JWTClaims Authenticator = AuthenticatorFunc(func(r *http.Request) (Identity, bool) {
	return IdentityFromClaims(ClaimsFromContext(r.Context()))
})

// IdentityFromClaims reads a Cognito token's claims: the user is `username` (access tokens),
// `cognito:username` (ID tokens) or else `sub`; the groups are `cognito:groups`. No subject, no
// identity.
func IdentityFromClaims(claims map[string]string) (Identity, bool) {
	if claims["sub"] == "" {
		return Identity{}, false
	}
	id := Identity{User: claims["username"]}
	if id.User == "" {
		id.User = claims["cognito:username"]
	}
	if id.User == "" {
		id.User = claims["sub"]
	}
	id.Groups = ParseGroupsClaim(claims["cognito:groups"])
	return id, true
}

// ParseGroupsClaim reads a list claim as API Gateway passes it to a Lambda: an HTTP API's JWT
// authorizer flattens a JSON array claim into one string, its elements between brackets and separated
// by spaces ("[control-staging admins]"). A JSON array ("[\"a\",\"b\"]", as a direct invocation may
// send) and a comma-separated list are read too. Cognito group names cannot contain spaces, so the
// split is unambiguous.
func ParseGroupsClaim(s string) []string {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil
	}
	var list []string
	if json.Unmarshal([]byte(s), &list) == nil {
		return list
	}
	s = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
	return strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == ',' || r == '\t' })
}
