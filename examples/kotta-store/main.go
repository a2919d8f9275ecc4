// Command kotta-store is another team's CDK app that uses stratolab's jobs store and nothing else: a
// genomics pipeline whose AWS Batch jobs get Cloud Kotta's execute rights. It shows that the construct
// needs only props: no stratolab config, context or environment.
//
//	cd examples/kotta-store && npx cdk synth --app 'go run .'
package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/jsii-runtime-go"
	"github.com/stratolab/stratolab/constructs/jobstore"
	"github.com/stratolab/stratolab/constructs/lifecycle"
)

func main() {
	defer jsii.Close()
	app := awscdk.NewApp(nil)
	stack := awscdk.NewStack(app, jsii.String("GenomicsPipeline"), nil)

	store := jobstore.New(stack, "Store", &jobstore.Props{
		NoncurrentVersionExpiration: awscdk.Duration_Days(jsii.Number(90)),
		Lifecycle:                   lifecycle.Production(),
	})
	batchJobs := awsiam.NewRole(stack, jsii.String("BatchJobRole"), &awsiam.RoleProps{
		AssumedBy: awsiam.NewServicePrincipal(jsii.String("ecs-tasks.amazonaws.com"), nil),
	})
	store.GrantExecute(batchJobs)

	awscdk.NewCfnOutput(stack, jsii.String("JobsBucket"), &awscdk.CfnOutputProps{Value: store.Bucket.BucketName()})
	app.Synth(nil)
}
