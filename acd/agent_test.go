package acd

import (
	"encoding/json"
	"testing"
	"time"
)

func TestInvalidTransitionsAreRefusedWithAClearError(t *testing.T) {
	r := newRig(t, oneQueue(LongestIdle, 1))
	_, err := r.d.Pause("a1", "lunch")
	wantErr(t, err, ErrInvalidTransition, `"a1"`, "not logged in")
	_, err = r.d.Unpause("a1")
	wantErr(t, err, ErrInvalidTransition, "logged-out, not paused")
	_, err = r.d.Logout("a1")
	wantErr(t, err, ErrInvalidTransition, "not logged in")
	r.login("a1")
	_, err = r.d.Login("a1")
	wantErr(t, err, ErrInvalidTransition, "already logged in")
	_, err = r.d.Pause("a1", "")
	wantErr(t, err, ErrInvalidTransition, "reason")
	_, err = r.d.Login("nobody")
	wantErr(t, err, ErrUnknownAgent, `"nobody"`)
	_, err = r.d.Answered("c1", "a1")
	wantErr(t, err, ErrUnknownCall, `"c1"`)
	r.enqueue("c1", "q")
	_, err = r.d.Hangup("c1")
	wantErr(t, err, ErrNotConnected, `"c1"`, "Abandon")
	r.answerAll([]Action{Offer{CallID: "c1", AgentID: "a1"}})
	_, err = r.d.Abandon("c1")
	wantErr(t, err, ErrNotWaiting, "Hangup")
	_, err = r.d.OfferFailed("c1", "a1", NoAnswer)
	wantErr(t, err, ErrNoOffer, "on-call")
	_, err = r.d.OfferFailed("c1", "a1", "eaten-by-grue")
	if err == nil {
		t.Fatal("unknown miss reason accepted")
	}
	cfg := Config{Queues: []QueueConfig{{Name: "q"}, {Name: "other"}}, Agents: agents(1, []string{"q"}, nil)}
	r2 := newRig(t, cfg)
	_, err = r2.d.Login("a1", "other")
	wantErr(t, err, ErrNotMember, `"other"`)
	r2.wantState("a1", LoggedOut)
}

func TestRingTimeoutMovesTheCallerOnAndKeepsTheirPlace(t *testing.T) {
	r := newRig(t, oneQueue(LongestIdle, 2))
	r.loginStaggered("a1", "a2")
	r.ok(r.d.Pause("a2", "coffee"))
	wantOffers(t, r.enqueue("c1", "q"), "c1→a1")
	r.advance(time.Second)
	r.enqueue("c2", "q")
	acts := r.ok(r.d.Unpause("a2")) // a2 takes c2 (c1 is being rung)
	wantOffers(t, acts, "c2→a2")
	r.answerAll(acts)
	acts = r.advance(DefaultRingTimeout)
	if c := actionsOf[CancelOffer](acts); len(c) != 1 || c[0] != (CancelOffer{CallID: "c1", AgentID: "a1", Reason: CancelRingTimeout}) {
		t.Fatalf("ring timeout must cancel the offer: %v", acts)
	}
	// c1 is back at the head of the queue; a1 is skipped for c1 for the retry delay.
	if st, _ := r.d.CallStatus("c1"); st.State != CallWaiting || st.Position != 1 {
		t.Fatalf("c1 = %+v", st)
	}
	r.wantState("a1", Available)
	r.enqueue("c3", "q")
	wantOffers(t, r.hangup("c2"), "c1→a2") // next agent, c1 before c3
}

func TestMissesAreCountedByReasonAndPauseAfterConsecutiveMisses(t *testing.T) {
	r := newRig(t, oneQueue(LongestIdle, 1))
	r.login("a1")
	r.enqueue("c1", "q")
	r.ok(r.d.OfferFailed("c1", "a1", Busy))
	r.wantState("a1", Available)
	r.enqueue("c2", "q") // c1 excludes a1 for the retry delay, so c2 is offered
	acts := r.ok(r.d.OfferFailed("c2", "a1", Unreachable))
	r.wantState("a1", Paused)
	changes := actionsOf[AgentStateChanged](acts)
	if last := changes[len(changes)-1]; last.To != Paused || last.Reason != PauseReasonNoAnswer {
		t.Fatalf("want a no-answer pause notification, got %v", changes)
	}
	st, _ := r.d.Agent("a1")
	if st.Misses != (MissCounts{Busy: 1, Unreachable: 1}) || st.PauseReason != "no-answer" {
		t.Fatalf("status %+v", st)
	}
	// Unpausing clears the run of misses: one more miss does not pause again.
	r.ok(r.d.Unpause("a1"))
	acts = r.advance(DefaultRetryDelay) // the retry delay is over: c1 is offered again
	wantOffers(t, acts, "c1→a1")
	acts = r.ok(r.d.OfferFailed("c1", "a1", Rejected))
	wantOffers(t, acts, "c2→a1") // not paused: one miss since the unpause
	if st, _ := r.d.Agent("a1"); st.ConsecutiveMisses != 1 || st.Misses.Rejected != 1 {
		t.Fatalf("status %+v", st)
	}
}

