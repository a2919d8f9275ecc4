// Package awsrules holds rules that AWS services enforce on names and values, as plain Go with no CDK,
// so that the instance package can report a bad value with its file and line, and the constructs can
// refuse it too, from one definition. Each function returns why a value is rejected, or "".
package awsrules

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

var (
	domainPrefixRe    = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$`)
	customAttributeRe = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]*$`)
)

// CognitoDomainPrefix checks a hosted UI domain prefix: lowercase letters, digits and hyphens, at most
// 63 characters, and none of the words Cognito reserves.
func CognitoDomainPrefix(prefix string) string {
	switch {
	case prefix == "":
		return "is empty"
	case len(prefix) > 63:
		return fmt.Sprintf("is %d characters long (at most 63)", len(prefix))
	case !domainPrefixRe.MatchString(prefix):
		return "must be lowercase letters, digits and hyphens, not starting or ending with a hyphen"
	}
	for _, reserved := range []string{"aws", "amazon", "cognito"} {
		if strings.Contains(prefix, reserved) {
			return fmt.Sprintf("contains %q, which Cognito reserves", reserved)
		}
	}
	return ""
}

// CognitoCustomAttributeName checks the name of a custom attribute, without its custom: prefix.
func CognitoCustomAttributeName(name string) string {
	switch {
	case len(name) > 20:
		return fmt.Sprintf("is %d characters long (at most 20)", len(name))
	case !customAttributeRe.MatchString(name):
		return "must be letters, digits, _ and -, starting with a letter"
	}
	return ""
}

// OAuthCallbackURL checks a callback or logout URL. Cognito accepts plain http only for localhost,
// where a developer runs the app.
func OAuthCallbackURL(u string) string {
	parsed, err := url.Parse(u)
	switch {
	case err != nil || parsed.Host == "":
		return "is not an absolute URL"
	case parsed.Scheme == "https":
		return ""
	case parsed.Scheme == "http" && parsed.Hostname() == "localhost":
		return ""
	}
	return "must use https:// (plain http:// only for http://localhost)"
}

