package test

import (
	"debug/elf"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
	"github.com/stratolab/stratolab/constructs/jobrunner"
	"github.com/stratolab/stratolab/constructs/jobstore"
	"github.com/stratolab/stratolab/constructs/lifecycle"
	"github.com/stratolab/stratolab/constructs/network"
	"github.com/stratolab/stratolab/internal/fleetdrain"
	"github.com/stratolab/stratolab/internal/jobagent"
	jobspec "github.com/stratolab/stratolab/internal/jobs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// render turns a CloudFormation value into text, tokens as <Ref:...>, <GetAtt:...>, Fn::Sub text as is.
func render(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case map[string]any:
		if j, ok := x["Fn::Join"].([]any); ok {
			var parts []string
			for _, p := range j[1].([]any) {
				parts = append(parts, render(p))
			}
			return strings.Join(parts, j[0].(string))
		}
		if b, ok := x["Fn::Base64"]; ok {
			return render(b)
		}
		if s, ok := x["Fn::Sub"].(string); ok {
			return s
		}
		if r, ok := x["Ref"].(string); ok {
			return "<Ref:" + r + ">"
		}
		if g, ok := x["Fn::GetAtt"].([]any); ok {
			return fmt.Sprintf("<GetAtt:%v.%v>", g[0], g[1])
		}
		raw, _ := json.Marshal(x)
		return "<" + string(raw) + ">"
	}
	return fmt.Sprint(v)
}

// workerTemplate is what a worker launch template says: its user data and the SSM parameter of its AMI.
type workerTemplate struct {
	logicalID, userData, imageParam, imageID string
}

func workerTemplates(t *testing.T, tpl map[string]any) []workerTemplate {
	var out []workerTemplate
	params, _ := tpl["Parameters"].(map[string]any)
	for id, r := range tpl["Resources"].(map[string]any) {
		res := r.(map[string]any)
		if res["Type"] != "AWS::EC2::LaunchTemplate" || !strings.Contains(id, "Workers") {
			continue
		}
		data := res["Properties"].(map[string]any)["LaunchTemplateData"].(map[string]any)
		w := workerTemplate{logicalID: id, userData: render(data["UserData"])}
		if id, ok := data["ImageId"].(string); ok { // pinned (jobs.images)
			w.imageID = id
		} else if ref, ok := data["ImageId"].(map[string]any)["Ref"].(string); ok {
			w.imageParam, _ = params[ref].(map[string]any)["Default"].(string)
		}
		out = append(out, w)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].logicalID < out[j].logicalID })
	return out
}

// assetFiles maps each file asset's object key to its file in the cloud assembly (the *.assets.json manifests).
func assetFiles(t *testing.T, dir string) map[string]string {
	files := map[string]string{}
	manifests, _ := filepath.Glob(filepath.Join(dir, "*.assets.json"))
	for _, m := range manifests {
		var doc struct {
			Files map[string]struct {
				Source struct {
					Path      string `json:"path"`
					Packaging string `json:"packaging"`
				} `json:"source"`
				Destinations map[string]struct {
					ObjectKey string `json:"objectKey"`
				} `json:"destinations"`
			} `json:"files"`
		}
		raw, err := os.ReadFile(m)
		require.NoError(t, err)
		require.NoError(t, json.Unmarshal(raw, &doc))
		for _, f := range doc.Files {
			for _, d := range f.Destinations {
				if f.Source.Packaging == "file" {
					files[d.ObjectKey] = filepath.Join(dir, f.Source.Path)
				}
			}
		}
	}
	return files
}

var (
	agentDownloadRe = regexp.MustCompile(`retry aws s3 cp 's3://(cdk-[a-z0-9]+-assets-[^/']+)/([0-9a-f]{64}(?:\.[0-9a-f]{64})?)' /usr/local/bin/stratolab-worker.download`)
	envFileRe       = regexp.MustCompile(`(?s)cat > /etc/stratolab-worker.env <<'ENV'\n(.*?)ENV\n`)
	unitRe          = regexp.MustCompile(`(?s)cat > /etc/systemd/system/stratolab-worker.service <<'UNIT'\n(.*?)UNIT\n`)
	getenvRe        = regexp.MustCompile(`(?:os\.Getenv|os\.LookupEnv|env)\("([A-Z_]+)"`)
)

