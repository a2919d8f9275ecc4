package test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// snapshotDir holds one directory per instance file and one JSON file per stack.
const snapshotDir = "testdata/snapshots"

// updating is set by `make snapshot`.
var updating = os.Getenv("UPDATE_SNAPSHOTS") != ""

var assetHash = regexp.MustCompile(`[0-9a-f]{64}`)

// snapshot renders a template the way it is stored: indented, keys sorted, asset hashes and the
// bootstrap version masked, so that a snapshot changes only when the infrastructure does.
func snapshot(t *testing.T, tpl map[string]any) []byte {
	masked := map[string]any{}
	for k, v := range tpl {
		masked[k] = v
	}
	if params, ok := tpl["Parameters"].(map[string]any); ok {
		if _, ok := params["BootstrapVersion"]; ok {
			p := map[string]any{}
			for k, v := range params {
				p[k] = v
			}
			p["BootstrapVersion"] = "<bootstrap version>"
			masked["Parameters"] = p
		}
	}
	if rules, ok := tpl["Rules"].(map[string]any); ok {
		if _, ok := rules["CheckBootstrapVersion"]; ok {
			r := map[string]any{}
			for k, v := range rules {
				r[k] = v
			}
			r["CheckBootstrapVersion"] = "<bootstrap version>"
			masked["Rules"] = r
		}
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	require.NoError(t, enc.Encode(masked))
	return assetHash.ReplaceAll(out.Bytes(), []byte("<asset hash>"))
}

// TestSnapshots compares every stack of every instance file with testdata/snapshots/<instance>/<stack>.json.
// A new instance file is covered with no code change: run `make snapshot` and read the diff.
func TestSnapshots(t *testing.T) {
	names := instanceNames(t)
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			s := synth(t, name)
			dir := filepath.Join(snapshotDir, name)
			if updating {
				require.NoError(t, os.RemoveAll(dir))
				require.NoError(t, os.MkdirAll(dir, 0o755))
			}
			for _, id := range s.stackIDs() {
				got := snapshot(t, s.templates[id])
				file := filepath.Join(dir, id+".json")
				if updating {
					require.NoError(t, os.WriteFile(file, got, 0o644))
					continue
				}
				want, err := os.ReadFile(file)
				if err != nil {
					t.Fatalf("no snapshot %s for stack %s/%s: run `make snapshot` and review it", file, name, id)
				}
				assert.Equal(t, string(want), string(got), "stack %s/%s differs from %s (run `make snapshot` if the change is intended, then read the diff)", name, id, file)
			}
			// No snapshot of a stack the instance no longer has.
			files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
			for _, f := range files {
				id := strings.TrimSuffix(filepath.Base(f), ".json")
				assert.Contains(t, s.stackIDs(), id, "stale snapshot %s: instance %s has no stack %s (run `make snapshot`)", f, name, id)
			}
		})
	}
	t.Run("no snapshots of removed instances", func(t *testing.T) {
		entries, err := os.ReadDir(snapshotDir)
		require.NoError(t, err)
		for _, e := range entries {
			if updating && !slices.Contains(names, e.Name()) {
				require.NoError(t, os.RemoveAll(filepath.Join(snapshotDir, e.Name())))
				continue
			}
			assert.Contains(t, names, e.Name(), "stale snapshot directory %s: there is no instance/%s.yaml", e.Name(), e.Name())
		}
	})
}

func TestSnapshotMasksAssetHashesAndBootstrapVersion(t *testing.T) {
	hash := strings.Repeat("ab", 32)
	got := string(snapshot(t, map[string]any{
		"Parameters": map[string]any{"BootstrapVersion": map[string]any{"Default": "/cdk-bootstrap/hnb659fds/version"}},
		"Rules":      map[string]any{"CheckBootstrapVersion": map[string]any{"Assertions": []any{}}},
		"Resources":  map[string]any{"Fn": map[string]any{"Properties": map[string]any{"S3Key": hash + ".zip"}}},
	}))
	assert.NotContains(t, got, hash)
	assert.Contains(t, got, `"S3Key": "<asset hash>.zip"`)
	assert.NotContains(t, got, "hnb659fds")
	assert.Contains(t, got, `"BootstrapVersion": "<bootstrap version>"`)
	assert.Contains(t, got, `"CheckBootstrapVersion": "<bootstrap version>"`)
}
