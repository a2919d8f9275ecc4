package stacks

import (
	"encoding/json"
	"regexp"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsbackup"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsssm"
	"github.com/aws/jsii-runtime-go"
	"github.com/stratolab/stratolab/constructs/registry"
	"github.com/stratolab/stratolab/instance"
	"github.com/stratolab/stratolab/internal/published"
)

// Registry is HelioCloud's data registry: <instance>/Registry. Its buckets and table are the data;
// the workflow beside them holds none, and the stack publishes what the CLI needs under
// /stratolab/<instance>/registry/.
type Registry struct {
	Stack    awscdk.Stack
	Registry *registry.Registry
}

// RegistryModule is the module name of the registry's published parameters.
const RegistryModule = "registry"

var accountIDRe = regexp.MustCompile(`^[0-9]{12}$`)

func newRegistry(in *Instance, cfg *instance.Config) *Registry {
	rc := cfg.Registry
	s := in.newStack(cfg, "Registry", "data registry: dataset buckets, upload bucket, records and ingest workflow")
	var buckets []registry.DatasetBucket
	for _, b := range rc.Buckets {
		var readers []awsiam.IPrincipal
		for _, rd := range b.Readers {
			if accountIDRe.MatchString(rd) {
				readers = append(readers, awsiam.NewAccountPrincipal(jsii.String(rd)))
			} else {
				readers = append(readers, awsiam.NewArnPrincipal(jsii.String(rd)))
			}
		}
		buckets = append(buckets, registry.DatasetBucket{Name: b.Name, Access: registry.Access(b.Access), CatalogName: b.CatalogName,
			Contact: b.Contact, Description: b.Description, Readers: readers, CorsOrigins: b.CorsOrigins})
	}
	props := &registry.Props{
		DatasetBuckets: buckets, UploadBucketName: rc.UploadBucketName, UploadExpiryDays: rc.UploadExpiryDays,
		AllowRetraction: rc.AllowRetraction, MarkerName: rc.Marker, CopyBatchSize: rc.CopyBatchSize, CopyConcurrency: rc.CopyConcurrency,
		JobTimeout: awscdk.Duration_Hours(jsii.Number(rc.JobTimeoutHours)), Lifecycle: lifecycleFor(cfg, rc.Lifecycle),
	}
	if rc.NotificationTopic != "" {
		props.NotificationTopic = awssns.Topic_FromTopicArn(s, jsii.String("NotificationTopic"), jsii.String(rc.NotificationTopic))
	}
	reg := registry.New(s, "Registry", props)

	type access struct {
		Name   string `json:"name"`
		Access string `json:"access"`
	}
	var list []access
	var entries []map[string]any
	for _, b := range rc.Buckets {
		list = append(list, access{b.Name, b.Access})
		if b.Access == "public" {
			entries = append(entries, map[string]any{"endpoint": "s3://" + b.Name + "/", "name": b.CatalogName, "provider": "aws", "region": s.Region()})
		}
	}
	bucketsJSON, _ := json.Marshal(list)
	params := []struct {
		id, key, desc string
		value         *string
	}{
		{"UploadBucketParameter", "upload-bucket", "the registry's upload bucket", reg.UploadBucket.BucketName()},
		{"WorkflowParameter", "state-machine-arn", "the registry's ingest workflow", reg.Workflow.StateMachineArn()},
		{"RecordsTableParameter", "records-table", "the registry's records table", reg.Records.TableName()},
		{"BucketsParameter", "dataset-buckets", "the registry's dataset buckets and their access modes (JSON)", jsii.String(string(bucketsJSON))},
		{"MarkerParameter", "marker", "the object that starts an ingest job", jsii.String(rc.Marker)},
	}
	for _, p := range params {
		awsssm.NewStringParameter(s, jsii.String(p.id), &awsssm.StringParameterProps{
			ParameterName: jsii.String(published.Path(cfg.Name, RegistryModule) + p.key),
			StringValue:   p.value,
			Description:   jsii.String("stratolab " + cfg.Name + ": " + p.desc),
		})
	}
	outputs := map[string]struct {
		value *string
		desc  string
	}{
		"UploadBucketName": {reg.UploadBucket.BucketName(), "Upload ingest jobs here: s3://<bucket>/<job>/ (stratolab registry upload)"},
		"WorkflowArn":      {reg.Workflow.StateMachineArn(), "The ingest workflow (stratolab registry ingest)"},
		"RecordsTableName": {reg.Records.TableName(), "Catalog records (one item per dataset)"},
	}
	if len(entries) > 0 {
		// Region may be a token, so the JSON is joined at deploy time.
		parts := []*string{jsii.String("[")}
		for i, e := range entries {
			if i > 0 {
				parts = append(parts, jsii.String(","))
			}
			head, _ := json.Marshal(map[string]any{"endpoint": e["endpoint"], "name": e["name"], "provider": "aws"})
			parts = append(parts, jsii.String(string(head[:len(head)-1])+`,"region":"`), s.Region(), jsii.String(`"}`))
		}
		parts = append(parts, jsii.String("]"))
		outputs["HelioDataRegistryEntries"] = struct {
			value *string
			desc  string
		}{awscdk.Fn_Join(jsii.String(""), &parts), "Entries for HelioDataRegistry.json (the global list of catalogs), one per public bucket"}
	}
	for id, o := range outputs {
		awscdk.NewCfnOutput(s, jsii.String(id), &awscdk.CfnOutputProps{Value: o.value, Description: jsii.String(o.desc)})
	}
	registryPackExemptions(cfg, s, reg)
	return &Registry{Stack: s, Registry: reg}
}

