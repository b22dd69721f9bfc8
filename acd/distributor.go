package acd

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"sync"
	"time"
)

// Distributor is the automatic call distributor. See the package doc for its concurrency
// and time rules.
//
// Every mutating method returns the actions that resulted, in order, including those of timers
// that fell due before the call; they must be carried out even when the method also returns an
// error (the error concerns only the request itself, which then changed nothing).
type Distributor struct {
	mu         sync.Mutex
	clk        Clock
	rnd        Rand
	rndState   randState // rnd's state for Checkpoint; nil when it cannot be saved
	cfgSum     [32]byte  // SHA-256 of the configuration (Checkpoint)
	obs        Observer
	maxMisses  int
	windows    []time.Duration
	resolution time.Duration

	now time.Time // virtual time: never goes back

	queues      []*queue
	queueByName map[string]*queue
	agents      []*agent
	agentByID   map[string]*agent
	skillIdx    map[string]int

	calls  map[string]*entry
	timers timerHeap
	seq    uint64 // enqueue sequence
	tseq   uint64 // timer sequence

	acts    []Action
	samples []sample

	agentsVersion uint64 // bumped on every agent transition (wait-estimate cache key)
}

type queue struct {
	idx       int
	cfg       QueueConfig
	skills    skillSet
	overflow  *queue
	members   []*membership
	classes   map[skillSet]*class
	classList []*class
	all       *orderedSet[*entry] // waiting and ringing, in service order
	ringing   *orderedSet[*entry]
	callbacks int // callbacks among all
	rrLast    int // member position of the last round-robin pick; -1 before any
	recent    []time.Duration
	recentN   int
	stats     *queueStats

	relVersion uint64
	relAt      time.Time
	relValid   bool
	rel        []time.Duration
}

// class is the set of a queue's contacts that need the same skills, with the free agents who
// have them.
type class struct {
	q       *queue
	mask    skillSet
	waiting *orderedSet[*entry]
	free    *orderedSet[*agent]
}

const recentHandleSamples = 20

// Option configures a Distributor.
type Option func(*Distributor)

// WithRand sets the source of the random strategy (default: a PCG seeded from the clock).
// Checkpoint can save the generator's state only if r also implements
// encoding.BinaryMarshaler and encoding.BinaryUnmarshaler; a *math/rand/v2.Rand does not:
// give its source with WithRandSource instead.
func WithRand(r Rand) Option {
	return func(d *Distributor) {
		d.rnd = r
		d.rndState, _ = r.(randState)
	}
}

// WithRandSource draws the random strategy's choices from rand.New(src). A source that
// implements encoding.BinaryMarshaler and encoding.BinaryUnmarshaler (*rand.PCG, *rand.ChaCha8)
// is saved by Checkpoint and restored by NewFromCheckpoint.
func WithRandSource(src rand.Source) Option {
	return func(d *Distributor) {
		d.rnd = rand.New(src)
		d.rndState, _ = src.(randState)
	}
}

// WithObserver receives wait and handle-time samples for histograms.
func WithObserver(o Observer) Option { return func(d *Distributor) { d.obs = o } }

// WithWindows sets the rolling windows of QueueStats (default 15m, 1h, 24h).
func WithWindows(ws ...time.Duration) Option {
	return func(d *Distributor) { d.windows = slices.Clone(ws) }
}

// WithStatsResolution sets the bucket width of the rolling windows (default 1m).
func WithStatsResolution(res time.Duration) Option {
	return func(d *Distributor) { d.resolution = res }
}

