package sim

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/hotline-cc/hotline/ivr"
)

// DefaultAt is when a simulated call happens unless told otherwise: a Tuesday morning,
// inside the sample configuration's office hours, so results do not depend on the day.
var DefaultAt = time.Date(2026, 11, 24, 10, 0, 0, 0, time.FixedZone("+08:00", 8*3600))

// ParseAt reads a time for --at and test cases: 2026-11-24T21:00+08:00, RFC 3339, or "now".
func ParseAt(s string) (time.Time, error) {
	if s == "" {
		return DefaultAt, nil
	}
	if s == "now" {
		return time.Now(), nil
	}
	for _, layout := range []string{"2006-01-02T15:04Z07:00", time.RFC3339, "2006-01-02T15:04:05Z07:00"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a time like 2026-11-24T21:00+08:00 (with its UTC offset)", s)
}

// Tokens is a caller's script: a list, or a comma-separated string ("2,1").
type Tokens []string

func (t *Tokens) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		*t = SplitDigits(n.Value)
		return nil
	case yaml.SequenceNode:
		out := Tokens{}
		for _, c := range n.Content {
			if c.Kind != yaml.ScalarNode {
				return fmt.Errorf("line %d: each step of digits is a key press like 2, 1234# or timeout", c.Line)
			}
			out = append(out, c.Value)
		}
		*t = out
		return nil
	}
	return fmt.Errorf("line %d: digits is a list like [2, 1] or a string like \"2,1\"", n.Line)
}

// SplitDigits splits "2,1,timeout" into script tokens.
func SplitDigits(s string) []string {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

var fieldRE = regexp.MustCompile(`field (\S+) not found in type \S+`)

var tokenRE = regexp.MustCompile(`^([0-9*#]+|timeout|hangup|-)$`)

// CheckTokens reports the first token that is not digits, timeout or hangup.
func CheckTokens(ts []string) error {
	for _, t := range ts {
		if !tokenRE.MatchString(t) {
			return fmt.Errorf("%q is not a key press: use digits 0-9 * #, timeout or hangup", t)
		}
	}
	return nil
}

// Duration is a duration written like 45s in a test file.
type Duration time.Duration

func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("%q is not a duration like 45s", b)
	}
	*d = Duration(v)
	return nil
}

// TestFile is a file of flow tests.
type TestFile struct {
	File  string `yaml:"-"`
	Flow  string `yaml:"flow"` // the flow file, relative to the test file
	Cases []Case `yaml:"cases"`
}

// Case is one simulated call and what must happen on it.
type Case struct {
	Name      string               `yaml:"name"`
	Line      int                  `yaml:"-"`
	Caller    string               `yaml:"caller"`
	Dialed    string               `yaml:"dialed"`
	At        string               `yaml:"at"`
	Digits    Tokens               `yaml:"digits"`
	Customer  *CustomerSpec        `yaml:"customer"`
	Queue     *QueueSpec           `yaml:"queue"`
	Queues    map[string]QueueSpec `yaml:"queues"`
	Callback  *CallbackSpec        `yaml:"callback"`
	Voicemail *VoicemailSpec       `yaml:"voicemail"`
	Webhooks  []WebhookSpec        `yaml:"webhooks"`
	Transfer  string               `yaml:"transfer"`
	Expect    Expect               `yaml:"expect"`
}

// CustomerSpec is the customer a lookup finds (by any number or account).
type CustomerSpec struct {
	ID       string `yaml:"id"`
	Name     string `yaml:"name"`
	Account  string `yaml:"account"`
	VIP      bool   `yaml:"vip"`
	Tier     string `yaml:"tier"`
	Language string `yaml:"language"`
}

// QueueSpec is what the queue does; a bare string is the exit.
type QueueSpec struct {
	Exit     string   `yaml:"exit"`
	Agent    string   `yaml:"agent"`
	Waited   Duration `yaml:"waited"`
	Talked   Duration `yaml:"talked"`
	Position int      `yaml:"position"`
}

func (q *QueueSpec) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		q.Exit = n.Value
		return nil
	}
	type plainSpec QueueSpec
	var p plainSpec
	if err := decodeStrict(n, &p); err != nil {
		return err
	}
	*q = QueueSpec(p)
	return nil
}

// CallbackSpec is the answer to callback requests.
type CallbackSpec struct {
	Accepted *bool  `yaml:"accepted"`
	Reason   string `yaml:"reason"`
	ID       string `yaml:"id"`
}

// VoicemailSpec is how the caller leaves a message.
type VoicemailSpec struct {
	Speaks *Duration `yaml:"speaks"` // how long the caller talks (0s: says nothing)
	Ticket string    `yaml:"ticket"`
	Error  string    `yaml:"error"` // saving fails
}

