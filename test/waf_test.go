package test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/stratolab/stratolab/constructs/webfront"
	"github.com/stratolab/stratolab/instance"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// webACLFrontDoors are the stacks with a load balancer and the prefix of their web ACL's logical IDs.
var webACLFrontDoors = []struct{ stack, prefix, loadBalancer string }{
	{"Jobs", "RunnerWebAcl", "RunnerFrontLoadBalancer"},
	{"Lookup", "ServiceWebAcl", "ServiceFrontLoadBalancer"},
	{"Hub", "HubWebAcl", ""}, // the AWS Load Balancer Controller's, outside CloudFormation
}

// TestPackLoadBalancersEachHaveTheSharedWebACL: with a pack, every load balancer (jobs, lookup, and the
// hub's, which the controller makes) has one web ACL from webfront.NewWebACL. WAFv2 for an ALB: Scope
// REGIONAL (AWS::WAFv2::WebACL Scope; the ACL is in the stack, so in the load balancer's region); the
// managed rule groups by VendorName AWS and Name; the rule groups' own actions (OverrideAction None);
// and not the core rule set (its 8 KB body limit, AWS WAF Developer Guide "Baseline rule groups").
func TestPackLoadBalancersEachHaveTheSharedWebACL(t *testing.T) {
	s := synth(t, "regulated")
	for _, fd := range webACLFrontDoors {
		t.Run(fd.stack, func(t *testing.T) {
			tpl := s.templates[fd.stack]
			require.Len(t, packPropsOf(tpl, "AWS::WAFv2::WebACL", ""), 1, "one web ACL in %s", fd.stack)
			acl := onlyProps(t, tpl, "AWS::WAFv2::WebACL", fd.prefix)
			assert.Equal(t, "REGIONAL", acl["Scope"])
			assert.Equal(t, map[string]any{"Allow": map[string]any{}}, acl["DefaultAction"])
			assert.Equal(t, "us-east-1", *s.stack(t, fd.stack).Region(), "the hub's region, and the ACL's")
			var names []string
			for i, r := range acl["Rules"].([]any) {
				rule := r.(map[string]any)
				names = append(names, rule["Name"].(string))
				assert.EqualValues(t, i, rule["Priority"])
				assert.Equal(t, map[string]any{"None": map[string]any{}}, rule["OverrideAction"])
				assert.Equal(t, map[string]any{"VendorName": "AWS", "Name": rule["Name"]}, at(rule, "Statement", "ManagedRuleGroupStatement"))
				assert.Equal(t, true, at(rule, "VisibilityConfig", "CloudWatchMetricsEnabled"))
			}
			assert.Equal(t, []string{"AWSManagedRulesKnownBadInputsRuleSet", "AWSManagedRulesAmazonIpReputationList"}, names)
			assert.Equal(t, webfront.WebACLRuleGroups, names)
			assert.NotContains(t, names, "AWSManagedRulesCommonRuleSet")
			assert.Equal(t, true, at(acl, "VisibilityConfig", "CloudWatchMetricsEnabled"))

			assocs := packPropsOf(tpl, "AWS::WAFv2::WebACLAssociation", "")
			if fd.loadBalancer == "" {
				assert.Empty(t, assocs, "the controller associates the hub's ACL")
				return
			}
			require.Len(t, assocs, 1)
			assoc := onlyProps(t, tpl, "AWS::WAFv2::WebACLAssociation", fd.prefix+"Association")
			assert.Regexp(t, `^\{"Ref":"`+fd.loadBalancer+`[0-9A-F]{8}"\}$`, jsonOf(assoc["ResourceArn"]))
			assert.Regexp(t, `^\{"Fn::GetAtt":\["`+fd.prefix+`[0-9A-F]{8}","Arn"\]\}$`, jsonOf(assoc["WebACLArn"]))
		})
	}
}

