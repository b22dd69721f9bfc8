package agents

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/acd"
	"github.com/hotline-cc/hotline/customers"
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
