package dashboard

import (
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hotline-cc/hotline/customers"
)

// The missed-contact worklist: contacts nobody served become items that an agent takes
// and closes (called back, a ticket, no action) before their due time.

// WorkItemView is a work item as the API writes it.
type WorkItemView struct {
	ID         string     `json:"id"`
	ContactID  string     `json:"contact_id"`
	CustomerID string     `json:"customer_id,omitempty"`
	Queue      string     `json:"queue,omitempty"`
	Reason     string     `json:"reason"`            // the contact's outcome: abandoned, timeout, abandoned_in_ivr, ...
	Address    string     `json:"address,omitempty"` // the number to call back
	State      string     `json:"state"`             // open, taken, done
	Owner      string     `json:"owner,omitempty"`
	TakenAt    *time.Time `json:"taken_at,omitempty"`
	DoneBy     string     `json:"done_by,omitempty"`
	DoneHow    string     `json:"done_how,omitempty"` // called_back, ticket, no_action
	DoneNote   string     `json:"done_note,omitempty"`
	DoneAt     *time.Time `json:"done_at,omitempty"`
	CreatedAt  time.Time  `json:"created_at"` // when the contact was missed
	DueAt      time.Time  `json:"due_at"`
	AgeSeconds float64    `json:"age_seconds"` // until now, or until it was closed
	Overdue    bool       `json:"overdue"`     // not done and past due_at
}

// TakeRequest takes a work item. With an agent token the owner is the agent (owner may be
// left out); a supervisor names the owner (default: themself) and may take an item from
// someone else (assigning it).
type TakeRequest struct {
	Owner string `json:"owner,omitempty"`
}

// CloseRequest closes a work item, saying how.
type CloseRequest struct {
	How  string `json:"how"`            // called_back, ticket or no_action
	Note string `json:"note,omitempty"` // up to 2000 characters
}

