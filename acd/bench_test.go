package acd

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/internal/fakeclock"
)

// benchCenter builds 20 queues (queue i requires skill i; strategies mixed) and 2,000 agents with
// 4 skills each, member of the 4 matching queues.
func benchCenter(b *testing.B, rng *rand.Rand) (*Distributor, *fakeclock.Clock) {
	b.Helper()
	var cfg Config
	strat := []Strategy{LongestIdle, SkillsBased, FewestCalls, RoundRobin}
	for i := range 20 {
		cfg.Queues = append(cfg.Queues, QueueConfig{
			Name: fmt.Sprintf("q%d", i), Skills: []string{fmt.Sprintf("s%d", i)}, Strategy: strat[i%len(strat)],
			AnnounceInterval: 30 * time.Second, MaxWait: 2 * time.Hour,
		})
	}
	for i := range 2000 {
		a := AgentConfig{ID: fmt.Sprintf("a%d", i), Skills: map[string]int{}, AutoLogin: true}
		for _, s := range rng.Perm(20)[:4] {
			a.Skills[fmt.Sprintf("s%d", s)] = 1 + rng.IntN(5)
			a.Queues = append(a.Queues, fmt.Sprintf("q%d", s))
		}
		cfg.Agents = append(cfg.Agents, a)
	}
	clk := fakeclock.New(t0)
	d, err := New(cfg, clk, WithRand(rand.New(rand.NewPCG(1, 2))))
	if err != nil {
		b.Fatal(err)
	}
	return d, clk
}

func benchCall(rng *rand.Rand, id int) Call {
	c := Call{ID: fmt.Sprintf("c%d", id), Queue: fmt.Sprintf("q%d", rng.IntN(20))}
	if rng.IntN(10) == 0 {
		c.Priority = 1 + rng.IntN(3)
	}
	if rng.IntN(5) == 0 {
		c.Skills = []string{fmt.Sprintf("s%d", rng.IntN(20))}
	}
	return c
}

// latencies reports p50 and p99 of the measured decisions and the decision rate (decisions per
// second of time spent deciding). ns/op also includes the unmeasured upkeep of each iteration
// (answering the offer, refilling the queue); b.StopTimer is not used because its per-call cost
// (reading memory statistics) would disturb the latencies measured.
type latencies []time.Duration

func (l latencies) report(b *testing.B, total time.Duration) {
	if len(l) == 0 {
		return
	}
	s := slices.Clone(l)
	slices.Sort(s)
	b.ReportMetric(float64(s[len(s)/2].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(s[len(s)*99/100].Nanoseconds()), "p99-ns")
	b.ReportMetric(float64(len(l))/total.Seconds(), "decisions/s")
}

// BenchmarkDecisionAgentFreed: 10,000 callers wait and all 2,000 agents are busy; each
// iteration one agent hangs up and the distributor picks, across that agent's queues and skill
// classes, the caller it takes. A new caller then arrives so that 10,000 keep waiting.
func BenchmarkDecisionAgentFreed(b *testing.B) {
	rng := rand.New(rand.NewPCG(3, 4))
	d, clk := benchCenter(b, rng)
	id := 0
	type conn struct{ call, agent string }
	var connected []conn
	answer := func(acts []Action) {
		for _, o := range offersIn(acts) {
			if _, err := d.Answered(o.CallID, o.AgentID); err != nil {
				b.Fatal(err)
			}
			connected = append(connected, conn{o.CallID, o.AgentID})
		}
	}
	// Occupy every agent, then fill the queues.
	for len(connected) < 2000 {
		id++
		acts, err := d.Enqueue(benchCall(rng, id))
		if err != nil {
			b.Fatal(err)
		}
		answer(acts)
	}
	waiting := 0
	for _, q := range d.Queues() {
		waiting += q.Waiting
	}
	for waiting < 10000 {
		id++
		if _, err := d.Enqueue(benchCall(rng, id)); err != nil {
			b.Fatal(err)
		}
		waiting++
	}
	lat := make(latencies, 0, 1<<16)
	var total time.Duration
	b.ResetTimer()
	for b.Loop() {
		clk.Advance(time.Millisecond)
		c := connected[0]
		connected = connected[1:]
		start := time.Now()
		acts, err := d.Hangup(c.call)
		el := time.Since(start)
		if err != nil {
			b.Fatal(err)
		}
		total += el
		lat = append(lat, el)
		answer(acts) // the freed agent answers the caller it was offered
		if len(offersIn(acts)) == 0 {
			b.Fatal("a freed agent found no caller among 10,000")
		}
		id++
		if _, err := d.Enqueue(benchCall(rng, id)); err != nil {
			b.Fatal(err)
		}
	}
	lat.report(b, total)
}

// BenchmarkDecisionCallerArrives: 2,000 agents, most of them free; each iteration a caller
// arrives and is offered to the agent its queue's strategy picks.
func BenchmarkDecisionCallerArrives(b *testing.B) {
	rng := rand.New(rand.NewPCG(5, 6))
	d, clk := benchCenter(b, rng)
	lat := make(latencies, 0, 1<<16)
	var total time.Duration
	id := 0
	b.ResetTimer()
	for b.Loop() {
		clk.Advance(time.Millisecond)
		id++
		c := benchCall(rng, id)
		c.Skills = nil // so that it is served at once
		start := time.Now()
		acts, err := d.Enqueue(c)
		el := time.Since(start)
		if err != nil {
			b.Fatal(err)
		}
		total += el
		lat = append(lat, el)
		for _, o := range offersIn(acts) {
			d.Answered(o.CallID, o.AgentID)
			d.Hangup(o.CallID)
		}
	}
	lat.report(b, total)
}
