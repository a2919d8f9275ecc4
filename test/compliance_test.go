package test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/jsii-runtime-go"
	"github.com/stratolab/stratolab/instance"
	"github.com/stratolab/stratolab/stacks"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestInstancesHaveNoUnsuppressedNagErrors is the synth gate: cdk-nag's error annotations fail `cdk synth`.
func TestInstancesHaveNoUnsuppressedNagErrors(t *testing.T) {
	for _, name := range instanceNames(t) {
		t.Run(name, func(t *testing.T) {
			assert.Empty(t, synth(t, name).errors())
		})
	}
}

// TestInstancesSynthesizeWithoutWarnings keeps `cdk synth` quiet: a warning annotation is printed as a
// validation report on every synth, and makes aws-cdk-lib hash the whole cloud assembly (the 50 MB
// kubectl layer included) before and after its annotation plugin runs.
func TestInstancesSynthesizeWithoutWarnings(t *testing.T) {
	for _, name := range instanceNames(t) {
		t.Run(name, func(t *testing.T) {
			assert.Empty(t, synth(t, name).warnings())
		})
	}
}

// TestNagRejectsAnUnsafeResource proves the gate is wired: an unencrypted bucket without a TLS-only policy,
// added to an instance's stack, produces AwsSolutions errors.
func TestNagRejectsAnUnsafeResource(t *testing.T) {
	findings := nagErrorsWithBadBucket(t, "lifecycle: development\n")
	assert.Contains(t, findings, "AwsSolutions-S10", "TLS-only policy missing")
	assert.Contains(t, findings, "AwsSolutions-S1", "server access logs missing")
}

// TestNagRunsTheExtraPacksAnInstanceNames shows compliance.packs adds packs on top of AwsSolutions.
func TestNagRunsTheExtraPacksAnInstanceNames(t *testing.T) {
	findings := nagErrorsWithBadBucket(t, "lifecycle: development\ncompliance:\n  packs: [HIPAA]\n")
	assert.Contains(t, findings, "AwsSolutions-S10", "AwsSolutions runs even when not listed")
	assert.Contains(t, findings, "HIPAA.Security-S3BucketSSLRequestsOnly")
}

func nagErrorsWithBadBucket(t *testing.T, file string) map[string]bool {
	t.Helper()
	cfg, err := instance.Load(writeInstance(t, "nagcheck", file, nil), "nagcheck")
	require.NoError(t, err)
	app := newApp(nil)
	built := stacks.Build(app, cfg)
	awss3.NewBucket(built.Base.Stack, jsii.String("Unsafe"), &awss3.BucketProps{EnforceSSL: jsii.Bool(false)})
	_, violations := synthApp(app)
	require.NotEmpty(t, violations, "synth passed with an unencrypted-in-transit, unlogged bucket")
	found := map[string]bool{}
	for _, v := range violations {
		assert.Contains(t, v, "at nagcheck/Base/Unsafe/Resource", "only the bad bucket is flagged")
		found[strings.SplitN(v, ":", 2)[0]] = true
	}
	return found
}

// TestPackModulesTableIsTrue keeps instance.PackModules, which the loader uses to refuse a pack that
// would fail the synth, true both ways: each module it lists synthesizes with no error under the pack,
// and each module it leaves out still has errors (then the table, and docs/COMPLIANCE.md, need updating).
func TestPackModulesTableIsTrue(t *testing.T) {
	packs := []string{"NIST80053R5", "HIPAA"}
	prefix := map[string]string{"NIST80053R5": "NIST.800.53.R5-", "HIPAA": "HIPAA.Security-"}
	for _, module := range []string{"base", "auth", "jobs", "lookup", "hub", "registry", "control"} {
		t.Run(module, func(t *testing.T) {
			cfg, err := instance.Load(instanceDir, "example")
			require.NoError(t, err)
			cfg.Enabled = instance.Enabled{Auth: module == "auth" || module == "control", Jobs: module == "jobs", Lookup: module == "lookup", Hub: module == "hub", Registry: module == "registry", Control: module == "control"}
			if module == "control" {
				controlWithoutModules(cfg)
			}
			cfg.Compliance.Packs = packs
			app := newApp(nil)
			stacks.Build(app, cfg)
			_, violations := synthApp(app)
			for _, pack := range packs {
				var found []string
				for _, v := range violations {
					if strings.HasPrefix(v, prefix[pack]) && !inDependency(module, v) {
						found = append(found, v)
					}
				}
				if slices.Contains(instance.PackModules[pack], module) {
					assert.Empty(t, found, "instance.PackModules says %s meets %s", module, pack)
				} else {
					assert.NotEmpty(t, found, "%s now meets %s: add it to instance.PackModules and docs/COMPLIANCE.md", module, pack)
				}
			}
		})
	}
}

