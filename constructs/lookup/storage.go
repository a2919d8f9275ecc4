// Package lookup runs "a web app plus its database on EFS": the QA Authority Lookup service, whose
// defaults it carries (a Rails app on port 3000 reading authority files from EFS, and MariaDB on 3306
// keeping its data on EFS).
//
// NewStorage makes what must survive a redeploy: an encrypted EFS file system with two access points
// (authorities and database), each owned by a non-root POSIX user; a config bucket holding the app's
// env file; a logs bucket; and the generated secrets (database passwords, Rails' secret_key_base, the
// reload token), which never appear in the env file or a template.
//
// NewService runs on a Storage: an ECS cluster (EC2 capacity on the ECS-optimized AL2023 AMI, or
// Fargate) with two services. The database runs as its own service of exactly one task whose
// deployments never overlap, so only one MariaDB ever writes the data directory; the app reaches it
// through Cloud Map and scales on CPU behind an HTTPS load balancer. An optional DataSync task copies
// authority files from S3 into the authorities access point on a schedule, and a state machine starts
// a new deployment of the app after each copy that changed a file (Qa reads them only at boot).
package lookup

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsefs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3deployment"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
	"github.com/stratolab/stratolab/constructs/lifecycle"
	"github.com/stratolab/stratolab/constructs/securebucket"
	"github.com/stratolab/stratolab/constructs/webfront"
)

// AccessPoint is where an access point roots clients and who they act as.
type AccessPoint struct {
	// Root directory in the file system, created on first use.
	Path string
	// POSIX user and group every client of the access point acts as, and that owns Path.
	Uid, Gid int
	// Octal permissions of Path when it is created, such as "0755".
	Permissions string
}

// DefaultAuthorities is the authorities access point: /authorities, owned by 1000:1000, 0755.
func DefaultAuthorities() AccessPoint {
	return AccessPoint{Path: "/authorities", Uid: 1000, Gid: 1000, Permissions: "0755"}
}

// DefaultDatabase is the database access point: /db-mysql-data, owned by the MariaDB image's mysql
// user (999:999), 0750.
func DefaultDatabase() AccessPoint {
	return AccessPoint{Path: "/db-mysql-data", Uid: 999, Gid: 999, Permissions: "0750"}
}

// StorageProps configure the stateful half.
type StorageProps struct {
	// The VPC whose private subnets get the mount targets. Required.
	Vpc awsec2.IVpc
	// When files move to EFS Infrequent Access; a file read there moves back to Standard at its first
	// access. Default: - awsefs.LifecyclePolicy_AFTER_30_DAYS
	InfrequentAccessAfter awsefs.LifecyclePolicy
	// AWS Backup's daily EFS backups. Default: - false (turn on in production)
	AutomaticBackups bool
	// The access points. Default: - DefaultAuthorities() and DefaultDatabase()
	Authorities, Database *AccessPoint
	// Permit uid or gid 0 on an access point. Default: - false: root is refused
	AllowRootPosixUser bool
	// Encrypts the four secrets (the task execution roles that read them get kms:Decrypt through
	// Secrets Manager with their read grant) and the config bucket, SSE-KMS with S3 Bucket Keys, so
	// that it also guards the env file. Every reader and writer of the bucket may use the key through
	// S3 only (ConfigKeyStatement). Default: - Secrets Manager's AWS-managed key, and SSE-S3
	SecretsKey awskms.IKey
	// Plain settings written to the env file (never secrets). Default: - none
	Settings map[string]string
	// Key of the env file in the config bucket. Default: - lookup.env
	EnvFileKey string
	// What happens to the file system, buckets and secrets on destroy. Default: - lifecycle.Production()
	Lifecycle lifecycle.Policy
}

