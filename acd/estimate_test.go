package acd

import (
	"testing"
	"time"
)

func TestPositionAndEstimatedWaitMoveWithTheQueue(t *testing.T) {
	r := newRig(t, oneQueue(LongestIdle, 3)) // default handle time 3m until calls are handled
	r.login("a1")
	r.login("a2")
	r.answerAll(r.enqueue("busy1", "q"))
	r.answerAll(r.enqueue("busy2", "q"))
	for _, id := range []string{"c1", "c2", "c3", "c4"} {
		r.enqueue(id, "q")
	}
	want := func(id string, pos int, ewt time.Duration) {
		t.Helper()
		p, w, ok := r.d.Position(id)
		if !ok || p != pos || w != ewt {
			t.Fatalf("%s: position %d, estimate %v (ok %v); want %d, %v", id, p, w, ok, pos, ewt)
		}
	}
	// Two agents, each expected free 3m after answering: c1 and c2 at 3m, c3 and c4 at 6m.
	want("c1", 1, 3*time.Minute)
	want("c2", 2, 3*time.Minute)
	want("c3", 3, 6*time.Minute)
	want("c4", 4, 6*time.Minute)
	// Time passes during the calls in progress: every estimate falls.
	r.advance(time.Minute)
	want("c1", 1, 2*time.Minute)
	want("c3", 3, 5*time.Minute)
	// A caller ahead leaves: those behind move up.
	r.ok(r.d.Abandon("c1"))
	want("c2", 1, 2*time.Minute)
	want("c3", 2, 2*time.Minute)
	want("c4", 3, 5*time.Minute)
	// An agent logs in and is offered c2: c3 is next, served when the first call ends.
	wantOffers(t, r.login("a3"), "c2→a3")
	want("c3", 2, 2*time.Minute) // position counts c2, still being rung
	want("c4", 3, 2*time.Minute)
	// Handled calls teach the estimate: two 1-minute calls (mean with nothing else: 1m).
	r.answerAll([]Action{Offer{CallID: "c2", AgentID: "a3"}})
	r.hangup("busy1") // 1m talk; a1 takes c3
	r.answerAll([]Action{Offer{CallID: "c3", AgentID: "a1"}})
	r.hangup("busy2") // 1m talk; a2 takes c4
	qs, _ := r.d.QueueStats("q")
	if qs.HandleTimeEstimate != time.Minute {
		t.Fatalf("handle time estimate %v, want 1m", qs.HandleTimeEstimate)
	}
	r.enqueue("c5", "q")
	// a2 rung for c4 (expected free in 1m), a1 and a3 just answered (1m each): c5 waits 1m.
	want("c5", 2, time.Minute)
	// No agent staffed: the estimate is unknown.
	r2 := newRig(t, oneQueue(LongestIdle, 1))
	r2.enqueue("x", "q")
	if _, w, _ := r2.d.Position("x"); w != UnknownWait {
		t.Fatalf("no staff: estimate %v, want UnknownWait", w)
	}
}

func TestAnnouncementsAreDueEveryIntervalWhileWaiting(t *testing.T) {
	cfg := oneQueue(LongestIdle, 1)
	cfg.Queues[0].AnnounceInterval = 30 * time.Second
	r := newRig(t, cfg)
	r.login("a1")
	r.answerAll(r.enqueue("busy", "q"))
	r.enqueue("c1", "q")
	r.advance(29 * time.Second)
	acts := r.advance(time.Second)
	an := actionsOf[Announce](acts)
	if len(an) != 1 || an[0].CallID != "c1" || an[0].Position != 1 || an[0].EstimatedWait != 2*time.Minute+30*time.Second {
		t.Fatalf("announcements %v", an)
	}
	if an := actionsOf[Announce](r.advance(30 * time.Second)); len(an) != 1 || an[0].EstimatedWait != 2*time.Minute {
		t.Fatalf("second announcement %v", an)
	}
	r.hangup("busy") // c1 is rung: no announcement while ringing
	if an := actionsOf[Announce](r.advance(30 * time.Second)); len(an) != 0 {
		t.Fatalf("announced while ringing: %v", an)
	}
	r.ok(r.d.Abandon("c1"))
	if an := actionsOf[Announce](r.advance(time.Hour)); len(an) != 0 {
		t.Fatalf("announced after leaving: %v", an)
	}
}

