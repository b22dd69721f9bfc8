// Package agents is the agents' side of the center outside the distributor: the feature codes
// agents dial from their phones (*50 log in, *51 log out, *52[reason] pause, *53 unpause) with a
// spoken confirmation, logging agents in and out as their phones register and go away, and
// the agent states kept across restarts in the store. The distributor decides what a state
// change means; this package only asks it and says so. It rings no one.
package agents

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hotline-cc/hotline/acd"
	"github.com/hotline-cc/hotline/call"
	"github.com/hotline-cc/hotline/customers"
	"github.com/hotline-cc/hotline/prompts"
)

// Config is what the desk works with.
type Config struct {
	Distributor acd.Engine
	Store       *customers.Store // where agent states are kept across restarts
	Voice       prompts.Speaker
	Texts       *prompts.Texts // nil: the shipped texts
	// AutoLogin lists the agents logged in when their phone registers.
	AutoLogin map[string]bool
	Log       *slog.Logger
}

// Desk carries out agents' own requests and keeps their states.
type Desk struct {
	cfg   Config
	d     acd.Engine
	log   *slog.Logger
	dirty atomic.Bool // agent states changed since last saved
}

// New makes a desk.
func New(cfg Config) *Desk {
	if cfg.Texts == nil {
		cfg.Texts = prompts.ShippedTexts()
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	return &Desk{cfg: cfg, d: cfg.Distributor, log: cfg.Log}
}

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

// Identity is implemented by channels whose caller authenticated as an agent.
type Identity interface{ Agent() string }

// FeatureCode runs *50 (log in), *51 (log out), *52[reason] (pause) and *53 (unpause) for an
// authenticated agent and confirms by voice; apply carries out the distributor's actions.
func (k *Desk) FeatureCode(ch call.Channel, agent string, apply func([]acd.Action)) {
	ctx := ch.Context()
	if err := ch.Answer(ctx); err != nil {
		return
	}
	tx := k.cfg.Texts
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
		acts, err = k.d.Login(agent)
		said = tx.Text("en", "agent_logged_in", "agent", spaced(agent))
	case "*51":
		acts, err = k.d.Logout(agent)
		said = tx.Text("en", "agent_logged_out", "agent", spaced(agent))
	case "*52":
		reason := pauseReason(rest)
		acts, err = k.d.Pause(agent, reason)
		said = tx.Text("en", "agent_paused", "reason", strings.ReplaceAll(reason, "-", " "))
	case "*53":
		acts, err = k.d.Unpause(agent)
		said = tx.Text("en", "agent_available")
	default:
		err = fmt.Errorf("unknown feature code %s", dialed)
	}
	apply(acts)
	if err != nil {
		k.log.Info("feature code refused", "agent", agent, "code", dialed, "error", err)
		said = tx.Text("en", "agent_code_failed", "reason", k.sentence(err))
	} else {
		k.log.Info("feature code", "agent", agent, "code", dialed)
	}
	if p, perr := k.cfg.Voice.Say(ctx, "en", said); perr == nil {
		_, _ = ch.Play(ctx, []call.Prompt{p}, call.PlayOptions{})
	}
}

func spaced(s string) string { return strings.Join(strings.Split(s, ""), " ") }

// sentence is why a feature code failed, as the agent hears it.
func (k *Desk) sentence(err error) string {
	if errors.Is(err, acd.ErrUnknownAgent) {
		return k.cfg.Texts.Text("en", "agent_not_configured")
	}
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 {
		msg = msg[i+2:]
	}
	return msg + "."
}

// Registered logs an auto-login agent in when their phone registers, and out when their last
// registration goes away (an unreachable agent must not be offered calls).
func (k *Desk) Registered(agent string, contacts int, apply func([]acd.Action)) {
	st, err := k.d.AgentState(agent)
	if err != nil {
		return
	}
	switch {
	case contacts > 0 && k.cfg.AutoLogin[agent] && st == acd.LoggedOut:
		acts, err := k.d.Login(agent)
		apply(acts)
		k.log.Info("agent auto-login on registration", "agent", agent, "error", err)
	case contacts == 0 && st != acd.LoggedOut:
		acts, err := k.d.Logout(agent)
		apply(acts)
		k.log.Info("agent logged out: phone no longer registered", "agent", agent, "error", err)
	}
}

// Changed notes that agent states changed (they are saved shortly after).
func (k *Desk) Changed() { k.dirty.Store(true) }

// Restore puts back agent states and queue history from the store. Contacts that were waiting
// died with the process and are dropped (callbacks come back from the store with their
// original arrival); an agent whose call died is put in wrap-up that ends now.
func (k *Desk) Restore(ctx context.Context, apply func([]acd.Action)) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	b, _, err := k.cfg.Store.LoadAgentStates(ctx)
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
	acts, err := k.d.Restore(st)
	if err != nil {
		return fmt.Errorf("stored agent states: %w", err)
	}
	apply(acts)
	k.log.Info("agent states restored", "saved_at", st.At)
	return nil
}

// save writes the distributor's state to the store.
func (k *Desk) save(ctx context.Context) error {
	b, err := json.Marshal(k.d.Snapshot())
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	return k.cfg.Store.SaveAgentStates(ctx, b)
}

// Persist saves states shortly after changes (coalescing bursts) and once more at the end.
func (k *Desk) Persist(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			if err := k.save(ctx); err != nil {
				k.log.Error("saving agent states", "error", err)
			}
			return
		case <-t.C:
			if k.dirty.Swap(false) {
				if err := k.save(ctx); err != nil {
					k.log.Error("saving agent states", "error", err)
				}
			}
		}
	}
}
