package journey

import (
	"fmt"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/call"
	"github.com/hotline-cc/hotline/ivr"
	"github.com/hotline-cc/hotline/ivr/sim"
)

// The log keeps the last n calls, oldest first, and forgets the ones before them.
func TestLogKeepsTheLastCalls(t *testing.T) {
	reg, clock := NewRegistry(func(call.Live, bool) {}), sim.NewClock(time.Now())
	log := NewLog(3)
	for i := range 7 {
		j := reg.Start(sim.NewChannel(fmt.Sprintf("c%d", i), "+8613800000001", "4000", clock, nil), "hotline")
		log.Add(j, ivr.Result{Flow: "hotline"})
		if got, want := len(log.List()), min(i+1, 3); got != want {
			t.Fatalf("after %d calls the log holds %d, want %d", i+1, got, want)
		}
	}
	var ids []string
	for _, r := range log.List() {
		ids = append(ids, r.ID)
	}
	if fmt.Sprint(ids) != "[c4 c5 c6]" {
		t.Fatalf("log holds %v, want the last three oldest first [c4 c5 c6]", ids)
	}
}
