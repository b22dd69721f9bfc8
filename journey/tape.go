package journey

import (
	"sort"
	"sync"

	"github.com/hotline-cc/hotline/call"
)

// Tape is a conversation recording in progress on a journey: the driver's recording, why it
// is paused, and which agents it holds. It follows the caller, so transfers, holds and
// three-way calls all land on one tape. Its methods are safe for concurrent use (the agent's
// keys, the API, the flow's sensitive input).
type Tape struct {
	rec  call.CallRecording
	save func(call.RecordedCall, []string) error // keeps the finished file; called once

	mu      sync.Mutex
	reasons map[string]bool // why it is paused: "agent", "sensitive", ...
	agents  []string
	stopped bool
	result  call.RecordedCall
	err     error
	onState func(string) // tells the journey the tape's state
}

// NewTape wraps a driver's recording; save keeps the finished file with the agents it holds.
func NewTape(rec call.CallRecording, save func(call.RecordedCall, []string) error) *Tape {
	return &Tape{rec: rec, save: save, reasons: map[string]bool{}}
}

// Pause makes the tape hold silence for reason (a tape paused for several reasons resumes
// when the last is lifted). It reports whether reason was new.
func (t *Tape) Pause(reason string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped || t.reasons[reason] {
		return false
	}
	t.reasons[reason] = true
	t.rec.Pause()
	t.changed()
	return true
}

// Resume lifts reason; it reports whether reason was in force.
func (t *Tape) Resume(reason string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped || !t.reasons[reason] {
		return false
	}
	delete(t.reasons, reason)
	if len(t.reasons) == 0 {
		t.rec.Resume()
	}
	t.changed()
	return true
}

// Paused says why the tape is paused, sorted; empty while it records.
func (t *Tape) Paused() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]string, 0, len(t.reasons))
	for r := range t.reasons {
		out = append(out, r)
	}
	sort.Strings(out)
	return out
}

// AddAgent records that agent is heard on the tape.
func (t *Tape) AddAgent(agent string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, a := range t.agents {
		if a == agent {
			return
		}
	}
	t.agents = append(t.agents, agent)
}

// Done is closed when the recording ended on its own (the call ended, its limit).
func (t *Tape) Done() <-chan struct{} { return t.rec.Done() }

// Stop ends the tape and keeps the file; later calls return what the first did.
func (t *Tape) Stop() (call.RecordedCall, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped {
		return t.result, t.err
	}
	t.stopped = true
	t.result, t.err = t.rec.Stop()
	if t.err == nil || t.result.Path != "" {
		if err := t.save(t.result, append([]string(nil), t.agents...)); err != nil && t.err == nil {
			t.err = err
		}
	}
	t.changed()
	return t.result, t.err
}

// state is the tape's recording state (t.mu held).
func (t *Tape) state() string {
	switch {
	case t.stopped:
		return call.RecordingOff
	case len(t.reasons) > 0:
		return call.RecordingPaused
	}
	return call.RecordingOn
}

func (t *Tape) changed() {
	if t.onState != nil {
		t.onState(t.state())
	}
}

// SetTape puts a tape on the journey (nil takes it off); the live view shows its state.
func (j *Journey) SetTape(t *Tape) {
	j.mu.Lock()
	j.tape = t
	j.mu.Unlock()
	st := call.RecordingOff
	if t != nil {
		t.mu.Lock()
		t.onState = func(s string) { j.update(func(l *call.Live) { l.Recording = s }) }
		st = t.state()
		t.mu.Unlock()
	}
	j.update(func(l *call.Live) { l.Recording = st })
}

// Tape is the journey's recording in progress, nil if none.
func (j *Journey) Tape() *Tape {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.tape
}

// SetMonitor records (nil: clears) the supervisor monitoring the call. With claim, it sets
// m only when no one monitors the call yet, and reports whether it did: two supervisors
// asking at once do not both get the call.
func (j *Journey) SetMonitor(m *call.Monitoring, claim bool) bool {
	j.mu.Lock()
	if j.ended || (claim && j.live.Monitor != nil) {
		j.mu.Unlock()
		return false
	}
	j.live.Monitor = nil
	if m != nil {
		c := *m
		j.live.Monitor = &c
	}
	l, agent := j.live, j.agentLeg
	j.mu.Unlock()
	j.reg.publish(j.withMedia(l, agent), false)
	return true
}

// Talks says whether a conversation is taking requests (the call is with an agent).
func (j *Journey) Talks() bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.talking && !j.ended
}