func TestAnsweringResetsTheRunOfMisses(t *testing.T) {
	r := newRig(t, oneQueue(LongestIdle, 1))
	r.login("a1")
	r.enqueue("c1", "q")
	r.advance(DefaultRingTimeout) // miss 1
	r.enqueue("c2", "q")
	r.answerAll([]Action{Offer{CallID: "c2", AgentID: "a1"}})
	r.hangup("c2")
	// a1 is free: c1 is offered again once its retry delay is over, and missed: 1 in a row.
	wantOffers(t, r.advance(DefaultRetryDelay), "c1→a1")
	r.advance(DefaultRingTimeout)
	r.wantState("a1", Available)
	st, _ := r.d.Agent("a1")
	if st.Misses.NoAnswer != 2 || st.ConsecutiveMisses != 1 {
		t.Fatalf("misses %+v consecutive %d", st.Misses, st.ConsecutiveMisses)
	}
}

func TestMaxMissesIsConfigurableAndCanBeDisabled(t *testing.T) {
	for _, tc := range []struct {
		max   int
		pause int // misses after which the agent is paused; 0: never
	}{{3, 3}, {-1, 0}, {0, 2}} {
		cfg := oneQueue(LongestIdle, 1)
		cfg.MaxMisses = tc.max
		r := newRig(t, cfg)
		r.login("a1")
		for i := 1; i <= 5; i++ {
			id := string(rune('a' + i))
			r.enqueue(id, "q")
			r.ok(r.d.OfferFailed(id, "a1", NoAnswer))
			paused := r.state("a1") == Paused
			if want := tc.pause != 0 && i >= tc.pause; paused != want {
				t.Fatalf("MaxMisses %d: after %d misses paused=%v, want %v", tc.max, i, paused, want)
			}
			if paused {
				break
			}
		}
	}
}

func TestWrapUpUsesTheQueueOfTheCallHandledAndNeverEndsEarly(t *testing.T) {
	cfg := Config{
		Queues: []QueueConfig{{Name: "short", WrapUp: 5 * time.Second}, {Name: "long", WrapUp: time.Minute}},
		Agents: []AgentConfig{{ID: "a1", Queues: []string{"short", "long"}}},
	}
	r := newRig(t, cfg)
	r.login("a1")
	r.answerAll(r.enqueue("c1", "long"))
	r.advance(time.Minute)
	r.hangup("c1")
	r.wantState("a1", WrapUp)
	r.enqueue("c2", "short")
	if acts := r.advance(59 * time.Second); len(offersIn(acts)) != 0 || r.state("a1") != WrapUp {
		t.Fatalf("wrap-up ended early: %v", acts)
	}
	wantOffers(t, r.advance(time.Second), "c2→a1")
	st, _ := r.d.Agent("a1")
	if st.TimeInState[WrapUp] != time.Minute {
		t.Fatalf("time in wrap-up %v, want 1m", st.TimeInState[WrapUp])
	}
}

func TestPauseAndLogoutDuringWorkApplyWhenItEnds(t *testing.T) {
	cfg := oneQueue(LongestIdle, 1)
	cfg.Queues[0].WrapUp = 30 * time.Second
	r := newRig(t, cfg)
	r.login("a1")
	r.answerAll(r.enqueue("c1", "q"))
	r.ok(r.d.Pause("a1", "meeting"))
	r.wantState("a1", OnCall)
	r.hangup("c1")
	r.enqueue("c2", "q")
	r.advance(30 * time.Second)
	r.wantState("a1", Paused) // not offered c2
	if r.callState("c2") != CallWaiting {
		t.Fatal("c2 must wait")
	}
	st, _ := r.d.Agent("a1")
	if st.PauseReason != "meeting" {
		t.Fatalf("pause reason %q", st.PauseReason)
	}
	wantOffers(t, r.ok(r.d.Unpause("a1")), "c2→a1")
	// Logout while ringing: the caller keeps their place, the agent leaves at once, no miss.
	acts := r.ok(r.d.Logout("a1"))
	if c := actionsOf[CancelOffer](acts); len(c) != 1 || c[0].Reason != CancelAgentLoggedOut {
		t.Fatalf("actions %v", acts)
	}
	r.wantState("a1", LoggedOut)
	if st, _ := r.d.CallStatus("c2"); st.State != CallWaiting || st.Position != 1 {
		t.Fatalf("c2 %+v", st)
	}
	if st, _ := r.d.Agent("a1"); st.Misses != (MissCounts{}) {
		t.Fatalf("logout counted as a miss: %+v", st.Misses)
	}
}

