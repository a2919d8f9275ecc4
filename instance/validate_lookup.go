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
		}
	}

	a := l.App
	v.port("lookup.app.port", a.Port)
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
	if a.Image == "" {
		v.errorf("lookup.app.image", "is required (such as ghcr.io/ld4p/qa_authority_lookup:v2.3.0)")
	}

	d := l.Database
	v.port("lookup.database.port", d.Port)
	v.taskSize("lookup.database", d.Cpu, d.MemoryMiB, fargate)
	if d.DesiredCount != 1 {
		v.errorf("lookup.database.desired_count", "%d: the database runs exactly 1 task (two MariaDB servers on one EFS data directory corrupt it)", d.DesiredCount)
	}
	for path, name := range map[string]string{"lookup.database.name": d.Name, "lookup.database.user": d.User} {
		if !sqlNameRe.MatchString(name) {
			v.errorf(path, "%q is not a MariaDB identifier (letters, digits and _, at most 32, not starting with a digit)", name)
		}
	}
	if d.Image == "" {
		v.errorf("lookup.database.image", "is required (such as mariadb:11.4)")
	}

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
	if lb.CertificateArn == "" {
		v.errorf("lookup.load_balancer.certificate_arn", "is required (the ACM certificate of the service's host name)")
	} else if why := awsrules.ACMCertificateARN(lb.CertificateArn, v.cfg.Env.Region); why != "" {
		v.errorf("lookup.load_balancer.certificate_arn", "%q %s", lb.CertificateArn, why)
	}
	v.cidrs("lookup.load_balancer.allowed_cidrs", lb.AllowedCidrs)

	s := l.Sync
	if s.Enabled {
		if !bucketRe.MatchString(s.SourceBucket) {
			v.errorf("lookup.sync.source_bucket", "%q is not a bucket name (the bucket holding the authority files)", s.SourceBucket)
		}
		if why := awsrules.ScheduleExpression(s.Schedule); why != "" {
			v.errorf("lookup.sync.schedule", "%q %s", s.Schedule, why)
		}
	}
	if !contains(retentionOK, l.LogRetentionDays) {
		v.errorf("lookup.log_retention_days", "%d is not a CloudWatch Logs retention (one of %s)", l.LogRetentionDays, joinInts(retentionOK))
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
	}
}

func (v *validator) port(path string, port int) {
	if port < 1 || port > 65535 {
		v.errorf(path, "%d is not a port (1 to 65535)", port)
	}
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
