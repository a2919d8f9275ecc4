package instance

import (
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/stratolab/stratolab/internal/awsrules"
)

// MaxNameLength bounds instance names. Names prefix stack names (<name>/Base), physical names such as
// "<name>-cluster" and the default Cognito domain prefix, all of which have tighter limits than a stack.
const MaxNameLength = 24

var (
	nameRe         = regexp.MustCompile(`^[a-z][a-z0-9-]*$`)
	accountRe      = regexp.MustCompile(`^[0-9]{12}$`)
	regionRe       = regexp.MustCompile(`^[a-z]{2,4}(-[a-z]{2})?(-gov|-iso[a-z]?)?-[a-z]+-[0-9]$`)
	vpcIDRe        = regexp.MustCompile(`^vpc-([0-9a-f]{8}|[0-9a-f]{17})$`)
	subnetIDRe     = regexp.MustCompile(`^subnet-([0-9a-f]{8}|[0-9a-f]{17})$`)
	routeTableIDRe = regexp.MustCompile(`^rtb-([0-9a-f]{8}|[0-9a-f]{17})$`)
	azSuffixRe     = regexp.MustCompile(`^[a-z]$`)
	azNameRe       = regexp.MustCompile(`^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9][a-z]$`)
	retentionOK    = []int{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}
)

// checkName validates an instance name, which comes from the file name rather than from a key.
func checkName(name, file string) *Problem {
	var why string
	switch {
	case !nameRe.MatchString(name):
		why = "must be lowercase letters, digits and dashes, starting with a letter"
	case strings.HasSuffix(name, "-") || strings.Contains(name, "--"):
		why = "must not end with a dash or contain two dashes in a row"
	case len(name) > MaxNameLength:
		why = fmt.Sprintf("is %d characters long; the limit is %d", len(name), MaxNameLength)
	default:
		return nil
	}
	return &Problem{Pos: Pos{File: file}, Path: "instance", Message: fmt.Sprintf("name %q %s (rename the file, e.g. to physics-101.yaml)", name, why)}
}

type validator struct {
	cfg          *Config
	instanceFile string
	problems     Problems
}

// at returns where the problem with path is best fixed: where the instance file writes path or its
// nearest parent; failing that, where default.yaml does; failing that, the instance file.
func (v *validator) at(path string) Pos {
	var fallback *Pos
	for p := path; p != ""; p = parent(p) {
		pos, ok := v.cfg.Sources[p]
		switch {
		case ok && pos.File == v.instanceFile:
			return pos
		case ok && fallback == nil:
			fallback = &pos
		}
	}
	if fallback != nil {
		return *fallback
	}
	return Pos{File: v.instanceFile}
}

func parent(path string) string {
	i := strings.LastIndexAny(path, ".[")
	if i < 0 {
		return ""
	}
	return path[:i]
}

// reservedRanges are IPv4 ranges a VPC may not use (VPC user guide, "VPC CIDR blocks": not 0.0.0.0/8,
// loopback, link-local, multicast or the reserved 240.0.0.0/4).
var reservedRanges = []struct{ prefix, name string }{
	{"0.0.0.0/8", "0.0.0.0/8 (this network)"}, {"127.0.0.0/8", "127.0.0.0/8 (loopback)"}, {"169.254.0.0/16", "169.254.0.0/16 (link-local)"},
	{"224.0.0.0/4", "224.0.0.0/4 (multicast)"}, {"240.0.0.0/4", "240.0.0.0/4 (reserved)"},
}

func reservedRange(p netip.Prefix) string {
	for _, r := range reservedRanges {
		if netip.MustParsePrefix(r.prefix).Overlaps(p) {
			return r.name
		}
	}
	return ""
}

// written reports whether the instance file itself writes path (not only default.yaml).
func (v *validator) written(path string) bool {
	pos, ok := v.cfg.Sources[path]
	return ok && pos.File == v.instanceFile
}

func (v *validator) errorf(path, format string, args ...any) {
	v.problems = append(v.problems, Problem{Pos: v.at(path), Path: path, Message: fmt.Sprintf(format, args...)})
}

func validate(cfg *Config, instanceFile string) Problems {
	v := &validator{cfg: cfg, instanceFile: instanceFile}
	v.env()
	v.tags()
	v.vpc()
	v.compliance()
	v.auth()
	v.jobs()
	v.lookup()
	v.hub()
	v.registry()
	v.dns()
	v.control()
	v.control2()
	v.round2()
	return v.problems
}