func TestTimeInEachStateAndPauseReasonIsAccounted(t *testing.T) {
	r := newRig(t, oneQueue(LongestIdle, 1))
	r.advance(time.Hour) // logged out
	r.login("a1")
	r.advance(10 * time.Minute)
	r.ok(r.d.Pause("a1", "lunch"))
	r.advance(30 * time.Minute)
	r.ok(r.d.Pause("a1", "training"))
	r.advance(20 * time.Minute)
	r.ok(r.d.Unpause("a1"))
	r.answerAll(r.enqueue("c1", "q"))
	r.advance(5 * time.Minute)
	r.hangup("c1")
	r.advance(time.Minute)
	st, _ := r.d.Agent("a1")
	want := map[AgentState]time.Duration{LoggedOut: time.Hour, Available: 11 * time.Minute, Paused: 50 * time.Minute, OnCall: 5 * time.Minute}
	for s, d := range want {
		if st.TimeInState[s] != d {
			t.Errorf("time in %s = %v, want %v", s, st.TimeInState[s], d)
		}
	}
	if st.TimeInPause["lunch"] != 30*time.Minute || st.TimeInPause["training"] != 20*time.Minute {
		t.Errorf("pause times %v", st.TimeInPause)
	}
	if st.CallsHandled != 1 {
		t.Errorf("calls handled %d", st.CallsHandled)
	}
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	if !json.Valid(b) || !contains(string(b), `"on-call":300000000000`) {
		t.Errorf("status JSON should key states by name: %s", b)
	}
}

func contains(s, sub string) bool { return len(s) >= len(sub) && (s == sub || indexOf(s, sub) >= 0) }

func indexOf(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return i
		}
	}
	return -1
}

func TestEndWrapUpMakesTheAgentAvailableNow(t *testing.T) {
	cfg := oneQueue(LongestIdle, 1)
	cfg.Queues[0].WrapUp = time.Minute
	r := newRig(t, cfg)
	r.login("a1")
	r.enqueue("c1", "q")
	r.serve("c1", "a1", 2*time.Minute)
	r.wantState("a1", WrapUp)
	r.enqueue("c2", "q") // waits for a1's wrap-up
	r.advance(20 * time.Second)
	acts := r.ok(r.d.EndWrapUp("a1"))
	changes := actionsOf[AgentStateChanged](acts)
	if len(changes) == 0 || changes[0].From != WrapUp || changes[0].To != Available || !changes[0].At.Equal(r.clk.Now()) {
		t.Fatalf("state changes %v, want wrap-up → available now", changes)
	}
	wantOffers(t, acts, "c2→a1")
	qs, _ := r.d.QueueStats("q")
	if qs.Totals.Handled != 1 || qs.Totals.WrapUpTime != 20*time.Second || qs.Totals.TalkTime != 2*time.Minute {
		t.Fatalf("totals %+v: want 1 handled, 2m talk, 20s wrap-up", qs.Totals)
	}
	st, _ := r.d.Agent("a1")
	if st.TimeInState[WrapUp] != 20*time.Second {
		t.Fatalf("time in wrap-up %v, want 20s", st.TimeInState[WrapUp])
	}
	// The old wrap-up timer is stale: when it comes due a1 is on c2.
	r.ok(r.d.Answered("c2", "a1"))
	r.advance(40 * time.Second)
	if s := r.state("a1"); s != OnCall {
		t.Fatalf("after the old wrap-up deadline a1 is %s, want on-call (with c2)", s)
	}
	if qs, _ := r.d.QueueStats("q"); qs.Totals.Handled != 1 {
		t.Fatalf("the stale timer counted the call again: %+v", qs.Totals)
	}
}

func TestEndWrapUpKeepsAPendingPause(t *testing.T) {
	cfg := oneQueue(LongestIdle, 1)
	cfg.Queues[0].WrapUp = time.Minute
	r := newRig(t, cfg)
	r.login("a1")
	r.enqueue("c1", "q")
	r.serve("c1", "a1", time.Minute)
	r.ok(r.d.Pause("a1", "lunch"))
	r.ok(r.d.EndWrapUp("a1"))
	r.wantState("a1", Paused)
}

func TestEndWrapUpOutsideWrapUpIsAnInvalidTransition(t *testing.T) {
	cfg := oneQueue(LongestIdle, 1)
	cfg.Queues[0].WrapUp = 10 * time.Second
	r := newRig(t, cfg)
	_, err := r.d.EndWrapUp("a1")
	wantErr(t, err, ErrInvalidTransition, "a1", "logged-out")
	r.login("a1")
	r.enqueue("c1", "q")
	r.serve("c1", "a1", time.Minute)
	r.advance(10 * time.Second) // the timer ran out first
	r.wantState("a1", Available)
	_, err = r.d.EndWrapUp("a1")
	wantErr(t, err, ErrInvalidTransition, "available")
	_, err = r.d.EndWrapUp("nobody")
	wantErr(t, err, ErrUnknownAgent)
}
