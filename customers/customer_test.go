package customers

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

func testMigrations(e *env) {
	var n int
	e.must(e.s.r().row(e.ctx, "SELECT COUNT(*) FROM schema_migrations").Scan(&n))
	if n == 0 {
		e.Fatal("no migration recorded in schema_migrations")
	}
	// A second node (or a restart) finds the schema in place and applies nothing twice.
	s2 := e.open()
	var n2 int
	e.must(s2.r().row(e.ctx, "SELECT COUNT(*) FROM schema_migrations").Scan(&n2))
	if n2 != n {
		e.Errorf("reopening changed schema_migrations from %d to %d rows", n, n2)
	}
	if s2.Dialect() != dialectName(e.dsn) {
		e.Errorf("dialect %s, want %s", s2.Dialect(), dialectName(e.dsn))
	}
}

func testCallerIdentities(e *env) {
	first, err := e.s.FindOrCreateByNumber(e.ctx, "13800138000")
	e.must(err)
	if first.Number() != "+8613800138000" || first.Anonymous {
		e.Fatalf("first call: number %q anonymous %v, want +8613800138000 and known", first.Number(), first.Anonymous)
	}
	// The same person however the number is signalled or typed.
	for _, raw := range []string{"+8613800138000", "+86 138 0013 8000", "sip:+8613800138000@trunk.example;user=phone",
		`"Wang" <sip:013800138000@10.0.0.1>`, "tel:+86-138-0013-8000", "008613800138000", "sip:%2B8613800138000@x"} {
		c, err := e.s.FindOrCreateByNumber(e.ctx, raw)
		e.must(err)
		if c.ID != first.ID {
			e.Errorf("%q gave customer %s, want %s (the same number)", raw, c.ID, first.ID)
		}
	}
	found, err := e.s.ByNumber(e.ctx, "138 0013 8000")
	e.must(err)
	if found == nil || found.ID != first.ID {
		e.Errorf("ByNumber found %v, want %s", found, first.ID)
	}
	if c, _ := e.s.ByNumber(e.ctx, "+8613900099999"); c != nil {
		e.Errorf("an unknown number found customer %s", c.ID)
	}
	// A SIP user that is no phone number is an identity of its own kind.
	alice, err := e.s.FindOrCreateByNumber(e.ctx, "sip:Alice@pbx.example")
	e.must(err)
	again, _ := e.s.FindOrCreateByNumber(e.ctx, "alice")
	if len(alice.Identities) != 1 || alice.Identities[0] != (Identity{KindSIP, "alice"}) || again.ID != alice.ID {
		e.Errorf("sip caller: %+v then %s", alice.Identities, again.ID)
	}
}

func testWithheld(e *env) {
	known, err := e.s.FindOrCreateByNumber(e.ctx, "+8613800138000")
	e.must(err)
	seen := map[string]bool{known.ID: true}
	for _, raw := range []string{"anonymous", "", "Anonymous", `"Anonymous" <sip:anonymous@anonymous.invalid>`, "restricted", "anonymous"} {
		c, err := e.s.FindOrCreateByNumber(e.ctx, raw)
		e.must(err)
		if !c.Anonymous || len(c.Identities) != 0 {
			e.Errorf("%q: anonymous=%v identities=%v, want an anonymous record with none", raw, c.Anonymous, c.Identities)
		}
		if seen[c.ID] {
			e.Errorf("withheld caller %q was linked to an existing record %s", raw, c.ID)
		}
		seen[c.ID] = true
	}
	if c, err := e.s.ByNumber(e.ctx, "anonymous"); c != nil || err != nil {
		e.Errorf("ByNumber(anonymous) = %v, %v; want nobody", c, err)
	}
	// The withheld call is still recorded, on its own record.
	ct, err := e.s.AddContact(e.ctx, Contact{Address: "anonymous", Queue: "support"})
	e.must(err)
	c, _ := e.s.Customer(e.ctx, ct.CustomerID)
	if !c.Anonymous || seen[c.ID] {
		e.Errorf("withheld contact landed on %s (anonymous %v)", c.ID, c.Anonymous)
	}
}

