package acd

import (
	"encoding/json"
	"math"
	"time"
)

// Counters are the raw tallies behind the KPIs of a queue, over all time (QueueStats.Totals)
// or over a rolling window. Caller contacts are counted when they leave the queue, so every
// ratio over a window has its numerator and denominator from the same contacts. docs/kpis.md
// gives the formulas.
type Counters struct {
	Entered             int64         // caller contacts that entered the queue (arrivals and overflow in)
	Offered             int64         // caller contacts that left the queue, whatever the outcome
	Answered            int64         // ... answered by an agent
	AnsweredInTarget    int64         // ... answered within the service-level target T
	Abandoned           int64         // ... hung up while waiting (short abandons included)
	ShortAbandoned      int64         // ... hung up within the short-abandon threshold S
	AbandonedInTarget   int64         // ... hung up within T
	TimedOut            int64         // ... reached the queue's max wait
	OverflowedOut       int64         // ... moved to the overflow queue
	ConvertedToCallback int64         // ... converted to a callback
	LeftInTarget        int64         // answered, abandoned or converted to a callback within T
	AnsweredWait        time.Duration // sum of the waits of answered callers (ASA)
	CallbacksEntered    int64         // callbacks enqueued as such (not converted in this queue)
	CallbacksAnswered   int64         // callbacks taken by an agent
	CallbacksCancelled  int64         // callbacks removed with Abandon
	CallbackWait        time.Duration // sum of the waits of answered callbacks, from original arrival
	Handled             int64         // contacts (callers and callbacks) whose wrap-up ended
	TalkTime            time.Duration // connected time of handled contacts (talk + hold)
	HoldTime            time.Duration // ... of which the caller was on hold
	Transferred         int64         // connected contacts an agent transferred (to an agent, a queue or a number)
	WrapUpTime          time.Duration // wrap-up time of handled contacts
	AgentBusyTime       time.Duration // on-call + wrap-up time of agents logged into the queue
	AgentIdleTime       time.Duration // available + reserved time of agents logged into the queue
}

// Add adds o's counts to c (sums over buckets, intervals or queues).
func (c *Counters) Add(o Counters) {
	c.Entered += o.Entered
	c.Offered += o.Offered
	c.Answered += o.Answered
	c.AnsweredInTarget += o.AnsweredInTarget
	c.Abandoned += o.Abandoned
	c.ShortAbandoned += o.ShortAbandoned
	c.AbandonedInTarget += o.AbandonedInTarget
	c.TimedOut += o.TimedOut
	c.OverflowedOut += o.OverflowedOut
	c.ConvertedToCallback += o.ConvertedToCallback
	c.LeftInTarget += o.LeftInTarget
	c.AnsweredWait += o.AnsweredWait
	c.CallbacksEntered += o.CallbacksEntered
	c.CallbacksAnswered += o.CallbacksAnswered
	c.CallbacksCancelled += o.CallbacksCancelled
	c.CallbackWait += o.CallbackWait
	c.Handled += o.Handled
	c.TalkTime += o.TalkTime
	c.HoldTime += o.HoldTime
	c.Transferred += o.Transferred
	c.WrapUpTime += o.WrapUpTime
	c.AgentBusyTime += o.AgentBusyTime
	c.AgentIdleTime += o.AgentIdleTime
}

// HandleTime is the handle time of the handled contacts: talk (hold included) + wrap-up.
func (c Counters) HandleTime() time.Duration { return c.TalkTime + c.WrapUpTime }

// AverageHandleTime is HandleTime / Handled to the nanosecond (KPIs.AHT gives it in seconds);
// false when nothing was handled.
func (c Counters) AverageHandleTime() (time.Duration, bool) {
	if c.Handled <= 0 {
		return 0, false
	}
	return c.HandleTime() / time.Duration(c.Handled), true
}

