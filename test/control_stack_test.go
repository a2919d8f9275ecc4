package test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
	ctl "github.com/stratolab/stratolab/constructs/control"
	"github.com/stratolab/stratolab/constructs/lifecycle"
	"github.com/stratolab/stratolab/internal/control"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func controlJSON(t *testing.T) map[string]any { return synth(t, "example").templates["Control"] }

// workflow is the staging state machine's definition (ASL).
func workflow(t *testing.T) map[string]any {
	sms := resourcesWhere(controlJSON(t), "AWS::StepFunctions::StateMachine", "ControlStaging")
	require.Len(t, sms, 1)
	var asl map[string]any
	require.NoError(t, json.Unmarshal([]byte(flatten(sms[0]["Properties"].(map[string]any)["DefinitionString"])), &asl))
	return asl
}

func states(asl map[string]any) map[string]map[string]any {
	out := map[string]map[string]any{}
	for k, v := range asl["States"].(map[string]any) {
		out[k] = v.(map[string]any)
	}
	return out
}

// actsInOrder follows the happy path of one action from the Action choice and lists the Act states
// it passes, in order.
func actsInOrder(t *testing.T, asl map[string]any, action string) []string {
	st := states(asl)
	var next string
	for _, c := range st["Action"]["Choices"].([]any) {
		if c.(map[string]any)["StringEquals"] == action {
			next = c.(map[string]any)["Next"].(string)
		}
	}
	var acts []string
	for i := 0; next != "FinishSucceeded"; i++ {
		require.Less(t, i, 200, "no way to FinishSucceeded")
		s := st[next]
		require.NotNil(t, s, next)
		switch s["Type"] {
		case "Task":
			if !strings.HasSuffix(next, ": check") {
				acts = append(acts, next)
			}
			next = s["Next"].(string)
		case "Choice":
			next = s["Default"].(string)
			for _, c := range s["Choices"].([]any) {
				if c.(map[string]any)["StringEquals"] == "ready" {
					next = c.(map[string]any)["Next"].(string)
				}
			}
		default:
			next = s["Next"].(string)
		}
	}
	return acts
}

func TestControlWorkflowStartsStagesInOrderAndStopsThemInReverse(t *testing.T) {
	asl := workflow(t)
	assert.Equal(t, []string{"Start directory", "Start data", "Start app", "Start app.lookup-hosts", "Start app.lookup-database", "Start app.lookup-app", "Start app.jobs-web"}, actsInOrder(t, asl, "start"))
	assert.Equal(t, []string{"Stop app.jobs-web", "Stop app.lookup-app", "Stop app.lookup-database", "Stop app.lookup-hosts", "Stop app", "Stop data", "Stop directory"}, actsInOrder(t, asl, "stop"))
	st := states(asl)
	assert.Equal(t, "Defaults", asl["StartAt"])
	assert.Equal(t, "Begin", st["Input"]["Next"])
	// The stages' own definitions travel in the payloads: the gate and the deadline of each.
	stage := st["Start data"]["Parameters"].(map[string]any)["stage"].(map[string]any)
	assert.Equal(t, map[string]any{"name": "data", "wait": "status_checks", "timeout_seconds": 900.0, "settle_seconds": 60.0,
		"instance_tags": map[string]any{"Name": []any{"sqlsvr", "filesvr"}}}, stage)
	app := st["Start app"]["Parameters"].(map[string]any)["stage"].(map[string]any)
	assert.Equal(t, 1200.0, app["timeout_seconds"])
}

