package instance

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// DefaultFile is the file every instance is merged over.
const DefaultFile = "default.yaml"

// Problem is one thing wrong with an instance's configuration.
type Problem struct {
	Pos     Pos
	Path    string // key path, such as "vpc.nat_gateways"
	Message string // what is wrong, and in parentheses what would be valid
}

func (p Problem) String() string {
	if p.Path == "" {
		return p.Pos.String() + ": " + p.Message
	}
	return p.Pos.String() + ": " + p.Path + ": " + p.Message
}

// Problems is every problem found in one load, sorted by file, line and key path.
type Problems []Problem

func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

func (ps Problems) sorted() Problems {
	sort.SliceStable(ps, func(i, j int) bool {
		a, b := ps[i], ps[j]
		if a.Pos.File != b.Pos.File {
			return a.Pos.File < b.Pos.File
		}
		if a.Pos.Line != b.Pos.Line {
			return a.Pos.Line < b.Pos.Line
		}
		return a.Path < b.Path
	})
	return ps
}

// Names lists the instances defined in dir: every *.yaml except default.yaml, sorted.
func Names(dir string) ([]string, error) {
	matches, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return nil, err
	}
	var names []string
	for _, m := range matches {
		base := filepath.Base(m)
		if base == DefaultFile || !fileExists(m) { // directories and broken links are not instances
			continue
		}
		names = append(names, strings.TrimSuffix(base, ".yaml"))
	}
	sort.Strings(names)
	return names, nil
}

// Load reads dir/default.yaml, deep-merges dir/NAME.yaml over it, decodes the result strictly and
// validates it. When anything is wrong the error is a Problems holding every problem found.
//
// env.account and env.region fall back to the CDK_DEFAULT_ACCOUNT and CDK_DEFAULT_REGION
// environment variables (which the CDK CLI sets from the caller's credentials).
func Load(dir, name string) (*Config, error) {
	instanceFile := filepath.Join(dir, name+".yaml")
	if err := findInstance(dir, name, instanceFile); err != nil {
		return nil, err
	}

	l := &loader{sources: map[string]Pos{}}
	// A bad name is reported with the file's own problems, so one run says everything.
	if p := checkName(name, instanceFile); p != nil {
		l.problems = append(l.problems, *p)
	}
	base := l.parse(filepath.Join(dir, DefaultFile), true)
	over := l.parse(instanceFile, false)
	if base == nil || over == nil {
		return nil, l.problems.sorted()
	}

	cfg := &Config{Name: name}
	l.decode(merge(base, over), cfgValue(cfg), "")
	cfg.Sources = l.sources
	if cfg.Env.Account == "" {
		cfg.Env.Account = os.Getenv("CDK_DEFAULT_ACCOUNT")
	}
	if cfg.Env.Region == "" {
		cfg.Env.Region = os.Getenv("CDK_DEFAULT_REGION")
	}
	// Validate even when decoding found problems, so that one run reports everything; but a key that
	// did not decode is left at its zero value, so drop what validation says about it.
	ps := l.problems
	for _, p := range validate(cfg, instanceFile) {
		if !l.decodeFailed(p.Path) {
			ps = append(ps, p)
		}
	}
	if len(ps) > 0 {
		return nil, ps.sorted()
	}
	return cfg, nil
}

// decodeFailed reports whether path, or a key above it, already has a decoding problem.
func (l *loader) decodeFailed(path string) bool {
	for _, p := range l.problems {
		if path == p.Path || strings.HasPrefix(path, p.Path+".") || strings.HasPrefix(path, p.Path+"[") {
			return true
		}
	}
	return false
}

