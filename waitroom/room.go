// Package waitroom is where callers wait for an agent: hold music, position and wait
// announcements, keys 1 (a callback that keeps their place) and 2 (voicemail), and the
// hand-off to the bridge when an agent's phone answers. It carries out the distributor's
// decisions (rings agents for offers, withdraws them) and implements the flow's queue step
// (ivr.QueueService). The distributor decides; this package only does what it is told. Its
// words are prompts.Texts, never Go strings; it keeps no call state of its own, only the
// journey's.
package waitroom

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/hotline-cc/hotline/acd"
	"github.com/hotline-cc/hotline/call"
	"github.com/hotline-cc/hotline/conversation"
	"github.com/hotline-cc/hotline/ivr"
	"github.com/hotline-cc/hotline/journey"
	"github.com/hotline-cc/hotline/prompts"
)

// Voice renders what the room says and finds its music.
type Voice interface {
	prompts.Speaker
	Prompt(name string) (call.Prompt, error)
}

// Booker commits the callback a waiting caller asked for; a refusal is a result with
// Accepted false and a Reason. journey.Records is one.
type Booker interface {
	BookFromQueue(ctx context.Context, ch call.Channel, req ivr.QueueRequest, joined time.Time) (ivr.CallbackResult, error)
}

// Callbacks is the callback dialer as the room sees it: it is told which stored callback a
// caller's queue entry became, and it carries out offers of callbacks to agents.
type Callbacks interface {
	Converted(entry, storeID string)
	OfferCallback(ctx context.Context, o acd.Offer, apply func([]acd.Action))
}

// Config is everything the room works with.
type Config struct {
	Distributor acd.Engine
	Dialer      call.Dialer // rings agents
	Calls       *journey.Registry
	Voice       Voice
	Texts       *prompts.Texts // nil: the shipped texts
	Booker      Booker         // nil: key 1 books nothing
	Callbacks   Callbacks      // nil: callback offers to agents are refused
	// MusicOnHold is each queue's hold music prompt (default "hold-music").
	MusicOnHold map[string]string
	// Consent is what a caller joining queue hears before any agent is connected, when
	// the queue records conversations: a prompt name, or "" for the text
	// recording_consent in the call's language; ok false when the queue announces nothing.
	Consent func(queue string) (prompt string, ok bool)
	// Priority is a caller's priority on joining a queue, from the flow's priority and the
	// queue's rules over the flow's variables (nil: the flow's priority).
	Priority func(queue string, base int, vars map[string]any) int
	// Talk is how conversations go once an agent answers: transfers and hold. Its
	// Distributor, Voice and MusicOnHold default to the room's.
	Talk conversation.Config
	// AgentChanged is told of every agent state change (nil: nobody).
	AgentChanged func(acd.AgentStateChanged)
	Log          *slog.Logger
}

// Room is the waiting room of one center.
type Room struct {
	cfg Config
	d   acd.Engine
	log *slog.Logger
	ctx context.Context // the center's lifetime: offers end with it

	mu      sync.Mutex
	talks   *conversation.Talks
	ringing map[string]*ringing // agent ID -> the offer ringing them
	wake    chan struct{}
}

type ringing struct {
	callID string
	cancel context.CancelFunc
}

var _ ivr.QueueService = (*Room)(nil)

// New makes a room; offers it rings end when ctx does.
func New(ctx context.Context, cfg Config) *Room {
	if cfg.Texts == nil {
		cfg.Texts = prompts.ShippedTexts()
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Priority == nil {
		cfg.Priority = func(_ string, base int, _ map[string]any) int { return base }
	}
	r := &Room{cfg: cfg, d: cfg.Distributor, log: cfg.Log.With("component", "queues"), ctx: ctx,
		ringing: map[string]*ringing{}, wake: make(chan struct{}, 1)}
	tc := cfg.Talk
	if tc.Distributor == nil {
		tc.Distributor = cfg.Distributor
	}
	if tc.Voice == nil {
		tc.Voice = cfg.Voice
	}
	if tc.Dialer == nil {
		tc.Dialer = cfg.Dialer
	}
	if tc.MusicOnHold == nil {
		tc.MusicOnHold = r.musicOnHold
	}
	if tc.Log == nil {
		tc.Log = cfg.Log
	}
	r.talks = conversation.New(tc, r.Apply)
	return r
}

// Run ticks the distributor at its next deadline until ctx ends.
func (r *Room) Run(ctx context.Context) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		next, ok := r.d.NextDeadline()
		wait := time.Hour
		if ok {
			wait = max(time.Until(next), time.Millisecond)
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return
		case <-r.wake:
		case <-timer.C:
			r.Apply(r.d.Tick())
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
	}
}

// Apply carries out the distributor's actions in order. It never blocks on a caller.
func (r *Room) Apply(acts []acd.Action) {
	for _, a := range acts {
		switch a := a.(type) {
		case acd.Offer:
			ctx, cancel := context.WithCancel(r.ctx)
			rg := &ringing{callID: a.CallID, cancel: cancel}
			r.mu.Lock()
			r.ringing[a.AgentID] = rg
			r.mu.Unlock()
			go r.ring(ctx, a, rg)
		case acd.CancelOffer:
			r.mu.Lock()
			rg := r.ringing[a.AgentID]
			if rg != nil && rg.callID == a.CallID {
				delete(r.ringing, a.AgentID)
			} else {
				rg = nil
			}
			r.mu.Unlock()
			if rg != nil {
				rg.cancel()
			}
			r.log.Info("offer withdrawn", "call", a.CallID, "agent", a.AgentID, "reason", a.Reason)
			r.note(a.CallID, "withdrawn %s %s", a.AgentID, a.Reason)
			r.missed(a.CallID, string(a.Reason))
		case acd.Announce:
			r.tell(a.CallID, a)
		case acd.OfferCallback:
			r.tell(a.CallID, a)
		case acd.Timeout:
			r.tell(a.CallID, a)
		case acd.Overflowed:
			r.log.Info("overflow", "call", a.CallID, "from", a.From, "to", a.To)
			r.tell(a.CallID, a)
		case acd.AgentStateChanged:
			r.log.Info("agent state", "agent", a.AgentID, "from", a.From, "to", a.To, "reason", a.Reason)
			if r.cfg.AgentChanged != nil {
				r.cfg.AgentChanged(a)
			}
		}
	}
	select { // the next deadline may have moved
	case r.wake <- struct{}{}:
	default:
	}
}

