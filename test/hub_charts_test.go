package test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stratolab/stratolab/constructs/hub"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

// ---- Rendered charts: the Hub stack's Helm releases through `helm template` ----
//
// The other hub tests check our values against what the charts' docs and values.yaml say; these render
// the values with the charts themselves, with the helm the kubectl layer ships (v4.1.4), and check the
// objects Kubernetes would get. A chart's source is not part of this project: `make charts-check`
// lays the pinned versions out under .build/charts from git mirrors (scripts/charts-from-mirrors.sh)
// and extracts helm to .build/helm; without them these tests skip.

const (
	renderedChartsDir = "../.build/charts"
	renderHelm        = "../.build/helm/helm"
)

// chartRender is one release rendered: the HelmChart resource's properties and the objects.
type chartRender struct {
	props   map[string]any
	objects []map[string]any
}

var (
	renderMu    sync.Mutex
	renderCache = map[string]*chartRender{}
)

// helmChartProps returns the properties of the HelmChart resource that installs chart in an instance's
// Hub stack.
func helmChartProps(t *testing.T, instance, chart string) map[string]any {
	for _, r := range resourcesOf(synth(t, instance).templates["Hub"]) {
		if r["Type"] == "Custom::AWSCDK-EKS-HelmChart" && propsOf(r)["Chart"] == chart {
			return propsOf(r)
		}
	}
	t.Fatalf("no %s chart in %s/Hub", chart, instance)
	return nil
}

// renderChart renders a release of an instance's Hub stack with `helm template`, once per run (so that
// the tokens a chart generates are the same in every test), or skips when the chart or helm is absent.
func renderChart(t *testing.T, instance, chart string) *chartRender {
	t.Helper()
	props := helmChartProps(t, instance, chart)
	version, _ := props["Version"].(string)
	dir := filepath.Join(renderedChartsDir, chart+"-"+version)
	if _, err := os.Stat(filepath.Join(dir, "Chart.yaml")); err != nil {
		t.Skipf("chart %s not at .build/charts/%s-%s (run make charts-check)", chart, chart, version)
	}
	if _, err := os.Stat(renderHelm); err != nil {
		t.Skipf("helm not at .build/helm/helm (run make charts-check)")
	}
	renderMu.Lock()
	defer renderMu.Unlock()
	key := instance + "/" + chart
	if r, ok := renderCache[key]; ok {
		return r
	}
	release, _ := props["Release"].(string)
	namespace, _ := props["Namespace"].(string)
	require.NotEmpty(t, release, "the %s HelmChart names its release", chart)
	require.NotEmpty(t, namespace, "the %s HelmChart names its namespace", chart)
	values, err := json.Marshal(chartValues(t, instance, chart))
	require.NoError(t, err)
	file := filepath.Join(t.TempDir(), "values.json") // JSON is YAML
	require.NoError(t, os.WriteFile(file, values, 0o644))
	// The cluster's Kubernetes version: charts choose API versions and check kubeVersion by it.
	kube := clusterVersion(t, instance) + ".0"
	cmd := exec.Command(renderHelm, "template", release, dir, "--namespace", namespace, "--kube-version", kube, "-f", file)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "helm template %s %s --namespace %s --kube-version %s:\n%s", release, dir, namespace, kube, stderr.String())
	r := &chartRender{props: props}
	dec := yaml.NewDecoder(bytes.NewReader(out))
	for {
		var obj map[string]any
		err := dec.Decode(&obj)
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err, "helm's output for %s is YAML", chart)
		if obj != nil {
			r.objects = append(r.objects, obj)
		}
	}
	renderCache[key] = r
	return r
}

// clusterVersion is the EKS cluster's Kubernetes version (1.35) in an instance's Hub stack.
func clusterVersion(t *testing.T, instance string) string {
	for _, r := range resourcesOf(synth(t, instance).templates["Hub"]) {
		if r["Type"] == "AWS::EKS::Cluster" {
			if v, ok := propsOf(r)["Version"].(string); ok {
				return v
			}
		}
	}
	t.Fatalf("no AWS::EKS::Cluster with a Version in %s/Hub", instance)
	return ""
}

