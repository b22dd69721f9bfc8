package ivr

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/hotline-cc/hotline/call"
	"github.com/hotline-cc/hotline/schedule"
)

// stepParsers reads each step's value. A node holds exactly one step key.
var stepParsers map[string]func(p *parser, v, key *yaml.Node) step

func init() {
	stepParsers = map[string]func(p *parser, v, key *yaml.Node) step{
		"say":       parseSay,
		"play":      parsePlay,
		"menu":      parseMenu,
		"input":     parseInput,
		"set":       parseSet,
		"branch":    parseBranch,
		"switch":    parseSwitch,
		"hours":     parseHours,
		"language":  parseLanguage,
		"lookup":    parseLookup,
		"webhook":   parseWebhook,
		"queue":     parseQueue,
		"voicemail": parseVoicemail,
		"callback":  parseCallback,
		"transfer":  parseTransfer,
		"survey":    parseSurvey,
		"goto":      parseGoto,
		"hangup":    parseHangup,
		"pause":     parsePause,
	}
}

var errExits = []string{"error"}

// ---- say and play ----

type playStep struct {
	items []promptItem
	kind  string
}

func parseSay(p *parser, v, _ *yaml.Node) step {
	if v.Kind == yaml.SequenceNode {
		return &playStep{items: p.parsePrompts(v, "say"), kind: "say"}
	}
	return &playStep{items: []promptItem{{say: p.parseText(v), line: v.Line, col: v.Column}}, kind: "say"}
}

func parsePlay(p *parser, v, _ *yaml.Node) step {
	s := &playStep{kind: "play"}
	switch v.Kind {
	case yaml.ScalarNode:
		if name, ok := p.name(v, "prompt name"); ok {
			s.items = append(s.items, promptItem{play: name, line: v.Line, col: v.Column})
		}
	case yaml.SequenceNode:
		for _, c := range v.Content {
			if name, ok := p.name(c, "prompt name"); ok {
				s.items = append(s.items, promptItem{play: name, line: c.Line, col: c.Column})
			}
		}
	default:
		p.errorf(v, "play takes a prompt name or a list of them")
	}
	return s
}

func (s *playStep) exits() exitSpec           { return exitSpec{fixed: []string{"next", "error"}} }
func (s *playStep) check(c *checker, n *Node) { c.prompts(s.items) }
func (s *playStep) run(r *run, n *Node) (string, error) {
	if _, err := r.play(s.items, false); err != nil {
		return "", err
	}
	return "next", nil
}
func (s *playStep) summary() string {
	if s.kind == "play" {
		var names []string
		for _, it := range s.items {
			names = append(names, it.play)
		}
		return "play " + strings.Join(names, ", ")
	}
	return "say " + itemsSummary(s.items)
}

func itemsSummary(items []promptItem) string {
	for _, it := range items {
		if it.say != nil {
			t := it.say.all
			if t == nil && len(it.say.langs) > 0 {
				t = it.say.by[it.say.langs[0]]
			}
			if t != nil {
				s := []rune(t.raw)
				if len(s) > 40 {
					return string(s[:39]) + "…"
				}
				return string(s)
			}
		}
		if it.play != "" {
			return "[" + it.play + "]"
		}
	}
	return ""
}

// ---- menu ----

type menuStep struct {
	prompt  []promptItem
	timeout time.Duration
	retries int
	invalid []promptItem
	noInput []promptItem
	bargeIn bool
}

var menuKeys = []string{"prompt", "timeout", "retries", "invalid", "no_input", "barge_in"}

func parseMenu(p *parser, v, key *yaml.Node) step {
	s := &menuStep{timeout: defaultMenuTimeout, retries: defaultRetries, bargeIn: true}
	fs := p.fields(v, "menu")
	if fs == nil {
		return &badStep{}
	}
	if x := fs.get("prompt"); x != nil {
		s.prompt = p.parsePrompts(x, "prompt")
	} else {
		p.errorf(key, "menu needs a prompt: what the caller hears before pressing a key")
	}
	if x := fs.get("timeout"); x != nil {
		s.timeout = p.duration(x, "timeout", 500*time.Millisecond, time.Minute)
	}
	if x := fs.get("retries"); x != nil {
		s.retries = p.integer(x, "retries", 0, 10)
	}
	if x := fs.get("invalid"); x != nil {
		s.invalid = p.parsePrompts(x, "invalid")
	}
	if x := fs.get("no_input"); x != nil {
		s.noInput = p.parsePrompts(x, "no_input")
	}
	if x := fs.get("barge_in"); x != nil {
		s.bargeIn = p.boolean(x, "barge_in")
	}
	fs.rest(menuKeys, "menu")
	return s
}

