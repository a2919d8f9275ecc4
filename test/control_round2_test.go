package test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stratolab/stratolab/instance"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The second round of plausible mistakes (issue 10, Part 1): each row is a config the loader used to
// accept and that then failed at synth or deploy, or deployed something that did not work.

// manyEnvironments are n environments, each with a start and stop schedule (14 resources each).
func manyEnvironments(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "    env%d:\n      stages: [{name: app, ec2: {tags: {Name: [app%d]}}}]\n      schedule: {timezone: UTC, start: \"08:00\", stop: \"18:00\"}\n", i, i)
	}
	return b.String()
}

// manyIDs is a stage with n instance IDs.
func manyIDs(n int) string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("i-%017x", i)
	}
	return "      stages: [{name: app, ec2: {ids: [" + strings.Join(ids, ", ") + "]}}]\n"
}

// manySkipDates is a schedule with n skip dates.
func manySkipDates(n int) string {
	dates := make([]string, n)
	for i := range dates {
		dates[i] = fmt.Sprintf("%q", fmt.Sprintf("%d-%02d-%02d", 2027+i/336, i/28%12+1, i%28+1))
	}
	return "      schedule: {timezone: UTC, start: \"08:00\", skip_dates: [" + strings.Join(dates, ", ") + "]}\n"
}

// manyTagKeys is a stage whose selector requires n tag keys.
func manyTagKeys(n int) string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("K%d: [v]", i)
	}
	return "      stages: [{name: app, ec2: {tags: {" + strings.Join(keys, ", ") + "}}}]\n"
}

const registryTopicElsewhere = "enabled:\n  registry: true\nregistry:\n  buckets: [{name: lab-data-private, access: private}]\n  notification_topic_arn: arn:aws:sns:eu-west-1:123456789012:registry\n"