// checkAgentUserData checks one worker launch template against what its consumers need:
//   - cloud-init runs user data as a shell script (#!/bin/bash from CDK's UserData.forLinux): bash must parse it;
//   - the agent binary it downloads is a static Linux ELF for the AMI's architecture (the AL2023 and Deep
//     Learning Base AMIs' SSM parameter names say x86_64 or arm64; a static binary needs nothing from the AMI);
//   - systemd starts it at boot: a unit with ExecStart at the installed path, WantedBy=multi-user.target,
//     enabled and started (systemd.unit, systemd.service);
//   - its environment file sets exactly the variables cmd/stratolab-worker reads, and the required ones.
func checkAgentUserData(t *testing.T, w workerTemplate, assets map[string]string) {
	t.Helper()
	ud := w.userData
	require.True(t, strings.HasPrefix(ud, "#!/bin/bash\n"), "%s: user data is a bash script", w.logicalID)
	bash := exec.Command("bash", "-n")
	bash.Stdin = strings.NewReader(regexp.MustCompile(`<[^>\n]*>`).ReplaceAllString(ud, "TOKEN"))
	out, err := bash.CombinedOutput()
	require.NoError(t, err, "%s: bash -n: %s", w.logicalID, out)

	m := agentDownloadRe.FindStringSubmatch(ud)
	require.NotNil(t, m, "%s downloads the agent from its asset:\n%s", w.logicalID, ud)
	file, ok := assets[m[2]]
	require.True(t, ok, "%s: the downloaded key %s is a file asset of the assembly", w.logicalID, m[2])
	bin, err := elf.Open(file)
	require.NoError(t, err, "the agent asset is an ELF binary")
	defer bin.Close()
	want := elf.EM_X86_64
	switch {
	case strings.Contains(w.imageParam, "arm64"):
		want = elf.EM_AARCH64
	case w.imageParam != "":
		require.Contains(t, w.imageParam, "x86_64", "%s: the AMI parameter names its architecture", w.logicalID)
	default: // a pinned AMI: the example's classes are x86_64 (jobs.images.x86_64)
		require.Regexp(t, `^ami-[0-9a-f]{17}$`, w.imageID, "%s: an AMI parameter or a pinned AMI", w.logicalID)
	}
	assert.Equal(t, want, bin.Machine, "%s: the agent is built for the AMI %s", w.logicalID, w.imageParam)
	for _, p := range bin.Progs {
		assert.NotEqual(t, elf.PT_INTERP, p.Type, "the agent is static: it needs no loader or libc from the AMI")
	}
	assert.Contains(t, ud, "install -m 0755 -o root -g root /usr/local/bin/stratolab-worker.download "+jobrunner.AgentPath)

	unit := unitRe.FindStringSubmatch(ud)
	require.NotNil(t, unit, "%s writes the agent's unit", w.logicalID)
	for _, line := range []string{"ExecStart=" + jobrunner.AgentPath, "EnvironmentFile=" + jobrunner.AgentEnvFile, "WantedBy=multi-user.target", "KillSignal=SIGTERM", "Restart=on-failure"} {
		assert.Contains(t, strings.Split(unit[1], "\n"), line, "%s unit", w.logicalID)
	}
	assert.NotContains(t, unit[1], "User=", "the agent runs as root, to run each job as "+jobrunner.JobUser)
	assert.Contains(t, ud, "useradd --system --create-home --home-dir /var/lib/"+jobrunner.JobUser+" --shell /sbin/nologin "+jobrunner.JobUser)
	assert.Contains(t, ud, "systemctl enable --now "+jobrunner.AgentUnit+" || fail")
	assert.Contains(t, ud, "|| fail 'cannot download the worker agent'", "a failed download powers the instance off (F7)")
	assert.Contains(t, ud, "shutdown -h now")

	env := envFileRe.FindStringSubmatch(ud)
	require.NotNil(t, env, "%s writes the agent's environment", w.logicalID)
	src, err := os.ReadFile("../cmd/stratolab-worker/main.go")
	require.NoError(t, err)
	reads := map[string]bool{}
	for _, g := range getenvRe.FindAllStringSubmatch(string(src), -1) {
		reads[g[1]] = true
	}
	set := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(env[1]), "\n") {
		k, v, ok := strings.Cut(line, "=")
		require.True(t, ok && v != "", "%s: env line %q", w.logicalID, line)
		set[k] = true
		if k != "USERS_TABLE" && k != "AWS_REGION" { // for jobs that want them; AWS_REGION the SDK reads itself
			assert.True(t, reads[k], "%s sets %s, which cmd/stratolab-worker does not read", w.logicalID, k)
		}
	}
	for _, k := range []string{"JOB_CLASS", "JOB_QUEUE_URL", "JOBS_BUCKET", "JOBS_TABLE", "JOB_LOG_GROUP", "JOB_IDLE_EXIT_SECONDS", "JOB_MAX_RECEIVE_COUNT"} {
		assert.True(t, set[k], "%s sets %s", w.logicalID, k)
	}
	// Jobs run in the agent's systemd sandbox, away from the instance metadata service (internal/jobagent.Sandbox).
	assert.False(t, set["JOB_SANDBOX"], "%s must not turn the job sandbox off", w.logicalID)
	assert.False(t, set["JOB_RUN_AS"], "%s: jobs run as %s", w.logicalID, jobrunner.JobUser)
}

