package acdtest

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/acd"
	"github.com/hotline-cc/hotline/internal/fakeclock"
)

// The distributor's scenario tests (routing strategies, misses, wrap-up, pauses, transfers,
// consultations, overflow, max wait, positions, announcements, callbacks, fairness), run
// against any engine by Scenarios.

// Scenarios runs every scenario test against the engines f makes, each as a subtest.
func Scenarios(t *testing.T, f Factory) {
	for _, s := range scenarios {
		t.Run(s.name, func(t *testing.T) { s.run(t, f) })
	}
}

// rig is an engine on a fake clock with helpers that fail the test on unexpected errors.
type rig struct {
	t   testing.TB
	d   acd.Engine
	clk *fakeclock.Clock
}

func newRig(t testing.TB, f Factory, cfg acd.Config) *rig {
	t.Helper()
	clk := fakeclock.New(T0)
	return &rig{t: t, d: f(t, cfg, clk, 1), clk: clk}
}

var t0 = T0

func (r *rig) ok(acts []acd.Action, err error) []acd.Action {
	r.t.Helper()
	if err != nil {
		r.t.Fatalf("unexpected error: %v", err)
	}
	return acts
}

// advance moves the clock and ticks.
func (r *rig) advance(d time.Duration) []acd.Action {
	r.clk.Advance(d)
	return r.d.Tick()
}

func (r *rig) enqueue(id, queue string, opts ...func(*acd.Call)) []acd.Action {
	r.t.Helper()
	c := acd.Call{ID: id, Queue: queue}
	for _, o := range opts {
		o(&c)
	}
	return r.ok(r.d.Enqueue(c))
}

func prio(p int) func(*acd.Call)          { return func(c *acd.Call) { c.Priority = p } }
func skills(s ...string) func(*acd.Call)  { return func(c *acd.Call) { c.Skills = s } }
func arrived(t time.Time) func(*acd.Call) { return func(c *acd.Call) { c.ArrivedAt = t } }

func (r *rig) login(id string, queues ...string) []acd.Action {
	r.t.Helper()
	return r.ok(r.d.Login(id, queues...))
}

// serve answers the call and hangs it up after talk.
func (r *rig) serve(callID, agentID string, talk time.Duration) []acd.Action {
	r.t.Helper()
	acts := r.ok(r.d.Answered(callID, agentID))
	acts = append(acts, r.advance(talk)...)
	return append(acts, r.ok(r.d.Hangup(callID))...)
}

func (r *rig) state(id string) acd.AgentState {
	r.t.Helper()
	s, err := r.d.AgentState(id)
	if err != nil {
		r.t.Fatal(err)
	}
	return s
}

func (r *rig) wantState(id string, want acd.AgentState) {
	r.t.Helper()
	if got := r.state(id); got != want {
		r.t.Fatalf("agent %s is %s, want %s", id, got, want)
	}
}

func (r *rig) callState(id string) acd.CallState {
	s, ok := r.d.CallStatus(id)
	if !ok {
		return "gone"
	}
	return s.State
}

func offersIn(acts []acd.Action) []acd.Offer { return actionsOf[acd.Offer](acts) }

// offerPairs renders the offers as "call→agent" for compact comparisons.
func offerPairs(acts []acd.Action) string {
	var s []string
	for _, o := range offersIn(acts) {
		s = append(s, o.CallID+"→"+o.AgentID)
	}
	return strings.Join(s, " ")
}

func wantOffers(t testing.TB, acts []acd.Action, want string) {
	t.Helper()
	if got := offerPairs(acts); got != want {
		t.Fatalf("offers = %q, want %q\nactions: %v", got, want, acts)
	}
}

func wantErr(t testing.TB, err, target error, mentions ...string) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("error = %v, want %v", err, target)
	}
	for _, m := range mentions {
		if !strings.Contains(err.Error(), m) {
			t.Errorf("error %q does not mention %q", err, m)
		}
	}
}

// agents builds n agents a1..an in the given queues with the given skills.
func agents(n int, queues []string, sk map[string]int) []acd.AgentConfig {
	var out []acd.AgentConfig
	for i := 1; i <= n; i++ {
		out = append(out, acd.AgentConfig{ID: fmt.Sprintf("a%d", i), Queues: queues, Skills: sk})
	}
	return out
}

// answerAll answers every offer in acts (the first one per call, for ring-all) and returns the
// resulting actions.
func (r *rig) answerAll(acts []acd.Action) []acd.Action {
	r.t.Helper()
	var out []acd.Action
	done := map[string]bool{}
	for _, o := range offersIn(acts) {
		if done[o.CallID] {
			continue
		}
		done[o.CallID] = true
		out = append(out, r.ok(r.d.Answered(o.CallID, o.AgentID))...)
	}
	return out
}

func (r *rig) hangup(id string) []acd.Action {
	r.t.Helper()
	return r.ok(r.d.Hangup(id))
}

