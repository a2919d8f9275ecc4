package test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stratolab/stratolab/instance"
	"github.com/stratolab/stratolab/internal/safebuild"
	"github.com/stratolab/stratolab/stacks"
)

// FuzzLoad feeds arbitrary instance files to the loader, which must return a config or an error and never
// panic; a config it accepts must then build and synthesize without an internal error (a panic that is not
// a construct's refusal of its props: safebuild.Internal). The corpus starts from every shipped instance
// file and the bad inputs below. Run it longer with:
//
//	go test ./test -run '^$' -fuzz FuzzLoad -fuzztime 10m -parallel 1
func FuzzLoad(f *testing.F) {
	shipped, _ := filepath.Glob(filepath.Join(instanceDir, "*.yaml"))
	for _, file := range shipped {
		if filepath.Base(file) == instance.DefaultFile {
			continue
		}
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(withHub(hubNodes, hubProfile)))
	f.Add([]byte(withHub(strings.Replace(hubNodes, "[m5.xlarge]", "[g4dn.xlarge]", 1), hubProfile)))
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
		if cfg == nil || cfg.Vpc.Type == "lookup" { // a lookup needs cdk.context.json, which a fuzz input has none of
			return
		}
		// Asset staging off (cxapi's aws:cdk:disable-asset-staging): the assembly then references the
		// assets where they are instead of copying them (a hub's 36 MB kubectl layer, every Lambda), which
		// keeps one input of the example under the fuzzer's limit for a worker's silence. Building and
		// synthesizing, where a construct would fail, is unchanged.
		app := newApp(map[string]any{"aws:cdk:disable-asset-staging": true})
		err = safebuild.Run(func() {
			stacks.Build(app, cfg)
			app.Synth(nil)
		})
		os.RemoveAll(*app.Outdir()) // a hub's assembly holds a copy of the 36 MB kubectl layer
		var internal safebuild.Internal
		if errors.As(err, &internal) {
			t.Fatalf("the loader accepted this file, and building it failed inside a construct: %v\n%s", err, data)
		}
	})
}
