package test

import (
	"encoding/json"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/stratolab/stratolab/constructs/lookup"
	"github.com/stratolab/stratolab/constructs/network"
	"github.com/stretchr/testify/assert"
)

func lookupData(t *testing.T) assertions.Template {
	return template(synth(t, "example").stack(t, "LookupData"))
}
func lookupService(t *testing.T) assertions.Template {
	return template(synth(t, "example").stack(t, "Lookup"))
}

func TestLookupFileSystemIsEncryptedWithNonRootAccessPoints(t *testing.T) {
	tpl := lookupData(t)
	tpl.HasResourceProperties(jsii.String("AWS::EFS::FileSystem"), map[string]any{
		"Encrypted": true,
		// A file read in IA goes back to Standard (InnoDB files and authorities are read at every restart).
		"LifecyclePolicies": []any{map[string]any{"TransitionToIA": "AFTER_30_DAYS"}, map[string]any{"TransitionToPrimaryStorageClass": "AFTER_1_ACCESS"}},
		"BackupPolicy":      assertions.Match_Absent(), // development: no AWS Backup plan
		"ThroughputMode":    "elastic",
		// Only the TLS requirement: no statement lets any principal write or act as root.
		"FileSystemPolicy": map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{
			"Sid": "DenyUnencryptedTransport", "Effect": "Deny", "Principal": map[string]any{"AWS": "*"}, "Action": "*",
			"Condition": map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}},
		}}},
	})
	tpl.HasResourceProperties(jsii.String("AWS::EFS::AccessPoint"), map[string]any{
		"RootDirectory": map[string]any{"Path": "/authorities", "CreationInfo": map[string]any{"OwnerUid": "1000", "OwnerGid": "1000", "Permissions": "0755"}},
		"PosixUser":     map[string]any{"Uid": "1000", "Gid": "1000"},
	})
	tpl.HasResourceProperties(jsii.String("AWS::EFS::AccessPoint"), map[string]any{
		"RootDirectory": map[string]any{"Path": "/db-mysql-data", "CreationInfo": map[string]any{"OwnerUid": "999", "OwnerGid": "999", "Permissions": "0750"}},
		"PosixUser":     map[string]any{"Uid": "999", "Gid": "999"},
	})
	// Mount targets in each private subnet, behind a group that opens nothing by itself.
	tpl.ResourceCountIs(jsii.String("AWS::EFS::MountTarget"), jsii.Number(2))
	tpl.HasResourceProperties(jsii.String("AWS::EC2::SecurityGroup"), map[string]any{
		"GroupDescription": "Lookup service EFS mount targets: NFS only from the service tasks", "SecurityGroupIngress": assertions.Match_Absent(),
	})
}

func TestLookupProductionBacksUpAndKeepsTheDatabaseFiles(t *testing.T) {
	tpl := template(synth(t, "lookup-existing-vpc").stack(t, "LookupData"))
	tpl.HasResource(jsii.String("AWS::EFS::FileSystem"), map[string]any{
		"DeletionPolicy": "Retain", "Properties": map[string]any{"BackupPolicy": map[string]any{"Status": "ENABLED"}},
	})
	tpl.AllResources(jsii.String("AWS::S3::Bucket"), map[string]any{"DeletionPolicy": "Retain"})
	tpl.AllResources(jsii.String("AWS::SecretsManager::Secret"), map[string]any{"DeletionPolicy": "Retain"})
	lookupData(t).HasResource(jsii.String("AWS::EFS::FileSystem"), map[string]any{"DeletionPolicy": "Delete"})
}