// F17: the example's web command runs on AL2023 as it is and listens where the target group sends traffic
// and health checks. systemd turns $$ into $ in ExecStart (systemd.service, "Command lines"), so bash
// gets "$WEB_PORT" and expands it from the EnvironmentFile; python3 -m http.server PORT serves the working
// directory, and / answers 200.
func TestJobsExampleWebCommandListensOnWebPort(t *testing.T) {
	tpl := synth(t, "example").templates["Jobs"]
	var ud string
	for id, r := range tpl["Resources"].(map[string]any) {
		res := r.(map[string]any)
		if res["Type"] == "AWS::EC2::LaunchTemplate" && strings.Contains(id, "WebLaunchTemplate") {
			ud = render(res["Properties"].(map[string]any)["LaunchTemplateData"].(map[string]any)["UserData"])
		}
	}
	require.NotEmpty(t, ud)
	bash := exec.Command("bash", "-n")
	bash.Stdin = strings.NewReader(regexp.MustCompile(`<[^>\n]*>`).ReplaceAllString(ud, "TOKEN"))
	out, err := bash.CombinedOutput()
	require.NoError(t, err, "bash -n: %s", out)
	assert.Contains(t, ud, "\nExecStart=/bin/bash -c 'python3 -m http.server \"$$WEB_PORT\"'\n")
	assert.Contains(t, ud, "\nWEB_PORT=8888\n")
	assert.Contains(t, ud, "\nWorkingDirectory=/opt/kotta/app\n")
	template(synth(t, "example").stack(t, "Jobs")).HasResourceProperties(jsii.String("AWS::ElasticLoadBalancingV2::TargetGroup"), map[string]any{
		"Port": 8888, "HealthCheckPath": "/", "Matcher": map[string]any{"HttpCode": "200-399"},
	})
}

func TestJobsWorkerUserDataInstallsAndStartsTheAgentOnTheClassesAMI(t *testing.T) {
	s := synth(t, "example")
	tpl := s.templates["Jobs"]
	ws := workerTemplates(t, tpl)
	require.Len(t, ws, 2, "one launch template per class")
	assets := assetFiles(t, *s.assembly.Directory())
	for _, w := range ws {
		checkAgentUserData(t, w, assets)
		// F8: the example pins its AMI (jobs.images.x86_64), so a new Amazon Linux release changes nothing.
		assert.Equal(t, "ami-0123456789abcdef0", w.imageID)
		assert.Empty(t, w.imageParam)
		// F4: workers are told the events topic.
		assert.Regexp(t, `JOB_EVENTS_TOPIC_ARN=<Ref:RunnerJobEvents[0-9A-F]+>`, w.userData)
	}
}

