package ivr

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/hotline-cc/hotline/call"
	"github.com/hotline-cc/hotline/schedule"
)

// Steps that hand the call, or a question about it, to something outside the flow.

// ---- lookup ----

type lookupStep struct {
	by      string // caller | account
	account *expression
}

func parseLookup(p *parser, v, key *yaml.Node) step {
	s := &lookupStep{by: "caller"}
	switch v.Kind {
	case yaml.ScalarNode:
		if v.Value != "caller" {
			p.errorf(v, "lookup: write caller, or account: EXPRESSION to look up an entered account number")
		}
	case yaml.MappingNode:
		fs := p.fields(v, "lookup")
		if x := fs.get("account"); x != nil {
			s.by, s.account = "account", p.expr(x, "account")
		}
		if x := fs.get("by"); x != nil {
			if by, _ := p.str(x, "by"); by != "caller" && by != "account" {
				p.errorf(x, "by must be caller or account")
			} else if by == "account" && s.account == nil {
				p.errorf(x, "lookup by account needs account: EXPRESSION (like account_number)")
			}
		}
		fs.rest([]string{"by", "account"}, "lookup")
	default:
		p.errorf(v, "lookup: write caller, or account: EXPRESSION")
	}
	return s
}

func (s *lookupStep) exits() exitSpec {
	return exitSpec{fixed: []string{"found", "not_found", "error"}}
}
func (s *lookupStep) check(c *checker, n *Node) {
	if s.account != nil {
		c.want(s.account, typString, "the account")
	}
	c.require(n, "", "found")
	c.require(n, "", "not_found")
}
func (s *lookupStep) run(r *run, n *Node) (string, error) {
	if r.r.Customers == nil {
		return "", errors.New("no customer directory to look up in")
	}
	var (
		c   *Customer
		err error
	)
	if s.by == "account" {
		v, everr := r.eval(s.account)
		if everr != nil {
			return "", everr
		}
		c, err = r.r.Customers.ByAccount(r.ctx, plain(v))
	} else {
		number := callerNumber(r.ch.Caller())
		if number == "" {
			r.note("caller withheld their number")
			r.setCustomer(nil)
			return "not_found", nil
		}
		c, err = r.r.Customers.ByNumber(r.ctx, number)
	}
	if err != nil {
		return "", r.gone(fmt.Errorf("lookup: %w", err))
	}
	r.setCustomer(c)
	if c == nil {
		r.note("no customer by %s", s.by)
		return "not_found", nil
	}
	r.note("customer %s (vip %t)", c.ID, c.VIP)
	return "found", nil
}
func (s *lookupStep) summary() string { return "lookup by " + s.by }

func (r *run) setCustomer(c *Customer) {
	r.cust = c
	r.env["customer"] = customerValue(c)
	if c != nil {
		r.ev.Set = append(r.ev.Set, Var{Name: "customer", Value: c.ID}, Var{Name: "customer.vip", Value: strconv.FormatBool(c.VIP)})
	}
}

// ---- webhook ----

type header struct {
	name string
	t    *template
}

type bodyField struct {
	key string
	e   *expression
}

type saveField struct {
	name      string
	path      []string
	line, col int
}

type webhookStep struct {
	method  string
	url     *template
	headers []header
	body    []bodyField
	timeout time.Duration
	save    []saveField
	urlNode struct{ line, col int }
}