func TestLookupMountsUseIAMAndTLSThroughTheAccessPoints(t *testing.T) {
	tpl := lookupService(t)
	for _, v := range []struct{ volume, ap string }{{"authorities", "AuthoritiesAccessPoint"}, {"database", "DatabaseAccessPoint"}} {
		tpl.HasResourceProperties(jsii.String("AWS::ECS::TaskDefinition"), map[string]any{
			"NetworkMode": "awsvpc",
			"Volumes": []any{map[string]any{"Name": v.volume, "EFSVolumeConfiguration": map[string]any{
				"FilesystemId":        fromStack("example-LookupData", "StorageFileSystem"),
				"TransitEncryption":   "ENABLED",
				"AuthorizationConfig": map[string]any{"AccessPointId": fromStack("example-LookupData", v.ap), "IAM": "ENABLED"},
			}}},
		})
	}
	// The app mounts read-only and may only mount; the database may write.
	tpl.HasResourceProperties(jsii.String("AWS::ECS::TaskDefinition"), map[string]any{
		"ContainerDefinitions": []any{assertions.Match_ObjectLike(&map[string]any{"Name": "app", "MountPoints": []any{map[string]any{
			"ContainerPath": "/app/ld4p/qa_server-webapp/config/authorities", "SourceVolume": "authorities", "ReadOnly": true}}})},
	})
	tpl.HasResourceProperties(jsii.String("AWS::IAM::Policy"), map[string]any{
		"PolicyDocument": map[string]any{"Statement": []any{map[string]any{
			"Sid": "MountAuthorities", "Effect": "Allow", "Action": "elasticfilesystem:ClientMount",
			"Resource":  fromStack("example-LookupData", "StorageFileSystem.*Arn"),
			"Condition": map[string]any{"StringEquals": map[string]any{"elasticfilesystem:AccessPointArn": assertions.Match_AnyValue()}},
		}}},
	})
	tpl.HasResourceProperties(jsii.String("AWS::IAM::Policy"), map[string]any{
		"PolicyDocument": map[string]any{"Statement": []any{map[string]any{
			"Sid": "MountDatabase", "Effect": "Allow", "Action": []any{"elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"},
			"Resource":  fromStack("example-LookupData", "StorageFileSystem.*Arn"),
			"Condition": map[string]any{"StringEquals": map[string]any{"elasticfilesystem:AccessPointArn": assertions.Match_AnyValue()}},
		}}},
	})
}

func TestLookupNFSIsOpenOnlyToTheTasks(t *testing.T) {
	tpl := lookupService(t)
	nfs := map[string]any{"IpProtocol": "tcp", "FromPort": 2049, "ToPort": 2049,
		"GroupId": fromStack("example-LookupData", "StorageFileSystemSecurityGroup")}
	tpl.ResourcePropertiesCountIs(jsii.String("AWS::EC2::SecurityGroupIngress"), nfs, jsii.Number(3))
	for _, from := range []string{"ServiceAppSecurityGroup", "ServiceDatabaseSecurityGroup", "ServiceSyncSecurityGroup"} {
		tpl.HasResourceProperties(jsii.String("AWS::EC2::SecurityGroupIngress"), map[string]any{
			"IpProtocol": "tcp", "FromPort": 2049, "ToPort": 2049,
			"GroupId":               fromStack("example-LookupData", "StorageFileSystemSecurityGroup"),
			"SourceSecurityGroupId": map[string]any{"Fn::GetAtt": []any{assertions.Match_StringLikeRegexp(jsii.String("^" + from)), "GroupId"}},
		})
	}
	raw, _ := json.Marshal(synth(t, "example").templates["LookupData"])
	assert.NotContains(t, string(raw), `"CidrIp":"0.0.0.0/0","Description":"NFS`, "the seed's NFS rule from anywhere must not return")
}

