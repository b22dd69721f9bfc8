package multinode

import (
	"strings"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/internal/sipptest"
)

// Issue 17, item 1: the queue is the site's. Callers that arrived on different nodes wait in
// one line, which every node shows the same; an agent's state changed through one node is
// what every node shows.
func TestQueueIsSiteWide(t *testing.T) {
	s := newSite(t, siteOptions{nodes: 2, agents: 1})
	s.start()
	a, b := s.nodes[0], s.nodes[1]
	// Logged in and paused through node b: node a shows it so, and queues callers for it.
	s.call(b, "POST", "/api/v1/agents/1001/actions", map[string]string{"action": "login"}, nil)
	s.call(b, "POST", "/api/v1/agents/1001/actions", map[string]string{"action": "pause", "reason": "training"}, nil)
	eventually(t, 2*time.Second, "the agent paused through b is paused on a", func() bool { return s.agent(a, "1001").State == "paused" })
	var callers []*sipptest.Proc
	for i, n := range []*node{a, b, a} {
		callers = append(callers, sipptest.Start(t, sipptest.Options{Scenario: "uac_voice.xml", Target: n.sipAddr, Service: "hotline",
			Pause: 20 * time.Second, Timeout: 40 * time.Second, Keys: map[string]string{"caller": "+86138000000" + string(rune('1'+i))}}))
		time.Sleep(300 * time.Millisecond)
	}
	took := eventually(t, 10*time.Second, "three callers waiting on both nodes", func() bool {
		return s.queue(a).Waiting == 3 && s.queue(b).Waiting == 3
	})
	t.Logf("3 callers on 2 nodes: both nodes show 3 waiting after %v", took.Round(time.Millisecond))
	if m := s.me(b); m.Node != "node-2" || strings.Join(m.Nodes, " ") != "node-1 node-2" {
		t.Errorf("node-2 says of itself %+v, want node-2 of node-1 node-2", m)
	}
	for _, c := range callers {
		c.Kill()
	}
}
