package ivr_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/call"
	"github.com/hotline-cc/hotline/ivr"
	"github.com/hotline-cc/hotline/ivr/sim"
	"github.com/hotline-cc/hotline/prompts"
)

// compile checks a flow (with other flows it may goto) and fails the test on any diagnostic.
func compile(t testing.TB, cat *ivr.Catalog, src string, others ...ivr.Source) *ivr.Flow {
	t.Helper()
	srcs := append([]ivr.Source{{File: "main.yaml", Data: []byte(src)}}, others...)
	set, diags := ivr.Compile(cat, srcs...)
	if len(diags) > 0 {
		t.Fatalf("flow does not check:\n%s", diags.Error())
	}
	return set.Flow("main")
}

// simCall runs a flow with a scripted caller at the default (office hours) time.
func simCall(t testing.TB, f *ivr.Flow, digits ...string) (*sim.Call, ivr.Result) {
	t.Helper()
	c := sim.NewCall(f, "+8613800138000", "4008", sim.DefaultAt, digits, io.Discard)
	c.Runner.TempDir = t.TempDir()
	return c, c.Run(context.Background(), f)
}

func path(res ivr.Result) string { return strings.Join(res.Nodes(), " ") }

func TestMenuRetriesWithItsOwnPromptsThenFallsBack(t *testing.T) {
	f := compile(t, testCatalog(t), `
nodes:
  menu:
    menu:
      prompt: Press 1 for support.
      retries: 2
      invalid: That key does nothing here.
      no_input: I heard nothing.
    on:
      digit:1: support
      retries_exhausted: fallback
  support:
    queue: support
  fallback:
    say: Let me take a message instead.
`)
	c, res := simCall(t, f, "7", "timeout", "9")
	if path(res) != "menu fallback" {
		t.Fatalf("path %s", path(res))
	}
	want := []string{"Press 1 for support.", "That key does nothing here.", "Press 1 for support.",
		"I heard nothing.", "Press 1 for support.", "Let me take a message instead."}
	if got := c.Channel.Prompts(); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("caller heard\n %q\nwant\n %q", got, want)
	}
	if res.Path[0].Exit != "retries_exhausted" {
		t.Errorf("menu exit %q", res.Path[0].Exit)
	}

	// the third try succeeds: the caller gets where they asked to go
	_, res = simCall(t, f, "7", "timeout", "1")
	if path(res) != "menu support" || res.Outcome != ivr.OutcomeAnswered {
		t.Errorf("path %s outcome %s", path(res), res.Outcome)
	}
}

func TestMenuTimeoutExitIsTakenAtOnceWhenWired(t *testing.T) {
	f := compile(t, testCatalog(t), `
nodes:
  menu:
    menu:
      prompt: Press 1.
    on:
      digit:1: one
      timeout: quiet
      invalid: wrong
  one: {say: One.}
  quiet: {say: Quiet.}
  wrong: {say: Wrong.}
`)
	if _, res := simCall(t, f, "timeout"); path(res) != "menu quiet" {
		t.Errorf("timeout: path %s", path(res))
	}
	if _, res := simCall(t, f, "5"); path(res) != "menu wrong" {
		t.Errorf("invalid: path %s", path(res))
	}
}

func TestDigitsTypedAheadAnswerTheNextMenu(t *testing.T) {
	f := compile(t, testCatalog(t), `
nodes:
  first:
    menu: {prompt: Press 2 for more.}
    on: {digit:2: second, retries_exhausted: second}
  second:
    menu: {prompt: Press 1 for support.}
    on: {digit:1: support, retries_exhausted: support}
  support:
    queue: support
`)
	// the caller knows the menus and types 2 and 1 at once
	_, res := simCall(t, f, "21")
	if path(res) != "first second support" {
		t.Errorf("path %s", path(res))
	}
}

