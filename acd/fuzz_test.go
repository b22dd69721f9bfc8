package acd

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/internal/fakeclock"
)

// FuzzRestore: a persisted State is outside input (a file or a database row written by an older
// version); whatever it holds, Restore must not panic and must leave a working distributor.
func FuzzRestore(f *testing.F) {
	r := newRig(f, restartCfg())
	r.login("a1")
	r.login("a2")
	r.ok(r.d.Pause("a2", "lunch"))
	r.answerAll(r.enqueue("c1", "q"))
	r.enqueue("c2", "q", prio(2))
	r.advance(time.Minute)
	seed, _ := json.Marshal(r.d.Snapshot())
	f.Add(seed)
	f.Add([]byte(`{"Agents":[{"ID":"a1","State":"on-call","Queues":["q"],"Call":{"Call":{"ID":"x"},"Queue":"q","AnsweredAt":"2025-03-03T09:00:00Z"}}]}`))
	f.Add([]byte(`{"Agents":[{"ID":"a3","State":"wrap-up","Queues":["q","q"],"Call":{"Call":{"ID":"y"},"Queue":"q","AnsweredAt":"2025-03-03T09:00:00Z","HungUpAt":"2025-03-03T09:00:00Z","WrapUpUntil":"1999-01-01T00:00:00Z"}}],"Calls":[{"Call":{"ID":"y","Queue":"q"},"Queue":"q"}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var s State
		if json.Unmarshal(b, &s) != nil {
			return
		}
		clk := fakeclock.New(t0.Add(time.Hour))
		d, err := New(restartCfg(), clk)
		if err != nil {
			t.Fatal(err)
		}
		d.Restore(s)
		if err := d.checkInternal(); err != nil {
			t.Fatalf("after restore: %v", err)
		}
		// Still works: a caller can be queued and the clock can move.
		d.Enqueue(Call{ID: "fuzz-new", Queue: "q"})
		clk.Advance(time.Hour)
		d.Tick()
		if err := d.checkInternal(); err != nil {
			t.Fatalf("after use: %v", err)
		}
	})
}
