package conversation

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/hotline-cc/hotline/call"
	"github.com/hotline-cc/hotline/journey"
)

// Errors of monitoring.
var (
	ErrNoCall                = errors.New("no such call in progress")
	ErrMonitored             = errors.New("the call already has a supervisor monitoring it")
	ErrUnknownSupervisor     = errors.New("no such supervisor")
	ErrSupervisorUnreachable = errors.New("the supervisor's phone cannot be reached")
	ErrNotMonitored          = errors.New("nobody is monitoring the call")
	ErrCannotMonitor         = errors.New("this call cannot be monitored")
)

// Supervisor keys during a monitoring session, pressed on the supervisor's phone.
const (
	KeyListen  = "1"
	KeyWhisper = "2"
	KeyBarge   = "3"
)

// Monitors calls supervisors' phones into conversations: listen (the supervisor hears
// both), whisper (the agent hears the supervisor too, the caller does not) and barge (all
// three hear each other). One supervisor per call at a time. Every session is audited: who,
// which call and agent, which modes when, how long.
type Monitors struct {
	Dialer      call.Dialer
	Calls       *journey.Registry
	Supervisors map[string]string // ID -> name
	RingTimeout time.Duration     // how long the supervisor's phone rings (default 20 s)
	Log         *slog.Logger

	mu       sync.Mutex
	sessions map[string]*monitorSession // by call ID: the conversation owns each, the API finds it here
}

func (m *Monitors) add(callID string, s *monitorSession) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.sessions == nil {
		m.sessions = map[string]*monitorSession{}
	}
	m.sessions[callID] = s
}

func (m *Monitors) remove(callID string, s *monitorSession) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.sessions[callID] == s {
		delete(m.sessions, callID)
	}
}

func (m *Monitors) log() *slog.Logger {
	if m.Log == nil {
		return slog.Default()
	}
	return m.Log
}

// Start calls supervisor's phone and, once it answers, joins it to the call in mode. It
// returns when the supervisor is in the call, or why not.
func (m *Monitors) Start(ctx context.Context, callID, supervisor string, mode call.MonitorMode, by string) error {
	j := m.Calls.Get(callID)
	if j == nil {
		return fmt.Errorf("%w: %s", ErrNoCall, callID)
	}
	release, err := m.claim(j, supervisor, mode)
	if err != nil {
		return err
	}
	timeout := m.RingTimeout
	if timeout == 0 {
		timeout = 20 * time.Second
	}
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(j.Channel().Context(), cancel) // the caller hung up while it rang
	defer stop()
	agent := j.Live().Agent
	leg, err := m.Dialer.Originate(rctx, call.Target{Agent: supervisor},
		call.OriginateOptions{CallerID: call.Party{Number: agent, Name: "monitor " + agent}, RingTimeout: timeout})
	if err != nil {
		release()
		if j.Channel().Context().Err() != nil {
			return fmt.Errorf("%w: the call ended", journey.ErrNotTalking)
		}
		var de *call.DialError
		if errors.As(err, &de) && de.MissReason() != "unreachable" {
			return fmt.Errorf("%w: supervisor %s did not answer (%s)", ErrSupervisorUnreachable, supervisor, de.MissReason())
		}
		return fmt.Errorf("%w: supervisor %s has no registered phone (%v)", ErrSupervisorUnreachable, supervisor, err)
	}
	return m.ask(j, release, leg, supervisor, mode, by)
}

// Join takes a call the supervisor's phone made (a monitor code) into agent's conversation.
func (m *Monitors) Join(ctx context.Context, leg call.Channel, supervisor string, mode call.MonitorMode, agent, by string) error {
	j := m.Calls.Connected(agent)
	if j == nil {
		return fmt.Errorf("%w: agent %s is not on a call", journey.ErrNotTalking, agent)
	}
	release, err := m.claim(j, supervisor, mode)
	if err != nil {
		return err
	}
	return m.ask(j, release, leg, supervisor, mode, by)
}

