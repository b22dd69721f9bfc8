package dashboard

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hotline-cc/hotline/customers"
	"github.com/hotline-cc/hotline/recordings"
)

func (s *Server) handleCustomers(w http.ResponseWriter, r *http.Request, p *principal) error {
	q := r.URL.Query()
	pg, err := page(r)
	if err != nil {
		return err
	}
	set := 0
	for _, k := range []string{"number", "account", "email", "name"} {
		if q.Get(k) != "" {
			set++
		}
	}
	if set != 1 {
		return invalid("number", "give exactly one of number, account, email or name")
	}
	var c *customers.Customer
	ctx := r.Context()
	switch {
	case q.Get("name") != "":
		list, next, err := s.store.SearchCustomers(ctx, q.Get("name"), pg)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, listOf(list, next, customerView))
		return nil
	case q.Get("number") != "":
		c, err = s.store.ByNumber(ctx, q.Get("number"))
	case q.Get("account") != "":
		c, err = s.store.ByAccount(ctx, q.Get("account"))
	default:
		c, err = s.store.ByEmail(ctx, q.Get("email"))
	}
	if err != nil {
		return err
	}
	out := List[CustomerView]{Items: []CustomerView{}}
	if c != nil {
		out.Items = append(out.Items, customerView(*c))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// checkCustomer: an agent may see a customer on a call offered to it or connected with it,
// or who has a ticket assigned to it.
func (s *Server) checkCustomer(ctx context.Context, p *principal, id string) error {
	if p.Role != RoleAgent {
		return nil
	}
	for _, c := range s.live.Calls() {
		if c.Agent == p.Agent && c.CustomerID == id {
			return nil
		}
	}
	list, _, err := s.store.ListTickets(ctx, customers.TicketFilter{CustomerID: id, Assignee: p.Agent}, customers.Page{Limit: 1})
	if err != nil {
		return err
	}
	if len(list) == 0 {
		return forbidden("an agent token sees only the customers of its tickets")
	}
	return nil
}

func (s *Server) handleCustomer(w http.ResponseWriter, r *http.Request, p *principal) error {
	id := r.PathValue("id")
	c, err := s.store.Customer(r.Context(), id)
	if err != nil {
		return err
	}
	if err := s.checkCustomer(r.Context(), p, c.ID); err != nil {
		return err
	}
	if c.ID != id { // merged away: say where it went
		w.Header().Set("Location", "/api/v1/customers/"+url.PathEscape(c.ID))
		writeError(w, &APIError{Status: http.StatusMovedPermanently, Code: "merged", Customer: c.ID,
			Message: "customer " + id + " was merged into " + c.ID})
		return nil
	}
	writeJSON(w, http.StatusOK, customerView(c))
	return nil
}

func (s *Server) handleTimeline(w http.ResponseWriter, r *http.Request, p *principal) error {
	pg, err := page(r)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	c, err := s.store.Customer(r.Context(), id)
	if err != nil {
		return err
	}
	if err := s.checkCustomer(r.Context(), p, c.ID); err != nil {
		return err
	}
	entries, err := s.store.Timeline(r.Context(), c.ID)
	if err != nil {
		return err
	}
	views := make([]TimelineEntryView, 0, len(entries))
	for _, e := range entries {
		v := timelineView(e)
		if v.Recording != nil && p.Role != RoleSupervisor { // call recordings play for supervisors only
			v.Recording.URL, v.Recording.DownloadURL = "", ""
		}
		views = append(views, v)
	}
	l, err := pageOf(views, pg) // oldest first: new entries come at the end, so offsets stay valid
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, l)
	return nil
}

var missedOutcomes = []customers.Outcome{customers.OutcomeAbandoned, customers.OutcomeTimeout, customers.OutcomeNoAgent, customers.OutcomeAfterHours,
	customers.OutcomeAbandonedInIVR}

