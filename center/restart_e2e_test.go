package center

import (
	"context"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/acd"
	"github.com/hotline-cc/hotline/config"
	"github.com/hotline-cc/hotline/dashboard"
)

// Issue 4: an agent's state, pause reason and the time accounted per state and reason
// survive a restart of hotline (kept in the store, not in memory).
func TestAgentStateSurvivesRestart(t *testing.T) {
	dataDir := t.TempDir()
	keep := func(c *config.Config) { c.DataDir = dataDir }
	h := startHotline(t, keep)
	ctx := context.Background()
	if err := h.live.AgentAction(ctx, "1003", dashboard.ActionLogin, ""); err != nil {
		t.Fatal(err)
	}
	if err := h.live.AgentAction(ctx, "1003", dashboard.ActionPause, "training"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	before, _ := h.ACD().Agent("1003")
	h.cancel() // a clean stop saves the states

	h2 := startHotline(t, keep)
	after, err := h2.ACD().Agent("1003")
	if err != nil {
		t.Fatal(err)
	}
	if after.State != acd.Paused || after.PauseReason != "training" {
		t.Fatalf("after restart 1003 is %s %q, want paused for training", after.State, after.PauseReason)
	}
	if after.TimeInPause["training"] < before.TimeInPause["training"] || before.TimeInPause["training"] < 250*time.Millisecond {
		t.Errorf("training time %v before, %v after the restart: it must carry over", before.TimeInPause["training"], after.TimeInPause["training"])
	}
	if after.TimeInState[acd.Available] <= 0 && before.TimeInState[acd.Available] > 0 {
		t.Errorf("time available was lost: %v", after.TimeInState)
	}
}