func TestSensitiveInputNeverLeavesTheCall(t *testing.T) {
	var hookBody []byte
	crm := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hookBody, _ = io.ReadAll(r.Body)
		w.Write([]byte(`{"ok": true}`))
	}))
	defer crm.Close()
	f := compile(t, testCatalog(t), `
start: card
nodes:
  card:
    input:
      prompt: Enter your card number, then press pound.
      into: card
      min: 11
      max: 19
      luhn: true
      sensitive: true
      retries: 1
      invalid: That number is not valid.
    on:
      next: derive
      retries_exhausted: bye
  derive:
    set:
      last4: card[len(card)-4:]
    next: confirm
  confirm:
    say: You entered a card ending in ${say_digits(last4)}.
    next: verify
  verify:
    webhook:
      url: `+crm.URL+`/verify
      body: {card: card}
    on:
      next: bye
  bye:
    hangup: {}
`)
	const bad, good = "79927398710", "79927398713"
	var logs bytes.Buffer
	var events []ivr.Event
	c := sim.NewCall(f, "+8613800138000", "4008", sim.DefaultAt, []string{bad + "#", good + "#"}, io.Discard)
	c.Runner.HTTP = crm.Client()
	c.Runner.Log = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	priv := &privacyLog{events: &events}
	c.Runner.Observer = priv
	res := c.Run(context.Background(), f)

	if got := strings.Join(priv.spans, " "); got != "on:card off" {
		t.Errorf("a privacy observer was told %q; want the sensitive input's span only (on:card off)", got)
	}
	if path(res) != "card derive confirm verify bye" {
		t.Fatalf("path %s (the Luhn check should refuse %s and accept %s)", path(res), bad, good)
	}
	if !strings.Contains(strings.Join(c.Channel.Prompts(), "|"), "That number is not valid.") {
		t.Error("the invalid number was not explained")
	}
	if !bytes.Contains(hookBody, []byte(good)) {
		t.Errorf("the CRM did not get the card in the body: %s", hookBody)
	}
	evJSON, _ := json.Marshal(events)
	resJSON, _ := json.Marshal(res)
	for where, text := range map[string]string{
		"events": string(evJSON), "result": string(resJSON), "logs": logs.String(),
		"prompt texts": strings.Join(c.Channel.Prompts(), "|"),
	} {
		// The flow's version is a hash of its text (which holds the test server's random
		// port): its hex digits may spell the last four by chance.
		text = strings.ReplaceAll(text, res.Version, "<version>")
		for _, secret := range []string{good, bad, good[len(good)-4:]} {
			if strings.Contains(text, secret) {
				t.Errorf("%s contain the sensitive value %s:\n%s", where, secret, text)
			}
		}
	}
	if res.Vars["card"] != "[redacted]" || res.Vars["last4"] != "[redacted]" {
		t.Errorf("card and values computed from it must be redacted, got %q and %q", res.Vars["card"], res.Vars["last4"])
	}
}

// privacyLog is an ivr.PrivacyObserver that notes the sensitive spans and the node they began in.
type privacyLog struct {
	events *[]ivr.Event
	node   string
	spans  []string
}

func (p *privacyLog) Observe(e ivr.Event)   { *p.events = append(*p.events, e) }
func (p *privacyLog) NodeStart(e ivr.Event) { p.node = e.Node }
func (p *privacyLog) Sensitive(_ string, on bool) {
	if on {
		p.spans = append(p.spans, "on:"+p.node)
	} else {
		p.spans = append(p.spans, "off")
	}
}

func TestWebhookAnswerFillsTypedVariables(t *testing.T) {
	var gotURL, gotAuth string
	crm := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotURL, gotAuth = r.URL.String(), r.Header.Get("Authorization")
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"customer": {"tier": "gold", "open_tickets": 3, "balance": 12.5}}`)
	}))
	defer crm.Close()
	f := compile(t, testCatalog(t), `
vars:
  tickets: 0
nodes:
  crm:
    webhook:
      method: GET
      url: `+crm.URL+`/customers?number=${caller}
      headers: {Authorization: "Bearer demo"}
      timeout: 2s
      save:
        tier: customer.tier
        tickets: customer.open_tickets
        balance: customer.balance
    on:
      next: route
  route:
    branch: tickets > 2 && tier == "gold" && balance > 10
    on:
      true: busy-customer
      false: bye
  busy-customer:
    say: Tier ${tier}, ${tickets} open tickets.
  bye:
    hangup: {}
