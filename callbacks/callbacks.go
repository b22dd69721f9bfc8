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
	"maps"
	"slices"
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
	// Now is the clock callbacks fall due by (default time.Now); the store's claims use the
	// store's clock.
	Now func() time.Time
}

// Dialer enqueues due callbacks and dials them when the distributor offers them to agents.
// Several nodes may share one store: a node claims each callback in the store before it puts
// it in its distributor (customers.Store.ClaimCallback) and renews its claims while it holds
// them, so each callback waits in one node's distributor only; a node that dies stops
// renewing, and after the store's queue lease another node queues its callbacks, each with
// its original arrival and priority.
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
	if cfg.Now == nil {
		cfg.Now = time.Now
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

// Converted records that a waiting caller's distributor entry became this stored callback,
// and claims the callback for this node: the caller is here, so another node that had the
// customer's callback queued withdraws it when it next renews its claims.
func (b *Dialer) Converted(entry, storeID string) {
	b.mu.Lock()
	b.active[storeID] = entry
	b.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(b.ctx), 10*time.Second)
	defer cancel()
	if _, err := b.store.HoldCallback(ctx, storeID); err != nil {
		b.log.Warn("cannot claim the callback of a converted wait; retried at the next renewal", "callback", storeID, "error", err)
	}
}

// Run enqueues callbacks as they fall due (inside opening hours) and renews this node's
// claims on those it holds until ctx ends; then it releases its claims, so that other nodes
// take its callbacks over at once. apply carries out the distributor's actions.
func (b *Dialer) Run(ctx context.Context, apply func([]acd.Action)) {
	// A node starting afresh holds nothing: claims its previous run left are let go.
	if n, err := b.store.ReleaseCallbackClaims(ctx); err != nil {
		b.log.Error("releasing the callback claims of this node's previous run", "error", err)
	} else if n > 0 {
		b.log.Info("released the callback claims of this node's previous run", "callbacks", n)
	}
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	renew := time.NewTicker(max(b.store.QueueLease()/3, 100*time.Millisecond))
	defer renew.Stop()
	for {
		b.enqueueDue(ctx, apply)
		select {
		case <-ctx.Done():
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			if _, err := b.store.ReleaseCallbackClaims(rctx); err != nil {
				b.log.Warn("releasing callback claims at shutdown; other nodes take them after the lease", "error", err)
			}
			cancel()
			return
		case <-t.C:
		case <-b.wake:
		case <-renew.C:
			b.renew(ctx, apply)
		}
	}
}

// renew extends this node's claims on the callbacks it holds (one UPDATE). When the store
// counts other than this node holds, it looks closer: a callback whose claim ran out and that
// no one took is claimed again; one another node took (a caller there pressed 1, or this node
// stalled past the lease), that ended elsewhere or that is no longer due is withdrawn from
// the distributor, unless it is being dialled; a claim this node does not hold is released.
// Entries the distributor no longer has are let go first.
func (b *Dialer) renew(ctx context.Context, apply func([]acd.Action)) {
	b.mu.Lock()
	held := maps.Clone(b.active)
	b.mu.Unlock()
	for id, entry := range held {
		if _, ok := b.d.CallStatus(entry); !ok {
			b.drop(ctx, id)
			delete(held, id)
		}
	}
	n, err := b.store.RenewCallbackClaims(ctx)
	if err != nil {
		if ctx.Err() == nil {
			b.log.Error("renewing callback claims", "error", err)
		}
		return
	}
	if n == len(held) {
		return
	}
	claims, err := b.store.CallbackClaims(ctx)
	if err != nil {
		if ctx.Err() == nil {
			b.log.Error("reading callback claims", "error", err)
		}
		return
	}
	for id, entry := range held {
		if slices.Contains(claims, id) {
			continue
		}
		if _, err := b.store.ClaimCallback(ctx, id); err == nil {
			continue
		}
		if st, ok := b.d.CallStatus(entry); ok && st.State == acd.CallConnected {
			continue // being dialled: the attempt settles it
		}
		acts, _ := b.d.Abandon(entry)
		apply(acts)
		b.release(id)
		b.log.Info("callback withdrawn from the queue: another node holds it, or it ended or moved", "callback", id)
	}
	for _, id := range claims {
		b.mu.Lock()
		_, ok := b.active[id]
		b.mu.Unlock()
		if !ok {
			if err := b.store.ReleaseCallback(ctx, id); err != nil && ctx.Err() == nil {
				b.log.Warn("releasing a callback claim", "callback", id, "error", err)
			}
		}
	}
}

// enqueueDue claims the due callbacks no node holds and puts them in the distributor, each
// with its original arrival and priority.
func (b *Dialer) enqueueDue(ctx context.Context, apply func([]acd.Action)) {
	due, err := b.store.DueCallbacks(ctx, b.cfg.Now(), 100)
	if err != nil {
		if ctx.Err() == nil {
			b.log.Error("reading due callbacks", "error", err)
		}
		return
	}
	for _, cb := range due {
		b.mu.Lock()
		_, busy := b.active[cb.ID]
		b.mu.Unlock()
		if busy {
			continue
		}
		claimed, err := b.store.ClaimCallback(ctx, cb.ID)
		if err != nil {
			if !errors.Is(err, customers.ErrClaimed) && !errors.Is(err, customers.ErrNotPending) && ctx.Err() == nil {
				b.log.Error("cannot claim callback", "callback", cb.ID, "error", err)
			}
			continue // another node queued it first, or it moved on
		}
		cb = claimed // as of the claim: its place in line
		b.mu.Lock()
		_, busy = b.active[cb.ID] // a caller's wait converted into it meanwhile
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
			b.drop(ctx, cb.ID)
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

// drop forgets a callback that left this node's distributor and releases its claim in the
// store, so that it is queued again (here or elsewhere) if it is still due.
func (b *Dialer) drop(ctx context.Context, storeID string) {
	b.release(storeID)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := b.store.ReleaseCallback(ctx, storeID); err != nil {
		b.log.Warn("releasing a callback claim; it lapses after the lease", "callback", storeID, "error", err)
	}
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
		b.drop(b.ctx, cb.ID)
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
		b.drop(b.ctx, id)
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
