// Package acdtest holds the distributor's property test in a form any acd.Engine can be put
// through: random sequences of arrivals, answers, misses, hangups, abandons, callbacks,
// transfers, consultations, pauses, logins, logouts and clock moves over random
// configurations. After every step it checks that the actions the engine returned form a
// consistent protocol for the wiring (a model replays them), that the engine's read side
// agrees with the model, and, when the engine has a CheckInvariants method (acd.Distributor
// and cluster.Replica have), its internal invariants. Each sequence keeps a trace of the
// steps and their actions, so that two engines given the same seed can be compared decision
// by decision.
package acdtest

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/acd"
	"github.com/hotline-cc/hotline/internal/fakeclock"
)

// T0 is the time at which every sequence starts (the clock given to the factory reads it).
var T0 = time.Date(2025, 3, 3, 9, 0, 0, 0, time.UTC)

// Factory makes the engine under test for one sequence. The engine must take its time from
// clk (a fake clock the sequence moves) and, for its random choices, may use seed.
type Factory func(tb testing.TB, cfg acd.Config, clk acd.Clock, seed uint64) acd.Engine

// Options are the distributor options of the property sequences (short statistics windows,
// so that they roll within a sequence). An engine under test should be built with them.
func Options() []acd.Option {
	return []acd.Option{acd.WithStatsResolution(10 * time.Second), acd.WithWindows(time.Minute, 5*time.Minute)}
}

// Memory is the factory of the in-memory engine: acd.New with Options and a generator seeded
// from seed.
func Memory(tb testing.TB, cfg acd.Config, clk acd.Clock, seed uint64) acd.Engine {
	tb.Helper()
	d, err := acd.New(cfg, clk, append(Options(), acd.WithRand(rand.New(rand.NewPCG(seed, 7))))...)
	if err != nil {
		tb.Fatalf("acd.New: %v", err)
	}
	return d
}

// Step is one step of a sequence: the request made, its error and the actions returned.
type Step struct {
	Op      string
	Err     error
	Actions []acd.Action
}

// String formats a step as a trace line (times in UTC, so that engines whose clocks carry
// different locations compare equal).
func (s Step) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s → err=%v\n", s.Op, s.Err)
	for _, a := range s.Actions {
		fmt.Fprintf(&b, "  %s\n", FormatAction(a))
	}
	return b.String()
}

// FormatAction formats an action, its times in UTC.
func FormatAction(a acd.Action) string {
	switch x := a.(type) {
	case acd.Offer:
		x.Deadline = x.Deadline.UTC()
		return fmt.Sprintf("%T%+v", x, x)
	case acd.AgentStateChanged:
		x.At = x.At.UTC()
		return fmt.Sprintf("%T%+v", x, x)
	}
	return fmt.Sprintf("%T%+v", a, a)
}

// Trace is the steps of a sequence, in order.
type Trace []Step

// String formats the whole trace.
func (t Trace) String() string {
	var b strings.Builder
	for _, s := range t {
		b.WriteString(s.String())
	}
	return b.String()
}

// Diff returns "" if two traces are equal, else where they first differ.
func Diff(a, b Trace) string {
	for i := range max(len(a), len(b)) {
		var x, y string
		if i < len(a) {
			x = a[i].String()
		}
		if i < len(b) {
			y = b[i].String()
		}
		if x != y {
			return fmt.Sprintf("step %d differs:\n--- first\n%s--- second\n%s", i, x, y)
		}
	}
	return ""
}

// Run runs sequences seeds 0 … sequences-1 of steps each against the engines f makes and
// fails tb at the first violation.
func Run(tb testing.TB, f Factory, sequences, steps int) {
	tb.Helper()
	for s := range sequences {
		if _, err := Sequence(tb, f, uint64(s), steps); err != nil {
			tb.Fatalf("seed %d: %v", s, err)
		}
	}
}

