// Package fleetdrain empties job fleets before CloudFormation deletes them (functions/jobfleets, the
// delete handler of jobrunner's Custom::JobFleetsDrain resource).
//
// A worker agent protects its instance from scale-in while it runs a job. CloudFormation deletes an Auto
// Scaling group by setting its size to 0 and waiting for its instances to terminate, which protected
// instances never do (scale-in protection: "instances are protected from termination when the group
// scales in"), so `cdk destroy` with a running job would wait and then fail. Drain sets each group to 0
// and lifts the protection of every instance left, again and again until the groups are empty (an agent
// that took a job in between protects its instance once more). Terminated workers return their running
// jobs to the queue, marked interrupted.
package fleetdrain

import (
	"context"
	"errors"
	"fmt"
	"log"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
)

// API is the part of *autoscaling.Client Drain uses.
type API interface {
	UpdateAutoScalingGroup(ctx context.Context, in *autoscaling.UpdateAutoScalingGroupInput, optFns ...func(*autoscaling.Options)) (*autoscaling.UpdateAutoScalingGroupOutput, error)
	DescribeAutoScalingGroups(ctx context.Context, in *autoscaling.DescribeAutoScalingGroupsInput, optFns ...func(*autoscaling.Options)) (*autoscaling.DescribeAutoScalingGroupsOutput, error)
	SetInstanceProtection(ctx context.Context, in *autoscaling.SetInstanceProtectionInput, optFns ...func(*autoscaling.Options)) (*autoscaling.SetInstanceProtectionOutput, error)
}

// maxIDs is SetInstanceProtection's limit of instance IDs per call (EC2 Auto Scaling API Reference).
const maxIDs = 50

// Drain empties groups, polling every poll, until none has an instance or ctx ends (then it returns
// ctx's error). Groups that do not exist (any more) count as empty.
func Drain(ctx context.Context, api API, groups []string, poll time.Duration) error {
	for _, g := range groups {
		_, err := api.UpdateAutoScalingGroup(ctx, &autoscaling.UpdateAutoScalingGroupInput{
			AutoScalingGroupName: aws.String(g), MinSize: aws.Int32(0), MaxSize: aws.Int32(0), DesiredCapacity: aws.Int32(0),
		})
		if err != nil && !missing(err) {
			return fmt.Errorf("set %s to 0: %w", g, err)
		}
	}
	for {
		out, err := api.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: groups})
		if err != nil {
			return fmt.Errorf("describe %v: %w", groups, err)
		}
		left := 0
		for _, g := range out.AutoScalingGroups {
			var protected []string
			for _, i := range g.Instances {
				left++
				if aws.ToBool(i.ProtectedFromScaleIn) {
					protected = append(protected, aws.ToString(i.InstanceId))
				}
			}
			for chunk := range slices.Chunk(protected, maxIDs) {
				log.Printf("%s: lifting scale-in protection of %v", aws.ToString(g.AutoScalingGroupName), chunk)
				_, err := api.SetInstanceProtection(ctx, &autoscaling.SetInstanceProtectionInput{
					AutoScalingGroupName: g.AutoScalingGroupName, InstanceIds: chunk, ProtectedFromScaleIn: aws.Bool(false),
				})
				// An instance that has just left the group makes the call fail; the next round retries.
				if err != nil && ctx.Err() == nil {
					log.Printf("%s: %v", aws.ToString(g.AutoScalingGroupName), err)
				}
			}
		}
		if left == 0 {
			return nil
		}
		log.Printf("%d instances left", left)
		select {
		case <-ctx.Done():
			return fmt.Errorf("%d instances still in %v: %w", left, groups, ctx.Err())
		case <-time.After(poll):
		}
	}
}

// missing: UpdateAutoScalingGroup of a group that does not exist answers ValidationError.
func missing(err error) bool {
	var v interface{ ErrorCode() string }
	return errors.As(err, &v) && v.ErrorCode() == "ValidationError"
}