`)
	c2 := sim.NewCall(f, "+8613800138000", "4008", sim.DefaultAt, nil, io.Discard)
	c2.Runner.HTTP = crm.Client()
	res := c2.Run(context.Background(), f)
	if path(res) != "crm route busy-customer" {
		t.Fatalf("path %s, err %v", path(res), res.Err)
	}
	if gotURL != "/customers?number=%2B8613800138000" || gotAuth != "Bearer demo" {
		t.Errorf("request %s auth %q: the caller must be escaped into the URL", gotURL, gotAuth)
	}
	if got := c2.Channel.Prompts(); len(got) != 1 || got[0] != "Tier gold, three open tickets." {
		t.Errorf("said %q", got)
	}
	if res.Vars["tickets"] != "3" || res.Vars["tier"] != "gold" || res.Vars["balance"] != "12.5" {
		t.Errorf("saved variables %v", res.Vars)
	}
}

func TestWebhookTimeoutAndErrorsTakeTheErrorExit(t *testing.T) {
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer slow.Close()
	defer close(release)
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "maintenance", http.StatusServiceUnavailable)
	}))
	defer down.Close()
	for name, url := range map[string]string{"timeout": slow.URL, "503": down.URL} {
		t.Run(name, func(t *testing.T) {
			f := compile(t, testCatalog(t), `
nodes:
  crm:
    webhook: {url: "`+url+`", timeout: 200ms}
    on: {next: ok, error: fallback}
  ok: {say: OK.}
  fallback: {say: Fallback.}
`)
			c := sim.NewCall(f, "+8613800138000", "4008", sim.DefaultAt, nil, io.Discard)
			c.Runner.HTTP = &http.Client{}
			start := time.Now()
			res := c.Run(context.Background(), f)
			if path(res) != "crm fallback" {
				t.Fatalf("path %s", path(res))
			}
			if took := time.Since(start); took > time.Second {
				t.Errorf("took %v; the step's timeout is 200ms", took)
			}
			if res.Path[0].Err == "" {
				t.Error("the error exit carries no reason")
			}
		})
	}
}

func TestHoursFollowScheduleTimeZoneAndHolidays(t *testing.T) {
	f := compile(t, testCatalog(t), `
nodes:
  hours:
    hours: office
    on: {open: open, closed: closed, holiday: holiday}
  open: {say: Open.}
  closed: {say: Closed.}
  holiday: {say: Holiday.}
`)
	for at, want := range map[string]string{
		"2026-11-24T10:00+08:00": "open",    // Tuesday morning in Shanghai
		"2026-11-24T02:00Z":      "open",    // the same moment written in UTC
		"2026-11-24T18:00+08:00": "closed",  // 18:00 is the end of 09:00-18:00
		"2026-11-29T12:00+08:00": "closed",  // Sunday
		"2026-11-28T15:59+08:00": "open",    // Saturday 10:00-16:00
		"2026-10-01T10:00+08:00": "holiday", // a listed holiday
	} {
		when, _ := sim.ParseAt(at)
		c := sim.NewCall(f, "+8613800138000", "4008", when, nil, io.Discard)
		if res := c.Run(context.Background(), f); res.Path[0].Exit != want {
			t.Errorf("at %s: %s, want %s", at, res.Path[0].Exit, want)
		}
	}
}

func TestLanguageStepChangesWhatLaterStepsSay(t *testing.T) {
	f := compile(t, testCatalog(t), `
language: en
nodes:
  hello:
    say: {en: "Hello, caller number ${1234}.", zh: "您好，第${1234}号。"}
    next: chinese
  chinese:
    language: zh
    next: again
  again:
    say: {en: "Wait ${duration('2m')}.", zh: "请等待${duration('2m')}。"}
`)
	c, _ := simCall(t, f)
	want := []string{"Hello, caller number one thousand two hundred thirty-four.", "请等待两分钟。"}
	if got := c.Channel.Prompts(); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("said %q, want %q", got, want)
	}
	if acts := c.Channel.Actions(); acts[len(acts)-1].Prompts[0].File != "say:zh" {
		t.Errorf("the second say was not in the zh voice: %+v", acts[len(acts)-1])
	}
}

func TestSetAndSwitch(t *testing.T) {
	f := compile(t, testCatalog(t), `
