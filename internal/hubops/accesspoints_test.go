package hubops

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/efs"
	efstypes "github.com/aws/aws-sdk-go-v2/service/efs/types"
)

// fakeEFS serves the access points of one file system, in pages of one; the CSI driver (gone after
// driverAfter describes) deletes the ones it made unless stuck.
type fakeEFS struct {
	aps         []efstypes.AccessPointDescription
	stuck       string
	driverAfter int
	calls       int
	deleted     []string
}

func (f *fakeEFS) DescribeAccessPoints(_ context.Context, in *efs.DescribeAccessPointsInput, _ ...func(*efs.Options)) (*efs.DescribeAccessPointsOutput, error) {
	if in.NextToken == nil {
		f.calls++
		if f.calls > f.driverAfter {
			f.aps = slices.DeleteFunc(f.aps, func(a efstypes.AccessPointDescription) bool {
				return aws.ToString(a.AccessPointId) != f.stuck && slices.ContainsFunc(a.Tags, func(t efstypes.Tag) bool { return *t.Key == CSIAccessPointTag })
			})
		}
	}
	i := 0
	if in.NextToken != nil {
		i = int((*in.NextToken)[0] - '0')
	}
	out := &efs.DescribeAccessPointsOutput{}
	if i < len(f.aps) {
		out.AccessPoints = f.aps[i : i+1]
		if i+1 < len(f.aps) {
			out.NextToken = aws.String(string(rune('0' + i + 1)))
		}
	}
	return out, nil
}

func (f *fakeEFS) DeleteAccessPoint(_ context.Context, in *efs.DeleteAccessPointInput, _ ...func(*efs.Options)) (*efs.DeleteAccessPointOutput, error) {
	f.deleted = append(f.deleted, *in.AccessPointId)
	f.aps = slices.DeleteFunc(f.aps, func(a efstypes.AccessPointDescription) bool { return *a.AccessPointId == *in.AccessPointId })
	return &efs.DeleteAccessPointOutput{}, nil
}

func ap(id string, csi bool) efstypes.AccessPointDescription {
	a := efstypes.AccessPointDescription{AccessPointId: aws.String(id), LifeCycleState: efstypes.LifeCycleStateAvailable}
	if csi {
		a.Tags = []efstypes.Tag{{Key: aws.String(CSIAccessPointTag), Value: aws.String("true")}}
	}
	return a
}

func TestTeardownWaitsForTheCSIDriversAccessPointsAndDeletesStuckOnes(t *testing.T) {
	f := &fakeEFS{aps: []efstypes.AccessPointDescription{ap("fsap-ann", true), ap("fsap-stuck", true), ap("fsap-admin", false)}, stuck: "fsap-stuck", driverAfter: 1}
	var l logs
	d := fastDeps(&fakeKube{}, &fakeEC2{}, &l)
	d.EFS, d.VolumeGrace = f, time.Nanosecond
	p := devProps()
	p.DeleteSnapshots, p.FileSystemID = false, "fs-0123"
	if err := Teardown(shortCtx(t, 5*time.Second), d, p); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(f.deleted, []string{"fsap-stuck"}) {
		t.Errorf("deleted %v, want only the stuck CSI access point (not the one the driver deleted, nor one it did not make)", f.deleted)
	}
	if !strings.Contains(l.String(), "access points: all 2 of fs-0123 gone") || !strings.Contains(l.String(), "fsap-stuck") {
		t.Errorf("log = %q", l.String())
	}
}

func TestTeardownInProductionLeavesAccessPoints(t *testing.T) {
	f := &fakeEFS{aps: []efstypes.AccessPointDescription{ap("fsap-ann", true)}, driverAfter: 1 << 30}
	var l logs
	d := fastDeps(&fakeKube{}, &fakeEC2{}, &l)
	d.EFS = f
	p := teardownProps()
	p.FileSystemID = "fs-0123"
	if err := Teardown(shortCtx(t, 5*time.Second), d, p); err != nil {
		t.Fatal(err)
	}
	if f.calls != 0 || len(f.deleted) != 0 {
		t.Errorf("production: %d describes, deleted %v; want none", f.calls, f.deleted)
	}
}
