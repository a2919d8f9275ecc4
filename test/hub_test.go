package test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/jsii-runtime-go"
	"github.com/stratolab/stratolab/constructs/auth"
	"github.com/stratolab/stratolab/constructs/hub"
	"github.com/stratolab/stratolab/constructs/lifecycle"
	"github.com/stratolab/stratolab/constructs/securebucket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func hubTemplate(t *testing.T) assertions.Template {
	return template(synth(t, "example").stack(t, "Hub"))
}

// chartValues returns the values of a Helm release in an instance's Hub stack, as JSON, with every
// CloudFormation reference replaced by "<Ref:...>" or "<GetAtt:...>".
func chartValues(t *testing.T, instance, chart string) map[string]any {
	for _, r := range synth(t, instance).templates["Hub"]["Resources"].(map[string]any) {
		res := r.(map[string]any)
		props, _ := res["Properties"].(map[string]any)
		if res["Type"] != "Custom::AWSCDK-EKS-HelmChart" || props["Chart"] != chart {
			continue
		}
		raw := flatten(props["Values"])
		var values map[string]any
		require.NoError(t, json.Unmarshal([]byte(raw), &values), raw)
		return values
	}
	t.Fatalf("no %s chart in %s/Hub", chart, instance)
	return nil
}

// flatten turns a string or an Fn::Join of strings and references into one string.
func flatten(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case map[string]any:
		if join, ok := x["Fn::Join"].([]any); ok {
			var b strings.Builder
			for _, part := range join[1].([]any) {
				b.WriteString(flatten(part))
			}
			return b.String()
		}
		for k, val := range x {
			raw, _ := json.Marshal(val)
			return "<" + strings.TrimPrefix(k, "Fn::") + ":" + strings.ReplaceAll(string(raw), `"`, "'") + ">"
		}
	}
	return fmt.Sprint(v)
}

func at(v any, path ...string) any {
	for _, p := range path {
		v = v.(map[string]any)[p]
	}
	return v
}

func TestHubClusterVersionLoggingAndSecretsEncryption(t *testing.T) {
	tpl := hubTemplate(t)
	tpl.HasResourceProperties(jsii.String("AWS::EKS::Cluster"), map[string]any{
		"Name":    "example-cluster",
		"Version": "1.35",
		"Logging": map[string]any{"ClusterLogging": map[string]any{"EnabledTypes": []any{
			map[string]any{"Type": "api"}, map[string]any{"Type": "audit"}, map[string]any{"Type": "authenticator"},
			map[string]any{"Type": "controllerManager"}, map[string]any{"Type": "scheduler"}}}},
		"EncryptionConfig": []any{map[string]any{"Provider": map[string]any{"KeyArn": arnOf("HubSecretsKey")}, "Resources": []any{"secrets"}}},
		"AccessConfig":     map[string]any{"AuthenticationMode": "API", "BootstrapClusterCreatorAdminPermissions": false},
		"ResourcesVpcConfig": assertions.Match_ObjectLike(&map[string]any{
			"EndpointPrivateAccess": true, "EndpointPublicAccess": true, "PublicAccessCidrs": []any{"192.0.2.0/24"}}),
	})
	tpl.HasResourceProperties(jsii.String("AWS::KMS::Key"), map[string]any{"EnableKeyRotation": true})
}

