package test

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/jsii-runtime-go"
	"github.com/stratolab/stratolab/constructs/lifecycle"
	"github.com/stratolab/stratolab/constructs/network"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// networkCases are built into one app and synthesized once.
type networkCases struct {
	app                              awscdk.App
	nat0, nat1, nat2, prod, existing awscdk.Stack
	lookup                           awscdk.Stack
	nat0Net, existingNet, lookupNet  *network.Network
}

var networks = sync.OnceValue(func() *networkCases {
	c := &networkCases{app: newApp(nil)}
	env := &awscdk.Environment{Account: jsii.String("123456789012"), Region: jsii.String("us-east-1")}
	stack := func(id string) awscdk.Stack {
		return awscdk.NewStack(c.app, jsii.String(id), &awscdk.StackProps{Env: env})
	}
	azs := []string{"us-east-1a", "us-east-1b"}
	network.PinAvailabilityZones(c.app, "123456789012", "us-east-1", azs)

	c.nat0 = stack("Nat0")
	c.nat0Net = network.New(c.nat0, "Network", &network.Props{AvailabilityZones: azs, Lifecycle: lifecycle.Development(),
		FlowLogRetention: awslogs.RetentionDays_TWO_WEEKS})
	c.nat1 = stack("Nat1")
	network.New(c.nat1, "Network", &network.Props{AvailabilityZones: azs, NatGateways: 1, Cidr: "10.1.0.0/16"})
	c.nat2 = stack("Nat2")
	network.New(c.nat2, "Network", &network.Props{AvailabilityZones: azs, NatGateways: 2})
	c.prod = stack("Prod")
	network.New(c.prod, "Network", &network.Props{AvailabilityZones: azs, Lifecycle: lifecycle.Production()})
	c.existing = stack("Existing")
	c.existingNet = network.New(c.existing, "Network", &network.Props{Existing: &network.Existing{
		VpcID:             "vpc-0123456789abcdef0",
		Cidr:              "172.31.0.0/16",
		AvailabilityZones: azs,
		PublicSubnetIDs:   []string{"subnet-0aaa1111bbbb2222c", "subnet-0ddd3333eeee4444f"},
		PrivateSubnetIDs:  []string{"subnet-0123456789abcdef0", "subnet-0fedcba9876543210"},

		PublicRouteTableIDs:  []string{"rtb-0aaaaaaaaaaaaaaa0", "rtb-0aaaaaaaaaaaaaaa0"},
		PrivateRouteTableIDs: []string{"rtb-01111111111111111", "rtb-02222222222222222"},
	}})
	c.lookup = stack("Lookup")
	c.lookupNet = network.New(c.lookup, "Network", &network.Props{Lookup: &network.Lookup{}})
	// What a module does with an imported VPC: put a security group in it.
	for _, s := range []struct {
		stack awscdk.Stack
		net   *network.Network
	}{{c.existing, c.existingNet}, {c.lookup, c.lookupNet}} {
		awsec2.NewSecurityGroup(s.stack, jsii.String("App"), &awsec2.SecurityGroupProps{Vpc: s.net.Vpc, Description: jsii.String("app")})
	}
	c.app.Synth(nil)
	return c
})

func template(s awscdk.Stack) assertions.Template { return assertions.Template_FromStack(s, nil) }

func TestNetworkWithoutNATIsIsolatedWithGatewayEndpoints(t *testing.T) {
	tpl := template(networks().nat0)
	tpl.ResourceCountIs(jsii.String("AWS::EC2::VPC"), jsii.Number(1))
	tpl.ResourceCountIs(jsii.String("AWS::EC2::NatGateway"), jsii.Number(0))
	tpl.ResourceCountIs(jsii.String("AWS::EC2::EIP"), jsii.Number(0))
	tpl.ResourceCountIs(jsii.String("AWS::EC2::Subnet"), jsii.Number(4))
	tpl.HasResourceProperties(jsii.String("AWS::EC2::VPC"), map[string]any{
		"CidrBlock": "10.0.0.0/16", "EnableDnsHostnames": true, "EnableDnsSupport": true,
	})
	// Private subnets are isolated: tagged so, /19 wide, and without a default route.
	tpl.ResourcePropertiesCountIs(jsii.String("AWS::EC2::Subnet"), map[string]any{
		"CidrBlock": assertions.Match_StringLikeRegexp(jsii.String(`/19$`)),
		"Tags":      assertions.Match_ArrayWith(&[]any{map[string]any{"Key": "aws-cdk:subnet-type", "Value": "Isolated"}}),
	}, jsii.Number(2))
	tpl.ResourcePropertiesCountIs(jsii.String("AWS::EC2::Subnet"), map[string]any{
		"MapPublicIpOnLaunch": false,
		"Tags":                assertions.Match_ArrayWith(&[]any{map[string]any{"Key": "aws-cdk:subnet-type", "Value": "Public"}}),
	}, jsii.Number(2))
	tpl.ResourcePropertiesCountIs(jsii.String("AWS::EC2::Route"), map[string]any{
		"DestinationCidrBlock": "0.0.0.0/0", "NatGatewayId": assertions.Match_AnyValue(),
	}, jsii.Number(0))
	// S3 and DynamoDB stay reachable through free gateway endpoints.
	for _, svc := range []string{"s3", "dynamodb"} {
		tpl.HasResourceProperties(jsii.String("AWS::EC2::VPCEndpoint"), map[string]any{
			"VpcEndpointType": "Gateway",
			"ServiceName": map[string]any{"Fn::Join": []any{"", []any{
				"com.amazonaws.", map[string]any{"Ref": "AWS::Region"}, "." + svc}}},
		})
	}
	tpl.ResourceCountIs(jsii.String("AWS::EC2::VPCEndpoint"), jsii.Number(2))
}

