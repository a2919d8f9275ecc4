package test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/cxapi"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
	"github.com/stratolab/stratolab/constructs/lifecycle"
	"github.com/stratolab/stratolab/constructs/registry"
	"github.com/stratolab/stratolab/instance"
	"github.com/stratolab/stratolab/internal/ingest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func registryTemplate(t *testing.T) assertions.Template {
	return template(synth(t, "example").stack(t, "Registry"))
}

func registryJSON(t *testing.T) map[string]any { return synth(t, "example").templates["Registry"] }

// resourcesWhere returns the resources of a type whose logical ID starts with prefix.
func resourcesWhere(tpl map[string]any, typ, prefix string) []map[string]any {
	var out []map[string]any
	for _, id := range resourcesOfType(tpl, typ) {
		if strings.HasPrefix(id, prefix) {
			out = append(out, tpl["Resources"].(map[string]any)[id].(map[string]any))
		}
	}
	return out
}

// statements returns the statements of the policies attached to roles whose logical IDs start with prefix.
func statements(t *testing.T, tpl map[string]any, rolePrefix string) []map[string]any {
	var out []map[string]any
	for _, p := range resourcesWhere(tpl, "AWS::IAM::Policy", rolePrefix) {
		doc := p["Properties"].(map[string]any)["PolicyDocument"].(map[string]any)
		for _, s := range doc["Statement"].([]any) {
			out = append(out, s.(map[string]any))
		}
	}
	require.NotEmpty(t, out, "no policy statements for %s", rolePrefix)
	return out
}

func asJSON(v any) string { b, _ := json.Marshal(v); return string(b) }

func TestRegistryPublicBucketIsReadableAnonymouslyOverTLSWithCors(t *testing.T) {
	tpl := registryTemplate(t)
	tpl.HasResourceProperties(jsii.String("AWS::S3::Bucket"), map[string]any{
		"BucketName": "example-org-helio-public",
		"PublicAccessBlockConfiguration": map[string]any{
			"BlockPublicAcls": true, "IgnorePublicAcls": true, "BlockPublicPolicy": false, "RestrictPublicBuckets": false},
		"OwnershipControls":       map[string]any{"Rules": []any{map[string]any{"ObjectOwnership": "BucketOwnerEnforced"}}},
		"VersioningConfiguration": map[string]any{"Status": "Enabled"},
		"BucketEncryption": map[string]any{"ServerSideEncryptionConfiguration": []any{
			map[string]any{"ServerSideEncryptionByDefault": map[string]any{"SSEAlgorithm": "AES256"}}}},
		"LoggingConfiguration": map[string]any{"DestinationBucketName": ref("RegistryLogsBucket"), "LogFilePrefix": "s3-access/example-org-helio-public/"},
		"CorsConfiguration": map[string]any{"CorsRules": []any{assertions.Match_ObjectLike(&map[string]any{
			"AllowedMethods": []any{"GET", "HEAD"}, "AllowedOrigins": []any{"*"}})}},
		"LifecycleConfiguration": map[string]any{"Rules": assertions.Match_ArrayWith(&[]any{assertions.Match_ObjectLike(&map[string]any{
			"Id": "abort-incomplete-uploads", "AbortIncompleteMultipartUpload": map[string]any{"DaysAfterInitiation": 7}})})},
	})
	tpl.HasResourceProperties(jsii.String("AWS::S3::BucketPolicy"), map[string]any{
		"Bucket": ref("RegistryDatasetExampleOrgHelioPublic"),
		"PolicyDocument": map[string]any{"Statement": assertions.Match_ArrayWith(&[]any{
			map[string]any{"Action": "s3:*", "Effect": "Deny", "Principal": map[string]any{"AWS": "*"},
				"Condition": map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}}, "Resource": assertions.Match_AnyValue()},
			map[string]any{"Sid": "PublicRead", "Effect": "Allow", "Principal": map[string]any{"AWS": "*"}, "Action": "s3:GetObject",
				"Resource": map[string]any{"Fn::Join": []any{"", []any{arnOf("RegistryDatasetExampleOrgHelioPublic"), "/*"}}}},
			map[string]any{"Sid": "PublicList", "Effect": "Allow", "Principal": map[string]any{"AWS": "*"}, "Action": "s3:ListBucket",
				"Resource": arnOf("RegistryDatasetExampleOrgHelioPublic")},
		})},
	})
}

