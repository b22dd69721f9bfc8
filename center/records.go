package center

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/hotline-cc/hotline/acd"
	"github.com/hotline-cc/hotline/call"
	"github.com/hotline-cc/hotline/customers"
	"github.com/hotline-cc/hotline/ivr"
)

// records puts every call on its customer's record, and gives the flow's lookup, voicemail,
// callback and survey steps the customer store. Nothing a caller asked for is held only in
// memory: each Save/Request returns after the store's COMMIT.
type records struct {
	c     *Center
	store *customers.Store
	fresh sync.Map // customer ID -> calls in progress whose contact created that record
}

// contactFor is the contact of a call in progress.
func (r *records) contactFor(callID string) string {
	v, _ := r.c.contacts.Load(callID)
	id, _ := v.(string)
	return id
}

// begin opens the call's contact as it arrives.
func (r *records) begin(ctx context.Context, ch call.Channel, flow string) {
	known, _ := r.store.ByNumber(ctx, ch.Caller().Number)
	ct, err := r.store.AddContact(ctx, customers.Contact{
		CallID: ch.ID(), Channel: customers.ChannelVoice, Direction: customers.Inbound,
		Address: ch.Caller().Number, Dialed: ch.Dialed(), Flow: flow, StartedAt: time.Now(),
	})
	if err != nil {
		r.c.log.Error("cannot record contact", "call", ch.ID(), "error", err)
		return
	}
	r.c.contacts.Store(ch.ID(), ct.ID)
	if known == nil { // this call made the record: to the flow the caller is not (yet) a customer
		r.fresh.Store(ct.CustomerID, ch.ID())
		context.AfterFunc(ch.Context(), func() { r.fresh.Delete(ct.CustomerID) })
	}
}

// finish writes how the call went: path, queue, agent, times and outcome.
func (r *records) finish(ctx context.Context, ch call.Channel, res ivr.Result, q queueOutcome) {
	id := r.contactFor(ch.ID())
	defer r.c.contacts.Delete(ch.ID())
	if id == "" {
		return
	}
	ended := time.Now()
	u := customers.ContactUpdate{EndedAt: &ended, Events: contactEvents(res.Path)}
	if res.Flow != "" {
		u.Flow = &res.Flow
	}
	if res.Language != "" {
		u.Language = &res.Language
	}
	if q.queue != "" {
		u.Queue, u.QueuedAt, u.Wait = &q.queue, &q.joined, &q.waited
	}
	if q.agent != "" {
		answered := q.joined.Add(q.waited)
		u.Agent, u.AnsweredAt, u.Talk = &q.agent, &answered, &q.talked
	}
	if out, ok := r.outcome(res, q); ok {
		u.Outcome = &out
	}
	if _, err := r.store.UpdateContact(ctx, id, u); err != nil {
		r.c.log.Error("cannot finish contact", "call", ch.ID(), "error", err)
	}
	// A caller who gave up after the short-abandon threshold gets a callback if the queue says so.
	if u.Outcome != nil && *u.Outcome == customers.OutcomeAbandoned && r.c.queueCfg(q.queue).AutoCallbackAbandons {
		cb, err := r.store.RequestCallback(ctx, customers.CallbackRequest{
			Number: ch.Caller().Number, Caller: ch.Caller().Number, Queue: q.queue,
			Source: customers.FromAbandoned, ContactID: id, ArrivedAt: q.joined, Language: res.Language,
		})
		if err != nil {
			r.c.log.Info("no automatic callback for abandoned call", "call", ch.ID(), "reason", err)
		} else {
			r.c.log.Info("automatic callback for abandoned call", "call", ch.ID(), "callback", cb.ID)
			r.c.callbacks.kick()
		}
	}
}

// outcome maps how the flow ended onto the record's outcomes. Voicemail is set by the
// store when the message is saved, so it is left alone here.
func (r *records) outcome(res ivr.Result, q queueOutcome) (customers.Outcome, bool) {
	switch res.Outcome {
	case ivr.OutcomeAnswered:
		return customers.OutcomeAnswered, true
	case ivr.OutcomeAbandoned:
		if q.waited < r.c.queueCfg(q.queue).ShortAbandon.D() {
			return customers.OutcomeShortAbandoned, true
		}
		return customers.OutcomeAbandoned, true
	case ivr.OutcomeVoicemail:
		return "", false
	case ivr.OutcomeCallback:
		return customers.OutcomeCallbackRequested, true
	case ivr.OutcomeTransferred:
		return customers.OutcomeTransferred, true
	}
	switch q.exit {
	case ivr.QueueTimeout:
		return customers.OutcomeTimeout, true
	case ivr.QueueNoAgents:
		return customers.OutcomeNoAgent, true
	}
	for _, e := range res.Path {
		if e.Step == "hours" && (e.Exit == "closed" || e.Exit == "holiday") {
			return customers.OutcomeAfterHours, true
		}
	}
	return customers.OutcomeSelfService, true
}

func contactEvents(path []ivr.Event) []customers.Event {
	out := make([]customers.Event, 0, len(path))
	for _, e := range path {
		ev := customers.Event{At: e.Start, Node: e.Node, Step: e.Step, Exit: e.Exit, DurationMS: e.Duration.Milliseconds()}
		if e.Flow != "" || e.Detail != "" {
			ev.Data = map[string]any{}
			if e.Flow != "" {
				ev.Data["flow"] = e.Flow
			}
			if e.Detail != "" {
				ev.Data["detail"] = e.Detail
			}
			if e.Err != "" {
				ev.Data["error"] = e.Err
			}
		}
		out = append(out, ev)
	}
	return out
}

