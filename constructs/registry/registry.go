// Package registry is HelioCloud's data registry, rebuilt: dataset buckets readable by the CloudCatalog
// client, an upload bucket for ingest jobs, a DynamoDB table of catalog records, and a Step Functions
// workflow that validates a job, copies its files server-side with a Distributed Map, merges the
// per-year index files, rewrites catalog.json and reports. Nothing runs, and nothing is paid for but
// storage, while no job does: no VPC, no NAT, no database server.
//
// Dataset buckets have an access mode each:
//
//   - AccessPublic: anonymous GetObject and ListBucket by bucket policy, CORS for browsers, TLS-only.
//   - AccessRequesterPays: requester pays, set on create and update and reverted on delete by an AWS SDK
//     call allowed on this bucket only. Unsigned clients (the CloudCatalog client never sends
//     RequestPayer) cannot read it: New adds a synth warning saying so.
//   - AccessPrivate: readable by the principals the props list.
//
// Every bucket is encrypted, versioned, logged, and aborts incomplete uploads. Encryption is SSE-S3
// (which anonymous readers can use) unless Props.EncryptionKey is given: then the upload bucket and
// the private dataset buckets use SSE-KMS with that key, granted to every step that reads or writes
// them, to the workflow, to a private bucket's Readers (key policy) and in UploaderPolicy. Public
// and requester-pays buckets stay SSE-S3: their readers are anonymous or any AWS account, which no
// key policy can name. The workflow's functions are Go (functions/registry, built offline by
// lambdaasset), each step under its own role.
package registry

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/aws-cdk-go/awscdk/v2/customresources"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
	"github.com/stratolab/stratolab/constructs/lifecycle"
	"github.com/stratolab/stratolab/constructs/securebucket"
	"github.com/stratolab/stratolab/internal/lambdaasset"
)

// Access is a dataset bucket's access mode.
type Access string

// The access modes.
const (
	AccessPublic        Access = "public"
	AccessRequesterPays Access = "requester-pays"
	AccessPrivate       Access = "private"
)

// FunctionPackage is the Go package of the workflow's function.
const FunctionPackage = "github.com/stratolab/stratolab/functions/registry"

// EventSource and EventDetailType are those of the event the workflow puts on the default bus when a
// job ends.
const (
	EventSource     = "stratolab.registry"
	EventDetailType = "Registry ingest job finished"
)

// DatasetBucket is one bucket that datasets are ingested into.
type DatasetBucket struct {
	// The bucket's name (S3's rules: 3-63 lowercase letters, digits, dots and dashes). Required.
	Name string
	// How readers reach it. Required.
	Access Access
	// The catalog's name (catalog.json "name"). Required for a public bucket.
	// Default: - the bucket name
	CatalogName string
	// Who to contact about the data (catalog.json "contact"). Required for a public bucket.
	// Default: - empty
	Contact string
	// catalog.json "description".
	// Default: - none
	Description string
	// AccessPrivate: who may read (roles, users, accounts). Other modes ignore it.
	// Default: - nobody but the account's own IAM policies
	Readers []awsiam.IPrincipal
	// AccessPublic: origins browsers may read from.
	// Default: - every origin (*)
	CorsOrigins []string
}