// registryPackExemptions: what the registry meets of NIST 800-53 R5 and HIPAA by design rather than by
// the rule's letter (docs/COMPLIANCE.md, registry column). The records table is backed up for real.
func registryPackExemptions(cfg *instance.Config, s awscdk.Stack, reg *registry.Registry) {
	backUpForPacks(cfg, s, "Records", "DynamoDBInBackupPlan",
		backupTarget{reg.Records, awsbackup.BackupResource_FromDynamoDbTable(reg.Records)})
	exemptFromPacks(cfg, s, packRules{
		"AWS::IAM::Policy": {"IAMNoInlinePolicy": "The CDK's grants for one ingest step's role (or the workflow's), scoped to this registry's " +
			"buckets, records table, functions and state machine; attached to that one role only, so a managed policy would grant no less"},
		"AWS::Lambda::Function": {
			"LambdaDLQ": "Invoked synchronously by the ingest workflow's LambdaInvoke tasks (RequestResponse); a DLQ holds only failed " +
				"asynchronous events, and the workflow's catch routes a failed step to its report step",
			"LambdaConcurrency": "Bounded by the workflow: the copy step's distributed map runs at most registry.copy_concurrency children and " +
				"the other steps run once per job; reserving concurrency takes from the account's unreserved pool and fails the deploy in " +
				"accounts at the new-account limit",
			"LambdaInsideVPC": "The steps reach only S3, DynamoDB and Step Functions endpoints with IAM auth over TLS; a VPC would route the " +
				"copy step's bulk data through NAT gateways (charged per GB) and narrow nothing it can reach",
		},
		"AWS::S3::Bucket": {
			"S3DefaultEncryptionKMS": "SSE-S3: dataset buckets are read by the readers' accounts and anonymous open-data readers, " +
				"which a customer-managed key would need grants for in every reader account; not met yet for the upload and logs buckets " +
				"(a logs bucket under SSE-KMS also needs its key policy to let logging.s3.amazonaws.com use the key, aws-cdk #25350)",
			"S3BucketReplicationEnabled": "Cross-region replication needs a second bucket per bucket in a region the instance chooses; " +
				"it is a per-instance decision, not a registry default",
		},
	})
	for _, b := range cfg.Registry.Buckets {
		if b.Access == "public" {
			reason := "access: public: an open-data bucket served to anonymous readers by design (HelioCloud's public registry); " +
				"it holds published data only, never regulated data"
			exempt(cfg, reg.DatasetBuckets[b.Name], map[string]string{
				"S3BucketLevelPublicAccessProhibited": reason, "S3BucketPublicReadProhibited": reason, "S3BucketPublicWriteProhibited": reason,
			})
		}
	}
}
