// Package jobstore is Cloud Kotta's "base": the stateful part of a jobs platform.
//
// New creates the jobs bucket (encrypted, versioned, TLS-only, public access blocked, server access logs
// to a logs bucket, old versions and abandoned uploads expired), the jobs table (job_id, with a by-user
// index ordered by submission time) and the users table (user_id), both on-demand with point-in-time
// recovery and encryption, and Kotta's two roles: the web server's and the worker's, each limited to the
// prefixes and tables it needs (the web server also reads code/, as workers do; the worker only what
// stratolab's agent calls, unless OwnWorkers). Another app can grant its own principals the same rights
// with GrantSubmit, GrantExecute (Kotta's worker rights) and GrantAgent, and can bring its own bucket or tables.
//
// Objects live under three prefixes: uploads/ (user input), outputs/ (job results) and code/ (the
// tarball of the code the web server and workers run).
package jobstore

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsbackup"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
	"github.com/stratolab/stratolab/constructs/lifecycle"
	"github.com/stratolab/stratolab/constructs/securebucket"
)

// The bucket's prefixes.
const (
	PrefixUploads = "uploads/"
	PrefixOutputs = "outputs/"
	PrefixCode    = "code/"
)

// The tables' keys, and the jobs table's index of a user's jobs by submission time.
const (
	JobsTableKey     = "job_id"
	UsersTableKey    = "user_id"
	ByUserIndex      = "by-user"
	ByUserIndexSort  = "submitted_at" // a number: seconds since the epoch
	accessLogsPrefix = "s3-access/jobs-bucket/"
)

// Props configure a JobStore. Everything is optional.
type Props struct {
	// Use this bucket instead of creating one. Its access logging and lifecycle are its owner's.
	// Default: - a new bucket
	ExistingBucket awss3.IBucket
	// Use this table (partition key job_id, string; index by-user on user_id and submitted_at) instead of creating one.
	// Default: - a new table
	ExistingJobsTable awsdynamodb.ITable
	// Use this table (partition key user_id, string) instead of creating one.
	// Default: - a new table
	ExistingUsersTable awsdynamodb.ITable
	// Where the jobs bucket's server access logs go.
	// Default: - a new logs bucket, exposed as LogsBucket
	LogsBucket awss3.IBucket
	// Customer-managed key for the bucket and the tables.
	// Default: - S3-managed keys for the bucket, the AWS-managed DynamoDB key for the tables
	EncryptionKey awskms.IKey
	// How long a replaced or deleted object version is kept.
	// Default: - 30 days
	NoncurrentVersionExpiration awscdk.Duration
	// How long an unfinished multipart upload is kept.
	// Default: - 7 days
	IncompleteUploadExpiration awscdk.Duration
	// How long the logs bucket keeps access logs.
	// Default: - 365 days
	LogRetention awscdk.Duration
	// Who assumes the web server role.
	// Default: - EC2 (the role goes into an instance profile)
	WebPrincipal awsiam.IPrincipal
	// Who assumes the worker role.
	// Default: - EC2 (the role goes into an instance profile)
	WorkerPrincipal awsiam.IPrincipal
	// What happens to the bucket and tables on destroy.
	// Default: - lifecycle.Production(): retained, tables deletion-protected
	Lifecycle lifecycle.Policy
	// The worker role runs workers of your own (Kotta's, say) rather than stratolab's agent: it gets
	// GrantExecute's rights instead of GrantAgent's.
	// Default: - false: the worker role may make exactly the agent's calls (GrantAgent)
	OwnWorkers bool
	// Back the tables up with AWS Backup: a vault and a daily plan kept BackupRetention (NIST CP-9,
	// HIPAA 164.308(a)(7)), on top of point-in-time recovery. The vault follows Lifecycle.
	// Default: - false: point-in-time recovery only
	Backup bool
	// How long AWS Backup keeps each daily backup. Default: - 35 days
	BackupRetention awscdk.Duration
}

