package test

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
)

// statefulTypes hold data: renaming one of their logical IDs makes CloudFormation replace the resource
// and lose what it holds.
var statefulTypes = []string{
	"AWS::S3::Bucket", "AWS::DynamoDB::Table", "AWS::DynamoDB::GlobalTable", "AWS::EFS::FileSystem",
	"AWS::Cognito::UserPool", "AWS::Logs::LogGroup", "AWS::ECR::Repository", "AWS::KMS::Key",
	// A replaced database password secret would no longer match the password MariaDB keeps on EFS.
	"AWS::SecretsManager::Secret",
	// Recovery points: a replaced vault is a new, empty one (the old one is retained, orphaned).
	"AWS::Backup::BackupVault",
}

// pinnedLogicalIDs is the contract: every stateful resource of every instance file, by stack and type.
// A change here is a data-loss event in a deployed instance; make it only with a migration plan.
var pinnedLogicalIDs = map[string]map[string]map[string][]string{
	"example": {
		// <Provider>LogGroup: the log groups of the CDK's custom resource provider functions (F16).
		"Base": {"AWS::Logs::LogGroup": {"CustomVpcRestrictDefaultSGCustomResourceProviderLogGroup873C9E95", "NetworkFlowLogs2BEC3212"}},
		"Auth": {"AWS::Cognito::UserPool": {"AuthUserPool8115E87F"}},
		"JobsData": {
			"AWS::DynamoDB::Table": {"StoreJobsTableAB5AB593", "StoreUsersTable6FD0F967"},
			"AWS::S3::Bucket":      {"StoreJobsBucket39AB0646", "StoreLogsBucket28104788"},
			"AWS::Logs::LogGroup":  {"CustomS3AutoDeleteObjectsCustomResourceProviderLogGroup73C4029F"},
		},
		// Job logs: kept in production (jobs.lifecycle), so pinned as data; and the fleet drain's.
		"Jobs":       {"AWS::Logs::LogGroup": {"RunnerFleetDrainLogsBD0AA0B5", "RunnerJobLogs5206E837"}},
		"Lookup":     lookupServiceIDs,
		"LookupData": withLogGroup(lookupDataIDs, "CustomS3AutoDeleteObjectsCustomResourceProviderLogGroup73C4029F"),
		"Hub": {
			"AWS::ECR::Repository": {"HubRepositorygpunotebook9AFB48AE", "HubRepositorynotebook02148FD0"},
			"AWS::EFS::FileSystem": {"HubHomeFileSystem415A4BDF"},
			"AWS::KMS::Key":        {"HubSecretsKey9B4FA79E"},
			"AWS::S3::Bucket":      {"HubLogsBucketCA0713A8"},
			"AWS::Logs::LogGroup": {"AWSCDKCfnUtilsProviderCustomResourceProviderLogGroupEB632C0D",
				"CustomS3AutoDeleteObjectsCustomResourceProviderLogGroup73C4029F", "HubClusterKubectlProviderHandlerLogGroupA782E9DD",
				"HubClusterKubectlProviderframeworkonEventLogGroup259EB5B7", "HubClusterOpsLogs4DC21532"},
		},
		"Registry": {
			"AWS::DynamoDB::Table": {"RegistryRecords148C47DF"},
			"AWS::S3::Bucket": {"RegistryDatasetExampleOrgHelioPrivateE4397B6E", "RegistryDatasetExampleOrgHelioPublic5FEAA3DE",
				"RegistryLogsBucket315376BB", "RegistryUploadBucket23E153CC"},
			"AWS::Logs::LogGroup": {"CustomS3AutoDeleteObjectsCustomResourceProviderLogGroup73C4029F", "RegistryCatalogLogs6B6CE836", "RegistryCopyLogsC3C9B2D6", "RegistryIndexLogs36931C1E",
				"RegistryReportLogs1123AF52", "RegistryValidateLogs873327CD", "RegistryWorkflowLogsBE62DF28"},
		},
		// The run table: runs, locks, holds and the sizes stops saved (lose it and a start cannot restore them).
		"Control": {
			"AWS::DynamoDB::Table": {"ControlRunTable203502E3"},
			"AWS::Logs::LogGroup": {"ControlNotebooksFunctionLogs036BC0F6", "ControlNotebooksWorkflowLogs3B6C7BC4",
				"ControlStagingFunctionLogs5A8B6718", "ControlStagingWorkflowLogs729AB3C4", "PageAccessLogsB13862CC", "PageFunctionLogs9FDD474E"},
		},
	},
	// Production: each stack with log groups has its logs key (stacks.secureLogGroups).
	"lookup-existing-vpc": {
		"Lookup":     withLogsKey(lookupServiceIDs),
		"LookupData": withLogsKey(lookupDataIDs),
	},
	"regulated": {
		"Base": {"AWS::Logs::LogGroup": {"CustomVpcRestrictDefaultSGCustomResourceProviderLogGroup873C9E95", "NetworkFlowLogs2BEC3212"}, "AWS::KMS::Key": {"LogsKeyA6AB43B2"}},
		"Auth": {"AWS::Cognito::UserPool": {"AuthUserPool8115E87F"}},
		// With a pack: the store's own key and its backup vault, the WAF's log group.
		"JobsData": {
			"AWS::Backup::BackupVault": {"StoreBackupVault16295E0A"},
			"AWS::DynamoDB::Table":     {"StoreJobsTableAB5AB593", "StoreUsersTable6FD0F967"},
			"AWS::KMS::Key":            {"DataKey17AFBB84"},
			"AWS::S3::Bucket":          {"StoreJobsBucket39AB0646", "StoreLogsBucket28104788"},
		},
		"Jobs": {"AWS::KMS::Key": {"LogsKeyA6AB43B2"}, "AWS::Logs::LogGroup": {"RunnerFleetDrainLogsBD0AA0B5", "RunnerJobLogs5206E837", "RunnerWebAclLogs27D533AC"}},
		"Hub": {
			"AWS::Backup::BackupVault": {"HubHomeBackupVault4BBBB407"},
			"AWS::ECR::Repository":     {"HubRepositorynotebook02148FD0"},
			"AWS::EFS::FileSystem":     {"HubHomeFileSystem415A4BDF"},
			"AWS::KMS::Key":            {"HubSecretsKey9B4FA79E", "LogsKeyA6AB43B2"},
			"AWS::Logs::LogGroup": {"AWSCDKCfnUtilsProviderCustomResourceProviderLogGroupEB632C0D", "HubClusterKubectlProviderHandlerLogGroupA782E9DD",
				"HubClusterKubectlProviderframeworkonEventLogGroup259EB5B7", "HubClusterOpsLogs4DC21532", "HubWebAclLogs43CDD993"},
			"AWS::S3::Bucket": {"HubLogsBucketCA0713A8"},
		},
		// With a pack in production, the run table, the records table and the lookup file system are in an
		// AWS Backup plan whose vault holds the recovery points (stacks.backUpForPacks).
		"Control": {
			"AWS::Backup::BackupVault": {"RunTableBackupVaultBFE7A876"},
			"AWS::DynamoDB::Table":     {"ControlRunTable203502E3"},
			"AWS::KMS::Key":            {"LogsKeyA6AB43B2"},
			"AWS::Logs::LogGroup": {"ControlLookupFunctionLogsE713A7F3", "ControlLookupWorkflowLogsB2D1ABD8",
				"PageAccessLogsB13862CC", "PageFunctionLogs9FDD474E"},
		},
		// With a pack, the web ACL's log group.
		"Lookup": withLogsKey(map[string][]string{"AWS::Logs::LogGroup": append(slices.Clone(lookupServiceIDs["AWS::Logs::LogGroup"]), "ServiceWebAclLogsB0C7DDCC")}),
		// With a pack, the lookup secrets have their own customer-managed key (SecretsKey).
		"LookupData": withLogsKey(map[string][]string{
			"AWS::KMS::Key":               {"LogsKeyA6AB43B2", "SecretsKey317DCF94"},
			"AWS::Backup::BackupVault":    {"FileSystemBackupVaultABF16BF0"},
			"AWS::EFS::FileSystem":        lookupDataIDs["AWS::EFS::FileSystem"],
			"AWS::Logs::LogGroup":         lookupDataIDs["AWS::Logs::LogGroup"],
			"AWS::S3::Bucket":             lookupDataIDs["AWS::S3::Bucket"],
			"AWS::SecretsManager::Secret": lookupDataIDs["AWS::SecretsManager::Secret"],
		}),
		"Registry": {
			"AWS::Backup::BackupVault": {"RecordsBackupVaultA6F30CC5"},
			"AWS::DynamoDB::Table":     {"RegistryRecords148C47DF"},
			// DataKey: the upload and private dataset buckets' key; a replaced key could not read them.
			"AWS::KMS::Key": {"DataKey17AFBB84", "LogsKeyA6AB43B2"},
			"AWS::Logs::LogGroup": {"RegistryCatalogLogs6B6CE836", "RegistryCopyLogsC3C9B2D6", "RegistryIndexLogs36931C1E",
				"RegistryReportLogs1123AF52", "RegistryValidateLogs873327CD", "RegistryWorkflowLogsBE62DF28"},
			"AWS::S3::Bucket": {"RegistryDatasetResearchComputingRegulatedPrivateA8D39C4F", "RegistryLogsBucket315376BB",
				"RegistryUploadBucket23E153CC"},
		},
	},
	"archive": {},
}

