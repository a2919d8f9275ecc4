package hub

import (
	"encoding/json"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsbackup"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdlm"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsefs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseksv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
	"github.com/stratolab/stratolab/constructs/webfront"
)

// Storage classes the hub creates.
const (
	EFSStorageClass = "efs-home"
	EBSStorageClass = "ebs-gp3"
)

// podRole is a role that EKS Pod Identity gives one service account.
func (h *Hub) podRole(id, description string) awsiam.Role {
	return awsiam.NewRole(h.Construct, jsii.String(id), &awsiam.RoleProps{
		AssumedBy: awsiam.NewServicePrincipal(jsii.String("pods.eks.amazonaws.com"), nil).
			WithSessionTags(),
		Description: jsii.String(description),
	})
}

// addon installs an EKS add-on, its service account bound to role through Pod Identity.
func (h *Hub) addon(id, name, serviceAccount string, role awsiam.IRole, config map[string]any) awseksv2.CfnAddon {
	props := &awseksv2.CfnAddonProps{
		AddonName:        jsii.String(name),
		ClusterName:      h.cluster.ClusterName(),
		ResolveConflicts: jsii.String("OVERWRITE"),
	}
	if role != nil {
		props.PodIdentityAssociations = &[]*awseksv2.CfnAddon_PodIdentityAssociationProperty{{RoleArn: role.RoleArn(), ServiceAccount: jsii.String(serviceAccount)}}
	}
	if config != nil {
		raw, _ := json.Marshal(config)
		props.ConfigurationValues = jsii.String(string(raw))
	}
	return awseksv2.NewCfnAddon(h.Construct, jsii.String(id), props)
}

