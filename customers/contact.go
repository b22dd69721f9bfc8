package customers

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Channel is how a contact reached us.
type Channel string

const (
	ChannelVoice Channel = "voice"
	ChannelChat  Channel = "chat"
	ChannelEmail Channel = "email"
	ChannelSMS   Channel = "sms"
)

// Direction is who started the contact.
type Direction string

const (
	Inbound  Direction = "inbound"
	Outbound Direction = "outbound"
)

// Outcome is how a contact ended. "" is a contact still in progress.
type Outcome string

const (
	OutcomeAnswered          Outcome = "answered"           // an agent took it
	OutcomeAbandoned         Outcome = "abandoned"          // the caller hung up waiting, after the short-abandon threshold
	OutcomeShortAbandoned    Outcome = "short_abandoned"    // the caller hung up before it
	OutcomeTimeout           Outcome = "timeout"            // the queue's max wait passed
	OutcomeNoAgent           Outcome = "no_agent"           // nobody was logged in to take it
	OutcomeAfterHours        Outcome = "after_hours"        // it came outside opening hours
	OutcomeVoicemail         Outcome = "voicemail"          // the caller left a message (a ticket)
	OutcomeCallbackRequested Outcome = "callback_requested" // the caller took a callback
	OutcomeCallbackAnswered  Outcome = "callback_answered"  // a callback attempt reached them
	OutcomeCallbackNoAnswer  Outcome = "callback_no_answer"
	OutcomeCallbackBusy      Outcome = "callback_busy"
	OutcomeCallbackFailed    Outcome = "callback_failed" // the attempt could not be placed
	// OutcomeCompletedInIVR: the flow reached its end without a queue (self-service). Rows
	// written before schema 8 said self_service; they are read as this.
	OutcomeCompletedInIVR Outcome = "completed_in_ivr"
	// OutcomeAbandonedInIVR: the caller hung up in the menus, before any queue, voicemail or
	// callback (or the flow failed under them): not served, on the worklist.
	OutcomeAbandonedInIVR Outcome = "abandoned_in_ivr"
	// OutcomeSelfService is the old name of OutcomeCompletedInIVR: still accepted on input,
	// stored as completed_in_ivr.
	OutcomeSelfService Outcome = "self_service"
	OutcomeTransferred Outcome = "transferred" // the flow sent the call elsewhere
	// OutcomeInterrupted: hotline stopped (a crash, SIGKILL, a power cut) with the call in
	// progress; set at the next start by RecoverContacts.
	OutcomeInterrupted Outcome = "interrupted"
)

var outcomes = map[Outcome]bool{OutcomeAnswered: true, OutcomeAbandoned: true, OutcomeShortAbandoned: true, OutcomeTimeout: true,
	OutcomeNoAgent: true, OutcomeAfterHours: true, OutcomeVoicemail: true, OutcomeCallbackRequested: true, OutcomeCallbackAnswered: true,
	OutcomeCallbackNoAnswer: true, OutcomeCallbackBusy: true, OutcomeCallbackFailed: true, OutcomeCompletedInIVR: true, OutcomeAbandonedInIVR: true, OutcomeTransferred: true,
	OutcomeInterrupted: true}

// Missed reports whether the outcome is a caller nobody served and who arranged nothing: the
// missed-contact worklist and webhook. Short abandons (misdials, by the queue's threshold),
// voicemails and callbacks (they have their own tickets and callbacks) are not missed, nor
// are interrupted calls: the crash is hotline's, and a restart must not flood the webhook.
func (o Outcome) Missed() bool {
	return o == OutcomeAbandoned || o == OutcomeTimeout || o == OutcomeNoAgent || o == OutcomeAfterHours
}

func checkOutcome(o Outcome) error {
	if o != "" && o != OutcomeSelfService && !outcomes[o] {
		return fmt.Errorf("%w: outcome %q; use one of answered, abandoned, short_abandoned, timeout, no_agent, after_hours, voicemail, callback_requested, callback_answered, callback_no_answer, callback_busy, callback_failed, completed_in_ivr, abandoned_in_ivr, transferred, interrupted", ErrInvalid, o)
	}
	return nil
}

// CheckOutcome says what is wrong with an outcome from outside (an API filter or body).
func CheckOutcome(o Outcome) error { return checkOutcome(o) }

