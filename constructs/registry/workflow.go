package registry

import (
	"fmt"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctionstasks"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// Steps are the workflow's functions, in order.
var Steps = []string{"validate", "copy", "index", "catalog", "report"}

var stepTimeout = map[string]float64{"validate": 15, "copy": 15, "index": 15, "catalog": 5, "report": 15}
var stepMemory = map[string]float64{"validate": 2048, "copy": 512, "index": 3008, "catalog": 512, "report": 512}

func title(s string) string { return strings.ToUpper(s[:1]) + s[1:] }

// newFunctions makes one function per step from the same code, each with a role of its own that
// holds only what its step needs.
func (r *Registry) newFunctions() {
	code := r.p.Code
	if code == nil {
		code = Code()
	}
	for _, step := range Steps {
		id := title(step)
		role := awsiam.NewRole(r.Construct, jsii.String(id+"Role"), &awsiam.RoleProps{
			AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
			Description: jsii.String("stratolab registry ingest: the " + step + " step"),
		})
		logs := awslogs.NewLogGroup(r.Construct, jsii.String(id+"Logs"), &awslogs.LogGroupProps{Retention: r.p.LogRetention, RemovalPolicy: r.policy.RemovalPolicy})
		logs.GrantWrite(role)
		fn := awslambda.NewFunction(r.Construct, jsii.String(id+"Function"), &awslambda.FunctionProps{
			Description:  jsii.String("Registry ingest: " + step),
			Runtime:      awslambda.Runtime_PROVIDED_AL2023(),
			Architecture: awslambda.Architecture_ARM_64(),
			Handler:      jsii.String("bootstrap"),
			Code:         code,
			Role:         role,
			LogGroup:     logs,
			Timeout:      awscdk.Duration_Minutes(jsii.Number(stepTimeout[step])),
			MemorySize:   jsii.Number(stepMemory[step]),
			Environment: &map[string]*string{
				"STEP": jsii.String(step), "REGISTRY_CONFIG": jsii.String(r.runtimeConfig()),
				"UPLOAD_BUCKET": r.UploadBucket.BucketName(), "TABLE_NAME": r.Records.TableName(),
			},
		})
		r.Functions[step] = fn
		r.Roles[step] = role
		r.grantStep(step, role)
		r.grantKey(role, "Step")
	}
}

// KeyActions are what a reader and writer of SSE-KMS objects needs on their key: kms:GenerateDataKey
// to write an object (a multipart upload's too) and kms:Decrypt to read one, to copy from one and to
// complete a multipart upload (Amazon S3 User Guide, "Using server-side encryption with AWS KMS keys"
// and "Multipart upload API and permissions"). Every step reads the job from the upload bucket and
// writes <job>/.work/, and copy, index and catalog also read and write the private dataset buckets.
var KeyActions = []string{"kms:Decrypt", "kms:GenerateDataKey"}

// grantKey lets grantee use the registry's key through S3 only (kms:ViaService), if there is one.
func (r *Registry) grantKey(grantee awsiam.IGrantable, sid string) {
	if r.EncryptionKey == nil {
		return
	}
	grantee.GrantPrincipal().AddToPrincipalPolicy(r.KeyStatement(sid + "UsesDataKey"))
}

// KeyStatement allows KeyActions on the registry's key through S3 only.
func (r *Registry) KeyStatement(sid string) awsiam.PolicyStatement {
	return awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid: jsii.String(sid), Actions: jsii.Strings(KeyActions...), Resources: &[]*string{r.EncryptionKey.KeyArn()},
		Conditions: &map[string]any{"StringEquals": map[string]any{"kms:ViaService": ViaS3(r.Construct)}},
	})
}

func (r *Registry) allow(role awsiam.Role, sid string, actions []string, resources ...string) {
	role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid: jsii.String(sid), Actions: jsii.Strings(actions...), Resources: jsii.Strings(resources...),
	}))
}