// namespace is where a rendered release's namespaced objects go: their metadata.namespace, else the
// release's (what `helm install --namespace` applies them to).
func (r *chartRender) namespace(obj map[string]any) string {
	if ns, ok := at(obj, "metadata").(map[string]any)["namespace"].(string); ok {
		return ns
	}
	return r.props["Namespace"].(string)
}

// object returns the rendered object of a kind and name.
func (r *chartRender) object(t *testing.T, kind, name string) map[string]any {
	t.Helper()
	var have []string
	for _, o := range r.objects {
		n, _ := at(o, "metadata").(map[string]any)["name"].(string)
		if o["kind"] == kind && n == name {
			return o
		}
		have = append(have, fmt.Sprintf("%v/%s", o["kind"], n))
	}
	t.Fatalf("the %s chart renders no %s %q (it renders %v)", r.props["Chart"], kind, name, have)
	return nil
}

// ofKind returns the rendered objects of a kind.
func (r *chartRender) ofKind(kind string) []map[string]any {
	var out []map[string]any
	for _, o := range r.objects {
		if o["kind"] == kind {
			out = append(out, o)
		}
	}
	return out
}

// podSpec returns a workload's pod spec (Deployment, DaemonSet, StatefulSet).
func podSpec(obj map[string]any) map[string]any {
	return at(obj, "spec", "template", "spec").(map[string]any)
}

// k8sContainer returns a container of a workload by name.
func k8sContainer(t *testing.T, obj map[string]any, name string) map[string]any {
	t.Helper()
	for _, c := range listOf(podSpec(obj)["containers"]) {
		if c.(map[string]any)["name"] == name {
			return c.(map[string]any)
		}
	}
	t.Fatalf("%v %v has no container %s", obj["kind"], at(obj, "metadata", "name"), name)
	return nil
}

// k8sEnv returns a container's env entry by name, or nil.
func k8sEnv(c map[string]any, name string) map[string]any {
	for _, e := range listOf(c["env"]) {
		if e.(map[string]any)["name"] == name {
			return e.(map[string]any)
		}
	}
	return nil
}

// secretValue returns a key of a rendered Secret, from data (base64) or stringData, and whether it is set.
func secretValue(t *testing.T, secret map[string]any, key string) (string, bool) {
	if v, ok := asMap(secret["stringData"])[key].(string); ok {
		return v, true
	}
	v, ok := asMap(secret["data"])[key].(string)
	if !ok {
		return "", false
	}
	b, err := base64.StdEncoding.DecodeString(v)
	require.NoError(t, err, "Secret %v data %s is base64", at(secret, "metadata", "name"), key)
	return string(b), true
}

// z2jhValues returns the values a rendered JupyterHub release's hub reads: templates/hub/secret.yaml
// writes the chart's values, merged over values.yaml, to the hub Secret's values.yaml, and
// files/hub/z2jh.py (get_config) reads them from there.
func z2jhValues(t *testing.T, jh *chartRender) map[string]any {
	raw, ok := secretValue(t, jh.object(t, "Secret", "hub"), "values.yaml")
	require.True(t, ok, "the hub Secret holds values.yaml")
	var v map[string]any
	require.NoError(t, yaml.Unmarshal([]byte(raw), &v))
	return v
}

// serviceHasPort reports whether a rendered Service listens on a port.
func serviceHasPort(svc map[string]any, port int) bool {
	for _, p := range listOf(at(svc, "spec", "ports")) {
		if p.(map[string]any)["port"] == port {
			return true
		}
	}
	return false
}

