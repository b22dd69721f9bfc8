package agents

import (
	"context"
	"encoding/json"
	"log/slog"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/acd"
	"github.com/hotline-cc/hotline/customers"
	"github.com/hotline-cc/hotline/customers/storetest"
)

func distributor(t *testing.T) *acd.Distributor {
	t.Helper()
	d, err := acd.New(acd.Config{Queues: []acd.QueueConfig{{Name: "support"}},
		Agents: []acd.AgentConfig{{ID: "1001", Queues: []string{"support"}}, {ID: "1003", Queues: []string{"support"}}}}, acd.SystemClock{})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func ignore([]acd.Action) {}

// A phone registering logs its auto_login agent in; the last registration going away logs
// any agent out (an unreachable agent must not be offered calls); others are left alone.
func TestRegistered(t *testing.T) {
	d := distributor(t)
	k := New(Config{Distributor: d, AutoLogin: map[string]bool{"1001": true}, Log: slog.New(slog.DiscardHandler)})
	state := func(id string) acd.AgentState { st, _ := d.AgentState(id); return st }
	k.Registered("1001", 1, ignore)
	k.Registered("1003", 1, ignore)
	if state("1001") != acd.Available || state("1003") != acd.LoggedOut {
		t.Fatalf("after registering: 1001 %s, 1003 %s; want available, logged out (not auto_login)", state("1001"), state("1003"))
	}
	if _, err := d.Login("1003"); err != nil {
		t.Fatal(err)
	}
	k.Registered("1001", 0, ignore)
	k.Registered("1003", 0, ignore)
	if state("1001") != acd.LoggedOut || state("1003") != acd.LoggedOut {
		t.Errorf("after unregistering: 1001 %s, 1003 %s; want both logged out", state("1001"), state("1003"))
	}
	k.Registered("nobody", 1, ignore) // an unknown agent is ignored, not a panic
}

// Agent states survive a restart through the store: a paused agent comes back paused with
// their reason.
func TestStatesAcrossARestart(t *testing.T) {
	ctx := context.Background()
	store, err := customers.Open(ctx, customers.Config{DataDir: t.TempDir()}, customers.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	d := distributor(t)
	k := New(Config{Distributor: d, Store: store, Log: slog.New(slog.DiscardHandler)})
	if _, err := d.Login("1001"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Pause("1001", "training"); err != nil {
		t.Fatal(err)
	}
	k.Changed()
	pctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { k.Persist(pctx); close(done) }()
	time.Sleep(50 * time.Millisecond)
	stop() // Persist saves once more as it stops
	<-done

	d2 := distributor(t)
	if err := New(Config{Distributor: d2, Store: store, Log: slog.New(slog.DiscardHandler)}).Restore(ctx, ignore); err != nil {
		t.Fatal(err)
	}
	st, err := d2.Agent("1001")
	if err != nil {
		t.Fatal(err)
	}
	if st.State != acd.Paused || st.PauseReason != "training" {
		t.Errorf("after the restart 1001 is %s (%q), want paused for training", st.State, st.PauseReason)
	}
}

func TestPauseReasons(t *testing.T) {
	for digits, want := range map[string]string{"": "break", "1": "break", "2": "lunch", "4": "training", "77": "code-77"} {
		if got := pauseReason(digits); got != want {
			t.Errorf("*52%s: %q, want %q", digits, got, want)
		}
	}
}

func openStore(t *testing.T, db storetest.DB, node string) *customers.Store {
	t.Helper()
	s, err := customers.Open(context.Background(), customers.Config{DSN: db.DSN, DataDir: db.DataDir, Node: node},
		customers.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// Two nodes on one store each save the agents they changed: neither overwrites the other's,
// and a restart finds both agents as their own nodes left them.
func TestTwoNodesSaveTheirOwnAgents(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		ctx := context.Background()
		quiet := slog.New(slog.DiscardHandler)
		storeA, storeB := openStore(t, db, "node-a"), openStore(t, db, "node-b")
		dA, dB := distributor(t), distributor(t)
		kA := New(Config{Distributor: dA, Store: storeA, Log: quiet})
		kB := New(Config{Distributor: dB, Store: storeB, Log: quiet})
		must := func(_ []acd.Action, err error) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
		}
		must(dA.Login("1001"))
		must(dA.Pause("1001", "lunch"))
		must(dB.Login("1003"))
		must(dB.Pause("1003", "training"))
		if err := kA.save(ctx, true); err != nil {
			t.Fatal(err)
		}
		if err := kB.save(ctx, true); err != nil {
			t.Fatal(err)
		}
		// Node A saves again after another change of its agent: node B's agent stays.
		must(dA.Unpause("1001"))
		must(dA.Pause("1001", "meeting"))
		if err := kA.save(ctx, true); err != nil {
			t.Fatal(err)
		}
		agents, _, err := storeA.LoadStates(ctx)
		if err != nil {
			t.Fatal(err)
		}
		saver := map[string]string{}
		for _, r := range agents {
			saver[r.ID] = r.Node
		}
		if len(saver) != 2 || saver["1001"] != "node-a" || saver["1003"] != "node-b" {
			t.Errorf("saved agents by node %v, want 1001 by node-a and 1003 by node-b only", saver)
		}

		d3 := distributor(t)
		kC := New(Config{Distributor: d3, Store: openStore(t, db, "node-c"), Log: quiet})
		if err := kC.Restore(ctx, ignore); err != nil {
			t.Fatal(err)
		}
		for id, reason := range map[string]string{"1001": "meeting", "1003": "training"} {
			st, err := d3.Agent(id)
			if err != nil {
				t.Fatal(err)
			}
			if st.State != acd.Paused || st.PauseReason != reason {
				t.Errorf("after the restart %s is %s (%q), want paused for %s", id, st.State, st.PauseReason, reason)
			}
		}
		// What a node restored is not saved back over a later change made elsewhere.
		must(dB.Unpause("1003"))
		if err := kB.save(ctx, true); err != nil {
			t.Fatal(err)
		}
		must(d3.Unpause("1001"))
		if err := kC.save(ctx, true); err != nil {
			t.Fatal(err)
		}
		agents, _, err = storeA.LoadStates(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range agents {
			var rec acd.AgentRecord
			if err := json.Unmarshal(r.Data, &rec); err != nil {
				t.Fatal(err)
			}
			if r.ID == "1003" && (r.Node != "node-b" || rec.State != acd.Available) {
				t.Errorf("1003 saved by %s as %s, want node-b's later save (available)", r.Node, rec.State)
			}
			if r.ID == "1001" && (r.Node != "node-c" || rec.State != acd.Available) {
				t.Errorf("1001 saved by %s as %s, want node-c's save (available)", r.Node, rec.State)
			}
		}
	})
}

// After a restart an agent whose call died with the process is in wrap-up that ends at once,
// and the contacts that were waiting are gone; an agent nobody changed is not saved at all.
func TestRestartDropsDeadCalls(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db storetest.DB) {
		ctx := context.Background()
		quiet := slog.New(slog.DiscardHandler)
		store := openStore(t, db, "node-a")
		d := distributor(t)
		k := New(Config{Distributor: d, Store: store, Log: quiet})
		if _, err := d.Login("1001"); err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{"call-1", "call-2"} {
			if _, err := d.Enqueue(acd.Call{ID: id, Queue: "support"}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := d.Answered("call-1", "1001"); err != nil {
			t.Fatal(err)
		}
		if err := k.save(ctx, true); err != nil {
			t.Fatal(err)
		}
		agents, queues, err := store.LoadStates(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(agents) != 1 || agents[0].ID != "1001" || len(queues) != 1 {
			t.Fatalf("saved %d agents (%v) and %d queues, want agent 1001 only (1003 never changed) and the queue", len(agents), agents, len(queues))
		}

		d2 := distributor(t)
		if err := New(Config{Distributor: d2, Store: store, Log: quiet}).Restore(ctx, ignore); err != nil {
			t.Fatal(err)
		}
		d2.Tick()
		st, err := d2.Agent("1001")
		if err != nil {
			t.Fatal(err)
		}
		if st.State != acd.Available {
			t.Errorf("after the restart 1001 is %s, want available (the dead call's wrap-up over)", st.State)
		}
		if q, _ := d2.QueueStats("support"); q.Waiting != 0 {
			t.Errorf("%d contacts waiting after the restart, want none", q.Waiting)
		}
	})
}