// grantStep gives each step's role its rights. Upload: the steps read the job (<job>/...) and write
// only <job>/.work/* and <job>/report.json; only Report deletes uploads. Dataset buckets: Copy and
// Index write data and index keys (<bucket>/<prefix>/..., never the root catalog.json); Catalog writes
// catalog.json only; deleting is granted (to Index) only when retraction is on.
func (r *Registry) grantStep(step string, role awsiam.Role) {
	up := r.UploadBucket
	jobObjects := *up.ArnForObjects(jsii.String("*"))
	work := *up.ArnForObjects(jsii.String("*/.work/*"))
	report := *up.ArnForObjects(jsii.String("*/report.json"))
	var dataKeys, catalogs, bucketArns []string
	for _, b := range r.buckets {
		bk := r.DatasetBuckets[b.Name]
		dataKeys = append(dataKeys, *bk.ArnForObjects(jsii.String("*/*")))
		catalogs = append(catalogs, *bk.ArnForObjects(jsii.String("catalog.json")))
		bucketArns = append(bucketArns, *bk.BucketArn())
	}
	table := *r.Records.TableArn()
	read := []string{"s3:GetObject"}
	// Without ListBucket, S3 answers a missing key with 403 instead of 404.
	r.allow(role, "ListUploads", []string{"s3:ListBucket"}, *up.BucketArn())
	switch step {
	case "validate":
		r.allow(role, "ReadJob", append(read, "s3:GetObjectAttributes"), jobObjects)
		r.allow(role, "WriteWork", []string{"s3:PutObject"}, work)
		r.allow(role, "ReadRecords", []string{"dynamodb:GetItem"}, table)
	case "copy":
		r.allow(role, "ReadUploads", append(read, "s3:GetObjectTagging", "s3:GetObjectVersion"), jobObjects)
		// CreateMultipartUpload, UploadPartCopy and CompleteMultipartUpload are s3:PutObject; ListParts
		// is s3:ListMultipartUploadParts. The upload IDs go to <job>/.work/uploads.json.
		r.allow(role, "WriteData", []string{"s3:PutObject", "s3:PutObjectTagging", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"}, dataKeys...)
		// A retried complete phase whose upload is gone (NoSuchUpload: an earlier attempt completed it)
		// checks the copy with HeadObject, which is s3:GetObject (Service Authorization Reference, S3:
		// HeadObject needs s3:GetObject); without it the check gets 403 and the retry fails a finished copy.
		r.allow(role, "CheckCopies", read, dataKeys...)
		r.allow(role, "WriteWork", []string{"s3:PutObject"}, work)
	case "index":
		r.allow(role, "ReadJob", read, jobObjects)
		r.allow(role, "WriteWork", []string{"s3:PutObject"}, work)
		r.allow(role, "ListDatasets", []string{"s3:ListBucket"}, bucketArns...)
		actions := []string{"s3:GetObject", "s3:PutObject"}
		if r.p.AllowRetraction {
			actions = append(actions, "s3:DeleteObject")
		}
		r.allow(role, "ReadWriteIndexes", actions, dataKeys...)
		r.allow(role, "WriteRecords", []string{"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem"}, table)
	case "catalog":
		r.allow(role, "WriteWork", []string{"s3:PutObject"}, work)
		r.allow(role, "ListDatasets", []string{"s3:ListBucket"}, bucketArns...)
		r.allow(role, "WriteCatalogs", []string{"s3:GetObject", "s3:PutObject"}, catalogs...)
		r.allow(role, "ReadRecords", []string{"dynamodb:Scan"}, table)
	case "report":
		r.allow(role, "ReadJob", read, jobObjects)
		r.allow(role, "WriteReport", []string{"s3:PutObject"}, report)
		r.allow(role, "DeleteUploads", []string{"s3:DeleteObject"}, jobObjects)
		// A failed job's multipart copies are aborted (which deletes no object).
		r.allow(role, "AbortCopies", []string{"s3:AbortMultipartUpload"}, dataKeys...)
	}
	cdknag.NagSuppressions_AddResourceSuppressions(role, &[]*cdknag.NagPackSuppression{{
		Id: jsii.String("AwsSolutions-IAM5"),
		Reason: jsii.String("Object keys are only known at run time: the " + step + " step's object rights are scoped to job folders of the upload " +
			"bucket (<upload>/*, <upload>/*/.work/*, <upload>/*/report.json), to dataset folders (<bucket>/*/*, which excludes the root catalog.json) " +
			"or to <bucket>/catalog.json, as its Sids say; the log stream grant is on this function's own log group."),
		AppliesTo: &[]any{cdknag.RegexAppliesTo{Regex: jsii.String(`/^Resource::<.*(UploadBucket|Dataset)[A-Za-z0-9]*\.Arn>\/(\*|\*\/\.work\/\*|\*\/report\.json|\*\/\*)$/g`)}},
	}}, jsii.Bool(true))
}

// MapResultsPrefix is where, in the upload bucket, the copy Map writes its children's results (they
// expire with the uploads).
const MapResultsPrefix = ".map-results"

// newWorkflow is the ingest state machine: Validate, then (when valid) a Distributed Map of copy
// batches read from the copy list, Index (retried while another job holds a dataset), Catalog and
// Report; any failure after Validate goes to Report with the error. Every end puts an event on the
// default bus (and publishes to the topic, if any).
func (r *Registry) newWorkflow() {
	fn := r.Functions
	job := awsstepfunctions.JsonPath_StringAt(jsii.String("$.validate.job"))
	invoke := func(id, step string, payload map[string]any, resultPath string, selector ...*map[string]any) awsstepfunctionstasks.LambdaInvoke {
		var p awsstepfunctions.TaskInput
		if payload == nil {
			p = awsstepfunctions.TaskInput_FromJsonPathAt(jsii.String("$"))
		} else {
			p = awsstepfunctions.TaskInput_FromObject(&payload)
		}
		props := &awsstepfunctionstasks.LambdaInvokeProps{
			LambdaFunction: fn[step], Payload: p, PayloadResponseOnly: jsii.Bool(true),
			RetryOnServiceExceptions: jsii.Bool(true),
		}
		if len(selector) > 0 {
			props.ResultSelector = selector[0]
		}
		if resultPath == "" {
			props.ResultPath = awsstepfunctions.JsonPath_DISCARD()
		} else {
			props.ResultPath = jsii.String(resultPath)
		}
		return awsstepfunctionstasks.NewLambdaInvoke(r.Construct, jsii.String(id), props)
	}
	validate := invoke("Validate", "validate", map[string]any{
		"job": awsstepfunctions.JsonPath_StringAt(jsii.String("$.job")), "marker": awsstepfunctions.JsonPath_StringAt(jsii.String("$.marker")),
	}, "$.validate")

	// Each child run returns only {"done": true}: with its result discarded it would return its whole
	// batch (a state's output is its input), and the Map gathers every child's output.
	copyBatch := awsstepfunctionstasks.NewLambdaInvoke(r.Construct, jsii.String("CopyBatch"), &awsstepfunctionstasks.LambdaInvokeProps{
		LambdaFunction: fn["copy"], PayloadResponseOnly: jsii.Bool(true), RetryOnServiceExceptions: jsii.Bool(true),
		Payload:        awsstepfunctions.TaskInput_FromObject(&map[string]any{"Items": awsstepfunctions.JsonPath_ListAt(jsii.String("$.Items"))}),
		ResultSelector: &map[string]any{"done": true},
		ResultPath:     jsii.String("$.r"),
		OutputPath:     jsii.String("$.r"),
	})
	copyBatch.AddRetry(&awsstepfunctions.RetryProps{Errors: jsii.Strings("States.ALL"), Interval: awscdk.Duration_Seconds(jsii.Number(5)),
		BackoffRate: jsii.Number(2), MaxAttempts: jsii.Number(5)})
	// Validate sized every batch to fit one invocation (ingest.PlanCopies: by count, by bytes and by
	// JSON size), so each item of the copy list is a batch and the Map has no ItemBatcher.
	copyFiles := awsstepfunctions.NewDistributedMap(r.Construct, jsii.String("CopyFiles"), &awsstepfunctions.DistributedMapProps{
		Comment: jsii.String("Server-side copies of the job's files, in batches, in parallel"),
		ItemReader: awsstepfunctions.NewS3JsonItemReader(&awsstepfunctions.S3FileItemReaderProps{
			BucketNamePath: awsstepfunctions.JsonPath_StringAt(jsii.String("$.validate.upload_bucket")),
			Key:            awsstepfunctions.JsonPath_StringAt(jsii.String("$.validate.copy_list")),
		}),
		MaxConcurrency:             jsii.Number(float64(r.p.CopyConcurrency)),
		ToleratedFailurePercentage: jsii.Number(0),
		// The children's results go to S3, not into the execution's state: a Map's gathered results
		// past 256 KiB fail the run with States.DataLimitExceeded, which no Catch can catch (Step
		// Functions developer guide, "Error handling"; aws/aws-cdk#24799). Both writers, so that the
		// construct works with and without @aws-cdk/aws-stepfunctions:useDistributedMapResultWriterV2.
		ResultWriter:     awsstepfunctions.NewResultWriter(&awsstepfunctions.ResultWriterProps{Bucket: r.UploadBucket, Prefix: jsii.String(MapResultsPrefix)}),
		ResultWriterV2:   awsstepfunctions.NewResultWriterV2(&awsstepfunctions.ResultWriterV2Props{Bucket: r.UploadBucket, Prefix: jsii.String(MapResultsPrefix)}),
		ResultPath:       awsstepfunctions.JsonPath_DISCARD(),
		MapExecutionType: awsstepfunctions.StateMachineType_STANDARD,
	})
	copyFiles.ItemProcessor(copyBatch, nil)

	// Files larger than one copy request are copied in parts: their uploads start before the Map
	// and complete after it (both no-ops for a job without such files).
	startParts := invoke("StartMultipartCopies", "copy", map[string]any{"phase": "start", "job": job}, "")
	completeParts := invoke("CompleteMultipartCopies", "copy", map[string]any{"phase": "complete", "job": job}, "")
	for _, t := range []awsstepfunctionstasks.LambdaInvoke{startParts, completeParts} {
		t.AddRetry(&awsstepfunctions.RetryProps{Errors: jsii.Strings("States.ALL"), Interval: awscdk.Duration_Seconds(jsii.Number(5)), BackoffRate: jsii.Number(2), MaxAttempts: jsii.Number(5)})
	}

	index := invoke("Index", "index", map[string]any{"job": job}, "$.index")
	// DatasetBusy (another job is rebuilding one of this job's datasets) and transient errors.
	index.AddRetry(&awsstepfunctions.RetryProps{Errors: jsii.Strings("States.ALL"), Interval: awscdk.Duration_Seconds(jsii.Number(20)),
		BackoffRate: jsii.Number(2), MaxAttempts: jsii.Number(8), MaxDelay: awscdk.Duration_Minutes(jsii.Number(10))})
	catalog := invoke("Catalog", "catalog", map[string]any{"job": job, "buckets": awsstepfunctions.JsonPath_ListAt(jsii.String("$.index.buckets"))}, "")
	catalog.AddRetry(&awsstepfunctions.RetryProps{Errors: jsii.Strings("States.ALL"), Interval: awscdk.Duration_Seconds(jsii.Number(5)), BackoffRate: jsii.Number(2), MaxAttempts: jsii.Number(5)})

	// The report names its job from the execution's input (both keys are always given), not from
	// Validate's output, so that a failed Validate is reported too.
	inputJob := awsstepfunctions.JsonPath_StringAt(jsii.String("$.job"))
	inputMarker := awsstepfunctions.JsonPath_StringAt(jsii.String("$.marker"))
	reportPayload := func(status string, withError bool) map[string]any {
		m := map[string]any{
			"job": inputJob, "marker": inputMarker, "status": status,
			"execution": awsstepfunctions.JsonPath_ExecutionId(), "started": awsstepfunctions.JsonPath_StringAt(jsii.String("$$.Execution.StartTime")),
		}
		if withError {
			m["error"] = awsstepfunctions.JsonPath_StringAt(jsii.String("$.error.Error"))
			m["cause"] = awsstepfunctions.JsonPath_StringAt(jsii.String("$.error.Cause"))
		}
		return m
	}
	// A report's summary only: the whole report (every problem, twice) can pass the 256 KiB state limit.
	summary := &map[string]any{"job.$": "$.job", "status.$": "$.status", "files.$": "$.files", "bytes.$": "$.bytes", "error.$": "$.error", "location.$": "$.location"}
	reportOK := invoke("ReportSucceeded", "report", reportPayload("succeeded", false), "$.report", summary)
	reportInvalid := invoke("ReportInvalid", "report", map[string]any{
		"job": inputJob, "marker": inputMarker, "status": "failed", "error": "ValidationFailed", "cause": awsstepfunctions.JsonPath_Format(jsii.String("{} problem(s): see report.json"), awsstepfunctions.JsonPath_StringAt(jsii.String("$.validate.problems"))),
		"execution": awsstepfunctions.JsonPath_ExecutionId(), "started": awsstepfunctions.JsonPath_StringAt(jsii.String("$$.Execution.StartTime")),
	}, "$.report", summary)
	reportFailed := invoke("ReportFailed", "report", reportPayload("failed", true), "$.report", summary)
	for _, t := range []awsstepfunctionstasks.LambdaInvoke{reportOK, reportInvalid, reportFailed} {
		t.AddRetry(&awsstepfunctions.RetryProps{Errors: jsii.Strings("States.ALL"), Interval: awscdk.Duration_Seconds(jsii.Number(5)), BackoffRate: jsii.Number(2), MaxAttempts: jsii.Number(3)})
	}

	event := awsstepfunctionstasks.NewEventBridgePutEvents(r.Construct, jsii.String("JobFinishedEvent"), &awsstepfunctionstasks.EventBridgePutEventsProps{
		Entries: &[]*awsstepfunctionstasks.EventBridgePutEventsEntry{{
			Source: jsii.String(EventSource), DetailType: jsii.String(EventDetailType),
			Detail: awsstepfunctions.TaskInput_FromObject(&map[string]any{
				"job": awsstepfunctions.JsonPath_StringAt(jsii.String("$.report.job")), "status": awsstepfunctions.JsonPath_StringAt(jsii.String("$.report.status")),
				"files": awsstepfunctions.JsonPath_NumberAt(jsii.String("$.report.files")), "bytes": awsstepfunctions.JsonPath_NumberAt(jsii.String("$.report.bytes")),
				"error": awsstepfunctions.JsonPath_StringAt(jsii.String("$.report.error")), "report": awsstepfunctions.JsonPath_StringAt(jsii.String("$.report.location")),
				"execution": awsstepfunctions.JsonPath_ExecutionId(),
			}),
		}},
		ResultPath: awsstepfunctions.JsonPath_DISCARD(),
	})
	ended := awsstepfunctions.NewChoice(r.Construct, jsii.String("JobSucceeded"), nil).
		When(awsstepfunctions.Condition_StringEquals(jsii.String("$.report.status"), jsii.String("succeeded")), awsstepfunctions.NewSucceed(r.Construct, jsii.String("Succeeded"), nil), nil).
		Otherwise(awsstepfunctions.NewFail(r.Construct, jsii.String("Failed"), &awsstepfunctions.FailProps{
			Error: jsii.String("IngestFailed"), CausePath: awsstepfunctions.JsonPath_Format(jsii.String("job {} failed: {} (see {})"),
				awsstepfunctions.JsonPath_StringAt(jsii.String("$.report.job")), awsstepfunctions.JsonPath_StringAt(jsii.String("$.report.error")), awsstepfunctions.JsonPath_StringAt(jsii.String("$.report.location"))),
		}))
	var notified awsstepfunctions.IChainable = ended
	if r.p.NotificationTopic != nil {
		notify := awsstepfunctionstasks.NewSnsPublish(r.Construct, jsii.String("Notify"), &awsstepfunctionstasks.SnsPublishProps{
			Topic:      r.p.NotificationTopic,
			Subject:    awsstepfunctions.JsonPath_Format(jsii.String("Registry job {} {}"), awsstepfunctions.JsonPath_StringAt(jsii.String("$.report.job")), awsstepfunctions.JsonPath_StringAt(jsii.String("$.report.status"))),
			Message:    awsstepfunctions.TaskInput_FromJsonPathAt(jsii.String("$.report")),
			ResultPath: awsstepfunctions.JsonPath_DISCARD(),
		})
		notify.Next(ended)
		notified = notify
	}
	event.Next(notified)
	for _, rep := range []awsstepfunctionstasks.LambdaInvoke{reportOK, reportInvalid, reportFailed} {
		rep.Next(event)
	}
	for _, s := range []interface {
		AddCatch(awsstepfunctions.IChainable, *awsstepfunctions.CatchProps) awsstepfunctions.TaskStateBase
	}{validate, startParts, completeParts, index, catalog} {
		s.AddCatch(reportFailed, &awsstepfunctions.CatchProps{ResultPath: jsii.String("$.error")})
	}
	copyFiles.AddCatch(reportFailed, &awsstepfunctions.CatchProps{ResultPath: jsii.String("$.error")})

	valid := awsstepfunctions.NewChoice(r.Construct, jsii.String("JobValid"), nil).
		When(awsstepfunctions.Condition_BooleanEquals(jsii.String("$.validate.ok"), jsii.Bool(true)),
			startParts.Next(copyFiles).Next(completeParts).Next(index).Next(catalog).Next(reportOK), nil).
		Otherwise(reportInvalid)
	// Starters give both keys: the CLI {"job": NAME, "marker": ""}, the marker rule {"job": "", "marker": KEY}.
	definition := validate.Next(valid)

	logs := awslogs.NewLogGroup(r.Construct, jsii.String("WorkflowLogs"), &awslogs.LogGroupProps{Retention: r.p.LogRetention, RemovalPolicy: r.policy.RemovalPolicy})
	r.Workflow = awsstepfunctions.NewStateMachine(r.Construct, jsii.String("Workflow"), &awsstepfunctions.StateMachineProps{
		Comment:          jsii.String("Registry ingest: validate, copy, index, catalog, report"),
		DefinitionBody:   awsstepfunctions.DefinitionBody_FromChainable(definition),
		StateMachineType: awsstepfunctions.StateMachineType_STANDARD,
		Timeout:          r.p.JobTimeout,
		TracingEnabled:   jsii.Bool(true),
		Logs:             &awsstepfunctions.LogOptions{Destination: logs, Level: awsstepfunctions.LogLevel_ALL, IncludeExecutionData: jsii.Bool(false)},
	})
	// The Distributed Map reads the copy list that Validate wrote.
	r.Workflow.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid: jsii.String("ReadCopyLists"), Actions: jsii.Strings("s3:GetObject"), Resources: jsii.Strings(*r.UploadBucket.ArnForObjects(jsii.String("*/.work/copies.json"))),
	}))
	// The Map's item reader decrypts the copy list and its result writer encrypts the results
	// (Step Functions Developer Guide, "ItemReader" and "ResultWriter": IAM policies for KMS-encrypted buckets).
	r.grantKey(r.Workflow, "Workflow")
	cdknag.NagSuppressions_AddResourceSuppressions(r.Workflow, &[]*cdknag.NagPackSuppression{{
		Id: jsii.String("AwsSolutions-IAM5"),
		Reason: jsii.String("The state machine invokes this registry's five functions (and their versions, <arn>:*, the CDK's LambdaInvoke grant), " +
			"reads copy lists at <upload>/*/.work/copies.json (job names are run-time), starts and stops its own Distributed Map child executions, " +
			"writes the Map's results to the upload bucket (the CDK's ResultWriter grant is on <upload>/*, the Map's own prefix being " + MapResultsPrefix + "/), and " +
			"uses CloudWatch Logs delivery and X-Ray, which take no resource ARN."),
	}}, jsii.Bool(true))
}