// Storage is the file system, its access points, the config and logs buckets and the secrets.
type Storage struct {
	constructs.Construct
	FileSystem awsefs.IFileSystem
	// FileSystemSecurityGroup guards the mount targets; services open 2049 on it to their own tasks only.
	FileSystemSecurityGroup                     awsec2.ISecurityGroup
	AuthoritiesAccessPoint, DatabaseAccessPoint awsefs.IAccessPoint
	// Authorities and Database are the access points' settings.
	Authorities, Database AccessPoint
	// ConfigBucket holds the env file, at EnvFileKey. With SecretsKey it is SSE-KMS under that key, but
	// ConfigBucket.EncryptionKey() is nil: grant the key with ConfigKeyStatement, through S3 only.
	ConfigBucket awss3.IBucket
	EnvFileKey   string
	// EnvFileHash is the SHA-256 of the env file's content, in hex. The service puts it into its task
	// definition, so that a change of a setting makes a new revision and a deployment.
	EnvFileHash string
	// LogsBucket receives the config bucket's and the load balancer's access logs. It stays SSE-S3:
	// "The only server-side encryption option that's supported is Amazon S3-managed keys (SSE-S3)"
	// (Elastic Load Balancing User Guide, "Enable access logs for your Application Load Balancer").
	LogsBucket awss3.IBucket
	// Generated at deploy time: the app's database password, MariaDB's root password, Rails'
	// secret_key_base and the authority reload token.
	DatabasePassword, DatabaseRootPassword, SecretKeyBase, ReloadToken awssecretsmanager.ISecret
	// SecretsKey encrypts the secrets and the config bucket, when StorageProps.SecretsKey was given
	// (nil: aws/secretsmanager and SSE-S3).
	SecretsKey awskms.IKey
}

// NewStorage creates the stateful half. It panics on props that cannot work, before creating anything.
func NewStorage(scope constructs.Construct, id string, p *StorageProps) *Storage {
	if p == nil || p.Vpc == nil {
		panic(fmt.Sprintf("lookup storage %s: Vpc is required", id))
	}
	auth, db := DefaultAuthorities(), DefaultDatabase()
	if p.Authorities != nil {
		auth = *p.Authorities
	}
	if p.Database != nil {
		db = *p.Database
	}
	for name, ap := range map[string]AccessPoint{"Authorities": auth, "Database": db} {
		if (ap.Uid == 0 || ap.Gid == 0) && !p.AllowRootPosixUser {
			panic(fmt.Sprintf("lookup storage %s: %s access point runs as %d:%d; root is refused unless AllowRootPosixUser", id, name, ap.Uid, ap.Gid))
		}
		if !strings.HasPrefix(ap.Path, "/") || ap.Path == "/" {
			panic(fmt.Sprintf("lookup storage %s: %s access point path %q must be an absolute directory below /", id, name, ap.Path))
		}
	}
	policy := p.Lifecycle.OrDefault()
	s := &Storage{Construct: constructs.NewConstruct(scope, jsii.String(id)), Authorities: auth, Database: db}
	securebucket.PinLogDeliveryByPolicy(s.Construct)

	sg := awsec2.NewSecurityGroup(s.Construct, jsii.String("FileSystemSecurityGroup"), &awsec2.SecurityGroupProps{
		Vpc:              p.Vpc,
		Description:      jsii.String("Lookup service EFS mount targets: NFS only from the service tasks"),
		AllowAllOutbound: jsii.Bool(false),
	})
	s.FileSystemSecurityGroup = sg
	ia := p.InfrequentAccessAfter
	if ia == "" {
		ia = awsefs.LifecyclePolicy_AFTER_30_DAYS
	}
	fsPolicy := awsiam.NewPolicyDocument(&awsiam.PolicyDocumentProps{Statements: &[]awsiam.PolicyStatement{
		awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:        jsii.String("DenyUnencryptedTransport"),
			Effect:     awsiam.Effect_DENY,
			Principals: &[]awsiam.IPrincipal{awsiam.NewAnyPrincipal()},
			Actions:    jsii.Strings("*"),
			Conditions: &map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}},
		}),
	}})
	fs := awsefs.NewFileSystem(s.Construct, jsii.String("FileSystem"), &awsefs.FileSystemProps{
		Vpc:             p.Vpc,
		VpcSubnets:      webfront.PrivateSubnets(p.Vpc),
		SecurityGroup:   sg,
		Encrypted:       jsii.Bool(true),
		LifecyclePolicy: ia,
		// Idle InnoDB files and authorities read only at boot would otherwise stay in IA after their next
		// read, paying IA access charges and latency on every restart.
		OutOfInfrequentAccessPolicy: awsefs.OutOfInfrequentAccessPolicy_AFTER_1_ACCESS,
		EnableAutomaticBackups:      jsii.Bool(p.AutomaticBackups),
		PerformanceMode:             awsefs.PerformanceMode_GENERAL_PURPOSE,
		ThroughputMode:              awsefs.ThroughputMode_ELASTIC,
		// Anonymous (non-IAM) mounts are refused because a file system policy exists and allows them nothing.
		// "true" only stops the CDK adding its own statement, which would give every principal that reaches a
		// mount target ClientWrite and ClientRootAccess; IAM clients get exactly their task roles' grants.
		AllowAnonymousAccess: jsii.Bool(true),
		FileSystemPolicy:     fsPolicy,
		RemovalPolicy:        policy.RemovalPolicy,
	})
	s.FileSystem = fs
	s.AuthoritiesAccessPoint = accessPoint(fs, "AuthoritiesAccessPoint", auth)
	s.DatabaseAccessPoint = accessPoint(fs, "DatabaseAccessPoint", db)

	s.LogsBucket = securebucket.NewLogs(s.Construct, "LogsBucket", nil, policy)
	s.ConfigBucket = securebucket.New(s.Construct, "ConfigBucket", &securebucket.Props{
		AccessLogs: s.LogsBucket, AccessLogsPrefix: "s3-access/config-bucket/", Lifecycle: policy,
	})
	s.SecretsKey = p.SecretsKey
	if p.SecretsKey != nil {
		// SSE-KMS with S3 Bucket Keys under the secrets' key, set on the L1 only. Told of a key, the L2's
		// grants add it to every grantee without kms:ViaService: BucketDeployment's grantReadWrite gives
		// its handler kms:Decrypt, DescribeKey, Encrypt, ReEncrypt* and GenerateDataKey* on it
		// (aws-cdk-lib 2.270.0, aws-s3/lib/bucket-grants.js: grant() calls grantOnKey with
		// KEY_READ_ACTIONS and KEY_WRITE_ACTIONS). Here each reader and writer gets the key through S3
		// only, by ConfigKeyStatement.
		s.ConfigBucket.Node().DefaultChild().(awss3.CfnBucket).SetBucketEncryption(&awss3.CfnBucket_BucketEncryptionProperty{
			ServerSideEncryptionConfiguration: &[]any{&awss3.CfnBucket_ServerSideEncryptionRuleProperty{
				BucketKeyEnabled: jsii.Bool(true),
				ServerSideEncryptionByDefault: &awss3.CfnBucket_ServerSideEncryptionByDefaultProperty{
					SseAlgorithm: jsii.String("aws:kms"), KmsMasterKeyId: p.SecretsKey.KeyArn(),
				},
			}},
		})
	}
	s.EnvFileKey = p.EnvFileKey
	if s.EnvFileKey == "" {
		s.EnvFileKey = "lookup.env"
	}
	s.writeEnvFile(p.Settings, policy)

	s.DatabasePassword = s.secret("DatabasePassword", "Password of the app's MariaDB user", 40, policy, p.SecretsKey)
	s.DatabaseRootPassword = s.secret("DatabaseRootPassword", "MariaDB root password", 40, policy, p.SecretsKey)
	s.SecretKeyBase = s.secret("SecretKeyBase", "Rails secret_key_base of the lookup app", 128, policy, p.SecretsKey)
	s.ReloadToken = s.secret("ReloadToken", "Token that lets an admin reload the authorities", 48, policy, p.SecretsKey)
	return s
}