func timeOrNil(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func (s *Server) workItemView(w customers.WorkItem) WorkItemView {
	now := s.now()
	return WorkItemView{ID: w.ID, ContactID: w.ContactID, CustomerID: w.CustomerID, Queue: w.Queue, Reason: string(w.Reason),
		Address: w.Address, State: string(w.State), Owner: w.Owner, TakenAt: timeOrNil(w.TakenAt), DoneBy: w.DoneBy,
		DoneHow: string(w.DoneHow), DoneNote: w.DoneNote, DoneAt: timeOrNil(w.DoneAt), CreatedAt: w.CreatedAt, DueAt: w.DueAt,
		AgeSeconds: w.Age(now).Seconds(), Overdue: w.Overdue(now)}
}

var workReasons = []string{"abandoned", "timeout", "no_agent", "after_hours", "abandoned_in_ivr", "voicemail", "callback_failed"}

func (s *Server) worklistRoutes() []route {
	conflicts := map[int]string{409: "conflict: the item is closed, or taken by someone else (the message names them); an open item cannot be released"}
	return []route{
		{Method: "GET", Path: "/api/v1/worklist", Summary: "The missed-contact worklist, newest first: items to call back, with owner, state, age and due time", Roles: supAgent,
			Query: withPage(param{Name: "state", Type: "string", Desc: "open, taken, done, or pending (open or taken); default all"},
				param{Name: "owner", Type: "string", Desc: "who has it; me: the token's agent (or the supervisor's name)"},
				param{Name: "queue", Type: "string"}, param{Name: "reason", Type: "string", Enum: workReasons},
				param{Name: "customer", Type: "string"},
				param{Name: "overdue", Type: "boolean", Desc: "true: only items not done and past their due time"}),
			Resp: List[WorkItemView]{}, handle: s.handleWorklist},
		{Method: "GET", Path: "/api/v1/worklist/{id}", Summary: "One work item", Roles: supAgent, Resp: WorkItemView{}, handle: s.handleWorkItem},
		{Method: "POST", Path: "/api/v1/worklist/{id}/take", Summary: "Take a work item (an agent: for itself; a supervisor: for anyone, taking it from its owner)", Roles: supAgent,
			Body: &TakeRequest{}, Resp: WorkItemView{}, Errors: map[int]string{409: conflicts[409], 403: "an agent token naming another owner"}, handle: s.handleTakeWorkItem},
		{Method: "POST", Path: "/api/v1/worklist/{id}/release", Summary: "Put a taken work item back on the list with no owner (its owner, or a supervisor)", Roles: supAgent,
			Resp: WorkItemView{}, Errors: conflicts, handle: s.handleReleaseWorkItem},
		{Method: "POST", Path: "/api/v1/worklist/{id}/close", Summary: "Close a work item: how (called_back, ticket, no_action) and a note", Roles: supAgent,
			Body: &CloseRequest{}, Resp: WorkItemView{},
			Desc:   "An agent closes an open item or its own; a supervisor any item. The closer is recorded (done_by) with the time.",
			Errors: map[int]string{409: conflicts[409], 422: "how is missing or not one of called_back, ticket, no_action (field how); the note is over 2000 characters (field note)"},
			handle: s.handleCloseWorkItem},
	}
}

func (s *Server) handleWorklist(w http.ResponseWriter, r *http.Request, p *principal) error {
	pg, err := page(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := customers.WorkFilter{Owner: strings.TrimSpace(q.Get("owner")), Queue: q.Get("queue"), CustomerID: q.Get("customer")}
	switch st := q.Get("state"); st {
	case "":
	case "pending":
		f.Pending = true
	case "open", "taken", "done":
		f.State = customers.WorkState(st)
	default:
		return invalid("state", "%q: use open, taken, done or pending", st)
	}
	if f.Owner == "me" {
		f.Owner = p.author()
	}
	if v := q.Get("reason"); v != "" {
		if f.Reason = customers.Outcome(v); !f.Reason.OnWorklist() {
			return invalid("reason", "%q: use one of %s", v, joinComma(workReasons))
		}
	}
	if v := q.Get("overdue"); v != "" {
		if f.Overdue, err = strconv.ParseBool(v); err != nil {
			return invalid("overdue", "%q: use true or false", v)
		}
	}
	f.Now = s.now()
	items, next, err := s.store.ListWorkItems(r.Context(), f, pg)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, listOf(items, next, s.workItemView))
	return nil
}

func (s *Server) handleWorkItem(w http.ResponseWriter, r *http.Request, p *principal) error {
	it, err := s.store.WorkItem(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.workItemView(it))
	return nil
}

func (s *Server) handleTakeWorkItem(w http.ResponseWriter, r *http.Request, p *principal) error {
	var req TakeRequest
	if r.ContentLength != 0 {
		if err := decode(r, &req); err != nil {
			return err
		}
	}
	owner := strings.TrimSpace(req.Owner)
	reassign := p.Role == RoleSupervisor
	if p.Role == RoleAgent {
		if owner != "" && owner != p.Agent {
			return apiErr(http.StatusForbidden, "forbidden", "owner", "an agent takes items for itself (%s), not for %s", p.Agent, owner)
		}
		owner = p.Agent
	} else if owner == "" {
		owner = p.author()
	}
	if utf8.RuneCountInString(owner) > 100 {
		return apiErr(http.StatusUnprocessableEntity, "invalid", "owner", "at most 100 characters")
	}
	it, err := s.store.TakeWorkItem(r.Context(), r.PathValue("id"), owner, reassign)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.workItemView(it))
	return nil
}

func (s *Server) handleReleaseWorkItem(w http.ResponseWriter, r *http.Request, p *principal) error {
	it, err := s.store.ReleaseWorkItem(r.Context(), r.PathValue("id"), p.author(), p.Role == RoleSupervisor)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.workItemView(it))
	return nil
}

func (s *Server) handleCloseWorkItem(w http.ResponseWriter, r *http.Request, p *principal) error {
	var req CloseRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	switch customers.Resolution(req.How) {
	case customers.ResolvedCalledBack, customers.ResolvedTicket, customers.ResolvedNoAction:
	case "":
		return apiErr(http.StatusUnprocessableEntity, "invalid", "how", "required: called_back, ticket or no_action")
	default:
		return apiErr(http.StatusUnprocessableEntity, "invalid", "how", "%q: use called_back, ticket or no_action", req.How)
	}
	if n := utf8.RuneCountInString(req.Note); n > 2000 {
		return apiErr(http.StatusUnprocessableEntity, "invalid", "note", "%d characters; at most 2000", n)
	}
	it, err := s.store.CloseWorkItem(r.Context(), r.PathValue("id"), customers.WorkClose{By: p.author(), How: customers.Resolution(req.How),
		Note: req.Note, Override: p.Role == RoleSupervisor})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.workItemView(it))
	return nil
}
