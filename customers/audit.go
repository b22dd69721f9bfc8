package customers

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Audit actions hotline writes. Others may be used; an action is a dotted lower-case word.
const (
	AuditRecordingPlay     = "recording.play"
	AuditRecordingDownload = "recording.download"
	AuditRecordingStart    = "recording.start"
	AuditRecordingStop     = "recording.stop"
	AuditRecordingPause    = "recording.pause"
	AuditRecordingResume   = "recording.resume"
	AuditMonitorStart      = "monitor.start" // a supervisor joined a call (detail: mode, supervisor)
	AuditMonitorMode       = "monitor.mode"  // the mode changed (detail: mode, from)
	AuditMonitorStop       = "monitor.stop"  // asked to stop from the API
	AuditMonitorEnd        = "monitor.end"   // the session ended (detail: modes, duration_ms, ended_by)
)

// AuditEntry is one line of the audit trail: who (Actor, Role) did what (Action) to what
// (Object), when, from where (From), with Detail. Detail never holds a secret or a full
// phone number: Audit drops keys that name secrets and masks anything that looks like a
// phone number.
//
// The trail is append-only and tamper-evident: each entry written has the next place in
// one chain (Seq) and stores the hash of the entry before it (PrevHash) and its own (Hash),
// SHA-256 over its canonical content and PrevHash. VerifyAudit walks the chain.
type AuditEntry struct {
	ID     string
	At     time.Time // default now; stored to the millisecond
	Actor  string    // the API token's ID, or "system", "phone:<agent>"
	Role   string    // supervisor | agent | integration | system
	Action string    // recording.play, monitor.start, ...
	Object string    // the recording or call ID
	From   string    // where it came from: the client IP of an API request, "cli", "signal", "phone", "system"
	Detail map[string]any

	// Set by the store, read back by ListAudit.
	Seq      int64  // place in the chain, from 1; 0: written before the chain existed (schema version 7)
	PrevHash string // hex SHA-256 of the entry before ("" for the first)
	Hash     string // hex SHA-256 of this entry
}

// AuditFilter selects audit entries; empty fields select everything.
type AuditFilter struct {
	Action string    // exact, or a prefix: "recording." or "recording" = every recording action
	Object string    // exact
	Actor  string    // exact: a token ID
	From   string    // exact: an IP address, "cli", "signal" ...
	Since  time.Time // At at or after
	Until  time.Time // At before
}

