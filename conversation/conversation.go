// Package conversation is a caller's talk with agents, from the first agent's answer to the
// last hangup: the bridge, hold (the caller hears the queue's hold music, not silence),
// blind transfers to another agent, a queue or an outside number, and each agent's part
// accounted on the journey. It carries out what the agent's phone asks (call.Requester) and
// what the API asks (journey.Ask); it never sees SIP or ARI, and decides no routing: the
// distributor does.
package conversation

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/hotline-cc/hotline/acd"
	"github.com/hotline-cc/hotline/call"
	"github.com/hotline-cc/hotline/customers"
	"github.com/hotline-cc/hotline/journey"
)

// Voice finds the hold music.
type Voice interface {
	Prompt(name string) (call.Prompt, error)
}

// Config is what conversations work with.
type Config struct {
	Distributor acd.Engine
	Dialer      call.Dialer // dials outside numbers
	Voice       Voice
	Plan        DialPlan
	// MusicOnHold is a queue's hold music prompt name ("" = the shipped hold-music).
	MusicOnHold func(queue string) string
	// KeepArrival says whether a caller transferred to queue keeps their original arrival
	// (their place in line); nil: always.
	KeepArrival func(queue string) bool
	// Outbound checks an outside number before a transfer dials it (the callbacks'
	// allow-list and rate limits): the number to dial, or an error saying why not. Nil
	// refuses every outside number.
	Outbound func(ctx context.Context, number string) (string, error)
	// Resolver names the channel a REFER's Replaces points to (attended transfers); nil
	// refuses attended transfers.
	Resolver call.DialogResolver
	// RingTimeout is how long an outside number may ring (default 30 s).
	RingTimeout time.Duration
	// Recorder records conversations by their queue's policy and takes the agent's
	// recording keys; nil records nothing.
	Recorder *Recorder
	// Monitors joins supervisors' phones to conversations; nil: nobody can monitor.
	Monitors *Monitors
	// Audit writes monitoring sessions where the API lists them (nil: the log only).
	Audit Audit
	Log   *slog.Logger
}

// Talks carries out conversations; one per center.
type Talks struct {
	cfg   Config
	d     acd.Engine
	apply func([]acd.Action)
	log   *slog.Logger
}

// New makes the conversations of a center; apply carries out the distributor's actions.
func New(cfg Config, apply func([]acd.Action)) *Talks {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.RingTimeout == 0 {
		cfg.RingTimeout = 30 * time.Second
	}
	if cfg.MusicOnHold == nil {
		cfg.MusicOnHold = func(string) string { return "" }
	}
	if cfg.KeepArrival == nil {
		cfg.KeepArrival = func(string) bool { return true }
	}
	return &Talks{cfg: cfg, d: cfg.Distributor, apply: apply, log: cfg.Log.With("component", "conversation")}
}

// End is how a conversation ended.
type End string

// Ends.
const (
	CallerLeft End = "caller-left" // the caller hung up
	AgentLeft  End = "agent-left"  // the (last) agent hung up
	Requeued   End = "requeued"    // transferred to a queue: the caller waits in Outcome.Queue
	Away       End = "away"        // transferred to an outside number, and that call has ended
)

// Outcome is how a conversation ended.
type Outcome struct {
	End    End
	Queue  string        // the queue the caller waits in, when Requeued
	Agent  string        // the last agent the caller talked to
	Talked time.Duration // connected time, hold included
}

// talk is one conversation's state.
type talk struct {
	*Talks
	ctx    context.Context
	j      *journey.Journey
	caller call.Channel
	queue  string // the queue the call was answered from
	agent  journey.Answer
	since  time.Time     // the agent's part began
	held   bool          // the caller is on hold
	heldAt time.Time     // since when
	hold   time.Duration // hold time in this agent's part
	talked time.Duration
	asks   <-chan call.Request

	consult *consultation   // while the agent consults a colleague
	monitor *monitorSession // while a supervisor monitors the call
	keysOff func()          // stops reading the current agent's recording keys
}

// Talk connects the caller of j to the agent leg that answered, from queue, and carries out
// the conversation until it ends, on the caller's goroutine.
func (c *Talks) Talk(ctx context.Context, j *journey.Journey, queue string, first journey.Answer) Outcome {
	t := &talk{Talks: c, ctx: ctx, j: j, caller: j.Channel(), queue: queue}
	t.asks = j.Talking(true)
	defer j.Talking(false)
	t.startPart(first)
	defer func() { t.keysOff() }()
	for {
		t.j.Bridged(t.agent.Leg)
		t.j.SetState(call.StateConnected, t.queue, t.agent.Agent)
		var r call.Request
		var gone End
		if t.held {
			r, gone = t.waitHeld()
		} else {
			r, gone = t.bridge()
		}
		if gone != "" {
			return t.finish(gone)
		}
		switch r := r.(type) {
		case call.HoldRequest:
			t.setHold(r.Hold)
		case call.TransferRequest:
			if out, done := t.transfer(r); done {
				return out
			}
		case call.ConsultRequest:
			t.startConsult(r)
		case call.ConferenceRequest:
			if out, done := t.conference(r); done {
				return out
			}
		case call.MonitorRequest:
			t.startMonitor(r)
		}
	}
}

