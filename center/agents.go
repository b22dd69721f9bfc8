package center

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hotline-cc/hotline/acd"
	"github.com/hotline-cc/hotline/call"
)

// Pause reasons an agent picks by digits after *52 (no digits: break). Other digits are
// kept as "code-<digits>", so a site's own codes still reach reports.
var pauseReasons = map[string]string{
	"": "break", "1": "break", "2": "lunch", "3": "meeting", "4": "training", "5": "admin", "6": "coaching",
}

func pauseReason(digits string) string {
	if r, ok := pauseReasons[digits]; ok {
		return r
	}
	return "code-" + digits
}

// agentIdentity is implemented by channels whose caller authenticated as an agent.
type agentIdentity interface{ Agent() string }

// featureCode runs *50 (log in), *51 (log out), *52[reason] (pause) and *53 (unpause) for an
// authenticated agent and confirms by voice.
func (c *Center) featureCode(ch call.Channel, agent string) {
	ctx := ch.Context()
	if err := ch.Answer(ctx); err != nil {
		return
	}
	dialed := ch.Dialed()
	code, rest := dialed, ""
	if len(dialed) > 3 {
		code, rest = dialed[:3], dialed[3:]
	}
	var acts []acd.Action
	var err error
	var said string
	switch code {
	case "*50":
		acts, err = c.acd.Login(agent)
		said = c.texts.Text("en", "agent_logged_in", "agent", spaced(agent))
	case "*51":
		acts, err = c.acd.Logout(agent)
		said = c.texts.Text("en", "agent_logged_out", "agent", spaced(agent))
	case "*52":
		reason := pauseReason(rest)
		acts, err = c.acd.Pause(agent, reason)
		said = c.texts.Text("en", "agent_paused", "reason", strings.ReplaceAll(reason, "-", " "))
	case "*53":
		acts, err = c.acd.Unpause(agent)
		said = c.texts.Text("en", "agent_available")
	default:
		err = fmt.Errorf("unknown feature code %s", dialed)
	}
	c.room.Apply(acts)
	if err != nil {
		c.log.Info("feature code refused", "agent", agent, "code", dialed, "error", err)
		said = c.texts.Text("en", "agent_code_failed", "reason", c.sentence(err))
	} else {
		c.log.Info("feature code", "agent", agent, "code", dialed)
	}
	if p, perr := c.voice.Say(ctx, "en", said); perr == nil {
		_, _ = ch.Play(ctx, []call.Prompt{p}, call.PlayOptions{})
	}
}

func spaced(s string) string { return strings.Join(strings.Split(s, ""), " ") }

// sentence is why a feature code failed, as the agent hears it.
func (c *Center) sentence(err error) string {
	switch {
	case errors.Is(err, acd.ErrUnknownAgent):
		return c.texts.Text("en", "agent_not_configured")
	}
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 {
		msg = msg[i+2:]
	}
	return msg + "."
}

// onRegistration logs an auto-login agent in when their phone registers, and out when
// their last registration goes away (an unreachable agent must not be offered calls).
func (c *Center) onRegistration(agent string, contacts int) {
	a, ok := c.agentCfg[agent]
	if !ok || c.acd == nil {
		return
	}
	st, err := c.acd.AgentState(agent)
	if err != nil {
		return
	}
	switch {
	case contacts > 0 && a.AutoLogin && st == acd.LoggedOut:
		acts, err := c.acd.Login(agent)
		c.room.Apply(acts)
		c.log.Info("agent auto-login on registration", "agent", agent, "error", err)
	case contacts == 0 && st != acd.LoggedOut:
		acts, err := c.acd.Logout(agent)
		c.room.Apply(acts)
		c.log.Info("agent logged out: phone no longer registered", "agent", agent, "error", err)
	}
}

// loadState restores agent states and queue history from the store. Contacts that were
// waiting died with the process and are dropped (callbacks come back from the store with
// their original arrival); an agent whose call died is put in wrap-up that ends now.
func (c *Center) loadState() error {
	ctx, cancel := context.WithTimeout(c.ctx, 10*time.Second)
	defer cancel()
	b, _, err := c.store.LoadAgentStates(ctx)
	if err != nil || len(b) == 0 {
		return err
	}
	var st acd.State
	if err := json.Unmarshal(b, &st); err != nil {
		return fmt.Errorf("stored agent states: %w", err)
	}
	st.Calls = nil
	for i := range st.Agents {
		a := &st.Agents[i]
		a.OfferedCallID = ""
		if a.Call != nil && a.Call.HungUpAt.IsZero() {
			a.Call.HungUpAt, a.Call.WrapUpUntil = st.At, st.At
		}
	}
	acts, err := c.acd.Restore(st)
	if err != nil {
		return fmt.Errorf("stored agent states: %w", err)
	}
	c.room.Apply(acts)
	c.log.Info("agent states restored", "saved_at", st.At)
	return nil
}

// saveState writes the distributor's state to the store.
func (c *Center) saveState() error {
	b, err := json.Marshal(c.acd.Snapshot())
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.ctx), 10*time.Second)
	defer cancel()
	return c.store.SaveAgentStates(ctx, b)
}

// persist saves state shortly after changes (coalescing bursts) and once more at the end.
func (c *Center) persist(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			if err := c.saveState(); err != nil {
				c.log.Error("saving agent states", "error", err)
			}
			return
		case <-t.C:
			if c.dirty.Swap(false) {
				if err := c.saveState(); err != nil {
					c.log.Error("saving agent states", "error", err)
				}
			}
		}
	}
}
