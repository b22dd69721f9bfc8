package ivr

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/hotline-cc/hotline/config"
)

// Source is one flow file: its name as shown in messages, and its bytes.
// The flow's name is the file's base name without the .yaml or .yml extension.
type Source struct {
	File string
	Data []byte
}

// FlowName is the name a flow file gets: "flows/after-hours.yaml" → "after-hours".
func FlowName(file string) string {
	base := path.Base(filepath.ToSlash(file))
	for _, ext := range []string{".yaml", ".yml"} {
		if strings.HasSuffix(base, ext) {
			return strings.TrimSuffix(base, ext)
		}
	}
	return base
}

var (
	nameRE  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)
	varRE   = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	langRE  = regexp.MustCompile(`^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$`)
	dtmfRE  = regexp.MustCompile(`^[0-9*#]$`)
	flowKey = []string{"description", "language", "start", "on_error", "vars", "nodes"}
	nodeKey = []string{"next", "on", "note"}
)

type parser struct {
	file  string
	lines []string
	diags *Diagnostics
}

func (p *parser) errAt(line, col int, format string, a ...any) {
	if line < 1 {
		line = 1
	}
	if col < 1 {
		col = 1
	}
	*p.diags = append(*p.diags, Diagnostic{File: p.file, Line: line, Col: col, Msg: fmt.Sprintf(format, a...)})
}

func (p *parser) errorf(n *yaml.Node, format string, a ...any) {
	p.errAt(n.Line, n.Column, format, a...)
}

