// Command schemagen writes instance/schema.json from the Go types: `make schema`.
package main

import (
	"fmt"
	"os"

	"github.com/stratolab/stratolab/instance"
)

func main() {
	out := "instance/schema.json"
	if len(os.Args) > 1 {
		out = os.Args[1]
	}
	if err := os.WriteFile(out, instance.Schema(), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "schemagen:", err)
		os.Exit(1)
	}
}