func testLinkAccount(e *env) {
	c, err := e.s.FindOrCreateByNumber(e.ctx, "+8613800138000")
	e.must(err)
	e.must(e.s.LinkAccount(e.ctx, c.ID, " 12-34 56 "))
	e.must(e.s.LinkAccount(e.ctx, c.ID, "123456")) // again: nothing to do
	got, err := e.s.ByAccount(e.ctx, "123456")
	e.must(err)
	if got == nil || got.ID != c.ID || got.Account() != "123456" {
		e.Fatalf("ByAccount = %+v, want customer %s with account 123456", got, c.ID)
	}
	other, _ := e.s.FindOrCreateByNumber(e.ctx, "+8613900012345")
	err = e.s.LinkAccount(e.ctx, other.ID, "123456")
	var taken *IdentityTakenError
	if !errors.As(err, &taken) || taken.Owner != c.ID {
		e.Fatalf("linking someone else's account: %v, want IdentityTakenError owned by %s", err, c.ID)
	}
	if got, _ := e.s.ByAccount(e.ctx, "123456"); got.ID != c.ID {
		e.Error("a refused link moved the account")
	}
	if err := e.s.LinkAccount(e.ctx, c.ID, "12#4"); !errors.Is(err, ErrInvalidIdentity) {
		e.Errorf("account 12#4: %v, want ErrInvalidIdentity", err)
	}
	// A withheld caller who enters a free account becomes identifiable.
	anon, _ := e.s.FindOrCreateByNumber(e.ctx, "anonymous")
	e.must(e.s.LinkAccount(e.ctx, anon.ID, "777"))
	anon, _ = e.s.Customer(e.ctx, anon.ID)
	if anon.Anonymous || anon.Account() != "777" {
		e.Errorf("after entering an account: anonymous=%v account=%q", anon.Anonymous, anon.Account())
	}
	e.must(e.s.Link(e.ctx, c.ID, Identity{KindEmail, " Wang@Example.COM "}))
	if got, _ := e.s.ByEmail(e.ctx, "wang@example.com"); got == nil || got.ID != c.ID {
		e.Error("ByEmail did not find the linked address")
	}
	e.must(e.s.Unlink(e.ctx, c.ID, Identity{KindEmail, "wang@example.com"}))
	if got, _ := e.s.ByEmail(e.ctx, "wang@example.com"); got != nil {
		e.Error("an unlinked address still finds the customer")
	}
}

func testMerge(e *env) {
	a, _ := e.s.FindOrCreateByNumber(e.ctx, "+8613800138000")
	a, _ = e.s.UpdateCustomer(e.ctx, a.ID, CustomerUpdate{Name: ptr("Wang Fang")})
	b, _ := e.s.FindOrCreateByNumber(e.ctx, "+8613900012345")
	b, _ = e.s.UpdateCustomer(e.ctx, b.ID, CustomerUpdate{Language: ptr("zh"), VIP: ptr(true)})
	e.must(e.s.LinkAccount(e.ctx, b.ID, "900"))
	ca, _ := e.s.AddContact(e.ctx, Contact{CustomerID: a.ID, Queue: "support", Outcome: OutcomeAnswered})
	e.clk.Advance(time.Minute)
	cb, _ := e.s.AddContact(e.ctx, Contact{CustomerID: b.ID, Queue: "support", Outcome: OutcomeAbandoned})
	tk, err := e.s.CreateTicket(e.ctx, NewTicket{CustomerID: b.ID, Subject: "printer"})
	e.must(err)
	// Both wait for a callback from support; b arrived first.
	cbA, err := e.s.RequestCallback(e.ctx, CallbackRequest{CustomerID: a.ID, Number: "+8613800138000", Queue: "support", ArrivedAt: monday10.Add(-2 * time.Minute), Priority: 5})
	e.must(err)
	cbB, err := e.s.RequestCallback(e.ctx, CallbackRequest{CustomerID: b.ID, Number: "+8613900012345", Queue: "support", ArrivedAt: monday10.Add(-5 * time.Minute)})
	e.must(err)

	m, err := e.s.Merge(e.ctx, a.ID, b.ID)
	e.must(err)
	if m.ID != a.ID || m.Name != "Wang Fang" || m.Language != "zh" || !m.VIP {
		e.Errorf("merged details: %+v; want a's name with b's language and VIP", m)
	}
	if len(m.MergedFrom) != 1 || m.MergedFrom[0] != b.ID {
		e.Errorf("MergedFrom = %v, want [%s]", m.MergedFrom, b.ID)
	}
	for _, find := range []func() (*Customer, error){
		func() (*Customer, error) { return e.s.ByNumber(e.ctx, "+8613900012345") },
		func() (*Customer, error) { return e.s.ByAccount(e.ctx, "900") },
	} {
		if c, err := find(); err != nil || c == nil || c.ID != a.ID {
			e.Errorf("b's identities after the merge find %v (%v), want %s", c, err, a.ID)
		}
	}
	if c, err := e.s.Customer(e.ctx, b.ID); err != nil || c.ID != a.ID {
		e.Errorf("b's old ID gives %s (%v), want %s", c.ID, err, a.ID)
	}
	// Both timelines are kept, in order.
	tl, err := e.s.Timeline(e.ctx, b.ID)
	e.must(err)
	var ids []string
	for _, en := range tl {
		ids = append(ids, en.ID)
	}
	for _, want := range []string{ca.ID, cb.ID, tk.ID, cbA.ID, cbB.ID} {
		found := false
		for _, id := range ids {
			found = found || id == want
		}
		if !found {
			e.Errorf("merged timeline lacks %s: %v", want, ids)
		}
	}
	// One callback is left waiting: the earlier arrival, with the higher priority.
	live, _, err := e.s.ListCallbacks(e.ctx, CallbackFilter{CustomerID: a.ID, Statuses: []CallbackStatus{CallbackPending}}, Page{})
	e.must(err)
	if len(live) != 1 || live[0].ID != cbB.ID || live[0].Priority != 5 || !live[0].ArrivedAt.Equal(monday10.Add(-5*time.Minute)) {
		e.Errorf("live callbacks after merge: %+v; want only b's (arrived first) with priority 5", live)
	}
	if got, _ := e.s.Callback(e.ctx, cbA.ID); got.Status != CallbackCancelled || got.LastResult != "merged" {
		e.Errorf("a's callback: %s/%s, want cancelled/merged", got.Status, got.LastResult)
	}
	// A third record merged into the survivor flattens the chain; merging into itself is refused.
	c3, _ := e.s.FindOrCreateByNumber(e.ctx, "+8613700000001")
	if _, err := e.s.Merge(e.ctx, b.ID, c3.ID); err != nil {
		e.Errorf("merging into a merged ID (follows to %s): %v", a.ID, err)
	}
	if _, err := e.s.Merge(e.ctx, a.ID, b.ID); !errors.Is(err, ErrInvalid) {
		e.Errorf("merging a record into itself: %v, want ErrInvalid", err)
	}
}

