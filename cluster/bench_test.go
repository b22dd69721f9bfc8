package cluster

import (
	"context"
	"fmt"
	mrand "math/rand/v2"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hotline-cc/hotline/acd"
	"github.com/hotline-cc/hotline/internal/fakeclock"
)

// The routing-decision benchmarks, shared and in memory, have the shape of acd's
// BenchmarkDecisionAgentFreed: 20 queues (queue i requires skill i), 2,000 agents with 4
// skills each, member of the 4 matching queues; all agents on a call and 10,000 callers
// waiting. Each iteration one agent hangs up and the distributor picks, across that agent's
// queues and skill classes, the caller it takes: the decision measured. The freed agent then
// answers and a new caller arrives (unmeasured upkeep), so that 10,000 keep waiting.

func benchConfig(rng *mrand.Rand) acd.Config {
	var cfg acd.Config
	strat := []acd.Strategy{acd.LongestIdle, acd.SkillsBased, acd.FewestCalls, acd.RoundRobin}
	for i := range 20 {
		cfg.Queues = append(cfg.Queues, acd.QueueConfig{
			Name: fmt.Sprintf("q%d", i), Skills: []string{fmt.Sprintf("s%d", i)}, Strategy: strat[i%len(strat)],
			AnnounceInterval: 30 * time.Second, MaxWait: 2 * time.Hour,
		})
	}
	for i := range 2000 {
		a := acd.AgentConfig{ID: fmt.Sprintf("a%d", i), Skills: map[string]int{}, AutoLogin: true}
		for _, s := range rng.Perm(20)[:4] {
			a.Skills[fmt.Sprintf("s%d", s)] = 1 + rng.IntN(5)
			a.Queues = append(a.Queues, fmt.Sprintf("q%d", s))
		}
		cfg.Agents = append(cfg.Agents, a)
	}
	return cfg
}

func benchCall(rng *mrand.Rand, id int) acd.Call {
	c := acd.Call{ID: fmt.Sprintf("c%d", id), Queue: fmt.Sprintf("q%d", rng.IntN(20))}
	if rng.IntN(10) == 0 {
		c.Priority = 1 + rng.IntN(3)
	}
	if rng.IntN(5) == 0 {
		c.Skills = []string{fmt.Sprintf("s%d", rng.IntN(20))}
	}
	return c
}

func offers(acts []acd.Action) []acd.Offer {
	var out []acd.Offer
	for _, a := range acts {
		if o, ok := a.(acd.Offer); ok {
			out = append(out, o)
		}
	}
	return out
}

// benchDecisions loads the site through e and measures decisions; roundTrips, if not nil,
// reads a counter of the proposing node's Redis commands.
func benchDecisions(b *testing.B, e acd.Engine, clk *fakeclock.Clock, rng *mrand.Rand, roundTrips *atomic.Int64) {
	b.Helper()
	id := 0
	type conn struct{ call, agent string }
	var connected []conn
	answer := func(acts []acd.Action) {
		for _, o := range offers(acts) {
			if _, err := e.Answered(o.CallID, o.AgentID); err != nil {
				b.Fatal(err)
			}
			connected = append(connected, conn{o.CallID, o.AgentID})
		}
	}
	for len(connected) < 2000 {
		id++
		acts, err := e.Enqueue(benchCall(rng, id))
		if err != nil {
			b.Fatal(err)
		}
		answer(acts)
	}
	waiting := 0
	for _, q := range e.Queues() {
		waiting += q.Waiting
	}
	for waiting < 10000 {
		id++
		if _, err := e.Enqueue(benchCall(rng, id)); err != nil {
			b.Fatal(err)
		}
		waiting++
	}
	lat := make([]time.Duration, 0, 1<<14)
	var trips []int64
	b.ResetTimer()
	for b.Loop() {
		clk.Advance(time.Millisecond)
		c := connected[0]
		connected = connected[1:]
		var before int64
		if roundTrips != nil {
			before = roundTrips.Load()
		}
		start := time.Now()
		acts, err := e.Hangup(c.call)
		el := time.Since(start)
		if roundTrips != nil {
			trips = append(trips, roundTrips.Load()-before)
		}
		if err != nil {
			b.Fatal(err)
		}
		lat = append(lat, el)
		if len(offers(acts)) == 0 {
			b.Fatal("a freed agent found no caller among 10,000")
		}
		answer(acts)
		id++
		if _, err := e.Enqueue(benchCall(rng, id)); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds())/1e3, "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds())/1e3, "p99-µs")
	if roundTrips != nil {
		var sum int64
		for _, n := range trips {
			sum += n
		}
		slices.Sort(trips)
		b.ReportMetric(float64(sum)/float64(len(trips)), "round-trips/decision")
		b.ReportMetric(float64(trips[len(trips)*99/100]), "p99-round-trips")
	}
}

