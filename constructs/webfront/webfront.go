// Package webfront is the HTTPS front door of a web service: an Application Load Balancer that
// terminates TLS with an ACM certificate, redirects HTTP to HTTPS, drops invalid headers, writes access
// logs, and accepts 80 and 443 only from the allowed CIDRs. Callers add their targets to HTTPS.
package webfront

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awselasticloadbalancingv2"
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
	// ACM certificate of the service's host name, in the stack's region. Required.
	CertificateArn string
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

// WebFront is the load balancer, its security group and its HTTPS listener.
type WebFront struct {
	constructs.Construct
	LoadBalancer  awselasticloadbalancingv2.ApplicationLoadBalancer
	SecurityGroup awsec2.ISecurityGroup
	// HTTPS is the 443 listener; add targets to it.
	HTTPS awselasticloadbalancingv2.ApplicationListener
}

// New creates the front door. It panics on a malformed certificate ARN or CIDR.
func New(scope constructs.Construct, id string, p *Props) *WebFront {
	cidrs := p.AllowedCidrs
	if cidrs == nil {
		cidrs = []string{"0.0.0.0/0"}
	}
	if why := awsrules.ACMCertificateARN(p.CertificateArn, ""); why != "" {
		panic(fmt.Sprintf("webfront %s: CertificateArn %q %s", id, p.CertificateArn, why))
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

	w.HTTPS = alb.AddListener(jsii.String("Https"), &awselasticloadbalancingv2.BaseApplicationListenerProps{
		Port:         jsii.Number(443),
		Protocol:     awselasticloadbalancingv2.ApplicationProtocol_HTTPS,
		Certificates: &[]awselasticloadbalancingv2.IListenerCertificate{awselasticloadbalancingv2.ListenerCertificate_FromArn(jsii.String(p.CertificateArn))},
		Open:         jsii.Bool(false),
	})
	alb.AddRedirect(&awselasticloadbalancingv2.ApplicationLoadBalancerRedirectConfig{
		SourcePort: jsii.Number(80), SourceProtocol: awselasticloadbalancingv2.ApplicationProtocol_HTTP,
		TargetPort: jsii.Number(443), TargetProtocol: awselasticloadbalancingv2.ApplicationProtocol_HTTPS,
		Open: jsii.Bool(false),
	})
	return w
}

// PrivateSubnets selects the VPC's private subnets: with egress when it has them, isolated otherwise.
func PrivateSubnets(vpc awsec2.IVpc) *awsec2.SubnetSelection {
	if len(*vpc.PrivateSubnets()) > 0 {
		return &awsec2.SubnetSelection{SubnetType: awsec2.SubnetType_PRIVATE_WITH_EGRESS}
	}
	return &awsec2.SubnetSelection{SubnetType: awsec2.SubnetType_PRIVATE_ISOLATED}
}