// newStorage installs the EBS and EFS CSI drivers, the encrypted home file system and the storage
// classes, and the daily snapshot policy for user volumes.
func (h *Hub) newStorage() {
	p := h.p
	agent := h.addon("PodIdentityAgent", "eks-pod-identity-agent", "", nil, nil)
	h.podIdentityAgent = agent

	ebsRole := h.podRole("EbsCsiRole", "EBS CSI driver controller of "+p.ClusterName)
	ebsRole.AddManagedPolicy(awsiam.ManagedPolicy_FromAwsManagedPolicyName(jsii.String("service-role/AmazonEBSCSIDriverPolicy")))
	// Volumes carry VolumeClusterTag (the snapshot policy's target) and the instance's cost allocation
	// and extra tags, which CloudFormation cannot put on them. extraVolumeTags, not k8sTagClusterId: both
	// are in the chart's values.schema.json, but only extraVolumeTags is known to be in the EKS add-on's
	// configuration schema (aws/amazon-vpc-cni-k8s#2272 quotes it), and an unknown key fails the add-on.
	volumeTags := map[string]string{VolumeClusterTag: p.ClusterName}
	for k, v := range p.Tags {
		volumeTags[k] = v
	}
	ebs := h.addon("EbsCsiDriver", "aws-ebs-csi-driver", "ebs-csi-controller-sa", ebsRole, map[string]any{
		"controller": map[string]any{"extraVolumeTags": volumeTags}})
	h.ebsAddon = ebs
	ebs.Node().AddDependency(agent)

	efsRole := h.podRole("EfsCsiRole", "EFS CSI driver controller of "+p.ClusterName)
	efsRole.AddManagedPolicy(awsiam.ManagedPolicy_FromAwsManagedPolicyName(jsii.String("service-role/AmazonEFSCSIDriverPolicy")))
	// No configuration: the EFS CSI add-on's schema has no controller.tags (aws/containers-roadmap#2582
	// shows it; #2755 asks for it), and an unknown key fails the add-on. Its access points therefore carry
	// only the driver's own efs.csi.aws.com/cluster tag; the file system carries the instance's tags.
	efsAddon := h.addon("EfsCsiDriver", "aws-efs-csi-driver", "efs-csi-controller-sa", efsRole, nil)
	efsAddon.Node().AddDependency(agent)
	h.efsAddon = efsAddon
	for _, r := range []awsiam.Role{ebsRole, efsRole} {
		cdknag.NagSuppressions_AddResourceSuppressions(r, &[]*cdknag.NagPackSuppression{{
			Id: jsii.String("AwsSolutions-IAM4"),
			Reason: jsii.String("The CSI driver's AWS-maintained policy (AmazonEBSCSIDriverPolicy / AmazonEFSCSIDriverPolicy) follows the driver's " +
				"releases; it is not a FullAccess policy and its write actions are conditioned on tags the driver sets on its own volumes and access points."),
			AppliesTo: &[]any{cdknag.RegexAppliesTo{Regex: jsii.String("/^Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/Amazon(EBS|EFS)CSIDriverPolicy$/g")}},
		}}, jsii.Bool(true))
	}

	sg := awsec2.NewSecurityGroup(h.Construct, jsii.String("HomeFileSystemSecurityGroup"), &awsec2.SecurityGroupProps{
		Vpc: p.Vpc, Description: jsii.String("Hub home directories: NFS only from the cluster nodes"), AllowAllOutbound: jsii.Bool(false),
	})
	sg.AddIngressRule(h.cluster.ClusterSecurityGroup(), awsec2.Port_Tcp(jsii.Number(2049)), jsii.String("NFS from the cluster nodes"), nil)
	fs := awsefs.NewFileSystem(h.Construct, jsii.String("HomeFileSystem"), &awsefs.FileSystemProps{
		Vpc:             p.Vpc,
		VpcSubnets:      webfront.PrivateSubnets(p.Vpc),
		SecurityGroup:   sg,
		Encrypted:       jsii.Bool(true),
		ThroughputMode:  awsefs.ThroughputMode_ELASTIC,
		LifecyclePolicy: awsefs.LifecyclePolicy_AFTER_30_DAYS,
		// Regulated: the explicit plan below replaces EFS's automatic one (which is AWS Backup's default plan).
		EnableAutomaticBackups: jsii.Bool(h.policy.Retains() && !p.Regulated),
		RemovalPolicy:          h.policy.RemovalPolicy,
	})
	h.HomeFileSystem, h.homeFS, h.homeSG = fs, fs, sg
	if p.Regulated {
		h.newHomeBackup(fs)
	}
	// Home directories are mounted with IAM authorization (mountOptions iam, below), not anonymously: the
	// file system policy that @aws-cdk/aws-efs:denyAnonymousAccess writes grants no ClientMount to
	// anonymous clients, and IAM makes the NFS security group the second lock, not the only one. efs-utils
	// in the efs-csi-node pod (host network, no Pod Identity association) signs the mount with the node's
	// instance role, so the user groups' roles may mount and write this one file system through a mount
	// target (the access point then fixes the POSIX identity to the user's home).
	for _, g := range p.NodeGroups {
		h.nodegroups[g.Name].Role().AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:        jsii.String("MountHomes"),
			Actions:    jsii.Strings("elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"),
			Resources:  jsii.Strings(*fs.FileSystemArn()),
			Conditions: &map[string]any{"Bool": map[string]any{"elasticfilesystem:AccessedViaMountTarget": "true"}},
		}))
	}

	reclaim := "Delete"
	if h.policy.Retains() {
		reclaim = "Retain"
	}
	classes := h.cluster.AddManifest(jsii.String("StorageClasses"),
		&map[string]any{
			"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
			"metadata":    map[string]any{"name": EFSStorageClass},
			"provisioner": "efs.csi.aws.com",
			// One access point per home directory, owned by the notebook user (jovyan, 1000:100).
			"parameters": map[string]any{
				"provisioningMode": "efs-ap", "fileSystemId": fs.FileSystemId(), "directoryPerms": "700",
				"uid": "1000", "gid": "100", "basePath": "/home",
			},
			"reclaimPolicy": reclaim,
			// efs-utils mounts over TLS (encrypted in transit as well as at rest) and with IAM authorization.
			"mountOptions": []any{"tls", "iam"},
		},
		&map[string]any{
			"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
			"metadata":          map[string]any{"name": EBSStorageClass},
			"provisioner":       "ebs.csi.aws.com",
			"parameters":        map[string]any{"type": "gp3", "encrypted": "true"},
			"reclaimPolicy":     reclaim,
			"volumeBindingMode": "WaitForFirstConsumer",
			// KubeSpawner creates a user's claim once and never resizes it; an admin can grow one with
			// kubectl patch pvc, which the EBS CSI driver's resizer carries out.
			"allowVolumeExpansion": true,
		},
	)
	// A home is mounted through a mount target: none may be created before they are available.
	classes.Node().AddDependency(ebs, efsAddon, fs.MountTargetsAvailable())
	h.storageClasses = classes

	h.newSnapshotPolicy()
}

