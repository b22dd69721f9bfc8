package customers

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// The missed-contact worklist: every contact nobody served and who arranged nothing becomes
// a work item, written in the transaction of the outcome that made it missed. Someone takes it
// (an owner), and closes it saying how (called back, a ticket, no action), before its due time.

// WorkState is where a work item is.
type WorkState string

const (
	WorkOpen  WorkState = "open"  // nobody has it
	WorkTaken WorkState = "taken" // an owner is on it
	WorkDone  WorkState = "done"  // closed, with who and how
)

// Resolution is how a work item was closed.
type Resolution string

const (
	ResolvedCalledBack Resolution = "called_back" // someone called the customer back
	ResolvedTicket     Resolution = "ticket"      // followed up in a ticket
	ResolvedNoAction   Resolution = "no_action"   // nothing to do (a misdial, a withheld number, served another way)
)

// DefaultWorkDue is how long after a contact was missed its work item is due, unless
// configured (worklist.due_within).
const DefaultWorkDue = 4 * time.Hour

// OnWorklist reports whether a contact with this outcome becomes a work item: the missed
// outcomes (abandoned, timeout, no_agent, after_hours), a caller who hung up in the menus
// (abandoned_in_ivr), a voicemail (someone has to call back) and a callback whose attempts
// all failed. Short abandons (misdials), interrupted calls (hotline's fault; a restart must
// not flood the list) and served contacts are not.
func (o Outcome) OnWorklist() bool {
	return o.Missed() || o == OutcomeAbandonedInIVR || o == OutcomeVoicemail || o == OutcomeCallbackFailed
}

// WorkItem is one missed contact to follow up.
type WorkItem struct {
	ID         string
	ContactID  string
	CustomerID string
	Queue      string
	Reason     Outcome // the contact's outcome when it was missed
	Address    string  // the number to call back ("" when withheld or erased)
	State      WorkState
	Owner      string
	TakenAt    time.Time
	DoneBy     string
	DoneHow    Resolution
	DoneNote   string
	DoneAt     time.Time
	DueAt      time.Time
	CreatedAt  time.Time // when the contact was missed
	UpdatedAt  time.Time
}

// Age is how long the item has waited: up to now, or until it was closed.
func (w WorkItem) Age(now time.Time) time.Duration {
	if w.State == WorkDone && !w.DoneAt.IsZero() {
		return w.DoneAt.Sub(w.CreatedAt)
	}
	return now.Sub(w.CreatedAt)
}

// Overdue reports whether the item is still to do after its due time.
func (w WorkItem) Overdue(now time.Time) bool { return w.State != WorkDone && now.After(w.DueAt) }

// ErrConflict is wrapped by a WorkTransitionError: the item is not in a state that allows it.
var ErrConflict = errors.New("customers: conflicting state")

// WorkTransitionError is a take, release or close the item's state does not allow.
type WorkTransitionError struct {
	Item   string
	Action string    // take, release, close
	State  WorkState // the state it is in
	Owner  string    // who has it, if anyone
	DoneBy string
}

func (e *WorkTransitionError) Error() string {
	switch {
	case e.State == WorkDone:
		return fmt.Sprintf("customers: work item %s was already closed by %s; it cannot be %s", e.Item, e.DoneBy, pastTense(e.Action))
	case e.Owner != "":
		return fmt.Sprintf("customers: work item %s is taken by %s; only they (or a supervisor) may %s it", e.Item, e.Owner, e.Action)
	}
	return fmt.Sprintf("customers: work item %s is %s; it cannot be %s", e.Item, e.State, pastTense(e.Action))
}

func (e *WorkTransitionError) Unwrap() error { return ErrConflict }

func pastTense(action string) string {
	switch action {
	case "take":
		return "taken"
	case "release":
		return "released"
	case "close":
		return "closed"
	}
	return action
}

const workCols = "id, contact_id, customer_id, queue, reason, address, state, owner, taken_at, done_by, done_how, done_note, done_at, due_at, created_at, updated_at"

func scanWorkItem(sc interface{ Scan(...any) error }) (WorkItem, error) {
	var w WorkItem
	var taken, done sql.NullInt64
	var due, created, updated int64
	err := sc.Scan(&w.ID, &w.ContactID, &w.CustomerID, &w.Queue, &w.Reason, &w.Address, &w.State, &w.Owner, &taken,
		&w.DoneBy, &w.DoneHow, &w.DoneNote, &done, &due, &created, &updated)
	if err != nil {
		return WorkItem{}, err
	}
	if taken.Valid {
		w.TakenAt = fromMS(taken.Int64)
	}
	if done.Valid {
		w.DoneAt = fromMS(done.Int64)
	}
	w.DueAt, w.CreatedAt, w.UpdatedAt = fromMS(due), fromMS(created), fromMS(updated)
	return w, nil
}

