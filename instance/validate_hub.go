package instance

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/stratolab/stratolab/internal/awsrules"
)

var (
	hubSlugRe   = regexp.MustCompile(`^[a-z][a-z0-9-]{0,38}$`)
	hostRe      = regexp.MustCompile(`^https://([a-z0-9]([a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,}/?$`)
	principalRe = regexp.MustCompile(`^arn:aws[a-z-]*:(iam::[0-9]{12}:(root|role/.+|user/.+)|sts::[0-9]{12}:assumed-role/.+)$`)
	chartRe     = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$`)
	coresRe     = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?$`)
)

// hub checks the hub keys, only when the hub is enabled.
func (v *validator) hub() {
	if !v.cfg.Enabled.Hub {
		return
	}
	h := v.cfg.Hub
	if why := awsrules.EKSVersion(h.KubernetesVersion); why != "" {
		v.errorf("hub.kubernetes_version", "%q %s", h.KubernetesVersion, why)
	}
	switch {
	case h.Host == "":
		v.errorf("hub.host", "is required (the hub's URL, such as https://hub.example.edu)")
	case !strings.HasPrefix(h.Host, "https://"):
		v.errorf("hub.host", "%q must be an https:// URL (the load balancer serves HTTPS and redirects HTTP)", h.Host)
	case !hostRe.MatchString(h.Host):
		v.errorf("hub.host", "%q is not a host URL (https://hub.example.edu, no path)", h.Host)
	}
	// hub.certificate_arn: see dns().
	v.cidrs("hub.allowed_cidrs", h.AllowedCidrs)
	if !h.Endpoint.Private {
		v.cidrs("hub.endpoint.allowed_cidrs", h.Endpoint.AllowedCidrs)
		if v.cfg.Production() && slices.Contains(h.Endpoint.AllowedCidrs, "0.0.0.0/0") {
			v.errorf("hub.endpoint.allowed_cidrs", "production: the cluster's Kubernetes API would be open to the internet (0.0.0.0/0): list your admins' networks, or set hub.endpoint.private: true")
		}
	} else if v.written("hub.endpoint.allowed_cidrs") {
		v.errorf("hub.endpoint.allowed_cidrs", "means nothing with a private endpoint (hub.endpoint.private: true): remove it, or make the endpoint public")
	}
	for i, u := range h.AdminUsers {
		if !emailRe.MatchString(u) {
			v.errorf(fmt.Sprintf("hub.admin_users[%d]", i), "%q is not an email address (admins are named by their Cognito email)", u)
		}
	}
	if len(h.AdminPrincipals) == 0 {
		v.errorf("hub.admin_principals", "is empty: nobody could assume the cluster-access role (such as [arn:aws:iam::123456789012:role/Admin])")
	}
	for i, a := range h.AdminPrincipals {
		if !principalRe.MatchString(a) {
			v.errorf(fmt.Sprintf("hub.admin_principals[%d]", i), "%q is not an IAM principal ARN (arn:aws:iam::<account>:role/<name>, :user/<name> or :root)", a)
		}
	}
	v.instanceTypes("hub.core.instance_types", h.Core.InstanceTypes)
	v.minMax("hub.core", h.Core.Min, h.Core.Max)
	if h.Core.Max < 1 {
		return
	}

	nodes := map[string]HubNodeGroup{}
	for i, n := range h.Nodes {
		p := fmt.Sprintf("hub.nodes[%d]", i)
		_, dup := nodes[n.Name]
		switch {
		case !hubSlugRe.MatchString(n.Name):
			v.errorf(p+".name", "%q is not a node group name (lowercase letters, digits and dashes, starting with a letter)", n.Name)
		case n.Name == "core":
			v.errorf(p+".name", "core is the hub's own node group (choose another name)")
		case dup:
			v.errorf(p+".name", "%q is already the name of another node group (names are unique)", n.Name)
		}
		nodes[n.Name] = n
		v.instanceTypes(p+".instance_types", n.InstanceTypes)
		v.nodeGroupTypes(p, n)
		v.minMax(p, n.Min, n.Max)
		if n.RootVolumeGiB != 0 && (n.RootVolumeGiB < 20 || n.RootVolumeGiB > 16384) { // 0: the default
			v.errorf(p+".root_volume_gib", "%d is out of range (20 to 16384 GiB)", n.RootVolumeGiB)
		}
	}

	authGroups := map[string]bool{}
	for _, g := range v.cfg.Auth.Groups {
		authGroups[g.Name] = true
	}
	profiles := map[string]bool{}
	defaults := 0
	for i, pr := range h.Profiles {
		p := fmt.Sprintf("hub.profiles[%d]", i)
		switch {
		case !hubSlugRe.MatchString(pr.Name):
			v.errorf(p+".name", "%q is not a profile name (lowercase letters, digits and dashes, starting with a letter)", pr.Name)
		case profiles[pr.Name]:
			v.errorf(p+".name", "%q is already the name of another profile (names are unique)", pr.Name)
		}
		profiles[pr.Name] = true
		if _, ok := nodes[pr.Node]; !ok {
			v.errorf(p+".node", "%q is not a node group (defined: %s)", pr.Node, strings.Join(nodeNames(h.Nodes), ", "))
		}
		if pr.Image == "" || !hubSlugRe.MatchString(pr.Image) {
			v.errorf(p+".image", "%q is not an image name (lowercase letters, digits and dashes; it becomes <cluster>/<image> in ECR)", pr.Image)
		}
		if pr.Tag == "" {
			v.errorf(p+".tag", "is required (pin an image tag, such as 2026.11.1)")
		}
		v.resources(p+".cpu", pr.CPU, parseCores)
		v.resources(p+".memory", pr.Memory, parseMemory)
		if n, ok := nodes[pr.Node]; ok {
			v.profileFits(p, pr, n)
		}
		if pr.StorageGiB != 0 {
			v.errorf(p+".storage_gib", "is not supported: a user has one home whichever profile they start (KubeSpawner creates the claim once and never resizes it); remove it and set hub.home_gib")
		}
		if pr.Default {
			defaults++
			if defaults > 1 {
				v.errorf(p+".default", "another profile is already the default (at most one)")
			}
		}
		for j, g := range pr.Groups {
			if len(authGroups) > 0 && !authGroups[g] {
				v.errorf(fmt.Sprintf("%s.groups[%d]", p, j), "%q is not one of auth.groups (add it there, or remove it here)", g)
			}
		}
	}
	if len(h.Profiles) == 0 {
		v.errorf("hub.profiles", "is empty: users would have no server to start")
	}
	if h.HomeGiB < 1 || h.HomeGiB > 16384 {
		v.errorf("hub.home_gib", "%d is out of range (1 to 16384 GiB)", h.HomeGiB)
	}
	if h.StartTimeout < 60 || h.StartTimeout > 3600 {
		v.errorf("hub.start_timeout_seconds", "%d is out of range (60 to 3600 seconds)", h.StartTimeout)
	}
	if h.SnapshotRetention < 1 || h.SnapshotRetention > 1000 {
		v.errorf("hub.snapshot_retention", "%d is out of range (1 to 1000)", h.SnapshotRetention)
	}
	if h.Ecr.KeepImages < 1 || h.Ecr.KeepImages > 1000 {
		v.errorf("hub.ecr.keep_images", "%d is out of range (1 to 1000)", h.Ecr.KeepImages)
	}
	charts := map[string]string{"hub.charts.jupyterhub": h.Charts.JupyterHub, "hub.charts.dask_gateway": h.Charts.DaskGateway,
		"hub.charts.nvidia_device_plugin": h.Charts.DevicePlugin}
	if h.Charts.ClusterAutoscaler != "" { // empty: the chart for kubernetes_version
		charts["hub.charts.cluster_autoscaler"] = h.Charts.ClusterAutoscaler
	}
	for path, version := range charts {
		if !chartRe.MatchString(version) {
			v.errorf(path, "%q is not a pinned chart version (such as 4.4.0)", version)
		}
	}
	switch n := v.cfg.Vpc; {
	case n.Type == "new" && n.NatGateways == 0:
		// Nodes pull the VPC CNI, pause and chart images from ECR and public registries, and the kubectl
		// provider runs helm against chart repositories on the internet (EKS user guide, "Deploy private
		// clusters with limited internet access").
		v.errorf("vpc.nat_gateways", "is 0, but the hub's nodes and its kubectl provider need a route to the internet from the private subnets (1 or more)")
	case n.Type == "new" && n.AZCount() < 2:
		v.errorf("vpc.max_azs", "the VPC spans %d AZ, but EKS needs subnets in two", n.AZCount())
	case n.Type == "existing" && len(n.PrivateSubnetIDs) < 2:
		v.errorf("vpc.private_subnet_ids", "lists %d subnet(s), but EKS needs private subnets in two AZs", len(n.PrivateSubnetIDs))
	case n.Type == "existing" && len(n.PublicSubnetIDs) < 2:
		v.errorf("vpc.public_subnet_ids", "lists %d subnet(s), but the hub's internet-facing load balancer needs two public subnets", len(n.PublicSubnetIDs))
	}
	if h.Lifecycle.RemovalPolicy == "snapshot" {
		v.errorf("hub.lifecycle.removal_policy", "snapshot is not something EFS or ECR supports (retain or destroy)")
	}
}