func parseWebhook(p *parser, v, key *yaml.Node) step {
	s := &webhookStep{method: "POST", timeout: defaultWebhookTimeout}
	fs := p.fields(v, "webhook")
	if fs == nil {
		return &badStep{}
	}
	if x := fs.get("url"); x != nil {
		if _, ok := p.str(x, "url"); ok {
			s.url = p.parseTemplate(x)
			s.urlNode.line, s.urlNode.col = x.Line, x.Column
			if !strings.HasPrefix(x.Value, "http://") && !strings.HasPrefix(x.Value, "https://") {
				p.errorf(x, "url must start with http:// or https://")
			}
		}
	} else {
		p.errorf(key, "webhook needs url:")
	}
	if x := fs.get("method"); x != nil {
		m, _ := p.str(x, "method")
		switch m = strings.ToUpper(m); m {
		case "GET", "POST", "PUT", "PATCH":
			s.method = m
		default:
			p.errorf(x, "method must be GET, POST, PUT or PATCH")
		}
	}
	if x := fs.get("headers"); x != nil {
		if hf := p.fields(x, "headers"); hf != nil {
			for i, k := range hf.keys {
				hf.used[i] = true
				if _, ok := p.str(hf.vals[i], "a header"); ok {
					s.headers = append(s.headers, header{k.Value, p.parseTemplate(hf.vals[i])})
				}
			}
		}
	}
	if x := fs.get("body"); x != nil {
		if bf := p.fields(x, "body"); bf != nil {
			for i, k := range bf.keys {
				bf.used[i] = true
				s.body = append(s.body, bodyField{k.Value, p.expr(bf.vals[i], "body."+k.Value)})
			}
		}
	}
	if x := fs.get("timeout"); x != nil {
		s.timeout = p.duration(x, "timeout", 100*time.Millisecond, time.Minute)
	}
	if x := fs.get("save"); x != nil {
		if sf := p.fields(x, "save"); sf != nil {
			for i, k := range sf.keys {
				sf.used[i] = true
				if !p.checkVarName(k, k.Value) {
					continue
				}
				path, ok := p.str(sf.vals[i], "a JSON path")
				if !ok || path == "" {
					continue
				}
				s.save = append(s.save, saveField{name: k.Value, path: strings.Split(path, "."), line: k.Line, col: k.Column})
			}
		}
	}
	fs.rest([]string{"url", "method", "headers", "body", "timeout", "save"}, "webhook")
	return s
}

func (s *webhookStep) headerTemplates() []*template {
	var out []*template
	for _, h := range s.headers {
		out = append(out, h.t)
	}
	return out
}

func (s *webhookStep) declare(c *checker, n *Node) {
	for _, f := range s.save {
		if vi := c.f.vars[f.name]; vi != nil {
			continue // declared under vars (its type) or by another step
		}
		c.declareVar(n, f.name, typAny, f.line, f.col)
	}
}

func (s *webhookStep) exits() exitSpec { return exitSpec{fixed: []string{"next", "error"}} }
func (s *webhookStep) check(c *checker, n *Node) {
	c.template(s.url)
	for _, h := range s.headers {
		c.template(h.t)
	}
	for _, b := range s.body {
		c.compile(b.e, false)
	}
}

func (s *webhookStep) run(r *run, n *Node) (string, error) {
	u, shownURL, _, err := r.render(s.url, r.lang, renderURL)
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(r.ctx, s.timeout)
	defer cancel()
	var body io.Reader
	if len(s.body) > 0 || s.method != "GET" {
		obj := map[string]any{}
		for _, b := range s.body {
			v, err := r.eval(b.e)
			if err != nil {
				return "", err
			}
			obj[b.key] = v
		}
		js, err := json.Marshal(obj)
		if err != nil {
			return "", fmt.Errorf("webhook body: %w", err)
		}
		body = bytes.NewReader(js)
	}
	req, err := http.NewRequestWithContext(ctx, s.method, u, body)
	if err != nil {
		return "", fmt.Errorf("webhook %s: %w", shownURL, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("X-Hotline-Call", r.ch.ID())
	for _, h := range s.headers {
		v, _, _, err := r.render(h.t, r.lang, renderPlain)
		if err != nil {
			return "", err
		}
		req.Header.Set(h.name, v)
	}
	client := r.r.HTTP
	if client == nil {
		client = http.DefaultClient
	}
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		r.setVar("webhook_status", 0)
		if r.ctx.Err() != nil {
			return "", errCallerGone
		}
		if ctx.Err() != nil {
			return "", fmt.Errorf("webhook %s %s: no answer within %v", s.method, shownURL, s.timeout)
		}
		return "", fmt.Errorf("webhook %s %s: %w", s.method, shownURL, unwrapURLError(err))
	}
	defer resp.Body.Close()
	r.setVar("webhook_status", resp.StatusCode)
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", fmt.Errorf("webhook %s %s: reading the answer: %w", s.method, shownURL, err)
	}
	r.note("%s %s → %d in %v", s.method, shownURL, resp.StatusCode, time.Since(start).Round(time.Millisecond))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return "", fmt.Errorf("webhook %s %s answered %s", s.method, shownURL, resp.Status)
	}
	if len(s.save) == 0 {
		return "next", nil
	}
	var data any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&data); err != nil {
		return "", fmt.Errorf("webhook %s %s: the answer is not JSON: %v", s.method, shownURL, err)
	}
	for _, f := range s.save {
		v, ok := jsonPath(data, f.path)
		if !ok {
			return "", fmt.Errorf("webhook %s %s: the answer has no %s", s.method, shownURL, strings.Join(f.path, "."))
		}
		vi := r.flow.vars[f.name]
		t := typAny
		if vi != nil {
			t = vi.typ
		}
		if t == typAny {
			v = jsonPlain(v)
		}
		cv, err := coerce(v, t)
		if err != nil {
			return "", fmt.Errorf("webhook: %s: %w", strings.Join(f.path, "."), err)
		}
		r.setVar(f.name, cv)
	}
	return "next", nil
}