func (s *menuStep) exits() exitSpec {
	return exitSpec{fixed: []string{"timeout", "invalid", "retries_exhausted", "error"}, prefixes: []string{"digit:"}, waits: true}
}

func (s *menuStep) check(c *checker, n *Node) {
	c.prompts(s.prompt)
	c.prompts(s.invalid)
	c.prompts(s.noInput)
	digits := 0
	for _, e := range n.exits {
		if strings.HasPrefix(e.name, "digit:") {
			digits++
		}
	}
	if digits == 0 {
		c.errAt(n.Line, n.Col, "menu %q has no options; wire exits like digit:1: next-node under on:", n.ID)
	}
	if n.target("timeout") == "" || n.target("invalid") == "" {
		c.require(n, " (where callers go when retries run out)", "retries_exhausted")
	}
}

func (s *menuStep) run(r *run, n *Node) (string, error) {
	valid := map[string]bool{}
	for _, e := range n.exits {
		if d, ok := strings.CutPrefix(e.name, "digit:"); ok {
			valid[d] = true
		}
	}
	pending, err := r.play(s.prompt, s.bargeIn)
	if err != nil {
		return "", err
	}
	for attempt := 0; ; attempt++ {
		d := pending
		if d == "" {
			d, err = r.ch.ReadDigits(r.ctx, call.DigitOptions{Max: 1, FirstTimeout: s.timeout})
			if err != nil && !errors.Is(err, call.ErrTimeout) {
				return "", r.gone(err)
			}
		}
		fail := "timeout"
		if d != "" {
			if valid[d] {
				r.env["digits"] = d
				r.note("pressed %s", d)
				return "digit:" + d, nil
			}
			fail = "invalid"
			r.note("pressed %s (not an option)", d)
		} else {
			r.note("no key")
		}
		if n.target(fail) != "" {
			return fail, nil
		}
		if attempt >= s.retries {
			return "retries_exhausted", nil
		}
		if pending, err = r.reprompt(fail, s.invalid, s.noInput, s.prompt, s.bargeIn); err != nil {
			return "", err
		}
	}
}

func (s *menuStep) summary() string { return "menu: " + itemsSummary(s.prompt) }

// defaultRetryPrompt is what a menu, input or survey says on a bad or missing key when the
// flow gives no invalid:/no_input: of its own.
// reprompt is what menu, input and survey do after a failed attempt ("timeout" or "invalid"):
// forget stray digits, say the failure's prompt (or a default), then the question again
// unless a digit barged in; it returns that digit.
func (r *run) reprompt(fail string, invalid, noInput, question []promptItem, bargeIn bool) (string, error) {
	r.ch.FlushDigits()
	retry := noInput
	if fail == "invalid" {
		retry = invalid
	}
	if retry == nil {
		retry = defaultRetryPrompt(fail)
	}
	pending, err := r.play(retry, bargeIn)
	if err != nil || pending != "" {
		return pending, err
	}
	return r.play(question, bargeIn)
}

func defaultRetryPrompt(fail string) []promptItem {
	t := &text{by: map[string]*template{}, langs: []string{"en", "zh"}}
	if fail == "invalid" {
		t.by["en"] = &template{raw: "Sorry, that is not a valid choice.", parts: []tplPart{{lit: "Sorry, that is not a valid choice."}}}
		t.by["zh"] = &template{raw: "抱歉，您的选择无效。", parts: []tplPart{{lit: "抱歉，您的选择无效。"}}}
	} else {
		t.by["en"] = &template{raw: "Sorry, I did not hear your choice.", parts: []tplPart{{lit: "Sorry, I did not hear your choice."}}}
		t.by["zh"] = &template{raw: "抱歉，没有收到您的按键。", parts: []tplPart{{lit: "抱歉，没有收到您的按键。"}}}
	}
	return []promptItem{{say: t}}
}

