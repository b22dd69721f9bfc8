package acd

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/internal/fakeclock"
)

var t0 = time.Date(2025, 3, 3, 9, 0, 0, 0, time.UTC)

// rig is a distributor on a fake clock with helpers that fail the test on unexpected errors.
type rig struct {
	t   testing.TB
	d   *Distributor
	clk *fakeclock.Clock
}

func newRig(t testing.TB, cfg Config, opts ...Option) *rig {
	t.Helper()
	clk := fakeclock.New(t0)
	d, err := New(cfg, clk, opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return &rig{t: t, d: d, clk: clk}
}

func (r *rig) ok(acts []Action, err error) []Action {
	r.t.Helper()
	if err != nil {
		r.t.Fatalf("unexpected error: %v", err)
	}
	return acts
}

// advance moves the clock and ticks.
func (r *rig) advance(d time.Duration) []Action {
	r.clk.Advance(d)
	return r.d.Tick()
}

func (r *rig) enqueue(id, queue string, opts ...func(*Call)) []Action {
	r.t.Helper()
	c := Call{ID: id, Queue: queue}
	for _, o := range opts {
		o(&c)
	}
	return r.ok(r.d.Enqueue(c))
}

func prio(p int) func(*Call)          { return func(c *Call) { c.Priority = p } }
func skills(s ...string) func(*Call)  { return func(c *Call) { c.Skills = s } }
func arrived(t time.Time) func(*Call) { return func(c *Call) { c.ArrivedAt = t } }

func (r *rig) login(id string, queues ...string) []Action {
	r.t.Helper()
	return r.ok(r.d.Login(id, queues...))
}

// serve answers the call and hangs it up after talk.
func (r *rig) serve(callID, agentID string, talk time.Duration) []Action {
	r.t.Helper()
	acts := r.ok(r.d.Answered(callID, agentID))
	acts = append(acts, r.advance(talk)...)
	return append(acts, r.ok(r.d.Hangup(callID))...)
}

func (r *rig) state(id string) AgentState {
	r.t.Helper()
	s, err := r.d.AgentState(id)
	if err != nil {
		r.t.Fatal(err)
	}
	return s
}

func (r *rig) wantState(id string, want AgentState) {
	r.t.Helper()
	if got := r.state(id); got != want {
		r.t.Fatalf("agent %s is %s, want %s", id, got, want)
	}
}

func (r *rig) callState(id string) CallState {
	s, ok := r.d.CallStatus(id)
	if !ok {
		return "gone"
	}
	return s.State
}

func offersIn(acts []Action) []Offer {
	var out []Offer
	for _, a := range acts {
		if o, ok := a.(Offer); ok {
			out = append(out, o)
		}
	}
	return out
}

func actionsOf[T Action](acts []Action) []T {
	var out []T
	for _, a := range acts {
		if x, ok := a.(T); ok {
			out = append(out, x)
		}
	}
	return out
}

// offerPairs renders the offers as "call→agent" for compact comparisons.
func offerPairs(acts []Action) string {
	var s []string
	for _, o := range offersIn(acts) {
		s = append(s, o.CallID+"→"+o.AgentID)
	}
	return strings.Join(s, " ")
}

func wantOffers(t testing.TB, acts []Action, want string) {
	t.Helper()
	if got := offerPairs(acts); got != want {
		t.Fatalf("offers = %q, want %q\nactions: %v", got, want, acts)
	}
}

func wantErr(t testing.TB, err, target error, mentions ...string) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("error = %v, want %v", err, target)
	}
	for _, m := range mentions {
		if !strings.Contains(err.Error(), m) {
			t.Errorf("error %q does not mention %q", err, m)
		}
	}
}

// agents builds n agents a1..an in the given queues with the given skills.
func agents(n int, queues []string, sk map[string]int) []AgentConfig {
	var out []AgentConfig
	for i := 1; i <= n; i++ {
		out = append(out, AgentConfig{ID: fmt.Sprintf("a%d", i), Queues: queues, Skills: sk})
	}
	return out
}

// answerAll answers every offer in acts (the first one per call, for ring-all) and returns the
// resulting actions.
func (r *rig) answerAll(acts []Action) []Action {
	r.t.Helper()
	var out []Action
	done := map[string]bool{}
	for _, o := range offersIn(acts) {
		if done[o.CallID] {
			continue
		}
		done[o.CallID] = true
		out = append(out, r.ok(r.d.Answered(o.CallID, o.AgentID))...)
	}
	return out
}

func (r *rig) hangup(id string) []Action {
	r.t.Helper()
	return r.ok(r.d.Hangup(id))
}
