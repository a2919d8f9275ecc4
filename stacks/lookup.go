package stacks

import (
	"fmt"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsbackup"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsefs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/jsii-runtime-go"
	"github.com/stratolab/stratolab/constructs/lookup"
	"github.com/stratolab/stratolab/instance"
)

// Lookup is the QA Authority Lookup service: <instance>/LookupData holds the file system, buckets and
// secrets; <instance>/Lookup the cluster, services, load balancer and sync.
type Lookup struct {
	DataStack awscdk.Stack
	Storage   *lookup.Storage
	Stack     awscdk.Stack
	Service   *lookup.Service
}

func newLookup(in *Instance, cfg *instance.Config) *Lookup {
	l := cfg.Lookup
	namespace := cfg.Name + ".lookup.internal"
	policy := lifecycleFor(cfg, l.Lifecycle)

	data := in.newStack(cfg, "LookupData", "lookup service file system, buckets and secrets")
	var secretsKey awskms.IKey
	if needsCustomerManagedKeys(cfg) {
		// NIST 800-53 R5 and HIPAA (SecretsManagerUsingKMSKey, S3DefaultEncryptionKMS): the secrets and
		// the config bucket, so also the env file, under a customer-managed key, rotated yearly and kept
		// as long as the secrets are. Its readers use it through Secrets Manager or S3 only
		// (kms:ViaService): the task execution roles and the env file's BucketDeployment handler.
		key := awskms.NewKey(data, jsii.String("SecretsKey"), &awskms.KeyProps{
			Description:       jsii.String("Encrypts the lookup service's secrets and config bucket"),
			EnableKeyRotation: jsii.Bool(true),
			PendingWindow:     awscdk.Duration_Days(jsii.Number(7)),
			RemovalPolicy:     policy.RemovalPolicy,
		})
		// The secrets get the key as a reference: aws-cdk-lib's Secret.grantRead grants kms:Decrypt to a
		// ViaServicePrincipal, whose account it cannot compare, so for a key it owns it also names each
		// reader in the key policy, and LookupData would depend on Lookup (a cycle). For a referenced key
		// it grants through the readers' own policies only, which the key's default policy (the
		// account's IAM) honours.
		secretsKey = awskms.Key_FromKeyArn(data, jsii.String("SecretsKeyReference"), key.KeyArn())
	}
	storage := lookup.NewStorage(data, "Storage", &lookup.StorageProps{
		SecretsKey:            secretsKey,
		Vpc:                   in.Base.Network.Vpc,
		InfrequentAccessAfter: awsefs.LifecyclePolicy(fmt.Sprintf("AFTER_%d_DAY%s", l.Efs.InfrequentAccessAfterDays, plural(l.Efs.InfrequentAccessAfterDays))),
		AutomaticBackups:      cfg.Production(),
		Authorities:           accessPoint(l.Efs.Authorities),
		Database:              accessPoint(l.Efs.Database),
		AllowRootPosixUser:    l.Efs.AllowRootPosixUser,
		Settings:              lookupSettings(l, namespace),
		Lifecycle:             policy,
	})

	s := in.newStack(cfg, "Lookup", "lookup service cluster, services and load balancer")
	props := &lookup.ServiceProps{
		Vpc:          in.Base.Network.Vpc,
		Storage:      storage,
		Namespace:    namespace,
		Fargate:      l.Capacity == "fargate",
		InstanceType: l.InstanceType,
		MinInstances: l.MinInstances,
		MaxInstances: l.MaxInstances,
		App: lookup.App{
			Image: l.App.Image, Cpu: l.App.Cpu, MemoryMiB: l.App.MemoryMiB,
			DesiredCount: l.App.DesiredCount, MaxCount: l.App.MaxCount, CpuTargetPercent: l.App.CpuTargetPercent,
			AuthoritiesPath: l.App.AuthoritiesPath, HealthCheckPath: l.App.HealthCheckPath,
			DeregistrationDelay: awscdk.Duration_Seconds(jsii.Number(l.App.DeregistrationDelaySeconds)),
		},
		Database: lookup.Database{
			Image: l.Database.Image, Cpu: l.Database.Cpu, MemoryMiB: l.Database.MemoryMiB,
			Name: LookupDatabaseName(l.Database.Name, l.App.RailsEnv), User: l.Database.User,
		},
		CertificateArn: l.LoadBalancer.CertificateArn,
		Domain:         frontDoorDomain(s, cfg, l.LoadBalancer.Host),
		AllowedCidrs:   l.LoadBalancer.AllowedCidrs,
		Internal:       l.LoadBalancer.Internal,
		LogRetention:   retentionDays(l.LogRetentionDays),
		Lifecycle:      policy,
		// NIST 800-53 R5 (ALBWAFEnabled): a web ACL on the load balancer, with a pack only, so that an
		// instance without one pays nothing more.
		WebACL: needsCustomerManagedKeys(cfg),
	}
	if l.Sync.Enabled {
		props.Sync = &lookup.Sync{
			Source:   awss3.Bucket_FromBucketName(s, jsii.String("AuthoritiesSource"), jsii.String(l.Sync.SourceBucket)),
			Prefix:   l.Sync.SourcePrefix,
			Schedule: l.Sync.Schedule,
		}
	}
	service := lookup.NewService(s, "Service", props)
	protectLoadBalancers(s, policy)
	url, desc := jsii.String("https://"+*service.LoadBalancer.LoadBalancerDnsName()), "The lookup service (point your host name's DNS record at the load balancer)"
	switch host := strings.TrimSuffix(l.LoadBalancer.Host, "/"); {
	case service.Front.Records != nil:
		url, desc = jsii.String(host), "The lookup service (its alias record is in the hosted zone "+cfg.DNS.ZoneName+")"
	case host != "":
		url, desc = jsii.String(host), "The lookup service: point this host name's DNS record (CNAME or alias) at LoadBalancerDnsName"
	}
	awscdk.NewCfnOutput(s, jsii.String("ServiceUrl"), &awscdk.CfnOutputProps{Value: url, Description: jsii.String(desc)})
	awscdk.NewCfnOutput(s, jsii.String("LoadBalancerDnsName"), &awscdk.CfnOutputProps{
		Value: service.LoadBalancer.LoadBalancerDnsName(), Description: jsii.String("The lookup service's load balancer"),
	})
	lookupPackExemptions(cfg, data, storage, s, policy.DeletionProtection)
	return &Lookup{DataStack: data, Storage: storage, Stack: s, Service: service}
}