func unwrapURLError(err error) error {
	var ue interface{ Unwrap() error }
	if errors.As(err, &ue) && ue.Unwrap() != nil {
		return ue.Unwrap()
	}
	return err
}

// jsonPath walks a decoded JSON value: "customer.tier", "items.0.id".
func jsonPath(v any, path []string) (any, bool) {
	for _, p := range path {
		switch x := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = x[p]; !ok {
				return nil, false
			}
		case []any:
			i, err := strconv.Atoi(p)
			if err != nil || i < 0 || i >= len(x) {
				return nil, false
			}
			v = x[i]
		default:
			return nil, false
		}
	}
	return v, true
}

// jsonPlain turns json.Numbers into int or float64 so expressions can compare them.
func jsonPlain(v any) any {
	switch x := v.(type) {
	case json.Number:
		if n, err := x.Int64(); err == nil {
			return int(n)
		}
		f, _ := x.Float64()
		return f
	case map[string]any:
		for k, e := range x {
			x[k] = jsonPlain(e)
		}
	case []any:
		for i, e := range x {
			x[i] = jsonPlain(e)
		}
	}
	return v
}

func (s *webhookStep) summary() string {
	if s.url == nil {
		return "webhook"
	}
	return "webhook " + s.method + " " + s.url.raw
}

// ---- queue ----

type queueStep struct {
	queue          string
	priority       *expression
	callbackOffer  bool
	voicemailOffer bool
	line, col      int
}

func parseQueue(p *parser, v, key *yaml.Node) step {
	s := &queueStep{line: v.Line, col: v.Column}
	if v.Kind == yaml.ScalarNode {
		s.queue, _ = p.name(v, "queue name")
		return s
	}
	fs := p.fields(v, "queue")
	if fs == nil {
		return &badStep{}
	}
	if x := fs.get("name"); x != nil {
		s.queue, _ = p.name(x, "queue name")
		s.line, s.col = x.Line, x.Column
	} else {
		p.errorf(key, "queue needs name: (one of the queues in the configuration)")
	}
	if x := fs.get("priority"); x != nil {
		s.priority = p.expr(x, "priority")
	}
	if x := fs.get("callback"); x != nil {
		s.callbackOffer = p.boolean(x, "callback")
	}
	if x := fs.get("voicemail"); x != nil {
		s.voicemailOffer = p.boolean(x, "voicemail")
	}
	fs.rest([]string{"name", "priority", "callback", "voicemail"}, "queue")
	return s
}

func (s *queueStep) exits() exitSpec {
	fixed := make([]string, 0, len(QueueExits)+1)
	for _, e := range QueueExits {
		if e != QueueHangup {
			fixed = append(fixed, string(e))
		}
	}
	return exitSpec{fixed: append(fixed, "error"), waits: true}
}

func (s *queueStep) check(c *checker, n *Node) {
	c.queue(s.queue, s.line, s.col)
	if s.priority != nil {
		c.want(s.priority, typInt, "priority")
	}
	if s.callbackOffer && n.target("callback") == "" {
		c.errAt(n.Line, n.Col, "queue %q offers a callback but has no callback exit; wire callback: to a node that confirms it", n.ID)
	}
	if s.voicemailOffer && n.target("voicemail") == "" {
		c.errAt(n.Line, n.Col, "queue %q offers voicemail but has no voicemail exit; wire voicemail: to a voicemail node", n.ID)
	}
}

