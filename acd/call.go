package acd

import (
	"fmt"
	"time"
)

// CallKind tells a live caller from a callback.
type CallKind string

const (
	// KindCaller is a caller waiting on a live channel (the zero value means this too).
	KindCaller CallKind = "caller"
	// KindCallback is a callback holding a caller's place: no live channel; when an agent is
	// offered it, the wiring calls the agent first, then the customer.
	KindCallback CallKind = "callback"
)

// Call is a contact handed to a queue.
type Call struct {
	ID    string
	Queue string
	// Priority: higher is served first (VIPs from the flow). Raised over time by the queue's
	// priority rules; never lowered.
	Priority int
	// Skills the agent needs in addition to the queue's required skills.
	Skills []string
	// ArrivedAt is when the contact first joined a queue (IVR time excluded); zero means now.
	// A callback re-enqueued after a restart passes its original arrival here.
	ArrivedAt  time.Time
	Kind       CallKind
	CustomerID string
}

// CallState is where a contact is in the distributor.
type CallState string

const (
	CallWaiting   CallState = "waiting"   // in a queue, not being offered
	CallRinging   CallState = "ringing"   // in a queue, offered to one agent (several with ring-all)
	CallConnected CallState = "connected" // answered by an agent; leaves on Hangup
)

// CallStatus is a read-side view of a contact.
type CallStatus struct {
	Call
	Queue         string // current queue (differs from Call.Queue after overflow)
	State         CallState
	Agents        []string // ringing agents, or the connected agent
	Position      int      // 1-based, 0 when connected
	EstimatedWait time.Duration
	Waited        time.Duration // since original arrival
	EnqueuedAt    time.Time     // entry into the current queue
}

// UnknownWait is the EstimatedWait given when no agent is staffed for the queue.
const UnknownWait time.Duration = -1

// entry is a contact inside the distributor.
type entry struct {
	call       Call
	seq        uint64
	q          *queue
	cls        *class
	extra      skillSet // the call's own skills
	prio       int      // effective priority (base raised by rules)
	arrived    time.Time
	enqueuedAt time.Time // into the current queue
	state      CallState
	offers     []*offer
	excluded   []exclusion
	agent      *agent // connected agent
	answeredAt time.Time
	holdSince  time.Time // the caller is on hold since (zero: not on hold)
	consultant *agent    // the colleague the agent is consulting about this call
	tok        uint64    // bumped when the entry changes queue or leaves; invalidates its timers
	alive      bool

	pendingTimeout  bool // max wait passed while ringing
	pendingOverflow bool // overflow due while ringing
	callbackChecks  int  // callback offer checks made in this queue
	nextRule        int  // index of the next priority rule of q to apply
}

// exclusion keeps an agent who just missed a contact from being offered it again until until.
type exclusion struct {
	a     *agent
	until time.Time
}

func (e *entry) excludes(a *agent, now time.Time) bool {
	for _, x := range e.excluded {
		if x.a == a && now.Before(x.until) {
			return true
		}
	}
	return false
}

// entryLess is the service order: priority desc, original arrival asc, enqueue sequence asc.
func entryLess(a, b *entry) bool {
	if a.prio != b.prio {
		return a.prio > b.prio
	}
	if !a.arrived.Equal(b.arrived) {
		return a.arrived.Before(b.arrived)
	}
	return a.seq < b.seq
}

// offer is one agent being rung for one contact.
type offer struct {
	e        *entry
	a        *agent
	at       time.Time
	deadline time.Time
	active   bool
	consult  bool // a consultation about a connected call, not a transfer of it
}

func (c Call) validate() error {
	if c.ID == "" {
		return fmt.Errorf("%w: empty call ID", ErrInvalidCall)
	}
	switch c.Kind {
	case "", KindCaller, KindCallback:
	default:
		return fmt.Errorf("%w: call %q: kind %q; want %q or %q", ErrInvalidCall, c.ID, c.Kind, KindCaller, KindCallback)
	}
	return nil
}
