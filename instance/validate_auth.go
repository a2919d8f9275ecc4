package instance

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/stratolab/stratolab/internal/awsrules"
)

var (
	emailRe       = regexp.MustCompile(`^[^@\s]+@([a-z0-9-]+\.)+[a-z]{2,}$`)
	domainRe      = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,}$`)
	sesIdentityRe = regexp.MustCompile(`^arn:aws[a-z-]*:ses:([a-z0-9-]+):[0-9]{12}:identity/(.+)$`)
	sesAccountRe  = regexp.MustCompile(`^arn:aws[a-z-]*:ses:[a-z0-9-]+:([0-9]{12}):`)
	// cognitoSESRegions are the SES regions Cognito accepts for a pool in another region.
	cognitoSESRegions = []string{"us-east-1", "us-west-2", "eu-west-1"}
	groupNameRe       = regexp.MustCompile(`^[\p{L}\p{M}\p{S}\p{N}\p{P}]{1,128}$`)
)

// SESIdentity splits auth.email.ses_identity into the verified identity (a domain or an address) and
// the identity's region ("" for the stack's region).
func SESIdentity(identity string) (name, region string) {
	if m := sesIdentityRe.FindStringSubmatch(identity); m != nil {
		return m[2], m[1]
	}
	return identity, ""
}

// auth checks the auth keys, only when the instance builds the Auth stack.
func (v *validator) auth() {
	if !v.cfg.AuthEnabled() {
		return
	}
	a := v.cfg.Auth
	if why := awsrules.CognitoDomainPrefix(strings.Replace(v.cfg.AuthDomainPrefix(), AccountPlaceholder, "123456789012", 1)); why != "" {
		if a.DomainPrefix == "" {
			v.errorf("auth.domain_prefix", "the default prefix %q %s (set auth.domain_prefix: lowercase letters, digits and hyphens, at most 63, without aws, amazon or cognito)", v.cfg.AuthDomainPrefix(), why)
		} else {
			v.errorf("auth.domain_prefix", "%q %s (lowercase letters, digits and hyphens, at most 63, without aws, amazon or cognito)", a.DomainPrefix, why)
		}
	}
	if a.SignIn == "" {
		v.errorf("auth.sign_in", "is required (email or username)")
	}
	if a.Mfa == "" {
		v.errorf("auth.mfa", "is required (off, optional or required)")
	}
	p := a.Password
	if p.MinLength < 8 || p.MinLength > 99 {
		v.errorf("auth.password.min_length", "%d is out of range (8 to 99; 12 or more is recommended)", p.MinLength)
	}
	if p.TempPasswordValidityDays < 1 || p.TempPasswordValidityDays > 365 {
		v.errorf("auth.password.temp_password_validity_days", "%d is out of range (1 to 365)", p.TempPasswordValidityDays)
	}
	if a.ThreatProtection != "" && a.ThreatProtection != "off" && a.FeaturePlan != "plus" {
		v.errorf("auth.threat_protection", "%s needs feature_plan: plus, not %s (or set threat_protection: off)", a.ThreatProtection, a.FeaturePlan)
	}
	if a.Lifecycle.RemovalPolicy == "snapshot" {
		v.errorf("auth.lifecycle.removal_policy", "snapshot is not something a Cognito user pool supports (retain or destroy)")
	}
	v.productionDestroy("auth.lifecycle", a.Lifecycle, "the user pool keeps its deletion protection, so cdk destroy would fail")
	v.authEmail(a.Email)
	v.customAttributes(a.CustomAttributes)
	v.groups(a.Groups)
	v.clients(a.Clients)
	t := a.TokenValidity
	for _, m := range []struct {
		path    string
		minutes int
	}{{"auth.token_validity.access_minutes", t.AccessMinutes}, {"auth.token_validity.id_minutes", t.IDMinutes}} {
		if m.minutes < 5 || m.minutes > 1440 {
			v.errorf(m.path, "%d is out of range (5 to 1440 minutes)", m.minutes)
		}
	}
	if t.RefreshDays < 1 || t.RefreshDays > 3650 {
		v.errorf("auth.token_validity.refresh_days", "%d is out of range (1 to 3650 days)", t.RefreshDays)
	} else if t.RefreshDays*1440 <= max(t.AccessMinutes, t.IDMinutes) {
		v.errorf("auth.token_validity.refresh_days", "%d day(s) must outlast the access and ID tokens (raise it to 2 or more)", t.RefreshDays)
	}
}

func (v *validator) authEmail(e AuthEmail) {
	if e.Sender != "ses" {
		for _, k := range []struct{ path, value string }{
			{"auth.email.from_address", e.FromAddress}, {"auth.email.from_name", e.FromName},
			{"auth.email.reply_to", e.ReplyTo}, {"auth.email.ses_identity", e.SesIdentity},
		} {
			if k.value != "" {
				v.errorf(k.path, "is only used when auth.email.sender is ses (remove it, or set sender: ses)")
			}
		}
		return
	}
	if e.FromAddress == "" {
		v.errorf("auth.email.from_address", "is required when auth.email.sender is ses (such as no-reply@example.edu)")
	} else if !emailRe.MatchString(e.FromAddress) {
		v.errorf("auth.email.from_address", "%q is not an email address (such as no-reply@example.edu)", e.FromAddress)
	}
	if e.ReplyTo != "" && !emailRe.MatchString(e.ReplyTo) {
		v.errorf("auth.email.reply_to", "%q is not an email address", e.ReplyTo)
	}
	if e.SesIdentity == "" {
		v.errorf("auth.email.ses_identity", "is required when auth.email.sender is ses (a verified domain such as example.edu, or arn:aws:ses:<region>:<account>:identity/<domain or address>)")
		return
	}
	name, region := SESIdentity(e.SesIdentity)
	if m := sesIdentityRe.FindStringSubmatch(e.SesIdentity); m != nil {
		// CDK builds the pool's SourceArn from the stack's account and the identity's region
		// (aws-cognito/lib/user-pool-email.js), so an identity of another account would name one that does not exist.
		if account := sesAccountRe.FindStringSubmatch(e.SesIdentity)[1]; v.cfg.Env.Account != "" && account != v.cfg.Env.Account {
			v.errorf("auth.email.ses_identity", "is in account %s, not env.account %s (Cognito sends with an identity of the pool's own account: verify it there)", account, v.cfg.Env.Account)
		}
		// Cognito uses SES in the pool's region or, for the regions it lists, an alternate one
		// (Cognito Developer Guide, "Email settings for Amazon Cognito user pools"; CDK's sesRegion: us-east-1, us-west-2 or eu-west-1).
		if v.cfg.Env.Region != "" && region != v.cfg.Env.Region && !slices.Contains(cognitoSESRegions, region) {
			v.errorf("auth.email.ses_identity", "is in region %s, which Cognito cannot send from for a pool in %s (the pool's region, or one of %s)", region, orUnknown(v.cfg.Env.Region), strings.Join(cognitoSESRegions, ", "))
		}
	}
	switch {
	case strings.Contains(name, "@"):
		if name != e.FromAddress {
			v.errorf("auth.email.ses_identity", "the identity is the address %s, so from_address must be that address, not %q", name, e.FromAddress)
		}
	case !domainRe.MatchString(name):
		v.errorf("auth.email.ses_identity", "%q is neither a domain nor an SES identity ARN (such as example.edu or arn:aws:ses:us-east-1:123456789012:identity/example.edu)", e.SesIdentity)
	case e.FromAddress != "" && !strings.HasSuffix(e.FromAddress, "@"+name):
		v.errorf("auth.email.from_address", "%q is not an address of the verified domain %s (use name@%s)", e.FromAddress, name, name)
	}
}

func (v *validator) customAttributes(attrs []CustomAttribute) {
	seen := map[string]int{}
	for i, c := range attrs {
		p := fmt.Sprintf("auth.custom_attributes[%d]", i)
		if why := awsrules.CognitoCustomAttributeName(c.Name); why != "" {
			v.errorf(p+".name", "%q %s", c.Name, why)
		} else if first, ok := seen[c.Name]; ok {
			v.errorf(p+".name", "%q is already defined at auth.custom_attributes[%d] (each name once)", c.Name, first)
		}
		seen[c.Name] = i
		if c.Type == "" {
			v.errorf(p+".type", "is required (string, number, boolean or datetime)")
		}
		if (c.MinLength != nil || c.MaxLength != nil) && c.Type != "string" {
			v.errorf(p, "min_length and max_length apply only to type string")
		}
		if (c.Min != nil || c.Max != nil) && c.Type != "number" {
			v.errorf(p, "min and max apply only to type number")
		}
		if c.MinLength != nil && (*c.MinLength < 0 || *c.MinLength > 2048) {
			v.errorf(p+".min_length", "%d is out of range (0 to 2048)", *c.MinLength)
		}
		if c.MaxLength != nil && (*c.MaxLength < 1 || *c.MaxLength > 2048) {
			v.errorf(p+".max_length", "%d is out of range (1 to 2048)", *c.MaxLength)
		}
		if c.MinLength != nil && c.MaxLength != nil && *c.MinLength > *c.MaxLength {
			v.errorf(p+".min_length", "%d is more than max_length %d", *c.MinLength, *c.MaxLength)
		}
		if c.Min != nil && c.Max != nil && *c.Min > *c.Max {
			v.errorf(p+".min", "%d is more than max %d", *c.Min, *c.Max)
		}
	}
}

func (v *validator) groups(groups []Group) {
	seen := map[string]int{}
	for i, g := range groups {
		p := fmt.Sprintf("auth.groups[%d]", i)
		switch first, dup := seen[g.Name]; {
		case g.Name == "":
			v.errorf(p+".name", "is required")
		case !groupNameRe.MatchString(g.Name):
			v.errorf(p+".name", "%q is not a group name (1 to 128 letters, digits, punctuation or symbols, without spaces)", g.Name)
		case dup:
			v.errorf(p+".name", "%q is already defined at auth.groups[%d] (group names are unique)", g.Name, first)
		}
		seen[g.Name] = i
		if g.Precedence != nil && *g.Precedence < 0 {
			v.errorf(p+".precedence", "%d is negative (0 or more; lower wins)", *g.Precedence)
		}
		if len(g.Description) > 2048 {
			v.errorf(p+".description", "is %d characters long (at most 2048)", len(g.Description))
		}
	}
}

func (v *validator) clients(clients []AuthClient) {
	seen := map[string]int{}
	for i, c := range clients {
		p := fmt.Sprintf("auth.clients[%d]", i)
		if c.Name == "" {
			v.errorf(p+".name", "is required")
		} else if first, dup := seen[c.Name]; dup {
			v.errorf(p+".name", "%q is already defined at auth.clients[%d] (client names are unique)", c.Name, first)
		}
		seen[c.Name] = i
		if len(c.CallbackURLs) == 0 {
			v.errorf(p+".callback_urls", "is required (at least one https:// URL where users return after sign-in)")
		}
		for key, urls := range map[string][]string{"callback_urls": c.CallbackURLs, "logout_urls": c.LogoutURLs} {
			for j, u := range urls {
				if why := awsrules.OAuthCallbackURL(u); why != "" {
					v.errorf(fmt.Sprintf("%s.%s[%d]", p, key, j), "%q %s", u, why)
				}
			}
		}
	}
}

func orUnknown(region string) string {
	if region == "" {
		return "an unknown region (set env.region)"
	}
	return region
}

// productionDestroy refuses removal_policy: destroy in production: the tables and the pool keep their
// deletion protection and buckets are not emptied (lifecycle.Policy.WithRemoval), so cdk destroy could
// not finish. To delete a production module's data, switch the instance to development, deploy, then destroy.
func (v *validator) productionDestroy(path string, o LifecycleOverride, why string) {
	if v.cfg.Production() && o.RemovalPolicy == "destroy" {
		v.errorf(path+".removal_policy", "destroy is refused in production: %s (retain; to delete the data, set lifecycle: development, deploy, then destroy)", why)
	}
}
