package hub

import (
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseksv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
	"github.com/stratolab/stratolab/constructs/auth"
	"github.com/stratolab/stratolab/constructs/securebucket"
)

// Kubernetes secrets the hub creates in its namespace.
const (
	OAuthSecretName = "hub-oauth"
	DaskSecretName  = "dask-gateway-token"
)

// LoadBalancerLogsPrefix is where the hub's load balancer writes its access logs in LogsBucket.
const LoadBalancerLogsPrefix = "alb/hub"

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

// daskService registers Dask Gateway as a JupyterHub service with the token both sides read from the
// same Kubernetes secret.
const daskService = `import os

c.JupyterHub.services.append({
    "name": "dask-gateway",
    "api_token": os.environ["DASK_GATEWAY_API_TOKEN"],
    "url": "http://traefik-dask-gateway.` + DaskNamespace + `",
    "oauth_no_confirm": True,
})
c.JupyterHub.load_roles.append({"name": "dask-gateway", "services": ["dask-gateway"], "scopes": ["read:users:name", "read:users:groups"]})
`

// newJupyterHub adds the hub's Cognito client, the Kubernetes secrets built from Secrets Manager, and
// the chart with its generated values.
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
		Scope:          h.Construct, // so that the secret never leaves this stack
	})
	// The client secret goes from Cognito to a Kubernetes secret at deploy time: the template holds only a
	// reference to it, and the chart's values name the Kubernetes secret, never the value.
	secretData := map[string]any{"client-secret": h.OAuthClient.Secret().UnsafeUnwrap()}
	secrets := []*map[string]any{{
		"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
		"metadata":   map[string]any{"name": OAuthSecretName, "namespace": Namespace},
		"stringData": secretData,
	}}
	var daskToken awssecretsmanager.Secret
	if p.Dask {
		daskToken = awssecretsmanager.NewSecret(h.Construct, jsii.String("DaskGatewayToken"), &awssecretsmanager.SecretProps{
			Description:          jsii.String("JupyterHub API token of Dask Gateway on " + p.ClusterName),
			GenerateSecretString: &awssecretsmanager.SecretStringGenerator{PasswordLength: jsii.Number(64), ExcludePunctuation: jsii.Bool(true)},
			RemovalPolicy:        h.policy.RemovalPolicy,
		})
		cdknag.NagSuppressions_AddResourceSuppressions(daskToken, &[]*cdknag.NagPackSuppression{{
			Id:     jsii.String("AwsSolutions-SMG4"),
			Reason: jsii.String("The token is shared by JupyterHub and Dask Gateway through a Kubernetes secret made at deploy time; rotating it means redeploying both, which a redeploy of this stack does."),
		}}, jsii.Bool(false))
		secrets = append(secrets, &map[string]any{
			"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
			"metadata":   map[string]any{"name": DaskSecretName, "namespace": Namespace},
			"stringData": map[string]any{"token": daskToken.SecretValue().UnsafeUnwrap()},
		})
	}
	secretManifest := h.cluster.AddManifest(jsii.String("HubSecrets"), secrets...)
	secretManifest.Node().AddDependency(ns)

	// The load balancer is the ingress's, made by the AWS Load Balancer Controller, so its access logs
	// are switched on by annotation; the bucket policy must exist before the controller turns them on.
	logs := securebucket.NewLogs(h.Construct, "LogsBucket", nil, h.policy)
	logsPolicy := securebucket.AllowLoadBalancerLogs(logs, LoadBalancerLogsPrefix)
	h.LogsBucket = logs

	h.Values = h.values()
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
	// The hub's database volume uses the ebs-gp3 class, and user homes efs-home.
	h.JupyterHub.Node().AddDependency(secretManifest, h.storageClasses, logsPolicy)

	if p.Dask {
		dask := h.cluster.AddHelmChart(jsii.String("DaskGateway"), &awseksv2.HelmChartOptions{
			Chart: jsii.String("dask-gateway"), Repository: jsii.String("https://helm.dask.org"),
			Version: jsii.String(p.DaskGatewayChart), Namespace: jsii.String(DaskNamespace), CreateNamespace: jsii.Bool(true),
			Release: jsii.String("dask-gateway"), Timeout: awscdk.Duration_Minutes(jsii.Number(14)),
			Values: &map[string]any{
				"gateway": map[string]any{
					"auth": map[string]any{"type": "jupyterhub", "jupyterhub": map[string]any{
						"apiUrl":                 "http://hub." + Namespace + ":8081/hub/api",
						"apiTokenFromSecretName": DaskSecretName, "apiTokenFromSecretKey": "token",
					}},
					"nodeSelector": map[string]any{NodePurposeLabel: "core"},
				},
				"controller": map[string]any{"nodeSelector": map[string]any{NodePurposeLabel: "core"}},
				"traefik":    map[string]any{"nodeSelector": map[string]any{NodePurposeLabel: "core"}, "service": map[string]any{"type": "ClusterIP"}},
			},
		})
		dask.Node().AddDependency(secretManifest)
	}
}