// New builds a distributor from a valid configuration. Agents with AutoLogin are logged into
// all their queues.
func New(cfg Config, clk Clock, opts ...Option) (*Distributor, error) {
	err := cfg.Validate()
	if err != nil {
		return nil, err
	}
	if clk == nil {
		clk = SystemClock{}
	}
	d := &Distributor{
		clk:         clk,
		windows:     []time.Duration{15 * time.Minute, time.Hour, 24 * time.Hour},
		resolution:  time.Minute,
		queueByName: map[string]*queue{},
		agentByID:   map[string]*agent{},
		skillIdx:    map[string]int{},
		calls:       map[string]*entry{},
	}
	for _, o := range opts {
		o(d)
	}
	if d.resolution <= 0 {
		return nil, fmt.Errorf("acd: WithStatsResolution: must be positive, got %v", d.resolution)
	}
	longest := d.resolution
	for _, w := range d.windows {
		if w <= 0 {
			return nil, fmt.Errorf("acd: WithWindows: windows must be positive, got %v", w)
		}
		longest = max(longest, w)
	}
	d.now = clk.Now()
	if d.rnd == nil {
		src := rand.NewPCG(uint64(d.now.UnixNano()), 0x0acd)
		d.rnd, d.rndState = rand.New(src), src
	}
	if d.cfgSum, err = configSum(cfg); err != nil {
		return nil, err
	}
	d.maxMisses = cfg.MaxMisses
	if d.maxMisses == 0 {
		d.maxMisses = DefaultMaxMisses
	}
	intern := func(s string) int {
		i, ok := d.skillIdx[s]
		if !ok {
			i = len(d.skillIdx)
			d.skillIdx[s] = i
		}
		return i
	}
	for i, qc := range cfg.Queues {
		qc = qc.withDefaults()
		q := &queue{
			idx: i, cfg: qc, classes: map[skillSet]*class{}, rrLast: -1,
			all: newOrderedSet(entryLess), ringing: newOrderedSet(entryLess),
			recent: make([]time.Duration, 0, recentHandleSamples),
			stats:  newQueueStats(d.resolution, longest),
		}
		for _, s := range qc.Skills {
			q.skills.add(intern(s))
		}
		d.queues = append(d.queues, q)
		d.queueByName[qc.Name] = q
	}
	for _, q := range d.queues {
		if q.cfg.Overflow.Queue != "" {
			q.overflow = d.queueByName[q.cfg.Overflow.Queue]
		}
	}
	for i, ac := range cfg.Agents {
		a := &agent{idx: i, cfg: ac, since: d.now, memberOf: make([]*membership, len(d.queues)), pauseTime: map[string]time.Duration{}}
		a.cfg.Queues = slices.Clone(ac.Queues)
		a.cfg.Skills = map[string]int{}
		for _, s := range slices.Sorted(maps.Keys(ac.Skills)) { // sorted: the same skill indexes on every run
			lvl := ac.Skills[s]
			a.cfg.Skills[s] = lvl
			si := intern(s)
			a.skills.add(si)
			a.prof[si] = uint8(lvl)
		}
		for _, qn := range ac.Queues {
			q := d.queueByName[qn]
			m := &membership{a: a, q: q, pos: len(q.members)}
			q.members = append(q.members, m)
			a.members = append(a.members, m)
			a.memberOf[q.idx] = m
		}
		d.agents = append(d.agents, a)
		d.agentByID[ac.ID] = a
	}
	for _, q := range d.queues {
		d.classFor(q, skillSet{})
	}
	for _, a := range d.agents {
		if a.cfg.AutoLogin {
			for _, m := range a.members {
				m.loggedIn = true
			}
			d.setState(a, Available, "")
		}
	}
	d.acts = nil
	return d, nil
}

// classFor returns q's class for contacts needing extra skills besides q's own.
func (d *Distributor) classFor(q *queue, extra skillSet) *class {
	mask := q.skills.union(extra)
	if c := q.classes[mask]; c != nil {
		return c
	}
	c := &class{q: q, mask: mask, waiting: newOrderedSet(entryLess)}
	c.free = newOrderedSet(agentOrder(q, &c.mask))
	for _, m := range q.members {
		if m.a.skills.covers(&mask) {
			m.classes = append(m.classes, c)
			if m.loggedIn && m.a.state == Available {
				c.free.Insert(m.a)
			}
		}
	}
	q.classes[mask] = c
	q.classList = append(q.classList, c)
	return c
}

// ---- lock, time and actions ----

// begin takes the lock and brings the distributor up to the clock.
func (d *Distributor) begin() {
	d.mu.Lock()
	now := d.clk.Now()
	if now.Before(d.now) {
		now = d.now
	}
	d.runTimers(now)
	d.now = now
}

// end runs timers the call made due, releases the lock, then feeds the observer.
func (d *Distributor) end() []Action {
	d.runTimers(d.now)
	acts, samples := d.acts, d.samples
	d.acts, d.samples = nil, nil
	d.mu.Unlock()
	if d.obs != nil {
		for _, s := range samples {
			if s.wait != nil {
				d.obs.ObserveWait(*s.wait)
			} else {
				d.obs.ObserveHandle(*s.handle)
			}
		}
	}
	return acts
}

// readNow is the time used by read-side calls (which do not process timers).
func (d *Distributor) readNow() time.Time {
	now := d.clk.Now()
	if now.Before(d.now) {
		return d.now
	}
	return now
}

func (d *Distributor) emit(a Action) { d.acts = append(d.acts, a) }

// left counts a contact leaving q after wait with outcome o, in q's statistics and for the
// observer: the counters are those of its wait sample (WaitSample.Counters).
func (d *Distributor) left(q *queue, e *entry, o Outcome, wait time.Duration) {
	s := WaitSample{
		Queue: q.cfg.Name, CallID: e.call.ID, Kind: e.call.Kind, Outcome: o, Wait: wait,
		Short: IsShortAbandon(o, wait, q.cfg.ShortAbandon),
	}
	c := s.Counters(q.cfg.ServiceLevel)
	q.stats.add(d.now, &c)
	if d.obs != nil {
		d.samples = append(d.samples, sample{wait: &s})
	}
}

func (d *Distributor) schedule(at time.Time, kind timerKind, e *entry, a *agent, o *offer, tok uint64) {
	d.tseq++
	d.timers.push(timer{ns: at.UnixNano(), at: at, seq: d.tseq, kind: kind, tok: tok, e: e, a: a, o: o})
}

// runTimers fires every timer due by until, in deadline order, each at its deadline.
func (d *Distributor) runTimers(until time.Time) {
	for len(d.timers) > 0 && !d.timers[0].at.After(until) {
		t := d.timers.pop()
		if t.at.After(d.now) {
			d.now = t.at
		}
		d.fire(t)
	}
}

