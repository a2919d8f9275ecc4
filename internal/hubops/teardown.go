package hubops

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"

	"github.com/stratolab/stratolab/internal/kube"
)

// Tags that the EBS CSI driver and Data Lifecycle Manager put on what they create.
const (
	// PVCNamespaceTag is set by the EBS CSI driver (extra create metadata) to the claim's namespace.
	PVCNamespaceTag = "kubernetes.io/created-for/pvc/namespace"
	// pvcNameTag is set by the EBS CSI driver to the claim's name; it only labels progress lines.
	pvcNameTag = "kubernetes.io/created-for/pvc/name"
	// SnapshotPolicyTag is set by Data Lifecycle Manager to the ID of the policy that made a snapshot.
	SnapshotPolicyTag = "aws:dlm:lifecycle-policy-id"
)

// Teardown removes what controllers made outside CloudFormation; the custom resource's Delete calls
// it. Each step logs one line:
//
//  1. wait until the Ingress p.IngressName is gone: the AWS Load Balancer Controller holds a finalizer
//     on it until it has deleted the load balancer (an Ingress that is not there is not waited for);
//  2. when p.DeleteUserData: delete the user server pods, then every PersistentVolumeClaim of
//     p.Namespace, and wait until no claim is left (their protection finalizer goes with the pods);
//  3. when p.DeleteUserData: wait until no EBS volume tagged with the namespace (PVCNamespaceTag) and
//     the cluster's volume tag (Props.VolumeTagKey) is left (the EBS CSI driver deletes them once their claims go),
//     deleting those left available past Deps.VolumeGrace; then, when p.FileSystemID is set, until the
//     EFS CSI driver's access points on it are gone (EFS refuses to delete a file system with any);
//  4. when p.DeleteSnapshots: delete this account's snapshots made by the policy p.SnapshotPolicyID.
//
// Waits poll every Deps.Interval until ctx's deadline (DefaultTimeout when it has none); past it,
// Teardown returns an error naming what is left. Every step can run again: a retried Delete picks up
// where a failed one stopped.
func Teardown(ctx context.Context, d Deps, p Props) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultTimeout)
		defer cancel()
	}
	if err := waitIngressGone(ctx, d, p); err != nil {
		return err
	}
	if p.DeleteUserData {
		if err := deleteUserServersAndClaims(ctx, d, p); err != nil {
			return err
		}
		if err := waitVolumesGone(ctx, d, p); err != nil {
			return err
		}
		if err := waitAccessPointsGone(ctx, d, p); err != nil {
			return err
		}
	} else {
		d.logf("user data: kept (DeleteUserData is false): user servers, claims and EBS volumes of namespace %s are not touched", p.Namespace)
	}
	if p.DeleteSnapshots {
		return deleteSnapshots(ctx, d, p)
	}
	d.logf("snapshots: kept (DeleteSnapshots is false)")
	return nil
}

// errDeadline is what poll returns when the next poll would pass the deadline.
var errDeadline = errors.New("deadline")

// poll calls check every interval until it reports nothing left. When the next poll would pass ctx's
// deadline, or a check fails because ctx ran out, it returns errDeadline with what was left last.
func poll(ctx context.Context, d Deps, check func(context.Context) ([]string, error)) ([]string, error) {
	var left []string
	for {
		now, err := check(ctx)
		if err != nil {
			if ctx.Err() != nil && left != nil {
				return left, errDeadline
			}
			return nil, err
		}
		if left = now; len(left) == 0 {
			return nil, nil
		}
		if dl, ok := ctx.Deadline(); ok && time.Now().Add(d.interval()).After(dl) {
			return left, errDeadline
		}
		t := time.NewTimer(d.interval())
		select {
		case <-ctx.Done():
			t.Stop()
			return left, errDeadline
		case <-t.C:
		}
	}
}

// since formats the time from start, rounded to the second.
func since(start time.Time) time.Duration { return time.Since(start).Round(time.Second) }