func (v *validator) env() {
	e := v.cfg.Env
	if _, fromFile := v.cfg.Sources["env.account"]; fromFile && e.Account != "" && !accountRe.MatchString(e.Account) {
		v.errorf("env.account", "%q is not an AWS account ID (12 digits, quoted to keep leading zeros: \"012345678901\")", e.Account)
	}
	if _, fromFile := v.cfg.Sources["env.region"]; fromFile && e.Region != "" {
		switch {
		case !regionRe.MatchString(e.Region):
			v.errorf("env.region", "%q is not an AWS region name (such as us-east-1 or eu-central-1)", e.Region)
		case awsrules.Region(e.Region) != "":
			// Well formed, but not a region aws-cdk-lib knows: a typo such as us-east-3 would fail only
			// at deploy time, with the CLI's "could not resolve" error.
			v.errorf("env.region", "%q is not an AWS region (the regions aws-cdk-lib knows: %s)", e.Region, strings.Join(awsrules.Regions(), ", "))
		}
	}
	if v.cfg.Lifecycle == "" {
		v.errorf("lifecycle", "is required (development or production)")
	}
}

func (v *validator) vpc() {
	n := v.cfg.Vpc
	if n.Type == "" {
		v.errorf("vpc.type", "is required (new, existing or lookup)")
		return
	}
	if !contains(retentionOK, n.FlowLogRetentionDays) {
		v.errorf("vpc.flow_log_retention_days", "%d is not a CloudWatch Logs retention (one of %s)", n.FlowLogRetentionDays, joinInts(retentionOK))
	} else {
		v.productionRetention("vpc.flow_log_retention_days", n.FlowLogRetentionDays)
	}
	v.azNames(n.AvailabilityZones)

	// Keys that only mean something for another VPC type are mistakes, not silent no-ops.
	onlyFor := func(path, types string, set bool) {
		if set && !strings.Contains(types, n.Type) {
			v.errorf(path, "is only used when vpc.type is %s, not %s (remove it)", types, n.Type)
		}
	}
	onlyFor("vpc.nat_gateways", "new", n.NatGateways != 0)
	onlyFor("vpc.public_subnet_ids", "existing", len(n.PublicSubnetIDs) > 0)
	onlyFor("vpc.private_subnet_ids", "existing", len(n.PrivateSubnetIDs) > 0)
	onlyFor("vpc.public_route_table_ids", "existing", len(n.PublicRouteTableIDs) > 0)
	onlyFor("vpc.private_route_table_ids", "existing", len(n.PrivateRouteTableIDs) > 0)
	onlyFor("vpc.vpc_id", "existing or lookup", n.VpcID != "")
	onlyFor("vpc.availability_zones", "new or existing", len(n.AvailabilityZones) > 0)

	if v.cfg.Production() && n.Type != "lookup" && n.AZCount() == 1 && (v.cfg.Enabled.Jobs || v.cfg.Enabled.Lookup) {
		// Regulated accounts require Auto Scaling groups in two AZs at least (Security Hub control
		// AutoScaling.2, "Amazon EC2 Auto Scaling group should cover multiple Availability Zones"); the
		// jobs and lookup groups use every private subnet, so the VPC's AZ count is theirs.
		path := "vpc.max_azs"
		if len(n.AvailabilityZones) > 0 {
			path = "vpc.availability_zones"
		}
		v.errorf(path, "spans one availability zone, but a production instance's Auto Scaling groups (jobs, lookup) must span two at least (give two zones, or use lifecycle: development)")
	}

	switch n.Type {
	case "new":
		v.newVpc(n)
	case "existing":
		v.existingVpc(n)
	case "lookup":
		if n.VpcID != "" && !vpcIDRe.MatchString(n.VpcID) {
			v.errorf("vpc.vpc_id", "%q is not a VPC ID (vpc- and 8 or 17 hex digits), or leave it empty for the default VPC", n.VpcID)
		}
		if v.cfg.Env.Account == "" || v.cfg.Env.Region == "" {
			v.errorf("vpc.type", "lookup needs an explicit account and region (set env.account and env.region, or use vpc.type existing to stay offline)")
		}
	}
}