func TestControlWorkflowWaitsHaveTimeoutsAndFailurePaths(t *testing.T) {
	asl := workflow(t)
	st := states(asl)
	for _, stage := range []string{"directory", "data", "app", "app.lookup-hosts", "app.lookup-database", "app.lookup-app", "app.jobs-web"} {
		for _, verb := range []string{"Start", "Stop"} {
			label := verb + " " + stage
			assert.Equal(t, float64(ctl.PollSeconds), st[label+": wait"]["Seconds"], label)
			assert.Equal(t, label+": check", st[label+": wait"]["Next"])
			// Every check is told its state (and so its deadline) and fails the stage on "failed".
			assert.Equal(t, "$.state", st[label+": check"]["Parameters"].(map[string]any)["state.$"], label)
			failed := ""
			for _, c := range st[label+": checked"]["Choices"].([]any) {
				if c.(map[string]any)["StringEquals"] == "failed" {
					failed = c.(map[string]any)["Next"].(string)
				}
			}
			assert.Equal(t, "StageFailed", failed, label)
			assert.Equal(t, label+": wait", st[label+": checked"]["Default"], "still waiting: poll again")
			for _, task := range []string{label, label + ": check"} {
				catches := st[task]["Catch"].([]any)
				require.Len(t, catches, 1, task)
				assert.Equal(t, "FinishFailed", catches[0].(map[string]any)["Next"], task)
			}
		}
	}
	assert.Equal(t, float64(60), st["Start data: settle"]["Seconds"], "the settle delay is on start only")
	assert.NotContains(t, st, "Stop data: settle")
	assert.Equal(t, "Failed", st["FinishFailed"]["Next"])
	assert.Equal(t, "Fail", st["Failed"]["Type"])
	assert.Equal(t, "NotStarted", st["Begin"]["Catch"].([]any)[0].(map[string]any)["Next"], "a refused run goes to Fail without Finish, which would release the lock")
	assert.Equal(t, "$.state.message", st["StageFailed"]["Parameters"].(map[string]any)["Cause.$"])
	// The whole run has a deadline too: the stages' timeouts and settle delays, plus slack.
	want := 300 + (900 + 120) + (900 + 60 + 120) + (1200+120)*5
	assert.Equal(t, float64(want), asl["TimeoutSeconds"])
}

func TestControlSchedulesRunInTheEnvironmentsTimeZone(t *testing.T) {
	tpl := template(synth(t, "example").stack(t, "Control"))
	for action, expr := range map[string]string{"start": "cron(0 8 ? * MON,TUE,WED,THU,FRI *)", "stop": "cron(0 19 ? * MON,TUE,WED,THU,FRI *)"} {
		tpl.HasResourceProperties(jsii.String("AWS::Scheduler::Schedule"), map[string]any{
			"Name": "example-control-staging-" + action, "ScheduleExpression": expr, "ScheduleExpressionTimezone": "Europe/Berlin",
			"FlexibleTimeWindow": map[string]any{"Mode": "OFF"}, "State": "ENABLED",
			"Target": map[string]any{
				"Arn":   "arn:aws:states:us-east-1:123456789012:stateMachine:example-control-staging",
				"Input": fmt.Sprintf(`{"action":%q,"by":"schedule","scheduled_time":"<aws.scheduler.scheduled-time>"}`, action),
				// Scheduler's role, and retries within the quarter hour.
				"RoleArn": arnOf("ControlStagingSchedulerRole"), "RetryPolicy": map[string]any{"MaximumRetryAttempts": 3.0, "MaximumEventAgeInSeconds": 900.0},
			},
		})
	}
	// The skip dates go to Begin, which checks them in the environment's time zone.
	begin := states(workflow(t))["Begin"]["Parameters"].(map[string]any)
	assert.Equal(t, []any{"2026-12-24", "2026-12-31"}, begin["schedule"].(map[string]any)["skip_dates"])
	assert.Equal(t, "$.scheduled_time", begin["scheduled_time.$"])
}

// EventBridge Scheduler evaluates cron(minutes hours day-of-month month day-of-week year) in
// ScheduleExpressionTimezone; one of the two day fields must be ? (EventBridge Scheduler user guide,
// "Schedule types on EventBridge Scheduler", cron-based schedules).
func TestControlCronExpressions(t *testing.T) {
	c, err := ctl.Cron("07:30", []string{"mon", "wed"}, false)
	require.NoError(t, err)
	assert.Equal(t, "cron(30 7 ? * MON,WED *)", c)
	c, _ = ctl.Cron("06:00", []string{"fri", "sun"}, true)
	assert.Equal(t, "cron(0 6 ? * MON,SAT *)", c, "an overnight stop runs the day after each start day")
	c, _ = ctl.Cron("06:00", nil, false)
	assert.Equal(t, "cron(0 6 ? * * *)", c)
	// The construct and the run logic agree.
	s := control.Schedule{Start: "07:30", Days: []string{"mon", "wed"}}
	c2, _ := s.Cron(false)
	assert.Equal(t, c, strings.Replace(c2, "30 7 ? * MON,WED", "0 6 ? * *", 1))
}

