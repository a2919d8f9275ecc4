package test

// The hub's consumers' rules. Each test here encodes what a program that reads our output requires, at
// the version we pin, with the source it comes from; a test that only restated our values would pass
// on the bugs the hub review found (../shared/reference/HUB-REVIEW.md). Each rule is a function that
// returns its violations, checked against every instance that has a hub, and checked to fail on the
// input that the bug it guards against produced.

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/stratolab/stratolab/constructs/hub"
	"github.com/stratolab/stratolab/internal/hubops"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// hubInstances are the instance files with a hub, plus test inputs that take the other branches.
func hubInstances(t *testing.T) map[string]map[string]any {
	out := map[string]map[string]any{}
	out["example"] = synth(t, "example").templates["Hub"]
	return out
}

// resourcesOf returns a template's resources by logical ID.
func resourcesOf(tpl map[string]any) map[string]map[string]any {
	out := map[string]map[string]any{}
	for id, r := range tpl["Resources"].(map[string]any) {
		out[id] = r.(map[string]any)
	}
	return out
}

func propsOf(r map[string]any) map[string]any {
	p, _ := r["Properties"].(map[string]any)
	return p
}

// helmValues returns the values of a chart in a template (references flattened as chartValues does).
func helmValues(t *testing.T, tpl map[string]any, chart string) (map[string]any, map[string]any) {
	for _, r := range resourcesOf(tpl) {
		if r["Type"] == "Custom::AWSCDK-EKS-HelmChart" && propsOf(r)["Chart"] == chart {
			var values map[string]any
			require.NoError(t, json.Unmarshal([]byte(flatten(propsOf(r)["Values"])), &values))
			return values, r
		}
	}
	return nil, nil
}

// ---- OAuthenticator 17.4.0 (the version z2jh 4.4.0's images/hub/requirements.txt pins) ----

// oauthenticatorRules checks a GenericOAuthenticator config against oauthenticator 17.4.0:
//   - oauth2.py, @validate("userdata_url"): "Cannot specify both authenticator.userdata_url and
//     authenticator.userdata_from_id_token" (the hub does not start);
//   - with userdata_from_id_token, the ID token's claims are the auth model's auth_state["oauth_user"]
//     (token_to_user, build_auth_state_dict: user_auth_state_key = "oauth_user"), and Cognito puts the
//     groups in the ID token's cognito:groups claim (its /oauth2/userInfo does not return it);
//   - generic.py: claim_groups_key is deprecated since 17.0 for auth_state_groups_key;
//   - oauth2.py, @observe("allowed_groups", "admin_groups", "auth_state_groups_key"): these need
//     manage_groups.
func oauthenticatorRules(c map[string]any) []string {
	var bad []string
	if c["userdata_url"] != nil && c["userdata_from_id_token"] == true {
		bad = append(bad, "userdata_url and userdata_from_id_token are both set: oauthenticator refuses to start")
	}
	if c["userdata_from_id_token"] != true {
		bad = append(bad, "userdata_from_id_token is not true: Cognito's userInfo has no cognito:groups")
	}
	if c["claim_groups_key"] != nil {
		bad = append(bad, "claim_groups_key is deprecated (auth_state_groups_key)")
	}
	if c["auth_state_groups_key"] != "oauth_user.cognito:groups" {
		bad = append(bad, fmt.Sprintf("auth_state_groups_key %v does not name the ID token's cognito:groups", c["auth_state_groups_key"]))
	}
	if (c["allowed_groups"] != nil || c["admin_groups"] != nil) && c["manage_groups"] != true {
		bad = append(bad, "allowed_groups/admin_groups without manage_groups")
	}
	if c["client_secret"] != nil {
		bad = append(bad, "client_secret in the values: it comes from $OAUTH_CLIENT_SECRET")
	}
	return bad
}

func TestHubAuthenticatorConfigIsOneOAuthenticatorAccepts(t *testing.T) {
	for name, tpl := range hubInstances(t) {
		v, _ := helmValues(t, tpl, "jupyterhub")
		assert.Empty(t, oauthenticatorRules(at(v, "hub", "config", "GenericOAuthenticator").(map[string]any)), name)
		// oauthenticator reads the secret from $OAUTH_CLIENT_SECRET (oauth2.py, _client_secret_default).
		assert.NotNil(t, at(v, "hub", "extraEnv").(map[string]any)["OAUTH_CLIENT_SECRET"], name)
	}
	// What the hub had before the review: both userdata sources, and the deprecated key.
	old := map[string]any{"userdata_url": "https://x/oauth2/userInfo", "userdata_from_id_token": true,
		"claim_groups_key": "cognito:groups", "manage_groups": true, "admin_groups": []any{"sudo"}}
	assert.Len(t, oauthenticatorRules(old), 3)
}

// ---- Kubernetes scheduling: can every pod we configure land on some node group? ----

type nodeGroup struct {
	name   string
	labels map[string]string
	taints []taint
	types  []string
}

type taint struct{ key, value, effect string }

