package customers

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

func refusedCount(code RefusalCode) float64 {
	var m dto.Metric
	mRefused.WithLabelValues(string(code)).(prometheus.Metric).Write(&m)
	return m.GetCounter().GetValue()
}

func testCallbackUpdates(e *env) {
	arrived := monday10.Add(-3 * time.Minute)
	first, err := e.s.RequestCallback(e.ctx, CallbackRequest{Number: "13800138000", Queue: "support", ArrivedAt: arrived, Priority: 2, Language: "zh"})
	e.must(err)
	if first.Status != CallbackPending || first.Number != "+8613800138000" || !first.ArrivedAt.Equal(arrived) ||
		first.Priority != 2 || first.Source != FromQueue || first.MaxAttempts != 3 || !first.NextAttemptAt.Equal(monday10) {
		e.Fatalf("first request: %+v", first)
	}
	cust, _ := e.s.ByNumber(e.ctx, "+8613800138000")
	if cust == nil || cust.ID != first.CustomerID {
		e.Fatalf("the callback's customer %s is not the number's owner", first.CustomerID)
	}
	// Asking again (later, at another priority) updates the one waiting: same place in line.
	e.clk.Advance(10 * time.Minute)
	second, err := e.s.RequestCallback(e.ctx, CallbackRequest{CustomerID: cust.ID, Number: "+86 137 0000 0002", Queue: "support", Priority: 1, Language: "en"})
	e.must(err)
	if second.ID != first.ID || !second.ArrivedAt.Equal(arrived) || second.Priority != 2 || second.Number != "+8613700000002" || second.Language != "en" {
		e.Errorf("second request: %+v; want the first updated, arrival and priority kept, new number and language", second)
	}
	if list, _, _ := e.s.ListCallbacks(e.ctx, CallbackFilter{CustomerID: cust.ID}, Page{}); len(list) != 1 {
		e.Errorf("%d callbacks for one customer and queue, want 1", len(list))
	}
	// Another queue is another callback.
	sales, err := e.s.RequestCallback(e.ctx, CallbackRequest{CustomerID: cust.ID, Number: "+8613800138000", Queue: "sales"})
	e.must(err)
	if sales.ID == first.ID {
		e.Error("a callback for sales replaced the one for support")
	}
	// Once the first is done, a new request is a new callback.
	e.must(e.s.CancelCallback(e.ctx, first.ID, "customer called in"))
	if err := e.s.CancelCallback(e.ctx, first.ID, "again"); !errors.Is(err, ErrNotPending) {
		e.Errorf("cancelling twice: %v, want ErrNotPending", err)
	}
	third, err := e.s.RequestCallback(e.ctx, CallbackRequest{CustomerID: cust.ID, Number: "+8613800138000", Queue: "support"})
	e.must(err)
	if third.ID == first.ID {
		e.Error("a cancelled callback was reused")
	}
	// The ACD restores its callbacks from the store: pending ones, oldest arrival first.
	due, err := e.s.DueCallbacks(e.ctx, e.clk.Now(), 0)
	e.must(err)
	if len(due) != 2 {
		e.Errorf("due callbacks %d, want 2 (support and sales)", len(due))
	}
}

