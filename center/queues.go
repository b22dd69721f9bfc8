package center

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/hotline-cc/hotline/acd"
	"github.com/hotline-cc/hotline/call"
	"github.com/hotline-cc/hotline/customers"
	"github.com/hotline-cc/hotline/dashboard"
	"github.com/hotline-cc/hotline/ivr"
	"github.com/hotline-cc/hotline/prompts"
)

// queues carries out the distributor's decisions on real calls: it implements the flow's
// QueueService (a caller waits with music and announcements until an agent's phone answers)
// and rings agents for offers. The distributor decides; this only does what it is told.
type queues struct {
	d      *acd.Distributor
	dialer call.Dialer
	voice  *prompts.Library
	log    *slog.Logger
	ctx    context.Context // the center's lifetime
	hooks  queueHooks
	moh    map[string]string     // queue -> music-on-hold prompt
	rules  map[string][]joinRule // queue -> `when` priority rules
	// book commits the callback a waiting caller asked for (refused: the reason);
	// converted says which stored callback the caller's entry became.
	book      func(ctx context.Context, w *waiter, joined time.Time) (customers.Callback, string, error)
	converted func(entry, storeID string)

	mu      sync.Mutex
	journal map[string][]string             // call ID -> what happened to it in queues
	outcome map[string]queueOutcome         // call ID -> how its last queue stay ended
	waiting map[string]*waiter              // call ID -> caller waiting on this node
	ringing map[offerKey]context.CancelFunc // offers being rung
	wake    chan struct{}
}

// queueHooks let the center observe what happens (records, live events, persistence).
type queueHooks struct {
	agentChanged func(acd.AgentStateChanged)
	callback     func(ctx context.Context, o acd.Offer) // a callback reached an agent
	callState    func(callID string, st dashboard.CallState, queue, agent string)
}

func (q *queues) setState(callID string, st dashboard.CallState, queue, agent string) {
	if q.hooks.callState != nil {
		q.hooks.callState(callID, st, queue, agent)
	}
}

type offerKey struct{ call, agent string }

// waiter is a caller in a queue, owned by the goroutine running its flow.
type waiter struct {
	ch      call.Channel
	req     ivr.QueueRequest
	events  chan acd.Action // announcements, callback offers, timeout, overflow
	connect chan answered   // the agent leg that answered (unbuffered: taken or refused)
	done    chan struct{}   // closed when the caller has left the queue service
	bridged call.Channel    // the agent leg the caller is connected to (guarded by queues.mu)
}

type answered struct {
	leg   call.Channel
	agent string
}

func newQueues(ctx context.Context, d *acd.Distributor, dialer call.Dialer, voice *prompts.Library, log *slog.Logger) *queues {
	return &queues{
		d: d, dialer: dialer, voice: voice, log: log.With("component", "queues"), ctx: ctx,
		waiting: map[string]*waiter{}, ringing: map[offerKey]context.CancelFunc{}, journal: map[string][]string{}, outcome: map[string]queueOutcome{},
		wake: make(chan struct{}, 1),
	}
}

// run ticks the distributor at its next deadline until ctx ends.
func (q *queues) run(ctx context.Context) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		next, ok := q.d.NextDeadline()
		wait := time.Hour
		if ok {
			wait = max(time.Until(next), time.Millisecond)
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return
		case <-q.wake:
		case <-timer.C:
			q.apply(q.d.Tick())
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
	}
}

