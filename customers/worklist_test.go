package customers

import (
	"errors"
	"time"
)

// The worklist: missed contacts become items once, with a due time; take, release and close
// follow the rules, and wrong moves say why (ErrConflict) or what is wrong (ErrInvalid).
func testWorklist(e *env) {
	s := e.open(WithWorkDue(2 * time.Hour))
	missedAt := e.clk.Now()
	ab, err := s.AddContact(e.ctx, Contact{Address: "+8613800138001", Queue: "support", Outcome: OutcomeAbandoned, EndedAt: missedAt})
	e.must(err)
	served, err := s.AddContact(e.ctx, Contact{Address: "+8613800138002", Queue: "support"})
	e.must(err)
	e.must(s.ApplyContactUpdate(e.ctx, served.ID, ContactUpdate{Outcome: ptr(OutcomeAnswered)}))
	inIVR, err := s.AddContact(e.ctx, Contact{Address: "+8613800138003", Flow: "hotline"})
	e.must(err)
	e.must(s.ApplyContactUpdate(e.ctx, inIVR.ID, ContactUpdate{EndedAt: &missedAt, Outcome: ptr(OutcomeAbandonedInIVR)}))
	// A second update with a missed outcome files nothing twice.
	e.must(s.ApplyContactUpdate(e.ctx, inIVR.ID, ContactUpdate{Outcome: ptr(OutcomeAbandonedInIVR)}))
	// Short abandons, self-service and interrupted calls are not work.
	for _, o := range []Outcome{OutcomeShortAbandoned, OutcomeCompletedInIVR, OutcomeSelfService, OutcomeInterrupted} {
		_, err := s.AddContact(e.ctx, Contact{Address: "+8613800138009", Outcome: o})
		e.must(err)
	}

	all, next, err := s.ListWorkItems(e.ctx, WorkFilter{}, Page{})
	e.must(err)
	if len(all) != 2 || next != "" {
		e.Fatalf("%d items (next %q), want the abandoned call and the caller who hung up in the menus", len(all), next)
	}
	reasons := map[Outcome]WorkItem{}
	for _, w := range all {
		reasons[w.Reason] = w
	}
	item := reasons[OutcomeAbandoned]
	if item.ContactID != ab.ID || item.Queue != "support" || item.State != WorkOpen || item.Address != "+8613800138001" ||
		!item.DueAt.Equal(missedAt.Add(2*time.Hour)) || item.CustomerID != ab.CustomerID {
		e.Errorf("abandoned item %+v: want open, on the contact, due 2h after %v", item, missedAt)
	}
	if reasons[OutcomeAbandonedInIVR].ContactID != inIVR.ID {
		e.Errorf("no item for the caller who hung up in the menus: %+v", all)
	}

	// Filters: state, owner, queue, overdue.
	list, _, err := s.ListWorkItems(e.ctx, WorkFilter{Queue: "support"}, Page{})
	e.must(err)
	if len(list) != 1 || list[0].ID != item.ID {
		e.Errorf("queue support: %d items, want the abandoned one", len(list))
	}
	e.clk.Advance(3 * time.Hour)
	over, _, err := s.ListWorkItems(e.ctx, WorkFilter{Overdue: true}, Page{})
	e.must(err)
	if len(over) != 2 || !over[0].Overdue(e.clk.Now()) || over[0].Age(e.clk.Now()) != 3*time.Hour {
		e.Errorf("overdue after 3h: %d items, want 2, 3h old", len(over))
	}

	// Take, someone else cannot take or close it, the owner closes it.
	took, err := s.TakeWorkItem(e.ctx, item.ID, "1001", false)
	e.must(err)
	if took.State != WorkTaken || took.Owner != "1001" || !took.TakenAt.Equal(e.clk.Now()) {
		e.Errorf("taken: %+v", took)
	}
	if _, err := s.TakeWorkItem(e.ctx, item.ID, "1001", false); err != nil {
		e.Errorf("taking one's own item again: %v", err)
	}
	var te *WorkTransitionError
	if _, err := s.TakeWorkItem(e.ctx, item.ID, "1002", false); !errors.As(err, &te) || !errors.Is(err, ErrConflict) || te.Owner != "1001" {
		e.Errorf("1002 taking 1001's item: %v, want a conflict naming 1001", err)
	}
	if _, err := s.CloseWorkItem(e.ctx, item.ID, WorkClose{By: "1002", How: ResolvedCalledBack}); !errors.Is(err, ErrConflict) {
		e.Errorf("1002 closing 1001's item: %v, want a conflict", err)
	}
	mine, _, err := s.ListWorkItems(e.ctx, WorkFilter{Owner: "1001", State: WorkTaken}, Page{})
	e.must(err)
	if len(mine) != 1 {
		e.Errorf("1001's taken items: %d, want 1", len(mine))
	}
	if _, err := s.CloseWorkItem(e.ctx, item.ID, WorkClose{By: "1001", How: "emailed"}); !errors.Is(err, ErrInvalid) {
		e.Errorf("closing with how emailed: %v, want invalid", err)
	}
	done, err := s.CloseWorkItem(e.ctx, item.ID, WorkClose{By: "1001", How: ResolvedCalledBack, Note: "sorted"})
	e.must(err)
	if done.State != WorkDone || done.DoneBy != "1001" || done.DoneHow != ResolvedCalledBack || done.DoneNote != "sorted" || !done.DoneAt.Equal(e.clk.Now()) {
		e.Errorf("closed: %+v", done)
	}
	if _, err := s.CloseWorkItem(e.ctx, item.ID, WorkClose{By: "1001", How: ResolvedNoAction}); !errors.As(err, &te) || te.DoneBy != "1001" {
		e.Errorf("closing twice: %v, want a conflict naming who closed it", err)
	}
	if _, err := s.TakeWorkItem(e.ctx, item.ID, "1002", true); !errors.Is(err, ErrConflict) {
		e.Errorf("taking a closed item: %v, want a conflict", err)
	}
	// A supervisor reassigns and releases; releasing an open item is a conflict.
	other := reasons[OutcomeAbandonedInIVR]
	_, err = s.TakeWorkItem(e.ctx, other.ID, "1001", false)
	e.must(err)
	moved, err := s.TakeWorkItem(e.ctx, other.ID, "1003", true)
	e.must(err)
	if moved.Owner != "1003" {
		e.Errorf("reassigned to %q, want 1003", moved.Owner)
	}
	if _, err := s.ReleaseWorkItem(e.ctx, other.ID, "1001", false); !errors.Is(err, ErrConflict) {
		e.Errorf("1001 releasing 1003's item: %v", err)
	}
	rel, err := s.ReleaseWorkItem(e.ctx, other.ID, "1003", false)
	e.must(err)
	if rel.State != WorkOpen || rel.Owner != "" {
		e.Errorf("released: %+v", rel)
	}
	if _, err := s.ReleaseWorkItem(e.ctx, other.ID, "1003", false); !errors.Is(err, ErrConflict) {
		e.Errorf("releasing an open item: %v", err)
	}
	pending, _, err := s.ListWorkItems(e.ctx, WorkFilter{Pending: true}, Page{})
	e.must(err)
	if len(pending) != 1 || pending[0].ID != other.ID {
		e.Errorf("pending: %d items, want the released one", len(pending))
	}
	if _, _, err := s.ListWorkItems(e.ctx, WorkFilter{State: "closed"}, Page{}); !errors.Is(err, ErrInvalid) {
		e.Errorf("state closed: %v, want invalid", err)
	}
	if _, err := s.WorkItem(e.ctx, "nope"); !errors.Is(err, ErrNotFound) {
		e.Errorf("unknown item: %v", err)
	}
	// Erase blanks the number on the customer's items.
	e.must(s.Erase(e.ctx, ab.CustomerID))
	gone, err := s.WorkItem(e.ctx, item.ID)
	e.must(err)
	if gone.Address != "" || gone.DoneNote != "" {
		e.Errorf("after erase: address %q note %q, want both blank", gone.Address, gone.DoneNote)
	}
}

