package test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/stratolab/stratolab/constructs/jobrunner"
	"github.com/stratolab/stratolab/constructs/jobstore"
	"github.com/stratolab/stratolab/constructs/lifecycle"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func jobsData(t *testing.T) assertions.Template {
	return template(synth(t, "example").stack(t, "JobsData"))
}
func jobs(t *testing.T) assertions.Template { return template(synth(t, "example").stack(t, "Jobs")) }

func ref(prefix string) map[string]any {
	return map[string]any{"Ref": assertions.Match_StringLikeRegexp(jsii.String("^" + prefix))}
}

func arnOf(prefix string) map[string]any {
	return map[string]any{"Fn::GetAtt": []any{assertions.Match_StringLikeRegexp(jsii.String("^" + prefix)), "Arn"}}
}

func prefixArn(bucket, prefix string) map[string]any {
	return map[string]any{"Fn::Join": []any{"", []any{arnOf(bucket), "/" + prefix + "*"}}}
}

func TestJobsBucketIsEncryptedVersionedTLSOnlyPrivateAndLogged(t *testing.T) {
	tpl := jobsData(t)
	tpl.HasResourceProperties(jsii.String("AWS::S3::Bucket"), map[string]any{
		"BucketEncryption": map[string]any{"ServerSideEncryptionConfiguration": []any{
			map[string]any{"ServerSideEncryptionByDefault": map[string]any{"SSEAlgorithm": "AES256"}}}},
		"VersioningConfiguration": map[string]any{"Status": "Enabled"},
		"PublicAccessBlockConfiguration": map[string]any{
			"BlockPublicAcls": true, "BlockPublicPolicy": true, "IgnorePublicAcls": true, "RestrictPublicBuckets": true},
		"OwnershipControls": map[string]any{"Rules": []any{map[string]any{"ObjectOwnership": "BucketOwnerEnforced"}}},
		"LoggingConfiguration": map[string]any{
			"DestinationBucketName": ref("StoreLogsBucket"), "LogFilePrefix": "s3-access/jobs-bucket/"},
		"LifecycleConfiguration": map[string]any{"Rules": []any{
			map[string]any{"Id": "expire-noncurrent-versions", "Status": "Enabled", "NoncurrentVersionExpiration": map[string]any{"NoncurrentDays": 30}},
			map[string]any{"Id": "abort-incomplete-uploads", "Status": "Enabled", "AbortIncompleteMultipartUpload": map[string]any{"DaysAfterInitiation": 7}},
		}},
	})
	// Both buckets refuse plain HTTP.
	tpl.ResourcePropertiesCountIs(jsii.String("AWS::S3::BucketPolicy"), map[string]any{
		"PolicyDocument": map[string]any{"Statement": assertions.Match_ArrayWith(&[]any{map[string]any{
			"Action": "s3:*", "Effect": "Deny", "Principal": map[string]any{"AWS": "*"},
			"Condition": map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}},
			"Resource":  assertions.Match_AnyValue(),
		}})},
	}, jsii.Number(2))
}

func TestJobsTablesAreOnDemandWithRecoveryAndEncryption(t *testing.T) {
	tpl := jobsData(t)
	tpl.HasResourceProperties(jsii.String("AWS::DynamoDB::Table"), map[string]any{
		"KeySchema":                        []any{map[string]any{"AttributeName": "job_id", "KeyType": "HASH"}},
		"BillingMode":                      "PAY_PER_REQUEST",
		"PointInTimeRecoverySpecification": map[string]any{"PointInTimeRecoveryEnabled": true},
		"SSESpecification":                 map[string]any{"SSEEnabled": true},
		"AttributeDefinitions": assertions.Match_ArrayWith(&[]any{
			map[string]any{"AttributeName": "job_id", "AttributeType": "S"},
			map[string]any{"AttributeName": "user_id", "AttributeType": "S"},
			map[string]any{"AttributeName": "submitted_at", "AttributeType": "N"},
		}),
		"GlobalSecondaryIndexes": []any{map[string]any{
			"IndexName": "by-user",
			"KeySchema": []any{
				map[string]any{"AttributeName": "user_id", "KeyType": "HASH"},
				map[string]any{"AttributeName": "submitted_at", "KeyType": "RANGE"},
			},
			"Projection": map[string]any{"ProjectionType": "ALL"},
		}},
	})
	tpl.HasResourceProperties(jsii.String("AWS::DynamoDB::Table"), map[string]any{
		"KeySchema":                        []any{map[string]any{"AttributeName": "user_id", "KeyType": "HASH"}},
		"BillingMode":                      "PAY_PER_REQUEST",
		"PointInTimeRecoverySpecification": map[string]any{"PointInTimeRecoveryEnabled": true},
		"SSESpecification":                 map[string]any{"SSEEnabled": true},
	})
}

