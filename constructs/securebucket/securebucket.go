// Package securebucket makes the two kinds of S3 bucket every stratolab module needs: a data bucket
// (encrypted, versioned, TLS-only, public access blocked, ACLs disabled, server access logs delivered to
// a logs bucket) and the logs bucket itself. Both follow a lifecycle.Policy.
package securebucket

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/regioninfo"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
	"github.com/stratolab/stratolab/constructs/lifecycle"
)

// PinLogDeliveryByPolicy makes buckets under scope take server access logs under a bucket policy, never
// an ACL (ACLs are disabled). The CDK decides this by a feature flag; pinning it here makes a construct
// behave the same in apps that do not set the flag. Call it before scope has children.
func PinLogDeliveryByPolicy(scope constructs.Construct) {
	scope.Node().SetContext(jsii.String("@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy"), true)
}

// Props configure a data bucket.
type Props struct {
	// Where server access logs go. Required.
	AccessLogs awss3.IBucket
	// Key prefix of this bucket's logs in AccessLogs. Default: - the bucket's construct ID
	AccessLogsPrefix string
	// Customer-managed key. Default: - S3-managed keys (SSE-S3)
	EncryptionKey awskms.IKey
	// Lifecycle rules. Default: - noncurrent versions expire after 30 days, incomplete uploads after 7
	LifecycleRules []*awss3.LifecycleRule
	// What happens on destroy. Default: - lifecycle.Production()
	Lifecycle lifecycle.Policy
}

// New creates a data bucket in scope, whose tree must deliver logs by policy (PinLogDeliveryByPolicy).
func New(scope constructs.Construct, id string, p *Props) awss3.Bucket {
	policy := p.Lifecycle.OrDefault()
	rules := p.LifecycleRules
	if rules == nil {
		rules = []*awss3.LifecycleRule{
			{Id: jsii.String("expire-noncurrent-versions"), NoncurrentVersionExpiration: awscdk.Duration_Days(jsii.Number(30))},
			{Id: jsii.String("abort-incomplete-uploads"), AbortIncompleteMultipartUploadAfter: awscdk.Duration_Days(jsii.Number(7))},
		}
	}
	prefix := p.AccessLogsPrefix
	if prefix == "" {
		prefix = id + "/"
	}
	props := &awss3.BucketProps{
		Encryption:             awss3.BucketEncryption_S3_MANAGED,
		EnforceSSL:             jsii.Bool(true),
		BlockPublicAccess:      awss3.BlockPublicAccess_BLOCK_ALL(),
		ObjectOwnership:        awss3.ObjectOwnership_BUCKET_OWNER_ENFORCED,
		Versioned:              jsii.Bool(true),
		ServerAccessLogsBucket: p.AccessLogs,
		ServerAccessLogsPrefix: jsii.String(prefix),
		LifecycleRules:         &rules,
		RemovalPolicy:          policy.RemovalPolicy,
		AutoDeleteObjects:      jsii.Bool(policy.AutoDelete),
	}
	if p.EncryptionKey != nil {
		props.Encryption = awss3.BucketEncryption_KMS
		props.EncryptionKey = p.EncryptionKey
		props.BucketKeyEnabled = jsii.Bool(true)
	}
	return awss3.NewBucket(scope, jsii.String(id), props)
}

// NewLogs creates a logs bucket: SSE-S3 (the only encryption log delivery accepts), TLS-only, private,
// versioned, its logs expiring after retention. It does not log its own access.
func NewLogs(scope constructs.Construct, id string, retention awscdk.Duration, policy lifecycle.Policy) awss3.Bucket {
	policy = policy.OrDefault()
	if retention == nil {
		retention = awscdk.Duration_Days(jsii.Number(365))
	}
	b := awss3.NewBucket(scope, jsii.String(id), &awss3.BucketProps{
		Encryption:        awss3.BucketEncryption_S3_MANAGED,
		EnforceSSL:        jsii.Bool(true),
		BlockPublicAccess: awss3.BlockPublicAccess_BLOCK_ALL(),
		ObjectOwnership:   awss3.ObjectOwnership_BUCKET_OWNER_ENFORCED,
		Versioned:         jsii.Bool(true),
		LifecycleRules: &[]*awss3.LifecycleRule{{
			Id:                          jsii.String("expire-logs"),
			Expiration:                  retention,
			NoncurrentVersionExpiration: awscdk.Duration_Days(jsii.Number(30)),
		}},
		RemovalPolicy:     policy.RemovalPolicy,
		AutoDeleteObjects: jsii.Bool(policy.AutoDelete),
	})
	cdknag.NagSuppressions_AddResourceSuppressions(b, &[]*cdknag.NagPackSuppression{{
		Id:     jsii.String("AwsSolutions-S1"),
		Reason: jsii.String("This is the access-log destination of its module's buckets and load balancer; logging its own access into itself would loop."),
	}}, jsii.Bool(false))
	return b
}

// AllowLoadBalancerLogs lets Elastic Load Balancing write the access logs of a load balancer that the CDK
// does not create (one made by the AWS Load Balancer Controller, say) under prefix in a logs bucket,
// the way the CDK's own logAccessLogs does for its load balancers: s3:PutObject on
// <prefix>/AWSLogs/<account>/* for the region's ELB account, or for the log delivery service in
// regions without one. It returns the bucket policy, which the load balancer must wait for: ELB
// checks that it can write before it turns logging on. The stack's region must be known.
func AllowLoadBalancerLogs(b awss3.Bucket, prefix string) awss3.BucketPolicy {
	stack := awscdk.Stack_Of(b)
	region := stack.Region()
	if *awscdk.Token_IsUnresolved(region) {
		panic(fmt.Sprintf("securebucket: load balancer logs into %s need the stack's region (ELB writes them from a regional account)", *b.Node().Path()))
	}
	var principal awsiam.IPrincipal = awsiam.NewServicePrincipal(jsii.String("logdelivery.elasticloadbalancing.amazonaws.com"), nil)
	if account := regioninfo.RegionInfo_Get(region).Elbv2Account(); account != nil {
		principal = awsiam.NewAccountPrincipal(account)
	}
	b.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:    jsii.Strings("s3:PutObject"),
		Principals: &[]awsiam.IPrincipal{principal},
		Resources:  jsii.Strings(*b.ArnForObjects(jsii.String(prefix + "/AWSLogs/" + *stack.Account() + "/*"))),
	}))
	return b.Policy()
}
