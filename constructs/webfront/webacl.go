package webfront

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awselasticloadbalancingv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awswafv2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// WebACLRuleGroups are the AWS managed rule groups every web ACL of ours runs, in priority order:
// known bad inputs (request patterns of known exploits: Log4j, Java deserialization, localhost Host
// headers) and the Amazon IP reputation list (sources AWS threat intelligence has seen attack). Both
// match patterns and sources, not request sizes or ordinary text, so none of the services behind them
// loses legitimate requests. The core rule set (AWSManagedRulesCommonRuleSet) is left out for each of
// them (AWS WAF Developer Guide, "Baseline rule groups"): its SizeRestrictions_BODY blocks bodies over
// 8 KB, which cuts off job uploads through the jobs web server and notebook saves through the hub
// (Jupyter's contents API PUTs the whole notebook); its CrossSiteScripting_BODY flags the HTML a
// notebook's outputs carry; and lookup's query API is called by cataloguing tools and scripts that may
// send no User-Agent (NoUserAgent_HEADER) with free-text search terms in the query string.
var WebACLRuleGroups = []string{"AWSManagedRulesKnownBadInputsRuleSet", "AWSManagedRulesAmazonIpReputationList"}

// WebACLProps configure NewWebACL.
type WebACLProps struct {
	// What the ACL protects, for its description: "Job web server", "Lookup service". Required.
	Purpose string
	// The web ACL's CloudWatch metric name (letters, digits, - and _). Required.
	MetricName string
	// The load balancer to associate the ACL with (AWS::WAFv2::WebACLAssociation).
	// Default: - no association: the caller associates it, as the AWS Load Balancer Controller does
	// through the Ingress annotation alb.ingress.kubernetes.io/wafv2-acl-arn
	LoadBalancer awselasticloadbalancingv2.IApplicationLoadBalancer
	// How long the ACL's request logs are kept. Default: - awslogs.RetentionDays_THREE_MONTHS
	LogRetention awslogs.RetentionDays
	// What happens to the log group on destroy. Default: - awscdk.RemovalPolicy_RETAIN
	LogRemovalPolicy awscdk.RemovalPolicy
	// The log group's customer-managed key. Default: - none here (a stack may add its own later)
	LogsKey awskms.IKey
}

// WebACL is an AWS WAF web ACL for an Application Load Balancer, its log group and logging.
type WebACL struct {
	ACL awswafv2.CfnWebACL
	// Arn is the ACL's ARN, a token.
	Arn      *string
	LogGroup awslogs.LogGroup
	Logging  awswafv2.CfnLoggingConfiguration
	// Association ties the ACL to LoadBalancer; nil without one.
	Association awswafv2.CfnWebACLAssociation
}

