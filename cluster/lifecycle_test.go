package cluster

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hotline-cc/hotline/acd"
	"github.com/hotline-cc/hotline/internal/fakeclock"
)

var t0 = time.Date(2025, 3, 3, 9, 0, 0, 0, time.UTC)

// twoAgents is one queue with a long wrap-up and two agents logged in from the start.
func twoAgents() acd.Config {
	return acd.Config{
		Queues: []acd.QueueConfig{{Name: "sales", WrapUp: time.Minute}},
		Agents: []acd.AgentConfig{
			{ID: "a1", Queues: []string{"sales"}, AutoLogin: true},
			{ID: "a2", Queues: []string{"sales"}, AutoLogin: true},
		},
	}
}

func must(t testing.TB) func([]acd.Action, error) []acd.Action {
	return func(acts []acd.Action, err error) []acd.Action {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return acts
	}
}

func offerOf(t testing.TB, acts []acd.Action) acd.Offer {
	t.Helper()
	for _, a := range acts {
		if o, ok := a.(acd.Offer); ok {
			return o
		}
	}
	t.Fatalf("no offer in %v", formatActions(acts))
	return acd.Offer{}
}

// TestReplicaNodeGone: a node that owns a conversation and a waiting caller dies without
// leaving. The others declare it gone within DeadAfter and a second: its caller leaves as
// abandoned, its conversation as hung up (the agent goes to wrap-up); the callers of live
// nodes keep their order; every copy agrees and keeps the invariants.
func TestReplicaNodeGone(t *testing.T) {
	rdb := replicaRedis(t)
	prefix := testPrefix(t, rdb)
	clk := fakeclock.New(t0)
	cfg := func(name string) Config {
		return Config{Redis: rdb, Prefix: prefix, Node: name, ACD: twoAgents(), Clock: clk, DeadAfter: 600 * time.Millisecond}
	}
	a, b, c := startNode(t, cfg("a")), startNode(t, cfg("b")), startNode(t, cfg("c"))

	o := offerOf(t, must(t)(a.r.Enqueue(acd.Call{ID: "mine-talking", Queue: "sales"})))
	must(t)(a.r.Answered("mine-talking", o.AgentID))
	talker := o.AgentID
	o = offerOf(t, must(t)(b.r.Enqueue(acd.Call{ID: "b-talking", Queue: "sales"})))
	must(t)(b.r.Answered("b-talking", o.AgentID))
	clk.Advance(time.Second)
	must(t)(b.r.Enqueue(acd.Call{ID: "b-first", Queue: "sales"}))
	clk.Advance(time.Second)
	must(t)(a.r.Enqueue(acd.Call{ID: "mine-waiting", Queue: "sales"}))
	clk.Advance(time.Second)
	must(t)(c.r.Enqueue(acd.Call{ID: "c-last", Queue: "sales"}))
	settle(t, a, b, c)
	for _, n := range []*node{a, b, c} {
		n.take()
	}
	if p, _, _ := c.r.Position("c-last"); p != 3 {
		t.Fatalf("c-last at position %d before, want 3", p)
	}

	killed := time.Now()
	a.kill()
	deadline := time.Now().Add(600*time.Millisecond + time.Second + 500*time.Millisecond)
	for {
		_, talking := b.r.CallStatus("mine-talking")
		_, waiting := c.r.CallStatus("mine-waiting")
		if !talking && !waiting {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the dead node's calls are still there %v after it died", time.Since(killed))
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("the dead node's calls left %v after it died (dead_after 600ms)", time.Since(killed).Round(time.Millisecond))
	settle(t, b, c)
	for _, n := range []*node{b, c} {
		if st, err := n.r.AgentState(talker); err != nil || st != acd.WrapUp {
			t.Errorf("%s: the dead node's agent %s is %v (%v), want in wrap-up", n.r.Node(), talker, st, err)
		}
		if p, _, ok := n.r.Position("b-first"); !ok || p != 1 {
			t.Errorf("%s: b-first at %d (%v), want 1", n.r.Node(), p, ok)
		}
		if p, _, ok := n.r.Position("c-last"); !ok || p != 2 {
			t.Errorf("%s: c-last at %d (%v), want 2", n.r.Node(), p, ok)
		}
		if _, ok := n.r.CallStatus("b-talking"); !ok {
			t.Errorf("%s: b-talking left", n.r.Node())
		}
		if q, _ := n.r.QueueStats("sales"); q.Totals.Abandoned != 1 {
			t.Errorf("%s: %d abandoned, want 1 (the dead node's waiting caller)", n.r.Node(), q.Totals.Abandoned)
		}
		if err := n.r.CheckInvariants(); err != nil {
			t.Errorf("%s: %v", n.r.Node(), err)
		}
		// Only agent state changes reach the live nodes: the dead node's calls are nobody's.
		for _, act := range n.take() {
			if _, ok := act.(acd.AgentStateChanged); !ok {
				t.Errorf("%s carried out %s", n.r.Node(), acdtestFormat(act))
			}
		}
	}
	if x, y := b.r.Snapshot(), c.r.Snapshot(); !equalStates(x, y) {
		t.Errorf("b and c hold different states: %s", snapDiff(x, y))
	}
}

// TestReplicaRestartSameName: a node restarted under the same name (a new incarnation) has
// its former incarnation declared gone at once, not after DeadAfter.
func TestReplicaRestartSameName(t *testing.T) {
	rdb := replicaRedis(t)
	prefix := testPrefix(t, rdb)
	clk := fakeclock.New(t0)
	cfg := func(name string) Config {
		return Config{Redis: rdb, Prefix: prefix, Node: name, ACD: twoAgents(), Clock: clk, DeadAfter: 30 * time.Second}
	}
	a, b := startNode(t, cfg("a")), startNode(t, cfg("b"))
	must(t)(a.r.Enqueue(acd.Call{ID: "old", Queue: "sales"}))
	settle(t, a, b)
	if _, ok := b.r.CallStatus("old"); !ok {
		t.Fatal("b does not hold a's call")
	}
	a.kill()
	a2 := startNode(t, cfg("a"))
	if a2.r.Node() == a.r.Node() {
		t.Fatal("the same incarnation twice")
	}
	deadline := time.Now().Add(3 * time.Second)
	for {
		if _, ok := b.r.CallStatus("old"); !ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the former incarnation's call is still there 3s after the restart")
		}
		time.Sleep(10 * time.Millisecond)
	}
	settle(t, a2, b)
	if _, ok := a2.r.CallStatus("old"); ok {
		t.Error("the restarted node still holds its former incarnation's call")
	}
}

// TestReplicaEpochs: a node refuses a site whose configuration differs, naming the
// difference; the first node of a site (none alive) starts a new epoch with an empty stream;
// a node joining a live site keeps its epoch.
func TestReplicaEpochs(t *testing.T) {
	rdb := replicaRedis(t)
	prefix := testPrefix(t, rdb)
	clk := fakeclock.New(t0)
	cfg := Config{Redis: rdb, Prefix: prefix, Node: "a", ACD: twoAgents(), Clock: clk, Log: quiet}
	a := startNode(t, cfg)
	must(t)(a.r.Enqueue(acd.Call{ID: "c1", Queue: "sales"}))

	other := twoAgents()
	other.Agents = append(other.Agents, acd.AgentConfig{ID: "a3", Queues: []string{"sales"}})
	other.Queues[0].WrapUp = 0
	bad := cfg
	bad.Node, bad.ACD = "b", other
	_, err := Open(context.Background(), bad)
	if !errors.Is(err, ErrConfigMismatch) || !strings.Contains(err.Error(), `agent "a3"`) || !strings.Contains(err.Error(), `queue "sales" differs`) {
		t.Fatalf("Open with another configuration: %v", err)
	}
	t.Logf("refused: %v", err)
	if n, _ := rdb.ZCard(context.Background(), prefix+":acd:nodes").Result(); n != 1 {
		t.Errorf("%d live nodes after the refusal, want 1", n)
	}

	joined := cfg
	joined.Node = "b"
	b := startNode(t, joined)
	if b.r.ep != a.r.ep {
		t.Errorf("b started epoch %+v, the live site's is %+v", b.r.ep, a.r.ep)
	}
	if _, ok := b.r.CallStatus("c1"); !ok {
		t.Error("b did not replay c1")
	}
	a.stop()
	b.stop()

	fresh := cfg
	fresh.Node = "c"
	c := startNode(t, fresh)
	if c.r.ep.ID == a.r.ep.ID {
		t.Fatal("the first node of a site with no live node kept the old epoch")
	}
	if _, ok := c.r.CallStatus("c1"); ok {
		t.Error("a new epoch holds the old epoch's call")
	}
	// The new epoch's first node may have a new configuration.
	c.stop()
	d := startNode(t, bad)
	if _, ok := d.r.QueueStats("sales"); !ok {
		t.Error("no queue")
	}
}

// proxy forwards TCP connections to addr until closed (then it drops them all), holding back
// what comes from addr by the delay set at the time.
type proxy struct {
	ln    net.Listener
	delay atomic.Int64
	mu    sync.Mutex
	conns []net.Conn
}

func newProxy(t testing.TB, addr string) *proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", addr)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, s)
			p.mu.Unlock()
			go func() { io.Copy(s, c); s.Close() }()
			go func() {
				defer c.Close()
				buf := make([]byte, 64<<10)
				for {
					n, err := s.Read(buf)
					if n > 0 {
						time.Sleep(time.Duration(p.delay.Load()))
						if _, err := c.Write(buf[:n]); err != nil {
							return
						}
					}
					if err != nil {
						return
					}
				}
			}()
		}
	}()
	t.Cleanup(p.close)
	return p
}

