// Package jobrunner is Cloud Kotta's job platform: the stateless part that runs on a jobstore.
//
// For each job class (Kotta's are prod and test) New creates an SQS jobs queue with a dead-letter queue,
// both encrypted and TLS-only, whose policy admits only the store's web and worker roles; and an
// autoscaling fleet of workers in private subnets (IMDSv2, encrypted gp3 root volume, optional spot)
// that grows with the queue's backlog. Each worker installs stratolab's worker agent (cmd/stratolab-worker,
// built offline for the fleet's architecture and shipped as an asset) and runs it under systemd: it takes
// one job at a time, protects its instance from scale-in while the job runs, and leaves the fleet (down to
// its minimum) once it has been idle for ScaleInAfter. With WorkerCommand, workers run your own worker from
// the code tarball instead, and an idle alarm returns the fleet to its minimum.
//
// The web server runs the same way, as a fleet in private subnets behind an internet-facing Application
// Load Balancer that redirects HTTP to HTTPS and accepts traffic only from the allowed CIDRs. No IAM
// user or access key exists anywhere: instances get their rights from their roles.
package jobrunner

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsautoscaling"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscognito"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awselasticloadbalancingv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awselasticloadbalancingv2actions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3assets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
	"github.com/stratolab/stratolab/constructs/jobstore"
	"github.com/stratolab/stratolab/constructs/webfront"
	"github.com/stratolab/stratolab/internal/awsrules"
	"github.com/stratolab/stratolab/internal/launchtemplate"
	"github.com/stratolab/stratolab/internal/names"
)

// MaxVisibilityTimeout is SQS's limit: 12 hours.
const MaxVisibilityTimeout = 43200

// JobClass is one kind of job: a queue and the fleet that works it.
type JobClass struct {
	// Name, such as prod or test: lowercase letters, digits and dashes.
	Name string
	// Instance types. The first is the launch template's; more give spot capacity to choose from.
	// All must share a CPU architecture.
	InstanceTypes []string
	// Fleet size. Min 0 costs nothing while the queue is empty.
	Min, Max int
	// Run on spot capacity (price-capacity optimized, rebalanced), as Kotta's prod fleet did.
	Spot bool
	// Root volume size in GiB.
	// Default: - 30 (at least 75 on the GPU image, which needs that much)
	RootVolumeGiB int
	// Boot the AWS Deep Learning Base OSS NVIDIA Driver GPU AMI (Amazon Linux 2023) instead of the standard one.
	// Default: - true for NVIDIA GPU families (g4dn, g5, g5g, g6, g6e, gr6, p3, p4d, p4de, p5, p5e, p5en, p6), false otherwise
	GPU bool
}

// DefaultClasses are Kotta's: prod on spot, and test on demand, both 0 to 10.
func DefaultClasses() []JobClass {
	return []JobClass{
		{Name: "prod", InstanceTypes: []string{"m5.xlarge", "m5a.xlarge", "m6i.xlarge"}, Min: 0, Max: 10, Spot: true},
		{Name: "test", InstanceTypes: []string{"t3.small"}, Min: 0, Max: 10},
	}
}

// WebProps configure the web server.
type WebProps struct {
	// ACM certificate for the HTTPS listener, in the stack's account and region.
	// Default: - with Domain, a DNS-validated certificate the stack makes; required without Domain
	CertificateArn string
	// The web server's host name in a Route 53 hosted zone: an alias record to the load balancer, and
	// the certificate when CertificateArn is empty. Default: - no DNS record
	Domain *webfront.Domain
	// Command that starts the web app from the unpacked code directory. Required.
	Command string
	// Default: - t3.small
	InstanceType string
	// Fleet size. Default: - 1 to 2
	Min, Max int
	// Port the web app listens on. Default: - 8888, Kotta's
	Port int
	// Target group health check path. Default: - /
	HealthCheckPath string
	// Who may reach the load balancer on 80 and 443. Default: - 0.0.0.0/0
	AllowedCidrs []string
	// Make users log in through a Cognito pool at the load balancer before anything reaches the web
	// server (Kotta used Login with Amazon). The client needs a secret and the callback
	// https://<host>/oauth2/idpresponse.
	// Default: - no login at the load balancer: the web app authenticates users itself
	Login *Login
}

// Login is the Cognito pool, client and domain the load balancer authenticates users with.
type Login struct {
	UserPool awscognito.IUserPool
	Client   awscognito.IUserPoolClient
	// Domain is the hosted UI's domain, a prefix or a custom domain: the authenticate-cognito action's
	// UserPoolDomain takes "the domain prefix or fully-qualified domain name" (ELBv2 API reference,
	// AuthenticateCognitoActionConfig), and CDK passes Domain.DomainName(), which is either.
	Domain awscognito.IUserPoolDomain
	// Host is the hosted UI's fully qualified host name, the web servers' COGNITO_DOMAIN (for a logout
	// URL, https://$COGNITO_DOMAIN/logout).
	// Default: - <Domain.DomainName()>.auth.<region>.amazoncognito.com, right for a prefix domain only
	Host *string
}

// Props configure a JobRunner.
type Props struct {
	// The VPC; workers and web servers run in its private subnets, the load balancer in its public ones. Required.
	Vpc awsec2.IVpc
	// The store whose bucket, tables and roles the platform uses. Required.
	Store *jobstore.JobStore
	// Job classes. Default: - DefaultClasses()
	Classes []JobClass
	// How long a received job stays hidden from other workers.
	// Default: - 43199 seconds, Kotta's (SQS allows up to 12 hours)
	VisibilityTimeout awscdk.Duration
	// Receives before a job moves to the dead-letter queue. Default: - 3
	MaxReceiveCount int
	// How long a class's queue must be empty, with no job in flight, before its fleet shrinks to its minimum.
	// Default: - 60 minutes (Kotta: 3 x 20 minutes)
	ScaleInAfter awscdk.Duration
	// Your own worker, started from the unpacked code directory instead of stratolab's agent (it must then
	// follow the queue contract itself: delete a message only when its job has ended).
	// Default: - stratolab's worker agent
	WorkerCommand string
	// The worker agent binary for a Go architecture ("amd64" or "arm64").
	// Default: - BuildAgent, which builds cmd/stratolab-worker with the go command, offline
	AgentBinary func(goarch string) string
	// How long job logs are kept. Default: - three months
	JobLogRetention awslogs.RetentionDays
	// What happens to the job log group on destroy. Default: - RETAIN
	JobLogRemovalPolicy awscdk.RemovalPolicy
	// Customer-managed key for the job log group. Default: - CloudWatch Logs' own encryption
	LogsKey awskms.IKey
	// How long a new worker takes from launch to taking jobs; scale-out does not count warming workers twice.
	// Default: - 2 minutes
	ScaleOutWarmup awscdk.Duration
	// Key of the code tarball in the store's bucket. Default: - code/cloud_kotta.tar.gz
	CodeKey string
	// The web server.
	Web WebProps
	// Where the load balancer writes its access logs. Default: - the store's LogsBucket
	AccessLogsBucket awss3.IBucket
	// Create an SNS topic for job events that the web server and workers may publish to. Default: - false
	EventsTopic bool
	// Add the interface endpoints workers need in private subnets without a NAT gateway: SQS, and for the
	// agent CloudWatch Logs and EC2 Auto Scaling, and SNS with EventsTopic. Default: - false
	SqsEndpoint bool
	// Machine image of every instance, overriding Images. Default: - by Images
	MachineImage awsec2.IMachineImage
	// The AMI of each kind of instance (ImageKind: "x86_64", "arm64", "gpu_x86_64", "gpu_arm64"): an AMI ID
	// pins it; "" or ImageLatest follows AWS's SSM parameter (Amazon Linux 2023, or GPUImageParameter),
	// resolved at every deploy, so the deploy after each release replaces instances.
	// Default: - the SSM parameters
	Images map[string]string
	// Code of the function that empties the fleets on destroy. Default: - FleetDrainCode()
	FleetDrainCode awslambda.Code
	// Regulated adds what the NIST 800-53 R5 and HIPAA packs ask for and costs something: an AWS WAF
	// web ACL on the load balancer (AWS managed known-bad-inputs and IP reputation rules), and a
	// dead-letter queue and reserved concurrency for the fleet drain function.
	// Default: - false
	Regulated bool
}

