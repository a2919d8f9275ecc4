package hub

import (
	"fmt"
	"strconv"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseksv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
	"github.com/stratolab/stratolab/internal/lambdaasset"
	"github.com/stratolab/stratolab/internal/names"
)

// ClusterOpsPackage is the Go package of the cluster-ops function (functions/hubops).
const ClusterOpsPackage = "github.com/stratolab/stratolab/functions/hubops"

// ClusterOpsCode builds the cluster-ops function for arm64 (offline, reproducibly: see lambdaasset) and
// returns it as Lambda code. It panics when the build fails, with go build's message.
func ClusterOpsCode() awslambda.Code {
	dir, err := lambdaasset.Build(ClusterOpsPackage, "arm64")
	if err != nil {
		panic(fmt.Sprintf("hub: cannot build the cluster-ops function: %v", err))
	}
	return awslambda.Code_FromAsset(jsii.String(dir), nil)
}

// newOpsFunction is functions/hubops, in the VPC beside the cluster: it serves the cluster-ops resource
// (newClusterOps) and the node groups' size resources (newNodeGroups).
func (h *Hub) newOpsFunction() {
	p := h.p
	code := p.ClusterOpsCode
	if code == nil {
		code = ClusterOpsCode()
	}
	logGroup := awslogs.NewLogGroup(h.Construct, jsii.String("ClusterOpsLogs"), &awslogs.LogGroupProps{
		Retention:     h.logRetention(),
		RemovalPolicy: h.policy.RemovalPolicy,
	})
	fnProps := &awslambda.FunctionProps{
		Description:  jsii.String("Writes the hub's client secret into " + p.ClusterName + ", keeps node group sizes, and cleans up on destroy"),
		Runtime:      awslambda.Runtime_PROVIDED_AL2023(),
		Architecture: awslambda.Architecture_ARM_64(),
		Handler:      jsii.String("bootstrap"),
		Code:         code,
		Timeout:      awscdk.Duration_Minutes(jsii.Number(15)),
		MemorySize:   jsii.Number(256),
		Vpc:          p.Vpc,
		VpcSubnets:   &awsec2.SubnetSelection{SubnetType: awsec2.SubnetType_PRIVATE_WITH_EGRESS},
		// The cluster security group admits its own members to the API server's private endpoint.
		SecurityGroups: &[]awsec2.ISecurityGroup{h.cluster.ClusterSecurityGroup()},
		LogGroup:       logGroup,
	}
	if p.Regulated {
		// CloudFormation invokes a custom resource's function asynchronously (CloudFormation User Guide,
		// "Lambda-backed custom resources"): an event Lambda cannot deliver after its retries lands here.
		dlq := awssqs.NewQueue(h.Construct, jsii.String("ClusterOpsDeadLetterQueue"), &awssqs.QueueProps{
			Encryption: awssqs.QueueEncryption_SQS_MANAGED, EnforceSSL: jsii.Bool(true), RetentionPeriod: awscdk.Duration_Days(jsii.Number(14)),
		})
		cdknag.NagSuppressions_AddResourceSuppressions(dlq, &[]*cdknag.NagPackSuppression{{
			Id: jsii.String("AwsSolutions-SQS3"), Reason: jsii.String("This is the cluster-ops function's dead-letter queue; a dead-letter queue has none of its own."),
		}}, jsii.Bool(false))
		fnProps.DeadLetterQueue = dlq
	}
	fn := awslambda.NewFunction(h.Construct, jsii.String("ClusterOpsFunction"), fnProps)
	if p.Regulated {
		suppressPacks(fn, "LambdaConcurrency", "Reserved concurrency is taken from the account's unreserved pool, which may not go below 10: in an account at the new-account limit of 10 the deploy would fail, which synth cannot see. The function runs only during deploys of this stack (a handful of custom resources), so it cannot exhaust the account's concurrency.")
	}
	h.opsFunction, h.opsLogs = fn, logGroup
	role := fn.Role()
	role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("ReadNodeGroupSizes"),
		Actions:   jsii.Strings("eks:DescribeNodegroup"),
		Resources: jsii.Strings(h.nodegroupArns()),
	}))
	role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("ReadHubClientSecret"),
		Actions:   jsii.Strings("cognito-idp:DescribeUserPoolClient"),
		Resources: jsii.Strings(*p.Auth.UserPool.UserPoolArn()),
	}))
	role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("FindLeftovers"),
		Actions:   jsii.Strings("ec2:DescribeVolumes", "ec2:DescribeSnapshots"),
		Resources: jsii.Strings("*"),
	}))
	// Only volumes and snapshots of this cluster: the EBS CSI driver tags its volumes with VolumeClusterTag
	// (extraVolumeTags), and the snapshot policy copies the volume's tags onto its snapshots.
	stack := awscdk.Stack_Of(h.Construct)
	role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("DeleteThisClustersUserVolumes"),
		Actions:   jsii.Strings("ec2:DeleteVolume"),
		Resources: jsii.Strings(*stack.FormatArn(&awscdk.ArnComponents{Service: jsii.String("ec2"), Resource: jsii.String("volume"), ResourceName: jsii.String("*"), ArnFormat: awscdk.ArnFormat_SLASH_RESOURCE_NAME})),
		Conditions: &map[string]any{"StringEquals": map[string]any{
			"aws:ResourceTag/" + VolumeClusterTag:                     p.ClusterName,
			"aws:ResourceTag/kubernetes.io/created-for/pvc/namespace": Namespace,
		}},
	}))
	role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("DeleteThisClustersSnapshots"),
		Actions:    jsii.Strings("ec2:DeleteSnapshot"),
		Resources:  jsii.Strings(*stack.FormatArn(&awscdk.ArnComponents{Service: jsii.String("ec2"), Account: jsii.String(""), Resource: jsii.String("snapshot"), ResourceName: jsii.String("*"), ArnFormat: awscdk.ArnFormat_SLASH_RESOURCE_NAME})),
		Conditions: &map[string]any{"StringEquals": map[string]any{"aws:ResourceTag/" + VolumeClusterTag: p.ClusterName}},
	}))
	// The EFS CSI driver's access points on the home file system, which EFS requires gone before it
	// deletes the file system (development only; the function deletes only those of FileSystemId).
	role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("FindHomeAccessPoints"),
		Actions:   jsii.Strings("elasticfilesystem:DescribeAccessPoints"),
		Resources: jsii.Strings("*"),
	}))
	role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("DeleteCSIAccessPoints"),
		Actions:    jsii.Strings("elasticfilesystem:DeleteAccessPoint"),
		Resources:  jsii.Strings(*stack.FormatArn(&awscdk.ArnComponents{Service: jsii.String("elasticfilesystem"), Resource: jsii.String("access-point"), ResourceName: jsii.String("*"), ArnFormat: awscdk.ArnFormat_SLASH_RESOURCE_NAME})),
		Conditions: &map[string]any{"StringEquals": map[string]any{"aws:ResourceTag/efs.csi.aws.com/cluster": "true"}},
	}))
	cdknag.NagSuppressions_AddResourceSuppressions(role, &[]*cdknag.NagPackSuppression{
		{Id: jsii.String("AwsSolutions-IAM4"), Reason: jsii.String("AWSLambdaVPCAccessExecutionRole and AWSLambdaBasicExecutionRole: the network interfaces and log streams of a function in a VPC; neither grants data access."),
			AppliesTo: &[]any{cdknag.RegexAppliesTo{Regex: jsii.String("/^Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambda(VPCAccess|Basic)ExecutionRole$/g")}}},
		{Id: jsii.String("AwsSolutions-IAM5"), Reason: jsii.String("ec2:DescribeVolumes, ec2:DescribeSnapshots and elasticfilesystem:DescribeAccessPoints are read-only listings; access points are deleted only when the EFS CSI driver tagged them (efs.csi.aws.com/cluster) and only on the home file system; deleting is limited to volumes and snapshots tagged " + VolumeClusterTag + "=" + p.ClusterName + ", whose IDs exist only at run time; eks:DescribeNodegroup is on this cluster's node groups only (nodegroup/" + p.ClusterName + "/*/*).")},
	}, jsii.Bool(true))
}

