// Command valuesschema writes a Helm chart's values.schema.json from its values.schema.yaml, as the
// release workflows of zero-to-jupyterhub-k8s and dask-gateway do before they package a chart (Helm
// reads only values.schema.json). It is z2jh 4.4.0's tools/generate-json-schema.py: load the YAML,
// drop the "description" keys (text for the configuration reference, not for validation) from the
// schema and from each schema under "properties", and write JSON. scripts/charts-from-mirrors.sh
// runs it:
//
//	go run ./scripts/valuesschema CHART-DIR
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"gopkg.in/yaml.v3"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: valuesschema CHART-DIR (reads CHART-DIR/values.schema.yaml, writes CHART-DIR/values.schema.json)")
		os.Exit(2)
	}
	if err := convert(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "valuesschema:", err)
		os.Exit(1)
	}
}

func convert(dir string) error {
	in := filepath.Join(dir, "values.schema.yaml")
	data, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return fmt.Errorf("%s: %w", in, err)
	}
	if len(doc.Content) != 1 {
		return fmt.Errorf("%s: not one YAML document", in)
	}
	clean(doc.Content[0])
	var schema map[string]any
	if err := doc.Decode(&schema); err != nil {
		return fmt.Errorf("%s: %w", in, err)
	}
	// yaml.v3 decodes a mapping whose keys are all strings to map[string]any, which encoding/json
	// takes; a mapping with any other key fails here, naming the file, rather than being written wrongly.
	out, err := json.Marshal(schema)
	if err != nil {
		return fmt.Errorf("%s: %w", in, err)
	}
	return os.WriteFile(filepath.Join(dir, "values.schema.json"), append(out, '\n'), 0o644)
}

// clean is generate-json-schema.py's clean_jsonschema: it recurses only through "properties", where
// a key named "description" is a chart value, not a schema keyword. It works on the YAML nodes, not on
// decoded maps: an alias (*imagePullPolicy) is then the anchored node itself, as it is the same dict in
// PyYAML, so cleaning it in one place cleans it wherever it is used, and the JSON is the script's.
func clean(n *yaml.Node) {
	n = deref(n)
	if n.Kind != yaml.MappingNode {
		return
	}
	for i := 0; i+1 < len(n.Content); {
		if n.Content[i].Value == "description" {
			n.Content = append(n.Content[:i], n.Content[i+2:]...)
			continue
		}
		i += 2
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value != "properties" {
			continue
		}
		props := deref(n.Content[i+1])
		if props.Kind != yaml.MappingNode {
			continue
		}
		for j := 1; j < len(props.Content); j += 2 {
			clean(props.Content[j])
		}
	}
}

func deref(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}
