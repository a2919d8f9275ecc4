// Package control is Cloud Control as a construct: for each environment, a Step Functions Standard
// workflow that starts its stages in order (each gated by a readiness check, with a timeout) and
// stops them in reverse; EventBridge Scheduler schedules in the environment's time zone; a function
// (functions/control, built offline for arm64) for the steps SDK integrations cannot do alone, under
// a role that may act only on that environment's targets; a managed policy for the environment's
// operators (start and watch its runs, set its hold; nothing else); and one run table (runs, locks,
// holds, saved sizes) for all of them.
//
// What a run does is internal/control's; the construct writes each stage's definition into the
// workflow's payloads and publishes each environment's definition as JSON for the CLI and the page.
package control

import (
	"fmt"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
	"github.com/stratolab/stratolab/constructs/lifecycle"
	"github.com/stratolab/stratolab/internal/lambdaasset"
)

// FunctionPackage is the Go package of the workflow's function.
const FunctionPackage = "github.com/stratolab/stratolab/functions/control"

// Wait kinds (a stage's readiness gate).
const (
	WaitRunning      = "running"
	WaitStatusChecks = "status_checks"
	WaitTargetGroup  = "target_group"
)

// PollSeconds is how long the workflow waits between two checks of a stage.
const PollSeconds = 15

// StatusTagKeys are the tags the workflow writes on the targets it acts on (and the only ones its role may write).
var StatusTagKeys = []string{"stratolab:control:last-action", "stratolab:control:last-action-at", "stratolab:control:last-action-by"}

// ECSService is an ECS service by its cluster's and its own name (either may be a token).
type ECSService struct {
	Cluster string
	Service string
}

// EKSNodegroup is an EKS managed node group by its cluster's and its own name (either may be a token).
type EKSNodegroup struct {
	Cluster   string
	Nodegroup string
}

// Stage is one stage of an environment.
type Stage struct {
	// Name is unique in the environment.
	Name string
	// Module names the instance module this stage is a piece of, for display.
	// Default: - none
	Module string
	// InstanceIDs are EC2 instances by ID.
	// Default: - none
	InstanceIDs []string
	// InstanceTags select EC2 instances by tags: every key must match one of its values.
	// Default: - none
	InstanceTags map[string][]string
	// AutoScalingGroups by name (a token is fine).
	// Default: - none
	AutoScalingGroups []string
	// ECSServices to size to 0 and back.
	// Default: - none
	ECSServices []ECSService
	// EKSNodegroups to size to 0 and back.
	// Default: - none
	EKSNodegroups []EKSNodegroup
	// Wait is the readiness gate: WaitRunning, WaitStatusChecks or WaitTargetGroup.
	// Default: - WaitRunning
	Wait string
	// TargetGroupArns for WaitTargetGroup.
	// Default: - none
	TargetGroupArns []string
	// Timeout of the stage's gate.
	// Default: - 15 minutes
	TimeoutMinutes int
	// SettleSeconds: a pause after the stage is ready, on start.
	// Default: - 0
	SettleSeconds int
}

// Schedule starts and stops an environment at local times of an IANA time zone.
type Schedule struct {
	Timezone string
	// Start and Stop are HH:MM; either may be empty.
	Start, Stop string
	// Days are mon..sun (no ranges).
	// Default: - every day
	Days []string
	// Overnight: the stop runs the day after each start day.
	Overnight bool
	// SkipDates (YYYY-MM-DD, local) on which the scheduled start does nothing.
	SkipDates []string
}

// Environment is one environment.
type Environment struct {
	Name   string
	Stages []Stage
	// Schedule, if any.
	// Default: - none (on demand only)
	Schedule *Schedule
	// KmsKeyArns of encrypted EBS volumes of the environment's instances (a start needs kms:CreateGrant on them).
	// Default: - none
	KmsKeyArns []string
}

