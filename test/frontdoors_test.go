package test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awselasticloadbalancingv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsroute53"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/jsii-runtime-go"
	"github.com/stratolab/stratolab/constructs/hub"
	"github.com/stratolab/stratolab/constructs/webfront"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// ---- Front doors: certificates and DNS records made by the deploy (dns: in the instance file) ----

// exampleZone is instance/example.yaml's dns.
const (
	exampleZoneID   = "Z0123456789EXAMPLEORG"
	exampleZoneName = "example.org"
)

// TestFrontDoorCertificatesAreDNSValidatedInTheZone: each front door of the example, none of which
// gives a certificate ARN, gets a public ACM certificate of its host, validated by DNS in the instance's
// zone (AWS::CertificateManager::Certificate: ValidationMethod DNS, and DomainValidationOptions'
// HostedZoneId makes CloudFormation write the validation record), and its HTTPS listener or Ingress
// uses that certificate.
func TestFrontDoorCertificatesAreDNSValidatedInTheZone(t *testing.T) {
	for stack, host := range map[string]string{"Jobs": "jobs.example.org", "Lookup": "lookup.example.org", "Hub": "hub.example.org"} {
		t.Run(stack, func(t *testing.T) {
			tpl := template(synth(t, "example").stack(t, stack))
			tpl.ResourceCountIs(jsii.String("AWS::CertificateManager::Certificate"), jsii.Number(1))
			tpl.HasResource(jsii.String("AWS::CertificateManager::Certificate"), map[string]any{
				"Properties": map[string]any{
					"DomainName": host, "ValidationMethod": "DNS",
					"DomainValidationOptions": []any{map[string]any{"DomainName": host, "HostedZoneId": exampleZoneID}},
					"Tags":                    assertions.Match_AnyValue(),
				},
				// Stateless: deleted on destroy and replaced on a change of name, in every lifecycle.
				"DeletionPolicy": "Delete",
			})
			if stack == "Hub" {
				return
			}
			tpl.HasResourceProperties(jsii.String("AWS::ElasticLoadBalancingV2::Listener"), map[string]any{
				"Port": 443, "Protocol": "HTTPS",
				"Certificates": []any{map[string]any{"CertificateArn": ref(map[string]string{"Jobs": "RunnerFrontCertificate", "Lookup": "ServiceFrontCertificate"}[stack])}},
			})
		})
	}
}

// TestHubIngressUsesTheStacksCertificate: the AWS Load Balancer Controller reads the listener's
// certificate from the Ingress annotation alb.ingress.kubernetes.io/certificate-arn (controller docs,
// ingress annotations, "certificate-arn"): it must be the certificate the stack made.
func TestHubIngressUsesTheStacksCertificate(t *testing.T) {
	a := at(chartValues(t, "example", "jupyterhub"), "ingress", "annotations").(map[string]any)
	assert.Regexp(t, `^<Ref:'HubCertificate[0-9A-F]{8}'>$`, a["alb.ingress.kubernetes.io/certificate-arn"])
	// The Ingress has no ip-address-type annotation: the controller's default is ipv4, which is why
	// ExternalDNS is told not to make an AAAA record (below).
	assert.NotContains(t, a, "alb.ingress.kubernetes.io/ip-address-type")
}