// BenchmarkMemoryRoutingDecision is the decision on the in-memory distributor (one node).
func BenchmarkMemoryRoutingDecision(b *testing.B) {
	rng := mrand.New(mrand.NewPCG(3, 4))
	clk := fakeclock.New(t0)
	d, err := acd.New(benchConfig(rng), clk, acd.WithRand(mrand.New(mrand.NewPCG(1, 2))))
	if err != nil {
		b.Fatal(err)
	}
	benchDecisions(b, d, clk, rng, nil)
}

// countHook counts the commands (and pipelines) a client sends to Redis, each one round trip.
type countHook struct{ n *atomic.Int64 }

func (h countHook) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h countHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		h.n.Add(1) // counted when it completes: a read blocked before the decision counts once it returns
		return err
	}
}
func (h countHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		h.n.Add(1)
		return err
	}
}

// BenchmarkSharedRoutingDecision is the decision on the shared distributor over Redis, with
// the site's other nodes (0 or 2) applying the stream beside the proposing one. Round trips
// are the proposing node's commands to Redis completed while the decision was made.
func BenchmarkSharedRoutingDecision(b *testing.B) {
	for _, nodes := range []int{1, 3} {
		b.Run(fmt.Sprintf("nodes=%d", nodes), func(b *testing.B) {
			rdb := replicaRedis(b)
			prefix := testPrefix(b, rdb)
			rng := mrand.New(mrand.NewPCG(3, 4))
			cfg := benchConfig(rng)
			clk := fakeclock.New(t0)
			var trips atomic.Int64
			own := redis.NewClient(&redis.Options{Addr: redisAddr})
			own.AddHook(countHook{&trips})
			b.Cleanup(func() { own.Close() })
			n := startNode(b, Config{Redis: own, Prefix: prefix, Node: "n0", ACD: cfg, Clock: clk})
			for i := 1; i < nodes; i++ {
				startNode(b, Config{Redis: rdb, Prefix: prefix, Node: fmt.Sprintf("n%d", i), ACD: cfg, Clock: clk})
			}
			benchDecisions(b, n.r, clk, rng, &trips)
		})
	}
}

// BenchmarkRedisRoundTrip is the floor under the shared decision: one XADD of an entry of the
// same size to a stream of the test Redis, measured alike (p50 and p99 of one round trip).
func BenchmarkRedisRoundTrip(b *testing.B) {
	rdb := replicaRedis(b)
	key := testPrefix(b, rdb) + ":acd:log"
	ctx := context.Background()
	lat := make([]time.Duration, 0, 1<<14)
	for b.Loop() {
		start := time.Now()
		err := rdb.XAdd(ctx, &redis.XAddArgs{Stream: key, Values: []any{"e", "0123456789abcdef", "p", "n0/01234567", "s", "12345", "t", "1741000000000000000", "o", "hangup", "a", `{"id":"c12345"}`}}).Err()
		lat = append(lat, time.Since(start))
		if err != nil {
			b.Fatal(err)
		}
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds())/1e3, "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds())/1e3, "p99-µs")
}