// The worker role may make the agent's calls on the store and nothing more (jobstore.GrantAgent): read
// inputs under uploads/ (F3) and code under code/, write outputs/, update the jobs table; no listing, no
// Query, Scan or batch reads, no index, no users table.
func TestJobsWorkerRoleHasOnlyTheAgentsStoreRights(t *testing.T) {
	jobsData(t).HasResourceProperties(jsii.String("AWS::IAM::Policy"), map[string]any{
		"Roles": []any{ref("StoreWorkerRole")},
		"PolicyDocument": map[string]any{"Statement": []any{
			map[string]any{"Sid": "ExecuteOutputs", "Effect": "Allow", "Action": []any{"s3:AbortMultipartUpload", "s3:PutObject"}, "Resource": prefixArn("StoreJobsBucket", "outputs/")},
			map[string]any{"Sid": "ExecuteReadUploads", "Effect": "Allow", "Action": "s3:GetObject", "Resource": prefixArn("StoreJobsBucket", "uploads/")},
			map[string]any{"Sid": "ExecuteReadCode", "Effect": "Allow", "Action": "s3:GetObject", "Resource": prefixArn("StoreJobsBucket", "code/")},
			map[string]any{"Sid": "ExecuteRecordJobs", "Effect": "Allow", "Action": "dynamodb:UpdateItem", "Resource": arnOf("StoreJobsTable")},
		}},
	})
}

// With workers of your own (jobs.worker.command), the worker role keeps Kotta's rights (GrantExecute).
func TestJobStoreOwnWorkersGetKottasExecuteRights(t *testing.T) {
	app := newApp(nil)
	stack := awscdk.NewStack(app, jsii.String("Own"), nil)
	jobstore.New(stack, "Store", &jobstore.Props{Lifecycle: lifecycle.Development(), OwnWorkers: true})
	template(stack).HasResourceProperties(jsii.String("AWS::IAM::Policy"), map[string]any{
		"Roles": []any{ref("StoreWorkerRole")},
		"PolicyDocument": map[string]any{"Statement": []any{
			map[string]any{"Sid": "ExecuteOutputs", "Effect": "Allow",
				"Action":   []any{"s3:AbortMultipartUpload", "s3:DeleteObject", "s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"},
				"Resource": prefixArn("StoreJobsBucket", "outputs/")},
			map[string]any{"Sid": "ExecuteReadUploads", "Effect": "Allow", "Action": []any{"s3:GetObject", "s3:GetObjectVersion"},
				"Resource": prefixArn("StoreJobsBucket", "uploads/")},
			map[string]any{"Sid": "ExecuteReadCode", "Effect": "Allow", "Action": []any{"s3:GetObject", "s3:GetObjectVersion"},
				"Resource": prefixArn("StoreJobsBucket", "code/")},
			map[string]any{"Sid": "ExecuteList", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": arnOf("StoreJobsBucket"),
				"Condition": map[string]any{"StringLike": map[string]any{"s3:prefix": []any{"outputs/*", "uploads/*", "code/*"}}}},
			map[string]any{"Effect": "Allow",
				"Action": []any{"dynamodb:BatchGetItem", "dynamodb:BatchWriteItem", "dynamodb:ConditionCheckItem", "dynamodb:DeleteItem",
					"dynamodb:DescribeTable", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:Scan", "dynamodb:UpdateItem"},
				"Resource": []any{arnOf("StoreJobsTable"), map[string]any{"Fn::Join": []any{"", []any{arnOf("StoreJobsTable"), "/index/by-user"}}}}},
			map[string]any{"Effect": "Allow",
				"Action":   []any{"dynamodb:BatchGetItem", "dynamodb:ConditionCheckItem", "dynamodb:DescribeTable", "dynamodb:GetItem", "dynamodb:Query", "dynamodb:Scan"},
				"Resource": arnOf("StoreUsersTable")},
		}},
	})
}

func TestJobsWebRoleHasExactlyKottasSubmitRights(t *testing.T) {
	jobsData(t).HasResourceProperties(jsii.String("AWS::IAM::Policy"), map[string]any{
		"Roles": []any{ref("StoreWebRole")},
		"PolicyDocument": map[string]any{"Statement": []any{
			map[string]any{"Sid": "SubmitUploads", "Effect": "Allow",
				"Action":   []any{"s3:AbortMultipartUpload", "s3:DeleteObject", "s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"},
				"Resource": prefixArn("StoreJobsBucket", "uploads/")},
			map[string]any{"Sid": "SubmitReadOutputs", "Effect": "Allow", "Action": []any{"s3:GetObject", "s3:GetObjectVersion"},
				"Resource": prefixArn("StoreJobsBucket", "outputs/")},
			map[string]any{"Sid": "SubmitList", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": arnOf("StoreJobsBucket"),
				"Condition": map[string]any{"StringLike": map[string]any{"s3:prefix": []any{"uploads/*", "outputs/*"}}}},
			map[string]any{"Effect": "Allow",
				"Action": []any{"dynamodb:BatchGetItem", "dynamodb:BatchWriteItem", "dynamodb:ConditionCheckItem", "dynamodb:DeleteItem",
					"dynamodb:DescribeTable", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:Scan", "dynamodb:UpdateItem"},
				"Resource": []any{arnOf("StoreJobsTable"), arnOf("StoreUsersTable"),
					map[string]any{"Fn::Join": []any{"", []any{arnOf("StoreJobsTable"), "/index/by-user"}}}}},
			map[string]any{"Sid": "ReadCode", "Effect": "Allow", "Action": []any{"s3:GetObject", "s3:GetObjectVersion"},
				"Resource": prefixArn("StoreJobsBucket", "code/")},
			map[string]any{"Sid": "ListCode", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": arnOf("StoreJobsBucket"),
				"Condition": map[string]any{"StringLike": map[string]any{"s3:prefix": []any{"code/*"}}}},
		}},
	})
}

func TestJobsRolesAreAssumedByEC2Only(t *testing.T) {
	jobsData(t).ResourcePropertiesCountIs(jsii.String("AWS::IAM::Role"), map[string]any{
		"AssumeRolePolicyDocument": map[string]any{"Statement": []any{map[string]any{
			"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": map[string]any{"Service": "ec2.amazonaws.com"}}}},
		"ManagedPolicyArns": assertions.Match_Absent(),
	}, jsii.Number(2))
}

// TestNoWildcardOrManagedAccessAnywhere checks every IAM policy of every instance: S3 and DynamoDB actions
// name resources, no action is a service wildcard, and no role carries an AWS-managed FullAccess policy,
// and there are no IAM users or access keys.
func TestNoWildcardOrManagedAccessAnywhere(t *testing.T) {
	for _, name := range instanceNames(t) {
		s := synth(t, name)
		for _, id := range s.stackIDs() {
			for logical, r := range s.templates[id]["Resources"].(map[string]any) {
				props, _ := r.(map[string]any)["Properties"].(map[string]any)
				managed, _ := json.Marshal(props["ManagedPolicyArns"])
				assert.NotContains(t, string(managed), "FullAccess", "%s/%s/%s", name, id, logical)
			}
			for _, typ := range []string{"AWS::IAM::User", "AWS::IAM::AccessKey"} {
				assert.Empty(t, resourcesOfType(s.templates[id], typ), "%s/%s has an %s", name, id, typ)
			}
			for logical, r := range s.templates[id]["Resources"].(map[string]any) {
				res := r.(map[string]any)
				if res["Type"] != "AWS::IAM::Policy" {
					continue
				}
				doc := res["Properties"].(map[string]any)["PolicyDocument"].(map[string]any)
				for _, st := range doc["Statement"].([]any) {
					stmt := st.(map[string]any)
					actions := fmt.Sprint(stmt["Action"])
					assert.NotRegexp(t, `(^|[\s\[])(s3|dynamodb|sqs|sns|\*):?\*`, actions, "%s/%s/%s: service-wide action", name, id, logical)
					if strings.Contains(actions, "s3:") || strings.Contains(actions, "dynamodb:") {
						resources, _ := json.Marshal(stmt["Resource"])
						assert.NotEqual(t, `"*"`, string(resources), "%s/%s/%s: %s on every resource", name, id, logical, actions)
						assert.NotContains(t, string(resources), `"*"`, "%s/%s/%s", name, id, logical)
					}
				}
			}
		}
	}
}

func TestJobsQueuesAreEncryptedTLSOnlyWithDeadLetters(t *testing.T) {
	tpl := jobs(t)
	tpl.ResourceCountIs(jsii.String("AWS::SQS::Queue"), jsii.Number(4))
	for _, class := range []string{"Prod", "Test"} {
		tpl.HasResourceProperties(jsii.String("AWS::SQS::Queue"), map[string]any{
			"SqsManagedSseEnabled":          true,
			"VisibilityTimeout":             43199,
			"MessageRetentionPeriod":        1209600,
			"ReceiveMessageWaitTimeSeconds": 20,
			"RedrivePolicy": map[string]any{
				"deadLetterTargetArn": arnOf("Runner" + class + "DeadLetterQueue"), "maxReceiveCount": 3},
		})
	}
	tpl.ResourcePropertiesCountIs(jsii.String("AWS::SQS::QueuePolicy"), map[string]any{
		"PolicyDocument": map[string]any{"Statement": assertions.Match_ArrayWith(&[]any{map[string]any{
			"Action": "sqs:*", "Effect": "Deny", "Principal": map[string]any{"AWS": "*"},
			"Condition": map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}},
			"Resource":  assertions.Match_AnyValue(),
		}})},
	}, jsii.Number(4))
}

