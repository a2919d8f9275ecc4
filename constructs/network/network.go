// Package network provides the VPC every stratolab module runs in.
//
// New builds one of three things, chosen by which props are set:
//
//   - a new VPC (the default): public and private subnets in each AZ, NAT gateways from 0 up,
//     S3 and DynamoDB gateway endpoints, all-traffic flow logs to CloudWatch Logs and a default
//     security group stripped of its rules. With NatGateways 0 the private subnets are isolated, so an
//     idle VPC costs nothing per hour, and workloads still reach S3 and DynamoDB through the endpoints;
//   - an existing VPC given by explicit attributes (Existing): VPC ID, AZs and subnet IDs. This
//     synthesizes offline and creates nothing;
//   - a VPC found through a CDK context lookup (Lookup): by ID, or the account's default VPC. The first
//     synth needs credentials; the CLI keeps the answer in cdk.context.json, and later synths read it
//     from there, offline. The stack must have an explicit account and region.
package network

import (
	"fmt"
	"net/netip"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
	"github.com/stratolab/stratolab/constructs/lifecycle"
	"github.com/stratolab/stratolab/internal/optional"
)

// Props configure a Network. Set at most one of Existing and Lookup; with neither, a new VPC is built.
type Props struct {
	// IPv4 CIDR of a new VPC.
	// Default: - 10.0.0.0/16
	Cidr string
	// Number of AZs of a new VPC, 1 to 6. Ignored when AvailabilityZones is set.
	// Default: - 2
	MaxAzs int
	// Explicit AZs of a new VPC. With them the synth needs no AZ lookup, so it runs offline.
	// Default: - the first MaxAzs AZs of the stack's region (from CDK context for an env-specific stack)
	AvailabilityZones []string
	// NAT gateways of a new VPC, 0 to the AZ count. With 0 the private subnets are isolated.
	// Default: - 0 (no hourly NAT charge)
	NatGateways int
	// Prefix length of each public subnet.
	// Default: - 24
	PublicSubnetMask int
	// Prefix length of each private subnet.
	// Default: - 19 (room for EKS pods, which take one address each)
	PrivateSubnetMask int
	// How long flow logs of a new VPC are kept.
	// Default: - awslogs.RetentionDays_ONE_MONTH
	FlowLogRetention awslogs.RetentionDays
	// Customer-managed KMS key for the flow log group. New grants CloudWatch Logs in this account use of it.
	// Default: - CloudWatch Logs' own encryption at rest
	FlowLogKey awskms.IKey
	// What happens to the flow log group on destroy.
	// Default: - lifecycle.Production(): the log group is retained
	Lifecycle lifecycle.Policy

	// Use an existing VPC by explicit attributes instead of building one.
	// Default: - a new VPC
	Existing *Existing
	// Find a VPC through a CDK context lookup instead of building one.
	// Default: - a new VPC
	Lookup *Lookup
}

// Existing describes a VPC that was made elsewhere, so that it can be used without a lookup.
type Existing struct {
	// The VPC ID, such as vpc-0123456789abcdef0. Required.
	VpcID string
	// The VPC's primary IPv4 CIDR.
	// Default: - unknown; constructs that need it (security group rules on the VPC CIDR) fail
	Cidr string
	// The AZs of the subnets, in the order of the subnet lists. Required.
	AvailabilityZones []string
	// Public subnet IDs, one per AZ.
	// Default: - none
	PublicSubnetIDs []string
	// Private subnet IDs, one per AZ. Required.
	PrivateSubnetIDs []string
	// The route table of each public subnet, in the order of PublicSubnetIDs.
	// Default: - unknown; the CDK warns, and cannot add routes to these subnets
	PublicRouteTableIDs []string
	// The route table of each private subnet, in the order of PrivateSubnetIDs.
	// Default: - unknown; the CDK warns, and cannot add routes to these subnets
	PrivateRouteTableIDs []string
}

// Lookup finds a VPC through CDK context.
type Lookup struct {
	// The VPC ID.
	// Default: - the account's default VPC
	VpcID string
}

// Network is the VPC and what came with it.
type Network struct {
	constructs.Construct
	// Vpc is the VPC, new or imported.
	Vpc awsec2.IVpc
	// FlowLogGroup receives the new VPC's flow logs. Nil for an existing or looked-up VPC, whose flow
	// logs belong to whoever owns it.
	FlowLogGroup awslogs.ILogGroup
}