// JobStore is the jobs bucket, the tables and the two roles.
type JobStore struct {
	constructs.Construct
	// Bucket holds uploads/, outputs/ and code/.
	Bucket awss3.IBucket
	// LogsBucket receives access logs (the jobs bucket's, and a load balancer's). Nil with ExistingBucket
	// unless LogsBucket was given.
	LogsBucket awss3.IBucket
	// JobsTable holds one item per job.
	JobsTable awsdynamodb.ITable
	// UsersTable holds one item per user.
	UsersTable awsdynamodb.ITable
	// WebRole is the web server's: submit rights.
	WebRole awsiam.IRole
	// WorkerRole is the task executor's: execute rights (it reads uploads/, writes outputs/).
	WorkerRole awsiam.IRole

	key awskms.IKey
}

// New creates the store. It panics on props that cannot work, before creating anything.
func New(scope constructs.Construct, id string, props *Props) *JobStore {
	if props == nil {
		props = &Props{}
	}
	if props.ExistingBucket != nil && props.EncryptionKey != nil {
		panic(fmt.Sprintf("jobstore %s: EncryptionKey applies to a bucket the store creates, not to ExistingBucket (grant its key yourself)", id))
	}
	s := &JobStore{Construct: constructs.NewConstruct(scope, jsii.String(id)), key: props.EncryptionKey}
	securebucket.PinLogDeliveryByPolicy(s.Construct)
	policy := props.Lifecycle.OrDefault()

	if props.ExistingBucket != nil {
		s.Bucket = props.ExistingBucket
		s.LogsBucket = props.LogsBucket
	} else {
		s.LogsBucket = props.LogsBucket
		if s.LogsBucket == nil {
			s.LogsBucket = securebucket.NewLogs(s.Construct, "LogsBucket", props.LogRetention, policy)
		}
		s.Bucket = s.newJobsBucket(props, policy)
	}

	s.JobsTable = props.ExistingJobsTable
	if s.JobsTable == nil {
		t := s.newTable("JobsTable", JobsTableKey, props, policy)
		t.AddGlobalSecondaryIndex(&awsdynamodb.GlobalSecondaryIndexProps{
			IndexName:      jsii.String(ByUserIndex),
			PartitionKey:   &awsdynamodb.Attribute{Name: jsii.String(UsersTableKey), Type: awsdynamodb.AttributeType_STRING},
			SortKey:        &awsdynamodb.Attribute{Name: jsii.String(ByUserIndexSort), Type: awsdynamodb.AttributeType_NUMBER},
			ProjectionType: awsdynamodb.ProjectionType_ALL,
		})
		s.JobsTable = t
	}
	s.UsersTable = props.ExistingUsersTable
	if s.UsersTable == nil {
		s.UsersTable = s.newTable("UsersTable", UsersTableKey, props, policy)
	}

	if props.Backup {
		s.newBackup(props, policy)
	}
	if props.ExistingBucket == nil {
		s.suppressBucketPacks(props)
	}

	s.WebRole = awsiam.NewRole(s.Construct, jsii.String("WebRole"), &awsiam.RoleProps{
		AssumedBy:   principalOr(props.WebPrincipal),
		Description: jsii.String("Cloud Kotta web server: submits jobs, reads their results and its code"),
	})
	s.GrantSubmit(s.WebRole)
	s.GrantReadCode(s.WebRole) // the web server runs the same code tarball as the workers
	s.WorkerRole = awsiam.NewRole(s.Construct, jsii.String("WorkerRole"), &awsiam.RoleProps{
		AssumedBy:   principalOr(props.WorkerPrincipal),
		Description: jsii.String("Cloud Kotta worker (task executor): runs jobs and writes their outputs"),
	})
	if props.OwnWorkers {
		s.GrantExecute(s.WorkerRole)
	} else {
		s.GrantAgent(s.WorkerRole)
	}
	for _, role := range []awsiam.IRole{s.WebRole, s.WorkerRole} {
		suppressPacks(role, "IAMNoInlinePolicy", "The role's inline policy is written by this store's Grant methods for this role alone: "+
			"object rights by prefix in the jobs bucket, the two tables, and their key; it is deleted with the role. A managed policy would grant exactly the same.")
	}
	return s
}

