package test

import (
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/jsii-runtime-go"
	"github.com/stratolab/stratolab/constructs/registry"
	"github.com/stratolab/stratolab/internal/ingest"
	"github.com/stratolab/stratolab/internal/jobclient"
	jobspec "github.com/stratolab/stratolab/internal/jobs"
	"github.com/stratolab/stratolab/internal/published"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// s3CallActions maps the S3 SDK calls whose IAM action is not their own name (Service Authorization
// Reference, "Actions defined by Amazon S3"; Amazon S3 User Guide, "Multipart upload API and
// permissions"): ListObjectsV2 is s3:ListBucket, ListMultipartUploads s3:ListBucketMultipartUploads,
// ListParts s3:ListMultipartUploadParts, and a multipart upload's create, part and complete calls are
// authorized by s3:PutObject. Every other call used here is the action of its own name.
var s3CallActions = map[string]string{
	"ListObjectsV2": "ListBucket", "ListMultipartUploads": "ListBucketMultipartUploads", "ListParts": "ListMultipartUploadParts",
	"CreateMultipartUpload": "PutObject", "UploadPart": "PutObject", "CompleteMultipartUpload": "PutObject",
}

// callsOf returns the IAM actions of the methods of SDK interfaces, by service prefix (only: the
// methods the CLI calls, when it uses fewer than the interface has).
func callsOf(ifaces map[string][]reflect.Type, only map[string][]string) []string {
	var out []string
	for prefix, types := range ifaces {
		for _, iface := range types {
			for i := range iface.NumMethod() {
				m := iface.Method(i).Name
				if o, ok := only[prefix]; ok && !slices.Contains(o, m) {
					continue
				}
				if a, ok := s3CallActions[m]; ok && prefix == "s3" {
					m = a
				}
				if !slices.Contains(out, prefix+":"+m) {
					out = append(out, prefix+":"+m)
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

// jobsCLICalls are the AWS calls of `stratolab jobs` (cmd/stratolab/jobs.go builds internal/jobclient's
// Client from these interfaces): the S3 and CloudWatch Logs interfaces of jobclient, the DynamoDB
// interface under jobspec.DynamoTable (Put, Get and Cancel: PutItem, GetItem, UpdateItem), the SSM
// interface under published.Read, and of jobs.SQSAPI only SendMessage (the CLI uses jobs.SQSQueue only
// through Send; receive, delete and visibility are the agent's).
func jobsCLICalls() []string {
	return callsOf(map[string][]reflect.Type{
		"s3":       {reflect.TypeFor[jobclient.Objects]()},
		"logs":     {reflect.TypeFor[jobclient.LogsAPI]()},
		"dynamodb": {reflect.TypeFor[jobspec.DynamoAPI]()},
		"sqs":      {reflect.TypeFor[jobspec.SQSAPI]()},
		"ssm":      {reflect.TypeFor[published.SSM]()},
	}, map[string][]string{"sqs": {"SendMessage"}})
}

// registryCLICalls are the AWS calls of `stratolab registry upload` and `ingest` (cmd/stratolab aliases
// these interfaces), and the SSM read that finds the registry.
func registryCLICalls() []string {
	return callsOf(map[string][]reflect.Type{
		"s3":     {reflect.TypeFor[ingest.UploadAPI](), reflect.TypeFor[ingest.ReportReader]()},
		"states": {reflect.TypeFor[ingest.WorkflowAPI]()},
		"ssm":    {reflect.TypeFor[published.SSM]()},
	}, nil)
}

// managedPolicy returns the statements of the one AWS::IAM::ManagedPolicy whose logical ID starts with prefix.
func managedPolicy(t *testing.T, tpl map[string]any, prefix string) (string, []map[string]any) {
	t.Helper()
	var ids []string
	for _, id := range resourcesOfType(tpl, "AWS::IAM::ManagedPolicy") {
		if strings.HasPrefix(id, prefix) {
			ids = append(ids, id)
		}
	}
	require.Len(t, ids, 1, "managed policies %s*", prefix)
	doc := tpl["Resources"].(map[string]any)[ids[0]].(map[string]any)["Properties"].(map[string]any)["PolicyDocument"].(map[string]any)
	var out []map[string]any
	for _, s := range doc["Statement"].([]any) {
		out = append(out, s.(map[string]any))
	}
	return ids[0], out
}

// allowedActions is the sorted set of actions the statements allow (kms: apart).
func allowedActions(stmts []map[string]any) (actions, kms []string) {
	for _, st := range stmts {
		if st["Effect"] != "Allow" {
			continue
		}
		for _, a := range actionsOf(st) {
			switch {
			case strings.HasPrefix(a, "kms:") && !slices.Contains(kms, a):
				kms = append(kms, a)
			case !strings.HasPrefix(a, "kms:") && !slices.Contains(actions, a):
				actions = append(actions, a)
			}
		}
	}
	sort.Strings(actions)
	sort.Strings(kms)
	return actions, kms
}

func bySid(t *testing.T, stmts []map[string]any) map[string]map[string]any {
	out := map[string]map[string]any{}
	for _, st := range stmts {
		sid, _ := st["Sid"].(string)
		require.NotEmpty(t, sid, "every statement has a Sid: %s", asJSON(st))
		out[sid] = st
	}
	return out
}

// TestJobsUsersPolicyAllowsExactlyWhatTheCLICalls: the jobs users' managed policy allows every call of
// `stratolab jobs` and nothing else; with a pack also the DataKey's use, and without one no KMS at all.
func TestJobsUsersPolicyAllowsExactlyWhatTheCLICalls(t *testing.T) {
	for inst, wantKMS := range map[string][]string{
		"example":   nil,
		"regulated": {"kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"},
	} {
		_, stmts := managedPolicy(t, synth(t, inst).templates["Jobs"], "UsersPolicy")
		actions, kms := allowedActions(stmts)
		assert.Equal(t, jobsCLICalls(), actions, inst)
		assert.Equal(t, wantKMS, kms, inst)
	}
}

// TestJobsUsersPolicyIsScopedToTheInstancesJobs: each right on the module's own resource and prefix
// (inputs written under uploads/, outputs read and listed under outputs/, the jobs table but not its
// index or the users table, the job queues but not their dead-letter queues, the job log group, the
// instance's parameters), and the key only through S3 and DynamoDB.
func TestJobsUsersPolicyIsScopedToTheInstancesJobs(t *testing.T) {
	tpl := synth(t, "regulated").templates["Jobs"]
	_, stmts := managedPolicy(t, tpl, "UsersPolicy")
	sids := bySid(t, stmts)
	res := func(sid string) string { require.Contains(t, sids, sid); return asJSON(sids[sid]["Resource"]) }
	assert.Regexp(t, `StoreJobsBucket.*"/uploads/\*"`, res("SubmitInputs"))
	assert.Regexp(t, `StoreJobsBucket.*"/outputs/\*"`, res("ReadOutputs"))
	assert.Regexp(t, `^\{[^\[]*StoreJobsBucket[^\]]*\}$`, res("ListOutputs"), "the bucket itself")
	assert.JSONEq(t, `{"StringLike":{"s3:prefix":["outputs/*"]}}`, asJSON(sids["ListOutputs"]["Condition"]))
	assert.Contains(t, res("RecordJobs"), "StoreJobsTable")
	assert.NotContains(t, res("RecordJobs"), "index")
	assert.NotContains(t, res("RecordJobs"), "UsersTable")
	queues := res("QueueJobs")
	assert.Contains(t, queues, "RunnerProdJobsQueue")
	assert.Contains(t, queues, "RunnerTestJobsQueue")
	assert.NotContains(t, queues, "DeadLetter")
	assert.Equal(t, `{"Fn::GetAtt":["RunnerJobLogs5206E837","Arn"]}`, res("ReadJobLogs"))
	assert.Equal(t, `["arn:aws:ssm:us-east-1:123456789012:parameter/stratolab/regulated/jobs","arn:aws:ssm:us-east-1:123456789012:parameter/stratolab/regulated/jobs/*"]`, res("FindPlatform"))
	for sid, service := range map[string]string{"UseDataKeyThroughS3": "s3", "UseDataKeyThroughDynamoDB": "dynamodb"} {
		assert.Contains(t, res(sid), "DataKey17AFBB84")
		assert.Equal(t, `{"StringEquals":{"kms:ViaService":{"Fn::Join":["",["`+service+`.us-east-1.",{"Ref":"AWS::URLSuffix"}]]}}}`, asJSON(sids[sid]["Condition"]), sid)
	}
	assert.Len(t, sids, 9, "no statement beyond these")
}

// TestRegistryUploaderPolicyAllowsExactlyWhatTheCLICalls: upload (resume included: ListMultipartUploads
// and ListParts), ingest and its report, and the registry's parameters; with a pack the DataKey
// through S3 (a multipart upload needs kms:Decrypt as well as kms:GenerateDataKey).
func TestRegistryUploaderPolicyAllowsExactlyWhatTheCLICalls(t *testing.T) {
	for inst, wantKMS := range map[string][]string{
		"example":   nil,
		"regulated": {"kms:Decrypt", "kms:GenerateDataKey"},
	} {
		_, stmts := managedPolicy(t, synth(t, inst).templates["Registry"], "RegistryUploaderPolicy")
		actions, kms := allowedActions(stmts)
		assert.Equal(t, registryCLICalls(), actions, inst)
		assert.Equal(t, wantKMS, kms, inst)
	}
}

// TestRegistryUploaderPolicyIsScopedToJobFolders: lists the upload bucket, writes job folders
// (<upload>/<job>/...) but never what the workflow writes, reads reports only, starts this workflow and
// follows its executions only, and uses the key through S3 only.
func TestRegistryUploaderPolicyIsScopedToJobFolders(t *testing.T) {
	_, stmts := managedPolicy(t, synth(t, "regulated").templates["Registry"], "RegistryUploaderPolicy")
	sids := bySid(t, stmts)
	res := func(sid string) string { require.Contains(t, sids, sid); return asJSON(sids[sid]["Resource"]) }
	assert.Equal(t, `{"Fn::GetAtt":["RegistryUploadBucket23E153CC","Arn"]}`, res("ListJobs"))
	assert.Equal(t, `{"Fn::Join":["",[{"Fn::GetAtt":["RegistryUploadBucket23E153CC","Arn"]},"/*/*"]]}`, res("UploadJobs"))
	assert.Equal(t, `{"Fn::Join":["",[{"Fn::GetAtt":["RegistryUploadBucket23E153CC","Arn"]},"/*/report.json"]]}`, res("ReadReports"))
	assert.Equal(t, "Deny", sids["NoWorkflowFiles"]["Effect"])
	for _, k := range []string{`"/*/.work/*"`, `"/*/report.json"`, `"/.map-results/*"`} {
		assert.Contains(t, res("NoWorkflowFiles"), k)
	}
	assert.Equal(t, `{"Ref":"RegistryWorkflow019EE405"}`, res("StartIngest"))
	assert.Equal(t, `{"Fn::Join":["",["arn:aws:states:us-east-1:123456789012:execution:",{"Fn::GetAtt":["RegistryWorkflow019EE405","Name"]},":*"]]}`, res("FollowIngest"))
	assert.Equal(t, `{"Fn::GetAtt":["DataKey17AFBB84","Arn"]}`, res("UseDataKeyThroughS3"))
	assert.Equal(t, `{"StringEquals":{"kms:ViaService":{"Fn::Join":["",["s3.us-east-1.",{"Ref":"AWS::URLSuffix"}]]}}}`, asJSON(sids["UseDataKeyThroughS3"]["Condition"]))
	assert.Equal(t, `["arn:aws:ssm:us-east-1:123456789012:parameter/stratolab/regulated/registry","arn:aws:ssm:us-east-1:123456789012:parameter/stratolab/regulated/registry/*"]`, res("FindRegistry"))
	assert.Len(t, sids, 8, "no statement beyond these")
}

// TestUserPoliciesAreNamedAndOutput: an admin attaches them by name (a permission set's customer managed
// policy) or by ARN (an IAM group), so both stacks output the ARN and the name is the instance's.
func TestUserPoliciesAreNamedAndOutput(t *testing.T) {
	s := synth(t, "example")
	for stack, c := range map[string]struct{ prefix, output, name string }{
		"Jobs":     {"UsersPolicy", "JobsUsersPolicyArn", "example-jobs-users"},
		"Registry": {"RegistryUploaderPolicy", "UploaderPolicyArn", "example-registry-uploaders"},
	} {
		tpl := s.templates[stack]
		id, _ := managedPolicy(t, tpl, c.prefix)
		out := tpl["Outputs"].(map[string]any)[c.output]
		require.NotNil(t, out, "%s output %s", stack, c.output)
		assert.Equal(t, `{"Ref":"`+id+`"}`, asJSON(out.(map[string]any)["Value"]), stack)
		assert.Equal(t, c.name, tpl["Resources"].(map[string]any)[id].(map[string]any)["Properties"].(map[string]any)["ManagedPolicyName"], stack)
	}
}

// TestRegistryKeyIsGrantedToEveryReaderOfItsBuckets follows the data with a pack: the uploader writes the
// job (upload bucket, SSE-KMS), validate reads it and writes .work/, copy reads it and writes the
// private dataset bucket (SSE-KMS), index and catalog read and write that bucket, report reads and
// writes the job, and the workflow's Map reads the copy list and writes its results. A reader without
// kms:Decrypt, or a writer without kms:GenerateDataKey, gets AccessDenied at its first ingest.
func TestRegistryKeyIsGrantedToEveryReaderOfItsBuckets(t *testing.T) {
	tpl := synth(t, "regulated").templates["Registry"]
	key := `{"Fn::GetAtt":["DataKey17AFBB84","Arn"]}`
	for _, b := range []string{"RegistryUploadBucket", "RegistryDatasetResearchComputingRegulatedPrivate"} {
		bs := resourcesWhere(tpl, "AWS::S3::Bucket", b)
		require.Len(t, bs, 1, b)
		assert.JSONEq(t, `{"ServerSideEncryptionConfiguration":[{"BucketKeyEnabled":true,"ServerSideEncryptionByDefault":{"KMSMasterKeyID":`+key+`,"SSEAlgorithm":"aws:kms"}}]}`,
			asJSON(bs[0]["Properties"].(map[string]any)["BucketEncryption"]), b)
	}
	for _, role := range []string{"RegistryValidateRole", "RegistryCopyRole", "RegistryIndexRole", "RegistryCatalogRole", "RegistryReportRole", "RegistryWorkflowRole"} {
		var granted []string
		for _, st := range statements(t, tpl, role) {
			if asJSON(st["Resource"]) == key {
				assert.Contains(t, asJSON(st["Condition"]), `"kms:ViaService"`, role)
				granted = append(granted, actionsOf(st)...)
			}
		}
		sort.Strings(granted)
		assert.Equal(t, registry.KeyActions, granted, "%s uses the DataKey", role)
	}
	// The functions are told, so that an md5 row is not compared with an SSE-KMS ETag.
	for _, fn := range resourcesWhere(tpl, "AWS::Lambda::Function", "RegistryValidateFunction") {
		assert.Contains(t, asJSON(fn["Properties"].(map[string]any)["Environment"]), `\"upload_kms\":true`)
	}
}

// TestRegistryPrivateBucketReadersMayDecrypt: a private bucket's readers (other accounts' roles) need the
// key in its key policy as well as the bucket policy; public and requester-pays buckets stay SSE-S3
// (anonymous readers and any paying account cannot be named in a key policy), and so does the logs bucket.
func TestRegistryPrivateBucketReadersMayDecrypt(t *testing.T) {
	app := newApp(nil)
	stack := awscdk.NewStack(app, jsii.String("Keyed"), &awscdk.StackProps{Env: &awscdk.Environment{Account: jsii.String("123456789012"), Region: jsii.String("us-west-2")}})
	key := awskms.NewKey(stack, jsii.String("Key"), &awskms.KeyProps{EnableKeyRotation: jsii.Bool(true)})
	registry.New(stack, "Registry", &registry.Props{EncryptionKey: key, DatasetBuckets: []registry.DatasetBucket{
		{Name: "open-data", Access: registry.AccessPublic, CatalogName: "Open", Contact: "a@example.org"},
		{Name: "paid-data", Access: registry.AccessRequesterPays},
		{Name: "team-data", Access: registry.AccessPrivate, Readers: []awsiam.IPrincipal{awsiam.NewArnPrincipal(jsii.String("arn:aws:iam::210987654321:role/Reader"))}},
	}})
	tpl := template(stack).ToJSON()
	res := (*tpl)["Resources"].(map[string]any)
	for id, r := range res {
		r := r.(map[string]any)
		if r["Type"] != "AWS::S3::Bucket" {
			continue
		}
		enc := asJSON(r["Properties"].(map[string]any)["BucketEncryption"])
		switch {
		case strings.HasPrefix(id, "RegistryDatasetTeamData"), strings.HasPrefix(id, "RegistryUploadBucket"):
			assert.Contains(t, enc, `"aws:kms"`, id)
		default:
			assert.Contains(t, enc, `"AES256"`, id)
		}
	}
	var found bool
	for _, r := range res {
		r := r.(map[string]any)
		if r["Type"] != "AWS::KMS::Key" {
			continue
		}
		for _, st := range r["Properties"].(map[string]any)["KeyPolicy"].(map[string]any)["Statement"].([]any) {
			st := st.(map[string]any)
			if st["Sid"] == "ListedReadersDecryptTeamData" {
				found = true
				assert.Equal(t, `{"AWS":"arn:aws:iam::210987654321:role/Reader"}`, asJSON(st["Principal"]))
				assert.Equal(t, `"kms:Decrypt"`, asJSON(st["Action"]))
				assert.Contains(t, asJSON(st["Condition"]), `"kms:ViaService"`)
			}
		}
	}
	assert.True(t, found, "the private bucket's reader may decrypt through S3")
}

// TestNoRegistryKeyWithoutAPack: a development instance without a pack pays for no key (1 USD a month
// each): its registry buckets are SSE-S3 and nothing is granted on a key.
func TestNoRegistryKeyWithoutAPack(t *testing.T) {
	tpl := registryJSON(t)
	assert.Empty(t, resourcesOfType(tpl, "AWS::KMS::Key"))
	for _, id := range resourcesOfType(tpl, "AWS::S3::Bucket") {
		assert.Contains(t, asJSON(tpl["Resources"].(map[string]any)[id].(map[string]any)["Properties"].(map[string]any)["BucketEncryption"]), `"AES256"`, id)
	}
	for _, typ := range []string{"AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"} {
		for _, id := range resourcesOfType(tpl, typ) {
			assert.NotContains(t, asJSON(tpl["Resources"].(map[string]any)[id]), `"kms:`, id)
		}
	}
	assert.NotContains(t, tpl["Outputs"], "DataKeyArn")
}

// TestRegulatedRegistryPublishesItsKey: a private bucket's reader in another account needs kms:Decrypt
// on the key in its own IAM policy as well as the key policy's grant (AWS KMS Developer Guide,
// "Allowing users in other accounts to use a KMS key"), so the key's ARN is an output.
func TestRegulatedRegistryPublishesItsKey(t *testing.T) {
	out := synth(t, "regulated").templates["Registry"]["Outputs"].(map[string]any)
	require.Contains(t, out, "DataKeyArn")
	assert.Contains(t, asJSON(out["DataKeyArn"]), `{"Fn::GetAtt":["DataKey`)
}