// JobRunner is the queues, fleets and web server of a jobs platform.
type JobRunner struct {
	constructs.Construct
	// Queues are the jobs queues by class name; DeadLetterQueues their dead-letter queues.
	Queues, DeadLetterQueues map[string]awssqs.IQueue
	// Fleets are the worker autoscaling groups by class name.
	Fleets map[string]awsautoscaling.IAutoScalingGroup
	// WebFleet runs the web server.
	WebFleet awsautoscaling.IAutoScalingGroup
	// LoadBalancer fronts the web server.
	LoadBalancer awselasticloadbalancingv2.IApplicationLoadBalancer
	// Front is the load balancer's front door: its certificate (when made) and DNS records.
	Front *webfront.WebFront
	// WebACL guards the load balancer; nil unless Props.Regulated.
	WebACL *webfront.WebACL
	// EventsTopic carries job events; nil unless Props.EventsTopic.
	EventsTopic awssns.ITopic
	// Notifications receives the fleets' launch, termination and error events. Subscribe to it.
	Notifications awssns.ITopic
	// JobLogs holds each job's output, one stream per attempt (<job_id>/<instance_id>).
	JobLogs awslogs.ILogGroup

	props  *Props
	agents map[string]awss3assets.Asset
}

// New creates the platform. It panics on props that cannot work, before creating anything.
func New(scope constructs.Construct, id string, props *Props) *JobRunner {
	p := withDefaults(props)
	if err := p.check(); err != nil {
		panic(fmt.Sprintf("jobrunner %s: %v", id, err))
	}
	r := &JobRunner{
		Construct: constructs.NewConstruct(scope, jsii.String(id)),
		Queues:    map[string]awssqs.IQueue{}, DeadLetterQueues: map[string]awssqs.IQueue{},
		Fleets: map[string]awsautoscaling.IAutoScalingGroup{}, props: p, agents: map[string]awss3assets.Asset{},
	}
	r.Notifications = awssns.NewTopic(r.Construct, jsii.String("FleetNotifications"), &awssns.TopicProps{
		DisplayName: jsii.String("Job fleet launch, termination and error events"),
		EnforceSSL:  jsii.Bool(true),
		// Left on SNS's own encryption: EC2 Auto Scaling publishes through its service-linked role, which
		// cannot use the AWS-managed SNS key; the events name instances, not data.
	})
	// The dead-letter alarms publish here too.
	suppressPacks(r.Notifications, "SNSEncryptedKMS", "The fleet notifications carry Auto Scaling launch/termination events and dead-letter alarm states "+
		"(group names, instance IDs), no job data. A customer-managed key would have to name the Auto Scaling service-linked role in its policy, "+
		"which does not exist in an account before its first Auto Scaling group, so the deploy could fail.")
	r.Notifications.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("DeadLetterAlarmsPublish"),
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("cloudwatch.amazonaws.com"), nil)},
		Actions:    jsii.Strings("sns:Publish"),
		Resources:  &[]*string{r.Notifications.TopicArn()},
		Conditions: &map[string]any{"StringEquals": map[string]any{"aws:SourceAccount": awscdk.Stack_Of(scope).Account()}},
	}))

	workerSG := awsec2.NewSecurityGroup(r.Construct, jsii.String("WorkerSecurityGroup"), &awsec2.SecurityGroupProps{
		Vpc:              p.Vpc,
		Description:      jsii.String("Job workers: no inbound traffic; outbound for AWS APIs and the data jobs fetch"),
		AllowAllOutbound: jsii.Bool(true),
	})
	webSG := awsec2.NewSecurityGroup(r.Construct, jsii.String("WebSecurityGroup"), &awsec2.SecurityGroupProps{
		Vpc:              p.Vpc,
		Description:      jsii.String("Job web server: inbound only from its load balancer"),
		AllowAllOutbound: jsii.Bool(true),
	})

	// Before the fleets, whose workers are told its ARN.
	if p.EventsTopic {
		r.newEventsTopic()
	}
	r.JobLogs = awslogs.NewLogGroup(r.Construct, jsii.String("JobLogs"), &awslogs.LogGroupProps{
		Retention: p.JobLogRetention, RemovalPolicy: p.JobLogRemovalPolicy, EncryptionKey: p.LogsKey,
	})
	// The roles live with the store (often in another stack), so their queue rights are separate
	// policies here, attached to them: the store's stack never has to know about these queues.
	workerQueuePolicy := awsiam.NewPolicy(r.Construct, jsii.String("WorkerQueuePolicy"), &awsiam.PolicyProps{Roles: &[]awsiam.IRole{p.Store.WorkerRole}})
	var workerPolicy, webPolicy []awsiam.PolicyStatement
	var queueArns []*string
	for _, c := range p.Classes {
		queue := r.newQueues(c)
		queueArns = append(queueArns, queue.QueueArn())
		workerPolicy = append(workerPolicy, awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:       jsii.String("Work" + names.Pascal(c.Name) + "Jobs"),
			Actions:   jsii.Strings(r.workerQueueActions()...),
			Resources: &[]*string{queue.QueueArn()},
		}))
		r.newWorkerFleet(c, queue, workerSG, workerQueuePolicy)
	}
	webPolicy = append(webPolicy, awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("SubmitJobs"),
		Actions:   jsii.Strings(webQueueActions...),
		Resources: &queueArns,
	}))

	if p.EventsTopic {
		for _, pol := range []*[]awsiam.PolicyStatement{&workerPolicy, &webPolicy} {
			*pol = append(*pol, awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Sid: jsii.String("PublishJobEvents"), Actions: jsii.Strings("sns:Publish"), Resources: &[]*string{r.EventsTopic.TopicArn()},
			}))
		}
	}
	// The roles live with the store (often in another stack), so their queue rights are separate
	// policies here, attached to them: the store's stack never has to know about these queues.
	if p.WorkerCommand == "" {
		boot, fleet := r.agentStatements()
		workerPolicy = append(workerPolicy, boot...)
		// Apart: it names the fleets, so it can only exist after them, while the rest must exist before
		// the first worker boots.
		fleetPolicy := awsiam.NewPolicy(r.Construct, jsii.String("WorkerFleetPolicy"), &awsiam.PolicyProps{
			Roles: &[]awsiam.IRole{p.Store.WorkerRole}, Statements: &[]awsiam.PolicyStatement{fleet},
		})
		suppressPacks(fleetPolicy, "IAMNoInlinePolicy", "The agent's right to protect its own instance from scale-in in the job fleets; it names the fleets, so it is made after them. "+
			"Attached from this stack to the store's worker role; a managed policy would grant exactly the same.")
		cdknag.NagSuppressions_AddResourceSuppressions(fleetPolicy, &[]*cdknag.NagPackSuppression{{
			Id: jsii.String("AwsSolutions-IAM5"),
			Reason: jsii.String("An Auto Scaling group's ARN holds a UUID known only once the group exists " +
				"(autoScalingGroup:<uuid>:autoScalingGroupName/<name>); the statement names this platform's fleets by name."),
		}}, jsii.Bool(false))
		cdknag.NagSuppressions_AddResourceSuppressions(workerQueuePolicy, &[]*cdknag.NagPackSuppression{{
			Id: jsii.String("AwsSolutions-IAM5"),
			Reason: jsii.String("The worker agent writes one log stream per job attempt in the job log group (<group ARN>:*, streams named at run time); " +
				"autoscaling:DescribeAutoScalingInstances supports no resource-level permissions (the agent finds its own group with it)."),
		}}, jsii.Bool(false))
	}
	for _, st := range workerPolicy {
		workerQueuePolicy.AddStatements(st)
	}
	webQueuePolicy := awsiam.NewPolicy(r.Construct, jsii.String("WebQueuePolicy"), &awsiam.PolicyProps{
		Roles: &[]awsiam.IRole{p.Store.WebRole}, Statements: &webPolicy,
	})
	queueRights := "It is attached from this stack to a role of the store (often in the data stack) so that the store never has to know about these queues and fleets; " +
		"it names only this platform's queues, fleets, log group and topics, and lives and dies with them. A managed policy would grant exactly the same."
	suppressPacks(workerQueuePolicy, "IAMNoInlinePolicy", "The workers' queue, job log and agent rights. "+queueRights)
	suppressPacks(webQueuePolicy, "IAMNoInlinePolicy", "The web server's right to send to the jobs queues. "+queueRights)

	r.newFleetDrain()
	r.newWeb(webSG)
	if p.SqsEndpoint {
		endpointSG := awsec2.NewSecurityGroup(r.Construct, jsii.String("SqsEndpointSecurityGroup"), &awsec2.SecurityGroupProps{
			Vpc: p.Vpc, Description: jsii.String("SQS, CloudWatch Logs, Auto Scaling and SNS endpoints: HTTPS from job workers and web servers"), AllowAllOutbound: jsii.Bool(false),
		})
		endpointSG.AddIngressRule(workerSG, awsec2.Port_Tcp(jsii.Number(443)), jsii.String("Workers reach SQS"), nil)
		endpointSG.AddIngressRule(webSG, awsec2.Port_Tcp(jsii.Number(443)), jsii.String("Web servers reach SQS"), nil)
		// In this construct's scope, not the VPC's: the VPC often lives in another stack.
		endpoints := map[string]awsec2.InterfaceVpcEndpointAwsService{"SqsEndpoint": awsec2.InterfaceVpcEndpointAwsService_SQS()}
		if p.WorkerCommand == "" {
			// The agent also streams job logs, sets scale-in protection and leaves its fleet.
			endpoints["LogsEndpoint"] = awsec2.InterfaceVpcEndpointAwsService_CLOUDWATCH_LOGS()
			endpoints["AutoScalingEndpoint"] = awsec2.InterfaceVpcEndpointAwsService_AUTOSCALING()
		}
		if p.EventsTopic {
			endpoints["SnsEndpoint"] = awsec2.InterfaceVpcEndpointAwsService_SNS()
		}
		for _, id := range slices.Sorted(maps.Keys(endpoints)) {
			awsec2.NewInterfaceVpcEndpoint(r.Construct, jsii.String(id), &awsec2.InterfaceVpcEndpointProps{
				Vpc:               p.Vpc,
				Service:           endpoints[id],
				PrivateDnsEnabled: jsii.Bool(true),
				Subnets:           webfront.PrivateSubnets(p.Vpc),
				SecurityGroups:    &[]awsec2.ISecurityGroup{endpointSG},
				Open:              jsii.Bool(false),
			})
		}
	}
	return r
}