func testTimeline(e *env) {
	c, _ := e.s.FindOrCreateByNumber(e.ctx, "+8613800138000")
	abandoned, _ := e.s.AddContact(e.ctx, Contact{CustomerID: c.ID, Queue: "support", Outcome: OutcomeAbandoned})
	e.clk.Advance(time.Minute)
	call, _ := e.s.AddContact(e.ctx, Contact{CustomerID: c.ID, Queue: "support"})
	e.clk.Advance(time.Second)
	cb, err := e.s.RequestCallback(e.ctx, CallbackRequest{CustomerID: c.ID, Number: "+8613800138000", Queue: "support", ContactID: call.ID})
	e.must(err)
	_, err = e.s.UpdateContact(e.ctx, call.ID, ContactUpdate{Outcome: ptr(OutcomeCallbackRequested)})
	e.must(err)
	e.clk.Advance(time.Minute)
	_, err = e.s.StartCallback(e.ctx, cb.ID)
	e.must(err)
	_, err = e.s.RecordCallbackAttempt(e.ctx, cb.ID, CallbackAttempt{Outcome: OutcomeCallbackAnswered, Agent: "1001", Talk: 3 * time.Minute})
	e.must(err)
	tl, err := e.s.Timeline(e.ctx, c.ID)
	e.must(err)
	var got []string
	for _, en := range tl {
		s := string(en.Kind)
		if en.Contact != nil {
			s += ":" + string(en.Contact.Outcome)
		}
		if en.Callback != nil {
			s += ":" + string(en.Callback.Status)
		}
		got = append(got, s)
	}
	want := []string{"contact:abandoned", "contact:callback_requested", "callback:completed", "contact:callback_answered"}
	if len(got) != len(want) {
		e.Fatalf("timeline %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			e.Errorf("timeline %v, want %v", got, want)
			break
		}
	}
	if tl[0].ID != abandoned.ID || tl[3].Contact.Agent != "1001" || tl[3].Contact.Direction != Outbound || tl[3].Contact.CallbackID != cb.ID {
		e.Errorf("timeline entries: %+v", tl)
	}
}

func testSearchByName(e *env) {
	names := []string{"Wang Fang", "Wang Wei", "Li Na", "100% Wang_x"}
	ids := map[string]string{}
	for i, n := range names {
		c, err := e.s.FindOrCreateByNumber(e.ctx, fmt.Sprintf("+861380013800%d", i))
		e.must(err)
		_, err = e.s.UpdateCustomer(e.ctx, c.ID, CustomerUpdate{Name: ptr(n)})
		e.must(err)
		ids[n] = c.ID
		e.clk.Advance(time.Second)
	}
	var got []string
	page := Page{Limit: 1}
	for {
		list, next, err := e.s.SearchCustomers(e.ctx, "wAnG", page)
		e.must(err)
		for _, c := range list {
			got = append(got, c.Name)
		}
		if next == "" {
			break
		}
		page.Cursor = next
	}
	if strings.Join(got, "|") != "100% Wang_x|Wang Wei|Wang Fang" {
		e.Errorf("search wang, one a page: %q, want newest first across pages", got)
	}
	for q, want := range map[string]string{"%": "100% Wang_x", "g_x": "100% Wang_x", "li n": "Li Na"} {
		list, _, err := e.s.SearchCustomers(e.ctx, q, Page{})
		e.must(err)
		if len(list) != 1 || list[0].Name != want {
			e.Errorf("search %q: %v, want only %q (wildcards are literal)", q, list, want)
		}
	}
	e.must(e.s.Erase(e.ctx, ids["Li Na"]))
	if list, _, _ := e.s.SearchCustomers(e.ctx, "li", Page{}); len(list) != 0 {
		e.Errorf("an erased customer is still found: %v", list)
	}
	if _, _, err := e.s.SearchCustomers(e.ctx, "  ", Page{}); !errors.Is(err, ErrInvalid) {
		e.Errorf("empty search: %v, want ErrInvalid", err)
	}
}
