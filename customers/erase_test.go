package customers

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hotline-cc/hotline/prompts"
)

// A merge is on the survivor's timeline, saying from which record and what moved; the record
// merged away answers with where it went.
func testMergeRecorded(e *env) {
	a, _ := e.s.FindOrCreateByNumber(e.ctx, "+8613800138000")
	b, _ := e.s.FindOrCreateByNumber(e.ctx, "+8613900012345")
	b, _ = e.s.UpdateCustomer(e.ctx, b.ID, CustomerUpdate{Name: ptr("Wang F.")})
	e.must(e.s.Link(e.ctx, b.ID, Identity{KindEmail, "wang@example.com"}))
	_, err := e.s.AddContact(e.ctx, Contact{CustomerID: b.ID, Queue: "support", Outcome: OutcomeAnswered})
	e.must(err)
	_, err = e.s.CreateTicket(e.ctx, NewTicket{CustomerID: b.ID, Subject: "printer"})
	e.must(err)
	e.clk.Advance(time.Minute)
	m, rec, err := e.s.MergeBy(e.ctx, a.ID, b.ID, "tok-sup")
	e.must(err)
	if m.ID != a.ID || rec.SurvivorID != a.ID || rec.MergedID != b.ID || rec.Actor != "tok-sup" || rec.Name != "Wang F." {
		e.Fatalf("merge record %+v", rec)
	}
	if rec.Moved["contacts"] != 1 || rec.Moved["tickets"] != 1 || rec.Moved["identities"] != 2 {
		e.Errorf("moved %v, want 1 contact, 1 ticket, 2 identities", rec.Moved)
	}
	if ids := rec.MovedIDs["tickets"]; len(ids) != 1 || len(rec.MovedIDs["contacts"]) != 1 {
		e.Errorf("moved IDs %v, want the contact's and the ticket's", rec.MovedIDs)
	}
	if len(rec.Identities) != 2 {
		e.Errorf("the record lists the identities that moved: %v", rec.Identities)
	}
	tl, err := e.s.Timeline(e.ctx, a.ID)
	e.must(err)
	last := tl[len(tl)-1]
	if last.Kind != EntryMerge || last.Merge == nil || last.Merge.MergedID != b.ID || !last.At.Equal(e.clk.Now()) {
		e.Fatalf("the timeline's last entry is %+v, want the merge of %s", last, b.ID)
	}
	if got := last.Merge.MovedIDs["contacts"]; len(got) != 1 || got[0] != rec.MovedIDs["contacts"][0] {
		e.Errorf("the stored merge lists moved contacts %v, want %v", got, rec.MovedIDs["contacts"])
	}
	if to, err := e.s.MergedInto(e.ctx, b.ID); err != nil || to != a.ID {
		e.Errorf("MergedInto(b) = %q, %v; want %s", to, err, a.ID)
	}
	if to, err := e.s.MergedInto(e.ctx, a.ID); err != nil || to != "" {
		e.Errorf("MergedInto(survivor) = %q, %v; want \"\"", to, err)
	}
	if _, err := e.s.MergedInto(e.ctx, "nobody"); !errors.Is(err, ErrNotFound) {
		e.Errorf("MergedInto(unknown): %v, want ErrNotFound", err)
	}
	// A later merge into the survivor is listed after the first; both stay on the timeline
	// of a third record that takes the survivor in.
	c, _ := e.s.FindOrCreateByNumber(e.ctx, "+8613700000001")
	e.clk.Advance(time.Minute)
	_, _, err = e.s.MergeBy(e.ctx, c.ID, a.ID, "tok-sup")
	e.must(err)
	ms, err := e.s.Merges(e.ctx, b.ID)
	e.must(err)
	if len(ms) != 2 || ms[0].MergedID != b.ID || ms[1].MergedID != a.ID {
		e.Errorf("merges seen from the first record: %+v", ms)
	}
}