// NewWebACL adds a web ACL that allows by default and runs WebACLRuleGroups (NIST 800-53 AC-4(21),
// SC-7; cdk-nag ALBWAFEnabled). WAFv2 web ACLs for an Application Load Balancer have Scope REGIONAL
// and live in the load balancer's region (AWS::WAFv2::WebACL Scope), which is the stack's.
//
// Its resources are children of scope, named id, id+"Logs", id+"Logging" and id+"Association", so that
// a caller keeps the logical IDs it had before the ACL moved here. It panics without Purpose or
// MetricName.
//
// Delete order: AWS WAF refuses to delete a web ACL that is still associated with a resource
// (WAFAssociatedItemException). An AWS::WAFv2::WebACLAssociation references the ACL, so CloudFormation
// deletes it first; an association made outside CloudFormation must be gone before the ACL is deleted
// (make what removes it depend on the ACL).
func NewWebACL(scope constructs.Construct, id string, p *WebACLProps) *WebACL {
	if p == nil || p.Purpose == "" || p.MetricName == "" {
		panic(fmt.Sprintf("webfront.NewWebACL %s: Purpose and MetricName are required", id))
	}
	rules := make([]any, 0, len(WebACLRuleGroups))
	for i, name := range WebACLRuleGroups {
		rules = append(rules, &awswafv2.CfnWebACL_RuleProperty{
			Name: jsii.String(name), Priority: jsii.Number(i),
			// The rule group's own actions (block) apply.
			OverrideAction: &awswafv2.CfnWebACL_OverrideActionProperty{None: map[string]any{}},
			Statement: &awswafv2.CfnWebACL_StatementProperty{ManagedRuleGroupStatement: &awswafv2.CfnWebACL_ManagedRuleGroupStatementProperty{
				VendorName: jsii.String("AWS"), Name: jsii.String(name),
			}},
			VisibilityConfig: &awswafv2.CfnWebACL_VisibilityConfigProperty{
				CloudWatchMetricsEnabled: jsii.Bool(true), MetricName: jsii.String(name), SampledRequestsEnabled: jsii.Bool(true),
			},
		})
	}
	w := &WebACL{}
	w.ACL = awswafv2.NewCfnWebACL(scope, jsii.String(id), &awswafv2.CfnWebACLProps{
		Scope:         jsii.String("REGIONAL"),
		DefaultAction: &awswafv2.CfnWebACL_DefaultActionProperty{Allow: map[string]any{}},
		Description:   jsii.String(p.Purpose + ": AWS managed known-bad-inputs and IP reputation rules"),
		Rules:         &rules,
		VisibilityConfig: &awswafv2.CfnWebACL_VisibilityConfigProperty{
			CloudWatchMetricsEnabled: jsii.Bool(true), MetricName: jsii.String(p.MetricName), SampledRequestsEnabled: jsii.Bool(true),
		},
	})
	w.Arn = w.ACL.AttrArn()
	retention := p.LogRetention
	if retention == "" {
		retention = awslogs.RetentionDays_THREE_MONTHS
	}
	removal := p.LogRemovalPolicy
	if removal == "" {
		removal = awscdk.RemovalPolicy_RETAIN
	}
	// WAF logs to CloudWatch Logs go to a log group whose name starts aws-waf-logs- (AWS WAF Developer
	// Guide, "Sending web ACL traffic logs to an Amazon CloudWatch Logs log group"), so the name is
	// ours, not CloudFormation's. A retained group outlives its stack, and a second deploy of the same
	// instance would fail on a fixed name ("already exists"): the name ends with the last part of the
	// stack's ID, a UUID new at each stack creation (arn:...:stack/NAME/UUID).
	stackUUID := awscdk.Fn_Select(jsii.Number(2), awscdk.Fn_Split(jsii.String("/"), awscdk.Aws_STACK_ID(), nil))
	suffix := awscdk.Fn_Select(jsii.Number(4), awscdk.Fn_Split(jsii.String("-"), stackUUID, nil))
	w.LogGroup = awslogs.NewLogGroup(scope, jsii.String(id+"Logs"), &awslogs.LogGroupProps{
		LogGroupName: awscdk.Fn_Join(jsii.String(""), &[]*string{
			jsii.String(WebACLLogGroupPrefix + *awscdk.Names_UniqueResourceName(scope, &awscdk.UniqueResourceNameOptions{MaxLength: jsii.Number(60)}) + "-"),
			suffix,
		}),
		Retention:     retention,
		RemovalPolicy: removal,
		EncryptionKey: p.LogsKey,
	})
	w.Logging = awswafv2.NewCfnLoggingConfiguration(scope, jsii.String(id+"Logging"), &awswafv2.CfnLoggingConfigurationProps{
		ResourceArn: w.Arn,
		// The log group's ARN without the :* that its Arn attribute ends with (the WAF guide's form).
		LogDestinationConfigs: &[]any{awscdk.Stack_Of(scope).FormatArn(&awscdk.ArnComponents{
			Service: jsii.String("logs"), Resource: jsii.String("log-group"), ResourceName: w.LogGroup.LogGroupName(), ArnFormat: awscdk.ArnFormat_COLON_RESOURCE_NAME,
		})},
	})
	if p.LoadBalancer != nil {
		// WAFv2 association with an ALB: ResourceArn is the load balancer's ARN (AWS::WAFv2::WebACLAssociation).
		w.Association = awswafv2.NewCfnWebACLAssociation(scope, jsii.String(id+"Association"), &awswafv2.CfnWebACLAssociationProps{
			ResourceArn: p.LoadBalancer.LoadBalancerArn(), WebAclArn: w.Arn,
		})
	}
	return w
}

// WebACLLogGroupPrefix starts the name of every log group AWS WAF may log to.
const WebACLLogGroupPrefix = "aws-waf-logs-"