// findInstance says what is wrong with the name or file of an instance that cannot be read, and what
// to type instead: no name, a name with .yaml, default, a directory, a broken link, no such file.
func findInstance(dir, name, instanceFile string) error {
	switch {
	case name == "":
		return unknownInstance(dir, name)
	case strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml"):
		trimmed := strings.TrimSuffix(strings.TrimSuffix(filepath.Base(name), ".yaml"), ".yml")
		return fmt.Errorf("-c instance takes the instance's name, not its file: pass -c instance=%s (for %s)", trimmed, filepath.Join(dir, trimmed+".yaml"))
	case name == strings.TrimSuffix(DefaultFile, ".yaml"):
		return fmt.Errorf("%s holds the defaults every instance is merged over; it is not an instance: copy %s to %s and pass -c instance=NAME",
			filepath.Join(dir, DefaultFile), filepath.Join(dir, "starter.yaml"), filepath.Join(dir, "NAME.yaml"))
	}
	info, err := os.Stat(instanceFile)
	switch {
	case err == nil && info.IsDir():
		return fmt.Errorf("%s is a directory, not an instance file (an instance is one YAML file)", instanceFile)
	case err == nil && info.Mode().IsRegular():
		return nil
	case err == nil:
		return fmt.Errorf("%s is not a regular file (an instance is one YAML file)", instanceFile)
	}
	if target, lerr := os.Readlink(instanceFile); lerr == nil {
		return fmt.Errorf("%s is a link to %s, which does not exist (fix or remove the link)", instanceFile, target)
	}
	return unknownInstance(dir, name)
}

func unknownInstance(dir, name string) error {
	names, _ := Names(dir)
	list := "none: create " + filepath.Join(dir, "NAME.yaml")
	if len(names) > 0 {
		list = strings.Join(names, ", ")
	}
	if name == "" {
		return fmt.Errorf("no instance given: pass -c instance=NAME (instances in %s: %s)", dir, list)
	}
	return fmt.Errorf("unknown instance %q: there is no %s (instances in %s: %s)",
		name, filepath.Join(dir, name+".yaml"), dir, list)
}

func fileExists(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular()
}

// node is a YAML node together with the file it came from.
type node struct {
	*yaml.Node
	file string
	// Mappings: keys and values, each from its own file once merged. Sequences: items.
	keys, values, items []*node
}

func (n *node) pos() Pos { return Pos{File: n.file, Line: n.Line} }

type loader struct {
	problems Problems
	sources  map[string]Pos
}

func (l *loader) addf(pos Pos, path, format string, args ...any) {
	l.problems = append(l.problems, Problem{Pos: pos, Path: path, Message: fmt.Sprintf(format, args...)})
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parse reads one file into a node tree, reporting syntax errors, duplicate keys and a top level that is
// not a mapping. It returns nil when the file cannot be used.
func (l *loader) parse(path string, isDefault bool) *node {
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) && isDefault {
			l.addf(Pos{File: path}, "", "missing: every instance is merged over %s, which must exist", DefaultFile)
		} else {
			l.addf(Pos{File: path}, "", "cannot read: %v", err)
		}
		return nil
	}
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			l.addf(Pos{File: path, Line: 1}, "", "file is empty (write at least one key, such as lifecycle: development)")
			return nil
		}
		msg := strings.TrimPrefix(err.Error(), "yaml: ")
		line := 0
		if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
			line, _ = strconv.Atoi(m[1])
			msg = m[2]
			// yaml.v3 prints a parser error's 0-based line (decode.go, parser.fail adds 1 only for scanner
			// errors); its parser errors are the "did not find expected ..." ones.
			if strings.HasPrefix(msg, "did not find expected") {
				line++
			}
		}
		hint := "fix the syntax"
		if tab := tabLine(data); tab > 0 {
			hint = fmt.Sprintf("fix the syntax; line %d indents with a tab: YAML indents with spaces only", tab)
		}
		l.addf(Pos{File: path, Line: line}, "", "not valid YAML: %s (%s)", msg, hint)
		return nil
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		l.addf(Pos{File: path, Line: extra.Line}, "", "more than one YAML document (remove the '---' separator: an instance file holds one mapping)")
		return nil
	}
	if len(doc.Content) == 0 || (doc.Content[0].Kind == yaml.ScalarNode && doc.Content[0].Tag == "!!null") {
		l.addf(Pos{File: path, Line: 1}, "", "file is empty (write at least one key, such as lifecycle: development)")
		return nil
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		l.addf(Pos{File: path, Line: root.Line}, "", "the top level must be a mapping of keys, found %s (write keys such as env:, vpc:, enabled:)", kindName(root))
		return nil
	}
	before := len(l.problems)
	b := &builder{l: l, file: path, active: map[*yaml.Node]bool{}}
	tree := b.build(root, "")
	if len(l.problems) > before {
		return nil
	}
	return tree
}