// roleArnFrom matches a reference to a role ARN published by the JobsData stack.
func roleArnFrom(role string) any { return fromStack("example-JobsData", "Store"+role+".*Arn") }

// fromStack matches a weak cross-stack reference (@aws-cdk/core:defaultCrossStackReferences: weak) to
// an output of stack whose name matches pattern.
func fromStack(stack, pattern string) any {
	return assertions.Match_ObjectLike(&map[string]any{"Fn::GetStackOutput": assertions.Match_ObjectLike(&map[string]any{
		"StackName": stack, "OutputName": assertions.Match_StringLikeRegexp(jsii.String(pattern)),
	})})
}

func TestJobsQueuePoliciesAdmitOnlyThePlatformsRoles(t *testing.T) {
	for _, class := range []string{"Prod", "Test"} {
		jobs(t).HasResourceProperties(jsii.String("AWS::SQS::QueuePolicy"), map[string]any{
			"Queues": []any{ref("Runner" + class + "JobsQueue")},
			"PolicyDocument": map[string]any{"Statement": []any{
				assertions.Match_ObjectLike(&map[string]any{"Effect": "Deny"}),
				map[string]any{"Sid": "WebServerSubmits", "Effect": "Allow", "Principal": map[string]any{"AWS": roleArnFrom("WebRole")},
					"Action": []any{"sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:SendMessage"}, "Resource": arnOf("Runner" + class + "JobsQueue")},
				map[string]any{"Sid": "WorkersConsume", "Effect": "Allow", "Principal": map[string]any{"AWS": roleArnFrom("WorkerRole")},
					"Action":   []any{"sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:ReceiveMessage"},
					"Resource": arnOf("Runner" + class + "JobsQueue")},
			}},
		})
	}
}

