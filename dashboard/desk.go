package dashboard

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/hotline-cc/hotline/customers"
)

// Desk is implemented by a Live that serves the agent desktop: what the caller did in the
// flow before they were offered, and the in-call controls the page has beside transfer and
// hold.
type Desk interface {
	// Screen is what the center knows of a call in progress beyond its live view: the flow
	// nodes the caller passed, the variables the flow set (never sensitive ones) and how long
	// they have waited in line. ok is false when there is no such call.
	Screen(callID string) (ScreenFacts, bool)
	// SendDigits sends DTMF to the caller of a call connected to an agent (the page's keypad:
	// an outside IVR the agent steers for the caller).
	SendDigits(ctx context.Context, callID, digits string) error
	// HangupAgent hangs up the agent's leg of a connected call, as the agent's phone would.
	HangupAgent(ctx context.Context, callID string) error
}

// ScreenFacts are Desk.Screen's answer.
type ScreenFacts struct {
	Steps  []IVRStep
	Vars   map[string]string
	Waited time.Duration // in line, since the caller's arrival in the queue
}

// IVRStep is one flow node the caller passed through.
type IVRStep struct {
	Node   string `json:"node"`
	Kind   string `json:"kind"`             // the node's step: menu, input, queue ...
	Exit   string `json:"exit,omitempty"`   // the exit taken: a menu's choice, match, timeout ...
	Detail string `json:"detail,omitempty"` // one line for people
}

// ScreenPop is what an agent sees when a call is offered: who it is, what happened with
// them before, and what they did in the flow (GET /api/v1/calls/{id}/screen).
type ScreenPop struct {
	Call          LiveCall          `json:"call"`
	Customer      *CustomerView     `json:"customer,omitempty"` // nil for a withheld number nobody knows
	Contacts      []ContactView     `json:"contacts"`           // the last contacts, newest first (this call left out)
	Tickets       []TicketView      `json:"tickets"`            // open and pending
	Callbacks     []CallbackView    `json:"callbacks"`          // pending
	IVR           []IVRStep         `json:"ivr"`
	Vars          map[string]string `json:"vars"`
	WaitedSeconds float64           `json:"waited_seconds"`
	Dispositions  []string          `json:"dispositions"` // the wrap-up codes of the call's queue
}

// DigitsRequest is the body of POST /api/v1/calls/{id}/dtmf.
type DigitsRequest struct {
	Digits string `json:"digits"` // 0-9 * # A-D, at most 32
}

const (
	screenContacts = 5
	maxKeypad      = 32
)

func (s *Server) desk() (Desk, error) {
	d, ok := s.live.(Desk)
	if !ok {
		return nil, apiErr(http.StatusNotImplemented, "not_implemented", "", "this hotline has no agent desktop")
	}
	return d, nil
}

// offeredCall finds a call in progress the principal may see on the desktop: a supervisor
// any, an agent one ringing it or connected to it.
func (s *Server) offeredCall(p *principal, id string) (LiveCall, error) {
	for _, c := range s.live.Calls() {
		if c.ID != id {
			continue
		}
		if p.Role == RoleAgent && c.Agent != p.Agent {
			return LiveCall{}, forbidden("call %s is not offered to or connected with %s", id, p.Agent)
		}
		return c, nil
	}
	return LiveCall{}, notFound("no call %q in progress", id)
}

func (s *Server) handleScreen(w http.ResponseWriter, r *http.Request, p *principal) error {
	id := r.PathValue("id")
	d, err := s.desk()
	if err != nil {
		return err
	}
	c, err := s.offeredCall(p, id)
	if err != nil {
		return err
	}
	facts, ok := d.Screen(id)
	if !ok {
		return notFound("no call %q in progress", id)
	}
	pop := ScreenPop{Call: s.callFor(p, c), Contacts: []ContactView{}, Tickets: []TicketView{}, Callbacks: []CallbackView{},
		IVR: facts.Steps, Vars: facts.Vars, WaitedSeconds: secs(facts.Waited), Dispositions: s.codesOf(c.Queue)}
	if pop.IVR == nil {
		pop.IVR = []IVRStep{}
	}
	if pop.Vars == nil {
		pop.Vars = map[string]string{}
	}
	if c.CustomerID != "" {
		if err := s.fillScreen(r.Context(), &pop, c); err != nil {
			return err
		}
	}
	writeJSON(w, http.StatusOK, pop)
	return nil
}

