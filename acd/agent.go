package acd

import (
	"fmt"
	"time"
)

// AgentState is one state of the agent state machine (see the package doc).
type AgentState uint8

const (
	LoggedOut AgentState = iota
	Available
	Reserved // being rung for one offer
	OnCall
	WrapUp
	Paused
	numStates
)

var stateNames = [numStates]string{"logged-out", "available", "reserved", "on-call", "wrap-up", "paused"}

func (s AgentState) String() string {
	if s < numStates {
		return stateNames[s]
	}
	return fmt.Sprintf("AgentState(%d)", s)
}

// MarshalText writes the state's name, so states serialize (and key JSON maps) readably.
func (s AgentState) MarshalText() ([]byte, error) {
	if s >= numStates {
		return nil, fmt.Errorf("acd: invalid agent state %d", s)
	}
	return []byte(stateNames[s]), nil
}

// UnmarshalText reads a state's name.
func (s *AgentState) UnmarshalText(b []byte) error {
	for i, n := range stateNames {
		if n == string(b) {
			*s = AgentState(i)
			return nil
		}
	}
	return fmt.Errorf("acd: unknown agent state %q", b)
}

// MissReason says why an offered agent did not take the call.
type MissReason string

const (
	NoAnswer    MissReason = "no-answer"   // rang until the ring timeout (or the phone gave up)
	Busy        MissReason = "busy"        // the agent's phone answered busy
	Rejected    MissReason = "rejected"    // the agent declined
	Unreachable MissReason = "unreachable" // not registered, or the leg failed before ringing
)

// MissCounts counts an agent's missed offers by reason.
type MissCounts struct {
	NoAnswer    int64
	Busy        int64
	Rejected    int64
	Unreachable int64
}

func (m *MissCounts) add(r MissReason) {
	switch r {
	case Busy:
		m.Busy++
	case Rejected:
		m.Rejected++
	case Unreachable:
		m.Unreachable++
	default:
		m.NoAnswer++
	}
}

// allowed is the transition table; anything else is a bug in the distributor.
var allowed = [numStates][numStates]bool{
	LoggedOut: {Available: true},
	Available: {Reserved: true, Paused: true, LoggedOut: true},
	Reserved:  {OnCall: true, Available: true, Paused: true, LoggedOut: true},
	OnCall:    {WrapUp: true, Available: true, Paused: true, LoggedOut: true},
	WrapUp:    {Available: true, Paused: true, LoggedOut: true},
	Paused:    {Available: true, LoggedOut: true, Paused: true},
}

// work is the call an agent is handling (on call or in wrap-up).
type work struct {
	callID     string
	q          *queue
	kind       CallKind
	customerID string
	answeredAt time.Time
	hungUpAt   time.Time
	hold       time.Duration // time the caller spent on hold in this agent's part
	consult    bool          // the agent is being consulted about the call, it is not theirs (yet)
}

type agent struct {
	idx      int
	cfg      AgentConfig
	skills   skillSet
	prof     [maxSkills]uint8 // skill index → proficiency
	members  []*membership
	memberOf []*membership // by queue idx; nil where not a member

	state         AgentState
	since         time.Time
	pauseReason   string
	reasonSince   time.Time
	pendingPause  string
	pendingLogout bool
	idleSince     time.Time
	offer         *offer
	work          *work
	wrapUntil     time.Time
	wrapTok       uint64

	callsHandled      int64
	transfers         int64 // calls this agent transferred
	sessionCalls      int64
	sessionTalk       time.Duration
	consecutiveMisses int
	misses            MissCounts
	timeIn            [numStates]time.Duration // closed intervals
	pauseTime         map[string]time.Duration // closed intervals
}

// membership is an agent's place in one queue.
type membership struct {
	a        *agent
	q        *queue
	pos      int // index among the queue's members (round-robin order)
	loggedIn bool
	classes  []*class // classes of q whose skills the agent covers
}

// score is the skills-based ranking: the sum of the agent's proficiencies over mask.
func (a *agent) score(mask *skillSet) int {
	n := 0
	mask.each(func(i int) { n += int(a.prof[i]) })
	return n
}

func idleLess(a, b *agent) bool {
	if !a.idleSince.Equal(b.idleSince) {
		return a.idleSince.Before(b.idleSince)
	}
	return a.idx < b.idx
}

// setState moves a to state to at d.now, closing the accounting of the old state and keeping the
// free-agent sets in step. Callers validate requests first: a forbidden transition here is a bug.
func (d *Distributor) setState(a *agent, to AgentState, reason string) {
	from := a.state
	if !allowed[from][to] {
		panic(fmt.Sprintf("acd: internal: agent %q %s → %s", a.cfg.ID, from, to))
	}
	if from == Paused && to == Paused && reason == a.pauseReason {
		return
	}
	if from == Available {
		d.removeFree(a)
	}
	now := d.now
	if from == Paused {
		a.pauseTime[a.pauseReason] += now.Sub(a.reasonSince)
		a.reasonSince = now
	}
	if from != to {
		d.closeInterval(a, now)
		a.state, a.since = to, now
	}
	a.pauseReason = ""
	if to == Paused {
		a.pauseReason, a.reasonSince = reason, now
	}
	if to == Available {
		if from != Reserved { // a miss or a withdrawn offer does not reset idleness
			a.idleSince = now
		}
		d.insertFree(a)
	}
	d.agentsVersion++
	d.emit(AgentStateChanged{AgentID: a.cfg.ID, From: from, To: to, Reason: reason, At: now})
}

// closeInterval books the time since a.since in a's current state, and for the queues it is
// logged into, as busy or idle time (occupancy).
func (d *Distributor) closeInterval(a *agent, now time.Time) {
	dur := now.Sub(a.since)
	if dur <= 0 {
		return
	}
	a.timeIn[a.state] += dur
	busy, counted := occupancyClass(a.state)
	if !counted {
		return
	}
	for _, m := range a.members {
		if m.loggedIn {
			m.q.stats.addAgentTime(a.since, now, busy)
		}
	}
}

// occupancyClass: on-call and wrap-up are busy; available and reserved are idle.
func occupancyClass(s AgentState) (busy, counted bool) {
	switch s {
	case OnCall, WrapUp:
		return true, true
	case Available, Reserved:
		return false, true
	}
	return false, false
}

func (d *Distributor) insertFree(a *agent) {
	for _, m := range a.members {
		if m.loggedIn {
			for _, c := range m.classes {
				c.free.Insert(a)
			}
		}
	}
}

func (d *Distributor) removeFree(a *agent) {
	for _, m := range a.members {
		if m.loggedIn {
			for _, c := range m.classes {
				c.free.Remove(a)
			}
		}
	}
}

// finishWork moves an agent whose offer, call or wrap-up has ended to its next state: a pending
// logout, a pending pause, a no-answer pause, or available. It does not route.
func (d *Distributor) finishWork(a *agent, missPause bool) {
	a.offer = nil
	switch {
	case a.pendingLogout:
		d.logout(a)
	case a.pendingPause != "":
		r := a.pendingPause
		a.pendingPause = ""
		d.setState(a, Paused, r)
	case missPause:
		d.setState(a, Paused, PauseReasonNoAnswer)
	default:
		d.setState(a, Available, "")
	}
}

func (d *Distributor) logout(a *agent) {
	a.pendingLogout, a.pendingPause = false, ""
	d.setState(a, LoggedOut, "")
	for _, m := range a.members {
		m.loggedIn = false
	}
}
