package center

import (
	"context"
	"time"

	"github.com/hotline-cc/hotline/call"
	"github.com/hotline-cc/hotline/dashboard"
)

var _ dashboard.Desk = (*live)(nil)

// Screen is what the agent desktop shows of a call beyond its live view: the caller's way
// through the flow and how long they have waited in line.
func (l *live) Screen(callID string) (dashboard.ScreenFacts, bool) {
	j := l.calls.Get(callID)
	if j == nil {
		return dashboard.ScreenFacts{}, false
	}
	steps, vars := j.Trail()
	f := dashboard.ScreenFacts{Vars: vars, Steps: make([]dashboard.IVRStep, 0, len(steps))}
	for _, s := range steps {
		f.Steps = append(f.Steps, dashboard.IVRStep{Node: s.Node, Kind: s.Kind, Exit: s.Exit, Detail: s.Detail})
	}
	if st, ok := l.acd.CallStatus(callID); ok {
		f.Waited = st.Waited
	}
	return f, true
}

// SendDigits sends the desktop keypad's keys to the caller of a connected call.
func (l *live) SendDigits(ctx context.Context, callID, digits string) error {
	j := l.calls.Get(callID)
	if j == nil {
		return dashboard.ErrNoCall
	}
	if j.AgentLeg() == nil {
		return dashboard.ErrNotConnected
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return j.Channel().SendDigits(ctx, digits)
}

// HangupAgent hangs up the agent's leg of a connected call, as the agent's phone would.
func (l *live) HangupAgent(ctx context.Context, callID string) error {
	j := l.calls.Get(callID)
	if j == nil {
		return dashboard.ErrNoCall
	}
	leg := j.AgentLeg()
	if leg == nil {
		return dashboard.ErrNotConnected
	}
	return leg.Hangup(call.CauseNormal)
}

// EndWrapUp ends an agent's wrap-up when they submit the wrap-up form (dashboard.WrapUpEnder).
func (l *live) EndWrapUp(agent string) error {
	acts, err := l.acd.EndWrapUp(agent)
	l.room.Apply(acts)
	return err
}