// Props configures Control.
type Props struct {
	// Prefix names the workflows, schedules and policies: <Prefix>-control-<env>.
	Prefix string
	// Environments in the order they are listed.
	Environments []Environment
	// NotificationTopic hears of every run's end.
	// Default: - none (EventBridge events only)
	NotificationTopic awssns.ITopic
	// Code of the workflow's function.
	// Default: - functions/control, built for arm64 by lambdaasset
	Code awslambda.Code
	// LogRetention of the functions' and workflows' logs.
	// Default: - three months
	LogRetention awslogs.RetentionDays
	// Lifecycle of the run table.
	// Default: - lifecycle.Production()
	Lifecycle lifecycle.Policy
}

// Workflow is one environment's workflow and what belongs to it.
type Workflow struct {
	StateMachine awsstepfunctions.StateMachine
	Function     awslambda.IFunction
	Role         awsiam.Role
	// OperatorPolicy lets a person start and watch this environment's runs and set its hold.
	OperatorPolicy awsiam.ManagedPolicy
	// Definition is the environment as JSON (control.Definition), with tokens.
	Definition *string
}

// Control is the run table and a workflow per environment.
type Control struct {
	constructs.Construct
	// RunTable holds runs, locks, holds and saved sizes.
	RunTable awsdynamodb.ITable
	// Workflows by environment name.
	Workflows map[string]*Workflow

	p      *Props
	policy lifecycle.Policy
	code   awslambda.Code
}