var (
	// AgentQueueActions are the queue calls of the worker agent (jobs.SQSQueue: Receive, Delete, SetVisibility).
	AgentQueueActions  = []string{"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility"}
	workerQueueActions = []string{"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"}
	webQueueActions    = []string{"sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"}
)

// workerQueueActions: the agent's calls, or for your own worker also the queue's attributes and URL.
func (r *JobRunner) workerQueueActions() []string {
	if r.props.WorkerCommand == "" {
		return AgentQueueActions
	}
	return workerQueueActions
}

func (r *JobRunner) newQueues(c JobClass) awssqs.Queue {
	p := r.props
	name := names.Pascal(c.Name)
	dlq := awssqs.NewQueue(r.Construct, jsii.String(name+"DeadLetterQueue"), &awssqs.QueueProps{
		Encryption:      awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:      jsii.Bool(true),
		RetentionPeriod: awscdk.Duration_Days(jsii.Number(14)),
	})
	cdknag.NagSuppressions_AddResourceSuppressions(dlq, &[]*cdknag.NagPackSuppression{{
		Id:     jsii.String("AwsSolutions-SQS3"),
		Reason: jsii.String(fmt.Sprintf("This is the dead-letter queue of the %s jobs queue; a dead-letter queue has none of its own.", c.Name)),
	}}, jsii.Bool(false))
	queue := awssqs.NewQueue(r.Construct, jsii.String(name+"JobsQueue"), &awssqs.QueueProps{
		Encryption:             awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:             jsii.Bool(true),
		VisibilityTimeout:      p.VisibilityTimeout,
		RetentionPeriod:        awscdk.Duration_Days(jsii.Number(14)),
		ReceiveMessageWaitTime: awscdk.Duration_Seconds(jsii.Number(20)),
		DeadLetterQueue:        &awssqs.DeadLetterQueue{Queue: dlq, MaxReceiveCount: jsii.Number(p.MaxReceiveCount)},
	})
	// Only this platform's roles may use the queue: the web server sends, workers receive.
	queue.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("WebServerSubmits"),
		Principals: &[]awsiam.IPrincipal{awsiam.NewArnPrincipal(p.Store.WebRole.RoleArn())},
		Actions:    jsii.Strings(webQueueActions...),
		Resources:  &[]*string{queue.QueueArn()},
	}))
	queue.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("WorkersConsume"),
		Principals: &[]awsiam.IPrincipal{awsiam.NewArnPrincipal(p.Store.WorkerRole.RoleArn())},
		Actions:    jsii.Strings(r.workerQueueActions()...),
		Resources:  &[]*string{queue.QueueArn()},
	}))
	// F18: a job on the dead-letter queue failed max_receive_count deliveries; say so.
	dead := awscloudwatch.NewAlarm(r.Construct, jsii.String(name+"DeadLetterAlarm"), &awscloudwatch.AlarmProps{
		AlarmDescription: jsii.String(fmt.Sprintf("A %s job was delivered %d times without ending and is in the dead-letter queue", c.Name, p.MaxReceiveCount)),
		Metric: dlq.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{
			Period: awscdk.Duration_Minutes(jsii.Number(5)), Statistic: jsii.String("Maximum"),
		}),
		Threshold:          jsii.Number(1),
		ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
		EvaluationPeriods:  jsii.Number(1),
		TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
	})
	dead.AddAlarmAction(awscloudwatchactions.NewSnsAction(r.Notifications))
	r.Queues[c.Name], r.DeadLetterQueues[c.Name] = queue, dlq
	return queue
}

