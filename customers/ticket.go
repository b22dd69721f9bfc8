package customers

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/hotline-cc/hotline/call"
	"github.com/hotline-cc/hotline/recordings"
)

// TicketStatus is where a ticket is.
type TicketStatus string

const (
	TicketOpen    TicketStatus = "open"
	TicketPending TicketStatus = "pending" // waiting on the customer or someone else
	TicketSolved  TicketStatus = "solved"
)

// TicketPriority orders an agent's work.
type TicketPriority string

const (
	PriorityLow    TicketPriority = "low"
	PriorityNormal TicketPriority = "normal"
	PriorityHigh   TicketPriority = "high"
	PriorityUrgent TicketPriority = "urgent"
)

// TicketKind is what opened a ticket.
type TicketKind string

const (
	KindVoicemail      TicketKind = "voicemail"
	KindCallbackFailed TicketKind = "callback_failed"
	KindMissed         TicketKind = "missed"
	KindManual         TicketKind = "manual"
)

// Ticket is work an agent will see.
type Ticket struct {
	ID         string
	Number     string // T-000123: what the caller is told
	CustomerID string
	ContactID  string
	CallbackID string
	Kind       TicketKind
	Queue      string
	Subject    string
	Status     TicketStatus
	Priority   TicketPriority
	Assignee   string
	Recording  *RecordingInfo // the voicemail; kept (marked deleted) after retention removes the file
	Notes      []Note         // filled by Ticket, not by ListTickets
	CreatedAt  time.Time
	UpdatedAt  time.Time
	SolvedAt   time.Time
}

// Note is an agent's note on a ticket.
type Note struct {
	ID        string
	TicketID  string
	Author    string
	Body      string
	CreatedAt time.Time
}

// RecordingInfo is what the store knows of a recording, including one whose file is gone.
type RecordingInfo struct {
	ID         string
	Kind       string // voicemail | call
	CustomerID string
	ContactID  string
	SHA256     string
	Size       int64
	Duration   time.Duration
	CreatedAt  time.Time
	DeletedAt  time.Time // zero while the file exists
	DeletedWhy string    // retention | erased

	// Of a conversation recording (kind call):
	CallID      string
	Queue       string
	Agents      []string    // the agents heard on it, in order
	Paused      []call.Span // silence while the recording was paused
	Incomplete  bool        // some audio is missing (a crash, a write error); what is there is kept
	RetainUntil time.Time   // when its queue's retention ends; zero = the store's default
}

// NewTicket is a ticket to open.
type NewTicket struct {
	Kind       TicketKind // default manual
	CustomerID string
	ContactID  string
	CallbackID string
	Queue      string
	Subject    string
	Priority   TicketPriority // default normal
	Assignee   string
	Note       string // a first note, if any
	Author     string // of the note
}

func checkTicket(k TicketKind, p TicketPriority) error {
	switch k {
	case KindVoicemail, KindCallbackFailed, KindMissed, KindManual:
	default:
		return fmt.Errorf("%w: ticket kind %q; use voicemail, callback_failed, missed or manual", ErrInvalid, k)
	}
	return checkPriority(p)
}

func checkPriority(p TicketPriority) error {
	switch p {
	case PriorityLow, PriorityNormal, PriorityHigh, PriorityUrgent:
		return nil
	}
	return fmt.Errorf("%w: priority %q; use low, normal, high or urgent", ErrInvalid, p)
}

// CreateTicket opens a ticket, queuing its ticket.created webhook in the same transaction.
func (s *Store) CreateTicket(ctx context.Context, t NewTicket) (Ticket, error) {
	var out Ticket
	err := s.inTx(ctx, func(r run) error {
		tk, err := s.createTicket(ctx, r, t, "")
		if err != nil {
			return err
		}
		out, err = s.ticketIn(ctx, r, tk.ID)
		return err
	})
	if err != nil {
		return Ticket{}, err
	}
	mTickets.WithLabelValues(string(out.Kind)).Inc()
	return out, nil
}

