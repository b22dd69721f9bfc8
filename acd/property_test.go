package acd

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/internal/fakeclock"
)

// The property test drives random sequences of arrivals, answers, misses, hangups, abandons,
// callbacks, pauses, logins, logouts and clock moves over random configurations, and checks after
// every step both the distributor's internal invariants and that the actions it returned form a
// consistent protocol for the wiring (the model below replays them).

func TestPropertyRandomOperationsKeepInvariants(t *testing.T) {
	sequences, steps := 2000, 100
	if testing.Short() {
		sequences = 300
	}
	for s := range sequences {
		if _, err := runSequence(uint64(s), steps); err != nil {
			t.Fatalf("seed %d: %v", s, err)
		}
	}
}

func TestPropertySameSeedSameDecisions(t *testing.T) {
	for s := range 50 {
		a, err1 := runSequenceTrace(uint64(s), 200, true)
		b, err2 := runSequenceTrace(uint64(s), 200, true)
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		if a != b {
			t.Fatalf("seed %d: two runs diverged", s)
		}
	}
}

type model struct {
	d   *Distributor
	clk *fakeclock.Clock
	rng *rand.Rand
	cfg Config

	live      map[string]bool            // calls in the distributor
	kind      map[string]CallKind        // by call
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
	log       []logLine // formatted only on failure (or for the determinism check)
}

type logLine struct {
	op   string
	err  error
	acts []Action
}

func (m *model) trace(last int) string {
	var b strings.Builder
	lines := m.log
	if last > 0 && len(lines) > last {
		lines = lines[len(lines)-last:]
	}
	for _, l := range lines {
		fmt.Fprintf(&b, "%s → err=%v\n", l.op, l.err)
		for _, a := range l.acts {
			fmt.Fprintf(&b, "  %T%+v\n", a, a)
		}
	}
	return b.String()
}