// newSnapshotPolicy is OpenSARlab's Data Lifecycle Manager policy: a daily snapshot of every volume
// tagged with the cluster, keeping SnapshotRetention of them.
func (h *Hub) newSnapshotPolicy() {
	p := h.p
	role := awsiam.NewRole(h.Construct, jsii.String("SnapshotRole"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("dlm.amazonaws.com"), nil),
		Description: jsii.String("Data Lifecycle Manager snapshots the user volumes of " + p.ClusterName),
		InlinePolicies: &map[string]awsiam.PolicyDocument{"Snapshots": awsiam.NewPolicyDocument(&awsiam.PolicyDocumentProps{Statements: &[]awsiam.PolicyStatement{
			awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Actions:   jsii.Strings("ec2:CreateSnapshot", "ec2:CreateSnapshots"),
				Resources: jsii.Strings("arn:aws:ec2:*::snapshot/*", "arn:aws:ec2:*:*:volume/*"),
			}),
			awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Actions:   jsii.Strings("ec2:DeleteSnapshot", "ec2:CreateTags"),
				Resources: jsii.Strings("arn:aws:ec2:*::snapshot/*"),
			}),
			awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Actions:   jsii.Strings("ec2:DescribeInstances", "ec2:DescribeVolumes", "ec2:DescribeSnapshots"),
				Resources: jsii.Strings("*"),
			}),
		}})},
	})
	cdknag.NagSuppressions_AddResourceSuppressions(role, &[]*cdknag.NagPackSuppression{{
		Id: jsii.String("AwsSolutions-IAM5"),
		Reason: jsii.String("Data Lifecycle Manager's role: ec2:Describe* take no resource ARN, and snapshots get IDs only when DLM creates them, " +
			"so snapshot/* and volume/* are the narrowest ARNs; which volumes it touches is decided by the policy's target tag."),
	}}, jsii.Bool(true))
	h.snapshotPolicy = awsdlm.NewCfnLifecyclePolicy(h.Construct, jsii.String("SnapshotPolicy"), &awsdlm.CfnLifecyclePolicyProps{
		Description:      jsii.String("Daily snapshots of the user volumes of " + p.ClusterName),
		State:            jsii.String("ENABLED"),
		ExecutionRoleArn: role.RoleArn(),
		PolicyDetails: &awsdlm.CfnLifecyclePolicy_PolicyDetailsProperty{
			ResourceTypes: jsii.Strings("VOLUME"),
			TargetTags:    &[]*awscdk.CfnTag{{Key: jsii.String(VolumeClusterTag), Value: jsii.String(p.ClusterName)}},
			Schedules: &[]*awsdlm.CfnLifecyclePolicy_ScheduleProperty{{
				Name:       jsii.String("daily"),
				CopyTags:   jsii.Bool(true),
				CreateRule: &awsdlm.CfnLifecyclePolicy_CreateRuleProperty{Interval: jsii.Number(24), IntervalUnit: jsii.String("HOURS"), Times: jsii.Strings("07:00")},
				RetainRule: &awsdlm.CfnLifecyclePolicy_RetainRuleProperty{Count: jsii.Number(p.SnapshotRetention)},
			}},
		},
	})
}

