// Package optional turns Go zero values into the nil that jsii props read as "not set".
package optional

import "github.com/aws/jsii-runtime-go"

// String is nil for "", else s.
func String(s string) *string {
	if s == "" {
		return nil
	}
	return jsii.String(s)
}

// Strings is nil for an empty list, else the list.
func Strings(ss []string) *[]*string {
	if len(ss) == 0 {
		return nil
	}
	return jsii.Strings(ss...)
}
