package stacks

import (
	"maps"
	"slices"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsssm"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
	"github.com/stratolab/stratolab/constructs/auth"
	"github.com/stratolab/stratolab/constructs/jobrunner"
	"github.com/stratolab/stratolab/constructs/jobstore"
	"github.com/stratolab/stratolab/constructs/lifecycle"
	"github.com/stratolab/stratolab/instance"
	"github.com/stratolab/stratolab/internal/jobs"
	"github.com/stratolab/stratolab/internal/names"
	"github.com/stratolab/stratolab/internal/published"
)

// Jobs is Cloud Kotta: <instance>/JobsData holds what must survive (bucket, tables, roles), and
// <instance>/Jobs what can be rebuilt at will (queues, fleets, web server), so that the platform can be
// torn down and redeployed without touching the data.
type Jobs struct {
	DataStack awscdk.Stack
	Store     *jobstore.JobStore
	Stack     awscdk.Stack
	Runner    *jobrunner.JobRunner
	// UsersPolicy is what people running `stratolab jobs` need (output JobsUsersPolicyArn).
	UsersPolicy awsiam.ManagedPolicy
}

func newJobs(in *Instance, cfg *instance.Config) *Jobs {
	j := cfg.Jobs
	data := in.newStack(cfg, "JobsData", "jobs bucket, tables and roles")
	storeProps := &jobstore.Props{Lifecycle: lifecycleFor(cfg, j.Lifecycle), OwnWorkers: j.Worker.Command != ""}
	if needsCustomerManagedKeys(cfg) {
		// NIST SC-28 / HIPAA 164.312(a)(2)(iv): the bucket, the tables and their backups under a key of
		// the instance's own; the store grants it with every right it grants (jobstore.grantKey).
		storeProps.EncryptionKey = awskms.NewKey(data, jsii.String("DataKey"), &awskms.KeyProps{
			Description:       jsii.String("Encrypts the jobs bucket, tables and their backups"),
			EnableKeyRotation: jsii.Bool(true),
			PendingWindow:     awscdk.Duration_Days(jsii.Number(7)),
			RemovalPolicy:     storeProps.Lifecycle.RemovalPolicy,
		})
		storeProps.Backup = true
	}
	store := jobstore.New(data, "Store", storeProps)
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
		CertificateArn: j.Web.CertificateArn, Domain: frontDoorDomain(s, cfg, j.Web.Host), Command: j.Web.Command, InstanceType: j.Web.InstanceType,
		Min: j.Web.Min, Max: j.Web.Max, Port: j.Web.Port, HealthCheckPath: j.Web.HealthCheckPath, AllowedCidrs: j.Web.AllowedCidrs,
	}
	if j.Web.Login == "cognito" {
		host := strings.TrimSuffix(j.Web.Host, "/")
		// In the Jobs stack, so that Auth never depends on Jobs.
		client := in.Auth.Auth.AddClient("JobsWebClient", auth.ClientOptions{
			Name: cfg.Name + "-jobs-web", CallbackURLs: []string{host + "/oauth2/idpresponse"}, LogoutURLs: []string{host + "/"},
			GenerateSecret: true, Scope: s,
		})
		web.Login = &jobrunner.Login{UserPool: in.Auth.Auth.UserPool, Client: client.Client, Domain: in.Auth.Auth.HostedUIDomain, Host: in.Auth.Auth.HostedUIHost}
	}
	sqsEndpoint := j.SqsEndpoint == "create" || (j.SqsEndpoint == "auto" && cfg.Vpc.Type == "new" && cfg.Vpc.NatGateways == 0)
	policy := lifecycleFor(cfg, j.Lifecycle)
	var logsKeyFor awskms.IKey
	if needsCustomerManagedKeys(cfg) {
		logsKeyFor = jobLogsKey(s, policy)
	}
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
		Images: map[string]string{"x86_64": j.Images.X86_64, "arm64": j.Images.Arm64,
			"gpu_x86_64": j.Images.GpuX86_64, "gpu_arm64": j.Images.GpuArm64},
		SqsEndpoint: sqsEndpoint,
		// Job logs are data: kept in production, removed with a development instance.
		JobLogRemovalPolicy: policy.RemovalPolicy,
		LogsKey:             logsKeyFor,
		Regulated:           needsCustomerManagedKeys(cfg),
	})
	// With Cognito login only the configured host works (it is the client's callback, and the certificate's name).
	url, desc := jsii.String("https://"+*runner.LoadBalancer.LoadBalancerDnsName()), "The web server, by its load balancer's name (the certificate's name may differ: set jobs.web.host)"
	switch host := strings.TrimSuffix(j.Web.Host, "/"); {
	case runner.Front.Records != nil:
		url, desc = jsii.String(host), "The web server (its alias record is in the hosted zone "+cfg.DNS.ZoneName+")"
	case host != "":
		url, desc = jsii.String(host), "The web server: point this host name's DNS record (CNAME or alias) at LoadBalancerDnsName"
	}
	awscdk.NewCfnOutput(s, jsii.String("WebUrl"), &awscdk.CfnOutputProps{Value: url, Description: jsii.String(desc)})
	awscdk.NewCfnOutput(s, jsii.String("LoadBalancerDnsName"), &awscdk.CfnOutputProps{
		Value:       runner.LoadBalancer.LoadBalancerDnsName(),
		Description: jsii.String("The web server's load balancer: point your host name's DNS record (CNAME or alias) here"),
	})
	protectLoadBalancers(s, policy)
	if !policy.DeletionProtection {
		reason := jsii.String("Deletion protection follows the jobs lifecycle, off here so that a destroy of this development instance leaves nothing behind; production turns it on.")
		cdknag.NagSuppressions_AddResourceSuppressions(runner.LoadBalancer, &[]*cdknag.NagPackSuppression{
			{Id: jsii.String("NIST.800.53.R5-ELBDeletionProtectionEnabled"), Reason: reason},
			{Id: jsii.String("HIPAA.Security-ELBDeletionProtectionEnabled"), Reason: reason},
		}, jsii.Bool(true))
	}
	publishJobs(s, cfg.Name, store, runner)
	users := newJobsUsersPolicy(s, cfg.Name, store, runner)
	awscdk.NewCfnOutput(s, jsii.String("JobsUsersPolicyArn"), &awscdk.CfnOutputProps{
		Value: users.ManagedPolicyArn(),
		Description: jsii.String("Attach to the people who run stratolab jobs (a permission set's customer managed policy " +
			cfg.Name + "-jobs-users, or an IAM group): submit, status, logs, fetch and cancel"),
	})
	awscdk.NewCfnOutput(s, jsii.String("FleetNotificationsTopic"), &awscdk.CfnOutputProps{
		Value: runner.Notifications.TopicArn(), Description: jsii.String("Subscribe to the fleets' launch, termination and error events"),
	})
	return &Jobs{DataStack: data, Store: store, Stack: s, Runner: runner, UsersPolicy: users}
}