// nodeGroupsOf reads the managed node groups of a template: labels, taints (CloudFormation's
// NO_SCHEDULE is Kubernetes' NoSchedule) and instance types.
func nodeGroupsOf(tpl map[string]any) []nodeGroup {
	var out []nodeGroup
	for _, r := range resourcesOf(tpl) {
		if r["Type"] != "AWS::EKS::Nodegroup" {
			continue
		}
		p := propsOf(r)
		g := nodeGroup{name: p["NodegroupName"].(string), labels: map[string]string{}}
		for k, v := range p["Labels"].(map[string]any) {
			g.labels[k] = v.(string)
		}
		taints, _ := p["Taints"].([]any)
		for _, x := range taints {
			m := x.(map[string]any)
			g.taints = append(g.taints, taint{m["Key"].(string), m["Value"].(string), map[string]string{"NO_SCHEDULE": "NoSchedule", "NO_EXECUTE": "NoExecute", "PREFER_NO_SCHEDULE": "PreferNoSchedule"}[m["Effect"].(string)]})
		}
		for _, it := range p["InstanceTypes"].([]any) {
			g.types = append(g.types, it.(string))
		}
		out = append(out, g)
	}
	slices.SortFunc(out, func(a, b nodeGroup) int { return strings.Compare(a.name, b.name) })
	return out
}

// tolerates is Kubernetes' rule (core/v1 Toleration.ToleratesTaint): the effect matches or is empty; an
// empty key with Exists tolerates everything; Exists matches any value, Equal (the default) the value.
func tolerates(tolerations []any, t taint) bool {
	for _, x := range tolerations {
		m := x.(map[string]any)
		effect, _ := m["effect"].(string)
		if effect != "" && effect != t.effect {
			continue
		}
		key, _ := m["key"].(string)
		op, _ := m["operator"].(string)
		switch {
		case key == "" && op == "Exists":
			return true
		case key != t.key:
			continue
		case op == "Exists":
			return true
		case m["value"] == t.value:
			return true
		}
	}
	return false
}

// selects reports whether a node group's labels satisfy a nodeSelector.
func selects(selector map[string]any, g nodeGroup) bool {
	for k, v := range selector {
		if g.labels[k] != v {
			return false
		}
	}
	return true
}

// instanceSpecs are the instance types the shipped instance files use: vCPUs, GiB of memory and NVIDIA
// GPUs (from the EC2 instance type pages). allocatable approximates what EKS's AL2023 nodes leave for
// pods: kube-reserved and the eviction threshold take about 0.1 vCPU and 8% of memory on these sizes,
// and the DaemonSets (aws-node, kube-proxy, the CSI node plugins, the Pod Identity agent) about 0.3 vCPU
// and 0.5 GiB.
var instanceSpecs = map[string]struct {
	vcpu, gib float64
	gpus      int
}{
	"t3a.large": {2, 8, 0}, "m5.xlarge": {4, 16, 0}, "m5.2xlarge": {8, 32, 0}, "m5a.2xlarge": {8, 32, 0},
	"g4dn.xlarge": {4, 16, 1}, "g4dn.2xlarge": {8, 32, 1},
}

func allocatable(instanceType string) (cpu, memBytes float64, gpus int, ok bool) {
	s, ok := instanceSpecs[instanceType]
	return s.vcpu - 0.4, s.gib*(1<<30)*0.92 - 0.5*(1<<30), s.gpus, ok
}

// z2jhUserTolerations are z2jh 4.4.0's scheduling.userPods.tolerations (jupyterhub/values.yaml); the
// chart sets c.KubeSpawner.tolerations to them plus singleuser.extraTolerations (jupyterhub_config.py).
var z2jhUserTolerations = []any{
	map[string]any{"key": "hub.jupyter.org/dedicated", "operator": "Equal", "value": "user", "effect": "NoSchedule"},
	map[string]any{"key": "hub.jupyter.org_dedicated", "operator": "Equal", "value": "user", "effect": "NoSchedule"},
}

// profileSchedulingRules checks that each profile's pod can run on the node group it names:
//   - KubeSpawner 7.0.0's _apply_overrides (spawner.py) sets a list override such as tolerations in
//     place of the trait, so a profile's tolerations replace z2jh's; without one, z2jh's apply;
//   - z2jh's scheduling.userPods.nodeAffinity.matchNodePurpose: require adds node-purpose=user;
//   - the pod must tolerate every NoSchedule taint of the group, and its guarantees must fit the
//     smallest instance type's allocatable resources (else the autoscaler never scales the group up:
//     "pod didn't trigger scale-up").
func profileSchedulingRules(values map[string]any, groups []nodeGroup) []string {
	var bad []string
	for _, x := range at(values, "singleuser", "profileList").([]any) {
		pr := x.(map[string]any)
		o := pr["kubespawner_override"].(map[string]any)
		selector := map[string]any{}
		for k, v := range o["node_selector"].(map[string]any) {
			selector[k] = v
		}
		if at(values, "scheduling", "userPods", "nodeAffinity", "matchNodePurpose") == "require" {
			selector[hub.NodePurposeLabel] = "user"
		}
		tolerations := z2jhUserTolerations
		if t, ok := o["tolerations"].([]any); ok {
			tolerations = t
		}
		fits := false
		var why []string
		for _, g := range groups {
			if !selects(selector, g) {
				continue
			}
			ok := true
			for _, t := range g.taints {
				if t.effect == "NoSchedule" && !tolerates(tolerations, t) {
					why = append(why, fmt.Sprintf("%s does not tolerate %s=%s:%s of %s", pr["slug"], t.key, t.value, t.effect, g.name))
					ok = false
				}
			}
			for _, it := range g.types {
				cpu, mem, gpus, known := allocatable(it)
				if !known {
					why = append(why, "no spec for "+it+" in instanceSpecs")
					ok = false
					continue
				}
				if o["cpu_guarantee"].(float64) > cpu {
					why = append(why, fmt.Sprintf("%s guarantees %v cores, %s has %.1f allocatable", pr["slug"], o["cpu_guarantee"], it, cpu))
					ok = false
				}
				if m := kubeSpawnerBytes(o["mem_guarantee"].(string)); m > mem {
					why = append(why, fmt.Sprintf("%s guarantees %s, %s has %.1f GiB allocatable", pr["slug"], o["mem_guarantee"], it, mem/(1<<30)))
					ok = false
				}
				if lim, _ := o["extra_resource_limits"].(map[string]any); lim != nil {
					want, _ := strconv.Atoi(fmt.Sprint(lim["nvidia.com/gpu"]))
					if want > gpus {
						why = append(why, fmt.Sprintf("%s asks for %d GPUs, %s has %d", pr["slug"], want, it, gpus))
						ok = false
					}
				}
			}
			fits = fits || ok
		}
		if !fits {
			bad = append(bad, fmt.Sprintf("profile %v lands on no node group (selector %v): %s", pr["slug"], selector, strings.Join(why, "; ")))
		}
	}
	return bad
}

