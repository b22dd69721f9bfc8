package acd

import "time"

// Action is something the wiring must do (or may show) as a result of a call into the
// distributor. The concrete types are listed below; switch on them.
type Action interface{ isAction() }

// Offer asks the wiring to ring AgentID for CallID. For a callback, the wiring calls the agent
// first, then the customer. It ends with Answered or OfferFailed, or with a CancelOffer.
type Offer struct {
	CallID      string
	AgentID     string
	Queue       string
	Kind        CallKind
	CustomerID  string
	Priority    int
	Waited      time.Duration // since the original arrival
	RingTimeout time.Duration
	Deadline    time.Time // the distributor gives up (CancelOffer, no-answer) at this time
}

// CancelReason says why an offer was withdrawn.
type CancelReason string

const (
	CancelRingTimeout       CancelReason = "ring-timeout"       // counted as a no-answer miss
	CancelAnsweredElsewhere CancelReason = "answered-elsewhere" // ring-all: another agent answered
	CancelCallerLeft        CancelReason = "caller-left"        // abandon
	CancelAgentLoggedOut    CancelReason = "agent-logged-out"
	CancelCallback          CancelReason = "callback"           // the caller chose a callback; it is re-offered
	CancelTransferred       CancelReason = "transfer-cancelled" // the agent withdrew a transfer or consultation
)

// CancelOffer asks the wiring to stop ringing AgentID for CallID.
type CancelOffer struct {
	CallID  string
	AgentID string
	Reason  CancelReason
}

// Announce: tell the caller their position and estimated wait (UnknownWait when no agent is
// staffed). Due every AnnounceInterval while the caller waits and is not being rung.
type Announce struct {
	CallID        string
	Queue         string
	Position      int
	EstimatedWait time.Duration
}

// OfferCallback: offer the caller a callback that keeps their place (see ConvertToCallback).
type OfferCallback struct {
	CallID        string
	Queue         string
	Waited        time.Duration
	EstimatedWait time.Duration
}

// Overflowed: the contact moved from one queue to another, keeping its place in time.
type Overflowed struct {
	CallID string
	From   string
	To     string
}

// Timeout: the caller reached the queue's max wait and left the queue (exit "timeout").
type Timeout struct {
	CallID string
	Queue  string
	Waited time.Duration
}

// AgentStateChanged reports every agent transition (Reason is the pause reason when To is
// paused; "no-answer" when paused after consecutive misses).
type AgentStateChanged struct {
	AgentID string
	From    AgentState
	To      AgentState
	Reason  string
	At      time.Time
}

func (Offer) isAction()             {}
func (CancelOffer) isAction()       {}
func (Announce) isAction()          {}
func (OfferCallback) isAction()     {}
func (Overflowed) isAction()        {}
func (Timeout) isAction()           {}
func (AgentStateChanged) isAction() {}