func (r *JobRunner) newWorkerFleet(c JobClass, queue awssqs.Queue, sg awsec2.ISecurityGroup, queuePolicy awsiam.Policy) {
	p := r.props
	name := names.Pascal(c.Name)
	env := map[string]*string{
		"JOB_CLASS": jsii.String(c.Name), "JOB_QUEUE_URL": queue.QueueUrl(),
		"JOBS_BUCKET": p.Store.Bucket.BucketName(), "JOBS_TABLE": p.Store.JobsTable.TableName(), "USERS_TABLE": p.Store.UsersTable.TableName(),
		"AWS_REGION": awscdk.Stack_Of(r.Construct).Region(), "JOB_LOG_GROUP": r.JobLogs.LogGroupName(),
	}
	if r.EventsTopic != nil {
		env["JOB_EVENTS_TOPIC_ARN"] = r.EventsTopic.TopicArn()
	}
	gpu := c.GPU || NvidiaGPU(c.InstanceTypes[0])
	rootGiB := c.RootVolumeGiB
	var ud awsec2.UserData
	if p.WorkerCommand != "" {
		ud = serviceUserData("kotta-worker", p.WorkerCommand, p.Store.Bucket, p.CodeKey, env)
	} else {
		env["JOB_IDLE_EXIT_SECONDS"] = jsii.String(fmt.Sprint(int(*p.ScaleInAfter.ToSeconds(nil))))
		// The queue's redrive limit: on the last delivery the agent ends a job it cannot finish as failed
		// instead of returning it to a queue that would move it to the dead-letter queue.
		env["JOB_MAX_RECEIVE_COUNT"] = jsii.String(fmt.Sprint(p.MaxReceiveCount))
		ud = agentUserData(r.agentAsset(goarch(c.InstanceTypes[0])), env)
	}
	if gpu && rootGiB < minGPURootGiB {
		rootGiB = minGPURootGiB
	}
	lt := r.workerLaunchTemplate(name+"Workers", c.InstanceTypes[0], rootGiB, gpu, p.Store.WorkerRole, sg, ud)
	asgProps := &awsautoscaling.AutoScalingGroupProps{
		Vpc:         p.Vpc,
		VpcSubnets:  webfront.PrivateSubnets(p.Vpc),
		MinCapacity: jsii.Number(c.Min),
		MaxCapacity: jsii.Number(c.Max),
		// No Cooldown: it applies to simple scaling policies only (EC2 Auto Scaling, "Scaling cooldowns");
		// step scaling uses the instance warm-up.
		HealthChecks:  awsautoscaling.HealthChecks_Ec2(&awsautoscaling.Ec2HealthChecksOptions{GracePeriod: awscdk.Duration_Minutes(jsii.Number(5))}),
		Notifications: &[]*awsautoscaling.NotificationConfiguration{{Topic: r.Notifications, ScalingEvents: awsautoscaling.ScalingEvents_ALL()}},
	}
	if c.Spot || len(c.InstanceTypes) > 1 {
		onDemand := 100.0
		if c.Spot {
			// No CapacityRebalance: Auto Scaling would terminate a rebalanced instance whatever it runs. The
			// agent drains on a rebalance notice instead, and asks for its replacement once its job is done.
			onDemand = 0
		}
		var overrides []*awsautoscaling.LaunchTemplateOverrides
		for _, t := range c.InstanceTypes {
			overrides = append(overrides, &awsautoscaling.LaunchTemplateOverrides{InstanceType: awsec2.NewInstanceType(jsii.String(t))})
		}
		asgProps.MixedInstancesPolicy = &awsautoscaling.MixedInstancesPolicy{
			LaunchTemplate: lt,
			InstancesDistribution: &awsautoscaling.InstancesDistribution{
				OnDemandBaseCapacity:                jsii.Number(0),
				OnDemandPercentageAboveBaseCapacity: jsii.Number(onDemand),
				SpotAllocationStrategy:              awsautoscaling.SpotAllocationStrategy_PRICE_CAPACITY_OPTIMIZED,
			},
			LaunchTemplateOverrides: &overrides,
		}
	} else {
		asgProps.LaunchTemplate = lt
	}
	asg := awsautoscaling.NewAutoScalingGroup(r.Construct, jsii.String(name+"Workers"), asgProps)
	if asgProps.MixedInstancesPolicy != nil {
		// cdk-nag's EC26 reads launchTemplate.launchTemplateName, which a mixed-instances ASG does not
		// have, so it throws and reports a validation failure instead of a finding. The volume it would
		// check is in lt: encrypted gp3, asserted by TestJobsWorkerFleetsRunInPrivateSubnetsFromSecureLaunchTemplates.
		cdknag.NagSuppressions_AddResourceSuppressions(asg, &[]*cdknag.NagPackSuppression{{
			Id:        jsii.String("CdkNagValidationFailure"),
			Reason:    jsii.String(fmt.Sprintf("AwsSolutions-EC26 cannot read the %s fleet's mixed-instances launch template; its root volume is encrypted gp3, set in the launch template and asserted by a test.", c.Name)),
			AppliesTo: &[]interface{}{jsii.String("AwsSolutions-EC26")},
		}}, jsii.Bool(true))
	}
	if asgProps.MixedInstancesPolicy != nil {
		// cdk-nag's EC2IMDSv2Enabled follows an ASG's LaunchTemplate, not one inside a MixedInstancesPolicy.
		suppressPacks(asg, "EC2IMDSv2Enabled", fmt.Sprintf("The %s fleet boots from its mixed-instances launch template, which requires IMDSv2 "+
			"(HttpTokens required, internal/launchtemplate; asserted by TestJobsWorkerFleetsRunInPrivateSubnetsFromSecureLaunchTemplates); the rule does not follow a MixedInstancesPolicy.", c.Name))
	}
	// The first workers must not boot before their role may read the queue and the agent.
	asg.Node().AddDependency(queuePolicy)
	r.Fleets[c.Name] = asg
	r.scaleOnQueue(name, c, asg, queue)
}

