package customers

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/hotline-cc/hotline/call"
	"github.com/hotline-cc/hotline/recordings"
)

// Conversation recordings: the call path asks BeginCallRecording for a path, the driver
// writes the WAV there as the call goes (call.CallRecorder), and Finish files it. A sidecar
// next to the file holds the meta, so that RecoverRecordings files what a crash left behind.

// CallRecordingMeta is what is known of a conversation recording when it begins.
type CallRecordingMeta struct {
	CallID     string `json:"call_id"`
	ContactID  string `json:"contact_id,omitempty"`
	CustomerID string `json:"customer_id,omitempty"` // "" = the contact's customer
	Queue      string `json:"queue,omitempty"`
	// RetainDays keeps the recording this many days (the queue's retention); 0 = the store's
	// default retention.
	RetainDays int `json:"retain_days,omitempty"`
}

// FinishedRecording is what the driver says of a recording it stopped (call.RecordedCall).
type FinishedRecording struct {
	Duration   time.Duration // 0 = read from the WAV header
	Paused     []call.Span
	Incomplete bool
	Agents     []string // the agents heard on it, in order
}

// sidecar is the JSON kept next to an incoming recording.
type sidecar struct {
	CallRecordingMeta
	BeganAt int64 `json:"began_at_ms"`
}

// PendingRecording is a conversation recording being made. Finish or Abort it once.
type PendingRecording struct {
	s     *Store
	in    recordings.Incoming
	meta  CallRecordingMeta
	began time.Time

	mu   sync.Mutex
	done bool
}

// ID is the recording's ID (the row Finish inserts, the file it keeps).
func (p *PendingRecording) ID() string { return p.in.ID }

// Path is where the driver writes the WAV (call.CallRecorder.RecordCall's path).
func (p *PendingRecording) Path() string { return p.in.Path }

// BeginCallRecording reserves a path in the recordings store's incoming folder for a
// conversation recording and writes its sidecar (fsynced), so that a crash before Finish
// loses nothing (RecoverRecordings). It checks the contact and customer exist first.
func (s *Store) BeginCallRecording(ctx context.Context, m CallRecordingMeta) (*PendingRecording, error) {
	if strings.TrimSpace(m.CallID) == "" && m.ContactID == "" {
		return nil, fmt.Errorf("%w: a call recording needs a CallID or a ContactID", ErrInvalid)
	}
	if m.RetainDays < 0 {
		return nil, fmt.Errorf("%w: retain days %d; use 0 for the store's retention or a number of days", ErrInvalid, m.RetainDays)
	}
	r := s.r()
	if m.CustomerID != "" {
		id, err := s.resolve(ctx, r, m.CustomerID)
		if err != nil {
			return nil, err
		}
		m.CustomerID = id
	}
	if m.ContactID != "" {
		var cust string
		err := r.row(ctx, "SELECT customer_id FROM contacts WHERE id = ?", m.ContactID).Scan(&cust)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("%w: contact %s", ErrNotFound, m.ContactID)
		}
		if err != nil {
			return nil, err
		}
		if m.CustomerID == "" {
			m.CustomerID = cust
		}
	}
	began := s.now().UTC().Truncate(time.Millisecond)
	in, err := s.rec.Begin(began)
	if err != nil {
		return nil, err
	}
	b, _ := json.Marshal(sidecar{m, ms(began)})
	if err := writeSynced(in.Sidecar(), b); err != nil {
		return nil, err
	}
	return &PendingRecording{s: s, in: in, meta: m, began: began}, nil
}

func writeSynced(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o640)
	if err != nil {
		return fmt.Errorf("customers: %w", err)
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("customers: writing %s: %w", path, err)
	}
	return nil
}

func (p *PendingRecording) claim() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done {
		return fmt.Errorf("%w: recording %s was already finished or aborted", ErrInvalid, p.in.ID)
	}
	p.done = true
	return nil
}

// Finish files the recording: the WAV is moved into the store (its header repaired, fsynced,
// its SHA-256 taken), then one transaction inserts its row (kind call) under the contact and
// customer, where the timeline shows it. If the row cannot be written the file goes back to
// the incoming folder with its sidecar, for RecoverRecordings at the next start.
func (p *PendingRecording) Finish(ctx context.Context, f FinishedRecording) (RecordingInfo, error) {
	if err := p.claim(); err != nil {
		return RecordingInfo{}, err
	}
	return p.s.fileCallRecording(ctx, p.in, p.meta, p.began, f)
}