// TestFrontDoorAliasRecordsPointAtTheirLoadBalancers: the jobs web server's and the lookup service's
// hosts get an alias A record in the zone to their own load balancer (dualstack.<DNS name> and its
// canonical hosted zone, as Route 53 aliases to ELB take them), and no AAAA (see AliasRecordTypes).
func TestFrontDoorAliasRecordsPointAtTheirLoadBalancers(t *testing.T) {
	for stack, want := range map[string][2]string{
		"Jobs":   {"jobs.example.org.", "RunnerFrontLoadBalancer"},
		"Lookup": {"lookup.example.org.", "ServiceFrontLoadBalancer"},
	} {
		t.Run(stack, func(t *testing.T) {
			raw := synth(t, "example").templates[stack]
			tpl := template(synth(t, "example").stack(t, stack))
			tpl.ResourceCountIs(jsii.String("AWS::Route53::RecordSet"), jsii.Number(1))
			lb := assertions.Match_StringLikeRegexp(jsii.String("^" + want[1]))
			tpl.HasResource(jsii.String("AWS::Route53::RecordSet"), map[string]any{
				"Properties": map[string]any{
					"Name": want[0], "Type": "A", "HostedZoneId": exampleZoneID, "Comment": assertions.Match_AnyValue(),
					"AliasTarget": map[string]any{
						"DNSName":      map[string]any{"Fn::Join": []any{"", []any{"dualstack.", map[string]any{"Fn::GetAtt": []any{lb, "DNSName"}}}}},
						"HostedZoneId": map[string]any{"Fn::GetAtt": []any{lb, "CanonicalHostedZoneID"}},
					},
				},
				"DeletionPolicy": "Delete",
			})
			// The load balancer the record points at is ipv4 (no IpAddressType, CloudFormation's default
			// ipv4): an AAAA alias to it would resolve to nothing.
			for _, id := range resourcesOfType(raw, "AWS::ElasticLoadBalancingV2::LoadBalancer") {
				ipType, set := propsOf(resourcesOf(raw)[id])["IpAddressType"]
				assert.True(t, !set || ipType == "ipv4", "%s: %v", id, ipType)
			}
		})
	}
}

// TestFrontDoorOutputsListEachURL: each front door's stack outputs its URL, the host in the zone.
func TestFrontDoorOutputsListEachURL(t *testing.T) {
	s := synth(t, "example")
	for stack, o := range map[string][2]string{
		"Jobs": {"WebUrl", "https://jobs.example.org"}, "Lookup": {"ServiceUrl", "https://lookup.example.org"}, "Hub": {"HubUrl", "https://hub.example.org"},
	} {
		out := s.templates[stack]["Outputs"].(map[string]any)[o[0]].(map[string]any)
		assert.Equal(t, o[1], out["Value"], stack)
		assert.Contains(t, out["Description"], exampleZoneName, stack)
	}
}

// TestAliasRecordTypesFollowTheLoadBalancersIPAddressType: Route 53 lets an alias to an ELB load
// balancer be A or AAAA (Route 53 developer guide, "Values for alias records", Record type), and answers
// the AAAA with the load balancer's IPv6 addresses, which only a dualstack load balancer has (ELB user
// guide, "IP address types"): an AAAA alias is made only for a dualstack one.
func TestAliasRecordTypesFollowTheLoadBalancersIPAddressType(t *testing.T) {
	assert.Equal(t, []string{"A"}, webfront.AliasRecordTypes(false), "an ipv4 load balancer: no AAAA")
	assert.Equal(t, []string{"A", "AAAA"}, webfront.AliasRecordTypes(true))
}

// frontStack is a stack with a VPC, a logs bucket and a hosted zone, for webfront on its own.
func frontStack(t *testing.T) (awscdk.Stack, awsec2.IVpc, awss3.IBucket, awsroute53.IHostedZone) {
	app := newApp(nil)
	s := awscdk.NewStack(app, jsii.String("Front"), &awscdk.StackProps{Env: &awscdk.Environment{Account: jsii.String("123456789012"), Region: jsii.String("us-east-1")}})
	vpc := awsec2.NewVpc(s, jsii.String("Vpc"), &awsec2.VpcProps{MaxAzs: jsii.Number(2), NatGateways: jsii.Number(0)})
	logs := awss3.NewBucket(s, jsii.String("Logs"), nil)
	zone := awsroute53.HostedZone_FromHostedZoneAttributes(s, jsii.String("Zone"), &awsroute53.HostedZoneAttributes{
		HostedZoneId: jsii.String("Z0ABCDEF"), ZoneName: jsii.String("example.edu")})
	return s, vpc, logs, zone
}

