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