func (p *proxy) close() {
	p.ln.Close()
	p.mu.Lock()
	for _, c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
}

// TestReplicaRedisUnreachable: with Redis out of reach, Open and requests fail with
// ErrUnavailable within Config.Timeout, they do not hang.
func TestReplicaRedisUnreachable(t *testing.T) {
	rdb := replicaRedis(t)
	prefix := testPrefix(t, rdb)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	timeout := 500 * time.Millisecond
	dead := redis.NewClient(&redis.Options{Addr: closed, DialTimeout: 100 * time.Millisecond, MaxRetries: -1})
	defer dead.Close()
	start := time.Now()
	_, err = Open(context.Background(), Config{Redis: dead, Prefix: prefix, Node: "a", ACD: twoAgents(), Log: quiet, Timeout: timeout})
	if !errors.Is(err, ErrUnavailable) || time.Since(start) > timeout {
		t.Fatalf("Open without Redis: %v after %v", err, time.Since(start))
	}

	// Redis goes away under a running node.
	p := newProxy(t, redisAddr)
	via := redis.NewClient(&redis.Options{Addr: p.ln.Addr().String(), DialTimeout: 100 * time.Millisecond, ReadTimeout: 200 * time.Millisecond, MaxRetries: -1})
	defer via.Close()
	n := startNode(t, Config{Redis: via, Prefix: prefix, Node: "a", ACD: twoAgents(), Log: quiet, Timeout: timeout})
	must(t)(n.r.Enqueue(acd.Call{ID: "c1", Queue: "sales"}))
	p.close()
	for _, req := range []func() error{
		func() error { _, err := n.r.Enqueue(acd.Call{ID: "c2", Queue: "sales"}); return err },
		func() error { _, err := n.r.Pause("a2", "lunch"); return err },
	} {
		start := time.Now()
		err := req()
		if el := time.Since(start); !errors.Is(err, ErrUnavailable) || el > timeout+100*time.Millisecond {
			t.Errorf("a request without Redis: %v after %v", err, el)
		}
	}
	// Reads still answer from the node's copy.
	if _, ok := n.r.CallStatus("c1"); !ok {
		t.Error("c1 is not in the copy")
	}
}

