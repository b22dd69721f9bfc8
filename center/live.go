package center

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/hotline-cc/hotline/acd"
	"github.com/hotline-cc/hotline/call"
	"github.com/hotline-cc/hotline/callbacks"
	"github.com/hotline-cc/hotline/conversation"
	"github.com/hotline-cc/hotline/customers"
	"github.com/hotline-cc/hotline/dashboard"
	"github.com/hotline-cc/hotline/ivr"
	"github.com/hotline-cc/hotline/journey"
	"github.com/hotline-cc/hotline/waitroom"
	"github.com/hotline-cc/hotline/webphone"
)

// hub is the center's live changes as dashboard events.
type hub struct {
	*dashboard.Feed
	acd acd.Engine
}

func newHub(d acd.Engine) *hub { return &hub{Feed: dashboard.NewFeed(), acd: d} }

// callChanged publishes a journey's live view (journey.Registry's publish function).
func (h *hub) callChanged(l call.Live, ended bool) {
	h.Publish(dashboard.Event{Type: dashboard.EventCall, ID: l.ID, Data: dashboard.LiveCallOf(l), Ended: ended})
}

func (h *hub) agentChanged(a acd.AgentStateChanged) {
	st, err := h.acd.Agent(a.AgentID)
	var data any
	if err == nil {
		data = st
	}
	h.Publish(dashboard.Event{Type: dashboard.EventAgent, ID: a.AgentID, Data: data, At: a.At})
}

// live is the center as the dashboard sees it: calls in progress, the distributor's view,
// and a stream of changes. It implements dashboard.Live.
type live struct {
	*hub
	acd       acd.Engine
	flows     *ivr.Library
	calls     *journey.Registry
	room      *waitroom.Room
	callbacks *callbacks.Dialer
	monitors  *conversation.Monitors
	recorder  *conversation.Recorder
	phones    *webphone.Phones  // nil: no browser phone
	isAgent   func(string) bool // a configured agent
	log       *slog.Logger
}

var (
	_ dashboard.Live             = (*live)(nil)
	_ dashboard.CallbackNotifier = (*live)(nil)
)

func (l *live) Queues() []acd.QueueStats  { return l.acd.Queues() }
func (l *live) Agents() []acd.AgentStatus { return l.acd.Agents() }

func (l *live) Calls() []dashboard.LiveCall {
	calls := l.calls.Calls()
	out := make([]dashboard.LiveCall, 0, len(calls))
	for _, c := range calls {
		if c.State == call.StateQueued {
			if pos, _, ok := l.acd.Position(c.ID); ok {
				c.Position = pos
			}
		}
		out = append(out, dashboard.LiveCallOf(c))
	}
	return out
}

func (l *live) AgentAction(ctx context.Context, agentID string, action dashboard.Action, reason string) error {
	var acts []acd.Action
	var err error
	switch action {
	case dashboard.ActionLogin:
		acts, err = l.acd.Login(agentID)
	case dashboard.ActionLogout:
		acts, err = l.acd.Logout(agentID)
	case dashboard.ActionPause:
		if reason == "" {
			reason = "break"
		}
		acts, err = l.acd.Pause(agentID, reason)
	case dashboard.ActionUnpause:
		acts, err = l.acd.Unpause(agentID)
	default:
		return fmt.Errorf("unknown agent action %q", action)
	}
	l.room.Apply(acts)
	if err == nil {
		l.log.Info("agent action from the dashboard", "agent", agentID, "action", action, "reason", reason)
	}
	return err
}

func (l *live) Flows() map[string]string {
	out := map[string]string{}
	set := l.flows.Set()
	for _, name := range set.Names() {
		out[name] = ivr.Mermaid(set.Flow(name))
	}
	return out
}

// CallbackChanged withdraws a callback from the distributor when the API cancels or
// reschedules it; a rescheduled one comes back from the store when it falls due.
func (l *live) CallbackChanged(ctx context.Context, cb customers.Callback) {
	l.callbacks.Changed(cb, l.room.Apply)
}

var _ dashboard.CallControl = (*live)(nil)

// Transfer asks a call's conversation to transfer it, as the agent's phone would, and waits
// for the outcome (a minute at most: a colleague's ring timeout, an outside number's ring).
func (l *live) Transfer(ctx context.Context, callID, target string) (call.TransferProgress, error) {
	j := l.calls.Get(callID)
	if j == nil {
		return call.TransferProgress{}, dashboard.ErrNoCall
	}
	final := make(chan call.TransferProgress, 1)
	report := func(p call.TransferProgress) {
		if p.Final() {
			select {
			case final <- p:
			default:
			}
		}
	}
	if err := j.Ask(call.TransferRequest{Target: target, TargetURI: target, Report: report}); err != nil {
		return call.TransferProgress{}, fmt.Errorf("%w: %v", dashboard.ErrNotConnected, err)
	}
	select {
	case p := <-final:
		return p, nil
	case <-ctx.Done():
		return call.TransferProgress{}, ctx.Err()
	case <-time.After(time.Minute):
		return call.TransferProgress{Status: 408, Reason: "Request Timeout"}, nil
	}
}

// Hold puts the caller of a connected call on hold, or takes them off it.
func (l *live) Hold(ctx context.Context, callID string, on bool) error {
	j := l.calls.Get(callID)
	if j == nil {
		return dashboard.ErrNoCall
	}
	if err := j.Ask(call.HoldRequest{Hold: on}); err != nil {
		return fmt.Errorf("%w: %v", dashboard.ErrNotConnected, err)
	}
	for deadline := time.Now().Add(time.Second); time.Now().Before(deadline) && j.Live().OnHold != on; {
		time.Sleep(10 * time.Millisecond) // the answer shows the call as it now is
	}
	return nil
}

// Conference merges a call's caller, agent and the colleague the agent consults.
func (l *live) Conference(ctx context.Context, callID string) error {
	j := l.calls.Get(callID)
	if j == nil {
		return dashboard.ErrNoCall
	}
	res := make(chan error, 1)
	if err := j.Ask(call.ConferenceRequest{Done: func(err error) { res <- err }}); err != nil {
		return fmt.Errorf("%w: %v", dashboard.ErrNotConnected, err)
	}
	select {
	case err := <-res:
		if errors.Is(err, conversation.ErrNoConsultation) {
			return dashboard.ErrNoConsultation
		}
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}