func TestHubNodeGroupsLabelsTaintsScalingAndSpot(t *testing.T) {
	tpl := hubTemplate(t)
	tpl.ResourceCountIs(jsii.String("AWS::EKS::Nodegroup"), jsii.Number(3))
	tpl.HasResourceProperties(jsii.String("AWS::EKS::Nodegroup"), map[string]any{
		"NodegroupName": "core", "CapacityType": "ON_DEMAND", "InstanceTypes": []any{"t3a.large"},
		"Labels":        map[string]any{"hub.jupyter.org/node-purpose": "core", "stratolab.io/node-group": "core"},
		"ScalingConfig": map[string]any{"MinSize": 1, "MaxSize": 3, "DesiredSize": assertions.Match_AnyValue()},
		"Taints":        assertions.Match_Absent(),
		// The hub database's EBS volume lives in one AZ: so does the core group.
		"Subnets": []any{assertions.Match_AnyValue()},
	})
	tpl.HasResourceProperties(jsii.String("AWS::EKS::Nodegroup"), map[string]any{
		"NodegroupName": "general", "CapacityType": "ON_DEMAND", "AmiType": "AL2023_x86_64_STANDARD",
		"InstanceTypes": []any{"m5.2xlarge", "m5a.2xlarge"},
		"Labels":        map[string]any{"hub.jupyter.org/node-purpose": "user", "stratolab.io/node-group": "general"},
		"ScalingConfig": map[string]any{"MinSize": 0, "MaxSize": 15, "DesiredSize": assertions.Match_AnyValue()},
		"Taints":        []any{map[string]any{"Effect": "NO_SCHEDULE", "Key": "hub.jupyter.org/dedicated", "Value": "user"}},
		"Tags": assertions.Match_ObjectLike(&map[string]any{
			"k8s.io/cluster-autoscaler/node-template/label/stratolab.io/node-group":   "general",
			"k8s.io/cluster-autoscaler/node-template/taint/hub.jupyter.org/dedicated": "user:NoSchedule",
		}),
		// EFS homes: user nodes in both AZs.
		"Subnets": []any{assertions.Match_AnyValue(), assertions.Match_AnyValue()},
	})
	tpl.HasResourceProperties(jsii.String("AWS::EKS::Nodegroup"), map[string]any{
		"NodegroupName": "gpu", "CapacityType": "SPOT", "AmiType": "AL2023_x86_64_NVIDIA",
		"Labels": map[string]any{"hub.jupyter.org/node-purpose": "user", "stratolab.io/node-group": "gpu",
			"k8s.amazonaws.com/accelerator": "nvidia"},
		"ScalingConfig": map[string]any{"MinSize": 0, "MaxSize": 4, "DesiredSize": assertions.Match_AnyValue()},
		"Taints": []any{map[string]any{"Effect": "NO_SCHEDULE", "Key": "hub.jupyter.org/dedicated", "Value": "user"},
			map[string]any{"Effect": "NO_SCHEDULE", "Key": "nvidia.com/gpu", "Value": "true"}},
	})
	// Every group boots from a launch template with an encrypted gp3 root volume and IMDSv2.
	tpl.ResourcePropertiesCountIs(jsii.String("AWS::EC2::LaunchTemplate"), map[string]any{
		"LaunchTemplateData": assertions.Match_ObjectLike(&map[string]any{
			"MetadataOptions": map[string]any{"HttpTokens": "required", "HttpPutResponseHopLimit": 2},
			"BlockDeviceMappings": []any{map[string]any{"DeviceName": "/dev/xvda", "Ebs": assertions.Match_ObjectLike(&map[string]any{
				"Encrypted": true, "VolumeType": "gp3"})}},
		}),
	}, jsii.Number(3))
	tpl.HasResourceProperties(jsii.String("AWS::EC2::LaunchTemplate"), map[string]any{
		"LaunchTemplateData": assertions.Match_ObjectLike(&map[string]any{"BlockDeviceMappings": []any{map[string]any{
			"DeviceName": "/dev/xvda", "Ebs": assertions.Match_ObjectLike(&map[string]any{"VolumeSize": 100})}}}),
	})
}

func TestHubHelmReleasesArePinned(t *testing.T) {
	tpl := hubTemplate(t)
	for _, c := range []struct{ chart, repo, version, ns string }{
		{"jupyterhub", "https://hub.jupyter.org/helm-chart/", "4.4.0", "jhub"},
		{"dask-gateway", "https://helm.dask.org", "2026.3.0", "jhub"},
		{"cluster-autoscaler", "https://kubernetes.github.io/autoscaler", "9.59.0", "kube-system"},
		{"nvidia-device-plugin", "https://nvidia.github.io/k8s-device-plugin", "0.17.4", "nvidia"},
	} {
		tpl.HasResourceProperties(jsii.String("Custom::AWSCDK-EKS-HelmChart"), map[string]any{
			"Chart": c.chart, "Repository": c.repo, "Version": c.version, "Namespace": c.ns,
		})
	}
	// The hub release waits for its secret (written by the cluster-ops resource) and storage classes.
	tpl.HasResource(jsii.String("Custom::AWSCDK-EKS-HelmChart"), map[string]any{
		"Properties": assertions.Match_ObjectLike(&map[string]any{"Chart": "jupyterhub"}),
		"DependsOn": assertions.Match_ArrayWith(&[]any{assertions.Match_StringLikeRegexp(jsii.String("^HubClustermanifestStorageClasses")),
			assertions.Match_StringLikeRegexp(jsii.String("^HubClusterOps[0-9A-F]{8}$"))}),
	})
	// Helm runs in the kubectl provider's Lambda (15-minute cap): the hub release does not wait past it.
	tpl.HasResourceProperties(jsii.String("Custom::AWSCDK-EKS-HelmChart"), map[string]any{"Chart": "jupyterhub", "Timeout": "840s"})
}