// claim checks that supervisor may monitor j in mode and marks j monitored; release undoes
// it if the supervisor's leg never joins.
func (m *Monitors) claim(j *journey.Journey, supervisor string, mode call.MonitorMode) (release func(), err error) {
	if !mode.Valid() {
		return nil, fmt.Errorf("mode %q: use listen, whisper or barge", mode)
	}
	if _, ok := m.Supervisors[supervisor]; !ok {
		return nil, fmt.Errorf("%w %q", ErrUnknownSupervisor, supervisor)
	}
	if _, ok := j.Channel().(call.Monitorer); !ok {
		return nil, ErrCannotMonitor
	}
	if !j.Talks() {
		return nil, journey.ErrNotTalking
	}
	if !j.SetMonitor(&call.Monitoring{Supervisor: supervisor, Mode: mode, Since: time.Now()}, true) {
		return nil, ErrMonitored
	}
	return func() { j.SetMonitor(nil, false) }, nil
}

// ask hands the supervisor's leg to j's conversation.
func (m *Monitors) ask(j *journey.Journey, release func(), leg call.Channel, supervisor string, mode call.MonitorMode, by string) error {
	if err := j.Ask(call.MonitorRequest{Leg: leg, Supervisor: supervisor, By: by, Control: call.NewMonitorControl(mode)}); err != nil {
		release()
		_ = leg.Hangup(call.CauseNormal)
		return err
	}
	return nil
}

// SetMode switches the call's monitoring session to mode.
func (m *Monitors) SetMode(ctx context.Context, callID string, mode call.MonitorMode, by string) (bool, error) {
	s, err := m.session(callID)
	if err != nil {
		return false, err
	}
	if !mode.Valid() {
		return false, fmt.Errorf("mode %q: use listen, whisper or barge", mode)
	}
	return s.set(mode, by), nil
}

// Stop ends the call's monitoring session: the supervisor's phone is hung up.
func (m *Monitors) Stop(ctx context.Context, callID, by string) error {
	s, err := m.session(callID)
	if err != nil {
		return err
	}
	s.stoppedBy(by)
	return s.leg.Hangup(call.CauseNormal)
}

func (m *Monitors) session(callID string) (*monitorSession, error) {
	j := m.Calls.Get(callID)
	if j == nil {
		return nil, fmt.Errorf("%w: %s", ErrNoCall, callID)
	}
	m.mu.Lock()
	s := m.sessions[callID]
	m.mu.Unlock()
	if s == nil || s.j != j {
		return nil, ErrNotMonitored
	}
	return s, nil
}

// monitorSession is one supervisor in one conversation.
type monitorSession struct {
	j          *journey.Journey
	leg        call.Channel
	supervisor string
	by         string
	ctl        *call.MonitorControl
	started    time.Time
	audit      Audit
	log        *slog.Logger

	mu      sync.Mutex
	modes   []string // "listen@0s", "whisper@12s", ...
	stopper string
	ended   bool
	cancel  context.CancelFunc
}

// startMonitor takes the supervisor's leg into the conversation.
func (t *talk) startMonitor(r call.MonitorRequest) {
	if t.monitor != nil { // Start claims the call first, so this is a request that lost a race
		_ = r.Leg.Hangup(call.CauseNormal)
		return
	}
	s := &monitorSession{j: t.j, leg: r.Leg, supervisor: r.Supervisor, by: r.By, ctl: r.Control, started: time.Now(),
		audit: t.cfg.Audit, log: t.log}
	s.modes = []string{string(r.Control.Mode()) + "@0s"}
	kctx, cancel := context.WithCancel(t.ctx)
	s.cancel = cancel
	t.cfg.Monitors.add(t.j.ID(), s)
	t.monitor = s
	t.j.Note("monitored by %s (%s)", s.supervisor, r.Control.Mode())
	t.log.Info("monitoring started", "call", t.j.ID(), "supervisor", s.supervisor, "agent", t.agent.Agent, "mode", r.Control.Mode(), "by", r.By)
	// The API audits the starts it serves (with the token that asked); a supervisor's phone
	// dialing a monitor code is audited here. monitor.end, below, is written for every session.
	if s.audit != nil && strings.HasPrefix(s.by, "phone:") {
		s.audit(context.WithoutCancel(t.ctx), "monitor.start", s.by, t.j.ID(),
			map[string]any{"supervisor": s.supervisor, "agent": t.agent.Agent, "mode": string(r.Control.Mode())})
	}
	go s.keys(kctx)
}

