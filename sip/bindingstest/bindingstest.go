// Package bindingstest is the behaviour every sip.Bindings store must have, as a test to run
// against each (the memory store in sip, the Redis store in cluster). It holds no store itself.
package bindingstest

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	hsip "github.com/hotline-cc/hotline/sip"
)

// Open gives two clients of one new, empty store, as two nodes of a site would have them
// (for a store in memory, the same store twice).
type Open func(t *testing.T) (a, b hsip.Bindings)

// Run runs the shared behaviour tests against the stores open makes.
func Run(t *testing.T, open Open) {
	t.Run("PutRefreshList", func(t *testing.T) { testPutRefreshList(t, open) })
	t.Run("Remove", func(t *testing.T) { testRemove(t, open) })
	t.Run("ExpireOnceAcrossClients", func(t *testing.T) { testExpireOnce(t, open) })
	t.Run("ExpireConcurrently", func(t *testing.T) { testExpireConcurrently(t, open) })
}

// t0 is a whole second, so that stores keeping milliseconds and nanoseconds agree.
var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func binding(t *testing.T, agent, contact string, expires time.Time) hsip.Binding {
	t.Helper()
	var u sip.Uri
	if err := sip.ParseUri(contact, &u); err != nil {
		t.Fatal(err)
	}
	return hsip.Binding{Agent: agent, Contact: u, Source: "192.0.2.10:5060", Transport: "udp", Proxied: true,
		CallID: "reg-" + agent, CSeq: 1, Expires: expires, UserAgent: "test phone", Node: "hotline-1"}
}

func addrs(bs []hsip.Binding) []string {
	out := make([]string, len(bs))
	for i, b := range bs {
		out[i] = b.Contact.Addr()
	}
	return out
}

func list(t *testing.T, s hsip.Bindings, agent string, now time.Time) []hsip.Binding {
	t.Helper()
	bs, err := s.List(context.Background(), agent, now)
	if err != nil {
		t.Fatalf("List(%s): %v", agent, err)
	}
	return bs
}

func put(t *testing.T, s hsip.Bindings, b hsip.Binding) {
	t.Helper()
	if err := s.Put(context.Background(), b); err != nil {
		t.Fatalf("Put(%s %s): %v", b.Agent, b.Contact.Addr(), err)
	}
}

func count(t *testing.T, s hsip.Bindings, now time.Time) int {
	t.Helper()
	n, err := s.Count(context.Background(), now)
	if err != nil {
		t.Fatalf("Count: %v", err)
	}
	return n
}

func expire(t *testing.T, s hsip.Bindings, now time.Time) ([]string, int) {
	t.Helper()
	gone, total, err := s.Expire(context.Background(), now)
	if err != nil {
		t.Fatalf("Expire: %v", err)
	}
	sort.Strings(gone)
	return gone, total
}

// A binding comes back as it was put, from the other client too; a refresh of the same
// contact replaces it; the list is newest first, ties by contact, and leaves out what is due.
func testPutRefreshList(t *testing.T, open Open) {
	a, b := open(t)
	first := binding(t, "1001", "sip:1001@192.0.2.10:5062;transport=udp;ob", t0.Add(60*time.Second))
	put(t, a, first)
	got := list(t, b, "1001", t0)
	if len(got) != 1 {
		t.Fatalf("node B lists %d bindings of 1001, want the 1 node A put", len(got))
	}
	g := got[0]
	if g.Contact.String() != first.Contact.String() || g.Source != first.Source || g.Transport != "udp" || !g.Proxied ||
		g.CallID != first.CallID || g.CSeq != 1 || !g.Expires.Equal(first.Expires) || g.UserAgent != "test phone" || g.Node != "hotline-1" || g.Agent != "1001" {
		t.Errorf("binding read back = %+v\nwant %+v", g, first)
	}

	refreshed := first
	refreshed.CSeq, refreshed.Expires, refreshed.Node = 2, t0.Add(120*time.Second), "hotline-2"
	put(t, b, refreshed)
	if got := list(t, a, "1001", t0); len(got) != 1 || got[0].CSeq != 2 || got[0].Node != "hotline-2" || !got[0].Expires.Equal(refreshed.Expires) {
		t.Fatalf("after a refresh of the same contact: %+v, want one binding with CSeq 2 from hotline-2", got)
	}

	put(t, a, binding(t, "1001", "sip:1001@192.0.2.11:5060", t0.Add(90*time.Second)))
	put(t, a, binding(t, "1001", "sip:1001@192.0.2.12:5060", t0.Add(90*time.Second)))
	put(t, a, binding(t, "1002", "sip:1002@192.0.2.20:5060", t0.Add(30*time.Second)))
	want := []string{"sip:1001@192.0.2.10:5062", "sip:1001@192.0.2.11:5060", "sip:1001@192.0.2.12:5060"}
	if got := addrs(list(t, b, "1001", t0)); !slices.Equal(got, want) {
		t.Errorf("list order = %v, want %v (newest first, ties by contact)", got, want)
	}
	if got := addrs(list(t, b, "1001", t0.Add(100*time.Second))); !slices.Equal(got, want[:1]) {
		t.Errorf("at +100 s: %v, want only %v", got, want[:1])
	}
	if got := list(t, b, "1001", t0.Add(120*time.Second)); len(got) != 1 {
		t.Errorf("at exactly its expiry a binding is still valid; got %v", addrs(got))
	}
	if n := count(t, b, t0); n != 4 {
		t.Errorf("Count at +0 = %d, want 4", n)
	}
	if n := count(t, a, t0.Add(60*time.Second)); n != 3 {
		t.Errorf("Count at +60 s = %d, want 3 (1002's is due)", n)
	}
	if got := list(t, a, "nobody", t0); len(got) != 0 {
		t.Errorf("an agent never registered lists %v", addrs(got))
	}
}

