package instance

import (
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/stratolab/stratolab/internal/control"
	"github.com/stratolab/stratolab/internal/names"
)

// This file holds the second round of control checks (issue 10, Part 1): what the first round let
// through and AWS or the CDK then refused at synth or deploy.

var (
	snsTopicArnRe = regexp.MustCompile(`^arn:aws[a-z-]*:sns:([a-z0-9-]+):([0-9]{12}):`)
	kmsArnRegion  = regexp.MustCompile(`^arn:aws[a-z-]*:kms:([a-z0-9-]+):([0-9]{12}):`)
	targetGroupAc = regexp.MustCompile(`^arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9-]+:([0-9]{12}):`)
)

const (
	// maxStackResources: "Resources: maximum number of resources that you can declare in your AWS
	// CloudFormation template: 500" (CloudFormation user guide, "CloudFormation quotas"); the CDK's own
	// synth check (TooManyResourcesInStack) refuses more.
	maxStackResources = 500
	// ssmStandardValueBytes and ssmAdvancedValueBytes: a String parameter's value holds 4 KB in the
	// Standard tier and 8 KB in the Advanced tier (Systems Manager user guide, "Managing parameter
	// tiers"). The Control stack publishes each environment's definition with Tier Intelligent-Tiering,
	// which stores it as Standard while it fits 4 KB and as Advanced (billed per parameter) above.
	ssmStandardValueBytes = 4096
	ssmAdvancedValueBytes = 8192
	// iamRoleInlineChars: "Role policy size: the total size of all inline policies for a role cannot
	// exceed 10,240 characters" (IAM user guide, "IAM and AWS STS quotas"). aws-cdk-lib's Role moves
	// statements beyond its estimate of 10,000 (aws-iam/lib/role.js, MAX_INLINE_SIZE=1e4) to managed
	// "OverflowPolicy" policies, which cannot split one large statement, hold 6,144 characters at most,
	// and are made after the control construct's cdk-nag suppressions (so a tag statement there fails
	// the synth with AwsSolutions-IAM5). So an environment's function policy must stay under 10,000.
	cdkInlinePolicyChars = 10000
	iamRoleInlineChars   = 10240
	// cdkArnEstimate is what aws-cdk-lib counts for an ARN it cannot resolve at synth (aws-iam
	// policy-statement.js, DEFAULT_ARN_SIZE_ESTIMATE=150); generatedName stands for a name
	// CloudFormation makes up at deploy (an Auto Scaling group's, a service's, a table's).
	cdkArnEstimate = 150
	generatedName  = 128
	// maxTagsPerInstance: an EC2 instance has at most 50 user tags (Tagging AWS resources, "Tag naming
	// limits and requirements"), so a selector that requires more keys matches nothing.
	maxTagsPerInstance = MaxTagsPerResource
)

// controlStatusTagKeys are the tags the workflow writes on what it acts on (internal/control
// StatusTagKeys): a selector on them would select by the last run, and a stop would empty the next start.
var controlStatusTagKeys = []string{"stratolab:control:last-action", "stratolab:control:last-action-at", "stratolab:control:last-action-by"}

// ControlStackResources is an upper bound on the resources of the instance's Control stack, which
// CloudFormation caps at 500 (test/control_round2_test.go keeps it at or above what synth makes): the
// run table and the CDK's metadata; the page's function, role, policy and two log groups, HTTP API, stage, integration,
// authorizer, seven routes and their seven invoke permissions, and Cognito client (24), with a host also
// the custom domain, mapping, certificate and record (28 in all, counted here whether or not); per environment its function, role, policy and log group, its workflow, role, policy
// and log group, the operator policy and the definition parameter (10), with a schedule its role and
// policy and one schedule per action, and with the page its Cognito group control-<env>.
func ControlStackResources(cfg *Config) int {
	// The run table, and the CDK's AWS::CDK::Metadata, which the CLI's synth adds (analytics reporting
	// is on by default) and which aws-cdk-lib's TooManyResourcesInStack counts.
	resources := 2
	if cfg.ControlPageEnabled() {
		resources += 28
	}
	for _, name := range cfg.EnvironmentNames() {
		env := cfg.Control.Environments[name]
		resources += 10
		if s := env.Schedule; s != nil {
			resources += 2
			if s.Start != "" {
				resources++
			}
			if s.Stop != "" {
				resources++
			}
		}
		if cfg.ControlPageEnabled() {
			resources++
		}
	}
	return resources
}

