package stacks

import (
	"encoding/json"
	"regexp"

	"github.com/aws/aws-cdk-go/awscdk/v2"
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
	return &Registry{Stack: s, Registry: reg}
}