var auditActionRE = regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$`)

const maxAuditFrom = 100

// Audit appends an entry to the audit trail, at the end of the chain. Appends are
// serialized (the head row is locked in the transaction), so the chain stays linear with
// any number of writers and nodes. Inside a transaction of the store use auditTx.
func (s *Store) Audit(ctx context.Context, a AuditEntry) error {
	return s.inTx(ctx, func(r run) error { return s.auditTx(ctx, r, a) })
}

// auditTx appends a to the audit trail inside the transaction r: the entry is written, and
// the chain moves on, only if the transaction commits.
func (s *Store) auditTx(ctx context.Context, r run, a AuditEntry) error {
	if !auditActionRE.MatchString(a.Action) {
		return fmt.Errorf("%w: audit action %q; use a dotted lower-case name such as recording.play", ErrInvalid, a.Action)
	}
	if strings.TrimSpace(a.Actor) == "" {
		return fmt.Errorf("%w: an audit entry needs an actor", ErrInvalid)
	}
	a.From = strings.TrimSpace(a.From)
	if len(a.From) > maxAuditFrom || strings.ContainsFunc(a.From, func(c rune) bool { return c < ' ' || c == 0x7f }) {
		return fmt.Errorf("%w: audit source %q: at most %d printable characters (an IP address, cli, signal)", ErrInvalid, a.From, maxAuditFrom)
	}
	if a.At.IsZero() {
		a.At = s.now()
	}
	a.At = fromMS(ms(a.At))
	raw, err := json.Marshal(scrubDetail(a.Detail))
	if err != nil {
		return fmt.Errorf("%w: audit detail: %v", ErrInvalid, err)
	}
	detail, err := canonicalJSON(string(raw))
	if err != nil {
		return fmt.Errorf("%w: audit detail: %v", ErrInvalid, err)
	}
	a.ID = newID()
	var head int64
	var prev string
	if err := r.row(ctx, "SELECT seq, hash FROM audit_head WHERE id = 1"+s.d.forUpdate()).Scan(&head, &prev); err != nil {
		return fmt.Errorf("customers: audit: reading the chain's head: %w", err)
	}
	a.Seq, a.PrevHash = head+1, prev
	a.Hash = chainHash(a, detail)
	if _, err := r.exec(ctx, "INSERT INTO audit (id, at, actor, role, action, object, src, detail, seq, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		a.ID, ms(a.At), a.Actor, a.Role, a.Action, a.Object, a.From, detail, a.Seq, a.PrevHash, a.Hash); err != nil {
		return fmt.Errorf("customers: audit: %w", err)
	}
	if _, err := r.exec(ctx, "UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1", a.Seq, a.Hash); err != nil {
		return fmt.Errorf("customers: audit: moving the chain's head: %w", err)
	}
	return nil
}

// chainHash is an entry's hash: SHA-256 over the canonical encoding of its content and the
// previous entry's hash, a JSON array of, in order: the format's name, seq, id, at (UTC,
// RFC 3339 with nanoseconds), actor, role, action, object, from, detail (canonical JSON:
// keys sorted, no spaces) and prev_hash. As hex.
func chainHash(a AuditEntry, detail string) string {
	b, _ := json.Marshal([]any{"hotline-audit/1", a.Seq, a.ID, a.At.UTC().Format(time.RFC3339Nano), a.Actor, a.Role,
		a.Action, a.Object, a.From, detail, a.PrevHash})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// canonicalJSON is a JSON object re-encoded with sorted keys and numbers as written, so that
// an entry hashes the same however the database hands its text back.
func canonicalJSON(s string) (string, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v map[string]any
	if err := dec.Decode(&v); err != nil {
		return "", err
	}
	if v == nil {
		v = map[string]any{}
	}
	b, err := json.Marshal(v)
	return string(b), err
}

const auditColumns = "id, at, actor, role, action, object, src, detail, seq, prev_hash, hash"

// scanAudit reads a row of auditColumns; detail is the stored text.
func scanAudit(sc interface{ Scan(...any) error }) (AuditEntry, string, error) {
	var a AuditEntry
	var at int64
	var seq sql.NullInt64
	var detail string
	if err := sc.Scan(&a.ID, &at, &a.Actor, &a.Role, &a.Action, &a.Object, &a.From, &detail, &seq, &a.PrevHash, &a.Hash); err != nil {
		return a, "", err
	}
	a.At, a.Seq = fromMS(at), seq.Int64
	return a, detail, nil
}

// ListAudit returns audit entries newest first, a page at a time.
func (s *Store) ListAudit(ctx context.Context, f AuditFilter, p Page) ([]AuditEntry, string, error) {
	var where []string
	var args []any
	add := func(cond string, a ...any) { where = append(where, cond); args = append(args, a...) }
	act := strings.TrimSpace(f.Action)
	if act != "" && !strings.Contains(act, ".") {
		act += "." // a bare word can only be a prefix: actions are dotted
	}
	switch {
	case act == "":
	case strings.HasSuffix(act, "."):
		add("action >= ? AND action < ?", act, act[:len(act)-1]+"/") // '/' follows '.'
	default:
		add("action = ?", act)
	}
	if f.Object != "" {
		add("object = ?", f.Object)
	}
	if f.Actor != "" {
		add("actor = ?", f.Actor)
	}
	if f.From != "" {
		add("src = ?", f.From)
	}
	if !f.Since.IsZero() {
		add("at >= ?", ms(f.Since))
	}
	if !f.Until.IsZero() {
		add("at < ?", ms(f.Until))
	}
	limit, err := p.apply("at", &where, &args)
	if err != nil {
		return nil, "", err
	}
	rows, err := s.r().query(ctx, "SELECT "+auditColumns+" FROM audit"+whereSQL(where)+
		" ORDER BY at DESC, id DESC LIMIT ?", append(args, limit+1)...)
	if err != nil {
		return nil, "", err
	}
	defer rows.Close()
	var list []AuditEntry
	for rows.Next() {
		a, detail, err := scanAudit(rows)
		if err != nil {
			return nil, "", err
		}
		if err := json.Unmarshal([]byte(detail), &a.Detail); err != nil {
			return nil, "", fmt.Errorf("customers: audit %s: detail: %w", a.ID, err)
		}
		list = append(list, a)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	list, next := cutPage(list, limit, func(x AuditEntry) (time.Time, string) { return x.At, x.ID })
	return list, next, nil
}

// secretKey names detail keys that must never be stored.
var secretKey = regexp.MustCompile(`(?i)secret|token|password|passwd|cookie|authorization|csrf|api_?key`)

// phoneLike is a phone number as people and SIP write it (7 or more digits, with the
// separators people use, maybe a sip: or tel: URI): the audit keeps only its last 4 digits.
var (
	phoneLike = regexp.MustCompile(`^(?:(?:sip|sips|tel):)?\+?\(?\d[\d ().-]{5,}\d(?:@\S*)?$`)
	dateLike  = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
)

func scrubString(s string) string {
	t := strings.TrimSpace(s)
	if phoneLike.MatchString(t) && !dateLike.MatchString(t) {
		return maskNumber(t)
	}
	words := strings.Fields(s)
	changed := false
	for i, w := range words {
		if phoneLike.MatchString(w) && !dateLike.MatchString(w) {
			words[i], changed = maskNumber(w), true
		}
	}
	if !changed {
		return s
	}
	return strings.Join(words, " ")
}

func scrubDetail(d map[string]any) map[string]any {
	out := make(map[string]any, len(d))
	for k, v := range d {
		if secretKey.MatchString(k) {
			continue
		}
		out[k] = scrubValue(v)
	}
	return out
}

func scrubValue(v any) any {
	switch x := v.(type) {
	case string:
		return scrubString(x)
	case []string:
		out := make([]any, len(x))
		for i, s := range x {
			out[i] = scrubValue(s)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, s := range x {
			out[i] = scrubValue(s)
		}
		return out
	case map[string]any:
		return scrubDetail(x)
	}
	return v
}

// maskNumber keeps the last four digits of a number: "+8613800138000" → "…8000".
func maskNumber(s string) string {
	if i := strings.IndexByte(s, '@'); i >= 0 {
		s = s[:i]
	}
	var last []byte
	for i := len(s) - 1; i >= 0 && len(last) < 4; i-- {
		if s[i] >= '0' && s[i] <= '9' {
			last = append([]byte{s[i]}, last...)
		}
	}
	return "…" + string(last)
}