// Contacts from other channels find the customer by whatever identity they carry.
func testIdentitiesCustomer(e *env) {
	c, _ := e.s.FindOrCreateByNumber(e.ctx, "+8613800138000")
	e.must(e.s.Link(e.ctx, c.ID, Identity{KindEmail, "wang@example.com"}))
	e.must(e.s.Link(e.ctx, c.ID, Identity{KindCRM, "SF-0012"}))
	// An e-mail address on a chat contact (a web chat form) is the customer's e-mail.
	ct, err := e.s.AddContact(e.ctx, Contact{Channel: ChannelChat, Address: "Wang@Example.com"})
	e.must(err)
	if ct.CustomerID != c.ID {
		e.Errorf("a chat by e-mail landed on %s, want %s", ct.CustomerID, c.ID)
	}
	got, created, err := e.s.IdentitiesCustomer(e.ctx, []Identity{{KindChat, "WeChat:wxid_wang"}, {KindCRM, "SF-0012"}})
	e.must(err)
	if got.ID != c.ID || created {
		e.Fatalf("by chat handle and CRM ID: %s (created %v), want %s", got.ID, created, c.ID)
	}
	if f, _ := e.s.byIdentity(e.ctx, Identity{KindChat, "wechat:wxid_wang"}); f == nil || f.ID != c.ID {
		e.Error("the new chat handle was not linked to the customer found by the CRM ID")
	}
	other, created, err := e.s.IdentitiesCustomer(e.ctx, []Identity{{KindEmail, "li@example.com"}})
	e.must(err)
	if !created || other.Email() != "li@example.com" {
		e.Errorf("an unknown address: %+v created %v, want a new customer with it", other, created)
	}
	_, _, err = e.s.IdentitiesCustomer(e.ctx, []Identity{{KindEmail, "li@example.com"}, {KindPhone, "+8613800138000"}})
	var taken *IdentityTakenError
	if !errors.As(err, &taken) || taken.Owner != c.ID {
		e.Errorf("identities of two customers: %v, want IdentityTakenError naming %s", err, c.ID)
	}
	for _, bad := range []Identity{{KindCRM, "has space"}, {KindChat, "no-network"}, {"fax", "1"}} {
		if _, _, err := e.s.IdentitiesCustomer(e.ctx, []Identity{bad}); err == nil {
			e.Errorf("identity %v accepted", bad)
		}
	}
}

// The personal data of the erased customer, as the test writes it everywhere.
const (
	erasedPhone   = "+8613812345678"
	erasedName    = "Zhuang Meiling"
	erasedEmail   = "zhuang.meiling@example.com"
	erasedAccount = "QZ7741XK"
	erasedCRM     = "CRM-ZML-5521"
)

// erasedNeedles are what must be found nowhere after the erasure: the number (also without
// its country code, as people type it), the name, the e-mail address, the account, the CRM ID.
var erasedNeedles = []string{"13812345678", erasedName, "zhuang", "meiling", erasedEmail, erasedAccount, erasedCRM}