func (v *validator) newVpc(n Vpc) {
	prefix, ok := netip.Prefix{}, false
	if n.Cidr == "" {
		v.errorf("vpc.cidr", "is required for a new VPC (an IPv4 CIDR such as 10.0.0.0/16)")
	} else if p, err := netip.ParsePrefix(n.Cidr); err != nil || !p.Addr().Is4() {
		v.errorf("vpc.cidr", "%q is not an IPv4 CIDR (such as 10.0.0.0/16)", n.Cidr)
	} else if p.Masked() != p {
		v.errorf("vpc.cidr", "%q has host bits set (did you mean %s?)", n.Cidr, p.Masked())
	} else if p.Bits() < 16 || p.Bits() > 28 {
		v.errorf("vpc.cidr", "/%d is outside what a VPC allows (a prefix from /16 to /28)", p.Bits())
	} else if reserved := reservedRange(p); reserved != "" {
		v.errorf("vpc.cidr", "%q is in %s, which AWS does not allow for a VPC (use a private range such as 10.0.0.0/16, 172.16.0.0/16 or 192.168.0.0/16)", n.Cidr, reserved)
	} else {
		prefix, ok = p, true
	}

	azs := n.AZCount()
	if len(n.AvailabilityZones) == 0 && (n.MaxAzs < 1 || n.MaxAzs > 6) {
		v.errorf("vpc.max_azs", "%d is out of range (1 to 6)", n.MaxAzs)
		return
	}
	switch {
	case n.NatGateways < 0:
		v.errorf("vpc.nat_gateways", "%d is negative (0 to %d; 0 keeps an idle instance free of NAT charges)", n.NatGateways, azs)
	case n.NatGateways > azs:
		v.errorf("vpc.nat_gateways", "%d is more than the %d availability zones (0 to %d; 0 keeps an idle instance free of NAT charges)", n.NatGateways, azs, azs)
	}
	masksOK := true
	for _, m := range []struct {
		path string
		bits int
	}{{"vpc.public_subnet_mask", n.PublicSubnetMask}, {"vpc.private_subnet_mask", n.PrivateSubnetMask}} {
		if m.bits < 16 || m.bits > 28 {
			v.errorf(m.path, "/%d is not a subnet size AWS allows (16 to 28)", m.bits)
			masksOK = false
		} else if ok && m.bits < prefix.Bits() {
			v.errorf(m.path, "/%d is larger than the VPC's %s (use %d or more)", m.bits, n.Cidr, prefix.Bits())
			masksOK = false
		}
	}
	if ok && masksOK {
		need := azs * (1<<(32-n.PublicSubnetMask) + 1<<(32-n.PrivateSubnetMask))
		if have := 1 << (32 - prefix.Bits()); need > have {
			v.errorf("vpc.cidr", "%s holds %d addresses, but %d AZs of /%d public and /%d private subnets need %d (widen the CIDR or shrink the subnet masks)",
				n.Cidr, have, azs, n.PublicSubnetMask, n.PrivateSubnetMask, need)
		}
	}
}

func (v *validator) existingVpc(n Vpc) {
	if n.VpcID == "" {
		v.errorf("vpc.vpc_id", "is required when vpc.type is existing (such as vpc-0123456789abcdef0)")
	} else if !vpcIDRe.MatchString(n.VpcID) {
		v.errorf("vpc.vpc_id", "%q is not a VPC ID (vpc- and 8 or 17 hex digits)", n.VpcID)
	}
	azs := len(n.AvailabilityZones)
	if azs == 0 {
		v.errorf("vpc.availability_zones", "is required when vpc.type is existing (the AZ names of the subnets, such as [us-east-1a, us-east-1b])")
	}
	if n.Cidr != "" {
		if p, err := netip.ParsePrefix(n.Cidr); err != nil || !p.Addr().Is4() || p.Masked() != p {
			v.errorf("vpc.cidr", "%q is not an IPv4 network CIDR (the existing VPC's primary CIDR, such as 10.0.0.0/16, or leave it empty)", n.Cidr)
		}
	}
	v.subnets("vpc.private_subnet_ids", n.PrivateSubnetIDs, azs, true)
	v.subnets("vpc.public_subnet_ids", n.PublicSubnetIDs, azs, false)
	v.routeTables("vpc.private_route_table_ids", n.PrivateRouteTableIDs, "vpc.private_subnet_ids", len(n.PrivateSubnetIDs))
	v.routeTables("vpc.public_route_table_ids", n.PublicRouteTableIDs, "vpc.public_subnet_ids", len(n.PublicSubnetIDs))
}

// routeTables checks the route tables of an existing VPC's subnets: none, or one per subnet. Subnets
// may share a route table, so an ID may repeat.
func (v *validator) routeTables(path string, ids []string, subnetsPath string, subnets int) {
	if len(ids) == 0 {
		return
	}
	if len(ids) != subnets {
		v.errorf(path, "lists %d route tables for %d subnets in %s (give the route table of each subnet, in the same order, or none)", len(ids), subnets, subnetsPath)
	}
	for i, id := range ids {
		if !routeTableIDRe.MatchString(id) {
			v.errorf(fmt.Sprintf("%s[%d]", path, i), "%q is not a route table ID (rtb- and 8 or 17 hex digits)", id)
		}
	}
}

