package test

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"path/filepath"
	"regexp"
	"slices"
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
	"github.com/stretchr/testify/require"
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
			"Volumes": assertions.Match_ArrayWith(&[]any{map[string]any{"Name": v.volume, "EFSVolumeConfiguration": map[string]any{
				"FilesystemId":        fromStack("example-LookupData", "StorageFileSystem"),
				"TransitEncryption":   "ENABLED",
				"AuthorizationConfig": map[string]any{"AccessPointId": fromStack("example-LookupData", v.ap), "IAM": "ENABLED"},
			}}}),
		})
	}
	// The app mounts read-only and may only mount; the database may write.
	tpl.HasResourceProperties(jsii.String("AWS::ECS::TaskDefinition"), map[string]any{
		"ContainerDefinitions": assertions.Match_ArrayWith(&[]any{assertions.Match_ObjectLike(&map[string]any{"Name": "app", "MountPoints": assertions.Match_ArrayWith(&[]any{map[string]any{
			"ContainerPath": "/app/ld4p/qa_server-webapp/config/authorities", "SourceVolume": "authorities", "ReadOnly": true}})})}),
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
		"ContainerDefinitions": assertions.Match_ArrayWith(&[]any{assertions.Match_ObjectLike(&map[string]any{"Name": "db", "StopTimeout": 120, "HealthCheck": map[string]any{
			"Command": []any{"CMD", "healthcheck.sh", "--connect", "--innodb_initialized"}, "Interval": 30, "Retries": 3, "StartPeriod": 300, "Timeout": 5}})}),
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
		// rake db:migrate and an eager-loading boot come before puma answers the load balancer.
		"HealthCheckGracePeriodSeconds": 180,
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
			cd := c.(map[string]any)
			if strings.HasSuffix(cd["Name"].(string), lookup.VolumeOwnerSuffix) {
				assert.NotContains(t, cd, "Cpu", "%s: the volume owner reserves nothing beyond its task", td)
				continue
			}
			assert.EqualValues(t, 512, cd["Cpu"], td)
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
		"ContainerDefinitions": assertions.Match_ArrayWith(&[]any{assertions.Match_ObjectLike(&map[string]any{"Name": "app", "Secrets": []any{
			secret("MYSQL_PASSWORD", "DatabasePassword"), secret("RELOAD_TOKEN", "ReloadToken"), secret("SECRET_KEY_BASE", "SecretKeyBase"),
		}})}),
	})
	tpl.HasResourceProperties(jsii.String("AWS::ECS::TaskDefinition"), map[string]any{
		"ContainerDefinitions": assertions.Match_ArrayWith(&[]any{assertions.Match_ObjectLike(&map[string]any{"Name": "db", "Secrets": []any{
			secret("MARIADB_PASSWORD", "DatabasePassword"), secret("MARIADB_ROOT_PASSWORD", "DatabaseRootPassword"),
		}})}),
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
	// Plain environment variables: only the database's names, its upgrade switch and its temporary directory.
	for _, c := range containers(t, "example", "Lookup") {
		env, _ := c["Environment"].([]any)
		for _, e := range env {
			assert.Contains(t, []string{"MARIADB_DATABASE", "MARIADB_USER", "MARIADB_AUTO_UPGRADE", "TMPDIR"}, e.(map[string]any)["Name"], "%v", c["Name"])
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
		"Certificates":   []any{map[string]any{"CertificateArn": ref("ServiceFrontCertificate")}},
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
	template(synth(t, "lookup-existing-vpc").stack(t, "Lookup")).AllResourcesProperties(jsii.String("AWS::Logs::LogGroup"), map[string]any{"RetentionInDays": 400})
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

// ---- The consumers' rules. Each test below encodes what a program that reads our templates does, at
// the version we deploy, and names where that comes from. They check the synthesized output against
// that rule, not against what our code happens to write.

// lookupContainer returns the named container definition of a Lookup template.
func lookupContainer(t *testing.T, tpl map[string]any, name string) map[string]any {
	t.Helper()
	for _, id := range resourcesOfType(tpl, "AWS::ECS::TaskDefinition") {
		for _, c := range tpl["Resources"].(map[string]any)[id].(map[string]any)["Properties"].(map[string]any)["ContainerDefinitions"].([]any) {
			if c.(map[string]any)["Name"] == name {
				return c.(map[string]any)
			}
		}
	}
	t.Fatalf("no container %q", name)
	return nil
}

// parseEnvFile reads KEY=value lines, as ECS reads an environment file.
func parseEnvFile(content string) map[string]string {
	env := map[string]string{}
	for _, line := range strings.Split(content, "\n") {
		if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			env[k] = v
		}
	}
	return env
}

// containerEnv is the environment the container's process starts with, as ECS builds it: the
// variables of its environment files, then its environment parameter, which takes precedence over the
// files (ECS developer guide, "Pass environment variables to a container": "environment variables
// specified using the environment parameter ... take precedence over the variables contained within
// an environment file"), then its secrets (value "<secret>"). envFile is the content of the one env
// file the lookup storage deploys, lookup.env.
func containerEnv(t *testing.T, c map[string]any, envFile string) map[string]string {
	t.Helper()
	env := map[string]string{}
	files, _ := c["EnvironmentFiles"].([]any)
	for _, f := range files {
		raw, _ := json.Marshal(f)
		if !strings.Contains(string(raw), `/lookup.env"`) {
			t.Fatalf("container %v reads an env file this test cannot read: %s", c["Name"], raw)
		}
		for k, v := range parseEnvFile(envFile) {
			env[k] = v
		}
	}
	vars, _ := c["Environment"].([]any)
	for _, e := range vars {
		env[e.(map[string]any)["Name"].(string)] = e.(map[string]any)["Value"].(string)
	}
	secrets, _ := c["Secrets"].([]any)
	for _, s := range secrets {
		env[s.(map[string]any)["Name"].(string)] = "<secret>"
	}
	return env
}

// lookupVariant builds a throwaway development lookup instance with extra lines under lookup: and
// returns its Lookup template and env file.
func lookupVariant(t *testing.T, name, extra string) (map[string]any, string) {
	t.Helper()
	built, app := buildInstance(t, name, "lifecycle: development\n"+lookupEnv+extra)
	var tpl map[string]any
	raw, _ := json.Marshal(template(built.Lookup.Stack).ToJSON())
	require.NoError(t, json.Unmarshal(raw, &tpl))
	return tpl, readEnvFile(t, *app.Outdir())
}

// The MariaDB container's health check must reach the server it runs in.
//
// MariaDB/mariadb-docker 10.11/healthcheck.sh (commit 1b6429b, the image we deploy): --innodb_initialized
// runs `mariadb ... --protocol socket -B -e "select 1 from information_schema.ENGINES ..."` with no -h,
// using .my-healthcheck.cnf, which names a user created only for localhost, 127.0.0.1 and ::1
// (docker-entrypoint.sh create_healthcheck_users; the image sets skip-name-resolve).
// MariaDB/server client/mysql.cc get_options(): the default host is getenv("MYSQL_HOST"); Connector/C's
// mthd_my_real_connect uses the socket only for an empty host or "localhost" and otherwise TCP, whatever
// --protocol says. mariadbd and the client also take their port and socket from MYSQL_TCP_PORT and
// MYSQL_UNIX_PORT (mysqld.cc, libmariadb mysql_once_init). So none of these may point elsewhere.
func TestLookupDatabaseContainerGivesTheMariaDBClientNoRemoteHost(t *testing.T) {
	for _, name := range []string{"example", "lookup-existing-vpc"} {
		s := synth(t, name)
		env := containerEnv(t, lookupContainer(t, s.templates["Lookup"], "db"), readEnvFile(t, *s.assembly.Directory()))
		if host, ok := env["MYSQL_HOST"]; ok {
			assert.Contains(t, []string{"", "localhost"}, host, "%s: healthcheck.sh's mariadb client would connect to MYSQL_HOST over TCP", name)
		}
		assert.NotContains(t, env, "MYSQL_TCP_PORT", name)
		assert.NotContains(t, env, "MYSQL_UNIX_PORT", name)
		hc := lookupContainer(t, s.templates["Lookup"], "db")["HealthCheck"].(map[string]any)["Command"]
		assert.Equal(t, []any{"CMD", "healthcheck.sh", "--connect", "--innodb_initialized"}, hc, name)
	}
}

// railsDatabase is the database LD4P/qa_server_container's config/database.yml (main 133b568 = v2.0.0)
// connects to: production `database: <%= "#{ENV['MYSQL_DATABASE_NAME_PREFIX']}" %>`, staging and
// integration `..._staging` / `..._integration`. development has a checked-in secret_key_base in
// secrets.yml and test is sqlite3: neither is a deployment.
func railsDatabase(t *testing.T, env map[string]string) string {
	t.Helper()
	prefix, ok := env["MYSQL_DATABASE_NAME_PREFIX"]
	require.True(t, ok, "database.yml reads the database from MYSQL_DATABASE_NAME_PREFIX, which the app does not get")
	switch env["RAILS_ENV"] {
	case "production":
		return prefix
	case "staging", "integration":
		return prefix + "_" + env["RAILS_ENV"]
	}
	t.Fatalf("RAILS_ENV %q has no database.yml entry that reads the environment", env["RAILS_ENV"])
	return ""
}

// mariadbEnv returns a variable as the MariaDB entrypoint reads it: MARIADB_x, else MYSQL_x
// (10.11/docker-entrypoint.sh, _mariadb_file_env).
func mariadbEnv(env map[string]string, name string) string {
	if v := env["MARIADB_"+name]; v != "" {
		return v
	}
	return env["MYSQL_"+name]
}

// The app and MariaDB must agree on the database and its user.
//
// MariaDB/mariadb-docker 10.11/docker-entrypoint.sh (1b6429b): on an empty data directory it refuses to
// start without one of MARIADB_ROOT_PASSWORD, _HASH, ALLOW_EMPTY_ or RANDOM_ROOT_PASSWORD
// (docker_verify_minimum_env); it creates MARIADB_DATABASE, and MARIADB_USER only when MARIADB_PASSWORD
// is set too, and grants that user ALL on that one database (docker_setup_db). The app
// (qa_server_container bin/db-prepare.sh, under set -e) runs `rake db:migrate || rake db:create
// db:migrate` on the database its database.yml names, as MYSQL_USER with MYSQL_PASSWORD; any other
// database is one it may not create, and the entrypoint exits.
func TestLookupAppConnectsToTheDatabaseMariaDBCreates(t *testing.T) {
	check := func(name string, tpl map[string]any, envFile string) {
		db := containerEnv(t, lookupContainer(t, tpl, "db"), envFile)
		app := containerEnv(t, lookupContainer(t, tpl, "app"), envFile)
		assert.NotEmpty(t, mariadbEnv(db, "ROOT_PASSWORD"), "%s: the entrypoint refuses an empty data directory without a root password", name)
		assert.Equal(t, railsDatabase(t, app), mariadbEnv(db, "DATABASE"), "%s: the app's database.yml names another database than MariaDB creates", name)
		assert.Equal(t, app["MYSQL_USER"], mariadbEnv(db, "USER"), "%s: the app's user is not the one MariaDB creates", name)
		assert.NotEmpty(t, mariadbEnv(db, "PASSWORD"), "%s: without a password the entrypoint creates no user", name)
		// Both read the same secret.
		secretOf := func(container, variable string) any {
			for _, s := range lookupContainer(t, tpl, container)["Secrets"].([]any) {
				if s.(map[string]any)["Name"] == variable {
					return s.(map[string]any)["ValueFrom"]
				}
			}
			return nil
		}
		assert.Equal(t, secretOf("app", "MYSQL_PASSWORD"), secretOf("db", "MARIADB_PASSWORD"), name)
	}
	for _, name := range []string{"example", "lookup-existing-vpc"} {
		s := synth(t, name)
		check(name, s.templates["Lookup"], readEnvFile(t, *s.assembly.Directory()))
	}
	tpl, envFile := lookupVariant(t, "staging", "  app: {rails_env: staging}\n")
	check("staging", tpl, envFile)
	assert.Equal(t, "qa_server_staging", containerEnv(t, lookupContainer(t, tpl, "db"), envFile)["MARIADB_DATABASE"])
}

// Every variable the image reads to start and serve must be there.
//
// LD4P/qa_server_container main 133b568 (VERSION v2.0.0): config/database.yml reads MYSQL_DATABASE_NAME_PREFIX,
// MYSQL_USER, MYSQL_PASSWORD, MYSQL_HOST; bin/db-wait.sh loops on `nc -z $MYSQL_HOST $MYSQL_PORT` before
// anything starts; config/secrets.yml's production secret_key_base is ENV["SECRET_KEY_BASE"];
// config/initializers/qa.rb's reload token is ENV['RELOAD_TOKEN']; config/environments/production.rb
// serves public/ (assets, the Swagger UI) only if ENV["RAILS_SERVE_STATIC_FILES"].present? and logs to
// stdout only if ENV["RAILS_LOG_TO_STDOUT"].present?; qa.rb turns CORS on if ENV['ENABLE_CORS_HEADERS']
// is set at all. MYSQL_HOST must be the database's Cloud Map name, and MYSQL_PORT the port mariadbd
// listens on: 3306, as the image starts it with no --port (10.11/Dockerfile CMD ["mariadbd"]).
func TestLookupAppGetsEveryVariableTheImageReads(t *testing.T) {
	for _, name := range []string{"example", "lookup-existing-vpc"} {
		s := synth(t, name)
		tpl := s.templates["Lookup"]
		env := containerEnv(t, lookupContainer(t, tpl, "app"), readEnvFile(t, *s.assembly.Directory()))
		for _, v := range []string{"RAILS_ENV", "MYSQL_DATABASE_NAME_PREFIX", "MYSQL_USER", "MYSQL_PASSWORD", "MYSQL_HOST", "MYSQL_PORT",
			"SECRET_KEY_BASE", "RELOAD_TOKEN", "RAILS_SERVE_STATIC_FILES", "RAILS_LOG_TO_STDOUT", "ENABLE_CORS_HEADERS"} {
			assert.NotEmpty(t, env[v], "%s: the app does not get %s", name, v)
		}
		railsDatabase(t, env)

		var registry, namespace string
		for _, id := range resourcesOfType(tpl, "AWS::ServiceDiscovery::Service") {
			registry = tpl["Resources"].(map[string]any)[id].(map[string]any)["Properties"].(map[string]any)["Name"].(string)
		}
		for _, id := range resourcesOfType(tpl, "AWS::ServiceDiscovery::PrivateDnsNamespace") {
			namespace = tpl["Resources"].(map[string]any)[id].(map[string]any)["Properties"].(map[string]any)["Name"].(string)
		}
		assert.Equal(t, registry+"."+namespace, env["MYSQL_HOST"], name)
		assert.Equal(t, "3306", env["MYSQL_PORT"], name)
		mapping := lookupContainer(t, tpl, "db")["PortMappings"].([]any)[0].(map[string]any)
		assert.EqualValues(t, 3306, mapping["ContainerPort"], "%s: mariadbd listens on 3306", name)
	}
}

// qa.rb: `ENV['ENABLE_CORS_HEADERS'] ? config.enable_cors_headers : config.disable_cors_headers`: any
// value, "false" too, turns CORS on, so off means the variable is absent.
func TestLookupCorsOffLeavesTheVariableOut(t *testing.T) {
	_, envFile := lookupVariant(t, "nocors", "  app: {cors: false}\n")
	assert.NotContains(t, parseEnvFile(envFile), "ENABLE_CORS_HEADERS")
}

// The ports are the images': the app's Dockerfile CMD is `bundle exec puma -v -b tcp://0.0.0.0:3000`
// (qa_server_container 133b568), so the container port, the target group and the security group
// rules are 3000; MariaDB is 3306 (above).
func TestLookupTrafficGoesToThePortsTheImagesListenOn(t *testing.T) {
	tpl := synth(t, "example").templates["Lookup"]
	assert.EqualValues(t, 3000, lookupContainer(t, tpl, "app")["PortMappings"].([]any)[0].(map[string]any)["ContainerPort"])
	lookupService(t).HasResourceProperties(jsii.String("AWS::ElasticLoadBalancingV2::TargetGroup"), map[string]any{"Port": 3000})
	lookupService(t).HasResourceProperties(jsii.String("AWS::EC2::SecurityGroupIngress"), map[string]any{"FromPort": 3000, "ToPort": 3000,
		"SourceSecurityGroupId": map[string]any{"Fn::GetAtt": []any{assertions.Match_StringLikeRegexp(jsii.String("^ServiceFrontSecurityGroup")), "GroupId"}}})
	lookupService(t).HasResourceProperties(jsii.String("AWS::EC2::SecurityGroupIngress"), map[string]any{"FromPort": 3306, "ToPort": 3306,
		"SourceSecurityGroupId": map[string]any{"Fn::GetAtt": []any{assertions.Match_StringLikeRegexp(jsii.String("^ServiceAppSecurityGroup")), "GroupId"}}})
}

// The app image is one its publisher pushes. LD4P/qa_server_container main 133b568,
// .github/workflows/aws-push-release-to-public.yml: FULL_PATH=public.ecr.aws/u8a1v5x2/ld4p/qa_authority_lookup,
// `docker build -t $FULL_PATH:$SHA -t $FULL_PATH:$VERSION -t $FULL_PATH:latest` and `docker push -a`, with
// VERSION=$(cat VERSION) = v2.0.0 on main and dev; the other two workflows push to private ECR
// repositories, and no ref mentions ghcr. latest moves on every release, so a pinned image is a VERSION
// tag, a commit tag or a digest.
func TestLookupAppImageIsOneThePublisherPushes(t *testing.T) {
	const repository = "public.ecr.aws/u8a1v5x2/ld4p/qa_authority_lookup"
	published := regexp.MustCompile(`^` + regexp.QuoteMeta(repository) + `(:v2\.0\.0|:[0-9a-f]{40}|@sha256:[0-9a-f]{64})$`)
	images := map[string]string{"lookup.DefaultAppImage": lookup.DefaultAppImage}
	def := readFile(t, filepath.Join(instanceDir, "default.yaml"))
	if m := regexp.MustCompile(`(?m)^    image: (\S*qa_authority_lookup\S*)$`).FindStringSubmatch(def); assert.NotNil(t, m, "default.yaml sets no app image") {
		images["default.yaml"] = m[1]
	}
	for _, name := range []string{"example", "lookup-existing-vpc"} {
		images[name] = lookupContainer(t, synth(t, name).templates["Lookup"], "app")["Image"].(string)
	}
	for where, image := range images {
		assert.Regexp(t, published, image, "%s: not an image LD4P's release workflow pushes", where)
	}
}

// CloudFormation deletes a resource only after everything that DependsOn it, and creates it first;
// ECS refuses to remove a capacity provider from a cluster while a service uses it ("The specified
// capacity provider is in use and cannot be removed": pahud/cdk-fargate-patterns#71, aws/aws-cdk#15366;
// the AWS::ECS::ClusterCapacityProviderAssociations page asks services to depend on the association,
// aws/containers-roadmap#631). So every service with a capacity provider strategy must DependsOn the
// association of that provider.
func TestLookupServicesDependOnTheirCapacityProviderAssociation(t *testing.T) {
	for _, name := range []string{"example", "lookup-existing-vpc"} {
		res := synth(t, name).templates["Lookup"]["Resources"].(map[string]any)
		associations := map[string]string{} // capacity provider logical ID -> association logical ID
		for _, id := range resourcesOfType(synth(t, name).templates["Lookup"], "AWS::ECS::ClusterCapacityProviderAssociations") {
			for _, cp := range res[id].(map[string]any)["Properties"].(map[string]any)["CapacityProviders"].([]any) {
				if r, ok := cp.(map[string]any); ok {
					associations[r["Ref"].(string)] = id
				}
			}
		}
		services := resourcesOfType(synth(t, name).templates["Lookup"], "AWS::ECS::Service")
		assert.Len(t, services, 2, name)
		for _, id := range services {
			strategy, _ := res[id].(map[string]any)["Properties"].(map[string]any)["CapacityProviderStrategy"].([]any)
			require.NotEmpty(t, strategy, "%s %s", name, id)
			for _, s := range strategy {
				provider := s.(map[string]any)["CapacityProvider"].(map[string]any)["Ref"].(string)
				association, ok := associations[provider]
				require.True(t, ok, "%s: %s uses %s, which no association adds to the cluster", name, id, provider)
				assert.Contains(t, res[id].(map[string]any)["DependsOn"], association, "%s: %s does not depend on %s", name, id, association)
			}
		}
	}
}

// ECS starts a deployment only when the service's task definition (or the service) changes
// (AWS::ECS::Service TaskDefinition; an env file's content is read only when a task starts: ECS
// developer guide, "Use environment files"). So the app's task definition must change with the env file.
func TestLookupEnvFileChangeMakesANewAppTaskDefinition(t *testing.T) {
	on, onFile := lookupVariant(t, "corson", "  app: {cors: true}\n")
	off, offFile := lookupVariant(t, "corsoff", "  app: {cors: false}\n")
	require.NotEqual(t, onFile, offFile)
	strip := func(c map[string]any) string {
		raw, _ := json.Marshal(c)
		return strings.ReplaceAll(string(raw), "corsoff", "corson") // the instance name is in the references
	}
	assert.NotEqual(t, strip(lookupContainer(t, on, "app")), strip(lookupContainer(t, off, "app")),
		"the env file changed, but the app's task definition did not: no deployment, old settings in running tasks")
}

// The service stack reads the access points through weak references, Fn::GetStackOutput, which
// CloudFormation resolves when it creates or updates a resource ("If the referenced stack or output is
// later deleted or modified, the consuming stack is not automatically updated", Fn::GetStackOutput).
// Any change of an access point's path, owner or permissions replaces it (AWS::EFS::AccessPoint:
// RootDirectory and PosixUser, "Update requires: Replacement"); the task definitions and mount grants
// must then change too, or they keep the deleted access point.
func TestLookupAccessPointChangeReachesTheServiceStack(t *testing.T) {
	before, _ := lookupVariant(t, "apbefore", "  efs: {authorities: {uid: 1000}, database: {permissions: \"0750\"}}\n")
	after, _ := lookupVariant(t, "apafter", "  efs: {authorities: {uid: 1001}, database: {permissions: \"0700\"}}\n")
	resources := func(tpl map[string]any, typ string) []string {
		var out []string
		for _, id := range resourcesOfType(tpl, typ) {
			raw, _ := json.Marshal(tpl["Resources"].(map[string]any)[id].(map[string]any)["Properties"])
			out = append(out, strings.ReplaceAll(string(raw), "apafter", "apbefore"))
		}
		return out
	}
	for _, typ := range []string{"AWS::ECS::TaskDefinition", "AWS::IAM::Policy"} {
		b, a := resources(before, typ), resources(after, typ)
		require.Equal(t, len(b), len(a))
		changed := 0
		for i := range b {
			if strings.Contains(b[i], "AccessPoint") && b[i] != a[i] {
				changed++
			}
		}
		assert.GreaterOrEqual(t, changed, 2, "%s: the access points were replaced, but the service stack's %s did not change", typ, typ)
	}
}

// CloudFormation replaces an AWS::ECS::Service by creating the new one first ("Update requires:
// Replacement" for LaunchType, Cluster, ServiceName and others; resources are replaced create-then-delete),
// which for the database would start a second MariaDB on the same data directory. A custom-named
// resource is never replaced that way: CloudFormation fails the update ("CloudFormation cannot update a
// stack when a custom-named resource requires replacing"). Switching capacity changes LaunchType, a
// replacement, so the database service must carry a name on both.
func TestLookupDatabaseServiceIsNeverReplacedWhileRunning(t *testing.T) {
	for _, tpl := range []map[string]any{synth(t, "example").templates["Lookup"], func() map[string]any {
		tpl, _ := lookupVariant(t, "fargatedb", "  capacity: fargate\n")
		return tpl
	}()} {
		named := 0
		for _, id := range resourcesOfType(tpl, "AWS::ECS::Service") {
			props := tpl["Resources"].(map[string]any)[id].(map[string]any)["Properties"].(map[string]any)
			if registries, _ := props["ServiceRegistries"].([]any); len(registries) > 0 { // the database: the one Cloud Map registers
				assert.NotEmpty(t, props["ServiceName"], "%s: a replacement would start a second MariaDB first", id)
				named++
			}
		}
		assert.Equal(t, 1, named)
	}
}

// Qa reads config/authorities at boot only (or on /authorities/reload, which through the load balancer
// reaches one task); DataSync reports each finished execution to EventBridge as "DataSync Task Execution
// State Change" with detail.State SUCCESS and the execution ARN <task ARN>/execution/<id> in resources
// (DataSync user guide, "Monitoring events by using Amazon EventBridge"); DescribeTaskExecution reports
// FilesTransferred and FilesDeleted. So: a rule that matches that event for our task, starting a state
// machine that forces a new deployment of the app when a file changed.
func TestLookupSyncRestartsTheAppWhenTheAuthoritiesChange(t *testing.T) {
	for _, name := range []string{"example", "lookup-existing-vpc"} {
		tpl := synth(t, name).templates["Lookup"]
		res := tpl["Resources"].(map[string]any)
		rules := resourcesOfType(tpl, "AWS::Events::Rule")
		require.Len(t, rules, 1, name)
		rule := res[rules[0]].(map[string]any)["Properties"].(map[string]any)
		pattern := rule["EventPattern"].(map[string]any)
		task := resourcesOfType(tpl, "AWS::DataSync::Task")[0]
		assert.Equal(t, []any{"aws.datasync"}, pattern["source"])
		assert.Equal(t, []any{"DataSync Task Execution State Change"}, pattern["detail-type"])
		assert.Equal(t, map[string]any{"State": []any{"SUCCESS"}}, pattern["detail"])
		assert.Equal(t, []any{map[string]any{"prefix": map[string]any{"Fn::Join": []any{"", []any{
			map[string]any{"Fn::GetAtt": []any{task, "TaskArn"}}, "/execution/"}}}}}, pattern["resources"], name)

		machines := resourcesOfType(tpl, "AWS::StepFunctions::StateMachine")
		require.Len(t, machines, 1)
		assert.Equal(t, map[string]any{"Ref": machines[0]}, rule["Targets"].([]any)[0].(map[string]any)["Arn"])
		raw, _ := json.Marshal(res[machines[0]].(map[string]any)["Properties"].(map[string]any)["DefinitionString"])
		def := string(raw)
		app := ""
		for _, id := range resourcesOfType(tpl, "AWS::ECS::Service") {
			if _, named := res[id].(map[string]any)["Properties"].(map[string]any)["ServiceName"]; !named {
				app = id
			}
		}
		for _, want := range []string{`aws-sdk:datasync:describeTaskExecution`, `\"TaskExecutionArn.$\":\"$.resources[0]\"`,
			`\"Variable\":\"$.FilesTransferred\",\"NumericGreaterThan\":0`, `\"Variable\":\"$.FilesDeleted\",\"NumericGreaterThan\":0`,
			`aws-sdk:ecs:updateService`, `\"ForceNewDeployment\":true`, `{"Fn::GetAtt":["` + app + `","Name"]}`} {
			assert.Contains(t, def, want, name)
		}
	}
	template(synth(t, "example").stack(t, "Lookup")).HasResourceProperties(jsii.String("AWS::IAM::Policy"), map[string]any{
		"PolicyDocument": map[string]any{"Statement": assertions.Match_ArrayWith(&[]any{map[string]any{
			"Action": "ecs:updateService", "Effect": "Allow", "Resource": ref("ServiceAppService"),
		}})},
	})
}

// The database is a MariaDB the app runs on. LD4P/qa_server_container commit 1520646 (2023-10, when
// `mariadb` meant 11.x) pinned docker-compose.yml to `mariadb:10.6 # Not specifying version causes a
// runtime error: "undefined method `encoding' for -0.0:BigDecimal"`, and the seed deployment
// (cul-it/qa_server_aws_deploy 480b14d) ran mariadb:10.7: the app is known on 10.x only. 10.11 is the
// 10.x LTS still supported.
func TestLookupDatabaseIsAMariaDBTheAppRunsOn(t *testing.T) {
	tenX := regexp.MustCompile(`(^|/)mariadb:10\.(6|11)(\.\d+)?$`)
	images := map[string]string{"lookup.DefaultDatabaseImage": lookup.DefaultDatabaseImage}
	for _, name := range []string{"example", "lookup-existing-vpc"} {
		images[name] = lookupContainer(t, synth(t, name).templates["Lookup"], "db")["Image"].(string)
	}
	for where, image := range images {
		assert.Regexp(t, tenX, image, "%s", where)
	}
}

// lookupTasks returns a Lookup template's container definitions by name, and each container's task's
// volumes by name (a volume with EFSVolumeConfiguration is on EFS; one without is a task volume).
func lookupTasks(t *testing.T, tpl map[string]any) (map[string]map[string]any, map[string]map[string]map[string]any) {
	t.Helper()
	containers, volumes := map[string]map[string]any{}, map[string]map[string]map[string]any{}
	for _, id := range resourcesOfType(tpl, "AWS::ECS::TaskDefinition") {
		props := tpl["Resources"].(map[string]any)[id].(map[string]any)["Properties"].(map[string]any)
		vols := map[string]map[string]any{}
		for _, v := range props["Volumes"].([]any) {
			vols[v.(map[string]any)["Name"].(string)] = v.(map[string]any)
		}
		for _, c := range props["ContainerDefinitions"].([]any) {
			cd := c.(map[string]any)
			containers[cd["Name"].(string)] = cd
			volumes[cd["Name"].(string)] = vols
		}
	}
	return containers, volumes
}

// lookupTemplates are the Lookup and LookupData templates the container tests read: the shipped
// instances with lookup in both lifecycles on EC2, and a development instance on Fargate whose access
// points belong to other users than the defaults.
func lookupTemplates(t *testing.T) map[string][2]map[string]any {
	t.Helper()
	out := map[string][2]map[string]any{}
	for _, name := range []string{"example", "regulated", "lookup-existing-vpc"} {
		s := synth(t, name)
		out[name] = [2]map[string]any{s.templates["Lookup"], s.templates["LookupData"]}
	}
	built, _ := buildInstance(t, "fargateusers", "lifecycle: development\n"+lookupEnv+"  capacity: fargate\n"+
		"  efs: {authorities: {uid: 3001, gid: 3002}, database: {uid: 2001, gid: 2002}}\n")
	toMap := func(s awscdk.Stack) map[string]any {
		var tpl map[string]any
		raw, _ := json.Marshal(template(s).ToJSON())
		require.NoError(t, json.Unmarshal(raw, &tpl))
		return tpl
	}
	out["fargateusers"] = [2]map[string]any{toMap(built.Lookup.Stack), toMap(built.Lookup.DataStack)}
	return out
}

// mountsOf returns a container's mount points, container path to source volume; ReadOnly is asserted
// for each: only the authorities are read-only.
func mountsOf(t *testing.T, where string, c map[string]any) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, m := range c["MountPoints"].([]any) {
		mp := m.(map[string]any)
		out[mp["ContainerPath"].(string)] = mp["SourceVolume"].(string)
		assert.Equal(t, mp["SourceVolume"] == "authorities", mp["ReadOnly"], "%s: %s %s is read-only exactly when it is the authorities", where, c["Name"], mp["ContainerPath"])
	}
	return out
}

// TestLookupContainersRunAsNonRootWithReadOnlyRootFileSystems: in every lifecycle and on both
// capacities, the app and the database run as a non-root user with a read-only root file system, and
// each path the pinned image writes is a task volume. Every lifecycle, so that a development instance
// fails the way production would (an image that writes elsewhere, a volume its user cannot write)
// before production does; it adds no resource, so a development instance costs what it did.
//
// The paths come from the images' sources: LD4P/qa_server_container v2.0.0's Dockerfile (WORKDIR and
// RAILS_ROOT /app/ld4p/qa_server-webapp; Rails writes tmp/ and log/, Ruby and Bundler /tmp) and
// MariaDB/mariadb-docker 10.11 (Dockerfile lines 120-123: /run/mysqld for socket and lock files; the
// image's my.cnf puts the pid file there; mariadbd's temporary files go to --tmpdir).
func TestLookupContainersRunAsNonRootWithReadOnlyRootFileSystems(t *testing.T) {
	for name, tpls := range lookupTemplates(t) {
		containers, volumes := lookupTasks(t, tpls[0])
		for _, c := range []string{"app", "db"} {
			require.Contains(t, containers, c, name)
			assert.Equal(t, true, containers[c]["ReadonlyRootFilesystem"], "%s: %s has a read-only root file system", name, c)
			user, _ := containers[c]["User"].(string)
			assert.Regexp(t, `^[1-9][0-9]*:[1-9][0-9]*$`, user, "%s: %s runs as a non-root uid:gid", name, c)
		}
		assert.Equal(t, map[string]string{
			"/app/ld4p/qa_server-webapp/config/authorities": "authorities",
			"/app/ld4p/qa_server-webapp/tmp":                "app-tmp",
			"/app/ld4p/qa_server-webapp/log":                "app-log",
			"/tmp":                                          "scratch",
		}, mountsOf(t, name, containers["app"]), name)
		assert.Equal(t, map[string]string{"/var/lib/mysql": "database", "/run/mysqld": "database-run"}, mountsOf(t, name, containers["db"]), name)
		assert.ElementsMatch(t, []string{"authorities", "app-log", "app-tmp", "scratch"}, slices.Collect(maps.Keys(volumes["app"])), name)
		assert.ElementsMatch(t, []string{"database", "database-run"}, slices.Collect(maps.Keys(volumes["db"])), name)
		assert.Equal(t, []any{"mariadbd", "--tmpdir=/run/mysqld"}, containers["db"]["Command"], "%s: mariadbd's temporary files in the volume its user owns", name)
		// The entrypoint's mariadb-upgrade (MARIADB_AUTO_UPGRADE, after an image upgrade) writes its
		// temporary files to $TMPDIR, else /tmp (MariaDB server client/mysql_upgrade.c create_temp_file,
		// mysys/mf_tempdir.c): with a read-only root, TMPDIR must name a volume the db's user writes.
		env := map[string]string{}
		for _, e := range containers["db"]["Environment"].([]any) {
			kv := e.(map[string]any)
			env[kv["Name"].(string)] = fmt.Sprint(kv["Value"])
		}
		assert.Equal(t, "1", env["MARIADB_AUTO_UPGRADE"], name)
		assert.Contains(t, mountsOf(t, name, containers["db"]), env["TMPDIR"], "%s: TMPDIR is a mounted volume", name)
		assert.NotEqual(t, "/var/lib/mysql", env["TMPDIR"], "%s: not the data directory", name)
	}
}

// dockerDefaultCapabilities is the capability set Docker and containerd give a container (moby
// oci/caps/defaults.go DefaultCapabilities).
var dockerDefaultCapabilities = []string{"AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD",
	"NET_BIND_SERVICE", "NET_RAW", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"}

// TestLookupVolumeOwnersHandEachWritableVolumeToItsContainersUser: a task volume starts out root's
// (Fargate: a bind mount in ephemeral storage, root-owned 0755 unless the image declares the path with
// VOLUME, Amazon ECS Developer Guide "Use bind mounts with Amazon ECS"; EC2: a task-scoped Docker
// local volume, amazon-ecs-agent agent/api/task/taskvolume.go unmarshalHostVolume, which Docker fills
// with the image's root-owned content at that path). So before each container starts, a container of
// its image chowns, recursively, every task volume it writes to its user, and exits: the container
// depends on it with condition SUCCESS. That one runs as root, so it gets nothing else: not essential,
// no secret, no environment or env file, no port, a read-only root file system, every Docker default
// capability dropped but CHOWN (Fargate accepts no added capability but SYS_PTRACE, so dropping is the
// way that works on both), and no CPU or memory reservation of its own (the main container reserves
// the task's memory, and ECS refuses containers that reserve more than their task).
func TestLookupVolumeOwnersHandEachWritableVolumeToItsContainersUser(t *testing.T) {
	for name, tpls := range lookupTemplates(t) {
		containers, volumes := lookupTasks(t, tpls[0])
		for _, c := range []string{"app", "db"} {
			main, ownerName := containers[c], c+lookup.VolumeOwnerSuffix
			owner := containers[ownerName]
			require.NotNil(t, owner, "%s: %s has a volume owner", name, c)
			var writable []string
			ownerMounts := mountsOf(t, name, owner)
			for path, vol := range mountsOf(t, name, main) {
				if _, onEFS := volumes[c][vol]["EFSVolumeConfiguration"]; onEFS {
					assert.NotContains(t, ownerMounts, path, "%s: %s's volume owner leaves the EFS volume alone (the access point owns it)", name, c)
					continue
				}
				writable = append(writable, path)
				assert.Equal(t, vol, ownerMounts[path], "%s: %s's volume owner mounts %s", name, c, path)
			}
			assert.Len(t, ownerMounts, len(writable), "%s: %s's volume owner mounts only the task volumes", name, c)
			assert.Equal(t, []any{"chown"}, owner["EntryPoint"], "%s: %s's volume owner runs chown, not the image's entrypoint", name, c)
			cmd, _ := owner["Command"].([]any)
			require.GreaterOrEqual(t, len(cmd), 3, "%s: %v", name, cmd)
			assert.Equal(t, []any{"-R", main["User"]}, cmd[:2], "%s: %s's volumes go to the user %s runs as", name, c, c)
			assert.ElementsMatch(t, writable, cmd[2:], "%s: %s's volume owner chowns every task volume %s writes", name, c, c)
			assert.Equal(t, []any{map[string]any{"ContainerName": ownerName, "Condition": "SUCCESS"}}, main["DependsOn"], "%s: %s starts after its volumes are its user's", name, c)

			assert.Equal(t, main["Image"], owner["Image"], "%s: the volume owner is %s's own image (its chown; nothing more to pull)", name, c)
			assert.Equal(t, false, owner["Essential"], "%s: %s's volume owner exits when done", name, c)
			assert.Equal(t, "0:0", owner["User"], "%s", name)
			assert.Equal(t, true, owner["ReadonlyRootFilesystem"], "%s", name)
			for _, key := range []string{"Secrets", "Environment", "EnvironmentFiles", "PortMappings", "Cpu", "Memory", "MemoryReservation", "HealthCheck", "DependsOn"} {
				assert.NotContains(t, owner, key, "%s: %s's volume owner", name, c)
			}
			linux, _ := owner["LinuxParameters"].(map[string]any)
			caps, _ := linux["Capabilities"].(map[string]any)
			assert.NotContains(t, caps, "Add", name)
			want := slices.DeleteFunc(slices.Clone(dockerDefaultCapabilities), func(s string) bool { return s == "CHOWN" })
			drop, _ := caps["Drop"].([]any)
			assert.ElementsMatch(t, want, drop, "%s: %s's volume owner keeps CHOWN only", name, c)
			assert.NotEmpty(t, owner["LogConfiguration"], "%s: its output goes to %s's log group", name, c)
		}
		assert.Contains(t, containers["app"], "EnvironmentFiles", "%s: the env file is the app's (ContainerDefinitions.0)", name)
	}
}

// TestLookupContainersRunAsTheirAccessPointsPosixUsers: each container runs as the POSIX user of the
// access point it mounts. The access point makes EFS act as its PosixUser for every request, whatever
// the client's uid, so that user owns every file in the data directory and the authorities. MariaDB's
// entrypoint decides by ownership (MariaDB/mariadb-docker 10.11/docker-entrypoint.sh, 1b6429b): started
// as root, docker_create_db_directories chowns to mysql every file of the data directory that mysql
// does not own (line 208, `find "$DATADIR" \! -user mysql ... -exec chown mysql:`), which EFS refuses
// under an access point's non-root user, and `set -eo pipefail` (line 2) makes the entrypoint exit: the
// database refuses its data directory. Started as another uid it skips that chown and gosu (lines 206
// and 216) and needs the data directory to be its own already (docker-library's "running as an
// arbitrary user"). So the container user is the access point's, for custom users too.
func TestLookupContainersRunAsTheirAccessPointsPosixUsers(t *testing.T) {
	for name, tpls := range lookupTemplates(t) {
		containers, _ := lookupTasks(t, tpls[0])
		posixUser := func(path string) string {
			for _, id := range resourcesOfType(tpls[1], "AWS::EFS::AccessPoint") {
				props := tpls[1]["Resources"].(map[string]any)[id].(map[string]any)["Properties"].(map[string]any)
				if props["RootDirectory"].(map[string]any)["Path"] == path {
					u := props["PosixUser"].(map[string]any)
					return u["Uid"].(string) + ":" + u["Gid"].(string)
				}
			}
			t.Fatalf("%s: no access point at %s", name, path)
			return ""
		}
		assert.Equal(t, posixUser("/db-mysql-data"), containers["db"]["User"], "%s: MariaDB runs as the database access point's user", name)
		assert.Equal(t, posixUser("/authorities"), containers["app"]["User"], "%s: the app runs as the authorities access point's user", name)
	}
	// And the defaults are the images' own users: the MariaDB image's mysql (999:999), and 1000:1000.
	assert.Equal(t, "999:999", lookup.PosixUser(lookup.DefaultDatabase()))
	assert.Equal(t, "1000:1000", lookup.PosixUser(lookup.DefaultAuthorities()))
}

// TestPackLookupSecretsUseTheirCustomerManagedKey: with NIST80053R5 or HIPAA (cdk-nag's
// SecretsManagerUsingKMSKey reads each secret's KmsKeyId), the four secrets are under LookupData's
// SecretsKey, and both task execution roles may decrypt with it (ECS reads the secrets at task start
// with the execution role; Secrets Manager decrypts with the caller's kms:Decrypt).
func TestPackLookupSecretsUseTheirCustomerManagedKey(t *testing.T) {
	s := synth(t, "regulated")
	data := s.templates["LookupData"]["Resources"].(map[string]any)
	secrets := resourcesOfType(s.templates["LookupData"], "AWS::SecretsManager::Secret")
	require.Len(t, secrets, 4)
	for _, id := range secrets {
		kms, _ := json.Marshal(data[id].(map[string]any)["Properties"].(map[string]any)["KmsKeyId"])
		assert.Contains(t, string(kms), "SecretsKey317DCF94", "%s is under SecretsKey", id)
	}
	svc := s.templates["Lookup"]["Resources"].(map[string]any)
	for _, role := range []string{"ServiceDatabaseTaskExecutionRole", "ServiceAppTaskExecutionRole"} {
		found := false
		for _, id := range resourcesOfType(s.templates["Lookup"], "AWS::IAM::Policy") {
			doc, _ := json.Marshal(svc[id].(map[string]any)["Properties"])
			if strings.Contains(string(doc), role) && strings.Contains(string(doc), "kms:Decrypt") && strings.Contains(string(doc), "SecretsKey317DCF94") {
				found = true
			}
		}
		assert.True(t, found, "%s may decrypt with SecretsKey", role)
	}
	// And without a pack, the secrets keep Secrets Manager's own key.
	for _, id := range resourcesOfType(synth(t, "example").templates["LookupData"], "AWS::SecretsManager::Secret") {
		assert.NotContains(t, synth(t, "example").templates["LookupData"]["Resources"].(map[string]any)[id].(map[string]any)["Properties"], "KmsKeyId", id)
	}
}