// A customer with everything hotline can hold on them is erased; then no table (every table
// the schema has, so later ones are covered) and no file under the data and recordings
// directories holds their number, name, e-mail, account or CRM ID. The anonymous counts stay.
func testEraseEverything(e *env) {
	// The greetings rendered with their name are in the prompts cache of the data directory.
	cache := filepath.Join(e.dataDir, "say-cache")
	e.s = e.open(WithErased(func(_ context.Context, id string) error { return prompts.ForgetCustomer(cache, id) }))
	c, err := e.s.CreateCustomer(e.ctx, Customer{Name: erasedName, Language: "zh", Identities: []Identity{
		{KindPhone, erasedPhone}, {KindEmail, erasedEmail}, {KindAccount, erasedAccount}, {KindCRM, erasedCRM}}})
	e.must(err)
	// A second record of theirs, with another number, merged in.
	dup, err := e.s.FindOrCreateByNumber(e.ctx, "+8613812340000")
	e.must(err)
	_, err = e.s.UpdateCustomer(e.ctx, dup.ID, CustomerUpdate{Name: ptr("Zhuang M.")})
	e.must(err)
	_, err = e.s.AddContact(e.ctx, Contact{CustomerID: dup.ID, Address: "+8613812340000", Queue: "support", Outcome: OutcomeAnswered})
	e.must(err)
	_, _, err = e.s.MergeBy(e.ctx, c.ID, dup.ID, "tok-sup")
	e.must(err)
	erasedNeedles := append(erasedNeedles, "13812340000")

	call, err := e.s.AddContact(e.ctx, Contact{Address: `"` + erasedName + `" <sip:` + erasedPhone + `@trunk>`, CallID: "call-erase", Queue: "support", Agent: "1001",
		Events: []Event{{At: e.clk.Now(), Node: "account", Type: "digits", Data: map[string]any{"account": erasedAccount, "caller_name": erasedName}}}})
	e.must(err)
	if call.CustomerID != c.ID {
		e.Fatalf("the call landed on %s, want %s", call.CustomerID, c.ID)
	}
	_, err = e.s.UpdateContact(e.ctx, call.ID, ContactUpdate{Outcome: ptr(OutcomeAbandoned), Wait: ptr(40 * time.Second),
		Events: []Event{{At: e.clk.Now(), Type: "ivr", Data: map[string]any{"email": erasedEmail}}}})
	e.must(err)
	chat, err := e.s.AddContact(e.ctx, Contact{Channel: ChannelChat, Address: erasedEmail, Queue: "support", Outcome: OutcomeAnswered,
		Events: []Event{{At: e.clk.Now(), Type: "summary", Data: map[string]any{"text": erasedName + " asked about " + erasedAccount}}}})
	e.must(err)
	if chat.CustomerID != c.ID {
		e.Fatalf("the chat by e-mail landed on %s, want %s", chat.CustomerID, c.ID)
	}
	vm, err := e.s.SaveVoicemail(e.ctx, Voicemail{CustomerID: c.ID, Caller: erasedPhone, Queue: "support", Audio: bytes.NewReader(ulawWAV(time.Second))})
	e.must(err)
	_, err = e.s.AddTicketNote(e.ctx, vm.Number, "1001", erasedName+" lives at 12 Nanjing Road, mail "+erasedEmail)
	e.must(err)
	_, err = e.s.CreateTicket(e.ctx, NewTicket{CustomerID: c.ID, Subject: "call back " + erasedName + " on " + erasedPhone, Note: "account " + erasedAccount})
	e.must(err)
	cb, err := e.s.RequestCallback(e.ctx, CallbackRequest{CustomerID: c.ID, Number: erasedPhone, Queue: "support", ContactID: call.ID})
	e.must(err)
	answered := e.answeredCall("call-rec", "1001")
	_, err = e.s.UpdateContact(e.ctx, answered.ID, ContactUpdate{CustomerID: &c.ID})
	e.must(err)
	p, err := e.s.BeginCallRecording(e.ctx, CallRecordingMeta{CallID: "call-rec", ContactID: answered.ID, Queue: "support"})
	e.must(err)
	e.must(os.WriteFile(p.Path(), conversation(time.Second), 0o640))
	rec, err := p.Finish(e.ctx, FinishedRecording{Duration: time.Second, Agents: []string{"1001"}})
	e.must(err)
	_, err = e.s.SaveDisposition(e.ctx, Disposition{ContactID: answered.ID, Agent: "1001", Code: "follow-up", Note: "told " + erasedName + " to mail " + erasedEmail})
	e.must(err)
	_, err = e.s.SaveSurvey(e.ctx, Survey{CallID: "call-rec", Name: "csat", Queue: "support", Agent: "1001", Score: 4})
	e.must(err)
	e.must(e.s.Audit(e.ctx, AuditEntry{Actor: "tok-sup", Role: "supervisor", Action: AuditCustomerIdentityAdd, Object: c.ID, Detail: map[string]any{"kind": "phone"}}))
	// One webhook was delivered already (its payload copy stays in the outbox), others wait.
	_, err = e.s.r().exec(e.ctx, "UPDATE outbox SET delivered_at = ? WHERE event = ?", ms(e.clk.Now()), EventTicketCreated)
	e.must(err)
	// Someone else's contact, which must stay as it is.
	other, err := e.s.AddContact(e.ctx, Contact{Address: "+8613900012345", Queue: "support", Outcome: OutcomeAnswered})
	e.must(err)
	for _, id := range []string{c.ID, dup.ID} { // as Library.SayFor renders them (the fake audio holds the text)
		dir := filepath.Join(cache, "customers", id, "en-us")
		e.must(os.MkdirAll(dir, 0o750))
		e.must(os.WriteFile(filepath.Join(dir, "greeting.wav"), []byte("Welcome back, "+erasedName), 0o640))
	}
	e.must(os.MkdirAll(filepath.Join(cache, "say", "en-us"), 0o750))
	e.must(os.WriteFile(filepath.Join(cache, "say", "en-us", "shared.wav"), []byte("Thank you for calling"), 0o640))
	// The data is there before the erasure (so the search below is no empty search).
	if hits := e.findPersonal(erasedNeedles); len(hits) == 0 {
		e.Fatal("the search finds nothing even before the erasure")
	}

	e.must(e.s.Erase(e.ctx, c.ID))

	for _, h := range e.findPersonal(erasedNeedles) {
		e.Errorf("after the erasure: %s", h)
	}
	// Anonymous counts stay: the contacts, with queue, outcome and durations.
	ct, err := e.s.Contact(e.ctx, call.ID)
	e.must(err)
	if ct.Outcome != OutcomeAbandoned || ct.Queue != "support" || ct.Wait != 40*time.Second || ct.CustomerID != c.ID {
		e.Errorf("erased contact %+v: want outcome, queue and wait kept", ct)
	}
	list, _, err := e.s.ListContacts(e.ctx, ContactFilter{Queue: "support"}, Page{})
	e.must(err)
	if len(list) != 5 {
		e.Errorf("%d support contacts after the erasure, want 5 (none dropped)", len(list))
	}
	if got, _ := e.s.Callback(e.ctx, cb.ID); got.Status != CallbackCancelled {
		e.Errorf("the pending callback is %s, want cancelled", got.Status)
	}
	for _, id := range []string{vm.Recording.ID, rec.ID} {
		if _, err := e.s.Recordings().Open(id); !errors.Is(err, fs.ErrNotExist) {
			e.Errorf("recording %s survived: %v", id, err)
		}
	}
	if o, _ := e.s.Contact(e.ctx, other.ID); o.Address != "+8613900012345" {
		e.Error("another customer's contact was erased")
	}
	if _, err := os.Stat(filepath.Join(cache, "say", "en-us", "shared.wav")); err != nil {
		e.Errorf("the shared prompts went with the erasure: %v", err)
	}
	// Export of the erased record holds nothing personal either.
	x, err := e.s.Export(e.ctx, c.ID)
	e.must(err)
	if s := fmt.Sprintf("%+v", x); containsAny(s, erasedNeedles) != "" {
		e.Errorf("export after the erasure holds %q", containsAny(s, erasedNeedles))
	}
}

