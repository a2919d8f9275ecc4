// Package webfront is the HTTPS front door of a web service: an Application Load Balancer that
// terminates TLS with an ACM certificate, redirects HTTP to HTTPS, drops invalid headers, writes access
// logs, and accepts 80 and 443 only from the allowed CIDRs. Callers add their targets to HTTPS.
//
// Given a Domain (a host name in a Route 53 hosted zone), it also makes the host's DNS-validated
// certificate (unless CertificateArn is given, which wins) and its alias record to the load balancer.
//
// NewWebACL is the AWS WAF web ACL every front door of a regulated instance gets, also the hub's, whose
// load balancer the AWS Load Balancer Controller makes.
package webfront

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscertificatemanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awselasticloadbalancingv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsroute53"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsroute53targets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
	"github.com/stratolab/stratolab/internal/awsrules"
)

// Props configure a WebFront.
type Props struct {
	// The VPC. Required.
	Vpc awsec2.IVpc
	// ACM certificate of the service's host name, in the stack's account and region.
	// Default: - with Domain, a DNS-validated certificate of Domain.Name; required without Domain
	CertificateArn string
	// The host name clients use and the public hosted zone it is a name in: the front door then makes
	// an alias record of the name to the load balancer, and (without CertificateArn) its certificate.
	// Default: - no DNS record; point the host at LoadBalancer's DNS name yourself
	Domain *Domain
	// What the service is, for descriptions: "Job web", "Lookup service". Required.
	Purpose string
	// Where access logs go. Required.
	AccessLogs awss3.IBucket
	// Prefix of the access logs. Default: - alb/<construct id>
	AccessLogsPrefix string
	// Who may connect, IPv4 or IPv6 CIDRs. Default: - 0.0.0.0/0
	AllowedCidrs []string
	// Internal load balancers sit in private subnets and serve only the VPC and what is routed to it.
	// Default: - false: internet-facing, in public subnets
	Internal bool
}

// Domain is a host name in a Route 53 public hosted zone.
type Domain struct {
	// The zone, such as awsroute53.HostedZone_FromHostedZoneAttributes (no lookup). Required.
	Zone awsroute53.IHostedZone
	// The host name, the zone's name or a name under it, such as jobs.physics.example.edu. Required.
	Name string
}

// WebFront is the load balancer, its security group and its HTTPS listener.
type WebFront struct {
	constructs.Construct
	LoadBalancer  awselasticloadbalancingv2.ApplicationLoadBalancer
	SecurityGroup awsec2.ISecurityGroup
	// HTTPS is the 443 listener; add targets to it.
	HTTPS awselasticloadbalancingv2.ApplicationListener
	// Certificate is the one the stack made; nil when CertificateArn was given.
	Certificate awscertificatemanager.ICertificate
	// Records are the host's alias records: A, and AAAA for a dualstack load balancer; nil without Domain.
	Records []awsroute53.RecordSet
}