// accessPoint adds an access point whose construct ID ends in a hash of its settings. Any change of
// them replaces the access point (CloudFormation replaces AWS::EFS::AccessPoint on every change of
// RootDirectory or PosixUser); with the hash, the replacement also has a new logical ID, so the name of
// the output that the service stack reads (a weak reference, Fn::GetStackOutput) changes too. The
// service stack's template then changes, and its task definitions and mount grants move to the new
// access point, instead of keeping the deleted one's ID because their template text stayed the same.
func accessPoint(fs awsefs.FileSystem, id string, ap AccessPoint) awsefs.AccessPoint {
	uid, gid := fmt.Sprint(ap.Uid), fmt.Sprint(ap.Gid)
	sum := sha256.Sum256([]byte(strings.Join([]string{ap.Path, uid, gid, ap.Permissions}, "\x00")))
	id += hex.EncodeToString(sum[:4])
	return fs.AddAccessPoint(jsii.String(id), &awsefs.AccessPointOptions{
		Path:      jsii.String(ap.Path),
		PosixUser: &awsefs.PosixUser{Uid: jsii.String(uid), Gid: jsii.String(gid)},
		CreateAcl: &awsefs.Acl{OwnerUid: jsii.String(uid), OwnerGid: jsii.String(gid), Permissions: jsii.String(ap.Permissions)},
	})
}

