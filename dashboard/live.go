package dashboard

import (
	"context"
	"time"

	"github.com/hotline-cc/hotline/acd"
	"github.com/hotline-cc/hotline/call"
)

// Live is the running center as the dashboard sees it.
type Live interface {
	// Queues is every queue's real-time statistics, in configuration order.
	Queues() []acd.QueueStats
	// Agents is every configured agent, in configuration order.
	Agents() []acd.AgentStatus
	// Calls is the calls in progress.
	Calls() []LiveCall
	// AgentAction logs an agent in or out, pauses (with a reason) or unpauses it. Errors wrap
	// the acd errors: acd.ErrUnknownAgent (404), acd.ErrInvalidTransition (409).
	AgentAction(ctx context.Context, agentID string, action Action, reason string) error
	// Subscribe delivers live changes until cancel is called. The channel may be closed by
	// the center (at shutdown); the dashboard then stops its live stream.
	Subscribe() (events <-chan Event, cancel func())
	// Flows is every loaded flow, name → Mermaid source (ivr.Mermaid).
	Flows() map[string]string
}

// Action is what AgentAction does.
type Action = string

// Agent actions.
const (
	ActionLogin   Action = "login"
	ActionLogout  Action = "logout"
	ActionPause   Action = "pause"
	ActionUnpause Action = "unpause"
)

// CallState is where a live call is (the call path's states, as the API names them).
type CallState = call.State

// Call states.
const (
	CallIVR       = call.StateIVR       // in the flow
	CallQueued    = call.StateQueued    // waiting in a queue (or a callback holding a place)
	CallRinging   = call.StateRinging   // an agent is being rung
	CallConnected = call.StateConnected // talking to an agent
)

// LiveCall is one call in progress, as the API and the live stream show it (LiveCallOf maps
// the call path's call.Live onto it).
type LiveCall struct {
	ID         string     `json:"id"`
	Caller     string     `json:"caller"`                // the caller's number as signalled
	CallerName string     `json:"caller_name,omitempty"` // display name, if any
	Dialed     string     `json:"dialed"`
	State      CallState  `json:"state"`
	Queue      string     `json:"queue,omitempty"`
	Agent      string     `json:"agent,omitempty"` // ringing or connected agent
	Started    time.Time  `json:"started"`         // when the call arrived
	Since      time.Time  `json:"since"`           // when it entered its current state
	Flow       string     `json:"flow,omitempty"`
	Node       string     `json:"node,omitempty"`     // the flow node it is in
	Position   int        `json:"position,omitempty"` // in the queue, 1-based, while queued
	OnHold     bool       `json:"on_hold,omitempty"`  // connected, the caller on hold
	CustomerID string     `json:"customer_id,omitempty"`
	Audio      *CallAudio `json:"audio,omitempty"` // nil when the center does not carry the call's media
	// Recording is the conversation recording's state: off, recording or paused ("" = off).
	Recording string `json:"recording,omitempty"`
	// Monitor is the supervisor monitoring the call, if any (hidden from agent tokens with
	// Options.HideMonitorFromAgents).
	Monitor *MonitorState `json:"monitor,omitempty"`
}

// CallAudio is how well hotline receives a call's audio so far: from the caller, and from the
// agent's phone while they are connected. Centers whose media runs elsewhere (Asterisk) have
// none; a leg without statistics is nil.
type CallAudio struct {
	Caller *LegAudio `json:"caller,omitempty"`
	Agent  *LegAudio `json:"agent,omitempty"` // only while connected
}

// LegAudio is what hotline has received on one leg since it was set up, as an RTCP receiver
// report would put it (RFC 3550 §6.4.1), and what the peer says it hears of hotline's audio.
type LegAudio struct {
	PacketsReceived uint64  `json:"packets_received"`
	PacketsLost     uint64  `json:"packets_lost"` // by sequence number: never arrived
	LostRatio       float64 `json:"lost_ratio"`   // lost / expected, 0..1
	JitterMS        float64 `json:"jitter_ms"`    // interarrival jitter (RFC 3550 A.8)

	// From the peer's RTCP reports about the audio hotline sends (RFC 3550 §6.4.1): nil until
	// a report arrives, and always for peers that send none.
	HeardLostRatio *float64 `json:"heard_lost_ratio,omitempty"` // fraction lost in its last report, 0..1
	HeardJitterMS  *float64 `json:"heard_jitter_ms,omitempty"`  // its interarrival jitter of hotline's audio
	RTTMS          *float64 `json:"rtt_ms,omitempty"`           // round trip from LSR/DLSR; nil until measured
}

// EventType is what changed.
type EventType string

// Event types.
const (
	EventQueue EventType = "queue"
	EventAgent EventType = "agent"
	EventCall  EventType = "call"
)

// Event is one live change. Data is the new state when the center has it at hand
// (acd.QueueStats, acd.AgentStatus or LiveCall, by value or pointer); when nil the dashboard
// reads the current state from Live. A call that has ended has Ended set (or is simply no
// longer in Live.Calls()). A call event also refreshes its queue, and an agent event the
// agent's queues, so the center need not send queue events for every change it causes.
type Event struct {
	Type  EventType
	ID    string // queue name, agent ID or call ID
	Data  any
	Ended bool
	At    time.Time
}
