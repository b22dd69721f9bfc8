package acd

import "time"

// agentOrder is the order of a class's free agents under q's strategy: the first eligible agent
// in this order is the one offered the call. Every order ends with a unique tie-break.
func agentOrder(q *queue, mask *skillSet) func(a, b *agent) bool {
	qi := q.idx
	switch q.cfg.Strategy {
	case FewestCalls:
		return func(a, b *agent) bool {
			if a.sessionCalls != b.sessionCalls {
				return a.sessionCalls < b.sessionCalls
			}
			return idleLess(a, b)
		}
	case LeastTalkTime:
		return func(a, b *agent) bool {
			if a.sessionTalk != b.sessionTalk {
				return a.sessionTalk < b.sessionTalk
			}
			return idleLess(a, b)
		}
	case SkillsBased:
		return func(a, b *agent) bool {
			if sa, sb := a.score(mask), b.score(mask); sa != sb {
				return sa > sb
			}
			return idleLess(a, b)
		}
	case RoundRobin, Random:
		return func(a, b *agent) bool { return a.memberOf[qi].pos < b.memberOf[qi].pos }
	default: // LongestIdle, RingAll
		return idleLess
	}
}

// routeEntry offers a waiting contact to the free agent(s) its queue's strategy picks, skipping
// agents it has just missed with. It is the decision made when a contact becomes routable.
func (d *Distributor) routeEntry(e *entry) {
	if e.state != CallWaiting {
		return
	}
	free := e.cls.free
	n := free.Len()
	if n == 0 {
		return
	}
	q, now := e.q, d.now
	var pick *agent
	first := func(a *agent) bool {
		if e.excludes(a, now) {
			return true
		}
		pick = a
		return false
	}
	switch q.cfg.Strategy {
	case RingAll:
		var picks []*agent
		free.Ascend(func(a *agent) bool {
			if !e.excludes(a, now) {
				picks = append(picks, a)
			}
			return true
		})
		if len(picks) > 0 {
			d.offer(e, picks...)
		}
		return
	case Random:
		k := d.rnd.IntN(n)
		for i := range n {
			if a := free.At((k + i) % n); !e.excludes(a, now) {
				pick = a
				break
			}
		}
	case RoundRobin:
		last, qi := q.rrLast, q.idx
		free.AscendFrom(func(a *agent) bool { return a.memberOf[qi].pos > last }, first)
		if pick == nil {
			free.Ascend(first)
		}
	default:
		if a, _ := free.Min(); !e.excludes(a, now) {
			pick = a
		} else {
			free.Ascend(first)
		}
	}
	if pick != nil {
		d.offer(e, pick)
	}
}

// routeAgent offers a newly free agent the best contact it can serve across all the queues it
// is logged into: highest priority, then earliest original arrival, then enqueue order. It is
// the decision made when an agent becomes free; it looks only at the heads of the agent's
// classes.
func (d *Distributor) routeAgent(a *agent) {
	if a.state != Available {
		return
	}
	now := d.now
	var best *entry
	for _, m := range a.members {
		if !m.loggedIn {
			continue
		}
		for _, c := range m.classes {
			if c.waiting.Len() == 0 {
				continue
			}
			e, _ := c.waiting.Min()
			if best != nil && !entryLess(e, best) {
				continue // nothing in this class beats best
			}
			if e.excludes(a, now) {
				e = nil
				c.waiting.Ascend(func(x *entry) bool {
					if best != nil && !entryLess(x, best) {
						return false
					}
					if !x.excludes(a, now) {
						e = x
						return false
					}
					return true
				})
				if e == nil {
					continue
				}
			}
			best = e
		}
	}
	if best != nil {
		d.offer(best, a)
	}
}

// offer rings agents for e.
func (d *Distributor) offer(e *entry, agents ...*agent) {
	q := e.q
	e.cls.waiting.Remove(e)
	e.state = CallRinging
	q.ringing.Insert(e)
	deadline := d.now.Add(q.cfg.RingTimeout)
	for _, a := range agents {
		d.ring(e, a, deadline)
		if q.cfg.Strategy == RoundRobin {
			q.rrLast = a.memberOf[q.idx].pos
		}
	}
}

// ring offers e to a until deadline: a is reserved, the ring timer set, the Offer emitted.
func (d *Distributor) ring(e *entry, a *agent, deadline time.Time) *offer {
	q := e.q
	o := &offer{e: e, a: a, at: d.now, deadline: deadline, active: true}
	e.offers = append(e.offers, o)
	a.offer = o
	d.setState(a, Reserved, "")
	d.schedule(deadline, timerRing, nil, a, o, 0)
	d.emit(Offer{
		CallID: e.call.ID, AgentID: a.cfg.ID, Queue: q.cfg.Name, Kind: e.call.Kind,
		CustomerID: e.call.CustomerID, Priority: e.prio, Waited: d.now.Sub(e.arrived),
		RingTimeout: q.cfg.RingTimeout, Deadline: deadline,
	})
	return o
}
