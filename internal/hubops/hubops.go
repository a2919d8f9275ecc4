// Package hubops is the logic of the hub's operations custom resource. On Create and Update it
// copies the hub's Cognito app client secret into a Kubernetes Secret (SyncClientSecret), so no
// secret travels through CloudFormation or its logs. On Delete, which runs at `cdk destroy` before
// the cluster's add-ons and nodes go, it waits for and removes what controllers made outside
// CloudFormation (Teardown): the ingress's load balancer, user servers, volume claims, EBS volumes
// and snapshots.
//
// The AWS and Kubernetes calls sit behind small interfaces, so tests use fakes. Nothing here logs
// or returns the client secret.
package hubops

import (
	"context"
	"time"

	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/stratolab/stratolab/internal/kube"
)

// Cognito is the Cognito call SyncClientSecret makes. *cognitoidentityprovider.Client satisfies it.
type Cognito interface {
	DescribeUserPoolClient(ctx context.Context, in *cip.DescribeUserPoolClientInput, optFns ...func(*cip.Options)) (*cip.DescribeUserPoolClientOutput, error)
}

// EC2 is the EC2 calls Teardown makes. *ec2.Client satisfies it.
type EC2 interface {
	DescribeVolumes(ctx context.Context, in *ec2.DescribeVolumesInput, optFns ...func(*ec2.Options)) (*ec2.DescribeVolumesOutput, error)
	DeleteVolume(ctx context.Context, in *ec2.DeleteVolumeInput, optFns ...func(*ec2.Options)) (*ec2.DeleteVolumeOutput, error)
	DescribeSnapshots(ctx context.Context, in *ec2.DescribeSnapshotsInput, optFns ...func(*ec2.Options)) (*ec2.DescribeSnapshotsOutput, error)
	DeleteSnapshot(ctx context.Context, in *ec2.DeleteSnapshotInput, optFns ...func(*ec2.Options)) (*ec2.DeleteSnapshotOutput, error)
}

// Kube is the Kubernetes calls hubops makes. *kube.Client satisfies it.
type Kube interface {
	ApplySecret(ctx context.Context, s *kube.Secret) error
	Get(ctx context.Context, r kube.Resource, namespace, name string) (bool, error)
	List(ctx context.Context, r kube.Resource, namespace, labelSelector string) ([]string, error)
	Delete(ctx context.Context, r kube.Resource, namespace, name string) error
	DeleteCollection(ctx context.Context, r kube.Resource, namespace, labelSelector string) error
}

// Deps are the clients and knobs SyncClientSecret and Teardown use.
type Deps struct {
	Cognito Cognito
	EC2     EC2
	// EFS is needed only when Props.FileSystemID is set.
	EFS  EFS
	Kube Kube
	// Logf writes one progress line. It never receives a secret.
	// Default: - lines are dropped.
	Logf func(format string, args ...any)
	// Interval is the time between two polls of a wait.
	// Default: 10 seconds.
	Interval time.Duration
	// VolumeGrace is how long an EBS volume of the namespace may stay available, after Teardown
	// first sees it so, before Teardown deletes it itself instead of waiting for the EBS CSI driver.
	// Default: 2 minutes.
	VolumeGrace time.Duration
}

// DefaultTimeout bounds Teardown when its context has no deadline.
const DefaultTimeout = 14 * time.Minute

// ManagedByLabel is the label, set to "stratolab", on what hubops writes.
const ManagedByLabel = "app.kubernetes.io/managed-by"

// UserServerSelector selects KubeSpawner's user server pods.
const UserServerSelector = "component=singleuser-server"

func (d Deps) logf(format string, args ...any) {
	if d.Logf != nil {
		d.Logf(format, args...)
	}
}

func (d Deps) interval() time.Duration {
	if d.Interval > 0 {
		return d.Interval
	}
	return 10 * time.Second
}

func (d Deps) volumeGrace() time.Duration {
	if d.VolumeGrace > 0 {
		return d.VolumeGrace
	}
	return 2 * time.Minute
}