func (s *queueStep) run(r *run, n *Node) (string, error) {
	if r.r.Queues == nil {
		return "", errors.New("no queue service")
	}
	prio := 0
	if s.priority != nil {
		v, err := r.eval(s.priority)
		if err != nil {
			return "", err
		}
		cv, err := coerce(v, typInt)
		if err != nil {
			return "", fmt.Errorf("priority: %w", err)
		}
		prio = cv.(int)
	}
	req := QueueRequest{Queue: s.queue, Priority: prio, Language: r.lang, CallID: r.ch.ID(), Caller: r.ch.Caller(),
		Customer: r.cust, Vars: r.publicVars(), CallbackOffer: s.callbackOffer, VoicemailOffer: s.voicemailOffer}
	r.lastQueue = s.queue
	r.res.Queue = s.queue
	res, err := r.r.Queues.Enqueue(r.ctx, r.ch, req)
	if err != nil {
		if r.ctx.Err() != nil {
			r.outcome(OutcomeAbandoned)
			return "", errCallerGone
		}
		return "", fmt.Errorf("queue %s: %w", s.queue, err)
	}
	if !res.Joined.IsZero() {
		r.res.Stays = append(r.res.Stays, res)
	}
	r.setVar("queue_result", string(res.Exit))
	r.env["waited"] = res.Waited
	detail := fmt.Sprintf("%s, priority %d", s.queue, prio)
	if res.Position > 0 {
		detail += fmt.Sprintf(", joined at position %d", res.Position)
	}
	switch res.Exit {
	case QueueAnswered:
		r.setVar("agent", res.Agent)
		r.res.Agent = res.Agent
		r.outcome(OutcomeAnswered)
		r.note("%s: answered by %s after %v, talked %v", detail, res.Agent, res.Waited.Round(time.Second), res.Talked.Round(time.Second))
	case QueueCallback:
		r.outcome(OutcomeCallback)
		if res.Callback != nil {
			r.setVar("callback_id", res.Callback.ID)
			r.res.Callback = res.Callback.ID
		}
		r.note("%s: callback taken after %v", detail, res.Waited.Round(time.Second))
	case QueueHangup:
		r.note("%s: caller hung up after %v", detail, res.Waited.Round(time.Second))
		r.outcome(OutcomeAbandoned)
		return "", errCallerGone
	case QueueTimeout, QueueVoicemail, QueueFull, QueueNoAgents:
		r.note("%s: %s after %v", detail, res.Exit, res.Waited.Round(time.Second))
	default:
		return "", fmt.Errorf("queue %s ended with %q, which is not a queue exit", s.queue, res.Exit)
	}
	if r.ctx.Err() != nil {
		return "", errCallerGone
	}
	return string(res.Exit), nil
}

func (s *queueStep) summary() string { return "queue " + s.queue }

// ---- voicemail ----

type voicemailStep struct {
	greeting  []promptItem
	queue     string
	max       time.Duration
	silence   time.Duration
	beep      bool
	line, col int
}

func parseVoicemail(p *parser, v, key *yaml.Node) step {
	s := &voicemailStep{max: defaultVoicemailMax, silence: 5 * time.Second, beep: true, line: v.Line, col: v.Column}
	if v.Kind == yaml.ScalarNode && v.Tag != "!!null" {
		s.queue, _ = p.name(v, "queue name")
		return s
	}
	if v.Kind == yaml.ScalarNode {
		return s
	}
	fs := p.fields(v, "voicemail")
	if fs == nil {
		return &badStep{}
	}
	if x := fs.get("greeting"); x != nil {
		s.greeting = p.parsePrompts(x, "greeting")
	}
	if x := fs.get("queue"); x != nil {
		s.queue, _ = p.name(x, "queue name")
		s.line, s.col = x.Line, x.Column
	}
	if x := fs.get("max_duration"); x != nil {
		s.max = p.duration(x, "max_duration", 5*time.Second, 10*time.Minute)
	}
	if x := fs.get("silence"); x != nil {
		s.silence = p.duration(x, "silence", time.Second, time.Minute)
	}
	if x := fs.get("beep"); x != nil {
		s.beep = p.boolean(x, "beep")
	}
	fs.rest([]string{"greeting", "queue", "max_duration", "silence", "beep"}, "voicemail")
	return s
}

