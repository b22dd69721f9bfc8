package acd

import (
	"math/rand/v2"
	"testing"
	"time"
)

func oneQueue(s Strategy, n int) Config {
	return Config{
		Queues: []QueueConfig{{Name: "q", Strategy: s}},
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

func TestLongestIdleOffersToAgentIdleLongest(t *testing.T) {
	r := newRig(t, oneQueue(LongestIdle, 3))
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

func TestRoundRobinRemembersTheLastAgentOffered(t *testing.T) {
	r := newRig(t, oneQueue(RoundRobin, 3))
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

func TestFewestCallsOffersToAgentWhoAnsweredFewest(t *testing.T) {
	r := newRig(t, oneQueue(FewestCalls, 3))
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

func TestLeastTalkTimeOffersToAgentWhoTalkedLeast(t *testing.T) {
	r := newRig(t, oneQueue(LeastTalkTime, 3))
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
type seqRand struct{ v []int }

func (s *seqRand) IntN(n int) int { x := s.v[0] % n; s.v = s.v[1:]; return x }

func TestRandomUsesTheInjectedSource(t *testing.T) {
	r := newRig(t, oneQueue(Random, 4), WithRand(&seqRand{v: []int{2, 0, 1}}))
	r.loginStaggered("a1", "a2", "a3", "a4")
	// Free agents in member order a1..a4: index 2 is a3; then of a1,a2,a4 index 0 is a1;
	// then of a2,a4 index 1 is a4.
	wantOffers(t, r.enqueue("c1", "q"), "c1→a3")
	wantOffers(t, r.enqueue("c2", "q"), "c2→a1")
	wantOffers(t, r.enqueue("c3", "q"), "c3→a4")
}

func TestRandomIsReproducibleFromItsSeedAndReachesEveryAgent(t *testing.T) {
	run := func(seed uint64) []string {
		r := newRig(t, oneQueue(Random, 5), WithRand(rand.New(rand.NewPCG(seed, 1))))
		r.loginStaggered("a1", "a2", "a3", "a4", "a5")
		var got []string
		for i := range 200 {
			id := string(rune('A'+i%26)) + string(rune('0'+i/26))
			o := offersIn(r.enqueue(id, "q"))
			got = append(got, o[0].AgentID)
			r.serve(id, o[0].AgentID, time.Second)
		}
		return got
	}
	a, b := run(7), run(7)
	if !equal(a, b) {
		t.Fatal("same seed gave different picks")
	}
	seen := map[string]int{}
	for _, id := range a {
		seen[id]++
	}
	for _, id := range []string{"a1", "a2", "a3", "a4", "a5"} {
		if seen[id] < 20 { // expectation 40 of 200
			t.Errorf("agent %s picked %d times of 200: not spread", id, seen[id])
		}
	}
}

func TestRingAllRingsEveryFreeAgentAndCancelsTheOthersOnAnswer(t *testing.T) {
	r := newRig(t, oneQueue(RingAll, 3))
	r.loginStaggered("a1", "a2", "a3")
	r.ok(r.d.Pause("a2", "lunch"))
	wantOffers(t, r.enqueue("c1", "q"), "c1→a1 c1→a3")
	r.wantState("a1", Reserved)
	r.wantState("a3", Reserved)
	acts := r.ok(r.d.Answered("c1", "a3"))
	cancels := actionsOf[CancelOffer](acts)
	if len(cancels) != 1 || cancels[0] != (CancelOffer{CallID: "c1", AgentID: "a1", Reason: CancelAnsweredElsewhere}) {
		t.Fatalf("cancels = %v", cancels)
	}
	r.wantState("a1", Available)
	r.wantState("a3", OnCall)
	if _, err := r.d.Answered("c1", "a1"); err == nil {
		t.Fatal("a late answer from a cancelled agent must fail")
	}
	// A cancelled ring-all offer is not a miss.
	st, _ := r.d.Agent("a1")
	if st.Misses != (MissCounts{}) {
		t.Fatalf("a1 misses = %+v, want none", st.Misses)
	}
}

func TestSkillsBasedPrefersProficiencyThenLongestIdle(t *testing.T) {
	cfg := Config{
		Queues: []QueueConfig{{Name: "q", Strategy: SkillsBased, Skills: []string{"billing"}}},
		Agents: []AgentConfig{
			{ID: "novice", Queues: []string{"q"}, Skills: map[string]int{"billing": 2, "spanish": 5}},
			{ID: "expert", Queues: []string{"q"}, Skills: map[string]int{"billing": 5}},
			{ID: "expert2", Queues: []string{"q"}, Skills: map[string]int{"billing": 5}},
		},
	}
	r := newRig(t, cfg)
	r.loginStaggered("novice", "expert2", "expert")
	wantOffers(t, r.enqueue("c1", "q"), "c1→expert2") // 5, idle longer than expert
	wantOffers(t, r.enqueue("c2", "q"), "c2→expert")
	wantOffers(t, r.enqueue("c3", "q"), "c3→novice")
	r.serve("c1", "expert2", time.Second)
	r.serve("c3", "novice", time.Second)
	// billing+spanish: novice scores 2+5=7; expert2 lacks spanish and is not eligible.
	wantOffers(t, r.enqueue("c4", "q", skills("spanish")), "c4→novice")
}

func TestCallSkillsRestrictEligibleAgents(t *testing.T) {
	cfg := Config{
		Queues: []QueueConfig{{Name: "q"}},
		Agents: []AgentConfig{
			{ID: "a1", Queues: []string{"q"}},
			{ID: "a2", Queues: []string{"q"}, Skills: map[string]int{"french": 3}},
		},
	}
	r := newRig(t, cfg)
	r.loginStaggered("a1", "a2")
	acts := r.enqueue("fr", "q", skills("french"))
	wantOffers(t, acts, "fr→a2")
	r.answerAll(acts)
	// A second French caller waits even though a1 is free.
	wantOffers(t, r.enqueue("fr2", "q", skills("french")), "")
	r.wantState("a1", Available)
	// a1 takes a plain caller who arrived after fr2.
	acts = r.enqueue("c3", "q")
	wantOffers(t, acts, "c3→a1")
	r.answerAll(acts)
	// When a2 is done, it takes fr2.
	r.advance(time.Minute)
	wantOffers(t, r.hangup("fr"), "fr2→a2")
	if _, err := r.d.Enqueue(Call{ID: "x", Queue: "q", Skills: []string{"klingon"}}); err == nil {
		t.Fatal("a skill nobody has must be refused")
	} else {
		wantErr(t, err, ErrUnknownSkill, "klingon", `"x"`)
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
