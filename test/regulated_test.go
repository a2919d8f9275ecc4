package test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// packPropsOf returns the Properties of every resource of type typ in tpl whose logical ID starts with prefix.
func packPropsOf(tpl map[string]any, typ, prefix string) map[string]map[string]any {
	out := map[string]map[string]any{}
	for id, r := range tpl["Resources"].(map[string]any) {
		res := r.(map[string]any)
		if res["Type"] == typ && strings.HasPrefix(id, prefix) {
			p, _ := res["Properties"].(map[string]any)
			out[id] = p
		}
	}
	return out
}

func onlyProps(t *testing.T, tpl map[string]any, typ, prefix string) map[string]any {
	t.Helper()
	all := packPropsOf(tpl, typ, prefix)
	require.Len(t, all, 1, "one %s named %s*", typ, prefix)
	for _, p := range all {
		return p
	}
	return nil
}

func jsonOf(v any) string { b, _ := json.Marshal(v); return string(b) }

// TestRegulatedJobsDataIsEncryptedWithItsOwnKeyAndBackedUp: with a pack, the jobs bucket and tables use
// the data stack's customer-managed key (NIST SC-28, cdk-nag S3DefaultEncryptionKMS), and both tables
// are in an AWS Backup selection (cdk-nag DynamoDBInBackupPlan reads AWS::Backup::BackupSelection
// Resources for the table).
func TestRegulatedJobsDataIsEncryptedWithItsOwnKeyAndBackedUp(t *testing.T) {
	tpl := synth(t, "regulated").templates["JobsData"]
	bucket := onlyProps(t, tpl, "AWS::S3::Bucket", "StoreJobsBucket")
	assert.Contains(t, jsonOf(bucket["BucketEncryption"]), `"SSEAlgorithm":"aws:kms"`)
	assert.Contains(t, jsonOf(bucket["BucketEncryption"]), `DataKey17AFBB84`)
	for _, id := range []string{"StoreJobsTable", "StoreUsersTable"} {
		table := onlyProps(t, tpl, "AWS::DynamoDB::Table", id)
		assert.Contains(t, jsonOf(table["SSESpecification"]), `DataKey17AFBB84`, id)
	}
	sel := jsonOf(onlyProps(t, tpl, "AWS::Backup::BackupSelection", "StoreBackupPlanTables"))
	assert.Contains(t, sel, "StoreJobsTableAB5AB593")
	assert.Contains(t, sel, "StoreUsersTable6FD0F967")
	vault := tpl["Resources"].(map[string]any)["StoreBackupVault16295E0A"].(map[string]any)
	assert.Equal(t, "Retain", vault["DeletionPolicy"], "production keeps the vault")
	// The roles name their key actions: no kms:GenerateDataKey* or kms:ReEncrypt*.
	for id, p := range packPropsOf(tpl, "AWS::IAM::Policy", "Store") {
		doc := jsonOf(p["PolicyDocument"])
		assert.NotContains(t, doc, "kms:GenerateDataKey*", id)
		assert.NotContains(t, doc, "kms:ReEncrypt*", id)
	}
	assert.Contains(t, jsonOf(packPropsOf(tpl, "AWS::IAM::Policy", "StoreWorkerRole")), "kms:GenerateDataKey", "the agent writes outputs/")
}

// TestRegulatedJobsWebHasAWebACLThatLogs: AWS WAF's ALB association names the load balancer's ARN
// (cdk-nag ALBWAFEnabled matches the load balancer's logical ID in ResourceArn), and its logging goes to
// a log group whose name starts aws-waf-logs- (AWS WAF Developer Guide, CloudWatch Logs destination).
func TestRegulatedJobsWebHasAWebACLThatLogs(t *testing.T) {
	tpl := synth(t, "regulated").templates["Jobs"]
	acl := onlyProps(t, tpl, "AWS::WAFv2::WebACL", "RunnerWebAcl")
	assert.Equal(t, "REGIONAL", acl["Scope"])
	rules := jsonOf(acl["Rules"])
	assert.Contains(t, rules, "AWSManagedRulesKnownBadInputsRuleSet")
	assert.NotContains(t, rules, "AWSManagedRulesCommonRuleSet", "its 8 KB body limit would cut off uploads")
	assoc := onlyProps(t, tpl, "AWS::WAFv2::WebACLAssociation", "RunnerWebAclAssociation")
	assert.Contains(t, jsonOf(assoc["ResourceArn"]), "RunnerFrontLoadBalancer")
	logs := onlyProps(t, tpl, "AWS::Logs::LogGroup", "RunnerWebAclLogs")
	assert.Contains(t, jsonOf(logs["LogGroupName"]), `{"Fn::Join":["",["aws-waf-logs-`)
	logging := jsonOf(onlyProps(t, tpl, "AWS::WAFv2::LoggingConfiguration", "RunnerWebAclLogging"))
	assert.Contains(t, logging, `log-group:",{"Ref":"RunnerWebAclLogs`, "the log group's name, which starts aws-waf-logs-")
	assert.NotContains(t, logging, `:*"`, "the WAF wants the log group ARN without :*")
}