// TestFrontDoorCertificateARNWinsOverTheZone: a certificate ARN given by the user is the listener's,
// no certificate is made, and the alias record is made all the same.
func TestFrontDoorCertificateARNWinsOverTheZone(t *testing.T) {
	s, vpc, logs, zone := frontStack(t)
	arn := "arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-1234-5678-9abc-0123456789ab"
	w := webfront.New(s, "Web", &webfront.Props{Vpc: vpc, AccessLogs: logs, Purpose: "Test", CertificateArn: arn,
		Domain: &webfront.Domain{Zone: zone, Name: "app.example.edu"}})
	assert.Nil(t, w.Certificate)
	w.HTTPS.AddAction(jsii.String("Fixed"), &awselasticloadbalancingv2.AddApplicationActionProps{
		Action: awselasticloadbalancingv2.ListenerAction_FixedResponse(jsii.Number(200), nil)})
	tpl := assertions.Template_FromStack(s, nil)
	tpl.ResourceCountIs(jsii.String("AWS::CertificateManager::Certificate"), jsii.Number(0))
	tpl.HasResourceProperties(jsii.String("AWS::ElasticLoadBalancingV2::Listener"), map[string]any{
		"Port": 443, "Certificates": []any{map[string]any{"CertificateArn": arn}}})
	tpl.HasResourceProperties(jsii.String("AWS::Route53::RecordSet"), map[string]any{"Name": "app.example.edu.", "Type": "A", "HostedZoneId": "Z0ABCDEF"})
}

// TestFrontDoorRejectsNeitherCertificateNorDomain: without a certificate ARN and a Domain there is no
// certificate to serve, so the construct refuses before creating anything.
func TestFrontDoorRejectsNeitherCertificateNorDomain(t *testing.T) {
	s, vpc, logs, _ := frontStack(t)
	assert.PanicsWithValue(t, "webfront Web: CertificateArn is required without a Domain", func() {
		webfront.New(s, "Web", &webfront.Props{Vpc: vpc, AccessLogs: logs, Purpose: "Test"})
	})
}

// externalDNSPolicy is the statements of the ExternalDNS role's policy in the example's Hub stack.
func externalDNSPolicy(t *testing.T) []any {
	tpl := synth(t, "example").templates["Hub"]
	for _, r := range resourcesOf(tpl) {
		if r["Type"] != "AWS::IAM::Policy" {
			continue
		}
		roles, _ := json.Marshal(propsOf(r)["Roles"])
		if strings.Contains(string(roles), "HubExternalDnsRole") {
			return at(propsOf(r), "PolicyDocument", "Statement").([]any)
		}
	}
	t.Fatal("no policy on the ExternalDNS role")
	return nil
}

// TestHubExternalDNSMayChangeOnlyTheHubsRecordsInTheZone: the role ExternalDNS runs under may change
// records of the instance's zone only, and by Route 53's condition keys for ChangeResourceRecordSets
// (Route 53 developer guide, "Using IAM policy conditions for fine-grained access control";
// ExternalDNS docs/tutorials/aws.md, "IAM Permissions with ABAC") only the hub's name and its TXT
// registry record (cname-<host>: ExternalDNS encodes an AWS alias A record's TXT as type cname), of
// types A and TXT. It lists what the AWS provider reads: the zone's records and tags, and the zones.
func TestHubExternalDNSMayChangeOnlyTheHubsRecordsInTheZone(t *testing.T) {
	stmts := externalDNSPolicy(t)
	zone := map[string]any{"Fn::Join": []any{"", []any{"arn:", map[string]any{"Ref": "AWS::Partition"}, ":route53:::hostedzone/" + exampleZoneID}}}
	bySid := map[string]map[string]any{}
	for _, s := range stmts {
		bySid[s.(map[string]any)["Sid"].(string)] = s.(map[string]any)
	}
	require.Len(t, bySid, 3, "%v", stmts)
	change := bySid["ChangeTheHubsRecords"]
	assert.Equal(t, "route53:ChangeResourceRecordSets", change["Action"])
	assert.Equal(t, zone, change["Resource"], "this one zone, not hostedzone/*")
	assert.Equal(t, map[string]any{"ForAllValues:StringEquals": map[string]any{
		"route53:ChangeResourceRecordSetsNormalizedRecordNames": []any{"hub.example.org", "cname-hub.example.org"},
		"route53:ChangeResourceRecordSetsRecordTypes":           []any{"A", "TXT"},
		"route53:ChangeResourceRecordSetsActions":               []any{"CREATE", "UPSERT", "DELETE"},
	}}, change["Condition"])
	assert.Equal(t, []any{"route53:ListResourceRecordSets", "route53:ListTagsForResource", "route53:ListTagsForResources"}, bySid["ReadTheZone"]["Action"])
	assert.Equal(t, zone, bySid["ReadTheZone"]["Resource"])
	assert.Equal(t, "route53:ListHostedZones", bySid["FindTheZone"]["Action"])
	assert.Equal(t, "*", bySid["FindTheZone"]["Resource"], "ListHostedZones takes no resource")
	for _, s := range stmts {
		assert.NotContains(t, s.(map[string]any)["Resource"], "hostedzone/*")
	}
	assert.Equal(t, []string{"hub.example.org", "cname-hub.example.org"}, hub.ExternalDNSRecordNames("hub.example.org"))
}