func (s *voicemailStep) exits() exitSpec {
	return exitSpec{fixed: []string{"next", "empty", "error"}, waits: true}
}
func (s *voicemailStep) check(c *checker, n *Node) {
	c.prompts(s.greeting)
	c.queue(s.queue, s.line, s.col)
}

// minMessage is the shortest recording kept as a message.
const minMessage = time.Second

func (s *voicemailStep) run(r *run, n *Node) (string, error) {
	if r.r.Voicemail == nil {
		return "", errors.New("no voicemail service")
	}
	if _, err := r.play(s.greeting, false); err != nil {
		return "", err
	}
	r.ch.FlushDigits()
	path := filepath.Join(r.tempDir(), fmt.Sprintf("hotline-vm-%s-%d.wav", safeID(r.ch.ID()), time.Now().UnixNano()))
	defer os.Remove(path)
	rec, err := r.ch.Record(r.ctx, path, call.RecordOptions{MaxDuration: s.max, SilenceTimeout: s.silence, EndOnPound: true, Beep: s.beep})
	gone := r.ctx.Err() != nil || rec.End == call.RecordEndHangup
	if err != nil && !gone {
		return "", fmt.Errorf("recording: %w", err)
	}
	if rec.Path == "" {
		rec.Path = path
	}
	if rec.Duration < minMessage {
		r.note("recording of %v is too short to keep", rec.Duration.Round(100*time.Millisecond))
		if gone {
			return "", errCallerGone
		}
		return "empty", nil
	}
	// The message is committed even if the caller has hung up: what a caller said is never lost.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.ctx), 30*time.Second)
	defer cancel()
	ticket, err := r.r.Voicemail.Save(ctx, VoicemailRequest{CallID: r.ch.ID(), Caller: r.ch.Caller(), Queue: s.queue,
		Language: r.lang, Customer: r.cust, Recording: rec, Vars: r.publicVars()})
	if err != nil {
		return "", fmt.Errorf("saving the voicemail: %w", err)
	}
	r.setVar("ticket", ticket)
	r.res.Ticket = ticket
	r.outcome(OutcomeVoicemail)
	r.note("%v message saved as ticket %s (ended by %s)", rec.Duration.Round(time.Second), ticket, rec.End)
	if gone {
		return "", errCallerGone
	}
	return "next", nil
}

func (s *voicemailStep) summary() string {
	if s.queue != "" {
		return "voicemail for " + s.queue
	}
	return "voicemail"
}

func safeID(id string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' {
			return r
		}
		return '_'
	}, id)
}

// ---- callback ----

type callbackStep struct {
	queue     string
	number    *expression
	at        *expression // when the caller wants the call: "14:30" or "1430" (next such time)
	schedName string      // whose time zone at is read in
	sched     *schedule.Hours
	line, col int
	sline     int
	scol      int
}

func parseCallback(p *parser, v, key *yaml.Node) step {
	s := &callbackStep{line: v.Line, col: v.Column}
	if v.Kind == yaml.ScalarNode {
		s.queue, _ = p.name(v, "queue name")
		return s
	}
	fs := p.fields(v, "callback")
	if fs == nil {
		return &badStep{}
	}
	if x := fs.get("queue"); x != nil {
		s.queue, _ = p.name(x, "queue name")
		s.line, s.col = x.Line, x.Column
	} else {
		p.errorf(key, "callback needs queue: (the queue whose agents call back)")
	}
	if x := fs.get("number"); x != nil {
		s.number = p.expr(x, "number")
	}
	if x := fs.get("at"); x != nil {
		s.at = p.expr(x, "at")
	}
	if x := fs.get("schedule"); x != nil {
		s.schedName, _ = p.name(x, "schedule name")
		s.sline, s.scol = x.Line, x.Column
	}
	fs.rest([]string{"queue", "number", "at", "schedule"}, "callback")
	return s
}

