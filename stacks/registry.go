package stacks

import (
	"encoding/json"
	"regexp"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsbackup"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsssm"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
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
		UploaderPolicyName: cfg.Name + "-registry-uploaders",
	}
	if needsCustomerManagedKeys(cfg) {
		// NIST SC-28 / HIPAA 164.312(a)(2)(iv): the upload bucket and the private dataset buckets under a
		// key of the instance's own, granted to each reader (registry.grantKey, the readers' key policy
		// statements, the uploader policy). Without a pack there is no key: a key costs 1 USD a month.
		props.EncryptionKey = awskms.NewKey(s, jsii.String("DataKey"), &awskms.KeyProps{
			Description:       jsii.String("Encrypts the registry's upload bucket and private dataset buckets"),
			EnableKeyRotation: jsii.Bool(true),
			PendingWindow:     awscdk.Duration_Days(jsii.Number(7)),
			RemovalPolicy:     props.Lifecycle.RemovalPolicy,
		})
	}
	if rc.NotificationTopic != "" {
		props.NotificationTopic = awssns.Topic_FromTopicArn(s, jsii.String("NotificationTopic"), jsii.String(rc.NotificationTopic))
	}
	reg := registry.New(s, "Registry", props)
	path := *s.FormatArn(&awscdk.ArnComponents{Service: jsii.String("ssm"), Resource: jsii.String("parameter"),
		ResourceName: jsii.String(strings.TrimSuffix(strings.TrimPrefix(published.Path(cfg.Name, RegistryModule), "/"), "/"))})
	reg.UploaderPolicy.AddStatements(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid: jsii.String("FindRegistry"), Actions: jsii.Strings("ssm:GetParametersByPath"), Resources: jsii.Strings(path, path+"/*"),
	}))
	cdknag.NagSuppressions_AddResourceSuppressions(reg.UploaderPolicy, &[]*cdknag.NagPackSuppression{{
		Id:        jsii.String("AwsSolutions-IAM5"),
		Reason:    jsii.String("The CLI reads this instance's registry parameters by path (/stratolab/<instance>/registry/*)."),
		AppliesTo: &[]any{cdknag.RegexAppliesTo{Regex: jsii.String(`/^Resource::arn:.*:parameter\/stratolab\/.*\/registry\/\*$/g`)}},
	}}, jsii.Bool(true))

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
		"UploaderPolicyArn": {reg.UploaderPolicy.ManagedPolicyArn(), "Attach to the people who run stratolab registry upload and ingest " +
			"(a permission set's customer managed policy " + cfg.Name + "-registry-uploaders, or an IAM group)"},
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
	if reg.EncryptionKey != nil {
		// A private bucket's readers in other accounts need kms:Decrypt on this key in their own IAM
		// policies as well as the key policy's grant (AWS KMS Developer Guide, "Allowing users in other
		// accounts to use a KMS key"): they need its ARN.
		outputs["DataKeyArn"] = struct {
			value *string
			desc  string
		}{reg.EncryptionKey.KeyArn(), "The registry's key (upload and private buckets): readers in other accounts allow kms:Decrypt on it in their own IAM policies"}
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
			"S3BucketReplicationEnabled": "Cross-region replication needs a second bucket per bucket in a region the instance chooses; " +
				"it is a per-instance decision, not a registry default",
		},
	})
	// The logs bucket only receives S3 server access logs. aws-cdk-lib 2.270.0 (aws-s3 bucket.js,
	// renderServerAccessLogs) grants a logs bucket's key to logging.s3.amazonaws.com, so the CDK takes
	// SSE-KMS destinations to work with that key policy; the S3 User Guide's words on it were not found
	// in the reference material, so the bucket stays SSE-S3 (no deploy that could fail), suppressed.
	exempt(cfg, reg.LogsBucket, map[string]string{"S3DefaultEncryptionKMS": "Access logs bucket, SSE-S3: it receives only S3 server access " +
		"logs (request records, no data; the buckets they describe use the registry's DataKey); an SSE-KMS destination would need its key " +
		"policy to let logging.s3.amazonaws.com use the key, not verified against the S3 User Guide"})
	for _, b := range cfg.Registry.Buckets {
		switch b.Access {
		case "public":
			exempt(cfg, reg.DatasetBuckets[b.Name], map[string]string{"S3DefaultEncryptionKMS": "access: public, SSE-S3: anonymous readers " +
				"send unsigned requests, and S3 refuses an unsigned GET of an SSE-KMS object, so open data cannot use a customer-managed key"})
		case "requester-pays":
			exempt(cfg, reg.DatasetBuckets[b.Name], map[string]string{"S3DefaultEncryptionKMS": "access: requester-pays, SSE-S3: any AWS " +
				"account may read and pay, and a key policy cannot name every account"})
		}
		if b.Access == "public" {
			reason := "access: public: an open-data bucket served to anonymous readers by design (HelioCloud's public registry); " +
				"it holds published data only, never regulated data"
			exempt(cfg, reg.DatasetBuckets[b.Name], map[string]string{
				"S3BucketLevelPublicAccessProhibited": reason, "S3BucketPublicReadProhibited": reason, "S3BucketPublicWriteProhibited": reason,
			})
		}
	}
}