// bridge connects caller and agent until one hangs up or a request comes.
func (t *talk) bridge() (call.Request, End) {
	bctx, stop := context.WithCancel(t.ctx)
	defer stop()
	done := make(chan struct{})
	var supGone <-chan struct{}
	if m, ok := t.caller.(call.Monitorer); ok && t.monitor != nil {
		s := t.monitor
		supGone = s.leg.Context().Done()
		go func() { _, _ = m.Monitor(bctx, t.agent.Leg, s.leg, s.ctl); close(done) }()
	} else {
		go func() { _, _ = t.caller.Bridge(bctx, t.agent.Leg); close(done) }()
	}
	legAsks := requests(t.agent.Leg)
	consultEnded, consultAsks := t.consultEvents()
	for {
		select {
		case <-done:
			if supGone != nil && t.goneNow() == "" {
				t.endMonitor("the supervisor hung up")
				return nil, "" // caller and agent are bridged again
			}
			return nil, t.who()
		case <-supGone: // the supervisor left: caller and agent go on in a bridge
			stop()
			<-done
			if gone := t.goneNow(); gone != "" {
				return nil, gone
			}
			t.endMonitor("the supervisor hung up")
			return nil, ""
		case r, ok := <-legAsks:
			if !ok {
				legAsks = nil
				continue
			}
			stop()
			<-done
			return r, t.goneNow()
		case r, ok := <-consultAsks:
			if !ok {
				consultAsks = nil
				continue
			}
			stop()
			<-done
			return r, t.goneNow()
		case r := <-t.asks:
			stop()
			<-done
			return r, t.goneNow()
		case <-consultEnded:
			t.endConsult()
			consultEnded, consultAsks = nil, nil
		}
	}
}

// waitHeld plays hold music to the caller until a request comes or someone hangs up.
func (t *talk) waitHeld() (call.Request, End) {
	stop := t.music()
	defer stop()
	legAsks := requests(t.agent.Leg)
	consultEnded, consultAsks := t.consultEvents()
	for {
		select {
		case <-t.ctx.Done():
			return nil, CallerLeft
		case <-t.agent.Leg.Context().Done():
			return nil, t.who()
		case r, ok := <-legAsks:
			if !ok {
				legAsks = nil
				continue
			}
			return r, ""
		case r, ok := <-consultAsks:
			if !ok {
				consultAsks = nil
				continue
			}
			return r, ""
		case r := <-t.asks:
			return r, ""
		case <-consultEnded:
			t.endConsult()
			consultEnded, consultAsks = nil, nil
		}
	}
}

// music plays the queue's hold music to the caller until the returned stop is called.
func (t *talk) music() (stop func()) {
	name := t.cfg.MusicOnHold(t.queue)
	if name == "" {
		name = "hold-music"
	}
	p, err := t.cfg.Voice.Prompt(name)
	mctx, cancel := context.WithCancel(t.ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err != nil {
			t.log.Warn("no hold music", "prompt", name, "error", err)
			<-mctx.Done()
			return
		}
		for mctx.Err() == nil {
			if _, err := t.caller.Play(mctx, []call.Prompt{p}, call.PlayOptions{Loop: true}); err != nil {
				<-mctx.Done() // the caller has gone or playing failed: wait to be stopped
			}
		}
	}()
	return func() { cancel(); <-done }
}

// who says who hung up once a bridge or a hold ended on its own.
func (t *talk) who() End {
	if t.ctx.Err() != nil || t.caller.Context().Err() != nil {
		return CallerLeft
	}
	return AgentLeft
}

// goneNow says who hung up, if anyone did, as a request arrived.
func (t *talk) goneNow() End {
	switch {
	case t.ctx.Err() != nil || t.caller.Context().Err() != nil:
		return CallerLeft
	case t.agent.Leg.Context().Err() != nil:
		return AgentLeft
	}
	return ""
}

func (t *talk) setHold(on bool) {
	if on == t.held {
		return
	}
	acts, err := t.d.Hold(t.j.ID(), on)
	t.apply(acts)
	if err != nil {
		t.log.Info("hold not recorded", "call", t.j.ID(), "error", err)
	}
	now := time.Now()
	if on {
		t.heldAt = now
		t.j.Note("hold by %s", t.agent.Agent)
	} else {
		t.hold += now.Sub(t.heldAt)
		t.j.Note("resumed by %s", t.agent.Agent)
	}
	t.held = on
	t.j.SetHold(on)
}