func (v *validator) subnets(path string, ids []string, azs int, required bool) {
	if len(ids) == 0 {
		if required {
			v.errorf(path, "is required when vpc.type is existing (one subnet ID per availability zone)")
		}
		return
	}
	if azs > 0 && len(ids) != azs {
		v.errorf(path, "lists %d subnets for %d availability zones (give one subnet per AZ, in the order of vpc.availability_zones)", len(ids), azs)
	}
	seen := map[string]bool{}
	for i, id := range ids {
		p := fmt.Sprintf("%s[%d]", path, i)
		if !subnetIDRe.MatchString(id) {
			v.errorf(p, "%q is not a subnet ID (subnet- and 8 or 17 hex digits)", id)
		} else if seen[id] {
			v.errorf(p, "%q is listed twice (each subnet once)", id)
		}
		seen[id] = true
	}
}

func (v *validator) azNames(azs []string) {
	if len(azs) > 6 {
		v.errorf("vpc.availability_zones", "lists %d zones (1 to 6)", len(azs))
	}
	region := v.cfg.Env.Region
	seen := map[string]bool{}
	for i, az := range azs {
		p := fmt.Sprintf("vpc.availability_zones[%d]", i)
		switch {
		case seen[az]:
			v.errorf(p, "%q is listed twice (each zone once)", az)
		case region != "" && !(strings.HasPrefix(az, region) && azSuffixRe.MatchString(strings.TrimPrefix(az, region))):
			v.errorf(p, "%q is not a zone of region %s (such as %sa)", az, region, region)
		case region == "" && !azNameRe.MatchString(az):
			v.errorf(p, "%q is not an availability zone name (such as us-east-1a)", az)
		}
		seen[az] = true
	}
}

// PackModules lists, for each cdk-nag pack beyond AwsSolutions, the modules whose stacks synthesize
// with no unsuppressed error under it (docs/COMPLIANCE.md has the rule-by-rule table).
// TestPackModulesTableIsTrue keeps it true both ways: a module listed here passes, and a module left
// out still fails (so the table is updated when a module is made to pass).
var PackModules = map[string][]string{
	"NIST80053R5": {"base", "auth",
		"jobs", "hub", "lookup", "registry", "control",
	},
	"HIPAA": {"base", "auth",
		"jobs", "hub", "lookup", "registry", "control",
	},
}

// Modules returns the modules the instance deploys, in stack order: base always, then auth, jobs,
// lookup, hub, registry and control as enabled.
func (c *Config) Modules() []string {
	mods := []string{"base"}
	for _, m := range []struct {
		name string
		on   bool
	}{{"auth", c.AuthEnabled()}, {"jobs", c.Enabled.Jobs}, {"lookup", c.Enabled.Lookup}, {"hub", c.Enabled.Hub}, {"registry", c.Enabled.Registry},
		{"control", c.Enabled.Control}} {
		if m.on {
			mods = append(mods, m.name)
		}
	}
	return mods
}

func (v *validator) compliance() {
	seen := map[string]bool{}
	for i, p := range v.cfg.Compliance.Packs {
		path := fmt.Sprintf("compliance.packs[%d]", i)
		if seen[p] {
			v.errorf(path, "%q is listed twice (each pack once)", p)
		}
		seen[p] = true
		ready, ok := PackModules[p]
		if !ok {
			continue // AwsSolutions, or a name the enum check already refused
		}
		var failing []string
		for _, m := range v.cfg.Modules() {
			if !slices.Contains(ready, m) {
				failing = append(failing, m)
			}
		}
		if len(failing) > 0 {
			// cdk-nag would fail `cdk synth` after every template is built; say so now, with the other problems.
			v.errorf(path, "%s cannot pass yet with %s enabled: cdk-nag would report errors and fail the synth (modules that meet %s: %s; docs/COMPLIANCE.md lists what each module lacks; remove the pack or those modules)",
				p, strings.Join(failing, ", "), p, strings.Join(ready, ", "))
		}
	}
}

// MinProductionRetentionDays is the shortest log retention of a production instance: a year (NIST
// 800-53 AU-11). The stacks raise default.yaml's shorter defaults to it; a shorter value the instance
// file writes itself is refused, since it would not be what the instance gets.
const MinProductionRetentionDays = 365

func (v *validator) productionRetention(path string, days int) {
	if v.cfg.Production() && v.written(path) && days < MinProductionRetentionDays {
		v.errorf(path, "%d days is less than a production instance keeps its logs (%d or more: 365, 400, 545, 731, ...; or remove the key, and production keeps %d)", days, MinProductionRetentionDays, MinProductionRetentionDays)
	}
}

func joinInts(xs []int) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = strconv.Itoa(x)
	}
	return strings.Join(s, ", ")
}