// Graviton classes get the arm64 agent on the arm64 AMI, NVIDIA GPU classes the Deep Learning Base OSS
// NVIDIA Driver GPU AMI (Amazon Linux 2023; its SSM parameter as the DLAMI release notes give it, x86_64
// and arm64) with at least its 75 GiB root volume (F13).
func TestJobsWorkerAgentMatchesGravitonAndGPUImages(t *testing.T) {
	dir, err := os.MkdirTemp(outRoot, "arch-")
	require.NoError(t, err)
	app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(dir), AnalyticsReporting: jsii.Bool(false)})
	network.PinAvailabilityZones(app, "123456789012", "us-east-1", []string{"us-east-1a", "us-east-1b"})
	stack := awscdk.NewStack(app, jsii.String("Arch"), &awscdk.StackProps{Env: &awscdk.Environment{Account: jsii.String("123456789012"), Region: jsii.String("us-east-1")}})
	net := network.New(stack, "Network", &network.Props{AvailabilityZones: []string{"us-east-1a", "us-east-1b"}, NatGateways: 1})
	store := jobstore.New(stack, "Store", &jobstore.Props{Lifecycle: lifecycle.Development()})
	jobrunner.New(stack, "Runner", &jobrunner.Props{
		Vpc: net.Vpc, Store: store,
		Classes: []jobrunner.JobClass{
			{Name: "graviton", InstanceTypes: []string{"m7g.large"}, Max: 2},
			{Name: "gpu", InstanceTypes: []string{"g5.xlarge"}, Max: 2},
			{Name: "gpu-arm", InstanceTypes: []string{"g5g.xlarge"}, Max: 2},
		},
		Web: jobrunner.WebProps{Command: "run-web", CertificateArn: "arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-1234-5678-9abc-0123456789ab"},
	})
	asm := app.Synth(nil)
	var tpl map[string]any
	raw, _ := json.Marshal(asm.GetStackArtifact(stack.ArtifactId()).Template())
	require.NoError(t, json.Unmarshal(raw, &tpl))
	ws := workerTemplates(t, tpl)
	require.Len(t, ws, 3)
	assets := assetFiles(t, *asm.Directory())
	images := map[string]string{}
	for _, w := range ws {
		checkAgentUserData(t, w, assets)
		images[w.logicalID[:strings.Index(w.logicalID, "Workers")]] = w.imageParam
	}
	assert.Equal(t, map[string]string{
		"RunnerGraviton": "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-6.1-arm64",
		"RunnerGpu":      "/aws/service/deeplearning/ami/x86_64/base-oss-nvidia-driver-gpu-amazon-linux-2023/latest/ami-id",
		"RunnerGpuArm":   "/aws/service/deeplearning/ami/arm64/base-oss-nvidia-driver-gpu-amazon-linux-2023/latest/ami-id",
	}, images)
	for id, r := range tpl["Resources"].(map[string]any) {
		res := r.(map[string]any)
		if res["Type"] == "AWS::EC2::LaunchTemplate" && strings.HasPrefix(id, "RunnerGpu") {
			bd := res["Properties"].(map[string]any)["LaunchTemplateData"].(map[string]any)["BlockDeviceMappings"].([]any)[0].(map[string]any)
			assert.EqualValues(t, 75, bd["Ebs"].(map[string]any)["VolumeSize"], id)
		}
	}
}

// agentCalls are the AWS actions the worker agent makes: the methods of the SDK interfaces its adapters
// and cmd/stratolab-worker hand it (IAM action names are the API names), except those its adapters never
// call: jobs.SQSQueue.Send (SendMessage) is the submitter's, and the agent uses jobs.DynamoTable only
// through Claim, Heartbeat and Finish (UpdateItem).
//
// Not every S3 call is its own IAM action: a multipart upload's calls are authorized by s3:PutObject,
// except the abort (Amazon S3 User Guide, "Multipart upload API and permissions").
func agentCalls() []string {
	var calls []string
	for prefix, iface := range map[string]reflect.Type{
		"s3":          reflect.TypeFor[jobagent.Objects](),
		"autoscaling": reflect.TypeFor[jobagent.AutoScalingAPI](),
		"sns":         reflect.TypeFor[jobagent.SNSAPI](),
		"logs":        reflect.TypeFor[jobagent.CloudWatchLogsAPI](),
		"sqs":         reflect.TypeFor[jobspec.SQSAPI](),
	} {
		for i := range iface.NumMethod() {
			m := iface.Method(i).Name
			if a, ok := multipartActions[m]; ok && prefix == "s3" {
				m = a
			}
			if m != "SendMessage" && !slices.Contains(calls, prefix+":"+m) {
				calls = append(calls, prefix+":"+m)
			}
		}
	}
	calls = append(calls, "dynamodb:UpdateItem")
	sort.Strings(calls)
	return calls
}

