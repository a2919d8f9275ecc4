package test

import (
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
	"github.com/stratolab/stratolab/constructs/lifecycle"
	"github.com/stratolab/stratolab/constructs/network"
	"github.com/stratolab/stratolab/instance"
	"github.com/stratolab/stratolab/stacks"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// buildInstance loads a throwaway instance file and synthesizes it; it fails the test on any violation.
func buildInstance(t *testing.T, name, file string) (*stacks.Instance, awscdk.App) {
	t.Helper()
	built, app := buildInstanceApp(t, name, file)
	_, violations := synthApp(app)
	require.Empty(t, violations)
	return built, app
}

// buildInstanceApp loads and builds a throwaway instance file without synthesizing it.
func buildInstanceApp(t *testing.T, name, file string) (*stacks.Instance, awscdk.App) {
	t.Helper()
	cfg, err := instance.Load(writeInstance(t, name, file, nil), name)
	require.NoError(t, err)
	app := newApp(nil)
	return stacks.Build(app, cfg), app
}

func TestStacksAreNamedAfterTheInstanceWithItsEnvironment(t *testing.T) {
	s := synth(t, "example")
	base := s.stack(t, "Base")
	assert.Equal(t, "example/Base", *base.Node().Path(), "cdk ls shows the hierarchical ID")
	assert.Equal(t, "example-Base", *base.StackName())
	art := s.assembly.GetStackArtifact(base.ArtifactId())
	assert.Equal(t, "aws://123456789012/us-east-1", *art.Environment().Name)
	assert.Equal(t, "stratolab example: network", s.templates["Base"]["Description"])
}

func TestEveryStackAndResourceCarriesTheCostAndProductTags(t *testing.T) {
	for _, name := range instanceNames(t) {
		t.Run(name, func(t *testing.T) {
			s := synth(t, name)
			cost := s.cfg.Tags.CostKey
			for _, id := range s.stackIDs() {
				art := s.assembly.GetStackArtifact(s.stack(t, id).ArtifactId())
				tags := map[string]string{}
				for k, v := range *art.Tags() {
					tags[k] = *v
				}
				assert.Equal(t, name, tags[cost], "stack %s: the cost tag propagates to every resource CloudFormation can tag", id)
				assert.Equal(t, "stratolab-"+lowerASCII(id), tags["Product"])
				for k, v := range s.cfg.Tags.Extra {
					assert.Equal(t, v, tags[k])
				}
				// Resources that take tags carry them in the template too.
				for logical, r := range s.templates[id]["Resources"].(map[string]any) {
					props, _ := r.(map[string]any)["Properties"].(map[string]any)
					switch tv := props["Tags"].(type) {
					case []any:
						found := false
						for _, tag := range tv {
							kv := tag.(map[string]any)
							found = found || (kv["Key"] == cost && kv["Value"] == name)
						}
						assert.True(t, found, "%s/%s lacks %s=%s in %v", id, logical, cost, name, tv)
					case map[string]any:
						assert.Equal(t, name, tv[cost], "%s/%s", id, logical)
					}
				}
			}
		})
	}
}

func TestProductionKeepsFlowLogsAndDevelopmentDeletesThem(t *testing.T) {
	vpc := "vpc:\n  availability_zones: [us-east-1a, us-east-1b]\nenv: {account: \"123456789012\", region: us-east-1}\n"
	prod, _ := buildInstance(t, "prod", "lifecycle: production\n"+vpc)
	dev, _ := buildInstance(t, "dev", "lifecycle: development\n"+vpc)
	template(prod.Base.Stack).HasResource(jsii.String("AWS::Logs::LogGroup"), map[string]any{"DeletionPolicy": "Retain"})
	template(dev.Base.Stack).HasResource(jsii.String("AWS::Logs::LogGroup"), map[string]any{"DeletionPolicy": "Delete"})
}

func TestExtraPacksPassWithARotatingKeyForLogs(t *testing.T) {
	built, _ := buildInstance(t, "strict", `lifecycle: production
env: {account: "123456789012", region: us-east-1}
vpc: {availability_zones: [us-east-1a, us-east-1b], nat_gateways: 2}
compliance: {packs: [NIST80053R5, HIPAA]}
`)
	tpl := template(built.Base.Stack)
	tpl.ResourceCountIs(jsii.String("AWS::KMS::Key"), jsii.Number(1))
	tpl.HasResource(jsii.String("AWS::KMS::Key"), map[string]any{
		"DeletionPolicy": "Retain",
		"Properties":     map[string]any{"EnableKeyRotation": true, "PendingWindowInDays": 7},
	})
	tpl.HasResourceProperties(jsii.String("AWS::Logs::LogGroup"), map[string]any{
		"KmsKeyId": map[string]any{"Fn::GetAtt": []any{assertions.Match_StringLikeRegexp(jsii.String("^LogsKey")), "Arn"}},
	})
	// CloudWatch Logs may use the key only for this account's log groups.
	tpl.HasResourceProperties(jsii.String("AWS::KMS::Key"), map[string]any{
		"KeyPolicy": map[string]any{"Statement": assertions.Match_ArrayWith(&[]any{map[string]any{
			"Sid":       "AllowCloudWatchLogsInThisAccount",
			"Effect":    "Allow",
			"Principal": map[string]any{"Service": "logs.us-east-1.amazonaws.com"},
			"Condition": map[string]any{"ArnLike": map[string]any{
				"kms:EncryptionContext:aws:logs:arn": "arn:aws:logs:us-east-1:123456789012:log-group:*",
			}},
			"Action":   assertions.Match_AnyValue(),
			"Resource": "*",
		}})},
	})
}

func TestAwsSolutionsAloneUsesNoCustomerManagedKey(t *testing.T) {
	template(synth(t, "example").stack(t, "Base")).ResourceCountIs(jsii.String("AWS::KMS::Key"), jsii.Number(0))
}

func TestBasePublishesTheNetworkToParameterStore(t *testing.T) {
	tpl := template(synth(t, "archive").stack(t, "Base"))
	tpl.HasResourceProperties(jsii.String("AWS::SSM::Parameter"), map[string]any{
		"Name": "/stratolab/archive/network/vpc-id", "Type": "String", "Value": "vpc-0a1b2c3d4e5f60718",
	})
	tpl.HasResourceProperties(jsii.String("AWS::SSM::Parameter"), map[string]any{
		"Name": "/stratolab/archive/network/private-subnet-ids", "Value": "subnet-0a1b2c3d4e5f60001,subnet-0a1b2c3d4e5f60002",
	})
	tpl.HasResourceProperties(jsii.String("AWS::SSM::Parameter"), map[string]any{
		"Name": "/stratolab/archive/network/availability-zones", "Value": "us-west-2a,us-west-2b",
	})
}

func TestLookupInstanceAsksForTheVpcThroughContext(t *testing.T) {
	cfg, err := instance.Load(writeInstance(t, "found", `lifecycle: development
env: {account: "123456789012", region: eu-west-1}
vpc: {type: lookup, vpc_id: vpc-0123456789abcdef0}
`, nil), "found")
	require.NoError(t, err)
	app := newApp(nil)
	stacks.Build(app, cfg)
	asm, violations := synthApp(app)
	require.Empty(t, violations)
	var keys []string
	for _, m := range *asm.Manifest().Missing {
		keys = append(keys, *m.Key)
	}
	require.Len(t, keys, 1)
	assert.Contains(t, keys[0], "vpc-provider:account=123456789012:filter.vpc-id=vpc-0123456789abcdef0:region=eu-west-1")
}

func TestPinnedAvailabilityZonesDeferToRealContext(t *testing.T) {
	key := "availability-zones:account=123456789012:region=us-east-1"
	app := newApp(map[string]any{key: []any{"us-east-1a", "us-east-1b", "us-east-1c"}})
	network.PinAvailabilityZones(app, "123456789012", "us-east-1", []string{"us-east-1a"})
	assert.Len(t, app.Node().TryGetContext(jsii.String(key)), 3, "a real lookup kept in cdk.context.json wins")

	other := newApp(nil)
	network.PinAvailabilityZones(other, "123456789012", "us-east-1", []string{"us-east-1a"})
	assert.Equal(t, []any{"us-east-1a"}, other.Node().TryGetContext(jsii.String(key)))
	network.PinAvailabilityZones(other, "", "us-east-1", []string{"us-east-1b"})
	assert.Nil(t, other.Node().TryGetContext(jsii.String("availability-zones:account=:region=us-east-1")), "env-agnostic stacks are left alone")
}

func TestLifecyclePolicies(t *testing.T) {
	dev, prod := lifecycle.Development(), lifecycle.Production()
	assert.Equal(t, awscdk.RemovalPolicy_DESTROY, dev.RemovalPolicy)
	assert.True(t, dev.AutoDelete)
	assert.False(t, dev.DeletionProtection)
	assert.Equal(t, awscdk.RemovalPolicy_RETAIN, prod.RemovalPolicy)
	assert.False(t, prod.AutoDelete)
	assert.True(t, prod.DeletionProtection)

	kept := dev.WithRemoval(awscdk.RemovalPolicy_SNAPSHOT)
	assert.False(t, kept.AutoDelete, "a kept resource is never emptied first")
	assert.True(t, kept.Retains())
	assert.False(t, prod.WithRemoval(awscdk.RemovalPolicy_DESTROY).AutoDelete, "destroying a production resource does not also empty it unasked")
	assert.Equal(t, prod, lifecycle.Policy{}.OrDefault(), "a construct without a policy keeps its data")
	assert.Equal(t, dev, dev.OrDefault())
}

func lowerASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 32
		}
	}
	return string(b)
}
