package acd

import (
	"testing"
	"time"
)

func TestPriorityIsServedBeforeEarlierArrivals(t *testing.T) {
	r := newRig(t, oneQueue(LongestIdle, 1))
	r.enqueue("early", "q")
	r.advance(10 * time.Second)
	r.enqueue("vip", "q", prio(5))
	r.advance(10 * time.Second)
	r.enqueue("later", "q")
	if pos, _, _ := r.d.Position("vip"); pos != 1 {
		t.Fatalf("VIP position = %d, want 1", pos)
	}
	if pos, _, _ := r.d.Position("early"); pos != 2 {
		t.Fatalf("early caller position = %d, want 2", pos)
	}
	wantOffers(t, r.login("a1"), "vip→a1")
	r.serve("vip", "a1", time.Second)
	// back from the call, a1 takes the earliest normal caller
	if got := r.callState("early"); got != CallRinging {
		t.Fatalf("early caller is %s, want ringing", got)
	}
}

// Two queues share one agent: the agent takes whoever waited longest (from original arrival),
// after priority, whichever queue they are in.
func TestAgentInSeveralQueuesTakesTheLongestWaitingCallerAfterPriority(t *testing.T) {
	cfg := Config{
		Queues: []QueueConfig{{Name: "sales"}, {Name: "support"}},
		Agents: []AgentConfig{{ID: "a1", Queues: []string{"sales", "support"}}},
	}
	r := newRig(t, cfg)
	r.enqueue("s1", "support")
	r.advance(time.Second)
	r.enqueue("x1", "sales")
	r.advance(time.Second)
	r.enqueue("s2", "support")
	r.advance(time.Second)
	r.enqueue("x2-vip", "sales", prio(1))

	var order []string
	acts := r.login("a1")
	for range 4 {
		o := offersIn(acts)
		if len(o) != 1 {
			t.Fatalf("want one offer, got %v", acts)
		}
		order = append(order, o[0].CallID)
		acts = r.serve(o[0].CallID, "a1", time.Second)
	}
	want := []string{"x2-vip", "s1", "x1", "s2"}
	if !equal(order, want) {
		t.Fatalf("service order = %v, want %v", order, want)
	}
}

func TestSimultaneousArrivalsAcrossQueuesAreServedInEnqueueOrder(t *testing.T) {
	cfg := Config{
		Queues: []QueueConfig{{Name: "a"}, {Name: "b"}, {Name: "c"}},
		Agents: []AgentConfig{{ID: "x", Queues: []string{"c", "b", "a"}}},
	}
	for range 20 { // deterministic: same answer every time
		r := newRig(t, cfg)
		r.enqueue("1", "b")
		r.enqueue("2", "a")
		r.enqueue("3", "c")
		var order []string
		acts := r.login("x")
		for range 3 {
			o := offersIn(acts)[0]
			order = append(order, o.CallID)
			acts = r.serve(o.CallID, "x", time.Second)
		}
		if !equal(order, []string{"1", "2", "3"}) {
			t.Fatalf("order = %v", order)
		}
	}
}

func TestPriorityRulesAgeWaitingCallers(t *testing.T) {
	cfg := Config{
		Queues: []QueueConfig{{Name: "q", PriorityRules: []PriorityRule{{After: 2 * time.Minute, Priority: 5}}}},
		Agents: agents(1, []string{"q"}, nil),
	}
	r := newRig(t, cfg)
	r.enqueue("old", "q")
	r.advance(30 * time.Second)
	r.enqueue("vip", "q", prio(3))
	if pos, _, _ := r.d.Position("old"); pos != 2 {
		t.Fatalf("before aging: old caller position %d, want 2", pos)
	}
	r.advance(90 * time.Second) // old has waited 2 minutes: priority 5 > 3
	if pos, _, _ := r.d.Position("old"); pos != 1 {
		t.Fatalf("after aging: old caller position %d, want 1", pos)
	}
	wantOffers(t, r.login("a1"), "old→a1")
}