// addWorkItem files the contact on the worklist (once per contact) in the transaction of r.
func (s *Store) addWorkItem(ctx context.Context, r run, c Contact, reason Outcome, address string) error {
	at := c.EndedAt
	if at.IsZero() {
		at = s.now()
	}
	if IsWithheld(address) {
		address = ""
	}
	due := s.workDue
	if due <= 0 {
		due = DefaultWorkDue
	}
	now := ms(s.now())
	res, err := r.exec(ctx, `INSERT INTO worklist (id, contact_id, customer_id, queue, reason, address, state, due_at, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, 'open', ?, ?, ?) ON CONFLICT (contact_id) DO NOTHING`,
		newID(), c.ID, c.CustomerID, c.Queue, reason, address, ms(at.Add(due)), ms(at), now)
	if err != nil {
		return fmt.Errorf("customers: adding work item: %w", err)
	}
	if n, _ := res.RowsAffected(); n > 0 { // counted when written: a rolled-back batch may count twice
		mWorkItems.WithLabelValues(string(reason)).Inc()
	}
	return nil
}

// WorkItem returns one work item.
func (s *Store) WorkItem(ctx context.Context, id string) (WorkItem, error) {
	w, err := scanWorkItem(s.r().row(ctx, "SELECT "+workCols+" FROM worklist WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return WorkItem{}, fmt.Errorf("%w: work item %s", ErrNotFound, id)
	}
	return w, err
}

// WorkFilter selects work items; empty fields select everything.
type WorkFilter struct {
	State      WorkState // open, taken, done; "" = any
	Pending    bool      // open or taken (State must be "")
	Owner      string
	Queue      string
	Reason     Outcome
	CustomerID string
	Overdue    bool      // not done and past the due time at Now
	Now        time.Time // for Overdue (default the store's clock)
}

// CheckWorkFilter says what is wrong with a filter's values, naming the field.
func CheckWorkFilter(f WorkFilter) error {
	switch f.State {
	case "", WorkOpen, WorkTaken, WorkDone:
	default:
		return fmt.Errorf("%w: state %q; use open, taken or done", ErrInvalid, f.State)
	}
	if f.Reason != "" && !f.Reason.OnWorklist() {
		return fmt.Errorf("%w: reason %q; use abandoned, timeout, no_agent, after_hours, abandoned_in_ivr, voicemail or callback_failed", ErrInvalid, f.Reason)
	}
	return nil
}

// ListWorkItems returns work items newest first, a page at a time; next is the cursor of the
// following page ("" after the last).
func (s *Store) ListWorkItems(ctx context.Context, f WorkFilter, p Page) ([]WorkItem, string, error) {
	if err := CheckWorkFilter(f); err != nil {
		return nil, "", err
	}
	var c conds
	if f.State != "" {
		c.eq("state", string(f.State))
	} else if f.Pending {
		c.add("state <> 'done'")
	}
	c.eq("owner", f.Owner)
	c.eq("queue", f.Queue)
	c.eq("reason", string(f.Reason))
	if f.CustomerID != "" {
		id, err := s.resolve(ctx, s.r(), f.CustomerID)
		if err != nil {
			return nil, "", err
		}
		c.eq("customer_id", id)
	}
	if f.Overdue {
		now := f.Now
		if now.IsZero() {
			now = s.now()
		}
		c.add("state <> 'done' AND due_at < ?", ms(now))
	}
	where, args := c.where, c.args
	limit, err := p.apply("created_at", &where, &args)
	if err != nil {
		return nil, "", err
	}
	rows, err := s.r().query(ctx, "SELECT "+workCols+" FROM worklist"+whereSQL(where)+" ORDER BY created_at DESC, id DESC LIMIT ?", append(args, limit+1)...)
	if err != nil {
		return nil, "", err
	}
	defer rows.Close()
	var list []WorkItem
	for rows.Next() {
		w, err := scanWorkItem(rows)
		if err != nil {
			return nil, "", err
		}
		list = append(list, w)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	list, next := cutPage(list, limit, func(x WorkItem) (time.Time, string) { return x.CreatedAt, x.ID })
	return list, next, nil
}

// changeWorkItem runs fn on the item, locked, and writes what fn returns.
func (s *Store) changeWorkItem(ctx context.Context, id string, fn func(w *WorkItem) error) (WorkItem, error) {
	var out WorkItem
	err := s.inTx(ctx, func(r run) error {
		w, err := scanWorkItem(r.row(ctx, "SELECT "+workCols+" FROM worklist WHERE id = ?"+s.d.forUpdate(), id))
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: work item %s", ErrNotFound, id)
		}
		if err != nil {
			return err
		}
		if err := fn(&w); err != nil {
			return err
		}
		w.UpdatedAt = s.now().UTC().Truncate(time.Millisecond)
		_, err = r.exec(ctx, `UPDATE worklist SET state = ?, owner = ?, taken_at = ?, done_by = ?, done_how = ?, done_note = ?,
			done_at = ?, updated_at = ? WHERE id = ?`, w.State, w.Owner, msOrNil(w.TakenAt), w.DoneBy, w.DoneHow, w.DoneNote,
			msOrNil(w.DoneAt), ms(w.UpdatedAt), w.ID)
		out = w
		return err
	})
	return out, err
}

// TakeWorkItem gives the item to owner. Taking one's own item again is harmless; an item
// taken by someone else moves only when reassign is set (a supervisor assigning it); a
// closed item cannot be taken (a *WorkTransitionError, ErrConflict).
func (s *Store) TakeWorkItem(ctx context.Context, id, owner string, reassign bool) (WorkItem, error) {
	if owner == "" {
		return WorkItem{}, fmt.Errorf("%w: owner is required: the agent or user who takes the item", ErrInvalid)
	}
	return s.changeWorkItem(ctx, id, func(w *WorkItem) error {
		switch {
		case w.State == WorkDone:
			return &WorkTransitionError{Item: w.ID, Action: "take", State: w.State, DoneBy: w.DoneBy}
		case w.State == WorkTaken && w.Owner == owner:
			return nil
		case w.State == WorkTaken && !reassign:
			return &WorkTransitionError{Item: w.ID, Action: "take", State: w.State, Owner: w.Owner}
		}
		w.State, w.Owner, w.TakenAt = WorkTaken, owner, s.now()
		return nil
	})
}

// ReleaseWorkItem puts a taken item back on the list with no owner. Only its owner may, or
// anyone with override (a supervisor).
func (s *Store) ReleaseWorkItem(ctx context.Context, id, by string, override bool) (WorkItem, error) {
	return s.changeWorkItem(ctx, id, func(w *WorkItem) error {
		switch {
		case w.State == WorkDone:
			return &WorkTransitionError{Item: w.ID, Action: "release", State: w.State, DoneBy: w.DoneBy}
		case w.State == WorkOpen:
			return &WorkTransitionError{Item: w.ID, Action: "release", State: w.State}
		case w.Owner != by && !override:
			return &WorkTransitionError{Item: w.ID, Action: "release", State: w.State, Owner: w.Owner}
		}
		w.State, w.Owner, w.TakenAt = WorkOpen, "", time.Time{}
		return nil
	})
}

// WorkClose is how an item is closed.
type WorkClose struct {
	By       string     // who closed it
	How      Resolution // called_back, ticket or no_action
	Note     string     // optional, up to 2000 characters
	Override bool       // close an item someone else has (a supervisor)
}

// CloseWorkItem marks the item done. An open item is closed by whoever closes it; a taken one
// only by its owner, or with Override. A closed item cannot be closed again.
func (s *Store) CloseWorkItem(ctx context.Context, id string, c WorkClose) (WorkItem, error) {
	switch c.How {
	case ResolvedCalledBack, ResolvedTicket, ResolvedNoAction:
	case "":
		return WorkItem{}, fmt.Errorf("%w: how is required: called_back, ticket or no_action", ErrInvalid)
	default:
		return WorkItem{}, fmt.Errorf("%w: how %q; use called_back, ticket or no_action", ErrInvalid, c.How)
	}
	if c.By == "" {
		return WorkItem{}, fmt.Errorf("%w: by is required: who closes the item", ErrInvalid)
	}
	if len([]rune(c.Note)) > 2000 {
		return WorkItem{}, fmt.Errorf("%w: note is %d characters; at most 2000", ErrInvalid, len([]rune(c.Note)))
	}
	w, err := s.changeWorkItem(ctx, id, func(w *WorkItem) error {
		switch {
		case w.State == WorkDone:
			return &WorkTransitionError{Item: w.ID, Action: "close", State: w.State, DoneBy: w.DoneBy}
		case w.State == WorkTaken && w.Owner != c.By && !c.Override:
			return &WorkTransitionError{Item: w.ID, Action: "close", State: w.State, Owner: w.Owner}
		}
		if w.Owner == "" {
			w.Owner, w.TakenAt = c.By, s.now()
		}
		w.State, w.DoneBy, w.DoneHow, w.DoneNote, w.DoneAt = WorkDone, c.By, c.How, c.Note, s.now()
		return nil
	})
	if err == nil {
		mWorkClosed.WithLabelValues(string(w.DoneHow), strconv.FormatBool(w.DoneAt.After(w.DueAt))).Inc()
	}
	return w, err
}

// closeWorkBy closes the contact's work item, if it has one still to do, as settled by what
// (a callback that reached the customer), in the transaction of r.
func (s *Store) closeWorkBy(ctx context.Context, r run, contactID, by string, how Resolution) error {
	now := ms(s.now())
	_, err := r.exec(ctx, `UPDATE worklist SET state = 'done', owner = CASE WHEN owner = '' THEN ? ELSE owner END, done_by = ?, done_how = ?,
		done_at = ?, updated_at = ? WHERE contact_id = ? AND state <> 'done'`, by, by, how, now, now, contactID)
	return err
}