// withLogsKey is ids plus the stack's customer-managed key for its log groups.
func withLogsKey(ids map[string][]string) map[string][]string {
	out := map[string][]string{"AWS::KMS::Key": {"LogsKeyA6AB43B2"}}
	for k, v := range ids {
		out[k] = v
	}
	return out
}

func TestStatefulLogicalIDsArePinned(t *testing.T) {
	for _, name := range instanceNames(t) {
		t.Run(name, func(t *testing.T) {
			want, ok := pinnedLogicalIDs[name]
			if !ok {
				t.Skipf("instance %s has no pinned IDs: add them to pinnedLogicalIDs once it is deployed", name)
			}
			s := synth(t, name)
			got := map[string]map[string][]string{}
			for _, id := range s.stackIDs() {
				for _, typ := range statefulTypes {
					if ids := resourcesOfType(s.templates[id], typ); len(ids) > 0 {
						if got[id] == nil {
							got[id] = map[string][]string{}
						}
						got[id][typ] = ids
					}
				}
			}
			assert.Equal(t, want, got)
		})
	}
}

// lookupServiceIDs are the same in every instance: every lookup instance syncs its authorities.
var lookupServiceIDs = map[string][]string{"AWS::Logs::LogGroup": {"ServiceAppLogs089362DE", "ServiceDatabaseLogs64D5CF44",
	"ServiceRestartAfterSyncLogs3AAA4853", "ServiceSyncLogsE414ABAF"}}

// lookupDataIDs are the same in every instance: the construct paths do not depend on configuration.
var lookupDataIDs = map[string][]string{
	"AWS::EFS::FileSystem": {"StorageFileSystemFFD87EE1"},
	"AWS::Logs::LogGroup":  {"StorageEnvFileDeploymentLogs1A31E64E"},
	"AWS::S3::Bucket":      {"StorageConfigBucket20979455", "StorageLogsBucket16160246"},
	"AWS::SecretsManager::Secret": {"StorageDatabasePassword72661338", "StorageDatabaseRootPassword46444901",
		"StorageReloadTokenD8B64465", "StorageSecretKeyBase51F2EC96"},
}

// withLogGroup is ids with one more log group (sorted first, as resourcesOfType sorts).
func withLogGroup(ids map[string][]string, group string) map[string][]string {
	out := map[string][]string{}
	for k, v := range ids {
		out[k] = v
	}
	out["AWS::Logs::LogGroup"] = append([]string{group}, ids["AWS::Logs::LogGroup"]...)
	return out
}