// Sequence runs one random sequence (seed picks the configuration and the requests) and
// returns its trace; the error says which step broke which rule.
func Sequence(tb testing.TB, f Factory, seed uint64, steps int) (Trace, error) {
	tb.Helper()
	rng := rand.New(rand.NewPCG(seed, 42))
	cfg := RandomConfig(rng)
	clk := fakeclock.New(T0)
	d := f(tb, cfg, clk, seed)
	m := &model{
		d: d, clk: clk, rng: rng, cfg: cfg, live: map[string]bool{}, kind: map[string]acd.CallKind{},
		offers: map[string]map[string]bool{}, connected: map[string]string{}, agentCall: map[string]string{},
		callQueue: map[string]string{}, wrapStart: map[string]time.Time{}, endWrap: map[string]time.Time{},
		deadline: map[string]time.Time{}, skipUntil: map[string]time.Time{}, offerQ: map[string]string{}, transfer: map[string]string{}, consult: map[string]string{},
	}
	for i := range steps {
		op, err := m.step()
		if err == nil {
			err = m.check()
		}
		if err != nil {
			return m.log, fmt.Errorf("step %d (%s): %w\nconfig: %+v\nlast steps:\n%s", i, op, err, cfg, m.trace(15))
		}
	}
	return m.log, nil
}

// RandomConfig draws a small configuration: 1–3 queues with random strategies, timers,
// skills, callbacks, priority rules and overflows, 1–6 agents.
func RandomConfig(rng *rand.Rand) acd.Config {
	return randomConfig(rng)
}

var strategies = []acd.Strategy{acd.LongestIdle, acd.RoundRobin, acd.FewestCalls, acd.LeastTalkTime, acd.Random, acd.RingAll, acd.SkillsBased}

type model struct {
	d   acd.Engine
	clk *fakeclock.Clock
	rng *rand.Rand
	cfg acd.Config

	live      map[string]bool            // calls in the engine
	kind      map[string]acd.CallKind    // by call
	offers    map[string]map[string]bool // call → agents being rung, from the actions
	connected map[string]string          // call → agent
	agentCall map[string]string          // agent → call handled (on call or wrap-up)
	callQueue map[string]string          // agent → queue of the call it handles (answered from)
	wrapStart map[string]time.Time       // agent → wrap-up start
	endWrap   map[string]time.Time       // agent → when EndWrapUp was asked (this step)
	deadline  map[string]time.Time       // call|agent → ring deadline of the offer
	offerQ    map[string]string          // call|agent → queue of the offer
	skipUntil map[string]time.Time       // call|agent → end of the retry delay after a miss
	transfer  map[string]string          // call → agent a transfer of it is about to ring
	consult   map[string]string          // call → agent rung or on call for a consultation about it
	ids       int
	checks    int
	log       Trace
}

func (m *model) trace(last int) string {
	lines := m.log
	if last > 0 && len(lines) > last {
		lines = lines[len(lines)-last:]
	}
	return lines.String()
}

func actionsOf[T acd.Action](acts []acd.Action) []T {
	var out []T
	for _, a := range acts {
		if x, ok := a.(T); ok {
			out = append(out, x)
		}
	}
	return out
}