func TestJobsWorkerFleetsRunInPrivateSubnetsFromSecureLaunchTemplates(t *testing.T) {
	tpl := jobs(t)
	tpl.ResourcePropertiesCountIs(jsii.String("AWS::EC2::LaunchTemplate"), map[string]any{
		"LaunchTemplateData": assertions.Match_ObjectLike(&map[string]any{
			"MetadataOptions": map[string]any{"HttpTokens": "required", "HttpPutResponseHopLimit": 1},
			"Monitoring":      map[string]any{"Enabled": true},
			"BlockDeviceMappings": []any{map[string]any{"DeviceName": "/dev/xvda", "Ebs": map[string]any{
				"Encrypted": true, "VolumeType": "gp3", "VolumeSize": 30, "DeleteOnTermination": true}}},
			"IamInstanceProfile": assertions.Match_AnyValue(),
		}),
	}, jsii.Number(3))
	// prod: spot across three types, 0 to 10. F5: no capacity rebalancing, which would terminate a
	// rebalanced worker whatever it runs (the agent drains on the notice and then asks for its replacement);
	// F6: no Cooldown, which applies to simple scaling only.
	tpl.HasResourceProperties(jsii.String("AWS::AutoScaling::AutoScalingGroup"), map[string]any{
		"MinSize": "0", "MaxSize": "10", "CapacityRebalance": assertions.Match_Absent(), "Cooldown": assertions.Match_Absent(),
		"HealthCheckType": "EC2", "HealthCheckGracePeriod": 300,
		"MixedInstancesPolicy": map[string]any{
			"InstancesDistribution": map[string]any{
				"OnDemandBaseCapacity": 0, "OnDemandPercentageAboveBaseCapacity": 0, "SpotAllocationStrategy": "price-capacity-optimized"},
			"LaunchTemplate": map[string]any{
				"LaunchTemplateSpecification": assertions.Match_AnyValue(),
				"Overrides": []any{
					map[string]any{"InstanceType": "m5.xlarge"}, map[string]any{"InstanceType": "m5a.xlarge"}, map[string]any{"InstanceType": "m6i.xlarge"}},
			},
		},
		"VPCZoneIdentifier": []any{
			fromStack("example-Base", "NetworkVpcPrivateSubnet1"),
			fromStack("example-Base", "NetworkVpcPrivateSubnet2"),
		},
		"NotificationConfigurations": []any{map[string]any{
			"TopicARN":          ref("RunnerFleetNotifications"),
			"NotificationTypes": assertions.Match_ArrayWith(&[]any{"autoscaling:EC2_INSTANCE_LAUNCH_ERROR", "autoscaling:EC2_INSTANCE_TERMINATE"}),
		}},
	})
	// test: on demand, one type, straight from its launch template.
	tpl.HasResourceProperties(jsii.String("AWS::AutoScaling::AutoScalingGroup"), map[string]any{
		"MinSize": "0", "MaxSize": "10", "LaunchTemplate": assertions.Match_AnyValue(), "MixedInstancesPolicy": assertions.Match_Absent(),
	})
	// EC26 cannot read a mixed-instances fleet's launch template; only that fleet excuses the rule's
	// failure, and only for EC26. The other fleet is checked by EC26 as usual. cdk-nag's
	// EC2IMDSv2Enabled (NIST, HIPAA) does not follow a MixedInstancesPolicy either (rules/ec2/
	// EC2IMDSv2Enabled.js reads the group's LaunchTemplate only), so that fleet alone answers it too.
	imdsReason := assertions.Match_StringLikeRegexp(jsii.String("The prod fleet boots from its mixed-instances launch template, which requires IMDSv2"))
	tpl.HasResource(jsii.String("AWS::AutoScaling::AutoScalingGroup"), map[string]any{
		"Properties": map[string]any{"MixedInstancesPolicy": assertions.Match_AnyValue()},
		"Metadata": map[string]any{"cdk_nag": map[string]any{"rules_to_suppress": assertions.Match_ArrayEquals(&[]any{map[string]any{
			"id": "CdkNagValidationFailure", "applies_to": []any{"AwsSolutions-EC26"},
			"reason": assertions.Match_StringLikeRegexp(jsii.String("prod fleet's mixed-instances launch template")),
		}, map[string]any{"id": "NIST.800.53.R5-EC2IMDSv2Enabled", "reason": imdsReason},
			map[string]any{"id": "HIPAA.Security-EC2IMDSv2Enabled", "reason": imdsReason}})}},
	})
	tpl.HasResource(jsii.String("AWS::AutoScaling::AutoScalingGroup"), map[string]any{
		"Properties": map[string]any{"LaunchTemplate": assertions.Match_AnyValue()},
		"Metadata":   assertions.Match_Absent(),
	})
}