// values generates the JupyterHub chart's values from the props.
func (h *Hub) values() map[string]any {
	p := h.p
	host := strings.TrimSuffix(p.Host, "/")
	hostname := strings.TrimPrefix(host, "https://")
	cognito := *h.p.Auth.BaseURL

	var profiles []any
	groups := map[string]any{}
	for _, pr := range p.Profiles {
		override := map[string]any{
			"image":            h.ImageURI(pr),
			"cpu_guarantee":    number(pr.CPU.Guarantee),
			"cpu_limit":        number(pr.CPU.Limit),
			"mem_guarantee":    pr.Memory.Guarantee,
			"mem_limit":        pr.Memory.Limit,
			"node_selector":    map[string]any{NodeGroupLabel: pr.Node},
			"storage_capacity": strconv.Itoa(pr.StorageGiB) + "Gi",
		}
		for _, g := range p.NodeGroups {
			if g.Name == pr.Node && g.GPU {
				override["tolerations"] = []any{map[string]any{"key": GPUTaintKey, "operator": "Equal", "value": "true", "effect": "NoSchedule"}}
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

	storage := map[string]any{"type": "dynamic", "capacity": "10Gi", "homeMountPath": "/home/jovyan",
		"dynamic": map[string]any{"storageClass": EFSStorageClass, "pvcNameTemplate": "claim-{username}", "volumeNameTemplate": "volume-{username}", "storageAccessModes": []any{"ReadWriteMany"}}}
	if p.EBSHomes {
		storage["dynamic"] = map[string]any{"storageClass": EBSStorageClass, "pvcNameTemplate": "claim-{username}", "volumeNameTemplate": "volume-{username}", "storageAccessModes": []any{"ReadWriteOnce"}}
	}

	extraEnv := map[string]any{
		"OAUTH_CLIENT_SECRET": map[string]any{"valueFrom": map[string]any{"secretKeyRef": map[string]any{"name": OAuthSecretName, "key": "client-secret"}}},
	}
	extraConfig := map[string]any{"10-profile-groups": profileGroupsFilter}
	singleuserEnv := map[string]any{}
	if p.Dask {
		extraEnv["DASK_GATEWAY_API_TOKEN"] = map[string]any{"valueFrom": map[string]any{"secretKeyRef": map[string]any{"name": DaskSecretName, "key": "token"}}}
		extraConfig["20-dask-gateway"] = daskService
		singleuserEnv["DASK_GATEWAY__ADDRESS"] = host + "/services/dask-gateway"
		singleuserEnv["DASK_GATEWAY__PROXY_ADDRESS"] = "gateway://traefik-dask-gateway." + DaskNamespace + ":80"
		singleuserEnv["DASK_GATEWAY__PUBLIC_ADDRESS"] = "/services/dask-gateway/"
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
		"userdata_url":       cognito + "/oauth2/userInfo",
		"logout_redirect_url": jsii.String(cognito + "/logout?client_id=" + *h.OAuthClient.Client.UserPoolClientId() +
			"&logout_uri=" + host + "/"),
		"scope":                  []any{"openid", "email", "profile"},
		"login_service":          "your institution account",
		"username_claim":         "email",
		"userdata_from_id_token": true,
		"claim_groups_key":       "cognito:groups",
		"manage_groups":          true,
		"admin_groups":           []any{p.AdminGroup},
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
		"alb.ingress.kubernetes.io/certificate-arn":  p.CertificateArn,
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

	return map[string]any{
		"hub": map[string]any{
			"config": map[string]any{
				"JupyterHub":            map[string]any{"authenticator_class": "generic-oauth"},
				"Authenticator":         map[string]any{"admin_users": admins, "enable_auth_state": false},
				"GenericOAuthenticator": oauth,
			},
			"extraEnv":     extraEnv,
			"extraConfig":  extraConfig,
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

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}
