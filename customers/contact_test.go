package customers

import (
	"errors"
	"time"
)

func testContacts(e *env) {
	start := e.clk.Now()
	c, err := e.s.AddContact(e.ctx, Contact{Address: "+8613800138000", Dialed: "400-800-1234", CallID: "call-1", Flow: "hotline",
		Events: []Event{{At: start, Node: "welcome", Step: "play", Exit: "next", DurationMS: 3200}}})
	e.must(err)
	if c.Channel != ChannelVoice || c.Direction != Inbound || !c.StartedAt.Equal(start) || c.Outcome != "" {
		e.Errorf("new contact: %+v", c)
	}
	cust, _ := e.s.ByNumber(e.ctx, "+8613800138000")
	if cust == nil || cust.ID != c.CustomerID {
		e.Fatalf("the contact's customer %s is not the number's owner %v", c.CustomerID, cust)
	}
	e.must(e.s.AppendContactEvents(e.ctx, c.ID,
		Event{At: start.Add(3 * time.Second), Node: "menu", Step: "menu", Exit: "1"},
		Event{At: start.Add(5 * time.Second), Node: "menu", Type: "retry"},
		Event{At: start.Add(6 * time.Second), Node: "queue", Step: "queue", Exit: "answered", Type: "offer", Data: map[string]any{"agent": "1001"}}))
	queued, answered, ended := start.Add(6*time.Second), start.Add(40*time.Second), start.Add(4*time.Minute)
	c, err = e.s.UpdateContact(e.ctx, c.ID, ContactUpdate{Queue: ptr("support"), Agent: ptr("1001"), QueuedAt: &queued,
		AnsweredAt: &answered, EndedAt: &ended, Wait: ptr(34 * time.Second), Talk: ptr(200 * time.Second), Outcome: ptr(OutcomeAnswered)})
	e.must(err)
	got, err := e.s.Contact(e.ctx, c.ID)
	e.must(err)
	if got.Queue != "support" || got.Agent != "1001" || got.Outcome != OutcomeAnswered || got.Wait != 34*time.Second ||
		got.Talk != 200*time.Second || !got.AnsweredAt.Equal(answered) || !got.EndedAt.Equal(ended) || !got.QueuedAt.Equal(queued) {
		e.Errorf("stored contact: %+v", got)
	}
	if p := got.Path(); len(p) != 3 || p[0] != "welcome" || p[1] != "menu" || p[2] != "queue" {
		e.Errorf("flow path %v, want [welcome menu queue]", p)
	}
	if len(got.Events) != 4 || got.Events[3].Data["agent"] != "1001" || got.Events[0].DurationMS != 3200 {
		e.Errorf("events: %+v", got.Events)
	}
	byCall, err := e.s.ContactByCallID(e.ctx, "call-1")
	if err != nil || byCall.ID != c.ID {
		e.Errorf("ContactByCallID: %v %v", byCall.ID, err)
	}
	if _, err := e.s.UpdateContact(e.ctx, c.ID, ContactUpdate{Outcome: ptr(Outcome("hung_up"))}); !errors.Is(err, ErrInvalid) {
		e.Errorf("an unknown outcome: %v, want ErrInvalid", err)
	}
	if _, err := e.s.UpdateContact(e.ctx, "no-such-contact", ContactUpdate{}); !errors.Is(err, ErrNotFound) {
		e.Errorf("updating a missing contact: %v, want ErrNotFound", err)
	}
	// Another channel adds to the same customer through the API.
	mail, err := e.s.AddContact(e.ctx, Contact{CustomerID: cust.ID, Channel: ChannelEmail, Address: "wang@example.com", Outcome: OutcomeAnswered})
	e.must(err)
	if mail.CustomerID != cust.ID || mail.Channel != ChannelEmail {
		e.Errorf("e-mail contact: %+v", mail)
	}
	if _, err := e.s.AddContact(e.ctx, Contact{CustomerID: cust.ID, Channel: "fax"}); !errors.Is(err, ErrInvalid) {
		e.Errorf("channel fax: %v, want ErrInvalid", err)
	}
	// Attributing a contact to the customer who entered their account.
	other, _ := e.s.FindOrCreateByNumber(e.ctx, "+8613900012345")
	moved, err := e.s.UpdateContact(e.ctx, mail.ID, ContactUpdate{CustomerID: &other.ID})
	e.must(err)
	if moved.CustomerID != other.ID {
		e.Errorf("contact still on %s", moved.CustomerID)
	}
}