// newJobsUsersPolicy is the managed policy for the people who run `stratolab jobs` with their own
// credentials: exactly what internal/jobclient calls (the store's and the runner's UserStatements),
// plus reading the parameters the CLI finds the platform by (ssm:GetParametersByPath on
// /stratolab/<instance>/jobs).
func newJobsUsersPolicy(s awscdk.Stack, name string, store *jobstore.JobStore, runner *jobrunner.JobRunner) awsiam.ManagedPolicy {
	mp := awsiam.NewManagedPolicy(s, jsii.String("UsersPolicy"), &awsiam.ManagedPolicyProps{
		ManagedPolicyName: jsii.String(name + "-jobs-users"),
		Description:       jsii.String("stratolab jobs: submit jobs to instance " + name + ", follow them, read their logs and outputs, cancel them"),
	})
	for _, st := range append(store.UserStatements(), runner.UserStatements()...) {
		mp.AddStatements(st)
	}
	path := *s.FormatArn(&awscdk.ArnComponents{Service: jsii.String("ssm"), Resource: jsii.String("parameter"),
		ResourceName: jsii.String(strings.TrimSuffix(strings.TrimPrefix(published.Path(name, "jobs"), "/"), "/"))})
	mp.AddStatements(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid: jsii.String("FindPlatform"), Actions: jsii.Strings("ssm:GetParametersByPath"), Resources: jsii.Strings(path, path+"/*"),
	}))
	cdknag.NagSuppressions_AddResourceSuppressions(mp, &[]*cdknag.NagPackSuppression{{
		Id: jsii.String("AwsSolutions-IAM5"),
		Reason: jsii.String("A job's keys are made at submit time: objects are scoped to the jobs bucket's uploads/* (write) and outputs/* (read) prefixes; " +
			"the job log group's streams (<group>:*) are named per job; the parameters are this instance's /stratolab/<instance>/jobs/*."),
		AppliesTo: &[]any{cdknag.RegexAppliesTo{Regex: jsii.String(`/^Resource::(<.*JobsBucket.*\.Arn>\/(uploads|outputs)\/\*|<.*JobLogs.*\.Arn>|arn:.*:parameter\/stratolab\/.*\/jobs\/\*)$/g`)}},
	}}, jsii.Bool(true))
	return mp
}

