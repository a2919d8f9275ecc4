package hubops

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	ciptypes "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/stratolab/stratolab/internal/kube"
)

// fakeCognito answers DescribeUserPoolClient with secret, or err.
type fakeCognito struct {
	secret string
	err    error
	in     *cip.DescribeUserPoolClientInput
}

func (f *fakeCognito) DescribeUserPoolClient(ctx context.Context, in *cip.DescribeUserPoolClientInput, _ ...func(*cip.Options)) (*cip.DescribeUserPoolClientOutput, error) {
	f.in = in
	if f.err != nil {
		return nil, f.err
	}
	c := &ciptypes.UserPoolClientType{ClientId: in.ClientId, UserPoolId: in.UserPoolId}
	if f.secret != "" {
		c.ClientSecret = aws.String(f.secret)
	}
	return &cip.DescribeUserPoolClientOutput{UserPoolClient: c}, nil
}

// fakeKube is a namespace's worth of objects that behaves like the API server where Teardown cares:
// an ingress lasts ingressPolls gets (-1: forever), and a deleted claim goes only once no user
// server pod is left (the pvc-protection finalizer). Every call is recorded in order.
type fakeKube struct {
	mu           sync.Mutex
	calls        []string
	ingress      bool
	ingressPolls int
	pods         []string // user server pods
	claims       []string
	terminating  []string // claims deleted but held by the finalizer
	stickyPods   bool     // pods survive deletion
	secrets      []*kube.Secret
	applyErr     error
	err          error // returned by every other call
}

func (k *fakeKube) record(format string, args ...any) {
	k.calls = append(k.calls, fmt.Sprintf(format, args...))
}

func (k *fakeKube) ApplySecret(ctx context.Context, s *kube.Secret) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.record("apply secret %s/%s", s.Metadata.Namespace, s.Metadata.Name)
	if k.applyErr != nil {
		return k.applyErr
	}
	k.secrets = append(k.secrets, s)
	return nil
}

func (k *fakeKube) Get(ctx context.Context, r kube.Resource, ns, name string) (bool, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.record("get %s %s/%s", r.Plural, ns, name)
	if k.err != nil {
		return false, k.err
	}
	if r != kube.Ingresses || !k.ingress {
		return false, nil
	}
	if k.ingressPolls == 0 {
		k.ingress = false
		return false, nil
	}
	if k.ingressPolls > 0 {
		k.ingressPolls--
	}
	return true, nil
}

func (k *fakeKube) List(ctx context.Context, r kube.Resource, ns, selector string) ([]string, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.record("list %s %s %s", r.Plural, ns, selector)
	if k.err != nil {
		return nil, k.err
	}
	switch r {
	case kube.Pods:
		return slices.Clone(k.pods), nil
	case kube.PersistentVolumeClaims:
		if len(k.pods) == 0 {
			k.terminating = nil
		}
		return append(slices.Clone(k.claims), k.terminating...), nil
	}
	return nil, nil
}

func (k *fakeKube) Delete(ctx context.Context, r kube.Resource, ns, name string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.record("delete %s %s/%s", r.Plural, ns, name)
	if r == kube.PersistentVolumeClaims && slices.Contains(k.claims, name) {
		k.claims = slices.DeleteFunc(k.claims, func(c string) bool { return c == name })
		k.terminating = append(k.terminating, name)
	}
	return k.err
}

func (k *fakeKube) DeleteCollection(ctx context.Context, r kube.Resource, ns, selector string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.record("deletecollection %s %s %s", r.Plural, ns, selector)
	if r == kube.Pods && selector == UserServerSelector && !k.stickyPods {
		k.pods = nil
	}
	return k.err
}

func (k *fakeKube) callList() []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return slices.Clone(k.calls)
}