// KPIs are the indicators derived from Counters. Ratios are in [0, 1], times in seconds; a KPI
// with an empty denominator is NaN (null in JSON).
type KPIs struct {
	// ServiceLevel is the default: AnsweredInTarget / (Offered − ShortAbandoned).
	ServiceLevel float64
	// ServiceLevelAnswered: AnsweredInTarget / Answered (Asterisk "SL", Wazo "QoS").
	ServiceLevelAnswered float64
	// ServiceLevelWithAbandons: (AnsweredInTarget + AbandonedInTarget) / (Answered + Abandoned)
	// (Asterisk "SL2").
	ServiceLevelWithAbandons float64
	// ServiceLevelLeft: LeftInTarget / Offered (Amazon Connect "service level X").
	ServiceLevelLeft float64
	// ASA: AnsweredWait / Answered.
	ASA float64
	// AHT: (TalkTime + WrapUpTime) / Handled.
	AHT float64
	// AbandonRate: (Abandoned − ShortAbandoned) / (Offered − ShortAbandoned).
	AbandonRate float64
	// ShortAbandonRate: ShortAbandoned / Offered.
	ShortAbandonRate float64
	// Occupancy: AgentBusyTime / (AgentBusyTime + AgentIdleTime).
	Occupancy float64
}

func ratio(n, d float64) float64 {
	if d <= 0 {
		return math.NaN()
	}
	return n / d
}

// KPIs computes the indicators of c.
func (c Counters) KPIs() KPIs {
	f := func(n int64) float64 { return float64(n) }
	s := func(d time.Duration) float64 { return d.Seconds() }
	return KPIs{
		ServiceLevel:             ratio(f(c.AnsweredInTarget), f(c.Offered-c.ShortAbandoned)),
		ServiceLevelAnswered:     ratio(f(c.AnsweredInTarget), f(c.Answered)),
		ServiceLevelWithAbandons: ratio(f(c.AnsweredInTarget+c.AbandonedInTarget), f(c.Answered+c.Abandoned)),
		ServiceLevelLeft:         ratio(f(c.LeftInTarget), f(c.Offered)),
		ASA:                      ratio(s(c.AnsweredWait), f(c.Answered)),
		AHT:                      ratio(s(c.HandleTime()), f(c.Handled)),
		AbandonRate:              ratio(f(c.Abandoned-c.ShortAbandoned), f(c.Offered-c.ShortAbandoned)),
		ShortAbandonRate:         ratio(f(c.ShortAbandoned), f(c.Offered)),
		Occupancy:                ratio(s(c.AgentBusyTime), s(c.AgentBusyTime+c.AgentIdleTime)),
	}
}

// MarshalJSON writes undefined (NaN) KPIs as null.
func (k KPIs) MarshalJSON() ([]byte, error) {
	n := func(v float64) *float64 {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil
		}
		return &v
	}
	return json.Marshal(struct {
		ServiceLevel, ServiceLevelAnswered, ServiceLevelWithAbandons, ServiceLevelLeft *float64
		ASA, AHT, AbandonRate, ShortAbandonRate, Occupancy                             *float64
	}{n(k.ServiceLevel), n(k.ServiceLevelAnswered), n(k.ServiceLevelWithAbandons), n(k.ServiceLevelLeft),
		n(k.ASA), n(k.AHT), n(k.AbandonRate), n(k.ShortAbandonRate), n(k.Occupancy)})
}

// WindowStats are a queue's counters and KPIs over a rolling window ending now. The window is
// made of whole buckets (WithStatsResolution, 1 minute by default): it covers the current
// bucket and the ones before it, so between Window − resolution and Window of history.
type WindowStats struct {
	Window   time.Duration
	Counters Counters
	KPIs     KPIs
}

// AgentCounts counts a queue's member agents by state (logged-out: members not logged in).
type AgentCounts struct {
	LoggedOut, Available, Reserved, OnCall, WrapUp, Paused int
}

// QueueStats is the real-time view of one queue.
type QueueStats struct {
	Queue            string
	At               time.Time
	Waiting          int           // contacts in the queue, callbacks and ringing ones included
	WaitingCallbacks int           // ... of which callbacks
	Ringing          int           // ... of which being offered
	OldestWait       time.Duration // longest wait since original arrival among them
	Agents           AgentCounts
	// HandleTimeEstimate is the mean handle time of the last handled calls (or the queue's
	// default_handle_time before any), as used by the wait estimates.
	HandleTimeEstimate time.Duration
	Totals             Counters // since the distributor's history began (kept by Snapshot/Restore)
	TotalKPIs          KPIs
	Windows            []WindowStats
}

// queueStats keeps a queue's totals and a ring of time buckets.
type queueStats struct {
	width   int64 // bucket width in ns
	buckets []bucket
	totals  Counters
}