// set changes the mode (from the API or the supervisor's keys).
func (s *monitorSession) set(mode call.MonitorMode, by string) bool {
	if !s.ctl.Set(mode) {
		return false
	}
	s.mu.Lock()
	s.modes = append(s.modes, fmt.Sprintf("%s@%s", mode, time.Since(s.started).Round(time.Second)))
	s.mu.Unlock()
	s.j.SetMonitor(&call.Monitoring{Supervisor: s.supervisor, Mode: mode, Since: s.started}, false)
	s.j.Note("monitor mode %s by %s", mode, by)
	s.log.Info("monitor mode", "call", s.j.ID(), "supervisor", s.supervisor, "mode", mode, "by", by)
	return true
}

func (s *monitorSession) stoppedBy(by string) {
	s.mu.Lock()
	if s.stopper == "" {
		s.stopper = by
	}
	s.mu.Unlock()
}

// keys switches modes by the supervisor's keys: 1 listen, 2 whisper, 3 barge.
func (s *monitorSession) keys(ctx context.Context) {
	for ctx.Err() == nil && s.leg.Context().Err() == nil {
		d, err := s.leg.ReadDigits(ctx, call.DigitOptions{Max: 1, FirstTimeout: time.Minute})
		if err != nil {
			if errors.Is(err, call.ErrTimeout) {
				continue
			}
			return
		}
		switch d {
		case KeyListen:
			s.set(call.Listen, "keys:"+s.supervisor)
		case KeyWhisper:
			s.set(call.Whisper, "keys:"+s.supervisor)
		case KeyBarge:
			s.set(call.Barge, "keys:"+s.supervisor)
		}
	}
}

// endMonitor ends the session (the supervisor hung up, or the conversation ends or moves
// on), hangs up the supervisor's leg and writes the audit.
func (t *talk) endMonitor(why string) {
	s := t.monitor
	if s == nil {
		return
	}
	t.monitor = nil
	s.mu.Lock()
	s.ended = true
	modes, stopper := append([]string(nil), s.modes...), s.stopper
	s.mu.Unlock()
	s.cancel()
	_ = s.leg.Hangup(call.CauseNormal)
	t.cfg.Monitors.remove(t.j.ID(), s)
	t.j.SetMonitor(nil, false)
	took := time.Since(s.started).Round(time.Second)
	mMonitorSessions.WithLabelValues(strings.SplitN(modes[0], "@", 2)[0]).Inc()
	mMonitorSeconds.Add(time.Since(s.started).Seconds())
	t.j.Note("monitoring by %s ended after %s (%s): %s", s.supervisor, took, why, strings.Join(modes, " "))
	t.log.Info("monitoring ended", "call", t.j.ID(), "supervisor", s.supervisor, "duration", took, "why", why, "modes", strings.Join(modes, " "))
	if s.audit != nil {
		detail := map[string]any{"supervisor": s.supervisor, "agent": t.agent.Agent, "modes": modes,
			"duration_s": int(took.Seconds()), "ended": why}
		if stopper != "" {
			detail["stopped_by"] = stopper
		}
		s.audit(context.WithoutCancel(t.ctx), "monitor.end", s.by, t.j.ID(), detail)
	}
}
