package instance

import (
	"bytes"
	"encoding/json"
	"reflect"
)

// Schema returns the JSON Schema of an instance file, generated from Config's struct tags. Editors use it
// through the `# yaml-language-server: $schema=./schema.json` line to complete and check keys.
// Every key is optional in a file, because default.yaml supplies what a file leaves out; the loader
// checks the rest.
func Schema() []byte {
	s := schemaOf(reflect.TypeOf(Config{}), "", nil)
	s["$schema"] = "https://json-schema.org/draft/2020-12/schema"
	s["$id"] = "https://github.com/stratolab/stratolab/instance/schema.json"
	s["title"] = "stratolab instance"
	s["description"] = "An instance file: instance/default.yaml deep-merged with instance/NAME.yaml."
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		panic(err) // maps of strings and bools always encode
	}
	return buf.Bytes()
}

func schemaOf(t reflect.Type, doc string, enum []string) map[string]any {
	s := map[string]any{}
	if doc != "" {
		s["description"] = doc
	}
	switch t.Kind() {
	case reflect.Pointer:
		return schemaOf(t.Elem(), doc, enum)
	case reflect.Struct:
		props := map[string]any{}
		for _, f := range fields(t) {
			props[f.key] = schemaOf(t.Field(f.index).Type, f.doc, f.enum)
		}
		s["type"] = []string{"object", "null"}
		s["properties"] = props
		s["additionalProperties"] = false
	case reflect.Map:
		s["type"] = []string{"object", "null"}
		s["additionalProperties"] = schemaOf(t.Elem(), "", nil)
	case reflect.Slice:
		s["type"] = []string{"array", "null"}
		s["items"] = schemaOf(t.Elem(), "", enum)
	case reflect.String:
		s["type"] = []string{"string", "null"}
		if len(enum) > 0 {
			s["enum"] = enum
		}
	case reflect.Int:
		s["type"] = []string{"integer", "null"}
	case reflect.Float64:
		s["type"] = []string{"number", "null"}
	case reflect.Bool:
		s["type"] = []string{"boolean", "null"}
	}
	return s
}
