package ivr

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/hotline-cc/hotline/call"
	"github.com/hotline-cc/hotline/prompts"
)

// PersonalVoice is a Voice that caches text speaking a customer's details (a greeting with
// their name) apart, under the customer, so that erasing the customer removes it;
// *prompts.Library is one. A say: that reads customer.* or caller goes through it.
type PersonalVoice interface {
	SayFor(ctx context.Context, lang, text, customerID string) (call.Prompt, error)
}

// readsPersonal says whether a template reads the customer's details (customer.name, ...)
// or the caller's number: such text is cached under the customer (PersonalVoice), or not
// at all when the customer is not known.
func readsPersonal(t *template) bool {
	for _, p := range t.parts {
		if p.e != nil && (slices.Contains(p.e.refs, "customer") || slices.Contains(p.e.refs, "caller")) {
			return true
		}
	}
	return false
}

// Voice turns prompt names and text into playable prompts; *prompts.Library is one.
type Voice interface {
	Prompt(name string) (call.Prompt, error)
	Say(ctx context.Context, lang, text string) (call.Prompt, error)
	// SayUncached renders text holding a sensitive value; it is never cached on disk and
	// the caller removes the file after playing it.
	SayUncached(ctx context.Context, lang, text string) (call.Prompt, func(), error)
}

// Runner runs flows on calls. Set the services once; a Runner is used by every call at once.
// A nil service makes the steps that need it take their error exit.
type Runner struct {
	Voice     Voice
	Queues    QueueService
	Voicemail VoicemailService
	Callbacks CallbackService
	Customers CustomerLookup
	Surveys   SurveyService
	Dialer    call.Dialer  // transfer steps place their call with it
	HTTP      *http.Client // webhook steps; nil = a client with no timeout of its own (each step has one)
	Clock     func() time.Time
	Observer  Observer
	Metrics   *Metrics
	Log       *slog.Logger
	TempDir   string // voicemail recordings before they are saved; "" = os.TempDir()
}

// Outcome is how a call's flow ended, for the contact's record.
type Outcome string

const (
	OutcomeAnswered    Outcome = "answered"    // an agent answered in a queue step
	OutcomeAbandoned   Outcome = "abandoned"   // the caller hung up waiting in a queue
	OutcomeVoicemail   Outcome = "voicemail"   // a message was saved
	OutcomeCallback    Outcome = "callback"    // a callback was booked
	OutcomeTransferred Outcome = "transferred" // the call was transferred and bridged
	OutcomeHangup      Outcome = "hangup"      // the caller hung up in the IVR before any of the above
	OutcomeCompleted   Outcome = "completed"   // the flow ended the call (hangup step, or an exit with no target)
	OutcomeError       Outcome = "error"       // the flow failed
)

// Result is what a call did in its flows.
type Result struct {
	CallID   string
	Flow     string // the flow the call started in
	Version  string
	Outcome  Outcome
	Path     []Event
	Language string
	Vars     map[string]string // final variables, sensitive ones [redacted]
	Queue    string            // last queue joined
	Stays    []QueueResult     // each stay in a queue the caller joined, in order
	Agent    string
	Ticket   string
	Callback string // callback ID
	Start    time.Time
	Duration time.Duration
	Err      error // the last error taken through an error exit or ending the flow
}

// LastStay is how the call's last stay in a queue ended; false if it never joined one.
func (r Result) LastStay() (QueueResult, bool) {
	if len(r.Stays) == 0 {
		return QueueResult{}, false
	}
	return r.Stays[len(r.Stays)-1], true
}

// Nodes is the path as node names ("flow/node" for nodes outside the starting flow).
func (r Result) Nodes() []string {
	out := make([]string, 0, len(r.Path))
	for _, e := range r.Path {
		if e.Flow == r.Flow {
			out = append(out, e.Node)
		} else {
			out = append(out, e.Flow+"/"+e.Node)
		}
	}
	return out
}

var errCallerGone = errors.New("caller hung up")

// run is one call in a flow.
type run struct {
	r    *Runner
	ch   call.Channel
	ctx  context.Context
	flow *Flow
	lang string
	env  map[string]any
	sens map[string]bool
	res  *Result
	now  func() time.Time
	log  *slog.Logger

	cust        *Customer
	lastQueue   string
	jump        *Flow
	ended       bool
	significant bool // outcome set by a step (answered, voicemail ...)

	ev *Event
}

