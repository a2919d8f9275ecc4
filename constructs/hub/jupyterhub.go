package hub

import (
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseksv2"
	"github.com/aws/jsii-runtime-go"
	"github.com/stratolab/stratolab/constructs/auth"
	"github.com/stratolab/stratolab/constructs/securebucket"
	"github.com/stratolab/stratolab/constructs/webfront"
)

// OAuthSecretName is the Kubernetes secret, in Namespace, that holds the hub's Cognito client secret
// under OAuthSecretKey. The cluster-ops function writes it (see newClusterOps); no template, chart value
// or kubectl provider event ever carries the value.
const (
	OAuthSecretName = "hub-cognito-client"
	OAuthSecretKey  = "client-secret"
)

// Dask Gateway runs in the hub's namespace as release DaskRelease, so that it reads the API token that
// the JupyterHub chart generates for its hub.services entry from the chart's own secret (dask-gateway's
// default gateway.auth.jupyterhub.apiTokenFromSecretName/Key: hub / hub.services.dask-gateway.apiToken).
const (
	DaskRelease = "dask-gateway"
	DaskService = "dask-gateway"
	// DaskPrefix is where the hub's proxy serves the gateway; the gateway must serve the same prefix.
	DaskPrefix = "/services/dask-gateway"
)

// LoadBalancerLogsPrefix is where the hub's load balancer writes its access logs in LogsBucket.
const LoadBalancerLogsPrefix = "alb/hub"

// IngressName is the Ingress the JupyterHub chart creates for the proxy (release jupyterhub).
const IngressName = "jupyterhub"

// profileGroupsFilter is the hub's extraConfig: it offers each user only the profiles of their Cognito
// groups (custom.profileGroups: slug -> groups; a profile without groups is for everyone), and admins all.
const profileGroupsFilter = `from z2jh import get_config

_profile_groups = get_config("custom.profileGroups", {})
_all_profiles = c.KubeSpawner.profile_list


async def _profiles_for(spawner):
    if spawner.user.admin:
        return _all_profiles
    groups = {g.name for g in spawner.user.groups}
    return [p for p in _all_profiles if not _profile_groups.get(p["slug"]) or groups & set(_profile_groups[p["slug"]])]


c.KubeSpawner.profile_list = _profiles_for
`

// userTolerations are z2jh's default scheduling.userPods.tolerations (values.yaml): user pods tolerate
// the user nodes' taint. A profile's kubespawner_override.tolerations replaces KubeSpawner's list, so an
// override that adds a toleration repeats these.
func userTolerations() []any {
	return []any{
		map[string]any{"key": UserTaintKey, "operator": "Equal", "value": "user", "effect": "NoSchedule"},
		map[string]any{"key": "hub.jupyter.org_dedicated", "operator": "Equal", "value": "user", "effect": "NoSchedule"},
	}
}

