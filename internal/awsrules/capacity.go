package awsrules

import (
	"slices"
	"strconv"
	"strings"
)

// Capacity is what one EC2 instance type offers: vCPUs, memory in GiB and NVIDIA GPUs.
type Capacity struct {
	VCPU      int
	MemoryGiB float64
	GPUs      int
}

// gibPerVCPU is the memory of the families whose sizes scale linearly (large = 2 vCPUs, xlarge = 4,
// Nxlarge = 4N): general purpose 4 GiB per vCPU, compute 2, memory 8 (EC2 instance type pages).
var gibPerVCPU = map[string]float64{
	"m5": 4, "m5a": 4, "m6i": 4, "m6a": 4, "m7i": 4, "m7a": 4, "m6g": 4, "m7g": 4,
	"c5": 2, "c5a": 2, "c6i": 2, "c6a": 2, "c7i": 2, "c7a": 2, "c6g": 2, "c7g": 2,
	"r5": 8, "r5a": 8, "r6i": 8, "r6a": 8, "r7i": 8, "r7a": 8, "r6g": 8, "r7g": 8,
}

// burstable sizes (t3, t3a, t4g): vCPUs and GiB.
var burstable = map[string]Capacity{
	"nano": {2, 0.5, 0}, "micro": {2, 1, 0}, "small": {2, 2, 0}, "medium": {2, 4, 0},
	"large": {2, 8, 0}, "xlarge": {4, 16, 0}, "2xlarge": {8, 32, 0},
}

// gpuTypes are the NVIDIA GPU types, size by size (EC2 accelerated computing instance pages).
var gpuTypes = map[string]map[string]Capacity{
	"g4dn": {"xlarge": {4, 16, 1}, "2xlarge": {8, 32, 1}, "4xlarge": {16, 64, 1}, "8xlarge": {32, 128, 1},
		"12xlarge": {48, 192, 4}, "16xlarge": {64, 256, 1}, "metal": {96, 384, 8}},
	"g5": {"xlarge": {4, 16, 1}, "2xlarge": {8, 32, 1}, "4xlarge": {16, 64, 1}, "8xlarge": {32, 128, 1},
		"12xlarge": {48, 192, 4}, "16xlarge": {64, 256, 1}, "24xlarge": {96, 384, 4}, "48xlarge": {192, 768, 8}},
	"g6": {"xlarge": {4, 16, 1}, "2xlarge": {8, 32, 1}, "4xlarge": {16, 64, 1}, "8xlarge": {32, 128, 1},
		"12xlarge": {48, 192, 4}, "16xlarge": {64, 256, 1}, "24xlarge": {96, 384, 4}, "48xlarge": {192, 768, 8}},
	"g6e": {"xlarge": {4, 32, 1}, "2xlarge": {8, 64, 1}, "4xlarge": {16, 128, 1}, "8xlarge": {32, 256, 1},
		"12xlarge": {48, 384, 4}, "16xlarge": {64, 512, 1}, "24xlarge": {96, 768, 4}, "48xlarge": {192, 1536, 8}},
	"g5g": {"xlarge": {4, 8, 1}, "2xlarge": {8, 16, 1}, "4xlarge": {16, 32, 1}, "8xlarge": {32, 64, 1},
		"16xlarge": {64, 128, 2}, "metal": {64, 128, 2}},
	"p3":  {"2xlarge": {8, 61, 1}, "8xlarge": {32, 244, 4}, "16xlarge": {64, 488, 8}},
	"p4d": {"24xlarge": {96, 1152, 8}},
	"p5":  {"48xlarge": {192, 2048, 8}},
}

// EC2Capacity is the capacity of an instance type of the families the hub accepts (EC2Families), and
// false for any other type.
func EC2Capacity(t string) (Capacity, bool) {
	family, size, ok := strings.Cut(t, ".")
	if !ok {
		return Capacity{}, false
	}
	if sizes, ok := gpuTypes[family]; ok {
		c, ok := sizes[size]
		return c, ok
	}
	if family == "t3" || family == "t3a" || family == "t4g" {
		c, ok := burstable[size]
		return c, ok
	}
	perVCPU, ok := gibPerVCPU[family]
	if !ok {
		return Capacity{}, false
	}
	vcpu := 0
	switch {
	case size == "large":
		vcpu = 2
	case size == "xlarge":
		vcpu = 4
	case strings.HasSuffix(size, "xlarge"):
		n, err := strconv.Atoi(strings.TrimSuffix(size, "xlarge"))
		if err != nil || !slices.Contains([]int{2, 4, 8, 12, 16, 24, 32, 48}, n) {
			return Capacity{}, false
		}
		vcpu = 4 * n
	default:
		return Capacity{}, false
	}
	return Capacity{VCPU: vcpu, MemoryGiB: float64(vcpu) * perVCPU}, true
}

// EC2Families lists the families EC2Capacity knows, sorted.
func EC2Families() []string {
	out := []string{"t3", "t3a", "t4g"}
	for f := range gibPerVCPU {
		out = append(out, f)
	}
	for f := range gpuTypes {
		out = append(out, f)
	}
	slices.Sort(out)
	return out
}

// PodAllocatable approximates what an EKS node of capacity c leaves for one user pod: kube-reserved and
// the eviction threshold take about 0.1 vCPU and 8% of memory at these sizes, and the DaemonSets
// (aws-node, kube-proxy, the CSI node plugins, the Pod Identity agent) about 0.3 vCPU and 0.5 GiB.
func PodAllocatable(c Capacity) (vcpu, memoryGiB float64) {
	return float64(c.VCPU) - 0.4, c.MemoryGiB*0.92 - 0.5
}

// regions are the regions aws-cdk-lib 2.270.0's region facts know (regioninfo.RegionInfo_Regions; a
// test keeps the two equal).
var regions = []string{
	"af-south-1", "ap-east-1", "ap-east-2", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-south-1", "ap-south-2",
	"ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "ap-southeast-4", "ap-southeast-5", "ap-southeast-6", "ap-southeast-7",
	"ca-central-1", "ca-west-1", "cn-north-1", "cn-northwest-1", "eu-central-1", "eu-central-2", "eu-isoe-west-1", "eu-north-1",
	"eu-south-1", "eu-south-2", "eu-west-1", "eu-west-2", "eu-west-3", "eusc-de-east-1", "il-central-1", "me-central-1",
	"me-south-1", "mx-central-1", "sa-east-1", "us-east-1", "us-east-2", "us-gov-east-1", "us-gov-west-1", "us-iso-east-1",
	"us-iso-west-1", "us-isob-east-1", "us-isob-west-1", "us-isof-east-1", "us-isof-south-1", "us-west-1", "us-west-2",
}

// Regions lists the regions AWS has, as aws-cdk-lib knows them.
func Regions() []string { return slices.Clone(regions) }

// Region checks a region name against Regions.
func Region(r string) string {
	if slices.Contains(regions, r) {
		return ""
	}
	return "is not an AWS region (such as us-east-1, eu-central-1 or ap-southeast-2)"
}