func (d *Distributor) fire(t timer) {
	switch t.kind {
	case timerRing:
		if t.o.active {
			d.miss(t.o, NoAnswer, true)
		}
		return
	case timerWrapUp:
		if t.a.state == WrapUp && t.a.wrapTok == t.tok {
			d.endWork(t.a)
		}
		return
	case timerRetry:
		if t.e.alive && t.e.state == CallWaiting {
			d.routeEntry(t.e)
		}
		return
	}
	e := t.e
	if !e.alive || e.tok != t.tok || e.state == CallConnected {
		return
	}
	switch t.kind {
	case timerOverflow:
		if e.state == CallRinging {
			e.pendingOverflow = true
		} else {
			d.overflow(e)
		}
	case timerMaxWait:
		if e.call.Kind != KindCaller {
			return
		}
		if e.state == CallRinging {
			e.pendingTimeout = true
		} else {
			d.timeout(e)
		}
	case timerAnnounce:
		d.announce(e)
	case timerCallback:
		d.callbackCheck(e)
	case timerPriority:
		d.agePriority(e)
	}
}

// ---- calls ----

// Enqueue puts a contact into its queue and routes it. A callback (Kind = KindCallback) is
// routed like a caller but gets no announcements, callback offers or max-wait timeout.
func (d *Distributor) Enqueue(c Call) ([]Action, error) {
	d.begin()
	err := d.enqueue(c)
	return d.end(), err
}

func (d *Distributor) enqueue(c Call) error { return d.enqueueWith(c, nil) }

// enqueueWith enqueues c; agents in excluded who missed it lately are still skipped (a caller
// transferred back into line keeps the retry delay of their earlier misses).
func (d *Distributor) enqueueWith(c Call, excluded []exclusion) error {
	if err := c.validate(); err != nil {
		return fmt.Errorf("acd: enqueue: %w", err)
	}
	q := d.queueByName[c.Queue]
	if q == nil {
		return fmt.Errorf("acd: enqueue call %q: %w %q", c.ID, ErrUnknownQueue, c.Queue)
	}
	if _, dup := d.calls[c.ID]; dup {
		return fmt.Errorf("acd: enqueue call %q: %w", c.ID, ErrDuplicateCall)
	}
	extra, err := d.skillsOf(c)
	if err != nil {
		return err
	}
	if c.Kind == "" {
		c.Kind = KindCaller
	}
	if c.ArrivedAt.IsZero() || c.ArrivedAt.After(d.now) {
		c.ArrivedAt = d.now
	}
	c.Skills = slices.Clone(c.Skills)
	e := &entry{call: c, arrived: c.ArrivedAt, extra: extra, alive: true, excluded: excluded}
	d.seq++
	e.seq = d.seq
	d.calls[c.ID] = e
	if c.Kind == KindCaller {
		q.stats.add(d.now, &Counters{Entered: 1})
	} else {
		q.stats.add(d.now, &Counters{CallbacksEntered: 1})
	}
	d.place(e, q, d.now, true)
	return nil
}

func (d *Distributor) skillsOf(c Call) (skillSet, error) {
	var s skillSet
	for _, name := range c.Skills {
		i, ok := d.skillIdx[name]
		if !ok {
			return s, fmt.Errorf("acd: enqueue call %q: %w %q (no agent or queue has it)", c.ID, ErrUnknownSkill, name)
		}
		s.add(i)
	}
	return s, nil
}

// place puts e into q as a waiting contact that entered q at `at`, schedules its timers and,
// if route, offers it.
func (d *Distributor) place(e *entry, q *queue, at time.Time, route bool) {
	e.q, e.cls, e.enqueuedAt, e.state = q, d.classFor(q, e.extra), at, CallWaiting
	e.tok++
	e.callbackChecks, e.pendingOverflow, e.pendingTimeout = 0, false, false
	e.prio, e.nextRule = q.effectivePriority(e.call.Priority, d.now.Sub(e.arrived))
	d.insertEntry(e)
	tok := e.tok
	if q.overflow != nil {
		d.schedule(at.Add(q.cfg.Overflow.After), timerOverflow, e, nil, nil, tok)
	}
	if e.call.Kind == KindCaller {
		if q.cfg.MaxWait > 0 {
			d.schedule(at.Add(q.cfg.MaxWait), timerMaxWait, e, nil, nil, tok)
		}
		if q.cfg.AnnounceInterval > 0 {
			d.schedule(at.Add(q.cfg.AnnounceInterval), timerAnnounce, e, nil, nil, tok)
		}
		if q.cfg.Callback.After > 0 {
			d.schedule(at.Add(q.cfg.Callback.After), timerCallback, e, nil, nil, tok)
		}
	}
	d.scheduleNextRule(e)
	if route {
		d.routeEntry(e)
	}
}

func (q *queue) effectivePriority(base int, waited time.Duration) (prio, next int) {
	prio, next = base, len(q.cfg.PriorityRules)
	for i, r := range q.cfg.PriorityRules {
		if r.After > waited {
			next = i
			break
		}
		prio = max(prio, r.Priority)
	}
	return prio, next
}

func (d *Distributor) scheduleNextRule(e *entry) {
	if rules := e.q.cfg.PriorityRules; e.nextRule < len(rules) {
		d.schedule(e.arrived.Add(rules[e.nextRule].After), timerPriority, e, nil, nil, e.tok)
	}
}