func TestRegistryPrivateBucketIsReadableByItsReadersOnly(t *testing.T) {
	tpl := registryTemplate(t)
	tpl.HasResourceProperties(jsii.String("AWS::S3::Bucket"), map[string]any{
		"BucketName": "example-org-helio-private",
		"PublicAccessBlockConfiguration": map[string]any{
			"BlockPublicAcls": true, "IgnorePublicAcls": true, "BlockPublicPolicy": true, "RestrictPublicBuckets": true},
		"CorsConfiguration": assertions.Match_Absent(),
	})
	policy := resourcesWhere(registryJSON(t), "AWS::S3::BucketPolicy", "RegistryDatasetExampleOrgHelioPrivate")
	require.Len(t, policy, 1)
	text := asJSON(policy[0])
	assert.Contains(t, text, `"Sid":"ListedReadersRead"`)
	assert.Contains(t, text, ":iam::210987654321:root")
	assert.Contains(t, text, "arn:aws:iam::123456789012:role/ResearchComputingAdmins")
	assert.NotContains(t, text, `"AWS":"*"},"Action":"s3:GetObject"`, "a private bucket is not public")
}

func TestRegistryUploadBucketExpiresJobsAndSendsEventsToEventBridge(t *testing.T) {
	registryTemplate(t).HasResourceProperties(jsii.String("AWS::S3::Bucket"), map[string]any{
		"NotificationConfiguration": map[string]any{"EventBridgeConfiguration": map[string]any{"EventBridgeEnabled": true}},
		"PublicAccessBlockConfiguration": map[string]any{
			"BlockPublicAcls": true, "IgnorePublicAcls": true, "BlockPublicPolicy": true, "RestrictPublicBuckets": true},
		"LifecycleConfiguration": map[string]any{"Rules": assertions.Match_ArrayWith(&[]any{assertions.Match_ObjectLike(&map[string]any{
			"Id": "expire-jobs", "ExpirationInDays": 14})})},
	})
}

func TestRegistryRecordsAreOnDemandWithRecovery(t *testing.T) {
	tpl := registryTemplate(t)
	tpl.ResourceCountIs(jsii.String("AWS::DynamoDB::Table"), jsii.Number(1))
	tpl.HasResourceProperties(jsii.String("AWS::DynamoDB::Table"), map[string]any{
		"KeySchema":                        []any{map[string]any{"AttributeName": "id", "KeyType": "HASH"}},
		"BillingMode":                      "PAY_PER_REQUEST",
		"PointInTimeRecoverySpecification": map[string]any{"PointInTimeRecoveryEnabled": true},
		"SSESpecification":                 map[string]any{"SSEEnabled": true},
	})
	// Zero idle cost: no VPC, no NAT, no database server.
	for _, typ := range []string{"AWS::EC2::VPC", "AWS::EC2::NatGateway", "AWS::DocDB::DBCluster", "AWS::RDS::DBInstance", "AWS::EC2::SecurityGroup"} {
		tpl.ResourceCountIs(jsii.String(typ), jsii.Number(0))
	}
}

func TestRegistryFunctionsAreGoOnArm64(t *testing.T) {
	fns := resourcesWhere(registryJSON(t), "AWS::Lambda::Function", "Registry")
	require.Len(t, fns, 5)
	for _, f := range fns {
		p := f["Properties"].(map[string]any)
		assert.Equal(t, "provided.al2023", p["Runtime"])
		assert.Equal(t, []any{"arm64"}, p["Architectures"])
		assert.Equal(t, "bootstrap", p["Handler"])
		assert.Nil(t, p["VpcConfig"])
		assert.NotContains(t, asJSON(p["Layers"]), "arn", "no layers")
	}
}