// minGPURootGiB: the Deep Learning Base GPU AMI's snapshot is 75 GiB.
const minGPURootGiB = 75

// NvidiaGPU reports whether an instance type's family has NVIDIA GPUs (the ones the Deep Learning Base OSS
// NVIDIA Driver AMI supports).
func NvidiaGPU(instanceType string) bool { return awsrules.NvidiaGPU(instanceType) }

// scaleOnQueue grows the fleet in proportion to the jobs waiting: a step adds as many workers as there are
// waiting jobs (more than 7: the fleet's maximum), and while new workers warm up Auto Scaling counts them
// against the next step, so a burst of jobs starts together instead of one worker per warm-up.
//
// Agent fleets shrink by themselves: a worker that has received no job for ScaleInAfter leaves the fleet,
// decrementing its desired capacity (Auto Scaling refuses below the minimum), and a busy worker is
// protected from scale-in. There is no idle alarm, which would undo a manual scale-out every minute.
// Fleets of your own WorkerCommand get the idle alarm: waiting + in flight = 0 for ScaleInAfter, on
// 1-minute periods, returns them to their minimum.
func (r *JobRunner) scaleOnQueue(name string, c JobClass, asg awsautoscaling.AutoScalingGroup, queue awssqs.Queue) {
	out := awsautoscaling.NewStepScalingAction(r.Construct, jsii.String(name+"ScaleOut"), &awsautoscaling.StepScalingActionProps{
		AutoScalingGroup:        asg,
		AdjustmentType:          awsautoscaling.AdjustmentType_CHANGE_IN_CAPACITY,
		MetricAggregationType:   awsautoscaling.MetricAggregationType_MAXIMUM,
		EstimatedInstanceWarmup: r.props.ScaleOutWarmup,
	})
	// Bounds are relative to the alarm's threshold of 1 waiting job: 1 → +1, 2 → +2, 3-4 → +3, 5-7 → +5, 8+ → +max.
	for _, t := range ScaleOutSteps(c.Max) {
		tier := &awsautoscaling.AdjustmentTier{LowerBound: jsii.Number(t.Lower), Adjustment: jsii.Number(t.Add)}
		if t.Upper > 0 {
			tier.UpperBound = jsii.Number(t.Upper)
		}
		out.AddAdjustment(tier)
	}
	backlog := awscloudwatch.NewAlarm(r.Construct, jsii.String(name+"BacklogAlarm"), &awscloudwatch.AlarmProps{
		AlarmDescription: jsii.String(fmt.Sprintf("%s jobs are waiting: add workers", c.Name)),
		Metric: queue.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{
			Period: awscdk.Duration_Minutes(jsii.Number(1)), Statistic: jsii.String("Maximum"),
		}),
		Threshold:          jsii.Number(1),
		ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
		EvaluationPeriods:  jsii.Number(1),
		TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
	})
	backlog.AddAlarmAction(awscloudwatchactions.NewAutoScalingAction(out))
	if r.props.WorkerCommand == "" {
		return
	}

	in := awsautoscaling.NewStepScalingAction(r.Construct, jsii.String(name+"ScaleIn"), &awsautoscaling.StepScalingActionProps{
		AutoScalingGroup:      asg,
		AdjustmentType:        awsautoscaling.AdjustmentType_EXACT_CAPACITY,
		MetricAggregationType: awsautoscaling.MetricAggregationType_MAXIMUM,
	})
	in.AddAdjustment(&awsautoscaling.AdjustmentTier{UpperBound: jsii.Number(0), Adjustment: jsii.Number(c.Min)})
	period := awscdk.Duration_Minutes(jsii.Number(1))
	periods := *r.props.ScaleInAfter.ToMinutes(nil)
	idle := awscloudwatch.NewAlarm(r.Construct, jsii.String(name+"IdleAlarm"), &awscloudwatch.AlarmProps{
		AlarmDescription: jsii.String(fmt.Sprintf("No %s job has waited or run for %v minutes: return the fleet to its minimum", c.Name, periods)),
		Metric: awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
			Label:      jsii.String("waiting + in flight"),
			Expression: jsii.String("visible + inflight"),
			Period:     period,
			UsingMetrics: &map[string]awscloudwatch.IMetric{
				"visible":  queue.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{Period: period, Statistic: jsii.String("Maximum")}),
				"inflight": queue.MetricApproximateNumberOfMessagesNotVisible(&awscloudwatch.MetricOptions{Period: period, Statistic: jsii.String("Maximum")}),
			},
		}),
		Threshold:          jsii.Number(0),
		ComparisonOperator: awscloudwatch.ComparisonOperator_LESS_THAN_OR_EQUAL_TO_THRESHOLD,
		EvaluationPeriods:  jsii.Number(periods),
		DatapointsToAlarm:  jsii.Number(periods),
		// SQS stops reporting a queue that has been idle for hours: no data means no jobs.
		TreatMissingData: awscloudwatch.TreatMissingData_BREACHING,
	})
	idle.AddAlarmAction(awscloudwatchactions.NewAutoScalingAction(in))
}

// Step is one scale-out step: with Lower <= waiting-1 < Upper (Upper 0: no bound), add Add workers.
type Step struct{ Lower, Upper, Add float64 }

