package acd

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"
)

// State is a plain, serializable picture of a distributor: agent states with their accumulated
// times and counters, waiting contacts, and queue statistics. The wiring persists it (JSON works)
// and gives it to Restore after a restart, so pause reasons, time in state and KPIs survive.
type State struct {
	At     time.Time
	Agents []AgentRecord
	Calls  []CallRecord // waiting contacts, in enqueue order; connected calls are in AgentRecord.Call
	Queues []QueueRecord
}

// AgentRecord is one agent in a State. Intervals still open at the snapshot (Since, PauseSince)
// keep running through a restart.
type AgentRecord struct {
	ID                string
	State             AgentState
	Since             time.Time
	PauseReason       string
	PauseSince        time.Time
	PendingPause      string
	PendingLogout     bool
	Queues            []string // logged into
	IdleSince         time.Time
	OfferedCallID     string      // reserved: restored as available, the contact stays waiting
	Call              *WorkRecord // on call or in wrap-up
	CallsHandled      int64
	Transfers         int64 `json:",omitempty"`
	SessionCalls      int64
	SessionTalk       time.Duration
	ConsecutiveMisses int
	Misses            MissCounts
	TimeInState       map[AgentState]time.Duration // closed intervals
	TimeInPause       map[string]time.Duration     // closed intervals
}

// WorkRecord is the call an agent is handling.
type WorkRecord struct {
	Call        Call
	Queue       string // the queue the call was answered from
	AnsweredAt  time.Time
	HungUpAt    time.Time // zero while on call
	WrapUpUntil time.Time // zero while on call
}

// CallRecord is one waiting contact (a contact being rung is recorded as waiting).
type CallRecord struct {
	Call       Call   // Call.Queue is the queue first joined
	Queue      string // current queue
	EnqueuedAt time.Time
}

// QueueRecord holds a queue's statistics.
type QueueRecord struct {
	Name              string
	Totals            Counters
	Buckets           []BucketRecord
	RoundRobinLast    string // agent ID
	RecentHandleTimes []time.Duration
}

// BucketRecord is one time bucket of a queue's rolling windows.
type BucketRecord struct {
	Start    time.Time
	Counters Counters
}

// Snapshot returns the distributor's state (it does not process due timers).
func (d *Distributor) Snapshot() State {
	d.mu.Lock()
	defer d.mu.Unlock()
	s := State{At: d.readNow()}
	for _, a := range d.agents {
		r := AgentRecord{
			ID: a.cfg.ID, State: a.state, Since: a.since, PendingPause: a.pendingPause,
			PendingLogout: a.pendingLogout, IdleSince: a.idleSince, CallsHandled: a.callsHandled, Transfers: a.transfers,
			SessionCalls: a.sessionCalls, SessionTalk: a.sessionTalk, ConsecutiveMisses: a.consecutiveMisses,
			Misses: a.misses, TimeInState: map[AgentState]time.Duration{}, TimeInPause: maps.Clone(a.pauseTime),
		}
		if a.state == Paused {
			r.PauseReason, r.PauseSince = a.pauseReason, a.reasonSince
		}
		for _, m := range a.members {
			if m.loggedIn {
				r.Queues = append(r.Queues, m.q.cfg.Name)
			}
		}
		for st, dur := range a.timeIn {
			if dur > 0 {
				r.TimeInState[AgentState(st)] = dur
			}
		}
		if a.offer != nil {
			r.OfferedCallID = a.offer.e.call.ID
		}
		if w := a.work; w != nil {
			c := Call{ID: w.callID, Queue: w.q.cfg.Name, Kind: w.kind, CustomerID: w.customerID}
			if e := d.calls[w.callID]; e != nil {
				c = e.call
				c.Skills = slices.Clone(c.Skills)
			}
			r.Call = &WorkRecord{Call: c, Queue: w.q.cfg.Name, AnsweredAt: w.answeredAt, HungUpAt: w.hungUpAt, WrapUpUntil: a.wrapUntil}
		}
		s.Agents = append(s.Agents, r)
	}
	var waiting []*entry
	for _, e := range d.calls {
		if e.state != CallConnected {
			waiting = append(waiting, e)
		}
	}
	slices.SortFunc(waiting, func(a, b *entry) int { return cmp.Compare(a.seq, b.seq) })
	for _, e := range waiting {
		c := e.call
		c.Skills = slices.Clone(c.Skills)
		s.Calls = append(s.Calls, CallRecord{Call: c, Queue: e.q.cfg.Name, EnqueuedAt: e.enqueuedAt})
	}
	for _, q := range d.queues {
		r := QueueRecord{Name: q.cfg.Name, Totals: q.stats.totals}
		cur := q.stats.epoch(s.At)
		for _, b := range q.stats.buckets {
			if b.valid && b.epoch > cur-int64(len(q.stats.buckets)) && b.c != (Counters{}) {
				r.Buckets = append(r.Buckets, BucketRecord{Start: time.Unix(0, b.epoch*q.stats.width), Counters: b.c})
			}
		}
		slices.SortFunc(r.Buckets, func(a, b BucketRecord) int { return a.Start.Compare(b.Start) })
		if q.rrLast >= 0 {
			r.RoundRobinLast = q.members[q.rrLast].a.cfg.ID
		}
		// oldest first, so that restoring in order rebuilds the same ring
		n := len(q.recent)
		for i := range n {
			r.RecentHandleTimes = append(r.RecentHandleTimes, q.recent[(q.recentN+i)%n])
		}
		s.Queues = append(s.Queues, r)
	}
	return s
}

