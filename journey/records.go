package journey

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/hotline-cc/hotline/acd"
	"github.com/hotline-cc/hotline/call"
	"github.com/hotline-cc/hotline/customers"
	"github.com/hotline-cc/hotline/ivr"
)

// Records puts every journey on its customer's record, and gives the flow's lookup,
// voicemail, callback and survey steps the customer store. Nothing a caller asked for is held
// only in memory: each Save/Request returns after the store's COMMIT.
type Records struct {
	store  *customers.Store
	calls  *Registry
	queues map[string]QueuePolicy
	booked func() // a callback was booked: the callback dialer looks at the store again
	log    *slog.Logger
}

// QueuePolicy is what a queue's configuration says about recording its callers.
type QueuePolicy struct {
	ShortAbandon         time.Duration // abandons faster than this are short abandons
	AutoCallbackAbandons bool          // a caller who abandons after ShortAbandon gets a callback
}

// RecordsConfig is what Records needs besides the store and the registry.
type RecordsConfig struct {
	Queues map[string]QueuePolicy // by queue name
	// CallbackBooked is called after a callback is committed (nil: nobody is told).
	CallbackBooked func()
	Log            *slog.Logger
}

// NewRecords keeps the records of the registry's journeys in the store.
func NewRecords(store *customers.Store, calls *Registry, cfg RecordsConfig) *Records {
	r := &Records{store: store, calls: calls, queues: cfg.Queues, booked: cfg.CallbackBooked, log: cfg.Log}
	if r.booked == nil {
		r.booked = func() {}
	}
	if r.log == nil {
		r.log = slog.Default()
	}
	return r
}

// Begin opens the journey's contact as the call arrives (committed with the other calls'
// contact writes of the moment).
func (r *Records) Begin(ctx context.Context, j *Journey) {
	ch := j.Channel()
	ct, made, err := r.store.OpenContact(ctx, customers.Contact{
		CallID: ch.ID(), Channel: customers.ChannelVoice, Direction: customers.Inbound,
		Address: ch.Caller().Number, Dialed: ch.Dialed(), Flow: j.Flow(), StartedAt: time.Now(),
	})
	if err != nil {
		r.log.Error("cannot record contact", "call", ch.ID(), "error", err)
		return
	}
	created := ""
	if made { // this call made the record: to the flow the caller is not (yet) a customer
		created = ct.CustomerID
	}
	r.calls.opened(j, ct.ID, ct.CustomerID, created)
}

// Finish writes how the call went: path, queue, agent, times and outcome.
func (r *Records) Finish(ctx context.Context, j *Journey, res ivr.Result) {
	id := j.ContactID()
	if id == "" {
		return
	}
	ch := j.Channel()
	q, _ := res.LastStay()
	ended := time.Now()
	u := customers.ContactUpdate{EndedAt: &ended, Events: append(contactEvents(res.Path), segmentEvents(j.Segments())...)}
	if res.Flow != "" {
		u.Flow = &res.Flow
	}
	if res.Language != "" {
		u.Language = &res.Language
	}
	if q.Queue != "" {
		u.Queue, u.QueuedAt, u.Wait = &q.Queue, &q.Joined, &q.Waited
	}
	if q.Agent != "" {
		answered := q.Joined.Add(q.Waited)
		u.Agent, u.AnsweredAt, u.Talk = &q.Agent, &answered, &q.Talked
	}
	if out, ok := r.outcome(res, q); ok {
		u.Outcome = &out
	}
	if err := r.store.ApplyContactUpdate(ctx, id, u); err != nil {
		r.log.Error("cannot finish contact", "call", ch.ID(), "error", err)
	}
	// A caller who gave up after the short-abandon threshold gets a callback if the queue says so.
	if u.Outcome != nil && *u.Outcome == customers.OutcomeAbandoned && r.queues[q.Queue].AutoCallbackAbandons {
		cb, err := r.store.RequestCallback(ctx, customers.CallbackRequest{
			Number: ch.Caller().Number, Caller: ch.Caller().Number, Queue: q.Queue,
			Source: customers.FromAbandoned, ContactID: id, ArrivedAt: q.Joined, Language: res.Language,
		})
		if err != nil {
			r.log.Info("no automatic callback for abandoned call", "call", ch.ID(), "reason", err)
		} else {
			r.log.Info("automatic callback for abandoned call", "call", ch.ID(), "callback", cb.ID)
			r.booked()
		}
	}
}

