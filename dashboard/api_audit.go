package dashboard

import (
	"net/http"
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
	Detail map[string]any `json:"detail"`
}

func auditView(a customers.AuditEntry) AuditView {
	d := a.Detail
	if d == nil {
		d = map[string]any{}
	}
	return AuditView{ID: a.ID, At: a.At, Actor: a.Actor, Role: a.Role, Action: a.Action, Object: a.Object, Detail: d}
}

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
	f := customers.AuditFilter{Action: strings.TrimSpace(q.Get("action")), Object: q.Get("object"), Actor: q.Get("actor"), Since: since}
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