// note adds a line to a call's journal; entries without a journey (callbacks) have none.
func (r *Room) note(callID, format string, args ...any) {
	if j := r.cfg.Calls.Get(callID); j != nil {
		j.Note(format, args...)
	}
}

func (r *Room) setState(callID string, st call.State, queue, agent string) {
	if j := r.cfg.Calls.Get(callID); j != nil {
		j.SetState(st, queue, agent)
	}
}

// waiting is the mailbox of a caller waiting on this node, nil if none.
func (r *Room) waiting(callID string) *journey.Wait {
	if j := r.cfg.Calls.Get(callID); j != nil {
		return j.Waiting()
	}
	return nil
}

// missed tells a waiting or transferring caller that an offer for them ended unanswered.
func (r *Room) missed(callID, why string) {
	if w := r.waiting(callID); w != nil {
		select {
		case w.Missed <- why:
		default:
		}
	}
}

func (r *Room) tell(callID string, a acd.Action) {
	w := r.waiting(callID)
	if w == nil {
		return
	}
	select {
	case w.Events <- a:
	default:
		r.log.Warn("caller is not taking queue events", "call", callID)
	}
}

// ring calls the agent for an offer and reports the outcome to the distributor.
func (r *Room) ring(ctx context.Context, o acd.Offer, rg *ringing) {
	defer func() {
		r.mu.Lock()
		if r.ringing[o.AgentID] == rg {
			delete(r.ringing, o.AgentID)
		}
		r.mu.Unlock()
		rg.cancel()
	}()
	if o.Kind == acd.KindCallback {
		if r.cfg.Callbacks != nil {
			r.cfg.Callbacks.OfferCallback(ctx, o, r.Apply)
			return
		}
		acts, _ := r.d.Abandon(o.CallID)
		r.Apply(acts)
		return
	}
	j := r.cfg.Calls.Get(o.CallID)
	var w *journey.Wait
	if j != nil {
		w = j.Waiting()
	}
	if w == nil {
		acts, _ := r.d.OfferFailed(o.CallID, o.AgentID, acd.Unreachable)
		r.Apply(acts)
		return
	}
	// A call already connected is being transferred: its live state stays connected.
	transfer := j.Live().State == call.StateConnected
	r.log.Info("ringing agent", "call", o.CallID, "agent", o.AgentID, "queue", o.Queue, "transfer", transfer)
	j.Note("offer %s", o.AgentID)
	if !transfer {
		j.SetState(call.StateRinging, o.Queue, o.AgentID)
	}
	// The distributor times the ring itself (CancelOffer at Deadline); the phone's own timer
	// is a backstop a little later.
	leg, err := r.cfg.Dialer.Originate(ctx, call.Target{Agent: o.AgentID},
		call.OriginateOptions{CallerID: j.Channel().Caller(), RingTimeout: o.RingTimeout + 2*time.Second})
	if err != nil {
		if ctx.Err() != nil {
			return // withdrawn: the distributor already knows
		}
		reason := MissReason(err)
		r.log.Info("agent missed the call", "call", o.CallID, "agent", o.AgentID, "reason", reason, "error", err)
		j.Note("missed %s %s", o.AgentID, reason)
		if !transfer {
			j.SetState(call.StateQueued, o.Queue, "")
		}
		acts, _ := r.d.OfferFailed(o.CallID, o.AgentID, reason)
		r.Apply(acts)
		r.missed(o.CallID, string(reason))
		return
	}
	acts, err := r.d.Answered(o.CallID, o.AgentID)
	r.Apply(acts)
	if err != nil { // answered too late (timed out, caller gone, answered elsewhere)
		r.log.Info("agent answered too late", "call", o.CallID, "agent", o.AgentID, "error", err)
		_ = leg.Hangup(call.CauseNormal)
		return
	}
	j.Note("answered %s", o.AgentID)
	select {
	case w.Connect <- journey.Answer{Leg: leg, Agent: o.AgentID}:
	case <-w.Done: // the caller left (hung up) as the agent answered: free the agent
		j.Note("caller gone as %s answered", o.AgentID)
		_ = leg.Hangup(call.CauseNormal)
		acts, _ := r.d.Hangup(o.CallID)
		r.Apply(acts)
	}
}

// Consult is an agent's phone calling a colleague's extension while it has a caller: the
// second call, ch, becomes a consultation of that caller's conversation (the first half of
// an attended transfer). It returns when ch has ended. An agent with no caller is refused.
func (r *Room) Consult(ch call.Channel, agent string) {
	j := r.cfg.Calls.Connected(agent)
	if j == nil || j.Ask(call.ConsultRequest{Leg: ch, Target: ch.Dialed()}) != nil {
		r.log.Info("consultation refused: the agent has no caller", "agent", agent, "dialed", ch.Dialed())
		_ = ch.Hangup(call.CauseBusy)
		return
	}
	<-ch.Context().Done()
}
