package multinode

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/customers"
	"github.com/hotline-cc/hotline/internal/sipptest"
)

// register registers an agent's phone (a sipp at port) with the site: through Kamailio when it
// runs, else at the first node (registrations are shared: every node reaches the phone).
// It returns the node that took the REGISTER.
func (s *site) register(agent string, port int) *node {
	s.t.Helper()
	target := s.nodes[0].sipAddr
	if s.proxy != "" {
		target = s.proxy
	}
	sipptest.Start(s.t, sipptest.Options{Scenario: "register.xml", Target: target, Auth: [2]string{agent, agent + "-pw"},
		Inject: [][]string{{agent, "-", strconv.Itoa(port), "60"}}}).MustSucceed(s.t)
	return s.registeredAt(agent)
}

// registeredAt is the node that took the agent's latest REGISTER, as its shared registration
// in Redis names it.
func (s *site) registeredAt(agent string) *node {
	s.t.Helper()
	fields, err := s.rdb.HGetAll(context.Background(), s.prefix+":binding:"+agent).Result()
	if err != nil {
		s.t.Fatal(err)
	}
	var at *node
	var latest time.Time
	for _, v := range fields {
		var b struct {
			Node    string    `json:"node"`
			Expires time.Time `json:"expires"`
		}
		if err := json.Unmarshal([]byte(v), &b); err != nil {
			s.t.Fatalf("registration of %s: %v in %s", agent, err, v)
		}
		for _, n := range s.nodes {
			if n.name == b.Node && b.Expires.After(latest) {
				at, latest = n, b.Expires
			}
		}
	}
	if at == nil {
		s.t.Fatalf("no registration of %s names a node: %v", agent, fields)
	}
	return at
}

// store opens the site's shared store, closed with the test; recordings is the directory of
// its recordings ("" for none).
// It is opened once per directory: tests poll it.
func (s *site) store(recordings string) *customers.Store {
	s.t.Helper()
	if st := s.stores[recordings]; st != nil {
		return st
	}
	dir := recordings
	if dir == "" {
		dir = s.t.TempDir()
	}
	st, err := customers.Open(context.Background(), customers.Config{DSN: s.dsn, DataDir: s.t.TempDir(), RecordingsDir: dir})
	if err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() { st.Close() })
	if s.stores == nil {
		s.stores = map[string]*customers.Store{}
	}
	s.stores[recordings] = st
	return st
}

// phones starts a phone per agent, each answering, talking 2 s (echoing what it hears) and
// hanging up, and registers them with the site; it returns them in the order of s.agents, and
// the node each registered through.
func (s *site) phones() ([]*sipptest.Proc, map[string]string) {
	s.t.Helper()
	var phones []*sipptest.Proc
	at := map[string]string{}
	for _, a := range s.agents {
		p := sipptest.Start(s.t, sipptest.Options{Scenario: "uas_answer_bye.xml", Calls: 100, Pause: 2 * time.Second,
			Args: []string{"-rtp_echo"}, Timeout: 120 * time.Second})
		phones = append(phones, p)
		at[a] = s.register(a, p.Port).name
	}
	return phones, at
}

// contacts are the site's contacts, from the shared store.
func (s *site) contacts() []customers.Contact {
	s.t.Helper()
	ctx := context.Background()
	st := s.store("")
	var all []customers.Contact
	for cur := ""; ; {
		page, next, err := st.ListContacts(ctx, customers.ContactFilter{}, customers.Page{Limit: 200, Cursor: cur})
		if err != nil {
			s.t.Fatal(err)
		}
		all = append(all, page...)
		if next == "" {
			return all
		}
		cur = next
	}
}

// Issue 17, items 1 and 5: callers arriving on three nodes, agents whose phones registered
// through Kamailio at whichever node it chose (so most calls cross nodes: the caller's node
// rings the phone through Kamailio). Every caller is answered, each by one agent, each agent's phone gets one
// INVITE per call it takes: each routing decision was carried out once, by one node.
func TestEveryDecisionCarriedOutOnce(t *testing.T) {
	s := newSite(t, siteOptions{nodes: 3, agents: 3})
	s.start()
	s.kamailio()
	phones, at := s.phones()
	t.Logf("phones registered through Kamailio at %v", at)
	eventually(t, 5*time.Second, "three agents available", func() bool { return s.queue(s.nodes[0]).Agents.Available == 3 })

	const perNode = 4
	var callers []*sipptest.Proc
	for i, n := range s.nodes {
		callers = append(callers, sipptest.Start(t, sipptest.Options{Scenario: "uac_answer.xml", Target: n.sipAddr, Service: "hotline",
			Calls: perNode, Rate: 1, Timeout: 60 * time.Second,
			Keys: map[string]string{"caller": fmt.Sprintf("+861370000%04d", i+1)}}))
	}
	for _, c := range callers {
		c.MustSucceed(t)
	}
	var recs []customers.Contact
	eventually(t, 10*time.Second, "every call on the timeline", func() bool {
		recs = s.contacts()
		n := 0
		for _, c := range recs {
			if !c.EndedAt.IsZero() {
				n++
			}
		}
		return n == 3*perNode
	})
	byAgent := map[string]int{}
	for _, c := range recs {
		if c.Outcome != customers.OutcomeAnswered || c.Agent == "" {
			t.Errorf("contact %s: outcome %s agent %q, want answered", c.ID, c.Outcome, c.Agent)
		}
		byAgent[c.Agent]++
	}
	invites := 0
	for i, p := range phones {
		got := len(callIDs(p.Messages()))
		invites += got
		if byAgent[s.agents[i]] != got {
			t.Errorf("agent %s: %d answered contacts, but its phone was called %d times", s.agents[i], byAgent[s.agents[i]], got)
		}
	}
	if invites != 3*perNode {
		t.Errorf("the phones were called %d times for %d callers", invites, 3*perNode)
	}
	t.Logf("%d calls over 3 nodes answered by %v; the phones were called %d times", 3*perNode, byAgent, invites)
}

// callIDs are the distinct calls in a sipp message log.
func callIDs(log string) map[string]bool {
	out := map[string]bool{}
	for _, l := range strings.Split(log, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), "Call-ID:"); ok {
			out[strings.TrimSpace(v)] = true
		}
	}
	return out
}