// WebhookSpec is a scripted webhook answer.
type WebhookSpec struct {
	Match   string `yaml:"match"`
	Status  int    `yaml:"status"`
	Body    any    `yaml:"body"`
	Error   string `yaml:"error"`
	Timeout bool   `yaml:"timeout"`
}

// Expect is what a case checks. Every field given must hold.
type Expect struct {
	Path       []string          `yaml:"path"`        // the whole path, node by node ("flow/node" outside the tested flow)
	Passes     []string          `yaml:"passes"`      // these nodes, in this order, possibly with others between
	NotPasses  []string          `yaml:"not_passes"`  // none of these nodes
	Prompts    []string          `yaml:"prompts"`     // each is part of a prompt heard, in this order
	NotPrompts []string          `yaml:"not_prompts"` // no prompt heard contains these
	Outcome    string            `yaml:"outcome"`
	Vars       map[string]string `yaml:"vars"`
	Exits      map[string]string `yaml:"exits"` // node → the exit it took (the last time)
	Queue      *ExpectQueue      `yaml:"queue"`
	Callback   string            `yaml:"callback"` // the number a callback was booked for
	Survey     *int              `yaml:"survey"`   // the score saved
	Voicemail  *ExpectVoicemail  `yaml:"voicemail"`
	Webhooks   []string          `yaml:"webhooks"` // parts of the requested "METHOD URL"s, in order
}

// ExpectQueue is what the flow asked of the queue.
type ExpectQueue struct {
	Name      string `yaml:"name"`
	Priority  *int   `yaml:"priority"`
	Callback  *bool  `yaml:"callback"`
	Voicemail *bool  `yaml:"voicemail"`
	Language  string `yaml:"language"`
}

// ExpectVoicemail is the message that must have been saved.
type ExpectVoicemail struct {
	Queue string `yaml:"queue"`
}

func decodeStrict(n *yaml.Node, v any) error {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	if err := enc.Encode(n); err != nil {
		return err
	}
	dec := yaml.NewDecoder(&buf)
	dec.KnownFields(true)
	err := dec.Decode(v)
	if err != nil {
		// line numbers refer to the re-encoded fragment; give the fragment's place instead
		return fmt.Errorf("line %d: %s", n.Line, stripYAMLLine(err.Error()))
	}
	return nil
}

var yamlLineRE = regexp.MustCompile(`line \d+: `)

func stripYAMLLine(s string) string {
	s = strings.TrimPrefix(s, "yaml: unmarshal errors:\n")
	return strings.TrimSpace(yamlLineRE.ReplaceAllString(s, ""))
}

// ParseTestFile reads a flow test file; unknown keys are errors.
func ParseTestFile(file string, data []byte) (*TestFile, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var tf TestFile
	if err := dec.Decode(&tf); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: empty test file", file)
		}
		var te *yaml.TypeError
		if errors.As(err, &te) {
			var msgs []string
			for _, m := range te.Errors {
				msgs = append(msgs, file+":"+fieldRE.ReplaceAllString(strings.TrimPrefix(m, "line "), "unknown key $1 (see docs/flows.md, Flow tests)"))
			}
			return nil, errors.New(strings.Join(msgs, "\n"))
		}
		return nil, fmt.Errorf("%s: %s", file, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	tf.File = file
	if tf.Flow == "" {
		return nil, fmt.Errorf("%s: flow: is missing (the flow file to test, relative to this file)", file)
	}
	if len(tf.Cases) == 0 {
		return nil, fmt.Errorf("%s: no cases", file)
	}
	// find each case's line for messages
	var root yaml.Node
	if yaml.Unmarshal(data, &root) == nil && len(root.Content) == 1 {
		m := root.Content[0]
		for i := 0; i+1 < len(m.Content); i += 2 {
			if m.Content[i].Value == "cases" {
				for j, c := range m.Content[i+1].Content {
					if j < len(tf.Cases) {
						tf.Cases[j].Line = c.Line
					}
				}
			}
		}
	}
	for i, c := range tf.Cases {
		if c.Name == "" {
			return nil, fmt.Errorf("%s:%d: case %d has no name", file, c.Line, i+1)
		}
		if err := CheckTokens(c.Digits); err != nil {
			return nil, fmt.Errorf("%s:%d: %s: digits: %v", file, c.Line, c.Name, err)
		}
		if _, err := ParseAt(c.At); err != nil {
			return nil, fmt.Errorf("%s:%d: %s: at: %v", file, c.Line, c.Name, err)
		}
		for _, q := range append([]*QueueSpec{c.Queue}, mapValues(c.Queues)...) {
			if q != nil && q.Exit != "" && !validQueueExit(q.Exit) {
				return nil, fmt.Errorf("%s:%d: %s: queue exit %q is not one of %s", file, c.Line, c.Name, q.Exit, queueExitList())
			}
		}
	}
	return &tf, nil
}