func (s *Server) handleContacts(w http.ResponseWriter, r *http.Request, p *principal) error {
	q := r.URL.Query()
	pg, err := page(r)
	if err != nil {
		return err
	}
	f := customers.ContactFilter{CustomerID: q.Get("customer"), Queue: q.Get("queue"), Agent: q.Get("agent")}
	if p.Role == RoleAgent { // the agent desktop's last contacts: an agent sees its own
		if f.Agent != "" && f.Agent != p.Agent {
			return forbidden("an agent token lists only its own contacts (agent=%s)", p.Agent)
		}
		f.Agent = p.Agent
	}
	ch, err := queryOneOf(r, "channel", "voice", "chat", "email", "sms")
	if err != nil {
		return err
	}
	f.Channel = customers.Channel(ch)
	outs, err := queryList(r, "outcome", outcomeNames...)
	if err != nil {
		return err
	}
	for _, o := range outs {
		f.Outcomes = append(f.Outcomes, customers.Outcome(o))
	}
	switch q.Get("missed") {
	case "", "false":
	case "true":
		if len(f.Outcomes) > 0 {
			return invalid("missed", "give either missed=true or outcome, not both")
		}
		f.Outcomes = missedOutcomes
	default:
		return invalid("missed", "%q: use true or false", q.Get("missed"))
	}
	if f.From, f.To, err = queryRange(r); err != nil {
		return err
	}
	list, next, err := s.store.ListContacts(r.Context(), f, pg)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, listOf(list, next, contactView))
	return nil
}

func (s *Server) handleContact(w http.ResponseWriter, r *http.Request, p *principal) error {
	c, err := s.store.Contact(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, contactView(c))
	return nil
}

// NewContactRequest is a contact another system (chat, e-mail, CRM) puts on a timeline.
type NewContactRequest struct {
	ID         string            `json:"id"`          // optional: your ID, so a retry cannot add it twice (409)
	CustomerID string            `json:"customer_id"` // the customer, or
	Address    string            `json:"address"`     // their number (voice, sms), e-mail address (any channel but voice) or chat handle network:handle (chat): found or created
	Channel    string            `json:"channel"`     // voice, chat, email or sms
	Direction  string            `json:"direction"`   // inbound (default) or outbound
	Dialed     string            `json:"dialed"`      // the address they reached
	Queue      string            `json:"queue"`
	Agent      string            `json:"agent"`
	Language   string            `json:"language"`
	StartedAt  *time.Time        `json:"started_at"` // default now
	EndedAt    *time.Time        `json:"ended_at"`
	Outcome    string            `json:"outcome"`
	Summary    string            `json:"summary"` // what it was about; kept as a "summary" event
	Events     []customers.Event `json:"events"`
	// Identities are more ways the other system knows the customer (e-mail, account, CRM ID,
	// chat handle, phone): the contact goes to the customer any of them (or the address)
	// belongs to, and those nobody has yet are linked to that customer. Two of them belonging
	// to different customers is 409 identity_taken naming one: merge them, or give customer_id.
	Identities []IdentityRequest `json:"identities"`
}

var contactIDRE = regexp.MustCompile(`^[A-Za-z0-9._-]{1,100}$`)