// newJupyterHub adds the hub's Cognito client, the cluster-ops function that writes its secret, and the
// chart with its generated values.
func (h *Hub) newJupyterHub() {
	p := h.p
	ns := h.cluster.AddManifest(jsii.String("Namespace"), &map[string]any{
		"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": Namespace},
	})
	host := strings.TrimSuffix(p.Host, "/")
	h.OAuthClient = p.Auth.AddClient("OAuthClient", auth.ClientOptions{
		Name:           p.ClusterName + "-hub",
		CallbackURLs:   []string{host + "/hub/oauth_callback"},
		LogoutURLs:     []string{host + "/"},
		GenerateSecret: true,
		Scope:          h.Construct,
	})

	// The load balancer is the ingress's, made by the AWS Load Balancer Controller, so its access logs
	// are switched on by annotation; the bucket policy must exist before the controller turns them on.
	logs := securebucket.NewLogs(h.Construct, "LogsBucket", nil, h.policy)
	logsPolicy := securebucket.AllowLoadBalancerLogs(logs, LoadBalancerLogsPrefix)
	h.LogsBucket = logs

	ops := h.newClusterOps(ns, logs)
	if p.Domain != nil {
		// On destroy ExternalDNS must outlive the Ingress to delete the record (policy sync): the
		// cluster-ops function, which JupyterHub depends on, waits on delete until the load balancer is
		// gone, so ExternalDNS goes only after it, long after the Ingress.
		h.ExternalDNS = h.newExternalDNS()
		// Its Role and RoleBinding are made in the hub's namespace (chart 1.21.1, namespaced: true).
		h.ExternalDNS.Node().AddDependency(ns)
		ops.Node().AddDependency(h.ExternalDNS)
	}

	certArn := jsii.String(p.CertificateArn)
	if p.CertificateArn == "" {
		h.Certificate = webfront.NewCertificate(h.Construct, "Certificate", p.Domain)
		certArn = h.Certificate.CertificateArn()
		// The load balancer's listener uses the certificate, and ACM refuses to delete a certificate in
		// use (ResourceInUseException): it must outlive the cluster-ops resource, which waits on delete
		// until the controller has removed the load balancer.
		ops.Node().AddDependency(h.Certificate)
	}
	webACLArn := ""
	if p.Regulated {
		// The load balancer is the controller's, so the ACL is associated by the Ingress annotation
		// wafv2-acl-arn (see values), not by an AWS::WAFv2::WebACLAssociation.
		h.WebACL = webfront.NewWebACL(h.Construct, "WebAcl", &webfront.WebACLProps{
			Purpose: "JupyterHub", MetricName: "Hub", LogRetention: h.logRetention(), LogRemovalPolicy: h.policy.RemovalPolicy,
		})
		webACLArn = *h.WebACL.Arn
		// AWS WAF refuses to delete an ACL still associated with a load balancer
		// (WAFAssociatedItemException), and the controller removes the load balancer, with its
		// association, only after the Ingress goes: the ACL must outlive the cluster-ops resource, which
		// waits on delete until the load balancer is gone (as the certificate does).
		ops.Node().AddDependency(h.WebACL.ACL)
	}
	h.Values = h.values(*certArn, webACLArn)
	h.JupyterHub = h.cluster.AddHelmChart(jsii.String("JupyterHub"), &awseksv2.HelmChartOptions{
		Chart:      jsii.String("jupyterhub"),
		Repository: jsii.String("https://hub.jupyter.org/helm-chart/"),
		Version:    jsii.String(p.JupyterHubChart),
		Namespace:  jsii.String(Namespace),
		Release:    jsii.String("jupyterhub"),
		Values:     &h.Values,
		// Helm runs inside the kubectl provider's Lambda, which stops after 15 minutes.
		Timeout: awscdk.Duration_Minutes(jsii.Number(14)),
		Wait:    jsii.Bool(false),
	})
	// The hub reads its client secret (written by ops), its database volume uses the ebs-gp3 class and
	// user homes efs-home. The chart's Services and Ingress pass the load balancer controller's webhooks,
	// which fail closed (failurePolicy: Fail) until the controller runs, and on destroy the controller must
	// outlive the Ingress to delete its load balancer.
	h.JupyterHub.Node().AddDependency(ops, h.storageClasses, logsPolicy, h.cluster.AlbController())
	if h.WebACL != nil {
		// The Ingress names the ACL: it must exist before the controller reconciles the Ingress (an
		// association with a missing ACL fails the reconcile), and go only after the chart is uninstalled.
		h.JupyterHub.Node().AddDependency(h.WebACL.ACL)
	}

	if p.Dask {
		h.newDaskGateway()
	}
	if h.hasGPU() {
		h.newDevicePlugin()
	}
}