func TestControlFunctionRoleActsOnlyOnItsEnvironmentsTargets(t *testing.T) {
	stmts := statements(t, controlJSON(t), "ControlStagingFunctionRole")
	var tagged [][]any
	for _, s := range stmts {
		acts := asJSON(s["Action"])
		res := asJSON(s["Resource"])
		if strings.Contains(acts, "ec2:StartInstances") || strings.Contains(acts, "ec2:StopInstances") || strings.Contains(acts, "ec2:CreateTags") {
			assert.Equal(t, `"arn:aws:ec2:us-east-1:123456789012:instance/*"`, res)
			cond := s["Condition"].(map[string]any)["StringEquals"].(map[string]any)
			if strings.Contains(acts, "StartInstances") {
				tagged = append(tagged, cond["aws:ResourceTag/Name"].([]any))
			}
			if strings.Contains(acts, "CreateTags") {
				assert.Equal(t, []any{"stratolab:control:last-action", "stratolab:control:last-action-at", "stratolab:control:last-action-by"},
					s["Condition"].(map[string]any)["ForAllValues:StringEquals"].(map[string]any)["aws:TagKeys"], "only the status tags")
			}
		}
		if res == `"*"` {
			actions, ok := s["Action"].([]any)
			if !ok {
				actions = []any{s["Action"]}
			}
			for _, a := range actions {
				assert.Regexp(t, `^(ec2|autoscaling|elasticloadbalancing|application-autoscaling):Describe`, a, "only describe calls on *")
			}
		}
		assert.NotContains(t, acts, "states:StartExecution")
		if strings.Contains(acts, "dynamodb:") {
			assert.Equal(t, map[string]any{"ForAllValues:StringEquals": map[string]any{"dynamodb:LeadingKeys": []any{"env#staging", "hold#staging"}}}, s["Condition"])
		}
		if strings.Contains(acts, "autoscaling:UpdateAutoScalingGroup") {
			assert.Contains(t, res, "autoScalingGroup:*:autoScalingGroupName/")
			assert.Contains(t, res, "Fn::GetStackOutput", "the jobs web fleet, by name from the Jobs stack")
		}
	}
	assert.Equal(t, [][]any{{"ad01"}, {"sqlsvr", "filesvr"}, {"app01", "app02"}}, tagged, "each stage's Name tags, no more")
}

func TestControlOperatorPolicyStartsAndWatchesOnlyItsEnvironment(t *testing.T) {
	mps := resourcesWhere(controlJSON(t), "AWS::IAM::ManagedPolicy", "ControlStagingOperatorPolicy")
	require.Len(t, mps, 1)
	props := mps[0]["Properties"].(map[string]any)
	assert.Equal(t, "example-control-staging-operator", props["ManagedPolicyName"])
	doc := asJSON(props["PolicyDocument"])
	assert.NotContains(t, doc, "ec2:StartInstances", "people start the workflow, not the instances")
	assert.NotContains(t, doc, "ec2:StopInstances")
	assert.NotContains(t, doc, "autoscaling:Update")
	assert.NotContains(t, doc, "ecs:UpdateService")
	for _, s := range props["PolicyDocument"].(map[string]any)["Statement"].([]any) {
		st := s.(map[string]any)
		switch st["Sid"] {
		case "StartRuns":
			assert.Equal(t, "states:StartExecution", st["Action"])
			assert.Equal(t, "arn:aws:states:us-east-1:123456789012:stateMachine:example-control-staging", st["Resource"])
		case "WatchRuns":
			assert.Equal(t, "arn:aws:states:us-east-1:123456789012:execution:example-control-staging:*", st["Resource"])
		case "SetHold":
			assert.Equal(t, []any{"dynamodb:DeleteItem", "dynamodb:PutItem"}, st["Action"])
			assert.Equal(t, []any{"hold#staging"}, st["Condition"].(map[string]any)["ForAllValues:StringEquals"].(map[string]any)["dynamodb:LeadingKeys"], "not the lock, not the runs")
		}
	}
}

