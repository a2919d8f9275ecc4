// Package instance is stratolab's typed configuration.
//
// An instance is one deployment of the platform for a group, class or project. Its configuration is
// instance/default.yaml deep-merged with instance/NAME.yaml (maps merge; scalars and lists replace),
// decoded strictly into Config and validated. Every problem is reported at once, each as
// "file:line: key.path: problem (what would be valid)".
//
// The package knows YAML and nothing of the CDK: the stacks package turns a Config into construct props.
//
// Struct tags drive the decoder, the validator and the JSON Schema alike:
//
//	yaml:"key"            the key in the YAML file
//	enum:"a|b|c"          the only values allowed (for strings, and for the items of string lists)
//	doc:"..."             the description written into schema.json
package instance

// Config is one instance's whole configuration.
type Config struct {
	// Name is the instance name: the NAME of instance/NAME.yaml and of `-c instance=NAME`.
	Name string `yaml:"-"`

	Env        Env        `yaml:"env" doc:"Where the instance is deployed. Both keys fall back to CDK_DEFAULT_ACCOUNT and CDK_DEFAULT_REGION, then to an environment-agnostic synth."`
	Lifecycle  string     `yaml:"lifecycle" enum:"development|production" doc:"development: cdk destroy removes everything. production: stateful resources are retained and deletion-protected."`
	Tags       Tags       `yaml:"tags" doc:"Tags on every resource."`
	Vpc        Vpc        `yaml:"vpc" doc:"The network every module runs in."`
	Compliance Compliance `yaml:"compliance" doc:"cdk-nag rule packs applied on every synth."`
	Enabled    Enabled    `yaml:"enabled" doc:"Which modules this instance deploys. All are off by default."`

	// Sources maps every key path that came from a file (such as "vpc.cidr" or
	// "vpc.private_subnet_ids[1]") to where it was written.
	Sources map[string]Pos `yaml:"-"`
}

// Env is the AWS account and region.
type Env struct {
	Account string `yaml:"account" doc:"12-digit AWS account ID."`
	Region  string `yaml:"region" doc:"AWS region, such as us-east-1."`
}

// Tags are the instance's tags.
type Tags struct {
	CostKey string            `yaml:"cost_key" doc:"Cost allocation tag key. Its value on every resource is the instance name."`
	Extra   map[string]string `yaml:"extra" doc:"More tags for every resource: key -> value."`
}

// Vpc is the network: a new VPC, an existing one given by explicit IDs, or one looked up through CDK context.
type Vpc struct {
	Type string `yaml:"type" enum:"new|existing|lookup" doc:"new: create a VPC. existing: use vpc_id and the subnet IDs given here (offline). lookup: find vpc_id, or the default VPC, through CDK context."`

	Cidr                 string   `yaml:"cidr" doc:"IPv4 CIDR of a new VPC (/16 to /28)."`
	MaxAzs               int      `yaml:"max_azs" doc:"Number of availability zones of a new VPC (1-6). Ignored when availability_zones is given."`
	AvailabilityZones    []string `yaml:"availability_zones" doc:"Explicit AZ names. For a new VPC they make the synth offline; for an existing VPC they are required."`
	NatGateways          int      `yaml:"nat_gateways" doc:"NAT gateways of a new VPC (0 to the AZ count). 0 makes private subnets isolated, reaching S3 and DynamoDB through gateway endpoints."`
	PublicSubnetMask     int      `yaml:"public_subnet_mask" doc:"Prefix length of each public subnet of a new VPC."`
	PrivateSubnetMask    int      `yaml:"private_subnet_mask" doc:"Prefix length of each private subnet of a new VPC."`
	FlowLogRetentionDays int      `yaml:"flow_log_retention_days" doc:"Days to keep VPC flow logs in CloudWatch Logs (a CloudWatch retention value)."`

	VpcID            string   `yaml:"vpc_id" doc:"existing: the VPC ID (required). lookup: the VPC ID, or empty for the account's default VPC."`
	PublicSubnetIDs  []string `yaml:"public_subnet_ids" doc:"existing: public subnet IDs, one per AZ, or none."`
	PrivateSubnetIDs []string `yaml:"private_subnet_ids" doc:"existing: private subnet IDs, one per AZ (required)."`
}

// Compliance lists the cdk-nag packs. AwsSolutions always runs.
type Compliance struct {
	Packs []string `yaml:"packs" enum:"AwsSolutions|NIST80053R5|HIPAA" doc:"cdk-nag packs. AwsSolutions runs even when it is not listed."`
}

// Enabled switches modules on. Modules add their flag here as they are built.
type Enabled struct {
}

// Pos is where a key was written.
type Pos struct {
	File string
	Line int
}

func (p Pos) String() string {
	if p.Line == 0 {
		return p.File
	}
	return p.File + ":" + itoa(p.Line)
}

// Production reports whether the instance is a production one.
func (c *Config) Production() bool { return c.Lifecycle == "production" }

// AZCount is the number of availability zones the instance's VPC spans.
func (v *Vpc) AZCount() int {
	if len(v.AvailabilityZones) > 0 {
		return len(v.AvailabilityZones)
	}
	return v.MaxAzs
}

// LifecycleOverride lets one module depart from the instance's lifecycle.
type LifecycleOverride struct {
	RemovalPolicy      string `yaml:"removal_policy" enum:"retain|snapshot|destroy" doc:"What happens to this module's data on destroy. Default: destroy in development, retain in production."`
	DeletionProtection *bool  `yaml:"deletion_protection" doc:"The resource's own deletion protection. Default: off in development, on in production."`
}