// newBackup puts the tables the store made in a daily AWS Backup plan (AWS::Backup::BackupSelection by
// table ARN), in a vault of their own, when the lifecycle retains data; a development store gets none
// (its vault could not be deleted once it holds recovery points).
func (s *JobStore) newBackup(p *Props, policy lifecycle.Policy) {
	var tables []awsbackup.BackupResource
	if p.ExistingJobsTable == nil {
		tables = append(tables, awsbackup.BackupResource_FromDynamoDbTable(s.JobsTable))
	}
	if p.ExistingUsersTable == nil {
		tables = append(tables, awsbackup.BackupResource_FromDynamoDbTable(s.UsersTable))
	}
	if len(tables) == 0 {
		return
	}
	if !policy.Retains() {
		for _, t := range []awsdynamodb.ITable{s.JobsTable, s.UsersTable} {
			if t != nil {
				suppressPacks(t, "DynamoDBInBackupPlan", "Development instance: cdk destroy must leave nothing behind, and CloudFormation cannot delete an AWS Backup vault that holds recovery points; production instances with this pack put it in a daily AWS Backup plan (the table keeps point-in-time recovery).")
			}
		}
		return
	}
	vault := awsbackup.NewBackupVault(s.Construct, jsii.String("BackupVault"), &awsbackup.BackupVaultProps{
		EncryptionKey: s.key, RemovalPolicy: policy.RemovalPolicy,
	})
	plan := awsbackup.NewBackupPlan(s.Construct, jsii.String("BackupPlan"), &awsbackup.BackupPlanProps{BackupVault: vault})
	plan.AddRule(awsbackup.NewBackupPlanRule(&awsbackup.BackupPlanRuleProps{
		RuleName:           jsii.String("daily"),
		ScheduleExpression: awsevents.Schedule_Cron(&awsevents.CronOptions{Hour: jsii.String("5"), Minute: jsii.String("0")}),
		DeleteAfter:        durationOr(p.BackupRetention, awscdk.Duration_Days(jsii.Number(35))),
	}))
	sel := plan.AddSelection(jsii.String("Tables"), &awsbackup.BackupSelectionOptions{Resources: &tables})
	cdknag.NagSuppressions_AddResourceSuppressions(sel, &[]*cdknag.NagPackSuppression{{
		Id:        jsii.String("AwsSolutions-IAM4"),
		Reason:    jsii.String("AWSBackupServiceRolePolicyForBackup is the policy AWS Backup documents for its backup role; this role is assumed only by backup.amazonaws.com for this plan."),
		AppliesTo: &[]any{cdknag.RegexAppliesTo{Regex: jsii.String("/^Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup$/g")}},
	}}, jsii.Bool(true))
}

// suppressBucketPacks answers the NIST and HIPAA rules that cannot apply to the store's own buckets.
func (s *JobStore) suppressBucketPacks(p *Props) {
	replication := "Cross-region replication needs a second bucket in another region, which is a per-instance choice, not a default; " +
		"the bucket is versioned, and production retains it."
	suppressPacks(s.Bucket, "S3BucketReplicationEnabled", "Jobs bucket. "+replication)
	if p.LogsBucket == nil {
		suppressPacks(s.LogsBucket, "S3BucketReplicationEnabled", "Access logs bucket. "+replication)
		// ELB User Guide, "Access logs for your Application Load Balancer": the bucket must use SSE-S3
		// (Amazon S3 managed keys); the store's logs bucket also receives the web load balancer's logs.
		suppressPacks(s.LogsBucket, "S3DefaultEncryptionKMS", "Access logs bucket: it receives the job web load balancer's access logs, "+
			"and Elastic Load Balancing delivers access logs only to buckets encrypted with SSE-S3, which it is.")
		suppressPacks(s.LogsBucket, "S3BucketLoggingEnabled", "This is the access-log destination of the jobs bucket and load balancer; logging its own access into itself would loop.")
	}
}

// suppressPacks suppresses one rule of the NIST 800-53 R5 and HIPAA Security packs (they share rule
// names) on scope and its children, with the same reason.
func suppressPacks(scope constructs.IConstruct, rule, reason string) {
	cdknag.NagSuppressions_AddResourceSuppressions(scope, &[]*cdknag.NagPackSuppression{
		{Id: jsii.String("NIST.800.53.R5-" + rule), Reason: jsii.String(reason)},
		{Id: jsii.String("HIPAA.Security-" + rule), Reason: jsii.String(reason)},
	}, jsii.Bool(true))
}

