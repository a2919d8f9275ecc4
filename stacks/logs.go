package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awselasticloadbalancingv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/stratolab/stratolab/constructs/lifecycle"
	"github.com/stratolab/stratolab/instance"
)

// ProductionLogRetentionDays is the shortest retention of a production log group: a year (NIST 800-53
// AU-11; the cdk-nag NIST and HIPAA packs check CloudWatch log groups for at least this).
const ProductionLogRetentionDays = instance.MinProductionRetentionDays

// secureLogGroups gives every log group of a production instance, or of one that names a pack asking
// for customer-managed keys, encryption with its stack's customer-managed key (one key per stack that
// has log groups, created only then), and in production a retention of at least a year. Log groups a
// module made with a shorter retention are raised to a year; groups that never expire stay so.
// Development instances without those packs are left as the modules made them (no key, no cost).
//
// It runs once, after every module is built, so that every module's log groups (and those of the
// CDK's own helpers, such as the kubectl provider) are covered without each module knowing.
func secureLogGroups(in *Instance, cfg *instance.Config) {
	if !cfg.Production() && !needsCustomerManagedKeys(cfg) {
		return
	}
	keys := map[string]awskms.IKey{}
	for _, st := range in.Stacks {
		for _, c := range *st.Node().FindAll(constructs.ConstructOrder_PREORDER) {
			group, ok := c.(awslogs.CfnLogGroup)
			if !ok || !isLogGroup(c) {
				continue
			}
			owner := awscdk.Stack_Of(c)
			if cfg.Production() {
				if r := group.RetentionInDays(); r != nil && *r < ProductionLogRetentionDays {
					group.SetRetentionInDays(jsii.Number(ProductionLogRetentionDays))
				}
			}
			if group.KmsKeyId() != nil {
				continue
			}
			path := *owner.Node().Path()
			key, ok := keys[path]
			if !ok {
				key = stackLogsKey(owner, cfg)
				keys[path] = key
			}
			group.SetKmsKeyId(key.KeyArn())
			group.Node().AddDependency(key)
		}
	}
}

// isLogGroup reports whether c is an AWS::Logs::LogGroup (FindAll returns the L1 under its interface,
// so the type is read from the CloudFormation resource).
func isLogGroup(c constructs.IConstruct) bool {
	r, ok := c.(awscdk.CfnResource)
	return ok && *awscdk.CfnResource_IsCfnResource(c) && *r.CfnResourceType() == "AWS::Logs::LogGroup"
}

// stackLogsKey returns the stack's LogsKey, creating it when the stack has none yet, with the key policy
// statement CloudWatch Logs needs: its regional service principal may use the key only for this
// account's log groups (CloudWatch Logs User Guide, "Encrypt log data in CloudWatch Logs using AWS KMS":
// principal logs.<region>.amazonaws.com, kms:Encrypt*, Decrypt*, ReEncrypt*, GenerateDataKey*,
// Describe*, with an ArnLike condition on kms:EncryptionContext:aws:logs:arn).
func stackLogsKey(stack awscdk.Stack, cfg *instance.Config) awskms.IKey {
	if existing := stack.Node().TryFindChild(jsii.String("LogsKey")); existing != nil {
		// Base (flow logs) and Jobs (job logs) made theirs already, with the same statement.
		return existing.(awskms.IKey)
	}
	key := logsKey(stack, lifecycleFor(cfg, instance.LifecycleOverride{}))
	key.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("AllowCloudWatchLogsInThisAccount"),
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("logs."+*stack.Region()+".amazonaws.com"), nil)},
		Actions:    jsii.Strings("kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"),
		Resources:  jsii.Strings("*"), // in a key policy, the key itself
		Conditions: &map[string]any{"ArnLike": map[string]any{
			"kms:EncryptionContext:aws:logs:arn": "arn:" + *stack.Partition() + ":logs:" + *stack.Region() + ":" + *stack.Account() + ":log-group:*",
		}},
	}), jsii.Bool(true))
	return key
}

// protectLoadBalancers turns on deletion protection of every application load balancer the stack's
// constructs made, when the module's lifecycle asks for deletion protection (production by default).
// Their access logs are on in every lifecycle (constructs/webfront). The hub's load balancer is made by
// the AWS Load Balancer Controller, not CloudFormation, and is left unprotected: deletion protection
// would stop the controller from deleting it when the Ingress goes, and the hub's teardown waits for that.
func protectLoadBalancers(stack awscdk.Stack, policy lifecycle.Policy) {
	if !policy.DeletionProtection {
		return
	}
	for _, c := range *stack.Node().FindAll(constructs.ConstructOrder_PREORDER) {
		if lb, ok := c.(awselasticloadbalancingv2.ApplicationLoadBalancer); ok {
			// Elastic Load Balancing's load balancer attribute (ELB User Guide, "Deletion protection").
			lb.SetAttribute(jsii.String("deletion_protection.enabled"), jsii.String("true"))
		}
	}
}
