package hub

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseksv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// DefaultExternalDNSChart is the external-dns chart (kubernetes-sigs/external-dns, tag
// external-dns-helm-chart-1.21.1), whose appVersion is ExternalDNS v0.21.0.
const DefaultExternalDNSChart = "1.21.1"

// ExternalDNS's place in the cluster.
const (
	ExternalDNSNamespace      = "external-dns"
	ExternalDNSServiceAccount = "external-dns"
)

// ExternalDNSRecordNames are the names ExternalDNS writes for the hub's host (lowercase, no trailing
// dot, as Route 53 normalizes them for the route53:ChangeResourceRecordSetsNormalizedRecordNames
// condition): the alias record itself, and its TXT registry record. ExternalDNS v0.18+ names the TXT
// record <type>-<first label>.<rest> (docs/registry/txt.md, "For version v0.18+"; registry/mapper
// ToTXTName), and an AWS alias A record is encoded as type "cname" (registry/txt/registry.go,
// generateTXTRecordWithFilter: "AWS Alias records are encoded as type cname"): so hub.example.edu and
// cname-hub.example.edu. A host at the zone's apex would put the TXT record outside the zone, which is
// why hub.host may not be the apex.
func ExternalDNSRecordNames(host string) []string {
	return []string{host, "cname-" + host}
}

// newExternalDNS runs ExternalDNS for the hub's Ingress only: it watches Ingresses in the hub's
// namespace and writes the host's alias record to the load balancer the AWS Load Balancer Controller
// made, in the one hosted zone, under a role that may change only the hub's names there.
//
// Policy sync, not upsert-only: the record lives and dies with the Ingress (the load balancer), so that
// a destroy, which uninstalls JupyterHub and with it the Ingress while ExternalDNS still runs, deletes the
// record instead of leaving a name that points at a deleted load balancer. The role's conditions, the
// zone ID filter and the TXT owner ID keep sync from touching any other record of the zone.
func (h *Hub) newExternalDNS() awseksv2.HelmChart {
	p := h.p
	zoneArn := "arn:" + *awscdk.Aws_PARTITION() + ":route53:::hostedzone/" + *p.Domain.Zone.HostedZoneId()
	role := h.podRole("ExternalDnsRole", "ExternalDNS of "+p.ClusterName+": the hub's record in "+*p.Domain.Zone.ZoneName())
	role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("ChangeTheHubsRecords"),
		Actions:   jsii.Strings("route53:ChangeResourceRecordSets"),
		Resources: jsii.Strings(zoneArn),
		// Route 53's condition keys for ChangeResourceRecordSets (Route 53 developer guide, "Using IAM
		// policy conditions for fine-grained access control"): each change's name, type and action must
		// be one of these. ExternalDNS's AWS tutorial ("IAM Permissions with ABAC") uses the same keys.
		Conditions: &map[string]any{"ForAllValues:StringEquals": map[string]any{
			"route53:ChangeResourceRecordSetsNormalizedRecordNames": ExternalDNSRecordNames(p.Domain.Name),
			"route53:ChangeResourceRecordSetsRecordTypes":           []string{"A", "TXT"},
			"route53:ChangeResourceRecordSetsActions":               []string{"CREATE", "UPSERT", "DELETE"},
		}},
	}))
	role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("ReadTheZone"),
		Actions:   jsii.Strings("route53:ListResourceRecordSets", "route53:ListTagsForResource", "route53:ListTagsForResources"),
		Resources: jsii.Strings(zoneArn),
	}))
	role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("FindTheZone"),
		Actions:   jsii.Strings("route53:ListHostedZones"),
		Resources: jsii.Strings("*"),
	}))
	cdknag.NagSuppressions_AddResourceSuppressions(role, &[]*cdknag.NagPackSuppression{{
		Id: jsii.String("AwsSolutions-IAM5"),
		Reason: jsii.String("route53:ListHostedZones takes no resource ARN (Route 53 service authorization reference) and ExternalDNS calls it to find the zone it " +
			"filters on; every change is limited to one hosted zone and, by condition, to the hub's own record names, types and actions."),
		AppliesTo: &[]any{"Resource::*"},
	}}, jsii.Bool(true))
	identity := awseksv2.NewCfnPodIdentityAssociation(h.Construct, jsii.String("ExternalDnsIdentity"), &awseksv2.CfnPodIdentityAssociationProps{
		ClusterName: h.cluster.ClusterName(), Namespace: jsii.String(ExternalDNSNamespace),
		ServiceAccount: jsii.String(ExternalDNSServiceAccount), RoleArn: role.RoleArn(),
	})
	chart := h.cluster.AddHelmChart(jsii.String("ExternalDns"), &awseksv2.HelmChartOptions{
		Chart: jsii.String("external-dns"), Repository: jsii.String("https://kubernetes-sigs.github.io/external-dns/"),
		Version: jsii.String(p.ExternalDNSChart), Namespace: jsii.String(ExternalDNSNamespace), CreateNamespace: jsii.Bool(true),
		Release: jsii.String("external-dns"), Values: &map[string]any{
			"provider":       map[string]any{"name": "aws"},
			"serviceAccount": map[string]any{"create": true, "name": ExternalDNSServiceAccount},
			// Ingresses only, and only the hub's namespace: namespaced makes the chart pass --namespace
			// (sourceNamespace) and bind a Role there instead of a ClusterRole.
			"sources":         []any{"ingress"},
			"namespaced":      true,
			"sourceNamespace": Namespace,
			"policy":          "sync",
			"registry":        "txt",
			"txtOwnerId":      p.DNSOwner,
			"domainFilters":   []any{*p.Domain.Zone.ZoneName()},
			// An alias to the load balancer is an A record; its TXT record is the registry's.
			"managedRecordTypes": []any{"A"},
			// The record is written soon after the controller gives the Ingress its load balancer.
			"triggerLoopOnEvent": true,
			"extraArgs": []any{
				"--zone-id-filter=" + *p.Domain.Zone.HostedZoneId(),
				"--aws-zone-type=public",
				// ExternalDNS makes an AAAA alias beside every A alias, "even for load balancers that do not
				// have dualstack enabled" (docs/tutorials/aws.md); the hub's load balancer is ipv4 (the
				// Ingress sets no ip-address-type), so an AAAA would resolve to nothing.
				"--exclude-record-types=AAAA",
			},
			"env":          []any{map[string]any{"name": "AWS_DEFAULT_REGION", "value": awscdk.Stack_Of(h.Construct).Region()}},
			"nodeSelector": map[string]any{NodePurposeLabel: "core"},
		},
	})
	// The Pod Identity agent injects credentials only into pods admitted after the association exists.
	// And on destroy it must keep its role's policy until it has deleted the record: the association
	// reaches the role only through its ARN, so without this edge CloudFormation may delete the policy
	// first and ExternalDNS's ChangeResourceRecordSets is denied, leaving the record behind.
	chart.Node().AddDependency(identity, role, h.podIdentityAgent)
	return chart
}