// TestPackWebACLsLogToAWSWAFLogGroupsKeptLikeEveryOther: each ACL logs to a log group named aws-waf-logs-*
// (AWS WAF Developer Guide, "Sending web ACL traffic logs to an Amazon CloudWatch Logs log group"), by
// the log group's ARN without :*; in production that group, like every other, is kept, a year at least,
// under its stack's LogsKey (stacks/logs.go secureLogGroups).
func TestPackWebACLsLogToAWSWAFLogGroupsKeptLikeEveryOther(t *testing.T) {
	s := synth(t, "regulated")
	for _, fd := range webACLFrontDoors {
		tpl := s.templates[fd.stack]
		var id string
		for lid := range packPropsOf(tpl, "AWS::Logs::LogGroup", fd.prefix+"Logs") {
			id = lid
		}
		require.NotEmpty(t, id, fd.stack)
		res := tpl["Resources"].(map[string]any)[id].(map[string]any)
		props := res["Properties"].(map[string]any)
		name := jsonOf(props["LogGroupName"])
		assert.Contains(t, name, `{"Fn::Join":["",["`+webfront.WebACLLogGroupPrefix, "the name starts aws-waf-logs-")
		// A retained group outlives its stack: a fixed name would make the next deploy of the instance
		// fail ("already exists"), so the name ends with part of the stack's ID, new at each creation.
		assert.Contains(t, name, `{"Ref":"AWS::StackId"}`, id)
		assert.EqualValues(t, 365, props["RetentionInDays"], id)
		assert.Contains(t, jsonOf(props["KmsKeyId"]), "LogsKey", id)
		assert.Equal(t, "Retain", res["DeletionPolicy"], id)
		logging := jsonOf(onlyProps(t, tpl, "AWS::WAFv2::LoggingConfiguration", fd.prefix+"Logging"))
		assert.Contains(t, logging, `log-group:",{"Ref":"`+id+`"}`)
		assert.NotContains(t, logging, `:*"`)
		assert.Contains(t, logging, `"ResourceArn":{"Fn::GetAtt":["`+fd.prefix)
	}
}

// TestDevelopmentPackWebACLLogsGoWithTheInstance: a development instance that names a pack gets the
// ACLs too, and their log groups are deleted with it (a destroy leaves nothing), under a LogsKey.
func TestDevelopmentPackWebACLLogsGoWithTheInstance(t *testing.T) {
	cfg, err := instance.Load(instanceDir, "example")
	require.NoError(t, err)
	cfg.Compliance.Packs = []string{"AwsSolutions", "NIST80053R5", "HIPAA"}
	s := synthConfig(t, cfg)
	for _, fd := range webACLFrontDoors {
		tpl := s.templates[fd.stack]
		onlyProps(t, tpl, "AWS::WAFv2::WebACL", fd.prefix)
		for id := range packPropsOf(tpl, "AWS::Logs::LogGroup", fd.prefix+"Logs") {
			res := tpl["Resources"].(map[string]any)[id].(map[string]any)
			assert.Equal(t, "Delete", res["DeletionPolicy"], "%s/%s", fd.stack, id)
			assert.Contains(t, jsonOf(res["Properties"].(map[string]any)["KmsKeyId"]), "LogsKey", id)
		}
	}
	annotations := hubAnnotations(t, s)
	assert.Regexp(t, `^<GetAtt:\['HubWebAcl[0-9A-F]{8}','Arn'\]>$`, annotations["alb.ingress.kubernetes.io/wafv2-acl-arn"])
}

// TestNoWebACLWithoutAPack: without a pack no load balancer gets a web ACL (about 5 USD a month plus
// 1 USD per rule), in development (example) or production (lookup-existing-vpc), and the hub's Ingress
// asks for none.
func TestNoWebACLWithoutAPack(t *testing.T) {
	for _, name := range []string{"example", "lookup-existing-vpc"} {
		s := synth(t, name)
		for stack, tpl := range s.templates {
			for _, typ := range []string{"AWS::WAFv2::WebACL", "AWS::WAFv2::WebACLAssociation", "AWS::WAFv2::LoggingConfiguration"} {
				assert.Empty(t, packPropsOf(tpl, typ, ""), "%s/%s has a %s", name, stack, typ)
			}
		}
	}
	// Without a pack the hub's Ingress says "none" (controller v2.17.1, docs/guide/ingress/annotations.md:
	// "When this annotation is absent or empty, the controller will keep LoadBalancer WAFv2 settings
	// unchanged. To disable WAFv2, explicitly set the annotation value to 'none'"), so that dropping the
	// packs disassociates the ACL before CloudFormation deletes it (WAF refuses to delete an associated
	// ACL: WAFAssociatedItemException).
	a := hubAnnotations(t, synth(t, "example"))
	assert.Equal(t, "none", a["alb.ingress.kubernetes.io/wafv2-acl-arn"])
	for k := range a {
		if strings.Contains(k, "waf") {
			assert.Equal(t, "alb.ingress.kubernetes.io/wafv2-acl-arn", k, "no other WAF annotation without a pack")
		}
	}
}

// hubAnnotations are the Ingress annotations in the JupyterHub chart's values, references flattened.
func hubAnnotations(t *testing.T, s *synthesized) map[string]any {
	t.Helper()
	for _, r := range s.templates["Hub"]["Resources"].(map[string]any) {
		res := r.(map[string]any)
		props, _ := res["Properties"].(map[string]any)
		if res["Type"] == "Custom::AWSCDK-EKS-HelmChart" && props["Chart"] == "jupyterhub" {
			var values map[string]any
			require.NoError(t, json.Unmarshal([]byte(flatten(props["Values"])), &values))
			return at(values, "ingress", "annotations").(map[string]any)
		}
	}
	t.Fatal("no jupyterhub chart")
	return nil
}