func (s *callbackStep) exits() exitSpec {
	return exitSpec{fixed: []string{"next", "refused", "error"}}
}
func (s *callbackStep) check(c *checker, n *Node) {
	c.queue(s.queue, s.line, s.col)
	if s.number != nil {
		c.want(s.number, typString, "the number to call back")
	}
	if s.at != nil {
		c.want(s.at, typString, `the time to call back, like "14:30" or "1430"`)
	}
	if s.schedName != "" {
		if s.sched = c.cat.Schedules[s.schedName]; s.sched == nil {
			var names []string
			for k := range c.cat.Schedules {
				names = append(names, k)
			}
			c.errAt(s.sline, s.scol, "no schedule named %q in the configuration%s; schedules: %s", s.schedName, suggest(s.schedName, names), orNone(sortStrings(names)))
		}
	}
}

// slot turns "14:30" or "1430" into the next such time after now, in the schedule's time
// zone (or now's); ok is false for anything that is not a time of day.
func (s *callbackStep) slot(v string, now time.Time) (time.Time, bool) {
	v = strings.ReplaceAll(strings.TrimSpace(v), ":", "")
	if len(v) != 4 {
		return time.Time{}, false
	}
	h, err1 := strconv.Atoi(v[:2])
	m, err2 := strconv.Atoi(v[2:])
	if err1 != nil || err2 != nil || h > 23 || m > 59 {
		return time.Time{}, false
	}
	loc := now.Location()
	if s.sched != nil {
		loc = s.sched.Location()
	}
	local := now.In(loc)
	t := time.Date(local.Year(), local.Month(), local.Day(), h, m, 0, 0, loc)
	if !t.After(now) {
		t = t.AddDate(0, 0, 1)
	}
	return t, true
}
func (s *callbackStep) run(r *run, n *Node) (string, error) {
	if r.r.Callbacks == nil {
		return "", errors.New("no callback service")
	}
	number := callerNumber(r.ch.Caller())
	if s.number != nil {
		v, err := r.eval(s.number)
		if err != nil {
			return "", err
		}
		number = plain(v)
	}
	if number == "" {
		r.setVar("callback_reason", "no_number")
		r.note("no number to call back")
		return "refused", nil
	}
	req := CallbackRequest{CallID: r.ch.ID(), Caller: r.ch.Caller(), Number: number,
		Queue: s.queue, Language: r.lang, Customer: r.cust, Vars: r.publicVars()}
	if s.at != nil {
		v, err := r.eval(s.at)
		if err != nil {
			return "", err
		}
		slot, ok := s.slot(plain(v), r.now())
		if !ok {
			r.setVar("callback_reason", "bad_time")
			r.note("%q is not a time of day", plain(v))
			return "refused", nil
		}
		req.Slot = slot
	}
	res, err := r.r.Callbacks.Request(r.ctx, req)
	if err != nil {
		return "", r.gone(fmt.Errorf("callback: %w", err))
	}
	if !res.Accepted {
		r.setVar("callback_reason", res.Reason)
		r.note("callback refused: %s", res.Reason)
		return "refused", nil
	}
	r.setVar("callback_id", res.ID)
	r.res.Callback = res.ID
	r.outcome(OutcomeCallback)
	r.note("callback %s booked for %s", res.ID, s.queue)
	return "next", nil
}
func (s *callbackStep) summary() string { return "callback for " + s.queue }

// ---- transfer ----

type transferStep struct {
	to        *template
	timeout   time.Duration
	allowed   []string
	line, col int
}

func parseTransfer(p *parser, v, key *yaml.Node) step {
	s := &transferStep{timeout: defaultTransferRing, line: v.Line, col: v.Column}
	target := v
	if v.Kind == yaml.MappingNode {
		fs := p.fields(v, "transfer")
		target = fs.get("to")
		if x := fs.get("timeout"); x != nil {
			s.timeout = p.duration(x, "timeout", time.Second, 5*time.Minute)
		}
		fs.rest([]string{"to", "timeout"}, "transfer")
		if target == nil {
			p.errorf(key, "transfer needs to: (a sip: URI or a number)")
			return s
		}
	}
	if _, ok := p.str(target, "transfer target"); ok {
		s.to = p.parseTemplate(target)
		s.line, s.col = target.Line, target.Column
	}
	return s
}