func mapValues(m map[string]QueueSpec) []*QueueSpec {
	var out []*QueueSpec
	for _, v := range m {
		v := v
		out = append(out, &v)
	}
	return out
}

func validQueueExit(e string) bool {
	for _, x := range ivr.QueueExits {
		if string(x) == e {
			return true
		}
	}
	return false
}

func queueExitList() string {
	var s []string
	for _, x := range ivr.QueueExits {
		s = append(s, string(x))
	}
	return strings.Join(s, ", ")
}

// CaseResult is one case run.
type CaseResult struct {
	Case     Case
	Failures []string
	Result   ivr.Result
	Output   string // the simulator's printout of the call, for a failing case
}

// Call is a simulated call ready to run.
type Call struct {
	Channel  *Channel
	Services *Services
	Runner   *ivr.Runner
	Printer  *Printer
}

// NewCall sets up a call on flow f with a caller script; out receives the printout.
func NewCall(f *ivr.Flow, caller, dialed string, at time.Time, digits []string, out io.Writer) *Call {
	clock := NewClock(at)
	ch := NewChannel("sim-1", caller, dialed, clock, digits)
	svc := NewServices(clock)
	pr := NewPrinter(out, f.Name)
	ch.OnAction = pr.Action
	return &Call{Channel: ch, Services: svc, Printer: pr, Runner: svc.Runner(pr, os.TempDir())}
}

// Run runs the call to its end.
func (c *Call) Run(ctx context.Context, f *ivr.Flow) ivr.Result {
	res := c.Runner.Run(ctx, c.Channel, f)
	c.Channel.Hangup(0)
	return res
}

// RunCase runs one test case on flow f (of a clean set).
func RunCase(ctx context.Context, f *ivr.Flow, tc Case, tempDir string) CaseResult {
	at, _ := ParseAt(tc.At)
	caller := tc.Caller
	if caller == "" {
		caller = "+8613800138000"
	}
	dialed := tc.Dialed
	if dialed == "" {
		dialed = "4008"
	}
	var out bytes.Buffer
	fmt.Fprintf(&out, "flow %s · caller %s · at %s\n", f.Name, caller, at.Format("Mon 2006-01-02 15:04 -07:00"))
	c := NewCall(f, caller, dialed, at, tc.Digits, &out)
	c.Runner.TempDir = tempDir
	svc := c.Services
	if tc.Customer != nil {
		cu := ivr.Customer{ID: tc.Customer.ID, Name: tc.Customer.Name, Account: tc.Customer.Account,
			VIP: tc.Customer.VIP, Tier: tc.Customer.Tier, Language: tc.Customer.Language}
		if cu.ID == "" {
			cu.ID = "C-1"
		}
		svc.Customers.Add(cu, caller)
	}
	if tc.Queue != nil {
		svc.Queue = queueOutcome(*tc.Queue, svc.Queue)
	}
	if len(tc.Queues) > 0 {
		svc.Queues = map[string]QueueOutcome{}
		for name, q := range tc.Queues {
			svc.Queues[name] = queueOutcome(q, svc.Queue)
		}
	}
	if tc.Callback != nil {
		if tc.Callback.Accepted != nil && !*tc.Callback.Accepted {
			svc.Callback = ivr.CallbackResult{Reason: tc.Callback.Reason}
		} else if tc.Callback.ID != "" {
			svc.Callback.ID = tc.Callback.ID
		}
	}
	if tc.Voicemail != nil {
		if tc.Voicemail.Speaks != nil {
			c.Channel.RecordFor = time.Duration(*tc.Voicemail.Speaks)
		}
		if tc.Voicemail.Ticket != "" {
			svc.Ticket = tc.Voicemail.Ticket
		}
		svc.SaveError = tc.Voicemail.Error
	}
	for _, w := range tc.Webhooks {
		svc.Webhooks = append(svc.Webhooks, WebhookReply{Match: w.Match, Status: w.Status, Body: w.Body, Error: w.Error, Timeout: w.Timeout})
	}
	svc.Transfer = tc.Transfer

	res := c.Run(ctx, f)
	c.Printer.Summary(res)
	cr := CaseResult{Case: tc, Result: res, Failures: check(tc.Expect, res, c)}
	cr.Output = out.String()
	return cr
}

func queueOutcome(q QueueSpec, def QueueOutcome) QueueOutcome {
	o := def
	if q.Exit != "" {
		o.Exit = ivr.QueueExit(q.Exit)
	}
	if q.Agent != "" {
		o.Agent = q.Agent
	}
	if q.Waited != 0 {
		o.Waited = time.Duration(q.Waited)
	}
	if q.Talked != 0 {
		o.Talked = time.Duration(q.Talked)
	}
	if q.Position != 0 {
		o.Position = q.Position
	}
	return o
}

