package center

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/ari/aritest"
	"github.com/hotline-cc/hotline/config"
)

// Issue 7, acceptance 1: with driver: ari, the shipped flow runs a call through the
// language menu, the main menu, the support queue and a bridge to an agent, on a fake
// Asterisk that replays genuine Asterisk 20 traffic. The ACD's next-agent rule works there
// too: 1001's endpoint rings out (cause 19), 1002 answers.
func TestShippedFlowOnAsterisk(t *testing.T) {
	fake := aritest.New(t, aritest.Options{Second: 20 * time.Millisecond})
	fake.SetAgent("1001", aritest.NoAnswer)
	fake.SetAgent("1002", aritest.Answer)
	h := startHotline(t, func(c *config.Config) {
		c.Driver = "ari"
		c.ARI.URL, c.ARI.Username, c.ARI.Password, c.ARI.App = fake.URL(), fake.Username(), fake.Password(), fake.App()
		c.ARI.SoundsDir = t.TempDir()
		for i := range c.Queues {
			c.Queues[i].RingTimeout = config.Duration(3 * time.Second)
			c.Queues[i].AnnounceEvery = 0
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	if err := fake.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	caller, err := fake.Inbound("+8613800138000", "hotline")
	if err != nil {
		t.Fatal(err)
	}
	atNode := func(node string) func() bool {
		return func() bool {
			for _, lc := range h.live.Calls() {
				if lc.Node == node && fake.Playing(caller.ID) != "" {
					return true
				}
			}
			return false
		}
	}
	if err := fake.Wait(ctx, "the language menu playing", atNode("language")); err != nil {
		t.Fatal(err)
	}
	caller.DTMF("1") // English
	if err := fake.Wait(ctx, "the main menu playing", atNode("menu")); err != nil {
		t.Fatal(err)
	}
	caller.DTMF("1") // support
	bridged := func() bool {
		for _, chans := range fake.Bridged() {
			if len(chans) == 2 && len(fake.Legs("1002")) == 1 {
				return true
			}
		}
		return false
	}
	if err := fake.Wait(ctx, "agent 1002 bridged with the caller", bridged); err != nil {
		t.Fatal(err)
	}
	fake.Legs("1002")[0].Hangup() // the agent ends the conversation; the caller goes to the survey
	if err := fake.Wait(ctx, "the survey question", atNode("rate")); err != nil {
		t.Fatal(err)
	}
	caller.Hangup()
	rec := h.waitCalls(t, 1, 10*time.Second)[0]
	if rec.Outcome != "answered" || rec.Agent != "1002" || rec.Queue != "support" {
		t.Errorf("record: outcome %s agent %q queue %q", rec.Outcome, rec.Agent, rec.Queue)
	}
	j := strings.Join(rec.Queued, "; ")
	if !strings.HasPrefix(j, "offer 1001; ") || !strings.Contains(j, "offer 1002; answered 1002") {
		t.Errorf("queue journal %q: want 1001 offered first, then 1002 answering", j)
	}
	var path []string
	for _, e := range rec.Path {
		path = append(path, e.Node)
	}
	if p := strings.Join(path, " "); !strings.Contains(p, "language english hours identify menu support survey") {
		t.Errorf("path %q", p)
	}
	if st, _ := h.ACD().Agent("1001"); st.Misses.NoAnswer != 1 {
		t.Errorf("1001 no-answer misses = %d, want 1", st.Misses.NoAnswer)
	}
}