// New creates the network. It panics, before creating anything, on props that cannot work.
func New(scope constructs.Construct, id string, props *Props) *Network {
	if props == nil {
		props = &Props{}
	}
	if err := props.check(); err != nil {
		panic(fmt.Sprintf("network %s: %v", id, err))
	}
	n := &Network{Construct: constructs.NewConstruct(scope, jsii.String(id))}
	switch {
	case props.Existing != nil:
		e := props.Existing
		n.Vpc = awsec2.Vpc_FromVpcAttributes(n.Construct, jsii.String("Vpc"), &awsec2.VpcAttributes{
			VpcId:             jsii.String(e.VpcID),
			VpcCidrBlock:      optional.String(e.Cidr),
			AvailabilityZones: jsii.Strings(e.AvailabilityZones...),
			PublicSubnetIds:   optional.Strings(e.PublicSubnetIDs),
			PrivateSubnetIds:  jsii.Strings(e.PrivateSubnetIDs...),

			PublicSubnetRouteTableIds:  optional.Strings(e.PublicRouteTableIDs),
			PrivateSubnetRouteTableIds: optional.Strings(e.PrivateRouteTableIDs),
		})
	case props.Lookup != nil:
		opts := &awsec2.VpcLookupOptions{VpcId: optional.String(props.Lookup.VpcID)}
		if props.Lookup.VpcID == "" {
			opts.IsDefault = jsii.Bool(true)
		}
		n.Vpc = awsec2.Vpc_FromLookup(n.Construct, jsii.String("Vpc"), opts)
	default:
		n.newVpc(props)
	}
	return n
}

func (n *Network) newVpc(p *Props) {
	private := awsec2.SubnetType_PRIVATE_ISOLATED
	if p.NatGateways > 0 {
		private = awsec2.SubnetType_PRIVATE_WITH_EGRESS
	}
	vp := &awsec2.VpcProps{
		IpAddresses: awsec2.IpAddresses_Cidr(jsii.String(or(p.Cidr, "10.0.0.0/16"))),
		NatGateways: jsii.Number(p.NatGateways),
		SubnetConfiguration: &[]*awsec2.SubnetConfiguration{
			{Name: jsii.String("Public"), SubnetType: awsec2.SubnetType_PUBLIC, CidrMask: jsii.Number(orInt(p.PublicSubnetMask, 24)),
				MapPublicIpOnLaunch: jsii.Bool(false)},
			{Name: jsii.String("Private"), SubnetType: private, CidrMask: jsii.Number(orInt(p.PrivateSubnetMask, 19))},
		},
		// Gateway endpoints are free. Without NAT they are the only way out to S3 and DynamoDB;
		// with NAT they keep that traffic off the NAT's per-GB charge.
		GatewayEndpoints: &map[string]*awsec2.GatewayVpcEndpointOptions{
			"S3":       {Service: awsec2.GatewayVpcEndpointAwsService_S3()},
			"DynamoDB": {Service: awsec2.GatewayVpcEndpointAwsService_DYNAMODB()},
		},
		RestrictDefaultSecurityGroup: jsii.Bool(true),
		EnableDnsHostnames:           jsii.Bool(true),
		EnableDnsSupport:             jsii.Bool(true),
	}
	if len(p.AvailabilityZones) > 0 {
		vp.AvailabilityZones = jsii.Strings(p.AvailabilityZones...)
	} else {
		vp.MaxAzs = jsii.Number(orInt(p.MaxAzs, 2))
	}
	vpc := awsec2.NewVpc(n.Construct, jsii.String("Vpc"), vp)
	n.Vpc = vpc

	policy := p.Lifecycle.OrDefault()
	retention := p.FlowLogRetention
	if retention == "" {
		retention = awslogs.RetentionDays_ONE_MONTH
	}
	if p.FlowLogKey != nil {
		allowLogsService(n.Construct, p.FlowLogKey)
	}
	group := awslogs.NewLogGroup(n.Construct, jsii.String("FlowLogs"), &awslogs.LogGroupProps{
		Retention:     retention,
		RemovalPolicy: policy.RemovalPolicy,
		EncryptionKey: p.FlowLogKey,
	})
	n.FlowLogGroup = group
	flowLog := vpc.AddFlowLog(jsii.String("FlowLog"), &awsec2.FlowLogOptions{
		Destination: awsec2.FlowLogDestination_ToCloudWatchLogs(group, nil),
		TrafficType: awsec2.FlowLogTrafficType_ALL,
	})

	// Findings of the NIST 800-53 and HIPAA packs that are the point of these resources.
	for _, s := range *vpc.PublicSubnets() {
		cdknag.NagSuppressions_AddResourceSuppressions(s, &[]*cdknag.NagPackSuppression{
			suppress("NIST.800.53.R5-VPCNoUnrestrictedRouteToIGW", "A public subnet's default route to the internet gateway is what makes it public: it holds only the internet-facing load balancers and the NAT gateways. Workloads run in the private subnets, which have no IGW route."),
			suppress("HIPAA.Security-VPCNoUnrestrictedRouteToIGW", "A public subnet's default route to the internet gateway is what makes it public: it holds only the internet-facing load balancers and the NAT gateways. Workloads run in the private subnets, which have no IGW route."),
		}, jsii.Bool(true))
	}
	cdknag.NagSuppressions_AddResourceSuppressions(flowLog, &[]*cdknag.NagPackSuppression{
		suppress("NIST.800.53.R5-IAMNoInlinePolicy", "The flow log delivery role's inline policy is generated by the CDK and grants only logs:CreateLogStream/PutLogEvents/DescribeLogStreams on this VPC's flow log group and iam:PassRole on the role itself; it is not reused elsewhere."),
		suppress("HIPAA.Security-IAMNoInlinePolicy", "The flow log delivery role's inline policy is generated by the CDK and grants only logs:CreateLogStream/PutLogEvents/DescribeLogStreams on this VPC's flow log group and iam:PassRole on the role itself; it is not reused elsewhere."),
	}, jsii.Bool(true))
}

