package center

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/hotline-cc/hotline/acd"
	"github.com/hotline-cc/hotline/call"
	"github.com/hotline-cc/hotline/customers"
	"github.com/hotline-cc/hotline/dashboard"
	"github.com/hotline-cc/hotline/ivr"
	"github.com/hotline-cc/hotline/sip/media"
)

// live is the center as the dashboard sees it: calls in progress, the distributor's view, and
// a stream of changes. It implements dashboard.Live.
type live struct {
	c *Center

	mu      sync.Mutex
	calls   map[string]*dashboard.LiveCall
	callers map[string]call.Channel // call ID -> the caller's leg, for its audio statistics
	subs    map[chan dashboard.Event]struct{}
}

var (
	_ dashboard.Live             = (*live)(nil)
	_ dashboard.CallbackNotifier = (*live)(nil)
)

func newLive(c *Center) *live {
	return &live{c: c, calls: map[string]*dashboard.LiveCall{}, callers: map[string]call.Channel{},
		subs: map[chan dashboard.Event]struct{}{}}
}

func (l *live) Queues() []acd.QueueStats  { return l.c.acd.Queues() }
func (l *live) Agents() []acd.AgentStatus { return l.c.acd.Agents() }

func (l *live) Calls() []dashboard.LiveCall {
	l.mu.Lock()
	out := make([]dashboard.LiveCall, 0, len(l.calls))
	legs := make([]call.Channel, 0, len(l.calls))
	for _, lc := range l.calls {
		cp := *lc
		if cp.State == dashboard.CallQueued {
			if pos, _, ok := l.c.acd.Position(cp.ID); ok {
				cp.Position = pos
			}
		}
		out = append(out, cp)
		legs = append(legs, l.callers[cp.ID])
	}
	l.mu.Unlock()
	for i := range out {
		out[i].Audio = l.audio(out[i], legs[i])
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Started.Before(out[j].Started) })
	return out
}

// audio is how well hotline receives a call right now: the caller's leg, and the agent's
// while connected. It is read when asked for, so the numbers are current without an event
// per packet; nil when hotline does not carry the call's media (Asterisk does).
func (l *live) audio(lc dashboard.LiveCall, caller call.Channel) *dashboard.CallAudio {
	a := dashboard.CallAudio{Caller: legAudio(caller)}
	if lc.State == dashboard.CallConnected {
		a.Agent = legAudio(l.c.queues.bridgedLeg(lc.ID))
	}
	if a.Caller == nil && a.Agent == nil {
		return nil
	}
	return &a
}

// legAudio is what hotline has received on a leg whose RTP it terminates (a native SIP
// channel); nil for any other.
func legAudio(ch call.Channel) *dashboard.LegAudio {
	m, ok := ch.(mediaLeg)
	if !ok || m.Media() == nil {
		return nil
	}
	return statsAudio(m.Media().Stats())
}

// statsAudio is a leg's statistics as the dashboard shows them: what hotline receives, and,
// once the peer has sent an RTCP report about hotline's stream, what the peer hears of it.
func statsAudio(st media.Stats) *dashboard.LegAudio {
	a := &dashboard.LegAudio{PacketsReceived: st.PacketsReceived, PacketsLost: st.PacketsLost,
		LostRatio: st.LossRatio(), JitterMS: millis(st.Jitter)}
	if st.RemoteReported {
		lost, jitter := st.RemoteFractionLost, millis(st.RemoteJitter)
		a.HeardLostRatio, a.HeardJitterMS = &lost, &jitter
		if st.RTT > 0 {
			rtt := millis(st.RTT)
			a.RTTMS = &rtt
		}
	}
	return a
}

// millis is d in milliseconds, to the microsecond.
func millis(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func (l *live) AgentAction(ctx context.Context, agentID string, action dashboard.Action, reason string) error {
	var acts []acd.Action
	var err error
	switch action {
	case dashboard.ActionLogin:
		acts, err = l.c.acd.Login(agentID)
	case dashboard.ActionLogout:
		acts, err = l.c.acd.Logout(agentID)
	case dashboard.ActionPause:
		if reason == "" {
			reason = "break"
		}
		acts, err = l.c.acd.Pause(agentID, reason)
	case dashboard.ActionUnpause:
		acts, err = l.c.acd.Unpause(agentID)
	default:
		return fmt.Errorf("unknown agent action %q", action)
	}
	l.c.queues.apply(acts)
	if err == nil {
		l.c.log.Info("agent action from the dashboard", "agent", agentID, "action", action, "reason", reason)
	}
	return err
}

func (l *live) Subscribe() (<-chan dashboard.Event, func()) {
	ch := make(chan dashboard.Event, 256)
	l.mu.Lock()
	l.subs[ch] = struct{}{}
	l.mu.Unlock()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			l.mu.Lock()
			if _, ok := l.subs[ch]; ok {
				delete(l.subs, ch)
				close(ch)
			}
			l.mu.Unlock()
		})
	}
}