func randomConfig(rng *rand.Rand) acd.Config {
	sk := []string{"en", "fr", "de"}
	nq := 1 + rng.IntN(3)
	var cfg acd.Config
	for i := range nq {
		q := acd.QueueConfig{
			Name:        fmt.Sprintf("q%d", i),
			Strategy:    strategies[rng.IntN(len(strategies))],
			RingTimeout: time.Duration(5+rng.IntN(16)) * time.Second,
			RetryDelay:  time.Duration(1+rng.IntN(6)) * time.Second,
		}
		if rng.IntN(3) == 0 {
			q.Skills = []string{sk[rng.IntN(len(sk))]}
		}
		if rng.IntN(2) == 0 {
			q.WrapUp = time.Duration(rng.IntN(20)) * time.Second
		}
		if rng.IntN(2) == 0 {
			q.MaxWait = time.Duration(30+rng.IntN(120)) * time.Second
		}
		if rng.IntN(2) == 0 {
			q.AnnounceInterval = time.Duration(10+rng.IntN(30)) * time.Second
		}
		if rng.IntN(3) == 0 {
			q.Callback = acd.CallbackPolicy{After: 30 * time.Second, Repeat: time.Duration(rng.IntN(2)) * 20 * time.Second}
		}
		if rng.IntN(3) == 0 {
			q.PriorityRules = []acd.PriorityRule{{After: 40 * time.Second, Priority: 2}, {After: 90 * time.Second, Priority: 4}}
		}
		if i+1 < nq && rng.IntN(2) == 0 {
			q.Overflow = acd.Overflow{Queue: fmt.Sprintf("q%d", i+1), After: time.Duration(20+rng.IntN(40)) * time.Second}
		}
		cfg.Queues = append(cfg.Queues, q)
	}
	na := 1 + rng.IntN(6)
	for i := range na {
		a := acd.AgentConfig{ID: fmt.Sprintf("a%d", i), Skills: map[string]int{}, AutoLogin: rng.IntN(2) == 0}
		for _, j := range rng.Perm(nq)[:1+rng.IntN(nq)] {
			q := cfg.Queues[j]
			a.Queues = append(a.Queues, q.Name)
			for _, s := range q.Skills {
				a.Skills[s] = 1 + rng.IntN(5)
			}
		}
		for _, s := range sk {
			if rng.IntN(2) == 0 {
				a.Skills[s] = 1 + rng.IntN(5)
			}
		}
		cfg.Agents = append(cfg.Agents, a)
	}
	cfg.MaxMisses = []int{-1, 0, 1, 3}[rng.IntN(4)]
	return cfg
}

func (m *model) pick(keys []string) string {
	if len(keys) == 0 {
		return ""
	}
	slices.Sort(keys)
	return keys[m.rng.IntN(len(keys))]
}

func (m *model) ringing() (call, agent string) {
	var pairs []string
	for c, as := range m.offers {
		for a := range as {
			pairs = append(pairs, c+"|"+a)
		}
	}
	p := m.pick(pairs)
	if p == "" {
		return "", ""
	}
	call, agent, _ = strings.Cut(p, "|")
	return call, agent
}

func (m *model) agentID() string { return m.cfg.Agents[m.rng.IntN(len(m.cfg.Agents))].ID }

// allowedErr: requests the model makes at random may be refused, but only with these errors.
func allowedErr(err error) error {
	for _, e := range []error{acd.ErrInvalidTransition, acd.ErrUnknownCall, acd.ErrNotWaiting, acd.ErrNotConnected, acd.ErrNoOffer, acd.ErrUnknownSkill, acd.ErrInvalidCall,
		acd.ErrAgentBusy, acd.ErrTransferPending, acd.ErrUnknownQueue} {
		if errors.Is(err, e) {
			return nil
		}
	}
	return fmt.Errorf("unexpected error: %w", err)
}