func (s *JobStore) newJobsBucket(p *Props, policy lifecycle.Policy) awss3.IBucket {
	return securebucket.New(s.Construct, "JobsBucket", &securebucket.Props{
		AccessLogs:       s.LogsBucket,
		AccessLogsPrefix: accessLogsPrefix,
		EncryptionKey:    p.EncryptionKey,
		LifecycleRules: []*awss3.LifecycleRule{
			{Id: jsii.String("expire-noncurrent-versions"), NoncurrentVersionExpiration: durationOr(p.NoncurrentVersionExpiration, awscdk.Duration_Days(jsii.Number(30)))},
			{Id: jsii.String("abort-incomplete-uploads"), AbortIncompleteMultipartUploadAfter: durationOr(p.IncompleteUploadExpiration, awscdk.Duration_Days(jsii.Number(7)))},
		},
		Lifecycle: policy,
	})
}

func (s *JobStore) newTable(id, key string, p *Props, policy lifecycle.Policy) awsdynamodb.Table {
	props := &awsdynamodb.TableProps{
		PartitionKey:                     &awsdynamodb.Attribute{Name: jsii.String(key), Type: awsdynamodb.AttributeType_STRING},
		BillingMode:                      awsdynamodb.BillingMode_PAY_PER_REQUEST,
		PointInTimeRecoverySpecification: &awsdynamodb.PointInTimeRecoverySpecification{PointInTimeRecoveryEnabled: jsii.Bool(true)},
		Encryption:                       awsdynamodb.TableEncryption_AWS_MANAGED,
		DeletionProtection:               jsii.Bool(policy.DeletionProtection),
		RemovalPolicy:                    policy.RemovalPolicy,
	}
	if p.EncryptionKey != nil {
		props.Encryption = awsdynamodb.TableEncryption_CUSTOMER_MANAGED
		props.EncryptionKey = p.EncryptionKey
	}
	return awsdynamodb.NewTable(s.Construct, jsii.String(id), props)
}

// GrantSubmit gives grantee the web server's rights: read and write uploads/, read outputs/, list those
// two prefixes, read and write the jobs table (and its by-user index) and the users table.
func (s *JobStore) GrantSubmit(grantee awsiam.IGrantable) {
	s.grantObjects(grantee, "SubmitUploads", PrefixUploads, objectReadWrite)
	s.grantObjects(grantee, "SubmitReadOutputs", PrefixOutputs, objectRead)
	s.grantList(grantee, "SubmitList", PrefixUploads, PrefixOutputs)
	s.grantTable(grantee, s.JobsTable, true, true)
	s.grantTable(grantee, s.UsersTable, true, false)
	s.grantKey(grantee)
}

// GrantReadCode lets grantee read the code tarballs under code/.
func (s *JobStore) GrantReadCode(grantee awsiam.IGrantable) {
	s.grantObjects(grantee, "ReadCode", PrefixCode, objectRead)
	s.grantList(grantee, "ListCode", PrefixCode)
	s.grantKey(grantee)
}

// GrantExecute gives grantee the worker's rights: read and write outputs/, read uploads/ (a job's
// inputs) and code/, list those three prefixes, read and write the jobs table (and its by-user index),
// and read the users table.
func (s *JobStore) GrantExecute(grantee awsiam.IGrantable) {
	s.grantObjects(grantee, "ExecuteOutputs", PrefixOutputs, objectReadWrite)
	s.grantObjects(grantee, "ExecuteReadUploads", PrefixUploads, objectRead)
	s.grantObjects(grantee, "ExecuteReadCode", PrefixCode, objectRead)
	s.grantList(grantee, "ExecuteList", PrefixOutputs, PrefixUploads, PrefixCode)
	s.grantTable(grantee, s.JobsTable, true, true)
	s.grantTable(grantee, s.UsersTable, false, false)
	s.grantKey(grantee)
}

