package journey

import (
	"sync"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/call"
	"github.com/hotline-cc/hotline/ivr/sim"
)

type published struct {
	mu    sync.Mutex
	views []call.Live
	ended []bool
}

func (p *published) add(l call.Live, ended bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.views, p.ended = append(p.views, l), append(p.ended, ended)
}

// A journey is in the registry from Start to End, every change of its live view is
// published, and nothing is published for it once it has ended.
func TestRegistryLifecycle(t *testing.T) {
	var pub published
	reg := NewRegistry(pub.add)
	clock := sim.NewClock(time.Now())
	a := reg.Start(sim.NewChannel("a", "+8613800000001", "4000", clock, nil), "hotline")
	b := reg.Start(sim.NewChannel("b", "+8613800000002", "4000", clock, nil), "hotline")
	if reg.Get("a") != a || reg.Get("b") != b || reg.Get("c") != nil {
		t.Fatal("Get does not find the journeys started")
	}
	a.SetNode("menu")
	a.SetState(call.StateQueued, "support", "")
	a.SetState(call.StateRinging, "", "1001")
	if l := a.Live(); l.State != call.StateRinging || l.Queue != "support" || l.Agent != "1001" || l.Node != "menu" || l.Caller.Number != "+8613800000001" {
		t.Errorf("live view after changes: %+v", l)
	}
	calls := reg.Calls()
	if len(calls) != 2 || calls[0].ID != "a" || calls[1].ID != "b" {
		t.Errorf("Calls = %+v, want a then b", calls)
	}
	reg.End(a)
	a.SetState(call.StateIVR, "", "") // the waiting room's deferred reset, after the end
	if reg.Get("a") != nil || len(reg.Calls()) != 1 {
		t.Error("an ended journey is still registered")
	}
	pub.mu.Lock()
	defer pub.mu.Unlock()
	// start a, start b, node, queued, ringing, end a: six, the last one the end.
	if len(pub.views) != 6 || !pub.ended[5] || pub.views[5].ID != "a" || pub.views[5].State != call.StateRinging {
		t.Fatalf("published %d views (ended %v), want 6 with a's end last", len(pub.views), pub.ended)
	}
	if pub.views[3].State != call.StateQueued || pub.views[3].Since.IsZero() {
		t.Errorf("queued view = %+v", pub.views[3])
	}
}

// A customer record a call in progress created is not yet "known" to flows, until that call
// ends, however many calls created it.
func TestRegistryCreatedCustomer(t *testing.T) {
	reg := NewRegistry(nil)
	clock := sim.NewClock(time.Now())
	a := reg.Start(sim.NewChannel("a", "+8613800000001", "4000", clock, nil), "hotline")
	b := reg.Start(sim.NewChannel("b", "+8613800000001", "4000", clock, nil), "hotline")
	reg.opened(a, "ct-a", "cust-1", "cust-1")
	reg.opened(b, "ct-b", "cust-1", "cust-1")
	if reg.contactFor("a") != "ct-a" || reg.contactFor("b") != "ct-b" || reg.contactFor("x") != "" {
		t.Error("contactFor does not find the contacts")
	}
	reg.End(a)
	if !reg.createdByLiveCall("cust-1") {
		t.Error("the record counts as known while another call that created it is live")
	}
	reg.End(b)
	if reg.createdByLiveCall("cust-1") {
		t.Error("the record is still fresh after both calls ended")
	}
}

// The journal keeps what happened, in order, and the waiting mailbox and agent leg are gone
// when the caller leaves the queue.
func TestJourneyJournalAndWait(t *testing.T) {
	reg := NewRegistry(nil)
	j := reg.Start(sim.NewChannel("a", "+8613800000001", "4000", sim.NewClock(time.Now()), nil), "hotline")
	j.Note("offer %s", "1001")
	j.Note("missed %s %s", "1001", "busy")
	if got := j.Journal(); len(got) != 2 || got[0] != "offer 1001" || got[1] != "missed 1001 busy" {
		t.Errorf("journal = %q", got)
	}
	w := NewWait()
	j.SetWaiting(w)
	leg := sim.NewChannel("agent", "1001", "1001", sim.NewClock(time.Now()), nil)
	j.Bridged(leg)
	if j.Waiting() != w || j.AgentLeg() != leg {
		t.Fatal("waiting and bridged leg not kept")
	}
	j.SetWaiting(nil)
	if j.Waiting() != nil || j.AgentLeg() != nil {
		t.Error("the mailbox or the agent leg outlived the queue stay")
	}
}