// outcome maps how the flow ended onto the record's outcomes. Voicemail is set by the
// store when the message is saved, so it is left alone here.
func (r *Records) outcome(res ivr.Result, q ivr.QueueResult) (customers.Outcome, bool) {
	switch res.Outcome {
	case ivr.OutcomeAnswered:
		return customers.OutcomeAnswered, true
	case ivr.OutcomeAbandoned:
		if acd.IsShortAbandon(acd.OutcomeAbandoned, q.Waited, r.queues[q.Queue].ShortAbandon) {
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
	switch q.Exit {
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
	// No queue, voicemail, callback or transfer: the flow served the caller only if it
	// reached its end. A caller who hung up in the menus (or whom a failing flow lost) was
	// not served: abandoned_in_ivr, on the missed worklist, not self-service (docs/kpis.md).
	if res.Outcome == ivr.OutcomeHangup || res.Outcome == ivr.OutcomeError {
		return customers.OutcomeAbandonedInIVR, true
	}
	return customers.OutcomeCompletedInIVR, true
}

// segmentEvents are the agents' parts of the conversation on the timeline, one event each:
// step "agent", the agent as node, how it ended as exit ("hangup", "transferred to queue
// billing"), talk time as duration and hold time in data.
func segmentEvents(segs []Segment) []customers.Event {
	out := make([]customers.Event, 0, len(segs))
	for _, s := range segs {
		ev := customers.Event{At: s.Answered, Node: s.Agent, Step: "agent", Exit: s.End, DurationMS: s.Ended.Sub(s.Answered).Milliseconds()}
		if s.Hold > 0 {
			ev.Data = map[string]any{"hold_ms": s.Hold.Milliseconds()}
		}
		out = append(out, ev)
	}
	return out
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

// ---- the flow's services over the store ----

var (
	_ ivr.CustomerLookup   = (*Records)(nil)
	_ ivr.VoicemailService = (*Records)(nil)
	_ ivr.CallbackService  = (*Records)(nil)
	_ ivr.SurveyService    = (*Records)(nil)
)

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

// ByNumber finds a known customer: a record a call in progress itself created does not count.
func (r *Records) ByNumber(ctx context.Context, number string) (*ivr.Customer, error) {
	c, err := r.store.ByNumber(ctx, number)
	if c != nil && r.calls.createdByLiveCall(c.ID) {
		return nil, err
	}
	return toIVRCustomer(c), err
}

// ByAccount finds a customer by account number.
func (r *Records) ByAccount(ctx context.Context, account string) (*ivr.Customer, error) {
	c, err := r.store.ByAccount(ctx, account)
	return toIVRCustomer(c), err
}

// Save keeps a voicemail as a ticket and returns its number (after COMMIT).
func (r *Records) Save(ctx context.Context, req ivr.VoicemailRequest) (string, error) {
	v := customers.Voicemail{
		Caller: req.Caller.Number, ContactID: r.calls.contactFor(req.CallID), Queue: req.Queue,
		Language: req.Language, File: req.Recording.Path, Duration: req.Recording.Duration,
	}
	if req.Customer != nil {
		v.CustomerID = req.Customer.ID
	}
	t, err := r.store.SaveVoicemail(ctx, v)
	if err != nil {
		return "", err
	}
	r.log.Info("voicemail saved", "call", req.CallID, "ticket", t.Number, "duration", req.Recording.Duration)
	return t.Number, nil
}

// Request books a callback from a flow's callback step. A refusal is a result, not an error.
func (r *Records) Request(ctx context.Context, req ivr.CallbackRequest) (ivr.CallbackResult, error) {
	cr := customers.CallbackRequest{
		Number: req.Number, Caller: req.Caller.Number, Queue: req.Queue, Source: customers.FromSchedule,
		ContactID: r.calls.contactFor(req.CallID), Priority: req.Priority, Language: req.Language, Slot: req.Slot,
	}
	if req.Customer != nil {
		cr.CustomerID = req.Customer.ID
	}
	res, err := r.book(ctx, cr)
	if res.Accepted {
		r.booked()
	}
	return res, err
}

// book commits a callback request; a refusal is a result with its reason, not an error.
func (r *Records) book(ctx context.Context, cr customers.CallbackRequest) (ivr.CallbackResult, error) {
	cb, err := r.store.RequestCallback(ctx, cr)
	var ref *customers.Refusal
	if errors.As(err, &ref) {
		return ivr.CallbackResult{Accepted: false, Reason: ref.Reason}, nil
	}
	if err != nil {
		return ivr.CallbackResult{}, err
	}
	return ivr.CallbackResult{Accepted: true, ID: cb.ID, Expected: cb.NextAttemptAt}, nil
}

// SaveSurvey stores a post-call survey answer on the call's contact.
func (r *Records) SaveSurvey(ctx context.Context, s ivr.SurveyResponse) error {
	_, err := r.store.SaveSurvey(ctx, customers.Survey{
		CallID: s.CallID, ContactID: r.calls.contactFor(s.CallID), Name: s.Survey, Queue: s.Queue,
		Agent: s.Agent, Scale: s.Scale, Score: s.Score, Language: s.Language,
	})
	return err
}

// BookFromQueue books the callback a waiting caller asked for by pressing 1, keeping their
// arrival time. A refusal (the number may not be called back) is a result with Accepted
// false and the reason.
func (r *Records) BookFromQueue(ctx context.Context, ch call.Channel, req ivr.QueueRequest, joined time.Time) (ivr.CallbackResult, error) {
	cr := customers.CallbackRequest{
		Number: ch.Caller().Number, Caller: ch.Caller().Number, Queue: req.Queue, Source: customers.FromQueue,
		ContactID: r.calls.contactFor(ch.ID()), ArrivedAt: joined, Priority: req.Priority, Language: req.Language,
	}
	if req.Customer != nil {
		cr.CustomerID = req.Customer.ID
	}
	// Not kicking the dialer: the caller's entry becomes this callback where it stands.
	return r.book(ctx, cr)
}