// TestReplicaEpochLost: Redis loses the site's state under a running node (a restart without
// persistence). The node's next request fails with ErrUnavailable and its Run ends with the
// error; a node that starts then begins a new epoch, which the old node cannot write into.
func TestReplicaEpochLost(t *testing.T) {
	rdb := replicaRedis(t)
	prefix := testPrefix(t, rdb)
	clk := fakeclock.New(t0)
	cfg := Config{Redis: rdb, Prefix: prefix, Node: "a", ACD: twoAgents(), Clock: clk}
	a := startNode(t, cfg)
	must(t)(a.r.Enqueue(acd.Call{ID: "c1", Queue: "sales"}))
	ctx := context.Background()
	keys, _ := rdb.Keys(ctx, prefix+":*").Result()
	rdb.Del(ctx, keys...)

	cfg.Node = "b"
	b := startNode(t, cfg)
	if b.r.ep.ID == a.r.ep.ID {
		t.Fatal("b joined the lost epoch")
	}
	if _, err := a.r.Enqueue(acd.Call{ID: "c2", Queue: "sales"}); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("a request of the lost epoch: %v", err)
	}
	select {
	case err := <-a.done:
		if !errors.Is(err, ErrUnavailable) {
			t.Errorf("Run of the lost epoch's node ended with %v", err)
		}
		a.done <- nil
	case <-time.After(3 * time.Second):
		t.Fatal("Run of the lost epoch's node still runs 3s after its request failed")
	}
	if _, err := a.r.Pause("a1", "lunch"); !errors.Is(err, ErrUnavailable) {
		t.Errorf("a later request of the lost epoch: %v", err)
	}
	must(t)(b.r.Enqueue(acd.Call{ID: "c3", Queue: "sales"}))
	if n, _ := rdb.XLen(ctx, prefix+":acd:log").Result(); n != 1 {
		t.Errorf("the new epoch's stream holds %d entries, want 1 (b's)", n)
	}
	if err := b.r.CheckInvariants(); err != nil {
		t.Error(err)
	}
}

