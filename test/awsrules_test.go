package test

import (
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/regioninfo"
	"github.com/stratolab/stratolab/internal/awsrules"
	"github.com/stretchr/testify/assert"
)

func TestEC2InstanceTypesAndArchitectures(t *testing.T) {
	for _, c := range []struct{ typ, arch string }{
		{"m5.xlarge", "x86_64"}, {"t3a.medium", "x86_64"}, {"g4dn.2xlarge", "x86_64"}, {"m7i-flex.large", "x86_64"},
		{"c7gn.metal", "arm64"}, {"m7g.large", "arm64"}, {"t4g.small", "arm64"}, {"r8gd.12xlarge", "arm64"}, {"a1.large", "arm64"},
		{"g5g.xlarge", "arm64"}, {"u-6tb1.metal", "x86_64"},
	} {
		assert.Empty(t, awsrules.EC2InstanceType(c.typ), c.typ)
		assert.Equal(t, c.arch, awsrules.EC2Arch(c.typ), c.typ)
	}
	for _, bad := range []string{"m5-xlarge", "m5.huge", "M5.large", "xlarge", "m5.", ".large", "m.large"} {
		assert.NotEmpty(t, awsrules.EC2InstanceType(bad), bad)
	}
}

func TestEC2ArchMismatchNamesBothTypes(t *testing.T) {
	types := []string{"m5.large", "m6i.large", "m7g.large", "m5.huge"}
	assert.Empty(t, awsrules.EC2ArchMismatch(types, 0), "the first type sets the architecture")
	assert.Empty(t, awsrules.EC2ArchMismatch(types, 1), "both x86_64")
	assert.Equal(t, "m7g.large is arm64 but m5.large is x86_64", awsrules.EC2ArchMismatch(types, 2))
	assert.Empty(t, awsrules.EC2ArchMismatch(types, 3), "malformed: EC2InstanceType reports it")
	assert.Empty(t, awsrules.EC2ArchMismatch([]string{"m5.huge", "m7g.large"}, 1), "a malformed first type sets nothing")
}

func TestScheduleExpressions(t *testing.T) {
	for _, ok := range []string{"cron(0 * * * ? *)", "cron(15 2 ? * MON-FRI *)", "cron(0/30 8-17 ? * 2-6 *)", "cron(0 12 1 * ? 2027)",
		"rate(1 hour)", "rate(6 hours)", "rate(1 day)"} {
		assert.Empty(t, awsrules.ScheduleExpression(ok), ok)
	}
	for bad, why := range map[string]string{
		"cron(0 * * * *)":     "is not a schedule expression",
		"0 * * * ? *":         "is not a schedule expression",
		"cron(0 * * * MON *)": "exactly one of day-of-month and day-of-week",
		"cron(0 * ? * ? *)":   "exactly one of day-of-month and day-of-week",
		"cron(75 * * * ? *)":  "minutes 75 (0 to 59)",
		"cron(0 24 * * ? *)":  "hours 24 (0 to 23)",
		"rate(1 hours)":       "wrong plural",
		"rate(2 hour)":        "wrong plural",
		"rate(0 hours)":       "is not a schedule expression",
		"cron(0 * * * ? %)":   "malformed field 6",
	} {
		assert.Contains(t, awsrules.ScheduleExpression(bad), why, bad)
	}
}

func TestECSTaskSizes(t *testing.T) {
	assert.Empty(t, awsrules.ECSTaskSize(256, 512, true))
	assert.Empty(t, awsrules.ECSTaskSize(1024, 8192, true))
	assert.Empty(t, awsrules.ECSTaskSize(16384, 122880, true))
	assert.Contains(t, awsrules.ECSTaskSize(256, 4096, true), "does not go with Fargate cpu 256")
	assert.Contains(t, awsrules.ECSTaskSize(4096, 8193, true), "in steps of 1024")
	assert.Contains(t, awsrules.ECSTaskSize(300, 1024, true), "not a Fargate size")
	assert.Empty(t, awsrules.ECSTaskSize(300, 700, false), "EC2 takes any size in range")
	assert.Contains(t, awsrules.ECSTaskSize(64, 512, false), "cpu 64 is out of range")
	assert.Contains(t, awsrules.ECSTaskSize(512, 64, false), "memory 64 MiB is too small")
}

func TestACMCertificateARNs(t *testing.T) {
	arn := "arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-1234-5678-9abc-0123456789ab"
	assert.Empty(t, awsrules.ACMCertificateARN(arn, "", ""))
	assert.Empty(t, awsrules.ACMCertificateARN(arn, "us-east-1", "123456789012"))
	assert.Empty(t, awsrules.ACMCertificateARN("arn:aws-us-gov:acm:us-gov-west-1:123456789012:certificate/0a1b2c3d-1234-5678-9abc-0123456789ab", "", ""))
	assert.Contains(t, awsrules.ACMCertificateARN(arn, "eu-west-1", ""), "needs a certificate of its own region")
	assert.Contains(t, awsrules.ACMCertificateARN("arn:aws:iam::123456789012:server-certificate/x", "", ""), "is not an ACM certificate ARN")
	// ACM certificates cannot be used from another account (ACM user guide, "Services integrated with ACM").
	assert.Contains(t, awsrules.ACMCertificateARN(arn, "us-east-1", "210987654321"), "is in account 123456789012, but the instance deploys to 210987654321")
}

