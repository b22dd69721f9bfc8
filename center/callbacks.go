package center

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/hotline-cc/hotline/acd"
	"github.com/hotline-cc/hotline/call"
	"github.com/hotline-cc/hotline/customers"
	"github.com/hotline-cc/hotline/prompts"
)

// callbacks carries out callbacks that keep the caller's place: a booked callback waits in
// the ACD with the caller's original arrival time and priority; when it reaches an agent, the
// agent is called first and told who it is for, then the customer is dialed and bridged.
// Every attempt goes on the customer's timeline; the store decides retries and tickets.
type callbacks struct {
	c     *Center
	store *customers.Store
	log   *slog.Logger
	wake  chan struct{}

	mu        sync.Mutex
	converted map[string]string // ACD entry of a caller who pressed 1 -> store callback ID
	active    map[string]bool   // store callback IDs in the ACD or being dialed
}

func newCallbacks(c *Center, store *customers.Store) *callbacks {
	return &callbacks{c: c, store: store, log: c.log.With("component", "callbacks"), wake: make(chan struct{}, 1),
		converted: map[string]string{}, active: map[string]bool{}}
}

// acdID is the distributor's ID of a callback booked outside a live queue wait.
func acdID(storeID string) string { return "cb:" + storeID }

func (b *callbacks) kick() {
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

// converted records that the ACD entry of a waiting caller became this stored callback.
func (b *callbacks) convert(entry, storeID string) {
	b.mu.Lock()
	b.converted[entry], b.active[storeID] = storeID, true
	b.mu.Unlock()
}

// run enqueues callbacks as they fall due (inside opening hours) until ctx ends.
func (b *callbacks) run(ctx context.Context) {
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	for {
		b.enqueueDue(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-b.wake:
		}
	}
}

func (b *callbacks) enqueueDue(ctx context.Context) {
	due, err := b.store.DueCallbacks(ctx, time.Now(), 100)
	if err != nil {
		if ctx.Err() == nil {
			b.log.Error("reading due callbacks", "error", err)
		}
		return
	}
	for _, cb := range due {
		b.mu.Lock()
		busy := b.active[cb.ID]
		if !busy {
			b.active[cb.ID] = true
		}
		b.mu.Unlock()
		if busy {
			continue
		}
		acts, err := b.c.acd.Enqueue(acd.Call{ID: acdID(cb.ID), Queue: cb.Queue, Priority: cb.Priority,
			ArrivedAt: cb.ArrivedAt, Kind: acd.KindCallback, CustomerID: cb.CustomerID})
		b.c.queues.apply(acts)
		if err != nil {
			b.log.Error("cannot queue callback", "callback", cb.ID, "queue", cb.Queue, "error", err)
			b.release(cb.ID)
			continue
		}
		b.log.Info("callback waiting in queue", "callback", cb.ID, "queue", cb.Queue, "arrived", cb.ArrivedAt, "attempt", cb.Attempts+1)
	}
}

func (b *callbacks) release(storeID string) {
	b.mu.Lock()
	delete(b.active, storeID)
	for k, v := range b.converted {
		if v == storeID {
			delete(b.converted, k)
		}
	}
	b.mu.Unlock()
}

// storeID resolves an ACD callback entry to its stored callback.
func (b *callbacks) storeID(entry string) string {
	if id, ok := strings.CutPrefix(entry, "cb:"); ok {
		return id
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.converted[entry]
}

// offer is the ACD offering a callback to an agent: ring the agent, then the customer.
func (b *callbacks) offer(ctx context.Context, o acd.Offer) {
	q := b.c.queues
	id := b.storeID(o.CallID)
	cb, err := b.store.Callback(ctx, id)
	if id == "" || err != nil {
		b.log.Error("offered a callback the store does not have", "entry", o.CallID, "error", err)
		acts, _ := b.c.acd.Abandon(o.CallID)
		q.apply(acts)
		return
	}
	q.note(o.CallID, "offer %s", o.AgentID)
	agent, err := b.c.engine.dialer.Originate(ctx, call.Target{Agent: o.AgentID}, call.OriginateOptions{
		CallerID: call.Party{Number: cb.Number, Name: "Callback"}, RingTimeout: o.RingTimeout + 2*time.Second})
	if err != nil {
		if ctx.Err() != nil {
			return // withdrawn
		}
		acts, _ := b.c.acd.OfferFailed(o.CallID, o.AgentID, missReason(err))
		q.apply(acts)
		return
	}
	acts, err := b.c.acd.Answered(o.CallID, o.AgentID)
	q.apply(acts)
	if err != nil {
		_ = agent.Hangup(call.CauseNormal)
		return
	}
	defer func() {
		_ = agent.Hangup(call.CauseNormal)
		acts, _ := b.c.acd.Hangup(o.CallID)
		q.apply(acts)
		b.release(id)
	}()
	if cb, err = b.store.StartCallback(ctx, id); err != nil { // another node dials it
		b.log.Info("callback taken elsewhere", "callback", id, "error", err)
		return
	}
	actx := agent.Context()
	b.say(actx, agent, b.whisper(ctx, cb, o))
	started := time.Now()
	attempt := customers.CallbackAttempt{CallID: o.CallID, Agent: o.AgentID, StartedAt: started}
	cust, err := b.c.engine.dialer.Originate(actx, call.Target{URI: cb.Number}, call.OriginateOptions{
		CallerID: call.Party{Number: b.c.cfg.SIP.UserAgent}, RingTimeout: 30 * time.Second})
	if err != nil {
		attempt.Outcome = customers.OutcomeCallbackFailed
		switch {
		case errors.Is(err, call.ErrBusy):
			attempt.Outcome = customers.OutcomeCallbackBusy
		case errors.Is(err, call.ErrNoAnswer), errors.Is(err, call.ErrRejected):
			attempt.Outcome = customers.OutcomeCallbackNoAnswer
		}
		b.log.Info("callback not answered", "callback", id, "number", cb.Number, "error", err)
		b.say(actx, agent, "The customer did not answer. We will try again later.")
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

func (b *callbacks) record(id string, a customers.CallbackAttempt) {
	a.EndedAt = time.Now()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(b.c.ctx), 10*time.Second)
	defer cancel()
	cb, err := b.store.RecordCallbackAttempt(ctx, id, a)
	if err != nil {
		b.log.Error("cannot record callback attempt", "callback", id, "error", err)
		return
	}
	b.log.Info("callback attempt recorded", "callback", id, "outcome", a.Outcome, "status", cb.Status, "attempts", cb.Attempts, "next", cb.NextAttemptAt, "ticket", cb.TicketID)
}

// whisper tells the agent whom the callback is for before the customer is dialed.
func (b *callbacks) whisper(ctx context.Context, cb customers.Callback, o acd.Offer) string {
	name := ""
	if c, err := b.store.Customer(ctx, cb.CustomerID); err == nil && c.Name != "" {
		name = ", " + c.Name
	}
	return fmt.Sprintf("Callback for %s%s, queue %s, waited %s. Connecting.",
		prompts.SayDigits("en", strings.TrimPrefix(cb.Number, "+")), name, cb.Queue, prompts.SayDuration("en", o.Waited.Round(time.Minute)))
}

func (b *callbacks) say(ctx context.Context, ch call.Channel, text string) {
	p, err := b.c.voice.Say(ctx, "en", text)
	if err != nil {
		b.log.Warn("cannot render", "error", err)
		return
	}
	_, _ = ch.Play(ctx, []call.Prompt{p}, call.PlayOptions{})
}

func missReason(err error) acd.MissReason {
	var de *call.DialError
	if errors.As(err, &de) {
		switch de.MissReason() {
		case "busy":
			return acd.Busy
		case "no_answer":
			return acd.NoAnswer
		case "rejected":
			return acd.Rejected
		}
	}
	return acd.Unreachable
}