// fillScreen adds the customer's record: the customer, their last contacts, open tickets and
// pending callbacks.
func (s *Server) fillScreen(ctx context.Context, pop *ScreenPop, c LiveCall) error {
	cust, err := s.store.Customer(ctx, c.CustomerID)
	if errors.Is(err, customers.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	v := customerView(cust)
	pop.Customer = &v
	contacts, _, err := s.store.ListContacts(ctx, customers.ContactFilter{CustomerID: cust.ID}, customers.Page{Limit: screenContacts + 1})
	if err != nil {
		return err
	}
	for _, k := range contacts {
		if k.CallID == c.ID || len(pop.Contacts) == screenContacts {
			continue
		}
		pop.Contacts = append(pop.Contacts, contactView(k))
	}
	tickets, _, err := s.store.ListTickets(ctx, customers.TicketFilter{CustomerID: cust.ID,
		Statuses: []customers.TicketStatus{customers.TicketOpen, customers.TicketPending}}, customers.Page{Limit: 20})
	if err != nil {
		return err
	}
	for _, t := range tickets {
		pop.Tickets = append(pop.Tickets, ticketView(t))
	}
	cbs, _, err := s.store.ListCallbacks(ctx, customers.CallbackFilter{CustomerID: cust.ID,
		Statuses: []customers.CallbackStatus{customers.CallbackPending, customers.CallbackDialing}}, customers.Page{Limit: 20})
	if err != nil {
		return err
	}
	for _, cb := range cbs {
		pop.Callbacks = append(pop.Callbacks, callbackView(cb))
	}
	return nil
}

// codesOf is a queue's wrap-up codes (none when the queue has none configured).
func (s *Server) codesOf(queue string) []string {
	out := append([]string{}, s.dispositions[queue]...)
	return out
}

// connectedCall is a call connected to an agent that p may act on, and the desk to act with.
func (s *Server) connectedCall(p *principal, id string) (Desk, LiveCall, error) {
	d, err := s.desk()
	if err != nil {
		return nil, LiveCall{}, err
	}
	c, err := s.liveCall(p, id)
	if err != nil {
		return nil, LiveCall{}, err
	}
	if c.State != CallConnected {
		return nil, LiveCall{}, apiErr(http.StatusConflict, "not_connected", "", "call %s is not connected to an agent", id)
	}
	return d, c, nil
}

func (s *Server) handleDigits(w http.ResponseWriter, r *http.Request, p *principal) error {
	id := r.PathValue("id")
	var req DigitsRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	switch {
	case req.Digits == "":
		return invalid("digits", "required: the keys to send, 0-9 * # A-D")
	case len(req.Digits) > maxKeypad:
		return invalid("digits", "at most %d keys at once", maxKeypad)
	case strings.Trim(req.Digits, "0123456789*#ABCDabcd") != "":
		return invalid("digits", "only 0-9 * # A-D, got %q", req.Digits)
	}
	d, c, err := s.connectedCall(p, id)
	if err != nil {
		return err
	}
	if err := d.SendDigits(r.Context(), id, strings.ToUpper(req.Digits)); err != nil {
		return callControlError(id, err)
	}
	s.log.Info("call keypad", "call", id, "keys", len(req.Digits), "by", p.TokenID)
	s.auditOversight(r, p, "call.dtmf", id, map[string]any{"keys": len(req.Digits)}) // how many, never which
	writeJSON(w, http.StatusOK, s.callFor(p, c))
	return nil
}

func (s *Server) handleHangup(w http.ResponseWriter, r *http.Request, p *principal) error {
	id := r.PathValue("id")
	d, _, err := s.connectedCall(p, id)
	if err != nil {
		return err
	}
	if err := d.HangupAgent(r.Context(), id); err != nil {
		return callControlError(id, err)
	}
	s.log.Info("call hangup by agent desktop", "call", id, "by", p.TokenID)
	s.auditOversight(r, p, "call.hangup", id, nil)
	w.WriteHeader(http.StatusNoContent)
	return nil
}
