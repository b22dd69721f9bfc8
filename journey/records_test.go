package journey

import (
	"testing"

	"github.com/hotline-cc/hotline/customers"
	"github.com/hotline-cc/hotline/ivr"
)

// A flow that ends without a queue is self-service only if it reached its end: a caller who
// hangs up in the menus (or whom a failing flow loses) was not served.
func TestOutcomeSplitsSelfServiceFromAbandonedInIVR(t *testing.T) {
	r := NewRecords(nil, nil, RecordsConfig{})
	closed := []ivr.Event{{Node: "hours", Step: "hours", Exit: "closed"}}
	for _, tc := range []struct {
		name string
		res  ivr.Result
		q    ivr.QueueResult
		want customers.Outcome
	}{
		{"flow reached its end", ivr.Result{Outcome: ivr.OutcomeCompleted}, ivr.QueueResult{}, customers.OutcomeCompletedInIVR},
		{"hung up in the menus", ivr.Result{Outcome: ivr.OutcomeHangup}, ivr.QueueResult{}, customers.OutcomeAbandonedInIVR},
		{"the flow failed", ivr.Result{Outcome: ivr.OutcomeError}, ivr.QueueResult{}, customers.OutcomeAbandonedInIVR},
		{"hung up on the closed message", ivr.Result{Outcome: ivr.OutcomeHangup, Path: closed}, ivr.QueueResult{}, customers.OutcomeAfterHours},
		{"no agents, then hung up", ivr.Result{Outcome: ivr.OutcomeHangup}, ivr.QueueResult{Exit: ivr.QueueNoAgents, Queue: "support"}, customers.OutcomeNoAgent},
	} {
		got, ok := r.outcome(tc.res, tc.q)
		if !ok || got != tc.want {
			t.Errorf("%s: outcome %q (%v), want %q", tc.name, got, ok, tc.want)
		}
		if got.SelfService() != (tc.want == customers.OutcomeCompletedInIVR) {
			t.Errorf("%s: SelfService() = %v", tc.name, got.SelfService())
		}
	}
}
