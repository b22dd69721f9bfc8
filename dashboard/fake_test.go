package dashboard

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/hotline-cc/hotline/acd"
	"github.com/hotline-cc/hotline/call"
	"github.com/hotline-cc/hotline/internal/fakeclock"
)

// fakeLive is the center as the tests see it: a real acd.Distributor on a fake clock, calls
// kept in a map, and a fan-out of events like the center's.
type fakeLive struct {
	mu             sync.Mutex
	clk            *fakeclock.Clock
	d              *acd.Distributor
	calls          map[string]LiveCall
	transferAnswer map[string]call.TransferProgress // target -> how a transfer there ends
	subs           map[chan Event]bool
	flows          map[string]string
	actions        []string
	mon            fakeMonitor
}

func newFakeLive(cfg acd.Config, clk *fakeclock.Clock) *fakeLive {
	d, err := acd.New(cfg, clk)
	if err != nil {
		panic(err)
	}
	return &fakeLive{clk: clk, d: d, calls: map[string]LiveCall{}, subs: map[chan Event]bool{},
		flows: map[string]string{"hotline": "flowchart TD\n  %% flow hotline (hotline.yaml)\n  start((start))\n" +
			"  n0[\"greet<br/><i>say: Welcome</i>\"]\n  n1{{\"menu<br/><i>1 support, 2 sales</i>\"}}\n  n2[(\"support<br/><i>queue support</i>\")]\n" +
			"  n3((\"bye<br/><i>hangup</i>\"))\n  start --> n0\n  n0 -- \"next\" --> n1\n  n1 -- \"1\" --> n2\n  n1 -- \"timeout\" --> n1\n" +
			"  n2 -- \"timeout\" --> n3\n  errors((any error)) -.-> n3\n"}}
}

func (f *fakeLive) Queues() []acd.QueueStats  { return f.d.Queues() }
func (f *fakeLive) Agents() []acd.AgentStatus { return f.d.Agents() }
func (f *fakeLive) Flows() map[string]string  { return f.flows }

func (f *fakeLive) Calls() []LiveCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]LiveCall, 0, len(f.calls))
	for _, c := range f.calls {
		out = append(out, c)
	}
	return out
}

func (f *fakeLive) AgentAction(ctx context.Context, id, action, reason string) error {
	var err error
	switch action {
	case ActionLogin:
		_, err = f.d.Login(id)
	case ActionLogout:
		_, err = f.d.Logout(id)
	case ActionPause:
		_, err = f.d.Pause(id, reason)
	case ActionUnpause:
		_, err = f.d.Unpause(id)
	default:
		err = fmt.Errorf("unknown action %q", action)
	}
	if err != nil {
		return err
	}
	f.mu.Lock()
	f.actions = append(f.actions, id+" "+action+" "+reason)
	f.mu.Unlock()
	f.emit(Event{Type: EventAgent, ID: id, At: f.clk.Now()})
	return nil
}

func (f *fakeLive) Subscribe() (<-chan Event, func()) {
	ch := make(chan Event, 64)
	f.mu.Lock()
	f.subs[ch] = true
	f.mu.Unlock()
	return ch, func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.subs[ch] {
			delete(f.subs, ch)
			close(ch)
		}
	}
}

func (f *fakeLive) emit(ev Event) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for ch := range f.subs {
		ch <- ev
	}
}

// enqueue puts a caller in a queue, as a flow's queue step would, and tells the dashboard.
func (f *fakeLive) enqueue(id, queue, caller string) {
	if _, err := f.d.Enqueue(acd.Call{ID: id, Queue: queue}); err != nil {
		panic(err)
	}
	now := f.clk.Now()
	c := LiveCall{ID: id, Caller: caller, Dialed: "4000", State: CallQueued, Queue: queue, Started: now.Add(-10 * time.Second),
		Since: now, Flow: "hotline", Node: "support", Position: 1}
	f.mu.Lock()
	f.calls[id] = c
	f.mu.Unlock()
	f.emit(Event{Type: EventCall, ID: id, Data: c, At: now})
}

// setAudio changes what Calls says of a call's audio. Like the center, it publishes no event:
// audio figures change with every packet, and the page re-reads the calls instead.
func (f *fakeLive) setAudio(id string, a *CallAudio) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.calls[id]
	c.Audio = a
	f.calls[id] = c
}

func (f *fakeLive) hangup(id string) {
	f.d.Abandon(id)
	f.mu.Lock()
	delete(f.calls, id)
	f.mu.Unlock()
	f.emit(Event{Type: EventCall, ID: id, Ended: true, At: f.clk.Now()})
}

func (f *fakeLive) actionLog() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.actions...)
}