func TestRegistryWorkflowCopiesWithADistributedMapAndNoFifteenMinuteWall(t *testing.T) {
	tpl := registryJSON(t)
	machines := resourcesWhere(tpl, "AWS::StepFunctions::StateMachine", "RegistryWorkflow")
	require.Len(t, machines, 1)
	def := asJSON(machines[0]["Properties"].(map[string]any)["DefinitionString"])
	for _, want := range []string{
		`\"Type\":\"Map\"`, `\"ItemReader\":{\"Resource\":\"arn:`, `:states:::s3:getObject\"`, `\"InputType\":\"JSON\"`,
		`\"Bucket.$\":\"$.validate.upload_bucket\"`, `\"Key.$\":\"$.validate.copy_list\"`,
		`\"MaxConcurrency\":40`, `\"Mode\":\"DISTRIBUTED\"`, `\"ExecutionType\":\"STANDARD\"`,
		`\"JobValid\"`, `\"ReportInvalid\"`, `\"ReportFailed\"`, `events:putEvents`, `\"Source\":\"stratolab.registry\"`,
	} {
		assert.Contains(t, def, want)
	}
	p := machines[0]["Properties"].(map[string]any)
	assert.Equal(t, "STANDARD", p["StateMachineType"])
	// The whole job's limit is the state machine's (24 h), not a function's 15 minutes.
	assert.Contains(t, def, `\"TimeoutSeconds\":86400`)
	// Validate writes the list already in batches (sized by count, bytes and JSON size): a batcher
	// would wrap them again.
	assert.NotContains(t, def, "ItemBatcher")
}

func TestRegistryMarkerObjectStartsTheWorkflow(t *testing.T) {
	registryTemplate(t).HasResourceProperties(jsii.String("AWS::Events::Rule"), map[string]any{
		"EventPattern": map[string]any{
			"source": []any{"aws.s3"}, "detail-type": []any{"Object Created"},
			"detail": map[string]any{"bucket": map[string]any{"name": []any{ref("RegistryUploadBucket")}},
				"object": map[string]any{"key": []any{map[string]any{"suffix": "/_READY"}}}},
		},
		"Targets": []any{assertions.Match_ObjectLike(&map[string]any{
			"Arn":              ref("RegistryWorkflow"),
			"InputTransformer": assertions.Match_ObjectLike(&map[string]any{"InputPathsMap": map[string]any{"detail-object-key": "$.detail.object.key"}}),
		})},
	})
}

// The roles' rights, step by step: the rule being that only Catalog writes catalog.json, only Report
// deletes uploads, and nothing deletes from a dataset bucket unless retraction is on.
func TestRegistryRolesAreLeastPrivilege(t *testing.T) {
	tpl := registryJSON(t)
	for _, step := range []string{"Validate", "Copy", "Index", "Catalog", "Report"} {
		text := asJSON(statements(t, tpl, "Registry"+step+"Role"))
		assert.NotContains(t, text, `"s3:*"`, step)
		assert.NotContains(t, text, `"Resource":"*"`, step)
		if step != "Catalog" {
			assert.NotContains(t, text, "/catalog.json", "%s must not touch catalog.json", step)
		}
		if step != "Report" && step != "Index" {
			assert.NotContains(t, text, "s3:DeleteObject", "%s must not delete", step)
		}
		if step != "Index" && step != "Catalog" {
			assert.NotContains(t, text, "dynamodb:PutItem", step)
		}
	}
	copyText := asJSON(statements(t, tpl, "RegistryCopyRole"))
	assert.Contains(t, copyText, `"Sid":"WriteData"`)
	assert.Contains(t, copyText, `"/*/*"`, "data keys are under a dataset folder")
	// internal/ingest completeOne: a retried complete phase whose upload is gone checks the copy with
	// HeadObject, which needs s3:GetObject (Service Authorization Reference, Amazon S3, HeadObject).
	var check map[string]any
	for _, st := range statements(t, tpl, "RegistryCopyRole") {
		if st["Sid"] == "CheckCopies" {
			check = st
		}
	}
	require.NotNil(t, check, "the copy role may HEAD what it copied")
	assert.Equal(t, "s3:GetObject", check["Action"])
	assert.Contains(t, asJSON(check["Resource"]), `"/*/*"`)
	catalog := asJSON(statements(t, tpl, "RegistryCatalogRole"))
	assert.Contains(t, catalog, `"/catalog.json"`)
	assert.NotContains(t, catalog, `"/*/*"`)
	// The example allows retraction: Index may delete, on dataset folders only.
	index := asJSON(statements(t, tpl, "RegistryIndexRole"))
	assert.Contains(t, index, "s3:DeleteObject")
}

