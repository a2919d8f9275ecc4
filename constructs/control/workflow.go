package control

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsscheduler"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctionstasks"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

func at(path string) *string { return awsstepfunctions.JsonPath_StringAt(jsii.String(path)) }

// execution is the payload part that names the run: its execution's name, ARN and start time.
func execution(m map[string]any) map[string]any {
	m["execution"] = awsstepfunctions.JsonPath_StringAt(jsii.String("$$.Execution.Name"))
	m["execution_arn"] = awsstepfunctions.JsonPath_ExecutionId()
	m["started"] = awsstepfunctions.JsonPath_StringAt(jsii.String("$$.Execution.StartTime"))
	return m
}

// newStateMachine is one environment's workflow. Its input is {"action": "start"|"stop", "by": WHO,
// "scheduled_time": ""} (by and scheduled_time default to "console" and ""). Begin takes the lock
// (or skips a held or skip-dated scheduled run); then, for each stage in order (reversed for stop):
// Act, then Check every PollSeconds until the stage is ready or failed (Check fails it at its
// deadline, and on a terminal state); an optional settle Wait on start; then Finish, which records
// the end, releases the lock and announces it. A failed stage, or an error in Act or Check, goes to
// Finish as failed and then to the Fail state: later stages do not run, earlier ones stay as they are.
func (c *Control) newStateMachine(scope constructs.Construct, name string, e Environment, fn awslambda.IFunction) awsstepfunctions.StateMachine {
	invoke := func(id, resultPath string, payload map[string]any) awsstepfunctionstasks.LambdaInvoke {
		props := &awsstepfunctionstasks.LambdaInvokeProps{
			LambdaFunction: fn, Payload: awsstepfunctions.TaskInput_FromObject(&payload), PayloadResponseOnly: jsii.Bool(true),
			RetryOnServiceExceptions: jsii.Bool(true),
		}
		if resultPath == "" {
			props.ResultPath = awsstepfunctions.JsonPath_DISCARD()
		} else {
			props.ResultPath = jsii.String(resultPath)
		}
		return awsstepfunctionstasks.NewLambdaInvoke(scope, jsii.String(id), props)
	}
	var startOrder []string
	timeout := 300
	for _, s := range e.Stages {
		startOrder = append(startOrder, s.Name)
		timeout += timeoutSeconds(s) + s.SettleSeconds + 120
	}

	defaults := awsstepfunctions.NewPass(scope, jsii.String("Defaults"), &awsstepfunctions.PassProps{
		Comment:    jsii.String("Who started the run, when the input does not say"),
		Result:     awsstepfunctions.Result_FromObject(&map[string]any{"action": "", "by": "console", "scheduled_time": ""}),
		ResultPath: jsii.String("$.defaults"),
	})
	input := awsstepfunctions.NewPass(scope, jsii.String("Input"), &awsstepfunctions.PassProps{
		Parameters: &map[string]any{"args.$": "States.JsonMerge($.defaults, $, false)"},
		OutputPath: jsii.String("$.args"),
	})
	beginPayload := execution(map[string]any{"op": "begin", "action": at("$.action"), "by": at("$.by"), "scheduled_time": at("$.scheduled_time"), "stages": startOrder})
	if e.Schedule != nil {
		beginPayload["schedule"] = scheduleJSON(e.Schedule)
	}
	begin := invoke("Begin", "$.begin", beginPayload)
	notStarted := awsstepfunctions.NewFail(scope, jsii.String("NotStarted"), &awsstepfunctions.FailProps{
		Comment:   jsii.String("Refused (another run of the environment is going) or could not begin; the lock is left alone"),
		ErrorPath: at("$.failure.Error"), CausePath: at("$.failure.Cause"),
	})
	// A throttled invoke is retried (Begin is idempotent for its execution); what else fails is caught.
	begin.AddRetry(&awsstepfunctions.RetryProps{Errors: jsii.Strings("Lambda.TooManyRequestsException"), Interval: awscdk.Duration_Seconds(jsii.Number(5)), BackoffRate: jsii.Number(2), MaxAttempts: jsii.Number(4)})
	begin.AddCatch(notStarted, &awsstepfunctions.CatchProps{ResultPath: jsii.String("$.failure")})

	finishFailed := invoke("FinishFailed", "", execution(map[string]any{"op": "finish", "status": "failed", "error": awsstepfunctions.JsonPath_ObjectAt(jsii.String("$.failure"))}))
	finishFailed.AddRetry(&awsstepfunctions.RetryProps{Errors: jsii.Strings("States.ALL"), Interval: awscdk.Duration_Seconds(jsii.Number(5)), BackoffRate: jsii.Number(2), MaxAttempts: jsii.Number(3)})
	finishFailed.Next(awsstepfunctions.NewFail(scope, jsii.String("Failed"), &awsstepfunctions.FailProps{
		Comment: jsii.String("A stage failed: later stages did not run, earlier ones were left as they are"), ErrorPath: at("$.failure.Error"), CausePath: at("$.failure.Cause"),
	}))
	stageFailed := awsstepfunctions.NewPass(scope, jsii.String("StageFailed"), &awsstepfunctions.PassProps{
		Parameters: &map[string]any{"Error": "StageFailed", "Cause.$": "$.state.message"},
		ResultPath: jsii.String("$.failure"),
	})
	stageFailed.Next(finishFailed)
	finishOK := invoke("FinishSucceeded", "", execution(map[string]any{"op": "finish", "status": "succeeded"}))
	finishOK.AddRetry(&awsstepfunctions.RetryProps{Errors: jsii.Strings("States.ALL"), Interval: awscdk.Duration_Seconds(jsii.Number(5)), BackoffRate: jsii.Number(2), MaxAttempts: jsii.Number(3)})
	finishOK.Next(awsstepfunctions.NewSucceed(scope, jsii.String("Succeeded"), nil))

	chain := func(action string) awsstepfunctions.IChainable {
		stages := slices.Clone(e.Stages)
		verb := "Start"
		if action == "stop" {
			slices.Reverse(stages)
			verb = "Stop"
		}
		var first awsstepfunctions.IChainable
		var link func(awsstepfunctions.IChainable)
		for _, s := range stages {
			label := verb + " " + s.Name
			payload := func(op string) map[string]any {
				m := execution(map[string]any{"op": op, "action": action, "by": at("$.by"), "stage": stageJSON(s)})
				if op == "check" {
					m["state"] = awsstepfunctions.JsonPath_ObjectAt(jsii.String("$.state"))
				}
				return m
			}
			act := invoke(label, "$.state", payload("act"))
			check := invoke(label+": check", "$.state", payload("check"))
			for _, t := range []awsstepfunctionstasks.LambdaInvoke{act, check} {
				t.AddRetry(&awsstepfunctions.RetryProps{Errors: jsii.Strings("Lambda.TooManyRequestsException"), Interval: awscdk.Duration_Seconds(jsii.Number(5)), BackoffRate: jsii.Number(2), MaxAttempts: jsii.Number(4)})
				t.AddCatch(finishFailed, &awsstepfunctions.CatchProps{ResultPath: jsii.String("$.failure")})
			}
			poll := awsstepfunctions.NewWait(scope, jsii.String(label+": wait"), &awsstepfunctions.WaitProps{
				Comment: jsii.String(fmt.Sprintf("%d s between checks; the stage fails at its %d s deadline", PollSeconds, timeoutSeconds(s))),
				Time:    awsstepfunctions.WaitTime_Duration(awscdk.Duration_Seconds(jsii.Number(PollSeconds))),
			})
			poll.Next(check)
			acted := awsstepfunctions.NewChoice(scope, jsii.String(label+": acted"), nil).
				When(awsstepfunctions.Condition_StringEquals(jsii.String("$.state.status"), jsii.String("failed")), stageFailed, nil).
				Otherwise(poll)
			act.Next(acted)
			done := awsstepfunctions.NewPass(scope, jsii.String(label+": ready"), nil)
			checked := awsstepfunctions.NewChoice(scope, jsii.String(label+": checked"), nil).
				When(awsstepfunctions.Condition_StringEquals(jsii.String("$.state.status"), jsii.String("ready")), done, nil).
				When(awsstepfunctions.Condition_StringEquals(jsii.String("$.state.status"), jsii.String("failed")), stageFailed, nil).
				Otherwise(poll)
			check.Next(checked)
			var last awsstepfunctions.INextable = done
			if action == "start" && s.SettleSeconds > 0 {
				settle := awsstepfunctions.NewWait(scope, jsii.String(label+": settle"), &awsstepfunctions.WaitProps{
					Time: awsstepfunctions.WaitTime_Duration(awscdk.Duration_Seconds(jsii.Number(s.SettleSeconds))),
				})
				done.Next(settle)
				last = settle
			}
			if first == nil {
				first = act
			} else {
				link(act)
			}
			l := last
			link = func(next awsstepfunctions.IChainable) { l.Next(next) }
		}
		link(finishOK)
		return first
	}
	choose := awsstepfunctions.NewChoice(scope, jsii.String("Action"), nil).
		When(awsstepfunctions.Condition_StringEquals(jsii.String("$.action"), jsii.String("start")), chain("start"), nil).
		When(awsstepfunctions.Condition_StringEquals(jsii.String("$.action"), jsii.String("stop")), chain("stop"), nil).
		Otherwise(awsstepfunctions.NewFail(scope, jsii.String("UnknownAction"), &awsstepfunctions.FailProps{Error: jsii.String("UnknownAction"), Cause: jsii.String("action is start or stop")}))
	skipped := awsstepfunctions.NewChoice(scope, jsii.String("Skipped"), nil).
		When(awsstepfunctions.Condition_BooleanEquals(jsii.String("$.begin.skip"), jsii.Bool(true)), awsstepfunctions.NewSucceed(scope, jsii.String("NothingToDo"), &awsstepfunctions.SucceedProps{Comment: jsii.String("A scheduled run on a skip date or during a hold")}), nil).
		Otherwise(choose)
	definition := defaults.Next(input).Next(begin).Next(skipped)

	logs := awslogs.NewLogGroup(scope, jsii.String("WorkflowLogs"), &awslogs.LogGroupProps{Retention: c.p.LogRetention, RemovalPolicy: c.policy.RemovalPolicy})
	sm := awsstepfunctions.NewStateMachine(scope, jsii.String("Workflow"), &awsstepfunctions.StateMachineProps{
		StateMachineName: jsii.String(name),
		Comment:          jsii.String("Cloud Control: start (in order) or stop (in reverse) environment " + e.Name),
		DefinitionBody:   awsstepfunctions.DefinitionBody_FromChainable(definition),
		StateMachineType: awsstepfunctions.StateMachineType_STANDARD,
		Timeout:          awscdk.Duration_Seconds(jsii.Number(timeout)),
		TracingEnabled:   jsii.Bool(true),
		Logs:             &awsstepfunctions.LogOptions{Destination: logs, Level: awsstepfunctions.LogLevel_ALL, IncludeExecutionData: jsii.Bool(false)},
	})
	cdknag.NagSuppressions_AddResourceSuppressions(sm, &[]*cdknag.NagPackSuppression{{
		Id: jsii.String("AwsSolutions-IAM5"),
		Reason: jsii.String("The state machine invokes only this environment's function (and its versions, <arn>:*, the CDK's LambdaInvoke grant) and uses " +
			"CloudWatch Logs delivery and X-Ray, which take no resource ARN."),
	}}, jsii.Bool(true))
	return sm
}

