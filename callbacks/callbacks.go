// Package callbacks carries out callbacks that keep the caller's place: a booked callback
// waits in the distributor with the caller's original arrival time and priority; when it
// reaches an agent, the agent is called first and told who it is for, then the customer is
// dialed and bridged. Every attempt goes on the customer's timeline; the store decides
// retries and tickets. It does not decide who is called when (the distributor and the store
// do), and it holds no state a restart would lose: the store has every callback.
package callbacks

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/hotline-cc/hotline/acd"
	"github.com/hotline-cc/hotline/call"
	"github.com/hotline-cc/hotline/customers"
	"github.com/hotline-cc/hotline/prompts"
)

// Config is what the dialer works with.
type Config struct {
	Store       *customers.Store
	Distributor acd.Engine
	Dialer      call.Dialer
	Voice       prompts.Speaker
	Texts       *prompts.Texts // nil: the shipped texts
	// CallerID is what the customer's phone shows (the hotline's name or number).
	CallerID string
	// MissReason classifies an agent's failed dial for the distributor.
	MissReason func(error) acd.MissReason
	Log        *slog.Logger
}

// Dialer enqueues due callbacks and dials them when the distributor offers them to agents.
type Dialer struct {
	cfg   Config
	store *customers.Store
	d     acd.Engine
	log   *slog.Logger
	wake  chan struct{}
	ctx   context.Context // for writing attempts after a call's own context ended

	mu     sync.Mutex
	active map[string]string // stored callback ID -> its distributor entry, while queued or dialed
}