func TestRegistryPublishesWhatTheCLINeeds(t *testing.T) {
	tpl := registryTemplate(t)
	for key := range map[string]bool{"upload-bucket": true, "state-machine-arn": true, "records-table": true, "dataset-buckets": true, "marker": true} {
		tpl.HasResourceProperties(jsii.String("AWS::SSM::Parameter"), map[string]any{"Name": "/stratolab/example/registry/" + key, "Type": "String"})
	}
	outputs := registryJSON(t)["Outputs"].(map[string]any)
	entry := outputs["HelioDataRegistryEntries"].(map[string]any)["Value"].(string)
	var entries []map[string]string
	require.NoError(t, json.Unmarshal([]byte(entry), &entries))
	assert.Equal(t, []map[string]string{{"endpoint": "s3://example-org-helio-public/", "name": "Example HelioCloud open data", "provider": "aws", "region": "us-east-1"}}, entries)
	for _, o := range []string{"UploadBucketName", "WorkflowArn", "RecordsTableName"} {
		assert.Contains(t, outputs, o)
	}
}

// registryAlone builds the construct in an app of its own with cdk-nag, as another app would use it.
func registryAlone(t *testing.T, props *registry.Props) (awscdk.Stack, cxapi.CloudAssembly, []string) {
	app := newApp(nil)
	stack := awscdk.NewStack(app, jsii.String("Alone"), &awscdk.StackProps{Env: &awscdk.Environment{Account: jsii.String("123456789012"), Region: jsii.String("us-west-2")}})
	registry.New(stack, "Registry", props)
	awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
	asm, violations := synthApp(app)
	return stack, asm, violations
}

// TestRegistryProductionKeepsRequesterPaysOnARetainedBucket: the bucket outlives the stack in production,
// so deleting the stack must not make its owner pay for readers' downloads from then on.
func TestRegistryProductionKeepsRequesterPaysOnARetainedBucket(t *testing.T) {
	stack, _, violations := registryAlone(t, &registry.Props{
		DatasetBuckets: []registry.DatasetBucket{{Name: "lab-helio-paid", Access: registry.AccessRequesterPays}},
		Lifecycle:      lifecycle.Production(),
	})
	require.Empty(t, violations)
	crs := resourcesWhere(*template(stack).ToJSON(), "Custom::AWS", "Registry")
	require.Len(t, crs, 1)
	cr := asJSON(crs[0]["Properties"])
	assert.Contains(t, cr, `"Create":{"Fn::Join"`)
	assert.NotContains(t, cr, `"Delete":`)
}

func TestRegistryRequesterPaysIsKeptInSyncAndWarned(t *testing.T) {
	stack, asm, violations := registryAlone(t, &registry.Props{
		DatasetBuckets: []registry.DatasetBucket{{Name: "lab-helio-paid", Access: registry.AccessRequesterPays}},
		Lifecycle:      lifecycle.Development(),
	})
	require.Empty(t, violations)
	tpl := template(stack)
	crs := resourcesWhere(*tpl.ToJSON(), "Custom::AWS", "Registry")
	require.Len(t, crs, 1)
	cr := asJSON(crs[0]["Properties"])
	for _, want := range []string{
		`"Create":{"Fn::Join"`, `"Update":{"Fn::Join"`, `"Delete":{"Fn::Join"`, `putBucketRequestPayment`,
		`\"RequestPaymentConfiguration\":{\"Payer\":\"Requester\"}`, `\"RequestPaymentConfiguration\":{\"Payer\":\"BucketOwner\"}`,
		`"InstallLatestAwsSdk":false`,
	} {
		assert.Contains(t, cr, want)
	}
	tpl.HasResourceProperties(jsii.String("AWS::IAM::Policy"), map[string]any{"PolicyDocument": map[string]any{"Statement": []any{map[string]any{
		"Action": "s3:PutBucketRequestPayment", "Effect": "Allow", "Resource": arnOf("RegistryDatasetLabHelioPaid")}}}})
	var warned bool
	for _, m := range *asm.GetStackArtifact(stack.ArtifactId()).Messages() {
		if m.Level == cxapi.SynthesisMessageLevel_WARNING && strings.Contains(fmt.Sprint(m.Entry.Data), "requester-pays") {
			warned = true
		}
	}
	assert.True(t, warned, "synth warns that unsigned CloudCatalog clients cannot read a requester-pays bucket")
	// Without retraction nothing may delete from a dataset bucket.
	index := resourcesWhere(*tpl.ToJSON(), "AWS::IAM::Policy", "RegistryIndexRole")
	require.Len(t, index, 1)
	assert.NotContains(t, asJSON(index[0]), "s3:DeleteObject")
}

