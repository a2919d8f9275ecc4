// Package stacks turns an instance's configuration into its stacks.
//
// Build creates one construct named after the instance and puts every stack under it, so that the
// CLI lists them as <instance>/Base, <instance>/Auth and so on. Stacks only translate configuration
// into construct props; they read no YAML, context or environment.
package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
	"github.com/stratolab/stratolab/constructs/network"
	"github.com/stratolab/stratolab/instance"
)

// Product is the value prefix of the Product tag on every stack.
const Product = "stratolab"

// Instance is everything Build created for one instance.
type Instance struct {
	// Scope is the construct named after the instance that holds its stacks.
	Scope constructs.Construct
	Base  *Base
	// Auth is nil unless the instance has an Auth stack.
	Auth *Auth
	// Jobs is nil unless enabled.jobs is set.
	Jobs *Jobs
	// Lookup is nil unless enabled.lookup is set.
	Lookup *Lookup
	// Hub is nil unless enabled.hub is set.
	Hub *Hub
	// Registry is nil unless enabled.registry is set.
	Registry *Registry
	// Control is nil unless enabled.control is set.
	Control *Control
	// Stacks in the order Build created them.
	Stacks []awscdk.Stack
}

// Build creates the instance's stacks under app, tags them and applies its compliance packs.
func Build(app constructs.Construct, cfg *instance.Config) *Instance {
	in := &Instance{Scope: constructs.NewConstruct(app, jsii.String(cfg.Name))}
	if cfg.Vpc.Type == "new" {
		network.PinAvailabilityZones(in.Scope, cfg.Env.Account, cfg.Env.Region, cfg.Vpc.AvailabilityZones)
	}

	in.Base = newBase(in, cfg)
	if cfg.AuthEnabled() {
		in.Auth = newAuth(in, cfg)
	}
	if cfg.Enabled.Jobs {
		in.Jobs = newJobs(in, cfg)
	}
	if cfg.Enabled.Lookup {
		in.Lookup = newLookup(in, cfg)
	}
	if cfg.Enabled.Hub {
		in.Hub = newHub(in, cfg)
	}
	if cfg.Enabled.Registry {
		in.Registry = newRegistry(in, cfg)
	}
	if cfg.Enabled.Control {
		in.Control = newControl(in, cfg)
	}

	tags := awscdk.Tags_Of(in.Scope)
	tags.Add(jsii.String(cfg.Tags.CostKey), jsii.String(cfg.Name), nil)
	for k, v := range cfg.Tags.Extra {
		tags.Add(jsii.String(k), jsii.String(v), nil)
	}
	// The provider log groups first, so that secureLogGroups gives them, like every other log group, a
	// year's retention and a customer-managed key in production.
	providerLogGroups(in.Scope)
	secureLogGroups(in, cfg)
	applyCompliance(in.Scope, cfg.Compliance.Packs)
	if !cfg.Production() {
		// The CDK gives the log groups of its own helper functions (the kubectl provider, AwsCustomResource)
		// a RETAIN policy; a development instance leaves nothing behind after cdk destroy --all.
		awscdk.RemovalPolicies_Of(in.Scope).Destroy(&awscdk.RemovalPolicyProps{ApplyToResourceTypes: jsii.Strings("AWS::Logs::LogGroup")})
	}
	return in
}

// newStack creates <instance>/<id> with the instance's environment, a Product tag and, on the stack
// itself, the cost allocation tag (with @aws-cdk/core:explicitStackTags, stack tags are set here, not
// inherited from Tags.of).
func (in *Instance) newStack(cfg *instance.Config, id, description string, opts ...func(*awscdk.StackProps)) awscdk.Stack {
	stackTags := map[string]*string{
		"Product":        jsii.String(Product + "-" + lower(id)),
		cfg.Tags.CostKey: jsii.String(cfg.Name),
	}
	for k, v := range cfg.Tags.Extra {
		stackTags[k] = jsii.String(v)
	}
	props := &awscdk.StackProps{
		StackName:   jsii.String(cfg.Name + "-" + id),
		Description: jsii.String("stratolab " + cfg.Name + ": " + description),
		Env:         environment(cfg),
		Tags:        &stackTags,
	}
	for _, o := range opts {
		o(props)
	}
	s := awscdk.NewStack(in.Scope, jsii.String(id), props)
	awscdk.Tags_Of(s).Add(jsii.String("Product"), jsii.String(Product+"-"+lower(id)), nil)
	in.Stacks = append(in.Stacks, s)
	return s
}

func environment(cfg *instance.Config) *awscdk.Environment {
	env := &awscdk.Environment{}
	if cfg.Env.Account != "" {
		env.Account = jsii.String(cfg.Env.Account)
	}
	if cfg.Env.Region != "" {
		env.Region = jsii.String(cfg.Env.Region)
	}
	return env
}

// applyCompliance runs AwsSolutions, always, and the other packs the instance names, on every stack.
// An unsuppressed finding is an error annotation, which fails `cdk synth`.
func applyCompliance(scope constructs.Construct, packs []string) {
	aspects := awscdk.Aspects_Of(scope)
	aspects.Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
	for _, p := range packs {
		switch p {
		case "NIST80053R5":
			aspects.Add(cdknag.NewNIST80053R5Checks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
		case "HIPAA":
			aspects.Add(cdknag.NewHIPAASecurityChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
		}
	}
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