// newDaskGateway installs Dask Gateway beside the hub, authenticating users through it.
func (h *Hub) newDaskGateway() {
	p := h.p
	core := map[string]any{NodePurposeLabel: "core"}
	// Schedulers and workers are users' pods: on user nodes (tolerating their taint, not the GPU one),
	// and, like user servers, without the node role's credentials from instance metadata.
	backendPod := map[string]any{
		"nodeSelector": map[string]any{NodePurposeLabel: "user"},
		"tolerations":  userTolerations(),
		"initContainers": []any{map[string]any{
			"name":  "block-cloud-metadata",
			"image": "quay.io/jupyterhub/k8s-network-tools:" + p.JupyterHubChart,
			"command": []any{"iptables", "--append", "OUTPUT", "--protocol", "tcp", "--destination", "169.254.169.254",
				"--destination-port", "80", "--jump", "DROP"},
			"securityContext": map[string]any{"runAsUser": 0, "capabilities": map[string]any{"add": []any{"NET_ADMIN"}}},
		}},
	}
	dask := h.cluster.AddHelmChart(jsii.String("DaskGateway"), &awseksv2.HelmChartOptions{
		Chart: jsii.String("dask-gateway"), Repository: jsii.String("https://helm.dask.org"),
		Version: jsii.String(p.DaskGatewayChart), Namespace: jsii.String(Namespace),
		Release: jsii.String(DaskRelease), Timeout: awscdk.Duration_Minutes(jsii.Number(14)),
		Values: &map[string]any{
			"gateway": map[string]any{
				"prefix": DaskPrefix,
				"auth": map[string]any{"type": "jupyterhub", "jupyterhub": map[string]any{
					"apiUrl": "http://hub." + Namespace + ":8081/hub/api",
				}},
				"nodeSelector": core,
				"backend": map[string]any{
					"scheduler": map[string]any{"extraPodConfig": backendPod},
					"worker":    map[string]any{"extraPodConfig": backendPod},
				},
			},
			"controller": map[string]any{"nodeSelector": core},
			"traefik":    map[string]any{"nodeSelector": core, "service": map[string]any{"type": "ClusterIP"}},
		},
	})
	// Its API pod reads the token from the JupyterHub chart's secret, and its Services pass the load
	// balancer controller's webhook.
	dask.Node().AddDependency(h.JupyterHub, h.cluster.AlbController())
}

func (h *Hub) hasGPU() bool {
	for _, g := range h.p.NodeGroups {
		if g.GPU {
			return true
		}
	}
	return false
}