// serviceURL splits a cluster-internal URL, http://NAME.NAMESPACE[:PORT]/..., into the Service's name,
// namespace and port (80 for http when the URL has none).
func serviceURL(t *testing.T, raw string) (name, namespace string, port int) {
	t.Helper()
	u, err := url.Parse(raw)
	require.NoError(t, err, raw)
	host := strings.Split(u.Hostname(), ".")
	require.Len(t, host, 2, "%s names a Service as NAME.NAMESPACE", raw)
	port = 80
	if u.Port() != "" {
		_, err := fmt.Sscan(u.Port(), &port)
		require.NoError(t, err, raw)
	}
	return host[0], host[1], port
}

// TestHubChartsRenderJupyterHub renders the JupyterHub release with z2jh 4.4.0.
func TestHubChartsRenderJupyterHub(t *testing.T) {
	r := renderChart(t, "example", "jupyterhub")
	values := chartValues(t, "example", "jupyterhub")
	// helm template validates the values against values.schema.json (generated from values.schema.yaml)
	// before it renders anything: renderChart returning means the schema accepts ours.

	// The cluster-ops resource writes the client secret to SecretName/SecretKey in Namespace, and on
	// delete waits for the Ingress IngressName there (internal/hubops).
	tpl := synth(t, "example").templates["Hub"]
	ops := propsOf(resourcesOf(tpl)[logicalIDOf(t, tpl, func(r map[string]any) bool { return r["Type"] == "Custom::HubClusterOps" })])

	hubDeploy := r.object(t, "Deployment", "hub")
	hubC := k8sContainer(t, hubDeploy, "hub")
	// oauthenticator 17.4.0 reads client_secret from $OAUTH_CLIENT_SECRET (oauth2.py, _client_secret_default);
	// templates/hub/deployment.yaml renders hub.extraEnv into the hub container's env.
	env := k8sEnv(hubC, "OAUTH_CLIENT_SECRET")
	require.NotNil(t, env, "the hub container has OAUTH_CLIENT_SECRET")
	assert.Equal(t, map[string]any{"name": ops["SecretName"], "key": ops["SecretKey"]}, at(env, "valueFrom", "secretKeyRef"),
		"the hub reads the secret cluster-ops writes")
	assert.Equal(t, map[string]any{"name": hub.OAuthSecretName, "key": hub.OAuthSecretKey}, at(env, "valueFrom", "secretKeyRef"))
	assert.Nil(t, env["value"], "OAUTH_CLIENT_SECRET comes from the secret only")
	// A secretKeyRef resolves in the pod's namespace (templates/hub/deployment.yaml sets none: the release's).
	assert.Equal(t, ops["Namespace"], r.namespace(hubDeploy), "the hub runs where cluster-ops writes its secret")

	// templates/hub/secret.yaml: the hub Secret holds the chart's values (values.yaml) and, for each
	// hub.services entry, hub.services.<name>.apiToken, which the hub registers as the service's token.
	secret := r.object(t, "Secret", "hub")
	for name := range values["hub"].(map[string]any)["services"].(map[string]any) {
		_, ok := secretValue(t, secret, "hub.services."+name+".apiToken")
		assert.True(t, ok, "the hub Secret holds a token for service %s", name)
	}
	// files/hub/z2jh.py (_load_config) reads /usr/local/etc/jupyterhub/secret/values.yaml; templates/hub/
	// deployment.yaml mounts the hub Secret there.
	mounted := ""
	for _, m := range listOf(hubC["volumeMounts"]) {
		if m.(map[string]any)["mountPath"] == "/usr/local/etc/jupyterhub/secret/" {
			for _, v := range listOf(podSpec(hubDeploy)["volumes"]) {
				if v.(map[string]any)["name"] == m.(map[string]any)["name"] {
					mounted, _ = at(v, "secret", "secretName").(string)
				}
			}
		}
	}
	assert.Equal(t, "hub", mounted, "the hub reads its values from the hub Secret")
	// files/hub/jupyterhub_config.py sets c.KubeSpawner.start_timeout from singleuser.startTimeout.
	assert.Equal(t, synth(t, "example").cfg.Hub.StartTimeout, at(z2jhValues(t, r), "singleuser", "startTimeout"),
		"KubeSpawner waits start_timeout_seconds for a server")

	// templates/ingress.yaml: the AWS Load Balancer Controller reconciles only Ingresses of its class
	// (alb), and tags the load balancer with alb.ingress.kubernetes.io/tags (comma-separated key=value).
	ings := r.ofKind("Ingress")
	require.Len(t, ings, 1)
	ing := ings[0]
	// templates/ingress.yaml names the Ingress after the release; cluster-ops waits for that one.
	assert.Equal(t, ops["IngressName"], at(ing, "metadata", "name"), "cluster-ops waits for the hub's Ingress")
	assert.Equal(t, ops["Namespace"], r.namespace(ing))
	assert.Equal(t, "alb", at(ing, "spec", "ingressClassName"))
	tags, _ := at(ing, "metadata", "annotations").(map[string]any)["alb.ingress.kubernetes.io/tags"].(string)
	require.NotEmpty(t, tags, "the Ingress has alb.ingress.kubernetes.io/tags")
	for _, kv := range strings.Split(tags, ",") {
		k, _, found := strings.Cut(kv, "=")
		assert.True(t, found && k != "", "tag %q is key=value", kv)
	}
	// templates/ingress.yaml routes to proxy-public's http port, which templates/proxy/service.yaml renders.
	for _, rule := range listOf(at(ing, "spec", "rules")) {
		for _, p := range listOf(at(rule, "http", "paths")) {
			backend := at(p, "backend", "service").(map[string]any)
			svc := r.object(t, "Service", backend["name"].(string))
			names := []any{}
			for _, sp := range listOf(at(svc, "spec", "ports")) {
				names = append(names, sp.(map[string]any)["name"])
			}
			assert.Contains(t, names, at(backend, "port", "name"), "the Ingress's backend port is a port of %s", backend["name"])
		}
	}

	// The client secret reaches the hub only through hub-cognito-client: no rendered object (the Secrets
	// decoded) carries oauthenticator's client_secret.
	for _, o := range r.objects {
		text, err := json.Marshal(o)
		require.NoError(t, err)
		if o["kind"] == "Secret" {
			for k := range asMap(o["data"]) {
				v, _ := secretValue(t, o, k)
				text = append(text, v...)
			}
		}
		assert.NotContains(t, string(text), "client_secret", "%v %v", o["kind"], at(o, "metadata", "name"))
	}
}