// countObserver counts the samples it receives by call.
type countObserver struct {
	mu     sync.Mutex
	wait   map[string]int
	handle map[string]int
}

func newCountObserver() *countObserver {
	return &countObserver{wait: map[string]int{}, handle: map[string]int{}}
}
func (o *countObserver) ObserveWait(s acd.WaitSample) {
	o.mu.Lock()
	o.wait[s.CallID]++
	o.mu.Unlock()
}
func (o *countObserver) ObserveHandle(s acd.HandleSample) {
	o.mu.Lock()
	o.handle[s.CallID]++
	o.mu.Unlock()
}

// TestReplicaObserverOnOwner: the wait and handle samples of a call reach the observer of its
// owner only, once, whichever node carried the requests, including a handle sample observed
// when a wrap-up ends after the call has left.
func TestReplicaObserverOnOwner(t *testing.T) {
	rdb := replicaRedis(t)
	prefix := testPrefix(t, rdb)
	clk := fakeclock.New(t0)
	site := acd.Config{
		Queues: []acd.QueueConfig{{Name: "sales", WrapUp: 10 * time.Second}, {Name: "quick"}},
		Agents: []acd.AgentConfig{{ID: "a1", Queues: []string{"sales", "quick"}, AutoLogin: true}},
	}
	oa, ob := newCountObserver(), newCountObserver()
	a := startNode(t, Config{Redis: rdb, Prefix: prefix, Node: "a", ACD: site, Clock: clk, Observer: oa})
	b := startNode(t, Config{Redis: rdb, Prefix: prefix, Node: "b", ACD: site, Clock: clk, Observer: ob})
	for _, q := range []string{"sales", "quick"} {
		id := "c-" + q
		must(t)(a.r.Enqueue(acd.Call{ID: id, Queue: q}))
		settle(t, a, b)
		must(t)(b.r.Answered(id, "a1"))
		clk.Advance(time.Minute)
		must(t)(b.r.Hangup(id))
		clk.Advance(10 * time.Second)
		b.r.Tick()
		settle(t, a, b)
		if st, _ := a.r.AgentState("a1"); st != acd.Available {
			t.Fatalf("a1 is %v after the wrap-up of %s", st, id)
		}
	}
	for _, id := range []string{"c-sales", "c-quick"} {
		if oa.wait[id] != 1 || oa.handle[id] != 1 {
			t.Errorf("the owner observed %d waits and %d handles of %s, want 1 and 1", oa.wait[id], oa.handle[id], id)
		}
		if ob.wait[id] != 0 || ob.handle[id] != 0 {
			t.Errorf("the other node observed %d waits and %d handles of %s, want none", ob.wait[id], ob.handle[id], id)
		}
	}
	a.r.omu.Lock()
	left := len(a.r.owners) + len(a.r.wrapping)
	a.r.omu.Unlock()
	if left != 0 {
		t.Errorf("the owner still remembers %d calls", left)
	}
}