// kubeSpawnerBytes reads KubeSpawner's memory form (4G is 4*1024^3: kubespawner's ByteSpecification).
func kubeSpawnerBytes(s string) float64 {
	f, _ := strconv.ParseFloat(s[:len(s)-1], 64)
	return f * map[byte]float64{'K': 1 << 10, 'M': 1 << 20, 'G': 1 << 30, 'T': 1 << 40}[s[len(s)-1]]
}

func TestHubEveryProfileCanBeScheduled(t *testing.T) {
	for name, tpl := range hubInstances(t) {
		v, _ := helmValues(t, tpl, "jupyterhub")
		groups := nodeGroupsOf(tpl)
		assert.Empty(t, profileSchedulingRules(v, groups), name)
	}
	// The review's F15 fix without its toleration repeat: a GPU override with the GPU toleration only
	// replaces z2jh's, and the user taint is not tolerated.
	tpl := hubInstances(t)["example"]
	v, _ := helmValues(t, tpl, "jupyterhub")
	gpu := at(v, "singleuser", "profileList").([]any)[2].(map[string]any)["kubespawner_override"].(map[string]any)
	gpu["tolerations"] = gpu["tolerations"].([]any)[2:]
	assert.Contains(t, strings.Join(profileSchedulingRules(v, nodeGroupsOf(tpl)), "\n"), "gpu does not tolerate hub.jupyter.org/dedicated=user:NoSchedule of gpu")
	// A guarantee no instance type of its group can hold.
	v, _ = helmValues(t, tpl, "jupyterhub")
	at(v, "singleuser", "profileList").([]any)[0].(map[string]any)["kubespawner_override"].(map[string]any)["mem_guarantee"] = "31G"
	assert.Contains(t, strings.Join(profileSchedulingRules(v, nodeGroupsOf(tpl)), "\n"), "general guarantees 31G")
}

// TestHubNodeGroupsKeepSystemPodsOffUserNodes: z2jh user pods tolerate hub.jupyter.org/dedicated=user
// (values.yaml, scheduling.userPods.tolerations); a user group without that taint takes CoreDNS, the
// controllers and Dask pods, and the autoscaler then cannot remove its idle nodes (cluster-autoscaler
// FAQ: nodes running non-DaemonSet kube-system pods are not scaled down).
func TestHubNodeGroupsKeepSystemPodsOffUserNodes(t *testing.T) {
	for name, tpl := range hubInstances(t) {
		for _, g := range nodeGroupsOf(tpl) {
			userTaint := taint{hub.UserTaintKey, "user", "NoSchedule"}
			if g.labels[hub.NodePurposeLabel] == "user" {
				assert.Contains(t, g.taints, userTaint, "%s: group %s", name, g.name)
			} else {
				assert.NotContains(t, g.taints, userTaint, "%s: group %s", name, g.name)
			}
		}
	}
}

// TestHubDaskPodsLandOnUserNodesWithoutMetadata: dask-gateway 2026.3.0 deep-merges
// gateway.backend.{scheduler,worker}.extraPodConfig into the pod spec, appending lists
// (dask_gateway_server/backends/kubernetes/utils.py, merge_json_objects); the pods have no placement of
// their own. They must run on user nodes and, like user servers (z2jh's singleuser.cloudMetadata), not
// reach the node role's credentials at 169.254.169.254 (the nodes' hop limit is 2).
func TestHubDaskPodsLandOnUserNodesWithoutMetadata(t *testing.T) {
	tpl := hubInstances(t)["example"]
	dask, _ := helmValues(t, tpl, "dask-gateway")
	groups := nodeGroupsOf(tpl)
	for _, kind := range []string{"scheduler", "worker"} {
		pod := at(dask, "gateway", "backend", kind, "extraPodConfig").(map[string]any)
		selector := pod["nodeSelector"].(map[string]any)
		landing := 0
		for _, g := range groups {
			if !selects(selector, g) {
				continue
			}
			assert.Equal(t, "user", g.labels[hub.NodePurposeLabel], "%s pods on %s", kind, g.name)
			ok := true
			for _, tn := range g.taints {
				ok = ok && tolerates(pod["tolerations"].([]any), tn)
			}
			if ok {
				landing++
			}
		}
		assert.Positive(t, landing, "%s pods can land on some user group", kind)
		init := pod["initContainers"].([]any)[0].(map[string]any)
		assert.Equal(t, "169.254.169.254", init["command"].([]any)[6], kind)
		assert.Equal(t, []any{"NET_ADMIN"}, at(init, "securityContext", "capabilities", "add"), kind)
		// The image z2jh's own block-cloud-metadata init container uses, at the chart's version.
		v, chart := helmValues(t, tpl, "jupyterhub")
		_ = v
		assert.Equal(t, "quay.io/jupyterhub/k8s-network-tools:"+propsOf(chart)["Version"].(string), init["image"], kind)
	}
}