func TestCallbackOfferIsDueAfterTheConfiguredWait(t *testing.T) {
	cfg := oneQueue(LongestIdle, 1)
	cfg.Queues[0].Callback = CallbackPolicy{After: time.Minute, MinEstimatedWait: 2 * time.Minute, Repeat: time.Minute}
	r := newRig(t, cfg)
	r.login("a1")
	r.answerAll(r.enqueue("busy", "q"))
	r.enqueue("c1", "q")
	if cb := actionsOf[OfferCallback](r.advance(59 * time.Second)); len(cb) != 0 {
		t.Fatal("offered early")
	}
	cb := actionsOf[OfferCallback](r.advance(time.Second))
	if len(cb) != 1 || cb[0].CallID != "c1" || cb[0].Waited != time.Minute || cb[0].EstimatedWait != 2*time.Minute {
		t.Fatalf("callback offers %v", cb)
	}
	// A minute later the estimate (1m) is under the threshold: no offer.
	if cb := actionsOf[OfferCallback](r.advance(time.Minute)); len(cb) != 0 {
		t.Fatalf("offered below the threshold: %v", cb)
	}
}

func TestCallbackKeepsTheCallersPlaceAndIsRoutedLikeACaller(t *testing.T) {
	cfg := oneQueue(LongestIdle, 1)
	cfg.Queues[0].MaxWait = 5 * time.Minute
	cfg.Queues[0].AnnounceInterval = time.Minute
	r := newRig(t, cfg)
	r.enqueue("alice", "q", prio(1))
	r.advance(10 * time.Second)
	r.enqueue("bob", "q", prio(1))
	r.advance(10 * time.Second)
	r.ok(r.d.ConvertToCallback("alice"))
	st, _ := r.d.CallStatus("alice")
	if st.Kind != KindCallback || st.Position != 1 || !st.ArrivedAt.Equal(t0) || st.Priority != 1 {
		t.Fatalf("callback lost its place: %+v", st)
	}
	// No max-wait timeout and no announcements for a callback.
	acts := r.advance(10 * time.Minute)
	if to := actionsOf[Timeout](acts); len(to) != 1 || to[0].CallID != "bob" {
		t.Fatalf("timeouts %v: only bob's max wait applies", to)
	}
	for _, a := range actionsOf[Announce](acts) {
		if a.CallID == "alice" {
			t.Fatal("a callback was announced")
		}
	}
	acts = r.login("a1")
	o := offersIn(acts)
	if len(o) != 1 || o[0].CallID != "alice" || o[0].Kind != KindCallback {
		t.Fatalf("offers %v", o)
	}
	r.answerAll(acts)
	qs, _ := r.d.QueueStats("q")
	c := qs.Totals
	if c.ConvertedToCallback != 1 || c.CallbacksAnswered != 1 || c.Answered != 0 || c.Abandoned != 0 || c.Offered != 2 {
		t.Fatalf("counters %+v", c)
	}
	if _, err := r.d.ConvertToCallback("alice"); err == nil {
		t.Fatal("converting a connected call must fail")
	}
}

func TestConvertingARingingCallerCancelsTheOfferAndReoffersTheCallback(t *testing.T) {
	r := newRig(t, oneQueue(LongestIdle, 1))
	r.login("a1")
	r.enqueue("c1", "q")
	acts := r.ok(r.d.ConvertToCallback("c1"))
	if c := actionsOf[CancelOffer](acts); len(c) != 1 || c[0].Reason != CancelCallback {
		t.Fatalf("actions %v", acts)
	}
	o := offersIn(acts)
	if len(o) != 1 || o[0].AgentID != "a1" || o[0].Kind != KindCallback {
		t.Fatalf("the callback must be offered again: %v", acts)
	}
}