func TestHubValuesProfilesAndNodeSelectors(t *testing.T) {
	v := chartValues(t, "example", "jupyterhub")
	profiles := at(v, "singleuser", "profileList").([]any)
	require.Len(t, profiles, 3)
	general := profiles[0].(map[string]any)
	assert.Equal(t, "general", general["slug"])
	assert.Equal(t, "General purpose", general["display_name"])
	assert.Equal(t, true, general["default"])
	o := general["kubespawner_override"].(map[string]any)
	assert.Equal(t, map[string]any{"stratolab.io/node-group": "general"}, o["node_selector"])
	assert.Equal(t, 1.0, o["cpu_guarantee"])
	assert.Equal(t, 2.0, o["cpu_limit"])
	assert.Equal(t, "4G", o["mem_guarantee"])
	assert.Equal(t, "8G", o["mem_limit"])
	assert.NotContains(t, o, "storage_capacity", "a user's home is one claim, whichever profile they start")
	assert.Equal(t, "10Gi", at(v, "singleuser", "storage", "capacity"))
	assert.Equal(t, 900.0, at(v, "singleuser", "startTimeout"))
	// <account>.dkr.ecr.<region>.<suffix>/<repository name>:<tag>, all resolved at deploy time.
	assert.Regexp(t, `^<Select:.*>\.dkr\.ecr\.<Select:.*>\.<Ref:'AWS::URLSuffix'>/<Ref:'HubRepositorynotebook[0-9A-F]+'>:2026\.11$`, o["image"])
	gpu := profiles[2].(map[string]any)["kubespawner_override"].(map[string]any)
	assert.Equal(t, map[string]any{"stratolab.io/node-group": "gpu"}, gpu["node_selector"])
	assert.Equal(t, []any{
		map[string]any{"key": "hub.jupyter.org/dedicated", "operator": "Equal", "value": "user", "effect": "NoSchedule"},
		map[string]any{"key": "hub.jupyter.org_dedicated", "operator": "Equal", "value": "user", "effect": "NoSchedule"},
		map[string]any{"key": "nvidia.com/gpu", "operator": "Equal", "value": "true", "effect": "NoSchedule"}}, gpu["tolerations"])
	assert.Regexp(t, `/<Ref:'HubRepositorygpunotebook[0-9A-F]+'>:2026\.11$`, gpu["image"])
	// Profiles are offered by Cognito group.
	assert.Equal(t, map[string]any{"general": []any{"general"}, "large": []any{"general"}, "gpu": []any{"gpu"}}, at(v, "custom", "profileGroups"))
	assert.Contains(t, at(v, "hub", "extraConfig", "10-profile-groups"), `get_config("custom.profileGroups", {})`)
	// Core pods on core nodes, user pods on user nodes; no pre-puller hook inside Helm's Lambda.
	assert.Equal(t, map[string]any{"hub.jupyter.org/node-purpose": "core"}, at(v, "hub", "nodeSelector"))
	assert.Equal(t, "require", at(v, "scheduling", "userPods", "nodeAffinity", "matchNodePurpose"))
	assert.Equal(t, false, at(v, "prePuller", "hook", "enabled"))
	assert.Equal(t, false, at(v, "prePuller", "continuous", "enabled"))
	assert.Equal(t, hub.EFSStorageClass, at(v, "singleuser", "storage", "dynamic", "storageClass"))
}

func TestHubValuesLogInThroughTheCognitoPool(t *testing.T) {
	v := chartValues(t, "example", "jupyterhub")
	oauth := at(v, "hub", "config", "GenericOAuthenticator").(map[string]any)
	domain := "https://<GetStackOutput:{'OutputName':'PublishOutputRefAuthUserPoolDomain"
	assert.Equal(t, "https://hub.example.org/hub/oauth_callback", oauth["oauth_callback_url"])
	for key, path := range map[string]string{"authorize_url": "/oauth2/authorize", "token_url": "/oauth2/token"} {
		assert.True(t, strings.HasPrefix(oauth[key].(string), domain), "%s: %v", key, oauth[key])
		assert.True(t, strings.HasSuffix(oauth[key].(string), ".auth.us-east-1.amazoncognito.com"+path), "%s: %v", key, oauth[key])
	}
	assert.Contains(t, oauth["logout_redirect_url"], "/logout?client_id=<Ref:'HubOAuthClient")
	assert.Contains(t, oauth["logout_redirect_url"], "&logout_uri=https://hub.example.org/")
	assert.Contains(t, oauth["client_id"], "<Ref:'HubOAuthClient")
	assert.Equal(t, []any{"openid", "email", "profile"}, oauth["scope"])
	assert.Equal(t, true, oauth["userdata_from_id_token"])
	assert.NotContains(t, oauth, "userdata_url")
	assert.Equal(t, "oauth_user.cognito:groups", oauth["auth_state_groups_key"])
	assert.NotContains(t, oauth, "claim_groups_key")
	assert.Equal(t, []any{"sudo"}, oauth["admin_groups"])
	assert.Equal(t, []any{"general", "gpu", "sudo"}, oauth["allowed_groups"])
	assert.Equal(t, "generic-oauth", at(v, "hub", "config", "JupyterHub", "authenticator_class"))
	assert.Equal(t, []any{"instructor@example.org"}, at(v, "hub", "config", "Authenticator", "admin_users"))
	// The secret comes from a Kubernetes secret, never from the values.
	assert.NotContains(t, oauth, "client_secret")
	assert.Equal(t, map[string]any{"valueFrom": map[string]any{"secretKeyRef": map[string]any{"name": "hub-cognito-client", "key": "client-secret"}}},
		at(v, "hub", "extraEnv", "OAUTH_CLIENT_SECRET"))
}

