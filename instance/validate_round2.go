package instance

import (
	"maps"
	"slices"
	"strings"
)

// Second-round checks (issue 10, Part 1) outside control: tags and the registry's topic.

// modulesWithStateMachines are the modules whose stacks hold a Step Functions state machine.
func (c *Config) hasStateMachine() bool {
	return c.Enabled.Control || c.Enabled.Registry || c.Enabled.Lookup
}

func (v *validator) round2() {
	t := v.cfg.Tags
	for _, k := range slices.Sorted(maps.Keys(t.Extra)) {
		if t.Extra[k] == "" && v.cfg.hasStateMachine() && tagProblem(k, "key", 1, MaxTagKeyLength) == "" {
			// AWS::StepFunctions::StateMachine TagsEntry: Value has a minimum length of 1
			// (CloudFormation resource specification; aws-cdk-lib's CloudFormation validation, F3033,
			// refuses "Tags.0.Value: length 0 is below minimum 1"), though other resources take "".
			v.errorf("tags.extra."+k, "has an empty value, which CloudFormation refuses on the state machines of control, registry and lookup (AWS::StepFunctions::StateMachine TagsEntry Value: minimum length 1) (give a value, such as %s: none)", k)
		}
	}
	// IAM compares tag keys without regard to case ("Tag keys ... for IAM roles are not case
	// sensitive": IAM user guide, "Tagging IAM resources"; CreateRole answers InvalidInput for keys
	// differing only in case), and every stack has IAM roles that carry every tag.
	keys := map[string]string{}
	add := func(path, k string) {
		lk := strings.ToLower(k)
		if first, dup := keys[lk]; dup && first != path {
			v.errorf(path, "%q differs only in case from %s; IAM, which tags every role of the instance, treats tag keys without regard to case and refuses both (choose another key)", k, first)
			return
		}
		keys[lk] = path
	}
	if t.CostKey != "" {
		add("tags.cost_key", t.CostKey)
	}
	add("Product (stratolab's own tag)", "Product")
	for _, k := range slices.Sorted(maps.Keys(t.Extra)) {
		if k != t.CostKey && k != "Product" {
			add("tags.extra."+k, k)
		}
	}
	if r := v.cfg.Registry; v.cfg.Enabled.Registry {
		if m := snsTopicArnRe.FindStringSubmatch(r.NotificationTopic); m != nil {
			v.topicRegion("registry.notification_topic_arn", m[1])
		}
	}
}