// ---- input ----

type inputStep struct {
	prompt     []promptItem
	into       string
	intoLine   int
	intoCol    int
	min, max   int
	terminator string
	timeout    time.Duration
	inter      time.Duration
	pattern    *regexp.Regexp
	luhn       bool
	retries    int
	invalid    []promptItem
	noInput    []promptItem
	sensitive  bool
	bargeIn    bool
}

var inputKeys = []string{"prompt", "into", "min", "max", "terminator", "timeout", "inter_digit_timeout",
	"pattern", "luhn", "retries", "invalid", "no_input", "sensitive", "barge_in"}

func parseInput(p *parser, v, key *yaml.Node) step {
	s := &inputStep{timeout: defaultMenuTimeout, inter: defaultInterTimeout, retries: defaultRetries, terminator: "#", bargeIn: true, min: 1}
	fs := p.fields(v, "input")
	if fs == nil {
		return &badStep{}
	}
	if x := fs.get("prompt"); x != nil {
		s.prompt = p.parsePrompts(x, "prompt")
	} else {
		p.errorf(key, "input needs a prompt: what the caller hears before typing")
	}
	if x := fs.get("into"); x != nil {
		if name, ok := p.str(x, "into"); ok && p.checkVarName(x, name) {
			s.into, s.intoLine, s.intoCol = name, x.Line, x.Column
		}
	} else {
		p.errorf(key, "input needs into: the variable that receives the digits")
	}
	if x := fs.get("min"); x != nil {
		s.min = p.integer(x, "min", 0, 64)
	}
	if x := fs.get("max"); x != nil {
		s.max = p.integer(x, "max", 1, 64)
	}
	if x := fs.get("terminator"); x != nil {
		s.terminator, _ = p.str(x, "terminator")
		if s.terminator != "" && s.terminator != "#" && s.terminator != "*" {
			p.errorf(x, "terminator must be \"#\", \"*\" or \"\" (none)")
		}
	}
	if x := fs.get("timeout"); x != nil {
		s.timeout = p.duration(x, "timeout", 500*time.Millisecond, time.Minute)
	}
	if x := fs.get("inter_digit_timeout"); x != nil {
		s.inter = p.duration(x, "inter_digit_timeout", 500*time.Millisecond, time.Minute)
	}
	if x := fs.get("pattern"); x != nil {
		if src, ok := p.str(x, "pattern"); ok {
			if _, err := regexp.Compile(src); err != nil {
				p.errorf(x, "pattern is not a regular expression: %v", strings.TrimPrefix(err.Error(), "error parsing regexp: "))
			} else {
				s.pattern = regexp.MustCompile("^(?:" + src + ")$") // the whole entry must match
			}
		}
	}
	if x := fs.get("luhn"); x != nil {
		s.luhn = p.boolean(x, "luhn")
	}
	if x := fs.get("retries"); x != nil {
		s.retries = p.integer(x, "retries", 0, 10)
	}
	if x := fs.get("invalid"); x != nil {
		s.invalid = p.parsePrompts(x, "invalid")
	}
	if x := fs.get("no_input"); x != nil {
		s.noInput = p.parsePrompts(x, "no_input")
	}
	if x := fs.get("sensitive"); x != nil {
		s.sensitive = p.boolean(x, "sensitive")
	}
	if x := fs.get("barge_in"); x != nil {
		s.bargeIn = p.boolean(x, "barge_in")
	}
	if s.max == 0 && s.terminator == "" {
		p.errorf(key, "input needs max: or a terminator, or it never knows the caller has finished")
	}
	if s.max > 0 && s.min > s.max {
		p.errorf(fs.keyOf("min"), "min (%d) is more than max (%d)", s.min, s.max)
	}
	fs.rest(inputKeys, "input")
	return s
}

func (s *inputStep) declare(c *checker, n *Node) {
	if s.into == "" {
		return
	}
	vi := c.declareVar(n, s.into, typString, s.intoLine, s.intoCol)
	if s.sensitive {
		vi.sensitive = true
	}
}