// TestHubExternalDNSRunsUnderItsPodIdentity: the association binds the role to the service account the
// chart's pod runs as (chart values serviceAccount.name), in the release's namespace, and the chart
// waits for the association and the agent.
func TestHubExternalDNSRunsUnderItsPodIdentity(t *testing.T) {
	hubTemplate(t).HasResourceProperties(jsii.String("AWS::EKS::PodIdentityAssociation"), map[string]any{
		"Namespace": hub.ExternalDNSNamespace, "ServiceAccount": hub.ExternalDNSServiceAccount,
		"RoleArn": arnOf("HubExternalDnsRole"),
	})
	props := helmChartProps(t, "example", "external-dns")
	assert.Equal(t, hub.ExternalDNSNamespace, props["Namespace"])
	assert.Equal(t, "https://kubernetes-sigs.github.io/external-dns/", props["Repository"])
	assert.Equal(t, hub.DefaultExternalDNSChart, props["Version"])
	assert.Equal(t, hub.ExternalDNSServiceAccount, at(chartValues(t, "example", "external-dns"), "serviceAccount", "name"))
}

// TestHubExternalDNSValuesWatchOnlyTheHubsIngress: the chart values (external-dns 1.21.1 values.yaml and
// templates/deployment.yaml, which turns them into flags) keep ExternalDNS on the hub's Ingress and zone.
func TestHubExternalDNSValuesWatchOnlyTheHubsIngress(t *testing.T) {
	v := chartValues(t, "example", "external-dns")
	assert.Equal(t, "aws", at(v, "provider", "name"))
	assert.Equal(t, []any{"ingress"}, v["sources"], "Ingresses only: no Services, no Gateway routes")
	assert.Equal(t, true, v["namespaced"], "namespaced: --namespace and a Role, not a ClusterRole")
	assert.Equal(t, hub.Namespace, v["sourceNamespace"])
	assert.Equal(t, "sync", v["policy"], "the record goes with the Ingress")
	assert.Equal(t, "txt", v["registry"])
	assert.Equal(t, "example", v["txtOwnerId"], "the instance owns its records")
	assert.Equal(t, []any{exampleZoneName}, v["domainFilters"])
	assert.Equal(t, []any{"A"}, v["managedRecordTypes"])
	args := v["extraArgs"].([]any)
	assert.Contains(t, args, "--zone-id-filter="+exampleZoneID)
	assert.Contains(t, args, "--aws-zone-type=public")
	// ExternalDNS makes an AAAA beside each A alias, "even for load balancers that do not have dualstack
	// enabled" (docs/tutorials/aws.md); the hub's load balancer is ipv4.
	assert.Contains(t, args, "--exclude-record-types=AAAA")
}

// TestHubExternalDNSOutlivesTheIngressOnDestroy: CloudFormation deletes a resource only after those
// that depend on it. JupyterHub depends on the cluster-ops resource, which on delete waits for the load
// balancer to go; ExternalDNS must be deleted after that, so ops depends on it.
func TestHubExternalDNSOutlivesTheIngressOnDestroy(t *testing.T) {
	tpl := synth(t, "example").templates["Hub"]
	var dnsID string
	for id, r := range resourcesOf(tpl) {
		if r["Type"] == "Custom::AWSCDK-EKS-HelmChart" && propsOf(r)["Chart"] == "external-dns" {
			dnsID = id
		}
	}
	require.NotEmpty(t, dnsID)
	found := false
	for _, r := range resourcesOf(tpl) {
		if strings.HasPrefix(r["Type"].(string), "Custom::") && r["Type"] != "Custom::AWSCDK-EKS-HelmChart" {
			deps, _ := json.Marshal(r["DependsOn"])
			if strings.Contains(string(deps), dnsID) {
				found = true
			}
		}
	}
	assert.True(t, found, "the cluster-ops resource depends on %s", dnsID)
}

