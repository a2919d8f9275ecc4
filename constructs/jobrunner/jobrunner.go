// Package jobrunner is Cloud Kotta's job platform: the stateless part that runs on a jobstore.
//
// For each job class (Kotta's are prod and test) New creates an SQS jobs queue with a dead-letter queue,
// both encrypted and TLS-only, whose policy admits only the store's web and worker roles; and an
// autoscaling fleet of workers in private subnets (IMDSv2, encrypted gp3 root volume, optional spot)
// that starts when jobs wait in the queue and shrinks back to its minimum once the queue has been empty,
// with nothing in flight, for a set time. Each worker fetches the code tarball from the store's code/
// prefix and runs the worker command as a systemd service.
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
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
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
	// Default: - 30
	RootVolumeGiB int
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
	// ACM certificate for the HTTPS listener, in the stack's region. Required.
	CertificateArn string
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
	Domain   awscognito.IUserPoolDomain
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
	// Command that starts a worker from the unpacked code directory. Required.
	WorkerCommand string
	// Key of the code tarball in the store's bucket. Default: - code/cloud_kotta.tar.gz
	CodeKey string
	// The web server.
	Web WebProps
	// Where the load balancer writes its access logs. Default: - the store's LogsBucket
	AccessLogsBucket awss3.IBucket
	// Create an SNS topic for job events that the web server and workers may publish to. Default: - false
	EventsTopic bool
	// Add an SQS interface endpoint, for private subnets without a NAT gateway. Default: - false
	SqsEndpoint bool
	// Machine image of every instance. Default: - the latest Amazon Linux 2023, resolved at deploy time
	MachineImage awsec2.IMachineImage
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
	// EventsTopic carries job events; nil unless Props.EventsTopic.
	EventsTopic awssns.ITopic
	// Notifications receives the fleets' launch, termination and error events. Subscribe to it.
	Notifications awssns.ITopic

	props *Props
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
		Fleets: map[string]awsautoscaling.IAutoScalingGroup{}, props: p,
	}
	r.Notifications = awssns.NewTopic(r.Construct, jsii.String("FleetNotifications"), &awssns.TopicProps{
		DisplayName: jsii.String("Job fleet launch, termination and error events"),
		EnforceSSL:  jsii.Bool(true),
		// Left on SNS's own encryption: EC2 Auto Scaling publishes through its service-linked role, which
		// cannot use the AWS-managed SNS key; the events name instances, not data.
	})

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

	var workerPolicy, webPolicy []awsiam.PolicyStatement
	var queueArns []*string
	for _, c := range p.Classes {
		queue := r.newQueues(c)
		queueArns = append(queueArns, queue.QueueArn())
		workerPolicy = append(workerPolicy, awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:       jsii.String("Work" + names.Pascal(c.Name) + "Jobs"),
			Actions:   jsii.Strings(workerQueueActions...),
			Resources: &[]*string{queue.QueueArn()},
		}))
		r.newWorkerFleet(c, queue, workerSG)
	}
	webPolicy = append(webPolicy, awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("SubmitJobs"),
		Actions:   jsii.Strings(webQueueActions...),
		Resources: &queueArns,
	}))

	if p.EventsTopic {
		r.newEventsTopic()
		for _, pol := range []*[]awsiam.PolicyStatement{&workerPolicy, &webPolicy} {
			*pol = append(*pol, awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Sid: jsii.String("PublishJobEvents"), Actions: jsii.Strings("sns:Publish"), Resources: &[]*string{r.EventsTopic.TopicArn()},
			}))
		}
	}
	// The roles live with the store (often in another stack), so their queue rights are separate
	// policies here, attached to them: the store's stack never has to know about these queues.
	awsiam.NewPolicy(r.Construct, jsii.String("WorkerQueuePolicy"), &awsiam.PolicyProps{
		Roles: &[]awsiam.IRole{p.Store.WorkerRole}, Statements: &workerPolicy,
	})
	awsiam.NewPolicy(r.Construct, jsii.String("WebQueuePolicy"), &awsiam.PolicyProps{
		Roles: &[]awsiam.IRole{p.Store.WebRole}, Statements: &webPolicy,
	})

	r.newWeb(webSG)
	if p.SqsEndpoint {
		endpointSG := awsec2.NewSecurityGroup(r.Construct, jsii.String("SqsEndpointSecurityGroup"), &awsec2.SecurityGroupProps{
			Vpc: p.Vpc, Description: jsii.String("SQS endpoint: HTTPS from job workers and web servers"), AllowAllOutbound: jsii.Bool(false),
		})
		endpointSG.AddIngressRule(workerSG, awsec2.Port_Tcp(jsii.Number(443)), jsii.String("Workers reach SQS"), nil)
		endpointSG.AddIngressRule(webSG, awsec2.Port_Tcp(jsii.Number(443)), jsii.String("Web servers reach SQS"), nil)
		// In this construct's scope, not the VPC's: the VPC often lives in another stack.
		awsec2.NewInterfaceVpcEndpoint(r.Construct, jsii.String("SqsEndpoint"), &awsec2.InterfaceVpcEndpointProps{
			Vpc:               p.Vpc,
			Service:           awsec2.InterfaceVpcEndpointAwsService_SQS(),
			PrivateDnsEnabled: jsii.Bool(true),
			Subnets:           webfront.PrivateSubnets(p.Vpc),
			SecurityGroups:    &[]awsec2.ISecurityGroup{endpointSG},
			Open:              jsii.Bool(false),
		})
	}
	return r
}