nodes:
  score:
    set:
      points: len(caller) * 2
      band: 'points > 20 ? "high" : "low"'
    next: route
  route:
    switch: band
    on:
      case:high: high
      case:low: low
      default: low
  high: {say: "High, ${points} points."}
  low: {say: Low.}
`)
	c, res := simCall(t, f) // +8613800138000 has 14 characters: 28 points
	if path(res) != "score route high" || c.Channel.Prompts()[0] != "High, twenty-eight points." {
		t.Errorf("path %s said %q", path(res), c.Channel.Prompts())
	}
	if res.Path[0].Set[0] != (ivr.Var{Name: "points", Value: "28"}) {
		t.Errorf("event set %v", res.Path[0].Set)
	}
}

func TestGotoCarriesVariablesIntoTheOtherFlow(t *testing.T) {
	other := ivr.Source{File: "thanks.yaml", Data: []byte(`
vars:
  reason: ""
nodes:
  bye:
    say: Thanks for calling about ${reason}.
`)}
	f := compile(t, testCatalog(t), `
vars:
  reason: ""
nodes:
  pick:
    set: {reason: '"billing"'}
    next: leave
  leave:
    goto: thanks
`, other)
	c, res := simCall(t, f)
	if path(res) != "pick leave thanks/bye" || c.Channel.Prompts()[0] != "Thanks for calling about billing." {
		t.Errorf("path %s said %q", path(res), c.Channel.Prompts())
	}
}

// recordingVoicemail remembers what the caller had heard when the message was saved.
type recordingVoicemail struct {
	ch          *sim.Channel
	heardAtSave []string
}

func (v *recordingVoicemail) Save(ctx context.Context, req ivr.VoicemailRequest) (string, error) {
	v.heardAtSave = v.ch.Prompts()
	if ctx.Err() != nil {
		return "", errors.New("save was given a dead context")
	}
	return "T-77", nil
}

func TestVoicemailIsSavedBeforeTheTicketIsSaidAndEvenIfTheCallerHangsUp(t *testing.T) {
	f := compile(t, testCatalog(t), `
nodes:
  record:
    voicemail: {queue: support}
    on: {next: saved, empty: nothing}
  saved:
    say: Your ticket number is ${say_digits(ticket)}.
  nothing:
    say: No message.
`)
	for _, hangup := range []bool{false, true} {
		var script []string
		if hangup {
			script = []string{"hangup"} // hangs up while recording
		}
		c := sim.NewCall(f, "+8613800138000", "4008", sim.DefaultAt, script, io.Discard)
		vm := &recordingVoicemail{ch: c.Channel}
		c.Runner.Voicemail = vm
		c.Runner.TempDir = t.TempDir()
		res := c.Run(context.Background(), f)
		if res.Outcome != ivr.OutcomeVoicemail || res.Ticket != "T-77" {
			t.Errorf("hangup %v: outcome %s ticket %q", hangup, res.Outcome, res.Ticket)
		}
		for _, p := range vm.heardAtSave {
			if strings.Contains(p, "ticket") {
				t.Errorf("the ticket was announced before the message was saved")
			}
		}
		if !hangup && c.Channel.Prompts()[len(c.Channel.Prompts())-1] != "Your ticket number is T seven seven." {
			t.Errorf("said %q", c.Channel.Prompts())
		}
		if hangup && path(res) != "record" {
			t.Errorf("after a hangup while recording the flow must stop: %s", path(res))
		}
	}
	c := sim.NewCall(f, "+8613800138000", "4008", sim.DefaultAt, nil, io.Discard)
	c.Channel.RecordFor = 300 * time.Millisecond
	if res := c.Run(context.Background(), f); path(res) != "record nothing" || len(c.Services.Voicemails) != 0 {
		t.Errorf("a silent recording is not a message: path %s, saved %d", path(res), len(c.Services.Voicemails))
	}
}

func TestCallbackRefusalCarriesItsReason(t *testing.T) {
	f := compile(t, testCatalog(t), `
nodes:
  book:
    callback: support
    on: {next: booked, refused: refused}
  booked: {say: Booked.}
  refused: {say: "Refused: ${callback_reason}."}