// nodeGroupTypes checks a hub node group's instance types against the capacity table: a family the
// table knows (the profile checks need its sizes), NVIDIA GPUs exactly when gpu is set (the NVIDIA AMI
// on a type without a GPU, or the standard AMI on a GPU type, is refused by EKS at deploy time:
// AmiTypeDoesNotMatchInstanceArchitecture).
func (v *validator) nodeGroupTypes(p string, n HubNodeGroup) {
	for i, t := range n.InstanceTypes {
		if awsrules.EC2InstanceType(t) != "" {
			continue // instanceTypes says why
		}
		path := fmt.Sprintf("%s.instance_types[%d]", p, i)
		c, ok := awsrules.EC2Capacity(t)
		switch {
		case !ok:
			v.errorf(path, "%q is not a type of the families the hub knows the sizes of (%s)", t, strings.Join(awsrules.EC2Families(), ", "))
		case n.GPU && c.GPUs == 0:
			v.errorf(path, "%s has no NVIDIA GPU, but the group has gpu: true (use a GPU type such as g4dn.xlarge, or gpu: false)", t)
		case !n.GPU && c.GPUs > 0:
			v.errorf(path, "%s has %d NVIDIA GPU(s): set gpu: true on the group (it then gets the NVIDIA AMI and the GPU taint), or use a type without a GPU", t, c.GPUs)
		}
	}
}

