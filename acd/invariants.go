package acd

import (
	"fmt"
	"slices"
)

// CheckInvariants verifies the distributor's internal invariants: agent states agree with
// their offers and work, every contact is filed where its state says, the free sets of the
// skill classes hold exactly the available agents, nobody waits past a max wait or an
// overflow time, routing is saturated and no due timer is left. It returns the first
// violation found, nil if none. It is for tests and debugging (it walks the whole state); it
// takes the distributor's lock.
func (d *Distributor) CheckInvariants() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.checkInternal()
}

// checkInternal is CheckInvariants with the lock held.
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
