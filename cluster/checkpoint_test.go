package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hotline-cc/hotline/acd"
	"github.com/hotline-cc/hotline/internal/testenv"
)

const ckRedis = "127.0.0.1:6379"

// ckSite is a Redis key prefix of its own, emptied when the test ends.
func ckSite(t *testing.T) (redis.UniversalClient, string) {
	t.Helper()
	testenv.Service(t, "redis", ckRedis)
	rdb := redis.NewClient(&redis.Options{Addr: ckRedis})
	prefix := fmt.Sprintf("cktest-%x", rand.Uint64())
	t.Cleanup(func() {
		time.Sleep(100 * time.Millisecond) // a checkpoint write still in flight
		ctx := context.Background()
		keys, _ := rdb.Keys(ctx, prefix+":*").Result()
		if len(keys) > 0 {
			rdb.Del(ctx, keys...)
		}
		rdb.Close()
	})
	return rdb, prefix
}

func ckACD() acd.Config {
	return acd.Config{
		Queues: []acd.QueueConfig{
			{Name: "sales", Strategy: acd.Random, RingTimeout: 20 * time.Second},
			{Name: "support", Strategy: acd.LongestIdle, Skills: []string{"fr"}, WrapUp: 0},
		},
		Agents: []acd.AgentConfig{
			{ID: "ann", Queues: []string{"sales", "support"}, Skills: map[string]int{"fr": 3}, AutoLogin: true},
			{ID: "bob", Queues: []string{"sales"}, AutoLogin: true},
			{ID: "cid", Queues: []string{"sales", "support"}, Skills: map[string]int{"fr": 1, "de": 2}, AutoLogin: true},
			{ID: "dee", Queues: []string{"support"}, Skills: map[string]int{"fr": 5}},
		},
	}
}

// ckNode is a running replica and the actions it was handed.
type ckNode struct {
	r      *Replica
	mu     sync.Mutex
	offers [][2]string // pending offers (call, agent) seen in its actions
	stop   context.CancelFunc
	done   chan error
}

func (n *ckNode) take(acts []acd.Action) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, a := range acts {
		if o, ok := a.(acd.Offer); ok {
			n.offers = append(n.offers, [2]string{o.CallID, o.AgentID})
		}
	}
}

func (n *ckNode) popOffer(rng *rand.Rand) ([2]string, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if len(n.offers) == 0 {
		return [2]string{}, false
	}
	i := rng.IntN(len(n.offers))
	o := n.offers[i]
	n.offers = append(n.offers[:i], n.offers[i+1:]...)
	return o, true
}

func ckOpen(t *testing.T, rdb redis.UniversalClient, prefix, name string, run bool) *ckNode {
	t.Helper()
	return ckOpenEvery(t, rdb, prefix, name, run, 20*time.Millisecond)
}

// ckOpenEvery is ckOpen with checkpoints at most every interval (and every 50 entries).
func ckOpenEvery(t *testing.T, rdb redis.UniversalClient, prefix, name string, run bool, interval time.Duration) *ckNode {
	t.Helper()
	r, err := Open(context.Background(), Config{
		Redis: rdb, Prefix: prefix, Node: name, ACD: ckACD(),
		Log:             slog.New(slog.NewTextHandler(io.Discard, nil)),
		CheckpointEvery: 50, CheckpointInterval: interval,
	})
	if err != nil {
		t.Fatalf("Open %s: %v", name, err)
	}
	n := &ckNode{r: r, done: make(chan error, 1)}
	if run {
		n.start()
		t.Cleanup(func() { n.stop(); <-n.done })
	}
	return n
}

func (n *ckNode) start() {
	ctx, cancel := context.WithCancel(context.Background())
	n.stop = cancel
	go func() { n.done <- n.r.Run(ctx, n.take) }()
}

// ckDrive makes steps random requests through the nodes in turn: callers join, offers are
// answered or left ringing, conversations end.
func ckDrive(t *testing.T, rng *rand.Rand, nodes []*ckNode, from, steps int, every func(i int)) {
	t.Helper()
	var connected []string
	for i := from; i < from+steps; i++ {
		n := nodes[i%len(nodes)]
		c := acd.Call{ID: fmt.Sprintf("c%d", i), Queue: []string{"sales", "support"}[rng.IntN(2)], Priority: rng.IntN(3)}
		if rng.IntN(4) == 0 {
			c.Skills = []string{"fr"}
		}
		acts, err := n.r.Enqueue(c)
		if err != nil {
			t.Fatalf("enqueue %s: %v", c.ID, err)
		}
		n.take(acts)
		for _, m := range nodes {
			if o, ok := m.popOffer(rng); ok {
				if rng.IntN(4) == 0 {
					acts, err = m.r.OfferFailed(o[0], o[1], acd.Busy)
				} else if acts, err = m.r.Answered(o[0], o[1]); err == nil {
					connected = append(connected, o[0])
				}
				m.take(acts)
			}
		}
		if len(connected) > 0 && rng.IntN(3) > 0 {
			j := rng.IntN(len(connected))
			acts, err := n.r.Hangup(connected[j])
			connected = append(connected[:j], connected[j+1:]...)
			if err != nil {
				t.Fatalf("hangup: %v", err)
			}
			n.take(acts)
		}
		if rng.IntN(10) == 0 {
			a := []string{"ann", "bob", "cid", "dee"}[rng.IntN(4)]
			acts, _ := n.r.Pause(a, "break")
			n.take(acts)
			acts, _ = n.r.Unpause(a)
			n.take(acts)
		}
		if every != nil {
			every(i)
		}
	}
}

