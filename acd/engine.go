package acd

import "time"

// Engine is the distributor as the wiring uses it. *Distributor is the in-memory engine of one
// node, the default; a shared engine (several nodes over one store, see package cluster) has the
// same methods and keeps the same rules, so the waiting room, the conversations, the agents'
// desk, the callback dialer and the reports work with either.
//
// An engine's mutating methods return the actions this node must carry out. A shared engine also
// produces actions from other nodes' requests and from timers; it hands those to the node through
// its own sink (see cluster.Replica.Run), never through these return values.
type Engine interface {
	Enqueue(c Call) ([]Action, error)
	Abandon(callID string) ([]Action, error)
	ConvertToCallback(callID string) ([]Action, error)
	Answered(callID, agentID string) ([]Action, error)
	OfferFailed(callID, agentID string, reason MissReason) ([]Action, error)
	Hangup(callID string) ([]Action, error)
	Tick() []Action
	NextDeadline() (time.Time, bool)

	Login(agentID string, queues ...string) ([]Action, error)
	Logout(agentID string) ([]Action, error)
	Pause(agentID, reason string) ([]Action, error)
	Unpause(agentID string) ([]Action, error)
	EndWrapUp(agentID string) ([]Action, error)

	OfferTransfer(callID, agentID string) ([]Action, error)
	OfferConsult(callID, agentID string) ([]Action, error)
	TransferToQueue(callID, queue string, keepArrival bool) ([]Action, error)
	TransferAway(callID string) ([]Action, error)
	Hold(callID string, on bool) ([]Action, error)
	CompleteConsult(callID string) ([]Action, error)
	EndConsult(agentID string) ([]Action, error)
	CancelTransfer(callID string) ([]Action, error)

	Snapshot() State
	Restore(s State) ([]Action, error)

	AgentState(agentID string) (AgentState, error)
	Agents() []AgentStatus
	Agent(agentID string) (AgentStatus, error)
	Position(callID string) (pos int, estimatedWait time.Duration, ok bool)
	CallStatus(callID string) (CallStatus, bool)
	QueueStats(name string) (QueueStats, bool)
	Queues() []QueueStats
}

var _ Engine = (*Distributor)(nil)