func TestLookupDatabaseRunsExactlyOneNonOverlappingTask(t *testing.T) {
	tpl := lookupService(t)
	tpl.HasResourceProperties(jsii.String("AWS::ECS::Service"), map[string]any{
		"DesiredCount": 1,
		"DeploymentConfiguration": map[string]any{
			"MinimumHealthyPercent": 0, "MaximumPercent": 100,
			"DeploymentCircuitBreaker": map[string]any{"Enable": true, "Rollback": true},
		},
		"ServiceRegistries": []any{map[string]any{"RegistryArn": map[string]any{"Fn::GetAtt": []any{assertions.Match_StringLikeRegexp(jsii.String("^ServiceDatabaseServiceCloudmapService")), "Arn"}}}},
	})
	tpl.HasResourceProperties(jsii.String("AWS::ServiceDiscovery::Service"), map[string]any{
		"Name": "db", "DnsConfig": map[string]any{"DnsRecords": []any{map[string]any{"TTL": 10, "Type": "A"}}, "NamespaceId": assertions.Match_AnyValue(), "RoutingPolicy": "MULTIVALUE"},
	})
	tpl.HasResourceProperties(jsii.String("AWS::ServiceDiscovery::PrivateDnsNamespace"), map[string]any{"Name": "example.lookup.internal"})
	// The database answers its own health check; the app service waits for the database service.
	// First boot initializes the data directory on EFS, and the entrypoint never initializes a directory
	// that a killed first boot left behind (MariaDB/mariadb-docker 10.11/docker-entrypoint.sh: it decides
	// only by [ -d "$DATADIR/mysql" ]); so the start period is the most ECS allows (HealthCheck.startPeriod:
	// 0 to 300 seconds, ECS API reference), and InnoDB gets the most Fargate allows to stop (stopTimeout 120).
	tpl.HasResourceProperties(jsii.String("AWS::ECS::TaskDefinition"), map[string]any{
		"ContainerDefinitions": []any{assertions.Match_ObjectLike(&map[string]any{"Name": "db", "StopTimeout": 120, "HealthCheck": map[string]any{
			"Command": []any{"CMD", "healthcheck.sh", "--connect", "--innodb_initialized"}, "Interval": 30, "Retries": 3, "StartPeriod": 300, "Timeout": 5}})},
	})
	tpl.HasResource(jsii.String("AWS::ECS::Service"), map[string]any{
		"DependsOn":  assertions.Match_ArrayWith(&[]any{assertions.Match_StringLikeRegexp(jsii.String("^ServiceDatabaseService"))}),
		"Properties": assertions.Match_ObjectLike(&map[string]any{"DesiredCount": 2}),
	})
}

func TestLookupAppScalesOnCPU(t *testing.T) {
	tpl := lookupService(t)
	tpl.HasResourceProperties(jsii.String("AWS::ECS::Service"), map[string]any{
		"DesiredCount": 2,
		"DeploymentConfiguration": map[string]any{
			"MinimumHealthyPercent": 50, "MaximumPercent": 200, "DeploymentCircuitBreaker": map[string]any{"Enable": true, "Rollback": true}},
	})
	tpl.HasResourceProperties(jsii.String("AWS::ApplicationAutoScaling::ScalableTarget"), map[string]any{"MinCapacity": 2, "MaxCapacity": 4})
	// ECSServiceAverageCPUUtilization is the CPU the tasks use over the CPU units their task definition
	// specifies (ECS developer guide, "Service utilization"): on EC2 that needs the units in the task
	// definition, and the containers' reservations are what ECS places by.
	for _, td := range resourcesOfType(synth(t, "example").templates["Lookup"], "AWS::ECS::TaskDefinition") {
		props := synth(t, "example").templates["Lookup"]["Resources"].(map[string]any)[td].(map[string]any)["Properties"].(map[string]any)
		assert.Equal(t, "512", props["Cpu"], td)
		for _, c := range props["ContainerDefinitions"].([]any) {
			assert.EqualValues(t, 512, c.(map[string]any)["Cpu"], td)
		}
	}
	tpl.HasResourceProperties(jsii.String("AWS::ApplicationAutoScaling::ScalingPolicy"), map[string]any{
		"PolicyType": "TargetTrackingScaling",
		"TargetTrackingScalingPolicyConfiguration": map[string]any{
			"PredefinedMetricSpecification": map[string]any{"PredefinedMetricType": "ECSServiceAverageCPUUtilization"},
			"TargetValue":                   60, "ScaleInCooldown": 300, "ScaleOutCooldown": 60},
	})
}