// TestHubChartsRenderDaskGateway renders the dask-gateway release with dask-gateway 2026.3.0, beside
// the JupyterHub release it authenticates through.
func TestHubChartsRenderDaskGateway(t *testing.T) {
	d := renderChart(t, "example", "dask-gateway")
	jh := renderChart(t, "example", "jupyterhub")
	jhValues := z2jhValues(t, jh)
	daskValues := chartValues(t, "example", "dask-gateway")

	// The hub proxies /services/<name>/ to hub.services.<name>.url (JupyterHub's Service.url);
	// templates/traefik/service.yaml renders traefik-<fullname>, which routes to the gateway.
	svcURL := at(jhValues, "hub", "services", hub.DaskService, "url").(string)
	name, ns, port := serviceURL(t, svcURL)
	traefik := d.object(t, "Service", name)
	assert.Equal(t, "traefik-"+d.props["Release"].(string), at(traefik, "metadata", "name"), "templates/traefik/service.yaml")
	assert.Equal(t, ns, d.namespace(traefik), "%s names the traefik Service's namespace", svcURL)
	assert.True(t, serviceHasPort(traefik, port), "the traefik Service listens on %d, the port of %s", port, svcURL)
	// templates/gateway/service.yaml renders api-<fullname>, which the controller's config
	// (templates/controller/configmap.yaml, c.KubeController.api_url) and traefik route to.
	d.object(t, "Service", "api-"+d.props["Release"].(string))

	// templates/gateway/deployment.yaml: without gateway.auth.jupyterhub.apiToken, JUPYTERHUB_API_TOKEN
	// comes from apiTokenFromSecretName/Key, a Secret in the gateway's own namespace (a secretKeyRef
	// resolves in the pod's namespace); z2jh's templates/hub/secret.yaml writes it.
	api := d.object(t, "Deployment", "api-"+d.props["Release"].(string))
	env := k8sEnv(k8sContainer(t, api, "gateway"), "JUPYTERHUB_API_TOKEN")
	require.NotNil(t, env, "the gateway container has JUPYTERHUB_API_TOKEN")
	ref := at(env, "valueFrom", "secretKeyRef").(map[string]any)
	hubSecret := jh.object(t, "Secret", ref["name"].(string))
	_, ok := secretValue(t, hubSecret, ref["key"].(string))
	assert.True(t, ok, "the JupyterHub release's Secret %s holds %s", ref["name"], ref["key"])
	assert.Equal(t, jh.namespace(hubSecret), d.namespace(api), "the gateway reads the hub's Secret in its own namespace")

	// The gateway calls gateway.auth.jupyterhub.apiUrl (JupyterHubAuthenticator.jupyterhub_api_url);
	// z2jh's templates/hub/service.yaml renders the hub Service.
	apiURL := at(daskValues, "gateway", "auth", "jupyterhub", "apiUrl").(string)
	hubName, hubNS, hubPort := serviceURL(t, apiURL)
	hubSvc := jh.object(t, "Service", hubName)
	assert.Equal(t, hubNS, jh.namespace(hubSvc), apiURL)
	assert.True(t, serviceHasPort(hubSvc, hubPort), "the hub Service listens on %d, the port of %s", hubPort, apiURL)

	// JupyterHub's proxy forwards /services/<name>/ (hub.baseUrl is /) with the path kept, so the
	// gateway must serve under that prefix: templates/controller/configmap.yaml sets
	// c.KubeController.proxy_prefix from gateway.prefix, and templates/gateway/ingressroute.yaml routes it.
	prefix := "/services/" + hub.DaskService
	assert.Equal(t, "/", at(jhValues, "hub", "baseUrl"), "hub.baseUrl")
	found := false
	for _, cm := range d.ofKind("ConfigMap") {
		for _, v := range asMap(cm["data"]) {
			if strings.Contains(v.(string), "c.KubeController.proxy_prefix") {
				found = true
				assert.Contains(t, v, `c.KubeController.proxy_prefix = "`+prefix+`"`, "%v", at(cm, "metadata", "name"))
			}
		}
	}
	assert.True(t, found, "a ConfigMap sets c.KubeController.proxy_prefix")
	routes := d.ofKind("IngressRoute")
	require.NotEmpty(t, routes, "templates/gateway/ingressroute.yaml")
	matches := []string{}
	for _, route := range routes {
		for _, rt := range listOf(at(route, "spec", "routes")) {
			matches = append(matches, rt.(map[string]any)["match"].(string))
		}
	}
	assert.Contains(t, matches, "PathPrefix(`"+prefix+"`)")

	// The user servers' DASK_GATEWAY__ADDRESS goes through the hub's proxy inside the cluster:
	// z2jh's templates/proxy/service.yaml renders proxy-public.
	addr := at(jhValues, "singleuser", "extraEnv", "DASK_GATEWAY__ADDRESS").(string)
	proxyName, proxyNS, proxyPort := serviceURL(t, addr)
	proxy := jh.object(t, "Service", proxyName)
	assert.Equal(t, proxyNS, jh.namespace(proxy), addr)
	assert.True(t, serviceHasPort(proxy, proxyPort), "%s listens on %d (%s)", proxyName, proxyPort, addr)
	u, err := url.Parse(addr)
	require.NoError(t, err)
	assert.Equal(t, prefix, u.Path, "DASK_GATEWAY__ADDRESS is the gateway's prefix behind the proxy")
}