func (s *transferStep) exits() exitSpec {
	return exitSpec{fixed: []string{"next", "busy", "no_answer", "failed", "error"}, waits: true}
}
func (s *transferStep) check(c *checker, n *Node) {
	c.template(s.to)
	s.allowed = append([]string(nil), c.cat.Transfer...)
	if s.to == nil {
		return
	}
	// A literal prefix before any ${...} must already be allowed.
	lit := ""
	for _, p := range s.to.parts {
		if p.e != nil {
			break
		}
		lit += p.lit
	}
	if len(s.to.parts) > 0 && s.to.parts[0].e == nil {
		whole := len(s.to.parts) == 1
		ok := false
		for _, a := range s.allowed {
			if a != "" && (strings.HasPrefix(lit, a) || (!whole && strings.HasPrefix(a, lit))) {
				ok = true
			}
		}
		if !ok {
			c.errAt(s.line, s.col, "transfer to %q is not allowed; add a prefix of it to transfer.allowed in the configuration (allowed: %s)", lit, orNone(s.allowed))
		}
	}
}

func (s *transferStep) run(r *run, n *Node) (string, error) {
	to, shown, _, err := r.render(s.to, r.lang, renderPlain)
	if err != nil {
		return "", err
	}
	ok := false
	for _, a := range s.allowed {
		if a != "" && strings.HasPrefix(to, a) {
			ok = true
		}
	}
	if !ok {
		return "", fmt.Errorf("transfer to %s is not in transfer.allowed", shown)
	}
	if r.r.Dialer == nil {
		return "", errors.New("no dialer for transfers")
	}
	other, err := r.r.Dialer.Originate(r.ctx, call.Target{URI: to}, call.OriginateOptions{CallerID: r.ch.Caller(), RingTimeout: s.timeout})
	if err != nil {
		if r.ctx.Err() != nil {
			return "", errCallerGone
		}
		var de *call.DialError
		if errors.As(err, &de) {
			r.note("transfer to %s: %s", shown, de.MissReason())
			switch {
			case errors.Is(err, call.ErrBusy):
				return "busy", nil
			case errors.Is(err, call.ErrNoAnswer):
				return "no_answer", nil
			}
			return "failed", nil
		}
		return "", fmt.Errorf("transfer to %s: %w", shown, err)
	}
	defer other.Hangup(call.CauseNormal)
	r.outcome(OutcomeTransferred)
	start := time.Now()
	_, err = r.ch.Bridge(r.ctx, other)
	r.note("transferred to %s, bridged %v", shown, time.Since(start).Round(time.Second))
	if r.ctx.Err() != nil || r.ch.Context().Err() != nil {
		return "", errCallerGone
	}
	if err != nil {
		return "", fmt.Errorf("transfer to %s: %w", shown, err)
	}
	return "next", nil
}
func (s *transferStep) summary() string {
	if s.to == nil {
		return "transfer"
	}
	return "transfer to " + s.to.raw
}

// ---- survey ----

// Survey scales: csat asks 1 to 5 (one key), nps asks 0 to 10 (one key, or 1 then 0 for 10).
const (
	ScaleCSAT = "csat"
	ScaleNPS  = "nps"
)

type surveyStep struct {
	name     string
	scale    string // ScaleCSAT or ScaleNPS
	question []promptItem
	thanks   []promptItem
	into     string
	retries  int
	timeout  time.Duration
	invalid  []promptItem
	noInput  []promptItem
}