var multipartActions = map[string]string{
	"CreateMultipartUpload": "PutObject", "UploadPart": "PutObject", "CompleteMultipartUpload": "PutObject",
	"AbortMultipartUpload": "AbortMultipartUpload",
}

// statementsOf returns the statements of every AWS::IAM::Policy attached to a role whose reference matches.
func statementsOf(tpl map[string]any, role *regexp.Regexp) []map[string]any {
	var out []map[string]any
	for _, r := range tpl["Resources"].(map[string]any) {
		res := r.(map[string]any)
		if res["Type"] != "AWS::IAM::Policy" {
			continue
		}
		props := res["Properties"].(map[string]any)
		roles, _ := json.Marshal(props["Roles"])
		if !role.Match(roles) {
			continue
		}
		for _, st := range props["PolicyDocument"].(map[string]any)["Statement"].([]any) {
			out = append(out, st.(map[string]any))
		}
	}
	return out
}

func actionsOf(st map[string]any) []string {
	switch a := st["Action"].(type) {
	case string:
		return []string{a}
	case []any:
		var out []string
		for _, x := range a {
			out = append(out, x.(string))
		}
		return out
	}
	return nil
}

// TestJobsWorkerRoleCoversExactlyTheAgentsCalls: every call the agent makes is allowed to the worker role,
// on the resources it calls it on, and neither stack grants the worker anything the agent does not call.
// (The store's GrantExecute keeps Kotta's broader rights for workers of your own: jobstore.Props.OwnWorkers.)
func TestJobsWorkerRoleCoversExactlyTheAgentsCalls(t *testing.T) {
	s := synth(t, "example")
	workerRole := regexp.MustCompile(`StoreWorkerRole`)
	jobsStmts := statementsOf(s.templates["Jobs"], workerRole)
	dataStmts := statementsOf(s.templates["JobsData"], workerRole)
	require.NotEmpty(t, jobsStmts)
	require.NotEmpty(t, dataStmts)
	allowed := map[string][]string{} // action → rendered resources
	for _, st := range append(append([]map[string]any{}, jobsStmts...), dataStmts...) {
		res, _ := json.Marshal(st["Resource"])
		for _, a := range actionsOf(st) {
			allowed[a] = append(allowed[a], string(res))
		}
	}
	calls := agentCalls()
	for _, c := range calls {
		assert.NotEmpty(t, allowed[c], "the agent calls %s, which the worker role may not", c)
	}
	var extra []string
	for _, st := range append(append([]map[string]any{}, jobsStmts...), dataStmts...) {
		for _, a := range actionsOf(st) {
			if !slices.Contains(calls, a) {
				extra = append(extra, a)
			}
		}
	}
	assert.Empty(t, extra, "the worker role may make calls the agent never makes")
	// Where: the agent reads uploads/ and code/, writes outputs/ (F3), logs to the job log group, protects
	// and leaves its own fleets, publishes to the events topic, reads its own asset, updates the jobs table.
	assert.Contains(t, strings.Join(allowed["s3:GetObject"], " "), `/uploads/*`)
	assert.Contains(t, strings.Join(allowed["s3:GetObject"], " "), `/code/*`)
	assert.Contains(t, strings.Join(allowed["s3:GetObject"], " "), `cdk-hnb659fds-assets-`)
	assert.Equal(t, 1, len(allowed["s3:PutObject"]))
	assert.Contains(t, allowed["s3:PutObject"][0], `/outputs/*`)
	assert.Equal(t, allowed["s3:PutObject"], allowed["s3:AbortMultipartUpload"], "a large output's multipart upload is aborted where it was made")
	assert.Regexp(t, `RunnerJobLogs`, strings.Join(allowed["logs:PutLogEvents"], " "))
	assert.Regexp(t, `autoScalingGroupName/.*RunnerProdWorkersASG.*RunnerTestWorkersASG`, strings.Join(allowed["autoscaling:SetInstanceProtection"], " "))
	assert.Regexp(t, `RunnerJobEvents`, strings.Join(allowed["sns:Publish"], " "))
	assert.Regexp(t, `StoreJobsTable`, strings.Join(allowed["dynamodb:UpdateItem"], " "))
}