// matchesNodeSelectorTerms is Kubernetes' required node affinity (core/v1 NodeSelector): the node
// matches when any term's matchExpressions all hold.
func matchesNodeSelectorTerms(terms []any, labels map[string]string) bool {
	for _, term := range terms {
		all := true
		for _, e := range listOf(term.(map[string]any)["matchExpressions"]) {
			m := e.(map[string]any)
			v, has := labels[m["key"].(string)]
			in := slices.Contains(listOf(m["values"]), any(v))
			switch m["operator"] {
			case "In":
				all = all && has && in
			case "NotIn":
				all = all && !(has && in)
			case "Exists":
				all = all && has
			case "DoesNotExist":
				all = all && !has
			default: // Gt, Lt: not used here
				all = false
			}
		}
		if all {
			return true
		}
	}
	return false
}

// TestHubChartsRenderDevicePlugin renders the NVIDIA device plugin release with its chart 0.17.4: the
// DaemonSet must be schedulable on every GPU node group (kube-scheduler: required node affinity, node
// selector and taints), since those nodes advertise nvidia.com/gpu only through it.
func TestHubChartsRenderDevicePlugin(t *testing.T) {
	r := renderChart(t, "example", "nvidia-device-plugin")
	// templates/daemonset-device-plugin.yml; the GFD and MPS DaemonSets render only when enabled.
	var plugin map[string]any
	for _, ds := range r.ofKind("DaemonSet") {
		for _, c := range listOf(podSpec(ds)["containers"]) {
			if strings.HasPrefix(c.(map[string]any)["image"].(string), "nvcr.io/nvidia/k8s-device-plugin:") && c.(map[string]any)["name"] == "nvidia-device-plugin-ctr" {
				plugin = ds
			}
		}
	}
	require.NotNil(t, plugin, "the chart renders the device plugin DaemonSet")
	spec := podSpec(plugin)
	// templates/daemonset-device-plugin.yml renders .Values.affinity and .Values.tolerations; Helm merges
	// our values over values.yaml's (maps deep, lists replaced), so this is what the scheduler sees.
	terms := listOf(at(spec, "affinity", "nodeAffinity", "requiredDuringSchedulingIgnoredDuringExecution", "nodeSelectorTerms"))
	require.NotEmpty(t, terms, "the DaemonSet requires node affinity")
	selector := asMap(spec["nodeSelector"])
	gpuGroups := 0
	for _, g := range nodeGroupsOf(synth(t, "example").templates["Hub"]) {
		if g.labels[hub.AcceleratorLabel] == "" && !slices.ContainsFunc(g.taints, func(x taint) bool { return x.key == hub.GPUTaintKey }) {
			continue
		}
		gpuGroups++
		assert.True(t, matchesNodeSelectorTerms(terms, g.labels), "the plugin's required affinity %v matches group %s (%v)", terms, g.name, g.labels)
		assert.True(t, selects(selector, g), "the plugin's nodeSelector %v matches group %s", selector, g.name)
		for _, tn := range g.taints {
			assert.True(t, tolerates(listOf(spec["tolerations"]), tn), "the plugin tolerates %v on group %s", tn, g.name)
		}
	}
	assert.NotZero(t, gpuGroups, "the example instance has a GPU group")
}