func (s *Server) handleAddContact(w http.ResponseWriter, r *http.Request, p *principal) error {
	var req NewContactRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	c := customers.Contact{ID: req.ID, CustomerID: req.CustomerID, Address: strings.TrimSpace(req.Address), Dialed: req.Dialed,
		Queue: req.Queue, Agent: req.Agent, Language: req.Language, Events: req.Events}
	if req.ID != "" && !contactIDRE.MatchString(req.ID) {
		return invalid("id", "use up to 100 letters, digits, '.', '_' and '-'")
	}
	if c.CustomerID == "" && c.Address == "" && len(req.Identities) == 0 {
		return invalid("customer_id", "give the customer_id, or the address (number or e-mail) or identities that identify the customer")
	}
	if len(req.Identities) > 20 {
		return invalid("identities", "at most 20")
	}
	var idents []customers.Identity
	for i, in := range req.Identities {
		f := "identities[" + strconv.Itoa(i) + "]"
		ident, err := s.identityOf(in.Kind, in.Value, f+".kind", f+".value")
		if err != nil {
			return err
		}
		idents = append(idents, ident)
	}
	switch req.Channel {
	case "voice", "chat", "email", "sms":
		c.Channel = customers.Channel(req.Channel)
	case "":
		return invalid("channel", "required: voice, chat, email or sms")
	default:
		return invalid("channel", "%q: use voice, chat, email or sms", req.Channel)
	}
	switch req.Direction {
	case "", "inbound":
		c.Direction = customers.Inbound
	case "outbound":
		c.Direction = customers.Outbound
	default:
		return invalid("direction", "%q: use inbound or outbound", req.Direction)
	}
	if req.Outcome != "" && !slices.Contains(outcomeNames, req.Outcome) {
		return invalid("outcome", "%q: use one of %s", req.Outcome, joinComma(outcomeNames))
	}
	c.Outcome = customers.Outcome(req.Outcome)
	if c.Channel == customers.ChannelEmail && c.Address != "" && !strings.Contains(c.Address, "@") {
		return invalid("address", "%q is not an e-mail address", c.Address)
	}
	if req.StartedAt != nil {
		c.StartedAt = *req.StartedAt
	}
	if req.EndedAt != nil {
		if req.StartedAt != nil && req.EndedAt.Before(*req.StartedAt) {
			return invalid("ended_at", "is before started_at")
		}
		c.EndedAt = *req.EndedAt
	}
	if utf8.RuneCountInString(req.Summary) > 10000 {
		return invalid("summary", "at most 10000 characters")
	}
	if len(req.Events) > 1000 {
		return invalid("events", "at most 1000 events")
	}
	at := c.StartedAt
	if at.IsZero() {
		at = s.now()
	}
	for i := range c.Events {
		if c.Events[i].At.IsZero() {
			c.Events[i].At = at
		}
	}
	if req.Summary != "" {
		c.Events = append(c.Events, customers.Event{At: at, Type: "summary", Data: map[string]any{"text": req.Summary, "by": p.author()}})
	}
	if c.ID != "" {
		if _, err := s.store.Contact(r.Context(), c.ID); err == nil {
			return apiErr(http.StatusConflict, "conflict", "id", "a contact with this ID exists already")
		}
	}
	if c.CustomerID == "" && len(idents) > 0 {
		if c.Address != "" {
			if ident, err := s.store.AddressIdentity(c.Address, c.Channel); err == nil {
				idents = append([]customers.Identity{ident}, idents...)
			}
		}
		cust, _, err := s.store.IdentitiesCustomer(r.Context(), idents)
		if err != nil {
			return err
		}
		c.CustomerID = cust.ID
	}
	out, err := s.store.AddContact(r.Context(), c)
	if err != nil {
		return err
	}
	s.auditOversight(r, p, "contact.create", out.ID, map[string]any{"channel": string(out.Channel), "customer": out.CustomerID})
	w.Header().Set("Location", "/api/v1/contacts/"+out.ID)
	writeJSON(w, http.StatusCreated, contactView(out))
	return nil
}

var ticketStatuses = []string{"open", "pending", "solved"}

func (s *Server) handleTickets(w http.ResponseWriter, r *http.Request, p *principal) error {
	q := r.URL.Query()
	pg, err := page(r)
	if err != nil {
		return err
	}
	f := customers.TicketFilter{CustomerID: q.Get("customer"), Queue: q.Get("queue"), Assignee: q.Get("assignee")}
	if p.Role == RoleAgent {
		if f.Assignee != "" && f.Assignee != p.Agent {
			return forbidden("an agent token sees only the tickets assigned to it (%s)", p.Agent)
		}
		f.Assignee = p.Agent
	}
	kind, err := queryOneOf(r, "kind", "voicemail", "callback_failed", "missed", "manual")
	if err != nil {
		return err
	}
	f.Kind = customers.TicketKind(kind)
	sts, err := queryList(r, "status", ticketStatuses...)
	if err != nil {
		return err
	}
	for _, st := range sts {
		f.Statuses = append(f.Statuses, customers.TicketStatus(st))
	}
	if f.From, f.To, err = queryRange(r); err != nil {
		return err
	}
	list, next, err := s.store.ListTickets(r.Context(), f, pg)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, listOf(list, next, ticketView))
	return nil
}

// NewTicketRequest opens a ticket.
type NewTicketRequest struct {
	Subject    string `json:"subject"`
	CustomerID string `json:"customer_id"`
	ContactID  string `json:"contact_id"`
	Queue      string `json:"queue"`
	Kind       string `json:"kind"`     // manual (default) or missed
	Priority   string `json:"priority"` // low, normal (default), high, urgent
	Assignee   string `json:"assignee"`
	Note       string `json:"note"` // a first note
}

var priorities = []string{"low", "normal", "high", "urgent"}