// parseFlow reads one file into a flow whose steps hold uncompiled expressions.
func parseFlow(src Source, diags *Diagnostics) *Flow {
	sum := sha256.Sum256(src.Data)
	f := &Flow{Name: FlowName(src.File), File: src.File, Version: hex.EncodeToString(sum[:6]),
		Language: "en", byID: map[string]*Node{}, vars: map[string]*varInfo{}}
	p := &parser{file: src.File, lines: strings.Split(string(src.Data), "\n"), diags: diags}
	if !utf8.Valid(src.Data) {
		p.errAt(1, 1, "the file is not UTF-8 text")
		return f
	}
	dec := yaml.NewDecoder(bytes.NewReader(src.Data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			p.errAt(1, 1, "the file is empty; a flow needs at least nodes:")
			return f
		}
		p.yamlError(err)
		return f
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		p.errAt(extra.Line, extra.Column, "a flow file holds one YAML document; this is a second one")
	} else if !errors.Is(err, io.EOF) {
		p.yamlError(err)
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	if !p.plainTree(root) {
		return f
	}
	fs := p.fields(root, "a flow")
	if fs == nil {
		return f
	}
	if v := fs.get("description"); v != nil {
		f.Description, _ = p.str(v, "description")
	}
	if v := fs.get("language"); v != nil {
		f.langLine, f.langCol = v.Line, v.Column
		if l, ok := p.str(v, "language"); ok {
			if !langRE.MatchString(l) {
				p.errorf(v, "%q is not a language code; write one like en or zh", l)
			}
			f.Language = l
		}
	}
	startNode := fs.get("start")
	onErrNode := fs.get("on_error")
	if v := fs.get("vars"); v != nil {
		p.parseVars(f, v)
	}
	nodes := fs.get("nodes")
	fs.rest(flowKey, "flow")
	if nodes == nil {
		p.errAt(root.Line, root.Column, "a flow needs nodes: a mapping of node IDs to steps")
		return f
	}
	nfs := p.fields(nodes, "nodes")
	if nfs == nil {
		return f
	}
	for i := range nfs.keys {
		k, v := nfs.keys[i], nfs.vals[i]
		nfs.used[i] = true
		if !nameRE.MatchString(k.Value) {
			p.errorf(k, "%q is not a node ID; use letters, digits, - and _ (like main-menu)", k.Value)
			continue
		}
		n := p.parseNode(f, k, v)
		if n != nil {
			f.nodes = append(f.nodes, n)
			f.byID[n.ID] = n
		}
	}
	if len(f.nodes) == 0 && len(nfs.keys) == 0 {
		p.errorf(nodes, "nodes is empty; a flow needs at least one node")
	}
	if startNode != nil {
		if s, ok := p.str(startNode, "start"); ok {
			f.Start = s
			if f.byID[s] == nil && len(f.nodes) > 0 {
				p.errorf(startNode, "start: no node %q in this flow%s", s, suggest(s, nodeIDs(f)))
			}
		}
	} else if len(f.nodes) > 0 {
		f.Start = f.nodes[0].ID
	}
	if onErrNode != nil {
		if s, ok := p.str(onErrNode, "on_error"); ok {
			f.OnError = s
			if f.byID[s] == nil {
				p.errorf(onErrNode, "on_error: no node %q in this flow%s", s, suggest(s, nodeIDs(f)))
			}
		}
	}
	return f
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// yamlError places a YAML syntax error. yaml.v3 reports scanner errors at their line, but
// parser errors ("did not find expected ...") at the 0-based line where the broken block
// starts; those are moved to that block's 1-based line.
func (p *parser) yamlError(err error) {
	msg := err.Error()
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		if strings.HasPrefix(m[2], "did not find expected") || strings.HasPrefix(m[2], "found duplicate %") ||
			strings.HasPrefix(m[2], "found incompatible") || strings.HasPrefix(m[2], "found undefined tag") {
			line++
		}
		p.errAt(line, 1, "YAML: %s", m[2])
		return
	}
	p.errAt(1, 1, "YAML: %s", strings.TrimPrefix(msg, "yaml: "))
}

// plainTree refuses anchors, aliases and merge keys: a flow reads top to bottom in a diff.
func (p *parser) plainTree(n *yaml.Node) bool {
	ok := true
	var walk func(n *yaml.Node, depth int)
	walk = func(n *yaml.Node, depth int) {
		if depth > 64 {
			p.errorf(n, "nesting is too deep")
			ok = false
			return
		}
		switch {
		case n.Kind == yaml.AliasNode:
			p.errorf(n, "aliases (*%s) are not allowed in flows; write the value out", n.Value)
			ok = false
			return
		case n.Anchor != "":
			p.errorf(n, "anchors (&%s) are not allowed in flows; write values out where they are used", n.Anchor)
			ok = false
		case n.Kind == yaml.ScalarNode && n.Tag == "!!merge":
			p.errorf(n, "merge keys (<<) are not allowed in flows")
			ok = false
		}
		for _, c := range n.Content {
			walk(c, depth+1)
		}
	}
	walk(n, 0)
	return ok
}

// fields is a YAML mapping being read key by key, so unknown and repeated keys are reported.
type fields struct {
	p    *parser
	node *yaml.Node
	keys []*yaml.Node
	vals []*yaml.Node
	used []bool
}

func (p *parser) fields(n *yaml.Node, what string) *fields {
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "%s must be a mapping of keys (key: value)", what)
		return nil
	}
	f := &fields{p: p, node: n}
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			p.errorf(k, "keys must be plain words")
			continue
		}
		if first, dup := seen[k.Value]; dup {
			if what == "nodes" {
				p.errorf(k, "node %q is already defined at line %d; node IDs must differ", k.Value, first.Line)
			} else {
				p.errorf(k, "key %q is already given at line %d", k.Value, first.Line)
			}
			continue
		}
		seen[k.Value] = k
		f.keys = append(f.keys, k)
		f.vals = append(f.vals, v)
	}
	f.used = make([]bool, len(f.keys))
	return f
}

func (f *fields) get(key string) *yaml.Node {
	if f == nil {
		return nil
	}
	for i, k := range f.keys {
		if k.Value == key {
			f.used[i] = true
			return f.vals[i]
		}
	}
	return nil
}

func (f *fields) keyOf(key string) *yaml.Node {
	for _, k := range f.keys {
		if k.Value == key {
			return k
		}
	}
	return nil
}

