package instance

import (
	"fmt"
	"net/netip"
	"regexp"
	"strings"

	"github.com/stratolab/stratolab/internal/awsrules"
)

var (
	octalModeRe = regexp.MustCompile(`^0?[0-7]{3}$`)
	sqlNameRe   = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,31}$`)
	bucketRe    = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
	iaDays      = []int{1, 7, 14, 30, 60, 90, 180, 270, 365}
	ec2FamilyRe = regexp.MustCompile(`^[mcr][5-8][a-z]*$`)
)

// lookup checks the lookup keys, only when the lookup service is enabled.
func (v *validator) lookup() {
	if !v.cfg.Enabled.Lookup {
		return
	}
	l := v.cfg.Lookup
	fargate := l.Capacity == "fargate"
	v.lookupNetwork(l)
	if !fargate {
		if why := awsrules.EC2InstanceType(l.InstanceType); why != "" {
			v.errorf("lookup.instance_type", "%q %s", l.InstanceType, why)
		}
		switch {
		case l.MinInstances < 0:
			v.errorf("lookup.min_instances", "%d is negative (0 or more)", l.MinInstances)
		case l.MaxInstances < 1:
			v.errorf("lookup.max_instances", "%d must be at least 1", l.MaxInstances)
		case l.MinInstances > l.MaxInstances:
			v.errorf("lookup.min_instances", "%d is more than max_instances %d", l.MinInstances, l.MaxInstances)
		default:
			v.lookupTaskSlots(l)
		}
	}

	a := l.App
	v.taskSize("lookup.app", a.Cpu, a.MemoryMiB, fargate)
	switch {
	case a.DesiredCount < 1:
		v.errorf("lookup.app.desired_count", "%d must be at least 1", a.DesiredCount)
	case a.MaxCount < a.DesiredCount:
		v.errorf("lookup.app.max_count", "%d is less than desired_count %d", a.MaxCount, a.DesiredCount)
	}
	if a.CpuTargetPercent < 10 || a.CpuTargetPercent > 90 {
		v.errorf("lookup.app.cpu_target_percent", "%d is out of range (10 to 90)", a.CpuTargetPercent)
	}
	v.absolutePath("lookup.app.authorities_path", a.AuthoritiesPath)
	if !strings.HasPrefix(a.HealthCheckPath, "/") {
		v.errorf("lookup.app.health_check_path", "%q must start with / (such as /)", a.HealthCheckPath)
	}
	if a.DeregistrationDelaySeconds < 0 || a.DeregistrationDelaySeconds > 3600 {
		v.errorf("lookup.app.deregistration_delay_seconds", "%d is out of range (0 to 3600)", a.DeregistrationDelaySeconds)
	}
	v.lookupImage("lookup.app.image", a.Image, appImageExample)
	if strings.Contains(a.Image, "ld4p/qa_authority_lookup") && !strings.HasPrefix(a.Image, appRepository+":") && !strings.HasPrefix(a.Image, appRepository+"@") {
		v.errorf("lookup.app.image", "%q: LD4P publishes qa_authority_lookup only to %s (its release workflow pushes nowhere else), such as %s", a.Image, appRepository, appImageExample)
	}

	d := l.Database
	v.taskSize("lookup.database", d.Cpu, d.MemoryMiB, fargate)
	if d.DesiredCount != 1 {
		v.errorf("lookup.database.desired_count", "%d: the database runs exactly 1 task (two MariaDB servers on one EFS data directory corrupt it)", d.DesiredCount)
	}
	for path, name := range map[string]string{"lookup.database.name": d.Name, "lookup.database.user": d.User} {
		if !sqlNameRe.MatchString(name) {
			v.errorf(path, "%q is not a MariaDB identifier (letters, digits and _, at most 32, not starting with a digit)", name)
		}
	}
	v.lookupImage("lookup.database.image", d.Image, "public.ecr.aws/docker/library/mariadb:10.11")

	e := l.Efs
	if !contains(iaDays, e.InfrequentAccessAfterDays) {
		v.errorf("lookup.efs.infrequent_access_after_days", "%d is not an EFS lifecycle value (one of %s)", e.InfrequentAccessAfterDays, joinInts(iaDays))
	}
	for name, ap := range map[string]LookupAccessPoint{"authorities": e.Authorities, "database": e.Database} {
		p := "lookup.efs." + name
		v.absolutePath(p+".path", ap.Path)
		for _, id := range []struct {
			key   string
			value int
		}{{"uid", ap.Uid}, {"gid", ap.Gid}} {
			switch {
			case id.value < 0 || id.value > 4294967295:
				v.errorf(p+"."+id.key, "%d is not a POSIX id (0 to 4294967295)", id.value)
			case id.value == 0 && !e.AllowRootPosixUser:
				v.errorf(p+"."+id.key, "0 is root: the access point would give every client root's rights on its files (use a service user, or set lookup.efs.allow_root_posix_user: true)")
			}
		}
		if !octalModeRe.MatchString(ap.Permissions) {
			v.errorf(p+".permissions", "%q is not octal permissions (such as 0755)", ap.Permissions)
		}
	}

	lb := l.LoadBalancer
	// The certificate: see dns().
	if lb.Host != "" && !hostRe.MatchString(lb.Host) {
		v.errorf("lookup.load_balancer.host", "%q is not an https:// host URL (such as https://lookup.example.edu, no path)", lb.Host)
	}
	v.cidrs("lookup.load_balancer.allowed_cidrs", lb.AllowedCidrs)

	s := l.Sync
	if !s.Enabled {
		v.errorf("lookup.sync.enabled", "false would leave the app with no authorities: the image ships none, and only DataSync writes the authorities access point (set enabled: true and source_bucket)")
	}
	if !bucketRe.MatchString(s.SourceBucket) {
		v.errorf("lookup.sync.source_bucket", "%q is not a bucket name (the bucket holding the authority files, such as my-authorities)", s.SourceBucket)
	}
	if why := awsrules.ScheduleExpression(s.Schedule); why != "" {
		v.errorf("lookup.sync.schedule", "%q %s", s.Schedule, why)
	}
	if !contains(retentionOK, l.LogRetentionDays) {
		v.errorf("lookup.log_retention_days", "%d is not a CloudWatch Logs retention (one of %s)", l.LogRetentionDays, joinInts(retentionOK))
	} else {
		v.productionRetention("lookup.log_retention_days", l.LogRetentionDays)
	}
	if l.Lifecycle.RemovalPolicy == "snapshot" {
		v.errorf("lookup.lifecycle.removal_policy", "snapshot is not something EFS or S3 supports (retain or destroy; production EFS has AWS Backup)")
	}
}

// lookupNetwork: the load balancer and the EFS mount targets need two AZs.
func (v *validator) lookupNetwork(l Lookup) {
	n := v.cfg.Vpc
	switch n.Type {
	case "existing":
		if len(n.PrivateSubnetIDs) < 2 {
			v.errorf("vpc.private_subnet_ids", "lists %d subnet(s), but the lookup service needs at least two private subnets in two AZs (for its load balancer and EFS mount targets)", len(n.PrivateSubnetIDs))
		}
		if !l.LoadBalancer.Internal && len(n.PublicSubnetIDs) < 2 {
			v.errorf("vpc.public_subnet_ids", "lists %d subnet(s), but an internet-facing load balancer needs two public subnets (or set lookup.load_balancer.internal: true)", len(n.PublicSubnetIDs))
		}
	case "new":
		if n.AZCount() < 2 {
			v.errorf("vpc.max_azs", "the VPC spans %d AZ, but the lookup service's load balancer needs two", n.AZCount())
		}
		if n.NatGateways == 0 {
			v.errorf("vpc.nat_gateways", "0 leaves the private subnets without a route out, but the lookup tasks pull their images from public.ecr.aws "+
				"(which has no VPC endpoint) and reach ECS, Secrets Manager and CloudWatch Logs (set 1 or more)")
		}
	}
}

// appRepository is where the app's publisher pushes the image: LD4P/qa_server_container's
// .github/workflows/aws-push-release-to-public.yml (FULL_PATH=public.ecr.aws/u8a1v5x2/ld4p/qa_authority_lookup).
const (
	appRepository   = "public.ecr.aws/u8a1v5x2/ld4p/qa_authority_lookup"
	appImageExample = appRepository + ":v2.0.0"
)

// lookupImage: an image with a version tag or a digest. latest (or no tag) is refused: the publisher's
// `docker push -a` moves it on every release, so the services would change under a redeploy or a task
// replacement.
func (v *validator) lookupImage(path, image, example string) {
	name := image[strings.LastIndex(image, "/")+1:]
	switch {
	case image == "":
		v.errorf(path, "is required (such as %s)", example)
	case strings.Contains(image, "@sha256:"):
	case !strings.Contains(name, ":") || strings.HasSuffix(name, ":latest"):
		v.errorf(path, "%q has no version: latest moves with every push (pin a version tag or a digest, such as %s)", image, example)
	}
}

// lookupTaskSlots: on EC2 every awsvpc task takes an ENI of its host, one of the instance type's
// ENIs is the host's own, and hosts do not use ENI trunking; so the hosts must have room for the
// database task plus max_count app tasks, and each host for one task of each size.
func (v *validator) lookupTaskSlots(l Lookup) {
	enis, ok := awsvpcENIs(l.InstanceType)
	if !ok {
		return // an instance type outside the table: ECS reports a task it cannot place
	}
	slots := l.MaxInstances * (enis - 1)
	if need := l.App.MaxCount + l.Database.DesiredCount; need > slots {
		v.errorf("lookup.max_instances", "%d %s host(s) have %d task ENIs (%d ENIs each, one the host's), but max_count %d app tasks and the database need %d (set max_instances to %d, or lower lookup.app.max_count)",
			l.MaxInstances, l.InstanceType, slots, enis, l.App.MaxCount, need, (need+enis-2)/(enis-1))
	}
}

// awsvpcENIs is the maximum number of network interfaces of an instance type (EC2 User Guide,
// "Maximum IP addresses per network interface"), for the general purpose, compute and memory
// optimized families.
func awsvpcENIs(instanceType string) (int, bool) {
	family, size, ok := strings.Cut(instanceType, ".")
	if !ok {
		return 0, false
	}
	switch {
	case strings.HasPrefix(family, "t3") || strings.HasPrefix(family, "t4g"):
		n, ok := map[string]int{"nano": 2, "micro": 2, "small": 3, "medium": 3, "large": 3, "xlarge": 4, "2xlarge": 4}[size]
		return n, ok
	case ec2FamilyRe.MatchString(family):
		n, ok := map[string]int{"medium": 2, "large": 3, "xlarge": 4, "2xlarge": 4, "4xlarge": 8, "8xlarge": 8, "9xlarge": 8,
			"12xlarge": 8, "16xlarge": 15, "18xlarge": 15, "24xlarge": 15}[size]
		return n, ok
	}
	return 0, false
}

func (v *validator) taskSize(path string, cpu, memory int, fargate bool) {
	if why := awsrules.ECSTaskSize(cpu, memory, fargate); why != "" {
		key := ".memory_mib"
		if strings.HasPrefix(why, "cpu") {
			key = ".cpu"
		}
		v.errorf(path+key, "%s", why)
	}
}

func (v *validator) absolutePath(path, value string) {
	if !strings.HasPrefix(value, "/") || value == "/" || strings.Contains(value, "..") {
		v.errorf(path, "%q must be an absolute directory below / (such as /authorities)", value)
	}
}

func (v *validator) cidrs(path string, cidrs []string) {
	if len(cidrs) == 0 {
		v.errorf(path, "is empty: nobody could reach the service (such as [0.0.0.0/0] or your campus ranges)")
	}
	for i, c := range cidrs {
		if pfx, err := netip.ParsePrefix(c); err != nil {
			v.errorf(fmt.Sprintf("%s[%d]", path, i), "%q is not a CIDR (such as 192.0.2.0/24 or 0.0.0.0/0)", c)
		} else if pfx.Masked() != pfx {
			v.errorf(fmt.Sprintf("%s[%d]", path, i), "%q has host bits set (did you mean %s?)", c, pfx.Masked())
		}
	}
}
