package hubops

import (
	"encoding/base64"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Props are the hub operations custom resource's properties, decoded. CloudFormation passes every
// property as a string; ParseProps turns them into these fields.
type Props struct {
	// ClusterName is the EKS cluster's name (property ClusterName). Required.
	ClusterName string
	// Endpoint is the cluster's Kubernetes API URL (property Endpoint). Required.
	Endpoint string
	// CertificateAuthority is the PEM bundle of the cluster's CA (property CertificateAuthority,
	// base64-encoded PEM as EKS returns it). Required.
	CertificateAuthority []byte
	// Namespace is the hub's namespace (property Namespace). Required.
	Namespace string
	// UserPoolID is the Cognito user pool of the hub's app client (property UserPoolId). Required.
	UserPoolID string
	// ClientID is the hub's Cognito app client (property ClientId). Required.
	ClientID string
	// SecretName is the Kubernetes Secret that receives the client secret (property SecretName). Required.
	SecretName string
	// SecretKey is the key of the client secret in that Secret (property SecretKey). Required.
	SecretKey string
	// IngressName is the hub's Ingress, whose load balancer Teardown waits for (property IngressName).
	// Default: - no Ingress is waited for.
	IngressName string
	// DeleteUserData makes Teardown delete the user servers, every PVC in Namespace and their EBS
	// volumes (property DeleteUserData, "true" or "false").
	// Default: false.
	DeleteUserData bool
	// DeleteSnapshots makes Teardown delete this account's snapshots tagged with SnapshotPolicyID
	// (property DeleteSnapshots, "true" or "false").
	// Default: false.
	DeleteSnapshots bool
	// VolumeTagKey and VolumeTagValue are the tag, besides the claim's namespace, that marks the EBS
	// volumes of this cluster that Teardown waits for and deletes (property VolumeTag, "key=value").
	// Default: - "kubernetes.io/cluster/<ClusterName>=owned", as the EBS CSI driver tags a volume when
	// its k8sTagClusterId is set.
	VolumeTagKey, VolumeTagValue string
	// FileSystemID is the EFS file system of home directories whose CSI access points Teardown waits
	// for and deletes with DeleteUserData (property FileSystemId).
	// Default: - none: homes are not on EFS.
	FileSystemID string
	// SnapshotPolicyID is the Data Lifecycle Manager policy whose snapshots DeleteSnapshots deletes
	// (property SnapshotPolicyId). Required when DeleteSnapshots is true.
	// Default: - none.
	SnapshotPolicyID string
}

// Property names of the custom resource, as the construct writes them.
const (
	PropClusterName          = "ClusterName"
	PropEndpoint             = "Endpoint"
	PropCertificateAuthority = "CertificateAuthority"
	PropNamespace            = "Namespace"
	PropUserPoolID           = "UserPoolId"
	PropClientID             = "ClientId"
	PropSecretName           = "SecretName"
	PropSecretKey            = "SecretKey"
	PropIngressName          = "IngressName"
	PropDeleteUserData       = "DeleteUserData"
	PropDeleteSnapshots      = "DeleteSnapshots"
	PropSnapshotPolicyID     = "SnapshotPolicyId"
	PropVolumeTag            = "VolumeTag"
	PropFileSystemID         = "FileSystemId"
)

// ParseProps decodes a custom resource's ResourceProperties. It reports every problem at once:
// a missing required property, a value that is not a string, a boolean that is not "true" or
// "false", a CA that is not base64 PEM, and any property it does not know (ServiceToken, which
// and ServiceTimeout, CloudFormation's own, are allowed).
func ParseProps(m map[string]any) (Props, error) {
	var p Props
	var errs []string
	str := func(key string, required bool) string {
		v, ok := m[key]
		if !ok || v == nil {
			if required {
				errs = append(errs, fmt.Sprintf("property %s is required", key))
			}
			return ""
		}
		s, ok := v.(string)
		if !ok {
			errs = append(errs, fmt.Sprintf("property %s: want a string, got %T", key, v))
			return ""
		}
		if required && s == "" {
			errs = append(errs, fmt.Sprintf("property %s is required (got an empty string)", key))
		}
		return s
	}
	boolean := func(key string) bool {
		switch s := str(key, false); s {
		case "", "false":
			return false
		case "true":
			return true
		default:
			errs = append(errs, fmt.Sprintf("property %s: want \"true\" or \"false\", got %q", key, s))
			return false
		}
	}
	p.ClusterName = str(PropClusterName, true)
	p.Endpoint = str(PropEndpoint, true)
	if ca := str(PropCertificateAuthority, true); ca != "" {
		if strings.HasPrefix(strings.TrimSpace(ca), "-----BEGIN") {
			p.CertificateAuthority = []byte(ca)
		} else if pemBytes, err := base64.StdEncoding.DecodeString(ca); err != nil || !strings.Contains(string(pemBytes), "-----BEGIN CERTIFICATE-----") {
			errs = append(errs, fmt.Sprintf("property %s: want the cluster's certificateAuthority.data (base64-encoded PEM)", PropCertificateAuthority))
		} else {
			p.CertificateAuthority = pemBytes
		}
	}
	p.Namespace = str(PropNamespace, true)
	p.UserPoolID = str(PropUserPoolID, true)
	p.ClientID = str(PropClientID, true)
	p.SecretName = str(PropSecretName, true)
	p.SecretKey = str(PropSecretKey, true)
	p.IngressName = str(PropIngressName, false)
	p.DeleteUserData = boolean(PropDeleteUserData)
	p.DeleteSnapshots = boolean(PropDeleteSnapshots)
	p.SnapshotPolicyID = str(PropSnapshotPolicyID, false)
	p.FileSystemID = str(PropFileSystemID, false)
	if vt := str(PropVolumeTag, false); vt != "" {
		k, v, ok := strings.Cut(vt, "=")
		if !ok || k == "" || v == "" {
			errs = append(errs, fmt.Sprintf("property %s: want key=value, such as stratolab.io/cluster=%s, got %q", PropVolumeTag, p.ClusterName, vt))
		}
		p.VolumeTagKey, p.VolumeTagValue = k, v
	}
	if p.DeleteSnapshots && p.SnapshotPolicyID == "" {
		errs = append(errs, fmt.Sprintf("property %s is required when %s is \"true\"", PropSnapshotPolicyID, PropDeleteSnapshots))
	}
	// ServiceToken and ServiceTimeout are AWS::CloudFormation::CustomResource's own properties, which
	// CloudFormation may pass on with the rest.
	known := []string{"ServiceToken", "ServiceTimeout", PropClusterName, PropEndpoint, PropCertificateAuthority, PropNamespace,
		PropUserPoolID, PropClientID, PropSecretName, PropSecretKey, PropIngressName, PropDeleteUserData,
		PropDeleteSnapshots, PropSnapshotPolicyID, PropVolumeTag, PropFileSystemID}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if !slices.Contains(known, k) {
			errs = append(errs, fmt.Sprintf("unknown property %s (known: %s)", k, strings.Join(known[2:], ", ")))
		}
	}
	if len(errs) > 0 {
		return Props{}, fmt.Errorf("hubops: %s", strings.Join(errs, "; "))
	}
	return p, nil
}

// volumeTag is the tag that marks the cluster's volumes: VolumeTagKey=VolumeTagValue, or by default
// kubernetes.io/cluster/<ClusterName>=owned.
func (p Props) volumeTag() (key, value string) {
	if p.VolumeTagKey != "" {
		return p.VolumeTagKey, p.VolumeTagValue
	}
	return "kubernetes.io/cluster/" + p.ClusterName, "owned"
}

// physicalIDPrefix marks the physical IDs this custom resource returns.
const physicalIDPrefix = "stratolab-hubops:"

// PhysicalID is the custom resource's physical ID: it names the cluster and namespace only, so that
// changing any other property (a Secret's name, the ingress, the teardown switches) updates the
// resource in place. A new physical ID makes CloudFormation delete the old resource, and that Delete
// runs Teardown, which must happen only when the hub itself goes.
func PhysicalID(p Props) string {
	return physicalIDPrefix + p.ClusterName + "/" + p.Namespace
}

// IsPhysicalID reports whether id is one PhysicalID returns. A Delete of any other ID is of a
// resource whose Create failed (CloudFormation then holds the request ID): nothing to tear down.
func IsPhysicalID(id string) bool {
	return strings.HasPrefix(id, physicalIDPrefix)
}