func (p *Props) check() error {
	var errs []string
	if p.Prefix == "" {
		errs = append(errs, "Prefix is required")
	}
	if len(p.Environments) == 0 {
		errs = append(errs, "Environments is empty")
	}
	seen := map[string]bool{}
	for _, e := range p.Environments {
		if e.Name == "" || seen[e.Name] {
			errs = append(errs, fmt.Sprintf("environment name %q is empty or listed twice", e.Name))
		}
		seen[e.Name] = true
		if len(e.Stages) == 0 {
			errs = append(errs, fmt.Sprintf("environment %s has no stages", e.Name))
		}
		stages := map[string]bool{}
		for _, s := range e.Stages {
			if s.Name == "" || stages[s.Name] {
				errs = append(errs, fmt.Sprintf("environment %s: stage name %q is empty or listed twice", e.Name, s.Name))
			}
			stages[s.Name] = true
			if len(s.InstanceIDs)+len(s.InstanceTags)+len(s.AutoScalingGroups)+len(s.ECSServices)+len(s.EKSNodegroups) == 0 {
				errs = append(errs, fmt.Sprintf("environment %s: stage %s has no targets", e.Name, s.Name))
			}
			switch s.Wait {
			case "", WaitRunning, WaitStatusChecks:
			case WaitTargetGroup:
				if len(s.TargetGroupArns) == 0 {
					errs = append(errs, fmt.Sprintf("environment %s: stage %s waits for target groups but has none", e.Name, s.Name))
				}
			default:
				errs = append(errs, fmt.Sprintf("environment %s: stage %s: Wait %q is not running, status_checks or target_group", e.Name, s.Name, s.Wait))
			}
			if s.TimeoutMinutes < 0 || s.TimeoutMinutes > 180 || s.SettleSeconds < 0 || s.SettleSeconds > 3600 {
				errs = append(errs, fmt.Sprintf("environment %s: stage %s: TimeoutMinutes (1 to 180) or SettleSeconds (0 to 3600) out of range", e.Name, s.Name))
			}
		}
		if sc := e.Schedule; sc != nil && (sc.Timezone == "" || sc.Start == "" && sc.Stop == "") {
			errs = append(errs, fmt.Sprintf("environment %s: a schedule needs a time zone and a start or a stop", e.Name))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}

// New creates the run table and the environments' workflows. It panics on props that cannot work,
// before creating anything.
func New(scope constructs.Construct, id string, props *Props) *Control {
	if props == nil {
		props = &Props{}
	}
	p := *props
	if err := p.check(); err != nil {
		panic(fmt.Sprintf("control %s: %v", id, err))
	}
	if p.LogRetention == "" {
		p.LogRetention = awslogs.RetentionDays_THREE_MONTHS
	}
	c := &Control{Construct: constructs.NewConstruct(scope, jsii.String(id)), p: &p, policy: p.Lifecycle.OrDefault(), Workflows: map[string]*Workflow{}}
	c.code = p.Code
	if c.code == nil {
		c.code = Code()
	}
	c.RunTable = awsdynamodb.NewTable(c.Construct, jsii.String("RunTable"), &awsdynamodb.TableProps{
		PartitionKey:                     &awsdynamodb.Attribute{Name: jsii.String("pk"), Type: awsdynamodb.AttributeType_STRING},
		SortKey:                          &awsdynamodb.Attribute{Name: jsii.String("sk"), Type: awsdynamodb.AttributeType_STRING},
		BillingMode:                      awsdynamodb.BillingMode_PAY_PER_REQUEST,
		PointInTimeRecoverySpecification: &awsdynamodb.PointInTimeRecoverySpecification{PointInTimeRecoveryEnabled: jsii.Bool(true)},
		Encryption:                       awsdynamodb.TableEncryption_AWS_MANAGED,
		DeletionProtection:               jsii.Bool(c.policy.DeletionProtection),
		RemovalPolicy:                    c.policy.RemovalPolicy,
	})
	for i, e := range p.Environments {
		c.Workflows[e.Name] = c.newEnvironment(i, e)
	}
	return c
}

// Code builds functions/control for arm64 and returns it as Lambda code. It panics when the build fails.
func Code() awslambda.Code {
	dir, err := lambdaasset.Build(FunctionPackage, "arm64")
	if err != nil {
		panic(fmt.Sprintf("control: cannot build the workflow function: %v", err))
	}
	return awslambda.Code_FromAsset(jsii.String(dir), nil)
}

// Pascal turns an environment or stage name into a construct ID part: staging-eu -> StagingEu.
func Pascal(name string) string {
	var b strings.Builder
	for _, part := range strings.FieldsFunc(name, func(r rune) bool { return r == '-' || r == '.' || r == '_' }) {
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String()
}

// Name is the physical name of an environment's workflow (and the prefix of its schedules and policy).
func (c *Control) Name(env string) string { return c.p.Prefix + "-control-" + env }

func timeoutSeconds(s Stage) int {
	if s.TimeoutMinutes == 0 {
		return 15 * 60
	}
	return s.TimeoutMinutes * 60
}

func waitOf(s Stage) string {
	if s.Wait == "" {
		return WaitRunning
	}
	return s.Wait
}

// stageJSON is a stage as internal/control reads it (control.Stage).
func stageJSON(s Stage) map[string]any {
	m := map[string]any{"name": s.Name, "wait": waitOf(s), "timeout_seconds": timeoutSeconds(s), "settle_seconds": s.SettleSeconds}
	if s.Module != "" {
		m["module"] = s.Module
	}
	if len(s.InstanceIDs) > 0 {
		m["instance_ids"] = s.InstanceIDs
	}
	if len(s.InstanceTags) > 0 {
		tags := map[string]any{}
		for k, v := range s.InstanceTags {
			tags[k] = v
		}
		m["instance_tags"] = tags
	}
	if len(s.AutoScalingGroups) > 0 {
		m["autoscaling_groups"] = s.AutoScalingGroups
	}
	if len(s.ECSServices) > 0 {
		var list []string
		for _, e := range s.ECSServices {
			list = append(list, e.Cluster+"/"+e.Service)
		}
		m["ecs_services"] = list
	}
	if len(s.EKSNodegroups) > 0 {
		var list []string
		for _, n := range s.EKSNodegroups {
			list = append(list, n.Cluster+"/"+n.Nodegroup)
		}
		m["eks_nodegroups"] = list
	}
	if len(s.TargetGroupArns) > 0 {
		m["target_group_arns"] = s.TargetGroupArns
	}
	return m
}

func scheduleJSON(s *Schedule) map[string]any {
	days := s.Days
	if len(days) == 0 {
		days = []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}
	}
	m := map[string]any{"timezone": s.Timezone, "days": days}
	if s.Start != "" {
		m["start"] = s.Start
	}
	if s.Stop != "" {
		m["stop"] = s.Stop
	}
	if s.Overnight {
		m["overnight"] = true
	}
	if len(s.SkipDates) > 0 {
		m["skip_dates"] = s.SkipDates
	}
	return m
}

func (c *Control) newEnvironment(order int, e Environment) *Workflow {
	scope := constructs.NewConstruct(c.Construct, jsii.String(Pascal(e.Name)))
	stack := awscdk.Stack_Of(c.Construct)
	w := &Workflow{}
	name := c.Name(e.Name)
	smArn := fmt.Sprintf("arn:%s:states:%s:%s:stateMachine:%s", *stack.Partition(), *stack.Region(), *stack.Account(), name)
	execArns := fmt.Sprintf("arn:%s:states:%s:%s:execution:%s:*", *stack.Partition(), *stack.Region(), *stack.Account(), name)

	w.Role = awsiam.NewRole(scope, jsii.String("FunctionRole"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
		Description: jsii.String("stratolab control: acts on the targets of environment " + e.Name + " only"),
	})
	logs := awslogs.NewLogGroup(scope, jsii.String("FunctionLogs"), &awslogs.LogGroupProps{Retention: c.p.LogRetention, RemovalPolicy: c.policy.RemovalPolicy})
	logs.GrantWrite(w.Role)
	env := map[string]*string{"INSTANCE": jsii.String(c.p.Prefix), "ENVIRONMENT": jsii.String(e.Name), "TABLE_NAME": c.RunTable.TableName()}
	if c.p.NotificationTopic != nil {
		env["TOPIC_ARN"] = c.p.NotificationTopic.TopicArn()
	}
	fn := awslambda.NewFunction(scope, jsii.String("Function"), &awslambda.FunctionProps{
		Description:  jsii.String("Cloud Control steps for environment " + e.Name),
		Runtime:      awslambda.Runtime_PROVIDED_AL2023(),
		Architecture: awslambda.Architecture_ARM_64(),
		Handler:      jsii.String("bootstrap"),
		Code:         c.code,
		Role:         w.Role,
		LogGroup:     logs,
		Timeout:      awscdk.Duration_Minutes(jsii.Number(2)),
		MemorySize:   jsii.Number(256),
		Environment:  &env,
	})
	w.Function = fn
	c.grantFunction(w.Role, e, execArns)

	w.StateMachine = c.newStateMachine(scope, name, e, fn)
	c.newSchedules(scope, name, e, smArn)
	w.OperatorPolicy = c.newOperatorPolicy(scope, name, e, smArn, execArns)
	w.Definition = c.definition(order, e, w.StateMachine.StateMachineArn())
	return w
}

func allow(role awsiam.IRole, sid string, actions []string, resources []string, conditions map[string]any) {
	props := &awsiam.PolicyStatementProps{Sid: jsii.String(sid), Actions: jsii.Strings(actions...), Resources: jsii.Strings(resources...)}
	if conditions != nil {
		props.Conditions = &conditions
	}
	role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(props))
}

// TagConditions is the IAM condition that limits EC2 actions to instances with these tags: every key
// must match (conditions under one operator are ANDed), one of its values (values are ORed). Amazon
// EC2 authorizes StartInstances, StopInstances and CreateTags on the instance with aws:ResourceTag/<key>
// (IAM user guide, "Amazon EC2: Allows starting or stopping EC2 instances a user has tagged"; Service
// Authorization Reference, Amazon EC2: instance resource type, condition keys aws:ResourceTag/${TagKey}).
func TagConditions(tags map[string][]string) map[string]any {
	eq := map[string]any{}
	for k, v := range tags {
		eq["aws:ResourceTag/"+k] = v
	}
	return map[string]any{"StringEquals": eq}
}

// grantFunction gives an environment's function what its steps need and nothing of another
// environment: start/stop/tag of its instances (by ID, or by tag condition), sizes of its groups and
// services, its own lock/runs/holds in the table, the status of its own executions.
func (c *Control) grantFunction(role awsiam.Role, e Environment, execArns string) {
	stack := awscdk.Stack_Of(c.Construct)
	part, region, account := *stack.Partition(), *stack.Region(), *stack.Account()
	instanceArn := func(id string) string { return fmt.Sprintf("arn:%s:ec2:%s:%s:instance/%s", part, region, account, id) }
	// Describe calls take no resource ARN (Service Authorization Reference: DescribeInstances,
	// DescribeInstanceStatus, DescribeAutoScalingGroups, DescribeTargetHealth have no resource types).
	describe := []string{"ec2:DescribeInstances", "ec2:DescribeInstanceStatus"}
	var ids []string
	var tagSets []map[string][]string
	var groups []string
	var services []string
	var targetGroups []string
	var nodegroups []string
	for _, s := range e.Stages {
		for _, n := range s.EKSNodegroups {
			nodegroups = append(nodegroups, fmt.Sprintf("arn:%s:eks:%s:%s:nodegroup/%s/%s/*", part, region, account, n.Cluster, n.Nodegroup))
		}
		ids = append(ids, s.InstanceIDs...)
		if len(s.InstanceTags) > 0 {
			tagSets = append(tagSets, s.InstanceTags)
		}
		groups = append(groups, s.AutoScalingGroups...)
		for _, svc := range s.ECSServices {
			services = append(services, fmt.Sprintf("arn:%s:ecs:%s:%s:service/%s/%s", part, region, account, svc.Cluster, svc.Service))
		}
		targetGroups = append(targetGroups, s.TargetGroupArns...)
	}
	if len(groups) > 0 || len(nodegroups) > 0 {
		describe = append(describe, "autoscaling:DescribeAutoScalingGroups")
	}
	if len(targetGroups) > 0 {
		describe = append(describe, "elasticloadbalancing:DescribeTargetHealth")
	}
	allow(role, "Describe", describe, []string{"*"}, nil)
	ec2Actions := []string{"ec2:StartInstances", "ec2:StopInstances"}
	statusTags := map[string]any{"ForAllValues:StringEquals": map[string]any{"aws:TagKeys": StatusTagKeys}}
	if len(ids) > 0 {
		var arns []string
		for _, id := range ids {
			arns = append(arns, instanceArn(id))
		}
		allow(role, "StartStopInstancesByID", ec2Actions, arns, nil)
		allow(role, "TagInstancesByID", []string{"ec2:CreateTags"}, arns, statusTags)
	}
	for i, tags := range tagSets {
		cond := TagConditions(tags)
		allow(role, fmt.Sprintf("StartStopInstancesByTags%d", i), ec2Actions, []string{instanceArn("*")}, cond)
		tagCond := TagConditions(tags)
		tagCond["ForAllValues:StringEquals"] = statusTags["ForAllValues:StringEquals"]
		allow(role, fmt.Sprintf("TagInstancesByTags%d", i), []string{"ec2:CreateTags"}, []string{instanceArn("*")}, tagCond)
	}
	if len(e.KmsKeyArns) > 0 {
		// Starting an instance with encrypted EBS volumes makes EC2 create a grant on the key for the caller.
		allow(role, "GrantForEncryptedVolumes", []string{"kms:CreateGrant"}, e.KmsKeyArns,
			map[string]any{"Bool": map[string]any{"kms:GrantIsForAWSResource": "true"}})
	}
	if len(groups) > 0 {
		var arns []string
		for _, g := range groups {
			arns = append(arns, fmt.Sprintf("arn:%s:autoscaling:%s:%s:autoScalingGroup:*:autoScalingGroupName/%s", part, region, account, g))
		}
		allow(role, "SizeGroups", []string{"autoscaling:UpdateAutoScalingGroup", "autoscaling:CreateOrUpdateTags"}, arns, nil)
	}
	if len(services) > 0 {
		allow(role, "SizeServices", []string{"ecs:DescribeServices", "ecs:UpdateService"}, services, nil)
		allow(role, "TagServices", []string{"ecs:TagResource"}, services, statusTags)
		// A service's scalable target (the lookup app's) is bounded to 0 on stop and restored on start.
		// Its ARN ends in an ID Application Auto Scaling makes up, and DescribeScalableTargets takes no
		// resource (Service Authorization Reference, Application Auto Scaling).
		allow(role, "DescribeServiceScaling", []string{"application-autoscaling:DescribeScalableTargets"}, []string{"*"}, nil)
		allow(role, "BoundServiceScaling", []string{"application-autoscaling:RegisterScalableTarget"},
			[]string{fmt.Sprintf("arn:%s:application-autoscaling:%s:%s:scalable-target/*", part, region, account)}, nil)
	}
	if len(nodegroups) > 0 {
		// A node group's ARN ends in an ID EKS makes up (Service Authorization Reference, Amazon EKS: nodegroup).
		allow(role, "SizeNodegroups", []string{"eks:DescribeNodegroup", "eks:UpdateNodegroupConfig"}, nodegroups, nil)
	}
	c.grantTable(role, "RunTable", []string{"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:Query"}, e.Name, "env#", "hold#")
	allow(role, "OwnExecutions", []string{"states:DescribeExecution"}, []string{execArns}, nil)
	allow(role, "Events", []string{"events:PutEvents"}, []string{fmt.Sprintf("arn:%s:events:%s:%s:event-bus/default", part, region, account)}, nil)
	if c.p.NotificationTopic != nil {
		c.p.NotificationTopic.GrantPublish(role)
	}
	cdknag.NagSuppressions_AddResourceSuppressions(role, &[]*cdknag.NagPackSuppression{{
		Id: jsii.String("AwsSolutions-IAM5"),
		Reason: jsii.String("EC2's, Auto Scaling's and Application Auto Scaling's Describe calls take no resource ARN; a scalable target's and a node group's ARN end in a generated ID (scalable-target/*, nodegroup/<cluster>/<name>/*); instances chosen by tags are arn:...:instance/* under an aws:ResourceTag condition " +
			"for each of the stage's tags; a group's ARN has its UUID as *; the function describes only its own environment's executions (execution:<workflow>:*); " +
			"the log stream grant is on this function's own log group."),
	}}, jsii.Bool(true))
}

// grantTable allows actions on the run table only for items whose partition key is one of the
// prefixes followed by the environment's name (dynamodb:LeadingKeys).
func (c *Control) grantTable(principal awsiam.IGrantable, sid string, actions []string, env string, prefixes ...string) {
	var keys []string
	for _, p := range prefixes {
		keys = append(keys, p+env)
	}
	st := awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid: jsii.String(sid), Actions: jsii.Strings(actions...), Resources: &[]*string{c.RunTable.TableArn()},
		Conditions: &map[string]any{"ForAllValues:StringEquals": map[string]any{"dynamodb:LeadingKeys": keys}},
	})
	switch g := principal.(type) {
	case awsiam.IRole:
		g.AddToPrincipalPolicy(st)
	case awsiam.ManagedPolicy:
		g.AddStatements(st)
	}
}