func (v *validator) control2() {
	if !v.cfg.Enabled.Control {
		return
	}
	c := v.cfg.Control
	region, account := v.cfg.Env.Region, v.cfg.Env.Account
	if m := snsTopicArnRe.FindStringSubmatch(c.NotificationTopic); m != nil {
		v.topicRegion("control.notification_topic_arn", m[1])
	}
	v.controlPage2()
	v.controlLifecycle2()
	// The construct IDs the Control construct gives its own children, which an environment's
	// Pascal-cased name may not take (constructs/control: the run table).
	seen := map[string]string{"RunTable": "the run table"}
	for _, name := range v.cfg.EnvironmentNames() {
		p := "control.environments." + name
		env := c.Environments[name]
		if !controlEnvRe.MatchString(name) {
			continue
		}
		// Construct IDs are the Pascal-cased name (constructs/control Pascal): a-b and a--b are both AB.
		id := names.Pascal(name)
		if first, dup := seen[id]; dup {
			if first == "the run table" {
				v.errorf(p, "environment name %q makes the construct ID %s, which is the run table's (choose another name)", name, id)
			} else {
				v.errorf(p, "environment name %q and %q both make the construct ID %s (names must differ in more than their dashes)", name, first, id)
			}
		}
		seen[id] = name
		for i, st := range env.Stages {
			sp := fmt.Sprintf("%s.stages[%d]", p, i)
			if v.written(sp+".timeout_minutes") && st.TimeoutMinutes == 0 {
				v.errorf(sp+".timeout_minutes", "0 is out of range (1 to 180 minutes; a stage always has a deadline: leave the key out for 15)")
			}
			if n := len(st.EC2.Tags); n > maxTagsPerInstance {
				v.errorf(sp+".ec2.tags", "has %d keys, but an instance matches only if it has every key, and EC2 instances carry at most %d tags: it would match nothing (select by fewer keys)", n, maxTagsPerInstance)
			}
			for _, k := range slices.Sorted(maps.Keys(st.EC2.Tags)) {
				kp := sp + ".ec2.tags." + k
				switch {
				case slices.Contains(controlStatusTagKeys, k):
					v.errorf(kp, "is a tag the workflow itself rewrites on every run (it records the last action): selecting by it, a stop would take the instances out of the next start's selection (select by a tag of your own, such as Name)")
				case strings.HasPrefix(k, "tag:"):
					v.errorf(kp, "%q is DescribeInstances' filter name; write the tag key itself (%s), as the tag is named on the instance", k, strings.TrimPrefix(k, "tag:"))
				}
			}
			for k, tg := range st.TargetGroupArns {
				if m := targetGroupAc.FindStringSubmatch(tg); m != nil && account != "" && m[1] != account {
					// DescribeTargetHealth is answered only for the caller's own account's target groups
					// (the function role's credentials; ELB has no resource policies).
					v.errorf(fmt.Sprintf("%s.target_group_arns[%d]", sp, k), "is in account %s, but the instance deploys to %s: the workflow's function can read the health only of its own account's target groups", m[1], account)
				}
			}
		}
		for k, arn := range env.KmsKeyArns {
			if m := kmsArnRegion.FindStringSubmatch(arn); m != nil && region != "" && m[1] != region {
				// An EBS volume is encrypted with a KMS key of its own region (EBS user guide, "Amazon EBS
				// encryption": a snapshot copied to another region is re-encrypted with a key there).
				v.errorf(fmt.Sprintf("%s.kms_key_arns[%d]", p, k), "is in %s, but the instance's volumes are in %s: EBS uses keys of the volume's own region (give the key of %s)", m[1], region, region)
			}
		}
		if s := env.Schedule; s != nil {
			v.controlSchedule2(p+".schedule", *s)
		}
		v.controlSizes(p, name, env)
	}
	if resources := ControlStackResources(v.cfg); resources > maxStackResources {
		v.errorf("control.environments", "the Control stack would have about %d resources; CloudFormation allows %d in a stack (each environment has 10, a schedule 3 or 4, the page 28 and one per environment): split the environments over two instances", resources, maxStackResources)
	}
}

