package waitroom

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/acd"
	"github.com/hotline-cc/hotline/call"
	"github.com/hotline-cc/hotline/ivr"
	"github.com/hotline-cc/hotline/journey"
	"github.com/hotline-cc/hotline/prompts"
)

// phone is a call.Channel for the room's tests: music plays until stopped or a key is
// pressed; announcements play at once; a bridge lasts until either side hangs up.
type phone struct {
	id     string
	ctx    context.Context
	cancel context.CancelFunc
	keys   chan string
	dialed string
	reqs   chan call.Request // what the phone asks during a call (transfer, hold)

	mu    sync.Mutex
	heard []string // what it was played: prompt files and texts
}

func newPhone(id string) *phone {
	ctx, cancel := context.WithCancel(context.Background())
	return &phone{id: id, ctx: ctx, cancel: cancel, keys: make(chan string, 4), reqs: make(chan call.Request, 4)}
}

func (p *phone) Requests() <-chan call.Request { return p.reqs }

func (p *phone) ID() string         { return p.id }
func (p *phone) Caller() call.Party { return call.Party{Number: "+8613800000001"} }
func (p *phone) Dialed() string {
	if p.dialed == "" {
		return "4000"
	}
	return p.dialed
}
func (p *phone) Context() context.Context                 { return p.ctx }
func (p *phone) Answer(context.Context) error             { return nil }
func (p *phone) FlushDigits()                             {}
func (p *phone) SendDigits(context.Context, string) error { return nil }
func (p *phone) Hangup(call.Cause) error                  { p.cancel(); return nil }
func (p *phone) ReadDigits(context.Context, call.DigitOptions) (string, error) {
	return "", errors.New("not in the waiting room")
}
func (p *phone) Record(context.Context, string, call.RecordOptions) (call.Recording, error) {
	return call.Recording{}, errors.New("not in the waiting room")
}

func (p *phone) Play(ctx context.Context, ps []call.Prompt, opts call.PlayOptions) (string, error) {
	p.mu.Lock()
	for _, x := range ps {
		p.heard = append(p.heard, x.File+x.Text)
	}
	p.mu.Unlock()
	if !opts.Loop {
		select {
		case k := <-p.keys:
			return k, nil
		default:
			return "", nil
		}
	}
	select {
	case k := <-p.keys:
		return k, nil
	case <-ctx.Done():
		return "", ctx.Err()
	case <-p.ctx.Done():
		return "", p.ctx.Err()
	}
}

func (p *phone) Bridge(ctx context.Context, other call.Channel) (string, error) {
	select {
	case <-ctx.Done():
		return "", ctx.Err()
	case <-other.Context().Done():
		return other.ID(), nil
	case <-p.ctx.Done():
		return p.id, nil
	}
}

// Conference mixes the phones until one of them hangs up.
func (p *phone) Conference(ctx context.Context, others ...call.Channel) (string, error) {
	p.mu.Lock()
	p.heard = append(p.heard, "conference")
	p.mu.Unlock()
	cases := append([]call.Channel{p}, others...)
	for {
		for _, c := range cases {
			if c.Context().Err() != nil {
				return c.ID(), nil
			}
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(2 * time.Millisecond):
		}
	}
}

func (p *phone) said() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.heard...)
}

// agents answers, refuses or never answers by agent, like their phones would.
type agents struct {
	mu     sync.Mutex
	answer map[string]error  // agent -> nil (answers) or the dial error
	talk   time.Duration     // how long an answering agent stays before hanging up
	legs   map[string]*phone // the agent legs that answered
	rung   []string
}

func (a *agents) Originate(ctx context.Context, to call.Target, _ call.OriginateOptions) (call.Channel, error) {
	a.mu.Lock()
	a.rung = append(a.rung, to.Agent)
	key := to.Agent
	if to.URI != "" {
		key = "uri:" + to.URI
	}
	err, ok := a.answer[key]
	a.mu.Unlock()
	if !ok {
		<-ctx.Done() // rings until withdrawn
		return nil, ctx.Err()
	}
	if err != nil {
		return nil, err
	}
	leg := newPhone("leg-" + key)
	a.mu.Lock()
	a.legs[key] = leg
	talk := a.talk
	a.mu.Unlock()
	if talk > 0 {
		time.AfterFunc(talk, leg.cancel)
	}
	return leg, nil
}