// TestHubChartsRenderExternalDNS renders the external-dns release with its chart 1.21.1 (make
// charts-check) and checks the flags ExternalDNS v0.21.0 gets: templates/deployment.yaml turns the
// values into args, and templates/clusterrole.yaml binds a Role in sourceNamespace when namespaced.
func TestHubChartsRenderExternalDNS(t *testing.T) {
	r := renderChart(t, "example", "external-dns")
	deploys := r.ofKind("Deployment")
	require.Len(t, deploys, 1)
	spec := podSpec(deploys[0])
	assert.Equal(t, hub.ExternalDNSServiceAccount, spec["serviceAccountName"], "the Pod Identity association's service account")
	assert.Equal(t, map[string]any{hub.NodePurposeLabel: "core"}, spec["nodeSelector"])
	c := listOf(spec["containers"])[0].(map[string]any)
	var args []string
	for _, a := range listOf(c["args"]) {
		args = append(args, a.(string))
	}
	for _, want := range []string{
		"--source=ingress", "--policy=sync", "--registry=txt", "--txt-owner-id=example", "--namespace=" + hub.Namespace,
		"--domain-filter=" + exampleZoneName, "--managed-record-types=A", "--provider=aws", "--events",
		"--zone-id-filter=" + exampleZoneID, "--aws-zone-type=public", "--exclude-record-types=AAAA",
	} {
		assert.Contains(t, args, want)
	}
	var sources []string
	for _, a := range args {
		if strings.HasPrefix(a, "--source=") {
			sources = append(sources, a)
		}
	}
	assert.Equal(t, []string{"--source=ingress"}, sources, "the chart's default sources (service, ingress) are replaced")
	assert.Empty(t, r.ofKind("ClusterRole"), "namespaced: no cluster-wide rights")
	role := r.object(t, "Role", "external-dns")
	assert.Equal(t, hub.Namespace, at(role, "metadata", "namespace"))
	binding := r.object(t, "RoleBinding", "external-dns-viewer")
	assert.Equal(t, hub.ExternalDNSNamespace, at(listOf(binding["subjects"])[0], "namespace"), "the service account of the release's namespace")
	assert.Equal(t, hub.ExternalDNSServiceAccount, r.object(t, "ServiceAccount", hub.ExternalDNSServiceAccount)["metadata"].(map[string]any)["name"])
}

// authDomainInstance is an instance with only Auth, its hosted UI on auth.example.edu in the zone.
func authDomainInstance(region string) string {
	return `env: {account: "123456789012", region: ` + region + `}
lifecycle: development
vpc: {type: new, availability_zones: [` + region + `a, ` + region + `b]}
enabled: {auth: true}
dns: {zone_id: Z0123456789ABCDEFGHIJ, zone_name: example.edu}
auth: {custom_domain: auth.example.edu}
`
}

// TestAuthCustomDomainInUSEast1: Cognito takes a custom domain's certificate from ACM in us-east-1 only
// (Cognito developer guide, "Using your own domain for managed login"), so in us-east-1 the Auth stack
// makes it, validated in the zone; the domain is added beside the prefix domain, and an alias record
// points the name at the domain's CloudFront distribution.
func TestAuthCustomDomainInUSEast1(t *testing.T) {
	built, _ := buildInstance(t, "authdomain", authDomainInstance("us-east-1"))
	tpl := template(built.Auth.Stack)
	tpl.HasResourceProperties(jsii.String("AWS::CertificateManager::Certificate"), map[string]any{
		"DomainName": "auth.example.edu", "ValidationMethod": "DNS",
		"DomainValidationOptions": []any{map[string]any{"DomainName": "auth.example.edu", "HostedZoneId": "Z0123456789ABCDEFGHIJ"}},
	})
	tpl.ResourceCountIs(jsii.String("AWS::Cognito::UserPoolDomain"), jsii.Number(2))
	tpl.HasResourceProperties(jsii.String("AWS::Cognito::UserPoolDomain"), map[string]any{
		"Domain": "auth.example.edu", "CustomDomainConfig": map[string]any{"CertificateArn": ref("CustomDomainCertificate")},
	})
	tpl.HasResourceProperties(jsii.String("AWS::Route53::RecordSet"), map[string]any{
		"Name": "auth.example.edu.", "Type": "A", "HostedZoneId": "Z0123456789ABCDEFGHIJ",
		"AliasTarget": map[string]any{
			"DNSName":      map[string]any{"Fn::GetAtt": []any{assertions.Match_StringLikeRegexp(jsii.String("^AuthUserPoolCustomDomain")), "CloudFrontDistribution"}},
			"HostedZoneId": assertions.Match_AnyValue(), // CloudFront's alias zone, by partition
		},
	})
	assert.Len(t, built.Stacks, 2, "Base and Auth: no certificate stack in us-east-1")
}

