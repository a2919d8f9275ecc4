package test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stratolab/stratolab/instance"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSchemaFileIsCurrent(t *testing.T) {
	want := instance.Schema()
	got, err := os.ReadFile(filepath.Join(instanceDir, "schema.json"))
	require.NoError(t, err)
	assert.Equal(t, string(want), string(got), "instance/schema.json is stale: run `make schema`")
}

func TestSchemaForbidsUnknownKeysAndListsEnums(t *testing.T) {
	var s map[string]any
	require.NoError(t, json.Unmarshal(instance.Schema(), &s))
	assert.Equal(t, false, s["additionalProperties"])
	vpc := s["properties"].(map[string]any)["vpc"].(map[string]any)
	assert.Equal(t, false, vpc["additionalProperties"])
	typ := vpc["properties"].(map[string]any)["type"].(map[string]any)
	assert.Equal(t, []any{"new", "existing", "lookup"}, typ["enum"])
	assert.NotEmpty(t, typ["description"])
}

func TestInstanceFilesPointEditorsAtTheSchema(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(instanceDir, "*.yaml"))
	require.NoError(t, err)
	for _, f := range files {
		assert.True(t, strings.HasPrefix(readFile(t, f), "# yaml-language-server: $schema=./schema.json\n"), "%s lacks the schema line", f)
	}
}

// schemaKeys lists every key path in the schema ("vpc.cidr"), sorted.
func schemaKeys(schema []byte) []string {
	var s map[string]any
	if err := json.Unmarshal(schema, &s); err != nil {
		panic(err)
	}
	var keys []string
	var walk func(prefix string, node map[string]any)
	walk = func(prefix string, node map[string]any) {
		props, _ := node["properties"].(map[string]any)
		for k, v := range props {
			p := k
			if prefix != "" {
				p = prefix + "." + k
			}
			keys = append(keys, p)
			walk(p, v.(map[string]any))
		}
	}
	walk("", s)
	sort.Strings(keys)
	return keys
}