// ScaleOutSteps are the backlog alarm's steps for a fleet of at most max workers.
func ScaleOutSteps(max int) []Step {
	steps := []Step{{0, 1, 1}, {1, 2, 2}, {2, 4, 3}, {4, 7, 5}, {7, 0, float64(max)}}
	// A step never adds more than max, and steps that would add the same as the one before merge.
	var out []Step
	for _, s := range steps {
		s.Add = min(s.Add, float64(max))
		if n := len(out); n > 0 && out[n-1].Add == s.Add {
			out[n-1].Upper = s.Upper
			continue
		}
		out = append(out, s)
	}
	return out
}

func (r *JobRunner) newWeb(webSG awsec2.ISecurityGroup) {
	p := r.props
	w := p.Web
	logs := p.AccessLogsBucket
	if logs == nil {
		logs = p.Store.LogsBucket
	}
	front := webfront.New(r.Construct, "Front", &webfront.Props{
		Vpc: p.Vpc, CertificateArn: w.CertificateArn, Domain: w.Domain, Purpose: "Job web", AccessLogs: logs,
		AccessLogsPrefix: "alb/jobs-web", AllowedCidrs: w.AllowedCidrs,
	})
	r.LoadBalancer = front.LoadBalancer
	r.Front = front
	if p.Regulated {
		r.newWebACL()
	}

	env := map[string]*string{
		"WEB_PORT": jsii.String(fmt.Sprint(w.Port)), "JOBS_BUCKET": p.Store.Bucket.BucketName(),
		"JOBS_TABLE": p.Store.JobsTable.TableName(), "USERS_TABLE": p.Store.UsersTable.TableName(),
		"AWS_REGION": awscdk.Stack_Of(r.Construct).Region(),
	}
	for _, c := range p.Classes {
		env["JOB_QUEUE_URL_"+strings.ToUpper(strings.ReplaceAll(c.Name, "-", "_"))] = r.Queues[c.Name].QueueUrl()
	}
	if r.EventsTopic != nil {
		env["JOB_EVENTS_TOPIC_ARN"] = r.EventsTopic.TopicArn()
	}
	// What a web app needs to verify the load balancer's x-amzn-oidc-data token (its signer) and to build
	// a Cognito logout URL.
	env["ALB_ARN"] = r.LoadBalancer.LoadBalancerArn()
	if l := w.Login; l != nil {
		env["COGNITO_CLIENT_ID"] = l.Client.UserPoolClientId()
		host := l.Host
		if host == nil {
			host = awscdk.Fn_Join(jsii.String(""), &[]*string{l.Domain.DomainName(), jsii.String(".auth."), awscdk.Stack_Of(r.Construct).Region(), jsii.String(".amazoncognito.com")})
		}
		env["COGNITO_DOMAIN"] = host
	}
	lt := r.launchTemplate("Web", w.InstanceType, 30, p.Store.WebRole, webSG, serviceUserData("kotta-web", w.Command, p.Store.Bucket, p.CodeKey, env))
	asg := awsautoscaling.NewAutoScalingGroup(r.Construct, jsii.String("WebServers"), &awsautoscaling.AutoScalingGroupProps{
		Vpc:            p.Vpc,
		VpcSubnets:     webfront.PrivateSubnets(p.Vpc),
		LaunchTemplate: lt,
		MinCapacity:    jsii.Number(w.Min),
		MaxCapacity:    jsii.Number(w.Max),
		Cooldown:       awscdk.Duration_Minutes(jsii.Number(5)),
		HealthChecks: awsautoscaling.HealthChecks_WithAdditionalChecks(&awsautoscaling.AdditionalHealthChecksOptions{
			AdditionalTypes: &[]awsautoscaling.AdditionalHealthCheckType{awsautoscaling.AdditionalHealthCheckType_ELB},
			GracePeriod:     awscdk.Duration_Minutes(jsii.Number(5)),
		}),
		// F8: replace one server at a time and keep one in service while there is room (MinInstancesInService
		// must be below MaxSize: CloudFormation launches the new server before it stops the old).
		UpdatePolicy:  awsautoscaling.UpdatePolicy_RollingUpdate(rollingUpdate(w)),
		Notifications: &[]*awsautoscaling.NotificationConfiguration{{Topic: r.Notifications, ScalingEvents: awsautoscaling.ScalingEvents_ALL()}},
	})
	r.WebFleet = asg

	targets := awselasticloadbalancingv2.NewApplicationTargetGroup(r.Construct, jsii.String("WebTargets"), &awselasticloadbalancingv2.ApplicationTargetGroupProps{
		Vpc:                 p.Vpc,
		Port:                jsii.Number(w.Port),
		Protocol:            awselasticloadbalancingv2.ApplicationProtocol_HTTP,
		Targets:             &[]awselasticloadbalancingv2.IApplicationLoadBalancerTarget{asg},
		DeregistrationDelay: awscdk.Duration_Seconds(jsii.Number(30)),
		HealthCheck: &awselasticloadbalancingv2.HealthCheck{
			Path:             jsii.String(w.HealthCheckPath),
			HealthyHttpCodes: jsii.String("200-399"),
			Interval:         awscdk.Duration_Seconds(jsii.Number(30)),
		},
	})
	forward := awselasticloadbalancingv2.ListenerAction_Forward(&[]awselasticloadbalancingv2.IApplicationTargetGroup{targets}, nil)
	action := forward
	if l := w.Login; l != nil {
		action = awselasticloadbalancingv2actions.NewAuthenticateCognitoAction(&awselasticloadbalancingv2actions.AuthenticateCognitoActionProps{
			UserPool: l.UserPool, UserPoolClient: l.Client, UserPoolDomain: l.Domain,
			Scope: jsii.String("openid email profile"), Next: forward,
			SessionTimeout: awscdk.Duration_Hours(jsii.Number(8)),
		})
	}
	front.HTTPS.AddAction(jsii.String("Default"), &awselasticloadbalancingv2.AddApplicationActionProps{Action: action})
}

func rollingUpdate(w WebProps) *awsautoscaling.RollingUpdateOptions {
	o := &awsautoscaling.RollingUpdateOptions{MaxBatchSize: jsii.Number(1)}
	if w.Max > 1 {
		o.MinInstancesInService = jsii.Number(1)
	}
	return o
}

func (r *JobRunner) newEventsTopic() {
	p := r.props
	topic := awssns.NewTopic(r.Construct, jsii.String("JobEvents"), &awssns.TopicProps{
		DisplayName: jsii.String("Job events"),
		EnforceSSL:  jsii.Bool(true),
		MasterKey:   awskms.Alias_FromAliasName(r.Construct, jsii.String("SnsKey"), jsii.String("alias/aws/sns")),
	})
	topic.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("PlatformPublishes"),
		Principals: &[]awsiam.IPrincipal{awsiam.NewArnPrincipal(p.Store.WebRole.RoleArn()), awsiam.NewArnPrincipal(p.Store.WorkerRole.RoleArn())},
		Actions:    jsii.Strings("sns:Publish"),
		Resources:  &[]*string{topic.TopicArn()},
	}))
	r.EventsTopic = topic
}

