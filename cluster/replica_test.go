package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	mrand "math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hotline-cc/hotline/acd"
	"github.com/hotline-cc/hotline/acd/acdtest"
	"github.com/hotline-cc/hotline/internal/testenv"
)

const redisAddr = "127.0.0.1:6379"

// replicaRedis returns a client of the test Redis (a missing Redis fails the test).
func replicaRedis(t testing.TB) *redis.Client {
	t.Helper()
	testenv.Service(t, "redis", redisAddr)
	rdb := redis.NewClient(&redis.Options{Addr: redisAddr})
	t.Cleanup(func() { rdb.Close() })
	return rdb
}

// testPrefix returns a fresh key prefix whose keys are deleted when the test ends.
func testPrefix(t testing.TB, rdb *redis.Client) string {
	t.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	p := "hotline-test-" + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		keys, _ := rdb.Keys(ctx, p+":*").Result()
		if len(keys) > 0 {
			rdb.Del(ctx, keys...)
		}
	})
	return p
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// node is a running Replica with the actions its sink received.
type node struct {
	t      testing.TB
	r      *Replica
	rdb    redis.UniversalClient
	cancel context.CancelFunc
	done   chan error

	mu   sync.Mutex
	sunk []acd.Action
}

// startNode opens a replica and runs it until stop or the end of the test.
func startNode(t testing.TB, cfg Config, opts ...acd.Option) *node {
	t.Helper()
	if cfg.Log == nil {
		cfg.Log = quiet
	}
	r, err := Open(context.Background(), cfg, opts...)
	if err != nil {
		t.Fatalf("Open %s: %v", cfg.Node, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	n := &node{t: t, r: r, rdb: cfg.Redis, cancel: cancel, done: make(chan error, 1)}
	go func() {
		n.done <- r.Run(ctx, func(acts []acd.Action) {
			n.mu.Lock()
			n.sunk = append(n.sunk, acts...)
			n.mu.Unlock()
		})
	}()
	t.Cleanup(n.stop)
	return n
}

// stop ends the node's Run (it leaves the live set) and waits for it.
func (n *node) stop() {
	n.cancel()
	select {
	case err := <-n.done:
		if err != nil {
			n.t.Errorf("Run of %s: %v", n.r.Node(), err)
		}
		n.done <- err // for a second stop
	case <-time.After(5 * time.Second):
		n.t.Errorf("Run of %s did not end within 5s of its context", n.r.Node())
	}
}

// kill ends the node's Run as a crash would: it does not leave the live set.
func (n *node) kill() {
	n.r.noLeave.Store(true)
	n.stop()
}

// take returns and clears what the sink received.
func (n *node) take() []acd.Action {
	n.mu.Lock()
	defer n.mu.Unlock()
	s := n.sunk
	n.sunk = nil
	return s
}

// settle waits until every node has applied the whole stream.
func settle(t testing.TB, nodes ...*node) {
	t.Helper()
	n, err := nodes[0].rdb.XLen(context.Background(), nodes[0].r.keys.log).Result()
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		ok := true
		for _, x := range nodes {
			ok = ok && x.r.applied.Load() >= uint64(n)
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			var at []uint64
			for _, x := range nodes {
				at = append(at, x.r.applied.Load())
			}
			t.Fatalf("nodes applied %v of %d entries after 5s", at, n)
		}
		time.Sleep(50 * time.Microsecond)
	}
}

func formatActions(acts []acd.Action) []string {
	var out []string
	for _, a := range acts {
		out = append(out, acdtest.FormatAction(a))
	}
	return out
}

// TestReplicaPropertySameAsMemory runs the property sequences against a one-node site: the
// invariants hold and every step returns what the in-memory distributor returns for the same
// seed and configuration (the shared engine passes the distributor's tests).
func TestReplicaPropertySameAsMemory(t *testing.T) {
	rdb := replicaRedis(t)
	sequences, steps := 60, 100
	if testing.Short() {
		sequences = 15
	}
	for s := range sequences {
		var n *node
		shared := func(tb testing.TB, cfg acd.Config, clk acd.Clock, seed uint64) acd.Engine {
			n = startNode(tb, Config{Redis: rdb, Prefix: testPrefix(t, rdb), Node: "n1", ACD: cfg, Clock: clk}, acdtest.Options()...)
			return n.r
		}
		got, err := acdtest.Sequence(t, shared, uint64(s), steps)
		if err != nil {
			t.Fatalf("seed %d, shared: %v", s, err)
		}
		if sunk := n.take(); len(sunk) > 0 {
			t.Fatalf("seed %d: a lone node's sink received %v", s, formatActions(sunk))
		}
		memory := func(tb testing.TB, cfg acd.Config, clk acd.Clock, seed uint64) acd.Engine {
			d, err := acd.New(cfg, clk, append(acdtest.Options(), acd.WithRand(mrand.New(mrand.NewPCG(n.r.ep.Seed, 0x0acd))))...)
			if err != nil {
				tb.Fatal(err)
			}
			return d
		}
		want, err := acdtest.Sequence(t, memory, uint64(s), steps)
		if err != nil {
			t.Fatalf("seed %d, memory: %v", s, err)
		}
		if d := acdtest.Diff(want, got); d != "" {
			t.Fatalf("seed %d: the shared engine decided otherwise than the in-memory one (first: memory, second: shared): %s", s, d)
		}
		n.stop()
	}
}

// lockstep is an acd.Engine over a site of several nodes and an in-memory reference: each
// request goes to the reference and to a random node; once every node has applied it, what
// the nodes carried out (returned or sunk) must be what the reference returned, each call's
// actions by its owner only, agent state changes by every node. It returns the reference's.
type lockstep struct {
	t     testing.TB
	ref   *acd.Distributor
	nodes []*node
	rng   *mrand.Rand
	owner map[string]int // call → index of the node that enqueued it
	steps int
}

func (l *lockstep) run(name string, op func(acd.Engine) ([]acd.Action, error)) ([]acd.Action, error) {
	l.t.Helper()
	l.steps++
	want, wantErr := op(l.ref)
	i := l.rng.IntN(len(l.nodes))
	got, err := op(l.nodes[i].r)
	if fmt.Sprint(err) != fmt.Sprint(wantErr) {
		l.t.Fatalf("step %d, %s on node %d: error %v, in memory %v", l.steps, name, i, err, wantErr)
	}
	l.check(name, i, got, want)
	return want, wantErr
}

// check compares what each node carried out with what the reference returned.
func (l *lockstep) check(name string, proposer int, got, want []acd.Action) {
	l.t.Helper()
	settle(l.t, l.nodes...)
	for j, n := range l.nodes {
		var did []acd.Action
		if j == proposer {
			did = append(did, got...)
		}
		did = append(did, n.take()...)
		var expect []acd.Action
		for _, a := range want {
			if id := callOf(a); id == "" || l.owner[id] == j {
				expect = append(expect, a)
			}
		}
		if g, w := formatActions(did), formatActions(expect); !slices.Equal(g, w) {
			l.t.Fatalf("step %d, %s proposed on node %d: node %d carried out\n  %s\nwant (its share of the in-memory engine's)\n  %s",
				l.steps, name, proposer, j, strings.Join(g, "\n  "), strings.Join(w, "\n  "))
		}
	}
}

func (l *lockstep) Enqueue(c acd.Call) ([]acd.Action, error) {
	l.t.Helper()
	l.steps++
	want, wantErr := l.ref.Enqueue(c)
	i := l.rng.IntN(len(l.nodes))
	if wantErr == nil {
		l.owner[c.ID] = i
	}
	got, err := l.nodes[i].r.Enqueue(c)
	if fmt.Sprint(err) != fmt.Sprint(wantErr) {
		l.t.Fatalf("step %d, enqueue %s on node %d: error %v, in memory %v", l.steps, c.ID, i, err, wantErr)
	}
	l.check("enqueue "+c.ID, i, got, want)
	return want, wantErr
}

// Tick: every node ticks at once (each proposes a tick when a deadline passed; the later ticks
// find nothing due).
func (l *lockstep) Tick() []acd.Action {
	l.t.Helper()
	l.steps++
	want := l.ref.Tick()
	got := make([][]acd.Action, len(l.nodes))
	var wg sync.WaitGroup
	for i, n := range l.nodes {
		wg.Add(1)
		go func() { defer wg.Done(); got[i] = n.r.Tick() }()
	}
	wg.Wait()
	settle(l.t, l.nodes...)
	for i, n := range l.nodes {
		n.mu.Lock()
		n.sunk = append(got[i], n.sunk...) // what it returned came first
		n.mu.Unlock()
	}
	l.check("tick", -1, nil, want)
	return want
}

func (l *lockstep) NextDeadline() (time.Time, bool) { return l.ref.NextDeadline() }

func (l *lockstep) Abandon(id string) ([]acd.Action, error) {
	return l.run("abandon "+id, func(e acd.Engine) ([]acd.Action, error) { return e.Abandon(id) })
}
func (l *lockstep) ConvertToCallback(id string) ([]acd.Action, error) {
	return l.run("callback "+id, func(e acd.Engine) ([]acd.Action, error) { return e.ConvertToCallback(id) })
}
func (l *lockstep) Answered(id, agent string) ([]acd.Action, error) {
	return l.run("answered "+id, func(e acd.Engine) ([]acd.Action, error) { return e.Answered(id, agent) })
}
func (l *lockstep) OfferFailed(id, agent string, why acd.MissReason) ([]acd.Action, error) {
	return l.run("offer failed "+id, func(e acd.Engine) ([]acd.Action, error) { return e.OfferFailed(id, agent, why) })
}
func (l *lockstep) Hangup(id string) ([]acd.Action, error) {
	return l.run("hangup "+id, func(e acd.Engine) ([]acd.Action, error) { return e.Hangup(id) })
}
func (l *lockstep) Login(agent string, queues ...string) ([]acd.Action, error) {
	return l.run("login "+agent, func(e acd.Engine) ([]acd.Action, error) { return e.Login(agent, queues...) })
}
func (l *lockstep) Logout(agent string) ([]acd.Action, error) {
	return l.run("logout "+agent, func(e acd.Engine) ([]acd.Action, error) { return e.Logout(agent) })
}
func (l *lockstep) Pause(agent, reason string) ([]acd.Action, error) {
	return l.run("pause "+agent, func(e acd.Engine) ([]acd.Action, error) { return e.Pause(agent, reason) })
}
func (l *lockstep) Unpause(agent string) ([]acd.Action, error) {
	return l.run("unpause "+agent, func(e acd.Engine) ([]acd.Action, error) { return e.Unpause(agent) })
}
func (l *lockstep) EndWrapUp(agent string) ([]acd.Action, error) {
	return l.run("end wrap-up "+agent, func(e acd.Engine) ([]acd.Action, error) { return e.EndWrapUp(agent) })
}
func (l *lockstep) OfferTransfer(id, agent string) ([]acd.Action, error) {
	return l.run("transfer "+id, func(e acd.Engine) ([]acd.Action, error) { return e.OfferTransfer(id, agent) })
}
func (l *lockstep) OfferConsult(id, agent string) ([]acd.Action, error) {
	return l.run("consult "+id, func(e acd.Engine) ([]acd.Action, error) { return e.OfferConsult(id, agent) })
}
func (l *lockstep) TransferToQueue(id, queue string, keep bool) ([]acd.Action, error) {
	return l.run("transfer to queue "+id, func(e acd.Engine) ([]acd.Action, error) { return e.TransferToQueue(id, queue, keep) })
}
func (l *lockstep) TransferAway(id string) ([]acd.Action, error) {
	return l.run("transfer away "+id, func(e acd.Engine) ([]acd.Action, error) { return e.TransferAway(id) })
}
func (l *lockstep) Hold(id string, on bool) ([]acd.Action, error) {
	return l.run("hold "+id, func(e acd.Engine) ([]acd.Action, error) { return e.Hold(id, on) })
}
func (l *lockstep) CompleteConsult(id string) ([]acd.Action, error) {
	return l.run("complete consult "+id, func(e acd.Engine) ([]acd.Action, error) { return e.CompleteConsult(id) })
}
func (l *lockstep) EndConsult(agent string) ([]acd.Action, error) {
	return l.run("end consult "+agent, func(e acd.Engine) ([]acd.Action, error) { return e.EndConsult(agent) })
}
func (l *lockstep) CancelTransfer(id string) ([]acd.Action, error) {
	return l.run("cancel transfer "+id, func(e acd.Engine) ([]acd.Action, error) { return e.CancelTransfer(id) })
}
func (l *lockstep) Restore(s acd.State) ([]acd.Action, error) {
	return l.run("restore", func(e acd.Engine) ([]acd.Action, error) { return e.Restore(s) })
}

// Reads go to a random node.
func (l *lockstep) any() *Replica             { return l.nodes[l.rng.IntN(len(l.nodes))].r }
func (l *lockstep) Snapshot() acd.State       { return l.any().Snapshot() }
func (l *lockstep) Agents() []acd.AgentStatus { return l.any().Agents() }
func (l *lockstep) Queues() []acd.QueueStats  { return l.any().Queues() }
func (l *lockstep) AgentState(a string) (acd.AgentState, error) {
	return l.any().AgentState(a)
}
func (l *lockstep) Agent(a string) (acd.AgentStatus, error) { return l.any().Agent(a) }
func (l *lockstep) Position(id string) (int, time.Duration, bool) {
	return l.any().Position(id)
}
func (l *lockstep) CallStatus(id string) (acd.CallStatus, bool) { return l.any().CallStatus(id) }
func (l *lockstep) QueueStats(q string) (acd.QueueStats, bool)  { return l.any().QueueStats(q) }

// CheckInvariants checks every copy, and that every copy holds the same state.
func (l *lockstep) CheckInvariants() error {
	first := l.nodes[0].r.Snapshot()
	for i, n := range l.nodes {
		if err := n.r.CheckInvariants(); err != nil {
			return fmt.Errorf("node %d: %w", i, err)
		}
		if s := n.r.Snapshot(); !reflect.DeepEqual(first, s) {
			return fmt.Errorf("nodes 0 and %d hold different states:\n%s", i, snapDiff(first, s))
		}
		// Every call in the distributor has its owner, and only those calls have one.
		n.r.omu.Lock()
		owners := maps.Clone(n.r.owners)
		n.r.omu.Unlock()
		for id, o := range owners {
			if _, ok := n.r.CallStatus(id); !ok {
				return fmt.Errorf("node %d still has an owner (%s) for call %s, which left", i, o, id)
			}
			if want := l.nodes[l.owner[id]].r.Node(); o != want {
				return fmt.Errorf("node %d has %s as the owner of %s, want %s", i, o, id, want)
			}
		}
		for id := range l.owner {
			if _, ok := n.r.CallStatus(id); ok && owners[id] == "" {
				return fmt.Errorf("node %d has no owner for call %s", i, id)
			}
		}
	}
	if err := l.ref.CheckInvariants(); err != nil {
		return fmt.Errorf("in memory: %w", err)
	}
	return nil
}

func snapDiff(a, b acd.State) string {
	x, _ := json.MarshalIndent(a, "", " ")
	y, _ := json.MarshalIndent(b, "", " ")
	xl, yl := strings.Split(string(x), "\n"), strings.Split(string(y), "\n")
	for i := range min(len(xl), len(yl)) {
		if xl[i] != yl[i] {
			return fmt.Sprintf("line %d: %s\n        vs %s", i, xl[i], yl[i])
		}
	}
	return fmt.Sprintf("%d vs %d lines", len(xl), len(yl))
}

var _ acd.Engine = (*lockstep)(nil)

// TestReplicaThreeNodesEachDecisionOnce: three nodes of one site, each request proposed on a
// random node. After each step every node has applied the same stream; together they carried
// out exactly what the in-memory distributor returned, each call's actions on its owner only,
// agent state changes on every node; their states are equal and keep the invariants. A node
// that joins afterwards replays the stream to the same state.
func TestReplicaThreeNodesEachDecisionOnce(t *testing.T) {
	rdb := replicaRedis(t)
	sequences, steps := 12, 80
	if testing.Short() {
		sequences = 4
	}
	for s := range sequences {
		prefix := testPrefix(t, rdb)
		var l *lockstep
		var cfgUsed acd.Config
		var clkUsed acd.Clock
		site := func(tb testing.TB, cfg acd.Config, clk acd.Clock, seed uint64) acd.Engine {
			cfgUsed, clkUsed = cfg, clk
			l = &lockstep{t: tb, rng: mrand.New(mrand.NewPCG(seed, 99)), owner: map[string]int{}}
			for i := range 3 {
				l.nodes = append(l.nodes, startNode(tb, Config{Redis: rdb, Prefix: prefix, Node: fmt.Sprintf("n%d", i), ACD: cfg, Clock: clk}, acdtest.Options()...))
			}
			var err error
			l.ref, err = acd.New(cfg, clk, append(acdtest.Options(), acd.WithRand(mrand.New(mrand.NewPCG(l.nodes[0].r.ep.Seed, 0x0acd))))...)
			if err != nil {
				tb.Fatal(err)
			}
			return l
		}
		if _, err := acdtest.Sequence(t, site, uint64(s), steps); err != nil {
			t.Fatalf("seed %d: %v", s, err)
		}
		late := startNode(t, Config{Redis: rdb, Prefix: prefix, Node: "late", ACD: cfgUsed, Clock: clkUsed}, acdtest.Options()...)
		if late.r.ep != l.nodes[0].r.ep {
			t.Fatalf("seed %d: the late node started epoch %+v, the site's is %+v", s, late.r.ep, l.nodes[0].r.ep)
		}
		if a, b := l.nodes[0].r.Snapshot(), late.r.Snapshot(); !reflect.DeepEqual(a, b) {
			t.Fatalf("seed %d: the late node replayed the stream to another state:\n%s", s, snapDiff(a, b))
		}
		if err := late.r.CheckInvariants(); err != nil {
			t.Fatalf("seed %d: late node: %v", s, err)
		}
		for _, n := range append(l.nodes, late) {
			n.stop()
		}
	}
}

func acdtestFormat(a acd.Action) string { return acdtest.FormatAction(a) }

func equalStates(a, b acd.State) bool { return reflect.DeepEqual(a, b) }

// TestReplicaScenarios runs the distributor's scenario tests against a one-node site.
func TestReplicaScenarios(t *testing.T) {
	rdb := replicaRedis(t)
	acdtest.Scenarios(t, func(tb testing.TB, cfg acd.Config, clk acd.Clock, seed uint64) acd.Engine {
		// A client per node, as on separate machines (a scenario may run many nodes at once,
		// each holding a connection in its blocked stream read).
		own := redis.NewClient(&redis.Options{Addr: redisAddr})
		tb.Cleanup(func() { own.Close() })
		n := startNode(tb, Config{Redis: own, Prefix: testPrefix(tb, rdb), Node: "n1", ACD: cfg, Clock: clk})
		tb.Cleanup(func() {
			if sunk := n.take(); len(sunk) > 0 {
				tb.Errorf("a lone node's sink received %v", formatActions(sunk))
			}
		})
		return n.r
	})
}