func waitIngressGone(ctx context.Context, d Deps, p Props) error {
	if p.IngressName == "" {
		d.logf("ingress: none named; nothing to wait for")
		return nil
	}
	ref := p.Namespace + "/" + p.IngressName
	start := time.Now()
	polls := 0
	left, err := poll(ctx, d, func(ctx context.Context) ([]string, error) {
		polls++
		found, err := d.Kube.Get(ctx, kube.Ingresses, p.Namespace, p.IngressName)
		if err != nil || !found {
			return nil, err
		}
		return []string{"ingress " + ref}, nil
	})
	switch {
	case errors.Is(err, errDeadline):
		return fmt.Errorf("hubops: %s still exists after %s: the AWS Load Balancer Controller has not deleted its load balancer and removed its finalizer (left: %s)",
			ref, since(start), strings.Join(left, ", "))
	case err != nil:
		return fmt.Errorf("hubops: wait for ingress %s to go: %w", ref, err)
	case polls == 1:
		d.logf("ingress %s: not found; nothing to wait for", ref)
	default:
		d.logf("ingress %s: gone after %s (its load balancer is deleted)", ref, since(start))
	}
	return nil
}

func deleteUserServersAndClaims(ctx context.Context, d Deps, p Props) error {
	ns := p.Namespace
	start := time.Now()
	pods, err := d.Kube.List(ctx, kube.Pods, ns, UserServerSelector)
	if err != nil {
		return fmt.Errorf("hubops: list user servers in %s: %w", ns, err)
	}
	if len(pods) > 0 {
		if err := d.Kube.DeleteCollection(ctx, kube.Pods, ns, UserServerSelector); err != nil {
			return fmt.Errorf("hubops: delete user servers in %s: %w", ns, err)
		}
	}
	claims, err := d.Kube.List(ctx, kube.PersistentVolumeClaims, ns, "")
	if err != nil {
		return fmt.Errorf("hubops: list persistent volume claims in %s: %w", ns, err)
	}
	for _, c := range claims {
		if err := d.Kube.Delete(ctx, kube.PersistentVolumeClaims, ns, c); err != nil {
			return fmt.Errorf("hubops: delete persistent volume claim %s/%s: %w", ns, c, err)
		}
	}
	left, err := poll(ctx, d, func(ctx context.Context) ([]string, error) {
		return d.Kube.List(ctx, kube.PersistentVolumeClaims, ns, "")
	})
	if errors.Is(err, errDeadline) {
		msg := fmt.Sprintf("hubops: persistent volume claims of %s still exist after %s: %s", ns, since(start), strings.Join(left, ", "))
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if pods, perr := d.Kube.List(lctx, kube.Pods, ns, UserServerSelector); perr == nil && len(pods) > 0 {
			msg += fmt.Sprintf(" (user server pods still there, holding them: %s)", strings.Join(pods, ", "))
		}
		return errors.New(msg)
	}
	if err != nil {
		return fmt.Errorf("hubops: wait for the persistent volume claims of %s to go: %w", ns, err)
	}
	// Counts, not names: user servers and claims are named for their users.
	d.logf("user data: deleted %d user server pod(s) and %d persistent volume claim(s) of %s; all claims gone after %s",
		len(pods), len(claims), ns, since(start))
	return nil
}