// topicRegion: the function (or the workflow's SNS task) publishes through the SNS endpoint of its
// own region, and SNS answers Publish only for topics of the endpoint's region (SNS API reference,
// Publish: TopicArn; "Amazon SNS endpoints": requests go to the region of the topic).
func (v *validator) topicRegion(path, topicRegion string) {
	if r := v.cfg.Env.Region; r != "" && topicRegion != r {
		v.errorf(path, "is in %s, but the instance is in %s, and SNS takes a message only at the topic's own region (use a topic in %s)", topicRegion, r, r)
	}
}

// controlSchedule2: what the Scheduler or the skip-date check cannot use.
func (v *validator) controlSchedule2(p string, s ControlSchedule) {
	if s.Timezone == "Factory" {
		// tzdata's "Factory" zone has no local time (its abbreviation is "-00"); it is no place's zone.
		v.errorf(p+".timezone", "%q is tzdata's placeholder with no local time, not a place's time zone (an IANA name such as Europe/Berlin or UTC)", s.Timezone)
	}
	if len(s.SkipDates) > 0 && s.Start == "" {
		v.errorf(p+".skip_dates", "only applies with a start: a skip date makes the scheduled start do nothing, and this schedule has none")
	}
	for k, d := range s.SkipDates {
		if t, err := time.Parse("2006-01-02", d); err == nil && (t.Year() < 2000 || t.Year() > 2100) {
			v.errorf(fmt.Sprintf("%s.skip_dates[%d]", p, k), "%q is in the year %d; a skip date is a day on which the schedule runs (a year from 2000 to 2100, such as %04d-%s)", d, t.Year(), 2026, d[5:])
		}
	}
}