// findPersonal reads every row of every table of the schema and every file under the data
// directory (the SQLite database and its write-ahead log, recordings, anything else) and
// says where one of needles appears (case-insensitive).
func (e *env) findPersonal(needles []string) []string {
	e.Helper()
	var hits []string
	r := e.s.r()
	q := "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
	if e.s.d == postgres {
		q = "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name"
	}
	tables, err := queryIDs(e.ctx, r, q)
	e.must(err)
	if len(tables) < 10 {
		e.Fatalf("only %d tables found: %v", len(tables), tables)
	}
	for _, t := range tables {
		rows, err := e.s.db.QueryContext(e.ctx, "SELECT * FROM "+t)
		e.must(err)
		cols, _ := rows.Columns()
		vals := make([]sql.RawBytes, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for rows.Next() {
			e.must(rows.Scan(ptrs...))
			for i, v := range vals {
				if n := containsAny(string(v), needles); n != "" {
					hits = append(hits, fmt.Sprintf("table %s column %s holds %q: %.200s", t, cols[i], n, v))
				}
			}
		}
		e.must(rows.Err())
		rows.Close()
	}
	e.must(filepath.WalkDir(e.dataDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if n := containsAny(string(b), needles); n != "" {
			rel, _ := filepath.Rel(e.dataDir, path)
			hits = append(hits, fmt.Sprintf("file %s holds %q", rel, n))
		}
		return nil
	}))
	return hits
}