// GrantAgent gives grantee what stratolab's worker agent (cmd/stratolab-worker) calls on the store, and
// nothing else: s3:GetObject under uploads/ (inputs) and code/ (code tarballs), s3:PutObject and
// s3:AbortMultipartUpload under outputs/, and dynamodb:UpdateItem on the jobs table (claim, heartbeat and finish are conditional
// updates). No listing: S3 then answers a missing key with 403, which the agent takes for missing. No
// users table, no index, no Query or Scan: one job's worker cannot read other jobs or users.
func (s *JobStore) GrantAgent(grantee awsiam.IGrantable) {
	s.grantObjects(grantee, "ExecuteOutputs", PrefixOutputs, AgentObjectWrite)
	s.grantObjects(grantee, "ExecuteReadUploads", PrefixUploads, AgentObjectRead)
	s.grantObjects(grantee, "ExecuteReadCode", PrefixCode, AgentObjectRead)
	grantee.GrantPrincipal().AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("ExecuteRecordJobs"),
		Actions:   jsii.Strings(AgentTableActions...),
		Resources: &[]*string{s.JobsTable.TableArn()},
	}))
	s.grantKey(grantee)
}

// The agent's calls on the store (GrantAgent).
var (
	AgentObjectRead = []string{"s3:GetObject"}
	// A multipart upload's CreateMultipartUpload, UploadPart and CompleteMultipartUpload are authorized
	// by s3:PutObject; AbortMultipartUpload by s3:AbortMultipartUpload (Amazon S3 User Guide,
	// "Multipart upload API and permissions").
	AgentObjectWrite  = []string{"s3:PutObject", "s3:AbortMultipartUpload"}
	AgentTableActions = []string{"dynamodb:UpdateItem"}
)

var (
	objectRead      = []string{"s3:GetObject", "s3:GetObjectVersion"}
	objectReadWrite = []string{"s3:GetObject", "s3:GetObjectVersion", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"}
	tableRead       = []string{"dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:Scan", "dynamodb:ConditionCheckItem", "dynamodb:DescribeTable"}
	tableWrite      = []string{"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"}
)

func (s *JobStore) grantObjects(grantee awsiam.IGrantable, sid, prefix string, actions []string) {
	resource := jsii.String(*s.Bucket.BucketArn() + "/" + prefix + "*")
	grantee.GrantPrincipal().AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String(sid),
		Actions:   jsii.Strings(actions...),
		Resources: &[]*string{resource},
	}))
	suppressPrefix(grantee, prefix)
}

func (s *JobStore) grantList(grantee awsiam.IGrantable, sid string, prefixes ...string) {
	var allowed []*string
	for _, p := range prefixes {
		allowed = append(allowed, jsii.String(p+"*"))
	}
	grantee.GrantPrincipal().AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String(sid),
		Actions:    jsii.Strings("s3:ListBucket"),
		Resources:  &[]*string{s.Bucket.BucketArn()},
		Conditions: &map[string]any{"StringLike": map[string]any{"s3:prefix": allowed}},
	}))
}

func (s *JobStore) grantTable(grantee awsiam.IGrantable, table awsdynamodb.ITable, write, index bool) {
	actions := tableRead
	if write {
		actions = append(append([]string{}, tableRead...), tableWrite...)
	}
	resources := []*string{table.TableArn()}
	if index {
		resources = append(resources, jsii.String(*table.TableArn()+"/index/"+ByUserIndex))
	}
	grantee.GrantPrincipal().AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings(actions...),
		Resources: &resources,
	}))
}

func (s *JobStore) grantKey(grantee awsiam.IGrantable) {
	if s.key != nil {
		// Named, not GrantEncryptDecrypt's kms:GenerateDataKey* and kms:ReEncrypt*: SSE-KMS objects need
		// kms:GenerateDataKey to write and kms:Decrypt to read (Amazon S3 User Guide, "Using SSE-KMS");
		// a customer-managed DynamoDB table needs kms:Decrypt and kms:DescribeKey of its callers.
		s.key.Grant(grantee, jsii.String("kms:Decrypt"), jsii.String("kms:Encrypt"), jsii.String("kms:GenerateDataKey"), jsii.String("kms:DescribeKey"))
	}
}

// suppressPrefix answers AwsSolutions-IAM5 for one prefix grant: object permissions are granted on
// <bucket>/<prefix>*, which names every key under that prefix and nothing else.
func suppressPrefix(grantee awsiam.IGrantable, prefix string) {
	role, ok := grantee.(awsiam.Role)
	if !ok {
		return // only roles this store made carry suppressions; other principals are their owner's to review
	}
	cdknag.NagSuppressions_AddResourceSuppressions(role, &[]*cdknag.NagPackSuppression{{
		Id: jsii.String("AwsSolutions-IAM5"),
		Reason: jsii.String(fmt.Sprintf("Object actions are scoped to the jobs bucket's %s prefix (<bucket>/%s*): a job's files have "+
			"keys only known at run time, and the wildcard covers that prefix alone.", prefix, prefix)),
		AppliesTo: &[]any{cdknag.RegexAppliesTo{Regex: jsii.String(fmt.Sprintf("/^Resource::<.*JobsBucket.*\\.Arn>\\/%s\\*$/g", escapeSlash(prefix)))}},
	}}, jsii.Bool(true))
}

