// Package names derives construct IDs from configuration names.
package names

import "strings"

// Pascal turns a name such as "gpu-large" into "GpuLarge".
func Pascal(s string) string {
	var b strings.Builder
	for _, part := range strings.FieldsFunc(s, func(r rune) bool { return r == '-' || r == '_' }) {
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String()
}
