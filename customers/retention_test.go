package customers

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

func testRetention(e *env) {
	old, err := e.s.SaveVoicemail(e.ctx, Voicemail{Caller: "+8613800138000", Audio: bytes.NewReader(ulawWAV(3 * time.Second))})
	e.must(err)
	oldPath := filepath.Join(e.s.Recordings().Dir(), old.Recording.ID[0:4], old.Recording.ID[4:6], old.Recording.ID[6:8], old.Recording.ID+".wav")
	if _, err := os.Stat(oldPath); err != nil {
		e.Fatalf("voicemail file: %v", err)
	}
	e.clk.Advance(2 * 24 * time.Hour)
	recent, err := e.s.SaveVoicemail(e.ctx, Voicemail{Caller: "+8613800138000", Audio: bytes.NewReader(ulawWAV(time.Second))})
	e.must(err)
	d := NewDeliverer(e.s, newHookServer(e, "").URL, "", WithDeliveryClock(e.clk.Now))
	d.DeliverDue(e.ctx)

	// 91 days after the first message: it is past 90 days, the second is not.
	e.clk.Set(old.CreatedAt.Add(91 * 24 * time.Hour))
	got, err := e.s.ApplyRetention(e.ctx, e.clk.Now())
	e.must(err)
	if got.Recordings != 1 || got.Deliveries != 2 {
		e.Errorf("retention removed %+v, want 1 recording and the 2 delivered webhooks", got)
	}
	if _, err := os.Stat(oldPath); !errors.Is(err, fs.ErrNotExist) {
		e.Error("the old voicemail file is still there")
	}
	tk, err := e.s.Ticket(e.ctx, old.Number)
	e.must(err)
	// The ticket keeps that it had a recording, and what it was.
	if tk.Recording == nil || tk.Recording.DeletedAt.IsZero() || tk.Recording.DeletedWhy != "retention" || tk.Recording.Duration != 3*time.Second {
		e.Errorf("old ticket's recording: %+v", tk.Recording)
	}
	if _, err := e.s.Recordings().Open(old.Recording.ID); !errors.Is(err, fs.ErrNotExist) {
		e.Errorf("opening a deleted recording: %v", err)
	}
	if err := e.s.Recordings().Verify(recent.Recording.ID, recent.Recording.SHA256); err != nil {
		e.Errorf("the recent voicemail: %v", err)
	}
	again, err := e.s.ApplyRetention(e.ctx, e.clk.Now())
	e.must(err)
	if again != (Retention{}) {
		e.Errorf("a second run removed %+v", again)
	}
	// Forever (0) keeps everything.
	keep := e.open(WithRetention(0))
	e.clk.Advance(365 * 24 * time.Hour)
	if got, _ := keep.ApplyRetention(e.ctx, e.clk.Now()); got.Recordings != 0 {
		e.Errorf("retention 0 deleted %d recordings", got.Recordings)
	}
}

func testErase(e *env) {
	c, _ := e.s.FindOrCreateByNumber(e.ctx, "+8613800138000")
	c, _ = e.s.UpdateCustomer(e.ctx, c.ID, CustomerUpdate{Name: ptr("Wang Fang")})
	e.must(e.s.LinkAccount(e.ctx, c.ID, "4711"))
	call, _ := e.s.AddContact(e.ctx, Contact{CustomerID: c.ID, Address: "+8613800138000", Queue: "support",
		Events: []Event{{At: e.clk.Now(), Node: "account", Type: "digits", Data: map[string]any{"account": "4711"}}}})
	_, err := e.s.UpdateContact(e.ctx, call.ID, ContactUpdate{Outcome: ptr(OutcomeAbandoned)})
	e.must(err)
	vm, err := e.s.SaveVoicemail(e.ctx, Voicemail{CustomerID: c.ID, Caller: "+8613800138000", Queue: "support", Audio: bytes.NewReader(ulawWAV(2 * time.Second))})
	e.must(err)
	_, err = e.s.AddTicketNote(e.ctx, vm.Number, "1001", "lives at 12 Nanjing Road")
	e.must(err)
	cb, err := e.s.RequestCallback(e.ctx, CallbackRequest{CustomerID: c.ID, Number: "+8613800138000", Queue: "support"})
	e.must(err)
	other, _ := e.s.AddContact(e.ctx, Contact{Address: "+8613900012345", Queue: "support", Outcome: OutcomeAnswered})

	e.must(e.s.Erase(e.ctx, c.ID))
	e.must(e.s.Erase(e.ctx, c.ID)) // harmless twice

	got, err := e.s.Customer(e.ctx, c.ID)
	e.must(err)
	if got.ErasedAt.IsZero() || got.Name != "" || len(got.Identities) != 0 {
		e.Errorf("erased customer: %+v", got)
	}
	if f, _ := e.s.ByNumber(e.ctx, "+8613800138000"); f != nil {
		e.Error("the erased number still finds the customer")
	}
	if f, _ := e.s.ByAccount(e.ctx, "4711"); f != nil {
		e.Error("the erased account still finds the customer")
	}
	if _, err := e.s.Recordings().Open(vm.Recording.ID); !errors.Is(err, fs.ErrNotExist) {
		e.Errorf("the voicemail file survived the erasure: %v", err)
	}
	tk, _ := e.s.Ticket(e.ctx, vm.Number)
	if tk.Subject != "(erased)" || len(tk.Notes) != 0 || tk.Recording == nil || tk.Recording.DeletedWhy != "erased" {
		e.Errorf("erased ticket: %+v", tk)
	}
	if cbGot, _ := e.s.Callback(e.ctx, cb.ID); cbGot.Status != CallbackCancelled || cbGot.Number != "" {
		e.Errorf("erased callback: %+v", cbGot)
	}
	ct, _ := e.s.Contact(e.ctx, call.ID)
	if ct.Address != "" || len(ct.Events) != 0 || ct.Outcome != OutcomeAbandoned || ct.Queue != "support" {
		e.Errorf("erased contact: %+v; want no address or events, outcome and queue kept", ct)
	}
	// Anonymous counts remain: the queue still has its contacts.
	list, _, _ := e.s.ListContacts(e.ctx, ContactFilter{Queue: "support"}, Page{})
	if len(list) != 2 {
		e.Errorf("%d support contacts after the erasure, want 2", len(list))
	}
	if o, _ := e.s.Contact(e.ctx, other.ID); o.Address != "+8613900012345" {
		e.Error("another customer's contact was erased")
	}
	// The helpdesk is told to erase its copy; what it was not yet sent is withdrawn.
	if got := e.outbox(); len(got) != 2 || got[0] != EventCustomerErased || got[1] != EventCustomerErased {
		e.Errorf("outbox after erasure: %v, want only customer.erased", got)
	}
	// The next call from the number starts afresh.
	fresh, _ := e.s.FindOrCreateByNumber(e.ctx, "+8613800138000")
	if fresh.ID == c.ID || !fresh.ErasedAt.IsZero() {
		e.Errorf("the next call landed on the erased record")
	}
	if _, err := e.s.UpdateCustomer(e.ctx, c.ID, CustomerUpdate{Name: ptr("x")}); !errors.Is(err, ErrErased) {
		e.Errorf("updating an erased customer: %v", err)
	}
}
