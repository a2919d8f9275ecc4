// Package lambdaasset builds a Go Lambda handler into a folder that a construct hands to
// awslambda.Code_FromAsset for the provided.al2023 runtime. The build is offline (the module cache
// must hold the dependencies, as `go mod download` leaves it) and reproducible: the same sources and
// Go version give the same bytes, so the asset hash changes only when the code does.
//
// It does not import the CDK: constructs call it, handlers never see it.
package lambdaasset

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"sync"
)

// BuildDir is where Build writes, relative to the module root (it is in .gitignore).
const BuildDir = ".build/lambda"

type key struct{ pkg, goarch string }

type result struct {
	once sync.Once
	dir  string
	err  error
}

var (
	mu     sync.Mutex
	builds = map[key]*result{}
)

// Build compiles the main package pkg (an import path such as
// "github.com/stratolab/stratolab/functions/hubops", or a path relative to the module root such as
// "./functions/hubops") for linux/goarch ("arm64" or "amd64") into an executable named bootstrap,
// and returns the folder that holds it and nothing else:
// <module root>/.build/lambda/<last element of pkg>-<goarch>. The module root is the folder of the
// go.mod that `go env GOMOD` finds from the working directory, so Build works from the repository
// root and from any folder in it (such as test/).
//
// The build runs once per process for each (pkg, goarch); later calls return the first result. The
// binary is written elsewhere and renamed into place, so another process never sees half of it.
// Flags: CGO_ENABLED=0, -trimpath, -buildvcs=false, -ldflags "-s -w -buildid=", -tags lambda.norpc
// (aws-lambda-go without its RPC mode, which provided runtimes do not use).
func Build(pkg, goarch string) (string, error) {
	mu.Lock()
	r := builds[key{pkg, goarch}]
	if r == nil {
		r = &result{}
		builds[key{pkg, goarch}] = r
	}
	mu.Unlock()
	r.once.Do(func() {
		r.dir, r.err = build(pkg, goarch)
	})
	return r.dir, r.err
}

func build(pkg, goarch string) (string, error) {
	if goarch != "arm64" && goarch != "amd64" {
		return "", fmt.Errorf("lambdaasset: architecture %q of %s: want arm64 or amd64 (Lambda's arm64 and x86_64)", goarch, pkg)
	}
	name := path.Base(strings.TrimRight(filepath.ToSlash(pkg), "/"))
	if name == "." || name == "/" || name == "" {
		return "", fmt.Errorf("lambdaasset: package %q: want an import path such as github.com/stratolab/stratolab/functions/hubops", pkg)
	}
	root, err := ModuleRoot()
	if err != nil {
		return "", err
	}
	base := filepath.Join(root, filepath.FromSlash(BuildDir))
	dir := filepath.Join(base, name+"-"+goarch)
	// A synth that changes no Go source should not pay a link (about a second with the AWS SDK): the
	// stamp records what built the binary, and the binary must be newer than every source of the module.
	stampFile := filepath.Join(base, ".stamps", name+"-"+goarch)
	stamp, err := buildStamp(root, pkg, goarch)
	if err != nil {
		return "", err
	}
	if upToDate(root, filepath.Join(dir, "bootstrap"), stampFile, stamp) {
		return dir, nil
	}
	tmpBase := filepath.Join(base, ".tmp")
	if err := os.MkdirAll(tmpBase, 0o755); err != nil {
		return "", fmt.Errorf("lambdaasset: %w", err)
	}
	// The temporary folder is outside dir, so dir never holds anything but bootstrap (its content is the asset hash).
	tmp, err := os.MkdirTemp(tmpBase, name+"-"+goarch+"-")
	if err != nil {
		return "", fmt.Errorf("lambdaasset: %w", err)
	}
	defer os.RemoveAll(tmp)
	out := filepath.Join(tmp, "bootstrap")
	if err := goBuild(root, pkg, goarch, out, nil); err != nil {
		return "", err
	}
	if err := os.Chmod(out, 0o755); err != nil {
		return "", fmt.Errorf("lambdaasset: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("lambdaasset: %w", err)
	}
	if err := os.Rename(out, filepath.Join(dir, "bootstrap")); err != nil {
		return "", fmt.Errorf("lambdaasset: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(stampFile), 0o755); err == nil {
		_ = os.WriteFile(stampFile, []byte(stamp), 0o644) // without a stamp the next call just builds again
	}
	return dir, nil
}

// buildStamp names what a build depends on besides the sources: the go command's version, the
// package, the architecture and the flags.
func buildStamp(root, pkg, goarch string) (string, error) {
	cmd := exec.Command("go", "env", "GOVERSION")
	cmd.Dir = root
	v, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("lambdaasset: go env GOVERSION: %v (is the go command on PATH?)", err)
	}
	return strings.Join([]string{strings.TrimSpace(string(v)), "linux/" + goarch, pkg, "-trimpath -buildvcs=false -ldflags=-s -w -buildid= -tags lambda.norpc"}, "\n") + "\n", nil
}

// upToDate reports whether binary exists, was built with stamp, and is newer than go.mod, go.sum and
// every .go file of the module at root (dependencies outside it are pinned by go.sum).
func upToDate(root, binary, stampFile, stamp string) bool {
	bin, err := os.Stat(binary)
	if err != nil {
		return false
	}
	if got, err := os.ReadFile(stampFile); err != nil || string(got) != stamp {
		return false
	}
	newer := false
	_ = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || newer {
			return filepath.SkipAll
		}
		if d.IsDir() {
			if p != root && (strings.HasPrefix(d.Name(), ".") || d.Name() == "node_modules" || d.Name() == "cdk.out" || d.Name() == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if n := d.Name(); strings.HasSuffix(n, ".go") || n == "go.mod" || n == "go.sum" {
			if info, err := d.Info(); err != nil || !info.ModTime().Before(bin.ModTime()) {
				newer = true
			}
		}
		return nil
	})
	return !newer
}

// goBuild runs go build in dir for linux/goarch into out, with env added last (so it wins).
func goBuild(dir, pkg, goarch, out string, env []string) error {
	cmd := exec.Command("go", "build",
		"-trimpath", "-buildvcs=false", "-ldflags=-s -w -buildid=", "-tags", "lambda.norpc",
		"-o", out, pkg)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"CGO_ENABLED=0", "GOOS=linux", "GOARCH="+goarch,
		// The baseline of each architecture, whatever the developer's environment asks for.
		"GOAMD64=v1", "GOARM64=v8.0",
	)
	cmd.Env = append(cmd.Env, env...)
	var stderr bytes.Buffer
	cmd.Stdout = &stderr
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("lambdaasset: go build %s for linux/%s (in %s): %v\n%s", pkg, goarch, dir, err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

// ModuleRoot returns the folder of the go.mod that `go env GOMOD` finds from the working directory.
func ModuleRoot() (string, error) {
	cmd := exec.Command("go", "env", "GOMOD")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("lambdaasset: go env GOMOD: %v\n%s (is the go command on PATH?)", err, strings.TrimSpace(stderr.String()))
	}
	gomod := strings.TrimSpace(string(b))
	if gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("lambdaasset: the working directory is in no Go module: run from the repository or a folder in it")
	}
	return filepath.Dir(gomod), nil
}