func (s *Server) handleCreateTicket(w http.ResponseWriter, r *http.Request, p *principal) error {
	var req NewTicketRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if strings.TrimSpace(req.Subject) == "" {
		return invalid("subject", "required")
	}
	if utf8.RuneCountInString(req.Subject) > 500 {
		return invalid("subject", "at most 500 characters")
	}
	switch req.Kind {
	case "", "manual", "missed":
	default:
		return invalid("kind", "%q: use manual or missed (voicemail and callback_failed tickets are opened by hotline)", req.Kind)
	}
	if req.Priority != "" && !slices.Contains(priorities, req.Priority) {
		return invalid("priority", "%q: use low, normal, high or urgent", req.Priority)
	}
	if req.ContactID != "" {
		if _, err := s.store.Contact(r.Context(), req.ContactID); errors.Is(err, customers.ErrNotFound) {
			return invalid("contact_id", "no contact %s", req.ContactID)
		}
	}
	if req.CustomerID != "" {
		if _, err := s.store.Customer(r.Context(), req.CustomerID); errors.Is(err, customers.ErrNotFound) {
			return invalid("customer_id", "no customer %s", req.CustomerID)
		}
	}
	t, err := s.store.CreateTicket(r.Context(), customers.NewTicket{Kind: customers.TicketKind(req.Kind), CustomerID: req.CustomerID,
		ContactID: req.ContactID, Queue: req.Queue, Subject: req.Subject, Priority: customers.TicketPriority(req.Priority),
		Assignee: req.Assignee, Note: req.Note, Author: p.author()})
	if err != nil {
		return err
	}
	s.auditOversight(r, p, "ticket.create", t.ID, map[string]any{"kind": string(t.Kind), "queue": t.Queue, "assignee": t.Assignee})
	w.Header().Set("Location", "/api/v1/tickets/"+t.ID)
	writeJSON(w, http.StatusCreated, ticketView(t))
	return nil
}

// ticketFor loads a ticket a principal may work on: an agent only its own.
func (s *Server) ticketFor(ctx context.Context, p *principal, id string) (customers.Ticket, error) {
	t, err := s.store.Ticket(ctx, id)
	if err != nil {
		return t, err
	}
	if p.Role == RoleAgent && t.Assignee != p.Agent {
		return t, forbidden("ticket %s is not assigned to %s", t.Number, p.Agent)
	}
	return t, nil
}

func (s *Server) handleTicket(w http.ResponseWriter, r *http.Request, p *principal) error {
	t, err := s.ticketFor(r.Context(), p, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ticketView(t))
	return nil
}

// TicketPatch changes the fields that are present.
type TicketPatch struct {
	Status   *string `json:"status"`   // open, pending, solved
	Assignee *string `json:"assignee"` // an agent ID; "" unassigns (not for agent tokens)
	Priority *string `json:"priority"`
	Subject  *string `json:"subject"`
}

func (s *Server) handleUpdateTicket(w http.ResponseWriter, r *http.Request, p *principal) error {
	var req TicketPatch
	if err := decode(r, &req); err != nil {
		return err
	}
	if req.Status == nil && req.Assignee == nil && req.Priority == nil && req.Subject == nil {
		return invalid("body", "nothing to change: give status, assignee, priority or subject")
	}
	if req.Status != nil && !slices.Contains(ticketStatuses, *req.Status) {
		return invalid("status", "%q: use open, pending or solved", *req.Status)
	}
	if req.Priority != nil && !slices.Contains(priorities, *req.Priority) {
		return invalid("priority", "%q: use low, normal, high or urgent", *req.Priority)
	}
	if req.Subject != nil && strings.TrimSpace(*req.Subject) == "" {
		return invalid("subject", "must not be empty")
	}
	if req.Assignee != nil && *req.Assignee != "" {
		if _, ok := s.members[*req.Assignee]; !ok && len(s.members) > 0 {
			return invalid("assignee", "no agent with ID %q", *req.Assignee)
		}
	}
	t, err := s.ticketFor(r.Context(), p, r.PathValue("id"))
	if err != nil {
		return err
	}
	if p.Role == RoleAgent && req.Assignee != nil && *req.Assignee != p.Agent {
		return forbidden("an agent token cannot reassign tickets")
	}
	u := customers.TicketUpdate{Subject: req.Subject, Assignee: req.Assignee}
	if req.Status != nil {
		st := customers.TicketStatus(*req.Status)
		u.Status = &st
	}
	if req.Priority != nil {
		pr := customers.TicketPriority(*req.Priority)
		u.Priority = &pr
	}
	t, err = s.store.UpdateTicket(r.Context(), t.ID, u)
	if err != nil {
		return err
	}
	s.auditOversight(r, p, "ticket.update", t.ID, ticketPatchDetail(req))
	writeJSON(w, http.StatusOK, ticketView(t))
	return nil
}

// NoteRequest adds a note.
type NoteRequest struct {
	Body string `json:"body"`
}