func TestHubClientSecretReachesKubernetesWithoutPlainText(t *testing.T) {
	tpl := hubTemplate(t)
	// The hub's client lives in the Hub stack, so its secret never becomes a cross-stack output.
	tpl.HasResourceProperties(jsii.String("AWS::Cognito::UserPoolClient"), map[string]any{
		"ClientName": "example-cluster-hub", "GenerateSecret": true, "AllowedOAuthFlows": []any{"code"},
		"CallbackURLs": []any{"https://hub.example.org/hub/oauth_callback"},
	})
	// The cluster-ops resource is given IDs; its function reads the secret from Cognito itself.
	tpl.HasResourceProperties(jsii.String("Custom::HubClusterOps"), map[string]any{
		"ServiceToken": arnOf("HubClusterOpsFunction"),
		"ClusterName":  "example-cluster", "Namespace": "jhub", "SecretName": "hub-cognito-client", "SecretKey": "client-secret",
		"UserPoolId": assertions.Match_AnyValue(), "ClientId": ref("HubOAuthClient"),
		"Endpoint":             map[string]any{"Fn::GetAtt": []any{assertions.Match_StringLikeRegexp(jsii.String("^HubCluster")), "Endpoint"}},
		"CertificateAuthority": map[string]any{"Fn::GetAtt": []any{assertions.Match_StringLikeRegexp(jsii.String("^HubCluster")), "CertificateAuthorityData"}},
		"DeleteUserData":       "true", "DeleteSnapshots": "true", "IngressName": "jupyterhub",
	})
	tpl.HasResourceProperties(jsii.String("AWS::Lambda::Function"), map[string]any{
		"Runtime": "provided.al2023", "Architectures": []any{"arm64"}, "Handler": "bootstrap", "Timeout": 900,
	})
	// Its only Cognito right is reading this pool's clients.
	tpl.HasResourceProperties(jsii.String("AWS::IAM::Policy"), map[string]any{
		"PolicyDocument": map[string]any{"Statement": assertions.Match_ArrayWith(&[]any{map[string]any{
			"Sid": "ReadHubClientSecret", "Effect": "Allow", "Action": "cognito-idp:DescribeUserPoolClient",
			"Resource": assertions.Match_AnyValue()}})},
	})
	// Its Kubernetes rights are edit in the hub's namespace only.
	tpl.HasResourceProperties(jsii.String("AWS::EKS::AccessEntry"), map[string]any{
		"PrincipalArn": arnOf("HubClusterOpsFunctionServiceRole"),
		"AccessPolicies": []any{map[string]any{"AccessScope": map[string]any{"Type": "namespace", "Namespaces": []any{"jhub"}},
			"PolicyArn": map[string]any{"Fn::Join": []any{"", []any{"arn:", map[string]any{"Ref": "AWS::Partition"}, ":eks::aws:cluster-access-policy/AmazonEKSEditPolicy"}}}}},
	})
	for _, id := range []string{"Auth", "Hub"} {
		for name, o := range synth(t, "example").templates[id]["Outputs"].(map[string]any) {
			raw, _ := json.Marshal(o)
			assert.NotContains(t, string(raw), "ClientSecret", "%s output %s", id, name)
		}
	}
}