func TestLookupSecretsAreInjectedAsECSSecrets(t *testing.T) {
	tpl := lookupService(t)
	secret := func(name, id string) map[string]any {
		return map[string]any{"Name": name, "ValueFrom": fromStack("example-LookupData", "Storage"+id)}
	}
	tpl.HasResourceProperties(jsii.String("AWS::ECS::TaskDefinition"), map[string]any{
		"ContainerDefinitions": []any{assertions.Match_ObjectLike(&map[string]any{"Name": "app", "Secrets": []any{
			secret("MYSQL_PASSWORD", "DatabasePassword"), secret("RELOAD_TOKEN", "ReloadToken"), secret("SECRET_KEY_BASE", "SecretKeyBase"),
		}})},
	})
	tpl.HasResourceProperties(jsii.String("AWS::ECS::TaskDefinition"), map[string]any{
		"ContainerDefinitions": []any{assertions.Match_ObjectLike(&map[string]any{"Name": "db", "Secrets": []any{
			secret("MARIADB_PASSWORD", "DatabasePassword"), secret("MARIADB_ROOT_PASSWORD", "DatabaseRootPassword"),
		}})},
	})
	// Generated at deploy time, never written into a template or the env file.
	data := lookupData(t)
	data.ResourcePropertiesCountIs(jsii.String("AWS::SecretsManager::Secret"), map[string]any{
		"GenerateSecretString": map[string]any{"ExcludePunctuation": true, "PasswordLength": assertions.Match_AnyValue()},
		"SecretString":         assertions.Match_Absent(),
	}, jsii.Number(4))
	for _, id := range []string{"LookupData", "Lookup"} {
		raw, _ := json.Marshal(synth(t, "example").templates[id])
		for _, name := range []string{"MYSQL_PASSWORD=", "SECRET_KEY_BASE=", "RELOAD_TOKEN=", "MYSQL_ROOT_PASSWORD=", "MARIADB_PASSWORD=", "MARIADB_ROOT_PASSWORD="} {
			assert.NotContains(t, string(raw), name, "%s: a secret in plain text", id)
		}
	}
	// Plain environment variables: the region the CDK adds to awsvpc tasks on EC2, and the database's names.
	for _, c := range containers(t, "example", "Lookup") {
		for _, e := range c["Environment"].([]any) {
			assert.Contains(t, []string{"AWS_REGION", "MARIADB_DATABASE", "MARIADB_USER", "MARIADB_AUTO_UPGRADE"}, e.(map[string]any)["Name"], "%v", c["Name"])
		}
	}
}

func TestLookupEnvFileHoldsThePlainSettingsAndOnlyItIsReadable(t *testing.T) {
	envFile := map[string]any{"Fn::Join": []any{"", []any{fromStack("example-LookupData", "StorageConfigBucket.*Arn"), "/lookup.env"}}}
	tpl := lookupService(t)
	for _, c := range containers(t, "example", "Lookup") {
		if c["Name"] == "app" {
			assert.Len(t, c["EnvironmentFiles"], 1)
		} else {
			assert.Nil(t, c["EnvironmentFiles"], "%v reads the app's env file", c["Name"])
		}
	}
	tpl.ResourcePropertiesCountIs(jsii.String("AWS::IAM::Policy"), map[string]any{
		"PolicyDocument": map[string]any{"Statement": assertions.Match_ArrayWith(&[]any{
			map[string]any{"Sid": "ReadEnvFile", "Effect": "Allow", "Action": "s3:GetObject", "Resource": envFile},
			map[string]any{"Sid": "LocateEnvFileBucket", "Effect": "Allow", "Action": "s3:GetBucketLocation",
				"Resource": fromStack("example-LookupData", "StorageConfigBucket.*Arn")},
		})},
	}, jsii.Number(1))
	// No other S3 permission anywhere in the service stack, but DataSync's read of the authorities' source.
	for logical, r := range synth(t, "example").templates["Lookup"]["Resources"].(map[string]any) {
		if strings.HasPrefix(logical, "ServiceSyncSourceRole") {
			continue
		}
		raw, _ := json.Marshal(r)
		s := string(raw)
		if strings.Contains(s, `"s3:`) {
			assert.NotRegexp(t, `s3:(GetObject\*|List|Put|Delete|\*)`, s, logical)
		}
	}
	// The file is written from the settings: plain values only.
	content := readEnvFile(t, *synth(t, "example").assembly.Directory())
	assert.Equal(t, "ENABLE_CORS_HEADERS=true\nMYSQL_DATABASE_NAME_PREFIX=qa_server\nMYSQL_HOST=db.example.lookup.internal\nMYSQL_PORT=3306\n"+
		"MYSQL_USER=qa\nRAILS_ENV=production\nRAILS_LOG_TO_STDOUT=true\nRAILS_SERVE_STATIC_FILES=true\n", content)
	lookupData(t).HasResourceProperties(jsii.String("Custom::CDKBucketDeployment"), map[string]any{
		"DestinationBucketName": map[string]any{"Ref": assertions.Match_StringLikeRegexp(jsii.String("^StorageConfigBucket"))}, "Prune": false,
	})
}

