package ivr

import (
	"fmt"
	"sort"
	"strings"

	"github.com/expr-lang/expr/types"
)

// Compile parses and checks flow files together, against what the catalog says exists.
// It reports every problem at once, sorted, each at its file:line:col. A Set with
// diagnostics is for looking at (graph) only: Runner.Run refuses its flows.
func Compile(cat *Catalog, srcs ...Source) (*Set, Diagnostics) {
	if cat == nil {
		cat = &Catalog{}
	}
	var diags Diagnostics
	set := &Set{flows: map[string]*Flow{}}
	for _, src := range srcs {
		f := parseFlow(src, &diags)
		if other := set.flows[f.Name]; other != nil {
			diags = append(diags, Diagnostic{File: src.File, Line: 1, Col: 1,
				Msg: fmt.Sprintf("flow %q is also defined by %s; flow names come from file names and must differ", f.Name, other.File)})
			continue
		}
		f.set = set
		set.flows[f.Name] = f
		set.names = append(set.names, f.Name)
	}
	sort.Strings(set.names)
	c := &checker{cat: cat, set: set, diags: &diags}
	c.spokenBy = spokenLanguages(set, c)
	for _, name := range set.names {
		c.checkFlow(set.flows[name])
	}
	c.checkLoops()
	diags = diags.sorted()
	if len(diags) > 0 {
		set.diags = diags
	}
	return set, diags
}

type checker struct {
	cat      *Catalog
	set      *Set
	diags    *Diagnostics
	f        *Flow
	env      types.Map
	spoken   map[string]bool            // languages calls in the current flow may speak
	spokenBy map[string]map[string]bool // by flow
}

// spokenLanguages works out which languages calls may speak in each flow: its own language,
// those its language steps switch to, and those of every flow that can goto it.
func spokenLanguages(set *Set, c *checker) map[string]map[string]bool {
	out := map[string]map[string]bool{}
	for _, name := range set.names {
		f := set.flows[name]
		m := map[string]bool{f.Language: true}
		for _, n := range f.nodes {
			if l, ok := n.step.(*languageStep); ok && l.lang != "" && c.hasLanguage(l.lang) {
				m[l.lang] = true
			}
		}
		out[name] = m
	}
	for changed := true; changed; {
		changed = false
		for _, name := range set.names {
			for _, n := range set.flows[name].nodes {
				g, ok := n.step.(*gotoStep)
				if !ok || out[g.flow] == nil {
					continue
				}
				for l := range out[name] {
					if !out[g.flow][l] {
						out[g.flow][l] = true
						changed = true
					}
				}
			}
		}
	}
	return out
}

func (c *checker) errAt(line, col int, format string, a ...any) {
	if line < 1 {
		line = 1
	}
	if col < 1 {
		col = 1
	}
	*c.diags = append(*c.diags, Diagnostic{File: c.f.File, Line: line, Col: col, Msg: fmt.Sprintf(format, a...)})
}

// declarer is a step that creates variables (input, survey, webhook, set).
type declarer interface {
	declare(c *checker, n *Node)
}

func (c *checker) checkFlow(f *Flow) {
	c.f = f
	c.spoken = c.spokenBy[f.Name]
	if !c.hasLanguage(f.Language) {
		c.errAt(f.langLine, f.langCol, "language %q has no voice; languages with a voice: %s (prompts.voices in the configuration)",
			f.Language, strings.Join(c.cat.languages(), ", "))
	}
	for _, n := range f.nodes {
		if d, ok := n.step.(declarer); ok {
			d.declare(c, n)
		}
	}
	c.inferSets(f)
	c.env = envTypes(f)
	for _, n := range f.nodes {
		c.checkExits(n)
		n.step.check(c, n)
	}
	c.taint(f)
	c.reach(f)
}

// declareVar records that a step stores a value of type t in a variable.
func (c *checker) declareVar(n *Node, name string, t varType, line, col int) *varInfo {
	if vi := c.f.vars[name]; vi != nil {
		if !assignable(vi.typ, t) {
			where := "declared under vars"
			if !vi.declared {
				where = "set by node " + vi.setBy
			}
			c.errAt(line, col, "%s holds %s (%s at line %d), but node %q stores %s in it", name, vi.typ, where, vi.line, n.ID, t)
		}
		return vi
	}
	vi := &varInfo{name: name, typ: t, line: line, col: col, setBy: n.ID}
	c.f.vars[name] = vi
	c.f.order = append(c.f.order, name)
	return vi
}

