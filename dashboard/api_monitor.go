package dashboard

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/hotline-cc/hotline/call"
	"github.com/hotline-cc/hotline/customers"
)

// CallMonitor is implemented by a Live whose supervisors can monitor calls in progress
// (listen, whisper, barge) and whose conversations can be recorded on request.
type CallMonitor interface {
	// Monitor calls the supervisor's phone and joins it to the call in mode; it returns once
	// the phone answered. ErrMonitored when the call already has a supervisor.
	Monitor(ctx context.Context, callID, supervisor string, mode call.MonitorMode, by Actor) error
	// SetMonitorMode changes the mode of the call's monitoring session (ErrNotMonitored
	// without one).
	SetMonitorMode(ctx context.Context, callID string, mode call.MonitorMode, by Actor) error
	// StopMonitor drops the supervisor from the call; caller and agent stay connected
	// (ErrNotMonitored without a session).
	StopMonitor(ctx context.Context, callID string, by Actor) error
	// RecordingAction starts, stops, pauses or resumes the call's recording; changed is false
	// when it already was so.
	RecordingAction(ctx context.Context, callID string, action RecordingAction, by Actor) (changed bool, err error)
}

// Actor is who asked for a change through the API: the token (its ID and name) and its role,
// and for an agent token the agent it acts for. The center puts it in its logs and audit.
type Actor struct {
	TokenID string
	Name    string
	Role    Role
	Agent   string // for agent tokens
}

// String is how logs name the actor: "Mei (tok_ab12, supervisor)".
func (a Actor) String() string {
	n := a.Name
	if n == "" {
		n = string(a.Role)
	}
	return fmt.Sprintf("%s (%s, %s)", n, a.TokenID, a.Role)
}

func (p *principal) actor() Actor {
	return Actor{TokenID: p.TokenID, Name: p.Name, Role: p.Role, Agent: p.Agent}
}

// RecordingAction is what POST /api/v1/calls/{id}/recording does.
type RecordingAction string

// Recording actions.
const (
	RecordingStart  RecordingAction = "start"
	RecordingStop   RecordingAction = "stop"
	RecordingPause  RecordingAction = "pause"
	RecordingResume RecordingAction = "resume"
)

// Valid reports whether a is one of the actions.
func (a RecordingAction) Valid() bool {
	return a == RecordingStart || a == RecordingStop || a == RecordingPause || a == RecordingResume
}

// Errors of CallMonitor (with ErrNoCall and ErrNotConnected of CallControl). Wrap them to
// add detail: the API shows the message of the error returned.
var (
	// ErrMonitored: the call already has a supervisor; a second monitor is refused (409).
	ErrMonitored = errors.New("the call is already monitored by a supervisor")
	// ErrNotMonitored: no supervisor monitors the call (409).
	ErrNotMonitored = errors.New("no supervisor monitors the call")
	// ErrUnknownSupervisor: no configured supervisor has this ID (422, field supervisor).
	ErrUnknownSupervisor = errors.New("no such supervisor")
	// ErrSupervisorUnreachable: the supervisor's phone cannot be called: not registered, busy,
	// or it did not answer (409), e.g. "supervisor 9001 has no registered phone".
	ErrSupervisorUnreachable = errors.New("the supervisor's phone cannot be reached")
	// ErrRecordingPolicy: the queue's recording policy refuses the action, e.g. starting a
	// recording on a queue whose policy is never, or stopping one whose policy is always (409).
	ErrRecordingPolicy = errors.New("the queue's recording policy refuses this")
)

// MonitorRequest is the body of POST /api/v1/calls/{id}/monitor.
type MonitorRequest struct {
	Mode       call.MonitorMode `json:"mode"`                 // listen | whisper | barge
	Supervisor string           `json:"supervisor,omitempty"` // whose phone rings; may be left out when one supervisor is configured
}

// MonitorPatch is the body of PATCH /api/v1/calls/{id}/monitor.
type MonitorPatch struct {
	Mode call.MonitorMode `json:"mode"` // listen | whisper | barge
}

// RecordingRequest is the body of POST /api/v1/calls/{id}/recording.
type RecordingRequest struct {
	Action RecordingAction `json:"action"` // start | stop | pause | resume
}

// RecordingResult is how a recording action ended.
type RecordingResult struct {
	Changed bool     `json:"changed"` // false: the recording already was so
	Call    LiveCall `json:"call"`    // the call now
}

