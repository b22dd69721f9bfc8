// Package journey is one call's life in hotline as one value: the caller's channel, its
// contact record, the flow it runs, its stays in queues, the agent leg it is bridged to, its
// journal and its live view. The goroutine that handles the call owns its Journey; everything
// that happens during the call (queues today; transfer, hold, recording and monitoring next)
// hangs off it. A Registry keeps the journeys in progress, the one place a call ID is looked
// up. It carries out no telephony and no routing of its own.
package journey

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/hotline-cc/hotline/acd"
	"github.com/hotline-cc/hotline/call"
)

// Journey is one call in progress. Its methods are safe for use by other goroutines (the
// distributor's offers, the API); the fields set by Start never change.
type Journey struct {
	ch   call.Channel
	flow string
	reg  *Registry

	mu        sync.Mutex
	live      call.Live // state, queue, agent, node, since; media is read when asked
	ended     bool
	contactID string
	created   string // the customer record this call's contact created, if it did
	journal   []string
	wait      *Wait        // while it waits in a queue
	agentLeg  call.Channel // while it is bridged to an agent
	talking   bool         // a conversation is taking requests (Ask)
	segments  []Segment
	asks      chan call.Request // requests from the API for the conversation
	tape      *Tape             // the conversation recording, while one runs
	steps     []Step            // the flow nodes passed (trail.go)
	vars      map[string]string // the flow's variables, sensitive ones left out
}

// Segment is one agent's part of the conversation: who, when, how long on hold, and how it
// ended ("hangup", "transferred to billing", ...).
type Segment struct {
	Agent    string
	Answered time.Time
	Ended    time.Time
	Hold     time.Duration
	End      string
}

// ErrNotTalking is returned by Ask when the call is not connected to an agent.
var ErrNotTalking = errors.New("the call is not connected to an agent")

// Wait is a journey's mailbox while it waits in a queue: what the distributor tells the
// caller, and the agent leg that answered. The waiting room makes it and reads it; the offers
// the distributor makes write to it.
type Wait struct {
	Events  chan acd.Action // announcements, callback offers, timeout, overflow
	Connect chan Answer     // the agent leg that answered (unbuffered: taken or refused)
	Missed  chan string     // an offer for the call failed or was withdrawn (why); a transfer waits for it
	Done    chan struct{}   // closed when the caller has left the queue
}

// NewWait makes an empty mailbox.
func NewWait() *Wait {
	return &Wait{Events: make(chan acd.Action, 16), Connect: make(chan Answer), Missed: make(chan string, 1), Done: make(chan struct{})}
}

// Answer is an agent's leg that answered an offer for the journey.
type Answer struct {
	Leg   call.Channel
	Agent string
}

// ID is the call's ID (the caller leg's).
func (j *Journey) ID() string { return j.ch.ID() }

// Channel is the caller's leg.
func (j *Journey) Channel() call.Channel { return j.ch }

// Flow is the flow the call entered.
func (j *Journey) Flow() string { return j.flow }

// ContactID is the call's contact record ("" when it could not be written).
func (j *Journey) ContactID() string {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.contactID
}

// Note adds a line to the call's journal (what happened to it in queues), kept in the call log.
func (j *Journey) Note(format string, args ...any) {
	line := fmt.Sprintf(format, args...)
	j.mu.Lock()
	j.journal = append(j.journal, line)
	j.mu.Unlock()
}

// Journal is the call's journal so far.
func (j *Journey) Journal() []string {
	j.mu.Lock()
	defer j.mu.Unlock()
	return append([]string(nil), j.journal...)
}

// SetState moves the call to st; queue "" keeps the queue it had.
func (j *Journey) SetState(st call.State, queue, agent string) {
	j.update(func(l *call.Live) {
		if l.State != st {
			l.Since = time.Now()
		}
		l.State, l.Agent = st, agent
		if queue != "" {
			l.Queue = queue
		}
	})
}

// SetNode records the flow node the call is in.
func (j *Journey) SetNode(node string) { j.update(func(l *call.Live) { l.Node = node }) }

// Waiting is the journey's mailbox while it waits in a queue, nil otherwise.
func (j *Journey) Waiting() *Wait {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.wait
}

// SetWaiting sets (or, with nil, clears) the journey's queue mailbox.
func (j *Journey) SetWaiting(w *Wait) {
	j.mu.Lock()
	j.wait = w
	if w == nil {
		j.agentLeg = nil
	}
	j.mu.Unlock()
}

// Bridged records the agent leg the caller is now connected to.
func (j *Journey) Bridged(leg call.Channel) {
	j.mu.Lock()
	j.agentLeg = leg
	j.mu.Unlock()
}

// AgentLeg is the agent leg the caller is connected to, nil if none.
func (j *Journey) AgentLeg() call.Channel {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.agentLeg
}

// SetHold records whether the caller is on hold (and publishes it).
func (j *Journey) SetHold(on bool) { j.update(func(l *call.Live) { l.OnHold = on }) }

// Talking opens (true) or closes (false) the journey to requests from the API: only while a
// conversation runs. It returns the channel the conversation reads them from.
func (j *Journey) Talking(on bool) <-chan call.Request {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.talking = on
	if j.asks == nil {
		j.asks = make(chan call.Request, 4)
	}
	return j.asks
}

// Ask hands a request (a transfer, hold or resume from the API) to the call's conversation.
// It fails with ErrNotTalking when the call is not connected to an agent, and when too many
// requests are waiting.
func (j *Journey) Ask(r call.Request) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if !j.talking || j.ended {
		return ErrNotTalking
	}
	select {
	case j.asks <- r:
		return nil
	default:
		return errors.New("the call already has requests waiting; try again")
	}
}

// AddSegment records an agent's part of the conversation.
func (j *Journey) AddSegment(s Segment) {
	j.mu.Lock()
	j.segments = append(j.segments, s)
	j.mu.Unlock()
}

// Segments is every agent's part so far, in order.
func (j *Journey) Segments() []Segment {
	j.mu.Lock()
	defer j.mu.Unlock()
	return append([]Segment(nil), j.segments...)
}

// Live is the call as views read it, with its media figures as of now.
func (j *Journey) Live() call.Live {
	j.mu.Lock()
	l, agent := j.live, j.agentLeg
	j.mu.Unlock()
	return j.withMedia(l, agent)
}

func (j *Journey) withMedia(l call.Live, agent call.Channel) call.Live {
	l.CallerMedia = call.StatsOf(j.ch)
	if l.State == call.StateConnected && agent != nil {
		l.AgentMedia = call.StatsOf(agent)
	}
	return l
}

// update changes the live view and publishes it (nothing once the journey has ended).
func (j *Journey) update(f func(*call.Live)) {
	j.mu.Lock()
	if j.ended {
		j.mu.Unlock()
		return
	}
	f(&j.live)
	l, agent := j.live, j.agentLeg
	j.mu.Unlock()
	j.reg.publish(j.withMedia(l, agent), false)
}
