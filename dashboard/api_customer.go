package dashboard

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hotline-cc/hotline/customers"
)

// Customer data rights: identities, edits, merges, erasure and export. Every change and every
// export is written to the audit trail (customer.*) without the personal data itself.

func (s *Server) customerRoutes() []route {
	return []route{
		{Method: "PATCH", Path: "/api/v1/customers/{id}", Summary: "Edit a customer's name, language, tier or VIP flag", Roles: supInteg,
			Body: &CustomerPatch{}, Resp: CustomerView{}, Desc: "Only the fields present change. Audited as customer.update (which fields, not their values). " +
				"409 when the customer was erased.", Errors: map[int]string{422: "a field's value is not accepted (error.field names it)"},
			handle: s.handleUpdateCustomer},
		{Method: "POST", Path: "/api/v1/customers/{id}/identities", Summary: "Add an identity (phone, email, account, crm, chat) to a customer", Roles: supInteg,
			Body: &IdentityRequest{}, Resp: CustomerView{}, Status: http.StatusCreated,
			Desc: "The value is normalized (numbers to E.164 in the store's region, e-mail lower-cased, accounts upper-cased). Adding one the customer " +
				"has already is 201 all the same. 409 identity_taken when another customer has it: error.customer names that customer " +
				"(merge the two if they are one person). Audited as customer.identity.add (the kind, not the value).",
			Errors: map[int]string{422: "the value cannot be read as that kind (field value)"}, handle: s.handleAddIdentity},
		{Method: "DELETE", Path: "/api/v1/customers/{id}/identities/{kind}/{value}", Summary: "Remove an identity from a customer", Roles: supInteg,
			Resp: CustomerView{}, Desc: "value is the identity as stored or as typed (URL-escaped: + is %2B, @ is %40). 404 when the customer does not have it. " +
				"Audited as customer.identity.remove.", handle: s.handleRemoveIdentity},
		{Method: "POST", Path: "/api/v1/customers/{id}/merge", Summary: "Merge another customer (from) into this one: everything of theirs follows", Roles: sup,
			Body: &MergeRequest{}, Resp: MergeResult{},
			Desc: "Identities, contacts, tickets (with notes), callbacks, recordings, dispositions and surveys of from move to this customer; blank " +
				"details are filled from from's. The merge is an entry (kind merge) on the survivor's timeline saying from which customer, how many " +
				"rows of each kind moved and their IDs. GET on from's ID then answers 301 with Location the survivor. When both wait for a callback from the same " +
				"queue the earlier arrival is kept. 400 when from is this customer (or already merged into it); 409 when either was erased. " +
				"Audited as customer.merge.", handle: s.handleMerge},
		{Method: "DELETE", Path: "/api/v1/customers/{id}", Summary: "Erase a customer's personal data (right to be forgotten)", Roles: sup,
			Resp: CustomerView{},
			Desc: "Removes identities, name, contact addresses and events (IVR variables, summaries), callback numbers (waiting callbacks are cancelled), " +
				"ticket subjects and notes, wrap-up notes, webhook payload copies, recordings (voicemails and conversations; rows marked, files deleted). " +
				"Contacts stay as anonymous rows (queue, outcome, durations) so reports still add up. Erasing twice is harmless. " +
				"Audited as customer.erase; a customer.erased webhook tells the helpdesk.",
			Errors: map[int]string{503: "erase_incomplete: the records are erased but a file (recording, rendered prompt, SQLite log) could not be removed yet; DELETE again to finish"},
			handle: s.handleErase},
		{Method: "GET", Path: "/api/v1/customers/{id}/export", Summary: "Everything hotline holds on a customer, for an access request", Roles: sup,
			Resp: ExportView{},
			Desc: "The record with its identities, the timeline (contacts with events, tickets, callbacks, recordings, dispositions, merges), tickets with " +
				"their notes, recordings, survey answers and the audit entries about the customer. Audited as customer.export before it is sent; " +
				"503 when the audit entry cannot be written (nothing is sent then). The same JSON as `hotline customer export ID`.",
			handle: s.handleExport},
	}
}