// ticketIn reads a ticket with its notes inside a transaction, so what a function returns is
// what it committed, even if a read after the COMMIT would fail.
func (s *Store) ticketIn(ctx context.Context, r run, id string) (Ticket, error) {
	list, err := s.scanTickets(ctx, r, "SELECT "+ticketCols+" FROM tickets WHERE id = ?", id)
	if err != nil {
		return Ticket{}, err
	}
	if len(list) == 0 {
		return Ticket{}, fmt.Errorf("%w: ticket %s", ErrNotFound, id)
	}
	t := list[0]
	rows, err := r.query(ctx, "SELECT id, ticket_id, author, body, created_at FROM ticket_notes WHERE ticket_id = ? ORDER BY created_at, id", t.ID)
	if err != nil {
		return Ticket{}, err
	}
	defer rows.Close()
	for rows.Next() {
		var n Note
		var at int64
		if err := rows.Scan(&n.ID, &n.TicketID, &n.Author, &n.Body, &at); err != nil {
			return Ticket{}, err
		}
		n.CreatedAt = fromMS(at)
		t.Notes = append(t.Notes, n)
	}
	return t, rows.Err()
}

// createTicket opens a ticket (with the voicemail recordingID, if any) in a transaction and
// queues its webhook.
func (s *Store) createTicket(ctx context.Context, r run, t NewTicket, recordingID string) (Ticket, error) {
	if t.Kind == "" {
		t.Kind = KindManual
	}
	if t.Priority == "" {
		t.Priority = PriorityNormal
	}
	if err := checkTicket(t.Kind, t.Priority); err != nil {
		return Ticket{}, err
	}
	if strings.TrimSpace(t.Subject) == "" {
		return Ticket{}, fmt.Errorf("%w: a ticket needs a subject", ErrInvalid)
	}
	if t.CustomerID != "" {
		id, err := s.resolve(ctx, r, t.CustomerID)
		if err != nil {
			return Ticket{}, err
		}
		t.CustomerID = id
	}
	var seq int64
	if err := r.row(ctx, "UPDATE counters SET value = value + 1 WHERE name = 'ticket' RETURNING value").Scan(&seq); err != nil {
		return Ticket{}, fmt.Errorf("customers: ticket number: %w", err)
	}
	now := s.now()
	tk := Ticket{ID: newID(), Number: fmt.Sprintf("T-%06d", seq), CustomerID: t.CustomerID, ContactID: t.ContactID,
		CallbackID: t.CallbackID, Kind: t.Kind, Queue: t.Queue, Subject: t.Subject, Status: TicketOpen,
		Priority: t.Priority, Assignee: t.Assignee, CreatedAt: now, UpdatedAt: now}
	_, err := r.exec(ctx, `INSERT INTO tickets (id, number, customer_id, contact_id, callback_id, recording_id, kind, queue, subject,
		status, priority, assignee, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		tk.ID, tk.Number, nullStr(tk.CustomerID), nullStr(tk.ContactID), nullStr(tk.CallbackID), nullStr(recordingID), tk.Kind, tk.Queue,
		tk.Subject, tk.Status, tk.Priority, tk.Assignee, ms(now), ms(now))
	if err != nil {
		return Ticket{}, fmt.Errorf("customers: creating ticket: %w", err)
	}
	if t.Note != "" {
		if _, err := s.addNote(ctx, r, tk.ID, t.Author, t.Note); err != nil {
			return Ticket{}, err
		}
	}
	return tk, s.enqueueTicket(ctx, r, tk.ID)
}

// Voicemail is a recorded message to keep.
type Voicemail struct {
	CustomerID string // "" = the customer Caller belongs to (created if new; anonymous if withheld)
	Caller     string // the caller ID as signalled
	ContactID  string // the call it was left on: its outcome becomes voicemail
	Queue      string
	Language   string
	File       string    // the recording to copy in, or
	Audio      io.Reader // its bytes
	Duration   time.Duration
	Subject    string         // default "Voicemail from <number> (m:ss)"
	Priority   TicketPriority // default normal
}

// SaveVoicemail keeps a message and opens its ticket: the WAV goes to the recordings store
// (fsynced), then one transaction records it, opens the ticket linked to the customer and
// the contact, sets the contact's outcome, and queues the ticket.created webhook. It returns
// after the COMMIT, with the ticket number the caller is told. If the transaction fails the
// file is removed again.
func (s *Store) SaveVoicemail(ctx context.Context, v Voicemail) (Ticket, error) {
	var rec recordings.Recording
	var err error
	meta := recordings.Meta{Duration: v.Duration, At: s.now()}
	switch {
	case v.Audio != nil:
		rec, err = s.rec.Save(ctx, v.Audio, meta)
	case v.File != "":
		rec, err = s.rec.SaveFile(ctx, v.File, meta)
	default:
		return Ticket{}, fmt.Errorf("%w: a voicemail needs a File or Audio", ErrInvalid)
	}
	if err != nil {
		return Ticket{}, err
	}
	var tk Ticket
	err = s.inTxRetry(ctx, func(r run) error {
		cust := v.CustomerID
		var err error
		if cust != "" {
			cust, err = s.resolve(ctx, r, cust)
		} else {
			cust, _, err = s.customerFor(ctx, r, v.Caller, false)
		}
		if err != nil {
			return err
		}
		if err := s.insertRecording(ctx, r, rec, "voicemail", cust, v.ContactID); err != nil {
			return err
		}
		subject := v.Subject
		if subject == "" {
			from := "a withheld number"
			if id, err := CallerIdentity(v.Caller, s.policy.Region); err == nil {
				from = id.Value
			}
			d := rec.Duration.Round(time.Second)
			subject = fmt.Sprintf("Voicemail from %s (%d:%02d)", from, int(d.Minutes()), int(d.Seconds())%60)
			if v.Queue != "" {
				subject += " for " + v.Queue
			}
		}
		tk, err = s.createTicket(ctx, r, NewTicket{Kind: KindVoicemail, CustomerID: cust, ContactID: v.ContactID,
			Queue: v.Queue, Subject: subject, Priority: v.Priority}, rec.ID)
		if err != nil {
			return err
		}
		if v.ContactID != "" {
			res, err := r.exec(ctx, "UPDATE contacts SET outcome = ? WHERE id = ?", OutcomeVoicemail, v.ContactID)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return fmt.Errorf("%w: contact %s", ErrNotFound, v.ContactID)
			}
			c, err := scanContact(r.row(ctx, "SELECT "+contactCols+" FROM contacts WHERE id = ?", v.ContactID))
			if err != nil {
				return err
			}
			if c.Direction == Inbound {
				if err := s.addWorkItem(ctx, r, c, OutcomeVoicemail, c.Address); err != nil {
					return err
				}
			}
		}
		tk, err = s.ticketIn(ctx, r, tk.ID)
		return err
	})
	if err != nil {
		s.rec.Delete(rec.ID)
		return Ticket{}, err
	}
	mTickets.WithLabelValues(string(KindVoicemail)).Inc()
	return tk, nil
}

func (s *Store) insertRecording(ctx context.Context, r run, rec recordings.Recording, kind, customerID, contactID string) error {
	_, err := r.exec(ctx, `INSERT INTO recordings (id, kind, customer_id, contact_id, sha256, size, duration_ms, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, rec.ID, kind, nullStr(customerID), nullStr(contactID), rec.SHA256, rec.Size,
		rec.Duration.Milliseconds(), ms(rec.CreatedAt))
	if err != nil {
		return fmt.Errorf("customers: recording %s: %w", rec.ID, err)
	}
	return nil
}

// AttachRecording files a call recording already saved in the recordings store under a
// contact (and its customer), so retention and erasure find it.
func (s *Store) AttachRecording(ctx context.Context, contactID string, rec recordings.Recording) error {
	return s.inTx(ctx, func(r run) error {
		var cust string
		err := r.row(ctx, "SELECT customer_id FROM contacts WHERE id = ?", contactID).Scan(&cust)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: contact %s", ErrNotFound, contactID)
		}
		if err != nil {
			return err
		}
		return s.insertRecording(ctx, r, rec, "call", cust, contactID)
	})
}