func (s *inputStep) exits() exitSpec {
	return exitSpec{fixed: []string{"next", "timeout", "invalid", "retries_exhausted", "error"}, waits: true}
}

func (s *inputStep) check(c *checker, n *Node) {
	c.prompts(s.prompt)
	c.prompts(s.invalid)
	c.prompts(s.noInput)
}

func (s *inputStep) run(r *run, n *Node) (string, error) {
	if s.sensitive {
		r.sensitive(true)
		defer r.sensitive(false)
	}
	pending, err := r.play(s.prompt, s.bargeIn)
	if err != nil {
		return "", err
	}
	for attempt := 0; ; attempt++ {
		got, fail := "", ""
		switch {
		case pending != "" && strings.Contains(s.terminator, pending):
			// the caller pressed the terminator straight away: an empty entry
		case pending != "" && s.max == 1:
			got = pending
		default:
			opts := call.DigitOptions{Terminator: s.terminator, FirstTimeout: s.timeout, InterTimeout: s.inter}
			if pending != "" {
				opts.FirstTimeout = s.inter
			}
			if s.max > 0 {
				opts.Max = s.max - len(pending)
			}
			rest, err := r.ch.ReadDigits(r.ctx, opts)
			if err != nil && !errors.Is(err, call.ErrTimeout) {
				return "", r.gone(err)
			}
			got = pending + rest
			if got == "" && errors.Is(err, call.ErrTimeout) {
				fail = "timeout"
			}
		}
		if fail == "" {
			if why := s.validate(got); why == "" {
				r.setVar(s.into, got)
				if s.sensitive {
					r.note("entered %d digits", len(got))
				} else {
					r.note("entered %s", got)
				}
				return "next", nil
			} else {
				fail = "invalid"
				r.note("%s", why)
			}
		} else {
			r.note("no digits")
		}
		if n.target(fail) != "" {
			return fail, nil
		}
		if attempt >= s.retries {
			return "retries_exhausted", nil
		}
		if pending, err = r.reprompt(fail, s.invalid, s.noInput, s.prompt, s.bargeIn); err != nil {
			return "", err
		}
	}
}

// validate says what is wrong with an entry ("" when it is good), never showing the digits.
func (s *inputStep) validate(got string) string {
	switch {
	case len(got) < s.min:
		return fmt.Sprintf("%d digits, fewer than %d", len(got), s.min)
	case s.max > 0 && len(got) > s.max:
		return fmt.Sprintf("%d digits, more than %d", len(got), s.max)
	case s.pattern != nil && !s.pattern.MatchString(got):
		return "does not match the pattern"
	case s.luhn && !luhn(got):
		return "fails the Luhn check"
	}
	return ""
}

func (s *inputStep) summary() string { return "input → " + s.into }

// ---- set ----

type assign struct {
	name      string
	e         *expression
	line, col int
}

type setStep struct{ assigns []assign }

func parseSet(p *parser, v, _ *yaml.Node) step {
	s := &setStep{}
	fs := p.fields(v, "set")
	if fs == nil {
		return &badStep{}
	}
	for i, k := range fs.keys {
		fs.used[i] = true
		if k.Value == "language" {
			p.errorf(k, "language is changed with a language step, so that say follows it")
			continue
		}
		if !p.checkVarName(k, k.Value) {
			continue
		}
		s.assigns = append(s.assigns, assign{name: k.Value, e: p.expr(fs.vals[i], k.Value), line: k.Line, col: k.Column})
	}
	if len(fs.keys) == 0 {
		p.errorf(v, "set needs at least one variable: expression")
	}
	return s
}

func (s *setStep) exits() exitSpec { return exitSpec{fixed: []string{"next", "error"}} }

func (s *setStep) check(c *checker, n *Node) {
	for _, a := range s.assigns {
		if a.e == nil || !c.compile(a.e, false) {
			continue
		}
		if vi := c.f.vars[a.name]; vi != nil && !assignable(vi.typ, a.e.typ) {
			where := "declared under vars"
			if !vi.declared {
				where = "first set by node " + vi.setBy
			}
			c.errAt(a.e.line, a.e.col, "%s holds %s (%s at line %d), but %q is %s", a.name, vi.typ, where, vi.line, a.e.src, a.e.typ)
		}
	}
}