// TestReplicaAppliedAfterTimeout: with Redis answering later than Timeout (the client keeps
// go-redis's default timeouts), Open gives up within Timeout, and so does a request, with
// ErrUnavailable; its entry applied after it gave up, what it caused for this node reaches
// the sink instead.
func TestReplicaAppliedAfterTimeout(t *testing.T) {
	rdb := replicaRedis(t)
	prefix := testPrefix(t, rdb)
	p := newProxy(t, redisAddr)
	via := redis.NewClient(&redis.Options{Addr: p.ln.Addr().String(), MaxRetries: -1})
	defer via.Close()
	timeout := 200 * time.Millisecond
	// Redis too slow to answer within Timeout: Open gives up.
	p.delay.Store(int64(400 * time.Millisecond))
	start := time.Now()
	if _, err := Open(context.Background(), Config{Redis: via, Prefix: prefix, Node: "a", ACD: twoAgents(), Log: quiet, Timeout: timeout}); !errors.Is(err, ErrUnavailable) || time.Since(start) > timeout+100*time.Millisecond {
		t.Fatalf("Open with Redis answering late: %v after %v (timeout %v)", err, time.Since(start), timeout)
	}
	p.delay.Store(0)
	n := startNode(t, Config{Redis: via, Prefix: prefix, Node: "a", ACD: twoAgents(), Log: quiet, Timeout: timeout, Clock: fakeclock.New(t0)})
	p.delay.Store(int64(400 * time.Millisecond))
	start = time.Now()
	if _, err := n.r.Enqueue(acd.Call{ID: "late", Queue: "sales"}); !errors.Is(err, ErrUnavailable) || time.Since(start) > timeout+100*time.Millisecond {
		t.Fatalf("a request answered after the timeout: %v after %v (timeout %v, the client's own timeouts are go-redis's defaults)", err, time.Since(start), timeout)
	}
	p.delay.Store(0)
	deadline := time.Now().Add(3 * time.Second)
	for {
		n.mu.Lock()
		var got []acd.Offer
		for _, a := range n.sunk {
			if o, ok := a.(acd.Offer); ok {
				got = append(got, o)
			}
		}
		n.mu.Unlock()
		if len(got) == 1 && got[0].CallID == "late" {
			break
		}
		if len(got) > 1 || time.Now().After(deadline) {
			t.Fatalf("the sink received offers %v", got)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, ok := n.r.CallStatus("late"); !ok {
		t.Error("the late entry was not applied")
	}
}