func randomConfig(rng *rand.Rand) Config {
	sk := []string{"en", "fr", "de"}
	nq := 1 + rng.IntN(3)
	var cfg Config
	for i := range nq {
		q := QueueConfig{
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
			q.Callback = CallbackPolicy{After: 30 * time.Second, Repeat: time.Duration(rng.IntN(2)) * 20 * time.Second}
		}
		if rng.IntN(3) == 0 {
			q.PriorityRules = []PriorityRule{{After: 40 * time.Second, Priority: 2}, {After: 90 * time.Second, Priority: 4}}
		}
		if i+1 < nq && rng.IntN(2) == 0 {
			q.Overflow = Overflow{Queue: fmt.Sprintf("q%d", i+1), After: time.Duration(20+rng.IntN(40)) * time.Second}
		}
		cfg.Queues = append(cfg.Queues, q)
	}
	na := 1 + rng.IntN(6)
	for i := range na {
		a := AgentConfig{ID: fmt.Sprintf("a%d", i), Skills: map[string]int{}, AutoLogin: rng.IntN(2) == 0}
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

// runSequence returns the trace of actions (for the determinism check).
func runSequence(seed uint64, steps int) (string, error) {
	return runSequenceTrace(seed, steps, false)
}

func runSequenceTrace(seed uint64, steps int, withTrace bool) (string, error) {
	rng := rand.New(rand.NewPCG(seed, 42))
	cfg := randomConfig(rng)
	clk := fakeclock.New(t0)
	d, err := New(cfg, clk, WithRand(rand.New(rand.NewPCG(seed, 7))), WithStatsResolution(10*time.Second), WithWindows(time.Minute, 5*time.Minute))
	if err != nil {
		return "", fmt.Errorf("config: %w", err)
	}
	m := &model{
		d: d, clk: clk, rng: rng, cfg: cfg, live: map[string]bool{}, kind: map[string]CallKind{},
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
			return "", fmt.Errorf("step %d (%s): %w\nconfig: %+v\nlast steps:\n%s", i, op, err, cfg, m.trace(15))
		}
	}
	if withTrace {
		return m.trace(0), nil
	}
	return "", nil
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
	for _, e := range []error{ErrInvalidTransition, ErrUnknownCall, ErrNotWaiting, ErrNotConnected, ErrNoOffer, ErrUnknownSkill, ErrInvalidCall,
		ErrAgentBusy, ErrTransferPending, ErrUnknownQueue} {
		if errors.Is(err, e) {
			return nil
		}
	}
	return fmt.Errorf("unexpected error: %w", err)
}

func (m *model) step() (string, error) {
	d := m.d
	var acts []Action
	var err error
	var op string
	switch r := m.rng.IntN(100); {
	case r < 22:
		m.ids++
		c := Call{ID: fmt.Sprintf("c%d", m.ids), Queue: m.cfg.Queues[m.rng.IntN(len(m.cfg.Queues))].Name, Priority: m.rng.IntN(3)}
		if m.rng.IntN(4) == 0 {
			c.Skills = []string{[]string{"en", "fr", "de"}[m.rng.IntN(3)]}
		}
		if m.rng.IntN(6) == 0 {
			c.Kind = KindCallback
		}
		if m.rng.IntN(4) == 0 {
			c.ArrivedAt = m.clk.Now().Add(-time.Duration(m.rng.IntN(120)) * time.Second)
		}
		op = "enqueue " + c.ID + " in " + c.Queue
		acts, err = d.Enqueue(c)
		if err == nil {
			m.live[c.ID] = true
			m.kind[c.ID] = cmpOr(c.Kind, KindCaller)
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
			m.callQueue[a] = d.calls[c].q.cfg.Name
			m.log = append(m.log, logLine{op: op, acts: acts})
			return op, nil
		}
	case r < 47:
		c, a := m.ringing()
		if c == "" {
			c, a = "none", m.agentID()
		}
		reason := []MissReason{NoAnswer, Busy, Rejected, Unreachable}[m.rng.IntN(4)]
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
			m.log = append(m.log, logLine{op: op, acts: acts})
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
			m.kind[c] = KindCallback
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
			for _, x := range actionsOf[AgentStateChanged](acts) {
				ended = ended || (x.AgentID == a && x.From == WrapUp && x.At.Equal(now))
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
	m.log = append(m.log, logLine{op: op, err: err, acts: acts})
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
func (m *model) apply(acts []Action) error {
	for _, a := range acts {
		switch a := a.(type) {
		case Offer:
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
		case CancelOffer:
			if !m.offers[a.CallID][a.AgentID] {
				return fmt.Errorf("cancel of an offer not made: %+v", a)
			}
			if a.Reason == CancelRingTimeout {
				m.missed(a.CallID, a.AgentID, m.deadline[a.CallID+"|"+a.AgentID])
			}
			delete(m.offers[a.CallID], a.AgentID)
			if m.consult[a.CallID] == a.AgentID && !m.onCall(a.AgentID) {
				delete(m.consult, a.CallID)
			}
		case Timeout:
			if !m.live[a.CallID] || len(m.offers[a.CallID]) > 0 || m.connected[a.CallID] != "" || m.kind[a.CallID] != KindCaller {
				return fmt.Errorf("timeout of a call that is not a waiting caller: %+v", a)
			}
			delete(m.live, a.CallID)
		case Announce, OfferCallback:
			var id string
			switch a := a.(type) {
			case Announce:
				id = a.CallID
			case OfferCallback:
				id = a.CallID
			}
			if !m.live[id] || m.kind[id] != KindCaller || len(m.offers[id]) > 0 {
				return fmt.Errorf("%T for a call that is not a waiting caller", a)
			}
		case Overflowed:
			if !m.live[a.CallID] || len(m.offers[a.CallID]) > 0 {
				return fmt.Errorf("overflow of a call not waiting: %+v", a)
			}
		case AgentStateChanged:
			if a.To == WrapUp {
				m.wrapStart[a.AgentID] = a.At
			}
			if a.From == WrapUp {
				c := m.agentCall[a.AgentID]
				want := m.queueCfg(m.callQueue[a.AgentID]).WrapUp
				got := a.At.Sub(m.wrapStart[a.AgentID])
				if at, early := m.endWrap[a.AgentID]; early && a.At.Equal(at) && got <= want {
					// ended by the agent's form (or by its timer, due this very instant)
				} else if got != want {
					return fmt.Errorf("agent %s wrapped up %v after call %s, want %v", a.AgentID, got, c, want)
				}
			}
			if (a.From == OnCall || a.From == WrapUp) && a.To != WrapUp {
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
	m.skipUntil[call+"|"+agent] = at.Add(cmpOr(q.RetryDelay, DefaultRetryDelay))
}

// onCall says whether the distributor has agent on a call (or consulting).
func (m *model) onCall(agent string) bool {
	for _, a := range m.d.agents {
		if a.cfg.ID == agent {
			return a.state == OnCall
		}
	}
	return false
}

func (m *model) queueCfg(name string) QueueConfig {
	for _, q := range m.cfg.Queues {
		if q.Name == name {
			return q
		}
	}
	return QueueConfig{}
}

// check verifies the invariants against the distributor's internals and its read side.
func (m *model) check() error {
	d := m.d
	if err := d.checkInternal(); err != nil {
		return err
	}
	// Model and distributor agree on calls and offers.
	for id := range m.live {
		e := d.calls[id]
		if e == nil {
			return fmt.Errorf("call %s vanished without a terminal event", id)
		}
		if e.call.Kind != m.kind[id] {
			return fmt.Errorf("call %s is a %s, want %s", id, e.call.Kind, m.kind[id])
		}
		if (e.state == CallConnected) != (m.connected[id] != "") {
			return fmt.Errorf("call %s is %s, model says connected to %q", id, e.state, m.connected[id])
		}
		if e.state == CallConnected {
			if e.agent.cfg.ID != m.connected[id] {
				return fmt.Errorf("call %s connected to %s, model %s", id, e.agent.cfg.ID, m.connected[id])
			}
			continue
		}
		if len(e.offers) != len(m.offers[id]) {
			return fmt.Errorf("call %s rung by %d agents, actions say %v", id, len(e.offers), m.offers[id])
		}
		for _, o := range e.offers {
			if !m.offers[id][o.a.cfg.ID] {
				return fmt.Errorf("call %s rung by %s, not in the actions %v", id, o.a.cfg.ID, m.offers[id])
			}
		}
	}
	if len(d.calls) != len(m.live) {
		return fmt.Errorf("distributor holds %d calls, model %d", len(d.calls), len(m.live))
	}
	rung := map[string]int{}
	for _, as := range m.offers {
		for a := range as {
			rung[a]++
		}
	}
	now := m.clk.Now()
	for _, a := range d.agents {
		// Time in states adds up to the time since the distributor started; pause reasons
		// add up to the time paused.
		total := now.Sub(a.since)
		var paused time.Duration
		for st, v := range a.timeIn {
			total += v
			if AgentState(st) == Paused {
				paused += v
			}
		}
		if total != now.Sub(t0) {
			return fmt.Errorf("agent %s: time in states sums to %v, want %v (%v)", a.cfg.ID, total, now.Sub(t0), a.timeIn)
		}
		var reasons time.Duration
		for _, v := range a.pauseTime {
			reasons += v
		}
		if a.state == Paused {
			reasons += a.since.Sub(a.reasonSince) // reason intervals may start after the state's
		}
		if reasons != paused {
			return fmt.Errorf("agent %s: pause reasons sum to %v, paused %v", a.cfg.ID, reasons, paused)
		}
		if n := rung[a.cfg.ID]; (a.state == Reserved) != (n == 1) || n > 1 {
			return fmt.Errorf("agent %s is %s with %d offers in the action stream", a.cfg.ID, a.state, n)
		}
	}
	for _, q := range d.queues {
		c := q.stats.totals
		if c.Offered != c.Answered+c.Abandoned+c.TimedOut+c.OverflowedOut+c.ConvertedToCallback {
			return fmt.Errorf("queue %s: offered %d ≠ sum of outcomes %+v", q.cfg.Name, c.Offered, c)
		}
		if callers := int64(q.all.Len() - q.callbacks); c.Entered-c.Offered != callers {
			return fmt.Errorf("queue %s: entered %d − offered %d ≠ %d callers in queue", q.cfg.Name, c.Entered, c.Offered, callers)
		}
		if c.ShortAbandoned > c.Abandoned || c.AnsweredInTarget > c.Answered {
			return fmt.Errorf("queue %s: inconsistent counters %+v", q.cfg.Name, c)
		}
	}
	// The read side agrees, checked now and then (it is slower).
	if m.rng.IntN(16) == 0 {
		for _, a := range d.Agents() {
			var total, paused time.Duration
			for _, v := range a.TimeInState {
				total += v
			}
			for _, v := range a.TimeInPause {
				paused += v
			}
			if total != now.Sub(t0) || paused != a.TimeInState[Paused] {
				return fmt.Errorf("agent %s status: states %v, pauses %v", a.ID, a.TimeInState, a.TimeInPause)
			}
		}
		for id := range m.live {
			if st, ok := d.CallStatus(id); !ok || (st.State == CallConnected) != (m.connected[id] != "") {
				return fmt.Errorf("call %s status %+v", id, st)
			}
		}
		for _, q := range d.Queues() {
			if q.Windows[1].Counters.Offered > q.Totals.Offered {
				return fmt.Errorf("queue %s: window holds more than the totals", q.Queue)
			}
		}
	}
	return nil
}

// checkInternal verifies the data-structure invariants.
func (d *Distributor) checkInternal() error {
	now := d.now
	for _, a := range d.agents {
		if a.state >= numStates {
			return fmt.Errorf("agent %s in invalid state %d", a.cfg.ID, a.state)
		}
		// A reserved agent has exactly one live offer, and is not rung past the ring timeout.
		if (a.state == Reserved) != (a.offer != nil) {
			return fmt.Errorf("agent %s is %s with offer %v", a.cfg.ID, a.state, a.offer != nil)
		}
		if o := a.offer; o != nil {
			// (a transfer rings an agent for a call still connected to another)
			if !o.active || o.a != a || !slices.Contains(o.e.offers, o) || (o.e.state != CallRinging && (o.e.state != CallConnected || o.e.agent == a)) {
				return fmt.Errorf("agent %s: stale offer for %s", a.cfg.ID, o.e.call.ID)
			}
			if !now.Before(o.deadline) || o.deadline.Sub(o.at) != o.e.q.cfg.RingTimeout {
				return fmt.Errorf("agent %s reserved past the ring timeout (offered %v, deadline %v, now %v)", a.cfg.ID, o.at, o.deadline, now)
			}
		}
		if (a.state == OnCall || a.state == WrapUp) != (a.work != nil) {
			return fmt.Errorf("agent %s is %s with work %v", a.cfg.ID, a.state, a.work)
		}
		if a.state == WrapUp && !now.Before(a.wrapUntil) {
			return fmt.Errorf("agent %s in wrap-up past its end", a.cfg.ID)
		}
		if a.state == Paused && a.pauseReason == "" {
			return fmt.Errorf("agent %s paused without a reason", a.cfg.ID)
		}
		loggedIn := slices.ContainsFunc(a.members, func(m *membership) bool { return m.loggedIn })
		if (a.state != LoggedOut) != loggedIn {
			return fmt.Errorf("agent %s is %s, logged into a queue: %v", a.cfg.ID, a.state, loggedIn)
		}
	}
	for id, e := range d.calls {
		if !e.alive || e.call.ID != id {
			return fmt.Errorf("dead or misfiled entry %s", id)
		}
		inAll, inRing, inWait := has(e.q.all, e), has(e.q.ringing, e), has(e.cls.waiting, e)
		switch e.state {
		case CallWaiting:
			if !inAll || inRing || !inWait || len(e.offers) > 0 {
				return fmt.Errorf("waiting %s: all %v ringing %v waiting %v offers %d", id, inAll, inRing, inWait, len(e.offers))
			}
			// Nobody waits in a queue past its max wait or its overflow time.
			inQueue := now.Sub(e.enqueuedAt)
			if mw := e.q.cfg.MaxWait; e.call.Kind == KindCaller && mw > 0 && inQueue >= mw {
				return fmt.Errorf("caller %s waited %v in %s, max wait %v", id, inQueue, e.q.cfg.Name, mw)
			}
			if e.q.overflow != nil && inQueue >= e.q.cfg.Overflow.After {
				return fmt.Errorf("%s waited %v in %s, overflow after %v", id, inQueue, e.q.cfg.Name, e.q.cfg.Overflow.After)
			}
			// Routing is saturated: no free eligible agent is left for a waiting contact, except
			// one it has just missed with.
			var idle []string
			e.cls.free.Ascend(func(a *agent) bool {
				if !e.excludes(a, now) {
					idle = append(idle, a.cfg.ID)
				}
				return true
			})
			if len(idle) > 0 {
				return fmt.Errorf("waiting %s while eligible agents %v are free", id, idle)
			}
		case CallRinging:
			if !inAll || !inRing || inWait || len(e.offers) == 0 {
				return fmt.Errorf("ringing %s: all %v ringing %v waiting %v offers %d", id, inAll, inRing, inWait, len(e.offers))
			}
			if len(e.offers) > 1 && e.q.cfg.Strategy != RingAll {
				return fmt.Errorf("call %s offered to %d agents at once", id, len(e.offers))
			}
			for _, o := range e.offers {
				if !o.active || o.a.offer != o {
					return fmt.Errorf("call %s: offer to %s not held by the agent", id, o.a.cfg.ID)
				}
			}
		case CallConnected:
			if inAll || inRing || inWait || e.agent == nil || e.agent.state != OnCall || e.agent.work.callID != id {
				return fmt.Errorf("connected %s inconsistent", id)
			}
		default:
			return fmt.Errorf("call %s in state %q", id, e.state)
		}
	}
	n, cb := make([]int, len(d.queues)), make([]int, len(d.queues))
	for _, e := range d.calls {
		if e.state != CallConnected {
			n[e.q.idx]++
			if e.call.Kind == KindCallback {
				cb[e.q.idx]++
			}
		}
	}
	for _, q := range d.queues {
		n, cb := n[q.idx], cb[q.idx]
		w := 0
		for _, c := range q.classList {
			w += c.waiting.Len()
			// The free set of a class holds exactly the available, logged-in, skilled agents.
			want := 0
			for _, m := range q.members {
				if m.loggedIn && m.a.state == Available && m.a.skills.covers(&c.mask) {
					want++
					if !has(c.free, m.a) {
						return fmt.Errorf("queue %s: free agent %s missing from its class", q.cfg.Name, m.a.cfg.ID)
					}
				}
			}
			if c.free.Len() != want {
				return fmt.Errorf("queue %s: class holds %d free agents, want %d", q.cfg.Name, c.free.Len(), want)
			}
		}
		if q.all.Len() != n || q.callbacks != cb || w+q.ringing.Len() != n {
			return fmt.Errorf("queue %s: sizes all %d waiting %d ringing %d callbacks %d; want %d contacts, %d callbacks",
				q.cfg.Name, q.all.Len(), w, q.ringing.Len(), q.callbacks, n, cb)
		}
	}
	for i := 1; i < len(d.timers); i++ {
		if d.timers.less(i, (i-1)/2) {
			return fmt.Errorf("timer heap out of order at %d", i)
		}
	}
	if len(d.timers) > 0 && !d.timers[0].at.After(now) {
		return fmt.Errorf("a due timer was left unprocessed")
	}
	return nil
}

func has[T comparable](s *orderedSet[T], v T) bool {
	k := s.Rank(v)
	return k < s.Len() && s.At(k) == v
}