// writeEnvFile puts the plain settings into the config bucket as KEY=value lines, sorted.
func (s *Storage) writeEnvFile(settings map[string]string, policy lifecycle.Policy) {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(settings)) {
		b.WriteString(k + "=" + settings[k] + "\n")
	}
	sum := sha256.Sum256([]byte(b.String()))
	s.EnvFileHash = hex.EncodeToString(sum[:])
	// The deployment function's own log group, under the lifecycle: the CDK's default one is retained.
	logs := awslogs.NewLogGroup(s.Construct, jsii.String("EnvFileDeploymentLogs"), &awslogs.LogGroupProps{
		Retention: awslogs.RetentionDays_ONE_MONTH, RemovalPolicy: policy.RemovalPolicy,
	})
	deployment := awss3deployment.NewBucketDeployment(s.Construct, jsii.String("EnvFile"), &awss3deployment.BucketDeploymentProps{
		LogGroup:          logs,
		DestinationBucket: s.ConfigBucket,
		Sources:           &[]awss3deployment.ISource{awss3deployment.Source_Data(jsii.String(s.EnvFileKey), jsii.String(b.String()), nil)},
		Prune:             jsii.Bool(false),
		RetainOnDelete:    jsii.Bool(false),
	})
	// The handler writes the env file with the AWS CLI (aws s3 sync): a PutObject under SSE-KMS needs
	// kms:GenerateDataKey, and a multipart upload's completion kms:Decrypt (Amazon S3 User Guide,
	// "Using server-side encryption with AWS KMS keys" and "Multipart upload API and permissions").
	if st := s.ConfigKeyStatement("WriteEnvFileWithConfigKey", "kms:Decrypt", "kms:GenerateDataKey"); st != nil {
		deployment.HandlerRole().AddToPrincipalPolicy(st)
	}
	// The CDK's shared deployment function copies the env file from the CDK asset bucket into the
	// config bucket once per deployment.
	stack := awscdk.Stack_Of(s.Construct)
	for _, child := range *stack.Node().Children() {
		if !strings.HasPrefix(*child.(constructs.IConstruct).Node().Id(), "Custom::CDKBucketDeployment") {
			continue
		}
		cdknag.NagSuppressions_AddResourceSuppressions(child, &[]*cdknag.NagPackSuppression{
			{Id: jsii.String("AwsSolutions-IAM4"), Reason: jsii.String("The CDK's bucket deployment function logs to CloudWatch through AWSLambdaBasicExecutionRole, which grants only log stream writes."),
				AppliesTo: &[]any{"Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"}},
			{Id: jsii.String("AwsSolutions-IAM5"), Reason: jsii.String("The CDK's bucket deployment function reads its asset objects (s3:GetObject*, s3:List*) from the bootstrap asset bucket and writes objects of the config bucket (s3:DeleteObject*, s3:Abort*, <bucket>/*): object keys are the deployment's files.")},
			{Id: jsii.String("AwsSolutions-L1"), Reason: jsii.String("The bucket deployment function's runtime is pinned by the CDK release, which upgrades it; it runs only during deployments.")},
		}, jsii.Bool(true))
	}
}

// ConfigKeyStatement allows actions on the config bucket's key through S3 in this stack's region only
// (kms:ViaService s3.<region>.<url suffix>), or is nil when the bucket is SSE-S3.
func (s *Storage) ConfigKeyStatement(sid string, actions ...string) awsiam.PolicyStatement {
	if s.SecretsKey == nil {
		return nil
	}
	stack := awscdk.Stack_Of(s.Construct)
	return awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid: jsii.String(sid), Actions: jsii.Strings(actions...), Resources: &[]*string{s.SecretsKey.KeyArn()},
		Conditions: &map[string]any{"StringEquals": map[string]any{"kms:ViaService": "s3." + *stack.Region() + "." + *stack.UrlSuffix()}},
	})
}

func (s *Storage) secret(id, description string, length int, policy lifecycle.Policy, key awskms.IKey) awssecretsmanager.ISecret {
	secret := awssecretsmanager.NewSecret(s.Construct, jsii.String(id), &awssecretsmanager.SecretProps{
		Description: jsii.String(description),
		GenerateSecretString: &awssecretsmanager.SecretStringGenerator{
			PasswordLength: jsii.Number(length), ExcludePunctuation: jsii.Bool(true),
		},
		RemovalPolicy: policy.RemovalPolicy,
		EncryptionKey: key,
	})
	cdknag.NagSuppressions_AddResourceSuppressions(secret, &[]*cdknag.NagPackSuppression{{
		Id: jsii.String("AwsSolutions-SMG4"),
		Reason: jsii.String(description + " is read by the containers at start and, for the database passwords, also lives in MariaDB's own data " +
			"directory on EFS: automatic rotation would change the secret without changing MariaDB. Rotate it by setting the new value in both, then redeploying."),
	}}, jsii.Bool(false))
	return secret
}
