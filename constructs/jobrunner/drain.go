package jobrunner

import (
	"fmt"
	"maps"
	"slices"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
	"github.com/stratolab/stratolab/internal/lambdaasset"
)

// FleetDrainPackage is the Go package of the fleet drain function.
const FleetDrainPackage = "github.com/stratolab/stratolab/functions/jobfleets"

// FleetDrainCode builds functions/jobfleets for arm64 (offline, reproducibly: see lambdaasset). It
// panics when the build fails.
func FleetDrainCode() awslambda.Code {
	dir, err := lambdaasset.Build(FleetDrainPackage, "arm64")
	if err != nil {
		panic(fmt.Sprintf("jobrunner: cannot build the fleet drain function: %v", err))
	}
	return awslambda.Code_FromAsset(jsii.String(dir), nil)
}

// FleetDrainActions are what the drain function calls on the fleets (internal/fleetdrain.API).
var FleetDrainActions = []string{"autoscaling:UpdateAutoScalingGroup", "autoscaling:SetInstanceProtection"}

// newFleetDrain makes `cdk destroy` work while jobs run: a custom resource whose delete handler
// (functions/jobfleets) sets the worker fleets to 0 and lifts the scale-in protection their busy workers
// set, until they are empty. CloudFormation deletes an Auto Scaling group by setting it to 0 and waiting
// for its instances to terminate, which protected instances never do. The resource names the fleets, so
// CloudFormation deletes it, and waits for its handler, before it deletes them; and it depends on its
// function's role and log group, which therefore go after it. A terminated worker returns its running job
// to the queue marked interrupted (the queue and the table outlive the fleets).
func (r *JobRunner) newFleetDrain() {
	p := r.props
	code := p.FleetDrainCode
	if code == nil {
		code = FleetDrainCode()
	}
	logs := awslogs.NewLogGroup(r.Construct, jsii.String("FleetDrainLogs"), &awslogs.LogGroupProps{
		Retention: awslogs.RetentionDays_ONE_MONTH, RemovalPolicy: p.JobLogRemovalPolicy, EncryptionKey: p.LogsKey,
	})
	fnProps := &awslambda.FunctionProps{
		Description:  jsii.String("On destroy, empties the job fleets whose busy workers protect themselves from scale-in"),
		Runtime:      awslambda.Runtime_PROVIDED_AL2023(),
		Architecture: awslambda.Architecture_ARM_64(),
		Handler:      jsii.String("bootstrap"),
		Code:         code,
		Timeout:      awscdk.Duration_Minutes(jsii.Number(15)),
		MemorySize:   jsii.Number(128),
		LogGroup:     logs,
	}
	if p.Regulated {
		// CloudFormation invokes a custom resource's function asynchronously (CloudFormation User Guide,
		// "Lambda-backed custom resources"), so an event Lambda cannot deliver after its retries goes to
		// the dead-letter queue (DeadLetterConfig TargetArn).
		dlq := awssqs.NewQueue(r.Construct, jsii.String("FleetDrainDeadLetterQueue"), &awssqs.QueueProps{
			Encryption: awssqs.QueueEncryption_SQS_MANAGED, EnforceSSL: jsii.Bool(true), RetentionPeriod: awscdk.Duration_Days(jsii.Number(14)),
		})
		cdknag.NagSuppressions_AddResourceSuppressions(dlq, &[]*cdknag.NagPackSuppression{{
			Id: jsii.String("AwsSolutions-SQS3"), Reason: jsii.String("This is the fleet drain function's dead-letter queue; a dead-letter queue has none of its own."),
		}}, jsii.Bool(false))
		fnProps.DeadLetterQueue = dlq
	}
	fn := awslambda.NewFunction(r.Construct, jsii.String("FleetDrainFunction"), fnProps)
	if p.Regulated {
		suppressPacks(fn, "LambdaConcurrency", "Reserved concurrency is taken from the account's unreserved pool, which may not go below 10: in an account at the new-account limit of 10 the deploy would fail, which synth cannot see. The function runs once per stack deletion, so it cannot exhaust the account's concurrency.")
	}
	suppressPacks(fn, "LambdaInsideVPC", "The drain function calls only the Auto Scaling API and reaches nothing inside the VPC; "+
		"in the VPC it would need a NAT gateway or an Auto Scaling interface endpoint, which instances without NAT do not have.")
	stack := awscdk.Stack_Of(r.Construct)
	var fleets, names []*string
	for _, name := range slices.Sorted(maps.Keys(r.Fleets)) {
		asg := r.Fleets[name].AutoScalingGroupName()
		names = append(names, asg)
		fleets = append(fleets, stack.FormatArn(&awscdk.ArnComponents{
			Service: jsii.String("autoscaling"), Resource: jsii.String("autoScalingGroup"),
			ResourceName: jsii.String("*:autoScalingGroupName/" + *asg), ArnFormat: awscdk.ArnFormat_COLON_RESOURCE_NAME,
		}))
	}
	role := fn.Role()
	role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid: jsii.String("EmptyTheJobFleets"), Actions: jsii.Strings(FleetDrainActions...), Resources: &fleets,
	}))
	// DescribeAutoScalingGroups supports no resource-level permissions (Service Authorization Reference).
	role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid: jsii.String("WatchTheJobFleets"), Actions: jsii.Strings("autoscaling:DescribeAutoScalingGroups"), Resources: jsii.Strings("*"),
	}))
	suppressPacks(role, "IAMNoInlinePolicy", "The drain function's role: its inline policy is written by the CDK for this function alone "+
		"(the fleet statements above, and sending to its dead-letter queue) and is deleted with it.")
	cdknag.NagSuppressions_AddResourceSuppressions(role, &[]*cdknag.NagPackSuppression{
		{Id: jsii.String("AwsSolutions-IAM4"), Reason: jsii.String("AWSLambdaBasicExecutionRole: the function's own log streams; it grants no data access."),
			AppliesTo: &[]any{cdknag.RegexAppliesTo{Regex: jsii.String("/^Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole$/g")}}},
		{Id: jsii.String("AwsSolutions-IAM5"), Reason: jsii.String("An Auto Scaling group's ARN holds a UUID known only once it exists (autoScalingGroup:<uuid>:autoScalingGroupName/<name>): " +
			"the fleet statement names this platform's fleets by name; autoscaling:DescribeAutoScalingGroups is read-only and supports no resource-level permissions.")},
	}, jsii.Bool(true))
	cr := awscdk.NewCustomResource(r.Construct, jsii.String("FleetDrain"), &awscdk.CustomResourceProps{
		ServiceToken:   fn.FunctionArn(),
		ResourceType:   jsii.String("Custom::JobFleetsDrain"),
		ServiceTimeout: awscdk.Duration_Minutes(jsii.Number(16)),
		Properties:     &map[string]any{"FleetNames": awscdk.Fn_Join(jsii.String(","), &names)},
	})
	cr.Node().AddDependency(role, logs)
}