func TestKubeSpawnerMemory(t *testing.T) {
	for _, ok := range []string{"4G", "512M", "1.5G", "2T", "100K"} {
		assert.Empty(t, awsrules.KubeSpawnerMemory(ok), ok)
	}
	assert.Contains(t, awsrules.KubeSpawnerMemory("4Gi"), "KubeSpawner takes a number with K, M, G or T (4G, not 4Gi)")
	assert.Contains(t, awsrules.KubeSpawnerMemory("4GB"), "is not a memory size")
	assert.Contains(t, awsrules.KubeSpawnerMemory("four"), "is not a memory size")
}

func TestCognitoAndOAuthRules(t *testing.T) {
	assert.Empty(t, awsrules.CognitoDomainPrefix("physics-101"))
	assert.Contains(t, awsrules.CognitoDomainPrefix("-lab"), "not starting or ending with a hyphen")
	assert.Contains(t, awsrules.CognitoDomainPrefix("my-amazon-lab"), `contains "amazon"`)
	assert.Contains(t, awsrules.CognitoDomainPrefix(string(make([]byte, 64))), "at most 63")
	assert.Empty(t, awsrules.CognitoCustomAttributeName("access_code"))
	assert.Contains(t, awsrules.CognitoCustomAttributeName("1st"), "starting with a letter")
	assert.Empty(t, awsrules.OAuthCallbackURL("https://hub.example.edu/hub/oauth_callback"))
	assert.Empty(t, awsrules.OAuthCallbackURL("http://localhost:8000/cb"))
	assert.Contains(t, awsrules.OAuthCallbackURL("http://127.0.0.1/cb"), "must use https://")
	assert.Contains(t, awsrules.OAuthCallbackURL("/relative"), "is not an absolute URL")
	assert.Contains(t, awsrules.EKSVersion("1.33"), "is not supported")
	assert.Empty(t, awsrules.EKSVersion(awsrules.EKSDefaultVersion))
}

// TestEC2CapacityTableIsRightForKnownTypes: figures from the EC2 instance type pages (general purpose,
// compute and memory optimized, burstable, accelerated computing).
func TestEC2CapacityTableIsRightForKnownTypes(t *testing.T) {
	for typ, want := range map[string]awsrules.Capacity{
		"m5.2xlarge": {VCPU: 8, MemoryGiB: 32}, "m5a.2xlarge": {VCPU: 8, MemoryGiB: 32}, "m7g.16xlarge": {VCPU: 64, MemoryGiB: 256},
		"c5.xlarge": {VCPU: 4, MemoryGiB: 8}, "c6i.24xlarge": {VCPU: 96, MemoryGiB: 192}, "r5.large": {VCPU: 2, MemoryGiB: 16},
		"r6i.12xlarge": {VCPU: 48, MemoryGiB: 384}, "t3a.large": {VCPU: 2, MemoryGiB: 8}, "t3.medium": {VCPU: 2, MemoryGiB: 4},
		"g4dn.xlarge": {VCPU: 4, MemoryGiB: 16, GPUs: 1}, "g4dn.12xlarge": {VCPU: 48, MemoryGiB: 192, GPUs: 4},
		"g5.48xlarge": {VCPU: 192, MemoryGiB: 768, GPUs: 8}, "g6e.xlarge": {VCPU: 4, MemoryGiB: 32, GPUs: 1},
		"p3.2xlarge": {VCPU: 8, MemoryGiB: 61, GPUs: 1}, "g5g.16xlarge": {VCPU: 64, MemoryGiB: 128, GPUs: 2},
	} {
		got, ok := awsrules.EC2Capacity(typ)
		assert.True(t, ok, typ)
		assert.Equal(t, want, got, typ)
	}
	for _, unknown := range []string{"x2idn.large", "m5.metal", "m5.3xlarge", "g4ad.xlarge", "inf2.xlarge", "m5"} {
		_, ok := awsrules.EC2Capacity(unknown)
		assert.False(t, ok, unknown)
	}
}

// TestRegionsAreTheOnesAwsCdkLibKnows keeps awsrules' list (the instance package may not import the
// CDK) equal to aws-cdk-lib's region facts.
func TestRegionsAreTheOnesAwsCdkLibKnows(t *testing.T) {
	var cdk []string
	for _, r := range *regioninfo.RegionInfo_Regions() {
		cdk = append(cdk, *r.Name())
	}
	assert.ElementsMatch(t, cdk, awsrules.Regions())
	assert.Empty(t, awsrules.Region("eusc-de-east-1"))
	assert.NotEmpty(t, awsrules.Region("us-east-3"))
}