// newOperatorPolicy is what a tester or an operator of the environment needs for stratolab control
// (and the page's local mode): start and watch this environment's runs, read its targets' state, set
// its hold. It has no ec2:StartInstances: people press the workflow's button, not the instances'.
func (c *Control) newOperatorPolicy(scope constructs.Construct, name string, e Environment, smArn, execArns string) awsiam.ManagedPolicy {
	stack := awscdk.Stack_Of(c.Construct)
	part, region, account := *stack.Partition(), *stack.Region(), *stack.Account()
	mp := awsiam.NewManagedPolicy(scope, jsii.String("OperatorPolicy"), &awsiam.ManagedPolicyProps{
		ManagedPolicyName: jsii.String(name + "-operator"),
		Description:       jsii.String("stratolab control: start, stop and watch the runs of environment " + e.Name + ", and hold its schedule"),
	})
	add := func(sid string, actions []string, resources []string, cond map[string]any) {
		props := &awsiam.PolicyStatementProps{Sid: jsii.String(sid), Actions: jsii.Strings(actions...), Resources: jsii.Strings(resources...)}
		if cond != nil {
			props.Conditions = &cond
		}
		mp.AddStatements(awsiam.NewPolicyStatement(props))
	}
	add("StartRuns", []string{"states:StartExecution"}, []string{smArn}, nil)
	add("WatchRuns", []string{"states:DescribeExecution", "states:GetExecutionHistory"}, []string{execArns}, nil)
	add("ListRuns", []string{"states:ListExecutions", "states:DescribeStateMachine"}, []string{smArn}, nil)
	c.grantTable(mp, "ReadRuns", []string{"dynamodb:GetItem", "dynamodb:Query"}, e.Name, "env#", "hold#")
	c.grantTable(mp, "SetHold", []string{"dynamodb:PutItem", "dynamodb:DeleteItem"}, e.Name, "hold#")
	path := fmt.Sprintf("arn:%s:ssm:%s:%s:parameter/stratolab/%s/control", part, region, account, c.p.Prefix)
	add("ReadDefinitions", []string{"ssm:GetParametersByPath", "ssm:GetParameter"}, []string{path, path + "/*"}, nil)
	describe := []string{"ec2:DescribeInstances", "ec2:DescribeInstanceStatus", "autoscaling:DescribeAutoScalingGroups", "elasticloadbalancing:DescribeTargetHealth"}
	add("SeeTargets", describe, []string{"*"}, nil)
	var services []string
	for _, s := range e.Stages {
		for _, svc := range s.ECSServices {
			services = append(services, fmt.Sprintf("arn:%s:ecs:%s:%s:service/%s/%s", part, region, account, svc.Cluster, svc.Service))
		}
	}
	if len(services) > 0 {
		add("SeeServices", []string{"ecs:DescribeServices"}, services, nil)
	}
	var nodegroups []string
	for _, s := range e.Stages {
		for _, n := range s.EKSNodegroups {
			nodegroups = append(nodegroups, fmt.Sprintf("arn:%s:eks:%s:%s:nodegroup/%s/%s/*", part, region, account, n.Cluster, n.Nodegroup))
		}
	}
	if len(nodegroups) > 0 {
		add("SeeNodegroups", []string{"eks:DescribeNodegroup"}, nodegroups, nil)
	}
	cdknag.NagSuppressions_AddResourceSuppressions(mp, &[]*cdknag.NagPackSuppression{{
		Id: jsii.String("AwsSolutions-IAM5"),
		Reason: jsii.String("Operators watch only this environment's executions (execution:<workflow>:*, names are made per run) and read the instance's " +
			"control parameters (/stratolab/<instance>/control/*) and its node groups (nodegroup/<cluster>/<name>/*, the ID is EKS's); the Describe calls of EC2, Auto Scaling and Elastic Load Balancing take no resource ARN."),
	}}, jsii.Bool(true))
	return mp
}

// definition is the environment as internal/control's Definition, as JSON with tokens.
func (c *Control) definition(order int, e Environment, smArn *string) *string {
	var stages []any
	for _, s := range e.Stages {
		stages = append(stages, stageJSON(s))
	}
	d := map[string]any{"instance": c.p.Prefix, "environment": e.Name, "order": order, "state_machine_arn": smArn, "table": c.RunTable.TableName(), "stages": stages}
	if e.Schedule != nil {
		d["schedule"] = scheduleJSON(e.Schedule)
	}
	return awscdk.Stack_Of(c.Construct).ToJsonString(d, nil)
}