// newTrigger starts the workflow when a marker object lands in a job folder of the upload bucket.
func (r *Registry) newTrigger() {
	awsevents.NewRule(r.Construct, jsii.String("MarkerUploaded"), &awsevents.RuleProps{
		Description: jsii.String(fmt.Sprintf("A %s marker in the registry's upload bucket starts its job", r.p.MarkerName)),
		EventPattern: &awsevents.EventPattern{
			Source:     jsii.Strings("aws.s3"),
			DetailType: jsii.Strings("Object Created"),
			Detail: &map[string]any{
				"bucket": map[string]any{"name": []any{r.UploadBucket.BucketName()}},
				"object": map[string]any{"key": []any{map[string]any{"suffix": "/" + r.p.MarkerName}}},
			},
		},
		Targets: &[]awsevents.IRuleTarget{awseventstargets.NewSfnStateMachine(r.Workflow, &awseventstargets.SfnStateMachineProps{
			Input: awsevents.RuleTargetInput_FromObject(map[string]any{"job": "", "marker": awsevents.EventField_FromPath(jsii.String("$.detail.object.key"))}),
		})},
	})
}

// The calls of `stratolab registry upload` and `ingest` (cmd/stratolab, through ingest.UploadAPI,
// ingest.WorkflowAPI and ingest.ReportReader), as IAM actions (Service Authorization Reference, Amazon
// S3 and AWS Step Functions): ListObjectsV2 is s3:ListBucket and ListMultipartUploads
// s3:ListBucketMultipartUploads, both on the bucket; PutObject, CreateMultipartUpload, UploadPart and
// CompleteMultipartUpload are s3:PutObject and ListParts s3:ListMultipartUploadParts, on objects;
// GetObject (report.json) is s3:GetObject; StartExecution and DescribeExecution are the states actions
// of the same names, on the state machine and on its executions.
var (
	UploaderBucketActions    = []string{"s3:ListBucket", "s3:ListBucketMultipartUploads"}
	UploaderObjectActions    = []string{"s3:PutObject", "s3:ListMultipartUploadParts"}
	UploaderReportActions    = []string{"s3:GetObject"}
	UploaderStartActions     = []string{"states:StartExecution"}
	UploaderExecutionActions = []string{"states:DescribeExecution"}
)