func (d *Distributor) agePriority(e *entry) {
	prio, next := e.q.effectivePriority(e.call.Priority, d.now.Sub(e.arrived))
	if prio != e.prio {
		d.removeEntry(e)
		e.prio = prio
		d.insertEntry(e)
	}
	e.nextRule = next
	d.scheduleNextRule(e)
}

func (d *Distributor) insertEntry(e *entry) {
	e.q.all.Insert(e)
	switch e.state {
	case CallWaiting:
		e.cls.waiting.Insert(e)
	case CallRinging:
		e.q.ringing.Insert(e)
	}
	if e.call.Kind == KindCallback {
		e.q.callbacks++
	}
}

func (d *Distributor) removeEntry(e *entry) {
	e.q.all.Remove(e)
	switch e.state {
	case CallWaiting:
		e.cls.waiting.Remove(e)
	case CallRinging:
		e.q.ringing.Remove(e)
	}
	if e.call.Kind == KindCallback {
		e.q.callbacks--
	}
}

// leave removes a waiting or ringing contact for good and withdraws its offers.
func (d *Distributor) leave(e *entry, o Outcome) {
	q := e.q
	d.removeEntry(e)
	e.alive = false
	e.tok++
	delete(d.calls, e.call.ID)
	offers := e.offers
	e.offers = nil
	wait := d.now.Sub(e.arrived)
	d.left(q, e, o, wait)
	for _, of := range offers {
		d.withdraw(of, CancelCallerLeft)
	}
}

// Abandon removes a waiting (or ringing) contact: the caller hung up, or a callback was
// cancelled. Offers in progress are cancelled.
func (d *Distributor) Abandon(callID string) ([]Action, error) {
	d.begin()
	err := d.abandon(callID)
	return d.end(), err
}

func (d *Distributor) abandon(callID string) error {
	e, err := d.call("abandon", callID)
	if err != nil {
		return err
	}
	if e.state == CallConnected {
		return fmt.Errorf("acd: abandon call %q: %w: connected to agent %q; use Hangup", callID, ErrNotWaiting, e.agent.cfg.ID)
	}
	d.leave(e, OutcomeAbandoned)
	return nil
}

func (d *Distributor) call(op, id string) (*entry, error) {
	e := d.calls[id]
	if e == nil {
		return nil, fmt.Errorf("acd: %s call %q: %w", op, id, ErrUnknownCall)
	}
	return e, nil
}

func (d *Distributor) agent(op, id string) (*agent, error) {
	a := d.agentByID[id]
	if a == nil {
		return nil, fmt.Errorf("acd: %s: %w %q", op, ErrUnknownAgent, id)
	}
	return a, nil
}

func (d *Distributor) timeout(e *entry) {
	q := e.q
	d.emit(Timeout{CallID: e.call.ID, Queue: q.cfg.Name, Waited: d.now.Sub(e.arrived)})
	d.leave(e, OutcomeTimeout)
}

func (d *Distributor) overflow(e *entry) {
	from, to := e.q, e.q.overflow
	wait := d.now.Sub(e.arrived)
	d.removeEntry(e)
	if e.call.Kind == KindCaller {
		d.left(from, e, OutcomeOverflowed, wait)
		to.stats.add(d.now, &Counters{Entered: 1})
	}
	d.emit(Overflowed{CallID: e.call.ID, From: from.cfg.Name, To: to.cfg.Name})
	d.place(e, to, d.now, true)
}

func (d *Distributor) announce(e *entry) {
	q := e.q
	if e.call.Kind != KindCaller {
		return
	}
	if e.state == CallWaiting {
		pos, ewt := d.position(e, d.now)
		d.emit(Announce{CallID: e.call.ID, Queue: q.cfg.Name, Position: pos, EstimatedWait: ewt})
	}
	d.schedule(d.now.Add(q.cfg.AnnounceInterval), timerAnnounce, e, nil, nil, e.tok)
}

func (d *Distributor) callbackCheck(e *entry) {
	p := e.q.cfg.Callback
	if e.call.Kind != KindCaller {
		return
	}
	if e.state == CallWaiting {
		ewt := d.estimate(e, d.now)
		if p.MinEstimatedWait == 0 || ewt == UnknownWait || ewt >= p.MinEstimatedWait {
			d.emit(OfferCallback{CallID: e.call.ID, Queue: e.q.cfg.Name, Waited: d.now.Sub(e.arrived), EstimatedWait: ewt})
		}
	}
	e.callbackChecks++
	if p.Repeat > 0 {
		d.schedule(d.now.Add(p.Repeat), timerCallback, e, nil, nil, e.tok)
	}
}

// ConvertToCallback turns a waiting caller into a callback that keeps the caller's place:
// same arrival time, priority and position. The caller's channel may then hang up; an offer
// in progress is cancelled and the callback is routed again (possibly to the same agent).
func (d *Distributor) ConvertToCallback(callID string) ([]Action, error) {
	d.begin()
	err := d.convertToCallback(callID)
	return d.end(), err
}

