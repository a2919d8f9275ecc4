// Package test holds every test of the project in one package, so that the jsii runtime (a node process)
// starts once per `go test` run and each instance is synthesized once and shared.
package test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/cxapi"
	"github.com/aws/jsii-runtime-go"
	"github.com/stratolab/stratolab/instance"
	"github.com/stratolab/stratolab/stacks"
)

const (
	instanceDir = "../instance"
	cdkJSON     = "../cdk.json"
)

// outRoot holds every test app's cloud assembly; TestMain removes it.
var outRoot string

func TestMain(m *testing.M) {
	// aws-cdk-lib's CloudFormation validation costs about 7 s per process; `make validate` runs it on
	// every instance through the real CLI, and unit tests check our own properties. The jsii node process
	// reads its environment when it starts, which is in the CDK packages' init, before TestMain; so set the
	// variables and start again. CDK_VALIDATION=true go test ./test runs the tests with validation on.
	if os.Getenv("CDK_VALIDATION") == "" || os.Getenv("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION") == "" {
		env := append(os.Environ(), "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20")
		if os.Getenv("CDK_VALIDATION") == "" {
			env = append(env, "CDK_VALIDATION=false")
		}
		exe, err := os.Executable()
		if err == nil {
			err = syscall.Exec(exe, os.Args, env)
		}
		fmt.Fprintln(os.Stderr, "cannot restart the test binary with CDK_VALIDATION=false; validation stays on:", err)
	}
	// Tests must not pick up the caller's account or region.
	os.Unsetenv("CDK_DEFAULT_ACCOUNT")
	os.Unsetenv("CDK_DEFAULT_REGION")
	stacks.AssetRoot = ".." // npm assets (the kubectl layer) are under the project root
	var err error
	if outRoot, err = os.MkdirTemp("", "stratolab-test-"); err != nil {
		panic(err)
	}
	code := m.Run()
	jsii.Close()
	os.RemoveAll(outRoot)
	os.Exit(code)
}

// featureFlags is cdk.json's context, so that tests synthesize with the same flags as the CLI.
var featureFlags = sync.OnceValue(func() map[string]any {
	data, err := os.ReadFile(cdkJSON)
	if err != nil {
		panic(err)
	}
	var c struct {
		Context map[string]any `json:"context"`
	}
	if err := json.Unmarshal(data, &c); err != nil {
		panic(err)
	}
	return c.Context
})

// newApp returns an app with cdk.json's feature flags plus extra context, writing to a temporary directory.
func newApp(extra map[string]any) awscdk.App {
	ctx := map[string]any{}
	for k, v := range featureFlags() {
		ctx[k] = v
	}
	for k, v := range extra {
		ctx[k] = v
	}
	dir, err := os.MkdirTemp(outRoot, "cdk.out-")
	if err != nil {
		panic(err)
	}
	return awscdk.NewApp(&awscdk.AppProps{
		Context:            &ctx,
		Outdir:             jsii.String(dir),
		AnalyticsReporting: jsii.Bool(false),
	})
}

// synthesized is one instance file, built and synthesized once per run.
type synthesized struct {
	cfg      *instance.Config
	app      awscdk.App
	built    *stacks.Instance
	assembly cxapi.CloudAssembly
	// templates by stack ID ("Base"), as parsed JSON
	templates map[string]map[string]any
}

var (
	synthMu    sync.Mutex
	synthCache = map[string]*synthesized{}
)