var (
	workerQueueActions = []string{"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"}
	webQueueActions    = []string{"sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"}
)

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
		Actions:    jsii.Strings(workerQueueActions...),
		Resources:  &[]*string{queue.QueueArn()},
	}))
	r.Queues[c.Name], r.DeadLetterQueues[c.Name] = queue, dlq
	return queue
}

func (r *JobRunner) newWorkerFleet(c JobClass, queue awssqs.Queue, sg awsec2.ISecurityGroup) {
	p := r.props
	name := names.Pascal(c.Name)
	env := map[string]*string{
		"JOB_CLASS": jsii.String(c.Name), "JOB_QUEUE_URL": queue.QueueUrl(),
		"JOBS_BUCKET": p.Store.Bucket.BucketName(), "JOBS_TABLE": p.Store.JobsTable.TableName(), "USERS_TABLE": p.Store.UsersTable.TableName(),
		"AWS_REGION": awscdk.Stack_Of(r.Construct).Region(),
	}
	lt := r.launchTemplate(name+"Workers", c.InstanceTypes[0], c.RootVolumeGiB, p.Store.WorkerRole, sg,
		serviceUserData("kotta-worker", p.WorkerCommand, p.Store.Bucket, p.CodeKey, env))
	asgProps := &awsautoscaling.AutoScalingGroupProps{
		Vpc:           p.Vpc,
		VpcSubnets:    webfront.PrivateSubnets(p.Vpc),
		MinCapacity:   jsii.Number(c.Min),
		MaxCapacity:   jsii.Number(c.Max),
		Cooldown:      awscdk.Duration_Minutes(jsii.Number(5)),
		HealthChecks:  awsautoscaling.HealthChecks_Ec2(&awsautoscaling.Ec2HealthChecksOptions{GracePeriod: awscdk.Duration_Minutes(jsii.Number(5))}),
		Notifications: &[]*awsautoscaling.NotificationConfiguration{{Topic: r.Notifications, ScalingEvents: awsautoscaling.ScalingEvents_ALL()}},
	}
	if c.Spot || len(c.InstanceTypes) > 1 {
		onDemand := 100.0
		if c.Spot {
			onDemand = 0
			asgProps.CapacityRebalance = jsii.Bool(true)
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
	r.Fleets[c.Name] = asg
	r.scaleOnQueue(name, c, asg, queue)
}

// scaleOnQueue grows the fleet while jobs wait, and returns it to its minimum once the queue has been
// empty, with nothing in flight, for ScaleInAfter.
func (r *JobRunner) scaleOnQueue(name string, c JobClass, asg awsautoscaling.AutoScalingGroup, queue awssqs.Queue) {
	out := awsautoscaling.NewStepScalingAction(r.Construct, jsii.String(name+"ScaleOut"), &awsautoscaling.StepScalingActionProps{
		AutoScalingGroup:        asg,
		AdjustmentType:          awsautoscaling.AdjustmentType_CHANGE_IN_CAPACITY,
		MetricAggregationType:   awsautoscaling.MetricAggregationType_MAXIMUM,
		EstimatedInstanceWarmup: awscdk.Duration_Minutes(jsii.Number(5)),
	})
	// Bounds are relative to the alarm's threshold of 1 waiting job.
	out.AddAdjustment(&awsautoscaling.AdjustmentTier{LowerBound: jsii.Number(0), UpperBound: jsii.Number(9), Adjustment: jsii.Number(1)})
	out.AddAdjustment(&awsautoscaling.AdjustmentTier{LowerBound: jsii.Number(9), UpperBound: jsii.Number(49), Adjustment: jsii.Number(2)})
	out.AddAdjustment(&awsautoscaling.AdjustmentTier{LowerBound: jsii.Number(49), Adjustment: jsii.Number(5)})
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

	in := awsautoscaling.NewStepScalingAction(r.Construct, jsii.String(name+"ScaleIn"), &awsautoscaling.StepScalingActionProps{
		AutoScalingGroup:      asg,
		AdjustmentType:        awsautoscaling.AdjustmentType_EXACT_CAPACITY,
		MetricAggregationType: awsautoscaling.MetricAggregationType_MAXIMUM,
	})
	in.AddAdjustment(&awsautoscaling.AdjustmentTier{UpperBound: jsii.Number(0), Adjustment: jsii.Number(c.Min)})
	period := awscdk.Duration_Minutes(jsii.Number(5))
	periods := *r.props.ScaleInAfter.ToMinutes(nil) / 5
	idle := awscloudwatch.NewAlarm(r.Construct, jsii.String(name+"IdleAlarm"), &awscloudwatch.AlarmProps{
		AlarmDescription: jsii.String(fmt.Sprintf("No %s job has waited or run for %v minutes: return the fleet to its minimum", c.Name, periods*5)),
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

func (r *JobRunner) newWeb(webSG awsec2.ISecurityGroup) {
	p := r.props
	w := p.Web
	logs := p.AccessLogsBucket
	if logs == nil {
		logs = p.Store.LogsBucket
	}
	front := webfront.New(r.Construct, "Front", &webfront.Props{
		Vpc: p.Vpc, CertificateArn: w.CertificateArn, Purpose: "Job web", AccessLogs: logs,
		AccessLogsPrefix: "alb/jobs-web", AllowedCidrs: w.AllowedCidrs,
	})
	r.LoadBalancer = front.LoadBalancer

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
		UpdatePolicy:  awsautoscaling.UpdatePolicy_RollingUpdate(nil),
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

// launchTemplate requires IMDSv2, encrypts a gp3 root volume and turns on detailed monitoring.
func (r *JobRunner) launchTemplate(id, instanceType string, rootGiB int, role awsiam.IRole, sg awsec2.ISecurityGroup, ud awsec2.UserData) awsec2.LaunchTemplate {
	image := r.props.MachineImage
	if image == nil {
		cpu := awsec2.AmazonLinuxCpuType_X86_64
		if awsrules.EC2Arch(instanceType) == "arm64" {
			cpu = awsec2.AmazonLinuxCpuType_ARM_64
		}
		image = awsec2.MachineImage_LatestAmazonLinux2023(&awsec2.AmazonLinux2023ImageSsmParameterProps{CpuType: cpu})
	}
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
	// systemd expands % specifiers in ExecStart; a literal % is %%. The command runs under bash -c '...'.
	quoted := strings.ReplaceAll(strings.ReplaceAll(command, "%", "%%"), "'", `'\''`)
	commands := []string{
		"set -euo pipefail",
		"id -u kotta >/dev/null 2>&1 || useradd --system --create-home --home-dir /opt/kotta --shell /sbin/nologin kotta",
		"install -d -o kotta -g kotta /opt/kotta/app",
		"aws s3 cp 's3://" + *bucket.BucketName() + "/" + codeKey + "' /opt/kotta/code.tar.gz",
		"tar -xzf /opt/kotta/code.tar.gz -C /opt/kotta/app",
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
	if p.WorkerCommand == "" {
		add("WorkerCommand is required")
	}
	w := p.Web
	if why := awsrules.ACMCertificateARN(w.CertificateArn, ""); why != "" {
		add("Web.CertificateArn %q %s", w.CertificateArn, why)
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