func check(want Expect, res ivr.Result, c *Call) []string {
	var fails []string
	failf := func(format string, a ...any) { fails = append(fails, fmt.Sprintf(format, a...)) }
	path := res.Nodes()
	if want.Path != nil && !slices.Equal(path, want.Path) {
		failf("path is %s\n      want %s", strings.Join(path, " → "), strings.Join(want.Path, " → "))
	}
	if len(want.Passes) > 0 {
		i := 0
		for _, n := range path {
			if i < len(want.Passes) && n == want.Passes[i] {
				i++
			}
		}
		if i < len(want.Passes) {
			failf("path %s does not pass %s (in that order): %s is missing", strings.Join(path, " → "), strings.Join(want.Passes, ", "), want.Passes[i])
		}
	}
	for _, n := range want.NotPasses {
		if slices.Contains(path, n) {
			failf("path passes %s: %s", n, strings.Join(path, " → "))
		}
	}
	heard := c.Channel.Prompts()
	i := 0
	for _, p := range heard {
		if i < len(want.Prompts) && strings.Contains(p, want.Prompts[i]) {
			i++
		}
	}
	if i < len(want.Prompts) {
		failf("no prompt says %q (in order after the ones before it); heard:\n        %s", want.Prompts[i], strings.Join(quoteAll(heard), "\n        "))
	}
	for _, np := range want.NotPrompts {
		for _, p := range heard {
			if strings.Contains(p, np) {
				failf("a prompt says %q: %q", np, p)
			}
		}
	}
	if want.Outcome != "" && string(res.Outcome) != want.Outcome {
		failf("outcome is %s, want %s", res.Outcome, want.Outcome)
	}
	for k, v := range want.Vars {
		got, ok := res.Vars[k]
		if !ok {
			failf("variable %s was never set", k)
		} else if got != v {
			failf("variable %s = %q, want %q", k, got, v)
		}
	}
	for node, exit := range want.Exits {
		got := ""
		for _, e := range res.Path {
			if e.Node == node || e.Flow+"/"+e.Node == node {
				got = e.Exit
			}
		}
		if got != exit {
			failf("node %s took exit %q, want %q", node, got, exit)
		}
	}
	svc := c.Services
	if q := want.Queue; q != nil {
		if len(svc.Queued) == 0 {
			failf("the call never joined a queue")
		} else {
			r := svc.Queued[len(svc.Queued)-1]
			if q.Name != "" && r.Queue != q.Name {
				failf("joined queue %s, want %s", r.Queue, q.Name)
			}
			if q.Priority != nil && r.Priority != *q.Priority {
				failf("queue priority %d, want %d", r.Priority, *q.Priority)
			}
			if q.Callback != nil && r.CallbackOffer != *q.Callback {
				failf("callback offered: %t, want %t", r.CallbackOffer, *q.Callback)
			}
			if q.Voicemail != nil && r.VoicemailOffer != *q.Voicemail {
				failf("voicemail offered: %t, want %t", r.VoicemailOffer, *q.Voicemail)
			}
			if q.Language != "" && r.Language != q.Language {
				failf("queued with language %s, want %s", r.Language, q.Language)
			}
		}
	}
	if want.Callback != "" {
		if len(svc.Callbacks) == 0 {
			failf("no callback was requested")
		} else if n := svc.Callbacks[len(svc.Callbacks)-1].Number; n != want.Callback {
			failf("callback requested for %s, want %s", n, want.Callback)
		}
	}
	if want.Survey != nil {
		if len(svc.Surveys) == 0 {
			failf("no survey answer was saved")
		} else if s := svc.Surveys[len(svc.Surveys)-1].Score; s != *want.Survey {
			failf("survey score %d, want %d", s, *want.Survey)
		}
	}
	if want.Voicemail != nil {
		if len(svc.Voicemails) == 0 {
			failf("no voicemail was saved")
		} else if q := svc.Voicemails[len(svc.Voicemails)-1].Queue; want.Voicemail.Queue != "" && q != want.Voicemail.Queue {
			failf("voicemail for queue %q, want %q", q, want.Voicemail.Queue)
		}
	}
	j := 0
	for _, r := range svc.Requests {
		if j < len(want.Webhooks) && strings.Contains(r, want.Webhooks[j]) {
			j++
		}
	}
	if j < len(want.Webhooks) {
		failf("no webhook request matches %q; requests: %s", want.Webhooks[j], strings.Join(svc.Requests, ", "))
	}
	return fails
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = strconv.Quote(s)
	}
	return out
}