const recordingCols = `id, kind, customer_id, contact_id, sha256, size, duration_ms, created_at, deleted_at, deleted_why,
	call_id, queue, agents, paused, incomplete, retain_until`

func scanRecording(sc interface{ Scan(...any) error }) (RecordingInfo, error) {
	var ri RecordingInfo
	var cust, contact sql.NullString
	var dur, created int64
	var deleted, retain sql.NullInt64
	var agents, paused string
	var incomplete int
	if err := sc.Scan(&ri.ID, &ri.Kind, &cust, &contact, &ri.SHA256, &ri.Size, &dur, &created, &deleted, &ri.DeletedWhy,
		&ri.CallID, &ri.Queue, &agents, &paused, &incomplete, &retain); err != nil {
		return RecordingInfo{}, err
	}
	ri.CustomerID, ri.ContactID = cust.String, contact.String
	ri.Duration, ri.CreatedAt, ri.DeletedAt = time.Duration(dur)*time.Millisecond, fromMS(created), fromNullMS(deleted)
	ri.Incomplete, ri.RetainUntil = incomplete != 0, fromNullMS(retain)
	if err := json.Unmarshal([]byte(agents), &ri.Agents); err != nil {
		return RecordingInfo{}, fmt.Errorf("customers: recording %s: agents: %w", ri.ID, err)
	}
	var err error
	if ri.Paused, err = decodeSpans(paused); err != nil {
		return RecordingInfo{}, fmt.Errorf("customers: recording %s: paused: %w", ri.ID, err)
	}
	return ri, nil
}