type bucket struct {
	epoch int64
	valid bool
	c     Counters
}

func newQueueStats(width time.Duration, longest time.Duration) *queueStats {
	n := int((longest + width - 1) / width)
	if n < 1 {
		n = 1
	}
	return &queueStats{width: int64(width), buckets: make([]bucket, n)}
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

func (s *queueStats) epoch(t time.Time) int64 { return floorDiv(t.UnixNano(), s.width) }

func (s *queueStats) slot(ep int64) *Counters {
	n := int64(len(s.buckets))
	b := &s.buckets[(ep%n+n)%n]
	if !b.valid || b.epoch < ep {
		*b = bucket{epoch: ep, valid: true}
	}
	if b.epoch != ep {
		return nil // older than the ring holds
	}
	return &b.c
}

func (s *queueStats) add(at time.Time, c *Counters) {
	s.totals.Add(*c)
	if b := s.slot(s.epoch(at)); b != nil {
		b.Add(*c)
	}
}

// addAgentTime books [from, to) as busy or idle time, split over the buckets it spans.
func (s *queueStats) addAgentTime(from, to time.Time, busy bool) {
	if !from.Before(to) {
		return
	}
	put := func(c *Counters, d time.Duration) {
		if busy {
			c.AgentBusyTime += d
		} else {
			c.AgentIdleTime += d
		}
	}
	put(&s.totals, to.Sub(from))
	span := time.Duration(s.width) * time.Duration(len(s.buckets))
	if oldest := to.Add(-span); from.Before(oldest) {
		from = oldest
	}
	for t := from; t.Before(to); {
		ep := s.epoch(t)
		end := time.Unix(0, (ep+1)*s.width)
		if end.After(to) {
			end = to
		}
		if b := s.slot(ep); b != nil {
			put(b, end.Sub(t))
		}
		t = end
	}
}

// window sums the buckets of the last w ending at now and returns where the window starts.
func (s *queueStats) window(now time.Time, w time.Duration) (Counters, time.Time) {
	var c Counters
	cur := s.epoch(now)
	k := (int64(w) + s.width - 1) / s.width
	if k > int64(len(s.buckets)) {
		k = int64(len(s.buckets))
	}
	n := int64(len(s.buckets))
	for ep := cur - k + 1; ep <= cur; ep++ {
		if b := &s.buckets[(ep%n+n)%n]; b.valid && b.epoch == ep {
			c.Add(b.c)
		}
	}
	return c, time.Unix(0, (cur-k+1)*s.width)
}

// Counters are the tallies a queue with service-level target serviceLevel (T) adds when the
// contact of s leaves it: the one counting rule of the ACD, which the reports apply to the
// samples they read back from the store. A caller counts once with its outcome, within T if
// Wait ≤ T, short if s.Short; a callback counts apart, when answered or cancelled (Abandon).
func (s WaitSample) Counters(serviceLevel time.Duration) Counters {
	in := b2i(s.Wait <= serviceLevel)
	if s.Kind == KindCallback {
		switch s.Outcome {
		case OutcomeAnswered:
			return Counters{CallbacksAnswered: 1, CallbackWait: s.Wait}
		case OutcomeAbandoned:
			return Counters{CallbacksCancelled: 1}
		}
		return Counters{}
	}
	c := Counters{Offered: 1}
	switch s.Outcome {
	case OutcomeAnswered:
		c.Answered, c.AnsweredInTarget, c.LeftInTarget, c.AnsweredWait = 1, in, in, s.Wait
	case OutcomeAbandoned:
		c.Abandoned, c.AbandonedInTarget, c.LeftInTarget = 1, in, in
		c.ShortAbandoned = b2i(s.Short)
	case OutcomeTimeout:
		c.TimedOut = 1
	case OutcomeOverflowed:
		c.OverflowedOut = 1
	case OutcomeCallback:
		c.ConvertedToCallback, c.LeftInTarget = 1, in
	}
	return c
}

// IsShortAbandon tells whether a contact leaving with outcome o after wait is a short abandon
// under the threshold S (QueueConfig.ShortAbandon): an abandon after at most S.
func IsShortAbandon(o Outcome, wait, threshold time.Duration) bool {
	return o == OutcomeAbandoned && wait <= threshold
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}