// apply carries out actions in order. It never blocks on a caller.
func (q *queues) apply(acts []acd.Action) {
	for _, a := range acts {
		switch a := a.(type) {
		case acd.Offer:
			ctx, cancel := context.WithCancel(q.ctx)
			q.mu.Lock()
			q.ringing[offerKey{a.CallID, a.AgentID}] = cancel
			q.mu.Unlock()
			go q.ring(ctx, a)
		case acd.CancelOffer:
			q.mu.Lock()
			cancel := q.ringing[offerKey{a.CallID, a.AgentID}]
			delete(q.ringing, offerKey{a.CallID, a.AgentID})
			q.mu.Unlock()
			if cancel != nil {
				cancel()
			}
			q.log.Info("offer withdrawn", "call", a.CallID, "agent", a.AgentID, "reason", a.Reason)
			q.note(a.CallID, "withdrawn %s %s", a.AgentID, a.Reason)
		case acd.Announce:
			q.tell(a.CallID, a)
		case acd.OfferCallback:
			q.tell(a.CallID, a)
		case acd.Timeout:
			q.tell(a.CallID, a)
		case acd.Overflowed:
			q.log.Info("overflow", "call", a.CallID, "from", a.From, "to", a.To)
			q.tell(a.CallID, a)
		case acd.AgentStateChanged:
			q.log.Info("agent state", "agent", a.AgentID, "from", a.From, "to", a.To, "reason", a.Reason)
			if q.hooks.agentChanged != nil {
				q.hooks.agentChanged(a)
			}
		}
	}
	select { // the next deadline may have moved
	case q.wake <- struct{}{}:
	default:
	}
}

// note adds a line to a call's queue journal (kept on its record).
func (q *queues) note(callID, format string, args ...any) {
	q.mu.Lock()
	q.journal[callID] = append(q.journal[callID], fmt.Sprintf(format, args...))
	q.mu.Unlock()
}

// takeJournal returns and forgets a call's journal.
func (q *queues) takeJournal(callID string) []string {
	q.mu.Lock()
	defer q.mu.Unlock()
	j := q.journal[callID]
	delete(q.journal, callID)
	return j
}

// takeOutcome returns and forgets how a call's last queue stay ended.
func (q *queues) takeOutcome(callID string) queueOutcome {
	q.mu.Lock()
	defer q.mu.Unlock()
	o := q.outcome[callID]
	delete(q.outcome, callID)
	return o
}

// bridgedLeg is the agent leg a waiting caller is connected to, nil if none.
func (q *queues) bridgedLeg(callID string) call.Channel {
	q.mu.Lock()
	defer q.mu.Unlock()
	if w := q.waiting[callID]; w != nil {
		return w.bridged
	}
	return nil
}

func (q *queues) tell(callID string, a acd.Action) {
	q.mu.Lock()
	w := q.waiting[callID]
	q.mu.Unlock()
	if w == nil {
		return
	}
	select {
	case w.events <- a:
	default:
		q.log.Warn("caller is not taking queue events", "call", callID)
	}
}

// ring calls the agent for an offer and reports the outcome to the distributor.
func (q *queues) ring(ctx context.Context, o acd.Offer) {
	key := offerKey{o.CallID, o.AgentID}
	defer func() {
		q.mu.Lock()
		delete(q.ringing, key)
		q.mu.Unlock()
	}()
	if o.Kind == acd.KindCallback {
		if q.hooks.callback != nil {
			q.hooks.callback(ctx, o)
		}
		return
	}
	q.mu.Lock()
	w := q.waiting[o.CallID]
	q.mu.Unlock()
	if w == nil {
		acts, _ := q.d.OfferFailed(o.CallID, o.AgentID, acd.Unreachable)
		q.apply(acts)
		return
	}
	q.log.Info("ringing agent", "call", o.CallID, "agent", o.AgentID, "queue", o.Queue)
	q.note(o.CallID, "offer %s", o.AgentID)
	q.setState(o.CallID, dashboard.CallRinging, o.Queue, o.AgentID)
	// The distributor times the ring itself (CancelOffer at Deadline); the phone's own timer
	// is a backstop a little later.
	leg, err := q.dialer.Originate(ctx, call.Target{Agent: o.AgentID},
		call.OriginateOptions{CallerID: w.ch.Caller(), RingTimeout: o.RingTimeout + 2*time.Second})
	if err != nil {
		if ctx.Err() != nil {
			return // withdrawn: the distributor already knows
		}
		reason := missReason(err)
		q.log.Info("agent missed the call", "call", o.CallID, "agent", o.AgentID, "reason", reason, "error", err)
		q.note(o.CallID, "missed %s %s", o.AgentID, reason)
		q.setState(o.CallID, dashboard.CallQueued, o.Queue, "")
		acts, _ := q.d.OfferFailed(o.CallID, o.AgentID, reason)
		q.apply(acts)
		return
	}
	acts, err := q.d.Answered(o.CallID, o.AgentID)
	q.apply(acts)
	if err != nil { // answered too late (timed out, caller gone, answered elsewhere)
		q.log.Info("agent answered too late", "call", o.CallID, "agent", o.AgentID, "error", err)
		_ = leg.Hangup(call.CauseNormal)
		return
	}
	q.note(o.CallID, "answered %s", o.AgentID)
	select {
	case w.connect <- answered{leg, o.AgentID}:
	case <-w.done: // the caller left (hung up) as the agent answered: free the agent
		q.note(o.CallID, "caller gone as %s answered", o.AgentID)
		_ = leg.Hangup(call.CauseNormal)
		acts, _ := q.d.Hangup(o.CallID)
		q.apply(acts)
	}
}