// connect puts a queued call through to an agent, as answering does.
func (f *fakeLive) connect(id, agent string) {
	f.mu.Lock()
	c := f.calls[id]
	c.State, c.Agent, c.Position = CallConnected, agent, 0
	f.calls[id] = c
	f.mu.Unlock()
	f.emit(Event{Type: EventCall, ID: id, Data: c, At: f.clk.Now()})
}

// Transfer answers with what the test set in transferAnswer for the target.
func (f *fakeLive) Transfer(_ context.Context, callID, target string) (call.TransferProgress, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.calls[callID]
	switch {
	case !ok:
		return call.TransferProgress{}, ErrNoCall
	case c.State != CallConnected:
		return call.TransferProgress{}, ErrNotConnected
	}
	f.actions = append(f.actions, "transfer "+callID+" "+target)
	if p, ok := f.transferAnswer[target]; ok {
		return p, nil
	}
	return call.TransferProgress{Status: 200, Reason: "OK"}, nil
}

func (f *fakeLive) Hold(_ context.Context, callID string, on bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.calls[callID]
	if !ok {
		return ErrNoCall
	}
	if c.State != CallConnected {
		return ErrNotConnected
	}
	c.OnHold = on
	f.calls[callID] = c
	return nil
}

func (f *fakeLive) Conference(_ context.Context, callID string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.calls[callID]; !ok {
		return ErrNoCall
	}
	return ErrNoConsultation
}

// fakeMonitor is the center's monitoring and recording as the tests see it: the sales queue
// never records, supervisor 9002's phone is not registered, and a call in endOnMonitor hangs
// up as the supervisor's phone answers.
type fakeMonitor struct {
	endOnMonitor map[string]bool
	actors       []Actor
}

func (f *fakeLive) monitorable(callID string) (LiveCall, error) {
	c, ok := f.calls[callID]
	switch {
	case !ok:
		return c, ErrNoCall
	case c.State != CallConnected:
		return c, ErrNotConnected
	}
	return c, nil
}

func (f *fakeLive) Monitor(_ context.Context, callID, supervisor string, mode call.MonitorMode, by Actor) error {
	f.mu.Lock()
	c, err := f.monitorable(callID)
	if err == nil && c.Monitor != nil {
		err = ErrMonitored
	}
	if err == nil && supervisor == "9002" {
		err = fmt.Errorf("%w: supervisor %s has no registered phone", ErrSupervisorUnreachable, supervisor)
	}
	ends := f.mon.endOnMonitor[callID]
	if err == nil && !ends {
		c.Monitor = &MonitorState{Supervisor: supervisor, Mode: mode, Since: f.clk.Now()}
		f.calls[callID] = c
		f.actions = append(f.actions, "monitor "+callID+" "+supervisor+" "+string(mode))
		f.mon.actors = append(f.mon.actors, by)
	}
	f.mu.Unlock()
	if err == nil && ends {
		f.hangup(callID)
		return fmt.Errorf("%w: the call just ended", ErrNotConnected)
	}
	return err
}

func (f *fakeLive) SetMonitorMode(_ context.Context, callID string, mode call.MonitorMode, by Actor) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, err := f.monitorable(callID)
	if err != nil {
		return err
	}
	if c.Monitor == nil {
		return ErrNotMonitored
	}
	m := *c.Monitor
	m.Mode = mode
	c.Monitor = &m
	f.calls[callID] = c
	f.actions = append(f.actions, "mode "+callID+" "+string(mode))
	return nil
}

func (f *fakeLive) StopMonitor(_ context.Context, callID string, by Actor) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.calls[callID]
	if !ok {
		return ErrNoCall
	}
	if c.Monitor == nil {
		return ErrNotMonitored
	}
	c.Monitor = nil
	f.calls[callID] = c
	f.actions = append(f.actions, "stop monitor "+callID)
	return nil
}

func (f *fakeLive) RecordingAction(_ context.Context, callID string, action RecordingAction, by Actor) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, err := f.monitorable(callID)
	if err != nil {
		return false, err
	}
	if c.Queue == "sales" && action == RecordingStart {
		return false, fmt.Errorf("%w: queue sales never records", ErrRecordingPolicy)
	}
	st := c.Recording
	if st == "" {
		st = RecordingOff
	}
	next := map[RecordingAction]string{RecordingStart: RecordingOn, RecordingStop: RecordingOff, RecordingPause: RecordingPaused, RecordingResume: RecordingOn}[action]
	if (action == RecordingPause || action == RecordingResume) && st == RecordingOff {
		return false, fmt.Errorf("%w: call %s is not being recorded", ErrRecordingPolicy, callID)
	}
	if next == st {
		return false, nil
	}
	c.Recording = next
	f.calls[callID] = c
	f.actions = append(f.actions, "recording "+callID+" "+string(action)+" by "+by.TokenID)
	return true, nil
}