// lookupPackExemptions: what the lookup service meets of NIST 800-53 R5 and HIPAA by design rather than
// by the rule's letter, and what it does not meet yet (docs/COMPLIANCE.md, lookup column). The file
// system is backed up for real.
func lookupPackExemptions(cfg *instance.Config, data awscdk.Stack, storage *lookup.Storage, s awscdk.Stack, protected bool) {
	backUpForPacks(cfg, data, "FileSystem", "EFSInBackupPlan",
		backupTarget{storage.FileSystem, awsbackup.BackupResource_FromEfsFileSystem(storage.FileSystem)})
	iam := map[string]string{"IAMNoInlinePolicy": "The CDK's grants for one role of the lookup service (a task, execution, host, sync or " +
		"restart role, or the CDK's bucket-deployment handler), scoped to this service's file system, buckets, secrets, cluster and " +
		"DataSync task; attached to that one role only, so a managed policy would grant no less"}
	exemptFromPacks(cfg, data, packRules{
		"AWS::IAM::Policy": iam,
		"AWS::Lambda::Function": {
			"LambdaDLQ":         "The CDK's BucketDeployment handler, invoked synchronously by CloudFormation for the env file; no asynchronous events",
			"LambdaConcurrency": "The CDK's BucketDeployment handler runs once per deploy that changes the env file",
			"LambdaInsideVPC":   "The CDK's BucketDeployment handler copies the env file between S3 buckets only",
		},
		"AWS::S3::Bucket": {
			"S3BucketReplicationEnabled": "The env file is rebuilt by every deploy and the logs bucket holds access logs; a second-region " +
				"copy is a per-instance decision",
		},
		"AWS::SecretsManager::Secret": {
			"SecretsManagerRotationEnabled": "The database passwords are also stored in MariaDB's data directory on EFS, and Rails' " +
				"secret_key_base and the reload token are read once at task start: rotating without a function that also changes them " +
				"in MariaDB and restarts the tasks would lock the app out",
		},
	})
	// The config bucket is SSE-KMS under SecretsKey; the logs bucket cannot be (on its CfnBucket only).
	exempt(cfg, storage.LogsBucket.Node().DefaultChild(), map[string]string{"S3DefaultEncryptionKMS": "SSE-S3: this bucket receives the load balancer's " +
		"access logs, and \"The only server-side encryption option that's supported is Amazon S3-managed keys (SSE-S3)\" (Elastic " +
		"Load Balancing User Guide, \"Enable access logs for your Application Load Balancer\"); it holds access logs only"})
	// ALBWAFEnabled is met: with a pack the load balancer has a web ACL (ServiceProps.WebACL).
	rules := packRules{
		"AWS::IAM::Policy": iam,
		"AWS::IAM::Role": {"IAMNoInlinePolicy": "The DataSync location roles carry their policy inline (DataSync assumes each one to " +
			"read the sync's source bucket or mount this service's file system), scoped to that bucket or file system only"},
		"AWS::SNS::Topic": {"SNSEncryptedKMS": "HostNotifications carries only Auto Scaling's launch and termination events of the " +
			"ECS hosts (instance IDs, group name), no data; SSE with a customer-managed key would need the key policy to name Auto " +
			"Scaling's service-linked role"},
		"AWS::ElasticLoadBalancingV2::Listener": {"ELBv2ACMCertificateRequired": "Only the port-80 listener lacks a certificate: it " +
			"answers with a redirect to HTTPS on 443 (whose listener carries the configured ACM certificate) and serves nothing"},
	}
	if !protected {
		rules["AWS::ElasticLoadBalancingV2::LoadBalancer"] = map[string]string{"ELBDeletionProtectionEnabled": "This lifecycle " +
			"does not protect (development: destroy leaves nothing behind); production turns deletion protection on (protectLoadBalancers)"}
	}
	exemptFromPacks(cfg, s, rules)
}