func TestJobsWebIsBehindAnHTTPSLoadBalancerThatRedirectsHTTP(t *testing.T) {
	tpl := jobs(t)
	tpl.HasResourceProperties(jsii.String("AWS::ElasticLoadBalancingV2::LoadBalancer"), map[string]any{
		"Scheme": "internet-facing", "Type": "application",
		"LoadBalancerAttributes": assertions.Match_ArrayWith(&[]any{
			map[string]any{"Key": "routing.http.drop_invalid_header_fields.enabled", "Value": "true"},
			map[string]any{"Key": "access_logs.s3.enabled", "Value": "true"},
			map[string]any{"Key": "access_logs.s3.prefix", "Value": "alb/jobs-web"},
		}),
	})
	tpl.HasResourceProperties(jsii.String("AWS::ElasticLoadBalancingV2::Listener"), map[string]any{
		"Port": 443, "Protocol": "HTTPS",
		"Certificates": []any{map[string]any{"CertificateArn": ref("RunnerFrontCertificate")}},
		// Users log in through the Cognito pool before anything is forwarded (Kotta used Login with Amazon).
		"DefaultActions": []any{
			map[string]any{"Type": "authenticate-cognito", "Order": 1, "AuthenticateCognitoConfig": map[string]any{
				"UserPoolArn":      fromStack("example-Auth", "AuthUserPool.*Arn"),
				"UserPoolClientId": ref("JobsWebClient"),
				"UserPoolDomain":   fromStack("example-Auth", "AuthUserPoolDomain"),
				"Scope":            "openid email profile",
				"SessionTimeout":   "28800",
			}},
			map[string]any{"Type": "forward", "Order": 2, "TargetGroupArn": ref("RunnerWebTargets")},
		},
	})
	tpl.HasResourceProperties(jsii.String("AWS::Cognito::UserPoolClient"), map[string]any{
		"ClientName": "example-jobs-web", "GenerateSecret": true, "AllowedOAuthFlows": []any{"code"},
		"CallbackURLs": []any{"https://jobs.example.org/oauth2/idpresponse"},
	})
	tpl.HasResourceProperties(jsii.String("AWS::ElasticLoadBalancingV2::Listener"), map[string]any{
		"Port": 80, "Protocol": "HTTP",
		"DefaultActions": []any{map[string]any{"Type": "redirect", "RedirectConfig": map[string]any{
			"Port": "443", "Protocol": "HTTPS", "StatusCode": "HTTP_301"}}},
	})
	tpl.HasResourceProperties(jsii.String("AWS::ElasticLoadBalancingV2::TargetGroup"), map[string]any{
		"Port": 8888, "Protocol": "HTTP", "HealthCheckPath": "/", "Matcher": map[string]any{"HttpCode": "200-399"},
		"TargetGroupAttributes": assertions.Match_ArrayWith(&[]any{map[string]any{"Key": "deregistration_delay.timeout_seconds", "Value": "30"}}),
	})
	tpl.HasResourceProperties(jsii.String("AWS::AutoScaling::AutoScalingGroup"), map[string]any{
		"MinSize": "1", "MaxSize": "2", "HealthCheckType": "ELB", "TargetGroupARNs": []any{ref("RunnerWebTargets")},
	})
}

func TestJobsSecurityGroupsLetOnlyTheLoadBalancerIn(t *testing.T) {
	tpl := jobs(t)
	// The load balancer: 80 and 443 from the allowed CIDRs, nothing else; out only to the web servers.
	tpl.HasResourceProperties(jsii.String("AWS::EC2::SecurityGroup"), map[string]any{
		"GroupDescription": "Job web load balancer: HTTP and HTTPS from the allowed CIDRs",
		"SecurityGroupIngress": []any{
			map[string]any{"CidrIp": "0.0.0.0/0", "Description": "HTTPS from 0.0.0.0/0", "FromPort": 443, "ToPort": 443, "IpProtocol": "tcp"},
			map[string]any{"CidrIp": "0.0.0.0/0", "Description": "HTTP (redirected to HTTPS) from 0.0.0.0/0", "FromPort": 80, "ToPort": 80, "IpProtocol": "tcp"},
		},
		// Out: only HTTPS to the identity provider (the Cognito token endpoint), and the web servers below.
		"SecurityGroupEgress": []any{map[string]any{"CidrIp": "0.0.0.0/0", "Description": "Allow to IdP endpoint", "FromPort": 443, "ToPort": 443, "IpProtocol": "tcp"}},
	})
	tpl.HasResourceProperties(jsii.String("AWS::EC2::SecurityGroupEgress"), map[string]any{
		"GroupId":                    map[string]any{"Fn::GetAtt": []any{assertions.Match_StringLikeRegexp(jsii.String("^RunnerFrontSecurityGroup")), "GroupId"}},
		"DestinationSecurityGroupId": map[string]any{"Fn::GetAtt": []any{assertions.Match_StringLikeRegexp(jsii.String("^RunnerWebSecurityGroup")), "GroupId"}},
		"FromPort":                   8888, "ToPort": 8888,
	})
	// The web servers: only from the load balancer, only on the app port.
	tpl.ResourceCountIs(jsii.String("AWS::EC2::SecurityGroupIngress"), jsii.Number(1))
	tpl.HasResourceProperties(jsii.String("AWS::EC2::SecurityGroupIngress"), map[string]any{
		"GroupId":               map[string]any{"Fn::GetAtt": []any{assertions.Match_StringLikeRegexp(jsii.String("^RunnerWebSecurityGroup")), "GroupId"}},
		"SourceSecurityGroupId": map[string]any{"Fn::GetAtt": []any{assertions.Match_StringLikeRegexp(jsii.String("^RunnerFrontSecurityGroup")), "GroupId"}},
		"FromPort":              8888, "ToPort": 8888, "IpProtocol": "tcp",
	})
	// Workers: nothing in.
	tpl.HasResourceProperties(jsii.String("AWS::EC2::SecurityGroup"), map[string]any{
		"GroupDescription": assertions.Match_StringLikeRegexp(jsii.String("^Job workers")), "SecurityGroupIngress": assertions.Match_Absent(),
	})
}