// TestHubDevicePluginRunsOnEveryGPUGroup: EKS user guide (ml-eks-k8s-device-plugin): AL2023 NVIDIA
// nodes advertise nvidia.com/gpu only through NVIDIA's device plugin. Its chart (v0.17.4 values.yaml)
// requires node-feature-discovery labels by default and tolerates only nvidia.com/gpu; ours must be
// placed by labels our GPU groups carry and tolerate all their taints.
func TestHubDevicePluginRunsOnEveryGPUGroup(t *testing.T) {
	tpl := hubInstances(t)["example"]
	v, chart := helmValues(t, tpl, "nvidia-device-plugin")
	require.NotNil(t, chart, "a GPU group needs the device plugin")
	assert.NotEqual(t, "default", propsOf(chart)["Namespace"], "the chart refuses the default namespace (templates/validation.yml)")
	terms := at(v, "affinity", "nodeAffinity", "requiredDuringSchedulingIgnoredDuringExecution", "nodeSelectorTerms").([]any)
	gpuGroups := 0
	for _, g := range nodeGroupsOf(tpl) {
		if g.labels[hub.AcceleratorLabel] == "" && !slices.ContainsFunc(g.taints, func(x taint) bool { return x.key == hub.GPUTaintKey }) {
			continue
		}
		gpuGroups++
		matched := false
		for _, term := range terms {
			all := true
			for _, e := range term.(map[string]any)["matchExpressions"].([]any) {
				m := e.(map[string]any)
				all = all && m["operator"] == "In" && slices.Contains(m["values"].([]any), any(g.labels[m["key"].(string)]))
			}
			matched = matched || all
		}
		assert.True(t, matched, "the plugin's affinity matches group %s", g.name)
		for _, tn := range g.taints {
			assert.True(t, tolerates(v["tolerations"].([]any), tn), "the plugin tolerates %v on %s", tn, g.name)
		}
	}
	assert.Equal(t, 1, gpuGroups)

	// Without a GPU group there is no plugin.
	built, _ := buildInstance(t, "cpuhub", hubEnv)
	assert.NotContains(t, stackJSON(t, built.Hub.Stack), "nvidia-device-plugin")
}

// ---- Secrets: what each pod reads exists in its namespace, and no secret passes through a log ----

// TestHubSecretsEveryPodReadsExistInItsNamespace: a secretKeyRef resolves in the pod's own namespace
// (the Kubernetes API: EnvVarSource.secretKeyRef "selects a key of a secret in the pod's namespace").
//   - The hub (release jupyterhub, namespace jhub) reads OAUTH_CLIENT_SECRET from hub-cognito-client, which the
//     cluster-ops resource writes in its Namespace.
//   - dask-gateway 2026.3.0's API pod reads gateway.auth.jupyterhub.apiTokenFromSecretName/Key (default
//     hub / hub.services.dask-gateway.apiToken, values.yaml) in its release namespace; z2jh 4.4.0 writes
//     hub.services.<name>.apiToken into its secret "hub" (templates/hub/secret.yaml) for each
//     hub.services entry, so the two releases must share a namespace and the service must be declared.
func TestHubSecretsEveryPodReadsExistInItsNamespace(t *testing.T) {
	tpl := hubInstances(t)["example"]
	v, jh := helmValues(t, tpl, "jupyterhub")
	ns := propsOf(jh)["Namespace"]
	ref := at(v, "hub", "extraEnv", "OAUTH_CLIENT_SECRET", "valueFrom", "secretKeyRef").(map[string]any)
	found := false
	for _, r := range resourcesOf(tpl) {
		if r["Type"] == "Custom::HubClusterOps" {
			p := propsOf(r)
			found = p["Namespace"] == ns && p["SecretName"] == ref["name"] && p["SecretKey"] == ref["key"]
		}
	}
	assert.True(t, found, "hub-cognito-client/client-secret is written in %v", ns)

	dask, dg := helmValues(t, tpl, "dask-gateway")
	require.NotNil(t, dg)
	assert.Equal(t, ns, propsOf(dg)["Namespace"], "dask-gateway reads the hub secret of its own namespace")
	jhAuth := at(dask, "gateway", "auth", "jupyterhub").(map[string]any)
	assert.NotContains(t, jhAuth, "apiTokenFromSecretName", "the chart's default, hub, is the secret z2jh writes")
	assert.NotContains(t, jhAuth, "apiToken", "a token in the values would be logged by the kubectl provider")
	assert.Contains(t, at(v, "hub", "services").(map[string]any), "dask-gateway", "z2jh generates hub.services.dask-gateway.apiToken")
}