// ckSync makes every node apply the stream up to the same point: each proposes an entry and
// waits until all the others have applied it.
func ckSync(t *testing.T, nodes []*ckNode, k *int) {
	t.Helper()
	for _, n := range nodes {
		*k++
		id := fmt.Sprintf("sync%d", *k)
		if _, err := n.r.Enqueue(acd.Call{ID: id, Queue: "support", Skills: []string{"de"}}); err != nil {
			t.Fatal(err)
		}
		for _, m := range nodes {
			deadline := time.Now().Add(5 * time.Second)
			for {
				if _, ok := m.r.CallStatus(id); ok {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("%s never applied %s", m.r.Node(), id)
				}
				time.Sleep(time.Millisecond)
			}
		}
	}
}

// ckSame checks that two synced replicas are in the same state, to the byte.
func ckSame(t *testing.T, a, b *ckNode) {
	t.Helper()
	ca, err := a.r.d.Checkpoint()
	if err != nil {
		t.Fatal(err)
	}
	cb, err := b.r.d.Checkpoint()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ca, cb) {
		t.Errorf("the replicas' distributors differ (checkpoints of %d and %d bytes)", len(ca), len(cb))
	}
	sa, sb := a.r.Snapshot(), b.r.Snapshot()
	sa.At, sb.At = time.Time{}, time.Time{}
	if !reflect.DeepEqual(sa, sb) {
		t.Errorf("snapshots differ:\n%+v\n%+v", sa, sb)
	}
	// Read after ckSync: the last writes of the applying goroutines happened before the
	// distributors' locks the sync went through.
	if a.r.applied.Load() != b.r.applied.Load() || a.r.lastID != b.r.lastID || a.r.bootstrapped != b.r.bootstrapped {
		t.Errorf("bookkeeping differs: applied %d, %d; last entry %s, %s", a.r.applied.Load(), b.r.applied.Load(), a.r.lastID, b.r.lastID)
	}
	a.r.omu.Lock()
	oa := fmt.Sprint(a.r.owners)
	a.r.omu.Unlock()
	b.r.omu.Lock()
	ob := fmt.Sprint(b.r.owners)
	b.r.omu.Unlock()
	if oa != ob {
		t.Errorf("owners differ:\n%s\n%s", oa, ob)
	}
}

func TestCheckpointBoundsTheStream(t *testing.T) {
	rdb, prefix := ckSite(t)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	// Checkpoints every 50 entries, nearly whatever the time: with a 20 ms floor, a fast machine
	// adds more entries between two of them than a slow one, and the bound below would
	// measure the machine (667 entries held once, on a busy one).
	n1 := ckOpenEvery(t, rdb, prefix, "one", true, time.Millisecond)
	stalled := ckOpen(t, rdb, prefix, "stalled", false) // joins, then reads nothing
	maxLen := int64(0)
	ckDrive(t, rng, []*ckNode{n1}, 0, 600, func(int) {
		maxLen = max(maxLen, rdb.XLen(ctx, prefix+":acd:log").Val())
	})
	time.Sleep(50 * time.Millisecond) // the last checkpoint write
	cp := rdb.HMGet(ctx, prefix+":acd:checkpoint", "id", "applied", "trimmed").Val()
	total := rdb.XInfoStream(ctx, prefix+":acd:log").Val().EntriesAdded
	t.Logf("%d entries added, the stream held at most %d; checkpoint at %v (applied %v), trimmed before %v", total, maxLen, cp[0], cp[1], cp[2])
	if total < 1000 || maxLen > 500 || maxLen*2 > total {
		t.Fatalf("%d entries added, the stream held up to %d: not bounded", total, maxLen)
	}

	// A node joining now starts from the checkpoint.
	n2 := ckOpen(t, rdb, prefix, "two", false)
	if length := rdb.XLen(ctx, prefix+":acd:log").Val(); n2.r.applied.Load() <= uint64(length) {
		t.Fatalf("the new node applied %d entries, the stream holds %d: it did not start from the checkpoint", n2.r.applied.Load(), length)
	}
	n2.start()
	t.Cleanup(func() { n2.stop(); <-n2.done })
	k := 0
	nodes := []*ckNode{n1, n2}
	ckSync(t, nodes, &k)
	ckSame(t, n1, n2)

	// Both take the same decisions from there on, whoever proposes.
	ckDrive(t, rng, nodes, 600, 200, nil)
	ckSync(t, nodes, &k)
	ckSame(t, n1, n2)

	// A third node joins later still, while the first two keep going.
	n3 := ckOpen(t, rdb, prefix, "three", true)
	nodes = append(nodes, n3)
	ckDrive(t, rng, nodes, 800, 150, nil)
	ckSync(t, nodes, &k)
	ckSame(t, n1, n3)
	ckSame(t, n2, n3)

	// The node that stalled from the start fails loudly instead of skipping entries. (Run
	// returns its error only once its context ends: the beat and watch goroutines wait for
	// it; so the test looks at the failure itself.)
	stalled.start()
	defer func() { stalled.stop(); <-stalled.done }()
	deadline := time.Now().Add(5 * time.Second)
	for stalled.r.failed.Load() == nil {
		if time.Now().After(deadline) {
			t.Fatal("the stalled node kept running")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := *stalled.r.failed.Load(); !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "fell behind the stream") {
		t.Fatalf("the stalled node failed with %v", err)
	}
	if _, err := stalled.r.Enqueue(acd.Call{ID: "late", Queue: "sales"}); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("a request to the stalled node: %v", err)
	}
}