func (d *Distributor) convertToCallback(callID string) error {
	e, err := d.call("convert to callback", callID)
	if err != nil {
		return err
	}
	if e.state == CallConnected {
		return fmt.Errorf("acd: convert call %q to callback: %w", callID, ErrNotWaiting)
	}
	if e.call.Kind == KindCallback {
		return fmt.Errorf("acd: convert call %q to callback: %w: it is already a callback", callID, ErrInvalidCall)
	}
	q := e.q
	wait := d.now.Sub(e.arrived)
	d.left(q, e, OutcomeCallback, wait)
	e.call.Kind = KindCallback
	q.callbacks++
	for _, o := range slices.Clone(e.offers) {
		d.withdraw(o, CancelCallback)
	}
	return nil
}

// Answered records that agentID answered the offer of callID: the wiring bridges the legs.
// With ring-all, the other agents' offers are cancelled. If the offer has already ended (its
// ring timeout fell due first, the caller left, another agent answered), the error wraps
// ErrNoOffer and the wiring must hang up the agent's leg instead of bridging it.
func (d *Distributor) Answered(callID, agentID string) ([]Action, error) {
	d.begin()
	err := d.answered(callID, agentID)
	return d.end(), err
}

func (d *Distributor) pendingOffer(op, callID, agentID string) (*offer, error) {
	e, err := d.call(op, callID)
	if err != nil {
		return nil, err
	}
	a, err := d.agent(op, agentID)
	if err != nil {
		return nil, err
	}
	if a.offer == nil || a.offer.e != e {
		return nil, fmt.Errorf("acd: %s call %q: %w to agent %q (agent is %s)", op, callID, ErrNoOffer, agentID, a.state)
	}
	return a.offer, nil
}

func (d *Distributor) answered(callID, agentID string) error {
	o, err := d.pendingOffer("answered", callID, agentID)
	if err != nil {
		return err
	}
	if o.e.state == CallConnected { // a transfer from another agent, or a consultation
		if o.consult {
			d.answeredConsult(o)
		} else {
			d.answeredTransfer(o)
		}
		return nil
	}
	e, a, q := o.e, o.a, o.e.q
	o.active = false
	others := slices.DeleteFunc(e.offers, func(x *offer) bool { return x == o })
	e.offers = nil
	d.removeEntry(e)
	e.state, e.agent, e.answeredAt = CallConnected, a, d.now
	e.tok++
	wait := d.now.Sub(e.arrived)
	d.left(q, e, OutcomeAnswered, wait)
	a.offer = nil
	a.consecutiveMisses = 0
	a.sessionCalls++
	a.callsHandled++
	a.work = &work{callID: callID, q: q, kind: e.call.Kind, customerID: e.call.CustomerID, answeredAt: d.now}
	d.setState(a, OnCall, "")
	for _, x := range others {
		d.withdraw(x, CancelAnsweredElsewhere)
	}
	return nil
}

// OfferFailed records that the offer of callID to agentID failed. The caller keeps their place
// and goes to the next agent; the agent is skipped for this caller for the queue's retry delay,
// its miss is counted by reason, and it is paused ("no-answer") after MaxMisses in a row.
func (d *Distributor) OfferFailed(callID, agentID string, reason MissReason) ([]Action, error) {
	d.begin()
	err := d.offerFailed(callID, agentID, reason)
	return d.end(), err
}

func (d *Distributor) offerFailed(callID, agentID string, reason MissReason) error {
	switch reason {
	case NoAnswer, Busy, Rejected, Unreachable:
	default:
		return fmt.Errorf("acd: offer failed for call %q: unknown miss reason %q; want %q, %q, %q or %q",
			callID, reason, NoAnswer, Busy, Rejected, Unreachable)
	}
	o, err := d.pendingOffer("offer failed", callID, agentID)
	if err != nil {
		return err
	}
	d.miss(o, reason, false)
	return nil
}

// miss ends an offer the agent did not take.
func (d *Distributor) miss(o *offer, reason MissReason, timedOut bool) {
	e, a := o.e, o.a
	o.active = false
	if timedOut {
		d.emit(CancelOffer{CallID: e.call.ID, AgentID: a.cfg.ID, Reason: CancelRingTimeout})
	}
	e.offers = slices.DeleteFunc(e.offers, func(x *offer) bool { return x == o })
	a.misses.add(reason)
	a.consecutiveMisses++
	until := d.now.Add(e.q.cfg.RetryDelay)
	e.excluded = slices.DeleteFunc(e.excluded, func(x exclusion) bool { return x.a == a || !d.now.Before(x.until) })
	e.excluded = append(e.excluded, exclusion{a: a, until: until})
	d.schedule(until, timerRetry, e, nil, nil, 0)
	d.finishWork(a, d.maxMisses > 0 && a.consecutiveMisses >= d.maxMisses)
	if e.state == CallRinging && len(e.offers) == 0 {
		d.backToWaiting(e)
	}
	d.routeAgent(a)
}

// withdraw cancels an offer that is nobody's miss.
func (d *Distributor) withdraw(o *offer, reason CancelReason) {
	e, a := o.e, o.a
	o.active = false
	d.emit(CancelOffer{CallID: e.call.ID, AgentID: a.cfg.ID, Reason: reason})
	e.offers = slices.DeleteFunc(e.offers, func(x *offer) bool { return x == o })
	d.finishWork(a, false)
	if e.alive && e.state == CallRinging && len(e.offers) == 0 {
		d.backToWaiting(e)
	}
	d.routeAgent(a)
}

