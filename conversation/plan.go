package conversation

import (
	"fmt"
	"strings"
)

// TargetKind is what a transfer target is.
type TargetKind string

// Target kinds, in the order the dial plan tries them.
const (
	ToAgent  TargetKind = "agent"  // another agent's extension (their agent ID)
	ToQueue  TargetKind = "queue"  // a queue: queue-<name>, or the queue's extension
	ToNumber TargetKind = "number" // an outside number, dialed through the trunk if the policy allows it
)

// Target is where a transfer goes.
type Target struct {
	Kind TargetKind
	Name string // agent ID, queue name, or the number as dialed
}

func (t Target) String() string { return string(t.Kind) + " " + t.Name }

// DialPlan resolves what an agent dials or types as a transfer target:
//
//  1. an agent ID (their extension, e.g. 1002) is that agent;
//  2. queue-<name> (e.g. queue-billing), or a queue's configured extension, is that queue;
//  3. anything else made of digits, with or without a leading +, is an outside number.
//
// Anything else is refused with the reason.
type DialPlan struct {
	Agents     map[string]bool   // agent IDs
	Queues     map[string]bool   // queue names
	Extensions map[string]string // short number -> queue name
}

// Resolve says where target goes.
func (p DialPlan) Resolve(target string) (Target, error) {
	t := strings.TrimSpace(target)
	switch {
	case t == "":
		return Target{}, fmt.Errorf("no transfer target")
	case p.Agents[t]:
		return Target{Kind: ToAgent, Name: t}, nil
	case p.Extensions[t] != "":
		return Target{Kind: ToQueue, Name: p.Extensions[t]}, nil
	}
	if name, ok := strings.CutPrefix(t, "queue-"); ok {
		if p.Queues[name] {
			return Target{Kind: ToQueue, Name: name}, nil
		}
		return Target{}, fmt.Errorf("no queue %q", name)
	}
	digits := strings.TrimPrefix(t, "+")
	if digits != "" && strings.Trim(digits, "0123456789") == "" && len(digits) <= 15 {
		return Target{Kind: ToNumber, Name: t}, nil
	}
	return Target{}, fmt.Errorf("%q is no agent, queue or phone number", truncate(t, 40))
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