// profileFits checks that every instance type of the profile's node group can hold the profile's pod:
// its CPU and memory guarantees within what the node leaves for pods (awsrules.PodAllocatable), and a
// GPU on a GPU group. Otherwise the autoscaler never scales the group up for it and the server never
// starts.
func (v *validator) profileFits(p string, pr HubProfile, n HubNodeGroup) {
	cpu, cwhy := parseCores(pr.CPU.Guarantee)
	mem, mwhy := parseMemory(pr.Memory.Guarantee)
	if cwhy != "" || mwhy != "" {
		return
	}
	// KubeSpawner's G is 1024^3 bytes (its ByteSpecification), parseMemory's 10^9.
	memGiB := mem * kubeSpawnerUnit(pr.Memory.Guarantee) / (1 << 30)
	for _, t := range n.InstanceTypes {
		c, ok := awsrules.EC2Capacity(t)
		if !ok {
			continue // nodeGroupTypes says why
		}
		freeCPU, freeGiB := awsrules.PodAllocatable(c)
		if cpu > freeCPU {
			v.errorf(p+".cpu.guarantee", "%s cores do not fit on %s of node group %s (%d vCPUs, about %.1f left for pods)", pr.CPU.Guarantee, t, n.Name, c.VCPU, freeCPU)
		}
		if memGiB > freeGiB {
			v.errorf(p+".memory.guarantee", "%s does not fit on %s of node group %s (%.0f GiB, about %.1f GiB left for pods)", pr.Memory.Guarantee, t, n.Name, c.MemoryGiB, freeGiB)
		}
	}
}

// kubeSpawnerUnit converts parseMemory's decimal bytes of a KubeSpawner size into its binary bytes.
func kubeSpawnerUnit(s string) float64 {
	if s == "" {
		return 1
	}
	switch s[len(s)-1] {
	case 'K':
		return 1024.0 / 1e3
	case 'M':
		return (1 << 20) / 1e6
	case 'G':
		return (1 << 30) / 1e9
	case 'T':
		return (1 << 40) / 1e12
	}
	return 1
}

func (v *validator) instanceTypes(path string, types []string) {
	if len(types) == 0 {
		v.errorf(path, "is empty (at least one instance type, such as [m5.xlarge])")
	}
	for i, t := range types {
		if why := awsrules.EC2InstanceType(t); why != "" {
			v.errorf(fmt.Sprintf("%s[%d]", path, i), "%q %s", t, why)
		} else if why := awsrules.EC2ArchMismatch(types, i); why != "" {
			v.errorf(fmt.Sprintf("%s[%d]", path, i), "%s (one CPU architecture per group)", why)
		}
	}
}

// resources checks a guarantee and a limit, and that the guarantee is not above the limit.
func (v *validator) resources(path string, r HubResource, parse func(string) (float64, string)) {
	g, gwhy := parse(r.Guarantee)
	l, lwhy := parse(r.Limit)
	if gwhy != "" {
		v.errorf(path+".guarantee", "%q %s", r.Guarantee, gwhy)
	}
	if lwhy != "" {
		v.errorf(path+".limit", "%q %s", r.Limit, lwhy)
	}
	if gwhy == "" && lwhy == "" && g > l {
		v.errorf(path+".guarantee", "%s is more than the limit %s", r.Guarantee, r.Limit)
	}
}

func parseCores(s string) (float64, string) {
	if !coresRe.MatchString(s) {
		return 0, "is not a number of cores (such as 0.5 or 2)"
	}
	f, _ := strconv.ParseFloat(s, 64)
	return f, ""
}

func parseMemory(s string) (float64, string) {
	if why := awsrules.KubeSpawnerMemory(s); why != "" {
		return 0, why
	}
	f, _ := strconv.ParseFloat(s[:len(s)-1], 64)
	return f * map[byte]float64{'K': 1e3, 'M': 1e6, 'G': 1e9, 'T': 1e12}[s[len(s)-1]], ""
}

func nodeNames(nodes []HubNodeGroup) []string {
	names := make([]string, 0, len(nodes))
	for _, n := range nodes {
		names = append(names, n.Name)
	}
	if len(names) == 0 {
		return []string{"none: add hub.nodes"}
	}
	return names
}