// backToWaiting returns a contact whose offers all ended to the waiting line, in its place.
func (d *Distributor) backToWaiting(e *entry) {
	e.q.ringing.Remove(e)
	e.state = CallWaiting
	e.cls.waiting.Insert(e)
	switch {
	case e.pendingTimeout && e.call.Kind == KindCaller: // not if it became a callback meanwhile
		d.timeout(e)
	case e.pendingOverflow:
		d.overflow(e)
	default:
		d.routeEntry(e)
	}
}

// Hangup records the end of a connected call (either side hung up). The agent goes to wrap-up
// for the wrap-up time of the queue the call was answered from, then becomes available.
func (d *Distributor) Hangup(callID string) ([]Action, error) {
	d.begin()
	err := d.hangup(callID)
	return d.end(), err
}

func (d *Distributor) hangup(callID string) error {
	e, err := d.call("hangup", callID)
	if err != nil {
		return err
	}
	if e.state != CallConnected {
		return fmt.Errorf("acd: hangup call %q: %w (it is %s; use Abandon)", callID, ErrNotConnected, e.state)
	}
	for _, o := range slices.Clone(e.offers) { // a transfer still ringing
		d.withdraw(o, CancelCallerLeft)
	}
	e.consultant = nil // a consultation goes on between the agents until EndConsult
	delete(d.calls, callID)
	e.alive = false
	d.endPart(e.agent, e)
	return nil
}

// endWork closes a handled call at the end of its wrap-up (or at hangup without wrap-up).
func (d *Distributor) endWork(a *agent) {
	w := a.work
	talk, wrap := w.hungUpAt.Sub(w.answeredAt), d.now.Sub(w.hungUpAt)
	w.q.stats.add(d.now, &Counters{Handled: 1, TalkTime: talk, WrapUpTime: wrap, HoldTime: w.hold})
	w.q.pushRecent(talk + wrap)
	if d.obs != nil {
		d.samples = append(d.samples, sample{handle: &HandleSample{
			Queue: w.q.cfg.Name, CallID: w.callID, AgentID: a.cfg.ID, Kind: w.kind, Talk: talk, WrapUp: wrap,
		}})
	}
	a.work = nil
	a.wrapUntil = time.Time{}
	d.finishWork(a, false)
	d.routeAgent(a)
}

func (q *queue) pushRecent(h time.Duration) {
	if len(q.recent) < recentHandleSamples {
		q.recent = append(q.recent, h)
	} else {
		q.recent[q.recentN%recentHandleSamples] = h
	}
	q.recentN++
}

func (q *queue) handleEstimate() time.Duration {
	if len(q.recent) == 0 {
		return q.cfg.DefaultHandleTime
	}
	var sum time.Duration
	for _, h := range q.recent {
		sum += h
	}
	return sum / time.Duration(len(q.recent))
}

// Tick processes the timers due by now and returns their actions.
func (d *Distributor) Tick() []Action {
	d.begin()
	return d.end()
}

// NextDeadline is when the next timer falls due; the wiring calls Tick then.
func (d *Distributor) NextDeadline() (time.Time, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for len(d.timers) > 0 {
		t := d.timers[0]
		if d.timerLive(t) {
			return t.at, true
		}
		d.timers.pop()
	}
	return time.Time{}, false
}

// timerLive reports whether a timer may do anything when it fires. NextDeadline drops the
// others, so it must not drop one that could still act: whether the wiring asks for the next
// deadline, and when, must not change the decisions (nodes sharing a distributor each ask at
// their own times).
func (d *Distributor) timerLive(t timer) bool {
	switch t.kind {
	case timerRing:
		return t.o.active
	case timerWrapUp:
		return t.a.state == WrapUp && t.a.wrapTok == t.tok
	case timerRetry: // a contact being rung may be waiting again when it falls due
		return t.e.alive && t.e.state != CallConnected
	}
	return t.e.alive && t.e.tok == t.tok && t.e.state != CallConnected
}

// ---- agents ----

// Login logs an agent into the given queues (all its configured queues when none are given).
func (d *Distributor) Login(agentID string, queues ...string) ([]Action, error) {
	d.begin()
	err := d.login(agentID, queues)
	return d.end(), err
}

func (d *Distributor) login(agentID string, queues []string) error {
	a, err := d.agent("login", agentID)
	if err != nil {
		return err
	}
	if a.state != LoggedOut {
		return fmt.Errorf("acd: login agent %q: %w: already logged in (%s)", agentID, ErrInvalidTransition, a.state)
	}
	ms := a.members
	if len(queues) > 0 {
		ms = nil
		for _, qn := range queues {
			q := d.queueByName[qn]
			if q == nil {
				return fmt.Errorf("acd: login agent %q: %w %q", agentID, ErrUnknownQueue, qn)
			}
			m := a.memberOf[q.idx]
			if m == nil {
				return fmt.Errorf("acd: login agent %q: %w %q (configured queues: %v)", agentID, ErrNotMember, qn, a.cfg.Queues)
			}
			ms = append(ms, m)
		}
	}
	for _, m := range ms {
		m.loggedIn = true
	}
	a.sessionCalls, a.sessionTalk, a.consecutiveMisses = 0, 0, 0
	d.setState(a, Available, "")
	d.routeAgent(a)
	return nil
}

