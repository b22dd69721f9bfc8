package config

import (
	"bytes"
	_ "embed"
	"encoding"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// FieldError is a problem with one key of the file.
type FieldError struct {
	File string
	Line int
	Key  string // dotted path, e.g. queues[1].ring_timeout
	Msg  string
}

func (e *FieldError) Error() string {
	loc := e.File
	if e.Line > 0 {
		loc = fmt.Sprintf("%s:%d", e.File, e.Line)
	}
	if loc == "" {
		return fmt.Sprintf("%s: %s", e.Key, e.Msg)
	}
	return fmt.Sprintf("%s: %s: %s", loc, e.Key, e.Msg)
}

//go:embed hotline.sample.yaml
var sample []byte

// Sample is the documented sample configuration, which is also what runs with no file.
func Sample() []byte { return sample }

// Load reads a config file over the defaults. path "" gives the sample configuration
// (demo queues and agents) that `hotline serve` runs with no file.
func Load(path string) (Config, error) {
	if path == "" {
		return Parse("hotline.sample.yaml", sample)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	return Parse(path, b)
}

// Parse decodes YAML over the defaults, refusing unknown keys and bad values.
func Parse(name string, b []byte) (Config, error) {
	cfg := Default()
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			return cfg, cfg.Validate()
		}
		return cfg, fmt.Errorf("%s: %v", name, err)
	}
	doc := &root
	if doc.Kind == yaml.DocumentNode && len(doc.Content) > 0 {
		doc = doc.Content[0]
	}
	var errs []error
	checkKeys(name, doc, reflect.TypeOf(cfg), "", &errs)
	if len(errs) > 0 {
		return cfg, errors.Join(errs...)
	}
	if err := doc.Decode(&cfg); err != nil {
		var te *yaml.TypeError
		if errors.As(err, &te) {
			for _, m := range te.Errors {
				errs = append(errs, fmt.Errorf("%s: %s", name, m))
			}
			return cfg, errors.Join(errs...)
		}
		return cfg, fmt.Errorf("%s: %v", name, err)
	}
	if err := cfg.Validate(); err != nil {
		return cfg, annotate(name, doc, err)
	}
	locateRules(name, b, doc, &cfg)
	return cfg, nil
}

// locateRules sets where each queue's priority rule expression starts in the file, as
// flows place theirs: after an opening quote, and for a block scalar (| or >) on the next
// line at its indentation.
func locateRules(file string, src []byte, doc *yaml.Node, cfg *Config) {
	lines := strings.Split(string(src), "\n")
	for i := range cfg.Queues {
		for j := range cfg.Queues[i].Priority {
			r := &cfg.Queues[i].Priority[j]
			n := valueAt(doc, fmt.Sprintf("queues[%d].priority[%d].when", i, j))
			if n == nil || r.When == "" {
				continue
			}
			line, col := ScalarStart(n, lines)
			col += len([]rune(r.When)) - len([]rune(strings.TrimLeft(r.When, " \t")))
			r.WhenAt = Position{File: file, Line: line, Col: col}
		}
	}
}

// ScalarStart is where a YAML scalar's text begins in the file whose lines are given: after
// an opening quote, and for a block scalar (| or >) on the next line at its indentation. Flow
// expressions and queue rules are placed with it, so their errors point at the same column.
func ScalarStart(n *yaml.Node, lines []string) (line, col int) {
	line, col = n.Line, n.Column
	switch n.Style {
	case yaml.DoubleQuotedStyle, yaml.SingleQuotedStyle:
		col++
	case yaml.LiteralStyle, yaml.FoldedStyle:
		line++
		col = 1
		if line-1 < len(lines) {
			l := lines[line-1]
			col = len(l) - len(strings.TrimLeft(l, " ")) + 1
		}
	}
	return line, col
}