// Restore loads a State into a distributor that holds no calls yet (agents logged in by
// AutoLogin are overwritten by their records). Agents, queues and calls the configuration no
// longer has are skipped, and reported in the error (wrapping ErrRestoreSkipped); the rest is
// applied. An agent that was being rung comes back available and its contact waiting. The
// returned actions are the offers made once everything is in place.
func (d *Distributor) Restore(s State) ([]Action, error) {
	d.begin()
	err := d.restore(s)
	return d.end(), err
}

func (d *Distributor) restore(s State) error {
	if len(d.calls) > 0 {
		return fmt.Errorf("acd: restore: %w", ErrNotFresh)
	}
	var errs []error
	skip := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("acd: restore: "+format+": %w", append(args, ErrRestoreSkipped)...))
	}
	now := d.now
	for _, r := range s.Queues {
		q := d.queueByName[r.Name]
		if q == nil {
			skip("queue %q is not configured", r.Name)
			continue
		}
		q.stats.totals = r.Totals
		for _, b := range r.Buckets {
			if c := q.stats.slot(q.stats.epoch(b.Start)); c != nil {
				*c = b.Counters
			}
		}
		if a := d.agentByID[r.RoundRobinLast]; a != nil && a.memberOf[q.idx] != nil {
			q.rrLast = a.memberOf[q.idx].pos
		}
		q.recent, q.recentN = q.recent[:0], 0
		for _, h := range r.RecentHandleTimes {
			q.pushRecent(h)
		}
	}
	var available []*agent
	for _, r := range s.Agents {
		a := d.agentByID[r.ID]
		if a == nil {
			skip("agent %q is not configured", r.ID)
			continue
		}
		if r.State >= numStates {
			skip("agent %q: invalid state %d", r.ID, r.State)
			continue
		}
		if a.state == Available {
			d.removeFree(a)
		}
		for _, m := range a.members {
			m.loggedIn = false
		}
		for _, qn := range r.Queues {
			q := d.queueByName[qn]
			if q == nil || a.memberOf[q.idx] == nil {
				skip("agent %q: queue %q is not one of its queues", r.ID, qn)
				continue
			}
			a.memberOf[q.idx].loggedIn = true
		}
		a.timeIn = [numStates]time.Duration{}
		for st, dur := range r.TimeInState {
			if st < numStates {
				a.timeIn[st] = dur
			}
		}
		a.pauseTime = maps.Clone(r.TimeInPause)
		if a.pauseTime == nil {
			a.pauseTime = map[string]time.Duration{}
		}
		a.state, a.since = r.State, r.Since
		if a.since.IsZero() || a.since.After(now) {
			a.since = now
		}
		a.pauseReason, a.reasonSince = "", time.Time{}
		a.pendingPause, a.pendingLogout = r.PendingPause, r.PendingLogout
		a.idleSince, a.callsHandled, a.sessionCalls, a.sessionTalk = r.IdleSince, r.CallsHandled, r.SessionCalls, r.SessionTalk
		a.transfers = r.Transfers
		a.consecutiveMisses, a.misses = r.ConsecutiveMisses, r.Misses
		a.offer, a.work, a.wrapUntil = nil, nil, time.Time{}
		loggedIn := slices.ContainsFunc(a.members, func(m *membership) bool { return m.loggedIn })
		if a.state == LoggedOut {
			for _, m := range a.members {
				m.loggedIn = false
			}
		} else if !loggedIn {
			skip("agent %q: state %s without a queue; logged out", r.ID, a.state)
			a.state, a.since = LoggedOut, now
		}
		if (a.state == OnCall || a.state == WrapUp) && !d.restoreWork(a, r.Call) {
			skip("agent %q: %s without a usable call record; available", r.ID, a.state)
			d.closeInterval(a, now)
			a.state, a.since = Available, now
		}
		switch a.state {
		case Reserved: // the ring leg did not survive: back to available, idleness kept
			d.closeInterval(a, now)
			a.state, a.since = Available, now
		case Paused:
			a.pauseReason, a.reasonSince = r.PauseReason, r.PauseSince
			if a.reasonSince.IsZero() || a.reasonSince.After(now) {
				a.reasonSince = a.since
			}
		}
		if a.state == Available {
			available = append(available, a)
		}
	}
	// Free agents go into the free sets before contacts are placed (placing may create classes).
	slices.SortFunc(available, func(a, b *agent) int {
		if idleLess(a, b) {
			return -1
		}
		return 1
	})
	for _, a := range available {
		d.insertFree(a)
	}
	for _, r := range s.Calls {
		c := r.Call
		q := d.queueByName[r.Queue]
		switch {
		case c.validate() != nil:
			skip("call %q: %v", c.ID, c.validate())
			continue
		case q == nil:
			skip("call %q: queue %q is not configured", c.ID, r.Queue)
			continue
		case d.calls[c.ID] != nil:
			skip("call %q: %v", c.ID, ErrDuplicateCall)
			continue
		}
		extra, err := d.skillsOf(c)
		if err != nil {
			skip("call %q: %v", c.ID, err)
			continue
		}
		if c.Kind == "" {
			c.Kind = KindCaller
		}
		if c.ArrivedAt.IsZero() || c.ArrivedAt.After(now) {
			c.ArrivedAt = now
		}
		at := r.EnqueuedAt
		if at.IsZero() || at.After(now) || at.Before(c.ArrivedAt) {
			at = c.ArrivedAt
		}
		e := &entry{call: c, arrived: c.ArrivedAt, extra: extra, alive: true}
		d.seq++
		e.seq = d.seq
		d.calls[c.ID] = e
		d.place(e, q, at, false)
	}
	d.agentsVersion++
	// Everyone is in place: free agents take contacts in longest-idle order.
	for _, a := range available {
		d.routeAgent(a)
	}
	return errors.Join(errs...)
}