// fakeEC2 serves volumes two a page and snapshots from fixed pages, ignoring filters (so the code's
// own tag checks are tested), and records what it is asked.
type fakeEC2 struct {
	mu         sync.Mutex
	calls      []string
	volumes    []types.Volume
	onDescribe func(call int, vols []types.Volume) []types.Volume // before each first page
	described  int
	volumeIn   []*ec2.DescribeVolumesInput

	snapshotPages   [][]types.Snapshot
	snapshotIn      []*ec2.DescribeSnapshotsInput
	deleteSnapErr   map[string]error
	deletedVolumes  []string
	deletedSnapshot []string
}

func (f *fakeEC2) DescribeVolumes(ctx context.Context, in *ec2.DescribeVolumesInput, _ ...func(*ec2.Options)) (*ec2.DescribeVolumesOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.volumeIn = append(f.volumeIn, in)
	start := 0
	if in.NextToken != nil {
		start, _ = strconv.Atoi(*in.NextToken)
	} else {
		f.described++
		f.calls = append(f.calls, "describe volumes")
		if f.onDescribe != nil {
			f.volumes = f.onDescribe(f.described, f.volumes)
		}
	}
	end := min(start+2, len(f.volumes))
	out := &ec2.DescribeVolumesOutput{Volumes: slices.Clone(f.volumes[start:end])}
	if end < len(f.volumes) {
		out.NextToken = aws.String(strconv.Itoa(end))
	}
	return out, nil
}

func (f *fakeEC2) DeleteVolume(ctx context.Context, in *ec2.DeleteVolumeInput, _ ...func(*ec2.Options)) (*ec2.DeleteVolumeOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := aws.ToString(in.VolumeId)
	f.calls = append(f.calls, "delete volume "+id)
	f.deletedVolumes = append(f.deletedVolumes, id)
	for i := range f.volumes {
		if aws.ToString(f.volumes[i].VolumeId) == id {
			f.volumes[i].State = types.VolumeStateDeleting
		}
	}
	return &ec2.DeleteVolumeOutput{}, nil
}

func (f *fakeEC2) DescribeSnapshots(ctx context.Context, in *ec2.DescribeSnapshotsInput, _ ...func(*ec2.Options)) (*ec2.DescribeSnapshotsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "describe snapshots")
	f.snapshotIn = append(f.snapshotIn, in)
	page := 0
	if in.NextToken != nil {
		page, _ = strconv.Atoi(*in.NextToken)
	}
	if page >= len(f.snapshotPages) {
		return &ec2.DescribeSnapshotsOutput{}, nil
	}
	out := &ec2.DescribeSnapshotsOutput{Snapshots: f.snapshotPages[page]}
	if page+1 < len(f.snapshotPages) {
		out.NextToken = aws.String(strconv.Itoa(page + 1))
	}
	return out, nil
}

func (f *fakeEC2) DeleteSnapshot(ctx context.Context, in *ec2.DeleteSnapshotInput, _ ...func(*ec2.Options)) (*ec2.DeleteSnapshotOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := aws.ToString(in.SnapshotId)
	f.calls = append(f.calls, "delete snapshot "+id)
	if err := f.deleteSnapErr[id]; err != nil {
		return nil, err
	}
	f.deletedSnapshot = append(f.deletedSnapshot, id)
	return &ec2.DeleteSnapshotOutput{}, nil
}

func tags(kv ...string) []types.Tag {
	var ts []types.Tag
	for i := 0; i+1 < len(kv); i += 2 {
		ts = append(ts, types.Tag{Key: aws.String(kv[i]), Value: aws.String(kv[i+1])})
	}
	return ts
}

// volume is an EBS CSI volume of claim in namespace jhub of cluster hub-cluster.
func volume(id, claim string, state types.VolumeState) types.Volume {
	return types.Volume{VolumeId: aws.String(id), State: state,
		Tags: tags(PVCNamespaceTag, "jhub", pvcNameTag, claim, "kubernetes.io/cluster/hub-cluster", "owned")}
}

// logs collects progress lines.
type logs struct {
	mu    sync.Mutex
	lines []string
}

func (l *logs) logf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
}

func (l *logs) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}