func testCallbackRefusals(e *env) {
	cases := []struct {
		number string
		code   RefusalCode
		reason string
	}{
		{"+442071838750", RefusedNotAllowed, "number +442071838750 is outside the allowed prefixes +86"},
		{"+8613999012345", RefusedDenied, "number +8613999012345 is in the denied range +86139990"},
		{"12ab34", RefusedInvalidNumber, `"12ab34" is not a valid phone number (default region CN)`},
		{"1001", RefusedInvalidNumber, `"1001" is not a valid phone number (default region CN)`},
		{"anonymous", RefusedWithheld, "the number is withheld; a callback needs a number to call"},
	}
	for _, tc := range cases {
		before := refusedCount(tc.code)
		_, err := e.s.RequestCallback(e.ctx, CallbackRequest{Number: tc.number, Queue: "support"})
		var r *Refusal
		if !errors.As(err, &r) || r.Code != tc.code || r.Reason != tc.reason {
			e.Errorf("%s: %v, want refusal %s: %q", tc.number, err, tc.code, tc.reason)
			continue
		}
		if refusedCount(tc.code) != before+1 {
			e.Errorf("%s: hotline_callbacks_refused_total{reason=%q} did not count it", tc.number, tc.code)
		}
	}
	// Premium-rate numbers are refused even inside the allowed countries.
	uk := testPolicy()
	uk.Allowed = []string{"+44"}
	s := e.open(WithCallbackPolicy(uk))
	_, err := s.RequestCallback(e.ctx, CallbackRequest{Number: "+449012345678", Queue: "support"})
	var r *Refusal
	if !errors.As(err, &r) || r.Code != RefusedPremiumRate || r.Reason != "number +449012345678 is a premium-rate number" {
		e.Errorf("premium rate: %v", err)
	}
	if _, err := s.RequestCallback(e.ctx, CallbackRequest{Number: "+442071838750", Queue: "support"}); err != nil {
		e.Errorf("an allowed UK number: %v", err)
	}
	// Refusals store nothing.
	list, _, _ := e.s.ListCallbacks(e.ctx, CallbackFilter{Queue: "support"}, Page{})
	if len(list) != 1 {
		e.Errorf("%d callbacks stored, want only the allowed one", len(list))
	}
}

func testCallbackRateLimits(e *env) {
	req := CallbackRequest{Number: "+8613800138000", Queue: "support", Caller: "+8613800138000"}
	for i := 0; i < 3; i++ {
		if _, err := e.s.RequestCallback(e.ctx, req); err != nil {
			e.Fatalf("request %d: %v", i+1, err)
		}
	}
	_, err := e.s.RequestCallback(e.ctx, req)
	var r *Refusal
	if !errors.As(err, &r) || r.Code != RefusedRateNumber || !strings.HasPrefix(r.Reason, "rate limit: 3 callbacks per hour to +8613800138000") {
		e.Fatalf("fourth request in an hour: %v", err)
	}
	// The allowance refills: one more after a third of the hour.
	e.clk.Advance(20 * time.Minute)
	if _, err := e.s.RequestCallback(e.ctx, req); err != nil {
		e.Errorf("after 20 minutes: %v", err)
	}
	// Per caller: 10 a day, whatever numbers they ask for; withheld callers share one allowance.
	for i := 0; i < 10; i++ {
		n := "+861380013" + string(rune('0'+i)) + "001"
		if _, err := e.s.RequestCallback(e.ctx, CallbackRequest{Number: n, Queue: "sales", Caller: "anonymous"}); err != nil {
			e.Fatalf("withheld request %d: %v", i+1, err)
		}
	}
	_, err = e.s.RequestCallback(e.ctx, CallbackRequest{Number: "+8613700000001", Queue: "sales", Caller: "restricted"})
	if !errors.As(err, &r) || r.Code != RefusedRateCaller || !strings.HasPrefix(r.Reason, "rate limit: 10 callback requests per day from withheld numbers") {
		e.Errorf("eleventh withheld request: %v", err)
	}
}