// Props configure a Registry.
type Props struct {
	// The dataset buckets. At least one is required.
	DatasetBuckets []DatasetBucket
	// The upload bucket's name.
	// Default: - assigned by CloudFormation
	UploadBucketName string
	// Days after which a job's uploads (and its report) expire from the upload bucket.
	// Default: - 14 days
	UploadExpiryDays int
	// Let jobs retract files and datasets (drop.json); only then may the workflow delete from dataset buckets.
	// Default: - false
	AllowRetraction bool
	// The object whose upload into <job>/ starts the job.
	// Default: - _READY
	MarkerName string
	// Also publish each job's end to this topic.
	// Default: - no notification (the EventBridge event only)
	NotificationTopic awssns.ITopic
	// The most server-side copies in one Distributed Map batch (Validate also bounds a batch by the
	// bytes it copies and by its JSON size, and copies a file above 1 GiB in parts spread over batches).
	// Default: - 200
	CopyBatchSize int
	// Copy batches running at once.
	// Default: - 40
	CopyConcurrency int
	// The longest a job may run.
	// Default: - 24 hours
	JobTimeout awscdk.Duration
	// Where the buckets' access logs go.
	// Default: - a new logs bucket
	LogsBucket awss3.IBucket
	// The workflow function's code.
	// Default: - functions/registry, built for arm64 by lambdaasset
	Code awslambda.Code
	// Lambda log retention.
	// Default: - three months
	LogRetention awslogs.RetentionDays
	// What happens to the buckets and the table on destroy.
	// Default: - lifecycle.Production()
	Lifecycle lifecycle.Policy
	// Customer-managed key for the upload bucket and the private dataset buckets (SSE-KMS, with S3
	// Bucket Keys). Public and requester-pays buckets and the logs bucket keep SSE-S3.
	// Default: - SSE-S3 for every bucket
	EncryptionKey awskms.IKey
	// The name of the uploaders' managed policy (UploaderPolicy).
	// Default: - assigned by CloudFormation
	UploaderPolicyName string
}

// Registry is the buckets, the records table and the ingest workflow.
type Registry struct {
	constructs.Construct
	// DatasetBuckets by name.
	DatasetBuckets map[string]awss3.IBucket
	UploadBucket   awss3.IBucket
	LogsBucket     awss3.IBucket
	Records        awsdynamodb.ITable
	Workflow       awsstepfunctions.StateMachine
	// Functions by step: validate, copy, index, catalog, report.
	Functions map[string]awslambda.IFunction
	// Roles by step (validate, copy, index, catalog, report), each its function's.
	Roles map[string]awsiam.IRole
	// EncryptionKey is Props.EncryptionKey (nil without one).
	EncryptionKey awskms.IKey
	// UploaderPolicy is what people running `stratolab registry upload` and `ingest` need (Props'
	// callers add reading the parameters they publish).
	UploaderPolicy awsiam.ManagedPolicy

	p       *Props
	buckets []DatasetBucket
	policy  lifecycle.Policy
	rpLogs  awslogs.ILogGroup
}

var bucketNameRe = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)

// BucketNameProblem says what is wrong with an S3 bucket name ("" if nothing).
func BucketNameProblem(name string) string {
	switch {
	case strings.HasPrefix(name, "s3://"):
		return "is a URL; give the bucket name alone (without s3://)"
	case strings.ToLower(name) != name:
		return "has uppercase letters (S3 bucket names are lowercase)"
	case len(name) < 3 || len(name) > 63:
		return fmt.Sprintf("is %d characters long (3 to 63)", len(name))
	case !bucketNameRe.MatchString(name):
		return "may hold only lowercase letters, digits, dots and dashes, and must start and end with a letter or digit"
	case strings.Contains(name, "..") || strings.Contains(name, ".-") || strings.Contains(name, "-."):
		return "has two dots, or a dot beside a dash, in a row"
	case regexp.MustCompile(`^\d+\.\d+\.\d+\.\d+$`).MatchString(name):
		return "looks like an IP address"
	case strings.HasPrefix(name, "xn--") || strings.HasPrefix(name, "sthree-") || strings.HasSuffix(name, "-s3alias") || strings.HasSuffix(name, "--ol-s3"):
		return "uses a prefix or suffix S3 reserves"
	case strings.Contains(name, "."):
		return "has dots, which break TLS for virtual-hosted requests (https://<bucket>.s3.amazonaws.com, the client's fallback)"
	}
	return ""
}

