package test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stratolab/stratolab/instance"
)

// FuzzLoad feeds arbitrary instance files to the loader, which must return a config or an error and never panic.
// Run it longer with: go test ./test -run '^$' -fuzz FuzzLoad -fuzztime 60s
func FuzzLoad(f *testing.F) {
	f.Add([]byte(goodInstance))
	f.Add([]byte(""))
	f.Add([]byte("vpc: [unclosed\n"))
	f.Add([]byte("a: &x {b: *x}\n"))
	f.Add([]byte("vpc:\n  type: existing\n  private_subnet_ids: [subnet-0123456789abcdef0, 7, null, {a: b}]\n"))
	f.Add([]byte("tags:\n  extra: {aws:x: 1, Product: 2}\nlifecycle: !!binary aGVsbG8=\n"))
	f.Add([]byte("<<: {lifecycle: production}\nenv: {account: 0x1f, region: 1e3}\n"))
	f.Add([]byte("---\n---\n"))
	def, err := os.ReadFile(filepath.Join(instanceDir, instance.DefaultFile))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, instance.DefaultFile), def, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "fuzz.yaml"), data, 0o644); err != nil {
			t.Fatal(err)
		}
		cfg, err := instance.Load(dir, "fuzz")
		if (cfg == nil) == (err == nil) {
			t.Fatalf("Load returned cfg=%v err=%v: exactly one must be set", cfg, err)
		}
	})
}