func testCallbackSlots(e *env) {
	// Friday 15:00 is open: the callback is due then.
	slot := time.Date(2026, 5, 15, 15, 0, 0, 0, shanghai)
	cb, err := e.s.RequestCallback(e.ctx, CallbackRequest{Number: "+8613800138000", Queue: "support", Source: FromSchedule, Slot: slot})
	e.must(err)
	if !cb.Slot.Equal(slot) || !cb.NextAttemptAt.Equal(slot) || cb.Source != FromSchedule {
		e.Errorf("scheduled callback: %+v", cb)
	}
	if due, _ := e.s.DueCallbacks(e.ctx, e.clk.Now(), 0); len(due) != 0 {
		e.Errorf("a callback scheduled for Friday is due on Monday: %v", due)
	}
	if due, _ := e.s.DueCallbacks(e.ctx, slot, 0); len(due) != 1 {
		e.Errorf("not due at its slot")
	}
	// Sunday is closed; the refusal says when it opens.
	sunday := time.Date(2026, 5, 17, 11, 0, 0, 0, shanghai)
	_, err = e.s.RequestCallback(e.ctx, CallbackRequest{Number: "+8613700000001", Queue: "support", Slot: sunday})
	var r *Refusal
	if !errors.As(err, &r) || r.Code != RefusedOutsideHours ||
		r.Reason != "the slot Sun 17 May 2026 11:00 CST is outside the opening hours of queue support; it next opens Mon 18 May 2026 09:00 CST" {
		e.Errorf("Sunday slot: %v", err)
	}
	_, err = e.s.RequestCallback(e.ctx, CallbackRequest{Number: "+8613700000001", Queue: "support", Slot: monday10.Add(-time.Hour)})
	if !errors.As(err, &r) || r.Code != RefusedPastSlot {
		e.Errorf("a slot an hour ago: %v", err)
	}
	// Asked for at night without a slot: due when the queue opens.
	e.clk.Set(time.Date(2026, 5, 11, 22, 0, 0, 0, shanghai))
	night, err := e.s.RequestCallback(e.ctx, CallbackRequest{Number: "+8613700000001", Queue: "support"})
	e.must(err)
	if want := time.Date(2026, 5, 12, 9, 0, 0, 0, shanghai); !night.NextAttemptAt.Equal(want) {
		e.Errorf("night request due at %v, want %v", night.NextAttemptAt, want)
	}
	// A queue without a schedule is always open.
	anytime, err := e.s.RequestCallback(e.ctx, CallbackRequest{Number: "+8613700000001", Queue: "sales"})
	e.must(err)
	if !anytime.NextAttemptAt.Equal(e.clk.Now()) {
		e.Errorf("sales (no schedule) due at %v, want now", anytime.NextAttemptAt)
	}
}