type voice struct{}

func (voice) Prompt(name string) (call.Prompt, error) { return call.Prompt{File: name + ".wav"}, nil }
func (voice) Say(_ context.Context, _, text string) (call.Prompt, error) {
	return call.Prompt{Text: text}, nil
}

type booker struct {
	refuse string
	booked []ivr.QueueRequest
}

func (b *booker) BookFromQueue(_ context.Context, _ call.Channel, req ivr.QueueRequest, joined time.Time) (ivr.CallbackResult, error) {
	if b.refuse != "" {
		return ivr.CallbackResult{Reason: b.refuse}, nil
	}
	b.booked = append(b.booked, req)
	return ivr.CallbackResult{Accepted: true, ID: "cb-1", Expected: joined}, nil
}

type converted struct {
	mu    sync.Mutex
	pairs []string
}

func (c *converted) Converted(entry, storeID string) {
	c.mu.Lock()
	c.pairs = append(c.pairs, entry+"->"+storeID)
	c.mu.Unlock()
}
func (c *converted) OfferCallback(context.Context, acd.Offer, func([]acd.Action)) {}

type env struct {
	room   *Room
	d      *acd.Distributor
	calls  *journey.Registry
	agents *agents
	book   *booker
	conv   *converted
	states chan call.State
}

func newEnv(t *testing.T, q acd.QueueConfig, logged ...string) *env {
	t.Helper()
	return newEnvWith(t, q, Config{}, logged...)
}