func (p *Props) check() error {
	var errs []string
	if len(p.DatasetBuckets) == 0 {
		errs = append(errs, "DatasetBuckets is empty (at least one)")
	}
	seen := map[string]bool{}
	for i, b := range p.DatasetBuckets {
		if why := BucketNameProblem(b.Name); why != "" {
			errs = append(errs, fmt.Sprintf("DatasetBuckets[%d].Name %q %s", i, b.Name, why))
		}
		if seen[b.Name] {
			errs = append(errs, fmt.Sprintf("DatasetBuckets[%d].Name %q is listed twice", i, b.Name))
		}
		seen[b.Name] = true
		switch b.Access {
		case AccessPublic:
			if b.CatalogName == "" || b.Contact == "" {
				errs = append(errs, fmt.Sprintf("DatasetBuckets[%d] (%s): a public bucket needs CatalogName and Contact (its catalog.json's name and contact)", i, b.Name))
			}
		case AccessRequesterPays, AccessPrivate:
		default:
			errs = append(errs, fmt.Sprintf("DatasetBuckets[%d].Access %q is not public, requester-pays or private", i, b.Access))
		}
	}
	if p.UploadBucketName != "" {
		if why := BucketNameProblem(p.UploadBucketName); why != "" {
			errs = append(errs, fmt.Sprintf("UploadBucketName %q %s", p.UploadBucketName, why))
		}
		if seen[p.UploadBucketName] {
			errs = append(errs, fmt.Sprintf("UploadBucketName %q is also a dataset bucket", p.UploadBucketName))
		}
	}
	if p.UploadExpiryDays < 0 || p.UploadExpiryDays > 3650 {
		errs = append(errs, fmt.Sprintf("UploadExpiryDays %d is out of range (1 to 3650)", p.UploadExpiryDays))
	}
	if p.CopyBatchSize < 0 || p.CopyBatchSize > 1000 || p.CopyConcurrency < 0 || p.CopyConcurrency > 10000 {
		errs = append(errs, "CopyBatchSize (1 to 1000) or CopyConcurrency (1 to 10000) is out of range")
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}

// ID is the construct ID of a dataset bucket: Dataset + the name in PascalCase (helio-public:
// DatasetHelioPublic). It depends on the name alone, so reordering the list replaces nothing.
func ID(name string) string {
	var b strings.Builder
	b.WriteString("Dataset")
	for _, part := range strings.FieldsFunc(name, func(r rune) bool { return r == '-' || r == '.' }) {
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String()
}

// New creates the registry. It panics on props that cannot work, before creating anything.
func New(scope constructs.Construct, id string, props *Props) *Registry {
	if props == nil {
		props = &Props{}
	}
	p := *props
	if err := p.check(); err != nil {
		panic(fmt.Sprintf("registry %s: %v", id, err))
	}
	if p.UploadExpiryDays == 0 {
		p.UploadExpiryDays = 14
	}
	if p.MarkerName == "" {
		p.MarkerName = "_READY"
	}
	if p.CopyBatchSize == 0 {
		p.CopyBatchSize = 200
	}
	if p.CopyConcurrency == 0 {
		p.CopyConcurrency = 40
	}
	if p.JobTimeout == nil {
		p.JobTimeout = awscdk.Duration_Hours(jsii.Number(24))
	}
	if p.LogRetention == "" {
		p.LogRetention = awslogs.RetentionDays_THREE_MONTHS
	}
	r := &Registry{Construct: constructs.NewConstruct(scope, jsii.String(id)), p: &p, buckets: p.DatasetBuckets,
		policy: p.Lifecycle.OrDefault(), DatasetBuckets: map[string]awss3.IBucket{}, Functions: map[string]awslambda.IFunction{},
		Roles: map[string]awsiam.IRole{}, EncryptionKey: p.EncryptionKey}
	securebucket.PinLogDeliveryByPolicy(r.Construct)
	r.LogsBucket = p.LogsBucket
	if r.LogsBucket == nil {
		r.LogsBucket = securebucket.NewLogs(r.Construct, "LogsBucket", nil, r.policy)
	}
	for _, b := range p.DatasetBuckets {
		r.DatasetBuckets[b.Name] = r.newDatasetBucket(b)
	}
	r.UploadBucket = r.newUploadBucket()
	r.Records = awsdynamodb.NewTable(r.Construct, jsii.String("Records"), &awsdynamodb.TableProps{
		PartitionKey:                     &awsdynamodb.Attribute{Name: jsii.String("id"), Type: awsdynamodb.AttributeType_STRING},
		BillingMode:                      awsdynamodb.BillingMode_PAY_PER_REQUEST,
		PointInTimeRecoverySpecification: &awsdynamodb.PointInTimeRecoverySpecification{PointInTimeRecoveryEnabled: jsii.Bool(true)},
		Encryption:                       awsdynamodb.TableEncryption_AWS_MANAGED,
		DeletionProtection:               jsii.Bool(r.policy.DeletionProtection),
		RemovalPolicy:                    r.policy.RemovalPolicy,
	})
	r.newFunctions()
	r.newWorkflow()
	r.newTrigger()
	r.newUploaderPolicy()
	return r
}

func (r *Registry) newDatasetBucket(b DatasetBucket) awss3.IBucket {
	id := ID(b.Name)
	props := &awss3.BucketProps{
		BucketName:             jsii.String(b.Name),
		Encryption:             awss3.BucketEncryption_S3_MANAGED,
		EnforceSSL:             jsii.Bool(true),
		BlockPublicAccess:      awss3.BlockPublicAccess_BLOCK_ALL(),
		ObjectOwnership:        awss3.ObjectOwnership_BUCKET_OWNER_ENFORCED,
		Versioned:              jsii.Bool(true),
		ServerAccessLogsBucket: r.LogsBucket,
		ServerAccessLogsPrefix: jsii.String("s3-access/" + b.Name + "/"),
		LifecycleRules: &[]*awss3.LifecycleRule{
			{Id: jsii.String("expire-noncurrent-versions"), NoncurrentVersionExpiration: awscdk.Duration_Days(jsii.Number(30))},
			{Id: jsii.String("abort-incomplete-uploads"), AbortIncompleteMultipartUploadAfter: awscdk.Duration_Days(jsii.Number(7))},
		},
		RemovalPolicy:     r.policy.RemovalPolicy,
		AutoDeleteObjects: jsii.Bool(r.policy.AutoDelete),
	}
	if r.EncryptionKey != nil && b.Access == AccessPrivate {
		props.Encryption = awss3.BucketEncryption_KMS
		props.EncryptionKey = r.EncryptionKey
		props.BucketKeyEnabled = jsii.Bool(true)
	}
	if b.Access == AccessPublic {
		// Public reads come from the bucket policy below; ACLs stay blocked and disabled.
		props.BlockPublicAccess = awss3.NewBlockPublicAccess(&awss3.BlockPublicAccessOptions{
			BlockPublicAcls: jsii.Bool(true), IgnorePublicAcls: jsii.Bool(true), BlockPublicPolicy: jsii.Bool(false), RestrictPublicBuckets: jsii.Bool(false),
		})
		origins := b.CorsOrigins
		if len(origins) == 0 {
			origins = []string{"*"}
		}
		props.Cors = &[]*awss3.CorsRule{{
			AllowedMethods: &[]awss3.HttpMethods{awss3.HttpMethods_GET, awss3.HttpMethods_HEAD},
			AllowedOrigins: jsii.Strings(origins...),
			AllowedHeaders: jsii.Strings("*"),
			ExposedHeaders: jsii.Strings("ETag", "Content-Length", "Content-Type", "Last-Modified"),
			MaxAge:         jsii.Number(3600),
		}}
	}
	bucket := awss3.NewBucket(r.Construct, jsii.String(id), props)
	switch b.Access {
	case AccessPublic:
		bucket.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid: jsii.String("PublicRead"), Principals: &[]awsiam.IPrincipal{awsiam.NewAnyPrincipal()},
			Actions: jsii.Strings("s3:GetObject"), Resources: jsii.Strings(*bucket.ArnForObjects(jsii.String("*"))),
		}))
		bucket.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid: jsii.String("PublicList"), Principals: &[]awsiam.IPrincipal{awsiam.NewAnyPrincipal()},
			Actions: jsii.Strings("s3:ListBucket"), Resources: jsii.Strings(*bucket.BucketArn()),
		}))
		cdknag.NagSuppressions_AddResourceSuppressions(bucket, &[]*cdknag.NagPackSuppression{{
			Id: jsii.String("AwsSolutions-S2"),
			Reason: jsii.String("Open data is this bucket's purpose (registry access mode public): anonymous CloudCatalog clients read catalog.json, " +
				"the index files and the data by bucket policy (GetObject, ListBucket). ACLs stay blocked and disabled; writes need IAM."),
		}}, jsii.Bool(true))
	case AccessRequesterPays:
		r.requesterPays(bucket, id)
		awscdk.Annotations_Of(bucket).AddWarningV2(jsii.String("stratolab:registry-requester-pays"), jsii.String(fmt.Sprintf(
			"bucket %s is requester-pays: unsigned CloudCatalog clients (and the official client, which never sends RequestPayer) cannot read it; "+
				"its catalog.json says egress user-pays. Use access public for open data.", b.Name)))
	case AccessPrivate:
		if len(b.Readers) > 0 {
			bucket.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Sid: jsii.String("ListedReadersRead"), Principals: &b.Readers,
				Actions: jsii.Strings("s3:GetObject"), Resources: jsii.Strings(*bucket.ArnForObjects(jsii.String("*"))),
			}))
			bucket.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Sid: jsii.String("ListedReadersList"), Principals: &b.Readers,
				Actions: jsii.Strings("s3:ListBucket"), Resources: jsii.Strings(*bucket.BucketArn()),
			}))
			if r.EncryptionKey != nil {
				// Reading an SSE-KMS object needs kms:Decrypt on its key (Amazon S3 User Guide, "Using
				// server-side encryption with AWS KMS keys"); a reader in another account needs it in
				// the key policy as well as in its own IAM policy.
				r.EncryptionKey.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
					Sid: jsii.String("ListedReadersDecrypt" + strings.TrimPrefix(id, "Dataset")), Principals: &b.Readers,
					Actions: jsii.Strings("kms:Decrypt"), Resources: jsii.Strings("*"),
					Conditions: &map[string]any{"StringEquals": map[string]any{"kms:ViaService": ViaS3(r.Construct)}},
				}), jsii.Bool(false))
			}
		}
	}
	return bucket
}