func TestLookupConfigBucketIsPrivateEncryptedAndVersioned(t *testing.T) {
	lookupData(t).HasResourceProperties(jsii.String("AWS::S3::Bucket"), map[string]any{
		"BucketEncryption":        assertions.Match_AnyValue(),
		"VersioningConfiguration": map[string]any{"Status": "Enabled"},
		"PublicAccessBlockConfiguration": map[string]any{
			"BlockPublicAcls": true, "BlockPublicPolicy": true, "IgnorePublicAcls": true, "RestrictPublicBuckets": true},
		"LoggingConfiguration": map[string]any{"DestinationBucketName": map[string]any{"Ref": assertions.Match_StringLikeRegexp(jsii.String("^StorageLogsBucket"))}, "LogFilePrefix": "s3-access/config-bucket/"},
	})
}

func TestLookupLoadBalancerIsHTTPSWithRedirect(t *testing.T) {
	tpl := lookupService(t)
	tpl.HasResourceProperties(jsii.String("AWS::ElasticLoadBalancingV2::Listener"), map[string]any{
		"Port": 443, "Protocol": "HTTPS",
		"Certificates":   []any{map[string]any{"CertificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-1234-5678-9abc-0123456789ab"}},
		"DefaultActions": []any{map[string]any{"Type": "forward", "TargetGroupArn": ref("ServiceFrontLoadBalancerHttpsAppGroup")}},
	})
	tpl.HasResourceProperties(jsii.String("AWS::ElasticLoadBalancingV2::Listener"), map[string]any{
		"Port": 80, "Protocol": "HTTP",
		"DefaultActions": []any{map[string]any{"Type": "redirect", "RedirectConfig": map[string]any{"Port": "443", "Protocol": "HTTPS", "StatusCode": "HTTP_301"}}},
	})
	tpl.HasResourceProperties(jsii.String("AWS::ElasticLoadBalancingV2::TargetGroup"), map[string]any{
		"Port": 3000, "Protocol": "HTTP", "TargetType": "ip", "HealthCheckPath": "/", "Matcher": map[string]any{"HttpCode": "200"},
		"TargetGroupAttributes": assertions.Match_ArrayWith(&[]any{map[string]any{"Key": "deregistration_delay.timeout_seconds", "Value": "30"}}),
	})
	tpl.HasResourceProperties(jsii.String("AWS::ElasticLoadBalancingV2::LoadBalancer"), map[string]any{"Scheme": "internet-facing"})
}

func TestLookupLogsAreKeptForTheConfiguredTime(t *testing.T) {
	lookupService(t).AllResourcesProperties(jsii.String("AWS::Logs::LogGroup"), map[string]any{"RetentionInDays": 30})
	template(synth(t, "lookup-existing-vpc").stack(t, "Lookup")).AllResourcesProperties(jsii.String("AWS::Logs::LogGroup"), map[string]any{"RetentionInDays": 90})
	for _, c := range containers(t, "example", "Lookup") {
		assert.Equal(t, "awslogs", c["LogConfiguration"].(map[string]any)["LogDriver"])
	}
}

