package hubops

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	ekstypes "github.com/aws/aws-sdk-go-v2/service/eks/types"
)

type fakeEKS struct {
	desired *int32
	err     error
}

func (f fakeEKS) DescribeNodegroup(_ context.Context, in *eks.DescribeNodegroupInput, _ ...func(*eks.Options)) (*eks.DescribeNodegroupOutput, error) {
	if f.err != nil {
		return nil, f.err
	}
	return &eks.DescribeNodegroupOutput{Nodegroup: &ekstypes.Nodegroup{NodegroupName: in.NodegroupName,
		ScalingConfig: &ekstypes.NodegroupScalingConfig{DesiredSize: f.desired}}}, nil
}

func TestDesiredSizeKeepsWhatTheAutoscalerSet(t *testing.T) {
	n := NodegroupSize{ClusterName: "c", NodegroupName: "general", Min: 0, Max: 15}
	for _, c := range []struct {
		name string
		api  fakeEKS
		min  int
		max  int
		want int
	}{
		{"a new group starts at its min", fakeEKS{err: &ekstypes.ResourceNotFoundException{Message: aws.String("no")}}, 2, 15, 2},
		{"a running group keeps its nodes when min and max change", fakeEKS{desired: aws.Int32(7)}, 1, 15, 7},
		{"a raised min raises it", fakeEKS{desired: aws.Int32(1)}, 3, 15, 3},
		{"a lowered max lowers it", fakeEKS{desired: aws.Int32(7)}, 0, 4, 4},
	} {
		n.Min, n.Max = c.min, c.max
		got, err := DesiredSize(context.Background(), c.api, n)
		if err != nil || got != c.want {
			t.Errorf("%s: got %d, %v; want %d", c.name, got, err, c.want)
		}
	}
	if _, err := DesiredSize(context.Background(), fakeEKS{err: errors.New("AccessDenied")}, n); err == nil {
		t.Error("another error must fail the resource, not reset the group")
	}
}

func TestParseNodegroupSizeRejectsBadProperties(t *testing.T) {
	_, err := ParseNodegroupSize(map[string]any{"ClusterName": "c", "MinSize": "3", "MaxSize": "x", "Extra": "1"})
	want := `hubops: property NodegroupName is required (a string); property MaxSize: want a whole number of nodes, got "x"; unknown property Extra`
	if err == nil || err.Error() != want {
		t.Fatalf("got %v, want %s", err, want)
	}
	n, err := ParseNodegroupSize(map[string]any{"ServiceToken": "arn", "ClusterName": "c", "NodegroupName": "g", "MinSize": "0", "MaxSize": "4"})
	if err != nil || n != (NodegroupSize{"c", "g", 0, 4}) || SizePhysicalID(n) != "stratolab-hubops-size:c/g" || IsPhysicalID(SizePhysicalID(n)) {
		t.Fatalf("got %+v, %v", n, err)
	}
}