// CustomerPatch changes the fields that are present.
type CustomerPatch struct {
	Name     *string `json:"name"`
	Language *string `json:"language"` // a BCP 47 tag such as zh or en-GB; "" clears it
	Tier     *string `json:"tier"`
	VIP      *bool   `json:"vip"`
}

// IdentityRequest is an identity to add.
type IdentityRequest struct {
	Kind  string `json:"kind"`  // phone, email, account, crm, chat (or sip)
	Value string `json:"value"` // as typed: +86 138 0013 8000, Wang@Example.com, wechat:wxid_abc
}

// MergeRequest names the customer to merge into the one of the path.
type MergeRequest struct {
	From string `json:"from"` // the customer merged away
}

// MergeResult is the survivor and the record of the merge.
type MergeResult struct {
	Customer CustomerView `json:"customer"`
	Merge    MergeView    `json:"merge"`
}

// MergeView is one merge: which record went into which, by whom, and what moved.
type MergeView struct {
	ID         string              `json:"id"`
	SurvivorID string              `json:"survivor_id"`
	MergedID   string              `json:"merged_id"`
	Actor      string              `json:"actor"`
	Moved      map[string]int64    `json:"moved"`      // rows per kind: identities, contacts, tickets, callbacks, recordings, surveys, dispositions ...
	MovedIDs   map[string][]string `json:"moved_ids"`  // the IDs of the rows that moved, per kind (identities: below)
	Identities []IdentityView      `json:"identities"` // those that came with the merged record (blanked by an erasure)
	Name       string              `json:"name,omitempty"`
	At         time.Time           `json:"at"`
}

func mergeView(m customers.MergeRecord) MergeView {
	v := MergeView{ID: m.ID, SurvivorID: m.SurvivorID, MergedID: m.MergedID, Actor: m.Actor, Moved: m.Moved, MovedIDs: m.MovedIDs,
		Name: m.Name, At: m.At, Identities: []IdentityView{}}
	if v.Moved == nil {
		v.Moved = map[string]int64{}
	}
	if v.MovedIDs == nil {
		v.MovedIDs = map[string][]string{}
	}
	for _, id := range m.Identities {
		v.Identities = append(v.Identities, IdentityView{string(id.Kind), id.Value})
	}
	return v
}

// ExportView is everything hotline holds on a customer (GET .../export, hotline customer export).
type ExportView struct {
	Customer   CustomerView        `json:"customer"`
	Timeline   []TimelineEntryView `json:"timeline"`
	Tickets    []TicketView        `json:"tickets"` // with their notes
	Recordings []RecordingView     `json:"recordings"`
	Surveys    []SurveyView        `json:"surveys"`
	Audit      []AuditView         `json:"audit"`
	ExportedAt time.Time           `json:"exported_at"`
}

// SurveyView is one survey answer.
type SurveyView struct {
	ID        string    `json:"id"`
	Survey    string    `json:"survey"`
	CallID    string    `json:"call_id,omitempty"`
	ContactID string    `json:"contact_id,omitempty"`
	Queue     string    `json:"queue,omitempty"`
	Agent     string    `json:"agent,omitempty"`
	Score     int       `json:"score"`
	Language  string    `json:"language,omitempty"`
	At        time.Time `json:"at"`
}

// NewExportView is the JSON of an export; the command line writes the same.
func NewExportView(x customers.Export) ExportView {
	v := ExportView{Customer: customerView(x.Customer), Timeline: []TimelineEntryView{}, Tickets: []TicketView{}, Recordings: []RecordingView{},
		Surveys: []SurveyView{}, Audit: []AuditView{}, ExportedAt: x.At}
	for _, e := range x.Timeline {
		v.Timeline = append(v.Timeline, timelineView(e))
	}
	for _, t := range x.Tickets {
		v.Tickets = append(v.Tickets, ticketView(t))
	}
	for i := range x.Recordings {
		v.Recordings = append(v.Recordings, *recordingView(&x.Recordings[i]))
	}
	for _, sv := range x.Surveys {
		v.Surveys = append(v.Surveys, SurveyView{ID: sv.ID, Survey: sv.Name, CallID: sv.CallID, ContactID: sv.ContactID, Queue: sv.Queue,
			Agent: sv.Agent, Score: sv.Score, Language: sv.Language, At: sv.At})
	}
	for _, a := range x.Audit {
		v.Audit = append(v.Audit, auditView(a))
	}
	return v
}