// Canonical is the outcome as stored: self_service (before schema 8) is completed_in_ivr.
func (o Outcome) Canonical() Outcome {
	if o == OutcomeSelfService {
		return OutcomeCompletedInIVR
	}
	return o
}

// SelfService reports whether the contact was served by the flow alone: only
// completed_in_ivr (and its old name), never a caller who hung up in the menus.
func (o Outcome) SelfService() bool { return o.Canonical() == OutcomeCompletedInIVR }

// Event is one thing that happened on a contact: a flow step (Node, Step, Exit, Duration),
// or a free event (Type, Data) such as an agent offer.
type Event struct {
	At         time.Time      `json:"at"`
	Node       string         `json:"node,omitempty"`
	Step       string         `json:"step,omitempty"`
	Exit       string         `json:"exit,omitempty"`
	DurationMS int64          `json:"duration_ms,omitempty"`
	Type       string         `json:"type,omitempty"`
	Data       map[string]any `json:"data,omitempty"`
}

// Contact is one call (or chat, e-mail, SMS) with a customer.
type Contact struct {
	ID         string
	CustomerID string
	CallID     string
	Channel    Channel
	Direction  Direction
	Address    string // the customer's number or address on this contact
	Dialed     string // the number or address they reached
	Flow       string
	Queue      string
	Agent      string
	Language   string
	CallbackID string // on callback attempts
	StartedAt  time.Time
	QueuedAt   time.Time
	AnsweredAt time.Time
	EndedAt    time.Time
	Wait       time.Duration // in the queue
	Talk       time.Duration // with the agent
	Outcome    Outcome
	Events     []Event
}

// Path is the flow nodes the contact went through, in order.
func (c Contact) Path() []string {
	var p []string
	for _, e := range c.Events {
		if e.Node != "" && (len(p) == 0 || p[len(p)-1] != e.Node) {
			p = append(p, e.Node)
		}
	}
	return p
}

const contactCols = `id, customer_id, call_id, channel, direction, address, dialed, flow, queue, agent, language,
	callback_id, started_at, queued_at, answered_at, ended_at, wait_ms, talk_ms, outcome, events`

func scanContact(sc interface{ Scan(...any) error }) (Contact, error) {
	var c Contact
	var cb sql.NullString
	var queued, answered, ended sql.NullInt64
	var started, wait, talk int64
	var events string
	err := sc.Scan(&c.ID, &c.CustomerID, &c.CallID, &c.Channel, &c.Direction, &c.Address, &c.Dialed, &c.Flow,
		&c.Queue, &c.Agent, &c.Language, &cb, &started, &queued, &answered, &ended, &wait, &talk, &c.Outcome, &events)
	if err != nil {
		return Contact{}, err
	}
	c.Outcome = c.Outcome.Canonical()
	c.CallbackID = cb.String
	c.StartedAt, c.QueuedAt, c.AnsweredAt, c.EndedAt = fromMS(started), fromNullMS(queued), fromNullMS(answered), fromNullMS(ended)
	c.Wait, c.Talk = time.Duration(wait)*time.Millisecond, time.Duration(talk)*time.Millisecond
	if err := json.Unmarshal([]byte(events), &c.Events); err != nil {
		return Contact{}, fmt.Errorf("customers: contact %s: events: %w", c.ID, err)
	}
	return c, nil
}