// Abort drops a recording that never got audio (the call ended before it was connected, the
// driver could not start): its file, if any, and its sidecar.
func (p *PendingRecording) Abort() error {
	if err := p.claim(); err != nil {
		return err
	}
	return p.s.rec.Discard(p.in)
}

func (s *Store) fileCallRecording(ctx context.Context, in recordings.Incoming, m CallRecordingMeta, began time.Time, f FinishedRecording) (RecordingInfo, error) {
	rec, err := s.rec.Adopt(ctx, in, recordings.Meta{Duration: f.Duration, At: began})
	if err != nil {
		return RecordingInfo{}, err
	}
	ri := RecordingInfo{ID: rec.ID, Kind: "call", CustomerID: m.CustomerID, ContactID: m.ContactID, SHA256: rec.SHA256,
		Size: rec.Size, Duration: rec.Duration, CreatedAt: rec.CreatedAt, CallID: m.CallID, Queue: m.Queue,
		Agents: f.Agents, Paused: f.Paused, Incomplete: f.Incomplete}
	if m.RetainDays > 0 {
		ri.RetainUntil = rec.CreatedAt.Add(time.Duration(m.RetainDays) * 24 * time.Hour)
	}
	if ri.Agents == nil {
		ri.Agents = []string{}
	}
	err = s.inTx(ctx, func(r run) error { return s.insertCallRecording(ctx, r, ri) })
	if err != nil {
		// Back to incoming, where the sidecar still is: the next start files it.
		if rerr := os.Rename(rec.Path, in.Path); rerr != nil {
			return RecordingInfo{}, fmt.Errorf("customers: call recording %s: %w (and putting it back for recovery: %v; the file stays at %s)", rec.ID, err, rerr, rec.Path)
		}
		return RecordingInfo{}, fmt.Errorf("customers: call recording %s (kept for recovery at the next start): %w", rec.ID, err)
	}
	if err := os.Remove(in.Sidecar()); err != nil && !errors.Is(err, fs.ErrNotExist) {
		s.log.Warn("call recording filed; its sidecar stays", "recording", rec.ID, "err", err)
	}
	mCallRecordings.WithLabelValues(boolLabel(ri.Incomplete)).Inc()
	return ri, nil
}

func boolLabel(b bool) string {
	if b {
		return "incomplete"
	}
	return "complete"
}