func (s *setStep) run(r *run, n *Node) (string, error) {
	for _, a := range s.assigns {
		v, err := r.eval(a.e)
		if err != nil {
			return "", err
		}
		if vi := r.flow.vars[a.name]; vi != nil {
			if v, err = coerce(v, vi.typ); err != nil {
				if vi.sensitive || r.readsSensitive(a.e) {
					return "", fmt.Errorf("set %s: the value is not %s (hidden: it is sensitive)", a.name, vi.typ)
				}
				return "", fmt.Errorf("set %s: %w", a.name, err)
			}
		}
		r.setVar(a.name, v)
	}
	return "next", nil
}

func (s *setStep) summary() string {
	var parts []string
	for _, a := range s.assigns {
		src := ""
		if a.e != nil {
			src = a.e.src
		}
		parts = append(parts, a.name+" = "+src)
	}
	return strings.Join(parts, "; ")
}

// ---- branch and switch ----

type branchStep struct{ cond *expression }

func parseBranch(p *parser, v, _ *yaml.Node) step { return &branchStep{cond: p.expr(v, "branch")} }

func (s *branchStep) exits() exitSpec { return exitSpec{fixed: []string{"true", "false", "error"}} }
func (s *branchStep) check(c *checker, n *Node) {
	c.want(s.cond, typBool, "a branch condition")
	c.require(n, "", "true")
	c.require(n, "", "false")
}
func (s *branchStep) run(r *run, n *Node) (string, error) {
	v, err := r.eval(s.cond)
	if err != nil {
		return "", err
	}
	b, ok := v.(bool)
	if !ok {
		return "", fmt.Errorf("branch %q gave %s, not true or false", s.cond.src, describe(v))
	}
	if b {
		return "true", nil
	}
	return "false", nil
}
func (s *branchStep) summary() string { return "if " + exprSrc(s.cond) }

func exprSrc(e *expression) string {
	if e == nil {
		return ""
	}
	return e.src
}

type switchStep struct{ value *expression }

func parseSwitch(p *parser, v, _ *yaml.Node) step { return &switchStep{value: p.expr(v, "switch")} }

func (s *switchStep) exits() exitSpec {
	return exitSpec{fixed: []string{"default", "error"}, prefixes: []string{"case:"}}
}
func (s *switchStep) check(c *checker, n *Node) {
	c.compile(s.value, false)
	c.require(n, " (where values with no case: go)", "default")
}
func (s *switchStep) run(r *run, n *Node) (string, error) {
	v, err := r.eval(s.value)
	if err != nil {
		return "", err
	}
	key := "case:" + plain(v)
	r.note("%s = %s", s.value.src, r.showExpr(s.value, v))
	if n.target(key) != "" {
		return key, nil
	}
	return "default", nil
}
func (s *switchStep) summary() string { return "switch " + exprSrc(s.value) }

func (r *run) showExpr(e *expression, v any) string {
	if r.readsSensitive(e) {
		return redacted
	}
	return plain(v)
}

// ---- hours ----

type hoursStep struct {
	name      string
	sched     *schedule.Hours
	line, col int
}

func parseHours(p *parser, v, _ *yaml.Node) step {
	s := &hoursStep{line: v.Line, col: v.Column}
	s.name, _ = p.name(v, "schedule name")
	return s
}

func (s *hoursStep) exits() exitSpec {
	return exitSpec{fixed: []string{"open", "closed", "holiday", "error"}}
}
func (s *hoursStep) check(c *checker, n *Node) {
	if s.name != "" {
		s.sched = c.cat.Schedules[s.name]
		if s.sched == nil {
			var names []string
			for k := range c.cat.Schedules {
				names = append(names, k)
			}
			c.errAt(s.line, s.col, "no schedule named %q in the configuration%s; schedules: %s", s.name, suggest(s.name, names), orNone(sortStrings(names)))
		}
	}
	c.require(n, "", "open")
	c.require(n, "", "closed")
}
func (s *hoursStep) run(r *run, n *Node) (string, error) {
	now := r.now()
	h := hoursAt(s.sched, now)
	r.note("%s at %s: %s", s.name, now.In(s.sched.Location()).Format("Mon 2006-01-02 15:04 MST"), h)
	if h == Holiday && n.target("holiday") == "" {
		return string(Closed), nil
	}
	return string(h), nil
}
func (s *hoursStep) summary() string { return "hours " + s.name }