// newSchedules makes the environment's EventBridge Scheduler schedules: one for the start and one
// for the stop, in the schedule's IANA time zone. Scheduler fills <aws.scheduler.scheduled-time>, by
// which Begin checks skip dates and holds.
func (c *Control) newSchedules(scope constructs.Construct, name string, e Environment, smArn string) {
	sc := e.Schedule
	if sc == nil {
		return
	}
	role := awsiam.NewRole(scope, jsii.String("SchedulerRole"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("scheduler.amazonaws.com"), nil),
		Description: jsii.String("stratolab control: the schedules of environment " + e.Name + " start its workflow"),
	})
	role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid: jsii.String("StartWorkflow"), Actions: jsii.Strings("states:StartExecution"), Resources: jsii.Strings(smArn),
	}))
	for _, action := range []string{"start", "stop"} {
		clock := sc.Start
		if action == "stop" {
			clock = sc.Stop
		}
		if clock == "" {
			continue
		}
		expr, err := Cron(clock, sc.Days, action == "stop" && sc.Overnight)
		if err != nil {
			panic(fmt.Sprintf("control: environment %s: %v", e.Name, err))
		}
		awsscheduler.NewCfnSchedule(scope, jsii.String(Pascal(action)+"Schedule"), &awsscheduler.CfnScheduleProps{
			Name:                       jsii.String(name + "-" + action),
			Description:                jsii.String(fmt.Sprintf("stratolab control: %s environment %s at %s %s", action, e.Name, clock, sc.Timezone)),
			ScheduleExpression:         jsii.String(expr),
			ScheduleExpressionTimezone: jsii.String(sc.Timezone),
			FlexibleTimeWindow:         &awsscheduler.CfnSchedule_FlexibleTimeWindowProperty{Mode: jsii.String("OFF")},
			State:                      jsii.String("ENABLED"),
			Target: &awsscheduler.CfnSchedule_TargetProperty{
				Arn: jsii.String(smArn), RoleArn: role.RoleArn(),
				Input:       jsii.String(fmt.Sprintf(`{"action":%q,"by":"schedule","scheduled_time":"<aws.scheduler.scheduled-time>"}`, action)),
				RetryPolicy: &awsscheduler.CfnSchedule_RetryPolicyProperty{MaximumRetryAttempts: jsii.Number(3), MaximumEventAgeInSeconds: jsii.Number(900)},
			},
		})
	}
}