// TestJobsScaleOutInProportionToTheBacklog (F6, F2, F19): steps as large as the backlog with a 2-minute
// warm-up (EC2 Auto Scaling, step scaling: while instances warm up, they count toward the step's
// adjustment, so a second invocation of the same step adds nothing, and a larger step adds only the
// difference); no idle alarm and no ExactCapacity policy on agent fleets: idle workers leave by themselves
// (JOB_IDLE_EXIT_SECONDS) and busy ones are protected from scale-in.
func TestJobsScaleOutInProportionToTheBacklog(t *testing.T) {
	s := synth(t, "example")
	tpl := jobs(t)
	for _, class := range []string{"Prod", "Test"} {
		tpl.HasResourceProperties(jsii.String("AWS::AutoScaling::ScalingPolicy"), map[string]any{
			"AutoScalingGroupName": ref("Runner" + class + "WorkersASG"),
			"PolicyType":           "StepScaling", "AdjustmentType": "ChangeInCapacity", "MetricAggregationType": "Maximum",
			"EstimatedInstanceWarmup": 120,
			"StepAdjustments": []any{
				map[string]any{"MetricIntervalLowerBound": 0, "MetricIntervalUpperBound": 1, "ScalingAdjustment": 1},
				map[string]any{"MetricIntervalLowerBound": 1, "MetricIntervalUpperBound": 2, "ScalingAdjustment": 2},
				map[string]any{"MetricIntervalLowerBound": 2, "MetricIntervalUpperBound": 4, "ScalingAdjustment": 3},
				map[string]any{"MetricIntervalLowerBound": 4, "MetricIntervalUpperBound": 7, "ScalingAdjustment": 5},
				map[string]any{"MetricIntervalLowerBound": 7, "ScalingAdjustment": 10},
			},
		})
	}
	for id, r := range s.templates["Jobs"]["Resources"].(map[string]any) {
		res := r.(map[string]any)
		props, _ := res["Properties"].(map[string]any)
		assert.False(t, res["Type"] == "AWS::AutoScaling::ScalingPolicy" && props["AdjustmentType"] == "ExactCapacity", "%s: no idle scale-in policy", id)
		assert.False(t, res["Type"] == "AWS::CloudWatch::Alarm" && strings.Contains(id, "Idle"), "%s: no idle alarm", id)
	}
	for _, w := range workerTemplates(t, s.templates["Jobs"]) {
		assert.Contains(t, w.userData, "JOB_IDLE_EXIT_SECONDS=3600\n", "scale_in_after_minutes: 60")
	}
	assert.Equal(t, []jobrunner.Step{{Lower: 0, Upper: 1, Add: 1}, {Lower: 1, Upper: 0, Add: 2}}, jobrunner.ScaleOutSteps(2), "steps never add more than max")
}

