package jobrunner

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3assets"
	"github.com/aws/jsii-runtime-go"
	"github.com/stratolab/stratolab/internal/awsrules"
	"github.com/stratolab/stratolab/internal/lambdaasset"
)

// AgentPackage is the Go package of the worker agent.
const AgentPackage = "github.com/stratolab/stratolab/cmd/stratolab-worker"

// AgentPath is where the launch template installs the agent, and AgentUnit its systemd unit.
const (
	AgentPath    = "/usr/local/bin/stratolab-worker"
	AgentUnit    = "stratolab-worker.service"
	AgentEnvFile = "/etc/stratolab-worker.env"
	// JobUser is the unprivileged user jobs run as.
	JobUser = "stratolab-job"
)

// BuildAgent builds the worker agent for linux/goarch ("amd64" or "arm64"), offline and reproducibly
// (see lambdaasset), and returns the path of the binary. It panics when the build fails.
func BuildAgent(goarch string) string {
	dir, err := lambdaasset.Build(AgentPackage, goarch)
	if err != nil {
		panic(fmt.Sprintf("jobrunner: cannot build the worker agent: %v", err))
	}
	return dir + "/bootstrap"
}

// goarch is the Go architecture of an instance type.
func goarch(instanceType string) string {
	if awsrules.EC2Arch(instanceType) == "arm64" {
		return "arm64"
	}
	return "amd64"
}

// agentAsset is the agent binary for one architecture, once per construct.
func (r *JobRunner) agentAsset(arch string) awss3assets.Asset {
	if a, ok := r.agents[arch]; ok {
		return a
	}
	a := awss3assets.NewAsset(r.Construct, jsii.String("WorkerAgent"+strings.ToUpper(arch[:1])+arch[1:]), &awss3assets.AssetProps{
		Path: jsii.String(r.props.AgentBinary(arch)),
	})
	r.agents[arch] = a
	return a
}

// agentStatements are what the agent calls beyond the store's grants (jobs table, bucket prefixes), its
// queue and the events topic (added by the caller): its log streams, finding its fleet and its own binary;
// and, in fleet, scale-in protection and leaving its own fleet (after a rebalance notice or when idle).
func (r *JobRunner) agentStatements() (boot []awsiam.PolicyStatement, fleet awsiam.PolicyStatement) {
	stack := awscdk.Stack_Of(r.Construct)
	var fleets []*string
	for _, name := range slices.Sorted(maps.Keys(r.Fleets)) {
		fleets = append(fleets, stack.FormatArn(&awscdk.ArnComponents{
			Service: jsii.String("autoscaling"), Resource: jsii.String("autoScalingGroup"),
			ResourceName: jsii.String("*:autoScalingGroupName/" + *r.Fleets[name].AutoScalingGroupName()),
			ArnFormat:    awscdk.ArnFormat_COLON_RESOURCE_NAME,
		}))
	}
	boot = []awsiam.PolicyStatement{
		awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid: jsii.String("WriteJobLogs"), Actions: jsii.Strings(AgentLogActions...),
			Resources: &[]*string{r.JobLogs.LogGroupArn()},
		}),
		// DescribeAutoScalingInstances supports no resource-level permissions (Service Authorization
		// Reference, Amazon EC2 Auto Scaling): the agent finds its group's name with it.
		awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid: jsii.String("FindOwnFleet"), Actions: jsii.Strings("autoscaling:DescribeAutoScalingInstances"), Resources: jsii.Strings("*"),
		}),
	}
	fleet = awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid: jsii.String("ProtectOrLeaveOwnFleet"), Actions: jsii.Strings(AgentFleetActions...), Resources: &fleets,
	})
	for _, arch := range slices.Sorted(maps.Keys(r.agents)) {
		a := r.agents[arch]
		boot = append(boot, awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid: jsii.String("InstallAgent" + strings.ToUpper(arch[:1]) + arch[1:]), Actions: jsii.Strings("s3:GetObject"),
			Resources: &[]*string{a.Bucket().ArnForObjects(a.S3ObjectKey())},
		}))
	}
	return boot, fleet
}

// The agent's calls beyond its queue, the table and the bucket.
var (
	AgentLogActions   = []string{"logs:CreateLogStream", "logs:PutLogEvents"}
	AgentFleetActions = []string{"autoscaling:SetInstanceProtection", "autoscaling:TerminateInstanceInAutoScalingGroup"}
)

// agentUserData installs the agent from its asset and starts it under systemd. Every download is
// retried; if the agent cannot be installed or started, the instance powers off, so that Auto Scaling
// (EC2 health checks) replaces it instead of counting a worker that takes no jobs.
func agentUserData(asset awss3assets.Asset, env map[string]*string) awsec2.UserData {
	ud := awsec2.UserData_ForLinux(nil)
	commands := []string{
		"set -uo pipefail",
		`fail() { echo "stratolab-worker setup failed: $*" | tee /dev/console >&2; logger -t stratolab-worker "setup failed: $*"; shutdown -h now; exit 1; }`,
		`retry() { local i; for i in 1 2 3 4 5 6 7 8 9 10; do "$@" && return 0; sleep $((i * 3)); done; return 1; }`,
		"id -u " + JobUser + " >/dev/null 2>&1 || useradd --system --create-home --home-dir /var/lib/" + JobUser + " --shell /sbin/nologin " + JobUser + " || fail 'cannot create the job user'",
		"retry aws s3 cp 's3://" + *asset.S3BucketName() + "/" + *asset.S3ObjectKey() + "' " + AgentPath + ".download || fail 'cannot download the worker agent'",
		"install -m 0755 -o root -g root " + AgentPath + ".download " + AgentPath + " && rm -f " + AgentPath + ".download || fail 'cannot install the worker agent'",
		"cat > " + AgentEnvFile + " <<'ENV'\n" + envFile(env) + "ENV",
		"chmod 0644 " + AgentEnvFile,
		"cat > /etc/systemd/system/" + AgentUnit + " <<'UNIT'\n" +
			"[Unit]\nDescription=stratolab job worker agent\nAfter=network-online.target\nWants=network-online.target\n\n" +
			"[Service]\nEnvironmentFile=" + AgentEnvFile + "\nExecStart=" + AgentPath + "\n" +
			// SIGTERM (shutdown, scale-in, a spot interruption) makes the agent return its job to the queue.
			"KillSignal=SIGTERM\nTimeoutStopSec=90\nRestart=on-failure\nRestartSec=10\n\n[Install]\nWantedBy=multi-user.target\nUNIT",
		"systemctl daemon-reload || fail 'systemctl daemon-reload'",
		"systemctl enable --now " + AgentUnit + " || fail 'cannot start the worker agent'",
		"sleep 5; systemctl is-active --quiet " + AgentUnit + " || fail 'the worker agent stopped: journalctl -u " + AgentUnit + "'",
	}
	ud.AddCommands(*jsii.Strings(commands...)...)
	return ud
}

func envFile(env map[string]*string) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(env)) {
		b.WriteString(k + "=" + *env[k] + "\n")
	}
	return b.String()
}
