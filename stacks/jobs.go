package stacks

import (
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
	"github.com/stratolab/stratolab/constructs/auth"
	"github.com/stratolab/stratolab/constructs/jobrunner"
	"github.com/stratolab/stratolab/constructs/jobstore"
	"github.com/stratolab/stratolab/instance"
)

// Jobs is Cloud Kotta: <instance>/JobsData holds what must survive (bucket, tables, roles), and
// <instance>/Jobs what can be rebuilt at will (queues, fleets, web server), so that the platform can be
// torn down and redeployed without touching the data.
type Jobs struct {
	DataStack awscdk.Stack
	Store     *jobstore.JobStore
	Stack     awscdk.Stack
	Runner    *jobrunner.JobRunner
}

func newJobs(in *Instance, cfg *instance.Config) *Jobs {
	j := cfg.Jobs
	data := in.newStack(cfg, "JobsData", "jobs bucket, tables and roles")
	store := jobstore.New(data, "Store", &jobstore.Props{Lifecycle: lifecycleFor(cfg, j.Lifecycle)})
	for id, o := range map[string]struct {
		value *string
		desc  string
	}{
		"JobsBucketName": {store.Bucket.BucketName(), "Jobs bucket: uploads/, outputs/ and code/"},
		"JobsTableName":  {store.JobsTable.TableName(), "Jobs table"},
		"UsersTableName": {store.UsersTable.TableName(), "Users table"},
	} {
		awscdk.NewCfnOutput(data, jsii.String(id), &awscdk.CfnOutputProps{Value: o.value, Description: jsii.String(o.desc)})
	}

	s := in.newStack(cfg, "Jobs", "job queues, worker fleets and web server")
	var classes []jobrunner.JobClass
	for _, c := range j.Classes {
		classes = append(classes, jobrunner.JobClass{
			Name: c.Name, InstanceTypes: c.InstanceTypes, Min: c.Min, Max: c.Max, Spot: c.Spot, RootVolumeGiB: c.RootVolumeGiB,
		})
	}
	web := jobrunner.WebProps{
		CertificateArn: j.Web.CertificateArn, Command: j.Web.Command, InstanceType: j.Web.InstanceType,
		Min: j.Web.Min, Max: j.Web.Max, Port: j.Web.Port, HealthCheckPath: j.Web.HealthCheckPath, AllowedCidrs: j.Web.AllowedCidrs,
	}
	if j.Web.Login == "cognito" {
		host := strings.TrimSuffix(j.Web.Host, "/")
		// In the Jobs stack, so that Auth never depends on Jobs.
		client := in.Auth.Auth.AddClient("JobsWebClient", auth.ClientOptions{
			Name: cfg.Name + "-jobs-web", CallbackURLs: []string{host + "/oauth2/idpresponse"}, LogoutURLs: []string{host + "/"},
			GenerateSecret: true, Scope: s,
		})
		web.Login = &jobrunner.Login{UserPool: in.Auth.Auth.UserPool, Client: client.Client, Domain: in.Auth.Auth.Domain}
	}
	sqsEndpoint := j.SqsEndpoint == "create" || (j.SqsEndpoint == "auto" && cfg.Vpc.Type == "new" && cfg.Vpc.NatGateways == 0)
	runner := jobrunner.New(s, "Runner", &jobrunner.Props{
		Vpc:               in.Base.Network.Vpc,
		Store:             store,
		Classes:           classes,
		VisibilityTimeout: awscdk.Duration_Seconds(jsii.Number(j.VisibilityTimeoutSeconds)),
		MaxReceiveCount:   j.MaxReceiveCount,
		ScaleInAfter:      awscdk.Duration_Minutes(jsii.Number(j.ScaleInAfterMinutes)),
		WorkerCommand:     j.Worker.Command,
		CodeKey:           j.Worker.CodeKey,
		Web:               web,
		EventsTopic:       j.EventsTopic,
		SqsEndpoint:       sqsEndpoint,
	})
	awscdk.NewCfnOutput(s, jsii.String("WebUrl"), &awscdk.CfnOutputProps{
		Value:       jsii.String("https://" + *runner.LoadBalancer.LoadBalancerDnsName()),
		Description: jsii.String("The web server (point your host name's DNS record at the load balancer)"),
	})
	awscdk.NewCfnOutput(s, jsii.String("FleetNotificationsTopic"), &awscdk.CfnOutputProps{
		Value: runner.Notifications.TopicArn(), Description: jsii.String("Subscribe to the fleets' launch, termination and error events"),
	})
	return &Jobs{DataStack: data, Store: store, Stack: s, Runner: runner}
}