// TestAuthCustomDomainOutsideUSEast1HasItsCertificateStack: in another region the certificate is made
// by <instance>/AuthCertificate in us-east-1, and the Auth stack reads its ARN across regions.
func TestAuthCustomDomainOutsideUSEast1HasItsCertificateStack(t *testing.T) {
	built, _ := buildInstance(t, "authdomain", authDomainInstance("eu-west-1"))
	var certStack awscdk.Stack
	for _, s := range built.Stacks {
		if *s.Node().Id() == "AuthCertificate" {
			certStack = s
		}
	}
	require.NotNil(t, certStack, "an AuthCertificate stack")
	assert.Equal(t, "us-east-1", *certStack.Region())
	template(certStack).HasResourceProperties(jsii.String("AWS::CertificateManager::Certificate"), map[string]any{
		"DomainName": "auth.example.edu", "ValidationMethod": "DNS"})
	tpl := template(built.Auth.Stack)
	tpl.ResourceCountIs(jsii.String("AWS::CertificateManager::Certificate"), jsii.Number(0))
	tpl.HasResourceProperties(jsii.String("AWS::Cognito::UserPoolDomain"), map[string]any{
		"Domain": "auth.example.edu", "CustomDomainConfig": map[string]any{"CertificateArn": map[string]any{"Fn::GetStackOutput": map[string]any{
			"StackName": "authdomain-AuthCertificate", "Region": "us-east-1", "OutputName": assertions.Match_AnyValue()}}},
	})
	// Fn::GetStackOutput reads the output across regions itself: no custom resources for it.
	tpl.ResourceCountIs(jsii.String("Custom::CrossRegionExportReader"), jsii.Number(0))
	var deps []string
	for _, d := range *built.Auth.Stack.Dependencies() {
		deps = append(deps, *d.StackName())
	}
	assert.Contains(t, deps, "authdomain-AuthCertificate", "deployed before Auth")
}

// dependsOnPrefixes lists the DependsOn entries of the one resource whose logical ID starts with prefix.
func dependsOnPrefixes(t *testing.T, tpl map[string]any, prefix string) string {
	t.Helper()
	var found []string
	for id, r := range tpl["Resources"].(map[string]any) {
		if strings.HasPrefix(id, prefix) {
			deps, _ := json.Marshal(r.(map[string]any)["DependsOn"])
			found = append(found, string(deps))
		}
	}
	require.Len(t, found, 1, prefix)
	return found[0]
}

// Destroy order of the hub's front door, from the reviews of the template's dependency edges:
//   - ACM refuses to delete a certificate a listener still uses (ResourceInUseException): the cluster-ops
//     resource, which waits on delete until the controller has removed the load balancer, depends on it;
//   - ExternalDNS must keep its role's policy until it has deleted the record (its Pod Identity association
//     reaches the role only through GetAtt Arn), and its namespaced Role goes into the hub's namespace
//     (chart 1.21.1 templates/clusterrole.yaml: namespace {{ .Values.sourceNamespace }}), which must exist.
func TestHubFrontDoorIsDeletedInAnOrderThatWorks(t *testing.T) {
	tpl := synth(t, "example").templates["Hub"]
	assert.Contains(t, dependsOnPrefixes(t, tpl, "HubClusterOpsE65954B1"), "HubCertificate")
	deps := dependsOnPrefixes(t, tpl, "HubClusterchartExternalDns")
	assert.Contains(t, deps, "HubExternalDnsRoleDefaultPolicy")
	assert.Contains(t, deps, "HubClustermanifestNamespace")
}