// secretLeaks lists the places in a template where a secret value or a reference to one is handed to
// the CDK's kubectl provider, whose handler logs every event it receives (kubectl-handler index.py:
// print(json.dumps(event)); apply/__init__.py: logger.info(json.dumps(event))).
func secretLeaks(tpl map[string]any) []string {
	var bad []string
	leak := regexp.MustCompile(`resolve:secretsmanager|resolve:ssm-secure|DescribeCognitoUserPoolClient|ClientSecret`)
	for id, r := range resourcesOf(tpl) {
		switch r["Type"] {
		case "Custom::AWSCDK-EKS-KubernetesResource", "Custom::AWSCDK-EKS-HelmChart", "Custom::AWSCDK-EKS-KubernetesPatch":
			raw, _ := json.Marshal(propsOf(r))
			if m := leak.FindString(string(raw)); m != "" {
				bad = append(bad, id+": "+m)
			}
		}
	}
	return bad
}

func TestHubNoSecretPassesThroughTheKubectlProvider(t *testing.T) {
	for name, tpl := range hubInstances(t) {
		assert.Empty(t, secretLeaks(tpl), name)
		// Nor through the cluster-ops resource: its properties are IDs.
		for id, r := range resourcesOf(tpl) {
			if r["Type"] == "Custom::HubClusterOps" {
				raw, _ := json.Marshal(propsOf(r))
				assert.NotRegexp(t, `resolve:|ClientSecret|DescribeCognitoUserPoolClient`, string(raw), id)
			}
		}
	}
	// The hub before the review: the client secret in a manifest.
	old := map[string]any{"Resources": map[string]any{"HubSecrets": map[string]any{"Type": "Custom::AWSCDK-EKS-KubernetesResource",
		"Properties": map[string]any{"Manifest": map[string]any{"Fn::Join": []any{"", []any{`"client-secret":"`,
			map[string]any{"Fn::GetAtt": []any{"HubOAuthClientDescribeCognitoUserPoolClient123", "UserPoolClient.ClientSecret"}}}}}}}}}
	assert.Len(t, secretLeaks(old), 1)
}

// ---- EFS: the mount is authorized ----

// efsMountRules: efs-utils mounts anonymously unless the mount options have iam (aws-efs-csi-driver
// docs/parameters.md: "iam: Use the CSI Node Pod's IAM identity"). An anonymous mount needs the file
// system policy to allow ClientMount to every principal; @aws-cdk/aws-efs:denyAnonymousAccess writes a
// policy that does not (EFS user guide, "Creating file system policies": the preset "removes ClientMount").
// An IAM mount needs an identity allowed ClientMount and ClientWrite: efs-csi-node runs on the host
// network with no Pod Identity association here, so efs-utils (aws_credentials.py) falls back to the
// node's instance role.
func efsMountRules(tpl map[string]any, mountOptions []any) []string {
	var bad []string
	res := resourcesOf(tpl)
	fsID := ""
	anonymousMount := false
	for id, r := range res {
		if r["Type"] == "AWS::EFS::FileSystem" {
			fsID = id
			raw, _ := json.Marshal(propsOf(r)["FileSystemPolicy"])
			anonymousMount = strings.Contains(string(raw), "elasticfilesystem:ClientMount")
		}
	}
	if !slices.Contains(mountOptions, any("iam")) {
		if !anonymousMount {
			bad = append(bad, "anonymous mount (no iam option), but the file system policy allows no anonymous ClientMount")
		}
		return bad
	}
	// Each user group's role may ClientMount and ClientWrite this file system.
	for _, r := range res {
		if r["Type"] != "AWS::EKS::Nodegroup" || propsOf(r)["Labels"].(map[string]any)[hub.NodePurposeLabel] != "user" {
			continue
		}
		roleID := propsOf(r)["NodeRole"].(map[string]any)["Fn::GetAtt"].([]any)[0].(string)
		actions := map[string]bool{}
		for _, p := range res {
			if p["Type"] != "AWS::IAM::Policy" || !strings.Contains(fmt.Sprint(propsOf(p)["Roles"]), roleID) {
				continue
			}
			for _, s := range propsOf(p)["PolicyDocument"].(map[string]any)["Statement"].([]any) {
				st := s.(map[string]any)
				raw, _ := json.Marshal(st["Resource"])
				if st["Effect"] != "Allow" || !strings.Contains(string(raw), fsID) {
					continue
				}
				for _, a := range asList(st["Action"]) {
					actions[a.(string)] = true
				}
			}
		}
		for _, a := range []string{"elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"} {
			if !actions[a] {
				bad = append(bad, fmt.Sprintf("node group %s's role may not %s the home file system", propsOf(r)["NodegroupName"], a))
			}
		}
	}
	return bad
}

func asList(v any) []any {
	if l, ok := v.([]any); ok {
		return l
	}
	return []any{v}
}

// storageClass returns the parameters of a StorageClass manifest in a template.
func storageClass(t *testing.T, tpl map[string]any, name string) map[string]any {
	for _, r := range resourcesOf(tpl) {
		if r["Type"] != "Custom::AWSCDK-EKS-KubernetesResource" {
			continue
		}
		var manifests []map[string]any
		if json.Unmarshal([]byte(flatten(propsOf(r)["Manifest"])), &manifests) != nil {
			continue
		}
		for _, m := range manifests {
			if m["kind"] == "StorageClass" && at(m, "metadata", "name") == name {
				return m
			}
		}
	}
	t.Fatalf("no StorageClass %s", name)
	return nil
}