func TestJobsEventsTopicIsEncryptedAndOpenOnlyToThePlatform(t *testing.T) {
	tpl := jobs(t)
	tpl.HasResourceProperties(jsii.String("AWS::SNS::Topic"), map[string]any{
		"DisplayName": "Job events", "KmsMasterKeyId": "arn:aws:kms:us-east-1:123456789012:alias/aws/sns",
	})
	tpl.HasResourceProperties(jsii.String("AWS::SNS::TopicPolicy"), map[string]any{
		"Topics": []any{ref("RunnerJobEvents")},
		"PolicyDocument": map[string]any{"Statement": assertions.Match_ArrayWith(&[]any{map[string]any{
			"Sid": "PlatformPublishes", "Effect": "Allow", "Action": "sns:Publish", "Resource": ref("RunnerJobEvents"),
			"Principal": map[string]any{"AWS": []any{roleArnFrom("WebRole"), roleArnFrom("WorkerRole")}},
		}})},
	})
}

func TestJobsDataIsRetainedAndProtectedInProduction(t *testing.T) {
	prod, _ := buildInstance(t, "prodjobs", "lifecycle: production\n"+jobsEnv)
	tpl := template(prod.Jobs.DataStack)
	tpl.ResourcePropertiesCountIs(jsii.String("AWS::DynamoDB::Table"), map[string]any{"DeletionProtectionEnabled": true}, jsii.Number(2))
	for _, typ := range []string{"AWS::DynamoDB::Table", "AWS::S3::Bucket"} {
		tpl.AllResources(jsii.String(typ), map[string]any{"DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain"})
	}
	tpl.ResourceCountIs(jsii.String("Custom::S3AutoDeleteObjects"), jsii.Number(0))
}

func TestJobsDataIsEmptiedAndDeletedInDevelopment(t *testing.T) {
	tpl := jobsData(t)
	for _, typ := range []string{"AWS::DynamoDB::Table", "AWS::S3::Bucket"} {
		tpl.AllResources(jsii.String(typ), map[string]any{"DeletionPolicy": "Delete"})
	}
	tpl.AllResourcesProperties(jsii.String("AWS::DynamoDB::Table"), map[string]any{"DeletionProtectionEnabled": false})
	tpl.ResourceCountIs(jsii.String("Custom::S3AutoDeleteObjects"), jsii.Number(2))
}

const jobsEnv = `env: {account: "123456789012", region: us-east-1}
vpc: {availability_zones: [us-east-1a, us-east-1b]}
enabled: {jobs: true}
jobs:
  images: {x86_64: latest}
  worker: {command: run-worker}
  web: {command: run-web, certificate_arn: "arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-1234-5678-9abc-0123456789ab", allowed_cidrs: [192.0.2.0/24], login: none}
`

func TestJobsWithoutNATGetAnSQSEndpointAndNoPublicIngressSuppression(t *testing.T) {
	built, _ := buildInstance(t, "isolated", "lifecycle: development\n"+jobsEnv)
	tpl := template(built.Jobs.Stack)
	tpl.HasResourceProperties(jsii.String("AWS::EC2::VPCEndpoint"), map[string]any{
		"VpcEndpointType": "Interface", "PrivateDnsEnabled": true,
		"ServiceName":      "com.amazonaws.us-east-1.sqs",
		"SecurityGroupIds": []any{map[string]any{"Fn::GetAtt": []any{assertions.Match_StringLikeRegexp(jsii.String("^RunnerSqsEndpointSecurityGroup")), "GroupId"}}},
	})
	// Only workers and web servers reach the endpoint, on 443.
	for _, from := range []string{"Worker", "Web"} {
		tpl.HasResourceProperties(jsii.String("AWS::EC2::SecurityGroupIngress"), map[string]any{
			"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
			"GroupId":               map[string]any{"Fn::GetAtt": []any{assertions.Match_StringLikeRegexp(jsii.String("^RunnerSqsEndpointSecurityGroup")), "GroupId"}},
			"SourceSecurityGroupId": map[string]any{"Fn::GetAtt": []any{assertions.Match_StringLikeRegexp(jsii.String("^Runner" + from + "SecurityGroup")), "GroupId"}},
		})
	}
	tpl.ResourcePropertiesCountIs(jsii.String("AWS::EC2::SecurityGroupIngress"), map[string]any{
		"GroupId": map[string]any{"Fn::GetAtt": []any{assertions.Match_StringLikeRegexp(jsii.String("^RunnerSqsEndpointSecurityGroup")), "GroupId"}},
	}, jsii.Number(2))
	tpl.HasResourceProperties(jsii.String("AWS::AutoScaling::AutoScalingGroup"), map[string]any{
		"VPCZoneIdentifier": assertions.Match_ArrayWith(&[]any{
			fromStack("isolated-Base", "NetworkVpcPrivateSubnet1")}),
	})
	// A campus-only load balancer needs no excuse for EC23; the example's public one gives its reason.
	tpl.HasResource(jsii.String("AWS::EC2::SecurityGroup"), map[string]any{
		"Properties": map[string]any{"GroupDescription": "Job web load balancer: HTTP and HTTPS from the allowed CIDRs",
			"SecurityGroupIngress": assertions.Match_ArrayWith(&[]any{assertions.Match_ObjectLike(&map[string]any{"CidrIp": "192.0.2.0/24", "FromPort": 443})})},
		"Metadata": assertions.Match_Absent(),
	})
	jobs(t).HasResource(jsii.String("AWS::EC2::SecurityGroup"), map[string]any{
		"Properties": map[string]any{"GroupDescription": "Job web load balancer: HTTP and HTTPS from the allowed CIDRs"},
		"Metadata": map[string]any{"cdk_nag": map[string]any{"rules_to_suppress": []any{map[string]any{
			"id": "AwsSolutions-EC23", "reason": assertions.Match_StringLikeRegexp(jsii.String("public by configuration")),
		}}}},
	})
	jobs(t).ResourceCountIs(jsii.String("AWS::EC2::VPCEndpoint"), jsii.Number(0)) // the example has a NAT gateway
}