func (s *Store) scanContacts(rows *sql.Rows, err error) ([]Contact, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Contact
	for rows.Next() {
		c, err := scanContact(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// AddContact records a new contact and returns it as stored. Without a CustomerID the
// customer is the one Address belongs to (a number for voice and SMS, an address for e-mail;
// created if new; a withheld caller gets an anonymous record of their own). Channel defaults
// to voice, Direction to inbound, StartedAt to now. A contact added with a missed outcome
// queues a contact.missed webhook in the same transaction.
func (s *Store) AddContact(ctx context.Context, c Contact) (Contact, error) {
	c, _, err := s.OpenContact(ctx, c)
	if err != nil {
		return Contact{}, err
	}
	return s.Contact(ctx, c.ID)
}

// OpenContact is AddContact for the call path: the contact is committed together with the
// other contact writes of the moment (group commit) and returned as written, not read back,
// with whether it created its customer (a caller not known before; a withheld caller always).
func (s *Store) OpenContact(ctx context.Context, c Contact) (Contact, bool, error) {
	if c.Channel == "" {
		c.Channel = ChannelVoice
	}
	if c.Direction == "" {
		c.Direction = Inbound
	}
	switch c.Channel {
	case ChannelVoice, ChannelChat, ChannelEmail, ChannelSMS:
	default:
		return Contact{}, false, fmt.Errorf("%w: channel %q; use voice, chat, email or sms", ErrInvalid, c.Channel)
	}
	if c.Direction != Inbound && c.Direction != Outbound {
		return Contact{}, false, fmt.Errorf("%w: direction %q; use inbound or outbound", ErrInvalid, c.Direction)
	}
	if err := checkOutcome(c.Outcome); err != nil {
		return Contact{}, false, err
	}
	c.Outcome = c.Outcome.Canonical()
	if c.StartedAt.IsZero() {
		c.StartedAt = s.now()
	}
	if c.ID == "" {
		c.ID = newID()
	} else if !cursorIDRE.MatchString(c.ID) {
		return Contact{}, false, fmt.Errorf("%w: contact ID %q: use up to 100 letters, digits, '.', '_' and '-'", ErrInvalid, c.ID)
	}
	if c.Events == nil {
		c.Events = []Event{}
	}
	given, created := c.CustomerID, false
	// Normalized here, not by the writer, which is one for every call (SQLite).
	ident, identErr := s.contactIdentity(c.Address, c.Channel)
	err := s.commits.do(ctx, true, func(ctx context.Context, r run) error {
		row, made := c, false // c changes only once this succeeds: the write may run again
		var err error
		if given != "" {
			row.CustomerID, err = s.resolve(ctx, r, given)
		} else {
			row.CustomerID, made, err = s.customerWith(ctx, r, ident, identErr == nil)
		}
		if err != nil {
			return err
		}
		if err := s.insertContact(ctx, r, row); err != nil {
			return err
		}
		if row.Outcome.Missed() {
			if err := s.enqueueMissed(ctx, r, row); err != nil {
				return err
			}
		}
		if row.Outcome.OnWorklist() && row.Direction == Inbound {
			if err := s.addWorkItem(ctx, r, row, row.Outcome, row.Address); err != nil {
				return err
			}
		}
		c.CustomerID, created = row.CustomerID, made
		return nil
	})
	if err != nil {
		return Contact{}, false, err
	}
	return c, created, nil
}

func (s *Store) insertContact(ctx context.Context, r run, c Contact) error {
	if c.Events == nil {
		c.Events = []Event{}
	}
	events, err := jsonText(c.Events)
	if err != nil {
		return err
	}
	_, err = r.exec(ctx, `INSERT INTO contacts (`+contactCols+`, node) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.ID, c.CustomerID, c.CallID, c.Channel, c.Direction, c.Address, c.Dialed, c.Flow, c.Queue, c.Agent, c.Language,
		nullStr(c.CallbackID), ms(c.StartedAt), msOrNil(c.QueuedAt), msOrNil(c.AnsweredAt), msOrNil(c.EndedAt),
		c.Wait.Milliseconds(), c.Talk.Milliseconds(), c.Outcome, events, s.node)
	if err != nil {
		return fmt.Errorf("customers: adding contact: %w", err)
	}
	return nil
}

// ContactUpdate changes the fields that are set and appends Events.
type ContactUpdate struct {
	CustomerID *string // attribute the contact to another customer (say, once an account is entered)
	Flow       *string
	Queue      *string
	Agent      *string
	Language   *string
	QueuedAt   *time.Time
	AnsweredAt *time.Time
	EndedAt    *time.Time
	Wait       *time.Duration
	Talk       *time.Duration
	Outcome    *Outcome
	Events     []Event
}

// UpdateContact changes a contact and returns it. The first time its outcome becomes a missed
// one, a contact.missed webhook is queued in the same transaction.
func (s *Store) UpdateContact(ctx context.Context, id string, u ContactUpdate) (Contact, error) {
	if err := s.ApplyContactUpdate(ctx, id, u); err != nil {
		return Contact{}, err
	}
	return s.Contact(ctx, id)
}

// ApplyContactUpdate is UpdateContact for the call path: the change is committed together
// with the other contact writes of the moment (group commit), and the contact is not read
// back. A contact.missed webhook is committed with the outcome, as by UpdateContact.
func (s *Store) ApplyContactUpdate(ctx context.Context, id string, u ContactUpdate) error {
	if u.Outcome != nil {
		if err := checkOutcome(*u.Outcome); err != nil {
			return err
		}
		o := u.Outcome.Canonical()
		u.Outcome = &o
	}
	return s.commits.do(ctx, false, func(ctx context.Context, r run) error {
		c, err := scanContact(r.row(ctx, "SELECT "+contactCols+" FROM contacts WHERE id = ?"+s.d.forUpdate(), id))
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: contact %s", ErrNotFound, id)
		}
		if err != nil {
			return err
		}
		was := c.Outcome
		if u.CustomerID != nil {
			if c.CustomerID, err = s.resolve(ctx, r, *u.CustomerID); err != nil {
				return err
			}
		}
		str := func(dst *string, p *string) {
			if p != nil {
				*dst = *p
			}
		}
		str(&c.Flow, u.Flow)
		str(&c.Queue, u.Queue)
		str(&c.Agent, u.Agent)
		str(&c.Language, u.Language)
		for _, p := range []struct {
			dst *time.Time
			v   *time.Time
		}{{&c.QueuedAt, u.QueuedAt}, {&c.AnsweredAt, u.AnsweredAt}, {&c.EndedAt, u.EndedAt}} {
			if p.v != nil {
				*p.dst = *p.v
			}
		}
		if u.Wait != nil {
			c.Wait = *u.Wait
		}
		if u.Talk != nil {
			c.Talk = *u.Talk
		}
		if u.Outcome != nil {
			c.Outcome = *u.Outcome
		}
		c.Events = append(c.Events, u.Events...)
		if err := s.writeContact(ctx, r, c); err != nil {
			return err
		}
		if c.Outcome.OnWorklist() && !was.OnWorklist() && c.Direction == Inbound {
			if err := s.addWorkItem(ctx, r, c, c.Outcome, c.Address); err != nil {
				return err
			}
		}
		if c.Outcome.Missed() && !was.Missed() {
			return s.enqueueMissed(ctx, r, c)
		}
		return nil
	})
}

func (s *Store) writeContact(ctx context.Context, r run, c Contact) error {
	events, err := jsonText(c.Events)
	if err != nil {
		return err
	}
	_, err = r.exec(ctx, `UPDATE contacts SET customer_id = ?, flow = ?, queue = ?, agent = ?, language = ?,
		queued_at = ?, answered_at = ?, ended_at = ?, wait_ms = ?, talk_ms = ?, outcome = ?, events = ? WHERE id = ?`,
		c.CustomerID, c.Flow, c.Queue, c.Agent, c.Language, msOrNil(c.QueuedAt), msOrNil(c.AnsweredAt), msOrNil(c.EndedAt),
		c.Wait.Milliseconds(), c.Talk.Milliseconds(), c.Outcome, events, c.ID)
	return err
}

// AppendContactEvents adds events to a contact's record.
func (s *Store) AppendContactEvents(ctx context.Context, id string, events ...Event) error {
	if len(events) == 0 {
		return nil
	}
	return s.ApplyContactUpdate(ctx, id, ContactUpdate{Events: events})
}

// RecoverContacts closes the voice contacts a crash of this node left open (no ended_at): each
// ends at the last time known of it (its start, or the end of its last event) with outcome
// interrupted, or the outcome it already had (a voicemail left before the crash keeps its
// own), so the call is on its customer's timeline as cut off, not in progress forever. It
// returns how many it closed. On PostgreSQL only the contacts of this node (Config.Node) are
// closed: another node's may be live calls. A SQLite file is one node's, so there every open
// voice contact is, whatever node name it was opened under (a container's host name changes
// with each start). Call it at start-up, before calls are taken.
func (s *Store) RecoverContacts(ctx context.Context) (int, error) {
	q := "SELECT " + contactCols + " FROM contacts WHERE channel = 'voice' AND ended_at IS NULL"
	var args []any
	if s.d == postgres {
		q += " AND node = ?"
		args = append(args, s.node)
	}
	n := 0
	err := s.inTx(ctx, func(r run) error {
		open, err := s.scanContacts(r.query(ctx, q, args...))
		if err != nil {
			return err
		}
		for _, c := range open {
			if c.Outcome == "" {
				c.Outcome = OutcomeInterrupted
			}
			if _, err := r.exec(ctx, "UPDATE contacts SET ended_at = ?, outcome = ? WHERE id = ?", ms(lastKnown(c)), c.Outcome, c.ID); err != nil {
				return fmt.Errorf("closing contact %s: %w", c.ID, err)
			}
		}
		n = len(open)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("customers: recovering interrupted contacts: %w", err)
	}
	return n, nil
}

// lastKnown is the latest time a contact's record knows of: its start, or the end of its
// last event (a distributor sample, a flow step).
func lastKnown(c Contact) time.Time {
	t := c.StartedAt
	for _, e := range c.Events {
		if end := e.At.Add(time.Duration(e.DurationMS) * time.Millisecond); end.After(t) {
			t = end
		}
	}
	return t
}

// Contact returns one contact with its events.
func (s *Store) Contact(ctx context.Context, id string) (Contact, error) {
	c, err := scanContact(s.r().row(ctx, "SELECT "+contactCols+" FROM contacts WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return Contact{}, fmt.Errorf("%w: contact %s", ErrNotFound, id)
	}
	return c, err
}

// ContactByCallID returns the latest contact with this call ID.
func (s *Store) ContactByCallID(ctx context.Context, callID string) (Contact, error) {
	c, err := scanContact(s.r().row(ctx, "SELECT "+contactCols+" FROM contacts WHERE call_id = ? AND call_id <> '' ORDER BY started_at DESC, id DESC LIMIT 1", callID))
	if errors.Is(err, sql.ErrNoRows) {
		return Contact{}, fmt.Errorf("%w: contact with call ID %s", ErrNotFound, callID)
	}
	return c, err
}

// ContactFilter selects contacts; empty fields select everything.
type ContactFilter struct {
	CustomerID string
	Queue      string
	Agent      string
	Channel    Channel
	Outcomes   []Outcome
	From, To   time.Time // StartedAt in [From, To)
}

// ListContacts returns contacts newest first, a page at a time; next is the cursor of the
// following page ("" after the last).
func (s *Store) ListContacts(ctx context.Context, f ContactFilter, p Page) ([]Contact, string, error) {
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
	if f.Agent != "" {
		add("agent = ?", f.Agent)
	}
	if f.Channel != "" {
		add("channel = ?", f.Channel)
	}
	if len(f.Outcomes) > 0 {
		os := make([]Outcome, len(f.Outcomes))
		for i, o := range f.Outcomes {
			os[i] = o.Canonical()
		}
		ph, a := in(os)
		add("outcome IN ("+ph+")", a...)
	}
	if !f.From.IsZero() {
		add("started_at >= ?", ms(f.From))
	}
	if !f.To.IsZero() {
		add("started_at < ?", ms(f.To))
	}
	limit, err := p.apply("started_at", &where, &args)
	if err != nil {
		return nil, "", err
	}
	list, err := s.scanContacts(s.r().query(ctx, "SELECT "+contactCols+" FROM contacts"+whereSQL(where)+
		" ORDER BY started_at DESC, id DESC LIMIT ?", append(args, limit+1)...))
	if err != nil {
		return nil, "", err
	}
	list, next := cutPage(list, limit, func(x Contact) (time.Time, string) { return x.StartedAt, x.ID })
	return list, next, nil
}

func whereSQL(where []string) string {
	if len(where) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(where, " AND ")
}

func in[T ~string](vals []T) (string, []any) {
	ph := strings.TrimSuffix(strings.Repeat("?, ", len(vals)), ", ")
	args := make([]any, len(vals))
	for i, v := range vals {
		args[i] = string(v)
	}
	return ph, args
}

// jsonText is events as stored: a JSON list, never null.
func jsonText(events []Event) (string, error) {
	if events == nil {
		events = []Event{}
	}
	b, err := json.Marshal(events)
	if err != nil {
		return "", fmt.Errorf("%w: events: %v", ErrInvalid, err)
	}
	return string(b), nil
}