// Recording returns what the store knows of a recording, deleted or not.
func (s *Store) Recording(ctx context.Context, id string) (RecordingInfo, error) {
	ri, err := scanRecording(s.r().row(ctx, "SELECT "+recordingCols+" FROM recordings WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return RecordingInfo{}, fmt.Errorf("%w: recording %s", ErrNotFound, id)
	}
	return ri, err
}

const ticketCols = `id, number, customer_id, contact_id, callback_id, recording_id, kind, queue, subject, status, priority,
	assignee, created_at, updated_at, solved_at`

func scanTicket(sc interface{ Scan(...any) error }) (Ticket, string, error) {
	var t Ticket
	var cust, contact, cb, rec sql.NullString
	var created, updated int64
	var solved sql.NullInt64
	err := sc.Scan(&t.ID, &t.Number, &cust, &contact, &cb, &rec, &t.Kind, &t.Queue, &t.Subject, &t.Status, &t.Priority,
		&t.Assignee, &created, &updated, &solved)
	if err != nil {
		return Ticket{}, "", err
	}
	t.CustomerID, t.ContactID, t.CallbackID = cust.String, contact.String, cb.String
	t.CreatedAt, t.UpdatedAt, t.SolvedAt = fromMS(created), fromMS(updated), fromNullMS(solved)
	return t, rec.String, nil
}

func (s *Store) scanTickets(ctx context.Context, r run, query string, args ...any) ([]Ticket, error) {
	rows, err := r.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	var out []Ticket
	var recIDs []string
	for rows.Next() {
		t, rec, err := scanTicket(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, t)
		recIDs = append(recIDs, rec)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i, id := range recIDs {
		if id == "" {
			continue
		}
		ri, err := scanRecording(r.row(ctx, "SELECT "+recordingCols+" FROM recordings WHERE id = ?", id))
		if err != nil {
			return nil, fmt.Errorf("customers: ticket %s: recording %s: %w", out[i].Number, id, err)
		}
		out[i].Recording = &ri
	}
	return out, nil
}

// Ticket returns a ticket, by ID or by number (T-000123), with its notes.
func (s *Store) Ticket(ctx context.Context, idOrNumber string) (Ticket, error) {
	var id string
	err := s.r().row(ctx, "SELECT id FROM tickets WHERE id = ? OR number = ?", idOrNumber, idOrNumber).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return Ticket{}, fmt.Errorf("%w: ticket %s", ErrNotFound, idOrNumber)
	}
	if err != nil {
		return Ticket{}, err
	}
	return s.ticketIn(ctx, s.r(), id)
}

// TicketUpdate changes the fields that are set.
type TicketUpdate struct {
	Subject  *string
	Status   *TicketStatus
	Priority *TicketPriority
	Assignee *string
}

// UpdateTicket changes a ticket (by ID or number). Solving it records when.
func (s *Store) UpdateTicket(ctx context.Context, idOrNumber string, u TicketUpdate) (Ticket, error) {
	var id string
	err := s.inTx(ctx, func(r run) error {
		t, _, err := scanTicket(r.row(ctx, "SELECT "+ticketCols+" FROM tickets WHERE id = ? OR number = ?"+s.d.forUpdate(), idOrNumber, idOrNumber))
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: ticket %s", ErrNotFound, idOrNumber)
		}
		if err != nil {
			return err
		}
		id = t.ID
		if u.Subject != nil {
			if strings.TrimSpace(*u.Subject) == "" {
				return fmt.Errorf("%w: a ticket needs a subject", ErrInvalid)
			}
			t.Subject = *u.Subject
		}
		if u.Assignee != nil {
			t.Assignee = *u.Assignee
		}
		if u.Priority != nil {
			if err := checkPriority(*u.Priority); err != nil {
				return err
			}
			t.Priority = *u.Priority
		}
		now := s.now()
		if u.Status != nil {
			switch *u.Status {
			case TicketOpen, TicketPending:
				t.SolvedAt = time.Time{}
			case TicketSolved:
				if t.Status != TicketSolved {
					t.SolvedAt = now
				}
			default:
				return fmt.Errorf("%w: ticket status %q; use open, pending or solved", ErrInvalid, *u.Status)
			}
			t.Status = *u.Status
		}
		_, err = r.exec(ctx, "UPDATE tickets SET subject = ?, status = ?, priority = ?, assignee = ?, solved_at = ?, updated_at = ? WHERE id = ?",
			t.Subject, t.Status, t.Priority, t.Assignee, msOrNil(t.SolvedAt), ms(now), t.ID)
		return err
	})
	if err != nil {
		return Ticket{}, err
	}
	return s.Ticket(ctx, id)
}

