package instance

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"unicode/utf16"
)

// AWS's rules for resource tags ("Tag naming limits and requirements" in the Tagging AWS Resources guide;
// the same text is in every service's Tag type, for example CloudFormation's AWS::EKS::AccessEntry Tag
// and ECS's Tag):
//   - at most 50 user-created tags per resource; tags whose key starts with aws: do not count;
//   - a key is 1 to 128 Unicode characters, a value 0 to 256;
//   - letters, numbers, spaces, and + - = . _ : / @;
//   - aws:, in any case, is reserved as the prefix of keys and of values.
//
// Lengths are counted in UTF-16 code units, the stricter reading of "Unicode characters" (a character
// outside the Basic Multilingual Plane counts twice), so that no service that counts that way refuses a
// tag the loader accepted.
const (
	MaxTagsPerResource = 50
	MaxTagKeyLength    = 128
	MaxTagValueLength  = 256
)

var tagCharsRe = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$`)

// ownTag is a tag that stratolab, or a service or controller it drives, puts on some of the
// instance's resources besides the user's tags.extra.
type ownTag struct{ key, on string }

// ownTagPrefixes are key prefixes whose tags stratolab's own logic reads (the cluster autoscaler's node
// templates, the hub's teardown and snapshot policy) or that the CDK and the Kubernetes controllers
// write: a user tag with one of them would overwrite or fake theirs.
var ownTagPrefixes = []string{"stratolab.io/", "k8s.io/", "kubernetes.io/", "aws-cdk:", "ebs.csi.aws.com/", "efs.csi.aws.com/", "elbv2.k8s.aws/", "ingress.k8s.aws/"}

// ownTags lists, for the resource that carries the most of them, the tags the instance's enabled
// modules put on a resource besides tags.extra. Every CloudFormation resource has the cost allocation
// tag and Product; the others are the worst case of each module.
func ownTags(cfg *Config) (worst []ownTag) {
	every := []ownTag{{cfg.Tags.CostKey, "every resource"}, {"Product", "every resource"}}
	worst = every
	consider := func(tags []ownTag) {
		if len(tags) > len(worst) {
			worst = tags
		}
	}
	if cfg.Vpc.Type == "new" {
		// aws-cdk-lib's Vpc names its subnets and marks their type (aws-ec2/lib/vpc.ts: NAME_TAG,
		// SUBNETNAME_TAG, SUBNETTYPE_TAG).
		subnet := append(slices.Clone(every), ownTag{"Name", "a subnet"}, ownTag{"aws-cdk:subnet-name", "a subnet"}, ownTag{"aws-cdk:subnet-type", "a subnet"})
		if cfg.Enabled.Hub {
			// The hub marks the subnets the load balancer controller may use
			// (kubernetes.io/role/elb or kubernetes.io/role/internal-elb).
			subnet = append(subnet, ownTag{"kubernetes.io/role/elb", "a subnet"})
		}
		consider(subnet)
	}
	if cfg.Enabled.Hub {
		// A GPU user node group: the autoscaler's node-template tags for its three labels
		// (node purpose, node group, accelerator) and its two taints (constructs/hub nodeLabels, taints).
		consider(append(slices.Clone(every),
			ownTag{"k8s.io/cluster-autoscaler/node-template/label/hub.jupyter.org/node-purpose", "a hub node group"},
			ownTag{"k8s.io/cluster-autoscaler/node-template/label/stratolab.io/node-group", "a hub node group"},
			ownTag{"k8s.io/cluster-autoscaler/node-template/label/k8s.amazonaws.com/accelerator", "a hub node group"},
			ownTag{"k8s.io/cluster-autoscaler/node-template/taint/hub.jupyter.org/dedicated", "a hub node group"},
			ownTag{"k8s.io/cluster-autoscaler/node-template/taint/nvidia.com/gpu", "a hub node group"}))
		// A node's EC2 instance gets the launch template's tags (the cost tag, Product, tags.extra) and
		// those EKS's managed node group gives its Auto Scaling group (eks:cluster-name,
		// eks:nodegroup-name and the cluster and autoscaler discovery tags): 7 at most, under the 8 below.
		// A snapshot of a user volume. The EBS CSI driver tags each volume it creates with
		// CSIVolumeName, ebs.csi.aws.com/cluster and, with extra-create-metadata (the chart's default),
		// the claim's name and namespace and the volume's name (aws-ebs-csi-driver pkg/cloud/cloud.go,
		// pkg/driver/constants.go); the add-on adds our extraVolumeTags (the cost tag and
		// stratolab.io/cluster, not Product); the snapshot policy copies them all and Data Lifecycle
		// Manager adds one of its own that is not in the aws: namespace (counted here to be safe).
		consider([]ownTag{{cfg.Tags.CostKey, "a hub volume snapshot"}, {"stratolab.io/cluster", "a hub volume snapshot"},
			{"CSIVolumeName", "a hub volume snapshot"}, {"ebs.csi.aws.com/cluster", "a hub volume snapshot"},
			{"kubernetes.io/created-for/pvc/name", "a hub volume snapshot"}, {"kubernetes.io/created-for/pvc/namespace", "a hub volume snapshot"},
			{"kubernetes.io/created-for/pv/name", "a hub volume snapshot"}, {"dlm:managed", "a hub volume snapshot"}})
	}
	return worst
}

// utf16Len is the length of s in UTF-16 code units.
func utf16Len(s string) int { return len(utf16.Encode([]rune(s))) }

// tagProblem says what is wrong with a tag key or value, or "".
func tagProblem(s, what string, min, max int) string {
	n := utf16Len(s)
	switch {
	case n < min:
		return fmt.Sprintf("the %s is empty (1 to %d characters)", what, max)
	case n > max:
		return fmt.Sprintf("the %s is %d characters long; AWS allows %d", what, n, max)
	case !tagCharsRe.MatchString(s):
		bad := strings.Map(func(r rune) rune {
			if tagCharsRe.MatchString(string(r)) {
				return -1
			}
			return r
		}, s)
		return fmt.Sprintf("the %s has characters AWS does not allow in tags: %q (letters, numbers, spaces and _ . : / = + - @)", what, uniqueRunes(bad))
	case strings.HasPrefix(strings.ToLower(s), "aws:"):
		return fmt.Sprintf("the %s starts with aws:, which AWS reserves for its own tags", what)
	}
	return ""
}

func uniqueRunes(s string) string {
	var out []rune
	for _, r := range s {
		if !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	return string(out)
}

func (v *validator) tags() {
	t := v.cfg.Tags
	if t.CostKey == "" {
		v.errorf("tags.cost_key", "is required (a tag key such as stratolab:instance)")
	} else if why := tagProblem(t.CostKey, "key", 1, MaxTagKeyLength); why != "" {
		v.errorf("tags.cost_key", "%q is not a valid tag key: %s", t.CostKey, why)
	} else if t.CostKey == "Product" || hasOwnPrefix(t.CostKey) != "" {
		v.errorf("tags.cost_key", "%q is a tag stratolab sets itself (choose another key, such as stratolab:instance)", t.CostKey)
	}
	for _, k := range slices.Sorted(maps.Keys(t.Extra)) {
		p := "tags.extra." + k
		val := t.Extra[k]
		if why := tagProblem(k, "key", 1, MaxTagKeyLength); why != "" {
			v.errorf(p, "%q is not a valid tag key: %s", k, why)
			continue
		}
		if k == t.CostKey {
			v.errorf(p, "is also tags.cost_key, whose value stratolab sets to the instance's name on every resource (choose another key, or another cost_key)")
			continue
		}
		if k == "Product" {
			v.errorf(p, "tag %q is set by stratolab itself (choose another key)", k)
			continue
		}
		if prefix := hasOwnPrefix(k); prefix != "" {
			v.errorf(p, "tag %q starts with %s, which stratolab, the CDK or the cluster's controllers use for their own tags (choose another key)", k, prefix)
			continue
		}
		if why := tagProblem(val, "value", 0, MaxTagValueLength); why != "" {
			v.errorf(p, "value %q is not a valid tag value: %s", val, why)
			continue
		}
		if v.cfg.Enabled.Hub && strings.Contains(k, "=") {
			// The load balancer controller reads alb.ingress.kubernetes.io/tags as k1=v1,k2=v2 and splits
			// each pair at its first = (pkg/annotations/parser.go, ParseStringMapAnnotation).
			v.errorf(p, "tag key %q contains =, which the hub's load balancer controller would read as the end of the key (choose a key without =)", k)
		}
		if v.cfg.Enabled.Hub && (strings.TrimSpace(k) != k || strings.TrimSpace(val) != val) {
			// The same parser trims spaces around keys and values: the load balancer would get another tag.
			v.errorf(p, "tag %q: a key or value that starts or ends with a space is tagged without it on the hub's load balancer (remove the space)", k)
		}
	}
	if t.CostKey == "" {
		return
	}
	own := ownTags(v.cfg)
	if total := len(own) + len(t.Extra); total > MaxTagsPerResource {
		keys := make([]string, len(own))
		for i, o := range own {
			keys[i] = o.key
		}
		v.errorf("tags.extra", "has %d tags, but %s also carries %d tags of stratolab's own (%s): %d in all, and AWS allows %d per resource (keep tags.extra to %d)",
			len(t.Extra), own[len(own)-1].on, len(own), strings.Join(keys, ", "), total, MaxTagsPerResource, MaxTagsPerResource-len(own))
	}
}

// hasOwnPrefix returns the prefix of ownTagPrefixes that key starts with, or "".
func hasOwnPrefix(key string) string {
	for _, p := range ownTagPrefixes {
		if strings.HasPrefix(key, p) {
			return p
		}
	}
	return ""
}