// publishJobs writes what `stratolab jobs` needs under /stratolab/<instance>/jobs/ (see internal/jobs).
func publishJobs(scope constructs.Construct, name string, store *jobstore.JobStore, runner *jobrunner.JobRunner) {
	params := []struct {
		id, key, desc string
		value         *string
	}{
		{"BucketParameter", jobs.ParamBucket, "jobs bucket (uploads/, outputs/, code/)", store.Bucket.BucketName()},
		{"JobsTableParameter", jobs.ParamJobsTable, "jobs table", store.JobsTable.TableName()},
		{"LogGroupParameter", jobs.ParamLogGroup, "job log group", runner.JobLogs.LogGroupName()},
	}
	if runner.EventsTopic != nil {
		params = append(params, struct {
			id, key, desc string
			value         *string
		}{"EventsTopicParameter", jobs.ParamEventsTopic, "job events topic", runner.EventsTopic.TopicArn()})
	}
	for _, class := range slices.Sorted(maps.Keys(runner.Queues)) {
		params = append(params, struct {
			id, key, desc string
			value         *string
		}{names.Pascal(class) + "QueueUrlParameter", jobs.ParamQueuePrefix + class, class + " jobs queue URL", runner.Queues[class].QueueUrl()})
	}
	for _, p := range params {
		awsssm.NewStringParameter(scope, jsii.String(p.id), &awsssm.StringParameterProps{
			ParameterName: jsii.String(published.Path(name, "jobs") + p.key),
			StringValue:   p.value,
			Description:   jsii.String("stratolab " + name + ": the " + p.desc),
		})
	}
}

// jobLogsKey encrypts the job log group when a compliance pack asks for customer-managed keys; CloudWatch
// Logs uses it through its regional service principal (CloudWatch Logs User Guide, "Encrypt log data in
// CloudWatch Logs using AWS KMS").
func jobLogsKey(scope constructs.Construct, policy lifecycle.Policy) awskms.IKey {
	key := logsKey(scope, policy)
	stack := awscdk.Stack_Of(scope)
	key.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("CloudWatchLogsEncrypts"),
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("logs."+*stack.Region()+".amazonaws.com"), nil)},
		Actions:    jsii.Strings("kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"),
		Resources:  jsii.Strings("*"),
		Conditions: &map[string]any{"ArnLike": map[string]any{"kms:EncryptionContext:aws:logs:arn": stack.FormatArn(&awscdk.ArnComponents{
			Service: jsii.String("logs"), Resource: jsii.String("log-group"), ResourceName: jsii.String("*"), ArnFormat: awscdk.ArnFormat_COLON_RESOURCE_NAME})}},
	}), jsii.Bool(false))
	return key
}