// ---- ivr services over the store ----

func toIVRCustomer(c *customers.Customer) *ivr.Customer {
	if c == nil {
		return nil
	}
	out := &ivr.Customer{ID: c.ID, Name: c.Name, VIP: c.VIP, Tier: c.Tier, Language: c.Language}
	for _, id := range c.Identities {
		if id.Kind == customers.KindAccount {
			out.Account = id.Value
		}
	}
	return out
}

// ByNumber finds a known customer: a record the current call itself created does not count.
func (r *records) ByNumber(ctx context.Context, number string) (*ivr.Customer, error) {
	c, err := r.store.ByNumber(ctx, number)
	if c != nil {
		if _, fresh := r.fresh.Load(c.ID); fresh {
			return nil, err
		}
	}
	return toIVRCustomer(c), err
}

func (r *records) ByAccount(ctx context.Context, account string) (*ivr.Customer, error) {
	c, err := r.store.ByAccount(ctx, account)
	return toIVRCustomer(c), err
}

// Save keeps a voicemail as a ticket and returns its number (after COMMIT).
func (r *records) Save(ctx context.Context, req ivr.VoicemailRequest) (string, error) {
	v := customers.Voicemail{
		Caller: req.Caller.Number, ContactID: r.contactFor(req.CallID), Queue: req.Queue,
		Language: req.Language, File: req.Recording.Path, Duration: req.Recording.Duration,
	}
	if req.Customer != nil {
		v.CustomerID = req.Customer.ID
	}
	t, err := r.store.SaveVoicemail(ctx, v)
	if err != nil {
		return "", err
	}
	r.c.log.Info("voicemail saved", "call", req.CallID, "ticket", t.Number, "duration", req.Recording.Duration)
	return t.Number, nil
}

// Request books a callback from a flow's callback step. A refusal is a result, not an error.
func (r *records) Request(ctx context.Context, req ivr.CallbackRequest) (ivr.CallbackResult, error) {
	cr := customers.CallbackRequest{
		Number: req.Number, Caller: req.Caller.Number, Queue: req.Queue, Source: customers.FromSchedule,
		ContactID: r.contactFor(req.CallID), Priority: req.Priority, Language: req.Language, Slot: req.Slot,
	}
	if req.Customer != nil {
		cr.CustomerID = req.Customer.ID
	}
	cb, err := r.store.RequestCallback(ctx, cr)
	var ref *customers.Refusal
	if errors.As(err, &ref) {
		return ivr.CallbackResult{Accepted: false, Reason: ref.Reason}, nil
	}
	if err != nil {
		return ivr.CallbackResult{}, err
	}
	r.c.callbacks.kick()
	return ivr.CallbackResult{Accepted: true, ID: cb.ID, Expected: cb.NextAttemptAt}, nil
}

func (r *records) SaveSurvey(ctx context.Context, s ivr.SurveyResponse) error {
	_, err := r.store.SaveSurvey(ctx, customers.Survey{
		CallID: s.CallID, ContactID: r.contactFor(s.CallID), Name: s.Survey, Queue: s.Queue,
		Agent: s.Agent, Score: s.Score, Language: s.Language,
	})
	return err
}

// bookFromQueue books the callback a waiting caller asked for by pressing 1, keeping their
// arrival time. It returns the refusal reason when the number may not be called back.
func (r *records) bookFromQueue(ctx context.Context, w *waiter, joined time.Time) (customers.Callback, string, error) {
	cr := customers.CallbackRequest{
		Number: w.ch.Caller().Number, Caller: w.ch.Caller().Number, Queue: w.req.Queue, Source: customers.FromQueue,
		ContactID: r.contactFor(w.ch.ID()), ArrivedAt: joined, Priority: w.req.Priority, Language: w.req.Language,
	}
	if w.req.Customer != nil {
		cr.CustomerID = w.req.Customer.ID
	}
	cb, err := r.store.RequestCallback(ctx, cr)
	var ref *customers.Refusal
	if errors.As(err, &ref) {
		return cb, ref.Reason, nil
	}
	return cb, "", err
}

// queueOutcome is how a call's stay in queues ended, for its record.
type queueOutcome struct {
	queue, agent   string
	exit           ivr.QueueExit
	joined         time.Time
	waited, talked time.Duration
}

func refusalText(lang string) string {
	if strings.HasPrefix(lang, "zh") {
		return "抱歉，我们无法回拨这个号码。请继续等待。"
	}
	return "Sorry, we cannot call this number back. Please stay on the line."
}

// reportSample is a distributor sample to append to the contact it describes.
type reportSample struct {
	callID string
	kind   acd.CallKind
	ev     customers.Event
}

// sample queues a sample without blocking the distributor's caller.
func (c *Center) sample(s reportSample) {
	select {
	case c.samples <- s:
	default:
		c.log.Warn("report samples backing up: one dropped", "call", s.callID)
	}
}

// recordSamples writes samples onto contacts. A caller's sample goes on the call's contact
// (the handle sample comes after wrap-up, when the call has ended). Callback samples are not
// written: reports count those contacts from their fields.
func (c *Center) recordSamples(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case s := <-c.samples:
			if s.kind == acd.KindCallback {
				continue
			}
			ct, err := c.store.ContactByCallID(ctx, s.callID)
			if err == nil {
				err = c.store.AppendContactEvents(ctx, ct.ID, s.ev)
			}
			if err != nil && ctx.Err() == nil {
				c.log.Warn("cannot put a queue sample on its contact", "call", s.callID, "error", err)
			}
		}
	}
}
