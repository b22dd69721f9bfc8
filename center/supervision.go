package center

import (
	"strings"

	"github.com/hotline-cc/hotline/agents"
	"github.com/hotline-cc/hotline/call"
	"github.com/hotline-cc/hotline/config"
	"github.com/hotline-cc/hotline/conversation"
	"github.com/hotline-cc/hotline/journey"
)

// What the configuration says about recording conversations and monitoring them; the
// Recorder and Monitors of package conversation carry it out.

// recordingPolicies is each queue's recording policy.
func recordingPolicies(cfg config.Config) func(queue string) string {
	m := map[string]string{}
	for _, q := range cfg.Queues {
		m[q.Name] = q.Recording.RecordPolicy()
	}
	return func(queue string) string { return m[queue] }
}

// consentAnnouncements is what callers joining each queue hear before an agent, if anything.
func consentAnnouncements(cfg config.Config) func(queue string) (string, bool) {
	type consent struct {
		prompt string
		on     bool
	}
	m := map[string]consent{}
	for _, q := range cfg.Queues {
		m[q.Name] = consent{q.Recording.ConsentPrompt, q.Recording.AnnounceConsent()}
	}
	return func(queue string) (string, bool) { c := m[queue]; return c.prompt, c.on }
}

// supervisorNames is the configured supervisors, ID -> name.
func supervisorNames(cfg config.Config) map[string]string {
	m := map[string]string{}
	for _, s := range cfg.Supervisors {
		m[s.ID] = s.Name
	}
	return m
}

// flowObserver is what flows tell the center as they run: the node each call is in (the
// live view) and while sensitive input runs (the recording holds silence).
type flowObserver struct {
	journey.Nodes
	rec *conversation.Recorder
}

func (o flowObserver) Sensitive(callID string, on bool) { o.rec.Sensitive(callID, on) }

// Monitor feature codes a supervisor's phone dials: *81, *82 or *83 and the agent's
// extension, e.g. *811001 listens to agent 1001's call.
var monitorCodes = map[string]call.MonitorMode{"*81": call.Listen, "*82": call.Whisper, "*83": call.Barge}

// supervisorCall handles a feature code from a supervisor's phone: a monitor code joins it
// to the agent's call. It reports false when ch is not a supervisor's code (a supervisor
// calling the hotline goes through the flow like anyone).
func (c *Center) supervisorCall(ch call.Channel) bool {
	id, ok := ch.(agents.Identity)
	if !ok || id.Agent() == "" || !strings.HasPrefix(ch.Dialed(), "*") {
		return false
	}
	sup := id.Agent()
	if _, ok := c.monitors.Supervisors[sup]; !ok {
		return false
	}
	dialed := ch.Dialed()
	mode, known := call.MonitorMode(""), false
	if len(dialed) > 3 {
		mode, known = monitorCodes[dialed[:3]]
	}
	if !known {
		c.log.Info("supervisor phone dialed no monitor code", "supervisor", sup, "dialed", dialed)
		_ = ch.Hangup(call.CauseRejected)
		return true
	}
	c.monitorFromPhone(ch, sup, mode, strings.TrimSpace(dialed[3:]))
	return true
}

// monitorFromPhone joins the supervisor's own call to agent's conversation, or tells them
// why not; it returns when the supervisor's call has ended.
func (c *Center) monitorFromPhone(ch call.Channel, sup string, mode call.MonitorMode, agent string) {
	if err := ch.Answer(ch.Context()); err != nil {
		return
	}
	err := c.monitors.Join(ch.Context(), ch, sup, mode, agent, "phone:"+sup)
	if err != nil {
		c.log.Info("monitor from a supervisor's phone refused", "supervisor", sup, "agent", agent, "error", err)
		if p, perr := c.voice.Say(ch.Context(), "en", c.texts.Text("en", "monitor_failed", "reason", err.Error()+".")); perr == nil {
			_, _ = ch.Play(ch.Context(), []call.Prompt{p}, call.PlayOptions{})
		}
		_ = ch.Hangup(call.CauseNormal)
		return
	}
	<-ch.Context().Done()
}