// New makes a dialer; attempts are still recorded until ctx ends.
func New(ctx context.Context, cfg Config) *Dialer {
	if cfg.Texts == nil {
		cfg.Texts = prompts.ShippedTexts()
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.MissReason == nil {
		cfg.MissReason = func(error) acd.MissReason { return acd.Unreachable }
	}
	return &Dialer{cfg: cfg, store: cfg.Store, d: cfg.Distributor, log: cfg.Log.With("component", "callbacks"),
		wake: make(chan struct{}, 1), ctx: ctx, active: map[string]string{}}
}

// entryID is the distributor's ID of a callback booked outside a live queue wait.
func entryID(storeID string) string { return "cb:" + storeID }

// Kick makes the dialer read the due callbacks now (one was just booked).
func (b *Dialer) Kick() {
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

// Converted records that a waiting caller's distributor entry became this stored callback.
func (b *Dialer) Converted(entry, storeID string) {
	b.mu.Lock()
	b.active[storeID] = entry
	b.mu.Unlock()
}

// Run enqueues callbacks as they fall due (inside opening hours) until ctx ends; apply
// carries out the distributor's actions.
func (b *Dialer) Run(ctx context.Context, apply func([]acd.Action)) {
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	for {
		b.enqueueDue(ctx, apply)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-b.wake:
		}
	}
}

func (b *Dialer) enqueueDue(ctx context.Context, apply func([]acd.Action)) {
	due, err := b.store.DueCallbacks(ctx, time.Now(), 100)
	if err != nil {
		if ctx.Err() == nil {
			b.log.Error("reading due callbacks", "error", err)
		}
		return
	}
	for _, cb := range due {
		b.mu.Lock()
		_, busy := b.active[cb.ID]
		if !busy {
			b.active[cb.ID] = entryID(cb.ID)
		}
		b.mu.Unlock()
		if busy {
			continue
		}
		acts, err := b.d.Enqueue(acd.Call{ID: entryID(cb.ID), Queue: cb.Queue, Priority: cb.Priority,
			ArrivedAt: cb.ArrivedAt, Kind: acd.KindCallback, CustomerID: cb.CustomerID})
		apply(acts)
		if err != nil {
			b.log.Error("cannot queue callback", "callback", cb.ID, "queue", cb.Queue, "error", err)
			b.release(cb.ID)
			continue
		}
		b.log.Info("callback waiting in queue", "callback", cb.ID, "queue", cb.Queue, "arrived", cb.ArrivedAt, "attempt", cb.Attempts+1)
	}
}

func (b *Dialer) release(storeID string) {
	b.mu.Lock()
	delete(b.active, storeID)
	b.mu.Unlock()
}

// storeID resolves a distributor callback entry to its stored callback.
func (b *Dialer) storeID(entry string) string {
	if id, ok := strings.CutPrefix(entry, "cb:"); ok {
		return id
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for id, e := range b.active {
		if e == entry {
			return id
		}
	}
	return ""
}

// Changed withdraws a callback from the distributor when the API cancels or reschedules it;
// a rescheduled one comes back from the store when it falls due.
func (b *Dialer) Changed(cb customers.Callback, apply func([]acd.Action)) {
	b.mu.Lock()
	entry, ok := b.active[cb.ID]
	b.mu.Unlock()
	if !ok {
		entry = entryID(cb.ID)
	}
	if st, ok := b.d.CallStatus(entry); ok && st.State != acd.CallConnected {
		acts, _ := b.d.Abandon(entry)
		apply(acts)
		b.release(cb.ID)
		b.log.Info("callback withdrawn from the queue", "callback", cb.ID, "status", cb.Status)
	}
	b.Kick()
}

// OfferCallback is the distributor offering a callback to an agent: ring the agent, then
// the customer. It returns when the attempt is over.
func (b *Dialer) OfferCallback(ctx context.Context, o acd.Offer, apply func([]acd.Action)) {
	id := b.storeID(o.CallID)
	cb, err := b.store.Callback(ctx, id)
	if id == "" || err != nil {
		b.log.Error("offered a callback the store does not have", "entry", o.CallID, "error", err)
		acts, _ := b.d.Abandon(o.CallID)
		apply(acts)
		return
	}
	agent, err := b.cfg.Dialer.Originate(ctx, call.Target{Agent: o.AgentID}, call.OriginateOptions{
		CallerID: call.Party{Number: cb.Number, Name: "Callback"}, RingTimeout: o.RingTimeout + 2*time.Second})
	if err != nil {
		if ctx.Err() != nil {
			return // withdrawn
		}
		acts, _ := b.d.OfferFailed(o.CallID, o.AgentID, b.cfg.MissReason(err))
		apply(acts)
		return
	}
	acts, err := b.d.Answered(o.CallID, o.AgentID)
	apply(acts)
	if err != nil {
		_ = agent.Hangup(call.CauseNormal)
		return
	}
	defer func() {
		_ = agent.Hangup(call.CauseNormal)
		acts, _ := b.d.Hangup(o.CallID)
		apply(acts)
		b.release(id)
	}()
	if cb, err = b.store.StartCallback(ctx, id); err != nil { // another node dials it
		b.log.Info("callback taken elsewhere", "callback", id, "error", err)
		return
	}
	actx := agent.Context()
	b.sayFor(actx, agent, b.whisper(ctx, cb, o), cb.CustomerID)
	started := time.Now()
	attempt := customers.CallbackAttempt{CallID: o.CallID, Agent: o.AgentID, StartedAt: started}
	cust, err := b.cfg.Dialer.Originate(actx, call.Target{URI: cb.Number}, call.OriginateOptions{
		CallerID: call.Party{Number: b.cfg.CallerID}, RingTimeout: 30 * time.Second})
	if err != nil {
		attempt.Outcome = customers.OutcomeCallbackFailed
		switch {
		case errors.Is(err, call.ErrBusy):
			attempt.Outcome = customers.OutcomeCallbackBusy
		case errors.Is(err, call.ErrNoAnswer), errors.Is(err, call.ErrRejected):
			attempt.Outcome = customers.OutcomeCallbackNoAnswer
		}
		b.log.Info("callback not answered", "callback", id, "number", cb.Number, "error", err)
		b.say(actx, agent, b.cfg.Texts.Text("en", "callback_no_answer"))
		b.record(id, attempt)
		return
	}
	attempt.AnsweredAt = time.Now()
	b.log.Info("callback answered: bridging", "callback", id, "agent", o.AgentID)
	_, _ = agent.Bridge(actx, cust)
	_ = cust.Hangup(call.CauseNormal)
	attempt.Outcome, attempt.Talk = customers.OutcomeCallbackAnswered, time.Since(attempt.AnsweredAt)
	b.record(id, attempt)
}

func (b *Dialer) record(id string, a customers.CallbackAttempt) {
	a.EndedAt = time.Now()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(b.ctx), 10*time.Second)
	defer cancel()
	cb, err := b.store.RecordCallbackAttempt(ctx, id, a)
	if err != nil {
		b.log.Error("cannot record callback attempt", "callback", id, "error", err)
		return
	}
	b.log.Info("callback attempt recorded", "callback", id, "outcome", a.Outcome, "status", cb.Status, "attempts", cb.Attempts, "next", cb.NextAttemptAt, "ticket", cb.TicketID)
}

// whisper tells the agent whom the callback is for before the customer is dialed.
func (b *Dialer) whisper(ctx context.Context, cb customers.Callback, o acd.Offer) string {
	args := []string{"number", prompts.SayDigits("en", strings.TrimPrefix(cb.Number, "+")), "queue", cb.Queue,
		"waited", prompts.SayDuration("en", o.Waited.Round(time.Minute))}
	if c, err := b.store.Customer(ctx, cb.CustomerID); err == nil && c.Name != "" {
		return b.cfg.Texts.Text("en", "callback_whisper_named", append(args, "name", c.Name)...)
	}
	return b.cfg.Texts.Text("en", "callback_whisper", args...)
}

func (b *Dialer) say(ctx context.Context, ch call.Channel, text string) { b.sayFor(ctx, ch, text, "") }

// sayFor says text to the agent; text naming the customer (the whisper speaks their number
// and name) is cached under the customer when the voice can (prompts.PersonalSpeaker), so
// that erasing them removes it.
func (b *Dialer) sayFor(ctx context.Context, ch call.Channel, text, customerID string) {
	var p call.Prompt
	var err error
	if ps, ok := b.cfg.Voice.(prompts.PersonalSpeaker); ok && customerID != "" {
		p, err = ps.SayFor(ctx, "en", text, customerID)
	} else {
		p, err = b.cfg.Voice.Say(ctx, "en", text)
	}
	if err != nil {
		b.log.Warn("cannot render", "error", err)
		return
	}
	_, _ = ch.Play(ctx, []call.Prompt{p}, call.PlayOptions{})
}