// restoreWork rebuilds the call an agent on call or in wrap-up is handling.
func (d *Distributor) restoreWork(a *agent, w *WorkRecord) bool {
	if w == nil || w.Call.ID == "" || w.AnsweredAt.IsZero() {
		return false
	}
	q := d.queueByName[w.Queue]
	if q == nil || d.calls[w.Call.ID] != nil {
		return false
	}
	kind := w.Call.Kind
	if kind == "" {
		kind = KindCaller
	}
	wk := &work{callID: w.Call.ID, q: q, kind: kind, customerID: w.Call.CustomerID, answeredAt: w.AnsweredAt, hungUpAt: w.HungUpAt}
	if a.state == OnCall {
		a.work = wk
		c := w.Call
		c.Kind = kind
		e := &entry{call: c, q: q, arrived: c.ArrivedAt, alive: true, state: CallConnected, agent: a, answeredAt: w.AnsweredAt}
		d.seq++
		e.seq = d.seq
		e.cls = d.classFor(q, skillSet{})
		d.calls[c.ID] = e
		return true
	}
	if w.HungUpAt.IsZero() || w.WrapUpUntil.IsZero() {
		return false
	}
	a.work = wk
	a.wrapUntil = w.WrapUpUntil
	a.wrapTok++
	d.schedule(a.wrapUntil, timerWrapUp, nil, a, nil, a.wrapTok)
	return true
}
