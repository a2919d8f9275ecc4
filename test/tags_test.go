package test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stratolab/stratolab/instance"
	"github.com/stratolab/stratolab/stacks"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestTagsAtTheLoadersLimitFitAWSsLimit synthesizes the example (every module) with as many extra tags
// as the loader allows and checks AWS's limit of 50 user tags per resource (Tagging AWS Resources,
// "Tag naming limits and requirements"; tags whose key starts with aws: do not count) on every resource
// of every template, and on the EBS volumes the hub's CSI driver creates (our extraVolumeTags plus the
// five tags the driver adds itself: aws-ebs-csi-driver pkg/cloud/cloud.go and pkg/driver/constants.go).
// If a module adds a tag of its own, this fails until the loader's ownTags counts it.
func TestTagsAtTheLoadersLimitFitAWSsLimit(t *testing.T) {
	example := readFile(t, instanceDir+"/example.yaml")
	base := strings.Replace(example, "  extra:\n    Owner: research-computing\n", "  extra:\n", 1)
	require.NotEqual(t, example, base, "example.yaml's tags changed; update this test")
	// The loader's own limit, found by asking it.
	allowed := 0
	for n := 1; n <= instance.MaxTagsPerResource; n++ {
		if _, err := instance.Load(writeInstance(t, "tagged", withExtraTags(base, n), nil), "tagged"); err != nil {
			require.Contains(t, err.Error(), "tags.extra: has", "only the tag count may fail")
			break
		}
		allowed = n
	}
	require.Less(t, allowed, instance.MaxTagsPerResource-1, "the loader counts none of stratolab's own tags")

	cfg, err := instance.Load(writeInstance(t, "tagged", withExtraTags(base, allowed), nil), "tagged")
	require.NoError(t, err)
	app := newApp(nil)
	built := stacks.Build(app, cfg)
	asm, violations := synthApp(app)
	require.Empty(t, violations)
	most, where := 0, ""
	for _, st := range built.Stacks {
		raw, err := json.Marshal(asm.GetStackArtifact(st.ArtifactId()).Template())
		require.NoError(t, err)
		var tpl map[string]any
		require.NoError(t, json.Unmarshal(raw, &tpl))
		for id, r := range tpl["Resources"].(map[string]any) {
			res := r.(map[string]any)
			props, _ := res["Properties"].(map[string]any)
			n := userTags(props["Tags"])
			if res["Type"] == "AWS::EKS::Addon" && strings.Contains(fmt.Sprint(props["ConfigurationValues"]), "extraVolumeTags") {
				var conf struct {
					Controller struct {
						ExtraVolumeTags map[string]string `json:"extraVolumeTags"`
					} `json:"controller"`
				}
				require.NoError(t, json.Unmarshal([]byte(props["ConfigurationValues"].(string)), &conf))
				// The volume's tags, then its snapshot's: DLM copies them and adds its own.
				n = len(conf.Controller.ExtraVolumeTags) + 5 + 1
				id += " (its EBS volume snapshots)"
			}
			assert.LessOrEqual(t, n, instance.MaxTagsPerResource, "%s/%s carries %d user tags", *st.Node().Id(), id, n)
			if n > most {
				most, where = n, *st.Node().Id()+"/"+id
			}
		}
	}
	assert.Equal(t, instance.MaxTagsPerResource, most, "the loader's limit is tighter than needed: the most-tagged resource is %s", where)
}

func withExtraTags(file string, n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "    t%02d: v\n", i)
	}
	return strings.Replace(file, "  extra:\n", "  extra:\n"+b.String(), 1)
}

// userTags counts the tags of a Tags property (a list of {Key, Value} or a map) whose key is not aws:.
func userTags(tags any) int {
	n := 0
	count := func(k string) {
		if !strings.HasPrefix(strings.ToLower(k), "aws:") {
			n++
		}
	}
	switch tags := tags.(type) {
	case []any:
		for _, tag := range tags {
			if m, ok := tag.(map[string]any); ok {
				count(fmt.Sprint(m["Key"]))
			}
		}
	case map[string]any:
		for k := range tags {
			count(k)
		}
	}
	return n
}