// TestHubChartsRenderClusterAutoscaler renders the cluster-autoscaler release with its chart 9.59.0.
func TestHubChartsRenderClusterAutoscaler(t *testing.T) {
	r := renderChart(t, "example", "cluster-autoscaler")
	tpl := synth(t, "example").templates["Hub"]
	deploys := r.ofKind("Deployment")
	require.Len(t, deploys, 1)
	deploy := deploys[0]
	// templates/deployment.yaml: the container's command carries the flags (cloudProvider,
	// autoDiscovery.clusterName, extraArgs).
	c := listOf(podSpec(deploy)["containers"])[0].(map[string]any)
	var flags []string
	for _, a := range append(listOf(c["command"]), listOf(c["args"])...) {
		flags = append(flags, a.(string))
	}
	assert.Contains(t, flags, "--cloud-provider=aws")
	// EKS tags a managed node group's Auto Scaling group with k8s.io/cluster-autoscaler/enabled and
	// k8s.io/cluster-autoscaler/<cluster name> (EKS user guide, managed node groups); auto-discovery
	// finds the groups that carry both tags.
	var clusterName string
	for _, res := range resourcesOf(tpl) {
		if res["Type"] == "AWS::EKS::Cluster" {
			clusterName, _ = propsOf(res)["Name"].(string)
		}
	}
	require.NotEmpty(t, clusterName, "the cluster has a literal name")
	assert.Contains(t, flags, "--node-group-auto-discovery=asg:tag=k8s.io/cluster-autoscaler/enabled,k8s.io/cluster-autoscaler/"+clusterName)

	// The Pod Identity agent gives the association's role to pods of its namespace and service account
	// (EKS user guide, pod identities); templates/deployment.yaml runs the pod as rbac.serviceAccount.name
	// and templates/serviceaccount.yaml creates it.
	var assoc map[string]any
	for _, res := range resourcesOf(tpl) {
		if res["Type"] == "AWS::EKS::PodIdentityAssociation" && propsOf(res)["ServiceAccount"] == podSpec(deploy)["serviceAccountName"] {
			assoc = propsOf(res)
		}
	}
	require.NotNil(t, assoc, "a Pod Identity association names the autoscaler's service account %v", podSpec(deploy)["serviceAccountName"])
	assert.Equal(t, assoc["Namespace"], r.namespace(deploy), "the association's namespace is the autoscaler's")
	sa := r.object(t, "ServiceAccount", assoc["ServiceAccount"].(string))
	assert.Equal(t, assoc["Namespace"], r.namespace(sa))
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

// listOf returns a YAML sequence's items, or none.
func listOf(v any) []any {
	l, _ := v.([]any)
	return l
}

// TestHubChartsRenderEveryPodHasANodeGroup: kube-scheduler places a pod only on a node that satisfies
// its nodeSelector and required node affinity and whose taints it all tolerates. The charts add their
// own placement to our values (z2jh's scheduling.corePods and userPods node affinity, in
// templates/_helpers-*.tpl), so it is the rendered pod templates that must fit some node group. A
// DaemonSet runs only where it fits, and fitting nowhere can be its design (the device plugin chart's
// MPS control daemon, templates/daemonset-mps-control-daemon.yml, selects nvidia.com/mps.capable nodes):
// TestHubChartsRenderDevicePlugin checks the one that must run.
func TestHubChartsRenderEveryPodHasANodeGroup(t *testing.T) {
	groups := nodeGroupsOf(synth(t, "example").templates["Hub"])
	for _, chart := range []string{"jupyterhub", "dask-gateway", "nvidia-device-plugin", "cluster-autoscaler", "external-dns"} {
		r := renderChart(t, "example", chart)
		for _, o := range r.objects {
			switch o["kind"] {
			case "Deployment", "StatefulSet":
			default:
				continue
			}
			spec := podSpec(o)
			fits := []string{}
			for _, g := range groups {
				ok := selects(asMap(spec["nodeSelector"]), g)
				if req := asMap(asMap(asMap(spec["affinity"])["nodeAffinity"])["requiredDuringSchedulingIgnoredDuringExecution"]); req != nil {
					ok = ok && matchesNodeSelectorTerms(listOf(req["nodeSelectorTerms"]), g.labels)
				}
				for _, tn := range g.taints {
					ok = ok && tolerates(listOf(spec["tolerations"]), tn)
				}
				if ok {
					fits = append(fits, g.name)
				}
			}
			assert.NotEmpty(t, fits, "%s: %v %v fits no node group", chart, o["kind"], at(o, "metadata", "name"))
		}
	}
}