// New creates the front door. It panics on a malformed certificate ARN or CIDR.
func New(scope constructs.Construct, id string, p *Props) *WebFront {
	cidrs := p.AllowedCidrs
	if cidrs == nil {
		cidrs = []string{"0.0.0.0/0"}
	}
	switch {
	case p.Domain != nil && (p.Domain.Zone == nil || p.Domain.Name == ""):
		panic(fmt.Sprintf("webfront %s: Domain needs a Zone and a Name", id))
	case p.CertificateArn == "" && p.Domain == nil:
		panic(fmt.Sprintf("webfront %s: CertificateArn is required without a Domain", id))
	case p.CertificateArn != "":
		if why := awsrules.ACMCertificateARN(p.CertificateArn, "", ""); why != "" {
			panic(fmt.Sprintf("webfront %s: CertificateArn %q %s", id, p.CertificateArn, why))
		}
	}
	if len(cidrs) == 0 || p.AccessLogs == nil || p.Vpc == nil {
		panic(fmt.Sprintf("webfront %s: Vpc, AccessLogs and at least one allowed CIDR are required", id))
	}
	for _, c := range cidrs {
		if pfx, err := netip.ParsePrefix(c); err != nil || pfx.Masked() != pfx {
			panic(fmt.Sprintf("webfront %s: AllowedCidrs: %q is not a network CIDR", id, c))
		}
	}
	w := &WebFront{Construct: constructs.NewConstruct(scope, jsii.String(id))}
	sg := awsec2.NewSecurityGroup(w.Construct, jsii.String("SecurityGroup"), &awsec2.SecurityGroupProps{
		Vpc:              p.Vpc,
		Description:      jsii.String(p.Purpose + " load balancer: HTTP and HTTPS from the allowed CIDRs"),
		AllowAllOutbound: jsii.Bool(false),
	})
	open := false
	for _, cidr := range cidrs {
		peer := awsec2.Peer_Ipv4(jsii.String(cidr))
		if strings.Contains(cidr, ":") {
			peer = awsec2.Peer_Ipv6(jsii.String(cidr))
		}
		open = open || cidr == "0.0.0.0/0" || cidr == "::/0"
		sg.AddIngressRule(peer, awsec2.Port_Tcp(jsii.Number(443)), jsii.String("HTTPS from "+cidr), nil)
		sg.AddIngressRule(peer, awsec2.Port_Tcp(jsii.Number(80)), jsii.String("HTTP (redirected to HTTPS) from "+cidr), nil)
	}
	if open {
		cdknag.NagSuppressions_AddResourceSuppressions(sg, &[]*cdknag.NagPackSuppression{{
			Id: jsii.String("AwsSolutions-EC23"),
			Reason: jsii.String("The " + strings.ToLower(p.Purpose) + " service is public by configuration (its allowed CIDRs include the whole internet): " +
				"the load balancer accepts only 80, which redirects, and 443, which terminates TLS; the servers behind it accept only the load balancer."),
		}}, jsii.Bool(false))
	}
	w.SecurityGroup = sg

	subnets := &awsec2.SubnetSelection{SubnetType: awsec2.SubnetType_PUBLIC}
	if p.Internal {
		subnets = PrivateSubnets(p.Vpc)
	}
	alb := awselasticloadbalancingv2.NewApplicationLoadBalancer(w.Construct, jsii.String("LoadBalancer"), &awselasticloadbalancingv2.ApplicationLoadBalancerProps{
		Vpc:                     p.Vpc,
		InternetFacing:          jsii.Bool(!p.Internal),
		VpcSubnets:              subnets,
		SecurityGroup:           sg,
		DropInvalidHeaderFields: jsii.Bool(true),
	})
	prefix := p.AccessLogsPrefix
	if prefix == "" {
		prefix = "alb/" + strings.ToLower(id)
	}
	alb.LogAccessLogs(p.AccessLogs, jsii.String(prefix))
	w.LoadBalancer = alb

	certArn := jsii.String(p.CertificateArn)
	if p.CertificateArn == "" {
		w.Certificate = NewCertificate(w.Construct, "Certificate", p.Domain)
		certArn = w.Certificate.CertificateArn()
	}
	w.HTTPS = alb.AddListener(jsii.String("Https"), &awselasticloadbalancingv2.BaseApplicationListenerProps{
		Port:         jsii.Number(443),
		Protocol:     awselasticloadbalancingv2.ApplicationProtocol_HTTPS,
		Certificates: &[]awselasticloadbalancingv2.IListenerCertificate{awselasticloadbalancingv2.ListenerCertificate_FromArn(certArn)},
		Open:         jsii.Bool(false),
	})
	if p.Domain != nil {
		w.Records = aliasRecords(w.Construct, p.Domain, alb, false)
	}
	redirect := alb.AddRedirect(&awselasticloadbalancingv2.ApplicationLoadBalancerRedirectConfig{
		SourcePort: jsii.Number(80), SourceProtocol: awselasticloadbalancingv2.ApplicationProtocol_HTTP,
		TargetPort: jsii.Number(443), TargetProtocol: awselasticloadbalancingv2.ApplicationProtocol_HTTPS,
		Open: jsii.Bool(false),
	})
	// cdk-nag's ELBv2ACMCertificateRequired reads every CfnListener's Certificates; a plain-HTTP listener
	// has none by definition (an HTTP listener takes no certificate, ELB User Guide "Listeners").
	redirectReason := jsii.String("Port 80 only answers with a 301 to HTTPS on 443 and forwards nothing; an HTTP listener takes no certificate. The HTTPS listener carries the ACM certificate.")
	cdknag.NagSuppressions_AddResourceSuppressions(redirect, &[]*cdknag.NagPackSuppression{
		{Id: jsii.String("NIST.800.53.R5-ELBv2ACMCertificateRequired"), Reason: redirectReason},
		{Id: jsii.String("HIPAA.Security-ELBv2ACMCertificateRequired"), Reason: redirectReason},
	}, jsii.Bool(true))
	return w
}