func (s *Server) handleAddNote(w http.ResponseWriter, r *http.Request, p *principal) error {
	var req NoteRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if strings.TrimSpace(req.Body) == "" {
		return invalid("body", "required: the note's text")
	}
	if utf8.RuneCountInString(req.Body) > 10000 {
		return invalid("body", "at most 10000 characters")
	}
	t, err := s.ticketFor(r.Context(), p, r.PathValue("id"))
	if err != nil {
		return err
	}
	n, err := s.store.AddTicketNote(r.Context(), t.ID, p.author(), req.Body)
	if err != nil {
		return err
	}
	s.auditOversight(r, p, "ticket.note", t.ID, map[string]any{"note": n.ID})
	writeJSON(w, http.StatusCreated, NoteView{n.ID, n.Author, n.Body, n.CreatedAt})
	return nil
}

var callbackStatuses = []string{"pending", "dialing", "completed", "failed", "cancelled"}

func (s *Server) handleCallbacks(w http.ResponseWriter, r *http.Request, p *principal) error {
	q := r.URL.Query()
	pg, err := page(r)
	if err != nil {
		return err
	}
	f := customers.CallbackFilter{CustomerID: q.Get("customer"), Queue: q.Get("queue")}
	if p.Role == RoleAgent && f.Queue != "" && !p.mayQueue(s.members, f.Queue) {
		return forbidden("queue %s is not one of %s's queues", f.Queue, p.Agent)
	}
	sts, err := queryList(r, "status", callbackStatuses...)
	if err != nil {
		return err
	}
	for _, st := range sts {
		f.Statuses = append(f.Statuses, customers.CallbackStatus(st))
	}
	if f.From, f.To, err = queryRange(r); err != nil {
		return err
	}
	list, next, err := s.store.ListCallbacks(r.Context(), f, pg)
	if err != nil {
		return err
	}
	if p.Role == RoleAgent {
		list = slices.DeleteFunc(list, func(c customers.Callback) bool { return !p.mayQueue(s.members, c.Queue) })
	}
	writeJSON(w, http.StatusOK, listOf(list, next, callbackView))
	return nil
}

func (s *Server) callbackFor(ctx context.Context, p *principal, id string) (customers.Callback, error) {
	c, err := s.store.Callback(ctx, id)
	if err != nil {
		return c, err
	}
	if !p.mayQueue(s.members, c.Queue) {
		return c, forbidden("callback %s is for queue %s, not one of %s's queues", id, c.Queue, p.Agent)
	}
	return c, nil
}

func (s *Server) handleCallback(w http.ResponseWriter, r *http.Request, p *principal) error {
	c, err := s.callbackFor(r.Context(), p, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, callbackView(c))
	return nil
}

// CallbackNotifier is implemented by a Live that wants to hear of callbacks cancelled or
// rescheduled through the API (to withdraw one the ACD holds, say).
type CallbackNotifier interface {
	CallbackChanged(ctx context.Context, cb customers.Callback)
}

// CancelRequest cancels a callback.
type CancelRequest struct {
	Reason string `json:"reason"` // why (kept as the callback's last result)
}

func (s *Server) handleCancelCallback(w http.ResponseWriter, r *http.Request, p *principal) error {
	var req CancelRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if utf8.RuneCountInString(req.Reason) > 200 {
		return invalid("reason", "at most 200 characters")
	}
	c, err := s.callbackFor(r.Context(), p, r.PathValue("id"))
	if err != nil {
		return err
	}
	why := "cancelled by " + p.author()
	if req.Reason != "" {
		why += ": " + req.Reason
	}
	if err := s.store.CancelCallback(r.Context(), c.ID, why); err != nil {
		return err
	}
	s.auditOversight(r, p, "callback.cancel", c.ID, map[string]any{"queue": c.Queue, "reason": req.Reason})
	return s.callbackChanged(w, r, c.ID)
}

func (s *Server) callbackChanged(w http.ResponseWriter, r *http.Request, id string) error {
	c, err := s.store.Callback(r.Context(), id)
	if err != nil {
		return err
	}
	if n, ok := s.live.(CallbackNotifier); ok {
		n.CallbackChanged(r.Context(), c)
	}
	writeJSON(w, http.StatusOK, callbackView(c))
	return nil
}

// RescheduleRequest moves a callback.
type RescheduleRequest struct {
	Slot *time.Time `json:"slot"` // RFC 3339; inside the queue's opening hours, not in the past
}