// valueAt is the value node at a dotted key path (with [i] indexes), or nil.
func valueAt(n *yaml.Node, path string) *yaml.Node {
	for _, part := range splitPath(path) {
		if n == nil {
			return nil
		}
		if strings.HasPrefix(part, "[") {
			var i int
			fmt.Sscanf(part, "[%d]", &i)
			if n.Kind != yaml.SequenceNode || i >= len(n.Content) {
				return nil
			}
			n = n.Content[i]
			continue
		}
		var next *yaml.Node
		for i := 0; n.Kind == yaml.MappingNode && i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == part {
				next = n.Content[i+1]
			}
		}
		n = next
	}
	return n
}

var textUnmarshaler = reflect.TypeOf((*encoding.TextUnmarshaler)(nil)).Elem()

// checkKeys walks the YAML tree beside the Go type and reports every key the type lacks.
func checkKeys(file string, n *yaml.Node, t reflect.Type, path string, errs *[]error) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if reflect.PointerTo(t).Implements(textUnmarshaler) {
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			if n.Tag == "!!null" {
				return
			}
			*errs = append(*errs, &FieldError{file, n.Line, orRoot(path), "must be a mapping of keys"})
			return
		}
		fields := map[string]reflect.StructField{}
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if tag := strings.Split(f.Tag.Get("yaml"), ",")[0]; tag != "" && tag != "-" {
				fields[tag] = f
			}
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			f, ok := fields[k.Value]
			if !ok {
				*errs = append(*errs, &FieldError{file, k.Line, join(path, k.Value),
					"unknown key; known keys here: " + strings.Join(sortedKeys(fields), ", ")})
				continue
			}
			checkKeys(file, v, f.Type, join(path, k.Value), errs)
		}
	case reflect.Slice:
		if n.Kind == yaml.SequenceNode {
			for i, item := range n.Content {
				checkKeys(file, item, t.Elem(), fmt.Sprintf("%s[%d]", path, i), errs)
			}
		}
	case reflect.Map:
		if n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				checkKeys(file, n.Content[i+1], t.Elem(), join(path, n.Content[i].Value), errs)
			}
		}
	}
}

// annotate adds file and line to validation errors by finding their key in the tree.
func annotate(file string, doc *yaml.Node, err error) error {
	var out []error
	for _, e := range unjoin(err) {
		var fe *FieldError
		if errors.As(e, &fe) {
			fe.File = file
			if fe.Line == 0 {
				fe.Line = lineOf(doc, fe.Key)
			}
		}
		out = append(out, e)
	}
	return errors.Join(out...)
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// lineOf finds the line of a dotted key path (with [i] indexes) in a YAML tree.
func lineOf(n *yaml.Node, path string) int {
	line := 0
	for _, part := range splitPath(path) {
		if n == nil {
			break
		}
		switch {
		case strings.HasPrefix(part, "["):
			var i int
			fmt.Sscanf(part, "[%d]", &i)
			if n.Kind != yaml.SequenceNode || i >= len(n.Content) {
				return line
			}
			n = n.Content[i]
			line = n.Line
		default:
			var next *yaml.Node
			for i := 0; n.Kind == yaml.MappingNode && i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == part {
					line, next = n.Content[i].Line, n.Content[i+1]
				}
			}
			if next == nil {
				return line
			}
			n = next
		}
	}
	return line
}

func splitPath(p string) []string {
	var parts []string
	for _, seg := range strings.Split(p, ".") {
		for {
			i := strings.Index(seg, "[")
			if i < 0 {
				break
			}
			if i > 0 {
				parts = append(parts, seg[:i])
			}
			j := strings.Index(seg, "]")
			parts = append(parts, seg[i:j+1])
			seg = seg[j+1:]
		}
		if seg != "" {
			parts = append(parts, seg)
		}
	}
	return parts
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func orRoot(p string) string {
	if p == "" {
		return "(top level)"
	}
	return p
}

func sortedKeys(m map[string]reflect.StructField) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
