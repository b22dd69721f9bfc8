package acd

import (
	"testing"
	"time"
)

func overflowCfg() Config {
	return Config{
		Queues: []QueueConfig{
			{Name: "first", Overflow: Overflow{Queue: "second", After: 30 * time.Second}},
			{Name: "second"},
		},
		Agents: []AgentConfig{
			{ID: "f", Queues: []string{"first"}},
			{ID: "s", Queues: []string{"second"}},
		},
	}
}

func TestOverflowKeepsTheOriginalArrivalTime(t *testing.T) {
	r := newRig(t, overflowCfg())
	r.login("s")
	r.answerAll(r.enqueue("busy", "second")) // s is busy
	r.enqueue("c1", "first")                 // t0: nobody in first
	r.advance(10 * time.Second)
	r.enqueue("c2", "second") // t0+10s
	acts := r.advance(20 * time.Second)
	ov := actionsOf[Overflowed](acts)
	if len(ov) != 1 || ov[0] != (Overflowed{CallID: "c1", From: "first", To: "second"}) {
		t.Fatalf("overflow actions = %v", ov)
	}
	st, _ := r.d.CallStatus("c1")
	if st.Queue != "second" || !st.ArrivedAt.Equal(t0) || st.Position != 1 {
		t.Fatalf("after overflow: %+v; want queue second, arrival t0, position 1 (ahead of c2)", st)
	}
	wantOffers(t, r.hangup("busy"), "c1→s")

	first, _ := r.d.QueueStats("first")
	second, _ := r.d.QueueStats("second")
	if first.Totals.OverflowedOut != 1 || first.Totals.Offered != 1 || second.Totals.Entered != 3 {
		t.Fatalf("first %+v\nsecond %+v", first.Totals, second.Totals)
	}
}

func TestOverflowDueWhileRingingWaitsForTheOfferOutcome(t *testing.T) {
	r := newRig(t, overflowCfg())
	r.advance(20 * time.Second)
	r.enqueue("c1", "first")
	r.advance(25 * time.Second)
	wantOffers(t, r.login("f"), "c1→f") // at 25s in queue
	acts := r.advance(10 * time.Second) // overflow due at 30s, ringing until 40s
	if len(actionsOf[Overflowed](acts)) != 0 {
		t.Fatal("a ringing caller must not be moved")
	}
	acts = r.ok(r.d.OfferFailed("c1", "f", Rejected))
	if ov := actionsOf[Overflowed](acts); len(ov) != 1 {
		t.Fatalf("after the miss the pending overflow applies; actions %v", acts)
	}
}

func TestMaxWaitTimesTheCallerOutAtTheDeadline(t *testing.T) {
	cfg := oneQueue(LongestIdle, 1)
	cfg.Queues[0].MaxWait = 2 * time.Minute
	r := newRig(t, cfg)
	r.enqueue("c1", "q")
	if acts := r.advance(2*time.Minute - time.Nanosecond); len(actionsOf[Timeout](acts)) != 0 {
		t.Fatal("timed out early")
	}
	acts := r.advance(time.Nanosecond)
	to := actionsOf[Timeout](acts)
	if len(to) != 1 || to[0].CallID != "c1" || to[0].Waited != 2*time.Minute {
		t.Fatalf("timeouts = %v", to)
	}
	if r.callState("c1") != "gone" {
		t.Fatal("timed-out caller still in the distributor")
	}
	qs, _ := r.d.QueueStats("q")
	if qs.Totals.TimedOut != 1 || qs.Totals.Offered != 1 || qs.Waiting != 0 {
		t.Fatalf("stats %+v", qs.Totals)
	}
}

// Ticking late does not change outcomes: every timer is processed at its own deadline.
func TestLateTickProcessesTimersAtTheirDeadlines(t *testing.T) {
	cfg := Config{
		Queues: []QueueConfig{{Name: "q", WrapUp: 10 * time.Second}},
		Agents: agents(2, []string{"q"}, nil),
	}
	r := newRig(t, cfg)
	r.login("a1")
	r.advance(time.Second)
	r.login("a2")
	r.answerAll(r.enqueue("c1", "q")) // a1
	r.answerAll(r.enqueue("c2", "q")) // a2
	r.advance(5 * time.Second)
	r.hangup("c2") // a2 wraps until +15s
	r.advance(2 * time.Second)
	r.hangup("c1") // a1 wraps until +17s
	r.enqueue("c3", "q")
	acts := r.advance(time.Hour) // one very late tick
	o := offersIn(acts)[0]
	if o.AgentID != "a2" {
		t.Fatalf("first offer to %s, want a2 (its wrap-up ended first)", o.AgentID)
	}
	if want := t0.Add(time.Second + 5*time.Second + 10*time.Second); !o.Deadline.Equal(want.Add(DefaultRingTimeout)) {
		t.Fatalf("offer made at %v, want at a2's wrap-up end %v", o.Deadline.Add(-DefaultRingTimeout), want)
	}
	// The offers made at their virtual times also timed out during the same late tick, the caller
	// going from one agent to the other until both were paused after two misses each.
	if c := actionsOf[CancelOffer](acts); len(c) != 4 || c[0].Reason != CancelRingTimeout {
		t.Fatalf("want 4 ring timeouts, got %v", acts)
	}
	r.wantState("a1", Paused)
	r.wantState("a2", Paused)
	if r.callState("c3") != CallWaiting {
		t.Fatal("the caller must still be waiting")
	}
}

func TestNextDeadlineSkipsDeadTimers(t *testing.T) {
	cfg := oneQueue(LongestIdle, 1)
	cfg.Queues[0].MaxWait = time.Minute
	r := newRig(t, cfg)
	if _, ok := r.d.NextDeadline(); ok {
		t.Fatal("no timers yet")
	}
	r.enqueue("c1", "q")
	if at, ok := r.d.NextDeadline(); !ok || !at.Equal(t0.Add(time.Minute)) {
		t.Fatalf("next deadline %v %v", at, ok)
	}
	r.ok(r.d.Abandon("c1"))
	if at, ok := r.d.NextDeadline(); ok {
		t.Fatalf("abandoned caller's timer still reported: %v", at)
	}
}
