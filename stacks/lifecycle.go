package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/stratolab/stratolab/constructs/lifecycle"
	"github.com/stratolab/stratolab/instance"
)

// lifecycleFor is the one place that decides what happens to a stateful resource on destroy: the
// instance's lifecycle, then the module's override on top. Every module passes its result to its
// constructs.
func lifecycleFor(cfg *instance.Config, o instance.LifecycleOverride) lifecycle.Policy {
	p := lifecycle.Development()
	if cfg.Production() {
		p = lifecycle.Production()
	}
	switch o.RemovalPolicy {
	case "retain":
		p = p.WithRemoval(awscdk.RemovalPolicy_RETAIN)
	case "snapshot":
		p = p.WithRemoval(awscdk.RemovalPolicy_SNAPSHOT)
	case "destroy":
		p = p.WithRemoval(awscdk.RemovalPolicy_DESTROY)
	}
	if o.DeletionProtection != nil {
		p = p.WithDeletionProtection(*o.DeletionProtection)
	}
	return p
}