var scenarios = []struct {
	name string
	run  func(*testing.T, Factory)
}{
	{"InvalidTransitionsAreRefusedWithAClearError", testInvalidTransitionsAreRefusedWithAClearError},
	{"RingTimeoutMovesTheCallerOnAndKeepsTheirPlace", testRingTimeoutMovesTheCallerOnAndKeepsTheirPlace},
	{"MissesAreCountedByReasonAndPauseAfterConsecutiveMisses", testMissesAreCountedByReasonAndPauseAfterConsecutiveMisses},
	{"AnsweringResetsTheRunOfMisses", testAnsweringResetsTheRunOfMisses},
	{"MaxMissesIsConfigurableAndCanBeDisabled", testMaxMissesIsConfigurableAndCanBeDisabled},
	{"WrapUpUsesTheQueueOfTheCallHandledAndNeverEndsEarly", testWrapUpUsesTheQueueOfTheCallHandledAndNeverEndsEarly},
	{"PauseAndLogoutDuringWorkApplyWhenItEnds", testPauseAndLogoutDuringWorkApplyWhenItEnds},
	{"TimeInEachStateAndPauseReasonIsAccounted", testTimeInEachStateAndPauseReasonIsAccounted},
	{"EndWrapUpMakesTheAgentAvailableNow", testEndWrapUpMakesTheAgentAvailableNow},
	{"EndWrapUpKeepsAPendingPause", testEndWrapUpKeepsAPendingPause},
	{"EndWrapUpOutsideWrapUpIsAnInvalidTransition", testEndWrapUpOutsideWrapUpIsAnInvalidTransition},
	{"LongestIdleOffersToAgentIdleLongest", testLongestIdleOffersToAgentIdleLongest},
	{"RoundRobinRemembersTheLastAgentOffered", testRoundRobinRemembersTheLastAgentOffered},
	{"FewestCallsOffersToAgentWhoAnsweredFewest", testFewestCallsOffersToAgentWhoAnsweredFewest},
	{"LeastTalkTimeOffersToAgentWhoTalkedLeast", testLeastTalkTimeOffersToAgentWhoTalkedLeast},
	{"RingAllRingsEveryFreeAgentAndCancelsTheOthersOnAnswer", testRingAllRingsEveryFreeAgentAndCancelsTheOthersOnAnswer},
	{"SkillsBasedPrefersProficiencyThenLongestIdle", testSkillsBasedPrefersProficiencyThenLongestIdle},
	{"CallSkillsRestrictEligibleAgents", testCallSkillsRestrictEligibleAgents},
	{"TransferToAgentAnswered", testTransferToAgentAnswered},
	{"TransferToAgentNotAnswered", testTransferToAgentNotAnswered},
	{"TransferCallerHangsUp", testTransferCallerHangsUp},
	{"TransferToQueueKeepsArrival", testTransferToQueueKeepsArrival},
	{"TransferAway", testTransferAway},
	{"Consultation", testConsultation},
	{"OverflowKeepsTheOriginalArrivalTime", testOverflowKeepsTheOriginalArrivalTime},
	{"OverflowDueWhileRingingWaitsForTheOfferOutcome", testOverflowDueWhileRingingWaitsForTheOfferOutcome},
	{"MaxWaitTimesTheCallerOutAtTheDeadline", testMaxWaitTimesTheCallerOutAtTheDeadline},
	{"LateTickProcessesTimersAtTheirDeadlines", testLateTickProcessesTimersAtTheirDeadlines},
	{"NextDeadlineSkipsDeadTimers", testNextDeadlineSkipsDeadTimers},
	{"PriorityIsServedBeforeEarlierArrivals", testPriorityIsServedBeforeEarlierArrivals},
	{"AgentInSeveralQueuesTakesTheLongestWaitingCallerAfterPriority", testAgentInSeveralQueuesTakesTheLongestWaitingCallerAfterPriority},
	{"SimultaneousArrivalsAcrossQueuesAreServedInEnqueueOrder", testSimultaneousArrivalsAcrossQueuesAreServedInEnqueueOrder},
	{"PriorityRulesAgeWaitingCallers", testPriorityRulesAgeWaitingCallers},
	{"PositionAndEstimatedWaitMoveWithTheQueue", testPositionAndEstimatedWaitMoveWithTheQueue},
	{"AnnouncementsAreDueEveryIntervalWhileWaiting", testAnnouncementsAreDueEveryIntervalWhileWaiting},
	{"CallbackOfferIsDueAfterTheConfiguredWait", testCallbackOfferIsDueAfterTheConfiguredWait},
	{"CallbackKeepsTheCallersPlaceAndIsRoutedLikeACaller", testCallbackKeepsTheCallersPlaceAndIsRoutedLikeACaller},
	{"ConvertingARingingCallerCancelsTheOfferAndReoffersTheCallback", testConvertingARingingCallerCancelsTheOfferAndReoffersTheCallback},
}

func testInvalidTransitionsAreRefusedWithAClearError(t *testing.T, f Factory) {
	r := newRig(t, f, oneQueue(acd.LongestIdle, 1))
	_, err := r.d.Pause("a1", "lunch")
	wantErr(t, err, acd.ErrInvalidTransition, `"a1"`, "not logged in")
	_, err = r.d.Unpause("a1")
	wantErr(t, err, acd.ErrInvalidTransition, "logged-out, not paused")
	_, err = r.d.Logout("a1")
	wantErr(t, err, acd.ErrInvalidTransition, "not logged in")
	r.login("a1")
	_, err = r.d.Login("a1")
	wantErr(t, err, acd.ErrInvalidTransition, "already logged in")
	_, err = r.d.Pause("a1", "")
	wantErr(t, err, acd.ErrInvalidTransition, "reason")
	_, err = r.d.Login("nobody")
	wantErr(t, err, acd.ErrUnknownAgent, `"nobody"`)
	_, err = r.d.Answered("c1", "a1")
	wantErr(t, err, acd.ErrUnknownCall, `"c1"`)
	r.enqueue("c1", "q")
	_, err = r.d.Hangup("c1")
	wantErr(t, err, acd.ErrNotConnected, `"c1"`, "Abandon")
	r.answerAll([]acd.Action{acd.Offer{CallID: "c1", AgentID: "a1"}})
	_, err = r.d.Abandon("c1")
	wantErr(t, err, acd.ErrNotWaiting, "Hangup")
	_, err = r.d.OfferFailed("c1", "a1", acd.NoAnswer)
	wantErr(t, err, acd.ErrNoOffer, "on-call")
	_, err = r.d.OfferFailed("c1", "a1", "eaten-by-grue")
	if err == nil {
		t.Fatal("unknown miss reason accepted")
	}
	cfg := acd.Config{Queues: []acd.QueueConfig{{Name: "q"}, {Name: "other"}}, Agents: agents(1, []string{"q"}, nil)}
	r2 := newRig(t, f, cfg)
	_, err = r2.d.Login("a1", "other")
	wantErr(t, err, acd.ErrNotMember, `"other"`)
	r2.wantState("a1", acd.LoggedOut)
}

func testRingTimeoutMovesTheCallerOnAndKeepsTheirPlace(t *testing.T, f Factory) {
	r := newRig(t, f, oneQueue(acd.LongestIdle, 2))
	r.loginStaggered("a1", "a2")
	r.ok(r.d.Pause("a2", "coffee"))
	wantOffers(t, r.enqueue("c1", "q"), "c1→a1")
	r.advance(time.Second)
	r.enqueue("c2", "q")
	acts := r.ok(r.d.Unpause("a2")) // a2 takes c2 (c1 is being rung)
	wantOffers(t, acts, "c2→a2")
	r.answerAll(acts)
	acts = r.advance(acd.DefaultRingTimeout)
	if c := actionsOf[acd.CancelOffer](acts); len(c) != 1 || c[0] != (acd.CancelOffer{CallID: "c1", AgentID: "a1", Reason: acd.CancelRingTimeout}) {
		t.Fatalf("ring timeout must cancel the offer: %v", acts)
	}
	// c1 is back at the head of the queue; a1 is skipped for c1 for the retry delay.
	if st, _ := r.d.CallStatus("c1"); st.State != acd.CallWaiting || st.Position != 1 {
		t.Fatalf("c1 = %+v", st)
	}
	r.wantState("a1", acd.Available)
	r.enqueue("c3", "q")
	wantOffers(t, r.hangup("c2"), "c1→a2") // next agent, c1 before c3
}

