package customers

import (
	"context"
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
// (Object), when, with Detail. Detail never holds a secret or a full phone number: Audit
// drops keys that name secrets and masks anything that looks like a phone number.
type AuditEntry struct {
	ID     string
	At     time.Time // default now
	Actor  string    // the API token's ID, or "system", "phone:<agent>"
	Role   string    // supervisor | agent | integration | system
	Action string    // recording.play, monitor.start, ...
	Object string    // the recording or call ID
	Detail map[string]any
}

// AuditFilter selects audit entries; empty fields select everything.
type AuditFilter struct {
	Action string // exact, or a prefix ending in "." ("recording." = every recording action)
	Object string
	Actor  string
	Since  time.Time // At at or after
}

var auditActionRE = regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$`)

// Audit appends an entry to the audit trail.
func (s *Store) Audit(ctx context.Context, a AuditEntry) error {
	if !auditActionRE.MatchString(a.Action) {
		return fmt.Errorf("%w: audit action %q; use a dotted lower-case name such as recording.play", ErrInvalid, a.Action)
	}
	if strings.TrimSpace(a.Actor) == "" {
		return fmt.Errorf("%w: an audit entry needs an actor", ErrInvalid)
	}
	if a.At.IsZero() {
		a.At = s.now()
	}
	detail, err := json.Marshal(scrubDetail(a.Detail))
	if err != nil {
		return fmt.Errorf("%w: audit detail: %v", ErrInvalid, err)
	}
	_, err = s.r().exec(ctx, "INSERT INTO audit (id, at, actor, role, action, object, detail) VALUES (?, ?, ?, ?, ?, ?, ?)",
		newID(), ms(a.At), a.Actor, a.Role, a.Action, a.Object, string(detail))
	if err != nil {
		return fmt.Errorf("customers: audit: %w", err)
	}
	return nil
}

// ListAudit returns audit entries newest first, a page at a time.
func (s *Store) ListAudit(ctx context.Context, f AuditFilter, p Page) ([]AuditEntry, string, error) {
	var where []string
	var args []any
	add := func(cond string, a ...any) { where = append(where, cond); args = append(args, a...) }
	switch {
	case f.Action == "":
	case strings.HasSuffix(f.Action, "."):
		add("action >= ? AND action < ?", f.Action, f.Action[:len(f.Action)-1]+"/") // '/' follows '.'
	default:
		add("action = ?", f.Action)
	}
	if f.Object != "" {
		add("object = ?", f.Object)
	}
	if f.Actor != "" {
		add("actor = ?", f.Actor)
	}
	if !f.Since.IsZero() {
		add("at >= ?", ms(f.Since))
	}
	limit, err := p.apply("at", &where, &args)
	if err != nil {
		return nil, "", err
	}
	rows, err := s.r().query(ctx, "SELECT id, at, actor, role, action, object, detail FROM audit"+whereSQL(where)+
		" ORDER BY at DESC, id DESC LIMIT ?", append(args, limit+1)...)
	if err != nil {
		return nil, "", err
	}
	defer rows.Close()
	var list []AuditEntry
	for rows.Next() {
		var a AuditEntry
		var at int64
		var detail string
		if err := rows.Scan(&a.ID, &at, &a.Actor, &a.Role, &a.Action, &a.Object, &detail); err != nil {
			return nil, "", err
		}
		a.At = fromMS(at)
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