// A fleet of your own WorkerCommand keeps the idle alarm, on 1-minute periods (F19): 60 of 60 for an hour.
func TestJobsOwnWorkerFleetsReturnToMinimumAfterAnIdleHour(t *testing.T) {
	stack := awscdk.NewStack(newApp(nil), jsii.String("Own"), &awscdk.StackProps{Env: &awscdk.Environment{Account: jsii.String("123456789012"), Region: jsii.String("us-east-1")}})
	net := network.New(stack, "Network", &network.Props{AvailabilityZones: []string{"us-east-1a", "us-east-1b"}, NatGateways: 1})
	store := jobstore.New(stack, "Store", &jobstore.Props{Lifecycle: lifecycle.Development()})
	jobrunner.New(stack, "Runner", &jobrunner.Props{
		Vpc: net.Vpc, Store: store, WorkerCommand: "python3 -m mine.worker $HOME",
		Classes: []jobrunner.JobClass{{Name: "prod", InstanceTypes: []string{"m5.large"}, Max: 4}},
		Web:     jobrunner.WebProps{Command: "run-web", CertificateArn: "arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-1234-5678-9abc-0123456789ab"},
	})
	tpl := template(stack)
	tpl.HasResourceProperties(jsii.String("AWS::CloudWatch::Alarm"), map[string]any{
		"ComparisonOperator": "LessThanOrEqualToThreshold", "Threshold": 0,
		"EvaluationPeriods": 60, "DatapointsToAlarm": 60, "TreatMissingData": "breaching",
		"Metrics": assertions.Match_ArrayWith(&[]any{
			assertions.Match_ObjectLike(&map[string]any{"Expression": "visible + inflight"}),
			assertions.Match_ObjectLike(&map[string]any{"Id": "inflight", "MetricStat": assertions.Match_ObjectLike(&map[string]any{
				"Period": 60, "Stat": "Maximum",
				"Metric": assertions.Match_ObjectLike(&map[string]any{"MetricName": "ApproximateNumberOfMessagesNotVisible"})})}),
		}),
		"AlarmActions": []any{ref("RunnerProdScaleIn")},
	})
	tpl.HasResourceProperties(jsii.String("AWS::AutoScaling::ScalingPolicy"), map[string]any{
		"AdjustmentType": "ExactCapacity", "StepAdjustments": []any{map[string]any{"MetricIntervalUpperBound": 0, "ScalingAdjustment": 0}},
	})
	// F18: systemd would expand $HOME in ExecStart before bash sees it; $$ is a literal $ (systemd.service, "Command lines").
	lts := tpl.FindResources(jsii.String("AWS::EC2::LaunchTemplate"), nil)
	var uds []string
	for id, lt := range *lts {
		if strings.Contains(id, "Workers") {
			uds = append(uds, render((*lt)["Properties"].(map[string]any)["LaunchTemplateData"].(map[string]any)["UserData"]))
		}
	}
	require.Len(t, uds, 1)
	assert.Contains(t, uds[0], "ExecStart=/bin/bash -c 'python3 -m mine.worker $$HOME'")
	// F7: the code download is retried, and a failure powers the instance off for Auto Scaling to replace.
	assert.Regexp(t, `retry aws s3 cp 's3://<Ref:StoreJobsBucket[0-9A-F]+>/code/cloud_kotta.tar.gz' /opt/kotta/code.tar.gz \|\| fail`, uds[0])
	assert.Contains(t, uds[0], "shutdown -h now")
	assert.NotContains(t, uds[0], "stratolab-worker")
}

// F8: the web fleet is replaced one server at a time with one kept in service; F18: a job in a
// dead-letter queue raises an alarm on the fleet notifications topic.
func TestJobsWebRollsOneAtATimeAndDeadLettersAlarm(t *testing.T) {
	tpl := jobs(t)
	tpl.HasResource(jsii.String("AWS::AutoScaling::AutoScalingGroup"), map[string]any{
		"Properties": map[string]any{"MinSize": "1", "MaxSize": "2"},
		"UpdatePolicy": map[string]any{"AutoScalingRollingUpdate": assertions.Match_ObjectLike(&map[string]any{
			"MinInstancesInService": 1, "MaxBatchSize": 1})},
	})
	for _, class := range []string{"Prod", "Test"} {
		tpl.HasResourceProperties(jsii.String("AWS::CloudWatch::Alarm"), map[string]any{
			"MetricName": "ApproximateNumberOfMessagesVisible", "Threshold": 1, "ComparisonOperator": "GreaterThanOrEqualToThreshold",
			"Dimensions":   []any{map[string]any{"Name": "QueueName", "Value": map[string]any{"Fn::GetAtt": []any{assertions.Match_StringLikeRegexp(jsii.String("^Runner" + class + "DeadLetterQueue")), "QueueName"}}}},
			"AlarmActions": []any{ref("RunnerFleetNotifications")},
		})
	}
}