func (m *model) step() (string, error) {
	d := m.d
	var acts []acd.Action
	var err error
	var op string
	switch r := m.rng.IntN(100); {
	case r < 22:
		m.ids++
		c := acd.Call{ID: fmt.Sprintf("c%d", m.ids), Queue: m.cfg.Queues[m.rng.IntN(len(m.cfg.Queues))].Name, Priority: m.rng.IntN(3)}
		if m.rng.IntN(4) == 0 {
			c.Skills = []string{[]string{"en", "fr", "de"}[m.rng.IntN(3)]}
		}
		if m.rng.IntN(6) == 0 {
			c.Kind = acd.KindCallback
		}
		if m.rng.IntN(4) == 0 {
			c.ArrivedAt = m.clk.Now().Add(-time.Duration(m.rng.IntN(120)) * time.Second)
		}
		op = "enqueue " + c.ID + " in " + c.Queue
		acts, err = d.Enqueue(c)
		if err == nil {
			m.live[c.ID] = true
			m.kind[c.ID] = cmpOr(c.Kind, acd.KindCaller)
		}
	case r < 37:
		c, a := m.ringing()
		if c == "" {
			c, a = "none", m.agentID()
		}
		op = "answered " + c + " by " + a
		acts, err = d.Answered(c, a)
		if err == nil {
			if e := m.apply(acts); e != nil {
				return op, e
			}
			if len(m.offers[c]) != 1 || !m.offers[c][a] {
				return op, fmt.Errorf("after the answer, offers of %s are %v", c, m.offers[c])
			}
			delete(m.offers, c)
			if m.consult[c] != a {
				m.connected[c] = a
			}
			m.agentCall[a] = c
			st, _ := d.CallStatus(c)
			m.callQueue[a] = st.Queue
			m.log = append(m.log, Step{Op: op, Actions: acts})
			return op, nil
		}
	case r < 47:
		c, a := m.ringing()
		if c == "" {
			c, a = "none", m.agentID()
		}
		reason := []acd.MissReason{acd.NoAnswer, acd.Busy, acd.Rejected, acd.Unreachable}[m.rng.IntN(4)]
		op = "offer failed " + c + " by " + a + ": " + string(reason)
		acts, err = d.OfferFailed(c, a, reason)
		if err == nil {
			m.missed(c, a, m.clk.Now())
		}
	case r < 57:
		var cs []string
		for c := range m.connected {
			cs = append(cs, c)
		}
		c := m.pick(cs)
		op = "hangup " + c
		acts, err = d.Hangup(c)
		if err == nil {
			delete(m.connected, c)
			delete(m.live, c)
			if b := m.consult[c]; b != "" { // the agents stop talking too
				delete(m.consult, c)
				more, e := d.EndConsult(b)
				if e != nil && allowedErr(e) != nil {
					return op, e
				}
				acts = append(acts, more...)
			}
		}
	case r < 63:
		var cs []string
		for c := range m.live {
			cs = append(cs, c)
		}
		c := m.pick(cs)
		op = "abandon " + c
		acts, err = d.Abandon(c)
		if err == nil {
			if e := m.apply(acts); e != nil {
				return op, e
			}
			if len(m.offers[c]) != 0 {
				return op, fmt.Errorf("abandoned call still rung: %v", m.offers[c])
			}
			delete(m.live, c)
			m.log = append(m.log, Step{Op: op, Actions: acts})
			return op, nil
		}
	case r < 66:
		var cs []string
		for c := range m.live {
			cs = append(cs, c)
		}
		c := m.pick(cs)
		op = "callback " + c
		acts, err = d.ConvertToCallback(c)
		if err == nil {
			m.kind[c] = acd.KindCallback
		}
	case r < 68: // a transfer to a colleague (answered, missed or timed out like any offer)
		var cs []string
		for c := range m.connected {
			cs = append(cs, c)
		}
		c, a := m.pick(cs), m.agentID()
		op = "transfer " + c + " to " + a
		m.transfer[c] = a
		acts, err = d.OfferTransfer(c, a)
		if err != nil {
			delete(m.transfer, c)
		}
	case r < 69 && m.rng.IntN(3) == 0: // a consultation: offered, completed, or ended
		var cs []string
		for c := range m.connected {
			cs = append(cs, c)
		}
		c := m.pick(cs)
		switch b, ok := m.consult[c]; {
		case !ok || m.rng.IntN(3) == 0:
			a := m.agentID()
			op = "consult " + a + " about " + c
			m.transfer[c] = a
			acts, err = d.OfferConsult(c, a)
			if err == nil {
				m.consult[c] = a
			} else {
				delete(m.transfer, c)
			}
		case m.rng.IntN(2) == 0:
			op = "complete transfer of " + c + " to " + b
			acts, err = d.CompleteConsult(c)
			if err == nil {
				m.connected[c] = b
				delete(m.consult, c)
			}
		default:
			op = "end consultation of " + b
			acts, err = d.EndConsult(b)
			if err == nil {
				delete(m.consult, c)
			}
		}
	case r < 69: // a transfer to a queue, keeping the arrival or not
		var cs []string
		for c := range m.connected {
			cs = append(cs, c)
		}
		c, q := m.pick(cs), m.cfg.Queues[m.rng.IntN(len(m.cfg.Queues))].Name
		op = "transfer " + c + " to queue " + q
		acts, err = d.TransferToQueue(c, q, m.rng.IntN(2) == 0)
		if err == nil {
			delete(m.connected, c)
		}
	case r < 70:
		var cs []string
		for c := range m.connected {
			cs = append(cs, c)
		}
		c, on := m.pick(cs), m.rng.IntN(2) == 0
		op = fmt.Sprintf("hold %s %v", c, on)
		acts, err = d.Hold(c, on)
	case r < 71:
		a := m.agentID()
		op = "pause " + a
		acts, err = d.Pause(a, []string{"lunch", "coffee", "training"}[m.rng.IntN(3)])
	case r < 77 && m.rng.IntN(3) == 0: // the agent submits the wrap-up form
		a := m.agentID()
		op = "end wrap-up " + a
		now := m.clk.Now()
		m.endWrap[a] = now
		defer delete(m.endWrap, a)
		acts, err = d.EndWrapUp(a)
		if err == nil {
			ended := false
			for _, x := range actionsOf[acd.AgentStateChanged](acts) {
				ended = ended || (x.AgentID == a && x.From == acd.WrapUp && x.At.Equal(now))
			}
			if !ended {
				return op, fmt.Errorf("EndWrapUp of %s succeeded without ending its wrap-up now: %v", a, acts)
			}
		}
	case r < 77:
		a := m.agentID()
		op = "unpause " + a
		acts, err = d.Unpause(a)
	case r < 83:
		a := m.agentID()
		op = "login " + a
		acts, err = d.Login(a)
	case r < 86:
		a := m.agentID()
		op = "logout " + a
		acts, err = d.Logout(a)
	default:
		dt := time.Duration(m.rng.IntN(20000)) * time.Millisecond
		op = "advance " + dt.String()
		m.clk.Advance(dt)
		acts = d.Tick()
	}
	m.log = append(m.log, Step{Op: op, Err: err, Actions: acts})
	if err != nil {
		if e := allowedErr(err); e != nil {
			return op, e
		}
	}
	return op, m.apply(acts)
}

