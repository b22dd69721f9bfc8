package dashboard

import (
	"net"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/hotline-cc/hotline/customers"
)

// AuditView is one audit entry.
type AuditView struct {
	ID     string         `json:"id"`
	At     time.Time      `json:"at"`
	Actor  string         `json:"actor"` // the token ID
	Role   string         `json:"role"`
	Action string         `json:"action"`
	Object string         `json:"object"`
	From   string         `json:"from"` // the client IP of the API request; cli, signal, phone, api, system
	Detail map[string]any `json:"detail"`
	Seq    int64          `json:"seq,omitempty"` // place in the hash chain (0: written before it)
	Hash   string         `json:"hash,omitempty"`
}

// clientIP is where a request came from, as the audit trail says: the peer's IP address.
// Headers such as X-Forwarded-For are not believed: any client can send them.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// oversees says whether p acts on others' work: supervisor and integration actions are
// audited; an agent's on its own calls are not.
func (p *principal) oversees() bool { return p.Role != RoleAgent }

// auditOversight writes an audit entry for p's action when p oversees (oversees).
func (s *Server) auditOversight(r *http.Request, p *principal, action, object string, detail map[string]any) {
	if p.oversees() {
		s.audit(r, p, action, object, detail)
	}
}

// ticketPatchDetail is what a ticket change set, for the audit: the new status, priority
// and assignee; of the subject, only that it changed (it may name the customer).
func ticketPatchDetail(req TicketPatch) map[string]any {
	d := map[string]any{}
	if req.Status != nil {
		d["status"] = *req.Status
	}
	if req.Priority != nil {
		d["priority"] = *req.Priority
	}
	if req.Assignee != nil {
		d["assignee"] = *req.Assignee
	}
	if req.Subject != nil {
		d["subject_changed"] = true
	}
	return d
}

func auditView(a customers.AuditEntry) AuditView {
	d := a.Detail
	if d == nil {
		d = map[string]any{}
	}
	return AuditView{ID: a.ID, At: a.At, Actor: a.Actor, Role: a.Role, Action: a.Action, Object: a.Object, From: a.From, Detail: d,
		Seq: a.Seq, Hash: a.Hash}
}

var auditActionPrefix = regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*\.?$`)

func (s *Server) handleAudit(w http.ResponseWriter, r *http.Request, p *principal) error {
	pg, err := page(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	since, err := queryTime(r, "since", time.UTC)
	if err != nil {
		return err
	}
	until, err := queryTime(r, "until", time.UTC)
	if err != nil {
		return err
	}
	if !since.IsZero() && !until.IsZero() && !until.After(since) {
		return invalid("until", "%s is not after since (%s)", until.Format(time.RFC3339), since.Format(time.RFC3339))
	}
	action := strings.TrimSpace(q.Get("action"))
	if action != "" && !auditActionPrefix.MatchString(action) {
		return invalid("action", "%q: an action (recording.play) or a prefix (recording or recording.), lower-case words and dots", action)
	}
	f := customers.AuditFilter{Action: action, Object: q.Get("object"), Actor: q.Get("actor"), From: strings.TrimSpace(q.Get("from")),
		Since: since, Until: until}
	list, next, err := s.store.ListAudit(r.Context(), f, pg)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, listOf(list, next, auditView))
	return nil
}

func (s *Server) handleRecordings(w http.ResponseWriter, r *http.Request, p *principal) error {
	pg, err := page(r)
	if err != nil {
		return err
	}
	kind, err := queryOneOf(r, "kind", "voicemail", "call")
	if err != nil {
		return err
	}
	q := r.URL.Query()
	list, next, err := s.store.ListRecordings(r.Context(), customers.RecordingFilter{ContactID: q.Get("contact"),
		CustomerID: q.Get("customer"), CallID: q.Get("call"), Kind: kind}, pg)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, listOf(list, next, func(ri customers.RecordingInfo) RecordingView { return *recordingView(&ri) }))
	return nil
}

// auditedPlay says whether a GET of a recording is the start of a play or download, which is
// audited, rather than the continuation of one: a request without a Range header, or whose
// range starts at byte 0. A player seeking, or fetching the rest, sends ranges further on;
// HEAD requests are never audited.
func auditedPlay(r *http.Request) bool {
	if r.Method != http.MethodGet {
		return false
	}
	rg := strings.TrimSpace(r.Header.Get("Range"))
	if rg == "" {
		return true
	}
	spec, ok := strings.CutPrefix(rg, "bytes=")
	if !ok {
		return true // not a range ServeContent honours: the whole file is sent
	}
	for _, part := range strings.Split(spec, ",") {
		if strings.HasPrefix(strings.TrimSpace(part), "0-") {
			return true
		}
	}
	return false
}