// Item 2 of issue 16: `cdk destroy` while a job runs. CloudFormation deletes an Auto Scaling group by
// setting it to 0 and waiting for its instances to terminate; instances protected from scale-in (a busy
// agent's) never do. The drain resource names every worker fleet (so CloudFormation deletes it, running
// functions/jobfleets' delete, before the fleets), and depends on its function's role, policy and log
// group (so those are deleted after it); its function may update, unprotect and describe those fleets only.
func TestJobsDestroyDrainsProtectedWorkersBeforeDeletingTheFleets(t *testing.T) {
	tpl := synth(t, "example").templates["Jobs"]
	resources := tpl["Resources"].(map[string]any)
	var drain map[string]any
	for _, r := range resources {
		if r.(map[string]any)["Type"] == "Custom::JobFleetsDrain" {
			require.Nil(t, drain, "one drain resource")
			drain = r.(map[string]any)
		}
	}
	require.NotNil(t, drain)
	names, _ := json.Marshal(drain["Properties"].(map[string]any)["FleetNames"])
	assert.Regexp(t, `^\{"Fn::Join":\[",",\[\{"Ref":"RunnerProdWorkersASG[0-9A-F]+"\},\{"Ref":"RunnerTestWorkersASG[0-9A-F]+"\}\]\]\}$`, string(names))
	token, _ := json.Marshal(drain["Properties"].(map[string]any)["ServiceToken"])
	assert.Regexp(t, `"RunnerFleetDrainFunction[0-9A-F]+","Arn"`, string(token))
	deps, _ := json.Marshal(drain["DependsOn"])
	for _, want := range []string{`"RunnerFleetDrainFunctionServiceRole[0-9A-F]+"`, `"RunnerFleetDrainFunctionServiceRoleDefaultPolicy[0-9A-F]+"`, `"RunnerFleetDrainLogs[0-9A-F]+"`} {
		assert.Regexp(t, want, string(deps), "the drain is deleted before what its function needs")
	}
	stmts := statementsOf(tpl, regexp.MustCompile(`RunnerFleetDrainFunctionServiceRole`))
	require.Len(t, stmts, 2)
	assert.ElementsMatch(t, jobrunner.FleetDrainActions, actionsOf(stmts[0]))
	fleets, _ := json.Marshal(stmts[0]["Resource"])
	assert.Regexp(t, `autoScalingGroupName/",\{"Ref":"RunnerProdWorkersASG.*autoScalingGroupName/",\{"Ref":"RunnerTestWorkersASG`, string(fleets))
	assert.Equal(t, []string{"autoscaling:DescribeAutoScalingGroups"}, actionsOf(stmts[1]))
	// The drain function's calls are exactly fleetdrain.API's.
	var calls []string
	api := reflect.TypeFor[fleetdrain.API]()
	for i := range api.NumMethod() {
		calls = append(calls, "autoscaling:"+api.Method(i).Name)
	}
	assert.ElementsMatch(t, calls, append(actionsOf(stmts[0]), actionsOf(stmts[1])...))
}

// F8: the web fleet boots the pinned AMI too, and no launch template of the example follows an SSM
// parameter (a template parameter of type AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>, which
// CloudFormation resolves again at every deploy); "latest" opts into exactly that.
func TestJobsImagesArePinnedUnlessLatestIsAsked(t *testing.T) {
	tpl := synth(t, "example").templates["Jobs"]
	for id, r := range tpl["Resources"].(map[string]any) {
		res := r.(map[string]any)
		if res["Type"] == "AWS::EC2::LaunchTemplate" {
			assert.Equal(t, "ami-0123456789abcdef0", res["Properties"].(map[string]any)["LaunchTemplateData"].(map[string]any)["ImageId"], id)
		}
	}
	params, _ := json.Marshal(tpl["Parameters"])
	assert.NotContains(t, string(params), "ami-amazon-linux-latest")

	built, _ := buildInstance(t, "follows", "lifecycle: development\n"+jobsEnv)
	latest := template(built.Jobs.Stack)
	latest.HasParameter(jsii.String("*"), map[string]any{
		"Type": "AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>", "Default": "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-6.1-x86_64",
	})
}