// newAutoscaler runs the cluster autoscaler under Pod Identity, finding the node groups by their tags,
// allowed to resize only the groups tagged as this cluster's.
func (h *Hub) newAutoscaler() {
	p := h.p
	role := h.podRole("AutoscalerRole", "Cluster autoscaler of "+p.ClusterName)
	role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("ResizeThisClustersGroups"),
		Actions:   jsii.Strings("autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"),
		Resources: jsii.Strings("*"),
		Conditions: &map[string]any{"StringEquals": map[string]any{
			"aws:ResourceTag/k8s.io/cluster-autoscaler/" + p.ClusterName: "owned",
		}},
	}))
	role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid: jsii.String("Discover"),
		Actions: jsii.Strings("autoscaling:DescribeAutoScalingGroups", "autoscaling:DescribeAutoScalingInstances",
			"autoscaling:DescribeLaunchConfigurations", "autoscaling:DescribeScalingActivities", "autoscaling:DescribeTags",
			"ec2:DescribeImages", "ec2:DescribeInstanceTypes", "ec2:DescribeLaunchTemplateVersions", "ec2:GetInstanceTypesFromInstanceRequirements"),
		Resources: jsii.Strings("*"),
	}))
	role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("ReadNodeGroups"),
		Actions:   jsii.Strings("eks:DescribeNodegroup"),
		Resources: jsii.Strings(h.nodegroupArns()),
	}))
	cdknag.NagSuppressions_AddResourceSuppressions(role, &[]*cdknag.NagPackSuppression{{
		Id: jsii.String("AwsSolutions-IAM5"),
		Reason: jsii.String("The cluster autoscaler's documented policy: Describe* actions take no resource ARN; resizing is allowed on any group " +
			"but only when it carries this cluster's k8s.io/cluster-autoscaler tag; eks:DescribeNodegroup covers this cluster's node groups."),
	}}, jsii.Bool(true))
	identity := awseksv2.NewCfnPodIdentityAssociation(h.Construct, jsii.String("AutoscalerIdentity"), &awseksv2.CfnPodIdentityAssociationProps{
		ClusterName: h.cluster.ClusterName(), Namespace: jsii.String("kube-system"),
		ServiceAccount: jsii.String("cluster-autoscaler"), RoleArn: role.RoleArn(),
	})
	values := map[string]any{
		"cloudProvider":  "aws",
		"awsRegion":      awscdk.Stack_Of(h.Construct).Region(),
		"autoDiscovery":  map[string]any{"clusterName": p.ClusterName},
		"rbac":           map[string]any{"serviceAccount": map[string]any{"create": true, "name": "cluster-autoscaler"}},
		"extraArgs":      map[string]any{"balance-similar-node-groups": true, "expander": "least-waste", "skip-nodes-with-local-storage": false},
		"nodeSelector":   map[string]any{NodePurposeLabel: "core"},
		"podAnnotations": map[string]any{"cluster-autoscaler.kubernetes.io/safe-to-evict": "false"},
	}
	if p.ClusterAutoscalerImageTag != "" {
		// The autoscaler's minor must match the cluster's (its README: "use the matching minor version").
		values["image"] = map[string]any{"tag": p.ClusterAutoscalerImageTag}
	}
	chart := h.cluster.AddHelmChart(jsii.String("ClusterAutoscaler"), &awseksv2.HelmChartOptions{
		Chart: jsii.String("cluster-autoscaler"), Repository: jsii.String("https://kubernetes.github.io/autoscaler"),
		Version: jsii.String(p.ClusterAutoscalerChart), Namespace: jsii.String("kube-system"), Release: jsii.String("cluster-autoscaler"),
		Values: &values,
	})
	// The Pod Identity agent injects credentials only into pods admitted after the association exists: a
	// pod started before it would run without credentials until it is recreated.
	chart.Node().AddDependency(identity, h.podIdentityAgent)
}

// HomeBackupRetentionDays is how long the regulated hub's daily home directory backups are kept.
const HomeBackupRetentionDays = 35

// newHomeBackup puts the home file system in a daily AWS Backup plan (AWS::Backup::BackupSelection by
// file system ARN; NIST CP-9, HIPAA 164.308(a)(7)), in a vault of its own that follows the lifecycle.
func (h *Hub) newHomeBackup(fs awsefs.FileSystem) {
	if !h.policy.Retains() {
		suppressPacks(fs, "EFSInBackupPlan", "Development instance: cdk destroy must leave nothing behind, and CloudFormation cannot delete an AWS Backup vault that holds recovery points; production instances with this pack put it in a daily AWS Backup plan.")
		return
	}
	vault := awsbackup.NewBackupVault(h.Construct, jsii.String("HomeBackupVault"), &awsbackup.BackupVaultProps{RemovalPolicy: h.policy.RemovalPolicy})
	plan := awsbackup.NewBackupPlan(h.Construct, jsii.String("HomeBackupPlan"), &awsbackup.BackupPlanProps{BackupVault: vault})
	plan.AddRule(awsbackup.NewBackupPlanRule(&awsbackup.BackupPlanRuleProps{
		RuleName:           jsii.String("daily"),
		ScheduleExpression: awsevents.Schedule_Cron(&awsevents.CronOptions{Hour: jsii.String("5"), Minute: jsii.String("0")}),
		DeleteAfter:        awscdk.Duration_Days(jsii.Number(HomeBackupRetentionDays)),
	}))
	sel := plan.AddSelection(jsii.String("Homes"), &awsbackup.BackupSelectionOptions{Resources: &[]awsbackup.BackupResource{awsbackup.BackupResource_FromEfsFileSystem(fs)}})
	cdknag.NagSuppressions_AddResourceSuppressions(sel, &[]*cdknag.NagPackSuppression{{
		Id:        jsii.String("AwsSolutions-IAM4"),
		Reason:    jsii.String("AWSBackupServiceRolePolicyForBackup is the policy AWS Backup documents for its backup role; this role is assumed only by backup.amazonaws.com for this plan."),
		AppliesTo: &[]any{cdknag.RegexAppliesTo{Regex: jsii.String("/^Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup$/g")}},
	}}, jsii.Bool(true))
}

