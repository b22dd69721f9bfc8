package acd

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/internal/fakeclock"
)

func restartCfg() Config {
	return Config{
		Queues: []QueueConfig{{Name: "q", WrapUp: 2 * time.Minute}},
		Agents: agents(4, []string{"q"}, nil),
	}
}

func TestSnapshotAndRestoreCarryStatesTimesAndQueueAcrossARestart(t *testing.T) {
	r := newRig(t, restartCfg())
	for _, id := range []string{"a1", "a2", "a3", "a4"} {
		r.login(id)
	}
	r.ok(r.d.Pause("a1", "lunch"))
	r.answerAll(r.enqueue("talking", "q"))  // a2
	r.answerAll(r.enqueue("wrapping", "q")) // a3
	r.advance(9 * time.Minute)
	r.hangup("wrapping") // a3 in wrap-up until t0+11m
	r.enqueue("ringing", "q", prio(1))
	r.ok(r.d.OfferFailed("ringing", "a4", Busy)) // a4: one busy
	r.enqueue("vip", "q", prio(5))               // a4 rung for vip
	r.enqueue("normal", "q")
	r.ok(r.d.ConvertToCallback("normal"))
	r.advance(5 * time.Second)
	before := r.d.Snapshot()
	statsBefore, _ := r.d.QueueStats("q")

	// The state is plain data: it goes through JSON.
	b, err := json.Marshal(before)
	if err != nil {
		t.Fatal(err)
	}
	var loaded State
	if err := json.Unmarshal(b, &loaded); err != nil {
		t.Fatal(err)
	}

	// The process restarts two minutes later.
	clk := fakeclock.New(r.clk.Now().Add(2 * time.Minute))
	d, err := New(restartCfg(), clk)
	if err != nil {
		t.Fatal(err)
	}
	r2 := &rig{t: t, d: d, clk: clk}
	acts := r2.ok(d.Restore(loaded))

	// a4 was being rung: the leg is gone, so it is available again and takes the head (vip).
	// a3's wrap-up fell due during the outage: it ends at restore and a3 takes the next caller.
	wantOffers(t, acts, "vip→a4 ringing→a3")
	a1, _ := d.Agent("a1")
	if a1.State != Paused || a1.PauseReason != "lunch" || a1.TimeInPause["lunch"] != 11*time.Minute+5*time.Second {
		t.Fatalf("a1 after restart %+v", a1)
	}
	a4, _ := d.Agent("a4")
	if a4.Misses.Busy != 1 || a4.ConsecutiveMisses != 1 {
		t.Fatalf("a4 counters lost: %+v", a4)
	}
	r2.wantState("a3", Reserved)
	if st, _ := d.CallStatus("ringing"); st.State != CallRinging || len(st.Agents) != 1 || st.Agents[0] != "a3" {
		t.Fatalf("ringing caller %+v", st)
	}
	// The call in progress can still be hung up; wrap-up then runs.
	r2.hangup("talking")
	r2.wantState("a2", WrapUp)
	// The callback kept its kind and place.
	if st, _ := d.CallStatus("normal"); st.Kind != KindCallback || st.Position != 3 || !st.ArrivedAt.Equal(t0.Add(9*time.Minute)) {
		t.Fatalf("callback %+v", st)
	}
	// Statistics survive the restart.
	statsAfter, _ := d.QueueStats("q")
	if statsAfter.Totals.Entered != statsBefore.Totals.Entered || statsAfter.Totals.Answered != 2 ||
		statsAfter.Windows[0].Counters.Entered != statsBefore.Windows[0].Counters.Entered {
		t.Fatalf("stats before %+v\nafter %+v", statsBefore.Totals, statsAfter.Totals)
	}
	if statsAfter.Totals.ConvertedToCallback != 1 {
		t.Fatalf("callbacks requested %d", statsAfter.Totals.ConvertedToCallback)
	}
}

func TestRestoreSkipsWhatTheConfigurationNoLongerHas(t *testing.T) {
	r := newRig(t, restartCfg())
	r.login("a1")
	s := r.d.Snapshot()
	s.Agents = append(s.Agents, AgentRecord{ID: "ghost", State: Available, Queues: []string{"q"}})
	s.Calls = append(s.Calls, CallRecord{Call: Call{ID: "x", Queue: "gone"}, Queue: "gone"})
	d, _ := New(restartCfg(), fakeclock.New(t0))
	_, err := d.Restore(s)
	if !errors.Is(err, ErrRestoreSkipped) {
		t.Fatalf("want ErrRestoreSkipped, got %v", err)
	}
	if st, _ := d.AgentState("a1"); st != Available {
		t.Fatalf("a1 not restored: %s", st)
	}
	d.Enqueue(Call{ID: "c", Queue: "q"})
	if _, err := d.Restore(s); !errors.Is(err, ErrNotFresh) {
		t.Fatalf("restore over live calls: %v", err)
	}
}
