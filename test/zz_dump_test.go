package test

import (
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/stratolab/stratolab/instance"
	"github.com/stratolab/stratolab/stacks"
	"github.com/stretchr/testify/require"
)

func TestZZDumpPackViolations(t *testing.T) {
	module := os.Getenv("DUMP_MODULE")
	if module == "" {
		t.Skip()
	}
	cfg, err := instance.Load(instanceDir, "example")
	require.NoError(t, err)
	cfg.Enabled = instance.Enabled{Jobs: module == "jobs", Hub: module == "hub"}
	if os.Getenv("DUMP_PROD") != "" {
		cfg.Lifecycle = "production"
	}
	cfg.Compliance.Packs = []string{"NIST80053R5", "HIPAA"}
	app := newApp(nil)
	stacks.Build(app, cfg)
	_, violations := synthApp(app)
	var out []string
	for _, v := range violations {
		if !inDependency(module, v) {
			out = append(out, v)
		}
	}
	sort.Strings(out)
	os.WriteFile("/tmp/nist2-"+module+".txt", []byte(strings.Join(out, "\n")), 0o644)
}