func testMissedWebhook(e *env) {
	c, err := e.s.AddContact(e.ctx, Contact{Address: "+8613800138000", Queue: "support"})
	e.must(err)
	if got := e.outbox(); len(got) != 0 {
		e.Fatalf("outbox before the outcome: %v", got)
	}
	_, err = e.s.UpdateContact(e.ctx, c.ID, ContactUpdate{Outcome: ptr(OutcomeAbandoned), Wait: ptr(40 * time.Second)})
	e.must(err)
	_, err = e.s.UpdateContact(e.ctx, c.ID, ContactUpdate{Outcome: ptr(OutcomeTimeout)}) // still missed: no second event
	e.must(err)
	e.must(e.s.AppendContactEvents(e.ctx, c.ID, Event{At: e.clk.Now(), Type: "note"}))
	short, _ := e.s.AddContact(e.ctx, Contact{Address: "+8613800138000", Queue: "support"})
	_, err = e.s.UpdateContact(e.ctx, short.ID, ContactUpdate{Outcome: ptr(OutcomeShortAbandoned)})
	e.must(err)
	_, err = e.s.AddContact(e.ctx, Contact{Address: "+8613900012345", Outcome: OutcomeAfterHours})
	e.must(err)
	if got := e.outbox(); len(got) != 2 || got[0] != EventContactMissed || got[1] != EventContactMissed {
		e.Errorf("outbox %v, want two contact.missed (abandoned, after hours; not the short abandon)", got)
	}
	var payload string
	e.must(e.s.r().row(e.ctx, "SELECT payload FROM outbox ORDER BY created_at, id LIMIT 1").Scan(&payload))
	w, err := ParseWebhook([]byte(payload))
	e.must(err)
	if w.Contact == nil || w.Contact.ID != c.ID || w.Contact.Outcome != OutcomeAbandoned || w.Contact.WaitMS != 40000 ||
		w.Customer == nil || len(w.Customer.Numbers) != 1 || w.Customer.Numbers[0] != "+8613800138000" {
		e.Errorf("contact.missed payload: %s", payload)
	}
	// Without webhook events configured, nothing is queued.
	quiet := e.open(WithWebhookEvents(false))
	_, err = quiet.AddContact(e.ctx, Contact{Address: "+8613800138000", Outcome: OutcomeNoAgent})
	e.must(err)
	if got := e.outbox(); len(got) != 2 {
		e.Errorf("a store without webhooks queued %v", got)
	}
}

func testListContacts(e *env) {
	var all []Contact
	for i := 0; i < 9; i++ {
		q := "support"
		if i%3 == 0 {
			q = "sales"
		}
		outcome := OutcomeAnswered
		if i%2 == 0 {
			outcome = OutcomeAbandoned
		}
		c, err := e.s.AddContact(e.ctx, Contact{Address: "+8613800138000", Queue: q, Outcome: outcome})
		e.must(err)
		all = append(all, c)
		if i != 4 { // two contacts share a start time: pages must still neither skip nor repeat
			e.clk.Advance(time.Minute)
		}
	}
	var got []Contact
	p := Page{Limit: 2}
	for pages := 0; ; pages++ {
		list, next, err := e.s.ListContacts(e.ctx, ContactFilter{Queue: "support"}, p)
		e.must(err)
		got = append(got, list...)
		if next == "" {
			break
		}
		if pages > 10 {
			e.Fatal("pagination does not end")
		}
		p.Cursor = next
	}
	var want []string
	for i := len(all) - 1; i >= 0; i-- {
		if all[i].Queue == "support" {
			want = append(want, all[i].ID)
		}
	}
	if len(got) != len(want) {
		e.Fatalf("paged through %d support contacts, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i].ID != want[i] {
			e.Errorf("page order: item %d is %s, want %s (newest first)", i, got[i].ID, want[i])
		}
	}
	// A time range and an outcome: [3rd, 7th) start times, abandoned only.
	list, _, err := e.s.ListContacts(e.ctx, ContactFilter{From: all[2].StartedAt, To: all[7].StartedAt, Outcomes: []Outcome{OutcomeAbandoned}}, Page{})
	e.must(err)
	for _, c := range list {
		if c.StartedAt.Before(all[2].StartedAt) || !c.StartedAt.Before(all[7].StartedAt) || c.Outcome != OutcomeAbandoned {
			e.Errorf("contact %+v is outside the filter", c)
		}
	}
	if len(list) != 3 { // 2, 4, 6
		e.Errorf("%d abandoned contacts in the range, want 3", len(list))
	}
	if _, _, err := e.s.ListContacts(e.ctx, ContactFilter{}, Page{Cursor: "bm90LWEtY3Vyc29y"}); !errors.Is(err, ErrBadCursor) {
		e.Errorf("a forged cursor: %v, want ErrBadCursor", err)
	}
}