var weekdays = []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}

// Cron is the Scheduler cron expression for HH:MM on days (mon..sun), a day later each when shift:
// cron(minutes hours day-of-month month day-of-week year), with ? for the day of the month
// (EventBridge Scheduler user guide, "Schedule types: cron-based schedules").
func Cron(clock string, days []string, shift bool) (string, error) {
	hs, ms, ok := strings.Cut(clock, ":")
	h, err1 := strconv.Atoi(hs)
	m, err2 := strconv.Atoi(ms)
	if !ok || err1 != nil || err2 != nil || h < 0 || h > 23 || m < 0 || m > 59 {
		return "", fmt.Errorf("%q is not HH:MM", clock)
	}
	field := "*"
	if len(days) > 0 && len(days) < 7 {
		var idx []int
		for _, d := range days {
			k := slices.Index(weekdays, d)
			if k < 0 {
				return "", fmt.Errorf("%q is not a day (mon..sun)", d)
			}
			if shift {
				k = (k + 1) % 7
			}
			idx = append(idx, k)
		}
		slices.Sort(idx)
		idx = slices.Compact(idx)
		var names []string
		for _, k := range idx {
			names = append(names, strings.ToUpper(weekdays[k]))
		}
		field = strings.Join(names, ",")
	}
	return fmt.Sprintf("cron(%d %d ? * %s *)", m, h, field), nil
}
