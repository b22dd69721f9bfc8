package center

import (
	"context"
	"strings"
	"time"

	"github.com/hotline-cc/hotline/call"
	"github.com/hotline-cc/hotline/config"
	"github.com/hotline-cc/hotline/customers"
	"github.com/hotline-cc/hotline/journey"
)

// tapes keeps conversation recordings in the customer store (conversation.Tapes): the
// driver writes into the store's incoming directory, and the finished file is checksummed,
// put on the contact's timeline and given its queue's retention.
type tapes struct {
	store  *customers.Store
	retain func(queue string) int
}

func (t tapes) Begin(ctx context.Context, j *journey.Journey, queue string) (string, func(call.RecordedCall, []string) error, error) {
	p, err := t.store.BeginCallRecording(ctx, customers.CallRecordingMeta{
		CallID: j.ID(), ContactID: j.ContactID(), CustomerID: j.Live().CustomerID, Queue: queue, RetainDays: t.retain(queue),
	})
	if err != nil {
		return "", nil, err
	}
	save := func(rc call.RecordedCall, agents []string) error {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if rc.Path == "" {
			return p.Abort()
		}
		_, err := p.Finish(sctx, customers.FinishedRecording{Duration: rc.Duration, Paused: rc.Paused, Incomplete: rc.Incomplete, Agents: agents})
		return err
	}
	return p.Path(), save, nil
}

// retainDays is each queue's recordings retention in days (0: the store's).
func retainDays(cfg config.Config) func(queue string) int {
	m := map[string]int{}
	for _, q := range cfg.Queues {
		m[q.Name] = q.Recording.RetainDays
	}
	return func(queue string) int { return m[queue] }
}

// audit writes what supervisors, agents and integrations did to calls (conversation.Audit).
// actor is "<role>:<token ID>" from the API, "phone:<supervisor>" or "keys:<supervisor>"
// from a supervisor's phone, "policy" for the queue's policy, else an agent's ID (their
// phone's keys). The entry's source is "phone", "system", or "api" for what the API asked
// (the API's own entry for the request holds the client's IP).
func (c *Center) audit(ctx context.Context, action, actor, object string, detail map[string]any) {
	role, id, ok := strings.Cut(actor, ":")
	from := "api" // the API wrote its own entry with the client's address
	switch {
	case actor == "policy":
		role, id, from = "system", "policy", "system"
	case !ok:
		role, id, from = "agent", actor, "phone"
	case role == "phone" || role == "keys":
		role, id, from = "supervisor", actor, "phone"
	}
	if err := c.store.Audit(ctx, customers.AuditEntry{At: time.Now(), Actor: id, Role: role, Action: action, Object: object, From: from, Detail: detail}); err != nil {
		c.log.Error("audit not written", "action", action, "object", object, "error", err)
	}
}