// The CLI and the page read the published definition with internal/control: it must decode into a
// control.Definition that passes Check, with the module pieces as stages of their own.
func TestControlPublishesDefinitionsTheRunLogicReads(t *testing.T) {
	params := resourcesWhere(controlJSON(t), "AWS::SSM::Parameter", "StagingDefinitionParameter")
	require.Len(t, params, 1)
	p := params[0]["Properties"].(map[string]any)
	assert.Equal(t, "/stratolab/example/control/environments/staging", p["Name"])
	var d control.Definition
	require.NoError(t, json.Unmarshal([]byte(flatten(p["Value"])), &d))
	require.NoError(t, d.Check())
	assert.Equal(t, "staging", d.Environment)
	assert.Contains(t, d.StateMachineArn, "<Ref:'ControlStagingWorkflow")
	assert.Contains(t, d.Table, "<Ref:'ControlRunTable")
	var names []string
	for _, s := range d.Stages {
		names = append(names, s.Name)
	}
	assert.Equal(t, []string{"directory", "data", "app", "app.lookup-hosts", "app.lookup-database", "app.lookup-app", "app.jobs-web"}, names)
	assert.Equal(t, "lookup", d.Stages[3].Module)
	assert.Len(t, d.Stages[3].AutoScalingGroups, 1, "the lookup service's EC2 hosts")
	require.NotNil(t, d.Schedule)
	assert.Equal(t, []string{"mon", "tue", "wed", "thu", "fri"}, d.Schedule.Days)
}

func TestControlHubModuleSizesItsNodeGroups(t *testing.T) {
	tpl := controlJSON(t)
	params := resourcesWhere(tpl, "AWS::SSM::Parameter", "NotebooksDefinitionParameter")
	require.Len(t, params, 1)
	var d control.Definition
	require.NoError(t, json.Unmarshal([]byte(flatten(params[0]["Properties"].(map[string]any)["Value"])), &d))
	require.NoError(t, d.Check())
	require.Len(t, d.Stages, 2)
	assert.Equal(t, "hub.hub-core", d.Stages[0].Name)
	assert.Len(t, d.Stages[0].EKSNodegroups, 1)
	assert.Equal(t, "hub.hub-users", d.Stages[1].Name)
	assert.Len(t, d.Stages[1].EKSNodegroups, 2, "general and gpu")
	assert.Equal(t, 1, d.Order, "the second environment of the file")
	var found bool
	for _, s := range statements(t, tpl, "ControlNotebooksFunctionRole") {
		if s["Sid"] == "SizeNodegroups" {
			found = true
			assert.Equal(t, []any{"eks:DescribeNodegroup", "eks:UpdateNodegroupConfig"}, s["Action"])
			assert.Len(t, s["Resource"], 3)
			assert.Contains(t, asJSON(s["Resource"]), `"arn:aws:eks:us-east-1:123456789012:nodegroup/"`)
		}
		assert.NotContains(t, asJSON(s), "ec2:StartInstances", "this environment has no instances of its own")
	}
	assert.True(t, found)
	// A stop-only schedule: no start schedule for this environment.
	scheds := resourcesWhere(tpl, "AWS::Scheduler::Schedule", "ControlNotebooks")
	require.Len(t, scheds, 1)
	assert.Equal(t, "cron(0 20 ? * * *)", scheds[0]["Properties"].(map[string]any)["ScheduleExpression"])
	assert.Equal(t, "America/New_York", scheds[0]["Properties"].(map[string]any)["ScheduleExpressionTimezone"])
}