func TestHubRepositoriesPerImage(t *testing.T) {
	tpl := hubTemplate(t)
	tpl.ResourceCountIs(jsii.String("AWS::ECR::Repository"), jsii.Number(2))
	for _, image := range []string{"notebook", "gpu-notebook"} {
		tpl.HasResource(jsii.String("AWS::ECR::Repository"), map[string]any{
			"DeletionPolicy": "Delete",
			"Properties": map[string]any{
				"RepositoryName":             "example-cluster/" + image,
				"ImageScanningConfiguration": map[string]any{"ScanOnPush": true},
				"ImageTagMutability":         "MUTABLE",
				"EncryptionConfiguration":    map[string]any{"EncryptionType": "KMS"},
				"EmptyOnDelete":              true,
				"LifecyclePolicy":            map[string]any{"LifecyclePolicyText": assertions.Match_StringLikeRegexp(jsii.String(`"countNumber":20`))},
			},
		})
	}
}

func TestHubAccessRoleTrustsOnlyTheConfiguredPrincipals(t *testing.T) {
	tpl := hubTemplate(t)
	tpl.HasResourceProperties(jsii.String("AWS::IAM::Role"), map[string]any{
		"RoleName": "example-cluster-access",
		"AssumeRolePolicyDocument": map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{
			"Action": "sts:AssumeRole", "Effect": "Allow",
			"Principal": map[string]any{"AWS": "arn:aws:iam::123456789012:role/ResearchComputingAdmins"},
		}}},
		"ManagedPolicyArns": assertions.Match_Absent(),
	})
	tpl.HasResourceProperties(jsii.String("AWS::EKS::AccessEntry"), map[string]any{
		"PrincipalArn": arnOf("HubAccessRole"),
		"AccessPolicies": []any{map[string]any{"AccessScope": map[string]any{"Type": "cluster"},
			"PolicyArn": map[string]any{"Fn::Join": []any{"", []any{"arn:", map[string]any{"Ref": "AWS::Partition"}, ":eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"}}}}},
	})
	tpl.HasOutput(jsii.String("UpdateKubeconfig"), map[string]any{"Value": map[string]any{"Fn::Join": []any{"",
		[]any{"aws eks update-kubeconfig --name example-cluster --region us-east-1 --role-arn ", arnOf("HubAccessRole")}}}})
}

func TestHubStorageAutoscalerAndSnapshots(t *testing.T) {
	tpl := hubTemplate(t)
	tpl.HasResourceProperties(jsii.String("AWS::EFS::FileSystem"), map[string]any{"Encrypted": true})
	tpl.HasResourceProperties(jsii.String("AWS::EKS::Addon"), map[string]any{
		"AddonName":               "aws-ebs-csi-driver",
		"PodIdentityAssociations": []any{map[string]any{"RoleArn": arnOf("HubEbsCsiRole"), "ServiceAccount": "ebs-csi-controller-sa"}},
		"ConfigurationValues":     `{"controller":{"extraVolumeTags":{"Owner":"research-computing","stratolab.io/cluster":"example-cluster","stratolab:instance":"example"}}}`,
	})
	tpl.HasResourceProperties(jsii.String("AWS::EKS::Addon"), map[string]any{"AddonName": "aws-efs-csi-driver"})
	tpl.HasResourceProperties(jsii.String("AWS::EKS::PodIdentityAssociation"), map[string]any{
		"Namespace": "kube-system", "ServiceAccount": "cluster-autoscaler", "RoleArn": arnOf("HubAutoscalerRole"),
	})
	tpl.HasResourceProperties(jsii.String("AWS::IAM::Policy"), map[string]any{
		"Roles": []any{ref("HubAutoscalerRole")},
		"PolicyDocument": map[string]any{"Statement": assertions.Match_ArrayWith(&[]any{map[string]any{
			"Sid": "ResizeThisClustersGroups", "Effect": "Allow", "Resource": "*",
			"Action":    []any{"autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"},
			"Condition": map[string]any{"StringEquals": map[string]any{"aws:ResourceTag/k8s.io/cluster-autoscaler/example-cluster": "owned"}},
		}})},
	})
	tpl.HasResourceProperties(jsii.String("AWS::DLM::LifecyclePolicy"), map[string]any{
		"State": "ENABLED",
		"PolicyDetails": map[string]any{
			"ResourceTypes": []any{"VOLUME"},
			"TargetTags":    []any{map[string]any{"Key": "stratolab.io/cluster", "Value": "example-cluster"}},
			"Schedules": []any{assertions.Match_ObjectLike(&map[string]any{
				"CreateRule": map[string]any{"Interval": 24, "IntervalUnit": "HOURS", "Times": []any{"07:00"}},
				"RetainRule": map[string]any{"Count": 7}})},
		},
	})
	storage := ""
	for _, r := range synth(t, "example").templates["Hub"]["Resources"].(map[string]any) {
		res := r.(map[string]any)
		if res["Type"] == "Custom::AWSCDK-EKS-KubernetesResource" && strings.Contains(flatten(res["Properties"].(map[string]any)["Manifest"]), "StorageClass") {
			storage = flatten(res["Properties"].(map[string]any)["Manifest"])
		}
	}
	assert.Contains(t, storage, `"provisioningMode":"efs-ap"`)
	assert.Contains(t, storage, `"mountOptions":["tls","iam"]`, "homes are encrypted in transit and mounted with IAM")
	assert.Contains(t, storage, `"allowVolumeExpansion":true`)
	assert.Contains(t, storage, `"provisioner":"ebs.csi.aws.com"`)
	assert.Contains(t, storage, `"encrypted":"true"`)
	assert.Contains(t, storage, `"reclaimPolicy":"Delete"`, "development: volumes go with the instance")
}