// lookupSettings is the app's env file: what the image reads (LD4P/qa_server_container v2.0.0):
// config/database.yml takes the database from MYSQL_DATABASE_NAME_PREFIX and the user and host from
// MYSQL_USER and MYSQL_HOST; bin/db-wait.sh waits for MYSQL_HOST:MYSQL_PORT; production.rb serves
// public/ only with RAILS_SERVE_STATIC_FILES and logs to stdout only with RAILS_LOG_TO_STDOUT; qa.rb
// turns CORS on when ENABLE_CORS_HEADERS is set at all (even to "false"), so it is left out to turn it off.
func lookupSettings(l instance.Lookup, namespace string) map[string]string {
	settings := map[string]string{
		"RAILS_ENV":                  l.App.RailsEnv,
		"MYSQL_DATABASE_NAME_PREFIX": l.Database.Name,
		"MYSQL_USER":                 l.Database.User,
		"MYSQL_HOST":                 lookup.DatabaseHostName + "." + namespace,
		"MYSQL_PORT":                 fmt.Sprint(lookup.DatabasePort),
		"RAILS_SERVE_STATIC_FILES":   "true",
		"RAILS_LOG_TO_STDOUT":        "true",
	}
	if l.App.Cors {
		settings["ENABLE_CORS_HEADERS"] = "true"
	}
	return settings
}

// LookupDatabaseName is the database the app's config/database.yml connects to for a RAILS_ENV:
// the prefix itself in production, <prefix>_<env> in staging and integration. MariaDB must create
// exactly that one (it grants the app's user only on MARIADB_DATABASE).
func LookupDatabaseName(prefix, railsEnv string) string {
	if railsEnv == "production" {
		return prefix
	}
	return prefix + "_" + railsEnv
}

func accessPoint(a instance.LookupAccessPoint) *lookup.AccessPoint {
	return &lookup.AccessPoint{Path: a.Path, Uid: a.Uid, Gid: a.Gid, Permissions: a.Permissions}
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "S"
}