// rest reports every key not read, naming the keys that would be right here.
func (f *fields) rest(known []string, what string) {
	if f == nil {
		return
	}
	for i, k := range f.keys {
		if !f.used[i] {
			f.p.errorf(k, "unknown key %q in %s%s; known keys: %s", k.Value, what, suggest(k.Value, known), strings.Join(known, ", "))
		}
	}
}

func (p *parser) str(n *yaml.Node, what string) (string, bool) {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		p.errorf(n, "%s must be a single value", what)
		return "", false
	}
	return n.Value, true
}

func (p *parser) name(n *yaml.Node, what string) (string, bool) {
	s, ok := p.str(n, what)
	if ok && !nameRE.MatchString(s) {
		p.errorf(n, "%q is not a valid %s", s, what)
		return s, false
	}
	return s, ok
}

func (p *parser) boolean(n *yaml.Node, what string) bool {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
		p.errorf(n, "%s must be true or false", what)
		return false
	}
	return n.Value == "true" || n.Value == "True" || n.Value == "TRUE"
}

func (p *parser) integer(n *yaml.Node, what string, min, max int) int {
	v, err := strconv.Atoi(n.Value)
	if n.Kind != yaml.ScalarNode || n.Tag != "!!int" || err != nil {
		p.errorf(n, "%s must be a whole number", what)
		return min
	}
	if v < min || v > max {
		p.errorf(n, "%s must be between %d and %d, not %d", what, min, max, v)
		return min
	}
	return v
}

func (p *parser) duration(n *yaml.Node, what string, min, max time.Duration) time.Duration {
	if n.Kind != yaml.ScalarNode {
		p.errorf(n, "%s must be a duration like 5s or 2m", what)
		return min
	}
	d, err := time.ParseDuration(n.Value)
	if err != nil {
		p.errorf(n, "%s: %q is not a duration; write it like 5s, 1m30s or 2m", what, n.Value)
		return min
	}
	if d < min || d > max {
		p.errorf(n, "%s must be between %v and %v, not %v", what, min, max, d)
		return min
	}
	return d
}

func (p *parser) parseVars(f *Flow, v *yaml.Node) {
	fs := p.fields(v, "vars")
	if fs == nil {
		return
	}
	for i, k := range fs.keys {
		fs.used[i] = true
		val := fs.vals[i]
		if !p.checkVarName(k, k.Value) {
			continue
		}
		vi := &varInfo{name: k.Value, line: k.Line, col: k.Column, declared: true}
		if val.Kind != yaml.ScalarNode {
			p.errorf(val, "a variable's default must be a single value (text, number, true or false)")
			continue
		}
		switch val.Tag {
		case "!!str":
			vi.typ, vi.init = typString, val.Value
		case "!!int":
			n, err := strconv.Atoi(val.Value)
			if err != nil {
				p.errorf(val, "%q is not a number this flow can hold", val.Value)
				continue
			}
			vi.typ, vi.init = typInt, n
		case "!!float":
			x, err := strconv.ParseFloat(val.Value, 64)
			if err != nil {
				p.errorf(val, "%q is not a number", val.Value)
				continue
			}
			vi.typ, vi.init = typFloat, x
		case "!!bool":
			vi.typ, vi.init = typBool, p.boolean(val, k.Value)
		default:
			p.errorf(val, "a variable's default must be text, a number, true or false (write \"\" for empty text)")
			continue
		}
		f.vars[vi.name] = vi
		f.order = append(f.order, vi.name)
	}
}

func (p *parser) checkVarName(n *yaml.Node, name string) bool {
	switch {
	case !varRE.MatchString(name):
		p.errorf(n, "%q is not a variable name; use lower-case letters, digits and _ (like account_number)", name)
	case builtinVars[name] != nil:
		p.errorf(n, "%q is a built-in variable; pick another name", name)
	case exprReserved[name]:
		p.errorf(n, "%q is a word of the expression language; pick another name", name)
	default:
		return true
	}
	return false
}