// closeAll ends every subscription (shutdown).
func (l *live) closeAll() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for ch := range l.subs {
		delete(l.subs, ch)
		close(ch)
	}
}

func (l *live) Flows() map[string]string {
	out := map[string]string{}
	set := l.c.flows.Set()
	for _, name := range set.Names() {
		out[name] = ivr.Mermaid(set.Flow(name))
	}
	return out
}

// publish sends an event to every subscriber; a subscriber that is not keeping up loses it
// (the dashboard re-reads the state on the next event for the same thing).
func (l *live) publish(e dashboard.Event) {
	if e.At.IsZero() {
		e.At = time.Now()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for ch := range l.subs {
		select {
		case ch <- e:
		default:
		}
	}
}

// callStarted registers a call entering its flow.
func (l *live) callStarted(ch call.Channel, flow string) {
	now := time.Now()
	lc := &dashboard.LiveCall{ID: ch.ID(), Caller: ch.Caller().Number, CallerName: ch.Caller().Name,
		Dialed: ch.Dialed(), State: dashboard.CallIVR, Started: now, Since: now, Flow: flow}
	l.mu.Lock()
	l.calls[lc.ID] = lc
	l.callers[lc.ID] = ch
	cp := *lc
	l.mu.Unlock()
	cp.Audio = l.audio(cp, ch)
	l.publish(dashboard.Event{Type: dashboard.EventCall, ID: lc.ID, Data: cp})
}

// update changes a live call and publishes it.
func (l *live) update(id string, f func(*dashboard.LiveCall)) {
	l.mu.Lock()
	lc := l.calls[id]
	if lc == nil {
		l.mu.Unlock()
		return
	}
	f(lc)
	cp := *lc
	caller := l.callers[id]
	l.mu.Unlock()
	cp.Audio = l.audio(cp, caller)
	l.publish(dashboard.Event{Type: dashboard.EventCall, ID: id, Data: cp})
}

func (l *live) state(id string, st dashboard.CallState, queue, agent string) {
	l.update(id, func(lc *dashboard.LiveCall) {
		if lc.State != st {
			lc.Since = time.Now()
		}
		lc.State, lc.Agent = st, agent
		if queue != "" {
			lc.Queue = queue
		}
	})
}

func (l *live) callEnded(id string) {
	l.mu.Lock()
	lc := l.calls[id]
	caller := l.callers[id]
	delete(l.calls, id)
	delete(l.callers, id)
	l.mu.Unlock()
	if lc != nil {
		cp := *lc
		cp.Audio = l.audio(cp, caller)
		l.publish(dashboard.Event{Type: dashboard.EventCall, ID: id, Data: cp, Ended: true})
	}
}

// Observe follows the flow node a call is in (ivr.Observer and ivr.NodeStarter).
func (l *live) Observe(ivr.Event) {}

func (l *live) NodeStart(e ivr.Event) {
	l.update(e.CallID, func(lc *dashboard.LiveCall) { lc.Node = e.Node })
}

func (l *live) agentChanged(a acd.AgentStateChanged) {
	st, err := l.c.acd.Agent(a.AgentID)
	var data any
	if err == nil {
		data = st
	}
	l.publish(dashboard.Event{Type: dashboard.EventAgent, ID: a.AgentID, Data: data, At: a.At})
}

// CallbackChanged withdraws a callback from the distributor when the API cancels or
// reschedules it; a rescheduled one comes back from the store when it falls due.
func (l *live) CallbackChanged(ctx context.Context, cb customers.Callback) {
	b := l.c.callbacks
	entry := acdID(cb.ID)
	b.mu.Lock()
	for k, v := range b.converted {
		if v == cb.ID {
			entry = k
		}
	}
	b.mu.Unlock()
	if st, ok := l.c.acd.CallStatus(entry); ok && st.State != acd.CallConnected {
		acts, _ := l.c.acd.Abandon(entry)
		l.c.queues.apply(acts)
		b.release(cb.ID)
		l.c.log.Info("callback withdrawn from the queue", "callback", cb.ID, "status", cb.Status)
	}
	b.kick()
}
