package dashboard

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"
)

// Phones is implemented by a Live whose agents can take calls in the browser: the page
// registers as the agent's phone (WebRTC) for as long as its phone stream is open.
type Phones interface {
	// RegisterPhone makes the browser the agent's phone until the line is closed. A second
	// registration for the same agent replaces the first.
	RegisterPhone(agent string) (PhoneLine, error)
}

// PhoneLine is one browser registered as an agent's phone.
type PhoneLine interface {
	// Events are what the page must know: an offer (with the server's SDP), its cancel, the
	// far end's hangup. Closed when the line is.
	Events() <-chan PhoneEvent
	// Answer gives the page's SDP answer to an offer (before the agent clicks: the page
	// connects while it rings).
	Answer(callID, sdp string) error
	// Accept is the agent's click on answer; Reject declines the offer.
	Accept(callID string) error
	Reject(callID string) error
	// Hangup is the agent hanging up in the page.
	Hangup(callID string) error
	// Close unregisters the phone; a call in progress on it is lost (the caller goes back
	// in line).
	Close()
}

// PhoneEvent is one message of the phone stream (event "phone").
type PhoneEvent struct {
	Kind   string `json:"kind"` // offer, cancel, hangup
	Call   string `json:"call"` // the phone call's ID, which the page answers with
	SDP    string `json:"sdp,omitempty"`
	Caller string `json:"caller,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// ICEServer is a STUN or TURN server the browser phone uses (agents at home behind NAT).
type ICEServer struct {
	URLs       []string `json:"urls"`
	Username   string   `json:"username,omitempty"`
	Credential string   `json:"credential,omitempty"`
}

// PhoneReady is the phone stream's first message (event "ready").
type PhoneReady struct {
	Agent      string      `json:"agent"`
	ICEServers []ICEServer `json:"ice_servers"`
}

// SDPRequest is the body of POST /api/v1/phone/calls/{id}/sdp.
type SDPRequest struct {
	SDP string `json:"sdp"`
}

// ErrPhoneCall is what a PhoneLine returns for a call it does not have (ended, or never
// offered to it).
var ErrPhoneCall = errors.New("no such call on this phone")

const maxSDP = 16 << 10

func (s *Server) phones() (Phones, error) {
	ph, ok := s.live.(Phones)
	if !ok {
		return nil, apiErr(http.StatusNotImplemented, "not_implemented", "", "this hotline has no browser phone (the native SIP driver carries it)")
	}
	return ph, nil
}

// handlePhone is GET /api/v1/phone: while this stream is open the page is the agent's phone.
func (s *Server) handlePhone(w http.ResponseWriter, r *http.Request, p *principal) error {
	ph, err := s.phones()
	if err != nil {
		return err
	}
	fl, ok := w.(http.Flusher)
	if !ok {
		return s.errorf("streaming unsupported")
	}
	line, err := ph.RegisterPhone(p.Agent)
	if err != nil {
		return apiErr(http.StatusConflict, "phone_refused", "", "%v", err)
	}
	s.mu.Lock()
	old := s.lines[p.Agent]
	s.lines[p.Agent] = line
	s.mu.Unlock()
	if old != nil {
		old.Close()
	}
	defer func() {
		s.mu.Lock()
		if s.lines[p.Agent] == line {
			delete(s.lines, p.Agent)
		}
		s.mu.Unlock()
		line.Close()
	}()
	s.log.Info("browser phone registered", "agent", p.Agent, "token", p.TokenID)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	ready, _ := json.Marshal(PhoneReady{Agent: p.Agent, ICEServers: append([]ICEServer{}, s.iceServers...)})
	w.Write(sseMessage("ready", ready))
	fl.Flush()
	ping := time.NewTicker(10 * time.Second)
	defer ping.Stop()
	events := line.Events()
	for {
		select {
		case <-r.Context().Done():
			s.log.Info("browser phone gone", "agent", p.Agent)
			return nil
		case <-ping.C:
			w.Write([]byte(": ping\n\n"))
			fl.Flush()
		case ev, ok := <-events:
			if !ok {
				return nil // replaced by another registration, or the center stopped
			}
			b, _ := json.Marshal(ev)
			w.Write(sseMessage("phone", b))
			fl.Flush()
		}
	}
}

// phoneAction is a POST on the agent's browser phone's call.
func (s *Server) phoneAction(what string, act func(l PhoneLine, id string, r *http.Request) error) func(http.ResponseWriter, *http.Request, *principal) error {
	return func(w http.ResponseWriter, r *http.Request, p *principal) error {
		if _, err := s.phones(); err != nil {
			return err
		}
		s.mu.Lock()
		line := s.lines[p.Agent]
		s.mu.Unlock()
		if line == nil {
			return apiErr(http.StatusConflict, "phone_not_registered", "", "%s has no browser phone registered (open GET /api/v1/phone first)", p.Agent)
		}
		id := r.PathValue("id")
		if err := act(line, id, r); err != nil {
			var ae *APIError
			switch {
			case errors.As(err, &ae):
				return ae
			case errors.Is(err, ErrPhoneCall):
				return notFound("no call %q on %s's browser phone", id, p.Agent)
			}
			return apiErr(http.StatusConflict, "phone_"+what+"_failed", "", "%v", err)
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
}

func (s *Server) handlePhoneSDP(w http.ResponseWriter, r *http.Request, p *principal) error {
	return s.phoneAction("sdp", func(l PhoneLine, id string, r *http.Request) error {
		var req SDPRequest
		if err := decode(r, &req); err != nil {
			return err
		}
		switch {
		case strings.TrimSpace(req.SDP) == "":
			return invalid("sdp", "required: the page's SDP answer")
		case len(req.SDP) > maxSDP:
			return invalid("sdp", "at most %d bytes", maxSDP)
		}
		return l.Answer(id, req.SDP)
	})(w, r, p)
}

func (s *Server) phoneOp(what string, op func(PhoneLine, string) error) func(http.ResponseWriter, *http.Request, *principal) error {
	return s.phoneAction(what, func(l PhoneLine, id string, _ *http.Request) error { return op(l, id) })
}

// deskRoutes are the agent desktop's endpoints.
func (s *Server) deskRoutes() []route {
	agentOnly := []Role{RoleAgent}
	return []route{
		{Method: "GET", Path: "/api/v1/calls/{id}/screen", Summary: "The screen-pop of a call offered to or connected with the agent: the customer, their last contacts, open tickets, pending callbacks and what they did in the flow",
			Roles: supAgent, Resp: ScreenPop{}, Desc: "An agent token may read only a call ringing it or connected to it (403 otherwise). Sensitive flow input never appears.", handle: s.handleScreen},
		{Method: "POST", Path: "/api/v1/calls/{id}/dtmf", Summary: "Send DTMF keys to the caller of a connected call (the desktop's keypad)", Roles: supAgent,
			Body: &DigitsRequest{}, Resp: LiveCall{}, handle: s.handleDigits},
		{Method: "POST", Path: "/api/v1/calls/{id}/hangup", Summary: "Hang up the agent's leg of a connected call (the desktop's hang-up button)", Roles: supAgent,
			Status: http.StatusNoContent, handle: s.handleHangup},
		{Method: "GET", Path: "/api/v1/phone", Summary: "The browser phone's signalling stream: while it is open the page is the agent's phone (Server-Sent Events: ready, phone)",
			Roles: agentOnly, Produces: "text/event-stream", Resp: PhoneEvent{},
			Desc: "Each call offered to the agent arrives as a phone event of kind offer with the server's SDP (PCMU/PCMA, DTLS-SRTP, ICE host candidates gathered). " +
				"The page answers with POST .../sdp, then .../accept when the agent clicks answer. Closing the stream unregisters the phone; a call in progress on it goes back in line.",
			handle: s.handlePhone},
		{Method: "POST", Path: "/api/v1/phone/calls/{id}/sdp", Summary: "The page's SDP answer to an offer", Roles: agentOnly, Body: &SDPRequest{}, Status: http.StatusNoContent,
			handle: s.handlePhoneSDP},
		{Method: "POST", Path: "/api/v1/phone/calls/{id}/accept", Summary: "Answer an offered call on the browser phone", Roles: agentOnly, Status: http.StatusNoContent,
			handle: s.phoneOp("accept", PhoneLine.Accept)},
		{Method: "POST", Path: "/api/v1/phone/calls/{id}/reject", Summary: "Decline an offered call on the browser phone", Roles: agentOnly, Status: http.StatusNoContent,
			handle: s.phoneOp("reject", PhoneLine.Reject)},
		{Method: "POST", Path: "/api/v1/phone/calls/{id}/hangup", Summary: "Hang up the browser phone's call", Roles: agentOnly, Status: http.StatusNoContent,
			handle: s.phoneOp("hangup", PhoneLine.Hangup)},
	}
}
