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

import (
	"strings"

	"github.com/stratolab/stratolab/internal/awsrules"
)

// Config is one instance's whole configuration.
type Config struct {
	// Name is the instance name: the NAME of instance/NAME.yaml and of `-c instance=NAME`.
	Name string `yaml:"-"`

	Env        Env        `yaml:"env" doc:"Where the instance is deployed. Both keys fall back to CDK_DEFAULT_ACCOUNT and CDK_DEFAULT_REGION, then to an environment-agnostic synth."`
	Lifecycle  string     `yaml:"lifecycle" enum:"development|production" doc:"development: cdk destroy removes everything. production: stateful resources are retained and deletion-protected."`
	Tags       Tags       `yaml:"tags" doc:"Tags on every resource."`
	Vpc        Vpc        `yaml:"vpc" doc:"The network every module runs in."`
	Compliance Compliance `yaml:"compliance" doc:"cdk-nag rule packs applied on every synth."`
	DNS        DNS        `yaml:"dns" doc:"An existing Route 53 public hosted zone that front doors' hosts may be names in: the stacks then make their certificates and DNS records."`
	Enabled    Enabled    `yaml:"enabled" doc:"Which modules this instance deploys. All are off by default."`
	Auth       Auth       `yaml:"auth" doc:"The Cognito user pool: used when enabled.auth is set or a module that logs users in is enabled."`
	Jobs       Jobs       `yaml:"jobs" doc:"Cloud Kotta's jobs platform: used when enabled.jobs is set."`
	Lookup     Lookup     `yaml:"lookup" doc:"The QA Authority Lookup service: used when enabled.lookup is set."`
	Hub        Hub        `yaml:"hub" doc:"JupyterHub on EKS: used when enabled.hub is set."`
	Registry   Registry   `yaml:"registry" doc:"HelioCloud's data registry: used when enabled.registry is set."`
	Control    Control    `yaml:"control" doc:"Cloud Control: ordered, readiness-gated start and stop of environments, used when enabled.control is set."`

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

	PublicRouteTableIDs  []string `yaml:"public_route_table_ids" doc:"existing: the route table of each public subnet, in the order of public_subnet_ids, or none."`
	PrivateRouteTableIDs []string `yaml:"private_route_table_ids" doc:"existing: the route table of each private subnet, in the order of private_subnet_ids, or none."`
}

// DNS is an existing Route 53 public hosted zone, given by ID and name so that synth never looks it up.
// A front door whose host is a name in it needs no certificate ARN: the stack creates a DNS-validated
// ACM certificate and the alias record (for the hub, ExternalDNS makes the record).
type DNS struct {
	ZoneID   string `yaml:"zone_id" doc:"The hosted zone's ID, such as Z0123456789ABCDEFGHIJ (Route 53 console, or aws route53 list-hosted-zones), without /hostedzone/."`
	ZoneName string `yaml:"zone_name" doc:"The hosted zone's domain name, such as physics.example.edu, lowercase, without the trailing dot."`
}

// Enabled reports whether a zone is configured.
func (d DNS) Enabled() bool { return d.ZoneID != "" || d.ZoneName != "" }

// InZone reports whether host (a host name, no scheme) is the zone's name or a name under it.
func (d DNS) InZone(host string) bool {
	return d.ZoneName != "" && (host == d.ZoneName || strings.HasSuffix(host, "."+d.ZoneName))
}

// HostName is the host name of a front door's URL: https://hub.example.edu/ gives hub.example.edu.
func HostName(url string) string {
	return strings.TrimSuffix(strings.TrimPrefix(url, "https://"), "/")
}

// Compliance lists the cdk-nag packs. AwsSolutions always runs.
type Compliance struct {
	Packs []string `yaml:"packs" enum:"AwsSolutions|NIST80053R5|HIPAA" doc:"cdk-nag packs. AwsSolutions runs even when it is not listed."`
}