func testMissesAreCountedByReasonAndPauseAfterConsecutiveMisses(t *testing.T, f Factory) {
	r := newRig(t, f, oneQueue(acd.LongestIdle, 1))
	r.login("a1")
	r.enqueue("c1", "q")
	r.ok(r.d.OfferFailed("c1", "a1", acd.Busy))
	r.wantState("a1", acd.Available)
	r.enqueue("c2", "q") // c1 excludes a1 for the retry delay, so c2 is offered
	acts := r.ok(r.d.OfferFailed("c2", "a1", acd.Unreachable))
	r.wantState("a1", acd.Paused)
	changes := actionsOf[acd.AgentStateChanged](acts)
	if last := changes[len(changes)-1]; last.To != acd.Paused || last.Reason != acd.PauseReasonNoAnswer {
		t.Fatalf("want a no-answer pause notification, got %v", changes)
	}
	st, _ := r.d.Agent("a1")
	if st.Misses != (acd.MissCounts{Busy: 1, Unreachable: 1}) || st.PauseReason != "no-answer" {
		t.Fatalf("status %+v", st)
	}
	// Unpausing clears the run of misses: one more miss does not pause again.
	r.ok(r.d.Unpause("a1"))
	acts = r.advance(acd.DefaultRetryDelay) // the retry delay is over: c1 is offered again
	wantOffers(t, acts, "c1→a1")
	acts = r.ok(r.d.OfferFailed("c1", "a1", acd.Rejected))
	wantOffers(t, acts, "c2→a1") // not paused: one miss since the unpause
	if st, _ := r.d.Agent("a1"); st.ConsecutiveMisses != 1 || st.Misses.Rejected != 1 {
		t.Fatalf("status %+v", st)
	}
}

func testAnsweringResetsTheRunOfMisses(t *testing.T, f Factory) {
	r := newRig(t, f, oneQueue(acd.LongestIdle, 1))
	r.login("a1")
	r.enqueue("c1", "q")
	r.advance(acd.DefaultRingTimeout) // miss 1
	r.enqueue("c2", "q")
	r.answerAll([]acd.Action{acd.Offer{CallID: "c2", AgentID: "a1"}})
	r.hangup("c2")
	// a1 is free: c1 is offered again once its retry delay is over, and missed: 1 in a row.
	wantOffers(t, r.advance(acd.DefaultRetryDelay), "c1→a1")
	r.advance(acd.DefaultRingTimeout)
	r.wantState("a1", acd.Available)
	st, _ := r.d.Agent("a1")
	if st.Misses.NoAnswer != 2 || st.ConsecutiveMisses != 1 {
		t.Fatalf("misses %+v consecutive %d", st.Misses, st.ConsecutiveMisses)
	}
}

func testMaxMissesIsConfigurableAndCanBeDisabled(t *testing.T, f Factory) {
	for _, tc := range []struct {
		max   int
		pause int // misses after which the agent is paused; 0: never
	}{{3, 3}, {-1, 0}, {0, 2}} {
		cfg := oneQueue(acd.LongestIdle, 1)
		cfg.MaxMisses = tc.max
		r := newRig(t, f, cfg)
		r.login("a1")
		for i := 1; i <= 5; i++ {
			id := string(rune('a' + i))
			r.enqueue(id, "q")
			r.ok(r.d.OfferFailed(id, "a1", acd.NoAnswer))
			paused := r.state("a1") == acd.Paused
			if want := tc.pause != 0 && i >= tc.pause; paused != want {
				t.Fatalf("MaxMisses %d: after %d misses paused=%v, want %v", tc.max, i, paused, want)
			}
			if paused {
				break
			}
		}
	}
}

func testWrapUpUsesTheQueueOfTheCallHandledAndNeverEndsEarly(t *testing.T, f Factory) {
	cfg := acd.Config{
		Queues: []acd.QueueConfig{{Name: "short", WrapUp: 5 * time.Second}, {Name: "long", WrapUp: time.Minute}},
		Agents: []acd.AgentConfig{{ID: "a1", Queues: []string{"short", "long"}}},
	}
	r := newRig(t, f, cfg)
	r.login("a1")
	r.answerAll(r.enqueue("c1", "long"))
	r.advance(time.Minute)
	r.hangup("c1")
	r.wantState("a1", acd.WrapUp)
	r.enqueue("c2", "short")
	if acts := r.advance(59 * time.Second); len(offersIn(acts)) != 0 || r.state("a1") != acd.WrapUp {
		t.Fatalf("wrap-up ended early: %v", acts)
	}
	wantOffers(t, r.advance(time.Second), "c2→a1")
	st, _ := r.d.Agent("a1")
	if st.TimeInState[acd.WrapUp] != time.Minute {
		t.Fatalf("time in wrap-up %v, want 1m", st.TimeInState[acd.WrapUp])
	}
}

func testPauseAndLogoutDuringWorkApplyWhenItEnds(t *testing.T, f Factory) {
	cfg := oneQueue(acd.LongestIdle, 1)
	cfg.Queues[0].WrapUp = 30 * time.Second
	r := newRig(t, f, cfg)
	r.login("a1")
	r.answerAll(r.enqueue("c1", "q"))
	r.ok(r.d.Pause("a1", "meeting"))
	r.wantState("a1", acd.OnCall)
	r.hangup("c1")
	r.enqueue("c2", "q")
	r.advance(30 * time.Second)
	r.wantState("a1", acd.Paused) // not offered c2
	if r.callState("c2") != acd.CallWaiting {
		t.Fatal("c2 must wait")
	}
	st, _ := r.d.Agent("a1")
	if st.PauseReason != "meeting" {
		t.Fatalf("pause reason %q", st.PauseReason)
	}
	wantOffers(t, r.ok(r.d.Unpause("a1")), "c2→a1")
	// Logout while ringing: the caller keeps their place, the agent leaves at once, no miss.
	acts := r.ok(r.d.Logout("a1"))
	if c := actionsOf[acd.CancelOffer](acts); len(c) != 1 || c[0].Reason != acd.CancelAgentLoggedOut {
		t.Fatalf("actions %v", acts)
	}
	r.wantState("a1", acd.LoggedOut)
	if st, _ := r.d.CallStatus("c2"); st.State != acd.CallWaiting || st.Position != 1 {
		t.Fatalf("c2 %+v", st)
	}
	if st, _ := r.d.Agent("a1"); st.Misses != (acd.MissCounts{}) {
		t.Fatalf("logout counted as a miss: %+v", st.Misses)
	}
}

