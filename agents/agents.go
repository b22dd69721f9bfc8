// Package agents is the agents' side of the center outside the distributor: the feature codes
// agents dial from their phones (*50 log in, *51 log out, *52[reason] pause, *53 unpause) with a
// spoken confirmation, logging agents in and out as their phones register and go away, and
// the agent states kept across restarts in the store. The distributor decides what a state
// change means; this package only asks it and says so. It rings no one.
package agents

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
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

	mu     sync.Mutex        // saves
	saved  map[string][]byte // agent ID -> its record as the store has it (saved or restored)
	savedQ map[string][]byte // queue name -> its history as the store has it
}

// New makes a desk.
func New(cfg Config) *Desk {
	if cfg.Texts == nil {
		cfg.Texts = prompts.ShippedTexts()
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	k := &Desk{cfg: cfg, d: cfg.Distributor, log: cfg.Log}
	k.saved, k.savedQ = map[string][]byte{}, map[string][]byte{}
	if k.d != nil {
		// What the distributor starts with (everyone logged out) is not saved over what
		// another node saved: only changes are.
		k.rebase(k.d.Snapshot())
	}
	return k
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

// Changed notes that agent states changed (the center calls it on every AgentStateChanged);
// the agents whose records changed are saved shortly after.
func (k *Desk) Changed() { k.dirty.Store(true) }

// queueEvery is how often queue history is saved (and agents' records compared even when no
// state change was reported: a log-in to one more queue, a count).
const queueEvery = 10 * time.Second

// Restore puts back agent states and queue history from the store, each agent as it was last
// saved by whichever node saved it. Contacts that were waiting died with the process and are
// dropped (callbacks come back from the store with their original arrival); an agent whose
// call died is put in wrap-up that ends at once; a contact being offered stays with no one.
// Records of agents or queues the configuration no longer has are skipped with a warning.
func (k *Desk) Restore(ctx context.Context, apply func([]acd.Action)) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	agents, queues, err := k.cfg.Store.LoadStates(ctx)
	if err != nil {
		return err
	}
	if len(agents) == 0 && len(queues) == 0 {
		return nil
	}
	var st acd.State
	for _, r := range agents {
		var a acd.AgentRecord
		if err := json.Unmarshal(r.Data, &a); err != nil {
			k.log.Warn("stored agent state is not readable; the agent starts logged out", "agent", r.ID, "error", err)
			continue
		}
		a.OfferedCallID = ""
		if a.Call != nil && a.Call.HungUpAt.IsZero() {
			// The call died with the process: it ended when last saved, and so does its
			// wrap-up. The time on call until then counts as on call.
			a.Call.HungUpAt, a.Call.WrapUpUntil = r.SavedAt, r.SavedAt
			if a.State == acd.OnCall {
				if a.TimeInState == nil {
					a.TimeInState = map[acd.AgentState]time.Duration{}
				}
				if !a.Since.IsZero() && r.SavedAt.After(a.Since) {
					a.TimeInState[acd.OnCall] += r.SavedAt.Sub(a.Since)
				}
				a.State, a.Since = acd.WrapUp, r.SavedAt
			}
		}
		if r.SavedAt.After(st.At) {
			st.At = r.SavedAt
		}
		st.Agents = append(st.Agents, a)
	}
	for _, r := range queues {
		var q acd.QueueRecord
		if err := json.Unmarshal(r.Data, &q); err != nil {
			k.log.Warn("stored queue history is not readable; the queue starts afresh", "queue", r.ID, "error", err)
			continue
		}
		st.Queues = append(st.Queues, q)
	}
	acts, err := k.d.Restore(st)
	apply(acts)
	if err != nil && (!errors.Is(err, acd.ErrRestoreSkipped) || errors.Is(err, acd.ErrNotFresh)) {
		return fmt.Errorf("stored agent states: %w", err)
	}
	if err != nil {
		k.log.Warn("agent states restored in part", "error", err)
	}
	k.mu.Lock()
	k.rebase(k.d.Snapshot())
	k.mu.Unlock()
	k.log.Info("agent states restored", "agents", len(st.Agents), "queues", len(st.Queues), "saved_at", st.At)
	return nil
}

// rebase takes s as what the store has: only what changes from it is saved.
func (k *Desk) rebase(s acd.State) {
	k.saved, k.savedQ = map[string][]byte{}, map[string][]byte{}
	for _, a := range s.Agents {
		if b, err := json.Marshal(a); err == nil {
			k.saved[a.ID] = b
		}
	}
	for _, q := range s.Queues {
		if b, err := json.Marshal(q); err == nil {
			k.savedQ[q.Name] = b
		}
	}
}

// save writes to the store the agents whose records changed since they were last saved (or
// restored), and with queues the queues' history that changed, in one transaction. Agents
// this node did not change are not written: another node's saves of them stay.
func (k *Desk) save(ctx context.Context, queues bool) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	snap := k.d.Snapshot()
	var agents, qs []customers.StateRecord
	for _, a := range snap.Agents {
		b, err := json.Marshal(a)
		if err != nil {
			return err
		}
		if !bytes.Equal(b, k.saved[a.ID]) {
			agents = append(agents, customers.StateRecord{ID: a.ID, Data: b})
		}
	}
	if queues {
		for _, q := range snap.Queues {
			b, err := json.Marshal(q)
			if err != nil {
				return err
			}
			if !bytes.Equal(b, k.savedQ[q.Name]) {
				qs = append(qs, customers.StateRecord{ID: q.Name, Data: b})
			}
		}
	}
	if len(agents) == 0 && len(qs) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := k.cfg.Store.SaveStates(ctx, agents, qs); err != nil {
		return err
	}
	for _, r := range agents {
		k.saved[r.ID] = r.Data
	}
	for _, r := range qs {
		k.savedQ[r.ID] = r.Data
	}
	return nil
}

// Persist saves the agents that changed shortly after a change (coalescing bursts), queue
// history every queueEvery, and everything that changed once more at the end.
func (k *Desk) Persist(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	lastQueues := time.Now()
	for {
		select {
		case <-ctx.Done():
			if err := k.save(ctx, true); err != nil {
				k.log.Error("saving agent states", "error", err)
			}
			return
		case now := <-t.C:
			full := now.Sub(lastQueues) >= queueEvery
			if !k.dirty.Swap(false) && !full {
				continue
			}
			if full {
				lastQueues = now
			}
			if err := k.save(ctx, full); err != nil {
				k.dirty.Store(true) // try again
				k.log.Error("saving agent states", "error", err)
			}
		}
	}
}
