package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsssm"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/stratolab/stratolab/constructs/lifecycle"
	"github.com/stratolab/stratolab/constructs/network"
	"github.com/stratolab/stratolab/instance"
)

// Base is <instance>/Base: the network every module runs in.
type Base struct {
	Stack   awscdk.Stack
	Network *network.Network
}

func newBase(in *Instance, cfg *instance.Config) *Base {
	s := in.newStack(cfg, "Base", "network")
	v := cfg.Vpc
	props := &network.Props{
		Cidr:              v.Cidr,
		MaxAzs:            v.MaxAzs,
		AvailabilityZones: v.AvailabilityZones,
		NatGateways:       v.NatGateways,
		PublicSubnetMask:  v.PublicSubnetMask,
		PrivateSubnetMask: v.PrivateSubnetMask,
		FlowLogRetention:  retentionDays(v.FlowLogRetentionDays),
		Lifecycle:         lifecycleFor(cfg, instance.LifecycleOverride{}),
	}
	switch v.Type {
	case "existing":
		props.Existing = &network.Existing{
			VpcID:             v.VpcID,
			Cidr:              v.Cidr,
			AvailabilityZones: v.AvailabilityZones,
			PublicSubnetIDs:   v.PublicSubnetIDs,
			PrivateSubnetIDs:  v.PrivateSubnetIDs,

			PublicRouteTableIDs:  v.PublicRouteTableIDs,
			PrivateRouteTableIDs: v.PrivateRouteTableIDs,
		}
	case "lookup":
		props.Lookup = &network.Lookup{VpcID: v.VpcID}
	}
	if v.Type == "new" && needsCustomerManagedKeys(cfg) {
		props.FlowLogKey = logsKey(s, lifecycleFor(cfg, instance.LifecycleOverride{}))
	}
	n := network.New(s, "Network", props)
	awscdk.NewCfnOutput(s, jsii.String("VpcId"), &awscdk.CfnOutputProps{
		Value:       n.Vpc.VpcId(),
		Description: jsii.String("The instance's VPC"),
	})
	publishNetwork(s, cfg.Name, n)
	return &Base{Stack: s, Network: n}
}

// publishNetwork writes the instance's network to SSM parameters under /stratolab/<instance>/network/,
// so that tools and other CDK apps can find it without knowing how it was made. It also keeps Base
// deployable when the VPC is existing or looked up, and Base would otherwise hold no resource at all.
func publishNetwork(scope constructs.Construct, name string, n *network.Network) {
	subnetIDs := func(subnets *[]awsec2.ISubnet) *string {
		ids := make([]*string, 0, len(*subnets))
		for _, sn := range *subnets {
			ids = append(ids, sn.SubnetId())
		}
		if len(ids) == 0 {
			return jsii.String("none")
		}
		return awscdk.Fn_Join(jsii.String(","), &ids)
	}
	params := []struct {
		id, key, desc string
		value         *string
	}{
		{"VpcIdParameter", "vpc-id", "VPC ID", n.Vpc.VpcId()},
		{"PrivateSubnetsParameter", "private-subnet-ids", "private subnet IDs, comma-separated, one per AZ", subnetIDs(n.Vpc.PrivateSubnets())},
		{"IsolatedSubnetsParameter", "isolated-subnet-ids", "isolated subnet IDs (private subnets without NAT), comma-separated", subnetIDs(n.Vpc.IsolatedSubnets())},
		{"PublicSubnetsParameter", "public-subnet-ids", "public subnet IDs, comma-separated", subnetIDs(n.Vpc.PublicSubnets())},
		{"AvailabilityZonesParameter", "availability-zones", "availability zones, comma-separated", awscdk.Fn_Join(jsii.String(","), n.Vpc.AvailabilityZones())},
	}
	for _, p := range params {
		awsssm.NewStringParameter(scope, jsii.String(p.id), &awsssm.StringParameterProps{
			ParameterName: jsii.String("/stratolab/" + name + "/network/" + p.key),
			StringValue:   p.value,
			Description:   jsii.String("stratolab " + name + ": the instance's " + p.desc),
		})
	}
}

// needsCustomerManagedKeys: the NIST 800-53 and HIPAA packs require logs encrypted with a customer-managed
// KMS key, where AwsSolutions accepts CloudWatch Logs' own encryption.
func needsCustomerManagedKeys(cfg *instance.Config) bool {
	for _, p := range cfg.Compliance.Packs {
		if p == "NIST80053R5" || p == "HIPAA" {
			return true
		}
	}
	return false
}

// logsKey is the instance's customer-managed key for log groups, rotated yearly. In development it is
// scheduled for deletion (the minimum 7-day window) on destroy; in production it is kept, since the logs
// it encrypts are kept.
func logsKey(scope constructs.Construct, policy lifecycle.Policy) awskms.Key {
	return awskms.NewKey(scope, jsii.String("LogsKey"), &awskms.KeyProps{
		Description:       jsii.String("Encrypts the instance's CloudWatch log groups"),
		EnableKeyRotation: jsii.Bool(true),
		PendingWindow:     awscdk.Duration_Days(jsii.Number(7)),
		RemovalPolicy:     policy.RemovalPolicy,
	})
}

// retentionDays maps a validated number of days onto CloudWatch's retention enum.
func retentionDays(days int) awslogs.RetentionDays {
	switch days {
	case 1:
		return awslogs.RetentionDays_ONE_DAY
	case 3:
		return awslogs.RetentionDays_THREE_DAYS
	case 5:
		return awslogs.RetentionDays_FIVE_DAYS
	case 7:
		return awslogs.RetentionDays_ONE_WEEK
	case 14:
		return awslogs.RetentionDays_TWO_WEEKS
	case 30:
		return awslogs.RetentionDays_ONE_MONTH
	case 60:
		return awslogs.RetentionDays_TWO_MONTHS
	case 90:
		return awslogs.RetentionDays_THREE_MONTHS
	case 120:
		return awslogs.RetentionDays_FOUR_MONTHS
	case 150:
		return awslogs.RetentionDays_FIVE_MONTHS
	case 180:
		return awslogs.RetentionDays_SIX_MONTHS
	case 365:
		return awslogs.RetentionDays_ONE_YEAR
	case 400:
		return awslogs.RetentionDays_THIRTEEN_MONTHS
	case 545:
		return awslogs.RetentionDays_EIGHTEEN_MONTHS
	case 731:
		return awslogs.RetentionDays_TWO_YEARS
	case 1096:
		return awslogs.RetentionDays_THREE_YEARS
	case 1827:
		return awslogs.RetentionDays_FIVE_YEARS
	case 2192:
		return awslogs.RetentionDays_SIX_YEARS
	case 2557:
		return awslogs.RetentionDays_SEVEN_YEARS
	case 2922:
		return awslogs.RetentionDays_EIGHT_YEARS
	case 3288:
		return awslogs.RetentionDays_NINE_YEARS
	case 3653:
		return awslogs.RetentionDays_TEN_YEARS
	}
	return "" // unreachable for a validated config; the construct then uses its default
}