// suppressPacks suppresses one rule of the NIST 800-53 R5 and HIPAA Security packs (they share rule
// names) on scope and its children, with the same reason.
func suppressPacks(scope constructs.IConstruct, rule, reason string) {
	cdknag.NagSuppressions_AddResourceSuppressions(scope, &[]*cdknag.NagPackSuppression{
		{Id: jsii.String("NIST.800.53.R5-" + rule), Reason: jsii.String(reason)},
		{Id: jsii.String("HIPAA.Security-" + rule), Reason: jsii.String(reason)},
	}, jsii.Bool(true))
}

// suppressPackFindings answers the NIST 800-53 R5 and HIPAA rules that cannot apply to the hub's
// resources, each with its reason.
func suppressPackFindings(h *Hub) {
	same := " A managed policy would grant exactly the same; the inline one is deleted with its role."
	suppressPacks(h.cluster, "IAMNoInlinePolicy", "Policies the EKS construct writes for its own roles, each for that role alone: "+
		"the node groups' (EKS's managed policies plus launch-template reads), the kubectl provider's eks:DescribeCluster on this cluster and invoking its own handler."+same)
	suppressPacks(h.cluster, "LambdaDLQ", "The kubectl provider's functions, made by the CDK: its handler is invoked synchronously by the provider-framework function, "+
		"which reports every failure to CloudFormation itself (the stack operation fails and rolls back, nothing is lost silently); the EKS construct exposes no dead-letter queue for them.")
	suppressPacks(h.cluster, "LambdaConcurrency", "The kubectl provider's functions run only during this stack's deployments, one manifest or chart at a time per resource; "+
		"the CDK makes them and gives no property to reserve their concurrency.")
	for _, id := range []string{"AutoscalerRole", "ExternalDnsRole", "SnapshotRole"} {
		if role := h.Construct.Node().TryFindChild(jsii.String(id)); role != nil {
			suppressPacks(role, "IAMNoInlinePolicy", "This role's statements are written here for it alone (see the policy's Sids) and name this cluster's "+
				"node groups, hosted zone or volumes."+same)
		}
	}
	if h.opsFunction != nil {
		suppressPacks(h.opsFunction, "IAMNoInlinePolicy", "The cluster-ops function's role: statements written for it alone, on this cluster's node groups, "+
			"pool client, tagged volumes, snapshots and access points."+same)
	}
	if h.LogsBucket != nil {
		suppressPacks(h.LogsBucket, "S3BucketLoggingEnabled", "This is the hub's access-log destination (its load balancer's logs); logging its own access into itself would loop.")
		suppressPacks(h.LogsBucket, "S3BucketReplicationEnabled", "Access logs of the hub's load balancer: cross-region replication needs a second bucket in another region, "+
			"a per-instance choice; the bucket is versioned and production retains it.")
		// ELB User Guide, "Access logs for your Application Load Balancer": SSE-S3 only.
		suppressPacks(h.LogsBucket, "S3DefaultEncryptionKMS", "Elastic Load Balancing delivers access logs only to buckets encrypted with SSE-S3 (Amazon S3 managed keys), which this one is.")
	}
	for _, child := range *awscdk.Stack_Of(h.Construct).Node().Children() {
		if c, ok := child.(constructs.IConstruct); ok && strings.HasSuffix(*c.Node().Id(), "-AlbController") {
			suppressPacks(c, "IAMNoInlinePolicy", "The AWS Load Balancer Controller's policy as its release publishes it, written by the EKS construct for the controller's "+
				"service account role alone."+same)
		}
	}
}