// GPUImageParameter is the SSM parameter of the AWS Deep Learning Base OSS NVIDIA Driver GPU AMI
// (Amazon Linux 2023) for an architecture ("x86_64" or "arm64").
func GPUImageParameter(arch string) string {
	return "/aws/service/deeplearning/ami/" + arch + "/base-oss-nvidia-driver-gpu-amazon-linux-2023/latest/ami-id"
}

func (r *JobRunner) workerLaunchTemplate(id, instanceType string, rootGiB int, gpu bool, role awsiam.IRole, sg awsec2.ISecurityGroup, ud awsec2.UserData) awsec2.LaunchTemplate {
	return r.launchTemplateWith(id, instanceType, rootGiB, r.image(instanceType, gpu), role, sg, ud)
}

// launchTemplate requires IMDSv2, encrypts a gp3 root volume and turns on detailed monitoring.
func (r *JobRunner) launchTemplate(id, instanceType string, rootGiB int, role awsiam.IRole, sg awsec2.ISecurityGroup, ud awsec2.UserData) awsec2.LaunchTemplate {
	return r.launchTemplateWith(id, instanceType, rootGiB, r.image(instanceType, false), role, sg, ud)
}

// ImageKind is the key of Props.Images for an instance type: its architecture, prefixed gpu_ with gpu.
func ImageKind(instanceType string, gpu bool) string {
	arch := awsrules.EC2Arch(instanceType)
	if gpu {
		return "gpu_" + arch
	}
	return arch
}

// image is the machine image of an instance type: Props.MachineImage, or the pinned AMI of its kind, or
// the SSM parameter of its kind (resolved at deploy time).
func (r *JobRunner) image(instanceType string, gpu bool) awsec2.IMachineImage {
	if r.props.MachineImage != nil {
		return r.props.MachineImage
	}
	if ami := r.props.Images[ImageKind(instanceType, gpu)]; ami != "" && ami != ImageLatest {
		region := awscdk.Stack_Of(r.Construct).Region()
		return awsec2.MachineImage_GenericLinux(&map[string]*string{*region: jsii.String(ami)}, nil)
	}
	arch := awsrules.EC2Arch(instanceType)
	if gpu {
		return awsec2.MachineImage_FromSsmParameter(jsii.String(GPUImageParameter(arch)), &awsec2.SsmParameterImageOptions{Os: awsec2.OperatingSystemType_LINUX})
	}
	cpu := awsec2.AmazonLinuxCpuType_X86_64
	if arch == "arm64" {
		cpu = awsec2.AmazonLinuxCpuType_ARM_64
	}
	return awsec2.MachineImage_LatestAmazonLinux2023(&awsec2.AmazonLinux2023ImageSsmParameterProps{CpuType: cpu})
}

// ImageLatest in Props.Images follows AWS's SSM parameter.
const ImageLatest = "latest"

func (r *JobRunner) launchTemplateWith(id, instanceType string, rootGiB int, image awsec2.IMachineImage, role awsiam.IRole, sg awsec2.ISecurityGroup, ud awsec2.UserData) awsec2.LaunchTemplate {
	return launchtemplate.New(r.Construct, id+"LaunchTemplate", launchtemplate.Props{
		InstanceType: instanceType, MachineImage: image, Role: role, SecurityGroup: sg, UserData: ud,
		RootVolumeGiB: rootGiB, DetailedMonitoring: true,
	})
}

// serviceUserData fetches the code tarball, unpacks it for a system user and runs command under systemd,
// restarting it if it stops, with env in its environment.
func serviceUserData(service, command string, bucket awss3.IBucket, codeKey string, env map[string]*string) awsec2.UserData {
	ud := awsec2.UserData_ForLinux(nil)
	var envFile strings.Builder
	for _, k := range slices.Sorted(maps.Keys(env)) {
		envFile.WriteString(k + "=" + *env[k] + "\n")
	}
	// systemd expands % specifiers and $VAR / ${VAR} in ExecStart: a literal % is %%, a literal $ is $$
	// (systemd.service, "Command lines"). The command then runs under bash -c '...'.
	quoted := strings.NewReplacer("%", "%%", "$", "$$", "'", `'\''`).Replace(command)
	commands := []string{
		"set -euo pipefail",
		// F7: a code tarball that cannot be fetched (not uploaded yet, a transient error) is retried, and then
		// powers the instance off so that Auto Scaling replaces it, instead of leaving a server that runs nothing.
		`fail() { echo "` + service + ` setup failed: $*" | tee /dev/console >&2; logger -t ` + service + ` "setup failed: $*"; shutdown -h now; exit 1; }`,
		`retry() { local i; for i in 1 2 3 4 5 6 7 8 9 10; do "$@" && return 0; sleep $((i * 3)); done; return 1; }`,
		"id -u kotta >/dev/null 2>&1 || useradd --system --create-home --home-dir /opt/kotta --shell /sbin/nologin kotta",
		"install -d -o kotta -g kotta /opt/kotta/app",
		"retry aws s3 cp 's3://" + *bucket.BucketName() + "/" + codeKey + "' /opt/kotta/code.tar.gz || fail 'cannot download s3://" + *bucket.BucketName() + "/" + codeKey + "'",
		"tar -xzf /opt/kotta/code.tar.gz -C /opt/kotta/app || fail 'the code tarball does not unpack'",
		"chown -R kotta:kotta /opt/kotta",
		"cat > /etc/" + service + ".env <<'ENV'\n" + envFile.String() + "ENV",
		"cat > /etc/systemd/system/" + service + ".service <<'UNIT'\n" +
			"[Unit]\nDescription=Cloud Kotta " + strings.TrimPrefix(service, "kotta-") + "\nAfter=network-online.target\nWants=network-online.target\n\n" +
			"[Service]\nUser=kotta\nEnvironmentFile=/etc/" + service + ".env\nWorkingDirectory=/opt/kotta/app\n" +
			"ExecStart=/bin/bash -c '" + quoted + "'\nRestart=always\nRestartSec=10\n\n[Install]\nWantedBy=multi-user.target\nUNIT",
		"systemctl daemon-reload",
		"systemctl enable --now " + service + ".service",
	}
	ud.AddCommands(*jsii.Strings(commands...)...)
	return ud
}