// Voicemails and callbacks whose attempts ran out are on the worklist too; old self_service
// rows read as completed_in_ivr.
func testWorklistSources(e *env) {
	c, err := e.s.AddContact(e.ctx, Contact{Address: "+8613800138004", Queue: "support"})
	e.must(err)
	_, err = e.s.AddContact(e.ctx, Contact{Address: "+8613800138005", Outcome: OutcomeSelfService})
	e.must(err)
	_, err = e.s.r().exec(e.ctx, "UPDATE contacts SET outcome = 'self_service' WHERE id = ?", c.ID)
	e.must(err)
	old, err := e.s.Contact(e.ctx, c.ID)
	e.must(err)
	if old.Outcome != OutcomeCompletedInIVR {
		e.Errorf("a self_service row reads as %q, want completed_in_ivr", old.Outcome)
	}
	list, _, err := e.s.ListContacts(e.ctx, ContactFilter{Outcomes: []Outcome{OutcomeSelfService}}, Page{})
	e.must(err)
	if len(list) != 1 {
		e.Errorf("filter self_service: %d contacts, want the one stored as completed_in_ivr", len(list))
	}
	cb, err := e.s.RequestCallback(e.ctx, CallbackRequest{Number: "+8613800138006", Queue: "sales", Source: FromAPI})
	e.must(err)
	for i := 0; ; i++ {
		got, err := e.s.RecordCallbackAttempt(e.ctx, cb.ID, CallbackAttempt{Outcome: OutcomeCallbackNoAnswer, CallID: "a" + string(rune('0'+i))})
		e.must(err)
		if got.Status != CallbackPending {
			break
		}
		e.clk.Advance(time.Hour)
	}
	items, _, err := e.s.ListWorkItems(e.ctx, WorkFilter{Reason: OutcomeCallbackFailed}, Page{})
	e.must(err)
	if len(items) != 1 || items[0].Address != "+8613800138006" {
		e.Errorf("callback failed: %d items %+v, want one with the number", len(items), items)
	}

	// A caller who abandoned and got an automatic callback: when it reaches them, the item is
	// closed as called back by that callback.
	ab, err := e.s.AddContact(e.ctx, Contact{Address: "+8613800138007", Queue: "sales", Outcome: OutcomeAbandoned})
	e.must(err)
	cb2, err := e.s.RequestCallback(e.ctx, CallbackRequest{Number: "+8613800138007", Queue: "sales", Source: FromAbandoned, ContactID: ab.ID})
	e.must(err)
	_, err = e.s.RecordCallbackAttempt(e.ctx, cb2.ID, CallbackAttempt{Outcome: OutcomeCallbackAnswered, CallID: "b1", Agent: "1001"})
	e.must(err)
	items, _, err = e.s.ListWorkItems(e.ctx, WorkFilter{Reason: OutcomeAbandoned}, Page{})
	e.must(err)
	if len(items) != 1 || items[0].State != WorkDone || items[0].DoneHow != ResolvedCalledBack || items[0].DoneBy != "callback "+cb2.ID {
		e.Errorf("after the callback reached the caller: %+v, want done, called back by the callback", items)
	}
}
