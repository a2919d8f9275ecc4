package fleetdrain_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/smithy-go"
	"github.com/stratolab/stratolab/internal/fleetdrain"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fleets behaves as EC2 Auto Scaling does for a group set to 0: on each look, unprotected instances have
// terminated and protected ones stay (scale-in protection). An agent that takes a job protects its
// instance again once (reprotect).
type fleets struct {
	mu        sync.Mutex
	groups    map[string]map[string]bool // group → instance → protected
	size      map[string]int32
	reprotect map[string]bool
	calls     []string
}

func (f *fleets) UpdateAutoScalingGroup(_ context.Context, in *autoscaling.UpdateAutoScalingGroupInput, _ ...func(*autoscaling.Options)) (*autoscaling.UpdateAutoScalingGroupOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	name := aws.ToString(in.AutoScalingGroupName)
	f.calls = append(f.calls, "update "+name)
	if _, ok := f.groups[name]; !ok {
		return nil, &smithy.GenericAPIError{Code: "ValidationError", Message: "AutoScalingGroup name not found"}
	}
	f.size[name] = aws.ToInt32(in.MaxSize)
	return &autoscaling.UpdateAutoScalingGroupOutput{}, nil
}

func (f *fleets) DescribeAutoScalingGroups(_ context.Context, in *autoscaling.DescribeAutoScalingGroupsInput, _ ...func(*autoscaling.Options)) (*autoscaling.DescribeAutoScalingGroupsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := &autoscaling.DescribeAutoScalingGroupsOutput{}
	for _, name := range in.AutoScalingGroupNames {
		insts, ok := f.groups[name]
		if !ok {
			continue
		}
		g := types.AutoScalingGroup{AutoScalingGroupName: aws.String(name)}
		for id, protected := range insts {
			if !protected && f.size[name] == 0 {
				delete(insts, id) // terminated
				continue
			}
			g.Instances = append(g.Instances, types.Instance{InstanceId: aws.String(id), ProtectedFromScaleIn: aws.Bool(protected)})
		}
		out.AutoScalingGroups = append(out.AutoScalingGroups, g)
	}
	return out, nil
}

func (f *fleets) SetInstanceProtection(_ context.Context, in *autoscaling.SetInstanceProtectionInput, _ ...func(*autoscaling.Options)) (*autoscaling.SetInstanceProtectionOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	name := aws.ToString(in.AutoScalingGroupName)
	for _, id := range in.InstanceIds {
		f.calls = append(f.calls, "unprotect "+id)
		f.groups[name][id] = aws.ToBool(in.ProtectedFromScaleIn)
		if f.reprotect[id] {
			f.reprotect[id] = false
			f.groups[name][id] = true // its agent took another job meanwhile
		}
	}
	return &autoscaling.SetInstanceProtectionOutput{}, nil
}

func TestDrainEmptiesFleetsWhoseWorkersProtectThemselves(t *testing.T) {
	f := &fleets{
		groups: map[string]map[string]bool{
			"prod": {"i-busy": true, "i-idle": false},
			"test": {"i-again": true},
		},
		size:      map[string]int32{"prod": 3, "test": 1},
		reprotect: map[string]bool{"i-again": true},
	}
	err := fleetdrain.Drain(context.Background(), f, []string{"prod", "test", "gone"}, time.Millisecond)
	require.NoError(t, err)
	assert.Empty(t, f.groups["prod"])
	assert.Empty(t, f.groups["test"])
	assert.Equal(t, []string{"update prod", "update test", "update gone"}, f.calls[:3], "every group set to 0 first; a missing one is skipped")
	assert.Contains(t, f.calls, "unprotect i-busy")
	n := 0
	for _, c := range f.calls {
		if c == "unprotect i-again" {
			n++
		}
	}
	assert.Equal(t, 2, n, "an instance protected again is unprotected again")
}

func TestDrainGivesUpWhenItsTimeRunsOut(t *testing.T) {
	f := &fleets{groups: map[string]map[string]bool{"prod": {"i-1": true}}, size: map[string]int32{"prod": 1}, reprotect: map[string]bool{}}
	// An instance that never leaves (its protection keeps coming back).
	stuck := &stubborn{fleets: f}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := fleetdrain.Drain(ctx, stuck, []string{"prod"}, 5*time.Millisecond)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "1 instances still in [prod]")
}

type stubborn struct{ *fleets }

func (s *stubborn) SetInstanceProtection(context.Context, *autoscaling.SetInstanceProtectionInput, ...func(*autoscaling.Options)) (*autoscaling.SetInstanceProtectionOutput, error) {
	return &autoscaling.SetInstanceProtectionOutput{}, nil
}
