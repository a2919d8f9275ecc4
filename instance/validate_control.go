package instance

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"
	_ "time/tzdata" // time zones are checked against Go's own database, whatever the machine has
)

var (
	controlEnvRe   = regexp.MustCompile(`^[a-z][a-z0-9-]{0,19}$`)
	controlStageRe = regexp.MustCompile(`^[a-z][a-z0-9-]{0,31}$`)
	instanceIDRe   = regexp.MustCompile(`^i-([0-9a-f]{8}|[0-9a-f]{17})$`)
	asgNameRe      = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$`)
	ecsServiceRe   = regexp.MustCompile(`^[A-Za-z0-9_-]{1,255}/[A-Za-z0-9_-]{1,255}$`)
	targetGroupRe  = regexp.MustCompile(`^arn:aws[a-z-]*:elasticloadbalancing:([a-z0-9-]+):[0-9]{12}:targetgroup/[A-Za-z0-9-]{1,32}/[0-9a-f]{16}$`)
	kmsKeyArnRe    = regexp.MustCompile(`^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/(mrk-[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$`)
	clockRe        = regexp.MustCompile(`^([01][0-9]|2[0-3]):[0-5][0-9]$`)
	weekdayNames   = []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}
)

// ControlModules are the modules a control stage may name, each with the flag that enables it.
var ControlModules = map[string]func(*Config) bool{
	"lookup": func(c *Config) bool { return c.Enabled.Lookup },
	"jobs":   func(c *Config) bool { return c.Enabled.Jobs },
	"hub":    func(c *Config) bool { return c.Enabled.Hub },
}

// EnvironmentNames returns the control environments in the order the files write them.
func (c *Config) EnvironmentNames() []string {
	names := make([]string, 0, len(c.Control.Environments))
	for n := range c.Control.Environments {
		names = append(names, n)
	}
	sort.SliceStable(names, func(i, j int) bool {
		a, b := c.Sources["control.environments."+names[i]], c.Sources["control.environments."+names[j]]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return names[i] < names[j]
	})
	return names
}

// control checks the control keys, only when the control module is enabled.
func (v *validator) control() {
	if !v.cfg.Enabled.Control {
		return
	}
	c := v.cfg.Control
	if len(c.Environments) == 0 {
		v.errorf("control.environments", "is empty (at least one environment, such as staging: {stages: [{name: app, ec2: {tags: {Name: [app01]}}}]})")
	}
	if c.NotificationTopic != "" && !snsTopicRe.MatchString(c.NotificationTopic) {
		v.errorf("control.notification_topic_arn", "%q is not an SNS topic ARN (arn:aws:sns:<region>:<account>:<name>)", c.NotificationTopic)
	}
	if n := len(c.Environments); v.cfg.ControlPageEnabled() && n > 10 {
		// The page's role holds each environment's operator policy; IAM attaches at most 10 managed
		// policies to a role by default (IAM User Guide, "IAM and AWS STS quotas").
		v.errorf("control.environments", "has %d environments; the control page serves at most 10 (its role holds one operator policy per environment, and IAM allows 10 per role): split them over instances, or set control.page.enabled: false", n)
	}
	if v.cfg.ControlPageEnabled() && !v.cfg.Enabled.Auth {
		v.errorf("control.page.enabled", "is true, but the page's users log in through the instance's Cognito pool: set enabled.auth: true, or control.page.enabled: false")
	}
	if p := c.Page; v.cfg.ControlPageEnabled() {
		switch {
		case p.Host != "" && !hostRe.MatchString(p.Host):
			v.errorf("control.page.host", "%q is not an https:// host URL (such as https://control.example.edu, no path: the page is served at the root)", p.Host)
		case p.Host == "" && p.CertificateArn != "":
			v.errorf("control.page.certificate_arn", "is set, but control.page.host is not: the certificate is for the page's own host name (set control.page.host, such as https://control.example.edu)")
		}
	}
	if c.Lifecycle.RemovalPolicy == "snapshot" {
		v.errorf("control.lifecycle.removal_policy", "snapshot is not something DynamoDB tables support (retain or destroy)")
	}
	for _, name := range v.cfg.EnvironmentNames() {
		p := "control.environments." + name
		if !controlEnvRe.MatchString(name) {
			v.errorf(p, "environment name %q must be lowercase letters, digits and dashes, starting with a letter, at most 20 characters (it names the workflow and the schedules)", name)
		}
		v.controlEnvironment(p, c.Environments[name])
	}
}

func (v *validator) controlEnvironment(p string, env ControlEnvironment) {
	if len(env.Stages) == 0 {
		v.errorf(p+".stages", "is empty (at least one stage, such as {name: app, ec2: {tags: {Name: [app01]}}})")
	}
	v.controlRunLength(p, env)
	stageOf := map[string]string{} // a target's key -> the stage path that has it
	claim := func(path, key, what string) {
		if first, dup := stageOf[key]; dup && first != path[:strings.Index(path, "]")+1] {
			v.errorf(path, "%s is already a target of %s (a target belongs to one stage of an environment)", what, first)
			return
		}
		stageOf[key] = path[:strings.Index(path, "]")+1]
	}
	names := map[string]int{}
	for i, st := range env.Stages {
		sp := fmt.Sprintf("%s.stages[%d]", p, i)
		switch first, dup := names[st.Name]; {
		case st.Name == "":
			v.errorf(sp+".name", "is required (lowercase letters, digits and dashes, such as data)")
		case !controlStageRe.MatchString(st.Name):
			v.errorf(sp+".name", "%q must be lowercase letters, digits and dashes, starting with a letter, at most 32 characters", st.Name)
		case dup:
			v.errorf(sp+".name", "%q is already %s.stages[%d] (stage names are unique in an environment)", st.Name, p, first)
		}
		names[st.Name] = i
		if len(st.EC2.IDs) == 0 && len(st.EC2.Tags) == 0 && len(st.AutoScalingGroups) == 0 && len(st.ECSServices) == 0 && len(st.Modules) == 0 {
			v.errorf(sp, "has no targets (give ec2.ids, ec2.tags, autoscaling_groups, ecs_services or modules)")
		}
		for k, id := range st.EC2.IDs {
			kp := fmt.Sprintf("%s.ec2.ids[%d]", sp, k)
			if !instanceIDRe.MatchString(id) {
				v.errorf(kp, "%q is not an EC2 instance ID (i- and 8 or 17 hex digits)", id)
				continue
			}
			claim(kp, "ec2:"+id, "instance "+id)
		}
		keys := make([]string, 0, len(st.EC2.Tags))
		for k := range st.EC2.Tags {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			kp := sp + ".ec2.tags." + k
			if why := tagProblem(k, "key", 1, 128); why != "" {
				v.errorf(kp, "%q is not a tag key: %s", k, why)
			}
			if len(st.EC2.Tags[k]) == 0 {
				v.errorf(kp, "has no values (a list of the values to match, such as [app01, app02])")
			}
			for j, val := range st.EC2.Tags[k] {
				if why := tagProblem(val, "value", 1, 256); why != "" {
					v.errorf(fmt.Sprintf("%s[%d]", kp, j), "%q is not a tag value: %s", val, why)
				} else if len(keys) == 1 {
					// With one key, the same key and value in two stages select the same instances.
					claim(fmt.Sprintf("%s[%d]", kp, j), "tag:"+k+"="+val, "the tag "+k+"="+val)
				}
			}
		}
		for k, g := range st.AutoScalingGroups {
			kp := fmt.Sprintf("%s.autoscaling_groups[%d]", sp, k)
			if !asgNameRe.MatchString(g) {
				v.errorf(kp, "%q is not an Auto Scaling group name (letters, digits, _ . and -, at most 255; a name, not an ARN)", g)
				continue
			}
			claim(kp, "asg:"+g, "the group "+g)
		}
		for k, s := range st.ECSServices {
			kp := fmt.Sprintf("%s.ecs_services[%d]", sp, k)
			if !ecsServiceRe.MatchString(s) {
				v.errorf(kp, "%q is not cluster/service (the cluster's and the service's names, such as apps/api)", s)
				continue
			}
			claim(kp, "ecs:"+s, "the service "+s)
		}
		for k, m := range st.Modules {
			kp := fmt.Sprintf("%s.modules[%d]", sp, k)
			if enabled, known := ControlModules[m]; known && !enabled(v.cfg) {
				v.errorf(kp, "module %s is not enabled (set enabled.%s: true, or remove it from the stage)", m, m)
				continue
			}
			claim(kp, "module:"+m, "the module "+m)
		}
		switch {
		case st.Wait == "target_group" && len(st.TargetGroupArns) == 0:
			v.errorf(sp+".target_group_arns", "is empty but wait is target_group (the ARNs of the target groups whose targets must be healthy)")
		case st.Wait != "target_group" && len(st.TargetGroupArns) > 0:
			v.errorf(sp+".target_group_arns", "only applies to wait: target_group")
		}
		for k, tg := range st.TargetGroupArns {
			m := targetGroupRe.FindStringSubmatch(tg)
			switch {
			case m == nil:
				v.errorf(fmt.Sprintf("%s.target_group_arns[%d]", sp, k), "%q is not a target group ARN (arn:aws:elasticloadbalancing:<region>:<account>:targetgroup/<name>/<16 hex digits>)", tg)
			case v.cfg.Env.Region != "" && m[1] != v.cfg.Env.Region:
				v.errorf(fmt.Sprintf("%s.target_group_arns[%d]", sp, k), "is in %s, not in the instance's region %s", m[1], v.cfg.Env.Region)
			}
		}
		if st.TimeoutMinutes < 0 || st.TimeoutMinutes > 180 {
			v.errorf(sp+".timeout_minutes", "%d is out of range (1 to 180 minutes; leave it out for 15)", st.TimeoutMinutes)
		}
		if st.SettleSeconds < 0 || st.SettleSeconds > 3600 {
			v.errorf(sp+".settle_seconds", "%d is out of range (0 to 3600 seconds)", st.SettleSeconds)
		}
	}
	for k, arn := range env.KmsKeyArns {
		if !kmsKeyArnRe.MatchString(arn) {
			v.errorf(fmt.Sprintf("%s.kms_key_arns[%d]", p, k), "%q is not a KMS key ARN (arn:aws:kms:<region>:<account>:key/<key id>; not an alias)", arn)
		}
	}
	if env.Schedule != nil {
		v.controlSchedule(p+".schedule", *env.Schedule)
	}
}

func (v *validator) controlSchedule(p string, s ControlSchedule) {
	switch {
	case s.Timezone == "":
		v.errorf(p+".timezone", "is required (an IANA time zone, such as Europe/Berlin or America/New_York)")
	case s.Timezone == "Local" || strings.HasPrefix(s.Timezone, "/"):
		v.errorf(p+".timezone", "%q is not an IANA time zone name (such as Europe/Berlin)", s.Timezone)
	default:
		if _, err := time.LoadLocation(s.Timezone); err != nil {
			v.errorf(p+".timezone", "%q is not in the time zone database (an IANA name such as Europe/Berlin, America/New_York or UTC)", s.Timezone)
		}
	}
	okStart, okStop := true, true
	if s.Start != "" && !clockRe.MatchString(s.Start) {
		v.errorf(p+".start", "%q is not a time HH:MM (00:00 to 23:59; quote it)", s.Start)
		okStart = false
	}
	if s.Stop != "" && !clockRe.MatchString(s.Stop) {
		v.errorf(p+".stop", "%q is not a time HH:MM (00:00 to 23:59; quote it)", s.Stop)
		okStop = false
	}
	switch {
	case s.Start == "" && s.Stop == "":
		v.errorf(p, "has neither start nor stop (give one or both, such as start: \"08:00\", stop: \"19:00\")")
	case s.Start != "" && s.Stop != "" && okStart && okStop:
		switch {
		case s.Stop == s.Start:
			v.errorf(p+".stop", "%s is the start time too", s.Stop)
		case s.Stop < s.Start && !s.Overnight:
			v.errorf(p+".stop", "%s is before the start %s (set overnight: true to stop the morning after)", s.Stop, s.Start)
		case s.Stop > s.Start && s.Overnight:
			v.errorf(p+".overnight", "is set but the stop %s is after the start %s on the same day", s.Stop, s.Start)
		}
	case s.Overnight:
		v.errorf(p+".overnight", "needs both start and stop")
	}
	for k, d := range s.Days {
		a, b, isRange := strings.Cut(d, "-")
		i, j := slices.Index(weekdayNames, a), slices.Index(weekdayNames, b)
		if (!isRange && i < 0) || (isRange && (i < 0 || j < i)) {
			v.errorf(fmt.Sprintf("%s.days[%d]", p, k), "%q is not a day or a range of days (mon, tue, wed, thu, fri, sat, sun, or a range such as mon-fri, first day first)", d)
		}
	}
	for k, d := range s.SkipDates {
		if _, err := time.Parse("2006-01-02", d); err != nil {
			v.errorf(fmt.Sprintf("%s.skip_dates[%d]", p, k), "%q is not a date YYYY-MM-DD (such as 2026-12-24)", d)
		}
	}
}

// controlMaxRunMinutes bounds an environment's waits. A Standard workflow's execution ends at 25,000
// history events (Step Functions developer guide, "Step Functions service quotas"), and each 15-second
// check of a waiting stage writes 9 (a Wait state's entered and exited, the Lambda task's entered,
// scheduled, started, succeeded and exited, the Choice's entered and exited): about 36 a minute, 694
// minutes at most. 600 leaves room for the acts and the lock.
const controlMaxRunMinutes = 600

// modulePieces is how many stages a module adds to a stage, each with the stage's timeout (at most:
// lookup's hosts exist only on EC2 capacity).
var modulePieces = map[string]int{"lookup": 3, "jobs": 1, "hub": 2}

func (v *validator) controlRunLength(p string, env ControlEnvironment) {
	total := 0
	for _, st := range env.Stages {
		timeout := st.TimeoutMinutes
		if timeout <= 0 {
			timeout = 15
		}
		pieces := 0
		if len(st.EC2.IDs)+len(st.EC2.Tags)+len(st.AutoScalingGroups)+len(st.ECSServices) > 0 {
			pieces = 1
		}
		for _, m := range st.Modules {
			pieces += modulePieces[m]
		}
		total += pieces*timeout + (st.SettleSeconds+59)/60
	}
	if total > controlMaxRunMinutes {
		v.errorf(p+".stages", "may wait %d minutes in all (each stage's timeout_minutes, per module piece, plus settle_seconds); a run's workflow ends at 25,000 history events, about %d minutes of waiting: shorten the timeouts or split the environment", total, controlMaxRunMinutes)
	}
}
