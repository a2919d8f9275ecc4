package instance

import (
	"regexp"
	"strings"

	"github.com/stratolab/stratolab/internal/awsrules"
)

// zoneIDRe is a Route 53 hosted zone ID: Route 53 returns them as Z followed by upper-case letters and
// digits (Route 53 API reference, HostedZone.Id: "/hostedzone/Z1D633PJN98FT9"; CreateHostedZone's
// examples), at most 32 characters (ResourceId's length limit).
var zoneIDRe = regexp.MustCompile(`^Z[A-Z0-9]{1,31}$`)

// frontDoor is one web-facing module's host and certificate, for the checks they share.
type frontDoor struct {
	name     string // "the jobs web server"
	hostPath string // "jobs.web.host"
	host     string // the URL as written, https://jobs.example.edu
	certPath string // "jobs.web.certificate_arn"
	cert     string
}

// frontDoors are the enabled modules' front doors, in a fixed order.
func (v *validator) frontDoors() []frontDoor {
	c := v.cfg
	var out []frontDoor
	if c.Enabled.Jobs {
		out = append(out, frontDoor{"the jobs web server", "jobs.web.host", c.Jobs.Web.Host, "jobs.web.certificate_arn", c.Jobs.Web.CertificateArn})
	}
	if c.Enabled.Lookup {
		lb := c.Lookup.LoadBalancer
		out = append(out, frontDoor{"the lookup service", "lookup.load_balancer.host", lb.Host, "lookup.load_balancer.certificate_arn", lb.CertificateArn})
	}
	if c.Enabled.Hub {
		out = append(out, frontDoor{"the hub", "hub.host", c.Hub.Host, "hub.certificate_arn", c.Hub.CertificateArn})
	}
	if p := c.Control.Page; c.Enabled.Control && c.ControlPageEnabled() && p.Host != "" {
		// Optional: without a host the page keeps its execute-api address and needs no certificate.
		out = append(out, frontDoor{"the control page", "control.page.host", p.Host, "control.page.certificate_arn", p.CertificateArn})
	}
	return out
}