// controlWithoutModules keeps, of the example's control environments, the stages that name their
// own targets (the example's module stages need lookup, jobs and hub, which are off here).
func controlWithoutModules(cfg *instance.Config) {
	envs := map[string]instance.ControlEnvironment{}
	for name, e := range cfg.Control.Environments {
		var stages []instance.ControlStage
		for _, st := range e.Stages {
			st.Modules = nil
			if len(st.EC2.IDs)+len(st.EC2.Tags)+len(st.AutoScalingGroups)+len(st.ECSServices) > 0 {
				stages = append(stages, st)
			}
		}
		if len(stages) > 0 {
			e.Stages = stages
			envs[name] = e
		}
	}
	cfg.Control.Environments = envs
}

// inDependency reports whether a finding is in a stack that module brings along but does not own: the
// hub turns on Auth, and every module has Base.
func inDependency(module, violation string) bool {
	return (module != "auth" && strings.Contains(violation, " at example/Auth/")) ||
		(module != "base" && strings.Contains(violation, " at example/Base/"))
}

// TestProductionPacksBackUpTablesAndFileSystems: with NIST80053R5 or HIPAA in production, the run
// table, the records table and the lookup file system are each in an AWS Backup selection (cdk-nag's
// DynamoDBInBackupPlan and EFSInBackupPlan look for an AWS::Backup::BackupSelection whose Resources name
// the resource), and the vault is retained.
func TestProductionPacksBackUpTablesAndFileSystems(t *testing.T) {
	s := synth(t, "regulated")
	for stack, target := range map[string]string{
		"Control":    "ControlRunTable203502E3",
		"Registry":   "RegistryRecords148C47DF",
		"LookupData": "StorageFileSystemFFD87EE1",
	} {
		tpl := s.templates[stack]
		require.NotNil(t, tpl, stack)
		sels := resourcesOfType(tpl, "AWS::Backup::BackupSelection")
		require.Len(t, sels, 1, "%s has one backup selection", stack)
		props := tpl["Resources"].(map[string]any)[sels[0]].(map[string]any)["Properties"]
		data, _ := json.Marshal(props.(map[string]any)["BackupSelection"].(map[string]any)["Resources"])
		assert.Contains(t, string(data), `"`+target+`"`, "%s's selection names %s", stack, target)
		for _, v := range resourcesOfType(tpl, "AWS::Backup::BackupVault") {
			assert.Equal(t, "Retain", tpl["Resources"].(map[string]any)[v].(map[string]any)["DeletionPolicy"], "%s keeps its vault", stack)
		}
	}
}

// TestDevelopmentInstancesGetNoBackupPlan: the example (development, no pack) has no AWS Backup resource,
// so a development instance's idle cost and its destroy are unchanged.
func TestDevelopmentInstancesGetNoBackupPlan(t *testing.T) {
	s := synth(t, "example")
	for _, id := range s.stackIDs() {
		for _, typ := range []string{"AWS::Backup::BackupVault", "AWS::Backup::BackupPlan", "AWS::Backup::BackupSelection"} {
			assert.Empty(t, resourcesOfType(s.templates[id], typ), "%s has no %s", id, typ)
		}
	}
}

// A development instance that names the packs still leaves nothing behind: CloudFormation cannot delete
// an AWS Backup vault that holds recovery points (AWS Backup Developer Guide, "Deleting a backup vault":
// a vault must be empty first), so no module makes a vault in development; the packs' backup rules are
// suppressed there instead, and met in production (regulated.yaml).
func TestDevelopmentInstancesWithPacksMakeNoBackupVault(t *testing.T) {
	cfg, err := instance.Load(instanceDir, "example")
	require.NoError(t, err)
	cfg.Compliance.Packs = []string{"NIST80053R5", "HIPAA"}
	s := synthConfig(t, cfg)
	for id, tpl := range s.templates {
		assert.Empty(t, resourcesOfType(tpl, "AWS::Backup::BackupVault"), "%s makes a backup vault in development", id)
	}
}