func sortStrings(s []string) []string {
	out := append([]string(nil), s...)
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// ---- language ----

type languageStep struct {
	lang      string
	line, col int
}

func parseLanguage(p *parser, v, _ *yaml.Node) step {
	s := &languageStep{line: v.Line, col: v.Column}
	if l, ok := p.str(v, "language"); ok {
		if !langRE.MatchString(l) {
			p.errorf(v, "%q is not a language code; write one like en or zh", l)
		} else {
			s.lang = l
		}
	}
	return s
}

func (s *languageStep) exits() exitSpec { return exitSpec{fixed: []string{"next"}} }
func (s *languageStep) check(c *checker, n *Node) {
	if s.lang != "" && !c.hasLanguage(s.lang) {
		c.errAt(s.line, s.col, "language %q has no voice; languages with a voice: %s (prompts.voices in the configuration)",
			s.lang, strings.Join(c.cat.languages(), ", "))
	}
}
func (s *languageStep) run(r *run, n *Node) (string, error) {
	r.lang = s.lang
	r.env["language"] = s.lang
	r.ev.Set = append(r.ev.Set, Var{Name: "language", Value: s.lang})
	return "next", nil
}
func (s *languageStep) summary() string { return "language " + s.lang }

// ---- goto, hangup, pause ----

type gotoStep struct {
	flow      string
	target    *Flow
	line, col int
}

func parseGoto(p *parser, v, _ *yaml.Node) step {
	s := &gotoStep{line: v.Line, col: v.Column}
	s.flow, _ = p.name(v, "flow name")
	return s
}

func (s *gotoStep) exits() exitSpec { return exitSpec{} }
func (s *gotoStep) check(c *checker, n *Node) {
	if s.flow == "" {
		return
	}
	s.target = c.set.flows[s.flow]
	if s.target == nil {
		c.errAt(s.line, s.col, "no flow named %q next to this one%s; flows: %s (a flow's name is its file name without .yaml)",
			s.flow, suggest(s.flow, c.set.names), orNone(c.set.names))
	}
}
func (s *gotoStep) run(r *run, n *Node) (string, error) {
	r.jump = s.target
	return "goto", nil
}
func (s *gotoStep) summary() string { return "goto " + s.flow }

type hangupStep struct{}

func parseHangup(p *parser, v, _ *yaml.Node) step {
	switch {
	case v.Kind == yaml.ScalarNode && (v.Tag == "!!null" || v.Value == "true"):
	case v.Kind == yaml.MappingNode && len(v.Content) == 0:
	default:
		p.errorf(v, "hangup takes no settings; write hangup: {}")
	}
	return &hangupStep{}
}

func (s *hangupStep) exits() exitSpec                     { return exitSpec{} }
func (s *hangupStep) check(c *checker, n *Node)           {}
func (s *hangupStep) run(r *run, n *Node) (string, error) { return "end", nil }
func (s *hangupStep) summary() string                     { return "hang up" }

type pauseStep struct{ d time.Duration }

func parsePause(p *parser, v, _ *yaml.Node) step {
	return &pauseStep{d: p.duration(v, "pause", 100*time.Millisecond, 10*time.Minute)}
}

func (s *pauseStep) exits() exitSpec           { return exitSpec{fixed: []string{"next"}, waits: true} }
func (s *pauseStep) check(c *checker, n *Node) {}
func (s *pauseStep) run(r *run, n *Node) (string, error) {
	if _, err := r.ch.Play(r.ctx, []call.Prompt{{Silence: s.d}}, call.PlayOptions{}); err != nil {
		return "", r.gone(err)
	}
	return "next", nil
}
func (s *pauseStep) summary() string { return "pause " + s.d.String() }