// NewCertificate is a public ACM certificate of d.Name, validated by DNS in d.Zone: CloudFormation
// writes the validation CNAME into the zone and waits until ACM has issued it (ACM user guide, "DNS
// validation"; AWS::CertificateManager::Certificate DomainValidationOptions.HostedZoneId). ACM renews it
// by itself for as long as the CNAME stays.
//
// A certificate holds no data, so it is not retained in any lifecycle: a destroy deletes it (its
// validation CNAME stays in the zone, harmless, and is reused by a later certificate of the same name),
// and a change of name replaces it, the new one issued before the old one is removed.
func NewCertificate(scope constructs.Construct, id string, d *Domain) awscertificatemanager.Certificate {
	cert := awscertificatemanager.NewCertificate(scope, jsii.String(id), &awscertificatemanager.CertificateProps{
		DomainName: jsii.String(d.Name),
		Validation: awscertificatemanager.CertificateValidation_FromDns(d.Zone),
	})
	cert.ApplyRemovalPolicy(awscdk.RemovalPolicy_DESTROY)
	return cert
}

// AliasRecordTypes are the alias records a host gets for a load balancer. Route 53 lets an alias to an
// ELB load balancer be A or AAAA (Route 53 developer guide, "Values for alias records", Record type), and
// answers an AAAA alias with the load balancer's IPv6 addresses, which only a load balancer of IP address
// type dualstack has (ELB user guide, "IP address types for your Application Load Balancer"); for an
// ipv4 one the AAAA resolves to nothing. Our load balancers are ipv4 (the VPCs have no IPv6 CIDR), so
// they get an A record only.
func AliasRecordTypes(dualstack bool) []string {
	if dualstack {
		return []string{"A", "AAAA"}
	}
	return []string{"A"}
}

// aliasRecords points d.Name at the load balancer. Records are stateless and replaced or deleted with
// the load balancer in every lifecycle: a record kept after its load balancer is gone would point at
// nothing (and a name pointing at a released address invites a takeover).
func aliasRecords(scope constructs.Construct, d *Domain, alb awselasticloadbalancingv2.ApplicationLoadBalancer, dualstack bool) []awsroute53.RecordSet {
	target := awsroute53.RecordTarget_FromAlias(awsroute53targets.NewLoadBalancerTarget(alb, nil))
	var out []awsroute53.RecordSet
	for _, t := range AliasRecordTypes(dualstack) {
		var r awsroute53.RecordSet
		if t == "A" {
			r = awsroute53.NewARecord(scope, jsii.String("AliasRecord"), &awsroute53.ARecordProps{
				Zone: d.Zone, RecordName: jsii.String(d.Name + "."), Target: target,
				Comment: jsii.String("stratolab: the front door's load balancer"),
			})
		} else {
			r = awsroute53.NewAaaaRecord(scope, jsii.String("AliasRecordIpv6"), &awsroute53.AaaaRecordProps{
				Zone: d.Zone, RecordName: jsii.String(d.Name + "."), Target: target,
				Comment: jsii.String("stratolab: the front door's load balancer"),
			})
		}
		r.ApplyRemovalPolicy(awscdk.RemovalPolicy_DESTROY)
		out = append(out, r)
	}
	return out
}

// PrivateSubnets selects the VPC's private subnets: with egress when it has them, isolated otherwise.
func PrivateSubnets(vpc awsec2.IVpc) *awsec2.SubnetSelection {
	if len(*vpc.PrivateSubnets()) > 0 {
		return &awsec2.SubnetSelection{SubnetType: awsec2.SubnetType_PRIVATE_WITH_EGRESS}
	}
	return &awsec2.SubnetSelection{SubnetType: awsec2.SubnetType_PRIVATE_ISOLATED}
}