// newClusterOps is a custom resource of our own, backed by functions/hubops, that does in the cluster
// what CloudFormation cannot and the CDK's kubectl provider should not:
//
//   - On create and update it reads the hub's Cognito client secret from Cognito and writes it to the
//     Kubernetes secret OAuthSecretName. Its properties carry only IDs, and it logs progress lines, never
//     its event: the kubectl provider logs every event it handles, so a secret in a manifest would end
//     up in CloudWatch Logs.
//   - On delete (cdk destroy, after the JupyterHub release is uninstalled and before the add-ons, the node
//     groups, the load balancer controller and the logs bucket go) it waits until the controller has
//     deleted the Ingress's load balancer, and in development deletes the user servers and their claims
//     (so the CSI drivers delete the EBS volumes and EFS access points), then the snapshots the instance's
//     snapshot policy made. Production keeps claims, volumes and snapshots.
//
// It talks to the Kubernetes API over the cluster's private endpoint, as a principal with an access
// entry that may edit the hub's namespace only.
func (h *Hub) newClusterOps(ns awseksv2.KubernetesManifest, logs awss3.IBucket) awscdk.CustomResource {
	p := h.p
	fn, role := h.opsFunction, h.opsFunction.Role()
	// Edit in the hub's namespace only: secrets, pods, claims and the Ingress (EKS access policy
	// AmazonEKSEditPolicy, namespace scope).
	access := awseksv2.NewAccessEntry(h.Construct, jsii.String("ClusterOpsAccess"), &awseksv2.AccessEntryProps{
		Cluster: h.cluster, Principal: role.RoleArn(),
		AccessPolicies: &[]awseksv2.IAccessPolicy{awseksv2.AccessPolicy_FromAccessPolicyName(jsii.String("AmazonEKSEditPolicy"),
			&awseksv2.AccessPolicyNameOptions{AccessScopeType: awseksv2.AccessScopeType_NAMESPACE, Namespaces: jsii.Strings(Namespace)})},
	})

	cr := awscdk.NewCustomResource(h.Construct, jsii.String("ClusterOps"), &awscdk.CustomResourceProps{
		ServiceToken:   fn.FunctionArn(),
		ResourceType:   jsii.String("Custom::HubClusterOps"),
		ServiceTimeout: awscdk.Duration_Minutes(jsii.Number(16)),
		Properties: &map[string]any{
			"ClusterName":          p.ClusterName,
			"Endpoint":             h.cluster.ClusterEndpoint(),
			"CertificateAuthority": h.cluster.ClusterCertificateAuthorityData(),
			"Namespace":            Namespace,
			"UserPoolId":           p.Auth.UserPool.UserPoolId(),
			"ClientId":             h.OAuthClient.Client.UserPoolClientId(),
			"SecretName":           OAuthSecretName,
			"SecretKey":            OAuthSecretKey,
			"IngressName":          IngressName,
			"DeleteUserData":       strconv.FormatBool(!h.policy.Retains()),
			"DeleteSnapshots":      strconv.FormatBool(!h.policy.Retains()),
			"SnapshotPolicyId":     h.snapshotPolicy.Ref(),
			"VolumeTag":            VolumeClusterTag + "=" + p.ClusterName,
			"FileSystemId":         h.HomeFileSystem.FileSystemId(),
		},
	})
	// Created after, and deleted before, everything its work needs: the namespace and its access, the
	// add-ons (and the Pod Identity agent that gives the CSI controllers their credentials) and nodes
	// that delete volumes, the load balancer controller, the logs bucket (emptied only
	// once the load balancer is gone) and its own permissions.
	// The home file system's mount targets and NFS rule too: without them user pods hang in NFS I/O and
	// their claims are never released.
	deps := []constructs.IDependable{ns, access, h.homeFS.MountTargetsAvailable(), h.homeSG, h.storageClasses, h.podIdentityAgent, h.ebsAddon, h.efsAddon, h.cluster.AlbController(), logs, h.snapshotPolicy, role, h.opsLogs}
	for _, g := range h.NodeGroups {
		deps = append(deps, g)
	}
	cr.Node().AddDependency(deps...)
	return cr
}