// dns checks the zone, then every front door's certificate against it: a certificate ARN given by the
// user wins and must be in the instance's account and region; without one the host must be a name in
// the zone, for the stack to make the certificate; and no two front doors may share a host.
func (v *validator) dns() {
	d := v.cfg.DNS
	if d.Enabled() {
		switch {
		case d.ZoneID == "":
			v.errorf("dns.zone_id", "is required with dns.zone_name (the hosted zone's ID, such as Z0123456789ABCDEFGHIJ: aws route53 list-hosted-zones-by-name --dns-name %s)", d.ZoneName)
		case strings.HasPrefix(d.ZoneID, "/hostedzone/"):
			v.errorf("dns.zone_id", "%q: give the ID without /hostedzone/ (%s)", d.ZoneID, strings.TrimPrefix(d.ZoneID, "/hostedzone/"))
		case !zoneIDRe.MatchString(d.ZoneID):
			v.errorf("dns.zone_id", "%q is not a Route 53 hosted zone ID (Z and upper-case letters and digits, such as Z0123456789ABCDEFGHIJ)", d.ZoneID)
		}
		switch {
		case d.ZoneName == "":
			v.errorf("dns.zone_name", "is required with dns.zone_id (the hosted zone's domain name, such as physics.example.edu)")
		case strings.HasSuffix(d.ZoneName, "."):
			v.errorf("dns.zone_name", "%q: write it without the trailing dot (%s)", d.ZoneName, strings.TrimSuffix(d.ZoneName, "."))
		case zoneIDRe.MatchString(d.ZoneName) || strings.HasPrefix(d.ZoneName, "/hostedzone/"):
			v.errorf("dns.zone_name", "%q looks like a hosted zone ID: zone_name is the zone's domain name, zone_id its ID", d.ZoneName)
		case !domainRe.MatchString(d.ZoneName):
			v.errorf("dns.zone_name", "%q is not a domain name (lowercase labels of letters, digits and dashes, such as physics.example.edu)", d.ZoneName)
		}
	}

	// A zone name that is itself wrong is reported above; the front doors are not measured against it
	// (their hint would be "use a name ending in .https://example.edu").
	zoneOK := !d.Enabled() || (domainRe.MatchString(d.ZoneName) && !zoneIDRe.MatchString(d.ZoneName))
	used := map[string]string{}
	for _, f := range v.frontDoors() {
		host := HostName(f.host)
		if f.host != "" && hostRe.MatchString(f.host) {
			if first, dup := used[host]; dup {
				v.errorf(f.hostPath, "%q is already the host of %s (each front door needs a host of its own: one load balancer and certificate per name)", host, first)
			}
			used[host] = f.hostPath
		}
		switch {
		case f.cert != "":
			if why := awsrules.ACMCertificateARN(f.cert, v.cfg.Env.Region, v.cfg.Env.Account); why != "" {
				v.errorf(f.certPath, "%q %s", f.cert, why)
			}
		case !d.Enabled():
			v.errorf(f.certPath, "is required without dns (the ACM certificate of %s's host name, in the instance's account and region: arn:aws:acm:<region>:<account>:certificate/<uuid>), or set dns.zone_id and dns.zone_name and make %s a name in the zone for the stack to create one", f.name, f.hostPath)
		case f.host == "":
			v.errorf(f.hostPath, "is required without %s (a name in dns.zone_name %s, such as https://%s.%s, for which the stack creates the certificate)", f.certPath, d.ZoneName, strings.Split(f.hostPath, ".")[0], d.ZoneName)
		case !zoneOK:
		case hostRe.MatchString(f.host) && !d.InZone(host):
			v.errorf(f.hostPath, "%q is not a name in the hosted zone %s, so the stack cannot validate a certificate for it (use a name ending in .%s, or give %s)", host, d.ZoneName, d.ZoneName, f.certPath)
		case hostRe.MatchString(f.host) && len(host) > 64:
			// The certificate the stack requests has the host as its DomainName, ACM's common name, which
			// "cannot exceed 64 octets (characters), including periods" (ACM API reference,
			// RequestCertificate DomainName, after RFC 5280).
			v.errorf(f.hostPath, "%q is %d characters; ACM cannot make a certificate whose name is longer than 64 (use a shorter name, or give %s)", host, len(host), f.certPath)
		}
		if f.hostPath == "hub.host" && d.Enabled() && host == d.ZoneName {
			// ExternalDNS's TXT registry names its record cname-<first label>.<rest>: for the apex that
			// is outside the zone (ExternalDNS docs/registry/txt.md, on apex domains).
			v.errorf(f.hostPath, "%q is the hosted zone's apex: ExternalDNS, which writes the hub's record, cannot keep its TXT record for the apex in the zone (use a name under it, such as https://hub.%s)", host, d.ZoneName)
		}
		if label, _, _ := strings.Cut(host, "."); f.hostPath == "hub.host" && d.Enabled() && len("cname-"+label) > 63 {
			// The TXT record's first label, cname-<label> (ExternalDNS v0.21.0 registry/txt/registry.go),
			// must fit DNS's 63-octet label limit (RFC 1035 2.3.4), or Route 53 refuses the change.
			v.errorf(f.hostPath, "%q: its first label %q is %d characters; ExternalDNS's TXT record cname-%s would exceed DNS's 63 (use a first label of at most 57)", host, label, len(label), label)
		}
	}
	if a := v.cfg.Auth.CustomDomain; a != "" && v.cfg.AuthEnabled() {
		v.customDomain(a, used, zoneOK)
	}
}

// customDomain checks auth.custom_domain. Cognito's rules (Cognito developer guide, "Using your own
// domain for managed login"): the certificate must be in ACM in us-east-1, and "the parent domain must
// have a valid DNS A record" (for auth.example.edu, example.edu), which Route 53 alone cannot promise for
// the zone's apex's parent; so the custom domain must be a name strictly below the zone's apex, and the
// apex (or the name above it) must resolve: said in default.yaml.
func (v *validator) customDomain(name string, used map[string]string, zoneOK bool) {
	d := v.cfg.DNS
	const path = "auth.custom_domain"
	switch {
	case strings.HasPrefix(name, "https://"):
		v.errorf(path, "%q: give the host name without https:// (%s)", name, HostName(name))
	case !domainRe.MatchString(name):
		v.errorf(path, "%q is not a domain name (such as auth.physics.example.edu)", name)
	case !d.Enabled():
		v.errorf(path, "needs dns.zone_id and dns.zone_name: the stack validates the hosted UI's certificate, in us-east-1, in that zone")
	case !zoneOK:
	case name == d.ZoneName || !d.InZone(name):
		v.errorf(path, "%q must be a name below the hosted zone's apex %s, such as auth.%s (Cognito requires an A record on the custom domain's parent, and creates its own alias target)", name, d.ZoneName, d.ZoneName)
	case used[name] != "":
		v.errorf(path, "%q is already the host of %s (the hosted UI needs a name of its own)", name, used[name])
	case len(name) > 63:
		// AWS::Cognito::UserPoolDomain Domain: at most 63 characters (CloudFormation resource reference).
		v.errorf(path, "%q is %d characters long; a Cognito domain has at most 63", name, len(name))
	}
	if v.cfg.Env.Region != "us-east-1" && (v.cfg.Env.Region == "" || v.cfg.Env.Account == "") {
		v.errorf(path, "needs env.region and env.account: outside us-east-1 the certificate is made by a stack of its own there (%s/AuthCertificate), which CDK can reference only between stacks of known environments", v.cfg.Name)
	}
}
