package multinode

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/internal/sipptest"
)

// Issue 17, item 4: three nodes, callers waiting through each; one node is killed with
// SIGKILL. Its callers leave the line (their media was on it); every other caller keeps its
// place, in the same order, on every surviving node; the killed node, started again, rejoins
// the site by itself and shows the same line.
func TestNodeKilledOthersKeepTheirPlace(t *testing.T) {
	s := newSite(t, siteOptions{nodes: 3, agents: 1, deadAfter: 1500 * time.Millisecond})
	s.start()
	n1, n2, n3 := s.nodes[0], s.nodes[1], s.nodes[2]
	s.call(n1, "POST", "/api/v1/agents/1001/actions", map[string]string{"action": "login"}, nil)
	s.call(n1, "POST", "/api/v1/agents/1001/actions", map[string]string{"action": "pause", "reason": "meeting"}, nil)
	eventually(t, 3*time.Second, "the agent paused on every node", func() bool {
		return s.agent(n2, "1001").State == "paused" && s.agent(n3, "1001").State == "paused"
	})

	numbers := map[*node][]string{}
	var killed []*sipptest.Proc
	for i := range 6 {
		n := s.nodes[i%3]
		num := fmt.Sprintf("+8613900000%03d", i+1)
		numbers[n] = append(numbers[n], num)
		p := sipptest.Start(t, sipptest.Options{Scenario: "uac_voice.xml", Target: n.sipAddr, Service: "hotline",
			Pause: 90 * time.Second, Timeout: 120 * time.Second, Keys: map[string]string{"caller": num}})
		if n == n2 {
			killed = append(killed, p)
		}
		eventually(t, 5*time.Second, "caller "+num+" in line", func() bool { return s.queue(n1).Waiting == i+1 })
	}
	before := s.positions(n1, n2, n3)
	if len(before) != 6 {
		t.Fatalf("positions before the kill: %v", before)
	}
	t.Logf("line before the kill: %v", order(before))

	at := time.Now()
	n2.kill(t)
	took := eventually(t, 10*time.Second, "the survivors drop the killed node's callers", func() bool {
		return s.queue(n1).Waiting == 4 && s.queue(n3).Waiting == 4
	})
	t.Logf("SIGKILL of %s: its 2 callers left the line on both survivors %v later (dead_after 1.5 s)", n2.name, took.Round(10*time.Millisecond))
	for _, p := range killed {
		p.Kill()
	}
	if m := s.me(n1); strings.Join(m.Nodes, " ") != "node-1 node-3" {
		t.Errorf("after the kill node-1 lists the site's nodes as %v, want node-1 node-3", m.Nodes)
	}

	after := s.positions(n1, n3)
	want := slices.DeleteFunc(order(before), func(num string) bool { return slices.Contains(numbers[n2], num) })
	if got := order(after); !slices.Equal(got, want) {
		t.Fatalf("line after the kill %v (%v), want %v in that order", got, after, want)
	}
	for i, num := range want {
		if after[num] != i+1 {
			t.Errorf("caller %s at %d after the kill, want %d", num, after[num], i+1)
		}
	}
	t.Logf("line after the kill: %v, positions 1-4, order kept", want)
	if q := s.checkShared(n1); q.Waiting != 4 {
		t.Errorf("the shared state replayed by a new replica has %d waiting, want 4", q.Waiting)
	} else {
		t.Logf("a replica that joined after the kill replayed the shared state: invariants hold, 4 waiting")
	}

	s.startNode(n2)
	n2.waitFor(t, "shared distributor joined", time.Second)
	if q := s.queue(n2); q.Waiting != 4 {
		t.Fatalf("the restarted node shows %d waiting, want 4", q.Waiting)
	}
	if a := s.agent(n2, "1001"); a.State != "paused" {
		t.Fatalf("the restarted node shows the agent %s, want paused", a.State)
	}
	t.Logf("%s restarted and rejoined %v after its kill, showing the same line", n2.name, time.Since(at).Round(10*time.Millisecond))
}

// order lists callers' numbers by position.
func order(pos map[string]int) []string {
	var out []string
	for n := range pos {
		out = append(out, n)
	}
	sort.Slice(out, func(i, j int) bool { return pos[out[i]] < pos[out[j]] })
	return out
}