// newUploaderPolicy is the managed policy for the people who upload and ingest jobs: list and upload
// job folders (<upload>/<job>/..., multipart and resumed included), read the jobs' reports, start the
// workflow and follow its executions, and with a key use it through S3. It denies writing what the
// workflow writes (<job>/.work/, <job>/report.json, the Map's results), so an uploader cannot forge a
// report or a copy list.
func (r *Registry) newUploaderPolicy() {
	up := r.UploadBucket
	stack := awscdk.Stack_Of(r.Construct)
	props := &awsiam.ManagedPolicyProps{
		Description: jsii.String("stratolab registry: upload ingest jobs to the upload bucket, start them and read their reports"),
	}
	if r.p.UploaderPolicyName != "" {
		props.ManagedPolicyName = jsii.String(r.p.UploaderPolicyName)
	}
	mp := awsiam.NewManagedPolicy(r.Construct, jsii.String("UploaderPolicy"), props)
	add := func(sid string, effect awsiam.Effect, actions []string, resources ...*string) {
		mp.AddStatements(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid: jsii.String(sid), Effect: effect, Actions: jsii.Strings(actions...), Resources: &resources,
		}))
	}
	add("ListJobs", awsiam.Effect_ALLOW, UploaderBucketActions, up.BucketArn())
	add("UploadJobs", awsiam.Effect_ALLOW, UploaderObjectActions, up.ArnForObjects(jsii.String("*/*")))
	add("ReadReports", awsiam.Effect_ALLOW, UploaderReportActions, up.ArnForObjects(jsii.String("*/"+reportFile)))
	add("NoWorkflowFiles", awsiam.Effect_DENY, []string{"s3:PutObject"}, up.ArnForObjects(jsii.String("*/.work/*")),
		up.ArnForObjects(jsii.String("*/"+reportFile)), up.ArnForObjects(jsii.String(MapResultsPrefix+"/*")))
	add("StartIngest", awsiam.Effect_ALLOW, UploaderStartActions, r.Workflow.StateMachineArn())
	add("FollowIngest", awsiam.Effect_ALLOW, UploaderExecutionActions, stack.FormatArn(&awscdk.ArnComponents{
		Service: jsii.String("states"), Resource: jsii.String("execution"), ResourceName: jsii.String(*r.Workflow.StateMachineName() + ":*"),
		ArnFormat: awscdk.ArnFormat_COLON_RESOURCE_NAME,
	}))
	if r.EncryptionKey != nil {
		mp.AddStatements(r.KeyStatement("UseDataKeyThroughS3"))
	}
	cdknag.NagSuppressions_AddResourceSuppressions(mp, &[]*cdknag.NagPackSuppression{{
		Id: jsii.String("AwsSolutions-IAM5"),
		Reason: jsii.String("Job names and file keys are the uploader's, known at run time: objects are scoped to job folders of this registry's upload " +
			"bucket (<upload>/*/*, reports <upload>/*/report.json), and executions to this workflow's (execution:<workflow>:*, named per run)."),
		AppliesTo: &[]any{cdknag.RegexAppliesTo{Regex: jsii.String(`/^Resource::(<.*UploadBucket[A-Za-z0-9]*\.Arn>\/(\*\/\*|\*\/report\.json|\*\/\.work\/\*|\.map-results\/\*)|arn:.*:execution:.*:\*)$/g`)}},
	}}, jsii.Bool(true))
	r.UploaderPolicy = mp
}

// reportFile is ingest.ReportFile (the construct does not import runtime code).
const reportFile = "report.json"
