package test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stratolab/stratolab/instance"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// controlBase enables control; an environment's keys start at line 13.
const controlBase = goodInstance + "enabled:\n  control: true\ncontrol:\n  environments:\n    staging:\n"

func withControl(keys string) string { return controlBase + keys }

const oneStage = "      stages: [{name: app, ec2: {tags: {Name: [app01]}}}]\n"

// withPage enables auth and control with one environment; the page's keys start at line 16.
func withPage(keys string) string {
	return goodInstance + "enabled:\n  control: true\n  auth: true\ncontrol:\n  environments:\n    staging:\n" + oneStage + "  page:\n" + keys
}

// pageCertArn is a certificate in goodInstance's account and region.
const pageCertArn = "arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-1234-5678-9abc-0123456789ab"

func TestLoadRejectsBadControlConfig(t *testing.T) {
	cases := []struct {
		name, file string
		want       []string
	}{
		{"control no environments", goodInstance + "enabled:\n  control: true\n",
			[]string{"control.environments: is empty"}},
		{"control environment name with capitals", goodInstance + "enabled:\n  control: true\ncontrol:\n  environments:\n    Staging:\n" + oneStage,
			[]string{`lab.yaml:13: control.environments.Staging: environment name "Staging" must be lowercase`}},
		{"control environment without stages", withControl("      schedule: {timezone: UTC, start: \"08:00\"}\n"),
			[]string{"control.environments.staging.stages: is empty"}},
		{"control stage without targets", withControl("      stages: [{name: app}]\n"),
			[]string{"lab.yaml:13: control.environments.staging.stages[0]: has no targets"}},
		{"control stage name missing", withControl("      stages: [{ec2: {ids: [i-0123456789abcdef0]}}]\n"),
			[]string{"control.environments.staging.stages[0].name: is required"}},
		{"control stage name with a space", withControl("      stages: [{name: my app, ec2: {ids: [i-0123456789abcdef0]}}]\n"),
			[]string{`control.environments.staging.stages[0].name: "my app" must be lowercase letters`}},
		{"control stage names twice", withControl("      stages:\n        - {name: app, ec2: {ids: [i-0123456789abcdef0]}}\n        - {name: app, ec2: {ids: [i-0123456789abcdef1]}}\n"),
			[]string{`lab.yaml:15: control.environments.staging.stages[1].name: "app" is already control.environments.staging.stages[0]`}},
		{"control instance ID in the wrong format", withControl("      stages: [{name: app, ec2: {ids: [app01]}}]\n"),
			[]string{`control.environments.staging.stages[0].ec2.ids[0]: "app01" is not an EC2 instance ID`}},
		{"control tag key too long", withControl("      stages: [{name: app, ec2: {tags: {" + strings.Repeat("k", 129) + ": [a]}}}]\n"),
			[]string{"is not a tag key: the key is 129 characters long; AWS allows 128"}},
		{"control page without the auth module", withControl(oneStage + "  page: {enabled: true}\n"),
			[]string{"control.page.enabled: is true, but the page's users log in through the instance's Cognito pool: set enabled.auth: true, or control.page.enabled: false"}},
		// control.page.host: the page's own name, one of the front doors (validate_dns.go's shared rules).
		{"control page host that is not an https URL", withPage("    host: control.example.edu\n" + dnsZone),
			[]string{`lab.yaml:16: control.page.host: "control.example.edu" is not an https:// host URL`}},
		{"control page host with a path", withPage("    host: https://example.edu/control\n" + dnsZone),
			[]string{`control.page.host: "https://example.edu/control" is not an https:// host URL`}},
		{"control page certificate without a host", withPage("    certificate_arn: " + pageCertArn + "\n"),
			[]string{"lab.yaml:16: control.page.certificate_arn: is set, but control.page.host is not"}},
		{"control page host with neither a certificate nor dns", withPage("    host: https://control.example.edu\n"),
			[]string{"control.page.certificate_arn: is required without dns (the ACM certificate of the control page's host name"}},
		{"control page host outside the zone", withPage("    host: https://control.example.org\n" + dnsZone),
			[]string{`lab.yaml:16: control.page.host: "control.example.org" is not a name in the hosted zone example.edu`}},
		{"control page certificate in another region", withPage("    host: https://control.example.edu\n    certificate_arn: " + strings.Replace(pageCertArn, "us-east-1", "us-west-2", 1) + "\n"),
			[]string{"lab.yaml:17: control.page.certificate_arn:", "is in us-west-2, but a load balancer or regional API Gateway domain in us-east-1 needs a certificate of its own region"}},
		{"control page certificate of another account", withPage("    host: https://control.example.edu\n    certificate_arn: " + strings.Replace(pageCertArn, "123456789012", "210987654321", 1) + "\n"),
			[]string{"control.page.certificate_arn:", "is in account 210987654321, but the instance deploys to 123456789012"}},
		{"control page host too long for an ACM certificate", withPage("    host: https://" + strings.Repeat("c", 53) + ".example.edu\n" + dnsZone),
			[]string{"lab.yaml:16: control.page.host:", "is 65 characters; ACM cannot make a certificate whose name is longer than 64"}},
		{"control page host that is the hosted UI's", strings.Replace(withPage("    host: https://auth.example.edu\n"+dnsZone), "auth: true\n", "auth: true\nauth: {custom_domain: auth.example.edu}\n", 1),
			[]string{`auth.custom_domain: "auth.example.edu" is already the host of control.page.host`}},
		{"control page over more environments than a role holds policies", withControl(oneStage + elevenEnvironments() + "  page: {enabled: true}\n"),
			[]string{"control.environments: has 12 environments; the control page serves at most 10"}},
		{"control environment whose waits outlast a workflow's history", withControl("      stages:\n" + fourLongStages()),
			[]string{"control.environments.staging.stages: may wait 720 minutes in all", "25,000 history events"}},
		{"control tag without values", withControl("      stages: [{name: app, ec2: {tags: {Name: []}}}]\n"),
			[]string{"control.environments.staging.stages[0].ec2.tags.Name: has no values"}},
		{"control the same instance in two stages", withControl("      stages:\n        - {name: db, ec2: {ids: [i-0123456789abcdef0]}}\n        - {name: app, ec2: {ids: [i-0123456789abcdef0]}}\n"),
			[]string{"lab.yaml:15: control.environments.staging.stages[1].ec2.ids[0]: instance i-0123456789abcdef0 is already a target of control.environments.staging.stages[0]"}},
		{"control the same tag in two stages", withControl("      stages:\n        - {name: db, ec2: {tags: {Name: [sql]}}}\n        - {name: app, ec2: {tags: {Name: [app, sql]}}}\n"),
			[]string{"control.environments.staging.stages[1].ec2.tags.Name[1]: the tag Name=sql is already a target of control.environments.staging.stages[0]"}},
		{"control the same group in two stages", withControl("      stages:\n        - {name: db, autoscaling_groups: [web]}\n        - {name: app, autoscaling_groups: [web]}\n"),
			[]string{"stages[1].autoscaling_groups[0]: the group web is already a target of"}},
		{"control a group given as an ARN", withControl("      stages: [{name: app, autoscaling_groups: [\"arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:x:autoScalingGroupName/web\"]}]\n"),
			[]string{"is not an Auto Scaling group name"}},
		{"control ECS service without its cluster", withControl("      stages: [{name: app, ecs_services: [api]}]\n"),
			[]string{`control.environments.staging.stages[0].ecs_services[0]: "api" is not cluster/service`}},
		{"control module not enabled", withControl("      stages: [{name: app, modules: [lookup]}]\n"),
			[]string{"control.environments.staging.stages[0].modules[0]: module lookup is not enabled (set enabled.lookup: true"}},
		{"control unknown module", withControl("      stages: [{name: app, modules: [wiki]}]\n"),
			[]string{`control.environments.staging.stages[0].modules[0]: "wiki" is not allowed (one of: lookup, jobs, hub)`}},
		{"control hub module not enabled", withControl("      stages: [{name: hub, modules: [hub]}]\n"),
			[]string{"control.environments.staging.stages[0].modules[0]: module hub is not enabled (set enabled.hub: true"}},
		{"control unknown wait", withControl("      stages: [{name: app, ec2: {ids: [i-0123456789abcdef0]}, wait: healthy}]\n"),
			[]string{`control.environments.staging.stages[0].wait: "healthy" is not allowed (one of: running, status_checks, target_group)`}},
		{"control target group wait without target groups", withControl("      stages: [{name: app, ec2: {ids: [i-0123456789abcdef0]}, wait: target_group}]\n"),
			[]string{"stages[0].target_group_arns: is empty but wait is target_group"}},
		{"control target group in another region", withControl("      stages: [{name: app, ec2: {ids: [i-0123456789abcdef0]}, wait: target_group, target_group_arns: [\"arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web/0123456789abcdef\"]}]\n"),
			[]string{"stages[0].target_group_arns[0]: is in eu-west-1, not in the instance's region us-east-1"}},
		{"control timeout out of range", withControl("      stages: [{name: app, ec2: {ids: [i-0123456789abcdef0]}, timeout_minutes: 600}]\n"),
			[]string{"stages[0].timeout_minutes: 600 is out of range (1 to 180 minutes"}},
		{"control settle out of range", withControl("      stages: [{name: app, ec2: {ids: [i-0123456789abcdef0]}, settle_seconds: -1}]\n"),
			[]string{"stages[0].settle_seconds: -1 is out of range (0 to 3600 seconds)"}},
		{"control unknown time zone", withControl(oneStage + "      schedule: {timezone: Europe/Munich, start: \"08:00\"}\n"),
			[]string{`lab.yaml:14: control.environments.staging.schedule.timezone: "Europe/Munich" is not in the time zone database`}},
		{"control time zone Local", withControl(oneStage + "      schedule: {timezone: Local, start: \"08:00\"}\n"),
			[]string{`schedule.timezone: "Local" is not an IANA time zone name`}},
		{"control schedule without time zone", withControl(oneStage + "      schedule: {start: \"08:00\"}\n"),
			[]string{"schedule.timezone: is required"}},
		{"control start not HH:MM", withControl(oneStage + "      schedule: {timezone: UTC, start: \"8am\"}\n"),
			[]string{`schedule.start: "8am" is not a time HH:MM`}},
		{"control stop at 24:00", withControl(oneStage + "      schedule: {timezone: UTC, stop: \"24:00\"}\n"),
			[]string{`schedule.stop: "24:00" is not a time HH:MM`}},
		{"control stop before start without overnight", withControl(oneStage + "      schedule: {timezone: UTC, start: \"20:00\", stop: \"06:00\"}\n"),
			[]string{"schedule.stop: 06:00 is before the start 20:00 (set overnight: true"}},
		{"control overnight with a stop after the start", withControl(oneStage + "      schedule: {timezone: UTC, start: \"08:00\", stop: \"19:00\", overnight: true}\n"),
			[]string{"schedule.overnight: is set but the stop 19:00 is after the start 08:00"}},
		{"control schedule with neither start nor stop", withControl(oneStage + "      schedule: {timezone: UTC}\n"),
			[]string{"control.environments.staging.schedule: has neither start nor stop"}},
		{"control bad day range", withControl(oneStage + "      schedule: {timezone: UTC, start: \"08:00\", days: [fri-mon]}\n"),
			[]string{`schedule.days[0]: "fri-mon" is not a day or a range of days`}},
		{"control bad skip date", withControl(oneStage + "      schedule: {timezone: UTC, start: \"08:00\", skip_dates: [\"2026-02-30\"]}\n"),
			[]string{`schedule.skip_dates[0]: "2026-02-30" is not a date YYYY-MM-DD`}},
		{"control KMS alias instead of key ARN", withControl(oneStage + "      kms_key_arns: [\"alias/ebs\"]\n"),
			[]string{`control.environments.staging.kms_key_arns[0]: "alias/ebs" is not a KMS key ARN`}},
		{"control bad topic ARN", controlBase + oneStage + "  notification_topic_arn: control\n",
			[]string{`control.notification_topic_arn: "control" is not an SNS topic ARN`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { assertLoadRejects(t, tc.file, tc.want) })
	}
}

func TestLoadChecksControlOnlyWhenEnabled(t *testing.T) {
	dir := writeInstance(t, "lab", goodInstance+"control:\n  environments:\n    staging:\n      stages: [{name: app}]\n", nil)
	_, err := instance.Load(dir, "lab")
	require.NoError(t, err)
	dir = writeInstance(t, "lab", withControl(oneStage+"    prod:\n"+oneStage), nil)
	cfg, err := instance.Load(dir, "lab")
	require.NoError(t, err)
	assert.Equal(t, []string{"staging", "prod"}, cfg.EnvironmentNames(), "in the file's order")
}

// elevenEnvironments are eleven more environments (eb to el), each with one stage.
func elevenEnvironments() string {
	var b strings.Builder
	for i := 1; i <= 11; i++ {
		b.WriteString("    e" + string(rune('a'+i)) + ":\n" + strings.Replace(oneStage, "app01", "app"+string(rune('a'+i)), 1))
	}
	return b.String()
}

// fourLongStages are four stages of 180 minutes each: 720 minutes of waiting.
func fourLongStages() string {
	var b strings.Builder
	for i := range 4 {
		b.WriteString(fmt.Sprintf("        - {name: s%d, ec2: {ids: [i-0123456789abcdef%d]}, timeout_minutes: 180}\n", i, i))
	}
	return b.String()
}

// TestLoadAcceptsAControlPageHost: a host in the zone needs no certificate; without dns, a host with a
// certificate of the instance's account and region is enough; no host, no front door.
func TestLoadAcceptsAControlPageHost(t *testing.T) {
	for name, file := range map[string]string{
		"in the zone":              withPage("    host: https://control.example.edu\n" + dnsZone),
		"with its own certificate": withPage("    host: https://control.example.edu/\n    certificate_arn: " + pageCertArn + "\n"),
		"without a host":           withPage("    watch_all: true\n"),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := instance.Load(writeInstance(t, "lab", file, nil), "lab")
			require.NoError(t, err)
		})
	}
}