func testTimeInEachStateAndPauseReasonIsAccounted(t *testing.T, f Factory) {
	r := newRig(t, f, oneQueue(acd.LongestIdle, 1))
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
	want := map[acd.AgentState]time.Duration{acd.LoggedOut: time.Hour, acd.Available: 11 * time.Minute, acd.Paused: 50 * time.Minute, acd.OnCall: 5 * time.Minute}
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

func testEndWrapUpMakesTheAgentAvailableNow(t *testing.T, f Factory) {
	cfg := oneQueue(acd.LongestIdle, 1)
	cfg.Queues[0].WrapUp = time.Minute
	r := newRig(t, f, cfg)
	r.login("a1")
	r.enqueue("c1", "q")
	r.serve("c1", "a1", 2*time.Minute)
	r.wantState("a1", acd.WrapUp)
	r.enqueue("c2", "q") // waits for a1's wrap-up
	r.advance(20 * time.Second)
	acts := r.ok(r.d.EndWrapUp("a1"))
	changes := actionsOf[acd.AgentStateChanged](acts)
	if len(changes) == 0 || changes[0].From != acd.WrapUp || changes[0].To != acd.Available || !changes[0].At.Equal(r.clk.Now()) {
		t.Fatalf("state changes %v, want wrap-up → available now", changes)
	}
	wantOffers(t, acts, "c2→a1")
	qs, _ := r.d.QueueStats("q")
	if qs.Totals.Handled != 1 || qs.Totals.WrapUpTime != 20*time.Second || qs.Totals.TalkTime != 2*time.Minute {
		t.Fatalf("totals %+v: want 1 handled, 2m talk, 20s wrap-up", qs.Totals)
	}
	st, _ := r.d.Agent("a1")
	if st.TimeInState[acd.WrapUp] != 20*time.Second {
		t.Fatalf("time in wrap-up %v, want 20s", st.TimeInState[acd.WrapUp])
	}
	// The old wrap-up timer is stale: when it comes due a1 is on c2.
	r.ok(r.d.Answered("c2", "a1"))
	r.advance(40 * time.Second)
	if s := r.state("a1"); s != acd.OnCall {
		t.Fatalf("after the old wrap-up deadline a1 is %s, want on-call (with c2)", s)
	}
	if qs, _ := r.d.QueueStats("q"); qs.Totals.Handled != 1 {
		t.Fatalf("the stale timer counted the call again: %+v", qs.Totals)
	}
}

func testEndWrapUpKeepsAPendingPause(t *testing.T, f Factory) {
	cfg := oneQueue(acd.LongestIdle, 1)
	cfg.Queues[0].WrapUp = time.Minute
	r := newRig(t, f, cfg)
	r.login("a1")
	r.enqueue("c1", "q")
	r.serve("c1", "a1", time.Minute)
	r.ok(r.d.Pause("a1", "lunch"))
	r.ok(r.d.EndWrapUp("a1"))
	r.wantState("a1", acd.Paused)
}

func testEndWrapUpOutsideWrapUpIsAnInvalidTransition(t *testing.T, f Factory) {
	cfg := oneQueue(acd.LongestIdle, 1)
	cfg.Queues[0].WrapUp = 10 * time.Second
	r := newRig(t, f, cfg)
	_, err := r.d.EndWrapUp("a1")
	wantErr(t, err, acd.ErrInvalidTransition, "a1", "logged-out")
	r.login("a1")
	r.enqueue("c1", "q")
	r.serve("c1", "a1", time.Minute)
	r.advance(10 * time.Second) // the timer ran out first
	r.wantState("a1", acd.Available)
	_, err = r.d.EndWrapUp("a1")
	wantErr(t, err, acd.ErrInvalidTransition, "available")
	_, err = r.d.EndWrapUp("nobody")
	wantErr(t, err, acd.ErrUnknownAgent)
}

func oneQueue(s acd.Strategy, n int) acd.Config {
	return acd.Config{
		Queues: []acd.QueueConfig{{Name: "q", Strategy: s}},
		Agents: agents(n, []string{"q"}, nil),
	}
}

// loginStaggered logs agents in one second apart, so a1 has been idle longest.
func (r *rig) loginStaggered(ids ...string) {
	for _, id := range ids {
		r.login(id)
		r.advance(time.Second)
	}
}

func testLongestIdleOffersToAgentIdleLongest(t *testing.T, f Factory) {
	r := newRig(t, f, oneQueue(acd.LongestIdle, 3))
	r.loginStaggered("a1", "a2", "a3")
	acts := r.enqueue("c1", "q")
	wantOffers(t, acts, "c1→a1")
	r.answerAll(acts)
	acts = r.enqueue("c2", "q")
	wantOffers(t, acts, "c2→a2")
	r.answerAll(acts)
	r.advance(time.Minute)
	r.hangup("c1") // a1 is idle again, now the most recently
	wantOffers(t, r.enqueue("c3", "q"), "c3→a3")
	wantOffers(t, r.enqueue("c4", "q"), "c4→a1")
}

func testRoundRobinRemembersTheLastAgentOffered(t *testing.T, f Factory) {
	r := newRig(t, f, oneQueue(acd.RoundRobin, 3))
	// Login order is reversed so that idleness would give a different answer.
	r.loginStaggered("a3", "a2", "a1")
	var got []string
	for i, id := range []string{"c1", "c2", "c3", "c4", "c5"} {
		o := offersIn(r.enqueue(id, "q"))
		if len(o) != 1 {
			t.Fatalf("call %d: offers %v", i, o)
		}
		got = append(got, o[0].AgentID)
		r.serve(id, o[0].AgentID, time.Second)
	}
	want := []string{"a1", "a2", "a3", "a1", "a2"}
	if !equal(got, want) {
		t.Fatalf("round robin order = %v, want %v", got, want)
	}
	// With a3 busy, the turn passes from a2 to a1, skipping a3.
	r.enqueue("c6", "q") // a3's turn
	wantOffers(t, r.enqueue("c7", "q"), "c7→a1")
}

func testFewestCallsOffersToAgentWhoAnsweredFewest(t *testing.T, f Factory) {
	r := newRig(t, f, oneQueue(acd.FewestCalls, 3))
	r.loginStaggered("a1", "a2", "a3")
	// a1 answers two calls, a2 one, a3 none.
	r.enqueue("c1", "q")
	r.serve("c1", "a1", time.Second)
	r.enqueue("c2", "q") // a2: 0 calls, idle longer than a3
	r.serve("c2", "a2", time.Second)
	r.enqueue("c3", "q") // a3: 0 calls
	r.serve("c3", "a3", time.Second)
	r.enqueue("c4", "q") // all have 1; a1 idle longest
	r.serve("c4", "a1", time.Second)
	// Now a1=2, a2=1, a3=1 and a2 idle longer than a3.
	wantOffers(t, r.enqueue("c5", "q"), "c5→a2")
	wantOffers(t, r.enqueue("c6", "q"), "c6→a3")
	wantOffers(t, r.enqueue("c7", "q"), "c7→a1")
}

func testLeastTalkTimeOffersToAgentWhoTalkedLeast(t *testing.T, f Factory) {
	r := newRig(t, f, oneQueue(acd.LeastTalkTime, 3))
	r.loginStaggered("a1", "a2", "a3")
	for _, id := range []string{"c1", "c2", "c3"} {
		r.answerAll(r.enqueue(id, "q"))
	}
	r.advance(time.Minute)
	r.hangup("c2") // a2: 1m
	r.advance(time.Minute)
	r.hangup("c3") // a3: 2m
	r.advance(time.Minute)
	r.hangup("c1") // a1: 3m
	wantOffers(t, r.enqueue("c4", "q"), "c4→a2")
	wantOffers(t, r.enqueue("c5", "q"), "c5→a3")
	wantOffers(t, r.enqueue("c6", "q"), "c6→a1")
}

// seqRand returns the given values in turn.
func testRingAllRingsEveryFreeAgentAndCancelsTheOthersOnAnswer(t *testing.T, f Factory) {
	r := newRig(t, f, oneQueue(acd.RingAll, 3))
	r.loginStaggered("a1", "a2", "a3")
	r.ok(r.d.Pause("a2", "lunch"))
	wantOffers(t, r.enqueue("c1", "q"), "c1→a1 c1→a3")
	r.wantState("a1", acd.Reserved)
	r.wantState("a3", acd.Reserved)
	acts := r.ok(r.d.Answered("c1", "a3"))
	cancels := actionsOf[acd.CancelOffer](acts)
	if len(cancels) != 1 || cancels[0] != (acd.CancelOffer{CallID: "c1", AgentID: "a1", Reason: acd.CancelAnsweredElsewhere}) {
		t.Fatalf("cancels = %v", cancels)
	}
	r.wantState("a1", acd.Available)
	r.wantState("a3", acd.OnCall)
	if _, err := r.d.Answered("c1", "a1"); err == nil {
		t.Fatal("a late answer from a cancelled agent must fail")
	}
	// A cancelled ring-all offer is not a miss.
	st, _ := r.d.Agent("a1")
	if st.Misses != (acd.MissCounts{}) {
		t.Fatalf("a1 misses = %+v, want none", st.Misses)
	}
}

func testSkillsBasedPrefersProficiencyThenLongestIdle(t *testing.T, f Factory) {
	cfg := acd.Config{
		Queues: []acd.QueueConfig{{Name: "q", Strategy: acd.SkillsBased, Skills: []string{"billing"}}},
		Agents: []acd.AgentConfig{
			{ID: "novice", Queues: []string{"q"}, Skills: map[string]int{"billing": 2, "spanish": 5}},
			{ID: "expert", Queues: []string{"q"}, Skills: map[string]int{"billing": 5}},
			{ID: "expert2", Queues: []string{"q"}, Skills: map[string]int{"billing": 5}},
		},
	}
	r := newRig(t, f, cfg)
	r.loginStaggered("novice", "expert2", "expert")
	wantOffers(t, r.enqueue("c1", "q"), "c1→expert2") // 5, idle longer than expert
	wantOffers(t, r.enqueue("c2", "q"), "c2→expert")
	wantOffers(t, r.enqueue("c3", "q"), "c3→novice")
	r.serve("c1", "expert2", time.Second)
	r.serve("c3", "novice", time.Second)
	// billing+spanish: novice scores 2+5=7; expert2 lacks spanish and is not eligible.
	wantOffers(t, r.enqueue("c4", "q", skills("spanish")), "c4→novice")
}

func testCallSkillsRestrictEligibleAgents(t *testing.T, f Factory) {
	cfg := acd.Config{
		Queues: []acd.QueueConfig{{Name: "q"}},
		Agents: []acd.AgentConfig{
			{ID: "a1", Queues: []string{"q"}},
			{ID: "a2", Queues: []string{"q"}, Skills: map[string]int{"french": 3}},
		},
	}
	r := newRig(t, f, cfg)
	r.loginStaggered("a1", "a2")
	acts := r.enqueue("fr", "q", skills("french"))
	wantOffers(t, acts, "fr→a2")
	r.answerAll(acts)
	// A second French caller waits even though a1 is free.
	wantOffers(t, r.enqueue("fr2", "q", skills("french")), "")
	r.wantState("a1", acd.Available)
	// a1 takes a plain caller who arrived after fr2.
	acts = r.enqueue("c3", "q")
	wantOffers(t, acts, "c3→a1")
	r.answerAll(acts)
	// When a2 is done, it takes fr2.
	r.advance(time.Minute)
	wantOffers(t, r.hangup("fr"), "fr2→a2")
	if _, err := r.d.Enqueue(acd.Call{ID: "x", Queue: "q", Skills: []string{"klingon"}}); err == nil {
		t.Fatal("a skill nobody has must be refused")
	} else {
		wantErr(t, err, acd.ErrUnknownSkill, "klingon", `"x"`)
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func transferCfg() acd.Config {
	return acd.Config{
		Queues: []acd.QueueConfig{
			{Name: "support", Strategy: acd.LongestIdle, RingTimeout: 15 * time.Second, WrapUp: 10 * time.Second},
			{Name: "billing", Strategy: acd.LongestIdle, RingTimeout: 15 * time.Second},
		},
		Agents: []acd.AgentConfig{
			{ID: "a1", Queues: []string{"support"}},
			{ID: "a2", Queues: []string{"support"}},
			{ID: "b1", Queues: []string{"billing"}},
		},
	}
}

// A transfer to a colleague rings them while the caller stays with their agent; when the
// colleague answers the call is theirs and the first agent wraps up; one transfer is counted.
func testTransferToAgentAnswered(t *testing.T, f Factory) {
	r := newRig(t, f, transferCfg())
	r.login("a1")
	wantOffers(t, r.enqueue("c1", "support"), "c1→a1")
	r.ok(r.d.Answered("c1", "a1"))
	r.login("a2")
	r.advance(time.Minute)
	wantOffers(t, r.ok(r.d.OfferTransfer("c1", "a2")), "c1→a2")
	r.wantState("a2", acd.Reserved)
	r.wantState("a1", acd.OnCall) // still talking (or holding) until a2 answers
	if st := r.callState("c1"); st != acd.CallConnected {
		t.Fatalf("c1 is %s while the transfer rings, want connected", st)
	}
	r.advance(5 * time.Second)
	r.ok(r.d.Answered("c1", "a2"))
	r.wantState("a1", acd.WrapUp)
	r.wantState("a2", acd.OnCall)
	if st, _ := r.d.CallStatus("c1"); len(st.Agents) != 1 || st.Agents[0] != "a2" {
		t.Errorf("c1 is with %v, want a2", st.Agents)
	}
	r.advance(2 * time.Minute)
	r.ok(r.d.Hangup("c1"))
	r.advance(11 * time.Second)
	q, _ := r.d.QueueStats("support")
	if q.Totals.Transferred != 1 || q.Totals.Answered != 1 || q.Totals.Handled != 2 {
		t.Errorf("totals: transferred %d, answered %d, handled %d; want 1, 1 (the caller was answered once), 2 (two agent parts)",
			q.Totals.Transferred, q.Totals.Answered, q.Totals.Handled)
	}
	if want := time.Minute + 5*time.Second + 2*time.Minute; q.Totals.TalkTime != want {
		t.Errorf("talk time %v, want %v: both agents' parts", q.Totals.TalkTime, want)
	}
	a1, _ := r.d.Agent("a1")
	if a1.Transfers != 1 {
		t.Errorf("a1 transfers = %d, want 1", a1.Transfers)
	}
}

// A colleague who does not answer costs them a miss, and the caller stays with their agent.
func testTransferToAgentNotAnswered(t *testing.T, f Factory) {
	r := newRig(t, f, transferCfg())
	r.login("a1")
	r.enqueue("c1", "support")
	r.ok(r.d.Answered("c1", "a1"))
	r.login("a2")
	r.ok(r.d.OfferTransfer("c1", "a2"))
	_, err := r.d.OfferTransfer("c1", "a2")
	wantErr(t, err, acd.ErrTransferPending)
	acts := r.advance(16 * time.Second) // ring timeout
	if c := actionsOf[acd.CancelOffer](acts); len(c) != 1 || c[0].AgentID != "a2" || c[0].Reason != acd.CancelRingTimeout {
		t.Fatalf("after the ring timeout: %v", acts)
	}
	r.wantState("a1", acd.OnCall)
	r.wantState("a2", acd.Available)
	if st, _ := r.d.CallStatus("c1"); st.State != acd.CallConnected || len(st.Agents) != 1 || st.Agents[0] != "a1" {
		t.Errorf("c1 = %+v, want connected to a1", st)
	}
	a2, _ := r.d.Agent("a2")
	if a2.Misses.NoAnswer != 1 {
		t.Errorf("a2 misses %+v", a2.Misses)
	}
	// Busy colleagues are refused at once.
	r.ok(r.d.Pause("a2", "lunch"))
	_, err = r.d.OfferTransfer("c1", "a2")
	wantErr(t, err, acd.ErrAgentBusy, "a2", "paused")
	_, err = r.d.OfferTransfer("c1", "a1")
	wantErr(t, err, acd.ErrInvalidCall, "already theirs")
}

// The caller hangs up while the transfer rings: the colleague's offer is withdrawn.
func testTransferCallerHangsUp(t *testing.T, f Factory) {
	r := newRig(t, f, transferCfg())
	r.login("a1")
	r.enqueue("c1", "support")
	r.ok(r.d.Answered("c1", "a1"))
	r.login("a2")
	r.ok(r.d.OfferTransfer("c1", "a2"))
	acts := r.ok(r.d.Hangup("c1"))
	if c := actionsOf[acd.CancelOffer](acts); len(c) != 1 || c[0].AgentID != "a2" {
		t.Fatalf("hangup during a transfer: %v", acts)
	}
	r.wantState("a2", acd.Available)
	r.wantState("a1", acd.WrapUp)
}

// A transfer to a queue puts the caller in line with their original arrival: ahead of
// someone who arrived after them.
func testTransferToQueueKeepsArrival(t *testing.T, f Factory) {
	r := newRig(t, f, transferCfg())
	r.login("a1")
	r.enqueue("c1", "support")
	r.ok(r.d.Answered("c1", "a1"))
	r.advance(3 * time.Minute)
	r.enqueue("c2", "billing") // arrives three minutes after c1
	r.ok(r.d.Hold("c1", true))
	r.advance(20 * time.Second)
	r.ok(r.d.TransferToQueue("c1", "billing", true))
	r.wantState("a1", acd.WrapUp)
	if pos, _, _ := r.d.Position("c1"); pos != 1 {
		t.Errorf("c1 is at position %d in billing, want 1 (it arrived first)", pos)
	}
	wantOffers(t, r.login("b1"), "c1→b1")
	r.advance(11 * time.Second)
	q, _ := r.d.QueueStats("support")
	if q.Totals.Transferred != 1 || q.Totals.HoldTime != 20*time.Second {
		t.Errorf("support: transferred %d, hold %v; want 1, 20s", q.Totals.Transferred, q.Totals.HoldTime)
	}
	// Without keeping the arrival, the transferred caller is a new arrival.
	r.ok(r.d.Answered("c1", "b1"))
	_, err := r.d.TransferToQueue("c1", "nowhere", true)
	wantErr(t, err, acd.ErrUnknownQueue)
	r.ok(r.d.Pause("a1", "break")) // nobody takes support's callers now
	r.enqueue("c3", "support")
	r.ok(r.d.TransferToQueue("c1", "support", false))
	if pos, _, _ := r.d.Position("c1"); pos != 2 {
		t.Errorf("c1 is at position %d, want 2 (behind c3) without keep_arrival", pos)
	}
}

// A transfer out of the distributor's hands (an outside number) ends the agent's part.
func testTransferAway(t *testing.T, f Factory) {
	r := newRig(t, f, transferCfg())
	r.login("a1")
	r.enqueue("c1", "support")
	r.ok(r.d.Answered("c1", "a1"))
	r.ok(r.d.TransferAway("c1"))
	r.wantState("a1", acd.WrapUp)
	if st := r.callState("c1"); st != "gone" {
		t.Errorf("c1 is %s after leaving for an outside number", st)
	}
}

// An attended transfer: the colleague is rung for a consultation, is on call with the agent
// while the caller holds, and takes the call when the agent completes it; the call is theirs,
// the agent wraps up, one transfer counts. Ended without a transfer, the colleague is free
// again and the call stays where it was.
func testConsultation(t *testing.T, f Factory) {
	r := newRig(t, f, transferCfg())
	r.login("a1")
	r.enqueue("c1", "support")
	r.ok(r.d.Answered("c1", "a1"))
	r.ok(r.d.Hold("c1", true))
	r.login("a2")
	wantOffers(t, r.ok(r.d.OfferConsult("c1", "a2")), "c1→a2")
	r.ok(r.d.Answered("c1", "a2"))
	r.wantState("a2", acd.OnCall)
	r.wantState("a1", acd.OnCall)
	_, err := r.d.OfferConsult("c1", "a2")
	wantErr(t, err, acd.ErrTransferPending)
	r.advance(30 * time.Second)
	r.ok(r.d.EndConsult("a2")) // a1 changes their mind
	r.wantState("a2", acd.Available)
	if st, _ := r.d.CallStatus("c1"); len(st.Agents) != 1 || st.Agents[0] != "a1" {
		t.Fatalf("after the consultation the call is with %v", st.Agents)
	}
	r.ok(r.d.OfferConsult("c1", "a2"))
	r.ok(r.d.Answered("c1", "a2"))
	r.advance(10 * time.Second)
	r.ok(r.d.CompleteConsult("c1"))
	r.wantState("a1", acd.WrapUp)
	r.wantState("a2", acd.OnCall)
	if st, _ := r.d.CallStatus("c1"); len(st.Agents) != 1 || st.Agents[0] != "a2" {
		t.Fatalf("after the transfer the call is with %v", st.Agents)
	}
	r.advance(time.Minute)
	r.ok(r.d.Hangup("c1"))
	r.advance(11 * time.Second)
	q, _ := r.d.QueueStats("support")
	if q.Totals.Transferred != 1 || q.Totals.HoldTime != 40*time.Second {
		t.Errorf("transferred %d, hold %v; want 1 and the 40 s a1 held the caller", q.Totals.Transferred, q.Totals.HoldTime)
	}
	_, err = r.d.CompleteConsult("c1")
	wantErr(t, err, acd.ErrUnknownCall)
	// The caller hangs up during a consultation: the agents may go on talking; the colleague
	// is freed when their consultation ends.
	o := offersIn(r.enqueue("c2", "support"))
	if len(o) != 1 {
		t.Fatalf("c2 offers %v", o)
	}
	r.ok(r.d.Answered("c2", o[0].AgentID))
	r.login("b1")
	r.ok(r.d.OfferConsult("c2", "b1"))
	r.ok(r.d.Answered("c2", "b1"))
	r.ok(r.d.Hangup("c2"))
	r.wantState("b1", acd.OnCall)
	r.ok(r.d.EndConsult("b1"))
	r.wantState("b1", acd.Available)
	_, err = r.d.EndConsult("b1")
	wantErr(t, err, acd.ErrInvalidTransition)
}

func overflowCfg() acd.Config {
	return acd.Config{
		Queues: []acd.QueueConfig{
			{Name: "first", Overflow: acd.Overflow{Queue: "second", After: 30 * time.Second}},
			{Name: "second"},
		},
		Agents: []acd.AgentConfig{
			{ID: "f", Queues: []string{"first"}},
			{ID: "s", Queues: []string{"second"}},
		},
	}
}

func testOverflowKeepsTheOriginalArrivalTime(t *testing.T, f Factory) {
	r := newRig(t, f, overflowCfg())
	r.login("s")
	r.answerAll(r.enqueue("busy", "second")) // s is busy
	r.enqueue("c1", "first")                 // t0: nobody in first
	r.advance(10 * time.Second)
	r.enqueue("c2", "second") // t0+10s
	acts := r.advance(20 * time.Second)
	ov := actionsOf[acd.Overflowed](acts)
	if len(ov) != 1 || ov[0] != (acd.Overflowed{CallID: "c1", From: "first", To: "second"}) {
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

func testOverflowDueWhileRingingWaitsForTheOfferOutcome(t *testing.T, f Factory) {
	r := newRig(t, f, overflowCfg())
	r.advance(20 * time.Second)
	r.enqueue("c1", "first")
	r.advance(25 * time.Second)
	wantOffers(t, r.login("f"), "c1→f") // at 25s in queue
	acts := r.advance(10 * time.Second) // overflow due at 30s, ringing until 40s
	if len(actionsOf[acd.Overflowed](acts)) != 0 {
		t.Fatal("a ringing caller must not be moved")
	}
	acts = r.ok(r.d.OfferFailed("c1", "f", acd.Rejected))
	if ov := actionsOf[acd.Overflowed](acts); len(ov) != 1 {
		t.Fatalf("after the miss the pending overflow applies; actions %v", acts)
	}
}

func testMaxWaitTimesTheCallerOutAtTheDeadline(t *testing.T, f Factory) {
	cfg := oneQueue(acd.LongestIdle, 1)
	cfg.Queues[0].MaxWait = 2 * time.Minute
	r := newRig(t, f, cfg)
	r.enqueue("c1", "q")
	if acts := r.advance(2*time.Minute - time.Nanosecond); len(actionsOf[acd.Timeout](acts)) != 0 {
		t.Fatal("timed out early")
	}
	acts := r.advance(time.Nanosecond)
	to := actionsOf[acd.Timeout](acts)
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
func testLateTickProcessesTimersAtTheirDeadlines(t *testing.T, f Factory) {
	cfg := acd.Config{
		Queues: []acd.QueueConfig{{Name: "q", WrapUp: 10 * time.Second}},
		Agents: agents(2, []string{"q"}, nil),
	}
	r := newRig(t, f, cfg)
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
	if want := t0.Add(time.Second + 5*time.Second + 10*time.Second); !o.Deadline.Equal(want.Add(acd.DefaultRingTimeout)) {
		t.Fatalf("offer made at %v, want at a2's wrap-up end %v", o.Deadline.Add(-acd.DefaultRingTimeout), want)
	}
	// The offers made at their virtual times also timed out during the same late tick, the caller
	// going from one agent to the other until both were paused after two misses each.
	if c := actionsOf[acd.CancelOffer](acts); len(c) != 4 || c[0].Reason != acd.CancelRingTimeout {
		t.Fatalf("want 4 ring timeouts, got %v", acts)
	}
	r.wantState("a1", acd.Paused)
	r.wantState("a2", acd.Paused)
	if r.callState("c3") != acd.CallWaiting {
		t.Fatal("the caller must still be waiting")
	}
}

func testNextDeadlineSkipsDeadTimers(t *testing.T, f Factory) {
	cfg := oneQueue(acd.LongestIdle, 1)
	cfg.Queues[0].MaxWait = time.Minute
	r := newRig(t, f, cfg)
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

func testPriorityIsServedBeforeEarlierArrivals(t *testing.T, f Factory) {
	r := newRig(t, f, oneQueue(acd.LongestIdle, 1))
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
	if got := r.callState("early"); got != acd.CallRinging {
		t.Fatalf("early caller is %s, want ringing", got)
	}
}

// Two queues share one agent: the agent takes whoever waited longest (from original arrival),
// after priority, whichever queue they are in.
func testAgentInSeveralQueuesTakesTheLongestWaitingCallerAfterPriority(t *testing.T, f Factory) {
	cfg := acd.Config{
		Queues: []acd.QueueConfig{{Name: "sales"}, {Name: "support"}},
		Agents: []acd.AgentConfig{{ID: "a1", Queues: []string{"sales", "support"}}},
	}
	r := newRig(t, f, cfg)
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

func testSimultaneousArrivalsAcrossQueuesAreServedInEnqueueOrder(t *testing.T, f Factory) {
	cfg := acd.Config{
		Queues: []acd.QueueConfig{{Name: "a"}, {Name: "b"}, {Name: "c"}},
		Agents: []acd.AgentConfig{{ID: "x", Queues: []string{"c", "b", "a"}}},
	}
	for range 20 { // deterministic: same answer every time
		r := newRig(t, f, cfg)
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

func testPriorityRulesAgeWaitingCallers(t *testing.T, f Factory) {
	cfg := acd.Config{
		Queues: []acd.QueueConfig{{Name: "q", PriorityRules: []acd.PriorityRule{{After: 2 * time.Minute, Priority: 5}}}},
		Agents: agents(1, []string{"q"}, nil),
	}
	r := newRig(t, f, cfg)
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

func testPositionAndEstimatedWaitMoveWithTheQueue(t *testing.T, f Factory) {
	r := newRig(t, f, oneQueue(acd.LongestIdle, 3)) // default handle time 3m until calls are handled
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
	r.answerAll([]acd.Action{acd.Offer{CallID: "c2", AgentID: "a3"}})
	r.hangup("busy1") // 1m talk; a1 takes c3
	r.answerAll([]acd.Action{acd.Offer{CallID: "c3", AgentID: "a1"}})
	r.hangup("busy2") // 1m talk; a2 takes c4
	qs, _ := r.d.QueueStats("q")
	if qs.HandleTimeEstimate != time.Minute {
		t.Fatalf("handle time estimate %v, want 1m", qs.HandleTimeEstimate)
	}
	r.enqueue("c5", "q")
	// a2 rung for c4 (expected free in 1m), a1 and a3 just answered (1m each): c5 waits 1m.
	want("c5", 2, time.Minute)
	// No agent staffed: the estimate is unknown.
	r2 := newRig(t, f, oneQueue(acd.LongestIdle, 1))
	r2.enqueue("x", "q")
	if _, w, _ := r2.d.Position("x"); w != acd.UnknownWait {
		t.Fatalf("no staff: estimate %v, want UnknownWait", w)
	}
}

func testAnnouncementsAreDueEveryIntervalWhileWaiting(t *testing.T, f Factory) {
	cfg := oneQueue(acd.LongestIdle, 1)
	cfg.Queues[0].AnnounceInterval = 30 * time.Second
	r := newRig(t, f, cfg)
	r.login("a1")
	r.answerAll(r.enqueue("busy", "q"))
	r.enqueue("c1", "q")
	r.advance(29 * time.Second)
	acts := r.advance(time.Second)
	an := actionsOf[acd.Announce](acts)
	if len(an) != 1 || an[0].CallID != "c1" || an[0].Position != 1 || an[0].EstimatedWait != 2*time.Minute+30*time.Second {
		t.Fatalf("announcements %v", an)
	}
	if an := actionsOf[acd.Announce](r.advance(30 * time.Second)); len(an) != 1 || an[0].EstimatedWait != 2*time.Minute {
		t.Fatalf("second announcement %v", an)
	}
	r.hangup("busy") // c1 is rung: no announcement while ringing
	if an := actionsOf[acd.Announce](r.advance(30 * time.Second)); len(an) != 0 {
		t.Fatalf("announced while ringing: %v", an)
	}
	r.ok(r.d.Abandon("c1"))
	if an := actionsOf[acd.Announce](r.advance(time.Hour)); len(an) != 0 {
		t.Fatalf("announced after leaving: %v", an)
	}
}

func testCallbackOfferIsDueAfterTheConfiguredWait(t *testing.T, f Factory) {
	cfg := oneQueue(acd.LongestIdle, 1)
	cfg.Queues[0].Callback = acd.CallbackPolicy{After: time.Minute, MinEstimatedWait: 2 * time.Minute, Repeat: time.Minute}
	r := newRig(t, f, cfg)
	r.login("a1")
	r.answerAll(r.enqueue("busy", "q"))
	r.enqueue("c1", "q")
	if cb := actionsOf[acd.OfferCallback](r.advance(59 * time.Second)); len(cb) != 0 {
		t.Fatal("offered early")
	}
	cb := actionsOf[acd.OfferCallback](r.advance(time.Second))
	if len(cb) != 1 || cb[0].CallID != "c1" || cb[0].Waited != time.Minute || cb[0].EstimatedWait != 2*time.Minute {
		t.Fatalf("callback offers %v", cb)
	}
	// A minute later the estimate (1m) is under the threshold: no offer.
	if cb := actionsOf[acd.OfferCallback](r.advance(time.Minute)); len(cb) != 0 {
		t.Fatalf("offered below the threshold: %v", cb)
	}
}

func testCallbackKeepsTheCallersPlaceAndIsRoutedLikeACaller(t *testing.T, f Factory) {
	cfg := oneQueue(acd.LongestIdle, 1)
	cfg.Queues[0].MaxWait = 5 * time.Minute
	cfg.Queues[0].AnnounceInterval = time.Minute
	r := newRig(t, f, cfg)
	r.enqueue("alice", "q", prio(1))
	r.advance(10 * time.Second)
	r.enqueue("bob", "q", prio(1))
	r.advance(10 * time.Second)
	r.ok(r.d.ConvertToCallback("alice"))
	st, _ := r.d.CallStatus("alice")
	if st.Kind != acd.KindCallback || st.Position != 1 || !st.ArrivedAt.Equal(t0) || st.Priority != 1 {
		t.Fatalf("callback lost its place: %+v", st)
	}
	// No max-wait timeout and no announcements for a callback.
	acts := r.advance(10 * time.Minute)
	if to := actionsOf[acd.Timeout](acts); len(to) != 1 || to[0].CallID != "bob" {
		t.Fatalf("timeouts %v: only bob's max wait applies", to)
	}
	for _, a := range actionsOf[acd.Announce](acts) {
		if a.CallID == "alice" {
			t.Fatal("a callback was announced")
		}
	}
	acts = r.login("a1")
	o := offersIn(acts)
	if len(o) != 1 || o[0].CallID != "alice" || o[0].Kind != acd.KindCallback {
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

func testConvertingARingingCallerCancelsTheOfferAndReoffersTheCallback(t *testing.T, f Factory) {
	r := newRig(t, f, oneQueue(acd.LongestIdle, 1))
	r.login("a1")
	r.enqueue("c1", "q")
	acts := r.ok(r.d.ConvertToCallback("c1"))
	if c := actionsOf[acd.CancelOffer](acts); len(c) != 1 || c[0].Reason != acd.CancelCallback {
		t.Fatalf("actions %v", acts)
	}
	o := offersIn(acts)
	if len(o) != 1 || o[0].AgentID != "a1" || o[0].Kind != acd.KindCallback {
		t.Fatalf("the callback must be offered again: %v", acts)
	}
}