func TestHubEFSHomesCanBeMounted(t *testing.T) {
	tpl := hubInstances(t)["example"]
	sc := storageClass(t, tpl, hub.EFSStorageClass)
	assert.Empty(t, efsMountRules(tpl, sc["mountOptions"].([]any)))
	// The hub before the review: TLS only, so an anonymous mount the policy refuses.
	assert.Len(t, efsMountRules(tpl, []any{"tls"}), 1)
}

// ---- The cluster autoscaler may read what it needs ----

// iamMatches is IAM's resource matching: * matches any run of characters, ? one.
func iamMatches(pattern, arn string) bool {
	re := "^" + strings.NewReplacer(`\*`, ".*", `\?`, ".").Replace(regexp.QuoteMeta(pattern)) + "$"
	return regexp.MustCompile(re).MatchString(arn)
}

// resolveArn substitutes the pseudo parameters of the example's environment into a flattened ARN.
func resolveArn(s string) string {
	return strings.NewReplacer("<Ref:'AWS::Partition'>", "aws", "<Ref:'AWS::Region'>", "us-east-1", "<Ref:'AWS::AccountId'>", "123456789012").Replace(s)
}

// TestHubAutoscalerMayDescribeEveryNodeGroup: cluster-autoscaler 1.35 builds the template node of an
// empty managed group from eks:DescribeNodegroup (cloudprovider/aws/aws_manager.go; README: it is called
// only for groups created with 0 nodes), and IAM checks that call against the node group's ARN,
// arn:${Partition}:eks:${Region}:${Account}:nodegroup/${ClusterName}/${NodegroupName}/${UUID} (IAM
// service authorization reference, Amazon EKS). Without it, groups at min 0 never scale up.
func TestHubAutoscalerMayDescribeEveryNodeGroup(t *testing.T) {
	tpl := hubInstances(t)["example"]
	res := resourcesOf(tpl)
	// The autoscaler's identity: the role its service account is associated with.
	role := ""
	for _, r := range res {
		if r["Type"] == "AWS::EKS::PodIdentityAssociation" && propsOf(r)["ServiceAccount"] == "cluster-autoscaler" {
			role = propsOf(r)["RoleArn"].(map[string]any)["Fn::GetAtt"].([]any)[0].(string)
		}
	}
	require.NotEmpty(t, role)
	var resources []string
	for _, r := range res {
		if r["Type"] != "AWS::IAM::Policy" || !strings.Contains(fmt.Sprint(propsOf(r)["Roles"]), role) {
			continue
		}
		for _, s := range propsOf(r)["PolicyDocument"].(map[string]any)["Statement"].([]any) {
			st := s.(map[string]any)
			if slices.Contains(asList(st["Action"]), any("eks:DescribeNodegroup")) {
				for _, res := range asList(st["Resource"]) {
					resources = append(resources, resolveArn(flatten(res)))
				}
			}
		}
	}
	require.NotEmpty(t, resources)
	for _, g := range nodeGroupsOf(tpl) {
		arn := "arn:aws:eks:us-east-1:123456789012:nodegroup/example-cluster/" + g.name + "/8ac5e4d4-9d1f-4b3a-a0f5-2b6f8e3c1d7a"
		assert.True(t, slices.ContainsFunc(resources, func(p string) bool { return iamMatches(p, arn) }), "%s: %v", arn, resources)
	}
	// The review's F5: <cluster ARN>/* matches no node group.
	assert.False(t, iamMatches("arn:aws:eks:us-east-1:123456789012:cluster/example-cluster/*",
		"arn:aws:eks:us-east-1:123456789012:nodegroup/example-cluster/general/8ac5e4d4"))
}

// ---- Ordering: create and destroy ----