// Logout logs an agent out. An offer being rung is cancelled (the caller keeps their place);
// an agent on a call or in wrap-up is logged out when that work ends.
func (d *Distributor) Logout(agentID string) ([]Action, error) {
	d.begin()
	err := d.logoutReq(agentID)
	return d.end(), err
}

func (d *Distributor) logoutReq(agentID string) error {
	a, err := d.agent("logout", agentID)
	if err != nil {
		return err
	}
	switch a.state {
	case LoggedOut:
		return fmt.Errorf("acd: logout agent %q: %w: not logged in", agentID, ErrInvalidTransition)
	case Available, Paused:
		d.logout(a)
	case Reserved:
		a.pendingLogout = true
		d.withdraw(a.offer, CancelAgentLoggedOut)
	default:
		a.pendingLogout = true
	}
	return nil
}

// Pause pauses an agent with a reason code. Pausing a paused agent changes the reason (the
// time of each reason is kept apart). An agent being rung, on a call or in wrap-up is paused
// when that work ends.
func (d *Distributor) Pause(agentID, reason string) ([]Action, error) {
	d.begin()
	err := d.pause(agentID, reason)
	return d.end(), err
}

func (d *Distributor) pause(agentID, reason string) error {
	a, err := d.agent("pause", agentID)
	if err != nil {
		return err
	}
	if reason == "" {
		return fmt.Errorf("acd: pause agent %q: %w: a pause needs a reason code", agentID, ErrInvalidTransition)
	}
	switch a.state {
	case LoggedOut:
		return fmt.Errorf("acd: pause agent %q: %w: not logged in", agentID, ErrInvalidTransition)
	case Available, Paused:
		d.setState(a, Paused, reason)
	default:
		a.pendingPause = reason
	}
	return nil
}

// Unpause makes a paused agent available (and clears its consecutive misses), or cancels a
// pending pause.
func (d *Distributor) Unpause(agentID string) ([]Action, error) {
	d.begin()
	err := d.unpause(agentID)
	return d.end(), err
}

func (d *Distributor) unpause(agentID string) error {
	a, err := d.agent("unpause", agentID)
	if err != nil {
		return err
	}
	switch {
	case a.state == Paused:
		a.consecutiveMisses = 0
		d.setState(a, Available, "")
		d.routeAgent(a)
	case a.pendingPause != "":
		a.pendingPause = ""
	default:
		return fmt.Errorf("acd: unpause agent %q: %w: agent is %s, not paused", agentID, ErrInvalidTransition, a.state)
	}
	return nil
}

// EndWrapUp ends an agent's wrap-up now, as its wrap-up timer's expiry would (the agent
// submitted the wrap-up form): the call is counted handled with the wrap-up time spent so
// far, and the agent moves on to a pending logout or pause, or becomes available and is
// routed. An agent not in wrap-up (the timer already ran out, or never on a call) is an
// error wrapping ErrInvalidTransition.
func (d *Distributor) EndWrapUp(agentID string) ([]Action, error) {
	d.begin()
	err := d.endWrapUp(agentID)
	return d.end(), err
}

func (d *Distributor) endWrapUp(agentID string) error {
	a, err := d.agent("end wrap-up", agentID)
	if err != nil {
		return err
	}
	if a.state != WrapUp || a.work == nil {
		return fmt.Errorf("acd: end wrap-up of agent %q: %w: agent is %s, not in wrap-up", agentID, ErrInvalidTransition, a.state)
	}
	a.wrapTok++ // the pending wrap-up timer is now stale
	d.endWork(a)
	return nil
}

// ---- read side (no timers are processed) ----

// AgentState returns an agent's current state.
func (d *Distributor) AgentState(agentID string) (AgentState, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	a, err := d.agent("agent state", agentID)
	if err != nil {
		return LoggedOut, err
	}
	return a.state, nil
}

// AgentStatus is the read-side view of an agent.
type AgentStatus struct {
	ID, Name      string
	State         AgentState
	Since         time.Time
	PauseReason   string
	PendingPause  string
	PendingLogout bool
	Queues        []string // queues logged into
	CallID        string   // offered, connected or wrap-up call
	CallQueue     string
	IdleSince     time.Time
	WrapUpUntil   time.Time
	// CallsHandled counts answered calls over the agent's whole history.
	CallsHandled int64
	// Transfers counts the calls the agent transferred, over its whole history.
	Transfers         int64
	Misses            MissCounts
	ConsecutiveMisses int
	// TimeInState and TimeInPause include the current interval up to now.
	TimeInState map[AgentState]time.Duration
	TimeInPause map[string]time.Duration
}

// Agents returns every configured agent, in configuration order.
func (d *Distributor) Agents() []AgentStatus {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := d.readNow()
	out := make([]AgentStatus, 0, len(d.agents))
	for _, a := range d.agents {
		out = append(out, d.agentStatus(a, now))
	}
	return out
}

// Agent returns one agent's status.
func (d *Distributor) Agent(agentID string) (AgentStatus, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	a, err := d.agent("agent", agentID)
	if err != nil {
		return AgentStatus{}, err
	}
	return d.agentStatus(a, d.readNow()), nil
}