// ViaS3 is the kms:ViaService value of S3 in scope's region: s3.<region>.amazonaws.com.
func ViaS3(scope constructs.IConstruct) *string {
	return jsii.String("s3." + *awscdk.Stack_Of(scope).Region() + "." + *awscdk.Stack_Of(scope).UrlSuffix())
}

// requesterPaysOnDelete gives the bucket back to owner-pays when the resource goes, unless the bucket is
// kept (production): a retained bucket must not start charging its owner for readers' downloads.
func (r *Registry) requesterPaysOnDelete(call func(string) *customresources.AwsSdkCall) *customresources.AwsSdkCall {
	if r.policy.Retains() {
		return nil
	}
	return call("BucketOwner")
}

// requesterPays keeps the bucket's request payment in step with its access mode: Requester on create
// and update, BucketOwner again on delete. The SDK call is allowed on this bucket only, and uses the
// SDK the Lambda runtime ships (nothing is downloaded at deploy time).
func (r *Registry) requesterPays(bucket awss3.Bucket, id string) {
	call := func(payer string) *customresources.AwsSdkCall {
		return &customresources.AwsSdkCall{
			Service: jsii.String("S3"), Action: jsii.String("putBucketRequestPayment"),
			Parameters:         &map[string]any{"Bucket": bucket.BucketName(), "RequestPaymentConfiguration": map[string]any{"Payer": payer}},
			PhysicalResourceId: customresources.PhysicalResourceId_Of(jsii.String(*bucket.BucketName() + "-request-payment")),
		}
	}
	cr := customresources.NewAwsCustomResource(r.Construct, jsii.String(id+"RequesterPays"), &customresources.AwsCustomResourceProps{
		OnCreate: call("Requester"), OnUpdate: call("Requester"), OnDelete: r.requesterPaysOnDelete(call),
		Policy: customresources.AwsCustomResourcePolicy_FromStatements(&[]awsiam.PolicyStatement{awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Actions: jsii.Strings("s3:PutBucketRequestPayment"), Resources: jsii.Strings(*bucket.BucketArn()),
		})}),
		InstallLatestAwsSdk: jsii.Bool(false),
		LogGroup:            r.requesterPaysLogs(),
	})
	cr.Node().AddDependency(bucket)
	stack := awscdk.Stack_Of(r.Construct)
	if fn := stack.Node().TryFindChild(jsii.String("AWS679f53fac002430cb0da5b7982bd2287")); fn != nil {
		cdknag.NagSuppressions_AddResourceSuppressions(fn, &[]*cdknag.NagPackSuppression{
			{Id: jsii.String("AwsSolutions-IAM4"), Reason: jsii.String("The CDK's AwsCustomResource function sets requester-pays on the registry's " +
				"requester-pays buckets only (s3:PutBucketRequestPayment on those buckets); AWSLambdaBasicExecutionRole grants nothing but its own log streams."),
				AppliesTo: &[]any{"Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"}},
			{Id: jsii.String("AwsSolutions-L1"), Reason: jsii.String("The CDK chooses the runtime of its own AwsCustomResource function; it runs once per deployment.")},
		}, jsii.Bool(true))
	}
}