// TestPackHubIngressNamesItsWebACL: the AWS Load Balancer Controller v2.17.1 associates the ACL named by
// the Ingress annotation alb.ingress.kubernetes.io/wafv2-acl-arn with the Ingress's load balancer
// (docs/guide/ingress/annotations.md, "wafv2-acl-arn": a regional WAFv2 web ACL's ARN). The ARN reaches
// the chart's values as a CloudFormation reference, as the certificate's does.
func TestPackHubIngressNamesItsWebACL(t *testing.T) {
	a := hubAnnotations(t, synth(t, "regulated"))
	assert.Regexp(t, `^<GetAtt:\['HubWebAcl[0-9A-F]{8}','Arn'\]>$`, a["alb.ingress.kubernetes.io/wafv2-acl-arn"])
	assert.NotContains(t, a, "alb.ingress.kubernetes.io/wafv2-acl-name", "one of the two: a name would need wafv2:ListWebACLs")
}

// TestHubLoadBalancerControllerMayAssociateTheWebACL: the controller calls wafv2:GetWebACLForResource,
// AssociateWebACL and DisassociateWebACL (pkg/deploy/wafv2/web_acl_association_synthesizer.go, v2.17.1),
// and its published policy grants those and GetWebACL (docs/install/iam_policy.json, which aws-cdk-lib
// 2.270.0 ships as aws-eks-v2/lib/addons/alb-iam_policy-v2.17.1.json and attaches to the controller's
// service account role). The ACL's ARN is known only at deploy time, so the rights are on "*".
func TestHubLoadBalancerControllerMayAssociateTheWebACL(t *testing.T) {
	tpl := synth(t, "regulated").templates["Hub"]
	var found []string
	for id, p := range packPropsOf(tpl, "AWS::IAM::Policy", "") {
		if !strings.Contains(id, "AlbControlleralbsaRole") {
			continue
		}
		assert.Contains(t, jsonOf(p["Roles"]), "AlbControlleralbsaRole", id)
		for _, st := range p["PolicyDocument"].(map[string]any)["Statement"].([]any) {
			stmt := st.(map[string]any)
			if stmt["Effect"] != "Allow" || stmt["Resource"] != "*" || stmt["Condition"] != nil {
				continue
			}
			actions, _ := stmt["Action"].([]any)
			for _, a := range actions {
				found = append(found, a.(string))
			}
		}
	}
	for _, a := range []string{"wafv2:GetWebACL", "wafv2:GetWebACLForResource", "wafv2:AssociateWebACL", "wafv2:DisassociateWebACL"} {
		assert.True(t, slices.Contains(found, a), "the controller's role lacks %s", a)
	}
}

// TestPackWebACLsAreDeletedAfterTheirLoadBalancers: AWS WAF refuses to delete a web ACL that is still
// associated (WAFAssociatedItemException). Jobs and lookup: the association references the ACL and the
// load balancer, so CloudFormation deletes it before either. Hub: the controller deletes the load
// balancer (and with it the association) when the chart's Ingress goes, and the cluster-ops resource
// waits on delete until it is gone; both depend on the ACL, so the ACL is deleted after them, and it
// exists before the Ingress names it. Nothing that removes the load balancer is a dependency of the ACL.
func TestPackWebACLsAreDeletedAfterTheirLoadBalancers(t *testing.T) {
	s := synth(t, "regulated")
	hub := s.templates["Hub"]
	assert.Contains(t, dependsOnPrefixes(t, hub, "HubClusterOpsE65954B1"), `"HubWebAcl`)
	assert.Contains(t, dependsOnPrefixes(t, hub, "HubClusterchartJupyterHub"), `"HubWebAcl`)
	for _, id := range resourcesOfType(hub, "AWS::WAFv2::WebACL") {
		assert.Nil(t, hub["Resources"].(map[string]any)[id].(map[string]any)["DependsOn"], "the ACL depends on nothing")
	}
	for _, fd := range webACLFrontDoors[:2] {
		tpl := s.templates[fd.stack]
		assoc := onlyProps(t, tpl, "AWS::WAFv2::WebACLAssociation", fd.prefix+"Association")
		assert.Contains(t, jsonOf(assoc), fd.loadBalancer)
		assert.Contains(t, jsonOf(assoc), fd.prefix)
		for id, r := range tpl["Resources"].(map[string]any) {
			if strings.HasPrefix(id, fd.prefix) && r.(map[string]any)["Type"] == "AWS::WAFv2::WebACL" {
				assert.NotContains(t, jsonOf(r), fd.loadBalancer, "the ACL does not depend on the load balancer")
			}
		}
	}
}