`)
	c := sim.NewCall(f, "+8613800138000", "4008", sim.DefaultAt, nil, io.Discard)
	c.Services.Callback = ivr.CallbackResult{Reason: "too many callbacks to this number"}
	res := c.Run(context.Background(), f)
	if path(res) != "book refused" || c.Channel.Prompts()[0] != "Refused: too many callbacks to this number." {
		t.Errorf("path %s said %q", path(res), c.Channel.Prompts())
	}
	if got := c.Services.Callbacks[0]; got.Number != "+8613800138000" || got.Queue != "support" {
		t.Errorf("requested %+v", got)
	}
}

// The caller picks the time of the callback: four digits become the next such time in the
// schedule's time zone.
func TestCallbackAtATimeTheCallerPicks(t *testing.T) {
	f := compile(t, testCatalog(t), `
nodes:
  when:
    input: {prompt: "At what time? Four digits, like 1430.", into: when, min: 4, max: 4, terminator: ""}
    on: {next: book}
  book:
    callback: {queue: support, at: when, schedule: office}
    on: {next: booked, refused: refused}
  booked: {say: Booked.}
  refused: {say: "Refused: ${callback_reason}."}
`)
	c := sim.NewCall(f, "+8613800138000", "4008", sim.DefaultAt, []string{"1430"}, io.Discard)
	res := c.Run(context.Background(), f)
	if path(res) != "when book booked" || len(c.Services.Callbacks) != 1 {
		t.Fatalf("path %s, %d callbacks", path(res), len(c.Services.Callbacks))
	}
	slot := c.Services.Callbacks[0].Slot
	sh, _ := time.LoadLocation("Asia/Shanghai")
	want := time.Date(2026, 11, 24, 14, 30, 0, 0, sh) // sim.DefaultAt is Tue 2026-11-24 10:00 +08:00
	if !slot.Equal(want) {
		t.Errorf("slot %v, want %v", slot, want)
	}

	c = sim.NewCall(f, "+8613800138000", "4008", sim.DefaultAt, []string{"2599"}, io.Discard)
	if res := c.Run(context.Background(), f); path(res) != "when book refused" || c.Channel.Prompts()[len(c.Channel.Prompts())-1] != "Refused: bad_time." {
		t.Errorf("25:99: path %s said %q", path(res), c.Channel.Prompts())
	}
}

func TestTransferGoesOnlyWhereAllowed(t *testing.T) {
	cat := testCatalog(t)
	cat.Transfer = []string{"sip:", "+8610"}
	f := compile(t, cat, `
vars:
  dest: "+8610 5555"
nodes:
  desk:
    transfer: sip:desk@pbx.example.com
    on: {next: done, busy: other, no_answer: other, failed: other}
  other:
    transfer: {to: "${dest}", timeout: 10s}
    on: {next: done, busy: done}
  done:
    hangup: {}
`)
	c := sim.NewCall(f, "+8613800138000", "4008", sim.DefaultAt, nil, io.Discard)
	c.Services.Transfer = "busy"
	res := c.Run(context.Background(), f)
	if path(res) != "desk other done" || strings.Join(c.Services.Transfers, ",") != "sip:desk@pbx.example.com,+8610 5555" {
		t.Errorf("path %s dialed %v", path(res), c.Services.Transfers)
	}

	// a target outside the allow-list is refused at run time, before anything is dialed
	cat.Transfer = []string{"sip:"}
	f = compile(t, cat, `
vars:
  dest: "+8610 5555"
nodes:
  other:
    transfer: "${dest}"
    on: {next: done, error: refused}
  refused: {say: Not allowed.}
  done:
    hangup: {}
`)
	c = sim.NewCall(f, "+8613800138000", "4008", sim.DefaultAt, nil, io.Discard)
	res = c.Run(context.Background(), f)
	if path(res) != "other refused" || len(c.Services.Transfers) != 0 {
		t.Errorf("path %s dialed %v", path(res), c.Services.Transfers)
	}
}

func TestErrorsWithoutTheirOwnExitGoToOnError(t *testing.T) {
	f := compile(t, testCatalog(t), `
on_error: sorry
nodes:
  who:
    lookup: {account: '"A-1"'}
    on: {found: found, not_found: found}
  found: {say: Found.}
  sorry: {say: Sorry.}
