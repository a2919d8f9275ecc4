package instance

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

func cfgValue(cfg *Config) reflect.Value { return reflect.ValueOf(cfg).Elem() }

// field is one YAML key of a struct.
type field struct {
	key   string
	index int
	enum  []string
	doc   string
}

func fields(t reflect.Type) []field {
	var out []field
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		key := f.Tag.Get("yaml")
		if key == "" || key == "-" || !f.IsExported() {
			continue
		}
		fd := field{key: key, index: i, doc: f.Tag.Get("doc")}
		if e := f.Tag.Get("enum"); e != "" {
			fd.enum = strings.Split(e, "|")
		}
		out = append(out, fd)
	}
	return out
}

// decode fills v from n, strictly: unknown keys, wrong types and values outside an enum are problems.
// It records the position of every key path it decodes.
func (l *loader) decode(n *node, v reflect.Value, path string) {
	l.decodeWithEnum(n, v, path, nil)
}

func (l *loader) decodeWithEnum(n *node, v reflect.Value, path string, enum []string) {
	if path != "" {
		l.sources[path] = n.pos()
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return // an empty value leaves the zero value (for lists and maps: none)
	}
	switch v.Kind() {
	case reflect.Struct:
		l.decodeStruct(n, v, path)
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			l.typeProblem(n, path, "a mapping of key: value")
			return
		}
		m := reflect.MakeMap(v.Type())
		for i, k := range n.keys {
			p := join(path, k.Value)
			ev := reflect.New(v.Type().Elem()).Elem()
			l.decodeWithEnum(n.values[i], ev, p, nil)
			m.SetMapIndex(reflect.ValueOf(k.Value), ev)
		}
		v.Set(m)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			l.typeProblem(n, path, "a list, such as [a, b]")
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.items), len(n.items))
		for i, item := range n.items {
			l.decodeWithEnum(item, s.Index(i), fmt.Sprintf("%s[%d]", path, i), enum)
		}
		v.Set(s)
	case reflect.String:
		if n.Kind != yaml.ScalarNode || n.Tag == "!!bool" {
			l.typeProblem(n, path, "a string (quote it if it looks like another type)")
			return
		}
		if len(enum) > 0 && !contains(enum, n.Value) {
			l.addf(n.pos(), path, "%q is not allowed (one of: %s)%s", n.Value, strings.Join(enum, ", "), suggest(n.Value, enum))
			return
		}
		v.SetString(n.Value)
	case reflect.Int:
		i, err := strconv.Atoi(n.Value)
		// yaml.v3 tags an integer too large for int64 as a float.
		if n.Kind == yaml.ScalarNode && (n.Tag == "!!int" && errors.Is(err, strconv.ErrRange) || n.Tag == "!!float" && digitsRe.MatchString(n.Value)) {
			l.addf(n.pos(), path, "%s is far out of range for any setting (a whole number; the key's comment in default.yaml gives its range)", n.Value)
			return
		}
		if n.Kind != yaml.ScalarNode || n.Tag != "!!int" || err != nil {
			l.typeProblem(n, path, "a whole number")
			return
		}
		v.SetInt(int64(i))
	case reflect.Bool:
		if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
			l.typeProblem(n, path, "true or false")
			return
		}
		v.SetBool(n.Value == "true" || n.Value == "True" || n.Value == "TRUE")
	case reflect.Float64:
		f, err := strconv.ParseFloat(n.Value, 64)
		if n.Kind != yaml.ScalarNode || (n.Tag != "!!int" && n.Tag != "!!float") || err != nil {
			l.typeProblem(n, path, "a number")
			return
		}
		v.SetFloat(f)
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		l.decodeWithEnum(n, p.Elem(), path, enum)
		v.Set(p)
	default:
		panic(fmt.Sprintf("instance: no decoder for %s at %s", v.Type(), path))
	}
}

func (l *loader) decodeStruct(n *node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		l.typeProblem(n, path, "a mapping of keys")
		return
	}
	fs := fields(v.Type())
	known := make([]string, len(fs))
	for i, f := range fs {
		known[i] = f.key
	}
	for i, k := range n.keys {
		p := join(path, k.Value)
		var fd *field
		for j := range fs {
			if fs[j].key == k.Value {
				fd = &fs[j]
				break
			}
		}
		if fd == nil {
			where := "at the top level"
			if path != "" {
				where = "under " + path
			}
			l.addf(k.pos(), p, "unknown key%s (keys %s: %s)", suggest(k.Value, known), where, strings.Join(known, ", "))
			continue
		}
		l.decodeWithEnum(n.values[i], v.Field(fd.index), p, fd.enum)
	}
}

var digitsRe = regexp.MustCompile(`^[-+]?[0-9]+$`)

func (l *loader) typeProblem(n *node, path, want string) {
	l.addf(n.pos(), path, "wrong type: found %s (expected %s)", kindName(n.Node), want)
}

func contains[T comparable](list []T, s T) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// suggest returns `; did you mean "x"?` when one candidate is close to s.
func suggest(s string, candidates []string) string {
	best, bestDist := "", 1<<30
	for _, c := range candidates {
		d := distance(strings.ToLower(s), strings.ToLower(c))
		if d < bestDist {
			best, bestDist = c, d
		}
	}
	limit := 2
	if len(s) > 8 {
		limit = 3
	}
	if best == "" || bestDist > limit || bestDist >= len(s) {
		// A near word: the key is a whole word of exactly one candidate (domain → domain_prefix,
		// nat → nat_gateways).
		var words []string
		for _, c := range candidates {
			if len(s) >= 3 && slices.Contains(strings.Split(strings.ToLower(c), "_"), strings.ToLower(s)) {
				words = append(words, c)
			}
		}
		if len(words) == 1 {
			return fmt.Sprintf("; did you mean %q?", words[0])
		}
		return ""
	}
	return fmt.Sprintf("; did you mean %q?", best)
}

// distance is the Damerau-Levenshtein (optimal string alignment) edit distance.
func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}