// requesterPaysLogs is the log group of the CDK's AwsCustomResource function, made once.
func (r *Registry) requesterPaysLogs() awslogs.ILogGroup {
	if r.rpLogs == nil {
		r.rpLogs = awslogs.NewLogGroup(r.Construct, jsii.String("RequesterPaysLogs"), &awslogs.LogGroupProps{
			Retention: awslogs.RetentionDays_ONE_MONTH, RemovalPolicy: r.policy.RemovalPolicy,
		})
	}
	return r.rpLogs
}

func (r *Registry) newUploadBucket() awss3.IBucket {
	b := securebucket.New(r.Construct, "UploadBucket", &securebucket.Props{
		AccessLogs: r.LogsBucket, AccessLogsPrefix: "s3-access/upload/", EncryptionKey: r.EncryptionKey,
		LifecycleRules: []*awss3.LifecycleRule{
			{Id: jsii.String("expire-jobs"), Expiration: awscdk.Duration_Days(jsii.Number(r.p.UploadExpiryDays)),
				NoncurrentVersionExpiration: awscdk.Duration_Days(jsii.Number(1))},
			{Id: jsii.String("abort-incomplete-uploads"), AbortIncompleteMultipartUploadAfter: awscdk.Duration_Days(jsii.Number(2))},
		},
		Lifecycle: r.policy,
	})
	if r.p.UploadBucketName != "" {
		b.Node().DefaultChild().(awss3.CfnBucket).SetBucketName(jsii.String(r.p.UploadBucketName))
	}
	// The marker's Object Created event starts the job.
	b.Node().DefaultChild().(awss3.CfnBucket).AddPropertyOverride(jsii.String("NotificationConfiguration.EventBridgeConfiguration.EventBridgeEnabled"), true)
	return b
}