func TestLookupRunsOnEC2CapacityWithContainerInsights(t *testing.T) {
	tpl := lookupService(t)
	tpl.HasResourceProperties(jsii.String("AWS::ECS::Cluster"), map[string]any{
		"ClusterSettings": []any{map[string]any{"Name": "containerInsights", "Value": "enabled"}},
	})
	tpl.HasResourceProperties(jsii.String("AWS::EC2::LaunchTemplate"), map[string]any{
		"LaunchTemplateData": assertions.Match_ObjectLike(&map[string]any{
			"InstanceType":    "m5.large",
			"MetadataOptions": map[string]any{"HttpTokens": "required", "HttpPutResponseHopLimit": 1},
			"BlockDeviceMappings": []any{map[string]any{"DeviceName": "/dev/xvda", "Ebs": map[string]any{
				"Encrypted": true, "VolumeType": "gp3", "VolumeSize": 30, "DeleteOnTermination": true}}},
			"ImageId": map[string]any{"Ref": assertions.Match_StringLikeRegexp(jsii.String("amiamazonlinux2023"))},
		}),
	})
	tpl.HasResourceProperties(jsii.String("AWS::AutoScaling::AutoScalingGroup"), map[string]any{"MinSize": "1", "MaxSize": "3"})
	tpl.HasResourceProperties(jsii.String("AWS::ECS::CapacityProvider"), map[string]any{
		"AutoScalingGroupProvider": assertions.Match_ObjectLike(&map[string]any{
			"ManagedScaling": assertions.Match_ObjectLike(&map[string]any{"Status": "ENABLED"}), "ManagedDraining": "ENABLED"}),
	})
}

func TestLookupOnFargateNeedsNoHosts(t *testing.T) {
	built, _ := buildInstance(t, "fargate", "lifecycle: development\n"+lookupEnv+"  capacity: fargate\n")
	tpl := template(built.Lookup.Stack)
	tpl.ResourceCountIs(jsii.String("AWS::AutoScaling::AutoScalingGroup"), jsii.Number(0))
	tpl.ResourceCountIs(jsii.String("AWS::ECS::CapacityProvider"), jsii.Number(0))
	tpl.AllResourcesProperties(jsii.String("AWS::ECS::Service"), map[string]any{"LaunchType": "FARGATE"})
	tpl.AllResourcesProperties(jsii.String("AWS::ECS::TaskDefinition"), map[string]any{
		"RequiresCompatibilities": []any{"FARGATE"}, "Cpu": "512", "Memory": "1024"})
}

const lookupEnv = `env: {account: "123456789012", region: us-east-1}
vpc: {availability_zones: [us-east-1a, us-east-1b], nat_gateways: 1}
enabled: {lookup: true}
lookup:
  load_balancer: {certificate_arn: "arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-1234-5678-9abc-0123456789ab"}
  sync: {source_bucket: authority-files}
`

func TestLookupSyncCopiesAuthoritiesWithLeastPrivilege(t *testing.T) {
	tpl := template(synth(t, "lookup-existing-vpc").stack(t, "Lookup"))
	tpl.HasResourceProperties(jsii.String("AWS::DataSync::Task"), map[string]any{
		"Schedule": map[string]any{"ScheduleExpression": "cron(0 * * * ? *)"},
		"Options":  assertions.Match_ObjectLike(&map[string]any{"OverwriteMode": "ALWAYS", "VerifyMode": "ONLY_FILES_TRANSFERRED"}),
	})
	tpl.HasResourceProperties(jsii.String("AWS::DataSync::LocationEFS"), map[string]any{
		"AccessPointArn": assertions.Match_AnyValue(), "InTransitEncryption": "TLS1_2", "FileSystemAccessRoleArn": assertions.Match_AnyValue(),
		"Ec2Config": map[string]any{"SubnetArn": "arn:aws:ec2:us-east-2:210987654321:subnet/subnet-0a0a0a0a0a0a0a0a1", "SecurityGroupArns": assertions.Match_AnyValue()},
	})
	tpl.HasResourceProperties(jsii.String("AWS::DataSync::LocationS3"), map[string]any{"S3BucketArn": assertions.Match_AnyValue(), "Subdirectory": "/authorities"})
	tpl.HasResourceProperties(jsii.String("AWS::IAM::Role"), map[string]any{
		"AssumeRolePolicyDocument": map[string]any{"Statement": []any{map[string]any{"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": map[string]any{"Service": "datasync.amazonaws.com"}}}},
		"Policies": []any{map[string]any{"PolicyName": "ReadAuthorities", "PolicyDocument": map[string]any{"Statement": []any{
			map[string]any{"Effect": "Allow", "Action": []any{"s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads"},
				"Resource": "arn:aws:s3:::ld4p-authority-files"},
			map[string]any{"Effect": "Allow", "Action": []any{"s3:GetObject", "s3:GetObjectTagging", "s3:GetObjectVersion", "s3:GetObjectVersionTagging"},
				"Resource": "arn:aws:s3:::ld4p-authority-files/authorities/*"},
		}}}},
	})
	// DataSync reaches NFS through its own group, which the file system's group admits.
	tpl.HasResourceProperties(jsii.String("AWS::EC2::SecurityGroupIngress"), map[string]any{
		"FromPort": 2049, "ToPort": 2049, "Description": "NFS from DataSync",
		"SourceSecurityGroupId": map[string]any{"Fn::GetAtt": []any{assertions.Match_StringLikeRegexp(jsii.String("^ServiceSyncSecurityGroup")), "GroupId"}},
	})
}