func cmpOr[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// apply replays actions on the model, checking they make sense in order.
func (m *model) apply(acts []acd.Action) error {
	for _, a := range acts {
		switch a := a.(type) {
		case acd.Offer:
			if !m.live[a.CallID] {
				return fmt.Errorf("offer of unknown call %s", a.CallID)
			}
			for c, as := range m.offers {
				if as[a.AgentID] {
					return fmt.Errorf("agent %s offered %s while still rung for %s", a.AgentID, a.CallID, c)
				}
			}
			if a.Kind != m.kind[a.CallID] {
				return fmt.Errorf("offer of %s as %s, it is a %s", a.CallID, a.Kind, m.kind[a.CallID])
			}
			// An agent who missed this caller is skipped for the retry delay.
			key := a.CallID + "|" + a.AgentID
			if m.transfer[a.CallID] == a.AgentID {
				delete(m.transfer, a.CallID)
			} else if at := a.Deadline.Add(-a.RingTimeout); at.Before(m.skipUntil[key]) {
				return fmt.Errorf("%s offered to %s at %v, within the retry delay after a miss (until %v)", a.CallID, a.AgentID, at, m.skipUntil[key])
			}
			if m.offers[a.CallID] == nil {
				m.offers[a.CallID] = map[string]bool{}
			}
			m.offers[a.CallID][a.AgentID] = true
			m.deadline[key], m.offerQ[key] = a.Deadline, a.Queue
		case acd.CancelOffer:
			if !m.offers[a.CallID][a.AgentID] {
				return fmt.Errorf("cancel of an offer not made: %+v", a)
			}
			if a.Reason == acd.CancelRingTimeout {
				m.missed(a.CallID, a.AgentID, m.deadline[a.CallID+"|"+a.AgentID])
			}
			delete(m.offers[a.CallID], a.AgentID)
			if m.consult[a.CallID] == a.AgentID && !m.onCall(a.AgentID) {
				delete(m.consult, a.CallID)
			}
		case acd.Timeout:
			if !m.live[a.CallID] || len(m.offers[a.CallID]) > 0 || m.connected[a.CallID] != "" || m.kind[a.CallID] != acd.KindCaller {
				return fmt.Errorf("timeout of a call that is not a waiting caller: %+v", a)
			}
			delete(m.live, a.CallID)
		case acd.Announce, acd.OfferCallback:
			var id string
			switch a := a.(type) {
			case acd.Announce:
				id = a.CallID
			case acd.OfferCallback:
				id = a.CallID
			}
			if !m.live[id] || m.kind[id] != acd.KindCaller || len(m.offers[id]) > 0 {
				return fmt.Errorf("%T for a call that is not a waiting caller", a)
			}
		case acd.Overflowed:
			if !m.live[a.CallID] || len(m.offers[a.CallID]) > 0 {
				return fmt.Errorf("overflow of a call not waiting: %+v", a)
			}
		case acd.AgentStateChanged:
			if a.To == acd.WrapUp {
				m.wrapStart[a.AgentID] = a.At
			}
			if a.From == acd.WrapUp {
				c := m.agentCall[a.AgentID]
				want := m.queueCfg(m.callQueue[a.AgentID]).WrapUp
				got := a.At.Sub(m.wrapStart[a.AgentID])
				if at, early := m.endWrap[a.AgentID]; early && a.At.Equal(at) && got <= want {
					// ended by the agent's form (or by its timer, due this very instant)
				} else if got != want {
					return fmt.Errorf("agent %s wrapped up %v after call %s, want %v", a.AgentID, got, c, want)
				}
			}
			if (a.From == acd.OnCall || a.From == acd.WrapUp) && a.To != acd.WrapUp {
				delete(m.agentCall, a.AgentID)
			}
		}
	}
	return nil
}

// missed records a miss of call by agent at time at.
func (m *model) missed(call, agent string, at time.Time) {
	delete(m.offers[call], agent)
	if m.consult[call] == agent {
		delete(m.consult, call)
	}
	q := m.queueCfg(m.offerQ[call+"|"+agent])
	m.skipUntil[call+"|"+agent] = at.Add(cmpOr(q.RetryDelay, acd.DefaultRetryDelay))
}

// onCall says whether the engine has agent on a call (or consulting).
func (m *model) onCall(agent string) bool {
	st, err := m.d.AgentState(agent)
	return err == nil && st == acd.OnCall
}

func (m *model) queueCfg(name string) acd.QueueConfig {
	for _, q := range m.cfg.Queues {
		if q.Name == name {
			return q
		}
	}
	return acd.QueueConfig{}
}

// check verifies the engine's invariants (CheckInvariants, when it has it) and that its read
// side agrees with the model.
func (m *model) check() error {
	d := m.d
	if c, ok := d.(interface{ CheckInvariants() error }); ok {
		if err := c.CheckInvariants(); err != nil {
			return err
		}
	}
	// Model and engine agree on calls and offers.
	ids := make([]string, 0, len(m.live))
	for id := range m.live {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		st, ok := d.CallStatus(id)
		if !ok {
			return fmt.Errorf("call %s vanished without a terminal event", id)
		}
		if st.Kind != m.kind[id] {
			return fmt.Errorf("call %s is a %s, want %s", id, st.Kind, m.kind[id])
		}
		if (st.State == acd.CallConnected) != (m.connected[id] != "") {
			return fmt.Errorf("call %s is %s, model says connected to %q", id, st.State, m.connected[id])
		}
		if st.State == acd.CallConnected {
			if len(st.Agents) != 1 || st.Agents[0] != m.connected[id] {
				return fmt.Errorf("call %s connected to %v, model %s", id, st.Agents, m.connected[id])
			}
			continue
		}
		if len(st.Agents) != len(m.offers[id]) {
			return fmt.Errorf("call %s rung by %v, actions say %v", id, st.Agents, m.offers[id])
		}
		for _, a := range st.Agents {
			if !m.offers[id][a] {
				return fmt.Errorf("call %s rung by %s, not in the actions %v", id, a, m.offers[id])
			}
		}
	}
	rung := map[string]int{}
	for _, as := range m.offers {
		for a := range as {
			rung[a]++
		}
	}
	now := m.clk.Now()
	var onCall []acd.AgentStatus
	for _, a := range d.Agents() {
		// Time in states adds up to the time since the engine started; pause reasons add up
		// to the time paused.
		var total, paused time.Duration
		for _, v := range a.TimeInState {
			total += v
		}
		for _, v := range a.TimeInPause {
			paused += v
		}
		if total != now.Sub(T0) || paused != a.TimeInState[acd.Paused] {
			return fmt.Errorf("agent %s: time in states %v sums to %v, want %v; pauses %v", a.ID, a.TimeInState, total, now.Sub(T0), a.TimeInPause)
		}
		if n := rung[a.ID]; (a.State == acd.Reserved) != (n == 1) || n > 1 {
			return fmt.Errorf("agent %s is %s with %d offers in the action stream", a.ID, a.State, n)
		}
		if a.State == acd.OnCall && a.CallID != "" {
			onCall = append(onCall, a)
		}
	}
	// The queues' counters balance and the engine holds no call the model does not know,
	// checked every fourth step (the statistics are the slowest read).
	m.checks++
	if m.checks%4 != 0 {
		return m.checkPositions(ids)
	}
	calls := 0 // connected calls, counted at their agent, and those in the queues
	for _, a := range onCall {
		if st, ok := d.CallStatus(a.CallID); ok && st.State == acd.CallConnected && len(st.Agents) == 1 && st.Agents[0] == a.ID {
			calls++
		}
	}
	for _, q := range d.Queues() {
		calls += q.Waiting
		c := q.Totals
		if c.Offered != c.Answered+c.Abandoned+c.TimedOut+c.OverflowedOut+c.ConvertedToCallback {
			return fmt.Errorf("queue %s: offered %d ≠ sum of outcomes %+v", q.Queue, c.Offered, c)
		}
		if callers := int64(q.Waiting - q.WaitingCallbacks); c.Entered-c.Offered != callers {
			return fmt.Errorf("queue %s: entered %d − offered %d ≠ %d callers in queue", q.Queue, c.Entered, c.Offered, callers)
		}
		if c.ShortAbandoned > c.Abandoned || c.AnsweredInTarget > c.Answered {
			return fmt.Errorf("queue %s: inconsistent counters %+v", q.Queue, c)
		}
		if q.Windows[1].Counters.Offered > q.Totals.Offered {
			return fmt.Errorf("queue %s: window holds more than the totals", q.Queue)
		}
	}
	if calls != len(m.live) {
		return fmt.Errorf("engine holds %d calls, model %d", calls, len(m.live))
	}
	return m.checkPositions(ids)
}

// checkPositions checks, now and then, that positions agree with the call status.
func (m *model) checkPositions(ids []string) error {
	d := m.d
	if m.rng.IntN(16) == 0 {
		for _, id := range ids {
			pos, _, ok := d.Position(id)
			st, _ := d.CallStatus(id)
			if ok != (st.State != acd.CallConnected) || pos != st.Position {
				return fmt.Errorf("call %s: position %d (%v), status %+v", id, pos, ok, st)
			}
		}
	}
	return nil
}