func testCallbackRetries(e *env) {
	e.clk.Set(time.Date(2026, 5, 11, 17, 40, 0, 0, shanghai))
	cb, err := e.s.RequestCallback(e.ctx, CallbackRequest{Number: "+8613800138000", Queue: "support", ArrivedAt: e.clk.Now().Add(-time.Minute)})
	e.must(err)
	attempt := func(o Outcome) Callback {
		e.Helper()
		due, err := e.s.DueCallbacks(e.ctx, e.clk.Now(), 0)
		e.must(err)
		if len(due) != 1 || due[0].ID != cb.ID {
			e.Fatalf("at %v due %v, want the callback", e.clk.Now(), due)
		}
		started, err := e.s.StartCallback(e.ctx, cb.ID)
		e.must(err)
		if started.Status != CallbackDialing {
			e.Fatalf("started: %s", started.Status)
		}
		if _, err := e.s.StartCallback(e.ctx, cb.ID); !errors.Is(err, ErrNotPending) {
			e.Fatalf("a second node starting the same callback: %v, want ErrNotPending", err)
		}
		e.clk.Advance(30 * time.Second)
		got, err := e.s.RecordCallbackAttempt(e.ctx, cb.ID, CallbackAttempt{Outcome: o, StartedAt: e.clk.Now().Add(-30 * time.Second)})
		e.must(err)
		return got
	}
	got := attempt(OutcomeCallbackNoAnswer)
	if got.Status != CallbackPending || got.Attempts != 1 || !got.NextAttemptAt.Equal(e.clk.Now().Add(10*time.Minute)) {
		e.Fatalf("after a no answer: %+v; want pending, 1 attempt, next in 10 minutes", got)
	}
	if due, _ := e.s.DueCallbacks(e.ctx, e.clk.Now().Add(9*time.Minute), 0); len(due) != 0 {
		e.Error("due again before the backoff")
	}
	e.clk.Set(got.NextAttemptAt) // 17:50:30
	got = attempt(OutcomeCallbackBusy)
	// 17:51 + 20 minutes is after closing: the retry waits for Tuesday 09:00.
	tuesday9 := time.Date(2026, 5, 12, 9, 0, 0, 0, shanghai)
	if got.Attempts != 2 || !got.NextAttemptAt.Equal(tuesday9) {
		e.Fatalf("after busy at closing time: %+v; want the retry at Tuesday 09:00", got)
	}
	if due, _ := e.s.DueCallbacks(e.ctx, time.Date(2026, 5, 11, 23, 0, 0, 0, shanghai), 0); len(due) != 0 {
		e.Error("due at night")
	}
	e.clk.Set(tuesday9)
	before, _, _ := e.s.ListTickets(e.ctx, TicketFilter{}, Page{})
	got = attempt(OutcomeCallbackNoAnswer)
	if got.Status != CallbackFailed || got.Attempts != 3 || got.TicketID == "" || got.LastResult != string(OutcomeCallbackNoAnswer) {
		e.Fatalf("after the last attempt: %+v; want failed with a ticket", got)
	}
	tk, err := e.s.Ticket(e.ctx, got.TicketID)
	e.must(err)
	if tk.Kind != KindCallbackFailed || tk.CustomerID != cb.CustomerID || tk.CallbackID != cb.ID || tk.Status != TicketOpen ||
		tk.Subject != "Callback to +8613800138000 failed after 3 attempts (last: no answer)" {
		e.Errorf("ticket: %+v", tk)
	}
	after, _, _ := e.s.ListTickets(e.ctx, TicketFilter{}, Page{})
	if len(after) != len(before)+1 {
		e.Errorf("tickets %d -> %d, want one more", len(before), len(after))
	}
	if _, err := e.s.RecordCallbackAttempt(e.ctx, cb.ID, CallbackAttempt{Outcome: OutcomeCallbackAnswered}); !errors.Is(err, ErrNotPending) {
		e.Errorf("an attempt on a failed callback: %v, want ErrNotPending", err)
	}
	// Every attempt is on the timeline.
	contacts, _, _ := e.s.ListContacts(e.ctx, ContactFilter{CustomerID: cb.CustomerID}, Page{})
	if len(contacts) != 3 {
		e.Fatalf("%d contacts, want 3 attempts", len(contacts))
	}
	for _, c := range contacts {
		if c.Direction != Outbound || c.CallbackID != cb.ID || c.Address != "+8613800138000" || c.EndedAt.IsZero() {
			e.Errorf("attempt contact: %+v", c)
		}
	}
	if got := e.outbox(); len(got) != 1 || got[0] != EventTicketCreated {
		e.Errorf("outbox %v, want the ticket.created", got)
	}
	if _, err := e.s.RecordCallbackAttempt(e.ctx, cb.ID, CallbackAttempt{Outcome: OutcomeAnswered}); !errors.Is(err, ErrInvalid) {
		e.Errorf("outcome answered for an attempt: %v, want ErrInvalid", err)
	}
}

func testCallbackLease(e *env) {
	cb, err := e.s.RequestCallback(e.ctx, CallbackRequest{Number: "+8613800138000", Queue: "sales"})
	e.must(err)
	_, err = e.s.StartCallback(e.ctx, cb.ID)
	e.must(err)
	if due, _ := e.s.DueCallbacks(e.ctx, e.clk.Now().Add(time.Minute), 0); len(due) != 0 {
		e.Error("a callback being dialled is due")
	}
	// The node that was dialling died: after the lease another takes it over.
	e.clk.Advance(6 * time.Minute)
	due, _ := e.s.DueCallbacks(e.ctx, e.clk.Now(), 0)
	if len(due) != 1 {
		e.Fatal("an abandoned dial is not due again after the lease")
	}
	if _, err := e.s.StartCallback(e.ctx, cb.ID); err != nil {
		e.Errorf("taking over after the lease: %v", err)
	}
	got, err := e.s.RecordCallbackAttempt(e.ctx, cb.ID, CallbackAttempt{Outcome: OutcomeCallbackAnswered})
	e.must(err)
	if got.Status != CallbackCompleted || got.Attempts != 1 {
		e.Errorf("answered: %+v", got)
	}
	// The customer may ask again now.
	again, err := e.s.RequestCallback(e.ctx, CallbackRequest{Number: "+8613800138000", Queue: "sales"})
	e.must(err)
	if again.ID == cb.ID {
		e.Error("a completed callback was reused")
	}
}

