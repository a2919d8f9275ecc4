package hubops

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/eks"
	ekstypes "github.com/aws/aws-sdk-go-v2/service/eks/types"
)

// EKS is the EKS call DesiredSize makes. *eks.Client satisfies it.
type EKS interface {
	DescribeNodegroup(ctx context.Context, in *eks.DescribeNodegroupInput, optFns ...func(*eks.Options)) (*eks.DescribeNodegroupOutput, error)
}

// NodegroupSizeType is the CloudFormation type of the node group size custom resource.
//
// CloudFormation sends a node group's whole ScalingConfig, desired size included, whenever its min or
// max changes, and EKS then sets the desired size to the template's value, terminating nodes that run
// user servers (aws/containers-roadmap#1259). The template therefore takes DesiredSize from this
// resource, which answers with the group's current desired size (the cluster autoscaler's), clamped to
// the new min and max; a group that does not exist yet starts at its min. It runs again only when min
// or max change, which is exactly when CloudFormation sends the desired size.
const NodegroupSizeType = "Custom::HubNodegroupSize"

// NodegroupSize is the size resource's properties: ClusterName, NodegroupName, MinSize, MaxSize.
type NodegroupSize struct {
	ClusterName, NodegroupName string
	Min, Max                   int
}

// ParseNodegroupSize decodes the size resource's properties, reporting every problem at once.
func ParseNodegroupSize(m map[string]any) (NodegroupSize, error) {
	var n NodegroupSize
	var errs []string
	str := func(key string) string {
		s, ok := m[key].(string)
		if !ok || s == "" {
			errs = append(errs, fmt.Sprintf("property %s is required (a string)", key))
		}
		return s
	}
	num := func(key string) int {
		s := str(key)
		v, err := strconv.Atoi(s)
		if s != "" && (err != nil || v < 0) {
			errs = append(errs, fmt.Sprintf("property %s: want a whole number of nodes, got %q", key, s))
		}
		return v
	}
	n.ClusterName, n.NodegroupName = str("ClusterName"), str("NodegroupName")
	n.Min, n.Max = num("MinSize"), num("MaxSize")
	if len(errs) == 0 && n.Min > n.Max {
		errs = append(errs, fmt.Sprintf("MinSize %d is more than MaxSize %d", n.Min, n.Max))
	}
	for k := range m {
		switch k {
		case "ServiceToken", "ServiceTimeout", "ClusterName", "NodegroupName", "MinSize", "MaxSize":
		default:
			errs = append(errs, "unknown property "+k)
		}
	}
	if len(errs) > 0 {
		return NodegroupSize{}, fmt.Errorf("hubops: %s", strings.Join(errs, "; "))
	}
	return n, nil
}

// SizePhysicalID is the size resource's physical ID, stable for a node group. Its prefix is not the
// operations resource's, so IsPhysicalID never takes it for one (a Delete of that one tears down).
func SizePhysicalID(n NodegroupSize) string {
	return "stratolab-hubops-size:" + n.ClusterName + "/" + n.NodegroupName
}

// DesiredSize is the desired size to give the node group: its current one within [Min, Max], or Min
// for a group that does not exist yet.
func DesiredSize(ctx context.Context, api EKS, n NodegroupSize) (int, error) {
	out, err := api.DescribeNodegroup(ctx, &eks.DescribeNodegroupInput{ClusterName: &n.ClusterName, NodegroupName: &n.NodegroupName})
	var notFound *ekstypes.ResourceNotFoundException
	switch {
	case errors.As(err, &notFound):
		return n.Min, nil
	case err != nil:
		return 0, fmt.Errorf("hubops: describe node group %s/%s: %w", n.ClusterName, n.NodegroupName, err)
	case out.Nodegroup == nil || out.Nodegroup.ScalingConfig == nil || out.Nodegroup.ScalingConfig.DesiredSize == nil:
		return n.Min, nil
	}
	return min(max(int(*out.Nodegroup.ScalingConfig.DesiredSize), n.Min), n.Max), nil
}