func escapeSlash(prefix string) string { return prefix[:len(prefix)-1] + "\\/" }

func principalOr(p awsiam.IPrincipal) awsiam.IPrincipal {
	if p != nil {
		return p
	}
	return awsiam.NewServicePrincipal(jsii.String("ec2.amazonaws.com"), nil)
}

func durationOr(d, def awscdk.Duration) awscdk.Duration {
	if d != nil {
		return d
	}
	return def
}

// The calls of a jobs user (`stratolab jobs`, internal/jobclient) on the store: PutObject under uploads/
// (submit's inputs: single requests, no multipart upload), GetObject and ListObjectsV2 (s3:ListBucket)
// under outputs/ (fetch, logs), and PutItem, GetItem and UpdateItem on the jobs table (submit, status,
// cancel). With a key, S3 objects need kms:GenerateDataKey to write and kms:Decrypt to read (Amazon S3
// User Guide, "Using SSE-KMS"), and the customer-managed tables kms:Decrypt and kms:DescribeKey.
var (
	UserObjectWrite  = []string{"s3:PutObject"}
	UserObjectRead   = []string{"s3:GetObject"}
	UserTableActions = []string{"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"}
	UserS3KeyActions = []string{"kms:Decrypt", "kms:GenerateDataKey"}
	// Through DynamoDB the same four as the store's own roles (grantKey): the table key is decrypted for
	// every caller, and writes may need a data key; a missing one would fail submit or cancel.
	UserDBKeyActions = []string{"kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"}
)

// UserStatements are what a person running `stratolab jobs` with their own credentials needs on the
// store, and nothing else: PutObject on uploads/*, GetObject on outputs/*, ListBucket on outputs/
// prefixes, the three item calls on the jobs table (not its index, not the users table), and with a key
// its use through S3 and DynamoDB only (kms:ViaService). Every user may read and cancel every job of
// the store: the table's key is the job ID and the prefixes are per job, not per user.
func (s *JobStore) UserStatements() []awsiam.PolicyStatement {
	stmt := func(sid string, actions []string, resource *string, cond map[string]any) awsiam.PolicyStatement {
		p := &awsiam.PolicyStatementProps{Sid: jsii.String(sid), Actions: jsii.Strings(actions...), Resources: &[]*string{resource}}
		if cond != nil {
			p.Conditions = &cond
		}
		return awsiam.NewPolicyStatement(p)
	}
	out := []awsiam.PolicyStatement{
		stmt("SubmitInputs", UserObjectWrite, jsii.String(*s.Bucket.BucketArn()+"/"+PrefixUploads+"*"), nil),
		stmt("ReadOutputs", UserObjectRead, jsii.String(*s.Bucket.BucketArn()+"/"+PrefixOutputs+"*"), nil),
		stmt("ListOutputs", []string{"s3:ListBucket"}, s.Bucket.BucketArn(), map[string]any{"StringLike": map[string]any{"s3:prefix": []any{PrefixOutputs + "*"}}}),
		stmt("RecordJobs", UserTableActions, s.JobsTable.TableArn(), nil),
	}
	if s.key != nil {
		stack := awscdk.Stack_Of(s.Construct)
		via := func(service string) map[string]any {
			return map[string]any{"StringEquals": map[string]any{"kms:ViaService": service + "." + *stack.Region() + "." + *stack.UrlSuffix()}}
		}
		out = append(out,
			stmt("UseDataKeyThroughS3", UserS3KeyActions, s.key.KeyArn(), via("s3")),
			stmt("UseDataKeyThroughDynamoDB", UserDBKeyActions, s.key.KeyArn(), via("dynamodb")))
	}
	return out
}

// Key is the store's customer-managed key (nil without one).
func (s *JobStore) Key() awskms.IKey { return s.key }