`)
	c := sim.NewCall(f, "+8613800138000", "4008", sim.DefaultAt, nil, io.Discard)
	c.Runner.Customers = failingLookup{}
	res := c.Run(context.Background(), f)
	if path(res) != "who sorry" || res.Path[0].Exit != "error" || !strings.Contains(res.Path[0].Err, "directory down") {
		t.Errorf("path %s events %+v", path(res), res.Path)
	}
}

type failingLookup struct{}

func (failingLookup) ByNumber(context.Context, string) (*ivr.Customer, error) {
	return nil, errors.New("directory down")
}
func (failingLookup) ByAccount(context.Context, string) (*ivr.Customer, error) {
	return nil, errors.New("directory down")
}

func TestEventsHaveTimingAndMetricsCountDropOffs(t *testing.T) {
	f := compile(t, testCatalog(t), `
nodes:
  menu:
    menu: {prompt: Press 1., timeout: 5s, retries: 1}
    on: {digit:1: support, retries_exhausted: support}
  support:
    queue: support
`)
	m := ivr.NewMetrics(nil)
	for _, script := range [][]string{{"timeout", "1"}, {"hangup"}, {"hangup"}} {
		c := sim.NewCall(f, "+8613800138000", "4008", sim.DefaultAt, script, io.Discard)
		c.Runner.Metrics = m
		var events []ivr.Event
		c.Runner.Observer = ivr.ObserverFunc(func(e ivr.Event) { events = append(events, e) })
		res := c.Run(context.Background(), f)
		if len(events) != len(res.Path) {
			t.Fatalf("observer saw %d events, path has %d", len(events), len(res.Path))
		}
		if script[0] == "timeout" {
			if e := events[0]; e.Node != "menu" || e.Step != "menu" || e.Exit != "digit:1" || e.Duration != 5*time.Second || !e.Start.Equal(sim.DefaultAt) {
				t.Errorf("menu event %+v: want 5s spent (the timeout) from the call's start", e)
			}
			if e := events[1]; e.Exit != "answered" || e.Duration != 45*time.Second+3*time.Minute {
				t.Errorf("queue event %+v", e)
			}
		}
	}
	if got := m.NodeExits("main", "menu", "hangup"); got != 2 {
		t.Errorf("hotline_ivr_node_exits_total{node=menu,exit=hangup} = %v, want 2", got)
	}
	if got := m.NodeExits("main", "support", "answered"); got != 1 {
		t.Errorf("support answered = %v, want 1", got)
	}
}

// blockingQueue holds callers until their call ends, like a queue with no agents.
type blockingQueue struct{ joined chan struct{} }

func (q blockingQueue) Enqueue(ctx context.Context, ch call.Channel, req ivr.QueueRequest) (ivr.QueueResult, error) {
	close(q.joined)
	<-ctx.Done()
	return ivr.QueueResult{}, ctx.Err()
}

func TestCallerHangingUpInTheQueueEndsTheRunAsAbandoned(t *testing.T) {
	f := compile(t, testCatalog(t), "nodes:\n  wait:\n    queue: support\n")
	c := sim.NewCall(f, "+8613800138000", "4008", sim.DefaultAt, nil, io.Discard)
	q := blockingQueue{joined: make(chan struct{})}
	c.Runner.Queues = q
	done := make(chan ivr.Result)
	go func() { done <- c.Runner.Run(context.Background(), c.Channel, f) }()
	<-q.joined
	c.Channel.Hangup(call.CauseNormal)
	select {
	case res := <-done:
		if res.Outcome != ivr.OutcomeAbandoned || res.Path[0].Exit != "hangup" {
			t.Errorf("outcome %s exit %s", res.Outcome, res.Path[0].Exit)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Run did not return after the caller hung up")
	}
}

func TestABrokenSetDoesNotRun(t *testing.T) {
	set, diags := ivr.Compile(testCatalog(t), ivr.Source{File: "main.yaml", Data: []byte("nodes:\n  q:\n    queue: nowhere\n")})
	if len(diags) == 0 {
		t.Fatal("no diagnostics")
	}
	c := sim.NewCall(set.Flow("main"), "+1", "2", sim.DefaultAt, nil, io.Discard)
	res := c.Run(context.Background(), set.Flow("main"))
	if !errors.Is(res.Err, ivr.ErrBrokenFlow) || len(res.Path) != 0 || len(c.Services.Queued) != 0 {
		t.Errorf("a broken flow ran: %+v", res)
	}
}

// Many calls run one compiled flow at once (go test -race proves it shares nothing mutable).
func TestOneFlowRunsManyCallsAtOnce(t *testing.T) {
	f := compile(t, testCatalog(t), `