func TestControlFunctionIsGoOnArm64(t *testing.T) {
	fns := resourcesWhere(controlJSON(t), "AWS::Lambda::Function", "ControlStagingFunction")
	require.Len(t, fns, 1)
	p := fns[0]["Properties"].(map[string]any)
	assert.Equal(t, "provided.al2023", p["Runtime"])
	assert.Equal(t, []any{"arm64"}, p["Architectures"])
	assert.Equal(t, "staging", p["Environment"].(map[string]any)["Variables"].(map[string]any)["ENVIRONMENT"])
}

func controlAlone(t *testing.T, props *ctl.Props) (awscdk.Stack, []string) {
	app := newApp(nil)
	stack := awscdk.NewStack(app, jsii.String("Alone"), &awscdk.StackProps{Env: &awscdk.Environment{Account: jsii.String("123456789012"), Region: jsii.String("us-west-2")}})
	ctl.New(stack, "Control", props)
	awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
	_, violations := synthApp(app)
	return stack, violations
}

var oneEnv = []ctl.Environment{{Name: "lab", Stages: []ctl.Stage{{Name: "vm", InstanceIDs: []string{"i-0123456789abcdef0"}}}}}

func TestControlRunTableIsRetainedInProductionAndGoneInDevelopment(t *testing.T) {
	stack, violations := controlAlone(t, &ctl.Props{Prefix: "lab", Environments: oneEnv, Lifecycle: lifecycle.Production()})
	require.Empty(t, violations)
	tables := resourcesWhere(*template(stack).ToJSON(), "AWS::DynamoDB::Table", "ControlRunTable")
	require.Len(t, tables, 1)
	assert.Equal(t, "Retain", tables[0]["DeletionPolicy"])
	assert.Equal(t, true, tables[0]["Properties"].(map[string]any)["DeletionProtectionEnabled"])
	assert.Equal(t, map[string]any{"PointInTimeRecoveryEnabled": true}, tables[0]["Properties"].(map[string]any)["PointInTimeRecoverySpecification"])

	stack, violations = controlAlone(t, &ctl.Props{Prefix: "lab", Environments: oneEnv, Lifecycle: lifecycle.Development()})
	require.Empty(t, violations)
	for _, typ := range []string{"AWS::DynamoDB::Table", "AWS::Logs::LogGroup"} {
		for _, r := range resourcesWhere(*template(stack).ToJSON(), typ, "Control") {
			assert.Equal(t, "Delete", r["DeletionPolicy"], typ)
		}
	}
}

func TestControlByIDGrantsThoseInstancesOnly(t *testing.T) {
	stack, violations := controlAlone(t, &ctl.Props{Prefix: "lab", Environments: oneEnv})
	require.Empty(t, violations)
	var found bool
	for _, s := range statements(t, *template(stack).ToJSON(), "ControlLabFunctionRole") {
		if s["Sid"] == "StartStopInstancesByID" {
			found = true
			assert.Equal(t, "arn:aws:ec2:us-west-2:123456789012:instance/i-0123456789abcdef0", s["Resource"])
		}
		assert.NotContains(t, asJSON(s["Sid"]), "ByTags")
	}
	assert.True(t, found)
}

func TestControlConstructPanicsOnBadProps(t *testing.T) {
	for name, p := range map[string]*ctl.Props{
		"no prefix":                        {Environments: oneEnv},
		"no environments":                  {Prefix: "lab"},
		"stage w/o targets":                {Prefix: "lab", Environments: []ctl.Environment{{Name: "lab", Stages: []ctl.Stage{{Name: "vm"}}}}},
		"unknown wait":                     {Prefix: "lab", Environments: []ctl.Environment{{Name: "lab", Stages: []ctl.Stage{{Name: "vm", InstanceIDs: []string{"i-0123456789abcdef0"}, Wait: "healthy"}}}}},
		"target group wait without groups": {Prefix: "lab", Environments: []ctl.Environment{{Name: "lab", Stages: []ctl.Stage{{Name: "vm", InstanceIDs: []string{"i-0123456789abcdef0"}, Wait: ctl.WaitTargetGroup}}}}},
		"timeout too long":                 {Prefix: "lab", Environments: []ctl.Environment{{Name: "lab", Stages: []ctl.Stage{{Name: "vm", InstanceIDs: []string{"i-0123456789abcdef0"}, TimeoutMinutes: 1000}}}}},
	} {
		t.Run(name, func(t *testing.T) {
			app := newApp(nil)
			stack := awscdk.NewStack(app, jsii.String("S"), nil)
			assert.Contains(t, panicMessage(func() { ctl.New(stack, "Control", p) }), "control Control:")
		})
	}
}

