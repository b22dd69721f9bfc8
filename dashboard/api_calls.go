package dashboard

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode"

	"github.com/hotline-cc/hotline/call"
)

// CallControl is implemented by a Live that can move and hold calls in progress.
type CallControl interface {
	// Transfer moves a call connected to an agent to target (an agent ID, queue-<name> or a
	// queue's extension, or a phone number) by the rules agents' phones follow, and returns
	// how it ended: 200 when the call is with its new party, else the failure the phone
	// would hear (404 no such target, 403 a number the policy refuses, 486 busy, 408 no
	// answer, ...). ErrNoCall when there is no such call; ErrNotConnected when it is not
	// talking to an agent.
	Transfer(ctx context.Context, callID, target string) (call.TransferProgress, error)
	// Hold puts the caller on hold (with the queue's music) or takes them off it.
	Hold(ctx context.Context, callID string, on bool) error
	// Conference merges the caller, the agent and the colleague the agent is consulting
	// into a three-way call (ErrNoConsultation when the agent consults nobody).
	Conference(ctx context.Context, callID string) error
}

// Errors of CallControl.
var (
	ErrNoCall         = errors.New("no such call in progress")
	ErrNotConnected   = errors.New("the call is not connected to an agent")
	ErrNoConsultation = errors.New("the agent is not consulting a colleague")
)

// TransferRequest is the body of POST /api/v1/calls/{id}/transfer.
type TransferRequest struct {
	Target string `json:"target"` // agent ID (1002), queue (queue-billing or its extension), or a number (+8610...)
}

// TransferResult is how a transfer ended.
type TransferResult struct {
	Status int      `json:"status"` // 200 when the call is with its new party
	Reason string   `json:"reason"`
	Call   LiveCall `json:"call"` // the call now (it may have ended)
}

const maxTarget = 64

func (s *Server) callControl() (CallControl, error) {
	cc, ok := s.live.(CallControl)
	if !ok {
		return nil, apiErr(http.StatusNotImplemented, "not_implemented", "", "this hotline cannot move calls")
	}
	return cc, nil
}

// liveCall finds a call in progress that p may act on: a supervisor any, an agent their own.
func (s *Server) liveCall(p *principal, id string) (LiveCall, error) {
	for _, c := range s.live.Calls() {
		if c.ID != id {
			continue
		}
		if p.Role == RoleAgent && c.Agent != p.Agent {
			return LiveCall{}, forbidden("an agent token may move only its own call; call %s is not with %s", id, p.Agent)
		}
		return c, nil
	}
	return LiveCall{}, notFound("no call %q in progress", id)
}

func (s *Server) handleTransfer(w http.ResponseWriter, r *http.Request, p *principal) error {
	id := r.PathValue("id")
	var req TransferRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	req.Target = strings.TrimSpace(req.Target)
	switch {
	case req.Target == "":
		return invalid("target", "required: an agent ID (1002), a queue (queue-billing or its extension) or a phone number")
	case len(req.Target) > maxTarget || strings.IndexFunc(req.Target, unicode.IsControl) >= 0 || strings.ContainsAny(req.Target, " <>@;"):
		return invalid("target", "at most %d characters, one word, no URI: an agent ID, queue-<name>, an extension or a number", maxTarget)
	}
	cc, err := s.callControl()
	if err != nil {
		return err
	}
	if _, err := s.liveCall(p, id); err != nil {
		return err
	}
	prog, err := cc.Transfer(r.Context(), id, req.Target)
	if err != nil {
		return callControlError(id, err)
	}
	s.log.Info("call transfer", "call", id, "target", req.Target, "status", prog.Status, "by", p.TokenID)
	s.auditOversight(r, p, "call.transfer", id, map[string]any{"target": req.Target, "status": prog.Status, "reason": prog.Reason})
	switch {
	case prog.Status == 404:
		return invalid("target", "%s", strings.TrimPrefix(prog.Reason, "Not Found: "))
	case prog.Status == 403:
		return apiErr(http.StatusUnprocessableEntity, "transfer_refused", "target", "%s", strings.TrimPrefix(prog.Reason, "Forbidden: "))
	case prog.Status >= 300:
		return apiErr(http.StatusConflict, "transfer_failed", "target", "%s did not take the call (%d %s); the caller is back where they were", req.Target, prog.Status, prog.Reason)
	}
	now, _ := s.liveCall(p, id)
	writeJSON(w, http.StatusOK, TransferResult{Status: prog.Status, Reason: prog.Reason, Call: s.callFor(p, now)})
	return nil
}

// callAction is a POST on a call in progress that does one thing to it and answers the call
// as it now is: hold, resume, conference.
func (s *Server) callAction(what, action string, act func(ctx context.Context, cc CallControl, id string) error) func(http.ResponseWriter, *http.Request, *principal) error {
	return func(w http.ResponseWriter, r *http.Request, p *principal) error {
		id := r.PathValue("id")
		cc, err := s.callControl()
		if err != nil {
			return err
		}
		if _, err := s.liveCall(p, id); err != nil {
			return err
		}
		if err := act(r.Context(), cc, id); err != nil {
			return callControlError(id, err)
		}
		s.log.Info("call "+what, "call", id, "by", p.TokenID)
		s.auditOversight(r, p, action, id, nil)
		c, err := s.liveCall(p, id)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, s.callFor(p, c))
		return nil
	}
}

func (s *Server) handleHold(on bool) func(http.ResponseWriter, *http.Request, *principal) error {
	what, action := "hold", "call.hold"
	if !on {
		what, action = "resume", "call.resume"
	}
	return s.callAction(what, action, func(ctx context.Context, cc CallControl, id string) error { return cc.Hold(ctx, id, on) })
}

func (s *Server) handleConference(w http.ResponseWriter, r *http.Request, p *principal) error {
	return s.callAction("three-way", "call.conference", func(ctx context.Context, cc CallControl, id string) error { return cc.Conference(ctx, id) })(w, r, p)
}

func callControlError(id string, err error) error {
	switch {
	case errors.Is(err, ErrNoConsultation):
		return apiErr(http.StatusConflict, "conflict", "", "call %s: its agent is not consulting a colleague (call them from the phone first)", id)
	case errors.Is(err, ErrNoCall):
		return notFound("no call %q in progress", id)
	case errors.Is(err, ErrNotConnected):
		return apiErr(http.StatusConflict, "conflict", "", "call %s is not connected to an agent", id)
	}
	return fmt.Errorf("call %s: %w", id, err)
}