// Recording states of a LiveCall.
const (
	RecordingOff    = "off"
	RecordingOn     = "recording"
	RecordingPaused = "paused"
)

// MonitorState is who monitors a live call, in which mode, since when.
type MonitorState struct {
	Supervisor string           `json:"supervisor"`
	Mode       call.MonitorMode `json:"mode"`
	Since      time.Time        `json:"since"`
}

func (s *Server) callMonitor() (CallMonitor, error) {
	cm, ok := s.live.(CallMonitor)
	if !ok {
		return nil, apiErr(http.StatusNotImplemented, "not_implemented", "", "this hotline cannot monitor or record calls")
	}
	return cm, nil
}

// callFor is a live call as p may see it: agent tokens see who monitors only when the
// dashboard says so (Options.HideMonitorFromAgents).
func (s *Server) callFor(p *principal, c LiveCall) LiveCall {
	if p != nil && p.Role == RoleAgent && s.hideMonitor {
		c.Monitor = nil
	}
	return c
}

func checkMode(m call.MonitorMode) error {
	if !m.Valid() {
		if m == "" {
			return invalid("mode", "required: listen, whisper or barge")
		}
		return invalid("mode", "%q is not a mode; use listen, whisper or barge", m)
	}
	return nil
}

func (s *Server) handleMonitor(w http.ResponseWriter, r *http.Request, p *principal) error {
	id := r.PathValue("id")
	var req MonitorRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if err := checkMode(req.Mode); err != nil {
		return err
	}
	req.Supervisor = strings.TrimSpace(req.Supervisor)
	switch {
	case req.Supervisor == "" && len(s.supervisors) == 1:
		req.Supervisor = s.supervisors[0]
	case req.Supervisor == "" && len(s.supervisors) == 0:
		return invalid("supervisor", "required: the supervisor whose phone joins the call (no supervisors are configured)")
	case req.Supervisor == "":
		return invalid("supervisor", "required: one of %s", strings.Join(s.supervisors, ", "))
	case len(s.supervisors) > 0 && !slices.Contains(s.supervisors, req.Supervisor):
		return apiErr(http.StatusUnprocessableEntity, "unknown_supervisor", "supervisor", "%q is not a configured supervisor; use one of %s",
			req.Supervisor, strings.Join(s.supervisors, ", "))
	}
	cm, err := s.callMonitor()
	if err != nil {
		return err
	}
	if _, err := s.liveCall(p, id); err != nil {
		return err
	}
	start := s.now()
	if err := cm.Monitor(r.Context(), id, req.Supervisor, req.Mode, p.actor()); err != nil {
		return monitorError(id, req.Supervisor, err)
	}
	s.audit(r, p, customers.AuditMonitorStart, id, map[string]any{"mode": string(req.Mode), "supervisor": req.Supervisor,
		"answered_after_ms": s.now().Sub(start).Milliseconds()})
	s.log.Info("call monitor", "call", id, "supervisor", req.Supervisor, "mode", req.Mode, "by", p.TokenID)
	return s.writeCall(w, p, id)
}

func (s *Server) handleMonitorMode(w http.ResponseWriter, r *http.Request, p *principal) error {
	id := r.PathValue("id")
	var req MonitorPatch
	if err := decode(r, &req); err != nil {
		return err
	}
	if err := checkMode(req.Mode); err != nil {
		return err
	}
	cm, err := s.callMonitor()
	if err != nil {
		return err
	}
	c, err := s.liveCall(p, id)
	if err != nil {
		return err
	}
	if err := cm.SetMonitorMode(r.Context(), id, req.Mode, p.actor()); err != nil {
		return monitorError(id, "", err)
	}
	d := map[string]any{"mode": string(req.Mode)}
	if c.Monitor != nil {
		d["from"], d["supervisor"] = string(c.Monitor.Mode), c.Monitor.Supervisor
	}
	s.audit(r, p, customers.AuditMonitorMode, id, d)
	s.log.Info("call monitor mode", "call", id, "mode", req.Mode, "by", p.TokenID)
	return s.writeCall(w, p, id)
}