func (p *parser) parseNode(f *Flow, k, v *yaml.Node) *Node {
	n := &Node{ID: k.Value, Line: k.Line, Col: k.Column, flow: f}
	if prev := f.byID[n.ID]; prev != nil {
		p.errorf(k, "node %q is already defined at line %d", n.ID, prev.Line)
		return nil
	}
	fs := p.fields(v, "node "+strconv.Quote(n.ID))
	if fs == nil {
		return nil
	}
	for i, key := range fs.keys {
		parse, ok := stepParsers[key.Value]
		if !ok {
			continue
		}
		fs.used[i] = true
		if n.step != nil {
			p.errorf(key, "a node does one step, and %q already does %s; split it into two nodes", n.ID, n.Kind)
			continue
		}
		n.Kind = key.Value
		n.step = parse(p, fs.vals[i], key)
	}
	if next := fs.get("next"); next != nil {
		if t, ok := p.name(next, "node ID"); ok {
			k := fs.keyOf("next")
			n.exits = append(n.exits, &exit{name: "next", target: t, line: k.Line, col: k.Column, tline: next.Line, tcol: next.Column})
		}
	}
	if on := fs.get("on"); on != nil {
		if ofs := p.fields(on, "on"); ofs != nil {
			for i, ek := range ofs.keys {
				ofs.used[i] = true
				if ek.Value == "next" && n.target("next") != "" {
					p.errorf(ek, "exit next is already wired by next: above")
					continue
				}
				if t, ok := p.name(ofs.vals[i], "node ID"); ok {
					v := ofs.vals[i]
					n.exits = append(n.exits, &exit{name: ek.Value, target: t, line: ek.Line, col: ek.Column, tline: v.Line, tcol: v.Column})
				}
			}
		}
	}
	fs.get("note")
	known := append(StepKinds(), nodeKey...)
	sort.Strings(known)
	for i, key := range fs.keys {
		if !fs.used[i] {
			p.errorf(key, "unknown key %q in node %q%s; a node has one step (%s) and next, on, note",
				key.Value, n.ID, suggest(key.Value, known), strings.Join(StepKinds(), ", "))
		}
	}
	if n.step == nil {
		if len(fs.keys) == 0 || allUsed(fs) {
			p.errorf(k, "node %q has no step; give it one of: %s", n.ID, strings.Join(StepKinds(), ", "))
		}
		n.step = &badStep{}
		n.Kind = "?"
	}
	return n
}

func allUsed(fs *fields) bool {
	for _, u := range fs.used {
		if !u {
			return false
		}
	}
	return true
}

// badStep stands in for a step that failed to parse, so checking can go on.
type badStep struct{}

func (*badStep) exits() exitSpec                        { return exitSpec{prefixes: []string{""}} }
func (*badStep) check(*checker, *Node)                  {}
func (*badStep) run(*run, *Node) (string, error)        { return "", errors.New("broken node") }
func (*badStep) summary() string                        { return "?" }
func (p *parser) bad(n *yaml.Node, msg string) *badStep { p.errorf(n, "%s", msg); return &badStep{} }

// ---- prompts and text ----

// promptItem is one thing played: a prompt file, text to say, or silence.
type promptItem struct {
	play      string
	say       *text
	lang      string // say in this language, whatever the call's language
	silence   time.Duration
	line, col int
}

// text is what a say speaks: one template for every language, or one per language.
type text struct {
	all       *template
	by        map[string]*template
	langs     []string // keys of by, in file order
	line, col int
}

func (t *text) forLang(lang, fallback string) (*template, string) {
	if t.all != nil {
		return t.all, lang
	}
	if tp := t.by[lang]; tp != nil {
		return tp, lang
	}
	if b := baseLang(lang); t.by[b] != nil {
		return t.by[b], lang
	}
	if tp := t.by[fallback]; tp != nil {
		return tp, fallback
	}
	return t.by[t.langs[0]], t.langs[0]
}