// instanceNames lists every instance file but default.yaml.
func instanceNames(t testing.TB) []string {
	names, err := instance.Names(instanceDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(names) == 0 {
		t.Fatal("no instance files in " + instanceDir)
	}
	return names
}

// synth loads, builds and synthesizes an instance file, once per run.
func synth(t testing.TB, name string) *synthesized {
	t.Helper()
	synthMu.Lock()
	defer synthMu.Unlock()
	if s, ok := synthCache[name]; ok {
		return s
	}
	cfg, err := instance.Load(instanceDir, name)
	if err != nil {
		t.Fatalf("instance %s does not load:\n%v", name, err)
	}
	s := synthConfig(t, cfg)
	synthCache[name] = s
	return s
}

// synthConfig builds and synthesizes a loaded configuration (not cached).
func synthConfig(t testing.TB, cfg *instance.Config) *synthesized {
	t.Helper()
	name := cfg.Name
	app := newApp(nil)
	built := stacks.Build(app, cfg)
	asm, violations := synthApp(app)
	if len(violations) > 0 {
		t.Fatalf("instance %s fails synth:\n%s", name, strings.Join(violations, "\n"))
	}
	s := &synthesized{cfg: cfg, app: app, built: built, assembly: asm, templates: map[string]map[string]any{}}
	for _, st := range built.Stacks {
		art := asm.GetStackArtifact(st.ArtifactId())
		raw, err := json.Marshal(art.Template())
		if err != nil {
			t.Fatal(err)
		}
		var tpl map[string]any
		if err := json.Unmarshal(raw, &tpl); err != nil {
			t.Fatal(err)
		}
		s.templates[*st.Node().Id()] = tpl
	}
	return s
}

// synthApp synthesizes app. When synthesis fails its validation (an error annotation, such as an
// unsuppressed cdk-nag finding, or a CloudFormation validation error), it returns the failures read from
// the validation report instead of the assembly, as "rule-or-message at construct-path".
func synthApp(app awscdk.App) (asm cxapi.CloudAssembly, violations []string) {
	defer func() {
		r := recover()
		if r == nil {
			return
		}
		if !strings.Contains(fmt.Sprint(r), "ValidationFailed") {
			panic(r)
		}
		data, err := os.ReadFile(filepath.Join(*app.Outdir(), "validation-report.json"))
		if err != nil {
			panic(fmt.Sprintf("%v (and no validation report: %v)", r, err))
		}
		var report struct {
			PluginReports []struct {
				Violations []struct {
					Description string `json:"description"`
					Severity    string `json:"severity"`
					Constructs  []struct {
						Path string `json:"constructPath"`
					} `json:"violatingConstructs"`
				} `json:"violations"`
			} `json:"pluginReports"`
		}
		if err := json.Unmarshal(data, &report); err != nil {
			panic(err)
		}
		for _, pr := range report.PluginReports {
			for _, v := range pr.Violations {
				if v.Severity != "error" && v.Severity != "fatal" {
					continue
				}
				for _, c := range v.Constructs {
					violations = append(violations, strings.TrimSpace(v.Description)+" at "+c.Path)
				}
			}
		}
		if len(violations) == 0 {
			violations = []string{fmt.Sprint(r)}
		}
	}()
	return app.Synth(nil), nil
}

// stackIDs returns the IDs of an instance's stacks, sorted.
func (s *synthesized) stackIDs() []string {
	ids := make([]string, 0, len(s.templates))
	for id := range s.templates {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// stack returns the instance's stack with the given ID.
func (s *synthesized) stack(t testing.TB, id string) awscdk.Stack {
	for _, st := range s.built.Stacks {
		if *st.Node().Id() == id {
			return st
		}
	}
	t.Fatalf("instance %s has no stack %s (has %v)", s.cfg.Name, id, s.stackIDs())
	return nil
}

// errors returns every error annotation of the instance's stacks: cdk-nag findings and anything else
// that would fail `cdk synth`.
func (s *synthesized) errors() []string { return s.messages(cxapi.SynthesisMessageLevel_ERROR) }

// warnings returns every warning annotation of the instance's stacks.
func (s *synthesized) warnings() []string { return s.messages(cxapi.SynthesisMessageLevel_WARNING) }

func (s *synthesized) messages(level cxapi.SynthesisMessageLevel) []string {
	var out []string
	for _, st := range s.built.Stacks {
		art := s.assembly.GetStackArtifact(st.ArtifactId())
		for _, m := range *art.Messages() {
			if m.Level == level {
				out = append(out, fmt.Sprintf("%s: %v", *m.Id, m.Entry.Data))
			}
		}
	}
	return out
}

// resourcesOfType returns the logical IDs of a template's resources of the given type, sorted.
func resourcesOfType(tpl map[string]any, typ string) []string {
	var ids []string
	for id, r := range tpl["Resources"].(map[string]any) {
		if r.(map[string]any)["Type"] == typ {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids
}

// writeInstance writes a throwaway instance directory: the real default.yaml (or a replacement) plus
// NAME.yaml with the given content.
func writeInstance(t testing.TB, name, content string, defaultYAML *string) string {
	t.Helper()
	dir := t.TempDir()
	def := readFile(t, filepath.Join(instanceDir, instance.DefaultFile))
	if defaultYAML != nil {
		def = *defaultYAML
	}
	if err := os.WriteFile(filepath.Join(dir, instance.DefaultFile), []byte(def), 0o644); err != nil {
		t.Fatal(err)
	}
	if name != "" {
		if err := os.WriteFile(filepath.Join(dir, name+".yaml"), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func readFile(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func lines(s string) []string { return strings.Split(strings.TrimSpace(s), "\n") }
