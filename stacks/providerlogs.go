package stacks

import (
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// providerLogGroups gives every CDK custom resource provider function (the singletons of
// awscdk.CustomResourceProvider, such as the S3 auto-delete objects handler) a log group of its own, set
// as the function's LoggingConfig.LogGroup. Without one, Lambda creates /aws/lambda/<function> on the first
// invocation, never-expiring and outside the stack, and `cdk destroy` leaves it behind (F16). aws-cdk-lib
// 2.270.0's CustomResourceProviderBase renders the handler as a bare AWS::Lambda::Function CfnResource with
// no LoggingConfig (core/lib/custom-resource-provider/custom-resource-provider-base.js). The function
// references the log group, so CloudFormation creates the group first and deletes it after the function;
// the provider's role (AWSLambdaBasicExecutionRole) may write to any log group. The removal policy is the
// instance's (see the RemovalPolicies in newInstance): kept in production, deleted in development.
//
// In production, or under a pack that asks for customer-managed keys (NIST 800-53, HIPAA:
// CloudWatchLogGroupEncrypted), secureLogGroups (called after this) keeps the group a year and encrypts it
// with its stack's LogsKey, as it does every log group.
func providerLogGroups(scope constructs.Construct) {
	for _, c := range *scope.Node().FindAll(constructs.ConstructOrder_POSTORDER) {
		if *c.Node().Id() != "Handler" || c.Node().Scope() == nil {
			continue
		}
		parent := c.Node().Scope()
		if !strings.HasSuffix(*parent.Node().Id(), "CustomResourceProvider") {
			continue
		}
		fn, ok := c.(awscdk.CfnResource)
		if !ok || *fn.CfnResourceType() != "AWS::Lambda::Function" {
			continue
		}
		stack := awscdk.Stack_Of(c)
		group := awslogs.NewLogGroup(stack, jsii.String(*parent.Node().Id()+"LogGroup"), &awslogs.LogGroupProps{
			Retention: awslogs.RetentionDays_ONE_MONTH,
		})
		fn.AddPropertyOverride(jsii.String("LoggingConfig.LogGroup"), group.LogGroupName())
	}
}