func TestRegistryConstructPanicsOnBadProps(t *testing.T) {
	for name, p := range map[string]*registry.Props{
		"no buckets":             {},
		"s3 URL for a name":      {DatasetBuckets: []registry.DatasetBucket{{Name: "s3://lab-data", Access: registry.AccessPrivate}}},
		"uppercase name":         {DatasetBuckets: []registry.DatasetBucket{{Name: "Lab-Data", Access: registry.AccessPrivate}}},
		"public without contact": {DatasetBuckets: []registry.DatasetBucket{{Name: "lab-data", Access: registry.AccessPublic, CatalogName: "x"}}},
		"unknown access":         {DatasetBuckets: []registry.DatasetBucket{{Name: "lab-data", Access: "open"}}},
		"same bucket twice":      {DatasetBuckets: []registry.DatasetBucket{{Name: "lab-data", Access: registry.AccessPrivate}, {Name: "lab-data", Access: registry.AccessRequesterPays}}},
	} {
		t.Run(name, func(t *testing.T) {
			app := newApp(nil)
			stack := awscdk.NewStack(app, jsii.String("S"), nil)
			msg := panicMessage(func() { registry.New(stack, "Registry", p) })
			assert.Contains(t, msg, "registry Registry:")
		})
	}
}

// Example_registryInAnotherApp: the construct needs nothing but props.
func Example_registryInAnotherApp() {
	app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(outRoot + "/example-registry"), AnalyticsReporting: jsii.Bool(false)})
	stack := awscdk.NewStack(app, jsii.String("Data"), nil)
	readers := []awsiam.IPrincipal{awsiam.NewAccountPrincipal(jsii.String("210987654321"))}
	r := registry.New(stack, "Registry", &registry.Props{
		DatasetBuckets: []registry.DatasetBucket{
			{Name: "edu-example-helio-public", Access: registry.AccessPublic, CatalogName: "Example HelioCloud", Contact: "data@example.edu"},
			{Name: "edu-example-helio-private", Access: registry.AccessPrivate, Readers: readers},
		},
		AllowRetraction: true,
		Lifecycle:       lifecycle.Development(),
	})
	app.Synth(nil) // in an app with none of stratolab's feature flags
	fmt.Println(len(r.DatasetBuckets), len(r.Functions))
	// Output: 2 5
}

const registryBase = goodInstance + "enabled:\n  registry: true\nregistry:\n"

func withRegistry(keys string) string { return registryBase + keys }

const publicBucket = "  buckets: [{name: lab-helio-public, access: public, catalog_name: Lab data, contact: data@example.edu}]\n"

