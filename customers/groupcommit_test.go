package customers

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// holdWriters stalls the group commit's writers, each on a write of its own, until the
// returned function is called, so the writes queued meanwhile make up the next batches.
//
// The holding writes are queued one at a time, each once the one before runs: queued
// together, one writer could gather several into its batch and run them in turn, and the
// first would hold it for good with the others never taken (the test hung so on
// PostgreSQL, which has four writers). The release is also a cleanup, so a test that fails
// while the writers are held still lets the store close.
func (e *env) holdWriters() (release func()) {
	e.Helper()
	held := make(chan struct{})
	var done sync.WaitGroup
	var once sync.Once
	release = func() {
		once.Do(func() {
			close(held)
			done.Wait()
		})
	}
	e.Cleanup(release)
	for range e.s.commits.writers {
		taken := make(chan struct{})
		done.Go(func() {
			err := e.s.commits.do(e.ctx, false, func(context.Context, run) error {
				close(taken)
				<-held
				return nil
			})
			if err != nil {
				e.Errorf("a holding write: %v", err)
			}
		})
		select {
		case <-taken:
		case <-time.After(10 * time.Second):
			e.Fatalf("a group-commit writer did not take its holding write within 10 s")
		}
	}
	return release
}

// waitQueued waits until n writes wait behind the held writers.
func (e *env) waitQueued(n int) {
	e.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for len(e.s.commits.ops) < n {
		if time.Now().After(deadline) {
			e.Fatalf("%d writes queued, want %d", len(e.s.commits.ops), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// testGroupCommit: calls arriving and ending together are committed in one transaction, and
// each learns how its own write went: a failing write (a contact that does not exist, a
// duplicate contact whose new customer must vanish with it) is rolled back alone, the others
// are committed and readable as their calls return.
func testGroupCommit(e *env) {
	open, err := e.s.AddContact(e.ctx, Contact{Address: "+8613800138000", CallID: "call-open"})
	e.must(err)
	release := e.holdWriters()
	const n = 40
	var wg sync.WaitGroup
	ids := make([]string, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			var c Contact
			c, _, errs[i] = e.s.OpenContact(e.ctx, Contact{Address: fmt.Sprintf("+86139%08d", i), CallID: fmt.Sprintf("call-%d", i)})
			ids[i] = c.ID
		})
	}
	var missing, duplicate, ended error
	wg.Go(func() {
		missing = e.s.ApplyContactUpdate(e.ctx, "no-such-contact", ContactUpdate{Outcome: ptr(OutcomeAnswered)})
	})
	wg.Go(func() {
		_, _, duplicate = e.s.OpenContact(e.ctx, Contact{ID: open.ID, Address: "+8613700137000"})
	})
	wg.Go(func() {
		ended = e.s.ApplyContactUpdate(e.ctx, open.ID, ContactUpdate{EndedAt: ptr(e.clk.Now()), Outcome: ptr(OutcomeAbandoned)})
	})
	e.waitQueued(n + 3)
	release()
	wg.Wait()

	if !errors.Is(missing, ErrNotFound) {
		e.Errorf("updating a missing contact in a batch: %v, want ErrNotFound", missing)
	}
	if !isUnique(duplicate) {
		e.Errorf("a duplicate contact ID in a batch: %v, want a unique violation", duplicate)
	}
	if c, _ := e.s.ByNumber(e.ctx, "+8613700137000"); c != nil {
		e.Errorf("the failed write's new customer %s was committed", c.ID)
	}
	e.must(ended)
	if got, err := e.s.Contact(e.ctx, open.ID); err != nil || got.Outcome != OutcomeAbandoned {
		e.Errorf("the ended contact: %+v, %v", got, err)
	}
	if got := e.outbox(); len(got) != 1 || got[0] != EventContactMissed {
		e.Errorf("outbox %v, want the one contact.missed committed with its outcome", got)
	}
	for i := range n {
		if errs[i] != nil {
			e.Errorf("contact %d: %v (one failing write sank it)", i, errs[i])
			continue
		}
		if c, err := e.s.Contact(e.ctx, ids[i]); err != nil || c.CallID != fmt.Sprintf("call-%d", i) {
			e.Errorf("contact %d not readable after its call returned: %+v, %v", i, c, err)
		}
	}
}

// testGroupCommitClose: Close commits what was queued before it; later writes are refused.
func testGroupCommitClose(e *env) {
	release := e.holdWriters()
	const n = 10
	var wg sync.WaitGroup
	var failed atomic.Int32
	for i := range n {
		wg.Go(func() {
			if _, _, err := e.s.OpenContact(e.ctx, Contact{Address: fmt.Sprintf("+86139%08d", i)}); err != nil {
				failed.Add(1)
				e.Errorf("a write queued before Close: %v", err)
			}
		})
	}
	e.waitQueued(n)
	closed := make(chan error, 1)
	go func() { closed <- e.s.Close() }()
	for closing := false; !closing; time.Sleep(time.Millisecond) {
		e.s.commits.mu.RLock()
		closing = e.s.commits.closed
		e.s.commits.mu.RUnlock()
	}
	release()
	e.must(<-closed)
	wg.Wait()
	if _, _, err := e.s.OpenContact(e.ctx, Contact{Address: "+8613800138000"}); !errors.Is(err, ErrClosed) {
		e.Errorf("a write after Close: %v, want ErrClosed", err)
	}
	s := e.open()
	list, _, err := s.ListContacts(e.ctx, ContactFilter{}, Page{})
	e.must(err)
	if len(list) != n {
		e.Errorf("%d contacts after Close, want the %d queued before it", len(list), n)
	}
}

// testRecoverContacts: calls a crash left open are closed at the last time known of them,
// outcome interrupted (or the outcome they had), and are on the customer's timeline so; on
// PostgreSQL another node's calls stay open, on SQLite (one node per file) none is left.
func testRecoverContacts(e *env) {
	start := e.clk.Now()
	held, err := e.s.AddContact(e.ctx, Contact{Address: "+8613800138000", Events: []Event{
		{At: start.Add(2 * time.Second), Node: "welcome", Step: "play", DurationMS: 3000}}})
	e.must(err)
	bare, err := e.s.AddContact(e.ctx, Contact{Address: "+8613900139000"})
	e.must(err)
	vm, err := e.s.AddContact(e.ctx, Contact{Address: "+8613700137000", Outcome: OutcomeVoicemail})
	e.must(err)
	done, err := e.s.AddContact(e.ctx, Contact{Address: "+8613600136000", EndedAt: start.Add(time.Minute), Outcome: OutcomeAnswered})
	e.must(err)
	chat, err := e.s.AddContact(e.ctx, Contact{Address: "+8613500135000", Channel: ChannelChat})
	e.must(err)
	other := e.open(WithNode("node-b"))
	live, err := other.AddContact(e.ctx, Contact{Address: "+8613400134000"})
	e.must(err)

	e.clk.Advance(time.Hour) // the restart: ended_at is what the record knew, not now
	n, err := e.s.RecoverContacts(e.ctx)
	e.must(err)
	want := map[string]struct {
		out Outcome
		end time.Time
	}{
		held.ID: {OutcomeInterrupted, start.Add(5 * time.Second)}, bare.ID: {OutcomeInterrupted, start},
		vm.ID: {OutcomeVoicemail, start}, done.ID: {OutcomeAnswered, start.Add(time.Minute)},
		chat.ID: {"", time.Time{}}, live.ID: {OutcomeInterrupted, start},
	}
	if e.s.d == postgres {
		want[live.ID] = struct {
			out Outcome
			end time.Time
		}{"", time.Time{}}
	}
	closed := 0
	for id, w := range want {
		c, err := e.s.Contact(e.ctx, id)
		e.must(err)
		if c.Outcome != w.out || !c.EndedAt.Equal(w.end) {
			e.Errorf("contact %s (%s): outcome %q ended %v, want %q %v", id, c.Address, c.Outcome, c.EndedAt, w.out, w.end)
		}
		if !w.end.IsZero() && id != done.ID {
			closed++
		}
	}
	if n != closed {
		e.Errorf("RecoverContacts closed %d, want %d", n, closed)
	}
	tl, err := e.s.Timeline(e.ctx, held.CustomerID)
	e.must(err)
	if len(tl) != 1 || tl[0].Contact == nil || tl[0].Contact.Outcome != OutcomeInterrupted {
		e.Errorf("the caller's timeline %+v, want the one interrupted call", tl)
	}
	if n, err := e.s.RecoverContacts(e.ctx); err != nil || n != 0 {
		e.Errorf("a second recovery closed %d (%v), want 0", n, err)
	}
}