func TestHubDaskGatewaySharesATokenWithJupyterHub(t *testing.T) {
	dask := chartValues(t, "example", "dask-gateway")
	assert.Equal(t, "jupyterhub", at(dask, "gateway", "auth", "type"))
	assert.Equal(t, "http://hub.jhub:8081/hub/api", at(dask, "gateway", "auth", "jupyterhub", "apiUrl"))
	assert.Equal(t, "/services/dask-gateway", at(dask, "gateway", "prefix"))
	v := chartValues(t, "example", "jupyterhub")
	assert.Equal(t, map[string]any{"display": false, "url": "http://traefik-dask-gateway.jhub"}, at(v, "hub", "services", "dask-gateway"))
	assert.Equal(t, "http://proxy-public.jhub/services/dask-gateway", at(v, "singleuser", "extraEnv", "DASK_GATEWAY__ADDRESS"))
	assert.Equal(t, "gateway://traefik-dask-gateway.jhub:80", at(v, "singleuser", "extraEnv", "DASK_GATEWAY__PROXY_ADDRESS"))
	// No token of our own: the JupyterHub chart generates the service's.
	hubTemplate(t).ResourceCountIs(jsii.String("AWS::SecretsManager::Secret"), jsii.Number(0))
}

func TestHubIngressIsHTTPSWithRedirect(t *testing.T) {
	v := chartValues(t, "example", "jupyterhub")
	assert.Equal(t, true, at(v, "ingress", "enabled"))
	assert.Equal(t, []any{"hub.example.org"}, at(v, "ingress", "hosts"))
	a := at(v, "ingress", "annotations").(map[string]any)
	assert.Regexp(t, `^<Ref:'HubCertificate`, a["alb.ingress.kubernetes.io/certificate-arn"], "the stack's certificate (example.yaml gives none)")
	assert.Equal(t, "443", a["alb.ingress.kubernetes.io/ssl-redirect"])
	assert.Equal(t, `[{"HTTP": 80}, {"HTTPS": 443}]`, a["alb.ingress.kubernetes.io/listen-ports"])
	assert.Equal(t, "/hub/health", a["alb.ingress.kubernetes.io/healthcheck-path"])
	assert.Equal(t, "alb", at(v, "ingress", "ingressClassName"))
	assert.Regexp(t, `^<GetStackOutput:.*PublicSubnet1.*>,<GetStackOutput:.*PublicSubnet2.*>$`, a["alb.ingress.kubernetes.io/subnets"])
	assert.Equal(t, "ClusterIP", at(v, "proxy", "service", "type"))
	hubTemplate(t).HasResourceProperties(jsii.String("Custom::AWSCDK-EKS-HelmChart"), map[string]any{
		"Chart": "aws-load-balancer-controller", "Repository": "https://aws.github.io/eks-charts"})
}

