package test

import (
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// lookupSecretsKey is how both lookup stacks name the key: its logical ID in LookupData, inside the
// weak reference's output name in Lookup.
const lookupSecretsKey = "SecretsKey317DCF94"

var viaS3 = regexp.MustCompile(`"kms:ViaService":(\{"Fn::Join":\["",\[)?"s3\.`)

// keyGrants returns, per policy (by the roles it is attached to), the actions it allows on the lookup
// SecretsKey through S3 (kms:ViaService s3.*), and fails on any grant of the key through no service.
func keyGrants(t *testing.T, tpl map[string]any, stack string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, p := range resourcesWhere(tpl, "AWS::IAM::Policy", "") {
		props := p["Properties"].(map[string]any)
		roles := asJSON(props["Roles"])
		for _, st := range props["PolicyDocument"].(map[string]any)["Statement"].([]any) {
			st := st.(map[string]any)
			if !strings.Contains(asJSON(st["Resource"]), lookupSecretsKey) {
				continue
			}
			cond := asJSON(st["Condition"])
			// Least privilege: the key only through the service that stores what it encrypts.
			require.Contains(t, cond, `"kms:ViaService"`, "%s: %s grants %v on SecretsKey through no service", stack, roles, st["Action"])
			// s3.<region>.<url suffix>, the suffix a reference to AWS::URLSuffix.
			if viaS3.MatchString(cond) {
				out[roles] = append(out[roles], actionsOf(st)...)
			}
		}
	}
	for roles := range out {
		sort.Strings(out[roles])
	}
	return out
}

// configBucketUsers returns the policies (by their roles) that read or write objects of the config
// bucket, and whether each writes.
func configBucketUsers(tpl map[string]any) map[string]bool {
	out := map[string]bool{}
	for _, p := range resourcesWhere(tpl, "AWS::IAM::Policy", "") {
		props := p["Properties"].(map[string]any)
		for _, st := range props["PolicyDocument"].(map[string]any)["Statement"].([]any) {
			st := st.(map[string]any)
			if !strings.Contains(asJSON(st["Resource"]), "StorageConfigBucket") {
				continue
			}
			roles := asJSON(props["Roles"])
			for _, a := range actionsOf(st) {
				switch {
				case strings.HasPrefix(a, "s3:Put"), a == "s3:*":
					out[roles] = true
				case strings.HasPrefix(a, "s3:GetObject"):
					out[roles] = out[roles] || false
				}
			}
		}
	}
	return out
}

// TestPackLookupConfigBucketIsSSEKMSUnderSecretsKey: with a pack the config bucket (the env file's) is
// SSE-KMS with S3 Bucket Keys under LookupData's SecretsKey; the logs bucket stays SSE-S3, because it
// receives the load balancer's access logs and "The only server-side encryption option that's supported
// is Amazon S3-managed keys (SSE-S3)" (Elastic Load Balancing User Guide, "Enable access logs for your
// Application Load Balancer").
func TestPackLookupConfigBucketIsSSEKMSUnderSecretsKey(t *testing.T) {
	tpl := synth(t, "regulated").templates["LookupData"]
	config := resourcesWhere(tpl, "AWS::S3::Bucket", "StorageConfigBucket")
	require.Len(t, config, 1)
	assert.JSONEq(t, `{"ServerSideEncryptionConfiguration":[{"BucketKeyEnabled":true,"ServerSideEncryptionByDefault":`+
		`{"KMSMasterKeyID":{"Fn::GetAtt":["`+lookupSecretsKey+`","Arn"]},"SSEAlgorithm":"aws:kms"}}]}`,
		asJSON(config[0]["Properties"].(map[string]any)["BucketEncryption"]))
	logs := resourcesWhere(tpl, "AWS::S3::Bucket", "StorageLogsBucket")
	require.Len(t, logs, 1)
	assert.JSONEq(t, `{"ServerSideEncryptionConfiguration":[{"ServerSideEncryptionByDefault":{"SSEAlgorithm":"AES256"}}]}`,
		asJSON(logs[0]["Properties"].(map[string]any)["BucketEncryption"]))
	// Only the logs bucket carries the packs' S3DefaultEncryptionKMS suppression, with the ELB reason.
	assert.NotContains(t, asJSON(config[0]["Metadata"]), "S3DefaultEncryptionKMS")
	assert.Contains(t, asJSON(logs[0]["Metadata"]), "NIST.800.53.R5-S3DefaultEncryptionKMS")
	assert.Contains(t, asJSON(logs[0]["Metadata"]), "The only server-side encryption option that's supported is Amazon S3-managed keys (SSE-S3)")
}

// TestPackLookupEveryConfigBucketReaderMayDecryptThroughS3: a reader of an SSE-KMS object needs
// kms:Decrypt and a writer kms:GenerateDataKey (Amazon S3 User Guide, "Using server-side encryption with
// AWS KMS keys"); ECS reads the env file with the task execution role (Amazon ECS Developer Guide,
// "Amazon ECS task execution IAM role", environment files), so a missing grant stops the task at start
// with AccessDenied. Each is granted through S3 only, and no role gets the key through no service (the
// CDK's BucketDeployment would grant the handler kms:Encrypt, ReEncrypt* and more, unconditioned, if the
// bucket's L2 knew its key).
func TestPackLookupEveryConfigBucketReaderMayDecryptThroughS3(t *testing.T) {
	s := synth(t, "regulated")
	// Only the app container has the env file (TestLookupEnvFileHoldsThePlainSettingsAndOnlyItIsReadable):
	// the database task's execution role reads nothing from the bucket and gets no S3 use of the key.
	want := map[string][]string{
		"ServiceAppTaskExecutionRole": {"kms:Decrypt"},
		"CustomCDKBucketDeployment":   {"kms:Decrypt", "kms:GenerateDataKey"},
	}
	found := map[string]bool{}
	for _, stack := range []string{"LookupData", "Lookup"} {
		tpl := s.templates[stack]
		grants := keyGrants(t, tpl, stack)
		users := configBucketUsers(tpl)
		for roles, writes := range users {
			got := grants[roles]
			assert.Contains(t, got, "kms:Decrypt", "%s: %s reads the config bucket without kms:Decrypt through S3", stack, roles)
			if writes {
				assert.Contains(t, got, "kms:GenerateDataKey", "%s: %s writes the config bucket without kms:GenerateDataKey through S3", stack, roles)
			}
		}
		for roles, got := range grants {
			assert.NotContains(t, roles, "ServiceDatabaseTaskExecutionRole", "the database task reads no env file, yet may use SecretsKey through S3: %v", got)
			for role, actions := range want {
				if strings.Contains(roles, role) {
					found[role] = true
					assert.Equal(t, actions, got, "%s uses SecretsKey through S3", role)
				}
			}
		}
	}
	for role := range want {
		assert.True(t, found[role], "%s may use SecretsKey through S3", role)
	}
}

// TestLookupConfigBucketIsSSES3WithoutAPack: no pack, no key, and no grant of one.
func TestLookupConfigBucketIsSSES3WithoutAPack(t *testing.T) {
	s := synth(t, "example")
	data := s.templates["LookupData"]
	assert.Empty(t, resourcesWhere(data, "AWS::KMS::Key", "SecretsKey"))
	buckets := resourcesWhere(data, "AWS::S3::Bucket", "Storage")
	require.Len(t, buckets, 2)
	for _, b := range buckets {
		assert.JSONEq(t, `{"ServerSideEncryptionConfiguration":[{"ServerSideEncryptionByDefault":{"SSEAlgorithm":"AES256"}}]}`,
			asJSON(b["Properties"].(map[string]any)["BucketEncryption"]))
	}
	for _, stack := range []string{"LookupData", "Lookup"} {
		for _, p := range resourcesWhere(s.templates[stack], "AWS::IAM::Policy", "") {
			doc := asJSON(p["Properties"])
			assert.False(t, slices.ContainsFunc([]string{`"kms:GenerateDataKey"`, `"s3.`}, func(x string) bool { return strings.Contains(doc, x) }),
				"%s: a key grant through S3 without a pack: %s", stack, doc)
		}
	}
}