// tabLine is the first line that a tab indents, or 0.
func tabLine(data []byte) int {
	for i, line := range strings.Split(string(data), "\n") {
		if indent := line[:len(line)-len(strings.TrimLeft(line, " \t"))]; strings.Contains(indent, "\t") {
			return i + 1
		}
	}
	return 0
}

// maxNodes bounds the size of a file's tree once aliases are expanded (a "billion laughs" file would
// otherwise expand without end). Real instance files have a few hundred nodes.
const maxNodes = 100_000

// builder turns one file's YAML into a node tree, reporting duplicate keys, aliases that contain
// themselves and trees that expand past maxNodes.
type builder struct {
	l      *loader
	file   string
	count  int
	active map[*yaml.Node]bool // alias targets being expanded on the current path
	failed bool
}

func (b *builder) build(n *yaml.Node, path string) *node {
	if b.failed {
		return nil
	}
	if b.count++; b.count > maxNodes {
		b.l.addf(Pos{File: b.file, Line: n.Line}, path, "the file expands to more than %d values (are aliases nested in each other?)", maxNodes)
		b.failed = true
		return nil
	}
	if n.Kind == yaml.AliasNode {
		target := n.Alias
		if target == nil || b.active[target] {
			b.l.addf(Pos{File: b.file, Line: n.Line}, path, "alias *%s refers to a value that contains it (an alias cannot nest its own anchor)", n.Value)
			b.failed = true
			return nil
		}
		b.active[target] = true
		defer delete(b.active, target)
		return b.build(target, path)
	}
	if n.Anchor != "" {
		b.active[n] = true
		defer delete(b.active, n)
	}
	w := &node{Node: n, file: b.file}
	switch n.Kind {
	case yaml.MappingNode:
		seen := map[string]int{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := join(path, k.Value)
			if first, ok := seen[k.Value]; ok {
				b.l.addf(Pos{File: b.file, Line: k.Line}, p, "duplicate key: already set at line %d (keep one of them)", first)
				continue
			}
			seen[k.Value] = k.Line
			w.keys = append(w.keys, &node{Node: k, file: b.file})
			w.values = append(w.values, b.build(v, p))
		}
	case yaml.SequenceNode:
		for i, item := range n.Content {
			w.items = append(w.items, b.build(item, fmt.Sprintf("%s[%d]", path, i)))
		}
	}
	return w
}

// merge lays over on top of base: mappings merge key by key; anything else in over replaces base.
func merge(base, over *node) *node {
	switch {
	case base == nil:
		return over
	case over == nil:
		return base
	case base.Kind != yaml.MappingNode || over.Kind != yaml.MappingNode:
		return over
	}
	out := &node{Node: over.Node, file: over.file}
	index := map[string]int{}
	for i, k := range base.keys {
		index[k.Value] = len(out.keys)
		out.keys = append(out.keys, k)
		out.values = append(out.values, base.values[i])
	}
	for i, k := range over.keys {
		if j, ok := index[k.Value]; ok {
			out.keys[j] = k
			out.values[j] = merge(out.values[j], over.values[i])
			continue
		}
		out.keys = append(out.keys, k)
		out.values = append(out.values, over.values[i])
	}
	return out
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!null":
			return "nothing (null)"
		case "!!bool":
			return "boolean " + n.Value
		case "!!int":
			return "integer " + n.Value
		case "!!float":
			return "number " + n.Value
		}
		return fmt.Sprintf("string %q", n.Value)
	}
	return "an unknown node"
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func itoa(i int) string { return strconv.Itoa(i) }