// TestControlPageFrontDoorInTheExample: the example's control.page.host is a name in its zone, so the
// Control stack (in the instance's region, where the HTTP API is: a regional custom domain takes its
// certificate from the API's region) makes the page's certificate, validated by DNS in the zone, an
// API Gateway domain name (regional, TLS_1_2, HTTP APIs' only TLS version) mapped to the page's API, and
// an alias A record to the domain's regional name. The page's client returns logins to the custom URL,
// which is also the PageUrl output.
func TestControlPageFrontDoorInTheExample(t *testing.T) {
	s := synth(t, "example")
	stack := s.stack(t, "Control")
	assert.Equal(t, "us-east-1", *stack.Region(), "the instance's region, the API's")
	tpl := template(stack)
	tpl.ResourceCountIs(jsii.String("AWS::CertificateManager::Certificate"), jsii.Number(1))
	tpl.HasResource(jsii.String("AWS::CertificateManager::Certificate"), map[string]any{
		"Properties": map[string]any{
			"DomainName": "control.example.org", "ValidationMethod": "DNS",
			"DomainValidationOptions": []any{map[string]any{"DomainName": "control.example.org", "HostedZoneId": exampleZoneID}},
			"Tags":                    assertions.Match_AnyValue(),
		},
		"DeletionPolicy": "Delete",
	})
	tpl.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::DomainName"), map[string]any{
		"DomainName": "control.example.org",
		"DomainNameConfigurations": []any{map[string]any{
			"CertificateArn": ref("PageDomainCertificate"), "EndpointType": "REGIONAL", "SecurityPolicy": "TLS_1_2"}},
		"Tags": assertions.Match_AnyValue(),
	})
	tpl.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::ApiMapping"), map[string]any{
		"ApiId": ref("PageApi"), "DomainName": ref("PageDomainName"), "Stage": "$default",
	})
	tpl.HasResourceProperties(jsii.String("AWS::Route53::RecordSet"), map[string]any{
		"Name": "control.example.org.", "Type": "A", "HostedZoneId": exampleZoneID,
		"AliasTarget": map[string]any{
			"DNSName":      map[string]any{"Fn::GetAtt": []any{assertions.Match_StringLikeRegexp(jsii.String("^PageDomainName")), "RegionalDomainName"}},
			"HostedZoneId": map[string]any{"Fn::GetAtt": []any{assertions.Match_StringLikeRegexp(jsii.String("^PageDomainName")), "RegionalHostedZoneId"}},
		},
	})
	tpl.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Api"), map[string]any{"DisableExecuteApiEndpoint": true})
	tpl.HasResourceProperties(jsii.String("AWS::Cognito::UserPoolClient"), map[string]any{
		"CallbackURLs": []any{"https://control.example.org/"}, "LogoutURLs": []any{"https://control.example.org/"},
	})
	outputs := s.templates["Control"]["Outputs"].(map[string]any)
	assert.Equal(t, "https://control.example.org/", outputs["PageUrl"].(map[string]any)["Value"])
	assert.NotContains(t, outputs, "PageDomainTarget", "the record is made: nothing to point by hand")
}

// pageWithCertificate is an instance with Auth and Control, the page on a host of the user's own with
// the user's certificate and no dns.
const pageWithCertificate = `env: {account: "123456789012", region: eu-west-1}
lifecycle: development
vpc: {type: new, availability_zones: [eu-west-1a, eu-west-1b]}
enabled: {auth: true, control: true}
control:
  environments:
    staging:
      stages: [{name: app, ec2: {tags: {Name: [app01]}}}]
  page:
    host: https://control.physics.example.edu
    certificate_arn: arn:aws:acm:eu-west-1:123456789012:certificate/0a1b2c3d-1234-5678-9abc-0123456789ab
`