// Enabled switches modules on. Modules add their flag here as they are built.
type Enabled struct {
	Auth   bool `yaml:"auth" doc:"The Cognito user pool stack <instance>/Auth, on its own. Modules that log users in turn it on themselves."`
	Jobs   bool `yaml:"jobs" doc:"Cloud Kotta's jobs platform: <instance>/JobsData and <instance>/Jobs."`
	Lookup bool `yaml:"lookup" doc:"The QA Authority Lookup service: <instance>/LookupData and <instance>/Lookup."`
	Hub    bool `yaml:"hub" doc:"JupyterHub and Dask Gateway on EKS, logging in through Cognito: <instance>/Hub (turns Auth on)."`
	// Registry is HelioCloud's data registry.
	Registry bool `yaml:"registry" doc:"HelioCloud's data registry: <instance>/Registry (dataset buckets, upload bucket, records table, ingest workflow)."`
	// Control is Cloud Control.
	Control bool `yaml:"control" doc:"Cloud Control: <instance>/Control (a start/stop workflow per environment, schedules, the run table, operator policies)."`
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

// Auth is the Cognito user pool (stack <instance>/Auth), which the hub, the jobs web and the registry log in through.
type Auth struct {
	SignIn             string            `yaml:"sign_in" enum:"email|username" doc:"email: users sign in with their email address. username: with a username; email is still required and verified."`
	SelfSignUp         bool              `yaml:"self_sign_up" doc:"Let people create their own accounts from the hosted UI. Off: administrators invite users."`
	RequiredAttributes []string          `yaml:"required_attributes" enum:"name|given_name|family_name|middle_name|nickname|preferred_username|profile|picture|website|gender|birthdate|zoneinfo|locale|phone_number|address" doc:"Standard attributes required at sign-up besides email. Changing this list replaces the pool."`
	CustomAttributes   []CustomAttribute `yaml:"custom_attributes" doc:"Custom attributes, stored as custom:<name>."`
	Password           Password          `yaml:"password" doc:"Password rules."`
	Mfa                string            `yaml:"mfa" enum:"off|optional|required" doc:"Multi-factor authentication with TOTP."`
	FeaturePlan        string            `yaml:"feature_plan" enum:"lite|essentials|plus" doc:"Cognito feature plan. plus adds threat protection (charged per monthly active user)."`
	ThreatProtection   string            `yaml:"threat_protection" enum:"enforced|audit|off" doc:"Threat protection for sign-in (plus only): enforced blocks or challenges risky sign-ins, audit only records them."`
	CustomDomain       string            `yaml:"custom_domain" doc:"The hosted UI on a name of your own in dns.zone_name, such as auth.physics.example.edu, instead of the prefix domain. Its parent (physics.example.edu) must have an A record. Default: none."`
	DomainPrefix       string            `yaml:"domain_prefix" doc:"Hosted UI prefix: https://<prefix>.auth.<region>.amazoncognito.com. Default: <instance>-<account ID>."`
	Email              AuthEmail         `yaml:"email" doc:"Who sends the pool's email."`
	Groups             []Group           `yaml:"groups" doc:"Cognito groups."`
	Clients            []AuthClient      `yaml:"clients" doc:"App clients for applications outside stratolab. Modules add their own."`
	TokenValidity      TokenValidity     `yaml:"token_validity" doc:"Token lifetimes of every client."`
	Lifecycle          LifecycleOverride `yaml:"lifecycle" doc:"Overrides the instance lifecycle for the user pool."`
}

// CustomAttribute is a custom:<name> user attribute.
type CustomAttribute struct {
	Name      string `yaml:"name" doc:"Name without custom: (letters, digits, _ and -, at most 20 characters)."`
	Type      string `yaml:"type" enum:"string|number|boolean|datetime" doc:"Attribute type."`
	MinLength *int   `yaml:"min_length" doc:"string: shortest value."`
	MaxLength *int   `yaml:"max_length" doc:"string: longest value (at most 2048)."`
	Min       *int   `yaml:"min" doc:"number: smallest value."`
	Max       *int   `yaml:"max" doc:"number: largest value."`
	Mutable   *bool  `yaml:"mutable" doc:"Whether users and apps may change it after sign-up. Default: true."`
}

// Password is the pool's password policy.
type Password struct {
	MinLength                int  `yaml:"min_length" doc:"Minimum length, 8 to 99."`
	RequireUppercase         bool `yaml:"require_uppercase" doc:"Require an uppercase letter."`
	RequireLowercase         bool `yaml:"require_lowercase" doc:"Require a lowercase letter."`
	RequireDigits            bool `yaml:"require_digits" doc:"Require a digit."`
	RequireSymbols           bool `yaml:"require_symbols" doc:"Require a symbol."`
	TempPasswordValidityDays int  `yaml:"temp_password_validity_days" doc:"Days an invitation's temporary password stays valid, 1 to 365."`
}

// AuthEmail is the pool's email sender.
type AuthEmail struct {
	Sender      string `yaml:"sender" enum:"cognito|ses" doc:"cognito: Cognito's sender (50 emails a day). ses: a verified SES identity."`
	FromAddress string `yaml:"from_address" doc:"ses: the From address."`
	FromName    string `yaml:"from_name" doc:"ses: the From display name."`
	ReplyTo     string `yaml:"reply_to" doc:"ses: the Reply-To address."`
	SesIdentity string `yaml:"ses_identity" doc:"ses: the verified identity: a domain such as example.edu, or an identity ARN."`
}

// Group is a Cognito group.
type Group struct {
	Name        string `yaml:"name" doc:"Group name."`
	Description string `yaml:"description" doc:"What membership means."`
	Precedence  *int   `yaml:"precedence" doc:"Lower wins when a user is in several groups."`
}

// AuthClient is an app client for an application outside stratolab.
type AuthClient struct {
	Name           string   `yaml:"name" doc:"Client name."`
	CallbackURLs   []string `yaml:"callback_urls" doc:"Where users return after sign-in: https://, or http://localhost."`
	LogoutURLs     []string `yaml:"logout_urls" doc:"Where users go after sign-out."`
	GenerateSecret bool     `yaml:"generate_secret" doc:"A confidential (server-side) client with a secret."`
}

// TokenValidity is how long tokens last.
type TokenValidity struct {
	AccessMinutes int `yaml:"access_minutes" doc:"Access token lifetime, 5 to 1440 minutes."`
	IDMinutes     int `yaml:"id_minutes" doc:"ID token lifetime, 5 to 1440 minutes."`
	RefreshDays   int `yaml:"refresh_days" doc:"Refresh token lifetime, 1 to 3650 days."`
}

// AuthEnabled reports whether the instance has an Auth stack: enabled.auth, or a module that logs users
// in through it. Modules that need Auth add themselves here.
func (c *Config) AuthEnabled() bool {
	return c.Enabled.Auth || c.Enabled.Hub || (c.Enabled.Jobs && c.Jobs.Web.Login == "cognito")
}

// AuthDomainPrefix is the hosted UI prefix: auth.domain_prefix, or <instance>-<env.account>, unique by
// construction (prefixes are unique across all AWS accounts in a region, so an instance name alone is
// likely taken). Without env.account it holds AccountPlaceholder, which the stacks replace with the
// deploying account (AWS::AccountId).
func (c *Config) AuthDomainPrefix() string {
	if c.Auth.DomainPrefix != "" {
		return c.Auth.DomainPrefix
	}
	account := c.Env.Account
	if account == "" {
		account = AccountPlaceholder
	}
	return c.Name + "-" + account
}

// AccountPlaceholder stands for the deploying account in AuthDomainPrefix.
const AccountPlaceholder = "{account}"

// Jobs is Cloud Kotta: the stores in <instance>/JobsData, the queues, fleets and web server in <instance>/Jobs.
type Jobs struct {
	Classes                  []JobClass        `yaml:"classes" doc:"Job classes: one queue and one worker fleet each."`
	VisibilityTimeoutSeconds int               `yaml:"visibility_timeout_seconds" doc:"How long a received job stays hidden from other workers, 0 to 43200."`
	MaxReceiveCount          int               `yaml:"max_receive_count" doc:"Receives before a job moves to its dead-letter queue, 1 to 1000."`
	ScaleInAfterMinutes      int               `yaml:"scale_in_after_minutes" doc:"Minutes a worker waits without a job before it leaves its fleet, down to the fleet's minimum (a multiple of 5, 5 to 1440)."`
	Worker                   JobsWorker        `yaml:"worker" doc:"What each worker runs."`
	Web                      JobsWeb           `yaml:"web" doc:"The web server and its load balancer."`
	EventsTopic              bool              `yaml:"events_topic" doc:"An SNS topic for job events that the web server and workers may publish to."`
	Images                   JobsImages        `yaml:"images" doc:"The machine image of each kind of instance: an AMI ID pins it; latest follows AWS's SSM parameter, so the deploy after each new AMI replaces instances."`
	SqsEndpoint              string            `yaml:"sqs_endpoint" enum:"auto|create|none" doc:"Interface endpoints for private subnets (SQS; CloudWatch Logs and Auto Scaling for the agent; SNS with events_topic): auto creates them when the new VPC has no NAT gateway."`
	Lifecycle                LifecycleOverride `yaml:"lifecycle" doc:"Overrides the instance lifecycle for the jobs bucket and tables."`
}

// JobsImages are the AMIs of the jobs module's instances, by kind: Amazon Linux 2023 for each CPU
// architecture, and the Deep Learning Base OSS NVIDIA Driver GPU AMI (Amazon Linux 2023) for GPU classes.
type JobsImages struct {
	X86_64    string `yaml:"x86_64" doc:"Amazon Linux 2023 for x86_64 workers and web servers: an AMI ID, or latest."`
	Arm64     string `yaml:"arm64" doc:"Amazon Linux 2023 for Graviton (arm64) workers and web servers: an AMI ID, or latest."`
	GpuX86_64 string `yaml:"gpu_x86_64" doc:"The NVIDIA driver AMI for x86_64 GPU classes: an AMI ID, or latest."`
	GpuArm64  string `yaml:"gpu_arm64" doc:"The NVIDIA driver AMI for arm64 GPU classes (g5g): an AMI ID, or latest."`
}

// ImageLatest follows AWS's public SSM parameter for the image, resolved at every deploy.
const ImageLatest = "latest"

// Image returns the configured image of a kind ("x86_64", "arm64", "gpu_x86_64", "gpu_arm64").
func (i JobsImages) Image(kind string) string {
	switch kind {
	case "x86_64":
		return i.X86_64
	case "arm64":
		return i.Arm64
	case "gpu_x86_64":
		return i.GpuX86_64
	case "gpu_arm64":
		return i.GpuArm64
	}
	return ""
}

// ImageKind is the kind of image an instance type boots: its architecture, prefixed gpu_ for NVIDIA GPUs.
func ImageKind(instanceType string) string {
	if awsrules.NvidiaGPU(instanceType) {
		return "gpu_" + awsrules.EC2Arch(instanceType)
	}
	return awsrules.EC2Arch(instanceType)
}

// JobClass is one job class.
type JobClass struct {
	Name          string   `yaml:"name" doc:"Class name: lowercase letters, digits and dashes."`
	InstanceTypes []string `yaml:"instance_types" doc:"Worker instance types, one architecture; several give spot more pools."`
	Min           int      `yaml:"min" doc:"Fewest workers (0 costs nothing while idle)."`
	Max           int      `yaml:"max" doc:"Most workers."`
	Spot          bool     `yaml:"spot" doc:"Run workers on spot capacity."`
	RootVolumeGiB int      `yaml:"root_volume_gib" doc:"Encrypted gp3 root volume size, 8 to 16384 GiB."`
}

// JobsWorker is what a worker runs.
type JobsWorker struct {
	Command string `yaml:"command" doc:"Your own worker instead of stratolab-worker: a command run from the unpacked code tarball as a systemd service. Empty: the agent."`
	CodeKey string `yaml:"code_key" doc:"Key of the code tarball in the jobs bucket, under code/."`
}

// JobsWeb is the web server.
type JobsWeb struct {
	CertificateArn  string   `yaml:"certificate_arn" doc:"ACM certificate for the HTTPS listener, in the instance's account and region. Optional when host is a name in dns.zone_name: the stack then creates one."`
	Command         string   `yaml:"command" doc:"Command that starts the web app, run from the unpacked code tarball as a systemd service."`
	InstanceType    string   `yaml:"instance_type" doc:"Web server instance type."`
	Min             int      `yaml:"min" doc:"Fewest web servers."`
	Max             int      `yaml:"max" doc:"Most web servers."`
	Port            int      `yaml:"port" doc:"Port the web app listens on."`
	HealthCheckPath string   `yaml:"health_check_path" doc:"Path the load balancer checks."`
	AllowedCidrs    []string `yaml:"allowed_cidrs" doc:"Who may reach the load balancer on 80 and 443."`
	Login           string   `yaml:"login" enum:"cognito|none" doc:"cognito: users log in through the instance's Cognito pool at the load balancer. none: the web app authenticates users itself."`
	Host            string   `yaml:"host" doc:"The web server's URL, https://jobs.example.edu (required with login: cognito, or without certificate_arn). A name in dns.zone_name gets a certificate and an alias record."`
}

// Lookup is the QA Authority Lookup service: <instance>/LookupData (EFS, buckets, secrets) and
// <instance>/Lookup (ECS cluster, app and database services, load balancer, DataSync).
type Lookup struct {
	Capacity         string             `yaml:"capacity" enum:"ec2|fargate" doc:"ec2: ECS on an autoscaling group of ECS-optimized AL2023 hosts (the QA deployment's). fargate: no hosts to manage."`
	InstanceType     string             `yaml:"instance_type" doc:"ec2: host instance type."`
	MinInstances     int                `yaml:"min_instances" doc:"ec2: fewest hosts."`
	MaxInstances     int                `yaml:"max_instances" doc:"ec2: most hosts."`
	App              LookupApp          `yaml:"app" doc:"The web app."`
	Database         LookupDatabase     `yaml:"database" doc:"The MariaDB database, one task on EFS."`
	Efs              LookupEfs          `yaml:"efs" doc:"The file system and its access points."`
	LoadBalancer     LookupLoadBalancer `yaml:"load_balancer" doc:"The HTTPS load balancer."`
	Sync             LookupSync         `yaml:"sync" doc:"DataSync of authority files from S3."`
	LogRetentionDays int                `yaml:"log_retention_days" doc:"Days to keep container and sync logs (a CloudWatch retention value)."`
	Lifecycle        LifecycleOverride  `yaml:"lifecycle" doc:"Overrides the instance lifecycle for the file system, buckets and secrets."`
}

// LookupApp is the web app's container and service.
type LookupApp struct {
	Image                      string `yaml:"image" doc:"Container image, with a version tag or a digest (not latest)."`
	Cpu                        int    `yaml:"cpu" doc:"Task CPU units (1024 = 1 vCPU)."`
	MemoryMiB                  int    `yaml:"memory_mib" doc:"Task memory in MiB."`
	DesiredCount               int    `yaml:"desired_count" doc:"Tasks to run (the scaling minimum)."`
	MaxCount                   int    `yaml:"max_count" doc:"Most tasks CPU scaling may run."`
	CpuTargetPercent           int    `yaml:"cpu_target_percent" doc:"Average CPU the service scales to hold, 10 to 90."`
	AuthoritiesPath            string `yaml:"authorities_path" doc:"Where the authorities access point is mounted (read-only)."`
	HealthCheckPath            string `yaml:"health_check_path" doc:"Target group health check path."`
	DeregistrationDelaySeconds int    `yaml:"deregistration_delay_seconds" doc:"How long the load balancer drains a stopping task, 0 to 3600."`
	RailsEnv                   string `yaml:"rails_env" enum:"production|staging|integration" doc:"RAILS_ENV: an environment of the image whose database.yml and secrets.yml read the environment."`
	Cors                       bool   `yaml:"cors" doc:"ENABLE_CORS_HEADERS: CORS headers on search and show, for browser clients on other sites."`
}

// LookupDatabase is the database's container and service.
type LookupDatabase struct {
	Image        string `yaml:"image" doc:"Container image, with a version tag or a digest (not latest)."`
	Cpu          int    `yaml:"cpu" doc:"Task CPU units."`
	MemoryMiB    int    `yaml:"memory_mib" doc:"Task memory in MiB."`
	DesiredCount int    `yaml:"desired_count" doc:"Always 1: one MariaDB per data directory."`
	Name         string `yaml:"name" doc:"MYSQL_DATABASE_NAME_PREFIX: the app's database in production, <name>_<rails_env> otherwise."`
	User         string `yaml:"user" doc:"MYSQL_USER: the app's database user."`
}

// LookupEfs is the file system and its access points.
type LookupEfs struct {
	InfrequentAccessAfterDays int               `yaml:"infrequent_access_after_days" doc:"Days after which unread files move to Infrequent Access: 1, 7, 14, 30, 60, 90, 180, 270 or 365."`
	AllowRootPosixUser        bool              `yaml:"allow_root_posix_user" doc:"Permit uid or gid 0 on an access point."`
	Authorities               LookupAccessPoint `yaml:"authorities" doc:"The authorities access point."`
	Database                  LookupAccessPoint `yaml:"database" doc:"The database access point."`
}

// LookupAccessPoint is an EFS access point.
type LookupAccessPoint struct {
	Path        string `yaml:"path" doc:"Root directory in the file system."`
	Uid         int    `yaml:"uid" doc:"POSIX user every client acts as."`
	Gid         int    `yaml:"gid" doc:"POSIX group every client acts as."`
	Permissions string `yaml:"permissions" doc:"Octal permissions of the root directory when created, such as 0755."`
}

// LookupLoadBalancer is the HTTPS load balancer.
type LookupLoadBalancer struct {
	Internal       bool     `yaml:"internal" doc:"An internal load balancer in the private subnets, instead of an internet-facing one."`
	Host           string   `yaml:"host" doc:"The service's URL, https://lookup.example.edu. A name in dns.zone_name gets a certificate and an alias record. Default: the load balancer's own name (with certificate_arn)."`
	CertificateArn string   `yaml:"certificate_arn" doc:"ACM certificate of the service's host name, in the instance's account and region. Optional when host is a name in dns.zone_name: the stack then creates one."`
	AllowedCidrs   []string `yaml:"allowed_cidrs" doc:"Who may reach the load balancer on 80 and 443."`
}

// LookupSync copies authority files from S3 to EFS with DataSync.
type LookupSync struct {
	Enabled      bool   `yaml:"enabled" doc:"Run the DataSync task: required, as the image ships no authorities."`
	SourceBucket string `yaml:"source_bucket" doc:"Bucket holding the authority files."`
	SourcePrefix string `yaml:"source_prefix" doc:"Prefix of the files in the bucket."`
	Schedule     string `yaml:"schedule" doc:"cron(...) or rate(...) schedule expression."`
}

// Hub is OpenSARlab's and HelioCloud's JupyterHub on EKS: <instance>/Hub.
type Hub struct {
	KubernetesVersion string            `yaml:"kubernetes_version" doc:"EKS Kubernetes version: 1.34, 1.35 or 1.36 (what the pinned kubectl 1.35 drives)."`
	Host              string            `yaml:"host" doc:"The hub's URL, https://hub.example.edu."`
	CertificateArn    string            `yaml:"certificate_arn" doc:"ACM certificate of the host, in the instance's account and region. Optional when host is a name in dns.zone_name: the stack then creates one, and ExternalDNS the record."`
	AllowedCidrs      []string          `yaml:"allowed_cidrs" doc:"Who may reach the hub's load balancer."`
	AdminUsers        []string          `yaml:"admin_users" doc:"Hub admins, by Cognito email."`
	AdminGroup        string            `yaml:"admin_group" doc:"Cognito group whose members are hub admins."`
	Endpoint          HubEndpoint       `yaml:"endpoint" doc:"The Kubernetes API endpoint."`
	AdminPrincipals   []string          `yaml:"admin_principals" doc:"IAM principals (ARNs) that may assume <instance>-cluster-access, the cluster-admin role."`
	Core              HubCore           `yaml:"core" doc:"The core node group: hub, proxy and system pods."`
	Nodes             []HubNodeGroup    `yaml:"nodes" doc:"User node groups, one managed node group each."`
	Profiles          []HubProfile      `yaml:"profiles" doc:"Server options users choose from."`
	HomeStorage       string            `yaml:"home_storage" enum:"efs|ebs" doc:"Home directories on the shared encrypted EFS file system, or one EBS volume per user."`
	HomeGiB           int               `yaml:"home_gib" doc:"Size of each user's EBS home volume in GiB, 1 to 16384 (EFS homes grow as they fill)."`
	StartTimeout      int               `yaml:"start_timeout_seconds" doc:"How long a user's server may take to start, 60 to 3600 seconds."`
	SnapshotRetention int               `yaml:"snapshot_retention" doc:"Daily snapshots of user volumes to keep, 1 to 1000."`
	Ecr               HubEcr            `yaml:"ecr" doc:"The ECR repositories of profile images."`
	Charts            HubCharts         `yaml:"charts" doc:"Pinned Helm chart versions."`
	Dask              bool              `yaml:"dask" doc:"Dask Gateway, wired to JupyterHub for auth (HelioCloud's DaskHub)."`
	Lifecycle         LifecycleOverride `yaml:"lifecycle" doc:"Overrides the instance lifecycle for the home file system, ECR repositories and keys."`
}

// HubEndpoint is the Kubernetes API endpoint.
type HubEndpoint struct {
	Private      bool     `yaml:"private" doc:"Private endpoint only: kubectl works from inside the VPC."`
	AllowedCidrs []string `yaml:"allowed_cidrs" doc:"Who may reach the public endpoint."`
}

// HubCore is the core node group.
type HubCore struct {
	InstanceTypes []string `yaml:"instance_types" doc:"Core node instance types."`
	Min           int      `yaml:"min" doc:"Fewest core nodes."`
	Max           int      `yaml:"max" doc:"Most core nodes."`
}

// HubNodeGroup is a user node group (OpenSARlab's nodes[]).
type HubNodeGroup struct {
	Name          string   `yaml:"name" doc:"Name that profiles select: lowercase letters, digits and dashes."`
	InstanceTypes []string `yaml:"instance_types" doc:"Instance types, one CPU architecture."`
	Min           int      `yaml:"min" doc:"Fewest nodes (0 costs nothing while unused)."`
	Max           int      `yaml:"max" doc:"Most nodes."`
	Spot          bool     `yaml:"spot" doc:"Spot capacity."`
	RootVolumeGiB int      `yaml:"root_volume_gib" doc:"Encrypted gp3 root volume size, 20 to 16384 GiB."`
	GPU           bool     `yaml:"gpu" doc:"NVIDIA AMI and a nvidia.com/gpu=true:NoSchedule taint."`
}

// HubProfile is a server option (OpenSARlab's profiles[]).
type HubProfile struct {
	Name        string      `yaml:"name" doc:"Slug: lowercase letters, digits and dashes."`
	DisplayName string      `yaml:"display_name" doc:"Name shown to users."`
	Description string      `yaml:"description" doc:"Description shown to users."`
	Image       string      `yaml:"image" doc:"Image name in the instance's ECR namespace (<instance>-cluster/<image>)."`
	Tag         string      `yaml:"tag" doc:"Image tag."`
	CPU         HubResource `yaml:"cpu" doc:"CPU cores: guarantee and limit."`
	Memory      HubResource `yaml:"memory" doc:"Memory, as KubeSpawner takes it (4G, not 4Gi): guarantee and limit."`
	Node        string      `yaml:"node" doc:"Name of the node group the profile runs on."`
	StorageGiB  int         `yaml:"storage_gib" doc:"Not supported: a user has one home whichever profile they start; set hub.home_gib."`
	Default     bool        `yaml:"default" doc:"The profile offered first."`
	Groups      []string    `yaml:"groups" doc:"Cognito groups that may use it; empty: everyone."`
}

// HubResource is a guarantee and a limit.
type HubResource struct {
	Guarantee string `yaml:"guarantee" doc:"What the pod is guaranteed."`
	Limit     string `yaml:"limit" doc:"What the pod may use at most."`
}

// HubEcr is the profile images' repositories.
type HubEcr struct {
	TagMutability string `yaml:"tag_mutability" enum:"MUTABLE|IMMUTABLE" doc:"Whether a tag can be pushed again; empty: IMMUTABLE in production, MUTABLE in development."`
	KeepImages    int    `yaml:"keep_images" doc:"Images each repository keeps, 1 to 1000."`
}

// HubCharts are pinned chart versions.
type HubCharts struct {
	JupyterHub        string `yaml:"jupyterhub" doc:"jupyterhub chart from https://hub.jupyter.org/helm-chart/."`
	DaskGateway       string `yaml:"dask_gateway" doc:"dask-gateway chart from https://helm.dask.org."`
	ClusterAutoscaler string `yaml:"cluster_autoscaler" doc:"cluster-autoscaler chart from https://kubernetes.github.io/autoscaler; empty: the one for kubernetes_version."`
	DevicePlugin      string `yaml:"nvidia_device_plugin" doc:"nvidia-device-plugin chart from https://nvidia.github.io/k8s-device-plugin, installed when a node group has gpu."`
	ExternalDNS       string `yaml:"external_dns" doc:"external-dns chart from https://kubernetes-sigs.github.io/external-dns/, installed when hub.host is a name in dns.zone_name."`
}

// Registry is HelioCloud's data registry: <instance>/Registry.
type Registry struct {
	Buckets           []RegistryBucket  `yaml:"buckets" doc:"Dataset buckets, each with an access mode."`
	UploadBucketName  string            `yaml:"upload_bucket_name" doc:"The upload bucket's name. Default: assigned by CloudFormation."`
	UploadExpiryDays  int               `yaml:"upload_expiry_days" doc:"Days after which a job's uploads and report expire from the upload bucket, 1 to 3650."`
	AllowRetraction   bool              `yaml:"allow_retraction" doc:"Let jobs remove files and datasets with drop.json (the workflow may then delete from dataset buckets)."`
	Marker            string            `yaml:"marker" doc:"The object whose upload into <job>/ starts the job."`
	NotificationTopic string            `yaml:"notification_topic_arn" doc:"An SNS topic ARN that also hears of every job's end. Default: none (the EventBridge event only)."`
	CopyBatchSize     int               `yaml:"copy_batch_size" doc:"The most server-side copies per Distributed Map batch, 1 to 1000 (a batch also copies at most 32 GiB; a file over 1 GiB is copied in parts)."`
	CopyConcurrency   int               `yaml:"copy_concurrency" doc:"Copy batches at once, 1 to 10000."`
	JobTimeoutHours   int               `yaml:"job_timeout_hours" doc:"The longest a job may run, 1 to 8760 hours."`
	Lifecycle         LifecycleOverride `yaml:"lifecycle" doc:"Overrides the instance lifecycle for the dataset buckets, the upload bucket and the records table."`
}

// RegistryBucket is one dataset bucket.
type RegistryBucket struct {
	Name        string   `yaml:"name" doc:"The bucket's name: S3's rules (3-63 lowercase letters, digits and dashes), globally unique, no s3://."`
	Access      string   `yaml:"access" enum:"public|requester-pays|private" doc:"public: anonymous reads (open data). requester-pays: readers pay (unsigned CloudCatalog clients cannot read it). private: readable by readers only."`
	CatalogName string   `yaml:"catalog_name" doc:"catalog.json name: required for a public bucket."`
	Contact     string   `yaml:"contact" doc:"catalog.json contact (a name and an email): required for a public bucket."`
	Description string   `yaml:"description" doc:"catalog.json description."`
	Readers     []string `yaml:"readers" doc:"private: IAM role or user ARNs, or 12-digit account IDs, that may read."`
	CorsOrigins []string `yaml:"cors_origins" doc:"public: origins browsers may read from. Default: every origin."`
}

// Control is Cloud Control: <instance>/Control.
type Control struct {
	Environments      map[string]ControlEnvironment `yaml:"environments" doc:"Environments by name: stages started top to bottom and stopped bottom to top."`
	NotificationTopic string                        `yaml:"notification_topic_arn" doc:"An SNS topic ARN that hears of every run's end (the EventBridge events are always put)."`
	Page              ControlPage                   `yaml:"page" doc:"The control page: testers log in through the instance's Cognito pool, start, stop and watch."`
	Lifecycle         LifecycleOverride             `yaml:"lifecycle" doc:"Overrides the instance lifecycle for the run table."`
}

// ControlPage is the control page (API Gateway HTTP API and a Go Lambda, nothing running while idle).
type ControlPage struct {
	Enabled        *bool  `yaml:"enabled" doc:"Serve the page. Needs enabled.auth (the page's users are the pool's). Default: true with enabled.auth, else false."`
	WatchAll       bool   `yaml:"watch_all" doc:"Every logged-in user of the pool may watch every environment (without buttons). Default: false: only members of control-<env> see <env>."`
	Host           string `yaml:"host" doc:"The page's URL, https://control.example.edu: an API Gateway custom domain (regional, TLS 1.2) in front of the page. A name in dns.zone_name gets a certificate and an alias record. Default: the API's execute-api address."`
	CertificateArn string `yaml:"certificate_arn" doc:"The ACM certificate of control.page.host, in the instance's account and region (optional with dns). Without dns, point a CNAME of the host at the Control stack's output PageDomainTarget."`
}

// ControlPageEnabled reports whether the Control stack serves the page.
func (c *Config) ControlPageEnabled() bool {
	if c.Control.Page.Enabled != nil {
		return *c.Control.Page.Enabled
	}
	return c.Enabled.Auth
}

// ControlEnvironment is one environment.
type ControlEnvironment struct {
	Stages     []ControlStage   `yaml:"stages" doc:"The stages in start order (stop runs them in reverse)."`
	Schedule   *ControlSchedule `yaml:"schedule" doc:"Start and stop on a schedule (EventBridge Scheduler, in an IANA time zone)."`
	KmsKeyArns []string         `yaml:"kms_key_arns" doc:"KMS keys of the instances' encrypted EBS volumes: starting them needs kms:CreateGrant on each."`
}

// ControlStage is one stage: its targets and its readiness gate.
type ControlStage struct {
	Name              string     `yaml:"name" doc:"The stage's name: lowercase letters, digits and dashes, unique in the environment."`
	EC2               ControlEC2 `yaml:"ec2" doc:"EC2 instances, by ID or by tags (only existing, non-terminated instances)."`
	AutoScalingGroups []string   `yaml:"autoscaling_groups" doc:"Auto Scaling group names: stop saves their sizes and sets 0, start restores them."`
	ECSServices       []string   `yaml:"ecs_services" doc:"ECS services as cluster/service: stop saves the desired count and sets 0, start restores it."`
	Modules           []string   `yaml:"modules" enum:"lookup|jobs|hub" doc:"This instance's own modules, each in its own order (lookup: hosts, database, then app; jobs: the web fleet; hub: the core node group, then the user node groups). The module must be enabled."`
	Wait              string     `yaml:"wait" enum:"running|status_checks|target_group" doc:"The readiness gate: running, status_checks (EC2 instance and system checks ok) or target_group (every target healthy). Default: running."`
	TargetGroupArns   []string   `yaml:"target_group_arns" doc:"wait: target_group: the target groups whose targets must all be healthy."`
	TimeoutMinutes    int        `yaml:"timeout_minutes" doc:"How long the stage may take to pass its gate, 1 to 180 minutes. Default: 15."`
	SettleSeconds     int        `yaml:"settle_seconds" doc:"A pause after the stage is ready, before the next one starts, 0 to 3600 seconds. Default: 0."`
}

// ControlEC2 selects instances.
type ControlEC2 struct {
	IDs  []string            `yaml:"ids" doc:"Instance IDs (i-0123456789abcdef0)."`
	Tags map[string][]string `yaml:"tags" doc:"Tag key -> allowed values; an instance must match every key."`
}

// ControlSchedule is an environment's schedule.
type ControlSchedule struct {
	Timezone  string   `yaml:"timezone" doc:"IANA time zone, such as Europe/Berlin (required)."`
	Start     string   `yaml:"start" doc:"Local start time HH:MM, or empty for a stop-only schedule."`
	Stop      string   `yaml:"stop" doc:"Local stop time HH:MM, or empty for a start-only schedule."`
	Days      []string `yaml:"days" doc:"Days of the start: mon..sun, or ranges such as mon-fri. Default: every day."`
	Overnight bool     `yaml:"overnight" doc:"The stop is earlier than the start and runs the morning after each start day."`
	SkipDates []string `yaml:"skip_dates" doc:"Local dates (YYYY-MM-DD), such as holidays, on which the scheduled start does nothing."`
}
