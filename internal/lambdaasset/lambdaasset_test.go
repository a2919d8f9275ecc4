package lambdaasset

import (
	"bytes"
	"debug/elf"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const hubops = "github.com/stratolab/stratolab/functions/hubops"

func TestBuildMakesAStaticLinuxELFNamedBootstrap(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a Lambda binary")
	}
	dir, err := Build(hubops, "arm64")
	if err != nil {
		t.Fatal(err)
	}
	root, _ := ModuleRoot()
	if want := filepath.Join(root, ".build", "lambda", "hubops-arm64"); dir != want {
		t.Errorf("dir = %s, want %s", dir, want)
	}
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) != 1 || entries[0].Name() != "bootstrap" {
		t.Fatalf("asset folder holds %v (%v), want bootstrap alone", entries, err)
	}
	bin := filepath.Join(dir, "bootstrap")
	if fi, _ := os.Stat(bin); fi.Mode().Perm() != 0o755 {
		t.Errorf("bootstrap mode = %v, want 0755", fi.Mode().Perm())
	}
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatalf("bootstrap is not ELF: %v", err)
	}
	defer f.Close()
	if f.Machine != elf.EM_AARCH64 || f.Class != elf.ELFCLASS64 || f.Type != elf.ET_EXEC {
		t.Errorf("ELF machine %v class %v type %v, want a 64-bit arm64 executable", f.Machine, f.Class, f.Type)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("bootstrap asks for a dynamic loader: want a static binary (CGO_ENABLED=0)")
		}
	}
	if f.Section(".symtab") != nil {
		t.Errorf("bootstrap keeps its symbol table: want it stripped (-s)")
	}

	before, _ := os.Stat(bin)
	again, err := Build(hubops, "arm64")
	after, _ := os.Stat(bin)
	if err != nil || again != dir || !after.ModTime().Equal(before.ModTime()) {
		t.Errorf("second Build = %s, %v (rebuilt: %v); want the first result, not rebuilt", again, err, !after.ModTime().Equal(before.ModTime()))
	}
}

// TestBuildIsReproducible builds the handler a second time from a copy of its sources in another
// folder (as CI builds from a fresh clone) and wants the same bytes: no path, VCS stamp or build ID
// may leak into the binary. With -trimpath compiled packages do not depend on their folder, so the
// build cache serves them and the second build relinks; set LAMBDAASSET_COLD=1 to compile everything
// again in an empty build cache (about two minutes on two cores).
func TestBuildIsReproducible(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a Lambda binary twice")
	}
	dir, err := Build(hubops, "arm64")
	if err != nil {
		t.Fatal(err)
	}
	first, err := os.ReadFile(filepath.Join(dir, "bootstrap"))
	if err != nil {
		t.Fatal(err)
	}
	root, _ := ModuleRoot()
	elsewhere := filepath.Join(t.TempDir(), "another", "clone")
	for _, p := range []string{"go.mod", "go.sum", "functions", "internal"} {
		copyTree(t, filepath.Join(root, p), filepath.Join(elsewhere, p))
	}
	out := filepath.Join(t.TempDir(), "bootstrap")
	var env []string
	if os.Getenv("LAMBDAASSET_COLD") != "" {
		env = []string{"GOCACHE=" + t.TempDir()}
	}
	if err := goBuild(elsewhere, "./functions/hubops", "arm64", out, env); err != nil {
		t.Fatal(err)
	}
	second, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first, second) {
		t.Errorf("two builds differ (%d and %d bytes): the asset hash would change with no code change", len(first), len(second))
	}
}

func TestBuildRejectsAnUnknownArchitecture(t *testing.T) {
	if _, err := Build(hubops, "x86_64"); err == nil || !strings.Contains(err.Error(), "want arm64 or amd64") {
		t.Errorf("err = %v, want one naming the valid architectures", err)
	}
}

func TestBuildReportsGoBuildsMessage(t *testing.T) {
	_, err := Build("./functions/no-such-handler", "arm64")
	if err == nil || !strings.Contains(err.Error(), "go build ./functions/no-such-handler for linux/arm64") || !strings.Contains(err.Error(), "no-such-handler") {
		t.Fatalf("err = %v, want go build's own message", err)
	}
	root, _ := ModuleRoot()
	if _, err := os.Stat(filepath.Join(root, ".build", "lambda", "no-such-handler-arm64")); err == nil {
		t.Errorf("a failed build left an asset folder")
	}
}

// copyTree copies the regular files under src to dst.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestUpToDateNeedsTheSameStampAndNoNewerSource: a synth that changes nothing skips the link; one that
// changes a Go file, go.mod or go.sum, or the go command, builds again.
func TestUpToDateNeedsTheSameStampAndNoNewerSource(t *testing.T) {
	root := t.TempDir()
	write := func(p string, when time.Time) {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(full, when, when); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now()
	write("go.mod", now.Add(-time.Hour))
	write("functions/h/main.go", now.Add(-time.Hour))
	write("node_modules/x/y.go", now.Add(time.Hour)) // not the module's source
	write(".build/lambda/h-arm64/bootstrap", now)
	write(".build/lambda/.stamps/h-arm64", now)
	bin, stamp := filepath.Join(root, ".build/lambda/h-arm64/bootstrap"), filepath.Join(root, ".build/lambda/.stamps/h-arm64")
	if !upToDate(root, bin, stamp, "x") {
		t.Fatal("nothing changed: the binary is up to date")
	}
	if upToDate(root, bin, stamp, "go1.27 ...") {
		t.Error("another go command: build again")
	}
	write("internal/kube/client.go", now.Add(time.Minute))
	if upToDate(root, bin, stamp, "x") {
		t.Error("a newer Go file: build again")
	}
}