func TestJobStoreBringYourOwnBucketAndTables(t *testing.T) {
	app := newApp(nil)
	stack := awscdk.NewStack(app, jsii.String("Byo"), nil)
	bucket := awss3.Bucket_FromBucketName(stack, jsii.String("Bucket"), jsii.String("kotta-jobs-archive"))
	jobsTable := awsdynamodb.Table_FromTableName(stack, jsii.String("Jobs"), jsii.String("kotta-jobs"))
	usersTable := awsdynamodb.Table_FromTableName(stack, jsii.String("Users"), jsii.String("kotta-users"))
	store := jobstore.New(stack, "Store", &jobstore.Props{ExistingBucket: bucket, ExistingJobsTable: jobsTable, ExistingUsersTable: usersTable})
	assert.Nil(t, store.LogsBucket)
	tpl := template(stack)
	for _, typ := range []string{"AWS::S3::Bucket", "AWS::DynamoDB::Table"} {
		tpl.ResourceCountIs(jsii.String(typ), jsii.Number(0))
	}
	tpl.HasResourceProperties(jsii.String("AWS::IAM::Policy"), map[string]any{
		"Roles": []any{ref("StoreWorkerRole")},
		"PolicyDocument": map[string]any{"Statement": assertions.Match_ArrayWith(&[]any{map[string]any{
			"Sid": "ExecuteOutputs", "Effect": "Allow", "Action": assertions.Match_AnyValue(),
			"Resource": map[string]any{"Fn::Join": []any{"", []any{"arn:", map[string]any{"Ref": "AWS::Partition"}, ":s3:::kotta-jobs-archive/outputs/*"}}},
		}})},
	})
}

func TestJobStoreGrantsAnotherAppsPrincipal(t *testing.T) {
	app := newApp(nil)
	stack := awscdk.NewStack(app, jsii.String("Other"), nil)
	store := jobstore.New(stack, "Store", &jobstore.Props{Lifecycle: lifecycle.Development()})
	batch := awsiam.NewRole(stack, jsii.String("BatchJobRole"), &awsiam.RoleProps{AssumedBy: awsiam.NewServicePrincipal(jsii.String("ecs-tasks.amazonaws.com"), nil)})
	store.GrantExecute(batch)
	template(stack).HasResourceProperties(jsii.String("AWS::IAM::Policy"), map[string]any{
		"Roles": []any{ref("BatchJobRole")},
		"PolicyDocument": map[string]any{"Statement": assertions.Match_ArrayWith(&[]any{
			assertions.Match_ObjectLike(&map[string]any{"Sid": "ExecuteOutputs", "Resource": prefixArn("StoreJobsBucket", "outputs/")}),
			assertions.Match_ObjectLike(&map[string]any{"Sid": "ExecuteReadCode", "Resource": prefixArn("StoreJobsBucket", "code/")}),
		})},
	})
}

func TestJobStoreRejectsAKeyForABucketItDidNotMake(t *testing.T) {
	stack := awscdk.NewStack(newApp(nil), jsii.String("S"), nil)
	bucket := awss3.Bucket_FromBucketName(stack, jsii.String("B"), jsii.String("theirs"))
	msg := panicMessage(func() {
		jobstore.New(stack, "Store", &jobstore.Props{ExistingBucket: bucket, EncryptionKey: awsKey(stack)})
	})
	assert.Contains(t, msg, "jobstore Store: EncryptionKey applies to a bucket the store creates")
}