// TestHubLoadBalancerLogsToItsOwnBucket: the ingress's load balancer is the controller's, not the CDK's,
// so the hub switches its access logs on by annotation and grants ELB's us-east-1 account the prefix.
func TestHubLoadBalancerLogsToItsOwnBucket(t *testing.T) {
	a := at(chartValues(t, "example", "jupyterhub"), "ingress", "annotations").(map[string]any)
	assert.Equal(t, "routing.http.drop_invalid_header_fields.enabled=true,access_logs.s3.enabled=true,"+
		"access_logs.s3.bucket=<Ref:'HubLogsBucketCA0713A8'>,access_logs.s3.prefix=alb/hub",
		a["alb.ingress.kubernetes.io/load-balancer-attributes"])
	tpl := hubTemplate(t)
	tpl.HasResource(jsii.String("AWS::S3::Bucket"), map[string]any{
		"Properties": assertions.Match_ObjectLike(&map[string]any{
			"BucketEncryption": map[string]any{"ServerSideEncryptionConfiguration": []any{
				map[string]any{"ServerSideEncryptionByDefault": map[string]any{"SSEAlgorithm": "AES256"}}}},
			"PublicAccessBlockConfiguration": map[string]any{"BlockPublicAcls": true, "BlockPublicPolicy": true, "IgnorePublicAcls": true, "RestrictPublicBuckets": true},
			"LifecycleConfiguration": map[string]any{"Rules": assertions.Match_ArrayWith(&[]any{
				assertions.Match_ObjectLike(&map[string]any{"Id": "expire-logs", "ExpirationInDays": 365})})},
		}),
		"DeletionPolicy": "Delete", // the example is a development instance
	})
	tpl.HasResourceProperties(jsii.String("AWS::S3::BucketPolicy"), map[string]any{
		"Bucket": ref("HubLogsBucket"),
		"PolicyDocument": map[string]any{"Statement": assertions.Match_ArrayWith(&[]any{
			map[string]any{"Effect": "Deny", "Action": "s3:*", "Principal": map[string]any{"AWS": "*"},
				"Condition": map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}}, "Resource": assertions.Match_AnyValue()},
			map[string]any{"Effect": "Allow", "Action": "s3:PutObject", "Principal": map[string]any{"AWS": "arn:aws:iam::127311923021:root"},
				"Resource": map[string]any{"Fn::Join": []any{"", []any{
					map[string]any{"Fn::GetAtt": []any{"HubLogsBucketCA0713A8", "Arn"}}, "/alb/hub/AWSLogs/123456789012/*"}}}},
		})},
	})
	// ELB checks that it may write before it turns logging on, so the release waits for the policy.
	tpl.HasResource(jsii.String("Custom::AWSCDK-EKS-HelmChart"), map[string]any{
		"Properties": assertions.Match_ObjectLike(&map[string]any{"Chart": "jupyterhub"}),
		"DependsOn":  assertions.Match_ArrayWith(&[]any{"HubLogsBucketPolicyEBE9083A"}),
	})
}

func TestLoadBalancerLogsNeedTheRegion(t *testing.T) {
	stack := awscdk.NewStack(newApp(nil), jsii.String("Agnostic"), nil)
	b := securebucket.NewLogs(stack, "Logs", nil, lifecycle.Development())
	assert.Contains(t, panicMessage(func() { securebucket.AllowLoadBalancerLogs(b, "alb") }), "need the stack's region")
}

// TestLoadBalancerLogsInANewerRegionGoToTheLogDeliveryService: regions opened since August 2022 have no ELB
// account; ELB writes as the log delivery service there.
func TestLoadBalancerLogsInANewerRegionGoToTheLogDeliveryService(t *testing.T) {
	stack := awscdk.NewStack(newApp(nil), jsii.String("Newer"), &awscdk.StackProps{
		Env: &awscdk.Environment{Account: jsii.String("123456789012"), Region: jsii.String("ap-southeast-4")}})
	b := securebucket.NewLogs(stack, "Logs", nil, lifecycle.Development())
	securebucket.AllowLoadBalancerLogs(b, "alb")
	template(stack).HasResourceProperties(jsii.String("AWS::S3::BucketPolicy"), map[string]any{
		"PolicyDocument": map[string]any{"Statement": assertions.Match_ArrayWith(&[]any{assertions.Match_ObjectLike(&map[string]any{
			"Action": "s3:PutObject", "Principal": map[string]any{"Service": "logdelivery.elasticloadbalancing.amazonaws.com"}})})},
	})
}

func TestHubRejectsImpossibleProps(t *testing.T) {
	stack := awscdk.NewStack(newApp(nil), jsii.String("S"), nil)
	users := auth.New(stack, "Auth", &auth.Props{DomainPrefix: "hub-test"})
	before := len(*stack.Node().Children())
	msg := panicMessage(func() {
		hub.New(stack, "Hub", &hub.Props{
			Auth: users, Version: "1.29", Host: "http://hub.example.edu", CertificateArn: "arn:aws:acm:cert",
			NodeGroups: []hub.NodeGroup{{Name: "gpu", Min: 3, Max: 1}, {Name: "mixed", InstanceTypes: []string{"m5.large", "m7g.large"}, Max: 1}},
			Profiles:   []hub.Profile{{Name: "a", Node: "nowhere", Memory: hub.Resources{Guarantee: "4Gi", Limit: "8G"}, CPU: hub.Resources{Guarantee: "1", Limit: "2"}}},
		})
	})
	for _, want := range []string{`Version "1.29" is not supported (with kubectl 1.35: 1.34, 1.35, 1.36)`, `Host "http://hub.example.edu" must be an https:// URL`,
		"node group gpu has no instance types", "min 3 and max 1",
		"node group mixed: m7g.large is arm64 but m5.large is x86_64 (one architecture per node group)", `profile a names node group "nowhere", which is not defined`,
		`memory "4Gi" is in Kubernetes' form; KubeSpawner takes a number with K, M, G or T (4G, not 4Gi)`, "AdminPrincipals is empty"} {
		assert.Contains(t, msg, want)
	}
	assert.Len(t, *stack.Node().Children(), before, "nothing is created before the props are checked")
}