func TestCheckpointStaleWriteKeepsTheNewer(t *testing.T) {
	rdb, prefix := ckSite(t)
	ctx := context.Background()
	n := ckOpen(t, rdb, prefix, "one", true)
	for i := range 5 {
		acts, err := n.r.Enqueue(acd.Call{ID: fmt.Sprintf("c%d", i), Queue: "sales"})
		if err != nil {
			t.Fatal(err)
		}
		n.take(acts)
	}
	msgs := rdb.XRange(ctx, prefix+":acd:log", "-", "+").Val()
	data, err := n.r.d.Checkpoint()
	if err != nil {
		t.Fatal(err)
	}
	newer, older := msgs[len(msgs)-1].ID, msgs[1].ID
	if ok, err := n.r.writeCheckpoint(ctx, newer, 99, []byte(`{"applied":99}`), data); !ok || err != nil {
		t.Fatalf("writing the newer checkpoint: %v %v", ok, err)
	}
	if ok, err := n.r.writeCheckpoint(ctx, older, 5, []byte(`{"applied":5}`), []byte("old")); ok || err != nil {
		t.Fatalf("writing an older checkpoint: %v %v", ok, err)
	}
	if ok, err := n.r.writeCheckpoint(ctx, newer, 5, []byte(`{"applied":5}`), []byte("old")); ok || err != nil {
		t.Fatalf("writing another checkpoint at the same entry: %v %v", ok, err)
	}
	got := rdb.HMGet(ctx, prefix+":acd:checkpoint", "id", "applied", "data").Val()
	if got[0] != newer || got[1] != "99" || got[2] != string(data) {
		t.Fatalf("the saved checkpoint is at %v (applied %v): the stale write replaced it", got[0], got[1])
	}
	// A checkpoint of another epoch is refused.
	n2, err := ckScript.Run(ctx, rdb, []string{prefix + ":acd:checkpoint", prefix + ":acd:log", prefix + ":acd:epoch"},
		"another", newer+"9", 1, "{}", "x").Int()
	if err != nil || n2 != -1 {
		t.Fatalf("writing a checkpoint of another epoch: %v %v", n2, err)
	}
	// IDs compare as numbers, not strings.
	if ok, err := n.r.writeCheckpoint(ctx, "9-0", 1, nil, nil); ok || err != nil {
		t.Fatalf("writing 9-0 over %s: %v %v", newer, ok, err)
	}
}

// A node joining from a checkpoint whose next entries have gone (the site took two more
// meanwhile) refuses to start rather than skip them.
func TestCheckpointJoinFailsWhenItsEntriesAreGone(t *testing.T) {
	rdb, prefix := ckSite(t)
	ctx := context.Background()
	n1 := ckOpen(t, rdb, prefix, "one", true)
	ckDrive(t, rand.New(rand.NewPCG(3, 4)), []*ckNode{n1}, 0, 150, nil)
	time.Sleep(50 * time.Millisecond)
	id := rdb.HGet(ctx, prefix+":acd:checkpoint", "id").Val()
	last := rdb.XRevRangeN(ctx, prefix+":acd:log", "+", "-", 1).Val()
	if id == "" || len(last) == 0 || last[0].ID == id {
		t.Fatalf("checkpoint at %q, stream ends at %v: the test needs entries after the checkpoint", id, last)
	}
	rdb.XTrimMinID(ctx, prefix+":acd:log", last[0].ID)
	_, err := Open(ctx, Config{Redis: rdb, Prefix: prefix, Node: "two", ACD: ckACD(), Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "fell behind the stream") {
		t.Fatalf("Open after the entries following the checkpoint were trimmed: %v", err)
	}
}