func TestLookupRejectsRootAccessPointsUnlessAllowed(t *testing.T) {
	stack := awscdk.NewStack(newApp(nil), jsii.String("S"), nil)
	vpc := awsVpc(stack)
	root := lookup.AccessPoint{Path: "/db", Uid: 0, Gid: 0, Permissions: "0750"}
	msg := panicMessage(func() { lookup.NewStorage(stack, "Storage", &lookup.StorageProps{Vpc: vpc, Database: &root}) })
	assert.Contains(t, msg, "Database access point runs as 0:0; root is refused unless AllowRootPosixUser")
	assert.Equal(t, "did not panic", panicMessage(func() {
		lookup.NewStorage(stack, "Rooted", &lookup.StorageProps{Vpc: vpc, Database: &root, AllowRootPosixUser: true})
	}))
}

func TestLookupServiceRejectsImpossibleProps(t *testing.T) {
	stack := awscdk.NewStack(newApp(nil), jsii.String("S"), nil)
	msg := panicMessage(func() {
		lookup.NewService(stack, "Service", &lookup.ServiceProps{
			Fargate: true, App: lookup.App{Cpu: 300}, CertificateArn: "arn:aws:acm:cert",
			Sync: &lookup.Sync{Schedule: "every hour"},
		})
	})
	for _, want := range []string{"Vpc, Storage and Namespace are required", `CertificateArn "arn:aws:acm:cert"`,
		"App: cpu 300 is not a Fargate size", "Sync.Source is required", `Sync.Schedule "every hour" is not a schedule expression`} {
		assert.Contains(t, msg, want)
	}
	assert.Empty(t, *stack.Node().Children())
}

// containers returns the container definitions of every task definition of an instance's stack.
func containers(t *testing.T, instance, stack string) []map[string]any {
	var out []map[string]any
	for _, r := range synth(t, instance).templates[stack]["Resources"].(map[string]any) {
		res := r.(map[string]any)
		if res["Type"] != "AWS::ECS::TaskDefinition" {
			continue
		}
		for _, c := range res["Properties"].(map[string]any)["ContainerDefinitions"].([]any) {
			out = append(out, c.(map[string]any))
		}
	}
	assert.NotEmpty(t, out)
	return out
}

func awsVpc(scope constructs.Construct) awsec2.IVpc {
	return network.New(scope, "Network", &network.Props{}).Vpc
}

// readEnvFile returns the env file an instance's lookup storage deploys, from its staged asset in a
// cloud assembly directory.
func readEnvFile(t *testing.T, dir string) string {
	var found []string
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && d.Name() == "lookup.env" {
			found = append(found, path)
		}
		return nil
	})
	if len(found) != 1 {
		t.Fatalf("expected one staged lookup.env, found %v", found)
	}
	return readFile(t, found[0])
}

func TestLookupInternalLoadBalancerStaysInPrivateSubnets(t *testing.T) {
	built, _ := buildInstance(t, "internal", "lifecycle: development\n"+strings.Replace(lookupEnv,
		"load_balancer: {certificate_arn:", "load_balancer: {internal: true, allowed_cidrs: [10.0.0.0/8], certificate_arn:", 1))
	tpl := template(built.Lookup.Stack)
	tpl.HasResourceProperties(jsii.String("AWS::ElasticLoadBalancingV2::LoadBalancer"), map[string]any{
		"Scheme":  "internal",
		"Subnets": assertions.Match_ArrayWith(&[]any{fromStack("internal-Base", "NetworkVpcPrivateSubnet1")}),
	})
}