func TestJobRunnerRejectsImpossibleProps(t *testing.T) {
	stack := awscdk.NewStack(newApp(nil), jsii.String("S"), nil)
	for _, tc := range []struct {
		name  string
		props *jobrunner.Props
		want  []string
	}{
		{"nothing", &jobrunner.Props{}, []string{"Vpc is required", "Store is required", "Web.CertificateArn", "Web.Command is required"}},
		{"a worker command with a line break", &jobrunner.Props{WorkerCommand: "a\nb"}, []string{"WorkerCommand has a line break"}},
		{"bad classes", &jobrunner.Props{Classes: []jobrunner.JobClass{
			{Name: "a", InstanceTypes: []string{"m5.huge"}, Min: 3, Max: 2},
			{Name: "a", InstanceTypes: []string{"m7g.large", "m5.large"}, Max: 1},
		}}, []string{`"m5.huge" is not an EC2 instance type`, "min 3 and max 2", `class name "a" is empty or used twice`, "one architecture per class"}},
		{"visibility beyond 12 hours", &jobrunner.Props{VisibilityTimeout: awscdk.Duration_Hours(jsii.Number(13))}, []string{"VisibilityTimeout 46800 s is outside SQS's 0 to 43200 s"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msg := panicMessage(func() { jobrunner.New(stack, "Runner", tc.props) })
			for _, w := range tc.want {
				assert.Contains(t, msg, w)
			}
		})
	}
	require.Empty(t, *stack.Node().Children())
}

// Example_jobstoreInAnotherApp shows another CDK app using Kotta's store on its own, with props only:
// its own Batch job role gets the worker's rights.
func Example_jobstoreInAnotherApp() {
	app := newApp(nil)
	stack := awscdk.NewStack(app, jsii.String("GenomicsPipeline"), nil)
	store := jobstore.New(stack, "Store", &jobstore.Props{
		NoncurrentVersionExpiration: awscdk.Duration_Days(jsii.Number(90)),
		Lifecycle:                   lifecycle.Production(),
	})
	batchJobs := awsiam.NewRole(stack, jsii.String("BatchJobRole"), &awsiam.RoleProps{
		AssumedBy: awsiam.NewServicePrincipal(jsii.String("ecs-tasks.amazonaws.com"), nil),
	})
	store.GrantExecute(batchJobs)

	tpl := template(stack)
	fmt.Println("buckets:", len(*tpl.FindResources(jsii.String("AWS::S3::Bucket"), nil)))
	fmt.Println("tables:", len(*tpl.FindResources(jsii.String("AWS::DynamoDB::Table"), map[string]any{"DeletionPolicy": "Retain"})), "retained")
	fmt.Println("job table key:", jobstore.JobsTableKey, "index:", jobstore.ByUserIndex)
	// Output:
	// buckets: 2
	// tables: 2 retained
	// job table key: job_id index: by-user
}

func awsKey(scope constructs.Construct) awskms.IKey {
	return awskms.NewKey(scope, jsii.String("Key"), &awskms.KeyProps{EnableKeyRotation: jsii.Bool(true)})
}

// F16: no Lambda function of a development instance leaves a log group behind. Lambda writes to
// /aws/lambda/<function> (created on first invocation, outside the stack) unless LoggingConfig.LogGroup
// names another (AWS::Lambda::Function LoggingConfig); so every function must log to a log group of its
// own stack that is deleted with it. CDK's CustomResourceProvider handlers (the S3 auto-delete objects
// one) have no LoggingConfig of their own (aws-cdk-lib 2.270.0, custom-resource-provider-base.js).
func TestDevelopmentLambdaFunctionsLogToLogGroupsDeletedWithTheirStack(t *testing.T) {
	s := synth(t, "example")
	seen := 0
	for stack, tpl := range s.templates {
		resources := tpl["Resources"].(map[string]any)
		for id, r := range resources {
			res := r.(map[string]any)
			if res["Type"] != "AWS::Lambda::Function" {
				continue
			}
			seen++
			props := res["Properties"].(map[string]any)
			lc, _ := props["LoggingConfig"].(map[string]any)
			ref, _ := lc["LogGroup"].(map[string]any)
			name, _ := ref["Ref"].(string)
			if name == "" { // or a log group of Lambda's default name, created with the function (the CDK's Provider framework)
				want, _ := json.Marshal(map[string]any{"Fn::Join": []any{"", []any{"/aws/lambda/", map[string]any{"Ref": id}}}})
				for gid, g := range resources {
					gp, _ := g.(map[string]any)["Properties"].(map[string]any)
					if got, _ := json.Marshal(gp["LogGroupName"]); string(got) == string(want) {
						name = gid
					}
				}
			}
			if !assert.NotEmpty(t, name, "%s/%s has no log group of its own: Lambda would create /aws/lambda/<name>, which destroy leaves", stack, id) {
				continue
			}
			group, ok := resources[name].(map[string]any)
			if assert.True(t, ok, "%s/%s logs to %s, not in its stack", stack, id, name) {
				assert.Equal(t, "AWS::Logs::LogGroup", group["Type"], "%s/%s", stack, id)
				assert.Equal(t, "Delete", group["DeletionPolicy"], "%s/%s: its log group %s is kept on destroy", stack, id, name)
			}
		}
	}
	assert.NotZero(t, seen)
	n := 0
	for _, r := range s.templates["JobsData"]["Resources"].(map[string]any) {
		if r.(map[string]any)["Type"] == "AWS::Lambda::Function" {
			n++
		}
	}
	assert.Equal(t, 1, n, "JobsData has the auto-delete handler")
}