// Example_controlInAnotherApp: the construct needs nothing but props.
func Example_controlInAnotherApp() {
	app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(outRoot + "/example-control"), AnalyticsReporting: jsii.Bool(false)})
	stack := awscdk.NewStack(app, jsii.String("Ops"), nil)
	c := ctl.New(stack, "Control", &ctl.Props{
		Prefix: "lab",
		Environments: []ctl.Environment{{
			Name: "staging",
			Stages: []ctl.Stage{
				{Name: "directory", InstanceTags: map[string][]string{"Name": {"ad01"}}},
				{Name: "data", InstanceTags: map[string][]string{"Name": {"sqlsvr", "filesvr"}}, Wait: ctl.WaitStatusChecks, SettleSeconds: 60},
				{Name: "app", InstanceTags: map[string][]string{"Name": {"app01", "app02"}}},
			},
			Schedule: &ctl.Schedule{Timezone: "Europe/Berlin", Start: "08:00", Stop: "19:00", Days: []string{"mon", "tue", "wed", "thu", "fri"}},
		}},
		Lifecycle: lifecycle.Development(),
	})
	app.Synth(nil) // in an app with none of stratolab's feature flags
	fmt.Println(len(c.Workflows), c.Name("staging"))
	// Output: 1 lab-control-staging
}

// The example serves the control page from its Control stack: the page's function runs
// internal/control's Service (functions/controlpage), which reads the published definitions and starts
// and watches runs, so its role must hold each environment's operator policy (what the CLI's user has:
// StartExecution, DescribeExecution/ListExecutions, the run table's reads, the definitions' path, the
// targets' Describe calls) and nothing that starts an instance itself.
func TestControlServesThePageWithTheOperatorsRights(t *testing.T) {
	tmpl := controlJSON(t)
	fns := resourcesWhere(tmpl, "AWS::Lambda::Function", "PageFunction")
	require.Len(t, fns, 1)
	vars := fns[0]["Properties"].(map[string]any)["Environment"].(map[string]any)["Variables"].(map[string]any)
	assert.Equal(t, "example", vars["CONTROL_INSTANCE"], "functions/controlpage reads /stratolab/<instance>/control/")
	assert.Contains(t, asJSON(vars["CONTROL_HOSTED_UI_URL"]), ".auth.us-east-1.amazoncognito.com", "the Auth pool's hosted UI")
	roles := resourcesWhere(tmpl, "AWS::IAM::Role", "PageRole")
	require.Len(t, roles, 1)
	arns := asJSON(roles[0]["Properties"].(map[string]any)["ManagedPolicyArns"])
	for _, env := range []string{"Staging", "Notebooks"} {
		assert.Contains(t, arns, "Control"+env+"OperatorPolicy", "the page may start and watch %s", env)
	}
	for _, p := range resourcesWhere(tmpl, "AWS::IAM::Policy", "PageRole") {
		doc := asJSON(p["Properties"].(map[string]any)["PolicyDocument"])
		assert.NotContains(t, doc, "ec2:StartInstances", "the page starts workflows, not instances")
		assert.NotContains(t, doc, "states:StartExecution", "only through the operator policies, one per environment")
	}
	groups := resourcesWhere(tmpl, "AWS::Cognito::UserPoolGroup", "")
	var names []string
	for _, g := range groups {
		names = append(names, g["Properties"].(map[string]any)["GroupName"].(string))
	}
	assert.ElementsMatch(t, []string{"control-staging", "control-notebooks"}, names)
	outputs := tmpl["Outputs"].(map[string]any)
	assert.Contains(t, outputs, "PageUrl")
}
