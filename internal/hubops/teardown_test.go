package hubops

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"
)

func teardownProps() Props {
	p := secretProps()
	p.IngressName = "jupyterhub"
	return p
}

func devProps() Props {
	p := teardownProps()
	p.DeleteUserData = true
	p.DeleteSnapshots = true
	p.SnapshotPolicyID = "policy-0abc"
	return p
}

// fastDeps polls every millisecond, with a long volume grace unless a test shortens it.
func fastDeps(k *fakeKube, e *fakeEC2, l *logs) Deps {
	return Deps{Kube: k, EC2: e, Logf: l.logf, Interval: time.Millisecond, VolumeGrace: time.Hour}
}

func shortCtx(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func TestTeardownWaitsForIngressToGo(t *testing.T) {
	k := &fakeKube{ingress: true, ingressPolls: 3}
	var l logs
	if err := Teardown(shortCtx(t, 5*time.Second), fastDeps(k, &fakeEC2{}, &l), teardownProps()); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(strings.Join(k.callList(), "\n"), "get ingresses jhub/jupyterhub"); n != 4 {
		t.Errorf("ingress polled %d times, want 4 (3 found, then gone)", n)
	}
	if !strings.Contains(l.String(), "ingress jhub/jupyterhub: gone after") {
		t.Errorf("log = %q, want the ingress's progress line", l.String())
	}
}

func TestTeardownGoesOnWhenIngressNeverExisted(t *testing.T) {
	k := &fakeKube{}
	var l logs
	if err := Teardown(shortCtx(t, 5*time.Second), fastDeps(k, &fakeEC2{}, &l), teardownProps()); err != nil {
		t.Fatal(err)
	}
	if len(k.callList()) != 1 || !strings.Contains(l.String(), "ingress jhub/jupyterhub: not found") {
		t.Errorf("calls = %v, log = %q; want one get and a not-found line", k.callList(), l.String())
	}
}

func TestTeardownFailsNamingAStuckIngress(t *testing.T) {
	k := &fakeKube{ingress: true, ingressPolls: -1}
	start := time.Now()
	err := Teardown(shortCtx(t, 100*time.Millisecond), fastDeps(k, &fakeEC2{}, &logs{}), teardownProps())
	if err == nil || !strings.Contains(err.Error(), "ingress jhub/jupyterhub") || !strings.Contains(err.Error(), "still exists") {
		t.Fatalf("err = %v, want a deadline error naming the ingress", err)
	}
	if time.Since(start) > 2*time.Second {
		t.Errorf("Teardown ran %s past a 100ms deadline", time.Since(start))
	}
}

func TestTeardownInProductionOnlyWaitsForTheIngress(t *testing.T) {
	k := &fakeKube{ingress: true, ingressPolls: 1, pods: []string{"jupyter-ann"}, claims: []string{"claim-ann"}}
	e := &fakeEC2{volumes: []types.Volume{volume("vol-1", "claim-ann", types.VolumeStateAvailable)},
		snapshotPages: [][]types.Snapshot{{{SnapshotId: aws.String("snap-1"), Tags: tags(SnapshotPolicyTag, "policy-0abc")}}}}
	var l logs
	p := teardownProps()
	p.SnapshotPolicyID = "policy-0abc" // set, but DeleteSnapshots is false
	if err := Teardown(shortCtx(t, 5*time.Second), fastDeps(k, e, &l), p); err != nil {
		t.Fatal(err)
	}
	for _, c := range k.callList() {
		if !strings.HasPrefix(c, "get ingresses ") {
			t.Errorf("production teardown called Kubernetes: %s", c)
		}
	}
	if len(e.calls) != 0 {
		t.Errorf("production teardown called EC2: %v", e.calls)
	}
	if !strings.Contains(l.String(), "user data: kept") || !strings.Contains(l.String(), "snapshots: kept") {
		t.Errorf("log = %q, want lines saying user data and snapshots are kept", l.String())
	}
}

func TestTeardownDeletesUserServersThenClaimsAndWaits(t *testing.T) {
	k := &fakeKube{pods: []string{"jupyter-ann", "jupyter-bob"}, claims: []string{"claim-ann", "claim-bob", "hub-db-dir"}}
	var l logs
	p := devProps()
	p.DeleteSnapshots = false
	if err := Teardown(shortCtx(t, 5*time.Second), fastDeps(k, &fakeEC2{}, &l), p); err != nil {
		t.Fatal(err)
	}
	calls := k.callList()
	podsGone := slices.Index(calls, "deletecollection pods jhub component=singleuser-server")
	firstClaim := slices.IndexFunc(calls, func(c string) bool { return strings.HasPrefix(c, "delete persistentvolumeclaims ") })
	if podsGone < 0 || firstClaim < 0 || podsGone > firstClaim {
		t.Fatalf("calls = %v, want the user servers deleted before any claim", calls)
	}
	for _, c := range []string{"claim-ann", "claim-bob", "hub-db-dir"} {
		if !slices.Contains(calls, "delete persistentvolumeclaims jhub/"+c) {
			t.Errorf("claim %s not deleted: %v", c, calls)
		}
	}
	if last := calls[len(calls)-1]; last != "list persistentvolumeclaims jhub " {
		t.Errorf("last call = %q, want the claim list that found none left", last)
	}
	if !strings.Contains(l.String(), "deleted 2 user server pod(s)") || !strings.Contains(l.String(), "3 persistent volume claim(s)") {
		t.Errorf("log = %q, want the counts", l.String())
	}
}

func TestTeardownFailsNamingClaimsHeldByPods(t *testing.T) {
	k := &fakeKube{pods: []string{"jupyter-ann"}, claims: []string{"claim-ann"}, stickyPods: true}
	p := devProps()
	err := Teardown(shortCtx(t, 100*time.Millisecond), fastDeps(k, &fakeEC2{}, &logs{}), p)
	if err == nil || !strings.Contains(err.Error(), "claim-ann") || !strings.Contains(err.Error(), "jupyter-ann") {
		t.Fatalf("err = %v, want a deadline error naming the claim and the pod holding it", err)
	}
}

func TestTeardownWaitsForTheCSIDriverToDeleteVolumes(t *testing.T) {
	e := &fakeEC2{volumes: []types.Volume{
		volume("vol-a", "claim-ann", types.VolumeStateInUse),
		volume("vol-b", "claim-bob", types.VolumeStateAvailable),
		volume("vol-c", "claim-cy", types.VolumeStateAvailable),
	}}
	// The driver deletes one volume a poll.
	e.onDescribe = func(call int, vols []types.Volume) []types.Volume {
		if call > 1 && len(vols) > 0 {
			return vols[1:]
		}
		return vols
	}
	var l logs
	p := devProps()
	p.DeleteSnapshots = false
	if err := Teardown(shortCtx(t, 5*time.Second), fastDeps(&fakeKube{}, e, &l), p); err != nil {
		t.Fatal(err)
	}
	if len(e.deletedVolumes) != 0 {
		t.Errorf("deleted %v itself, want the driver left to do it within the grace period", e.deletedVolumes)
	}
	if e.described != 4 {
		t.Errorf("described volumes %d times, want 4 (three volumes, then none)", e.described)
	}
	in := e.volumeIn[0]
	want := map[string]string{"tag:kubernetes.io/created-for/pvc/namespace": "jhub", "tag:kubernetes.io/cluster/hub-cluster": "owned"}
	if len(in.Filters) != 2 {
		t.Fatalf("filters = %v, want %v", in.Filters, want)
	}
	for _, f := range in.Filters {
		if want[aws.ToString(f.Name)] != strings.Join(f.Values, ",") {
			t.Errorf("filter %s=%v, want %v", aws.ToString(f.Name), f.Values, want)
		}
	}
	if !strings.Contains(l.String(), "all 3 EBS volume(s) of namespace jhub gone after 0s, deleted by the EBS CSI driver") {
		t.Errorf("log = %q, want the volume line", l.String())
	}
}

func TestTeardownDeletesVolumesLeftAvailable(t *testing.T) {
	e := &fakeEC2{volumes: []types.Volume{
		volume("vol-a", "claim-ann", types.VolumeStateInUse),
		volume("vol-left", "claim-bob", types.VolumeStateAvailable),
		// Not the cluster's (the fake ignores filters): neither waited for nor deleted.
		{VolumeId: aws.String("vol-other"), State: types.VolumeStateAvailable, Tags: tags(PVCNamespaceTag, "jhub", "kubernetes.io/cluster/other", "owned")},
	}}
	e.onDescribe = func(call int, vols []types.Volume) []types.Volume {
		// The driver deletes vol-a after two polls and never vol-left; a deleting volume goes next poll.
		return slices.DeleteFunc(vols, func(v types.Volume) bool {
			return (call > 2 && aws.ToString(v.VolumeId) == "vol-a") || v.State == types.VolumeStateDeleting
		})
	}
	var l logs
	d := fastDeps(&fakeKube{}, e, &l)
	d.VolumeGrace = time.Nanosecond // deleted on the second sighting as available
	p := devProps()
	p.DeleteSnapshots = false
	if err := Teardown(shortCtx(t, 5*time.Second), d, p); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(e.deletedVolumes, []string{"vol-left"}) {
		t.Errorf("deleted volumes %v, want only vol-left", e.deletedVolumes)
	}
	if !strings.Contains(l.String(), "all 2 EBS volume(s) of namespace jhub gone") || !strings.Contains(l.String(), "deleted here, left available past 1ns: vol-left") {
		t.Errorf("log = %q, want the volume line naming vol-left", l.String())
	}
}

func TestTeardownFailsNamingVolumesStillInUse(t *testing.T) {
	e := &fakeEC2{volumes: []types.Volume{volume("vol-stuck", "claim-ann", types.VolumeStateInUse)}}
	p := devProps()
	err := Teardown(shortCtx(t, 100*time.Millisecond), fastDeps(&fakeKube{}, e, &logs{}), p)
	if err == nil || !strings.Contains(err.Error(), "vol-stuck (in-use, claim claim-ann)") {
		t.Fatalf("err = %v, want a deadline error naming the volume, its state and its claim", err)
	}
	if len(e.deletedVolumes) != 0 {
		t.Errorf("deleted an in-use volume: %v", e.deletedVolumes)
	}
}

func TestTeardownDeletesOnlyThePolicysSnapshotsAcrossPages(t *testing.T) {
	mine := func(id string) types.Snapshot {
		return types.Snapshot{SnapshotId: aws.String(id), Tags: tags(SnapshotPolicyTag, "policy-0abc")}
	}
	e := &fakeEC2{snapshotPages: [][]types.Snapshot{
		{mine("snap-1"), {SnapshotId: aws.String("snap-other-policy"), Tags: tags(SnapshotPolicyTag, "policy-9")}},
		{{SnapshotId: aws.String("snap-untagged")}, mine("snap-2")},
		{mine("snap-3")},
	}}
	var l logs
	p := devProps()
	p.DeleteUserData = false
	if err := Teardown(shortCtx(t, 5*time.Second), fastDeps(&fakeKube{}, e, &l), p); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(e.deletedSnapshot, []string{"snap-1", "snap-2", "snap-3"}) {
		t.Errorf("deleted %v, want snap-1..3 only", e.deletedSnapshot)
	}
	if len(e.snapshotIn) != 3 || aws.ToString(e.snapshotIn[2].NextToken) != "2" {
		t.Fatalf("described snapshots %d times, want 3 pages followed by token", len(e.snapshotIn))
	}
	in := e.snapshotIn[0]
	if !slices.Equal(in.OwnerIds, []string{"self"}) || len(in.Filters) != 1 ||
		aws.ToString(in.Filters[0].Name) != "tag:aws:dlm:lifecycle-policy-id" || !slices.Equal(in.Filters[0].Values, []string{"policy-0abc"}) {
		t.Errorf("DescribeSnapshots input = %+v, want owner self and the policy tag filter", in)
	}
	// All pages are read before the first delete.
	if i := slices.Index(e.calls, "delete snapshot snap-1"); i != 3 {
		t.Errorf("calls = %v, want three describes before the deletes", e.calls)
	}
	if !strings.Contains(l.String(), "snapshots: deleted 3 snapshot(s) of policy policy-0abc") {
		t.Errorf("log = %q", l.String())
	}
}

func TestTeardownNamesSnapshotsItCouldNotDelete(t *testing.T) {
	e := &fakeEC2{
		snapshotPages: [][]types.Snapshot{{
			{SnapshotId: aws.String("snap-ami"), Tags: tags(SnapshotPolicyTag, "policy-0abc")},
			{SnapshotId: aws.String("snap-gone"), Tags: tags(SnapshotPolicyTag, "policy-0abc")},
			{SnapshotId: aws.String("snap-ok"), Tags: tags(SnapshotPolicyTag, "policy-0abc")},
		}},
		deleteSnapErr: map[string]error{
			"snap-ami":  &smithy.GenericAPIError{Code: "InvalidSnapshot.InUse", Message: "in use by ami-1"},
			"snap-gone": &smithy.GenericAPIError{Code: "InvalidSnapshot.NotFound", Message: "gone"},
		},
	}
	p := devProps()
	p.DeleteUserData = false
	err := Teardown(shortCtx(t, 5*time.Second), fastDeps(&fakeKube{}, e, &logs{}), p)
	if err == nil || !strings.Contains(err.Error(), "1 of 3") || !strings.Contains(err.Error(), "snap-ami") || strings.Contains(err.Error(), "snap-gone") {
		t.Fatalf("err = %v, want one naming snap-ami only", err)
	}
	if !slices.Contains(e.deletedSnapshot, "snap-ok") {
		t.Errorf("a failed delete stopped the others: deleted %v", e.deletedSnapshot)
	}
}

func TestTeardownMatchesVolumesByTheGivenClusterTag(t *testing.T) {
	ours := types.Volume{VolumeId: aws.String("vol-ours"), State: types.VolumeStateAvailable,
		Tags: tags(PVCNamespaceTag, "jhub", pvcNameTag, "claim-ann", "stratolab.io/cluster", "hub-cluster")}
	// Tagged the Kubernetes way but not with the given tag: not this function's to delete.
	k8sOnly := volume("vol-k8s-only", "claim-bob", types.VolumeStateAvailable)
	e := &fakeEC2{volumes: []types.Volume{ours, k8sOnly}}
	e.onDescribe = func(call int, vols []types.Volume) []types.Volume {
		return slices.DeleteFunc(vols, func(v types.Volume) bool { return v.State == types.VolumeStateDeleting })
	}
	d := fastDeps(&fakeKube{}, e, &logs{})
	d.VolumeGrace = time.Nanosecond
	p := devProps()
	p.DeleteSnapshots = false
	p.VolumeTagKey, p.VolumeTagValue = "stratolab.io/cluster", "hub-cluster"
	if err := Teardown(shortCtx(t, 5*time.Second), d, p); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(e.deletedVolumes, []string{"vol-ours"}) {
		t.Errorf("deleted %v, want vol-ours only", e.deletedVolumes)
	}
	if f := e.volumeIn[0].Filters[1]; aws.ToString(f.Name) != "tag:stratolab.io/cluster" || !slices.Equal(f.Values, []string{"hub-cluster"}) {
		t.Errorf("cluster filter = %s=%v, want tag:stratolab.io/cluster=hub-cluster", aws.ToString(f.Name), f.Values)
	}
}