// endPart closes the current agent's part of the conversation.
func (t *talk) endPart(how string) {
	t.endMonitor(how)
	now := time.Now()
	if t.held {
		t.hold += now.Sub(t.heldAt)
		t.held = false
		t.j.SetHold(false)
	}
	t.talked += now.Sub(t.since)
	t.j.AddSegment(journey.Segment{Agent: t.agent.Agent, Answered: t.since, Ended: now, Hold: t.hold, End: how})
	if st := call.StatsOf(t.agent.Leg); st != nil {
		t.j.Note("bridged %s: %d packets to the agent, %d from the agent; %d RTCP reports from the agent, which lost %d",
			t.agent.Agent, st.PacketsSent, st.PacketsReceived, st.ReportsReceived, st.RemoteLost)
	}
}

// finish ends the conversation: the agent leg is hung up and the agent goes to wrap-up.
func (t *talk) finish(gone End) Outcome {
	if l, ok := t.agent.Leg.(call.Losable); ok && gone == AgentLeft && l.Lost() {
		return t.agentLost()
	}
	t.endConsult()
	t.endPart("hangup")
	_ = t.agent.Leg.Hangup(call.CauseNormal)
	acts, _ := t.d.Hangup(t.j.ID())
	t.apply(acts)
	return Outcome{End: gone, Agent: t.agent.Agent, Talked: t.talked}
}

// agentLost puts the caller back in line, with their original arrival (ahead of everyone who
// came after them), when the agent's leg vanished rather than hung up: a browser phone's tab
// closed or its network dropped. The caller hears the queue again, not silence; the agent goes
// to wrap-up as after any call.
func (t *talk) agentLost() Outcome {
	t.endConsult()
	t.endPart("agent connection lost")
	metricAgentLost.Inc()
	t.log.Warn("agent's phone vanished mid-call; the caller goes back in line", "call", t.j.ID(), "agent", t.agent.Agent, "queue", t.queue)
	acts, err := t.d.TransferToQueue(t.j.ID(), t.queue, true)
	t.apply(acts)
	if err != nil {
		t.log.Warn("cannot put the caller back in line", "call", t.j.ID(), "error", err)
		acts, _ := t.d.Hangup(t.j.ID())
		t.apply(acts)
		return Outcome{End: AgentLeft, Agent: t.agent.Agent, Talked: t.talked}
	}
	t.j.Note("%s's phone vanished mid-call: back in line in %s", t.agent.Agent, t.queue)
	return Outcome{End: Requeued, Queue: t.queue, Agent: t.agent.Agent, Talked: t.talked}
}

// startPart begins the part of the agent who took the call: the recording (by the queue's
// policy) notes them, and their recording keys are read.
func (t *talk) startPart(a journey.Answer) {
	t.agent, t.since, t.hold, t.held = a, time.Now(), 0, false
	t.cfg.Recorder.answered(t.j, t.queue, a.Agent)
	if t.keysOff != nil {
		t.keysOff()
	}
	kctx, cancel := context.WithCancel(t.ctx)
	done := make(chan struct{})
	go func() { defer close(done); t.cfg.Recorder.keys(kctx, t.j, a.Leg, a.Agent) }()
	t.keysOff = func() { cancel(); <-done }
}

func requests(leg call.Channel) <-chan call.Request {
	if r, ok := leg.(call.Requester); ok {
		return r.Requests()
	}
	return nil
}

// progress reports a transfer's progress to whoever asked (the phone, the API).
func progress(r call.TransferRequest, status int, reason string) {
	if r.Report != nil {
		r.Report(call.TransferProgress{Status: status, Reason: reason})
	}
}

// missStatus is the SIP status a failed transfer's sipfrag carries for why it failed.
func missStatus(why string) (int, string) {
	switch why {
	case string(acd.Busy):
		return 486, "Busy Here"
	case string(acd.Rejected):
		return 603, "Decline"
	case string(acd.Unreachable), string(acd.CancelAgentLoggedOut):
		return 480, "Temporarily Unavailable"
	}
	return 408, "Request Timeout" // no answer, ring timeout
}

// dialStatus is the same for an outside number that could not be reached.
func dialStatus(err error) (int, string) {
	var de *call.DialError
	if errors.As(err, &de) {
		switch de.MissReason() {
		case "busy":
			return 486, "Busy Here"
		case "rejected":
			return 603, "Decline"
		case "no_answer":
			return 408, "Request Timeout"
		}
	}
	return 503, "Service Unavailable"
}

// refusal is why a check refused an outside number, for the sipfrag and the API.
func refusal(err error) string {
	var ref *customers.Refusal
	if errors.As(err, &ref) {
		return ref.Reason
	}
	return err.Error()
}
