package hubops

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/efs"
	efstypes "github.com/aws/aws-sdk-go-v2/service/efs/types"
)

// EFS is the EFS calls Teardown makes for home directories on EFS. *efs.Client satisfies it.
type EFS interface {
	DescribeAccessPoints(ctx context.Context, in *efs.DescribeAccessPointsInput, optFns ...func(*efs.Options)) (*efs.DescribeAccessPointsOutput, error)
	DeleteAccessPoint(ctx context.Context, in *efs.DeleteAccessPointInput, optFns ...func(*efs.Options)) (*efs.DeleteAccessPointOutput, error)
}

// CSIAccessPointTag is on every access point the EFS CSI driver creates (aws-efs-csi-driver v3.4.1,
// pkg/driver/controller.go, buildAccessPointTags: efs.csi.aws.com/cluster=true).
const CSIAccessPointTag = "efs.csi.aws.com/cluster"

// waitAccessPointsGone waits until the home file system has no access point of the EFS CSI driver
// left: the driver deletes one when its volume goes (reclaim Delete), and EFS refuses to delete a
// file system that still has access points ("you must delete all of the mount targets and access
// points", EFS user guide, Deleting EFS file systems). One left past Deps.VolumeGrace is deleted here.
func waitAccessPointsGone(ctx context.Context, d Deps, p Props) error {
	if p.FileSystemID == "" || d.EFS == nil {
		d.logf("access points: no home file system named; nothing to wait for")
		return nil
	}
	start := time.Now()
	firstSeen := map[string]time.Time{}
	var seen, deleted []string
	left, err := poll(ctx, d, func(ctx context.Context) ([]string, error) {
		var aps []efstypes.AccessPointDescription
		in := &efs.DescribeAccessPointsInput{FileSystemId: aws.String(p.FileSystemID)}
		for {
			out, err := d.EFS.DescribeAccessPoints(ctx, in)
			var notFound *efstypes.FileSystemNotFound
			if errors.As(err, &notFound) {
				return nil, nil
			}
			if err != nil {
				return nil, err
			}
			aps = append(aps, out.AccessPoints...)
			if out.NextToken == nil {
				break
			}
			in.NextToken = out.NextToken
		}
		var left []string
		for _, ap := range aps {
			if !slices.ContainsFunc(ap.Tags, func(t efstypes.Tag) bool { return aws.ToString(t.Key) == CSIAccessPointTag }) ||
				ap.LifeCycleState == efstypes.LifeCycleStateDeleted {
				continue
			}
			id := aws.ToString(ap.AccessPointId)
			if !slices.Contains(seen, id) {
				seen = append(seen, id)
			}
			if first, ok := firstSeen[id]; !ok {
				firstSeen[id] = time.Now()
			} else if time.Since(first) >= d.volumeGrace() && !slices.Contains(deleted, id) {
				_, err := d.EFS.DeleteAccessPoint(ctx, &efs.DeleteAccessPointInput{AccessPointId: ap.AccessPointId})
				var gone *efstypes.AccessPointNotFound
				if err != nil && !errors.As(err, &gone) {
					return nil, fmt.Errorf("delete access point %s: %w", id, err)
				}
				deleted = append(deleted, id)
			}
			left = append(left, id)
		}
		return left, nil
	})
	if errors.Is(err, errDeadline) {
		return fmt.Errorf("hubops: access points of %s still exist after %s: %s", p.FileSystemID, since(start), strings.Join(left, ", "))
	}
	if err != nil {
		return fmt.Errorf("hubops: wait for the access points of %s to go: %w", p.FileSystemID, err)
	}
	switch {
	case len(seen) == 0:
		d.logf("access points: none of the EFS CSI driver on %s", p.FileSystemID)
	case len(deleted) == 0:
		d.logf("access points: all %d of %s gone after %s, deleted by the EFS CSI driver", len(seen), p.FileSystemID, since(start))
	default:
		d.logf("access points: all %d of %s gone after %s; deleted here, left past %s: %s", len(seen), p.FileSystemID, since(start), d.volumeGrace(), strings.Join(deleted, " "))
	}
	return nil
}