// Run runs flow f on a call until the flow ends or the caller hangs up, and says what
// happened. It answers the call first. It never hangs up: the goroutine that owns ch does
// that when Run returns.
func (rn *Runner) Run(ctx context.Context, ch call.Channel, f *Flow) Result {
	if f == nil {
		return Result{CallID: ch.ID(), Outcome: OutcomeError, Err: errors.New("ivr: no flow to run")}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(ch.Context(), cancel)
	defer stop()
	now := rn.Clock
	if now == nil {
		now = time.Now
	}
	log := rn.Log
	if log == nil {
		log = slog.Default()
	}
	r := &run{r: rn, ch: ch, ctx: ctx, now: now, sens: map[string]bool{},
		log: log.With("component", "ivr", "call", ch.ID()),
		res: &Result{CallID: ch.ID(), Flow: f.Name, Version: f.Version, Start: now()}}
	r.lang = f.Language
	r.env = map[string]any{
		"caller": callerNumber(ch.Caller()), "dialed": ch.Dialed(), "call_id": ch.ID(),
		"language": r.lang, "digits": "", "customer": customerValue(nil), "ticket": "",
		"callback_id": "", "callback_reason": "", "queue_result": "", "agent": "",
		"waited": time.Duration(0), "webhook_status": 0, "survey_score": 0,
		"now":          func() time.Time { return r.now() },
		"say_digits":   func(s string) string { return prompts.SayDigits(r.lang, s) },
		"say_number":   func(x float64) string { return spoken(numberValue(x), r.lang) },
		"say_duration": func(d time.Duration) string { return spoken(d, r.lang) },
		"luhn":         luhn,
	}
	r.enterFlow(f)
	if f.set != nil && f.set.diags != nil {
		r.res.Err = fmt.Errorf("%w: %s", ErrBrokenFlow, f.set.diags[0])
		r.finish(OutcomeError)
		return r.result()
	}

	var node *Node
	if err := ch.Answer(ctx); err != nil {
		r.res.Err = err
		r.finish(hangupOr(ctx, err))
		return r.result()
	}
	node = f.byID[f.Start]
	visits := 0
	for node != nil && !r.ended {
		if visits++; visits > maxNodesPerCall {
			r.res.Err = fmt.Errorf("the call passed %d nodes without ending; stopped", maxNodesPerCall)
			r.log.Error("flow runaway", "flow", r.flow.Name, "node", node.ID)
			r.finish(OutcomeError)
			break
		}
		node = r.step(node)
	}
	if !r.ended {
		r.finish(OutcomeCompleted)
	}
	return r.result()
}

func numberValue(x float64) any {
	if x == float64(int64(x)) {
		return int64(x)
	}
	return x
}

func callerNumber(p call.Party) string {
	if p.Withheld() {
		return ""
	}
	return p.Number
}

func hangupOr(ctx context.Context, err error) Outcome {
	if ctx.Err() != nil || errors.Is(err, call.ErrHangup) {
		return OutcomeHangup
	}
	return OutcomeError
}

// step runs one node and returns the next (nil when the call leaves the flows).
// sensitive tells a PrivacyObserver that sensitive input starts or ends.
func (r *run) sensitive(on bool) {
	if po, ok := r.r.Observer.(PrivacyObserver); ok {
		po.Sensitive(r.ch.ID(), on)
	}
}

func (r *run) step(n *Node) *Node {
	start := r.now()
	r.ev = &Event{CallID: r.ch.ID(), Flow: r.flow.Name, Version: r.flow.Version, Node: n.ID, Step: n.Kind, Start: start}
	if r.ctx.Err() != nil {
		r.ev.Exit = "hangup"
		r.emit(start)
		r.finish(OutcomeHangup)
		return nil
	}
	if ns, ok := r.r.Observer.(NodeStarter); ok {
		ns.NodeStart(*r.ev)
	}
	exitName, err := n.step.run(r, n)
	var next *Node
	switch {
	case errors.Is(err, errCallerGone) || (err != nil && (r.ctx.Err() != nil || errors.Is(err, call.ErrHangup))):
		r.ev.Exit = "hangup"
		r.emit(start)
		r.finish(OutcomeHangup)
		return nil
	case err != nil:
		r.ev.Exit = "error"
		r.ev.Err = err.Error()
		r.res.Err = err
		r.log.Warn("flow step failed", "flow", r.flow.Name, "node", n.ID, "err", err)
		t := n.target("error")
		if t == "" && r.flow.OnError != "" && r.flow.OnError != n.ID {
			t = r.flow.OnError
		}
		if t != "" {
			next = r.flow.byID[t]
			r.ev.Next = t
		}
		r.emit(start)
		if next == nil {
			r.finish(OutcomeError)
		}
		return next
	case exitName == "goto" && r.jump != nil:
		to := r.jump
		r.jump = nil
		r.ev.Exit = "goto"
		r.ev.Next = to.Name + "/" + to.Start
		r.emit(start)
		r.enterFlow(to)
		return to.byID[to.Start]
	case exitName == "end":
		r.ev.Exit = "end"
		r.emit(start)
		r.finish(OutcomeCompleted)
		return nil
	}
	r.ev.Exit = exitName
	if t := n.target(exitName); t != "" {
		r.ev.Next = t
		next = r.flow.byID[t]
	}
	r.emit(start)
	if next == nil {
		r.finish(OutcomeCompleted)
	}
	return next
}

func (r *run) emit(start time.Time) {
	r.ev.Duration = r.now().Sub(start)
	e := *r.ev
	r.res.Path = append(r.res.Path, e)
	if r.r.Metrics != nil {
		r.r.Metrics.Observe(e)
	}
	if r.r.Observer != nil {
		r.r.Observer.Observe(e)
	}
}

// finish ends the run; an outcome a step already set (answered, voicemail ...) stands,
// except that hanging up while waiting in a queue is an abandon.
func (r *run) finish(o Outcome) {
	r.ended = true
	if r.significant {
		return
	}
	r.res.Outcome = o
}

func (r *run) outcome(o Outcome) {
	r.res.Outcome = o
	r.significant = true
}

func (r *run) result() Result {
	res := *r.res
	res.Language = r.lang
	res.Duration = r.now().Sub(res.Start)
	res.Vars = map[string]string{}
	for name, v := range r.userVars() {
		res.Vars[name] = v
	}
	if r.res.Outcome == "" {
		res.Outcome = OutcomeCompleted
	}
	if r.r.Metrics != nil {
		r.r.Metrics.ended(res.Flow, res)
	}
	return res
}

// userVars is every flow variable as shown text (sensitive ones redacted).
func (r *run) userVars() map[string]string {
	out := map[string]string{"language": r.lang}
	for name, v := range r.env {
		if _, fn := builtinFuncs[name]; fn {
			continue
		}
		if b := builtinVars[name]; b != nil && name != "ticket" && name != "survey_score" && name != "agent" && name != "callback_id" && name != "callback_reason" {
			continue
		}
		out[name] = r.show(name, v)
	}
	return out
}

func (r *run) show(name string, v any) string {
	if r.sens[name] {
		return redacted
	}
	return plain(v)
}

// enterFlow makes f the running flow: its variables get their declared defaults unless the
// call already holds a value of the right type under that name (set in the flow it came from).
func (r *run) enterFlow(f *Flow) {
	r.flow = f
	r.env["flow"] = f.Name
	for _, name := range sortedVarNames(f) {
		vi := f.vars[name]
		if vi.sensitive {
			r.sens[name] = true
		}
		if old, ok := r.env[name]; ok {
			if v, err := coerce(old, vi.typ); err == nil {
				r.env[name] = v
				continue
			}
		}
		if vi.init != nil {
			r.env[name] = vi.init
		} else {
			r.env[name] = vi.typ.zero()
		}
	}
}

func sortedVarNames(f *Flow) []string {
	names := make([]string, 0, len(f.vars))
	for n := range f.vars {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// setVar stores a value and notes it on the node's event.
func (r *run) setVar(name string, v any) {
	r.env[name] = v
	if vi := r.flow.vars[name]; vi != nil && vi.sensitive {
		r.sens[name] = true
	}
	r.ev.Set = append(r.ev.Set, Var{Name: name, Value: r.show(name, v)})
}

func (r *run) note(format string, a ...any) {
	s := fmt.Sprintf(format, a...)
	if r.ev.Detail == "" {
		r.ev.Detail = s
	} else {
		r.ev.Detail += "; " + s
	}
}

// publicVars are the variables that may leave the IVR (to the ACD, records, webhooks of
// the center): everything but sensitive values and functions.
func (r *run) publicVars() map[string]any {
	out := map[string]any{}
	for name, v := range r.env {
		if _, fn := builtinFuncs[name]; fn || r.sens[name] || name == "customer" {
			continue
		}
		out[name] = v
	}
	if r.cust != nil {
		out["vip"] = r.cust.VIP
		out["customer_id"] = r.cust.ID
	} else {
		out["vip"] = false
	}
	return out
}

// ---- playing ----

// prompts builds the prompts of a list of items in the call's language. cleanup removes
// any files rendered for sensitive text.
func (r *run) prompts(items []promptItem) ([]call.Prompt, func(), error) {
	var out []call.Prompt
	var removes []func()
	cleanup := func() {
		for _, f := range removes {
			f()
		}
	}
	for _, it := range items {
		switch {
		case it.play != "":
			if r.r.Voice == nil {
				cleanup()
				return nil, func() {}, errors.New("no voice to play prompts with")
			}
			p, err := r.r.Voice.Prompt(it.play)
			if err != nil {
				cleanup()
				return nil, func() {}, err
			}
			if p.Text == "" {
				p.Text = "[" + it.play + "]"
			}
			out = append(out, p)
		case it.silence > 0:
			out = append(out, call.Prompt{Silence: it.silence})
		case it.say != nil:
			lang := r.lang
			if it.lang != "" {
				lang = it.lang
			}
			tpl, lang := it.say.forLang(lang, r.flow.Language)
			text, shown, secret, err := r.render(tpl, lang, renderSpeech)
			if err != nil {
				cleanup()
				return nil, func() {}, err
			}
			if strings.TrimSpace(text) == "" {
				continue
			}
			if r.r.Voice == nil {
				cleanup()
				return nil, func() {}, errors.New("no voice to say text with")
			}
			var p call.Prompt
			pv, canPersonal := r.r.Voice.(PersonalVoice)
			personal := readsPersonal(tpl)
			switch {
			case secret, personal && (!canPersonal || r.cust == nil || r.cust.ID == ""):
				var rm func()
				p, rm, err = r.r.Voice.SayUncached(r.ctx, lang, text)
				if rm != nil {
					removes = append(removes, rm)
				}
			case personal: // the customer's name or number: cached where erasing them removes it
				p, err = pv.SayFor(r.ctx, lang, text, r.cust.ID)
			default:
				p, err = r.r.Voice.Say(r.ctx, lang, text)
			}
			if err != nil {
				cleanup()
				return nil, func() {}, err
			}
			p.Text = shown
			out = append(out, p)
		}
	}
	return out, cleanup, nil
}

// play plays items; with bargeIn a digit stops it and is returned.
func (r *run) play(items []promptItem, bargeIn bool) (string, error) {
	if len(items) == 0 {
		return "", nil
	}
	ps, cleanup, err := r.prompts(items)
	defer cleanup()
	if err != nil {
		return "", err
	}
	if len(ps) == 0 {
		return "", nil
	}
	d, err := r.ch.Play(r.ctx, ps, call.PlayOptions{Interruptible: bargeIn})
	if err != nil {
		if r.ctx.Err() != nil || errors.Is(err, call.ErrHangup) {
			return "", errCallerGone
		}
		return "", err
	}
	return d, nil
}

// gone turns a channel error into errCallerGone when the caller has hung up.
func (r *run) gone(err error) error {
	if err != nil && (r.ctx.Err() != nil || errors.Is(err, call.ErrHangup)) {
		return errCallerGone
	}
	return err
}

func (r *run) tempDir() string {
	if r.r.TempDir != "" {
		return r.r.TempDir
	}
	return os.TempDir()
}