func (s *Server) handleRescheduleCallback(w http.ResponseWriter, r *http.Request, p *principal) error {
	var req RescheduleRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if req.Slot == nil || req.Slot.IsZero() {
		return invalid("slot", "required: the time to call back (RFC 3339)")
	}
	c, err := s.callbackFor(r.Context(), p, r.PathValue("id"))
	if err != nil {
		return err
	}
	if c.Status != customers.CallbackPending {
		return apiErr(http.StatusConflict, "conflict", "", "callback %s is %s; only a pending callback can be rescheduled", c.ID, c.Status)
	}
	// Booking again for the same customer and queue updates the waiting callback (keeping its
	// place and priority); the store checks the slot against the opening hours.
	_, err = s.store.RequestCallback(r.Context(), customers.CallbackRequest{CustomerID: c.CustomerID, Number: c.Number, Caller: c.Number,
		Queue: c.Queue, Source: customers.FromSchedule, ContactID: c.ContactID, ArrivedAt: c.ArrivedAt, Priority: c.Priority,
		Language: c.Language, Slot: *req.Slot})
	if err != nil {
		var ref *customers.Refusal
		if errors.As(err, &ref) && (ref.Code == customers.RefusedOutsideHours || ref.Code == customers.RefusedPastSlot) {
			return apiErr(http.StatusUnprocessableEntity, "refused_"+string(ref.Code), "slot", "%s", ref.Reason)
		}
		return err
	}
	s.auditOversight(r, p, "callback.reschedule", c.ID, map[string]any{"queue": c.Queue, "slot": req.Slot.UTC().Format(time.RFC3339)})
	return s.callbackChanged(w, r, c.ID)
}

func (s *Server) handleRecording(w http.ResponseWriter, r *http.Request, p *principal) error {
	id := r.PathValue("id")
	if _, err := recordings.ParseID(id); err != nil {
		return notFound("no recording %q", id)
	}
	info, err := s.store.Recording(r.Context(), id)
	if err != nil {
		return err
	}
	switch {
	case info.Kind == "call" && p.Role != RoleSupervisor:
		return forbidden("call recordings are for supervisors only; a %s token may not play or download recording %s", p.Role, id)
	case p.Role == RoleIntegration && info.Kind != "voicemail":
		return forbidden("an integration token may download voicemails, not call recordings")
	case p.Role == RoleAgent:
		ok := false
		if info.CustomerID != "" {
			list, _, err := s.store.ListTickets(r.Context(), customers.TicketFilter{CustomerID: info.CustomerID, Assignee: p.Agent}, customers.Page{Limit: maxLimit})
			if err != nil {
				return err
			}
			ok = slices.ContainsFunc(list, func(t customers.Ticket) bool { return t.Recording != nil && t.Recording.ID == id })
		}
		if !ok {
			return forbidden("an agent token may play only the recordings of its tickets")
		}
	}
	download := false
	switch v := r.URL.Query().Get("download"); v {
	case "", "0", "false":
	case "1", "true":
		download = true
	default:
		return invalid("download", "%q: use 1 to download the file, or leave it out to play it", v)
	}
	if !info.DeletedAt.IsZero() {
		return apiErr(http.StatusGone, "gone", "", "recording %s was deleted (%s) on %s", id, info.DeletedWhy, info.DeletedAt.Format(time.RFC3339))
	}
	f, err := s.store.Recordings().Open(id)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if auditedPlay(r) {
		action := customers.AuditRecordingPlay
		if download {
			action = customers.AuditRecordingDownload
		}
		d := map[string]any{"kind": info.Kind}
		if p.Name != "" {
			d["name"] = p.Name
		}
		if p.Agent != "" {
			d["agent"] = p.Agent
		}
		if rg := r.Header.Get("Range"); rg != "" {
			d["range"] = rg
		}
		// Not recorded, not served: whoever reads a recording is on the audit trail.
		if err := s.writeAudit(r, p, action, id, d); err != nil {
			return apiErr(http.StatusServiceUnavailable, "unavailable", "", "recording %s cannot be served now: its access could not be recorded in the audit trail", id)
		}
	}
	disp := "inline"
	if download {
		disp = "attachment"
	}
	w.Header().Set("Content-Type", "audio/wav")
	w.Header().Set("Cache-Control", "private, no-store")
	w.Header().Set("Content-Disposition", disp+`; filename="`+id+`.wav"`)
	http.ServeContent(w, r, id+".wav", st.ModTime(), f)
	return nil
}