func withDefaults(in *Props) *Props {
	p := Props{}
	if in != nil {
		p = *in
	}
	if p.Classes == nil {
		p.Classes = DefaultClasses()
	}
	if p.VisibilityTimeout == nil {
		p.VisibilityTimeout = awscdk.Duration_Seconds(jsii.Number(43199))
	}
	if p.MaxReceiveCount == 0 {
		p.MaxReceiveCount = 3
	}
	if p.ScaleInAfter == nil {
		p.ScaleInAfter = awscdk.Duration_Minutes(jsii.Number(60))
	}
	if p.AgentBinary == nil {
		p.AgentBinary = BuildAgent
	}
	if p.JobLogRetention == "" {
		p.JobLogRetention = awslogs.RetentionDays_THREE_MONTHS
	}
	if p.JobLogRemovalPolicy == "" {
		p.JobLogRemovalPolicy = awscdk.RemovalPolicy_RETAIN
	}
	if p.ScaleOutWarmup == nil {
		p.ScaleOutWarmup = awscdk.Duration_Minutes(jsii.Number(2))
	}
	if p.CodeKey == "" {
		p.CodeKey = jobstore.PrefixCode + "cloud_kotta.tar.gz"
	}
	w := &p.Web
	if w.InstanceType == "" {
		w.InstanceType = "t3.small"
	}
	if w.Min == 0 && w.Max == 0 {
		w.Min, w.Max = 1, 2
	}
	if w.Port == 0 {
		w.Port = 8888
	}
	if w.HealthCheckPath == "" {
		w.HealthCheckPath = "/"
	}
	if w.AllowedCidrs == nil {
		w.AllowedCidrs = []string{"0.0.0.0/0"}
	}
	return &p
}

func (p *Props) check() error {
	var errs []string
	add := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }
	if p.Vpc == nil {
		add("Vpc is required")
	}
	if p.Store == nil {
		add("Store is required")
	}
	if len(p.Classes) == 0 {
		add("Classes is empty (at least one job class)")
	}
	seen := map[string]bool{}
	for _, c := range p.Classes {
		if c.Name == "" || seen[c.Name] {
			add("class name %q is empty or used twice", c.Name)
		}
		seen[c.Name] = true
		for _, why := range awsrules.EC2Fleet("class", c.Name, c.InstanceTypes, c.Min, c.Max) {
			add("%s", why)
		}
	}
	if v := *p.VisibilityTimeout.ToSeconds(nil); v < 0 || v > MaxVisibilityTimeout {
		add("VisibilityTimeout %v s is outside SQS's 0 to %d s", v, MaxVisibilityTimeout)
	}
	if p.MaxReceiveCount < 1 || p.MaxReceiveCount > 1000 {
		add("MaxReceiveCount %d is out of range (1 to 1000)", p.MaxReceiveCount)
	}
	if m := *p.ScaleInAfter.ToMinutes(nil); m < 5 || m > 1440 || int(m)%5 != 0 {
		add("ScaleInAfter %v minutes must be a multiple of 5 from 5 to 1440", m)
	}
	if strings.ContainsAny(p.WorkerCommand, "\n\r") {
		add("WorkerCommand has a line break (one command line; put scripts in the code tarball)")
	}
	w := p.Web
	if w.CertificateArn == "" && w.Domain == nil {
		add("Web.CertificateArn is required without Web.Domain")
	} else if w.CertificateArn != "" {
		if why := awsrules.ACMCertificateARN(w.CertificateArn, "", ""); why != "" {
			add("Web.CertificateArn %q %s", w.CertificateArn, why)
		}
	}
	if w.Command == "" {
		add("Web.Command is required")
	}
	if why := awsrules.EC2InstanceType(w.InstanceType); why != "" {
		add("Web.InstanceType %q %s", w.InstanceType, why)
	}
	if w.Min < 0 || w.Min > w.Max || w.Max < 1 {
		add("Web min %d and max %d must satisfy 0 <= min <= max, max >= 1", w.Min, w.Max)
	}
	if w.Port < 1 || w.Port > 65535 {
		add("Web.Port %d is not a port", w.Port)
	}
	if !strings.HasPrefix(w.HealthCheckPath, "/") {
		add("Web.HealthCheckPath %q must start with /", w.HealthCheckPath)
	}
	if len(w.AllowedCidrs) == 0 {
		add("Web.AllowedCidrs is empty: nobody could reach the web server")
	}
	for _, c := range w.AllowedCidrs {
		if pfx, err := netip.ParsePrefix(c); err != nil || pfx.Masked() != pfx {
			add("Web.AllowedCidrs: %q is not a network CIDR", c)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}

// suppressPacks suppresses one rule of the NIST 800-53 R5 and HIPAA Security packs (they share rule
// names) on scope and its children, with the same reason.
func suppressPacks(scope constructs.IConstruct, rule, reason string) {
	cdknag.NagSuppressions_AddResourceSuppressions(scope, &[]*cdknag.NagPackSuppression{
		{Id: jsii.String("NIST.800.53.R5-" + rule), Reason: jsii.String(reason)},
		{Id: jsii.String("HIPAA.Security-" + rule), Reason: jsii.String(reason)},
	}, jsii.Bool(true))
}

// newWebACL puts the shared AWS WAF web ACL in front of the load balancer (webfront.NewWebACL: AWS's
// known-bad-inputs and IP reputation rule groups, not the core rule set, whose 8 KB body limit would
// cut off job uploads through the web server). Its resources keep the IDs RunnerWebAcl* they had here.
func (r *JobRunner) newWebACL() {
	r.WebACL = webfront.NewWebACL(r.Construct, "WebAcl", &webfront.WebACLProps{
		Purpose: "Job web server", MetricName: "JobsWeb", LoadBalancer: r.LoadBalancer,
		LogRetention: awslogs.RetentionDays_THREE_MONTHS, LogRemovalPolicy: r.props.JobLogRemovalPolicy, LogsKey: r.props.LogsKey,
	})
}

// UserStatements are what a person running `stratolab jobs` needs of the runner: sqs:SendMessage on the
// job queues (submit; the queues use SQS-managed encryption, which needs no KMS permission) and
// logs:GetLogEvents on the job log group (logs; CloudWatch Logs decrypts a log group's key itself, under
// the key policy's grant to its service principal). Together with the store's UserStatements, this is
// every AWS call of internal/jobclient.
func (r *JobRunner) UserStatements() []awsiam.PolicyStatement {
	var queues []*string
	for _, name := range slices.Sorted(maps.Keys(r.Queues)) {
		queues = append(queues, r.Queues[name].QueueArn())
	}
	return []awsiam.PolicyStatement{
		awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{Sid: jsii.String("QueueJobs"), Actions: jsii.Strings(UserQueueActions...), Resources: &queues}),
		awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{Sid: jsii.String("ReadJobLogs"), Actions: jsii.Strings(UserLogActions...), Resources: &[]*string{r.JobLogs.LogGroupArn()}}),
	}
}

// The calls of a jobs user on the runner (UserStatements).
var (
	UserQueueActions = []string{"sqs:SendMessage"}
	UserLogActions   = []string{"logs:GetLogEvents"}
)
