package test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stratolab/stratolab/instance"
	"github.com/stratolab/stratolab/stacks"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// productionExample is the example instance (every module) in production.
func productionExample(t *testing.T) *synthesized {
	t.Helper()
	file := strings.Replace(readFile(t, instanceDir+"/example.yaml"), "lifecycle: development", "lifecycle: production", 1)
	// The loader refuses a written retention under a year in production; default.yaml's 30 days is raised.
	file = strings.Replace(file, "  flow_log_retention_days: 14\n", "", 1)
	require.Contains(t, file, "lifecycle: production")
	require.NotContains(t, file, "retention")
	cfg, err := instance.Load(writeInstance(t, "prodexample", file, nil), "prodexample")
	require.NoError(t, err)
	return synthConfig(t, cfg)
}

// TestProductionLogGroupsAreKeptAYearAndEncryptedWithACustomerManagedKey: every log group of every
// stack of a production instance (all modules) has a retention of at least 365 days, or none (never
// expires), and a KMS key of its own stack whose policy lets CloudWatch Logs use it for this account's
// log groups only (CloudWatch Logs User Guide, "Encrypt log data in CloudWatch Logs using AWS KMS").
func TestProductionLogGroupsAreKeptAYearAndEncryptedWithACustomerManagedKey(t *testing.T) {
	s := productionExample(t)
	groups := 0
	for _, id := range s.stackIDs() {
		tpl := s.templates[id]
		resources := tpl["Resources"].(map[string]any)
		for _, lid := range resourcesOfType(tpl, "AWS::Logs::LogGroup") {
			groups++
			props, _ := resources[lid].(map[string]any)["Properties"].(map[string]any)
			if r, ok := props["RetentionInDays"]; ok {
				assert.GreaterOrEqual(t, r.(float64), float64(stacks.ProductionLogRetentionDays), "%s/%s", id, lid)
			}
			kms, _ := props["KmsKeyId"].(map[string]any)
			ref, ok := kms["Fn::GetAtt"].([]any)
			if !assert.True(t, ok, "%s/%s has no KMS key of its stack: %v", id, lid, props["KmsKeyId"]) {
				continue
			}
			key := resources[ref[0].(string)].(map[string]any)
			assert.Equal(t, "AWS::KMS::Key", key["Type"])
			assert.Equal(t, "Retain", key["DeletionPolicy"], "production keeps the key of the logs it keeps")
			assert.True(t, allowsLogsService(key["Properties"].(map[string]any)["KeyPolicy"]), "%s: key %s does not let CloudWatch Logs use it", id, ref[0])
		}
	}
	assert.Greater(t, groups, 10, "the example has log groups in every module")
}

// allowsLogsService reports whether a key policy lets logs.us-east-1.amazonaws.com use the key for
// this account's log groups only.
func allowsLogsService(policy any) bool {
	for _, st := range policy.(map[string]any)["Statement"].([]any) {
		st := st.(map[string]any)
		p, _ := st["Principal"].(map[string]any)
		c, _ := st["Condition"].(map[string]any)
		like, _ := c["ArnLike"].(map[string]any)
		if st["Effect"] == "Allow" && p["Service"] == "logs.us-east-1.amazonaws.com" &&
			like["kms:EncryptionContext:aws:logs:arn"] == "arn:aws:logs:us-east-1:123456789012:log-group:*" {
			return true
		}
	}
	return false
}

// TestDevelopmentLogGroupsGetNoKey keeps a development instance's idle cost: no KMS key is added for
// its log groups when it names no pack that asks for one.
func TestDevelopmentLogGroupsGetNoKey(t *testing.T) {
	s := synth(t, "example")
	for _, id := range s.stackIDs() {
		for _, lid := range resourcesOfType(s.templates[id], "AWS::KMS::Key") {
			assert.False(t, strings.HasPrefix(lid, "LogsKey"), "%s has a logs key in development: %s", id, lid)
		}
		for _, lid := range resourcesOfType(s.templates[id], "AWS::Logs::LogGroup") {
			props, _ := s.templates[id]["Resources"].(map[string]any)[lid].(map[string]any)["Properties"].(map[string]any)
			assert.NotContains(t, props, "KmsKeyId", "%s/%s", id, lid)
		}
	}
}

// TestProductionLoadBalancersAreDeletionProtectedAndLogged: every load balancer of a production
// instance has the Elastic Load Balancing attributes deletion_protection.enabled and
// access_logs.s3.enabled set to true; in development deletion protection stays off, so destroy works.
func TestProductionLoadBalancersAreDeletionProtectedAndLogged(t *testing.T) {
	attrs := func(s *synthesized) map[string]map[string]string {
		out := map[string]map[string]string{}
		for _, id := range s.stackIDs() {
			tpl := s.templates[id]
			for _, lid := range resourcesOfType(tpl, "AWS::ElasticLoadBalancingV2::LoadBalancer") {
				m := map[string]string{}
				props := tpl["Resources"].(map[string]any)[lid].(map[string]any)["Properties"].(map[string]any)
				list, _ := props["LoadBalancerAttributes"].([]any)
				for _, a := range list {
					a := a.(map[string]any)
					m[fmt.Sprint(a["Key"])] = fmt.Sprint(a["Value"])
				}
				out[id+"/"+lid] = m
			}
		}
		return out
	}
	prod := attrs(productionExample(t))
	require.Len(t, prod, 2, "the jobs web and the lookup service")
	for lb, a := range prod {
		assert.Equal(t, "true", a["deletion_protection.enabled"], lb)
		assert.Equal(t, "true", a["access_logs.s3.enabled"], lb)
	}
	for lb, a := range attrs(synth(t, "example")) {
		assert.NotEqual(t, "true", a["deletion_protection.enabled"], "development: %s", lb)
		assert.Equal(t, "true", a["access_logs.s3.enabled"], lb)
	}
}