func (p *parser) parsePrompts(v *yaml.Node, what string) []promptItem {
	switch v.Kind {
	case yaml.ScalarNode:
		if v.Tag == "!!null" {
			p.errorf(v, "%s is empty; give the text to say", what)
			return nil
		}
		return []promptItem{{say: p.parseText(v), line: v.Line, col: v.Column}}
	case yaml.MappingNode:
		if isItem(v) {
			if it, ok := p.parsePromptItem(v); ok {
				return []promptItem{it}
			}
			return nil
		}
		return []promptItem{{say: p.parseText(v), line: v.Line, col: v.Column}}
	case yaml.SequenceNode:
		if len(v.Content) == 0 {
			p.errorf(v, "%s is empty", what)
		}
		var items []promptItem
		for _, c := range v.Content {
			switch c.Kind {
			case yaml.ScalarNode:
				items = append(items, promptItem{say: p.parseText(c), line: c.Line, col: c.Column})
			case yaml.MappingNode:
				if it, ok := p.parsePromptItem(c); ok {
					items = append(items, it)
				}
			default:
				p.errorf(c, "each item of %s is text, or one of say:, play:, silence:", what)
			}
		}
		return items
	}
	p.errorf(v, "%s must be text, a say:/play:/silence: item, or a list of them", what)
	return nil
}

func isItem(v *yaml.Node) bool {
	for i := 0; i < len(v.Content); i += 2 {
		switch v.Content[i].Value {
		case "say", "play", "silence":
			return true
		}
	}
	return false
}

func (p *parser) parsePromptItem(v *yaml.Node) (promptItem, bool) {
	fs := p.fields(v, "a prompt")
	if fs == nil {
		return promptItem{}, false
	}
	it := promptItem{line: v.Line, col: v.Column}
	count := 0
	if s := fs.get("say"); s != nil {
		count++
		it.say = p.parseText(s)
	}
	if s := fs.get("play"); s != nil {
		count++
		it.play, _ = p.name(s, "prompt name")
		it.line, it.col = s.Line, s.Column
	}
	if s := fs.get("silence"); s != nil {
		count++
		it.silence = p.duration(s, "silence", 10*time.Millisecond, time.Minute)
	}
	if l := fs.get("lang"); l != nil {
		it.lang, _ = p.str(l, "lang")
		if it.say == nil {
			p.errorf(l, "lang goes with say:")
		}
	}
	fs.rest([]string{"say", "play", "silence", "lang"}, "a prompt")
	if count != 1 {
		p.errorf(v, "a prompt item is exactly one of say:, play: or silence:")
		return it, false
	}
	return it, true
}

func (p *parser) parseText(v *yaml.Node) *text {
	t := &text{line: v.Line, col: v.Column}
	switch v.Kind {
	case yaml.ScalarNode:
		if v.Tag == "!!null" || strings.TrimSpace(v.Value) == "" {
			p.errorf(v, "say needs text")
			return t
		}
		t.all = p.parseTemplate(v)
	case yaml.MappingNode:
		fs := p.fields(v, "text by language")
		if fs == nil {
			return t
		}
		t.by = map[string]*template{}
		for i, k := range fs.keys {
			fs.used[i] = true
			if !langRE.MatchString(k.Value) {
				p.errorf(k, "%q is not a language code; write one like en or zh", k.Value)
				continue
			}
			val := fs.vals[i]
			if val.Kind != yaml.ScalarNode || strings.TrimSpace(val.Value) == "" {
				p.errorf(val, "the %s text must be non-empty text", k.Value)
				continue
			}
			t.by[k.Value] = p.parseTemplate(val)
			t.langs = append(t.langs, k.Value)
		}
		if len(t.langs) == 0 {
			p.errorf(v, "say needs text")
			t.all = &template{}
		}
	default:
		p.errorf(v, "say takes text, or text by language like {en: ..., zh: ...}")
		t.all = &template{}
	}
	return t
}

// ---- templates and expressions ----

// template is text with ${expression} holes.
type template struct {
	raw   string
	parts []tplPart
}

type tplPart struct {
	lit string
	e   *expression
}

// expression is an expr-lang expression with its place in the file.
type expression struct {
	src       string
	line, col int
	compiled
}