// inferSets gives variables first assigned by set steps the type of their expression,
// trying again while assignments depend on others not typed yet.
func (c *checker) inferSets(f *Flow) {
	type pending struct {
		n *Node
		a *assign
	}
	var todo []pending
	for _, n := range f.nodes {
		if s, ok := n.step.(*setStep); ok {
			for i := range s.assigns {
				a := &s.assigns[i]
				if a.e != nil && f.vars[a.name] == nil {
					todo = append(todo, pending{n, a})
				}
			}
		}
	}
	for progress := true; progress && len(todo) > 0; {
		progress = false
		env := envTypes(f)
		var left []pending
		for _, p := range todo {
			if f.vars[p.a.name] != nil {
				progress = true
				continue
			}
			comp, msg, _ := compileExpr(p.a.e.src, env, false)
			if msg != "" && strings.HasPrefix(msg, "unknown name ") {
				left = append(left, p)
				continue
			}
			t := typAny
			if msg == "" {
				t = comp.typ
			}
			f.vars[p.a.name] = &varInfo{name: p.a.name, typ: t, line: p.a.line, col: p.a.col, setBy: p.n.ID}
			f.order = append(f.order, p.a.name)
			progress = true
		}
		todo = left
	}
	for _, p := range todo {
		if f.vars[p.a.name] == nil {
			f.vars[p.a.name] = &varInfo{name: p.a.name, typ: typAny, line: p.a.line, col: p.a.col, setBy: p.n.ID}
			f.order = append(f.order, p.a.name)
		}
	}
}

// compile type-checks an expression in the flow's environment.
func (c *checker) compile(e *expression, asBool bool) bool {
	if e == nil {
		return false
	}
	comp, msg, off := compileExpr(e.src, c.env, asBool)
	if msg != "" {
		line, col := e.line, e.col+off
		if strings.Contains(e.src, "\n") {
			line, col = e.line, e.col
		}
		if name, ok := strings.CutPrefix(msg, "unknown name "); ok {
			msg = fmt.Sprintf("unknown variable %s%s", name, suggest(name, c.names()))
		}
		c.errAt(line, col, "%s (in %q)", msg, e.src)
		return false
	}
	e.compiled = comp
	return true
}

// want compiles an expression that must give a value of type t.
func (c *checker) want(e *expression, t varType, what string) {
	if !c.compile(e, t == typBool) {
		return
	}
	if !assignable(t, e.typ) {
		c.errAt(e.line, e.col, "%s must be %s, but %q is %s", what, t, e.src, e.typ)
	}
}