func TestNetworkFlowLogsGoToCloudWatchWithRetention(t *testing.T) {
	tpl := template(networks().nat0)
	tpl.HasResourceProperties(jsii.String("AWS::EC2::FlowLog"), map[string]any{
		"ResourceType":       "VPC",
		"TrafficType":        "ALL",
		"LogDestinationType": "cloud-watch-logs",
		"LogGroupName":       map[string]any{"Ref": assertions.Match_StringLikeRegexp(jsii.String("^NetworkFlowLogs"))},
	})
	tpl.HasResourceProperties(jsii.String("AWS::Logs::LogGroup"), map[string]any{"RetentionInDays": 14})
	// The flow log role can write only to its own log group.
	tpl.HasResourceProperties(jsii.String("AWS::IAM::Policy"), map[string]any{
		"PolicyDocument": map[string]any{"Statement": assertions.Match_ArrayWith(&[]any{map[string]any{
			"Action":   assertions.Match_ArrayWith(&[]any{"logs:CreateLogStream", "logs:PutLogEvents"}),
			"Effect":   "Allow",
			"Resource": map[string]any{"Fn::GetAtt": []any{assertions.Match_StringLikeRegexp(jsii.String("^NetworkFlowLogs")), "Arn"}},
		}})},
	})
}

func TestNetworkRestrictsDefaultSecurityGroup(t *testing.T) {
	template(networks().nat0).HasResourceProperties(jsii.String("Custom::VpcRestrictDefaultSG"), map[string]any{
		"DefaultSecurityGroupId": map[string]any{"Fn::GetAtt": []any{assertions.Match_StringLikeRegexp(jsii.String("^NetworkVpc")), "DefaultSecurityGroup"}},
	})
}

func TestNetworkWithOneNATRoutesEveryPrivateSubnetThroughIt(t *testing.T) {
	tpl := template(networks().nat1)
	tpl.ResourceCountIs(jsii.String("AWS::EC2::NatGateway"), jsii.Number(1))
	tpl.HasResourceProperties(jsii.String("AWS::EC2::VPC"), map[string]any{"CidrBlock": "10.1.0.0/16"})
	tpl.ResourcePropertiesCountIs(jsii.String("AWS::EC2::Subnet"), map[string]any{
		"Tags": assertions.Match_ArrayWith(&[]any{map[string]any{"Key": "aws-cdk:subnet-type", "Value": "Private"}}),
	}, jsii.Number(2))
	tpl.ResourcePropertiesCountIs(jsii.String("AWS::EC2::Route"), map[string]any{
		"DestinationCidrBlock": "0.0.0.0/0", "NatGatewayId": assertions.Match_AnyValue(),
	}, jsii.Number(2))
	tpl.ResourceCountIs(jsii.String("AWS::EC2::VPCEndpoint"), jsii.Number(2))
}

func TestNetworkWithTwoNATsHasOnePerAZ(t *testing.T) {
	tpl := template(networks().nat2)
	tpl.ResourceCountIs(jsii.String("AWS::EC2::NatGateway"), jsii.Number(2))
	tpl.ResourceCountIs(jsii.String("AWS::EC2::EIP"), jsii.Number(2))
	tpl.HasResourceProperties(jsii.String("AWS::EC2::Subnet"), map[string]any{"AvailabilityZone": "us-east-1a"})
	tpl.HasResourceProperties(jsii.String("AWS::EC2::Subnet"), map[string]any{"AvailabilityZone": "us-east-1b"})
}

func TestNetworkFlowLogGroupFollowsLifecycle(t *testing.T) {
	template(networks().nat0).HasResource(jsii.String("AWS::Logs::LogGroup"), map[string]any{
		"DeletionPolicy": "Delete", "UpdateReplacePolicy": "Delete",
	})
	template(networks().prod).HasResource(jsii.String("AWS::Logs::LogGroup"), map[string]any{
		"DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain",
	})
	// Without a lifecycle the construct keeps the logs, like the CDK's own stateful constructs.
	template(networks().nat1).HasResource(jsii.String("AWS::Logs::LogGroup"), map[string]any{"DeletionPolicy": "Retain"})
}

