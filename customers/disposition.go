package customers

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

// Wrap-up dispositions: after a call the agent says how it ended (a code the queue
// configures, such as resolved or follow-up) and writes a note. There is one disposition per
// contact and agent; submitting again replaces its code and note.

// MaxDispositionNote is the longest note a disposition keeps, in characters.
const MaxDispositionNote = 2000

// DispositionCodeRE is what a disposition code looks like (config validates the same).
var DispositionCodeRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,39}$`)

// Disposition is an agent's wrap-up of one contact.
type Disposition struct {
	ID         string
	ContactID  string
	CallID     string
	CustomerID string
	Queue      string
	Agent      string
	Code       string // "" = a note only
	Note       string
	CreatedAt  time.Time // first submitted
	UpdatedAt  time.Time // last submitted
}

// HadAgent reports whether agent took part in the contact: it was the contact's agent, or
// one of its agents' parts (events of step "agent", the agent as node, written as the call
// ends) is theirs.
func (c Contact) HadAgent(agent string) bool {
	if agent == "" {
		return false
	}
	if c.Agent == agent {
		return true
	}
	for _, e := range c.Events {
		if e.Step == "agent" && e.Node == agent {
			return true
		}
	}
	return false
}

const dispositionCols = `id, contact_id, call_id, customer_id, queue, agent, code, note, created_at, updated_at`

func scanDisposition(sc interface{ Scan(...any) error }) (Disposition, error) {
	var d Disposition
	var created, updated int64
	if err := sc.Scan(&d.ID, &d.ContactID, &d.CallID, &d.CustomerID, &d.Queue, &d.Agent, &d.Code, &d.Note, &created, &updated); err != nil {
		return Disposition{}, err
	}
	d.CreatedAt, d.UpdatedAt = fromMS(created), fromMS(updated)
	return d, nil
}

func scanDispositions(rows *sql.Rows, err error) ([]Disposition, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Disposition
	for rows.Next() {
		d, err := scanDisposition(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// SaveDisposition records an agent's wrap-up of a contact and returns it as stored. The
// contact is ContactID, or the latest contact of CallID; CallID, CustomerID and (when empty)
// Queue are taken from it. Agent is required; Code is "" or a code like resolved (whether the
// queue offers it is the caller's check, as is whether the agent took part: Contact.HadAgent);
// Note is at most MaxDispositionNote characters. A second disposition by the same agent on
// the same contact replaces the code and note (CreatedAt stays, UpdatedAt moves). Only a new
// disposition counts in hotline_wrapup_dispositions_total.
func (s *Store) SaveDisposition(ctx context.Context, d Disposition) (Disposition, error) {
	d.Agent, d.Code = strings.TrimSpace(d.Agent), strings.TrimSpace(d.Code)
	switch {
	case d.Agent == "":
		return Disposition{}, fmt.Errorf("%w: a disposition needs the agent", ErrInvalid)
	case d.Code != "" && !DispositionCodeRE.MatchString(d.Code):
		return Disposition{}, fmt.Errorf("%w: disposition code %q: use lower-case letters, digits, - and _ (up to 40)", ErrInvalid, d.Code)
	case !utf8.ValidString(d.Note):
		return Disposition{}, fmt.Errorf("%w: the note is not UTF-8 text", ErrInvalid)
	case utf8.RuneCountInString(d.Note) > MaxDispositionNote:
		return Disposition{}, fmt.Errorf("%w: the note has %d characters; at most %d", ErrInvalid, utf8.RuneCountInString(d.Note), MaxDispositionNote)
	case d.ContactID == "" && d.CallID == "":
		return Disposition{}, fmt.Errorf("%w: a disposition needs a contact or a call ID", ErrInvalid)
	}
	var c Contact
	var err error
	if d.ContactID != "" {
		c, err = s.Contact(ctx, d.ContactID)
	} else {
		c, err = s.ContactByCallID(ctx, d.CallID)
	}
	if err != nil {
		return Disposition{}, err
	}
	d.ContactID, d.CallID, d.CustomerID = c.ID, c.CallID, c.CustomerID
	if d.Queue == "" {
		d.Queue = c.Queue
	}
	inserted := false
	err = s.inTxRetry(ctx, func(r run) error {
		inserted = false
		now := s.now()
		old, err := scanDisposition(r.row(ctx, "SELECT "+dispositionCols+" FROM dispositions WHERE contact_id = ? AND agent = ?"+s.d.forUpdate(), d.ContactID, d.Agent))
		switch {
		case errors.Is(err, sql.ErrNoRows):
			d.ID, d.CreatedAt, d.UpdatedAt = newID(), now, now
			_, err = r.exec(ctx, "INSERT INTO dispositions ("+dispositionCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
				d.ID, d.ContactID, d.CallID, d.CustomerID, d.Queue, d.Agent, d.Code, d.Note, ms(d.CreatedAt), ms(d.UpdatedAt))
			inserted = err == nil
			return err
		case err != nil:
			return err
		}
		d.ID, d.CreatedAt, d.UpdatedAt = old.ID, old.CreatedAt, now
		_, err = r.exec(ctx, "UPDATE dispositions SET code = ?, note = ?, queue = ?, updated_at = ? WHERE id = ?",
			d.Code, d.Note, d.Queue, ms(now), d.ID)
		return err
	})
	if err != nil {
		return Disposition{}, fmt.Errorf("customers: saving disposition: %w", err)
	}
	if inserted {
		mDispositions.WithLabelValues(d.Queue, d.Agent, codeLabel(d.Code)).Inc()
	}
	return s.Disposition(ctx, d.ID)
}

// codeLabel is the metric label of a code: "none" for a note only.
func codeLabel(code string) string {
	if code == "" {
		return "none"
	}
	return code
}

// Disposition returns one disposition by ID.
func (s *Store) Disposition(ctx context.Context, id string) (Disposition, error) {
	d, err := scanDisposition(s.r().row(ctx, "SELECT "+dispositionCols+" FROM dispositions WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return Disposition{}, fmt.Errorf("%w: disposition %s", ErrNotFound, id)
	}
	return d, err
}

// DispositionFilter selects dispositions; empty fields select everything. Code "none"
// selects the note-only ones.
type DispositionFilter struct {
	Queue      string
	Agent      string
	Code       string
	Contact    string
	CustomerID string
	From, To   time.Time // CreatedAt in [From, To)
}

func (f DispositionFilter) where() ([]string, []any) {
	var where []string
	var args []any
	add := func(cond string, a ...any) { where = append(where, cond); args = append(args, a...) }
	if f.Queue != "" {
		add("queue = ?", f.Queue)
	}
	if f.Agent != "" {
		add("agent = ?", f.Agent)
	}
	switch f.Code {
	case "":
	case "none":
		add("code = ''")
	default:
		add("code = ?", f.Code)
	}
	if f.Contact != "" {
		add("contact_id = ?", f.Contact)
	}
	if f.CustomerID != "" {
		add("customer_id = ?", f.CustomerID)
	}
	if !f.From.IsZero() {
		add("created_at >= ?", ms(f.From))
	}
	if !f.To.IsZero() {
		add("created_at < ?", ms(f.To))
	}
	return where, args
}

// ListDispositions returns dispositions newest first (by first submission), a page at a
// time; next is the cursor of the following page ("" after the last).
func (s *Store) ListDispositions(ctx context.Context, f DispositionFilter, p Page) ([]Disposition, string, error) {
	if f.CustomerID != "" {
		id, err := s.resolve(ctx, s.r(), f.CustomerID)
		if err != nil {
			return nil, "", err
		}
		f.CustomerID = id
	}
	where, args := f.where()
	limit, err := p.apply("created_at", &where, &args)
	if err != nil {
		return nil, "", err
	}
	list, err := scanDispositions(s.r().query(ctx, "SELECT "+dispositionCols+" FROM dispositions"+whereSQL(where)+
		" ORDER BY created_at DESC, id DESC LIMIT ?", append(args, limit+1)...))
	if err != nil {
		return nil, "", err
	}
	list, next := cutPage(list, limit, func(x Disposition) (time.Time, string) { return x.CreatedAt, x.ID })
	return list, next, nil
}

// DispositionCount is how many dispositions of one code one agent gave in one queue.
type DispositionCount struct {
	Queue, Agent, Code string // Code "" = a note only
	Count              int64
}

// CountDispositions counts the dispositions first submitted in [from, to) (a zero bound is
// open) by queue, agent and code, sorted in that order.
func (s *Store) CountDispositions(ctx context.Context, from, to time.Time) ([]DispositionCount, error) {
	where, args := DispositionFilter{From: from, To: to}.where()
	rows, err := s.r().query(ctx, "SELECT queue, agent, code, COUNT(*) FROM dispositions"+whereSQL(where)+
		" GROUP BY queue, agent, code", args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []DispositionCount
	for rows.Next() {
		var c DispositionCount
		if err := rows.Scan(&c.Queue, &c.Agent, &c.Code, &c.Count); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Queue != b.Queue {
			return a.Queue < b.Queue
		}
		if a.Agent != b.Agent {
			return a.Agent < b.Agent
		}
		return a.Code < b.Code
	})
	return out, rows.Err()
}