func (s *Server) handleStopMonitor(w http.ResponseWriter, r *http.Request, p *principal) error {
	id := r.PathValue("id")
	cm, err := s.callMonitor()
	if err != nil {
		return err
	}
	c, err := s.liveCall(p, id)
	if err != nil {
		return err
	}
	if err := cm.StopMonitor(r.Context(), id, p.actor()); err != nil {
		return monitorError(id, "", err)
	}
	d := map[string]any{}
	if c.Monitor != nil {
		d["supervisor"], d["mode"] = c.Monitor.Supervisor, string(c.Monitor.Mode)
		if !c.Monitor.Since.IsZero() {
			d["duration_ms"] = s.now().Sub(c.Monitor.Since).Milliseconds()
		}
	}
	s.audit(r, p, customers.AuditMonitorStop, id, d)
	s.log.Info("call monitor stop", "call", id, "by", p.TokenID)
	return s.writeCall(w, p, id)
}

func (s *Server) handleRecordingAction(w http.ResponseWriter, r *http.Request, p *principal) error {
	id := r.PathValue("id")
	var req RecordingRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if !req.Action.Valid() {
		if req.Action == "" {
			return invalid("action", "required: start, stop, pause or resume")
		}
		return invalid("action", "%q is not an action; use start, stop, pause or resume", req.Action)
	}
	cm, err := s.callMonitor()
	if err != nil {
		return err
	}
	if _, err := s.liveCall(p, id); err != nil {
		return err
	}
	changed, err := cm.RecordingAction(r.Context(), id, req.Action, p.actor())
	if err != nil {
		return monitorError(id, "", err)
	}
	s.audit(r, p, "recording."+string(req.Action), id, map[string]any{"changed": changed})
	s.log.Info("call recording", "call", id, "action", req.Action, "changed", changed, "by", p.TokenID)
	c, err := s.liveCall(p, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, RecordingResult{Changed: changed, Call: s.callFor(p, c)})
	return nil
}

// writeCall answers with the call as it now is (404 if it ended meanwhile).
func (s *Server) writeCall(w http.ResponseWriter, p *principal, id string) error {
	c, err := s.liveCall(p, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.callFor(p, c))
	return nil
}

// audit writes an audit entry for p, from the client of r; a failure is logged, not
// returned: the action is done.
func (s *Server) audit(r *http.Request, p *principal, action, object string, detail map[string]any) {
	if detail == nil {
		detail = map[string]any{}
	}
	if p.Name != "" {
		detail["name"] = p.Name
	}
	if p.Agent != "" {
		detail["agent"] = p.Agent
	}
	_ = s.writeAudit(r, p, action, object, detail)
}

// writeAudit appends p's action on object, from the client of r, to the audit trail, even
// when the client has gone meanwhile; a failure is logged and returned.
func (s *Server) writeAudit(r *http.Request, p *principal, action, object string, detail map[string]any) error {
	err := s.store.Audit(context.WithoutCancel(r.Context()), customers.AuditEntry{Actor: p.TokenID, Role: string(p.Role), Action: action, Object: object,
		From: clientIP(r), Detail: detail})
	if err != nil {
		s.log.Error("audit", "action", action, "object", object, "by", p.TokenID, "err", err)
	}
	return err
}

func monitorError(id, supervisor string, err error) error {
	msg := err.Error()
	switch {
	case errors.Is(err, ErrNoCall):
		return notFound("no call %q in progress", id)
	case errors.Is(err, ErrNotConnected):
		return apiErr(http.StatusConflict, "not_connected", "", "call %s: %s", id, msg)
	case errors.Is(err, ErrMonitored):
		return apiErr(http.StatusConflict, "monitored", "", "call %s: %s; stop that session first (DELETE /api/v1/calls/%s/monitor)", id, msg, id)
	case errors.Is(err, ErrNotMonitored):
		return apiErr(http.StatusConflict, "not_monitored", "", "call %s: %s", id, msg)
	case errors.Is(err, ErrUnknownSupervisor):
		return apiErr(http.StatusUnprocessableEntity, "unknown_supervisor", "supervisor", "%s", msg)
	case errors.Is(err, ErrSupervisorUnreachable):
		return apiErr(http.StatusConflict, "supervisor_unreachable", "supervisor", "%s", msg)
	case errors.Is(err, ErrRecordingPolicy):
		return apiErr(http.StatusConflict, "recording_policy", "action", "call %s: %s", id, msg)
	}
	return callControlError(id, err)
}
