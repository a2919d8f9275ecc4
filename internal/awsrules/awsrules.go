// Package awsrules holds rules that AWS services enforce on names and values, as plain Go with no CDK,
// so that the instance package can report a bad value with its file and line, and the constructs can
// refuse it too, from one definition. Each function returns why a value is rejected, or "".
package awsrules

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

var (
	domainPrefixRe    = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$`)
	customAttributeRe = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]*$`)
)

// CognitoDomainPrefix checks a hosted UI domain prefix: lowercase letters, digits and hyphens, at most
// 63 characters, and none of the words Cognito reserves.
func CognitoDomainPrefix(prefix string) string {
	switch {
	case prefix == "":
		return "is empty"
	case len(prefix) > 63:
		return fmt.Sprintf("is %d characters long (at most 63)", len(prefix))
	case !domainPrefixRe.MatchString(prefix):
		return "must be lowercase letters, digits and hyphens, not starting or ending with a hyphen"
	}
	for _, reserved := range []string{"aws", "amazon", "cognito"} {
		if strings.Contains(prefix, reserved) {
			return fmt.Sprintf("contains %q, which Cognito reserves", reserved)
		}
	}
	return ""
}

// CognitoCustomAttributeName checks the name of a custom attribute, without its custom: prefix.
func CognitoCustomAttributeName(name string) string {
	switch {
	case len(name) > 20:
		return fmt.Sprintf("is %d characters long (at most 20)", len(name))
	case !customAttributeRe.MatchString(name):
		return "must be letters, digits, _ and -, starting with a letter"
	}
	return ""
}

// OAuthCallbackURL checks a callback or logout URL. Cognito accepts plain http only for localhost,
// where a developer runs the app.
func OAuthCallbackURL(u string) string {
	parsed, err := url.Parse(u)
	switch {
	case err != nil || parsed.Host == "":
		return "is not an absolute URL"
	case parsed.Scheme == "https":
		return ""
	case parsed.Scheme == "http" && parsed.Hostname() == "localhost":
		return ""
	}
	return "must use https:// (plain http:// only for http://localhost)"
}