// suppressClusterFindings answers the findings on resources the EKS and load balancer controller
// constructs make for themselves.
func suppressClusterFindings(h *Hub) {
	cdknag.NagSuppressions_AddResourceSuppressions(h.cluster, &[]*cdknag.NagPackSuppression{
		{Id: jsii.String("AwsSolutions-IAM4"), Reason: jsii.String("EKS's own managed policies on the roles the EKS construct makes: AmazonEKSClusterPolicy for the control plane, " +
			"AmazonEKSWorkerNodePolicy, AmazonEC2ContainerRegistryReadOnly and AmazonEKS_CNI_Policy for node groups, and AWSLambdaBasicExecutionRole / " +
			"AWSLambdaVPCAccessExecutionRole for the kubectl provider; none is FullAccess, and EKS requires them.")},
		{Id: jsii.String("AwsSolutions-IAM5"), Reason: jsii.String("The kubectl provider may call eks:DescribeCluster on this cluster and invoke its own handler versions; " +
			"the AWS Load Balancer Controller's policy (from the controller's release) uses ec2/elasticloadbalancing Describe* that take no ARN and " +
			"tag-conditioned writes on the load balancers it creates.")},
		{Id: jsii.String("AwsSolutions-L1"), Reason: jsii.String("The kubectl provider's runtime is pinned by the CDK release that ships it; the CDK upgrades it.")},
		{Id: jsii.String("AwsSolutions-EKS1"), Reason: jsii.String("The public endpoint is reachable only from the configured CIDRs (hub.endpoint.allowed_cidrs), for admins' kubectl; a private endpoint is a config option.")},
	}, jsii.Bool(true))
	// The EKS construct puts the AWS Load Balancer Controller beside the cluster, at stack level.
	for _, child := range *awscdk.Stack_Of(h.Construct).Node().Children() {
		if c, ok := child.(constructs.IConstruct); ok && strings.HasSuffix(*c.Node().Id(), "-AlbController") {
			cdknag.NagSuppressions_AddResourceSuppressions(c, &[]*cdknag.NagPackSuppression{{
				Id: jsii.String("AwsSolutions-IAM5"),
				Reason: jsii.String("The AWS Load Balancer Controller's policy, as its release publishes it: ec2/elasticloadbalancing Describe* take no ARN, " +
					"and its writes to load balancers, target groups, listeners and security groups are limited to resources tagged as created by the controller."),
			}}, jsii.Bool(true))
		}
	}
}

// DevicePluginNamespace is where the NVIDIA device plugin runs (its chart refuses the default namespace).
const DevicePluginNamespace = "nvidia"

// newDevicePlugin installs NVIDIA's Kubernetes device plugin, without which GPU nodes advertise no
// nvidia.com/gpu and GPU profiles stay Pending: "When using the EKS-optimized AL2023 AMIs with NVIDIA GPUs,
// you must install the NVIDIA Kubernetes device plugin" (EKS user guide, ml-eks-k8s-device-plugin).
//
// The chart's default affinity requires node-feature-discovery labels (feature.node.kubernetes.io/
// pci-10de.present, nvidia.com/gpu.present) that nothing sets here, so the plugin is placed by the GPU
// groups' own AcceleratorLabel instead; a list value replaces the chart's list, so its default
// tolerations are repeated with the user nodes' taint added.
func (h *Hub) newDevicePlugin() {
	h.cluster.AddHelmChart(jsii.String("NvidiaDevicePlugin"), &awseksv2.HelmChartOptions{
		Chart: jsii.String("nvidia-device-plugin"), Repository: jsii.String("https://nvidia.github.io/k8s-device-plugin"),
		Version: jsii.String(h.p.DevicePluginChart), Namespace: jsii.String(DevicePluginNamespace), CreateNamespace: jsii.Bool(true),
		Release: jsii.String("nvidia-device-plugin"), Timeout: awscdk.Duration_Minutes(jsii.Number(10)),
		Values: &map[string]any{
			"affinity": map[string]any{"nodeAffinity": map[string]any{"requiredDuringSchedulingIgnoredDuringExecution": map[string]any{
				"nodeSelectorTerms": []any{map[string]any{"matchExpressions": []any{
					map[string]any{"key": AcceleratorLabel, "operator": "In", "values": []any{"nvidia"}}}}},
			}}},
			"tolerations": []any{
				map[string]any{"key": "CriticalAddonsOnly", "operator": "Exists"},
				map[string]any{"key": GPUTaintKey, "operator": "Exists", "effect": "NoSchedule"},
				map[string]any{"key": UserTaintKey, "operator": "Equal", "value": "user", "effect": "NoSchedule"},
			},
		},
	})
}
