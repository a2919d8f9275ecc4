package hubops

import (
	"encoding/base64"
	"strings"
	"testing"
)

const testPEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"

func fullProperties() map[string]any {
	return map[string]any{
		"ServiceToken":         "arn:aws:lambda:us-west-2:111122223333:function:hubops",
		"ClusterName":          "hub-cluster",
		"Endpoint":             "https://ABC.gr7.us-west-2.eks.amazonaws.com",
		"CertificateAuthority": base64.StdEncoding.EncodeToString([]byte(testPEM)),
		"Namespace":            "jhub",
		"UserPoolId":           "us-west-2_Pool",
		"ClientId":             "client123",
		"SecretName":           "hub-oauth",
		"SecretKey":            "client-secret",
		"IngressName":          "jupyterhub",
		"DeleteUserData":       "true",
		"DeleteSnapshots":      "false",
		"SnapshotPolicyId":     "policy-0abc",
	}
}

func TestParsePropsDecodesEveryProperty(t *testing.T) {
	p, err := ParseProps(fullProperties())
	if err != nil {
		t.Fatal(err)
	}
	want := Props{ClusterName: "hub-cluster", Endpoint: "https://ABC.gr7.us-west-2.eks.amazonaws.com",
		CertificateAuthority: []byte(testPEM), Namespace: "jhub", UserPoolID: "us-west-2_Pool", ClientID: "client123",
		SecretName: "hub-oauth", SecretKey: "client-secret", IngressName: "jupyterhub", DeleteUserData: true,
		DeleteSnapshots: false, SnapshotPolicyID: "policy-0abc"}
	if string(p.CertificateAuthority) != string(want.CertificateAuthority) {
		t.Errorf("CA = %q, want the decoded PEM", p.CertificateAuthority)
	}
	p.CertificateAuthority, want.CertificateAuthority = nil, nil
	if p.ClusterName != want.ClusterName || p.Endpoint != want.Endpoint || p.Namespace != want.Namespace ||
		p.UserPoolID != want.UserPoolID || p.ClientID != want.ClientID || p.SecretName != want.SecretName ||
		p.SecretKey != want.SecretKey || p.IngressName != want.IngressName || p.DeleteUserData != want.DeleteUserData ||
		p.DeleteSnapshots != want.DeleteSnapshots || p.SnapshotPolicyID != want.SnapshotPolicyID {
		t.Errorf("props = %+v\nwant %+v", p, want)
	}
}

func TestParsePropsOptionalDefaults(t *testing.T) {
	m := fullProperties()
	delete(m, "IngressName")
	delete(m, "DeleteUserData")
	delete(m, "DeleteSnapshots")
	delete(m, "SnapshotPolicyId")
	p, err := ParseProps(m)
	if err != nil {
		t.Fatal(err)
	}
	if p.IngressName != "" || p.DeleteUserData || p.DeleteSnapshots {
		t.Errorf("props = %+v, want no ingress and nothing deleted", p)
	}
}

func TestParsePropsRejectsBadValuesAllAtOnce(t *testing.T) {
	m := fullProperties()
	delete(m, "ClientId")
	m["SecretName"] = ""
	m["DeleteUserData"] = "yes"
	m["DeleteSnapshots"] = "true"
	m["SnapshotPolicyId"] = ""
	m["CertificateAuthority"] = "not base64 pem"
	m["Namespace"] = 7.0
	m["Ingress"] = "typo"
	_, err := ParseProps(m)
	if err == nil {
		t.Fatal("ParseProps accepted bad properties")
	}
	for _, want := range []string{
		"property ClientId is required",
		"property SecretName is required",
		`property DeleteUserData: want "true" or "false", got "yes"`,
		`property SnapshotPolicyId is required when DeleteSnapshots is "true"`,
		"property CertificateAuthority: want the cluster's certificateAuthority.data",
		"property Namespace: want a string, got float64",
		"unknown property Ingress",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

func TestParsePropsAcceptsRawPEM(t *testing.T) {
	m := fullProperties()
	m["CertificateAuthority"] = testPEM
	p, err := ParseProps(m)
	if err != nil || string(p.CertificateAuthority) != testPEM {
		t.Fatalf("ParseProps(raw PEM) = %q, %v", p.CertificateAuthority, err)
	}
}

func TestPhysicalIDNamesOnlyClusterAndNamespace(t *testing.T) {
	p := secretProps()
	id := PhysicalID(p)
	if id != "stratolab-hubops:hub-cluster/jhub" || !IsPhysicalID(id) {
		t.Errorf("PhysicalID = %q (ours: %v)", id, IsPhysicalID(id))
	}
	p.SecretName, p.IngressName, p.DeleteUserData = "renamed", "other", true
	if PhysicalID(p) != id {
		t.Errorf("changing the secret, ingress or switches changed the physical ID: replacement would run Teardown")
	}
	if IsPhysicalID("9f3c1e2a-1111-2222-3333-444455556666") {
		t.Errorf("a request ID (failed Create) is taken for ours")
	}
}

func TestParsePropsVolumeTag(t *testing.T) {
	m := fullProperties()
	p, _ := ParseProps(m)
	if k, v := p.volumeTag(); k != "kubernetes.io/cluster/hub-cluster" || v != "owned" {
		t.Errorf("default volume tag = %s=%s, want kubernetes.io/cluster/hub-cluster=owned", k, v)
	}
	m["VolumeTag"] = "stratolab.io/cluster=hub-cluster"
	p, err := ParseProps(m)
	if k, v := p.volumeTag(); err != nil || k != "stratolab.io/cluster" || v != "hub-cluster" {
		t.Errorf("volume tag = %s=%s (%v), want stratolab.io/cluster=hub-cluster", k, v, err)
	}
	m["VolumeTag"] = "stratolab.io/cluster"
	if _, err := ParseProps(m); err == nil || !strings.Contains(err.Error(), "property VolumeTag: want key=value") {
		t.Errorf("VolumeTag without a value: err = %v", err)
	}
}