func TestNetworkExistingVpcUsesGivenAttributesAndCreatesNothing(t *testing.T) {
	c := networks()
	n := c.existingNet
	assert.Equal(t, "vpc-0123456789abcdef0", *n.Vpc.VpcId())
	assert.Equal(t, "172.31.0.0/16", *n.Vpc.VpcCidrBlock())
	assert.Equal(t, []string{"us-east-1a", "us-east-1b"}, derefAll(n.Vpc.AvailabilityZones()))
	var private, public, privateRoutes, publicRoutes []string
	for _, s := range *n.Vpc.PrivateSubnets() {
		private = append(private, *s.SubnetId())
		privateRoutes = append(privateRoutes, *s.RouteTable().RouteTableId())
	}
	for _, s := range *n.Vpc.PublicSubnets() {
		public = append(public, *s.SubnetId())
		publicRoutes = append(publicRoutes, *s.RouteTable().RouteTableId())
	}
	assert.Equal(t, []string{"subnet-0123456789abcdef0", "subnet-0fedcba9876543210"}, private)
	assert.Equal(t, []string{"subnet-0aaa1111bbbb2222c", "subnet-0ddd3333eeee4444f"}, public)
	// With their route tables given, the subnets can be routed, and the CDK has nothing to warn about.
	assert.Equal(t, []string{"rtb-01111111111111111", "rtb-02222222222222222"}, privateRoutes)
	assert.Equal(t, []string{"rtb-0aaaaaaaaaaaaaaa0", "rtb-0aaaaaaaaaaaaaaa0"}, publicRoutes)
	assert.Empty(t, *assertions.Annotations_FromStack(c.existing).FindWarning(jsii.String("*"), assertions.Match_AnyValue()))
	assert.Nil(t, n.FlowLogGroup)
	tpl := template(c.existing)
	for _, typ := range []string{"AWS::EC2::VPC", "AWS::EC2::Subnet", "AWS::EC2::FlowLog", "AWS::Logs::LogGroup"} {
		tpl.ResourceCountIs(jsii.String(typ), jsii.Number(0))
	}
	tpl.HasResourceProperties(jsii.String("AWS::EC2::SecurityGroup"), map[string]any{"VpcId": "vpc-0123456789abcdef0"})
	// And it needed no lookup: nothing is missing from context.
	assert.Empty(t, missingContext(c, "Existing"))
}

func TestNetworkLookupGoesThroughContextForTheDefaultVpc(t *testing.T) {
	c := networks()
	missing := missingContext(c, "Lookup")
	require.Len(t, missing, 1)
	assert.Equal(t, "VPC_PROVIDER", missing[0].provider)
	assert.Contains(t, missing[0].key, "filter.isDefault=true")
	assert.Contains(t, missing[0].key, "account=123456789012")
}

type missing struct{ key, provider string }

// missingContext lists the context lookups the assembly still needs for one stack's account.
func missingContext(c *networkCases, stackID string) []missing {
	var out []missing
	for _, m := range *c.app.Synth(nil).Manifest().Missing {
		lookup := strings.HasPrefix(*m.Key, "vpc-provider:")
		if lookup == (stackID == "Lookup") {
			out = append(out, missing{key: *m.Key, provider: string(m.Provider)})
		}
	}
	return out
}

func TestNetworkRejectsImpossibleProps(t *testing.T) {
	app := newApp(nil)
	stack := awscdk.NewStack(app, jsii.String("Bad"), nil)
	for _, tc := range []struct {
		name  string
		props *network.Props
		want  string
	}{
		{"more NAT gateways than AZs", &network.Props{MaxAzs: 2, NatGateways: 3}, "NatGateways 3 is out of range"},
		{"seven AZs", &network.Props{MaxAzs: 7}, "7 AZs is out of range"},
		{"CIDR with host bits", &network.Props{Cidr: "10.0.0.1/16"}, `Cidr "10.0.0.1/16"`},
		{"existing and lookup together", &network.Props{Existing: &network.Existing{}, Lookup: &network.Lookup{}}, "not both"},
		{"existing without private subnets", &network.Props{Existing: &network.Existing{VpcID: "vpc-12345678", AvailabilityZones: []string{"us-east-1a"}}},
			"PrivateSubnetIDs has 0 subnets for 1 AZs"},
		{"existing with a route table short", &network.Props{Existing: &network.Existing{VpcID: "vpc-12345678", AvailabilityZones: []string{"us-east-1a", "us-east-1b"},
			PrivateSubnetIDs: []string{"subnet-12345678", "subnet-87654321"}, PrivateRouteTableIDs: []string{"rtb-12345678"}}},
			"PrivateRouteTableIDs has 1 route tables for 2 subnets"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msg := panicMessage(func() { network.New(stack, "Net", tc.props) })
			assert.Contains(t, msg, "network Net: ")
			assert.Contains(t, msg, tc.want)
		})
	}
	// Nothing was created by the rejected props.
	assert.Empty(t, *stack.Node().Children())
}

func panicMessage(f func()) (msg string) {
	defer func() {
		if r := recover(); r != nil {
			msg = fmt.Sprint(r)
		}
	}()
	f()
	return "did not panic"
}

func derefAll(ps *[]*string) []string {
	var out []string
	for _, p := range *ps {
		out = append(out, *p)
	}
	return out
}