// Remove takes one contact, RemoveAll all of one agent's, and neither touches other agents.
func testRemove(t *testing.T, open Open) {
	a, b := open(t)
	put(t, a, binding(t, "1001", "sip:1001@192.0.2.10:5060", t0.Add(60*time.Second)))
	put(t, a, binding(t, "1001", "sip:1001@192.0.2.11:5060", t0.Add(60*time.Second)))
	put(t, a, binding(t, "1001", "sip:1001@192.0.2.12:5060", t0.Add(60*time.Second)))
	put(t, a, binding(t, "1002", "sip:1002@192.0.2.20:5060", t0.Add(60*time.Second)))
	ctx := context.Background()
	if err := b.Remove(ctx, "1001", "sip:1001@192.0.2.11:5060"); err != nil {
		t.Fatal(err)
	}
	if err := b.Remove(ctx, "1001", "sip:1001@192.0.2.99:5060"); err != nil {
		t.Errorf("removing a contact never bound: %v, want no error", err)
	}
	if got := addrs(list(t, a, "1001", t0)); !slices.Equal(got, []string{"sip:1001@192.0.2.10:5060", "sip:1001@192.0.2.12:5060"}) {
		t.Errorf("after Remove: %v", got)
	}
	if err := b.RemoveAll(ctx, "1001"); err != nil {
		t.Fatal(err)
	}
	if got := list(t, a, "1001", t0); len(got) != 0 {
		t.Errorf("after RemoveAll: %v", addrs(got))
	}
	if got := list(t, a, "1002", t0); len(got) != 1 {
		t.Errorf("RemoveAll of 1001 touched 1002: %v", addrs(got))
	}
	if n := count(t, a, t0); n != 1 {
		t.Errorf("Count after removals = %d, want 1", n)
	}
	// Removed bindings are not expired again later.
	if gone, total := expire(t, a, t0.Add(time.Hour)); !slices.Equal(gone, []string{"1002"}) || total != 0 {
		t.Errorf("Expire after removals: gone %v total %d, want [1002] 0", gone, total)
	}
}

// Each agent that loses its last binding is reported by one Expire only, whichever client
// calls it; an agent that keeps a binding is not reported.
func testExpireOnce(t *testing.T, open Open) {
	a, b := open(t)
	put(t, a, binding(t, "1001", "sip:1001@192.0.2.10:5060", t0.Add(30*time.Second)))
	put(t, a, binding(t, "1001", "sip:1001@192.0.2.11:5060", t0.Add(60*time.Second)))
	put(t, b, binding(t, "1002", "sip:1002@192.0.2.20:5060", t0.Add(30*time.Second)))
	put(t, b, binding(t, "1003", "sip:1003@192.0.2.30:5060", t0.Add(30*time.Second)))
	put(t, b, binding(t, "1003", "sip:1003@192.0.2.31:5060", t0.Add(30*time.Second)))

	if gone, total := expire(t, b, t0.Add(30*time.Second)); len(gone) != 0 || total != 5 {
		t.Errorf("Expire at the bindings' expiry: gone %v total %d, want none 5", gone, total)
	}
	if gone, total := expire(t, b, t0.Add(31*time.Second)); !slices.Equal(gone, []string{"1002", "1003"}) || total != 1 {
		t.Errorf("node B's Expire at +31 s: gone %v total %d, want [1002 1003] 1", gone, total)
	}
	if gone, total := expire(t, a, t0.Add(31*time.Second)); len(gone) != 0 || total != 1 {
		t.Errorf("node A's Expire after B's: gone %v total %d, want none (B reported them) 1", gone, total)
	}
	if got := addrs(list(t, a, "1001", t0.Add(31*time.Second))); !slices.Equal(got, []string{"sip:1001@192.0.2.11:5060"}) {
		t.Errorf("1001 after the first expiry: %v", got)
	}
	if gone, total := expire(t, a, t0.Add(61*time.Second)); !slices.Equal(gone, []string{"1001"}) || total != 0 {
		t.Errorf("node A's Expire at +61 s: gone %v total %d, want [1001] 0", gone, total)
	}
	if gone, _ := expire(t, b, t0.Add(61*time.Second)); len(gone) != 0 {
		t.Errorf("node B's Expire after A's: gone %v, want none", gone)
	}
}

// Two clients expiring at once between them report every agent exactly once.
func testExpireConcurrently(t *testing.T, open Open) {
	a, b := open(t)
	const agents = 100
	for i := range agents {
		agent := fmt.Sprintf("2%03d", i)
		put(t, a, binding(t, agent, "sip:"+agent+"@192.0.2.40:5060", t0.Add(time.Duration(i%10)*time.Second)))
		if i%2 == 0 {
			put(t, b, binding(t, agent, "sip:"+agent+"@192.0.2.41:5060", t0.Add(time.Duration(i%10)*time.Second)))
		}
	}
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	for _, s := range []hsip.Bindings{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for step := range 12 {
				gone, _, err := s.Expire(context.Background(), t0.Add(time.Duration(step)*time.Second))
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				for _, g := range gone {
					seen[g]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(seen) != agents {
		t.Errorf("%d agents reported gone, want %d", len(seen), agents)
	}
	for agent, n := range seen {
		if n != 1 {
			t.Errorf("agent %s reported gone %d times, want once", agent, n)
		}
	}
	if n := count(t, a, t0); n != 0 {
		t.Errorf("Count after expiring everything = %d", n)
	}
}
