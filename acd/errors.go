package acd

import "errors"

// Sentinel errors. Errors returned by the Distributor wrap one of these and say which call,
// agent or queue they concern.
var (
	// ErrInvalidConfig is wrapped by every *ConfigError.
	ErrInvalidConfig = errors.New("invalid acd configuration")
	// ErrUnknownQueue: no queue of that name is configured.
	ErrUnknownQueue = errors.New("unknown queue")
	// ErrUnknownAgent: no agent of that ID is configured.
	ErrUnknownAgent = errors.New("unknown agent")
	// ErrUnknownSkill: a call asks for a skill no agent or queue of the configuration has.
	ErrUnknownSkill = errors.New("unknown skill")
	// ErrUnknownCall: the call is not (or no longer) in the distributor.
	ErrUnknownCall = errors.New("unknown call")
	// ErrDuplicateCall: a call with that ID is already queued or connected.
	ErrDuplicateCall = errors.New("duplicate call")
	// ErrInvalidCall: a Call passed to Enqueue is malformed.
	ErrInvalidCall = errors.New("invalid call")
	// ErrInvalidTransition: the agent's current state does not allow the request.
	ErrInvalidTransition = errors.New("invalid agent state transition")
	// ErrNotMember: the agent is not configured for that queue.
	ErrNotMember = errors.New("agent is not a member of the queue")
	// ErrNoOffer: the agent has no pending offer for that call (it was answered elsewhere,
	// cancelled, or timed out).
	ErrNoOffer = errors.New("no pending offer")
	// ErrNotWaiting: the call is connected to an agent, not waiting.
	ErrNotWaiting = errors.New("call is not waiting")
	// ErrNotConnected: the call is still waiting, not connected to an agent.
	ErrNotConnected = errors.New("call is not connected")
	// ErrNotFresh: Restore was called on a distributor that already holds calls.
	ErrNotFresh = errors.New("distributor already holds calls")
	// ErrRestoreSkipped wraps every part of a State that Restore could not apply.
	ErrRestoreSkipped = errors.New("restore skipped a record")
	// ErrAgentBusy is returned when a transfer targets an agent who cannot take a call now.
	ErrAgentBusy = errors.New("agent cannot take the call now")
	// ErrTransferPending is returned for a second transfer while one is ringing.
	ErrTransferPending = errors.New("a transfer is already ringing")
)