// controlSizes bounds what an environment's targets become: its definition (an SSM String parameter)
// and its function's IAM policy (the operators' managed policy names only the ECS services, a third of what the function's names for them, and the hub's node groups, at most 30 per cluster in EKS, so it stays under IAM's 6,144 characters whenever the function's policy fits). Unknown lengths (generated names, ARNs with tokens)
// are counted at their worst.
func (v *validator) controlSizes(p, name string, env ControlEnvironment) {
	region, account := v.cfg.Env.Region, v.cfg.Env.Account
	known := region != "" && account != ""
	arn := func(s string) int { // an ARN of this account and region, as aws-cdk-lib counts it
		if !known {
			return cdkArnEstimate
		}
		return len(s)
	}
	gen := strings.Repeat("x", generatedName)
	smName := v.cfg.Name + "-control-" + name
	def := control.Definition{
		Instance: v.cfg.Name, Environment: name, Order: 99,
		StateMachineArn: "arn:aws-us-gov:states:" + pad(region, 14) + ":" + pad(account, 12) + ":stateMachine:" + smName,
		Table:           gen,
	}
	if s := env.Schedule; s != nil {
		days := expandDayNames(s.Days)
		if len(days) == 0 {
			days = weekdayNames
		}
		def.Schedule = &control.Schedule{Timezone: s.Timezone, Days: days, Start: s.Start, Stop: s.Stop, Overnight: s.Overnight, SkipDates: s.SkipDates}
	}
	ec2Arn := func(id string) int { return arn("arn:aws:ec2:" + region + ":" + account + ":instance/" + id) }
	type stmt struct {
		actions   []string
		resources []int // lengths
		cond      any
	}
	var fn []stmt
	statusTags := map[string]any{"ForAllValues:StringEquals": map[string]any{"aws:TagKeys": controlStatusTagKeys}}
	var ids []string
	var tagSets []map[string][]string
	var groups, services []int
	var nodegroups []int
	tgs := 0
	for _, st := range env.Stages {
		timeout := st.TimeoutMinutes
		if timeout == 0 {
			timeout = 15
		}
		wait := st.Wait
		if wait == "" {
			wait = "running"
		}
		if len(st.EC2.IDs)+len(st.EC2.Tags)+len(st.AutoScalingGroups)+len(st.ECSServices) > 0 {
			def.Stages = append(def.Stages, control.Stage{Name: st.Name, InstanceIDs: st.EC2.IDs, InstanceTags: st.EC2.Tags, AutoScalingGroups: st.AutoScalingGroups,
				ECSServices: st.ECSServices, Wait: wait, TargetGroupArns: st.TargetGroupArns, TimeoutSeconds: timeout * 60, SettleSeconds: st.SettleSeconds})
		}
		ids = append(ids, st.EC2.IDs...)
		if len(st.EC2.Tags) > 0 {
			tagSets = append(tagSets, st.EC2.Tags)
		}
		for _, g := range st.AutoScalingGroups {
			groups = append(groups, arn("arn:aws:autoscaling:"+region+":"+account+":autoScalingGroup:*:autoScalingGroupName/"+g))
		}
		for _, s := range st.ECSServices {
			n := arn("arn:aws:ecs:" + region + ":" + account + ":service/" + s)
			services = append(services, n)
		}
		tgs += len(st.TargetGroupArns)
		for _, m := range st.Modules {
			piece := func(what string) control.Stage {
				return control.Stage{Name: st.Name + "." + m + "-" + what, Module: m, Wait: "running", TimeoutSeconds: timeout * 60, SettleSeconds: st.SettleSeconds}
			}
			switch m {
			case "lookup":
				hosts, db, app := piece("hosts"), piece("database"), piece("app")
				hosts.AutoScalingGroups = []string{gen}
				db.ECSServices = []string{gen + "/" + gen}
				app.ECSServices = []string{gen + "/" + gen}
				def.Stages = append(def.Stages, hosts, db, app)
				groups = append(groups, cdkArnEstimate)
				services = append(services, cdkArnEstimate, cdkArnEstimate)
			case "jobs":
				web := piece("web")
				web.AutoScalingGroups = []string{gen}
				def.Stages = append(def.Stages, web)
				groups = append(groups, cdkArnEstimate)
			case "hub":
				core, users := piece("core"), piece("users")
				core.EKSNodegroups = []string{gen + "/" + gen}
				for range v.cfg.Hub.Nodes {
					users.EKSNodegroups = append(users.EKSNodegroups, gen+"/"+gen)
				}
				def.Stages = append(def.Stages, core, users)
				for range 1 + len(v.cfg.Hub.Nodes) {
					nodegroups = append(nodegroups, cdkArnEstimate)
				}
			}
		}
	}

	// The definition, as constructs/control writes it (compact JSON; Go's encoder escapes no more
	// than aws-cdk-lib's toJsonString for these characters, and the tokens are at their longest).
	if b, err := json.Marshal(def); err == nil && len(b) > ssmAdvancedValueBytes {
		v.errorf(p+".stages", "make a definition of about %d bytes, which the Control stack publishes as an SSM String parameter; the Advanced tier holds %d (Standard %d): fewer targets (a tag selector instead of many IDs), fewer skip dates, or split the environment", len(b), ssmAdvancedValueBytes, ssmStandardValueBytes)
	}

	// The function's policy, statement by statement as constructs/control grantFunction writes it.
	describe := []string{"ec2:DescribeInstances", "ec2:DescribeInstanceStatus"}
	if len(groups) > 0 || len(nodegroups) > 0 {
		describe = append(describe, "autoscaling:DescribeAutoScalingGroups")
	}
	if tgs > 0 {
		describe = append(describe, "elasticloadbalancing:DescribeTargetHealth")
	}
	fn = append(fn, stmt{[]string{"logs:CreateLogStream", "logs:PutLogEvents"}, []int{cdkArnEstimate}, nil}, stmt{describe, []int{1}, nil})
	ec2Actions := []string{"ec2:StartInstances", "ec2:StopInstances"}
	if len(ids) > 0 {
		var arns []int
		for _, id := range ids {
			arns = append(arns, ec2Arn(id))
		}
		fn = append(fn, stmt{ec2Actions, arns, nil}, stmt{[]string{"ec2:CreateTags"}, arns, statusTags})
	}
	for _, tags := range tagSets {
		eq := map[string]any{}
		for k, vals := range tags {
			eq["aws:ResourceTag/"+k] = vals
		}
		fn = append(fn, stmt{ec2Actions, []int{ec2Arn("*")}, map[string]any{"StringEquals": eq}},
			stmt{[]string{"ec2:CreateTags"}, []int{ec2Arn("*")}, map[string]any{"StringEquals": eq, "ForAllValues:StringEquals": statusTags["ForAllValues:StringEquals"]}})
	}
	if len(env.KmsKeyArns) > 0 {
		var arns []int
		for _, a := range env.KmsKeyArns {
			arns = append(arns, len(a))
		}
		fn = append(fn, stmt{[]string{"kms:CreateGrant"}, arns, map[string]any{"Bool": map[string]any{"kms:GrantIsForAWSResource": "true"}}})
	}
	if len(groups) > 0 {
		fn = append(fn, stmt{[]string{"autoscaling:UpdateAutoScalingGroup", "autoscaling:CreateOrUpdateTags"}, groups, nil})
	}
	if len(services) > 0 {
		fn = append(fn, stmt{[]string{"ecs:DescribeServices", "ecs:UpdateService"}, services, nil}, stmt{[]string{"ecs:TagResource"}, services, statusTags},
			stmt{[]string{"application-autoscaling:DescribeScalableTargets"}, []int{1}, nil}, stmt{[]string{"application-autoscaling:RegisterScalableTarget"}, []int{cdkArnEstimate}, nil})
	}
	if len(nodegroups) > 0 {
		fn = append(fn, stmt{[]string{"eks:DescribeNodegroup", "eks:UpdateNodegroupConfig"}, nodegroups, nil})
	}
	fn = append(fn, stmt{[]string{"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:Query"}, []int{cdkArnEstimate},
		map[string]any{"ForAllValues:StringEquals": map[string]any{"dynamodb:LeadingKeys": []string{"env#" + name, "hold#" + name}}}},
		stmt{[]string{"states:DescribeExecution"}, []int{cdkArnEstimate}, nil}, stmt{[]string{"events:PutEvents"}, []int{cdkArnEstimate}, nil})
	if v.cfg.Control.NotificationTopic != "" {
		fn = append(fn, stmt{[]string{"sns:Publish"}, []int{len(v.cfg.Control.NotificationTopic)}, nil})
	}
	// aws-iam policy-statement.js _estimateSize: "Effect": "Allow", plus each list's key and items
	// (an item's length + 3; an unresolved one 150; an action 20 if a token), plus the conditions' JSON.
	size := func(ss []stmt) int {
		n := 0
		for _, s := range ss {
			n += len(`"Effect": "Allow",`) + len("Action") + 5 + len("Resource") + 5
			for _, a := range s.actions {
				n += len(a) + 3
			}
			for _, r := range s.resources {
				n += r + 3
			}
			if s.cond != nil {
				b, _ := json.Marshal(s.cond)
				n += len(b)
			}
		}
		return n
	}
	// What IAM counts: the policy's own JSON once CloudFormation has resolved it, which _estimateSize
	// leaves below the real size: it counts no statement ID (Sid), braces or commas, and takes an ARN
	// at its "aws" partition. So also the JSON itself, each statement with the longest Sid
	// constructs/control writes (StartStopInstancesByTags%d), every ARN in the longest partition
	// (aws-us-gov) and the unresolved ones at aws-cdk-lib's 150, against IAM's 10,240 characters.
	jsonSize := func(ss []stmt) int {
		n := len(`{"Version":"2012-10-17","Statement":[]}`)
		for _, s := range ss {
			n += len(`{"Sid":"StartStopInstancesByTags00","Effect":"Allow","Action":[],"Resource":[]},`)
			for _, a := range s.actions {
				n += len(a) + 3
			}
			for _, r := range s.resources {
				n += r + len("-us-gov") + 3
			}
			if s.cond != nil {
				b, _ := json.Marshal(s.cond)
				n += len(`,"Condition":`) + len(b)
			}
		}
		return n
	}
	if n, r := size(fn), jsonSize(fn); n >= cdkInlinePolicyChars || r > iamRoleInlineChars {
		n = max(n, r)
		v.errorf(p+".stages", "give the workflow's function an IAM policy of about %d characters (each instance ID, tag selector, group and service is named in it); a role's inline policies hold %d (IAM quotas), and the CDK moves what passes %d to managed policies that cannot hold one larger statement: fewer targets (a tag selector instead of many IDs), or split the environment", n, iamRoleInlineChars, cdkInlinePolicyChars)
	}
}

