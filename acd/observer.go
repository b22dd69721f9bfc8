package acd

import "time"

// Outcome is how a contact's wait in a queue ended.
type Outcome string

const (
	OutcomeAnswered   Outcome = "answered"
	OutcomeAbandoned  Outcome = "abandoned" // WaitSample.Short tells a short abandon
	OutcomeTimeout    Outcome = "timeout"
	OutcomeOverflowed Outcome = "overflowed"
	OutcomeCallback   Outcome = "callback" // a caller converted to a callback
)

// WaitSample is one observed wait: a contact leaving a queue (or a callback being answered or
// cancelled). Wait runs from the original arrival.
type WaitSample struct {
	Queue   string
	CallID  string
	Kind    CallKind
	Outcome Outcome
	Wait    time.Duration
	Short   bool // an abandon within the queue's short-abandon threshold
}

// HandleSample is one handled contact, observed when its wrap-up ends.
type HandleSample struct {
	Queue   string
	CallID  string
	AgentID string
	Kind    CallKind
	Talk    time.Duration // answer to hangup (talk + hold)
	WrapUp  time.Duration
}

// Handle is the handle time: talk + hold + wrap-up.
func (h HandleSample) Handle() time.Duration { return h.Talk + h.WrapUp }

// Observer receives samples for histograms (WithObserver). It is called after the distributor's
// lock is released, from the goroutine that made the call, in the order the samples arose.
type Observer interface {
	ObserveWait(WaitSample)
	ObserveHandle(HandleSample)
}

type sample struct {
	wait   *WaitSample
	handle *HandleSample
}