func TestLoadRejectsControlRound2(t *testing.T) {
	cases := []struct {
		name, file string
		want       []string
	}{
		// constructs/control names each environment's constructs Pascal(name): a-b and a--b are both AB,
		// and the synth stopped with "There is already a Construct with name 'AB'".
		{"control environment names that differ only in dashes", withControl(oneStage + "    staging-:\n" + oneStage),
			[]string{`lab.yaml:15: control.environments.staging-: environment name "staging-" and "staging" both make the construct ID Staging`}},
		// CloudFormation quotas: 500 resources per stack (the CDK's TooManyResourcesInStack at synth).
		{"control environments beyond a stack's 500 resources", goodInstance + "enabled:\n  control: true\ncontrol:\n  environments:\n" + manyEnvironments(36),
			[]string{"lab.yaml:12: control.environments: the Control stack would have about 506 resources; CloudFormation allows 500"}},
		// Systems Manager user guide, "Managing parameter tiers": Advanced String parameters hold 8 KB.
		{"control definition larger than an advanced SSM parameter", withControl(oneStage + manySkipDates(700)),
			[]string{"lab.yaml:13: control.environments.staging.stages: make a definition of about", "the Advanced tier holds 8192"}},
		// IAM quotas: a role's inline policies hold 10,240 characters; the CDK's overflow managed policies
		// cannot split one statement (150 IDs made two of 10,000 characters, over IAM's 6,144).
		{"control function policy larger than a role's inline policies", withControl(manyIDs(80)),
			[]string{"lab.yaml:13: control.environments.staging.stages: give the workflow's function an IAM policy of about", "a role's inline policies hold 10240"}},
		// An EC2 instance carries at most 50 user tags: a selector requiring 51 keys matches none.
		{"control tag selector with more keys than an instance carries", withControl(manyTagKeys(51)),
			[]string{"lab.yaml:13: control.environments.staging.stages[0].ec2.tags: has 51 keys, but an instance matches only if it has every key, and EC2 instances carry at most 50 tags"}},
		{"control tag selector on the workflow's own status tag", withControl("      stages: [{name: app, ec2: {tags: {\"stratolab:control:last-action\": [start]}}}]\n"),
			[]string{"lab.yaml:13: control.environments.staging.stages[0].ec2.tags.stratolab:control:last-action: is a tag the workflow itself rewrites"}},
		{"control tag selector written as a filter name", withControl("      stages: [{name: app, ec2: {tags: {\"tag:Name\": [app01]}}}]\n"),
			[]string{`lab.yaml:13: control.environments.staging.stages[0].ec2.tags.tag:Name: "tag:Name" is DescribeInstances' filter name; write the tag key itself (Name)`}},
		{"control target group of another account", withControl("      stages: [{name: app, ec2: {ids: [i-0123456789abcdef0]}, wait: target_group, target_group_arns: [\"arn:aws:elasticloadbalancing:us-east-1:210987654321:targetgroup/web/0123456789abcdef\"]}]\n"),
			[]string{"lab.yaml:13: control.environments.staging.stages[0].target_group_arns[0]: is in account 210987654321, but the instance deploys to 123456789012"}},
		// EBS user guide, "Amazon EBS encryption": a volume's key is in the volume's region.
		{"control KMS key of another region", withControl(oneStage + "      kms_key_arns: [\"arn:aws:kms:eu-west-1:123456789012:key/0a1b2c3d-1234-5678-9abc-0123456789ab\"]\n"),
			[]string{"lab.yaml:14: control.environments.staging.kms_key_arns[0]: is in eu-west-1, but the instance's volumes are in us-east-1"}},
		// SNS API reference, Publish: the request goes to the topic's region; the function's client is in its own.
		{"control notification topic of another region", controlBase + oneStage + "  notification_topic_arn: arn:aws:sns:eu-west-1:123456789012:control\n",
			[]string{"lab.yaml:14: control.notification_topic_arn: is in eu-west-1, but the instance is in us-east-1, and SNS takes a message only at the topic's own region"}},
		{"registry notification topic of another region", goodInstance + registryTopicElsewhere,
			[]string{"lab.yaml:12: registry.notification_topic_arn: is in eu-west-1, but the instance is in us-east-1"}},
		{"control timeout of zero", withControl("      stages: [{name: app, ec2: {ids: [i-0123456789abcdef0]}, timeout_minutes: 0}]\n"),
			[]string{"lab.yaml:13: control.environments.staging.stages[0].timeout_minutes: 0 is out of range (1 to 180 minutes"}},
		{"control skip date with a mistyped year", withControl(oneStage + "      schedule: {timezone: UTC, start: \"08:00\", skip_dates: [\"0226-12-24\"]}\n"),
			[]string{`lab.yaml:14: control.environments.staging.schedule.skip_dates[0]: "0226-12-24" is in the year 226`}},
		{"control skip dates without a start", withControl(oneStage + "      schedule: {timezone: UTC, stop: \"18:00\", skip_dates: [\"2026-12-24\"]}\n"),
			[]string{"lab.yaml:14: control.environments.staging.schedule.skip_dates: only applies with a start"}},
		{"control Factory time zone", withControl(oneStage + "      schedule: {timezone: Factory, start: \"08:00\"}\n"),
			[]string{`lab.yaml:14: control.environments.staging.schedule.timezone: "Factory" is tzdata's placeholder with no local time`}},
		// constructs/control's own child RunTable: an environment run-table was "There is already a Construct with name 'RunTable'".
		{"control environment named like the run table", goodInstance + "enabled:\n  control: true\ncontrol:\n  environments:\n    run-table:\n" + oneStage,
			[]string{`lab.yaml:13: control.environments.run-table: environment name "run-table" makes the construct ID RunTable, which is the run table's`}},
		{"control page host while the page is off", withPage("    enabled: false\n    host: https://control.example.edu\n"),
			[]string{"lab.yaml:17: control.page.host: only applies when the control page is served, and control.page.enabled is false"}},
		{"control page watch_all without the page", withControl(oneStage + "  page: {watch_all: true}\n"),
			[]string{"lab.yaml:14: control.page.watch_all: only applies when the control page is served, and the page is served only with enabled.auth"}},
		// Cognito CreateGroup: GroupExistsException for a second group of the same name in the pool.
		{"auth group named like the page's control group", withPage("    watch_all: true\n") + "auth:\n  groups: [{name: control-staging}]\n",
			[]string{`auth.groups[0].name: "control-staging" is the group the Control stack makes for environment staging's testers`}},
		{"control run table destroyed in production", strings.Replace(withControl(oneStage), "lifecycle: development", "lifecycle: production", 1) + "  lifecycle: {removal_policy: destroy}\n",
			[]string{"lab.yaml:14: control.lifecycle.removal_policy: destroy is refused in production: a production instance keeps its run table"}},
		// DynamoDB DeleteTable refuses a table with deletion protection enabled.
		{"control run table destroyed with its deletion protection on", withControl(oneStage) + "  lifecycle: {deletion_protection: true}\n",
			[]string{"lab.yaml:14: control.lifecycle.deletion_protection: is true, but the run table is destroyed with the stack"}},
		// AWS::StepFunctions::StateMachine TagsEntry Value: minimum length 1 (CloudFormation validation F3033).
		{"tags extra empty value with a state machine", strings.Replace(withControl(oneStage), "lifecycle: development\n", "lifecycle: development\ntags:\n  extra: {Owner: \"\"}\n", 1),
			[]string{"lab.yaml:6: tags.extra.Owner: has an empty value, which CloudFormation refuses"}},
		// IAM user guide, "Tagging IAM resources": tag keys of roles are not case sensitive.
		{"tags keys that differ only in case", goodInstance + "tags:\n  cost_key: Project\n  extra: {project: x}\n",
			[]string{`lab.yaml:10: tags.extra.project: "project" differs only in case from tags.cost_key; IAM`}},
		{"tags extra key that is the cost key", goodInstance + "tags:\n  cost_key: Owner\n  extra: {Owner: x}\n",
			[]string{"lab.yaml:10: tags.extra.Owner: is also tags.cost_key"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { assertLoadRejects(t, tc.file, tc.want) })
	}
}

// TestLoadBlamesAWrongZoneNameOnly: a zone name that is itself wrong is one problem; the front doors
// in it are not also "not a name in the hosted zone https://example.edu".
func TestLoadBlamesAWrongZoneNameOnly(t *testing.T) {
	file := withPage("    host: https://control.example.edu\n") + "dns: {zone_id: Z0123456789EXAMPLEEDU, zone_name: \"https://example.edu\"}\n"
	dir := writeInstance(t, "lab", file, nil)
	_, err := instance.Load(dir, "lab")
	require.Error(t, err)
	assert.Contains(t, err.Error(), `dns.zone_name: "https://example.edu" is not a domain name`)
	assert.NotContains(t, err.Error(), "control.page.host")
	assert.Len(t, lines(err.Error()), 1)
}

// TestLoadAcceptsTheLongestControlNames: the longest instance (24) and environment (20) names keep
// every physical name AWS limits: the workflow (80), its schedules (64), the operator policy (128)
// and the page's Cognito group (128).
func TestLoadAcceptsTheLongestControlNames(t *testing.T) {
	name := strings.Repeat("n", 24)
	env := strings.Repeat("e", 20)
	dir := writeInstance(t, name, goodInstance+"enabled:\n  control: true\n  auth: true\ncontrol:\n  environments:\n    "+env+":\n"+oneStage+
		"      schedule: {timezone: UTC, start: \"08:00\", stop: \"18:00\"}\n", nil)
	cfg, err := instance.Load(dir, name)
	require.NoError(t, err)
	workflow := cfg.Name + "-control-" + env
	assert.LessOrEqual(t, len(workflow), 80, "Step Functions CreateStateMachine name: 1-80")
	assert.LessOrEqual(t, len(workflow+"-start"), 64, "EventBridge Scheduler CreateSchedule Name: 1-64")
	assert.LessOrEqual(t, len(workflow+"-operator"), 128, "IAM CreatePolicy PolicyName: 1-128")
	assert.LessOrEqual(t, len("control-"+env), 128, "Cognito CreateGroup GroupName: 1-128")
}

// TestControlStackResourcesIsNeverBelowTheSynth: the loader refuses a Control stack over
// CloudFormation's 500 resources ("CloudFormation quotas") by instance.ControlStackResources, an
// estimate; an estimate below the real count would let a config through that synth then refuses (the
// CDK's TooManyResourcesInStack) or CloudFormation rejects. Checked on the example, on the page's
// largest case (10 environments, each with both schedules, and a custom host), and on the most
// environments the loader accepts without the page.
func TestControlStackResourcesIsNeverBelowTheSynth(t *testing.T) {
	check := func(name string, cfg *instance.Config) {
		t.Helper()
		s := synthConfig(t, cfg)
		res := s.templates["Control"]["Resources"].(map[string]any)
		got := len(res)
		if _, ok := res["CDKMetadata"]; !ok {
			got++ // the CLI's synth adds AWS::CDK::Metadata (analytics reporting), which this app leaves out
		}
		est := instance.ControlStackResources(cfg)
		assert.LessOrEqual(t, got, est, "%s: the Control stack has %d resources, the loader's estimate %d", name, got, est)
		t.Logf("%s: %d resources, estimate %d", name, got, est)
	}
	check("example", synth(t, "example").cfg)

	var page strings.Builder
	for i := range 10 {
		fmt.Fprintf(&page, "    env%d:\n"+oneStage+"      schedule: {timezone: UTC, start: \"08:00\", stop: \"18:00\"}\n", i)
	}
	file := goodInstance + "dns: {zone_id: Z0123456789EXAMPLEEDU, zone_name: example.edu}\nenabled:\n  control: true\n  auth: true\n" +
		"control:\n  environments:\n" + page.String() + "  page:\n    host: https://control.example.edu\n"
	cfg, err := instance.Load(writeInstance(t, "lab", file, nil), "lab")
	require.NoError(t, err)
	check("10 environments with the page on its own host", cfg)

	// The most environments the loader lets through without the page: the next one is refused.
	n := 1
	for ; ; n++ {
		if _, err := instance.Load(writeInstance(t, "lab", goodInstance+"enabled:\n  control: true\ncontrol:\n  environments:\n"+manyEnvironments(n+1), nil), "lab"); err != nil {
			require.Contains(t, err.Error(), "resources; CloudFormation allows 500")
			break
		}
	}
	cfg, err = instance.Load(writeInstance(t, "lab", goodInstance+"enabled:\n  control: true\ncontrol:\n  environments:\n"+manyEnvironments(n), nil), "lab")
	require.NoError(t, err)
	check(fmt.Sprintf("%d environments, the most the loader accepts", n), cfg)
}

// tagStages is an environment of n stages, each selecting by two tag keys.
func tagStages(n int) string {
	var b strings.Builder
	b.WriteString("      stages:\n")
	for i := range n {
		fmt.Fprintf(&b, "        - {name: s%d, ec2: {tags: {Name: [app%d], Role: [web]}}}\n", i, i)
	}
	return b.String()
}

// resolvedLen is the length of v's compact JSON once CloudFormation has resolved it, at most: a
// Fn::Join is its parts joined, AWS::Partition the longest partition (aws-us-gov), and any other
// reference 150 characters (aws-cdk-lib's DEFAULT_ARN_SIZE_ESTIMATE; the names here are shorter).
func resolvedLen(v any) int {
	var str func(v any) int // the length of v as a resolved string
	str = func(v any) int {
		switch x := v.(type) {
		case string:
			b, _ := json.Marshal(x)
			return len(b) - 2
		case map[string]any:
			if j, ok := x["Fn::Join"].([]any); ok {
				n := 0
				for _, p := range j[1].([]any) {
					n += str(p)
				}
				return n
			}
			if x["Ref"] == "AWS::Partition" {
				return len("aws-us-gov")
			}
			return 150
		}
		return 150
	}
	switch x := v.(type) {
	case map[string]any:
		if _, ok := x["Fn::Join"]; ok {
			return str(x) + 2
		}
		if _, ok := x["Ref"]; ok {
			return str(x) + 2
		}
		if _, ok := x["Fn::GetAtt"]; ok {
			return str(x) + 2
		}
		n := 2 + len(x) - 1
		for k, e := range x {
			n += len(k) + 3 + resolvedLen(e)
		}
		return n
	case []any:
		n := 2 + max(len(x)-1, 0)
		for _, e := range x {
			n += resolvedLen(e)
		}
		return n
	default:
		b, _ := json.Marshal(x)
		return len(b)
	}
}

// TestLoadKeepsTheFunctionPolicyWithinIAMsLimit: IAM refuses a role whose inline policies pass 10,240
// characters (IAM User Guide, "IAM and AWS STS quotas"), counted on the policy's own JSON, Sids
// included, which aws-cdk-lib's size estimate leaves out. Fifteen two-key tag stages once passed the
// loader with a policy of about 10,450 characters; the most stages the loader accepts now synthesize a
// function policy within the limit.
func TestLoadKeepsTheFunctionPolicyWithinIAMsLimit(t *testing.T) {
	load := func(n int) error {
		_, err := instance.Load(writeInstance(t, "lab", goodInstance+"enabled:\n  control: true\ncontrol:\n  environments:\n    web:\n"+tagStages(n), nil), "lab")
		return err
	}
	err := load(15)
	require.Error(t, err, "15 two-key tag stages: an inline policy over IAM's 10,240 characters")
	assert.Contains(t, err.Error(), "control.environments.web.stages: give the workflow's function an IAM policy of about")
	n := 14
	for ; load(n) != nil; n-- {
	}
	cfg, err := instance.Load(writeInstance(t, "lab", goodInstance+"enabled:\n  control: true\ncontrol:\n  environments:\n    web:\n"+tagStages(n), nil), "lab")
	require.NoError(t, err)
	tpl := synthConfig(t, cfg).templates["Control"]
	total := 0
	for id, r := range tpl["Resources"].(map[string]any) {
		res := r.(map[string]any)
		if res["Type"] == "AWS::IAM::Policy" && strings.Contains(asJSON(res["Properties"].(map[string]any)["Roles"]), "WebFunction") {
			total += resolvedLen(res["Properties"].(map[string]any)["PolicyDocument"])
			t.Logf("%d stages: %s is at most %d characters", n, id, total)
		}
	}
	require.NotZero(t, total, "the function's policy")
	assert.LessOrEqual(t, total, 10240)
}