// audit writes a customer.* entry; a failure is logged (the change is made already).
func (s *Server) auditCustomer(r *http.Request, p *principal, action, id string, detail map[string]any) error {
	if detail == nil {
		detail = map[string]any{}
	}
	detail["via"] = "api"
	if p.Name != "" {
		detail["by"] = p.Name
	}
	return s.writeAudit(r, p, action, id, detail)
}

// customerFor loads the customer of the path for a change: unknown is 404, and a record
// merged away is 409 naming the survivor (a change must name the record it changes).
func (s *Server) customerFor(ctx context.Context, id string) (customers.Customer, error) {
	c, err := s.store.Customer(ctx, id)
	if err != nil {
		return c, err
	}
	if c.ID != id {
		return c, &APIError{Status: http.StatusConflict, Code: "merged", Customer: c.ID,
			Message: "customer " + id + " was merged into " + c.ID + "; use " + c.ID}
	}
	return c, nil
}

func (s *Server) handleUpdateCustomer(w http.ResponseWriter, r *http.Request, p *principal) error {
	var req CustomerPatch
	if err := decode(r, &req); err != nil {
		return err
	}
	var fields []string
	if req.Name != nil {
		n := strings.TrimSpace(*req.Name)
		if utf8.RuneCountInString(n) > 200 || strings.ContainsAny(n, "\r\n\x00") {
			return apiErr(http.StatusUnprocessableEntity, "invalid", "name", "at most 200 characters on one line")
		}
		req.Name = &n
		fields = append(fields, "name")
	}
	if req.Language != nil {
		if *req.Language != "" && !languageRE.MatchString(*req.Language) {
			return apiErr(http.StatusUnprocessableEntity, "invalid", "language", "%q: use a language tag such as zh, en or en-GB", *req.Language)
		}
		fields = append(fields, "language")
	}
	if req.Tier != nil {
		if utf8.RuneCountInString(*req.Tier) > 50 {
			return apiErr(http.StatusUnprocessableEntity, "invalid", "tier", "at most 50 characters")
		}
		fields = append(fields, "tier")
	}
	if req.VIP != nil {
		fields = append(fields, "vip")
	}
	if len(fields) == 0 {
		return invalid("body", "nothing to change: give name, language, tier or vip")
	}
	c, err := s.customerFor(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	c, err = s.store.UpdateCustomer(r.Context(), c.ID, customers.CustomerUpdate{Name: req.Name, Language: req.Language, Tier: req.Tier, VIP: req.VIP})
	if err != nil {
		return err
	}
	s.auditCustomer(r, p, customers.AuditCustomerUpdate, c.ID, map[string]any{"fields": fields})
	writeJSON(w, http.StatusOK, customerView(c))
	return nil
}

var languageRE = regexp.MustCompile(`^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$`)

var identityKinds = []string{"phone", "email", "account", "crm", "chat", "sip"}

// identityOf reads and normalizes an identity of a body or path; field names the place.
func (s *Server) identityOf(kind, value, kindField, valueField string) (customers.Identity, error) {
	switch {
	case kind == "":
		return customers.Identity{}, invalid(kindField, "required: one of %s", joinComma(identityKinds))
	case !slices.Contains(identityKinds, kind):
		return customers.Identity{}, invalid(kindField, "%q: use one of %s", kind, joinComma(identityKinds))
	case strings.TrimSpace(value) == "":
		return customers.Identity{}, invalid(valueField, "required: the %s", kind)
	}
	id, err := customers.NewIdentity(customers.IdentityKind(kind), value, s.store.Region())
	if errors.Is(err, customers.ErrInvalidIdentity) || errors.Is(err, customers.ErrWithheld) {
		msg := strings.TrimPrefix(strings.TrimPrefix(err.Error(), customers.ErrInvalidIdentity.Error()+": "), "customers: ")
		return customers.Identity{}, apiErr(http.StatusUnprocessableEntity, "invalid_identity", valueField, "%s", msg)
	}
	return id, err
}

func (s *Server) handleAddIdentity(w http.ResponseWriter, r *http.Request, p *principal) error {
	var req IdentityRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	ident, err := s.identityOf(req.Kind, req.Value, "kind", "value")
	if err != nil {
		return err
	}
	c, err := s.customerFor(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	had := slices.Contains(c.Identities, ident)
	if err := s.store.Link(r.Context(), c.ID, ident); err != nil {
		return err
	}
	if !had {
		s.auditCustomer(r, p, customers.AuditCustomerIdentityAdd, c.ID, map[string]any{"kind": string(ident.Kind)})
	}
	if c, err = s.store.Customer(r.Context(), c.ID); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, customerView(c))
	return nil
}

func (s *Server) handleRemoveIdentity(w http.ResponseWriter, r *http.Request, p *principal) error {
	ident, err := s.identityOf(r.PathValue("kind"), r.PathValue("value"), "kind", "value")
	if err != nil {
		return err
	}
	c, err := s.customerFor(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	if !slices.Contains(c.Identities, ident) {
		return notFound("customer %s has no %s identity like that", c.ID, ident.Kind)
	}
	if err := s.store.Unlink(r.Context(), c.ID, ident); err != nil {
		return err
	}
	s.auditCustomer(r, p, customers.AuditCustomerIdentityRemove, c.ID, map[string]any{"kind": string(ident.Kind)})
	if c, err = s.store.Customer(r.Context(), c.ID); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, customerView(c))
	return nil
}

func (s *Server) handleMerge(w http.ResponseWriter, r *http.Request, p *principal) error {
	var req MergeRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if strings.TrimSpace(req.From) == "" {
		return invalid("from", "required: the ID of the customer to merge into %s", r.PathValue("id"))
	}
	keep, err := s.customerFor(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	gone, err := s.store.Customer(r.Context(), req.From)
	if errors.Is(err, customers.ErrNotFound) {
		return notFound("no customer %s (field from)", req.From)
	}
	if err != nil {
		return err
	}
	if gone.ID == keep.ID {
		return invalid("from", "%s is customer %s itself (or was merged into it already)", req.From, keep.ID)
	}
	c, m, err := s.store.MergeBy(r.Context(), keep.ID, gone.ID, p.TokenID)
	if err != nil {
		return err
	}
	s.auditCustomer(r, p, customers.AuditCustomerMerge, c.ID, map[string]any{"merged": gone.ID, "moved": m.Moved})
	writeJSON(w, http.StatusOK, MergeResult{Customer: customerView(c), Merge: mergeView(m)})
	return nil
}

func (s *Server) handleErase(w http.ResponseWriter, r *http.Request, p *principal) error {
	c, err := s.customerFor(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	err = s.store.Erase(r.Context(), c.ID)
	if errors.Is(err, customers.ErrEraseIncomplete) { // the records are erased: that is on the audit trail too
		s.log.Error("erase incomplete", "customer", c.ID, "err", err)
		s.auditCustomer(r, p, customers.AuditCustomerErase, c.ID, map[string]any{"merged_from": len(c.MergedFrom), "incomplete": true})
		return apiErr(http.StatusServiceUnavailable, "erase_incomplete", "", "customer %s is erased from the store, but some files could not be removed yet; send the DELETE again to finish", c.ID)
	}
	if err != nil {
		return err
	}
	s.auditCustomer(r, p, customers.AuditCustomerErase, c.ID, map[string]any{"merged_from": len(c.MergedFrom)})
	if c, err = s.store.Customer(r.Context(), c.ID); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, customerView(c))
	return nil
}

func (s *Server) handleExport(w http.ResponseWriter, r *http.Request, p *principal) error {
	x, err := s.store.Export(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	// Not recorded, not sent: whoever reads everything on a customer is on the audit trail.
	if err := s.auditCustomer(r, p, customers.AuditCustomerExport, x.Customer.ID, map[string]any{
		"entries": len(x.Timeline), "tickets": len(x.Tickets), "recordings": len(x.Recordings)}); err != nil {
		return apiErr(http.StatusServiceUnavailable, "unavailable", "", "the export cannot be sent now: it could not be recorded in the audit trail")
	}
	v := NewExportView(x)
	w.Header().Set("Content-Disposition", `attachment; filename="customer-`+url.PathEscape(x.Customer.ID)+`.json"`)
	writeJSON(w, http.StatusOK, v)
	return nil
}
