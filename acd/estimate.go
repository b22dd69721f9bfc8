package acd

import (
	"slices"
	"time"
)

// position returns e's 1-based rank in its queue and its estimated wait.
func (d *Distributor) position(e *entry, now time.Time) (int, time.Duration) {
	return e.q.all.Rank(e) + 1, d.estimate(e, now)
}

// estimate predicts e's wait from live data. Each staffed agent of the queue (logged in, not
// paused) is expected to become free after r: 0 if available, the recent handle time h if being
// rung, h minus the elapsed talk time (at least the wrap-up to come) if on a call, the remaining
// wrap-up if in wrap-up. With the r sorted and k contacts waiting (not being rung) ahead of e,
// e is served at the (k+1)-th release: r[k mod N] + (k div N)·h. The estimate thus falls as
// contacts ahead leave, as calls in progress age, and as agents log in; and rises when they
// pause or when recent calls take longer.
func (d *Distributor) estimate(e *entry, now time.Time) time.Duration {
	if e.state == CallRinging {
		return 0
	}
	q := e.q
	rel := d.releases(q, now)
	n := len(rel)
	if n == 0 {
		return UnknownWait
	}
	ahead := q.all.Rank(e) - q.ringing.Rank(e)
	return rel[ahead%n] + time.Duration(ahead/n)*q.handleEstimate()
}

// releases returns the sorted expected times until each staffed agent of q is free, cached
// until an agent changes state or time moves.
func (d *Distributor) releases(q *queue, now time.Time) []time.Duration {
	if q.relValid && q.relVersion == d.agentsVersion && q.relAt.Equal(now) {
		return q.rel
	}
	h := q.handleEstimate()
	rel := q.rel[:0]
	for _, m := range q.members {
		if !m.loggedIn {
			continue
		}
		a := m.a
		var r time.Duration
		switch a.state {
		case Available:
		case Reserved:
			r = h
		case OnCall:
			r = max(h-now.Sub(a.work.answeredAt), a.work.q.cfg.WrapUp)
		case WrapUp:
			r = max(a.wrapUntil.Sub(now), 0)
		default:
			continue
		}
		rel = append(rel, r)
	}
	slices.Sort(rel)
	q.rel, q.relAt, q.relVersion, q.relValid = rel, now, d.agentsVersion, true
	return rel
}