// Two nodes on one store: each due callback is claimed by exactly one of them, even when both
// claim at once; renewing keeps a claim, and a claim not renewed runs out and another node
// takes the callback over with its place in line (arrival, priority). Recording an attempt or
// cancelling releases the claim; a node holding the caller who pressed 1 takes the claim.
func testCallbackClaims(e *env) {
	a, b := e.open(WithNode("node-a")), e.open(WithNode("node-b"))
	arrived := monday10.Add(-5 * time.Minute)
	var ids []string
	for i, n := range []string{"+8613800000001", "+8613800000002", "+8613800000003", "+8613800000004"} {
		cb, err := e.s.RequestCallback(e.ctx, CallbackRequest{Number: n, Queue: "support", ArrivedAt: arrived.Add(time.Duration(i) * time.Second), Priority: i})
		e.must(err)
		ids = append(ids, cb.ID)
	}
	claims := map[string]string{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	dues := map[*Store][]Callback{}
	for _, s := range []*Store{a, b} {
		due, err := s.DueCallbacks(e.ctx, e.clk.Now(), 0)
		e.must(err)
		if len(due) != len(ids) {
			e.Fatalf("%s: %d due, want %d", s.Node(), len(due), len(ids))
		}
		dues[s] = due
	}
	for s, due := range dues {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, cb := range due {
				_, err := s.ClaimCallback(e.ctx, cb.ID)
				mu.Lock()
				switch {
				case err == nil && claims[cb.ID] != "":
					e.Errorf("callback %s claimed by %s and by %s", cb.ID, claims[cb.ID], s.Node())
				case err == nil:
					claims[cb.ID] = s.Node()
				case !errors.Is(err, ErrClaimed):
					e.Errorf("%s claiming %s: %v, want ErrClaimed when the other node has it", s.Node(), cb.ID, err)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(claims) != len(ids) {
		e.Fatalf("%d of %d callbacks claimed: %v", len(claims), len(ids), claims)
	}
	for _, s := range []*Store{a, b, e.s} {
		if due, _ := s.DueCallbacks(e.ctx, e.clk.Now(), 0); len(due) != 0 {
			e.Errorf("%s: %d due while every callback is claimed", s.Node(), len(due))
		}
	}
	// Node a renews; node b stops (it died). After b's lease, a takes b's callbacks over.
	e.clk.Advance(20 * time.Second)
	held := func(s *Store) []string { ids, err := s.CallbackClaims(e.ctx); e.must(err); return ids }
	if n, err := a.RenewCallbackClaims(e.ctx); err != nil || n != len(held(a)) {
		e.Errorf("node a renewed %d claims (%v), want its %d", n, err, len(held(a)))
	}
	e.clk.Advance(15 * time.Second)
	due, err := a.DueCallbacks(e.ctx, e.clk.Now(), 0)
	e.must(err)
	bHad := held(b)
	if len(due) != len(bHad) {
		e.Fatalf("after node b's lease: %d due, want node b's %d (node a renewed its own)", len(due), len(bHad))
	}
	for _, cb := range due {
		got, err := a.ClaimCallback(e.ctx, cb.ID)
		e.must(err)
		if got.QueuedBy != "node-a" || !got.QueuedUntil.Equal(e.clk.Now().Add(DefaultQueueLease)) {
			e.Errorf("taken over: queued by %q until %v", got.QueuedBy, got.QueuedUntil)
		}
		i := slices.Index(ids, cb.ID)
		if !got.ArrivedAt.Equal(arrived.Add(time.Duration(i)*time.Second)) || got.Priority != i {
			e.Errorf("taken over: arrived %v priority %d, want its place kept (%v, %d)", got.ArrivedAt, got.Priority, arrived.Add(time.Duration(i)*time.Second), i)
		}
	}
	if n, _ := b.RenewCallbackClaims(e.ctx); n != 0 || len(held(b)) != 0 {
		e.Errorf("node b, back, renewed %d claims and holds %v; want none (node a has them)", n, held(b))
	}
	if len(held(a)) != len(ids) {
		e.Fatalf("node a holds %v, want all %d", held(a), len(ids))
	}
	// A caller waiting on node b presses 1: node b holds the callback now.
	if _, err := b.HoldCallback(e.ctx, ids[0]); err != nil {
		e.Fatal(err)
	}
	if slices.Contains(held(a), ids[0]) || !slices.Contains(held(b), ids[0]) {
		e.Errorf("after node b held %s: a %v, b %v", ids[0], held(a), held(b))
	}
	// An attempt recorded, a cancel, a release: the claim goes.
	_, err = a.StartCallback(e.ctx, ids[1])
	e.must(err)
	_, err = a.RecordCallbackAttempt(e.ctx, ids[1], CallbackAttempt{Outcome: OutcomeCallbackNoAnswer})
	e.must(err)
	e.must(a.CancelCallback(e.ctx, ids[2], "test"))
	e.must(b.ReleaseCallback(e.ctx, ids[3])) // not b's: a keeps it
	if got := held(a); len(got) != 1 || got[0] != ids[3] {
		e.Errorf("node a holds %v, want %s only", got, ids[3])
	}
	e.must(a.ReleaseCallback(e.ctx, ids[3]))
	if cb, _ := e.s.Callback(e.ctx, ids[3]); cb.QueuedBy != "" || !cb.QueuedUntil.IsZero() {
		e.Errorf("released: queued by %q until %v", cb.QueuedBy, cb.QueuedUntil)
	}
	if due, _ := a.DueCallbacks(e.ctx, e.clk.Now(), 0); len(due) != 1 || due[0].ID != ids[3] {
		e.Errorf("due after the release: %v, want %s", due, ids[3])
	}
	if n, err := b.ReleaseCallbackClaims(e.ctx); err != nil || n != 1 || len(held(b)) != 0 {
		e.Errorf("node b released %d claims (%v), want its 1", n, err)
	}
}

// A claim is only for a due callback: one not due yet, or being dialled by a live node,
// cannot be claimed.
func testCallbackClaimNotDue(e *env) {
	a, b := e.open(WithNode("node-a"), WithQueueLease(time.Minute)), e.open(WithNode("node-b"))
	later, err := e.s.RequestCallback(e.ctx, CallbackRequest{Number: "+8613800000001", Queue: "support", Slot: monday10.Add(time.Hour)})
	e.must(err)
	if _, err := a.ClaimCallback(e.ctx, later.ID); !errors.Is(err, ErrNotPending) {
		e.Errorf("claiming a callback due in an hour: %v, want ErrNotPending", err)
	}
	now, err := e.s.RequestCallback(e.ctx, CallbackRequest{Number: "+8613800000002", Queue: "support"})
	e.must(err)
	got, err := a.ClaimCallback(e.ctx, now.ID)
	e.must(err)
	if !got.QueuedUntil.Equal(monday10.Add(time.Minute)) {
		e.Errorf("claimed until %v, want the store's lease of a minute", got.QueuedUntil)
	}
	_, err = a.StartCallback(e.ctx, now.ID)
	e.must(err)
	e.clk.Advance(2 * time.Minute) // a's claim ran out, its dialing lease has not
	if _, err := b.ClaimCallback(e.ctx, now.ID); !errors.Is(err, ErrClaimed) {
		e.Errorf("claiming a callback another node is dialling: %v, want ErrClaimed", err)
	}
	if _, err := b.HoldCallback(e.ctx, now.ID); !errors.Is(err, ErrClaimed) {
		e.Errorf("holding a callback another node is dialling: %v, want ErrClaimed", err)
	}
}