func (s *Store) insertCallRecording(ctx context.Context, r run, ri RecordingInfo) error {
	agents, _ := json.Marshal(ri.Agents)
	_, err := r.exec(ctx, `INSERT INTO recordings (id, kind, customer_id, contact_id, sha256, size, duration_ms, created_at,
		call_id, queue, agents, paused, incomplete, retain_until) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		ri.ID, ri.Kind, nullStr(ri.CustomerID), nullStr(ri.ContactID), ri.SHA256, ri.Size, ri.Duration.Milliseconds(), ms(ri.CreatedAt),
		ri.CallID, ri.Queue, string(agents), encodeSpans(ri.Paused), b2i(ri.Incomplete), msOrNil(ri.RetainUntil))
	if err != nil {
		return fmt.Errorf("customers: recording %s: %w", ri.ID, err)
	}
	return nil
}

// spanJSON is a span as stored and as the API shows it: milliseconds.
type spanJSON struct {
	Start int64 `json:"start_ms"`
	End   int64 `json:"end_ms"`
}

func encodeSpans(sp []call.Span) string {
	out := make([]spanJSON, 0, len(sp))
	for _, s := range sp {
		out = append(out, spanJSON{s.Start.Milliseconds(), s.End.Milliseconds()})
	}
	b, _ := json.Marshal(out)
	return string(b)
}

func decodeSpans(s string) ([]call.Span, error) {
	var in []spanJSON
	if err := json.Unmarshal([]byte(s), &in); err != nil {
		return nil, err
	}
	out := make([]call.Span, 0, len(in))
	for _, x := range in {
		out = append(out, call.Span{Start: time.Duration(x.Start) * time.Millisecond, End: time.Duration(x.End) * time.Millisecond})
	}
	return out, nil
}

// RecoverRecordings files every recording left in the incoming folder by a crash (run it at
// startup, before calls are taken): each WAV header is repaired from the file's real length
// and the recording is saved, marked incomplete, with the meta of its sidecar (without one,
// with none: the audio is kept all the same). It returns how many it filed; one that fails
// does not stop the others.
func (s *Store) RecoverRecordings(ctx context.Context) (int, error) {
	left, err := s.rec.Incoming()
	if err != nil {
		return 0, err
	}
	n := 0
	var errs []error
	for _, in := range left {
		var sc sidecar
		if b, err := os.ReadFile(in.Sidecar()); err == nil {
			if err := json.Unmarshal(b, &sc); err != nil {
				s.log.Warn("recovering a call recording: unreadable sidecar; filed without its meta", "recording", in.ID, "err", err)
				sc = sidecar{}
			}
		} else if !errors.Is(err, fs.ErrNotExist) {
			s.log.Warn("recovering a call recording: sidecar", "recording", in.ID, "err", err)
		}
		began, _ := recordings.ParseID(in.ID)
		if sc.BeganAt > 0 {
			began = fromMS(sc.BeganAt)
		}
		m := sc.CallRecordingMeta
		// The customer may have been merged or erased meanwhile: resolve what can be.
		if m.CustomerID != "" {
			if id, err := s.resolve(ctx, s.r(), m.CustomerID); err == nil {
				m.CustomerID = id
			} else {
				m.CustomerID = ""
			}
		}
		ri, err := s.fileCallRecording(ctx, in, m, began, FinishedRecording{Incomplete: true})
		if err != nil {
			errs = append(errs, err)
			continue
		}
		n++
		s.log.Warn("recovered a call recording cut short by a restart", "recording", ri.ID, "call", ri.CallID,
			"duration", ri.Duration.Round(time.Second), "sha256", ri.SHA256)
	}
	if err := errors.Join(errs...); err != nil {
		return n, fmt.Errorf("customers: recovering recordings: %w", err)
	}
	return n, nil
}

// RecordingFilter selects recordings; empty fields select everything.
type RecordingFilter struct {
	ContactID  string
	CustomerID string // and the records merged into it
	CallID     string
	Kind       string // voicemail | call
}

// ListRecordings returns recordings newest first, a page at a time, deleted ones included
// (DeletedAt set).
func (s *Store) ListRecordings(ctx context.Context, f RecordingFilter, p Page) ([]RecordingInfo, string, error) {
	var where []string
	var args []any
	add := func(cond string, a ...any) { where = append(where, cond); args = append(args, a...) }
	r := s.r()
	if f.CustomerID != "" {
		id, err := s.resolve(ctx, r, f.CustomerID)
		if err != nil {
			return nil, "", err
		}
		add("(customer_id = ? OR customer_id IN (SELECT id FROM customers WHERE merged_into = ?))", id, id)
	}
	if f.ContactID != "" {
		add("contact_id = ?", f.ContactID)
	}
	if f.CallID != "" {
		add("call_id = ?", f.CallID)
	}
	switch f.Kind {
	case "":
	case "voicemail", "call":
		add("kind = ?", f.Kind)
	default:
		return nil, "", fmt.Errorf("%w: recording kind %q; use voicemail or call", ErrInvalid, f.Kind)
	}
	limit, err := p.apply("created_at", &where, &args)
	if err != nil {
		return nil, "", err
	}
	rows, err := r.query(ctx, "SELECT "+recordingCols+" FROM recordings"+whereSQL(where)+" ORDER BY created_at DESC, id DESC LIMIT ?",
		append(args, limit+1)...)
	if err != nil {
		return nil, "", err
	}
	defer rows.Close()
	var list []RecordingInfo
	for rows.Next() {
		ri, err := scanRecording(rows)
		if err != nil {
			return nil, "", err
		}
		list = append(list, ri)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	list, next := cutPage(list, limit, func(x RecordingInfo) (time.Time, string) { return x.CreatedAt, x.ID })
	return list, next, nil
}