// TestControlPageFrontDoorWithoutDNS: without dns the user's certificate is used, no record is made,
// and the stack says where to point a CNAME (the domain name's regional name).
func TestControlPageFrontDoorWithoutDNS(t *testing.T) {
	built, _ := buildInstance(t, "pagecert", pageWithCertificate)
	var control awscdk.Stack
	for _, s := range built.Stacks {
		if *s.Node().Id() == "Control" {
			control = s
		}
	}
	require.NotNil(t, control)
	tpl := template(control)
	tpl.ResourceCountIs(jsii.String("AWS::CertificateManager::Certificate"), jsii.Number(0))
	tpl.ResourceCountIs(jsii.String("AWS::Route53::RecordSet"), jsii.Number(0))
	tpl.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::DomainName"), map[string]any{
		"DomainName": "control.physics.example.edu",
		"DomainNameConfigurations": []any{map[string]any{
			"CertificateArn": "arn:aws:acm:eu-west-1:123456789012:certificate/0a1b2c3d-1234-5678-9abc-0123456789ab", "EndpointType": "REGIONAL", "SecurityPolicy": "TLS_1_2"}},
	})
	tpl.HasOutput(jsii.String("PageUrl"), map[string]any{"Value": "https://control.physics.example.edu/"})
	tpl.HasOutput(jsii.String("PageDomainTarget"), map[string]any{
		"Value": map[string]any{"Fn::GetAtt": []any{assertions.Match_StringLikeRegexp(jsii.String("^PageDomainName")), "RegionalDomainName"}},
	})
}

// TestHostedUIConsumersUseTheCustomDomain: with auth.custom_domain every consumer of the hosted UI uses
// it, so users log in on one name (one Cognito session cookie) for every front door:
//   - the jobs load balancer's authenticate-cognito action: its UserPoolDomain takes "the domain prefix
//     or fully-qualified domain name of the Amazon Cognito user pool" (ELBv2 API reference,
//     AuthenticateCognitoActionConfig), and CDK passes the domain's Ref, which is the custom name;
//   - the jobs web servers' COGNITO_DOMAIN: the hosted UI's host name, fully qualified;
//   - the hub's OAuth endpoints and the control page's hosted UI URL: https://<custom domain>.
func TestHostedUIConsumersUseTheCustomDomain(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "instance", "example.yaml"))
	require.NoError(t, err)
	file := strings.Replace(string(raw), "\nauth:\n", "\nauth:\n  custom_domain: auth.example.org\n", 1)
	require.Contains(t, file, "custom_domain: auth.example.org")
	built, _ := buildInstance(t, "cdomain", file)

	jobs := template(built.Jobs.Stack)
	jobs.HasResourceProperties(jsii.String("AWS::ElasticLoadBalancingV2::Listener"), map[string]any{
		"Port": 443,
		"DefaultActions": assertions.Match_ArrayWith(&[]any{map[string]any{"Type": "authenticate-cognito", "Order": 1,
			"AuthenticateCognitoConfig": assertions.Match_ObjectLike(&map[string]any{
				"UserPoolDomain": fromStack("cdomain-Auth", "AuthUserPoolCustomDomain"),
			})}}),
	})
	userData := asJSON(jobs.ToJSON())
	assert.Contains(t, userData, `COGNITO_DOMAIN=auth.example.org\n`, "the web servers get the custom host name")

	// The URL is https:// and the custom domain's Ref (its name), read from the Auth stack.
	for stack, tpl := range map[string]map[string]any{"Control": *template(built.Control.Stack).ToJSON(), "Hub": *template(built.Hub.Stack).ToJSON()} {
		all := asJSON(tpl)
		assert.Contains(t, all, "PublishOutputRefAuthUserPoolCustomDomain", "%s uses the custom domain", stack)
		assert.NotContains(t, all, "amazoncognito.com", "%s: no consumer left on the prefix domain", stack)
	}
}

// TestHostedUIHostWithoutCustomDomainIsThePrefixDomainsFullName: COGNITO_DOMAIN is the prefix domain's
// host name, <prefix>.auth.<region>.amazoncognito.com, so that https://$COGNITO_DOMAIN/logout works.
func TestHostedUIHostWithoutCustomDomainIsThePrefixDomainsFullName(t *testing.T) {
	userData := asJSON(synth(t, "example").templates["Jobs"])
	assert.True(t, regexp.MustCompile(`COGNITO_DOMAIN=",\{"Fn::GetStackOutput":\{"OutputName":"PublishOutputRefAuthUserPoolDomain[^}]*\}\},"\.auth\.us-east-1\.amazoncognito\.com\\n`).MatchString(userData),
		"COGNITO_DOMAIN is <prefix>.auth.us-east-1.amazoncognito.com")
}
