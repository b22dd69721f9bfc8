package dashboard

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hotline-cc/hotline/acd"
	"github.com/hotline-cc/hotline/customers"
)

// Wrap-up with disposition codes: after a call the agent submits a form (a code of the
// queue, a note); it is saved on the contact and ends the agent's wrap-up.

// WrapUpEnder ends an agent's wrap-up now (the center: acd.Distributor.EndWrapUp, carrying
// out its actions). An agent no longer in wrap-up gives an error wrapping
// acd.ErrInvalidTransition.
type WrapUpEnder interface {
	EndWrapUp(agent string) error
}

// WrapUpRequest is the wrap-up form.
type WrapUpRequest struct {
	Code string `json:"code,omitempty"` // one of the queue's dispositions; "" only when the queue has none
	Note string `json:"note,omitempty"` // up to 2000 characters
	// Agent is whose wrap-up it is: required with a supervisor token, ignored (the token's
	// agent) with an agent token.
	Agent string `json:"agent,omitempty"`
}

// DispositionView is a saved wrap-up.
type DispositionView struct {
	ID         string    `json:"id"`
	ContactID  string    `json:"contact_id"`
	CallID     string    `json:"call_id,omitempty"`
	CustomerID string    `json:"customer_id,omitempty"`
	Queue      string    `json:"queue,omitempty"`
	Agent      string    `json:"agent"`
	Code       string    `json:"code"` // "" = a note only
	Note       string    `json:"note"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// WrapUpResult is the saved disposition and whether the submit ended the agent's wrap-up
// (false when the wrap-up timer had already run out: the disposition is saved anyway).
type WrapUpResult struct {
	DispositionView
	WrapUpEnded bool `json:"wrap_up_ended"`
}

func dispositionView(d customers.Disposition) DispositionView {
	return DispositionView{ID: d.ID, ContactID: d.ContactID, CallID: d.CallID, CustomerID: d.CustomerID, Queue: d.Queue,
		Agent: d.Agent, Code: d.Code, Note: d.Note, CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt}
}

func (s *Server) wrapupRoutes() []route {
	return []route{
		{Method: "POST", Path: "/api/v1/calls/{id}/wrapup", Summary: "Submit the wrap-up form of a call: a disposition code of the queue and a note; ends the agent's wrap-up",
			Roles: supAgent, Body: &WrapUpRequest{}, Resp: WrapUpResult{},
			Desc: "The call may have ended: it is found in the store by its call ID. An agent token wraps up its own part of the call " +
				"(403 not_your_call when the agent took no part in it); a supervisor token names the agent. The code must be one of " +
				"the queue's dispositions (GET /api/v1/me lists an agent's); a queue without any takes a note only. Submitting again " +
				"replaces the code and note. wrap_up_ended is false when the agent was no longer in wrap-up (its timer ran out); " +
				"the disposition is saved all the same.",
			Errors: map[int]string{403: "not_your_call: the agent took no part in the call", 404: "no contact has this call ID",
				422: "the code is not one of the queue's dispositions (field code), or the note is longer than 2000 characters (field note)"},
			handle: s.handleWrapUp},
		{Method: "GET", Path: "/api/v1/dispositions", Summary: "Wrap-up dispositions, newest first (an agent token sees its own)", Roles: supAgent,
			Query: withPage(param{Name: "queue", Type: "string"}, param{Name: "agent", Type: "string"},
				param{Name: "code", Type: "string", Desc: "a disposition code, or none for notes without a code"},
				param{Name: "contact", Type: "string"}, param{Name: "customer", Type: "string"},
				param{Name: "from", Type: "date-time", Desc: "first submitted at or after"}, param{Name: "to", Type: "date-time", Desc: "before"}),
			Resp: List[DispositionView]{}, handle: s.handleDispositions},
	}
}

func (s *Server) handleWrapUp(w http.ResponseWriter, r *http.Request, p *principal) error {
	var req WrapUpRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	agent := strings.TrimSpace(req.Agent)
	if p.Role == RoleAgent {
		agent = p.Agent
	} else if agent == "" {
		return apiErr(http.StatusUnprocessableEntity, "invalid", "agent", "name the agent whose wrap-up this is")
	}
	if n := utf8.RuneCountInString(req.Note); n > customers.MaxDispositionNote {
		return apiErr(http.StatusUnprocessableEntity, "invalid", "note", "%d characters; at most %d", n, customers.MaxDispositionNote)
	}
	c, err := s.store.ContactByCallID(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	if !c.HadAgent(agent) {
		if p.Role == RoleAgent {
			return apiErr(http.StatusForbidden, "not_your_call", "", "agent %s took no part in call %s", agent, c.CallID)
		}
		return apiErr(http.StatusForbidden, "not_your_call", "agent", "agent %s took no part in call %s", agent, c.CallID)
	}
	codes := s.dispositions[c.Queue]
	switch {
	case len(codes) == 0 && req.Code != "":
		return apiErr(http.StatusUnprocessableEntity, "invalid", "code", "%q: queue %q has no disposition codes; send a note only", req.Code, c.Queue)
	case len(codes) > 0 && !slices.Contains(codes, req.Code):
		return apiErr(http.StatusUnprocessableEntity, "invalid", "code", "%q is not a disposition of queue %q; use one of %s", req.Code, c.Queue, strings.Join(codes, ", "))
	}
	d, err := s.store.SaveDisposition(r.Context(), customers.Disposition{ContactID: c.ID, Agent: agent, Code: req.Code, Note: req.Note})
	if err != nil {
		return err
	}
	res := WrapUpResult{DispositionView: dispositionView(d)}
	s.auditOversight(r, p, "wrapup.save", c.CallID, map[string]any{"agent": agent, "code": d.Code, "disposition": d.ID, "contact": c.ID})
	if s.wrapUp != nil {
		switch err := s.wrapUp.EndWrapUp(agent); {
		case err == nil:
			res.WrapUpEnded = true
		case errors.Is(err, acd.ErrInvalidTransition):
		default:
			s.log.Warn("wrap-up saved but not ended", "agent", agent, "call", c.CallID, "error", err)
		}
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

func (s *Server) handleDispositions(w http.ResponseWriter, r *http.Request, p *principal) error {
	q := r.URL.Query()
	pg, err := page(r)
	if err != nil {
		return err
	}
	f := customers.DispositionFilter{Queue: q.Get("queue"), Agent: q.Get("agent"), Code: q.Get("code"),
		Contact: q.Get("contact"), CustomerID: q.Get("customer")}
	if p.Role == RoleAgent {
		if f.Agent != "" && f.Agent != p.Agent {
			return forbidden("an agent token sees its own dispositions only")
		}
		f.Agent = p.Agent
	}
	if f.From, f.To, err = queryRange(r); err != nil {
		return err
	}
	list, next, err := s.store.ListDispositions(r.Context(), f, pg)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, listOf(list, next, dispositionView))
	return nil
}

// agentDispositions is the disposition codes of an agent's queues, by queue (for GET /me).
func (s *Server) agentDispositions(agent string) map[string][]string {
	out := map[string][]string{}
	for _, q := range s.members[agent] {
		if codes := s.dispositions[q]; len(codes) > 0 {
			out[q] = codes
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}