func (d *Distributor) agentStatus(a *agent, now time.Time) AgentStatus {
	s := AgentStatus{
		ID: a.cfg.ID, Name: a.cfg.Name, State: a.state, Since: a.since, PauseReason: a.pauseReason,
		PendingPause: a.pendingPause, PendingLogout: a.pendingLogout, IdleSince: a.idleSince,
		WrapUpUntil: a.wrapUntil, CallsHandled: a.callsHandled, Transfers: a.transfers, Misses: a.misses,
		ConsecutiveMisses: a.consecutiveMisses,
		TimeInState:       map[AgentState]time.Duration{}, TimeInPause: map[string]time.Duration{},
	}
	for _, m := range a.members {
		if m.loggedIn {
			s.Queues = append(s.Queues, m.q.cfg.Name)
		}
	}
	switch {
	case a.offer != nil:
		s.CallID, s.CallQueue = a.offer.e.call.ID, a.offer.e.q.cfg.Name
	case a.work != nil:
		s.CallID, s.CallQueue = a.work.callID, a.work.q.cfg.Name
	}
	for st, dur := range a.timeIn {
		if dur > 0 {
			s.TimeInState[AgentState(st)] = dur
		}
	}
	if now.After(a.since) {
		s.TimeInState[a.state] += now.Sub(a.since)
	}
	for r, dur := range a.pauseTime {
		s.TimeInPause[r] = dur
	}
	if a.state == Paused && now.After(a.reasonSince) {
		s.TimeInPause[a.pauseReason] += now.Sub(a.reasonSince)
	}
	return s
}

// Position returns a waiting contact's 1-based position in its queue (contacts being rung
// included) and its estimated wait (UnknownWait when no agent is staffed).
func (d *Distributor) Position(callID string) (pos int, estimatedWait time.Duration, ok bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	e := d.calls[callID]
	if e == nil || e.state == CallConnected {
		return 0, 0, false
	}
	pos, ewt := d.position(e, d.readNow())
	return pos, ewt, true
}

// CallStatus returns a contact's status; ok is false once it has left the distributor.
func (d *Distributor) CallStatus(callID string) (CallStatus, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	e := d.calls[callID]
	if e == nil {
		return CallStatus{}, false
	}
	now := d.readNow()
	s := CallStatus{Call: e.call, Queue: e.q.cfg.Name, State: e.state, Waited: now.Sub(e.arrived), EnqueuedAt: e.enqueuedAt}
	s.Call.Skills = slices.Clone(e.call.Skills)
	switch e.state {
	case CallConnected:
		s.Agents = []string{e.agent.cfg.ID}
		s.Waited = e.answeredAt.Sub(e.arrived)
	default:
		for _, o := range e.offers {
			s.Agents = append(s.Agents, o.a.cfg.ID)
		}
		s.Position, s.EstimatedWait = d.position(e, now)
	}
	return s, true
}

// QueueStats returns the real-time statistics of one queue.
func (d *Distributor) QueueStats(name string) (QueueStats, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	q := d.queueByName[name]
	if q == nil {
		return QueueStats{}, false
	}
	return d.queueStats(q, d.readNow()), true
}

// Queues returns the statistics of every queue, in configuration order.
func (d *Distributor) Queues() []QueueStats {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := d.readNow()
	out := make([]QueueStats, 0, len(d.queues))
	for _, q := range d.queues {
		out = append(out, d.queueStats(q, now))
	}
	return out
}

func (d *Distributor) queueStats(q *queue, now time.Time) QueueStats {
	s := QueueStats{
		Queue: q.cfg.Name, At: now, Waiting: q.all.Len(), WaitingCallbacks: q.callbacks,
		Ringing: q.ringing.Len(), HandleTimeEstimate: q.handleEstimate(), Totals: q.stats.totals,
	}
	q.all.Ascend(func(e *entry) bool {
		s.OldestWait = max(s.OldestWait, now.Sub(e.arrived))
		return true
	})
	// Open agent intervals count up to now.
	open := func(c *Counters, from time.Time) {
		for _, m := range q.members {
			if !m.loggedIn {
				continue
			}
			a := m.a
			busy, counted := occupancyClass(a.state)
			start := a.since
			if from.After(start) {
				start = from
			}
			if !counted || !now.After(start) {
				continue
			}
			if busy {
				c.AgentBusyTime += now.Sub(start)
			} else {
				c.AgentIdleTime += now.Sub(start)
			}
		}
	}
	for _, m := range q.members {
		if !m.loggedIn {
			s.Agents.LoggedOut++
			continue
		}
		switch m.a.state {
		case Available:
			s.Agents.Available++
		case Reserved:
			s.Agents.Reserved++
		case OnCall:
			s.Agents.OnCall++
		case WrapUp:
			s.Agents.WrapUp++
		case Paused:
			s.Agents.Paused++
		}
	}
	open(&s.Totals, time.Time{})
	s.TotalKPIs = s.Totals.KPIs()
	for _, w := range d.windows {
		c, start := q.stats.window(now, w)
		open(&c, start)
		s.Windows = append(s.Windows, WindowStats{Window: w, Counters: c, KPIs: c.KPIs()})
	}
	return s
}
