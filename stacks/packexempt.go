package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsbackup"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
	"github.com/stratolab/stratolab/instance"
)

// packRules are a module's reasons, by CloudFormation resource type and then by the rule's suffix
// (NIST.800.53.R5-<rule> and HIPAA.Security-<rule> share it), why a NIST 800-53 R5 / HIPAA rule
// cannot apply to its resources of that type. Each reason is the module's own; docs/COMPLIANCE.md
// lists them.
type packRules map[string]map[string]string

// exemptFromPacks adds, when the instance names NIST80053R5 or HIPAA, the module's reasons as cdk-nag
// suppressions on each of the stack's resources of the listed types (on the resource itself, so each
// suppression sits in the template next to what it exempts). Without those packs nothing is added, so
// the templates of other instances do not change.
func exemptFromPacks(cfg *instance.Config, scope constructs.IConstruct, rules packRules) {
	if !needsCustomerManagedKeys(cfg) {
		return
	}
	for _, c := range *scope.Node().FindAll(constructs.ConstructOrder_PREORDER) {
		if !*awscdk.CfnResource_IsCfnResource(c) {
			continue
		}
		if byRule, ok := rules[*c.(awscdk.CfnResource).CfnResourceType()]; ok {
			exempt(cfg, c, byRule)
		}
	}
}

// exempt suppresses the rules (suffix → reason) of both packs on one construct and its children, when
// the instance names a pack.
func exempt(cfg *instance.Config, c constructs.IConstruct, byRule map[string]string) {
	if !needsCustomerManagedKeys(cfg) || c == nil {
		return
	}
	var s []*cdknag.NagPackSuppression
	for _, rule := range sortedKeys(byRule) {
		for _, pack := range []string{"NIST.800.53.R5-", "HIPAA.Security-"} {
			s = append(s, &cdknag.NagPackSuppression{Id: jsii.String(pack + rule), Reason: jsii.String(byRule[rule])})
		}
	}
	cdknag.NagSuppressions_AddResourceSuppressions(c, &s, jsii.Bool(true))
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	for i := 1; i < len(keys); i++ {
		for j := i; j > 0 && keys[j] < keys[j-1]; j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
	return keys
}

// backUpForPacks puts the resources in an AWS Backup plan when the instance names NIST80053R5 or HIPAA
// and is production (cdk-nag's DynamoDBInBackupPlan and EFSInBackupPlan look for an
// AWS::Backup::BackupSelection naming the resource): daily backups kept 35 days, in a vault the stack
// keeps. A development instance with those packs gets a suppression instead: a vault holding recovery
// points cannot be deleted by CloudFormation, so its destroy would leave the vault behind, and the
// resources keep their point-in-time recovery (DynamoDB) or their own backups policy (EFS).
func backUpForPacks(cfg *instance.Config, scope constructs.Construct, id string, rule string, resources ...backupTarget) {
	if !needsCustomerManagedKeys(cfg) {
		return
	}
	if !cfg.Production() {
		for _, r := range resources {
			exempt(cfg, r.node, map[string]string{rule: "Development instance: destroy must leave nothing behind, and an AWS Backup vault holding " +
				"recovery points cannot be deleted by CloudFormation; production instances with this pack put it in an AWS Backup plan"})
		}
		return
	}
	vault := awsbackup.NewBackupVault(scope, jsii.String(id+"BackupVault"), &awsbackup.BackupVaultProps{RemovalPolicy: awscdk.RemovalPolicy_RETAIN})
	plan := awsbackup.BackupPlan_Daily35DayRetention(scope, jsii.String(id+"BackupPlan"), vault)
	var br []awsbackup.BackupResource
	for _, r := range resources {
		br = append(br, r.resource)
	}
	sel := plan.AddSelection(jsii.String("Selection"), &awsbackup.BackupSelectionOptions{Resources: &br})
	cdknag.NagSuppressions_AddResourceSuppressions(sel, &[]*cdknag.NagPackSuppression{{
		Id: jsii.String("AwsSolutions-IAM4"),
		Reason: jsii.String("AWS Backup's selection role uses AWS's service role policy AWSBackupServiceRolePolicyForBackup, which AWS " +
			"keeps current with the services Backup supports (AWS Backup Developer Guide, default service role)"),
		AppliesTo: &[]any{"Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup"},
	}}, jsii.Bool(true))
}

// backupTarget is one resource for backUpForPacks: its construct (for a development suppression) and
// its AWS Backup resource.
type backupTarget struct {
	node     constructs.IConstruct
	resource awsbackup.BackupResource
}