// allowLogsService lets CloudWatch Logs in this account and region encrypt log groups with key, as the
// service requires of a customer-managed key. Keys imported from elsewhere need the same statement in
// their own policy.
func allowLogsService(scope constructs.Construct, key awskms.IKey) {
	stack := awscdk.Stack_Of(scope)
	key.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("AllowCloudWatchLogsInThisAccount"),
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("logs."+*stack.Region()+".amazonaws.com"), nil)},
		Actions:    jsii.Strings("kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"),
		// In a key policy, "*" is the key itself.
		Resources: jsii.Strings("*"),
		Conditions: &map[string]any{"ArnLike": map[string]any{
			"kms:EncryptionContext:aws:logs:arn": "arn:" + *stack.Partition() + ":logs:" + *stack.Region() + ":" + *stack.Account() + ":log-group:*",
		}},
	}), jsii.Bool(true))
}

func suppress(id, reason string) *cdknag.NagPackSuppression {
	return &cdknag.NagPackSuppression{Id: jsii.String(id), Reason: jsii.String(reason)}
}

func (p *Props) check() error {
	if p.Existing != nil && p.Lookup != nil {
		return fmt.Errorf("set Existing or Lookup, not both")
	}
	if e := p.Existing; e != nil {
		switch {
		case e.VpcID == "":
			return fmt.Errorf("Existing.VpcID is required")
		case len(e.AvailabilityZones) == 0:
			return fmt.Errorf("Existing.AvailabilityZones is required")
		case len(e.PrivateSubnetIDs) != len(e.AvailabilityZones):
			return fmt.Errorf("Existing.PrivateSubnetIDs has %d subnets for %d AZs (one per AZ)", len(e.PrivateSubnetIDs), len(e.AvailabilityZones))
		case len(e.PublicSubnetIDs) != 0 && len(e.PublicSubnetIDs) != len(e.AvailabilityZones):
			return fmt.Errorf("Existing.PublicSubnetIDs has %d subnets for %d AZs (one per AZ, or none)", len(e.PublicSubnetIDs), len(e.AvailabilityZones))
		case len(e.PrivateRouteTableIDs) != 0 && len(e.PrivateRouteTableIDs) != len(e.PrivateSubnetIDs):
			return fmt.Errorf("Existing.PrivateRouteTableIDs has %d route tables for %d subnets (one per subnet, or none)", len(e.PrivateRouteTableIDs), len(e.PrivateSubnetIDs))
		case len(e.PublicRouteTableIDs) != 0 && len(e.PublicRouteTableIDs) != len(e.PublicSubnetIDs):
			return fmt.Errorf("Existing.PublicRouteTableIDs has %d route tables for %d subnets (one per subnet, or none)", len(e.PublicRouteTableIDs), len(e.PublicSubnetIDs))
		}
		return nil
	}
	if p.Lookup != nil {
		return nil
	}
	if p.Cidr != "" {
		if c, err := netip.ParsePrefix(p.Cidr); err != nil || !c.Addr().Is4() || c.Masked() != c {
			return fmt.Errorf("Cidr %q is not an IPv4 network CIDR such as 10.0.0.0/16", p.Cidr)
		}
	}
	azs := len(p.AvailabilityZones)
	if azs == 0 {
		azs = orInt(p.MaxAzs, 2)
	}
	if azs < 1 || azs > 6 {
		return fmt.Errorf("%d AZs is out of range (1 to 6)", azs)
	}
	if p.NatGateways < 0 || p.NatGateways > azs {
		return fmt.Errorf("NatGateways %d is out of range (0 to the %d AZs)", p.NatGateways, azs)
	}
	return nil
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func orInt(i, def int) int {
	if i == 0 {
		return def
	}
	return i
}

// PinAvailabilityZones records azs as the answer to the CDK's availability-zones context lookup for
// account and region, so that stacks under scope know their AZs without calling AWS. A VPC given
// explicit AvailabilityZones still asks the stack for its AZs (to check the ones given are real), so
// without this an env-specific synth would need credentials. A value already in context, such as a
// real lookup kept in cdk.context.json, wins. Call it before scope has children.
func PinAvailabilityZones(scope constructs.Construct, account, region string, azs []string) {
	if account == "" || region == "" || len(azs) == 0 {
		return
	}
	key := jsii.String("availability-zones:account=" + account + ":region=" + region)
	if scope.Node().TryGetContext(key) != nil {
		return
	}
	scope.Node().SetContext(key, azs)
}