const hubEnv = `env: {account: "123456789012", region: us-east-1}
vpc: {availability_zones: [us-east-1a, us-east-1b], nat_gateways: 1}
enabled: {hub: true}
hub:
  host: https://hub.example.edu
  certificate_arn: "arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-1234-5678-9abc-0123456789ab"
  admin_principals: [arn:aws:iam::123456789012:role/Admin]
  nodes: [{name: general, instance_types: [m5.xlarge], max: 3}]
  profiles: [{name: general, image: notebook, tag: "1", cpu: {guarantee: "1", limit: "2"}, memory: {guarantee: 2G, limit: 4G}, node: general}]
`

func TestHubPrivateEndpointAndEBSHomes(t *testing.T) {
	built, _ := buildInstance(t, "privatehub", "lifecycle: production\n"+hubEnv+"  endpoint: {private: true}\n  home_storage: ebs\n")
	tpl := template(built.Hub.Stack)
	tpl.HasResourceProperties(jsii.String("AWS::EKS::Cluster"), map[string]any{
		"ResourcesVpcConfig": assertions.Match_ObjectLike(&map[string]any{"EndpointPrivateAccess": true, "EndpointPublicAccess": false}),
	})
	v := built.Hub.Hub.Values
	assert.Equal(t, hub.EBSStorageClass, v["singleuser"].(map[string]any)["storage"].(map[string]any)["dynamic"].(map[string]any)["storageClass"])
	// Production: the home file system and repositories are kept, and volumes are retained by their class.
	tpl.HasResource(jsii.String("AWS::EFS::FileSystem"), map[string]any{"DeletionPolicy": "Retain",
		"Properties": assertions.Match_ObjectLike(&map[string]any{"BackupPolicy": map[string]any{"Status": "ENABLED"}})})
	tpl.AllResourcesProperties(jsii.String("AWS::ECR::Repository"), map[string]any{"EmptyOnDelete": false, "ImageTagMutability": "IMMUTABLE"})
	tpl.HasResourceProperties(jsii.String("AWS::Logs::LogGroup"), map[string]any{"RetentionInDays": 365})
	// A profile without groups is for everyone.
	oauth := v["hub"].(map[string]any)["config"].(map[string]any)["GenericOAuthenticator"].(map[string]any)
	assert.Equal(t, true, oauth["allow_all"])
	assert.NotContains(t, oauth, "allowed_groups")
}

// TestHubRejectsAVPCWithoutEgress: nodes pull images from public registries and the kubectl provider
// runs helm against chart repositories (EKS user guide, "Deploy private clusters with limited internet
// access"); a VPC whose private subnets are isolated cannot run the hub. A looked-up or imported VPC is
// only known to the construct, so it checks too.
func TestHubRejectsAVPCWithoutEgress(t *testing.T) {
	stack := awscdk.NewStack(newApp(nil), jsii.String("Isolated"), &awscdk.StackProps{
		Env: &awscdk.Environment{Account: jsii.String("123456789012"), Region: jsii.String("us-east-1")}})
	vpc := awsec2.NewVpc(stack, jsii.String("Vpc"), &awsec2.VpcProps{
		AvailabilityZones: jsii.Strings("us-east-1a", "us-east-1b"), NatGateways: jsii.Number(0),
		SubnetConfiguration: &[]*awsec2.SubnetConfiguration{
			{Name: jsii.String("public"), SubnetType: awsec2.SubnetType_PUBLIC},
			{Name: jsii.String("isolated"), SubnetType: awsec2.SubnetType_PRIVATE_ISOLATED},
		},
	})
	users := auth.New(stack, "Auth", &auth.Props{DomainPrefix: "hub-iso"})
	msg := panicMessage(func() {
		hub.New(stack, "Hub", &hub.Props{Vpc: vpc, Auth: users, ClusterName: "iso", Host: "https://hub.example.edu",
			CertificateArn: "arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-1234-5678-9abc-0123456789ab"})
	})
	assert.Contains(t, msg, "the VPC has 0 private subnet(s) with egress; EKS needs two in different AZs, routed to a NAT gateway")
}
