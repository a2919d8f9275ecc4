package test

import (
	"os"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
	"github.com/stratolab/stratolab/constructs/auth"
	"github.com/stratolab/stratolab/constructs/jobrunner"
	"github.com/stratolab/stratolab/constructs/jobstore"
	"github.com/stratolab/stratolab/constructs/lifecycle"
	"github.com/stratolab/stratolab/constructs/network"
	"github.com/stretchr/testify/assert"
)

// TestConstructsWorkInAnAppWithoutOurFeatureFlags builds every construct in an app that sets no feature
// flags at all, as another team's app might: a construct must not depend on stratolab's cdk.json.
func TestConstructsWorkInAnAppWithoutOurFeatureFlags(t *testing.T) {
	dir, err := os.MkdirTemp(outRoot, "bare-")
	if err != nil {
		t.Fatal(err)
	}
	app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(dir), AnalyticsReporting: jsii.Bool(false)})
	network.PinAvailabilityZones(app, "123456789012", "us-east-1", []string{"us-east-1a", "us-east-1b"})
	stack := awscdk.NewStack(app, jsii.String("Bare"), &awscdk.StackProps{
		Env: &awscdk.Environment{Account: jsii.String("123456789012"), Region: jsii.String("us-east-1")},
	})
	net := network.New(stack, "Network", &network.Props{AvailabilityZones: []string{"us-east-1a", "us-east-1b"}, NatGateways: 1})
	store := jobstore.New(stack, "Store", &jobstore.Props{Lifecycle: lifecycle.Development()})
	jobrunner.New(stack, "Runner", &jobrunner.Props{
		Vpc: net.Vpc, Store: store, WorkerCommand: "run-worker",
		Web: jobrunner.WebProps{Command: "run-web", CertificateArn: "arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-1234-5678-9abc-0123456789ab"},
	})
	users := auth.New(stack, "Auth", &auth.Props{DomainPrefix: "bare-lab", Lifecycle: lifecycle.Development()})
	users.AddClient("Web", auth.ClientOptions{CallbackURLs: []string{"https://lab.example.edu/callback"}})

	assert.Equal(t, "did not panic", panicMessage(func() { app.Synth(nil) }))
	tpl := template(stack)
	tpl.ResourceCountIs(jsii.String("AWS::S3::Bucket"), jsii.Number(2))
	tpl.ResourceCountIs(jsii.String("AWS::AutoScaling::AutoScalingGroup"), jsii.Number(3))
	tpl.ResourceCountIs(jsii.String("AWS::Cognito::UserPool"), jsii.Number(1))
}