// AddTicketNote adds a note to a ticket (by ID or number).
func (s *Store) AddTicketNote(ctx context.Context, idOrNumber, author, body string) (Note, error) {
	if strings.TrimSpace(body) == "" {
		return Note{}, fmt.Errorf("%w: an empty note", ErrInvalid)
	}
	var n Note
	err := s.inTx(ctx, func(r run) error {
		var id string
		err := r.row(ctx, "SELECT id FROM tickets WHERE id = ? OR number = ?", idOrNumber, idOrNumber).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: ticket %s", ErrNotFound, idOrNumber)
		}
		if err != nil {
			return err
		}
		n, err = s.addNote(ctx, r, id, author, body)
		if err != nil {
			return err
		}
		_, err = r.exec(ctx, "UPDATE tickets SET updated_at = ? WHERE id = ?", ms(n.CreatedAt), id)
		return err
	})
	return n, err
}

func (s *Store) addNote(ctx context.Context, r run, ticketID, author, body string) (Note, error) {
	n := Note{ID: newID(), TicketID: ticketID, Author: author, Body: body, CreatedAt: s.now().UTC().Truncate(time.Millisecond)}
	_, err := r.exec(ctx, "INSERT INTO ticket_notes (id, ticket_id, author, body, created_at) VALUES (?, ?, ?, ?, ?)",
		n.ID, n.TicketID, n.Author, n.Body, ms(n.CreatedAt))
	return n, err
}

// TicketFilter selects tickets; empty fields select everything.
type TicketFilter struct {
	CustomerID string
	Queue      string
	Assignee   string
	Kind       TicketKind
	Statuses   []TicketStatus
	From, To   time.Time // CreatedAt in [From, To)
}

// ListTickets returns tickets newest first, a page at a time (without their notes).
func (s *Store) ListTickets(ctx context.Context, f TicketFilter, p Page) ([]Ticket, string, error) {
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
	if f.Assignee != "" {
		add("assignee = ?", f.Assignee)
	}
	if f.Kind != "" {
		add("kind = ?", f.Kind)
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
	r := s.r()
	list, err := s.scanTickets(ctx, r, "SELECT "+ticketCols+" FROM tickets"+whereSQL(where)+
		" ORDER BY created_at DESC, id DESC LIMIT ?", append(args, limit+1)...)
	if err != nil {
		return nil, "", err
	}
	list, next := cutPage(list, limit, func(x Ticket) (time.Time, string) { return x.CreatedAt, x.ID })
	return list, next, nil
}