// Enqueue implements ivr.QueueService on the goroutine that owns the caller.
func (q *queues) Enqueue(ctx context.Context, ch call.Channel, req ivr.QueueRequest) (ivr.QueueResult, error) {
	res := ivr.QueueResult{}
	st, ok := q.d.QueueStats(req.Queue)
	if !ok {
		return ivr.QueueResult{Exit: ivr.QueueNoAgents}, fmt.Errorf("queue %q: %w", req.Queue, acd.ErrUnknownQueue)
	}
	if a := st.Agents; a.Available+a.Reserved+a.OnCall+a.WrapUp+a.Paused == 0 && !req.CallbackOffer {
		return ivr.QueueResult{Exit: ivr.QueueNoAgents}, nil // nobody logged in and no callback to offer
	}
	w := &waiter{ch: ch, req: req, events: make(chan acd.Action, 16), connect: make(chan answered), done: make(chan struct{})}
	defer close(w.done)
	id := ch.ID()
	q.mu.Lock()
	q.waiting[id] = w
	q.mu.Unlock()
	defer func() {
		q.mu.Lock()
		delete(q.waiting, id)
		q.mu.Unlock()
	}()
	joined := time.Now()
	customer := ""
	if req.Customer != nil {
		customer = req.Customer.ID
	}
	prio := priority(q.rules[req.Queue], req.Priority, req.Vars)
	acts, err := q.d.Enqueue(acd.Call{ID: id, Queue: req.Queue, Priority: prio, Kind: acd.KindCaller, CustomerID: customer})
	q.apply(acts)
	if err != nil {
		return ivr.QueueResult{Exit: ivr.QueueFull}, err
	}
	if pos, _, ok := q.d.Position(id); ok {
		res.Position = pos
	}
	q.setState(id, dashboard.CallQueued, req.Queue, "")
	defer q.setState(id, dashboard.CallIVR, "", "")
	defer func() {
		q.mu.Lock()
		q.outcome[id] = queueOutcome{queue: req.Queue, agent: res.Agent, exit: res.Exit, joined: joined, waited: res.Waited, talked: res.Talked}
		q.mu.Unlock()
	}()
	leave := func(exit ivr.QueueExit) (ivr.QueueResult, error) {
		res.Exit, res.Waited = exit, time.Since(joined)
		return res, nil
	}

	moh, _ := q.voice.Prompt(q.musicOnHold(req.Queue))
	callbackOffered := false
	var say []call.Prompt // an announcement to play before the music resumes
	for {
		// One playback at a time: an announcement, else music. Any of them stops the moment an
		// agent answers, an event arrives, or the caller presses a key.
		pctx, stopPlaying := context.WithCancel(ctx)
		type played struct {
			digit string
			err   error
		}
		done := make(chan played, 1)
		play, opts := []call.Prompt{moh}, call.PlayOptions{Interruptible: true, Loop: true}
		if say != nil {
			play, opts = say, call.PlayOptions{Interruptible: true}
			say = nil
		}
		go func() {
			d, err := ch.Play(pctx, play, opts)
			done <- played{d, err}
		}()
		stop := func() string { stopPlaying(); return (<-done).digit }

		var got answered
		var ev acd.Action
		var pressed string
		select {
		case <-ctx.Done():
			stop()
			acts, _ := q.d.Abandon(id)
			q.apply(acts)
			return leave(ivr.QueueHangup)
		case got = <-w.connect:
			stop()
		case ev = <-w.events:
			pressed = stop()
		case p := <-done:
			stopPlaying()
			pressed = p.digit
		}
		if got.leg == nil { // an agent may have answered while we were busy
			select {
			case got = <-w.connect:
			default:
			}
		}

		if leg := got.leg; leg != nil {
			res.Agent = got.agent
			q.mu.Lock()
			w.bridged = leg
			q.mu.Unlock()
			q.setState(id, dashboard.CallConnected, req.Queue, got.agent)
			res.Waited = time.Since(joined)
			talk := time.Now()
			_, _ = ch.Bridge(ctx, leg)
			res.Talked = time.Since(talk)
			if m, ok := leg.(mediaLeg); ok {
				st := m.Media().Stats()
				q.note(id, "bridged %s: %d packets to the agent, %d from the agent; %d RTCP reports from the agent, which lost %d",
					got.agent, st.PacketsSent, st.PacketsReceived, st.ReportsReceived, st.RemoteLost)
			}
			_ = leg.Hangup(call.CauseNormal)
			acts, _ := q.d.Hangup(id)
			q.apply(acts)
			res.Exit = ivr.QueueAnswered
			return res, nil
		}
		switch ev := ev.(type) {
		case acd.Timeout:
			return leave(ivr.QueueTimeout)
		case acd.Announce:
			q.note(id, "announce position %d wait %v", ev.Position, ev.EstimatedWait.Round(time.Second))
			say = q.render(ctx, req.Language, prompts.PositionAnnouncement(req.Language, ev.Position, ev.EstimatedWait))
		case acd.OfferCallback:
			if req.CallbackOffer || req.VoicemailOffer {
				callbackOffered = true
				q.note(id, "callback offered")
				say = q.render(ctx, req.Language, callbackOfferText(req.Language, req.CallbackOffer, req.VoicemailOffer))
			}
		case acd.Overflowed:
			q.note(id, "overflow %s -> %s", ev.From, ev.To)
			req.Queue = ev.To
		}
		switch {
		case pressed == "1" && callbackOffered && req.CallbackOffer && q.book != nil:
			// Commit the callback first; only then does the caller's entry become it.
			cb, refused, err := q.book(context.WithoutCancel(ctx), w, joined)
			if err != nil || refused != "" {
				q.log.Info("callback not booked", "call", id, "refused", refused, "error", err)
				q.note(id, "callback refused: %s", refused)
				say = q.render(ctx, req.Language, refusalText(req.Language))
				continue
			}
			acts, err := q.d.ConvertToCallback(id)
			q.apply(acts)
			if err != nil {
				q.log.Warn("callback conversion failed", "call", id, "error", err)
				continue
			}
			q.converted(id, cb.ID)
			q.note(id, "callback requested %s", cb.ID)
			res.Callback = &ivr.CallbackResult{Accepted: true, ID: cb.ID, Expected: cb.NextAttemptAt}
			return leave(ivr.QueueCallback)
		case pressed == "2" && callbackOffered && req.VoicemailOffer:
			acts, _ := q.d.Abandon(id)
			q.apply(acts)
			q.note(id, "left for voicemail")
			return leave(ivr.QueueVoicemail)
		}
	}
}

func (q *queues) musicOnHold(queue string) string {
	if name := q.moh[queue]; name != "" {
		return name
	}
	return "hold-music"
}

// render turns announcement text into a prompt (nil if it cannot be rendered).
func (q *queues) render(ctx context.Context, lang, text string) []call.Prompt {
	p, err := q.voice.Say(ctx, lang, text)
	if err != nil {
		q.log.Warn("cannot render announcement", "error", err)
		return nil
	}
	return []call.Prompt{p}
}

func callbackOfferText(lang string, callback, voicemail bool) string {
	zh := prompts.Base(lang) == "zh"
	switch {
	case callback && voicemail && zh:
		return "如需保留您的排队位置并由我们回电，请按1。如需留言，请按2。"
	case callback && voicemail:
		return "To keep your place in line and have us call you back, press 1. To leave a message, press 2."
	case callback && zh:
		return "如需保留您的排队位置并由我们回电，请按1。"
	case callback:
		return "To keep your place in line and have us call you back, press 1."
	case zh:
		return "如需留言，请按2。"
	}
	return "To leave a message, press 2."
}