// TestRegulatedCustomResourceFunctionsHaveDeadLetterQueuesAndNoReservedConcurrency: CloudFormation
// invokes a custom resource's function asynchronously, so the pack's LambdaDLQ applies
// (DeadLetterConfig). LambdaConcurrency is suppressed, not met: reserved concurrency comes out of the
// account's unreserved pool, which Lambda keeps at 10 or more (Lambda developer guide, "Configuring
// reserved concurrency"), so in an account at the new-account limit of 10 any reservation fails the deploy.
func TestRegulatedCustomResourceFunctionsHaveDeadLetterQueuesAndNoReservedConcurrency(t *testing.T) {
	s := synth(t, "regulated")
	for _, c := range []struct{ stack, prefix string }{{"Jobs", "RunnerFleetDrainFunction"}, {"Hub", "HubClusterOpsFunction"}} {
		fn := onlyProps(t, s.templates[c.stack], "AWS::Lambda::Function", c.prefix)
		assert.Contains(t, jsonOf(fn["DeadLetterConfig"]), "DeadLetterQueue", c.prefix)
		assert.NotContains(t, fn, "ReservedConcurrentExecutions", c.prefix)
	}
	for stack, tpl := range s.templates {
		for id, fn := range resourcesOfTypeProps(tpl, "AWS::Lambda::Function") {
			assert.NotContains(t, fn, "ReservedConcurrentExecutions", "%s/%s", stack, id)
		}
	}
}

// resourcesOfTypeProps maps the logical IDs of a type's resources to their properties.
func resourcesOfTypeProps(tpl map[string]any, typ string) map[string]map[string]any {
	out := map[string]map[string]any{}
	for _, id := range resourcesOfType(tpl, typ) {
		r := tpl["Resources"].(map[string]any)[id].(map[string]any)
		props, _ := r["Properties"].(map[string]any)
		out[id] = props
	}
	return out
}

// TestRegulatedHubHomesAreInABackupPlanInsteadOfAutomaticBackups: the explicit selection names the
// file system (cdk-nag EFSInBackupPlan), and EFS's automatic backups (AWS Backup's default plan) are
// off, so homes are not backed up twice (production has them without a pack).
func TestRegulatedHubHomesAreInABackupPlanInsteadOfAutomaticBackups(t *testing.T) {
	tpl := synth(t, "regulated").templates["Hub"]
	sel := jsonOf(onlyProps(t, tpl, "AWS::Backup::BackupSelection", "HubHomeBackupPlanHomes"))
	assert.Contains(t, sel, "HubHomeFileSystem415A4BDF")
	fs := onlyProps(t, tpl, "AWS::EFS::FileSystem", "HubHomeFileSystem")
	// No BackupPolicy: automatic backups stay off for a file system CloudFormation creates
	// (AWS::EFS::FileSystem BackupPolicy; the CDK writes it only with enableAutomaticBackups).
	assert.NotContains(t, jsonOf(fs["BackupPolicy"]), `"Status":"ENABLED"`)
}

// TestDevelopmentWithoutPacksGetsNoRegulatedExtras keeps a development instance's idle cost: no web ACL,
// no backup plans, no dead-letter queues or reserved concurrency on the custom resource functions.
func TestDevelopmentWithoutPacksGetsNoRegulatedExtras(t *testing.T) {
	s := synth(t, "example")
	for _, st := range []string{"JobsData", "Jobs", "Hub"} {
		tpl := s.templates[st]
		for _, typ := range []string{"AWS::WAFv2::WebACL", "AWS::Backup::BackupPlan", "AWS::Backup::BackupVault"} {
			assert.Empty(t, packPropsOf(tpl, typ, ""), "%s has a %s", st, typ)
		}
		for id, fn := range packPropsOf(tpl, "AWS::Lambda::Function", "") {
			assert.NotContains(t, fn, "ReservedConcurrentExecutions", id)
		}
	}
}