func (c *checker) names() []string {
	var out []string
	for k := range c.env {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func (c *checker) template(t *template) {
	if t == nil {
		return
	}
	for _, p := range t.parts {
		if p.e != nil {
			c.compile(p.e, false)
		}
	}
}

func (c *checker) hasLanguage(lang string) bool {
	for _, l := range c.cat.languages() {
		if l == lang || l == baseLang(lang) {
			return true
		}
	}
	return false
}

func baseLang(l string) string {
	if i := strings.IndexByte(l, '-'); i > 0 {
		return l[:i]
	}
	return l
}

func (c *checker) text(t *text, forced string) {
	if t == nil {
		return
	}
	if t.all != nil {
		c.template(t.all)
		return
	}
	for _, l := range t.langs {
		c.template(t.by[l])
	}
	if forced != "" {
		if t.by[forced] == nil {
			c.errAt(t.line, t.col, "this say is spoken in %s (lang: %s) but has no %s text", forced, forced, forced)
		}
		return
	}
	var missing []string
	for l := range c.spoken {
		if t.by[l] == nil && t.by[baseLang(l)] == nil {
			missing = append(missing, l)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		c.errAt(t.line, t.col, "say has no %s text, but calls in these flows can speak %s; add %s: ...",
			strings.Join(missing, ", "), strings.Join(missing, ", "), missing[0])
	}
}

func (c *checker) prompts(items []promptItem) {
	for _, it := range items {
		if it.lang != "" && !c.hasLanguage(it.lang) {
			c.errAt(it.line, it.col, "language %q has no voice; languages with a voice: %s", it.lang, strings.Join(c.cat.languages(), ", "))
		}
		if it.say != nil {
			c.text(it.say, it.lang)
		}
		if it.play != "" {
			c.prompt(it.play, it.line, it.col)
		}
	}
}

func (c *checker) prompt(name string, line, col int) {
	if c.cat.Prompts != nil && c.cat.Prompts.Has(name) {
		return
	}
	var known []string
	if lister, ok := c.cat.Prompts.(interface{ Names() []string }); ok {
		known = lister.Names()
	}
	hint := "add " + name + ".wav to prompts.dir"
	if len(known) > 0 {
		hint = "prompts: " + strings.Join(known, ", ") + "; or " + hint
	}
	c.errAt(line, col, "no prompt named %q%s (%s)", name, suggest(name, known), hint)
}

func (c *checker) queue(name string, line, col int) {
	if name == "" || c.cat.hasQueue(name) {
		return
	}
	c.errAt(line, col, "no queue named %q in the configuration%s; queues: %s", name, suggest(name, c.cat.Queues), orNone(c.cat.Queues))
}

func orNone(list []string) string {
	if len(list) == 0 {
		return "(none)"
	}
	return strings.Join(list, ", ")
}

// checkExits checks each wired exit: does the step have it, and does its target exist.
func (c *checker) checkExits(n *Node) {
	spec := n.step.exits()
	for _, e := range n.exits {
		if !spec.allows(e.name) {
			c.errAt(e.line, e.col, "%s has no exit %q%s; its exits are %s", n.Kind, e.name, suggest(e.name, spec.fixed), spec.describe())
		}
		if c.f.byID[e.target] == nil {
			c.errAt(e.tline, e.tcol, "exit %s goes to %q, but there is no node %q in this flow%s", e.name, e.target, e.target, suggest(e.target, nodeIDs(c.f)))
		}
	}
}

func (s exitSpec) allows(name string) bool {
	for _, f := range s.fixed {
		if f == name {
			return true
		}
	}
	for _, p := range s.prefixes {
		if p == "" {
			return true
		}
		if rest, ok := strings.CutPrefix(name, p); ok {
			switch p {
			case "digit:":
				return dtmfRE.MatchString(rest)
			default:
				return rest != ""
			}
		}
	}
	return false
}

func (s exitSpec) describe() string {
	parts := []string{}
	for _, p := range s.prefixes {
		switch p {
		case "digit:":
			parts = append(parts, "digit:0 … digit:9, digit:*, digit:#")
		case "case:":
			parts = append(parts, "case:VALUE")
		}
	}
	parts = append(parts, s.fixed...)
	if len(parts) == 0 {
		return "none (the call leaves this node another way)"
	}
	return strings.Join(parts, ", ")
}

// require reports a node that lacks one of the exits named.
func (c *checker) require(n *Node, why string, anyOf ...string) {
	for _, name := range anyOf {
		if n.target(name) != "" {
			return
		}
	}
	c.errAt(n.Line, n.Col, "%s %q needs exit %s%s", n.Kind, n.ID, strings.Join(anyOf, " or "), why)
}

// reach reports nodes no path from start leads to.
func (c *checker) reach(f *Flow) {
	start := f.byID[f.Start]
	if start == nil {
		return
	}
	seen := map[*Node]bool{start: true}
	queue := []*Node{start}
	if oe := f.byID[f.OnError]; oe != nil && !seen[oe] {
		seen[oe] = true
		queue = append(queue, oe)
	}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		for _, e := range n.exits {
			if t := f.byID[e.target]; t != nil && !seen[t] {
				seen[t] = true
				queue = append(queue, t)
			}
		}
	}
	for _, n := range f.nodes {
		if !seen[n] {
			c.errAt(n.Line, n.Col, "node %q is never reached from start %q; wire an exit to it or delete it", n.ID, f.Start)
		}
	}
}

// taint marks variables computed from sensitive ones as sensitive too.
func (c *checker) taint(f *Flow) {
	for changed := true; changed; {
		changed = false
		for _, n := range f.nodes {
			s, ok := n.step.(*setStep)
			if !ok {
				continue
			}
			for _, a := range s.assigns {
				vi := f.vars[a.name]
				if vi == nil || vi.sensitive || a.e == nil {
					continue
				}
				for _, ref := range a.e.refs {
					if rv := f.vars[ref]; rv != nil && rv.sensitive {
						vi.sensitive = true
						changed = true
						break
					}
				}
			}
		}
	}
	// A sensitive value in a URL or header would be written to access logs on both ends.
	for _, n := range f.nodes {
		if w, ok := n.step.(*webhookStep); ok {
			for _, t := range append([]*template{w.url}, w.headerTemplates()...) {
				if t == nil {
					continue
				}
				for _, p := range t.parts {
					if p.e == nil {
						continue
					}
					for _, ref := range p.e.refs {
						if rv := f.vars[ref]; rv != nil && rv.sensitive {
							c.errAt(p.e.line, p.e.col, "%s is sensitive and must not go in a URL or header, where it would be logged; send it in body:", ref)
						}
					}
				}
			}
		}
	}
}

type gnode struct {
	f *Flow
	n *Node
}

// checkLoops finds cycles of nodes none of which waits for the caller or for time:
// such a call would spin until the node limit stops it.
func (c *checker) checkLoops() {
	var all []gnode
	index := map[*Node]int{}
	for _, name := range c.set.names {
		f := c.set.flows[name]
		for _, n := range f.nodes {
			if n.step.exits().waits {
				continue
			}
			index[n] = len(all)
			all = append(all, gnode{f, n})
		}
	}
	succ := func(g gnode) []int {
		var out []int
		for _, e := range g.n.exits {
			if t := g.f.byID[e.target]; t != nil {
				if i, ok := index[t]; ok {
					out = append(out, i)
				}
			}
		}
		if gs, ok := g.n.step.(*gotoStep); ok && gs.target != nil {
			if t := gs.target.byID[gs.target.Start]; t != nil {
				if i, ok := index[t]; ok {
					out = append(out, i)
				}
			}
		}
		return out
	}
	// Tarjan's strongly connected components.
	idx, low := make([]int, len(all)), make([]int, len(all))
	on := make([]bool, len(all))
	for i := range idx {
		idx[i] = -1
	}
	var stack []int
	counter := 0
	var sccs [][]int
	var strong func(v int)
	strong = func(v int) {
		idx[v], low[v] = counter, counter
		counter++
		stack = append(stack, v)
		on[v] = true
		for _, w := range succ(all[v]) {
			if idx[w] < 0 {
				strong(w)
				low[v] = min(low[v], low[w])
			} else if on[w] {
				low[v] = min(low[v], idx[w])
			}
		}
		if low[v] == idx[v] {
			var comp []int
			for {
				w := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				on[w] = false
				comp = append(comp, w)
				if w == v {
					break
				}
			}
			sccs = append(sccs, comp)
		}
	}
	for v := range all {
		if idx[v] < 0 {
			strong(v)
		}
	}
	for _, comp := range sccs {
		selfLoop := false
		if len(comp) == 1 {
			for _, w := range succ(all[comp[0]]) {
				if w == comp[0] {
					selfLoop = true
				}
			}
			if !selfLoop {
				continue
			}
		}
		in := map[int]bool{}
		first := comp[0]
		for _, v := range comp {
			in[v] = true
			a, b := all[v], all[first]
			if a.f.File < b.f.File || (a.f.File == b.f.File && a.n.Line < b.n.Line) {
				first = v
			}
		}
		cycle := c.cycleFrom(first, in, succ, all)
		g := all[first]
		c.f = g.f
		c.errAt(g.n.Line, g.n.Col, "loop %s never waits for the caller: it would spin forever; put a menu, input or pause in it", strings.Join(cycle, " → "))
	}
}

// cycleFrom finds a shortest path from v back to v inside one component, as node names.
func (c *checker) cycleFrom(v int, in map[int]bool, succ func(gnode) []int, all []gnode) []string {
	prev := map[int]int{}
	queue := []int{v}
	seen := map[int]bool{}
	found := false
	for len(queue) > 0 && !found {
		u := queue[0]
		queue = queue[1:]
		for _, w := range succ(all[u]) {
			if !in[w] {
				continue
			}
			if w == v {
				prev[-1] = u
				found = true
				break
			}
			if !seen[w] {
				seen[w] = true
				prev[w] = u
				queue = append(queue, w)
			}
		}
	}
	name := func(i int) string {
		g := all[i]
		if g.f == all[v].f {
			return g.n.ID
		}
		return g.f.Name + "/" + g.n.ID
	}
	path := []string{name(v)}
	if !found {
		return append(path, name(v))
	}
	var rev []string
	for u := prev[-1]; u != v; u = prev[u] {
		rev = append(rev, name(u))
	}
	for i := len(rev) - 1; i >= 0; i-- {
		path = append(path, rev[i])
	}
	return append(path, name(v))
}