func waitVolumesGone(ctx context.Context, d Deps, p Props) error {
	start := time.Now()
	clusterKey, clusterValue := p.volumeTag()
	filters := []types.Filter{
		{Name: aws.String("tag:" + PVCNamespaceTag), Values: []string{p.Namespace}},
		{Name: aws.String("tag:" + clusterKey), Values: []string{clusterValue}},
	}
	availableSince := map[string]time.Time{}
	var seen, deleted []string
	left, err := poll(ctx, d, func(ctx context.Context) ([]string, error) {
		vols, err := describeVolumes(ctx, d.EC2, filters)
		if err != nil {
			return nil, err
		}
		var left []string
		for _, v := range vols {
			id := aws.ToString(v.VolumeId)
			if !hasTag(v.Tags, PVCNamespaceTag, p.Namespace) || !hasTag(v.Tags, clusterKey, clusterValue) || v.State == types.VolumeStateDeleted {
				continue
			}
			if !slices.Contains(seen, id) {
				seen = append(seen, id)
			}
			if v.State != types.VolumeStateAvailable {
				delete(availableSince, id)
			} else if first, ok := availableSince[id]; !ok {
				availableSince[id] = time.Now()
			} else if time.Since(first) >= d.volumeGrace() && !slices.Contains(deleted, id) {
				_, err := d.EC2.DeleteVolume(ctx, &ec2.DeleteVolumeInput{VolumeId: v.VolumeId})
				switch {
				case err == nil || hasCode(err, "InvalidVolume.NotFound"):
					deleted = append(deleted, id)
				case hasCode(err, "VolumeInUse", "IncorrectState"):
					// Attached again since it was described: the next poll looks again.
				default:
					return nil, fmt.Errorf("delete volume %s: %w", id, err)
				}
			}
			left = append(left, fmt.Sprintf("%s (%s, claim %s)", id, v.State, tagValue(v.Tags, pvcNameTag)))
		}
		return left, nil
	})
	if errors.Is(err, errDeadline) {
		return fmt.Errorf("hubops: EBS volumes of namespace %s tagged %s=%s still exist after %s: %s",
			p.Namespace, clusterKey, clusterValue, since(start), strings.Join(left, ", "))
	}
	if err != nil {
		return fmt.Errorf("hubops: wait for the EBS volumes of namespace %s to go: %w", p.Namespace, err)
	}
	switch {
	case len(seen) == 0:
		d.logf("volumes: no EBS volume of namespace %s tagged %s=%s", p.Namespace, clusterKey, clusterValue)
	case len(deleted) == 0:
		d.logf("volumes: all %d EBS volume(s) of namespace %s gone after %s, deleted by the EBS CSI driver", len(seen), p.Namespace, since(start))
	default:
		d.logf("volumes: all %d EBS volume(s) of namespace %s gone after %s; deleted here, left available past %s: %s",
			len(seen), p.Namespace, since(start), d.volumeGrace(), strings.Join(deleted, " "))
	}
	return nil
}

// describeVolumes returns every volume that matches filters, following pages.
func describeVolumes(ctx context.Context, c EC2, filters []types.Filter) ([]types.Volume, error) {
	var vols []types.Volume
	var token *string
	for {
		out, err := c.DescribeVolumes(ctx, &ec2.DescribeVolumesInput{Filters: filters, MaxResults: aws.Int32(500), NextToken: token})
		if err != nil {
			return nil, fmt.Errorf("describe volumes: %w", err)
		}
		vols = append(vols, out.Volumes...)
		if token = out.NextToken; aws.ToString(token) == "" {
			return vols, nil
		}
	}
}

func deleteSnapshots(ctx context.Context, d Deps, p Props) error {
	// Collect every ID first: deleting while paging could shift the pages.
	var ids []string
	var token *string
	for {
		out, err := d.EC2.DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{
			OwnerIds:   []string{"self"},
			Filters:    []types.Filter{{Name: aws.String("tag:" + SnapshotPolicyTag), Values: []string{p.SnapshotPolicyID}}},
			MaxResults: aws.Int32(500),
			NextToken:  token,
		})
		if err != nil {
			return fmt.Errorf("hubops: describe snapshots of policy %s: %w", p.SnapshotPolicyID, err)
		}
		for _, s := range out.Snapshots {
			if hasTag(s.Tags, SnapshotPolicyTag, p.SnapshotPolicyID) {
				ids = append(ids, aws.ToString(s.SnapshotId))
			}
		}
		if token = out.NextToken; aws.ToString(token) == "" {
			break
		}
	}
	var failed []string
	for _, id := range ids {
		_, err := d.EC2.DeleteSnapshot(ctx, &ec2.DeleteSnapshotInput{SnapshotId: aws.String(id)})
		if err != nil && !hasCode(err, "InvalidSnapshot.NotFound") {
			failed = append(failed, fmt.Sprintf("%s (%v)", id, err))
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("hubops: %d of %d snapshot(s) of policy %s not deleted: %s",
			len(failed), len(ids), p.SnapshotPolicyID, strings.Join(failed, "; "))
	}
	d.logf("snapshots: deleted %d snapshot(s) of policy %s", len(ids), p.SnapshotPolicyID)
	return nil
}

func hasTag(tags []types.Tag, key, value string) bool {
	return slices.ContainsFunc(tags, func(t types.Tag) bool {
		return aws.ToString(t.Key) == key && aws.ToString(t.Value) == value
	})
}

func tagValue(tags []types.Tag, key string) string {
	for _, t := range tags {
		if aws.ToString(t.Key) == key {
			return aws.ToString(t.Value)
		}
	}
	return "?"
}

// hasCode reports whether err is an AWS API error with one of codes.
func hasCode(err error, codes ...string) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && slices.Contains(codes, ae.ErrorCode())
}