// runtimeConfig is ingest.Config as the functions read it (REGISTRY_CONFIG), without the upload
// bucket's name (UPLOAD_BUCKET) and the region (the function's AWS_REGION), which are tokens at synth.
func (r *Registry) runtimeConfig() string {
	type bucket struct {
		Name        string `json:"name"`
		Access      string `json:"access"`
		CatalogName string `json:"catalog_name"`
		Contact     string `json:"contact"`
		Description string `json:"description,omitempty"`
	}
	cfg := struct {
		Buckets         []bucket `json:"buckets"`
		AllowRetraction bool     `json:"allow_retraction"`
		BatchFiles      int      `json:"batch_files"`
		UploadKMS       bool     `json:"upload_kms,omitempty"`
	}{AllowRetraction: r.p.AllowRetraction, BatchFiles: r.p.CopyBatchSize, UploadKMS: r.EncryptionKey != nil}
	for _, b := range r.buckets {
		name := b.CatalogName
		if name == "" {
			name = b.Name
		}
		cfg.Buckets = append(cfg.Buckets, bucket{Name: b.Name, Access: string(b.Access), CatalogName: name, Contact: b.Contact, Description: b.Description})
	}
	data, _ := json.Marshal(cfg)
	return string(data)
}

// Code builds functions/registry for arm64 and returns it as Lambda code. It panics when the build fails.
func Code() awslambda.Code {
	dir, err := lambdaasset.Build(FunctionPackage, "arm64")
	if err != nil {
		panic(fmt.Sprintf("registry: cannot build the workflow function: %v", err))
	}
	return awslambda.Code_FromAsset(jsii.String(dir), nil)
}