func parseSurvey(p *parser, v, key *yaml.Node) step {
	s := &surveyStep{retries: 1, timeout: defaultMenuTimeout, into: "survey_score", scale: ScaleCSAT}
	fs := p.fields(v, "survey")
	if fs == nil {
		return &badStep{}
	}
	if x := fs.get("scale"); x != nil {
		if sc, ok := p.str(x, "scale"); ok {
			switch sc {
			case ScaleCSAT, ScaleNPS:
				s.scale = sc
			default:
				p.errorf(x, "survey scale %q: use csat (1 to 5) or nps (0 to 10)", sc)
			}
		}
	}
	if x := fs.get("name"); x != nil {
		s.name, _ = p.name(x, "survey name")
	} else {
		p.errorf(key, "survey needs name: (what the answers are filed under, like satisfaction)")
	}
	if x := fs.get("question"); x != nil {
		s.question = p.parsePrompts(x, "question")
	} else {
		p.errorf(key, "survey needs a question: asking for a key from 1 to 5 (or 0 to 10 with scale: nps)")
	}
	if x := fs.get("thanks"); x != nil {
		s.thanks = p.parsePrompts(x, "thanks")
	}
	if x := fs.get("into"); x != nil {
		if name, ok := p.str(x, "into"); ok && p.checkVarName(x, name) {
			s.into = name
		}
	}
	if x := fs.get("retries"); x != nil {
		s.retries = p.integer(x, "retries", 0, 5)
	}
	if x := fs.get("timeout"); x != nil {
		s.timeout = p.duration(x, "timeout", 500*time.Millisecond, time.Minute)
	}
	if x := fs.get("invalid"); x != nil {
		s.invalid = p.parsePrompts(x, "invalid")
	}
	if x := fs.get("no_input"); x != nil {
		s.noInput = p.parsePrompts(x, "no_input")
	}
	fs.rest([]string{"name", "scale", "question", "thanks", "into", "retries", "timeout", "invalid", "no_input"}, "survey")
	return s
}

func (s *surveyStep) declare(c *checker, n *Node) {
	if s.into != "survey_score" {
		c.declareVar(n, s.into, typInt, n.Line, n.Col)
	}
}

func (s *surveyStep) exits() exitSpec {
	return exitSpec{fixed: []string{"next", "retries_exhausted", "error"}, waits: true}
}
func (s *surveyStep) check(c *checker, n *Node) {
	c.prompts(s.question)
	c.prompts(s.thanks)
	c.prompts(s.invalid)
	c.prompts(s.noInput)
}

func (s *surveyStep) run(r *run, n *Node) (string, error) {
	pending, err := r.play(s.question, true)
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
		if s.scale == ScaleNPS && d == "1" { // 1, or the first key of 10
			more, err := r.ch.ReadDigits(r.ctx, call.DigitOptions{Max: 1, FirstTimeout: npsSecondKey})
			if err != nil && !errors.Is(err, call.ErrTimeout) {
				return "", r.gone(err)
			}
			d += more
		}
		if score, ok := s.score(d); ok {
			r.setVar(s.into, score)
			if s.into != "survey_score" {
				r.env["survey_score"] = score
			}
			r.note("%s: %d", s.name, score)
			if r.r.Surveys == nil {
				return "", errors.New("no survey service to keep the answer")
			}
			ctx, cancel := context.WithTimeout(context.WithoutCancel(r.ctx), 10*time.Second)
			err := r.r.Surveys.SaveSurvey(ctx, SurveyResponse{CallID: r.ch.ID(), Survey: s.name, Caller: r.ch.Caller(),
				Queue: r.lastQueue, Agent: r.res.Agent, Score: score, Scale: s.scale, Language: r.lang})
			cancel()
			if err != nil {
				return "", fmt.Errorf("saving the survey answer: %w", err)
			}
			if _, err := r.play(s.thanks, false); err != nil {
				return "", err
			}
			return "next", nil
		}
		fail := "timeout"
		if d != "" {
			fail = "invalid"
			r.note("pressed %s (not %s)", d, s.rangeText())
		} else {
			r.note("no answer")
		}
		if attempt >= s.retries {
			return "retries_exhausted", nil
		}
		if pending, err = r.reprompt(fail, s.invalid, s.noInput, s.question, true); err != nil {
			return "", err
		}
	}
}
func (s *surveyStep) summary() string { return "survey " + s.name }

// npsSecondKey is how long an NPS survey waits after a 1 for the 0 of 10.
const npsSecondKey = 1500 * time.Millisecond

// score reads the keys pressed as a score of the step's scale.
func (s *surveyStep) score(d string) (int, bool) {
	if s.scale == ScaleNPS {
		switch {
		case d == "10":
			return 10, true
		case len(d) == 1 && d >= "0" && d <= "9":
			return int(d[0] - '0'), true
		}
		return 0, false
	}
	if len(d) == 1 && d >= "1" && d <= "5" {
		return int(d[0] - '0'), true
	}
	return 0, false
}

func (s *surveyStep) rangeText() string {
	if s.scale == ScaleNPS {
		return "0 to 10"
	}
	return "1 to 5"
}
