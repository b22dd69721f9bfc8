package customers

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/hotline-cc/hotline/schedule"
)

// CallbackStatus is where a callback is in its life.
type CallbackStatus string

const (
	CallbackPending   CallbackStatus = "pending"   // waiting for its time or its place in line
	CallbackDialing   CallbackStatus = "dialing"   // a node is calling the customer
	CallbackCompleted CallbackStatus = "completed" // the customer was reached
	CallbackFailed    CallbackStatus = "failed"    // the attempts ran out; a ticket was opened
	CallbackCancelled CallbackStatus = "cancelled"
)

// CallbackSource is how a callback was asked for.
type CallbackSource string

const (
	FromQueue     CallbackSource = "queue"     // pressed 1 while waiting: keeps the place in line
	FromSchedule  CallbackSource = "scheduled" // a slot the caller picked
	FromAbandoned CallbackSource = "abandoned" // the queue's policy for callers who hung up
	FromAPI       CallbackSource = "api"
)

// Callback is a promise to call a customer back.
type Callback struct {
	ID            string
	CustomerID    string
	ContactID     string // the contact that asked
	Number        string // E.164
	Queue         string
	Source        CallbackSource
	ArrivedAt     time.Time // the original arrival in the queue: the place in line kept
	Priority      int
	Language      string
	Status        CallbackStatus
	Attempts      int
	MaxAttempts   int
	NextAttemptAt time.Time // when it may next be dialled (inside opening hours)
	Slot          time.Time // the time chosen, for scheduled callbacks
	LastResult    string    // the outcome of the last attempt, or why it was cancelled
	TicketID      string    // opened when the attempts ran out
	// QueuedBy is the node that holds the callback in its distributor, until QueuedUntil
	// unless it renews its claim (ClaimCallback); "" and zero when no node does.
	QueuedBy    string
	QueuedUntil time.Time
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

const callbackCols = `id, customer_id, contact_id, number, queue, source, arrived_at, priority, language, status,
	attempts, max_attempts, next_attempt_at, slot_at, last_result, ticket_id, queued_by, queued_until, created_at, updated_at`

func scanCallback(sc interface{ Scan(...any) error }) (Callback, error) {
	var c Callback
	var contact, ticket sql.NullString
	var next, slot, queued sql.NullInt64
	var arrived, created, updated int64
	err := sc.Scan(&c.ID, &c.CustomerID, &contact, &c.Number, &c.Queue, &c.Source, &arrived, &c.Priority, &c.Language,
		&c.Status, &c.Attempts, &c.MaxAttempts, &next, &slot, &c.LastResult, &ticket, &c.QueuedBy, &queued, &created, &updated)
	if err != nil {
		return Callback{}, err
	}
	c.ContactID, c.TicketID = contact.String, ticket.String
	c.ArrivedAt, c.NextAttemptAt, c.Slot, c.QueuedUntil = fromMS(arrived), fromNullMS(next), fromNullMS(slot), fromNullMS(queued)
	c.CreatedAt, c.UpdatedAt = fromMS(created), fromMS(updated)
	return c, nil
}

func (s *Store) scanCallbacks(rows *sql.Rows, err error) ([]Callback, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Callback
	for rows.Next() {
		c, err := scanCallback(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// CallbackRequest asks for a callback.
type CallbackRequest struct {
	CustomerID string // "" = the customer the number belongs to (created if new)
	Number     string // the number to call, as typed or signalled
	// Caller is who asked, as signalled, for the per-caller limit; "" = the number's owner.
	// Every withheld caller shares one allowance: hiding one's number buys no extra callbacks.
	Caller    string
	Queue     string
	Source    CallbackSource // default queue
	ContactID string
	ArrivedAt time.Time // when the caller joined the queue (default now): the place kept
	Priority  int
	Language  string
	Slot      time.Time // a time chosen inside the queue's opening hours; zero = as soon as open
}

// RequestCallback books a callback and returns it as committed. A refusal (a number outside
// the allowed prefixes or in a denied range, a withheld or invalid number, a rate limit, a
// slot outside opening hours) is a *Refusal error with a reason to tell the caller; it is
// logged and counted in hotline_callbacks_refused_total. A customer already waiting for a
// callback from the queue gets that one updated (number, slot, language, the higher
// priority, the earlier arrival), never a second one.
func (s *Store) RequestCallback(ctx context.Context, req CallbackRequest) (Callback, error) {
	if req.Queue == "" {
		return Callback{}, fmt.Errorf("%w: a callback needs a queue", ErrInvalid)
	}
	if req.Source == "" {
		req.Source = FromQueue
	}
	switch req.Source {
	case FromQueue, FromSchedule, FromAbandoned, FromAPI:
	default:
		return Callback{}, fmt.Errorf("%w: callback source %q; use queue, scheduled, abandoned or api", ErrInvalid, req.Source)
	}
	now := s.now()
	number, refusal := s.policy.CheckNumber(req.Number)
	hours := s.hours[req.Queue]
	next := now
	if refusal == nil && !req.Slot.IsZero() {
		switch {
		case req.Slot.Before(now.Add(-time.Minute)):
			refusal = refuse(RefusedPastSlot, "the slot %s is in the past", fmtTime(req.Slot, hours))
		case !hours.Open(req.Slot):
			refusal = refuse(RefusedOutsideHours, "the slot %s is outside the opening hours of queue %s%s", fmtTime(req.Slot, hours), req.Queue, opensHint(hours, req.Slot))
		default:
			next = req.Slot
		}
	} else if refusal == nil {
		var ok bool
		if next, ok = hours.NextOpen(now); !ok {
			refusal = refuse(RefusedOutsideHours, "queue %s has no opening hours in the coming year", req.Queue)
		}
	}
	if refusal == nil {
		refusal = s.checkRates(ctx, req, number)
	}
	if refusal != nil {
		mRefused.WithLabelValues(string(refusal.Code)).Inc()
		s.log.Info("callback refused", "reason", refusal.Code, "why", refusal.Reason, "queue", req.Queue, "contact", req.ContactID)
		return Callback{}, refusal
	}
	if req.ArrivedAt.IsZero() {
		req.ArrivedAt = now
	}
	var out Callback
	updated := false
	err := s.inTxRetry(ctx, func(r run) error {
		var id string
		var err error
		id, updated, err = s.bookCallback(ctx, r, req, number, next, now)
		if err != nil {
			return err
		}
		out, err = scanCallback(r.row(ctx, "SELECT "+callbackCols+" FROM callbacks WHERE id = ?", id))
		return err
	})
	if err != nil {
		return Callback{}, err
	}
	mCallbacks.WithLabelValues(string(req.Source), fmt.Sprint(updated)).Inc()
	return out, nil
}

// bookCallback inserts the callback, or updates the one the customer already has waiting
// from the queue, and returns its ID.
func (s *Store) bookCallback(ctx context.Context, r run, req CallbackRequest, number string, next, now time.Time) (id string, updated bool, err error) {
	cust := req.CustomerID
	if cust != "" {
		cust, err = s.resolve(ctx, r, cust)
	} else {
		cust, _, err = s.customerFor(ctx, r, number, false)
	}
	if err != nil {
		return "", false, err
	}
	live, err := scanCallback(r.row(ctx, "SELECT "+callbackCols+" FROM callbacks WHERE customer_id = ? AND queue = ? AND status IN ('pending', 'dialing')"+s.d.forUpdate(), cust, req.Queue))
	if err == nil {
		arrived := live.ArrivedAt
		if req.ArrivedAt.Before(arrived) {
			arrived = req.ArrivedAt
		}
		lang := live.Language
		if req.Language != "" {
			lang = req.Language
		}
		// The node holding it queued lets it go: it was asked for again (a caller waiting on
		// another node pressed 1, who claims it; a new slot), and its holder withdraws it when
		// it renews (callbacks.Dialer).
		_, err = r.exec(ctx, `UPDATE callbacks SET number = ?, arrived_at = ?, priority = ?, language = ?, slot_at = ?,
			next_attempt_at = ?, source = ?, queued_by = '', queued_until = NULL, updated_at = ? WHERE id = ?`,
			number, ms(arrived), max(live.Priority, req.Priority), lang, msOrNil(req.Slot), ms(next), req.Source, ms(now), live.ID)
		return live.ID, true, err
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return "", false, err
	}
	id = newID()
	_, err = r.exec(ctx, `INSERT INTO callbacks (id, customer_id, contact_id, number, queue, source, arrived_at, priority,
		language, status, attempts, max_attempts, next_attempt_at, slot_at, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?, ?, ?, ?)`,
		id, cust, nullStr(req.ContactID), number, req.Queue, req.Source, ms(req.ArrivedAt), req.Priority, req.Language,
		s.policy.MaxAttempts, ms(next), msOrNil(req.Slot), ms(now), ms(now))
	return id, false, err
}

func (s *Store) checkRates(ctx context.Context, req CallbackRequest, number string) *Refusal {
	caller := number
	if req.Caller != "" {
		if IsWithheld(req.Caller) {
			caller = "withheld"
		} else if id, err := CallerIdentity(req.Caller, s.policy.Region); err == nil {
			caller = id.Value
		}
	}
	check := func(key string, rate Rate) (bool, time.Duration) {
		ok, wait, err := s.limiter.Allow(ctx, key, rate)
		if err != nil {
			s.log.Warn("rate limiter failed; allowing the callback", "err", err)
			return true, 0
		}
		return ok, wait
	}
	if ok, wait := check("callbacks:caller:"+caller, s.policy.PerCaller); !ok {
		who := caller
		if who == "withheld" {
			who = "withheld numbers"
		}
		return refuse(RefusedRateCaller, "rate limit: %s from %s (next in %s)", s.policy.PerCaller.Of("callback requests"), who, roundUp(wait))
	}
	if ok, wait := check("callbacks:number:"+number, s.policy.PerNumber); !ok {
		return refuse(RefusedRateNumber, "rate limit: %s to %s (next in %s)", s.policy.PerNumber.Of("callbacks"), number, roundUp(wait))
	}
	return nil
}

func roundUp(d time.Duration) time.Duration {
	if d < time.Second {
		return time.Second
	}
	return d.Round(time.Second)
}

func fmtTime(t time.Time, h *schedule.Hours) string {
	if h != nil {
		t = t.In(h.Location())
	}
	return t.Format("Mon 2 Jan 2006 15:04 MST")
}

func opensHint(h *schedule.Hours, t time.Time) string {
	if n, ok := h.NextOpen(t); ok {
		return "; it next opens " + fmtTime(n, h)
	}
	return ""
}

// Callback returns one callback.
func (s *Store) Callback(ctx context.Context, id string) (Callback, error) {
	c, err := scanCallback(s.r().row(ctx, "SELECT "+callbackCols+" FROM callbacks WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return Callback{}, fmt.Errorf("%w: callback %s", ErrNotFound, id)
	}
	return c, err
}

// DueCallbacks lists the callbacks that may be dialled at now: pending with their time come,
// or left dialing by a node whose lease ran out, and whose queue is open at now, leaving out
// those a node holds queued (its claim, ClaimCallback, lasts past now; this node's own too:
// it knows what it holds). Highest priority first, then earliest arrival. A node claims each
// before it queues it.
func (s *Store) DueCallbacks(ctx context.Context, now time.Time, limit int) ([]Callback, error) {
	if limit <= 0 {
		limit = 100
	}
	list, err := s.scanCallbacks(s.r().query(ctx, "SELECT "+callbackCols+` FROM callbacks
		WHERE ((status = 'pending' AND next_attempt_at <= ?) OR (status = 'dialing' AND dialing_until < ?))
		AND (queued_until IS NULL OR queued_until < ?)
		ORDER BY priority DESC, arrived_at, id`, ms(now), ms(now), ms(now)))
	if err != nil {
		return nil, err
	}
	out := list[:0]
	for _, c := range list {
		if s.hours[c.Queue].Open(now) && len(out) < limit {
			out = append(out, c)
		}
	}
	return out, nil
}

// StartCallback marks a callback as being dialled by this node, for the dialing lease.
// ErrNotPending means another node has it or it has ended.
func (s *Store) StartCallback(ctx context.Context, id string) (Callback, error) {
	now := s.now()
	res, err := s.r().exec(ctx, `UPDATE callbacks SET status = 'dialing', dialing_until = ?, updated_at = ?
		WHERE id = ? AND (status = 'pending' OR (status = 'dialing' AND dialing_until < ?))`,
		ms(now.Add(s.lease)), ms(now), id, ms(now))
	if err != nil {
		return Callback{}, err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		c, err := s.Callback(ctx, id)
		if err != nil {
			return Callback{}, err
		}
		return c, fmt.Errorf("%w: callback %s is %s", ErrNotPending, id, c.Status)
	}
	return s.Callback(ctx, id)
}

// ClaimCallback claims a due callback for this node, to put it in its distributor: no other
// node queues it while the claim lasts (WithQueueLease), and the holder renews it
// (RenewCallbackClaims) until the callback is dialled or withdrawn. It is one conditional
// UPDATE, so of several nodes claiming at once exactly one wins; the others get ErrClaimed.
// A callback that is not due (any more) or has ended is ErrNotPending. This node's own claim
// is renewed.
func (s *Store) ClaimCallback(ctx context.Context, id string) (Callback, error) {
	now := s.now()
	res, err := s.r().exec(ctx, `UPDATE callbacks SET queued_by = ?, queued_until = ?
		WHERE id = ? AND ((status = 'pending' AND next_attempt_at <= ?) OR (status = 'dialing' AND dialing_until < ?))
		AND (queued_until IS NULL OR queued_until < ? OR queued_by = ?)`,
		s.node, ms(now.Add(s.qlease)), id, ms(now), ms(now), ms(now), s.node)
	if err != nil {
		return Callback{}, err
	}
	return s.claimed(ctx, id, res, now)
}

// HoldCallback claims a callback this node already holds in its distributor (a waiting
// caller's entry converted into it by pressing 1), whichever node had it queued before: the
// caller is here. That node withdraws its entry when it next renews. ErrClaimed: another
// node is dialling it; ErrNotPending: it has ended.
func (s *Store) HoldCallback(ctx context.Context, id string) (Callback, error) {
	now := s.now()
	res, err := s.r().exec(ctx, `UPDATE callbacks SET queued_by = ?, queued_until = ?
		WHERE id = ? AND (status = 'pending' OR (status = 'dialing' AND (dialing_until < ? OR queued_by = ?)))`,
		s.node, ms(now.Add(s.qlease)), id, ms(now), s.node)
	if err != nil {
		return Callback{}, err
	}
	return s.claimed(ctx, id, res, now)
}

// claimed is the callback after a claim's UPDATE, or why the claim failed.
func (s *Store) claimed(ctx context.Context, id string, res sql.Result, now time.Time) (Callback, error) {
	n, err := res.RowsAffected()
	if err != nil {
		return Callback{}, err
	}
	c, err := s.Callback(ctx, id)
	if err != nil || n > 0 {
		return c, err
	}
	switch {
	case c.Status != CallbackPending && c.Status != CallbackDialing:
		return c, fmt.Errorf("%w: callback %s is %s", ErrNotPending, id, c.Status)
	case c.QueuedBy != "" && c.QueuedBy != s.node && !c.QueuedUntil.Before(now):
		return c, fmt.Errorf("%w: callback %s is queued by node %s", ErrClaimed, id, c.QueuedBy)
	case c.Status == CallbackDialing:
		return c, fmt.Errorf("%w: callback %s is being dialled", ErrClaimed, id)
	}
	return c, fmt.Errorf("%w: callback %s is not due until %s", ErrNotPending, id, c.NextAttemptAt.Format(time.RFC3339))
}

// RenewCallbackClaims extends every claim this node holds, in one UPDATE, and returns how
// many it extended (a holder that counts fewer than it holds looks them up: CallbackClaims).
// A claim that ran out and that no other node took meanwhile is extended too.
func (s *Store) RenewCallbackClaims(ctx context.Context) (int, error) {
	res, err := s.r().exec(ctx, `UPDATE callbacks SET queued_until = ?
		WHERE queued_by = ? AND queued_until IS NOT NULL AND status IN ('pending', 'dialing')`,
		ms(s.now().Add(s.qlease)), s.node)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// CallbackClaims lists the IDs of the waiting callbacks this node has claimed.
func (s *Store) CallbackClaims(ctx context.Context) ([]string, error) {
	return queryIDs(ctx, s.r(), `SELECT id FROM callbacks WHERE queued_by = ? AND queued_until IS NOT NULL
		AND status IN ('pending', 'dialing') ORDER BY id`, s.node)
}

// ReleaseCallback gives up this node's claim on a callback (withdrawn from its distributor);
// another node's claim is left alone.
func (s *Store) ReleaseCallback(ctx context.Context, id string) error {
	_, err := s.r().exec(ctx, `UPDATE callbacks SET queued_by = '', queued_until = NULL WHERE id = ? AND queued_by = ?`, id, s.node)
	return err
}

// ReleaseCallbackClaims gives up every claim of this node, as a node starting afresh holds
// nothing queued yet, and returns how many there were. Node names must be unique among the
// nodes sharing a store.
func (s *Store) ReleaseCallbackClaims(ctx context.Context) (int, error) {
	res, err := s.r().exec(ctx, `UPDATE callbacks SET queued_by = '', queued_until = NULL WHERE queued_by = ? AND queued_until IS NOT NULL`, s.node)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// CallbackAttempt is how one attempt to call back went.
type CallbackAttempt struct {
	Outcome    Outcome // OutcomeCallbackAnswered, OutcomeCallbackNoAnswer, OutcomeCallbackBusy or OutcomeCallbackFailed
	CallID     string
	Agent      string
	StartedAt  time.Time // default now
	AnsweredAt time.Time
	EndedAt    time.Time // default now
	Talk       time.Duration
	Events     []Event
}

// RecordCallbackAttempt puts an attempt on the customer's timeline (an outbound contact) and
// moves the callback on: answered completes it; otherwise it waits (backoff doubling from the
// policy's, inside opening hours) until the attempts run out, when it fails and a ticket is
// opened, all in one transaction. It returns the callback as committed.
func (s *Store) RecordCallbackAttempt(ctx context.Context, id string, a CallbackAttempt) (Callback, error) {
	switch a.Outcome {
	case OutcomeCallbackAnswered, OutcomeCallbackNoAnswer, OutcomeCallbackBusy, OutcomeCallbackFailed:
	default:
		return Callback{}, fmt.Errorf("%w: attempt outcome %q; use callback_answered, callback_no_answer, callback_busy or callback_failed", ErrInvalid, a.Outcome)
	}
	now := s.now()
	if a.StartedAt.IsZero() {
		a.StartedAt = now
	}
	if a.EndedAt.IsZero() {
		a.EndedAt = now
	}
	opened := false
	err := s.inTx(ctx, func(r run) error {
		cb, err := scanCallback(r.row(ctx, "SELECT "+callbackCols+" FROM callbacks WHERE id = ?"+s.d.forUpdate(), id))
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: callback %s", ErrNotFound, id)
		}
		if err != nil {
			return err
		}
		if cb.Status != CallbackPending && cb.Status != CallbackDialing {
			return fmt.Errorf("%w: callback %s is %s", ErrNotPending, id, cb.Status)
		}
		contact := Contact{ID: newID(), CustomerID: cb.CustomerID, CallID: a.CallID, Channel: ChannelVoice,
			Direction: Outbound, Address: cb.Number, Queue: cb.Queue, Agent: a.Agent, Language: cb.Language,
			CallbackID: cb.ID, StartedAt: a.StartedAt, AnsweredAt: a.AnsweredAt, EndedAt: a.EndedAt, Talk: a.Talk,
			Outcome: a.Outcome, Events: a.Events}
		if err := s.insertContact(ctx, r, contact); err != nil {
			return err
		}
		cb.Attempts++
		status, next, ticket := CallbackPending, sql.NullInt64{}, ""
		switch {
		case a.Outcome == OutcomeCallbackAnswered:
			status = CallbackCompleted
			// The customer was reached: the missed contact that booked it is settled.
			if cb.ContactID != "" {
				if err := s.closeWorkBy(ctx, r, cb.ContactID, "callback "+cb.ID, ResolvedCalledBack); err != nil {
					return err
				}
			}
		case cb.Attempts < cb.MaxAttempts:
			at, ok := s.hours[cb.Queue].NextOpen(now.Add(s.policy.backoff(cb.Attempts)))
			if ok {
				next = sql.NullInt64{Int64: ms(at), Valid: true}
				break
			}
			fallthrough
		default:
			status = CallbackFailed
			t, err := s.createTicket(ctx, r, NewTicket{
				Kind: KindCallbackFailed, CustomerID: cb.CustomerID, ContactID: contact.ID, CallbackID: cb.ID, Queue: cb.Queue,
				Subject: fmt.Sprintf("Callback to %s failed after %d attempts (last: %s)", cb.Number, cb.Attempts, attemptWords[a.Outcome]),
			}, "")
			if err != nil {
				return err
			}
			ticket, opened = t.ID, true
			if err := s.addWorkItem(ctx, r, contact, OutcomeCallbackFailed, cb.Number); err != nil {
				return err
			}
		}
		_, err = r.exec(ctx, `UPDATE callbacks SET status = ?, attempts = ?, next_attempt_at = COALESCE(?, next_attempt_at),
			dialing_until = NULL, queued_by = '', queued_until = NULL, last_result = ?, ticket_id = ?, updated_at = ? WHERE id = ?`,
			status, cb.Attempts, next, a.Outcome, nullStr(ticket), ms(now), cb.ID)
		return err
	})
	if err != nil {
		return Callback{}, err
	}
	mAttempts.WithLabelValues(string(a.Outcome)).Inc()
	if opened {
		mTickets.WithLabelValues(string(KindCallbackFailed)).Inc()
	}
	return s.Callback(ctx, id)
}

var attemptWords = map[Outcome]string{OutcomeCallbackNoAnswer: "no answer", OutcomeCallbackBusy: "busy", OutcomeCallbackFailed: "failed", OutcomeCallbackAnswered: "answered"}

// CancelCallback cancels a waiting callback (the customer called in and was served, an agent
// or the API withdrew it). Cancelling one that has ended is ErrNotPending.
func (s *Store) CancelCallback(ctx context.Context, id, why string) error {
	res, err := s.r().exec(ctx, `UPDATE callbacks SET status = 'cancelled', last_result = ?, dialing_until = NULL,
		queued_by = '', queued_until = NULL, updated_at = ? WHERE id = ? AND status IN ('pending', 'dialing')`, why, ms(s.now()), id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		c, err := s.Callback(ctx, id)
		if err != nil {
			return err
		}
		return fmt.Errorf("%w: callback %s is %s", ErrNotPending, id, c.Status)
	}
	return nil
}

// CallbackFilter selects callbacks; empty fields select everything.
type CallbackFilter struct {
	CustomerID string
	Queue      string
	Statuses   []CallbackStatus
	From, To   time.Time // CreatedAt in [From, To)
}

// ListCallbacks returns callbacks newest first, a page at a time.
func (s *Store) ListCallbacks(ctx context.Context, f CallbackFilter, p Page) ([]Callback, string, error) {
	var where []string
	var args []any
	add := func(cond string, a ...any) { where = append(where, cond); args = append(args, a...) }
	if f.CustomerID != "" {
		id, err := s.resolve(ctx, s.r(), f.CustomerID)
		if err != nil {
			return nil, "", err
		}
		add("customer_id = ?", id)
	}
	if f.Queue != "" {
		add("queue = ?", f.Queue)
	}
	if len(f.Statuses) > 0 {
		ph, a := in(f.Statuses)
		add("status IN ("+ph+")", a...)
	}
	if !f.From.IsZero() {
		add("created_at >= ?", ms(f.From))
	}
	if !f.To.IsZero() {
		add("created_at < ?", ms(f.To))
	}
	limit, err := p.apply("created_at", &where, &args)
	if err != nil {
		return nil, "", err
	}
	list, err := s.scanCallbacks(s.r().query(ctx, "SELECT "+callbackCols+" FROM callbacks"+whereSQL(where)+
		" ORDER BY created_at DESC, id DESC LIMIT ?", append(args, limit+1)...))
	if err != nil {
		return nil, "", err
	}
	list, next := cutPage(list, limit, func(x Callback) (time.Time, string) { return x.CreatedAt, x.ID })
	return list, next, nil
}