var (
	instanceTypeRe = regexp.MustCompile(`^([a-z][a-z0-9-]*)\.(nano|micro|small|medium|large|xlarge|[0-9]+xlarge|metal|metal-[0-9]+xl)$`)
	generationRe   = regexp.MustCompile(`^[a-z-]*?([0-9]+)([a-z0-9-]*)$`)
	acmCertRe      = regexp.MustCompile(`^arn:aws[a-z-]*:acm:([a-z0-9-]+):([0-9]{12}):certificate/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
)

// EC2InstanceType checks the shape of an instance type name: family.size, such as m5.xlarge,
// g4dn.2xlarge or m7i-flex.large. It does not know which types a region offers.
func EC2InstanceType(t string) string {
	m := instanceTypeRe.FindStringSubmatch(t)
	if m == nil || !generationRe.MatchString(m[1]) {
		return "is not an EC2 instance type (family.size, such as m5.xlarge or t3.small)"
	}
	return ""
}

// EC2Arch is the CPU architecture of a well-formed instance type: "arm64" for Graviton families
// (a g after the generation digit: m7g, c6gn, t4g, r8gd; and a1), otherwise "x86_64".
func EC2Arch(t string) string {
	m := instanceTypeRe.FindStringSubmatch(t)
	if m == nil {
		return "x86_64"
	}
	if m[1] == "a1" {
		return "arm64"
	}
	if g := generationRe.FindStringSubmatch(m[1]); g != nil && strings.Contains(g[2], "g") {
		return "arm64"
	}
	return "x86_64"
}

// EC2ArchMismatch says why types[i] cannot serve in one fleet with types[0], the type whose AMI the
// fleet's launch template uses: "t is arm64 but first is x86_64". It is "" when the two share a CPU
// architecture, for the first type itself, and when either is malformed (EC2InstanceType says why).
func EC2ArchMismatch(types []string, i int) string {
	first, t := types[0], types[i]
	if i == 0 || EC2InstanceType(first) != "" || EC2InstanceType(t) != "" || EC2Arch(t) == EC2Arch(first) {
		return ""
	}
	return fmt.Sprintf("%s is %s but %s is %s", t, EC2Arch(t), first, EC2Arch(first))
}

// EC2Fleet checks one fleet of a construct's props (kind is what the construct calls it: "class", "node
// group"): at least one well-formed instance type, one CPU architecture (the AMI follows the first
// type), and 0 <= min <= max with max >= 1. It returns the problems, each naming the fleet.
func EC2Fleet(kind, name string, types []string, min, max int) []string {
	var out []string
	if len(types) == 0 {
		out = append(out, fmt.Sprintf("%s %s has no instance types", kind, name))
	}
	for i, t := range types {
		if why := EC2InstanceType(t); why != "" {
			out = append(out, fmt.Sprintf("%s %s: %q %s", kind, name, t, why))
		} else if why := EC2ArchMismatch(types, i); why != "" {
			out = append(out, fmt.Sprintf("%s %s: %s (one architecture per %s)", kind, name, why, kind))
		}
	}
	if min < 0 || min > max || max < 1 {
		out = append(out, fmt.Sprintf("%s %s: min %d and max %d must satisfy 0 <= min <= max, max >= 1", kind, name, min, max))
	}
	return out
}

// ACMCertificateARN checks an ACM certificate ARN and, when region and account are known, that the
// certificate is in them: a load balancer (and a Cognito domain, in us-east-1) can use only certificates
// of its own region, and ACM certificates cannot be used from another account ("ACM certificates
// cannot be shared across accounts", ACM user guide, "Services integrated with ACM").
func ACMCertificateARN(arn, region, account string) string {
	m := acmCertRe.FindStringSubmatch(arn)
	switch {
	case m == nil:
		return "is not an ACM certificate ARN (arn:aws:acm:<region>:<account>:certificate/<uuid>)"
	case region != "" && m[1] != region:
		return "is in " + m[1] + ", but a load balancer or regional API Gateway domain in " + region + " needs a certificate of its own region"
	case account != "" && m[2] != account:
		return "is in account " + m[2] + ", but the instance deploys to " + account + " (a certificate of another account cannot be used)"
	}
	return ""
}

// fargateSizes maps Fargate task CPU units to the memory sizes (MiB) they allow: from, to, step.
var fargateSizes = map[int][3]int{
	256:   {512, 2048, 512},
	512:   {1024, 4096, 1024},
	1024:  {2048, 8192, 1024},
	2048:  {4096, 16384, 1024},
	4096:  {8192, 30720, 1024},
	8192:  {16384, 61440, 4096},
	16384: {32768, 122880, 8192},
}

// ECSTaskSize checks a task's CPU units and memory: Fargate's fixed combinations, or on EC2 128 to
// 10240 CPU units and at least 128 MiB.
func ECSTaskSize(cpu, memoryMiB int, fargate bool) string {
	if fargate {
		m, ok := fargateSizes[cpu]
		switch {
		case !ok:
			return fmt.Sprintf("cpu %d is not a Fargate size (256, 512, 1024, 2048, 4096, 8192 or 16384)", cpu)
		case memoryMiB < m[0] || memoryMiB > m[1] || (memoryMiB-m[0])%m[2] != 0:
			return fmt.Sprintf("memory %d MiB does not go with Fargate cpu %d (%d to %d in steps of %d)", memoryMiB, cpu, m[0], m[1], m[2])
		}
		return ""
	}
	switch {
	case cpu < 128 || cpu > 10240:
		return fmt.Sprintf("cpu %d is out of range (128 to 10240 CPU units; 1024 is one vCPU)", cpu)
	case memoryMiB < 128:
		return fmt.Sprintf("memory %d MiB is too small (at least 128)", memoryMiB)
	}
	return ""
}

var (
	rateRe = regexp.MustCompile(`^rate\(([1-9][0-9]*) (minute|minutes|hour|hours|day|days)\)$`)
	cronRe = regexp.MustCompile(`^cron\(([^ ]+) ([^ ]+) ([^ ]+) ([^ ]+) ([^ ]+) ([^ ]+)\)$`)
	// One field of an AWS cron expression: numbers, names, ranges, steps, lists and the wildcards.
	cronFieldRe = regexp.MustCompile(`^(\*|\?|L|W|[0-9A-Za-z#L-]+)(/[0-9]+)?(,(\*|[0-9A-Za-z#L-]+)(/[0-9]+)?)*$`)
)

// ScheduleExpression checks an AWS schedule expression: rate(1 hour), or cron(minutes hours
// day-of-month month day-of-week year) with exactly one of the two day fields set to ?.
func ScheduleExpression(expr string) string {
	if m := rateRe.FindStringSubmatch(expr); m != nil {
		if (m[1] == "1") != !strings.HasSuffix(m[2], "s") {
			return "uses the wrong plural (rate(1 hour), rate(2 hours))"
		}
		return ""
	}
	m := cronRe.FindStringSubmatch(expr)
	if m == nil {
		return "is not a schedule expression (cron(minutes hours day-of-month month day-of-week year), such as cron(0 * * * ? *), or rate(1 hour))"
	}
	for i, f := range m[1:] {
		if !cronFieldRe.MatchString(f) {
			return fmt.Sprintf("has a malformed field %d, %q", i+1, f)
		}
	}
	if (m[3] == "?") == (m[5] == "?") {
		return "must set exactly one of day-of-month and day-of-week to ? (such as cron(0 * * * ? *))"
	}
	for _, bound := range []struct {
		field    string
		max      int
		position string
	}{{m[1], 59, "minutes"}, {m[2], 23, "hours"}} {
		var n int
		if _, err := fmt.Sscanf(bound.field, "%d", &n); err == nil && fmt.Sprint(n) == bound.field && n > bound.max {
			return fmt.Sprintf("has %s %d (0 to %d)", bound.position, n, bound.max)
		}
	}
	return ""
}

// EKSVersions are the Kubernetes versions the pinned kubectl layer (1.35) can drive: one minor either
// side of it. EKSDefaultVersion is the newest version with a kubectl layer here.
var EKSVersions = []string{"1.34", "1.35", "1.36"}

// EKSDefaultVersion is the Kubernetes version of a hub that does not choose one.
const EKSDefaultVersion = "1.35"

// EKSVersion checks a Kubernetes version against EKSVersions.
func EKSVersion(v string) string {
	for _, ok := range EKSVersions {
		if v == ok {
			return ""
		}
	}
	return "is not supported (with kubectl 1.35: " + strings.Join(EKSVersions, ", ") + ")"
}

// ClusterAutoscaler is the cluster-autoscaler chart (and, when the chart's default image is another
// minor, the image tag) for one Kubernetes minor.
type ClusterAutoscaler struct{ Chart, ImageTag string }

// clusterAutoscalers follows the autoscaler's rule that its minor matches the cluster's. From the
// kubernetes/autoscaler chart index (gh-pages index.yaml, July 2026): 9.53.0 is the newest chart of app
// 1.34 (1.34.2), 9.59.0 the newest of 1.35 (1.35.0); no chart ships 1.36, so 1.36 takes 9.59.0 with the
// released image v1.36.1.
var clusterAutoscalers = map[string]ClusterAutoscaler{
	"1.34": {Chart: "9.53.0"},
	"1.35": {Chart: "9.59.0"},
	"1.36": {Chart: "9.59.0", ImageTag: "v1.36.1"},
}

// ClusterAutoscalerFor is the cluster-autoscaler for a Kubernetes minor of EKSVersions.
func ClusterAutoscalerFor(version string) (ClusterAutoscaler, bool) {
	ca, ok := clusterAutoscalers[version]
	return ca, ok
}

var kubeSpawnerMemoryRe = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?[KMGT]$`)

// KubeSpawnerMemory checks a memory size as KubeSpawner takes it: a number with K, M, G or T, such as
// 4G. Kubernetes' own 4Gi is a different form, and KubeSpawner rejects it.
func KubeSpawnerMemory(s string) string {
	switch {
	case kubeSpawnerMemoryRe.MatchString(s):
		return ""
	case strings.HasSuffix(s, "i") && kubeSpawnerMemoryRe.MatchString(strings.TrimSuffix(s, "i")):
		return "is in Kubernetes' form; KubeSpawner takes a number with K, M, G or T (" + strings.TrimSuffix(s, "i") + ", not " + s + ")"
	}
	return "is not a memory size (a number with K, M, G or T, such as 4G)"
}

// NvidiaGPU reports whether an instance type's family has NVIDIA GPUs (the families the AWS Deep Learning
// Base OSS NVIDIA Driver AMI supports).
func NvidiaGPU(instanceType string) bool {
	family, _, _ := strings.Cut(instanceType, ".")
	switch family {
	case "g4dn", "g5", "g5g", "g6", "g6e", "g6f", "gr6", "gr6f", "p3", "p3dn", "p4d", "p4de", "p5", "p5e", "p5en", "p6-b200":
		return true
	}
	return false
}

var amiRe = regexp.MustCompile(`^ami-([0-9a-f]{8}|[0-9a-f]{17})$`)

// AMIID says why s is not an EC2 image ID (ami- and 8 or 17 lowercase hex digits), or "".
func AMIID(s string) string {
	if amiRe.MatchString(s) {
		return ""
	}
	return "is not an AMI ID (ami- and 8 or 17 hex digits, such as ami-0123456789abcdef0)"
}
