package callbacks

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/acd"
	"github.com/hotline-cc/hotline/customers"
	"github.com/hotline-cc/hotline/customers/storetest"
	"github.com/hotline-cc/hotline/internal/fakeclock"
)

// node is one hotline node of several sharing a store: its own store handle (named), its own
// distributor and dialer.
type node struct {
	name   string
	store  *customers.Store
	d      *acd.Distributor
	dialer *Dialer
}

func newNode(t *testing.T, db storetest.DB, name string, clk *fakeclock.Clock) *node {
	t.Helper()
	ctx := context.Background()
	quiet := slog.New(slog.DiscardHandler)
	store, err := customers.Open(ctx, customers.Config{DSN: db.DSN, DataDir: db.DataDir, Node: name},
		customers.WithLogger(quiet), customers.WithClock(clk.Now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	d, err := acd.New(acd.Config{Queues: []acd.QueueConfig{{Name: "support", RingTimeout: 10 * time.Second}},
		Agents: []acd.AgentConfig{{ID: "1001", Queues: []string{"support"}}}}, acd.SystemClock{})
	if err != nil {
		t.Fatal(err)
	}
	n := &node{name: name, store: store, d: d}
	n.dialer = New(ctx, Config{Store: store, Distributor: d, Dialer: &phones{}, Voice: voice{}, Log: quiet, Now: clk.Now})
	return n
}

func (n *node) waiting() int { q, _ := n.d.QueueStats("support"); return q.Waiting }

func ignore([]acd.Action) {}

// Two nodes on one store, both reading the due callbacks at once: each callback waits in
// exactly one node's distributor. The holder renews its claims and keeps them; a node that
// stops renewing loses them after the lease to the other, which queues them with their
// original arrival and priority; the first node, back, withdraws what it lost.
func TestCallbacksQueuedOnceAcrossNodes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		ctx := context.Background()
		clk := fakeclock.New(time.Now().Truncate(time.Millisecond))
		a, b := newNode(t, db, "node-a", clk), newNode(t, db, "node-b", clk)
		arrived := clk.Now().Add(-10 * time.Minute)
		booked := map[string]customers.Callback{}
		for i := range 6 {
			n := fmt.Sprintf("+861380000001%d", i)
			cb, err := a.store.RequestCallback(ctx, customers.CallbackRequest{Number: n, Caller: n, Queue: "support",
				ArrivedAt: arrived.Add(time.Duration(i) * time.Second), Priority: i % 3})
			if err != nil {
				t.Fatal(err)
			}
			booked[cb.ID] = cb
		}
		var wg sync.WaitGroup
		for _, n := range []*node{a, b} {
			wg.Add(1)
			go func() { defer wg.Done(); n.dialer.enqueueDue(ctx, ignore) }()
		}
		wg.Wait()
		where := func() map[string][]string {
			out := map[string][]string{}
			for id := range booked {
				for _, n := range []*node{a, b} {
					if _, ok := n.d.CallStatus(entryID(id)); ok {
						out[id] = append(out[id], n.name)
					}
				}
			}
			return out
		}
		for id, nodes := range where() {
			if len(nodes) != 1 {
				t.Errorf("callback %s waits on %v, want exactly one node", id, nodes)
			}
		}
		if got := a.waiting() + b.waiting(); got != len(booked) {
			t.Fatalf("%d callbacks waiting in all, want %d", got, len(booked))
		}
		// Both renew: a later round queues nothing twice.
		clk.Advance(20 * time.Second)
		a.dialer.renew(ctx, ignore)
		b.dialer.renew(ctx, ignore)
		clk.Advance(20 * time.Second) // past the first claims, not the renewed ones
		a.dialer.enqueueDue(ctx, ignore)
		b.dialer.enqueueDue(ctx, ignore)
		if got := a.waiting() + b.waiting(); got != len(booked) {
			t.Fatalf("after renewing: %d waiting in all, want %d", got, len(booked))
		}

		// Node a stops renewing (it stalled or died); after the lease node b takes its callbacks.
		clk.Advance(customers.DefaultQueueLease + time.Second)
		b.dialer.renew(ctx, ignore)
		b.dialer.enqueueDue(ctx, ignore)
		if b.waiting() != len(booked) {
			t.Fatalf("node b has %d waiting after node a's lease, want all %d", b.waiting(), len(booked))
		}
		for id, cb := range booked {
			st, ok := b.d.CallStatus(entryID(id))
			if !ok || !st.ArrivedAt.Equal(cb.ArrivedAt) || st.Priority != cb.Priority {
				t.Errorf("callback %s on node b: %+v; want its original arrival %v and priority %d", id, st, cb.ArrivedAt, cb.Priority)
			}
		}
		// Node a comes back: it withdraws what it lost.
		a.dialer.renew(ctx, ignore)
		if a.waiting() != 0 {
			t.Errorf("node a still has %d callbacks waiting that node b holds", a.waiting())
		}
		for id, nodes := range where() {
			if len(nodes) != 1 || nodes[0] != "node-b" {
				t.Errorf("callback %s waits on %v, want node-b only", id, nodes)
			}
		}
	})
}

// A caller waiting on one node presses 1 while another node holds the customer's earlier
// callback queued: the node with the caller holds the callback, and the other withdraws its
// entry when it renews.
func TestConvertedWaitTakesTheClaim(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		ctx := context.Background()
		clk := fakeclock.New(time.Now().Truncate(time.Millisecond))
		a, b := newNode(t, db, "node-a", clk), newNode(t, db, "node-b", clk)
		req := customers.CallbackRequest{Number: "+8613800000021", Caller: "+8613800000021", Queue: "support",
			ArrivedAt: clk.Now().Add(-time.Hour), Source: customers.FromAPI}
		cb, err := a.store.RequestCallback(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		a.dialer.enqueueDue(ctx, ignore)
		if a.waiting() != 1 {
			t.Fatalf("node a has %d waiting, want the callback", a.waiting())
		}
		// The customer calls node b and presses 1 while waiting there.
		if _, err := b.d.Enqueue(acd.Call{ID: "call-9", Queue: "support", Kind: acd.KindCaller}); err != nil {
			t.Fatal(err)
		}
		req.Source, req.ArrivedAt = customers.FromQueue, clk.Now()
		again, err := b.store.RequestCallback(ctx, req)
		if err != nil || again.ID != cb.ID {
			t.Fatalf("asking again: %v (%s), want the same callback %s", err, again.ID, cb.ID)
		}
		if _, err := b.d.ConvertToCallback("call-9"); err != nil {
			t.Fatal(err)
		}
		b.dialer.Converted("call-9", cb.ID)
		got, _ := b.store.Callback(ctx, cb.ID)
		if got.QueuedBy != "node-b" {
			t.Errorf("after the conversion the callback is queued by %q, want node-b", got.QueuedBy)
		}
		a.dialer.renew(ctx, ignore)
		if a.waiting() != 0 {
			t.Error("node a kept the callback queued after the caller on node b took it")
		}
		b.dialer.renew(ctx, ignore)
		if _, ok := b.d.CallStatus("call-9"); !ok || b.waiting() != 1 {
			t.Errorf("node b lost the converted wait (%d waiting)", b.waiting())
		}
	})
}