// dependsOn lists a resource's DependsOn.
func dependsOn(r map[string]any) []string {
	var out []string
	for _, d := range asList(r["DependsOn"]) {
		if s, ok := d.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func logicalIDOf(t *testing.T, tpl map[string]any, match func(map[string]any) bool) string {
	for id, r := range resourcesOf(tpl) {
		if match(r) {
			return id
		}
	}
	t.Fatal("no such resource")
	return ""
}

func chartID(t *testing.T, tpl map[string]any, chart string) string {
	return logicalIDOf(t, tpl, func(r map[string]any) bool {
		return r["Type"] == "Custom::AWSCDK-EKS-HelmChart" && propsOf(r)["Chart"] == chart
	})
}

// TestHubChartsWaitForTheLoadBalancerController: the AWS Load Balancer Controller chart 1.17.1 registers
// a MutatingWebhookConfiguration on every Service and a ValidatingWebhookConfiguration on every Ingress
// with failurePolicy: Fail (templates/webhook.yaml): a chart that creates a Service before the
// controller's pods serve the webhook fails to install. On destroy, the controller must outlive the
// Ingress, or its load balancer, target groups and security groups are orphaned.
func TestHubChartsWaitForTheLoadBalancerController(t *testing.T) {
	tpl := hubInstances(t)["example"]
	alb := chartID(t, tpl, "aws-load-balancer-controller")
	for _, chart := range []string{"jupyterhub", "dask-gateway"} {
		assert.Contains(t, dependsOn(resourcesOf(tpl)[chartID(t, tpl, chart)]), alb, chart)
	}
}

// TestHubDestroyRemovesWhatControllersMade: on delete, CloudFormation removes a resource before what it
// depends on. The cluster-ops resource's delete waits for the Ingress (the controller's finalizer holds
// it until the load balancer is deleted) and, in development, deletes claims so the CSI drivers delete
// volumes and access points; so it must be deleted after the JupyterHub release and before the
// controller, the CSI add-ons, the nodes that run them, the home file system's mount targets and NFS
// rule, and the logs bucket (whose auto-delete empties it: it must not run
// while the load balancer still writes).
func TestHubDestroyRemovesWhatControllersMade(t *testing.T) {
	tpl := hubInstances(t)["example"]
	res := resourcesOf(tpl)
	ops := logicalIDOf(t, tpl, func(r map[string]any) bool { return r["Type"] == "Custom::HubClusterOps" })
	assert.Contains(t, dependsOn(res[chartID(t, tpl, "jupyterhub")]), ops)
	deps := dependsOn(res[ops])
	assert.Contains(t, deps, chartID(t, tpl, "aws-load-balancer-controller"))
	for id, r := range res {
		switch r["Type"] {
		case "AWS::EKS::Nodegroup", "AWS::EKS::Addon", "Custom::S3AutoDeleteObjects", "AWS::DLM::LifecyclePolicy", "AWS::EKS::AccessEntry",
			// Without its mount targets and NFS rule, a user pod hangs in NFS I/O and its claim is never released.
			"AWS::EFS::MountTarget":
			if r["Type"] == "AWS::EKS::AccessEntry" && !strings.Contains(id, "ClusterOps") {
				continue
			}
			assert.Contains(t, deps, id, "%s is deleted after the cluster-ops resource", id)
		case "AWS::S3::Bucket":
			if strings.HasPrefix(id, "HubLogsBucket") {
				assert.Contains(t, deps, id)
			}
		case "AWS::EC2::SecurityGroupIngress":
			if propsOf(r)["FromPort"] == 2049.0 {
				assert.Contains(t, deps, id, "the NFS rule of the home file system")
			}
		}
	}
}

// TestHubClusterAutoscalerMatchesTheKubernetesMinor: "use the matching minor version of cluster
// autoscaler" (kubernetes/autoscaler README). appVersions from the chart index (gh-pages index.yaml):
// 9.53.0 is 1.34.2, 9.59.0 is 1.35.0; no chart has 1.36, so 1.36 sets the image tag.
func TestHubClusterAutoscalerMatchesTheKubernetesMinor(t *testing.T) {
	appVersion := map[string]string{"9.53.0": "1.34.2", "9.59.0": "1.35.0"}
	for _, k := range []string{"1.34", "1.35", "1.36"} {
		built, _ := buildInstance(t, "k"+strings.ReplaceAll(k, ".", ""), hubEnv+"  kubernetes_version: \""+k+"\"\n")
		tpl := map[string]any{}
		require.NoError(t, json.Unmarshal([]byte(stackJSON(t, built.Hub.Stack)), &tpl))
		v, chart := helmValues(t, tpl, "cluster-autoscaler")
		app := appVersion[propsOf(chart)["Version"].(string)]
		if img, ok := v["image"].(map[string]any); ok {
			app = strings.TrimPrefix(img["tag"].(string), "v")
		}
		assert.True(t, strings.HasPrefix(app, k+"."), "Kubernetes %s runs cluster autoscaler %s", k, app)
	}
}

// ---- Tags on what controllers create ----

// addonConfigurationKeys are the configurationValues keys each EKS add-on's schema is known to accept
// (aws eks describe-addon-configuration): an unknown key fails the add-on, and the stack with it. The
// EBS CSI driver's schema has controller.extraVolumeTags (aws/amazon-vpc-cni-k8s#2272 quotes it); the
// EFS CSI driver's controller block is additionalProperties: false without tags
// (aws/containers-roadmap#2582, #2755).
var addonConfigurationKeys = map[string][]string{
	"aws-ebs-csi-driver": {"controller.extraVolumeTags"},
	"aws-efs-csi-driver": {},
}

// configurationKeys lists the dotted paths of a configurationValues document down to its leaves or
// maps of tags (a key under extraVolumeTags is a tag, not a schema key).
func configurationKeys(prefix string, v any) []string {
	m, ok := v.(map[string]any)
	if !ok || strings.HasSuffix(prefix, "Tags") {
		return []string{prefix}
	}
	var out []string
	for k, x := range m {
		p := k
		if prefix != "" {
			p = prefix + "." + k
		}
		out = append(out, configurationKeys(p, x)...)
	}
	return out
}

func TestHubAddOnsTakeOnlyConfigurationTheirSchemaHas(t *testing.T) {
	for id, r := range resourcesOf(hubInstances(t)["example"]) {
		if r["Type"] != "AWS::EKS::Addon" {
			continue
		}
		name := propsOf(r)["AddonName"].(string)
		raw, ok := propsOf(r)["ConfigurationValues"].(string)
		if !ok {
			continue
		}
		var cfg any
		require.NoError(t, json.Unmarshal([]byte(raw), &cfg))
		allowed, known := addonConfigurationKeys[name]
		require.True(t, known, "%s: add-on %s is configured, but its schema is not recorded in addonConfigurationKeys", id, name)
		for _, k := range configurationKeys("", cfg) {
			assert.Contains(t, allowed, k, "%s: %s is not in the %s add-on's configuration schema", id, k, name)
		}
	}
	// The review's EFS tags.
	assert.NotContains(t, addonConfigurationKeys["aws-efs-csi-driver"], configurationKeys("", map[string]any{"controller": map[string]any{"tags": "a:b"}})[0])
}

func TestHubControllersTagWhatTheyCreate(t *testing.T) {
	tpl := hubInstances(t)["example"]
	v, _ := helmValues(t, tpl, "jupyterhub")
	// alb.ingress.kubernetes.io/tags: comma-separated k=v (controller docs, guide/ingress/annotations.md).
	assert.Equal(t, "Owner=research-computing,stratolab:instance=example", at(v, "ingress", "annotations", "alb.ingress.kubernetes.io/tags"))
	albValues, _ := helmValues(t, tpl, "aws-load-balancer-controller")
	// defaultTags: a map (chart 1.17.1 values.yaml), rendered as --default-tags.
	assert.Equal(t, map[string]any{"stratolab:instance": "example", "Owner": "research-computing"}, albValues["defaultTags"])
	// EBS volumes: extraVolumeTags, a map of tags (chart values.yaml; validation.go refuses keys that
	// start with kubernetes.io or ebs.csi.aws.com/).
	for _, r := range resourcesOf(tpl) {
		if r["Type"] == "AWS::EKS::Addon" && propsOf(r)["AddonName"] == "aws-ebs-csi-driver" {
			var cfg map[string]any
			require.NoError(t, json.Unmarshal([]byte(propsOf(r)["ConfigurationValues"].(string)), &cfg))
			for k := range at(cfg, "controller", "extraVolumeTags").(map[string]any) {
				assert.False(t, strings.HasPrefix(k, "kubernetes.io") || strings.HasPrefix(k, "ebs.csi.aws.com/"), k)
			}
			assert.Equal(t, "example", at(cfg, "controller", "extraVolumeTags", "stratolab:instance"))
		}
	}
}

// stackJSON is a stack's synthesized template as JSON.
func stackJSON(t *testing.T, s awscdk.Stack) string {
	raw, err := json.Marshal(template(s).ToJSON())
	require.NoError(t, err)
	return string(raw)
}

// TestHubOpsResourcesAreOnesTheFunctionAccepts: the cluster-ops and node group size resources are read
// by functions/hubops, which refuses an unknown, missing or malformed property (internal/hubops
// ParseProps and ParseNodegroupSize): a mismatch would fail the create at deploy time. Attributes that
// CloudFormation resolves are given values of their deployed form (EKS's certificateAuthority.data is
// base64-encoded PEM).
func TestHubOpsResourcesAreOnesTheFunctionAccepts(t *testing.T) {
	pem := base64.StdEncoding.EncodeToString([]byte("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"))
	seen := map[string]int{}
	for id, r := range resourcesOf(hubInstances(t)["example"]) {
		props := map[string]any{}
		for k, v := range propsOf(r) {
			props[k] = flatten(v)
		}
		switch r["Type"] {
		case "Custom::HubClusterOps":
			props["CertificateAuthority"] = pem
			p, err := hubops.ParseProps(props)
			assert.NoError(t, err, id)
			assert.True(t, hubops.IsPhysicalID(hubops.PhysicalID(p)))
		case hubops.NodegroupSizeType:
			_, err := hubops.ParseNodegroupSize(props)
			assert.NoError(t, err, id)
		default:
			continue
		}
		seen[r["Type"].(string)]++
	}
	assert.Equal(t, map[string]int{"Custom::HubClusterOps": 1, hubops.NodegroupSizeType: 3}, seen)
}

// TestHubNodeGroupsKeepTheirSizeWhenMinOrMaxChange: CloudFormation sends a node group's whole
// ScalingConfig when min or max change, and EKS then sets the desired size to the template's
// ("Whenever this parameter changes, the number of worker nodes in the node group is updated to the
// specified size", EKS API reference, NodegroupScalingConfig), terminating nodes that run user servers.
// The desired size therefore comes from the size resource, which answers with the group's current one.
func TestHubNodeGroupsKeepTheirSizeWhenMinOrMaxChange(t *testing.T) {
	res := resourcesOf(hubInstances(t)["example"])
	for id, r := range res {
		if r["Type"] != "AWS::EKS::Nodegroup" {
			continue
		}
		sc := propsOf(r)["ScalingConfig"].(map[string]any)
		getAtt, ok := sc["DesiredSize"].(map[string]any)["Fn::GetAtt"].([]any)
		require.True(t, ok, "%s: DesiredSize is %v, a literal", id, sc["DesiredSize"])
		size := res[getAtt[0].(string)]
		assert.Equal(t, hubops.NodegroupSizeType, size["Type"], id)
		assert.Equal(t, propsOf(r)["NodegroupName"], propsOf(size)["NodegroupName"], id)
		assert.Equal(t, fmt.Sprint(sc["MinSize"]), propsOf(size)["MinSize"], id)
		assert.Equal(t, fmt.Sprint(sc["MaxSize"]), propsOf(size)["MaxSize"], id)
	}
}