// pad is s, or n characters standing for it when it is not known at synth.
func pad(s string, n int) string {
	if s == "" {
		return strings.Repeat("x", n)
	}
	return s
}

// expandDayNames turns mon-fri ranges into days, as stacks/control does (invalid items are skipped:
// they are reported by control()).
func expandDayNames(items []string) []string {
	set := map[int]bool{}
	for _, d := range items {
		a, b, isRange := strings.Cut(d, "-")
		i, j := slices.Index(weekdayNames, a), slices.Index(weekdayNames, b)
		switch {
		case !isRange && i >= 0:
			set[i] = true
		case isRange && i >= 0 && j >= i:
			for k := i; k <= j; k++ {
				set[k] = true
			}
		}
	}
	var idx []int
	for k := range set {
		idx = append(idx, k)
	}
	sort.Ints(idx)
	var out []string
	for _, k := range idx {
		out = append(out, weekdayNames[k])
	}
	return out
}

// controlPage2: the page's keys mean nothing when the page is not served, and its groups are made by
// the Control stack.
func (v *validator) controlPage2() {
	p := v.cfg.Control.Page
	if !v.cfg.ControlPageEnabled() {
		why := "control.page.enabled is false"
		if p.Enabled == nil {
			why = "the page is served only with enabled.auth (its users log in through the pool)"
		}
		for _, k := range []struct {
			key string
			set bool
		}{{"host", p.Host != ""}, {"certificate_arn", p.CertificateArn != ""}, {"watch_all", p.WatchAll}} {
			if k.set {
				v.errorf("control.page."+k.key, "only applies when the control page is served, and %s (remove it, or serve the page)", why)
			}
		}
		return
	}
	// The Control stack makes a Cognito group control-<env> for each environment; a group of that name
	// in auth.groups is a second AWS::Cognito::UserPoolGroup of the same name, which Cognito refuses
	// (CreateGroup: GroupExistsException).
	for i, g := range v.cfg.Auth.Groups {
		for _, env := range v.cfg.EnvironmentNames() {
			if g.Name == "control-"+env {
				v.errorf(fmt.Sprintf("auth.groups[%d].name", i), "%q is the group the Control stack makes for environment %s's testers (remove it from auth.groups: the page's group is made for you)", g.Name, env)
			}
		}
	}
}

// controlLifecycle2: a run table that keeps its deletion protection cannot be destroyed
// (DynamoDB DeleteTable refuses a table with DeletionProtectionEnabled), so destroy plus protection
// would make cdk destroy fail; production refuses destroy, as the other modules do.
func (v *validator) controlLifecycle2() {
	o := v.cfg.Control.Lifecycle
	v.productionDestroy("control.lifecycle", o, "a production instance keeps its run table (the runs, the holds and the lock) like every stateful resource")
	if !v.cfg.Production() && o.RemovalPolicy != "retain" && o.DeletionProtection != nil && *o.DeletionProtection {
		v.errorf("control.lifecycle.deletion_protection", "is true, but the run table is destroyed with the stack (removal_policy destroy, the development default): DynamoDB refuses to delete a protected table, so cdk destroy would fail (set removal_policy: retain, or leave deletion_protection out)")
	}
}