// values generates the JupyterHub chart's values from the props.
func (h *Hub) values(certificateArn, webACLArn string) map[string]any {
	p := h.p
	host := strings.TrimSuffix(p.Host, "/")
	hostname := strings.TrimPrefix(host, "https://")
	cognito := *h.p.Auth.BaseURL

	var profiles []any
	groups := map[string]any{}
	for _, pr := range p.Profiles {
		override := map[string]any{
			"image":         h.ImageURI(pr),
			"cpu_guarantee": number(pr.CPU.Guarantee),
			"cpu_limit":     number(pr.CPU.Limit),
			"mem_guarantee": pr.Memory.Guarantee,
			"mem_limit":     pr.Memory.Limit,
			"node_selector": map[string]any{NodeGroupLabel: pr.Node},
		}
		for _, g := range p.NodeGroups {
			if g.Name == pr.Node && g.GPU {
				gpu := map[string]any{"key": GPUTaintKey, "operator": "Equal", "value": "true", "effect": "NoSchedule"}
				override["tolerations"] = append(userTolerations(), gpu)
				override["extra_resource_limits"] = map[string]any{GPUTaintKey: "1"}
			}
		}
		profiles = append(profiles, map[string]any{
			"display_name": pr.DisplayName, "slug": pr.Name, "description": pr.Description,
			"default": pr.Default, "kubespawner_override": override,
		})
		if len(pr.Groups) > 0 {
			groups[pr.Name] = pr.Groups
		}
	}

	// One home per user, whichever profile they start: KubeSpawner creates the claim once and never
	// resizes it. EFS ignores the capacity (an access point has no size); EBS volumes get it.
	storage := map[string]any{"type": "dynamic", "capacity": strconv.Itoa(p.HomeGiB) + "Gi", "homeMountPath": "/home/jovyan",
		"dynamic": map[string]any{"storageClass": EFSStorageClass, "pvcNameTemplate": "claim-{username}", "volumeNameTemplate": "volume-{username}", "storageAccessModes": []any{"ReadWriteMany"}}}
	if p.EBSHomes {
		storage["dynamic"] = map[string]any{"storageClass": EBSStorageClass, "pvcNameTemplate": "claim-{username}", "volumeNameTemplate": "volume-{username}", "storageAccessModes": []any{"ReadWriteOnce"}}
	}

	extraEnv := map[string]any{
		// oauthenticator's client_secret defaults to $OAUTH_CLIENT_SECRET (oauth2.py, _client_secret_default).
		"OAUTH_CLIENT_SECRET": map[string]any{"valueFrom": map[string]any{"secretKeyRef": map[string]any{"name": OAuthSecretName, "key": OAuthSecretKey}}},
	}
	extraConfig := map[string]any{"10-profile-groups": profileGroupsFilter}
	singleuserEnv := map[string]any{}
	services := map[string]any{}
	roles := map[string]any{}
	if p.Dask {
		// The chart generates the service's token and keeps it in its hub secret, where the gateway reads it.
		services[DaskService] = map[string]any{"display": false, "url": "http://traefik-" + DaskRelease + "." + Namespace}
		roles[DaskService] = map[string]any{"services": []any{DaskService}, "scopes": []any{"read:users:name", "read:users:groups"}}
		// Clients reach the gateway through the proxy inside the cluster, not out through the NAT and
		// back in through the load balancer (whose allowed CIDRs need not include the NAT's address).
		singleuserEnv["DASK_GATEWAY__ADDRESS"] = "http://proxy-public." + Namespace + DaskPrefix
		singleuserEnv["DASK_GATEWAY__PROXY_ADDRESS"] = "gateway://traefik-" + DaskRelease + "." + Namespace + ":80"
		singleuserEnv["DASK_GATEWAY__PUBLIC_ADDRESS"] = DaskPrefix + "/"
		singleuserEnv["DASK_GATEWAY__AUTH__TYPE"] = "jupyterhub"
	}

	admins := make([]any, 0, len(p.AdminUsers))
	for _, a := range p.AdminUsers {
		admins = append(admins, a)
	}
	allowed := map[string]bool{p.AdminGroup: true}
	for _, pr := range p.Profiles {
		for _, g := range pr.Groups {
			allowed[g] = true
		}
	}
	allowAll := false
	for _, pr := range p.Profiles {
		allowAll = allowAll || len(pr.Groups) == 0
	}
	oauth := map[string]any{
		"client_id":          h.OAuthClient.Client.UserPoolClientId(),
		"oauth_callback_url": host + "/hub/oauth_callback",
		"authorize_url":      cognito + "/oauth2/authorize",
		"token_url":          cognito + "/oauth2/token",
		// No userdata_url: the user's claims come from the ID token, because Cognito's userInfo endpoint
		// does not return cognito:groups, and oauthenticator refuses both at once.
		"logout_redirect_url": jsii.String(cognito + "/logout?client_id=" + *h.OAuthClient.Client.UserPoolClientId() +
			"&logout_uri=" + host + "/"),
		"scope":                  []any{"openid", "email", "profile"},
		"login_service":          "your institution account",
		"username_claim":         "email",
		"userdata_from_id_token": true,
		// The ID token's claims are the auth model's auth_state["oauth_user"].
		"auth_state_groups_key": "oauth_user.cognito:groups",
		"manage_groups":         true,
		"admin_groups":          []any{p.AdminGroup},
	}
	if allowAll {
		oauth["allow_all"] = true
	} else {
		oauth["allowed_groups"] = toAny(slices.Sorted(maps.Keys(allowed)))
	}

	var publicSubnets []string
	for _, sn := range *p.Vpc.PublicSubnets() {
		publicSubnets = append(publicSubnets, *sn.SubnetId())
	}
	alb := map[string]any{
		// Named, so the controller needs no kubernetes.io/role/elb tags on an existing VPC's subnets.
		"alb.ingress.kubernetes.io/subnets":          strings.Join(publicSubnets, ","),
		"alb.ingress.kubernetes.io/scheme":           "internet-facing",
		"alb.ingress.kubernetes.io/target-type":      "ip",
		"alb.ingress.kubernetes.io/certificate-arn":  certificateArn,
		"alb.ingress.kubernetes.io/listen-ports":     `[{"HTTP": 80}, {"HTTPS": 443}]`,
		"alb.ingress.kubernetes.io/ssl-redirect":     "443",
		"alb.ingress.kubernetes.io/ssl-policy":       "ELBSecurityPolicy-TLS13-1-2-2021-06",
		"alb.ingress.kubernetes.io/healthcheck-path": "/hub/health",
		"alb.ingress.kubernetes.io/inbound-cidrs":    strings.Join(p.AllowedCidrs, ","),
		"alb.ingress.kubernetes.io/load-balancer-attributes": strings.Join([]string{
			"routing.http.drop_invalid_header_fields.enabled=true",
			"access_logs.s3.enabled=true",
			"access_logs.s3.bucket=" + *h.LogsBucket.BucketName(),
			"access_logs.s3.prefix=" + LoadBalancerLogsPrefix,
		}, ","),
	}

	// AWS Load Balancer Controller v2.17.1 (docs/guide/ingress/annotations.md, wafv2-acl-arn): the ARN
	// of a regional WAFv2 web ACL, which the controller associates with the Ingress's load balancer (its
	// --enable-wafv2 flag defaults to true, pkg/config/addons_config.go, and the CDK's chart values leave
	// it so). Absent, the controller leaves the load balancer's WAF settings as they are; "none" makes it
	// disassociate whatever ACL is there (pkg/ingress/model_build_load_balancer_addons.go,
	// wafv2ACLARNNone). So without a pack the annotation says "none": an instance that drops its packs
	// loses the association on the chart's update, and CloudFormation can then delete the ACL, which it
	// cannot while the ACL is still associated.
	alb["alb.ingress.kubernetes.io/wafv2-acl-arn"] = "none"
	if webACLArn != "" {
		alb["alb.ingress.kubernetes.io/wafv2-acl-arn"] = webACLArn
	}
	if len(p.Tags) > 0 {
		// The controller tags the load balancer, its target groups and its security groups with these.
		alb["alb.ingress.kubernetes.io/tags"] = tagList(p.Tags)
	}

	return map[string]any{
		"hub": map[string]any{
			"config": map[string]any{
				"JupyterHub":            map[string]any{"authenticator_class": "generic-oauth"},
				"Authenticator":         map[string]any{"admin_users": admins, "enable_auth_state": false},
				"GenericOAuthenticator": oauth,
			},
			"extraEnv":     extraEnv,
			"extraConfig":  extraConfig,
			"services":     services,
			"loadRoles":    roles,
			"nodeSelector": map[string]any{NodePurposeLabel: "core"},
			"db":           map[string]any{"pvc": map[string]any{"storageClassName": EBSStorageClass}},
		},
		"proxy": map[string]any{
			"service": map[string]any{"type": "ClusterIP"},
			"chp":     map[string]any{"nodeSelector": map[string]any{NodePurposeLabel: "core"}},
		},
		"ingress": map[string]any{
			"enabled": true, "ingressClassName": "alb", "annotations": alb, "hosts": []any{hostname}, "pathType": "Prefix",
		},
		"singleuser": map[string]any{
			"profileList":   profiles,
			"storage":       storage,
			"defaultUrl":    "/lab",
			"startTimeout":  p.StartTimeoutSeconds,
			"extraEnv":      singleuserEnv,
			"cloudMetadata": map[string]any{"blockWithIptables": true},
		},
		"scheduling": map[string]any{
			"userScheduler": map[string]any{"enabled": true, "nodeSelector": map[string]any{NodePurposeLabel: "core"}},
			"corePods":      map[string]any{"nodeAffinity": map[string]any{"matchNodePurpose": "require"}},
			"userPods":      map[string]any{"nodeAffinity": map[string]any{"matchNodePurpose": "require"}},
		},
		// Helm runs inside a Lambda that stops after 15 minutes: no hook waits for images to pull.
		"prePuller": map[string]any{"hook": map[string]any{"enabled": false}, "continuous": map[string]any{"enabled": false}},
		"cull":      map[string]any{"enabled": true, "timeout": 3600, "every": 300},
		"custom":    map[string]any{"profileGroups": groups},
	}
}

func number(s string) float64 {
	f, _ := strconv.ParseFloat(s, 64) // validated by check
	return f
}

// tagList is the controller's tags annotation: k1=v1,k2=v2, sorted.
func tagList(tags map[string]string) string {
	var kv []string
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		kv = append(kv, k+"="+tags[k])
	}
	return strings.Join(kv, ",")
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}