// newEnvWith is newEnv with a second queue, billing (agent 2001), and the room's Talk config.
func newEnvWith(t *testing.T, q acd.QueueConfig, extra Config, logged ...string) *env {
	t.Helper()
	q.Name = "support"
	var members []acd.AgentConfig
	for _, id := range []string{"1001", "1002"} {
		members = append(members, acd.AgentConfig{ID: id, Queues: []string{"support"}})
	}
	members = append(members, acd.AgentConfig{ID: "2001", Queues: []string{"billing"}})
	billing := acd.QueueConfig{Name: "billing", Strategy: acd.LongestIdle, RingTimeout: 2 * time.Second}
	d, err := acd.New(acd.Config{Queues: []acd.QueueConfig{q, billing}, Agents: members, MaxMisses: 2}, acd.SystemClock{})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range logged {
		paused := strings.HasSuffix(id, "/paused")
		id = strings.TrimSuffix(id, "/paused")
		if _, err := d.Login(id); err != nil {
			t.Fatal(err)
		}
		if paused {
			if _, err := d.Pause(id, "break"); err != nil {
				t.Fatal(err)
			}
		}
	}
	e := &env{d: d, agents: &agents{answer: map[string]error{}, legs: map[string]*phone{}, talk: 50 * time.Millisecond},
		book: &booker{}, conv: &converted{}, states: make(chan call.State, 64)}
	e.calls = journey.NewRegistry(func(l call.Live, ended bool) {
		if !ended {
			e.states <- l.State
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	e.room = New(ctx, Config{Log: slog.New(slog.DiscardHandler), Distributor: d, Dialer: e.agents, Calls: e.calls, Voice: voice{},
		Booker: e.book, Callbacks: e.conv, MusicOnHold: map[string]string{"support": "jazz"}, Talk: extra.Talk})
	go e.room.Run(ctx)
	return e
}

// enqueue runs the queue step for a caller, as the flow would, and returns its result.
func (e *env) enqueue(t *testing.T, caller *phone, req ivr.QueueRequest) (ivr.QueueResult, *journey.Journey) {
	t.Helper()
	j := e.calls.Start(caller, "hotline")
	req.Queue = "support"
	done := make(chan ivr.QueueResult, 1)
	go func() {
		res, err := e.room.Enqueue(caller.ctx, caller, req)
		if err != nil {
			t.Errorf("enqueue: %v", err)
		}
		done <- res
	}()
	select {
	case res := <-done:
		return res, j
	case <-time.After(5 * time.Second):
		t.Fatalf("the caller is still waiting; journal %q", j.Journal())
	}
	return ivr.QueueResult{}, nil
}

func (e *env) seen() []call.State {
	var out []call.State
	for {
		select {
		case s := <-e.states:
			if len(out) == 0 || out[len(out)-1] != s {
				out = append(out, s)
			}
		default:
			return out
		}
	}
}

// A busy agent is passed over, the next one answers; the caller hears the queue's music,
// talks until the agent hangs up, and the stay's result says who, how long and where.
func TestAnsweredAfterABusyAgent(t *testing.T) {
	e := newEnv(t, acd.QueueConfig{Strategy: acd.LongestIdle, RingTimeout: 2 * time.Second}, "1002")
	time.Sleep(10 * time.Millisecond)
	if _, err := e.d.Login("1001"); err != nil { // 1002 has been idle longest: offered first
		t.Fatal(err)
	}
	e.agents.answer["1002"] = &call.DialError{Err: call.ErrBusy, Status: 486}
	e.agents.answer["1001"] = nil
	caller := newPhone("c1")
	res, j := e.enqueue(t, caller, ivr.QueueRequest{})
	if res.Exit != ivr.QueueAnswered || res.Agent != "1001" || res.Queue != "support" || res.Joined.IsZero() || res.Talked <= 0 {
		t.Errorf("result = %+v, want answered by 1001 in support after talking", res)
	}
	want := []string{"offer 1002", "missed 1002 busy", "offer 1001", "answered 1001"}
	if got := j.Journal(); !slices.Equal(got, want) {
		t.Errorf("journal = %q, want %q", got, want)
	}
	if got := caller.said(); len(got) == 0 || got[0] != "jazz.wav" {
		t.Errorf("caller heard %q, want the queue's music first", got)
	}
	if got := e.seen(); !slices.Equal(got, []call.State{call.StateIVR, call.StateQueued, call.StateRinging, call.StateQueued, call.StateRinging, call.StateConnected, call.StateIVR}) {
		t.Errorf("live states = %v", got)
	}
	if j.Waiting() != nil || j.AgentLeg() != nil {
		t.Error("the queue mailbox or the agent leg outlived the stay")
	}
	if st, _ := e.d.AgentState("1001"); st != acd.WrapUp && st != acd.Available {
		t.Errorf("agent 1001 is %s after the call, want wrap-up", st)
	}
}

// Offered a callback in Mandarin, the caller presses 1: the callback is booked first, the
// entry becomes it, and the caller leaves with the booking.
func TestCallbackKeepsThePlace(t *testing.T) {
	e := newEnv(t, acd.QueueConfig{Strategy: acd.LongestIdle, RingTimeout: 2 * time.Second,
		Callback: acd.CallbackPolicy{After: 100 * time.Millisecond}}, "1001/paused") // nobody to take it
	caller := newPhone("c2")
	go func() {
		deadline := time.Now().Add(3 * time.Second)
		for time.Now().Before(deadline) {
			for _, s := range caller.said() {
				if strings.Contains(s, "请按1") {
					caller.keys <- "1"
					return
				}
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	res, j := e.enqueue(t, caller, ivr.QueueRequest{Language: "zh-CN", CallbackOffer: true, VoicemailOffer: true, Priority: 3})
	if res.Exit != ivr.QueueCallback || res.Callback == nil || res.Callback.ID != "cb-1" {
		t.Fatalf("result = %+v, want callback cb-1", res)
	}
	offer := prompts.ShippedTexts().Text("zh", "queue_offer_callback_voicemail")
	if !slices.Contains(caller.said(), offer) {
		t.Errorf("caller heard %q, want the Mandarin offer %q", caller.said(), offer)
	}
	if len(e.book.booked) != 1 || e.book.booked[0].Priority != 3 || !slices.Equal(e.conv.pairs, []string{"c2->cb-1"}) {
		t.Errorf("booked %+v, converted %v", e.book.booked, e.conv.pairs)
	}
	if j := j.Journal(); !slices.Contains(j, "callback offered") || !slices.Contains(j, "callback requested cb-1") {
		t.Errorf("journal = %q", j)
	}
	if st, ok := e.d.CallStatus("c2"); !ok || st.Kind != acd.KindCallback {
		t.Errorf("the entry is %+v (%v), want it kept as a callback", st, ok)
	}
}

// A number that may not be called back is told so, in the caller's language, and keeps
// waiting; key 2 then leaves for voicemail.
func TestRefusedCallbackThenVoicemail(t *testing.T) {
	e := newEnv(t, acd.QueueConfig{Strategy: acd.LongestIdle, RingTimeout: 2 * time.Second,
		Callback: acd.CallbackPolicy{After: 100 * time.Millisecond}}, "1001/paused")
	e.book.refuse = "rate limited"
	caller := newPhone("c3")
	refusal := prompts.ShippedTexts().Text("en", "queue_callback_refused")
	go func() {
		pressed := false
		deadline := time.Now().Add(3 * time.Second)
		for time.Now().Before(deadline) {
			said := caller.said()
			switch {
			case !pressed && slices.Contains(said, prompts.ShippedTexts().Text("en", "queue_offer_callback_voicemail")):
				caller.keys <- "1"
				pressed = true
			case slices.Contains(said, refusal):
				caller.keys <- "2"
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	res, j := e.enqueue(t, caller, ivr.QueueRequest{Language: "en", CallbackOffer: true, VoicemailOffer: true})
	if res.Exit != ivr.QueueVoicemail {
		t.Fatalf("result = %+v, want voicemail", res)
	}
	if j := j.Journal(); !slices.Contains(j, "callback refused: rate limited") || !slices.Contains(j, "left for voicemail") {
		t.Errorf("journal = %q", j)
	}
	if _, ok := e.d.CallStatus("c3"); ok {
		t.Error("the caller who left for voicemail is still queued")
	}
}

// A caller who hangs up while waiting leaves the distributor at once, and the agent being
// rung is released.
func TestHangupWhileWaiting(t *testing.T) {
	e := newEnv(t, acd.QueueConfig{Strategy: acd.LongestIdle, RingTimeout: 5 * time.Second}, "1001")
	caller := newPhone("c4")
	time.AfterFunc(200*time.Millisecond, caller.cancel)
	res, _ := e.enqueue(t, caller, ivr.QueueRequest{})
	if res.Exit != ivr.QueueHangup || res.Waited < 150*time.Millisecond {
		t.Errorf("result = %+v, want hangup after about 200 ms", res)
	}
	if _, ok := e.d.CallStatus("c4"); ok {
		t.Error("the caller who hung up is still queued")
	}
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		if st, _ := e.d.AgentState("1001"); st == acd.Available {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	st, _ := e.d.AgentState("1001")
	t.Errorf("agent 1001 is %s after the caller left, want available", st)
}

// Position announcements are the texts' sentences, filled in.
func TestAnnouncement(t *testing.T) {
	e := newEnv(t, acd.QueueConfig{Strategy: acd.LongestIdle, RingTimeout: 5 * time.Second, AnnounceInterval: 100 * time.Millisecond}, "1001/paused")
	caller := newPhone("c5")
	time.AfterFunc(400*time.Millisecond, caller.cancel)
	_, j := e.enqueue(t, caller, ivr.QueueRequest{Language: "en"})
	if !slices.Contains(caller.said(), "You are next in line.") && !slices.ContainsFunc(caller.said(), func(s string) bool { return strings.HasPrefix(s, "You are next in line. Your estimated wait") }) {
		t.Errorf("caller heard %q, want the position announced", caller.said())
	}
	if !slices.ContainsFunc(j.Journal(), func(s string) bool { return strings.HasPrefix(s, "announce position 1") }) {
		t.Errorf("journal = %q", j.Journal())
	}
}

// A call with no agent logged in and no callback to offer does not join.
func TestNoAgents(t *testing.T) {
	e := newEnv(t, acd.QueueConfig{Strategy: acd.LongestIdle})
	res, _ := e.enqueue(t, newPhone("c6"), ivr.QueueRequest{})
	if res.Exit != ivr.QueueNoAgents || !res.Joined.IsZero() {
		t.Errorf("result = %+v, want no_agents without joining", res)
	}
}