// nodegroupArns matches this cluster's node groups: arn:<partition>:eks:<region>:<account>:nodegroup/
// <cluster>/<name>/<uuid> (IAM service authorization reference, Amazon EKS resource types).
func (h *Hub) nodegroupArns() string {
	return *awscdk.Stack_Of(h.Construct).FormatArn(&awscdk.ArnComponents{
		Service: jsii.String("eks"), Resource: jsii.String("nodegroup"),
		ResourceName: jsii.String(h.p.ClusterName + "/*/*"), ArnFormat: awscdk.ArnFormat_SLASH_RESOURCE_NAME,
	})
}

// nodegroupSize is the desired size a node group is created, and updated, with: see
// hubops.NodegroupSizeType. It is a token that CloudFormation resolves at deploy time.
func (h *Hub) nodegroupSize(g NodeGroup) *float64 {
	size := awscdk.NewCustomResource(h.Construct, jsii.String(names.Pascal(g.Name)+"NodesSize"), &awscdk.CustomResourceProps{
		ServiceToken:   h.opsFunction.FunctionArn(),
		ResourceType:   jsii.String("Custom::HubNodegroupSize"),
		ServiceTimeout: awscdk.Duration_Minutes(jsii.Number(5)),
		Properties: &map[string]any{
			"ClusterName": h.p.ClusterName, "NodegroupName": g.Name,
			"MinSize": strconv.Itoa(g.Min), "MaxSize": strconv.Itoa(g.Max),
		},
	})
	size.Node().AddDependency(h.opsFunction.Role())
	return awscdk.Token_AsNumber(size.GetAtt(jsii.String("DesiredSize")))
}

// logRetention is a year where logs are kept (production), three months otherwise.
func (h *Hub) logRetention() awslogs.RetentionDays {
	if h.policy.Retains() {
		return awslogs.RetentionDays_ONE_YEAR
	}
	return awslogs.RetentionDays_THREE_MONTHS
}