// pos maps a character offset inside a YAML scalar to a line and column in the file.
func (p *parser) pos(n *yaml.Node, offset int) (int, int) {
	line, col := config.ScalarStart(n, p.lines)
	if n.Style == yaml.LiteralStyle { // an offset past a newline is on a later line
		before := []rune(n.Value)
		if offset <= len(before) {
			prefix := string(before[:offset])
			if nl := strings.Count(prefix, "\n"); nl > 0 {
				return line + nl, col + utf8.RuneCountInString(prefix[strings.LastIndex(prefix, "\n")+1:])
			}
		}
	}
	return line, col + offset
}

func (p *parser) expr(n *yaml.Node, what string) *expression {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" || strings.TrimSpace(n.Value) == "" {
		p.errorf(n, "%s must be an expression, like customer.vip or priority + 1", what)
		return nil
	}
	e := &expression{src: n.Value}
	lead := len([]rune(n.Value)) - len([]rune(strings.TrimLeft(n.Value, " \t")))
	e.line, e.col = p.pos(n, lead)
	return e
}

// parseTemplate splits text at ${...}; each hole is an expression. $${ is a literal ${.
func (p *parser) parseTemplate(n *yaml.Node) *template {
	t := &template{raw: n.Value}
	s := n.Value
	var lit strings.Builder
	runeOff := 0
	for i := 0; i < len(s); {
		if strings.HasPrefix(s[i:], "$${") {
			lit.WriteString("${")
			i += 3
			runeOff += 3
			continue
		}
		if !strings.HasPrefix(s[i:], "${") {
			r, size := utf8.DecodeRuneInString(s[i:])
			lit.WriteRune(r)
			i += size
			runeOff++
			continue
		}
		end := matchBrace(s, i+2)
		if end < 0 {
			line, col := p.pos(n, runeOff)
			p.errAt(line, col, "${ is not closed by }")
			return t
		}
		if lit.Len() > 0 {
			t.parts = append(t.parts, tplPart{lit: lit.String()})
			lit.Reset()
		}
		inner := s[i+2 : end]
		if strings.TrimSpace(inner) == "" {
			line, col := p.pos(n, runeOff)
			p.errAt(line, col, "${} is empty; put a variable or expression inside")
		} else {
			lead := utf8.RuneCountInString(inner) - utf8.RuneCountInString(strings.TrimLeft(inner, " "))
			e := &expression{src: inner}
			e.line, e.col = p.pos(n, runeOff+2+lead)
			t.parts = append(t.parts, tplPart{e: e})
		}
		runeOff += utf8.RuneCountInString(s[i : end+1])
		i = end + 1
	}
	if lit.Len() > 0 {
		t.parts = append(t.parts, tplPart{lit: lit.String()})
	}
	return t
}

// matchBrace finds the } closing a ${ whose body starts at i, skipping quoted strings and
// nested braces (map literals).
func matchBrace(s string, i int) int {
	depth := 0
	for ; i < len(s); i++ {
		switch c := s[i]; c {
		case '"', '\'', '`':
			for i++; i < len(s) && s[i] != c; i++ {
				if s[i] == '\\' && c != '`' {
					i++
				}
			}
		case '{':
			depth++
		case '}':
			if depth == 0 {
				return i
			}
			depth--
		}
	}
	return -1
}

// ---- suggestions ----

func nodeIDs(f *Flow) []string {
	ids := make([]string, 0, len(f.nodes))
	for _, n := range f.nodes {
		ids = append(ids, n.ID)
	}
	return ids
}

// suggest returns "; did you mean X?" for the closest candidate, if one is close.
func suggest(got string, candidates []string) string {
	best, bestD := "", 1<<30
	for _, c := range candidates {
		if d := distance(strings.ToLower(got), strings.ToLower(c)); d < bestD {
			best, bestD = c, d
		}
	}
	limit := 2
	if len(got) <= 4 {
		limit = 1
	}
	if best != "" && bestD <= limit && best != got {
		return fmt.Sprintf("; did you mean %q?", best)
	}
	return ""
}

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
				d[i][j] = min(d[i][j], d[i-2][j-2]+1) // swapped letters count once
			}
		}
	}
	return d[len(ra)][len(rb)]
}