func containsAny(s string, needles []string) string {
	low := strings.ToLower(s)
	for _, n := range needles {
		if strings.Contains(low, strings.ToLower(n)) {
			return n
		}
	}
	return ""
}

// Export holds everything on the customer: identities, contacts with their events, tickets
// with notes, callbacks, recordings, dispositions, surveys, merges and the audit entries.
func testExport(e *env) {
	c, err := e.s.CreateCustomer(e.ctx, Customer{Name: "Wang Fang", Identities: []Identity{{KindPhone, "+8613800138000"}, {KindEmail, "wang@example.com"}}})
	e.must(err)
	dup, _ := e.s.FindOrCreateByNumber(e.ctx, "+8613900012345")
	_, _, err = e.s.MergeBy(e.ctx, c.ID, dup.ID, "tok-sup")
	e.must(err)
	ct := e.answeredCall("call-x", "1001")
	_, err = e.s.UpdateContact(e.ctx, ct.ID, ContactUpdate{CustomerID: &c.ID})
	e.must(err)
	tk, err := e.s.CreateTicket(e.ctx, NewTicket{CustomerID: c.ID, Subject: "invoice", Note: "sent twice"})
	e.must(err)
	_, err = e.s.SaveDisposition(e.ctx, Disposition{ContactID: ct.ID, Agent: "1001", Code: "resolved", Note: "explained"})
	e.must(err)
	_, err = e.s.SaveSurvey(e.ctx, Survey{CallID: "call-x", Name: "csat", Score: 5})
	e.must(err)
	e.must(e.s.Audit(e.ctx, AuditEntry{Actor: "tok-sup", Action: AuditCustomerExport, Object: c.ID}))
	x, err := e.s.Export(e.ctx, dup.ID) // the merged-away ID gives the survivor's
	e.must(err)
	if x.Customer.ID != c.ID || len(x.Customer.Identities) != 3 {
		e.Errorf("export customer %+v", x.Customer)
	}
	kinds := map[EntryKind]int{}
	for _, en := range x.Timeline {
		kinds[en.Kind]++
	}
	if kinds[EntryContact] != 1 || kinds[EntryTicket] != 1 || kinds[EntryDisposition] != 1 || kinds[EntryMerge] != 1 {
		e.Errorf("export timeline kinds %v", kinds)
	}
	if len(x.Tickets) != 1 || x.Tickets[0].ID != tk.ID || len(x.Tickets[0].Notes) != 1 || x.Tickets[0].Notes[0].Body != "sent twice" {
		e.Errorf("export tickets %+v", x.Tickets)
	}
	if len(x.Surveys) != 1 || x.Surveys[0].Score != 5 {
		e.Errorf("export surveys %+v", x.Surveys)
	}
	if len(x.Audit) != 1 || x.Audit[0].Action != AuditCustomerExport {
		e.Errorf("export audit %+v", x.Audit)
	}
	if _, err := e.s.Export(e.ctx, "nobody"); !errors.Is(err, ErrNotFound) {
		e.Errorf("export of nobody: %v", err)
	}
}

// When something outside the database cannot be removed, the erasure says it is incomplete
// (the records are erased already), and erasing again finishes it.
func testEraseIncomplete(e *env) {
	fails := 1
	e.s = e.open(WithErased(func(context.Context, string) error {
		if fails > 0 {
			fails--
			return errors.New("disk on fire")
		}
		return nil
	}))
	c, _ := e.s.FindOrCreateByNumber(e.ctx, erasedPhone)
	err := e.s.Erase(e.ctx, c.ID)
	if !errors.Is(err, ErrEraseIncomplete) || !strings.Contains(err.Error(), "disk on fire") {
		e.Fatalf("a failing removal: %v, want ErrEraseIncomplete with the cause", err)
	}
	if got, _ := e.s.Customer(e.ctx, c.ID); got.ErasedAt.IsZero() || len(got.Identities) != 0 {
		e.Errorf("the records were not erased: %+v", got)
	}
	e.must(e.s.Erase(e.ctx, c.ID))
}