// Issue 17, item 4: an agent's phone registered through Kamailio at a node that is then killed
// stays reachable: its registration is the site's (in Redis) and names Kamailio as the way to
// the phone, so a caller on a surviving node is answered by it at once; the phone's next
// REGISTER goes through Kamailio to a live node.
func TestPhoneOfAKilledNodeStaysReachable(t *testing.T) {
	s := newSite(t, siteOptions{nodes: 3, agents: 1})
	s.start()
	s.kamailio()
	phone := sipptest.Start(t, sipptest.Options{Scenario: "uas_answer_bye.xml", Calls: 5, Pause: 2 * time.Second, Timeout: 90 * time.Second})
	victim := s.register("1001", phone.Port)
	var survivor *node
	for _, n := range s.nodes {
		if n != victim {
			survivor = n
			break
		}
	}
	eventually(t, 3*time.Second, "the agent available", func() bool { return s.agent(survivor, "1001").State == "available" })

	at := time.Now()
	victim.kill(t)
	sipptest.Start(t, sipptest.Options{Scenario: "uac_answer.xml", Target: survivor.sipAddr, Service: "hotline", Timeout: 30 * time.Second,
		Keys: map[string]string{"caller": "+8613600136001"}}).MustSucceed(t)
	answered := time.Since(at)
	if n := len(callIDs(phone.Messages())); n != 1 {
		t.Fatalf("the phone was called %d times, want once", n)
	}
	t.Logf("phone registered at %s; %s killed; a caller on %s was answered by the phone, talked 2 s and was hung up %v after the kill, with no new REGISTER",
		victim.name, victim.name, survivor.name, answered.Round(10*time.Millisecond))

	start := time.Now()
	again := s.register("1001", phone.Port)
	if again == victim {
		t.Fatalf("the phone re-registered at the dead node?")
	}
	t.Logf("the phone's next REGISTER through Kamailio took %v, %v after the kill, at %s",
		time.Since(start).Round(10*time.Millisecond), time.Since(at).Round(10*time.Millisecond), again.name)
}

// Issue 17, item 4, under load: three nodes behind Kamailio, three agents' phones registered
// through it, callers arriving on every node and talking to the agents; one node is killed
// with SIGKILL in the middle. Every call of the two other nodes still completes (answered,
// talked, hung up by the agent), the agents keep taking calls, including those whose phones
// registered through the dead node, and no agent is left stuck: all are available again at
// the end, and a replica joining afterwards finds the distributor's invariants hold.
func TestNodeKilledUnderLoad(t *testing.T) {
	s := newSite(t, siteOptions{nodes: 3, agents: 3})
	s.start()
	s.kamailio()
	phones, at := s.phones()
	var victim *node // the node 1001's phone registered through
	for _, n := range s.nodes {
		if n.name == at["1001"] {
			victim = n
		}
	}
	eventually(t, 5*time.Second, "three agents available", func() bool { return s.queue(s.nodes[0]).Agents.Available == 3 })

	const perNode = 8
	callers := map[*node]*sipptest.Proc{}
	for i, n := range s.nodes {
		callers[n] = sipptest.Start(t, sipptest.Options{Scenario: "uac_answer.xml", Target: n.sipAddr, Service: "hotline",
			Calls: perNode, Rate: 0.5, Timeout: 90 * time.Second,
			Keys: map[string]string{"caller": fmt.Sprintf("+861350000%04d", i+1)}})
	}
	time.Sleep(6 * time.Second) // calls in progress on every node
	victim.kill(t)
	killedAt := time.Now()
	for _, n := range s.nodes {
		if n != victim {
			callers[n].MustSucceed(t) // every call answered, talked and ended by the agent
		}
	}
	callers[victim].Kill()
	survivor := s.nodes[0]
	if survivor == victim {
		survivor = s.nodes[1]
	}
	took := eventually(t, 15*time.Second, "every agent available again", func() bool {
		q := s.queue(survivor)
		return q.Agents.Available == 3 && q.Waiting == 0
	})
	taken := map[string]int{}
	for i, p := range phones {
		taken[s.agents[i]] = len(callIDs(p.Messages()))
	}
	after := 0
	for _, c := range s.contacts() {
		if c.StartedAt.After(killedAt) && c.Outcome == "answered" {
			after++
		}
	}
	if q := s.checkShared(survivor); q.Waiting != 0 {
		t.Errorf("the shared state has %d waiting at the end, want 0", q.Waiting)
	}
	t.Logf("phones registered at %v; %s killed mid-load: the %d calls of each other node all completed (%d answered after the kill), calls per agent %v, all agents available %v after the last call; invariants hold",
		at, victim.name, perNode, after, taken, took.Round(10*time.Millisecond))
}