vars:
  n: 0
nodes:
  count:
    set: {n: n + 1}
    next: menu
  menu:
    menu: {prompt: "Press 1, ${n}."}
    on: {digit:1: support, retries_exhausted: support}
  support:
    queue: {name: support, priority: n}
`)
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := sim.NewCall(f, "+8613800138000", "4008", sim.DefaultAt, []string{"1"}, io.Discard)
			res := c.Run(context.Background(), f)
			if res.Vars["n"] != "1" || c.Services.Queued[0].Priority != 1 {
				t.Errorf("calls share variables: n=%s", res.Vars["n"])
			}
		}()
	}
	wg.Wait()
}

func TestSpokenFunctionsAndTypesInText(t *testing.T) {
	f := compile(t, testCatalog(t), `
vars:
  ratio: 0.0
nodes:
  en:
    say: "${say_number(1234)}; ${say_duration(duration('90s'))}; ${say_digits('1024')}; ${luhn('79927398713')}; ${now().Hour()}; $${literal}; ${1.5}"
    next: zh
  zh:
    language: zh
    next: zh-say
  zh-say:
    say: "${say_number(1234)}；${say_duration(duration('90s'))}；${say_digits('1024')}；${2}"
`)
	c, _ := simCall(t, f)
	want := []string{
		"one thousand two hundred thirty-four; two minutes; one zero two four; yes; ten; ${literal}; one point five",
		"一千二百三十四；两分钟；幺 零 二 四；二",
	}
	if got := c.Channel.Prompts(); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("said\n %q\nwant\n %q", got, want)
	}
}

var (
	_ ivr.Voice       = (*prompts.Library)(nil)
	_ ivr.PromptNames = (*prompts.Library)(nil)
)

// An NPS survey reads 0 to 10: one key, or 1 then 0 for 10; a 1 alone is 1 once the second
// key does not come. The answer is saved with its scale.
func TestNPSSurveyReadsZeroToTen(t *testing.T) {
	f := compile(t, testCatalog(t), `
nodes:
  rate:
    survey:
      name: recommend
      scale: nps
      question: How likely are you to recommend us, from 0 to 10?
    on: {next: bye, retries_exhausted: bye}
  bye:
    hangup: {}
`)
	for _, tc := range []struct {
		digits []string
		want   int
	}{{[]string{"10"}, 10}, {[]string{"0"}, 0}, {[]string{"1", "timeout"}, 1}, {[]string{"7"}, 7}, {[]string{"11", "9"}, 9}} {
		c, res := simCall(t, f, tc.digits...)
		if len(c.Services.Surveys) != 1 {
			t.Errorf("%v: %d answers saved (path %s), want 1", tc.digits, len(c.Services.Surveys), path(res))
			continue
		}
		if got := c.Services.Surveys[0]; got.Score != tc.want || got.Scale != ivr.ScaleNPS || got.Survey != "recommend" {
			t.Errorf("%v: saved %+v, want %d on the nps scale", tc.digits, got, tc.want)
		}
	}
	// The csat scale still refuses 0 and 6.
	g := compile(t, testCatalog(t), `
nodes:
  rate:
    survey: {name: satisfaction, question: Rate this call from 1 to 5., retries: 1}
    on: {next: bye, retries_exhausted: bye}
  bye:
    hangup: {}
`)
	c, res := simCall(t, g, "0", "6")
	if len(c.Services.Surveys) != 0 || !strings.Contains(path(res), "rate bye") {
		t.Errorf("csat with 0 then 6: saved %+v, path %s; want nothing saved", c.Services.Surveys, path(res))
	}
}