func TestLoadRejectsBadRegistryConfig(t *testing.T) {
	cases := []struct {
		name, file string
		want       []string
	}{
		{"registry bucket with s3://", withRegistry("  buckets: [{name: \"s3://lab-data\", access: private}]\n"),
			[]string{`lab.yaml:11: registry.buckets[0].name: "s3://lab-data" is a URL (give the bucket name alone, without s3://)`}},
		{"registry bucket with uppercase", withRegistry("  buckets: [{name: Lab-Data, access: private}]\n"),
			[]string{`lab.yaml:11: registry.buckets[0].name: "Lab-Data" has uppercase letters`}},
		{"registry bucket too short", withRegistry("  buckets: [{name: ab, access: private}]\n"),
			[]string{`registry.buckets[0].name: "ab" is 2 characters long (3 to 63)`}},
		{"registry bucket with a dot", withRegistry("  buckets: [{name: edu.lab.data, access: private}]\n"),
			[]string{`registry.buckets[0].name: "edu.lab.data" has a dot`}},
		{"registry bucket listed twice, public and requester-pays", withRegistry("  buckets:\n    - {name: lab-data, access: public, catalog_name: x, contact: y}\n    - {name: lab-data, access: requester-pays}\n"),
			[]string{`lab.yaml:13: registry.buckets[1].name: "lab-data" is already registry.buckets[0] (bucket names are unique)`}},
		{"registry access outside the enum", withRegistry("  buckets: [{name: lab-data, access: open}]\n"),
			[]string{`lab.yaml:11: registry.buckets[0].access: "open" is not allowed (one of: public, requester-pays, private)`}},
		{"registry access missing", withRegistry("  buckets: [{name: lab-data}]\n"),
			[]string{`registry.buckets[0].access: is required (public, requester-pays or private)`}},
		{"registry public bucket without catalog name and contact", withRegistry("  buckets: [{name: lab-data, access: public}]\n"),
			[]string{"registry.buckets[0].catalog_name: is required for a public bucket", "registry.buckets[0].contact: is required for a public bucket"}},
		{"registry no buckets", withRegistry("  allow_retraction: true\n"),
			[]string{"registry.buckets: is empty"}},
		{"registry upload expiry out of range", withRegistry(publicBucket + "  upload_expiry_days: 0\n"),
			[]string{"lab.yaml:12: registry.upload_expiry_days: 0 is out of range (1 to 3650 days)"}},
		{"registry upload bucket is a dataset bucket", withRegistry(publicBucket + "  upload_bucket_name: lab-helio-public\n"),
			[]string{`lab.yaml:12: registry.upload_bucket_name: "lab-helio-public" is also registry.buckets[0]`}},
		{"registry readers on a public bucket", withRegistry("  buckets: [{name: lab-data, access: public, catalog_name: x, contact: y, readers: [\"123456789012\"]}]\n"),
			[]string{"registry.buckets[0].readers: only applies to access: private"}},
		{"registry reader that is not a principal", withRegistry("  buckets: [{name: lab-data, access: private, readers: [alice]}]\n"),
			[]string{`registry.buckets[0].readers[0]: "alice" is not a 12-digit account ID or an IAM role or user ARN`}},
		{"registry marker with a slash", withRegistry(publicBucket + "  marker: a/b\n"),
			[]string{`lab.yaml:12: registry.marker: "a/b" is not a marker file name`}},
		{"registry bad topic ARN", withRegistry(publicBucket + "  notification_topic_arn: my-topic\n"),
			[]string{`registry.notification_topic_arn: "my-topic" is not an SNS topic ARN`}},
		{"registry copy concurrency out of range", withRegistry(publicBucket + "  copy_concurrency: 20000\n"),
			[]string{"registry.copy_concurrency: 20000 is out of range"}},
		{"registry snapshot removal policy", withRegistry(publicBucket + "  lifecycle: {removal_policy: snapshot}\n"),
			[]string{"registry.lifecycle.removal_policy: snapshot is not something S3 buckets support"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { assertLoadRejects(t, tc.file, tc.want) })
	}
}

func TestLoadChecksRegistryOnlyWhenEnabled(t *testing.T) {
	dir := writeInstance(t, "lab", goodInstance+"registry:\n  buckets: [{name: \"s3://x\", access: open}]\n", nil)
	_, err := instance.Load(dir, "lab")
	// The enum is checked by the decoder whatever is enabled; the bucket rules only when enabled.
	if err != nil {
		assert.NotContains(t, err.Error(), "is a URL")
	}
	dir = writeInstance(t, "lab", withRegistry(publicBucket), nil)
	cfg, err := instance.Load(dir, "lab")
	require.NoError(t, err)
	assert.Equal(t, 14, cfg.Registry.UploadExpiryDays)
	assert.Equal(t, "_READY", cfg.Registry.Marker)
}

// The functions' REGISTRY_CONFIG is what internal/ingest reads: every dataset bucket, its access mode
// and catalog metadata, and the retraction switch.
func TestRegistryFunctionsConfigIsWhatTheIngestReads(t *testing.T) {
	fns := resourcesWhere(registryJSON(t), "AWS::Lambda::Function", "RegistryIndexFunction")
	require.Len(t, fns, 1)
	env := fns[0]["Properties"].(map[string]any)["Environment"].(map[string]any)["Variables"].(map[string]any)
	var cfg ingest.Config
	require.NoError(t, json.Unmarshal([]byte(env["REGISTRY_CONFIG"].(string)), &cfg))
	assert.True(t, cfg.AllowRetraction)
	assert.Equal(t, 200, cfg.BatchFiles, "copy_batch_size bounds the batches Validate plans")
	require.Len(t, cfg.Buckets, 2)
	assert.Equal(t, ingest.Bucket{Name: "example-org-helio-public", Access: "public", CatalogName: "Example HelioCloud open data", Contact: "Data team, data@example.org"}, cfg.Buckets[0])
	assert.Equal(t, "private", cfg.Buckets[1].Access)
	assert.Equal(t, "index", env["STEP"])
	assert.Contains(t, asJSON(env["UPLOAD_BUCKET"]), `"Ref":"RegistryUploadBucket`)
	assert.Contains(t, asJSON(env["TABLE_NAME"]), `"Ref":"RegistryRecords`)
}

func TestRegistryProductionKeepsItsData(t *testing.T) {
	stack, _, violations := registryAlone(t, &registry.Props{
		DatasetBuckets: []registry.DatasetBucket{{Name: "lab-helio-open", Access: registry.AccessPublic, CatalogName: "Lab", Contact: "data@example.edu"}},
		Lifecycle:      lifecycle.Production(),
	})
	require.Empty(t, violations)
	tpl := template(stack)
	tpl.AllResources(jsii.String("AWS::S3::Bucket"), map[string]any{"DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain"})
	tpl.HasResource(jsii.String("AWS::DynamoDB::Table"), map[string]any{"DeletionPolicy": "Retain",
		"Properties": assertions.Match_ObjectLike(&map[string]any{"DeletionProtectionEnabled": true})})
	tpl.ResourceCountIs(jsii.String("Custom::S3AutoDeleteObjects"), jsii.Number(0))
}

// TestRegistryWorkflowStaysUnderTheStateSizeLimit: a Step Functions state's data may not pass 256 KiB, and
// States.DataLimitExceeded cannot be caught (developer guide, "Error handling"). So the copy Map writes
// its children's results to S3 (ResultWriter), each child returns only {"done": true}, and the report
// steps keep a summary of the report.
func TestRegistryWorkflowStaysUnderTheStateSizeLimit(t *testing.T) {
	var def string
	for _, r := range synth(t, "example").templates["Registry"]["Resources"].(map[string]any) {
		res := r.(map[string]any)
		if res["Type"] == "AWS::StepFunctions::StateMachine" {
			def = flatten(res["Properties"].(map[string]any)["DefinitionString"])
		}
	}
	var sm struct {
		States map[string]map[string]any
	}
	require.NoError(t, json.Unmarshal([]byte(def), &sm), def)
	copyFiles := sm.States["CopyFiles"]
	require.NotNil(t, copyFiles["ResultWriter"], "the Map's results go to S3")
	batch := copyFiles["ItemProcessor"].(map[string]any)["States"].(map[string]any)["CopyBatch"].(map[string]any)
	assert.Equal(t, map[string]any{"done": true}, batch["ResultSelector"])
	assert.Equal(t, "$.r", batch["OutputPath"])
	for _, name := range []string{"ReportSucceeded", "ReportInvalid", "ReportFailed"} {
		assert.Equal(t, map[string]any{"job.$": "$.job", "status.$": "$.status", "files.$": "$.files", "bytes.$": "$.bytes", "error.$": "$.error", "location.$": "$.location"},
			sm.States[name]["ResultSelector"], name)
	}
}

func registryStates(t *testing.T) map[string]map[string]any {
	t.Helper()
	var def string
	for _, r := range synth(t, "example").templates["Registry"]["Resources"].(map[string]any) {
		res := r.(map[string]any)
		if res["Type"] == "AWS::StepFunctions::StateMachine" {
			def = flatten(res["Properties"].(map[string]any)["DefinitionString"])
		}
	}
	var sm struct {
		States map[string]map[string]any
	}
	require.NoError(t, json.Unmarshal([]byte(def), &sm), def)
	return sm.States
}

// Every step's failure ends in ReportFailed (then the event): Validate's too, so a malformed marker
// or an unreadable entries.json still gives report.json. And the report steps take the job from
// the execution's input ($.job, $.marker), which a failed Validate leaves as it was, never from
// $.validate, which it does not write; the Fail state's cause, likewise, reads only $.report. (A
// JSONPath that matches nothing is a States.Runtime error, which no Catch catches: Step Functions
// developer guide, "Error handling".)
func TestRegistryEveryStepFailureEndsInAReport(t *testing.T) {
	states := registryStates(t)
	for _, name := range []string{"Validate", "StartMultipartCopies", "CopyFiles", "CompleteMultipartCopies", "Index", "Catalog"} {
		st := states[name]
		require.NotNil(t, st, name)
		catches, _ := st["Catch"].([]any)
		require.Len(t, catches, 1, "%s has no Catch", name)
		c := catches[0].(map[string]any)
		assert.Equal(t, []any{"States.ALL"}, c["ErrorEquals"], name)
		assert.Equal(t, "ReportFailed", c["Next"], name)
		assert.Equal(t, "$.error", c["ResultPath"], name)
	}
	for _, name := range []string{"ReportSucceeded", "ReportInvalid", "ReportFailed"} {
		params := asJSON(states[name]["Parameters"])
		assert.Contains(t, params, `"job.$":"$.job"`, name)
		assert.Contains(t, params, `"marker.$":"$.marker"`, name)
		if name == "ReportFailed" { // ReportInvalid runs only after Validate wrote $.validate
			assert.NotContains(t, params, "$.validate", name)
		}
		assert.Equal(t, "JobFinishedEvent", states[name]["Next"], name)
	}
	assert.NotContains(t, asJSON(states["Failed"]), "$.validate")
	assert.Contains(t, asJSON(states["Failed"]), "$.report.location")
	event := asJSON(states["JobFinishedEvent"])
	assert.Contains(t, event, `"error.$":"$.report.error"`)
	assert.Contains(t, event, `"report.$":"$.report.location"`)
}

// Files past one copy request are copied in parts: the uploads start before the Map and complete
// after it, in the copy function (whose role may list the parts and write the upload IDs).
func TestRegistryMultipartCopiesStartBeforeTheMapAndCompleteAfter(t *testing.T) {
	states := registryStates(t)
	assert.Equal(t, "StartMultipartCopies", states["JobValid"]["Choices"].([]any)[0].(map[string]any)["Next"])
	assert.Equal(t, "CopyFiles", states["StartMultipartCopies"]["Next"])
	assert.Equal(t, "CompleteMultipartCopies", states["CopyFiles"]["Next"])
	assert.Equal(t, "Index", states["CompleteMultipartCopies"]["Next"])
	assert.Contains(t, asJSON(states["StartMultipartCopies"]["Parameters"]), `"phase":"start"`)
	assert.Contains(t, asJSON(states["CompleteMultipartCopies"]["Parameters"]), `"phase":"complete"`)
	copyRole := asJSON(statements(t, registryJSON(t), "RegistryCopyRole"))
	assert.Contains(t, copyRole, "s3:ListMultipartUploadParts")
	assert.Contains(t, copyRole, `/.work/*`)
	// A failed job's copies are aborted by the report step, which still deletes no dataset object.
	report := statements(t, registryJSON(t), "RegistryReportRole")
	assert.Contains(t, asJSON(report), `"Sid":"AbortCopies"`)
	for _, st := range report {
		if text := asJSON(st); strings.Contains(text, "Dataset") {
			assert.NotContains(t, text, "s3:DeleteObject")
		}
	}
}

// The copy Map within Step Functions' limits on its item source: a JSON array read from S3 whose items
// are Validate's batches (each under the 256 KiB a state's input may be: "Use Amazon S3 ARNs instead
// of passing large payloads", 262,144 bytes; ingest.TestPlanCopiesBatchesByCountBytesAndPayloadSize),
// every item read (no MaxItems), no ItemBatcher to re-wrap them, at most 10,000 children at once (the
// Distributed Map's ceiling; instance validation bounds copy_concurrency to it), no tolerated failure.
func TestRegistryCopyMapReadsBatchesWithinStepFunctionsLimits(t *testing.T) {
	m := registryStates(t)["CopyFiles"]
	reader := m["ItemReader"].(map[string]any)
	assert.Equal(t, map[string]any{"InputType": "JSON"}, reader["ReaderConfig"])
	assert.Nil(t, m["ItemBatcher"])
	c, ok := m["MaxConcurrency"].(float64)
	require.True(t, ok)
	assert.LessOrEqual(t, c, 10000.0)
	// ToleratedFailurePercentage 0 is the default, which the CDK leaves out.
	assert.Contains(t, []any{nil, 0.0}, m["ToleratedFailurePercentage"])
	proc := m["ItemProcessor"].(map[string]any)
	assert.Equal(t, map[string]any{"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}, proc["ProcessorConfig"])
	batch := proc["States"].(map[string]any)["CopyBatch"].(map[string]any)
	assert.Contains(t, asJSON(batch), `"Items.$":"$.Items"`)
}
