package dashboard

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/hotline-cc/hotline/customers"
)

// noRedirect is a client that shows a 301 instead of following it.
var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// A supervisor links identities, edits and merges customers; a chat by e-mail or CRM ID then
// lands on the one customer; errors say what is wrong; everything is audited without values.
func TestCustomerIdentitiesAndMerge(t *testing.T) {
	e := newEnv(t)
	a, err := e.store.FindOrCreateByNumber(e.ctx, "+8613800000001")
	if err != nil {
		t.Fatal(err)
	}
	b, err := e.store.FindOrCreateByNumber(e.ctx, "+8613800000002")
	if err != nil {
		t.Fatal(err)
	}
	base := "/api/v1/customers/" + a.ID

	var cv CustomerView
	e.ok(201, e.do("POST", base+"/identities", e.sup, IdentityRequest{Kind: "email", Value: " Wang@Example.COM "})).json(t, &cv)
	if cv.ID != a.ID || len(cv.Identities) != 2 || !slices.Contains(cv.Identities, IdentityView{"email", "wang@example.com"}) {
		t.Fatalf("after adding the e-mail: %+v", cv.Identities)
	}
	e.ok(201, e.do("POST", base+"/identities", e.integ, IdentityRequest{Kind: "crm", Value: "SF-0012"}))
	e.ok(201, e.do("POST", base+"/identities", e.sup, IdentityRequest{Kind: "email", Value: "wang@example.com"})) // again: nothing changes
	// Someone else's identity: 409, naming its owner.
	r := e.do("POST", "/api/v1/customers/"+b.ID+"/identities", e.sup, IdentityRequest{Kind: "email", Value: "wang@example.com"})
	ae := e.wantError(r, 409, "")
	if ae.Code != "identity_taken" || ae.Customer != a.ID || !strings.Contains(ae.Message, a.ID) {
		t.Errorf("taken identity: %+v, want identity_taken naming %s", ae, a.ID)
	}
	e.wantError(e.do("POST", base+"/identities", e.sup, IdentityRequest{Kind: "fax", Value: "1"}), 400, "kind")
	e.wantError(e.do("POST", base+"/identities", e.sup, IdentityRequest{Kind: "email"}), 400, "value")
	e.wantError(e.do("POST", base+"/identities", e.sup, IdentityRequest{Kind: "email", Value: "not-mail"}), 422, "value")
	e.wantError(e.do("POST", base+"/identities", e.sup, map[string]any{"kind": "email", "value": 5}), 400, "value")
	e.wantError(e.do("POST", base+"/identities", e.sup, map[string]any{"kind": "email", "valeu": "x@y.cn"}), 400, "valeu")
	e.wantError(e.do("POST", "/api/v1/customers/nobody/identities", e.sup, IdentityRequest{Kind: "email", Value: "x@example.com"}), 404, "")
	e.wantError(e.do("POST", base+"/identities", e.agent1, IdentityRequest{Kind: "email", Value: "x@example.com"}), 403, "")

	// Edit.
	e.ok(200, e.do("PATCH", base, e.sup, map[string]any{"name": "Wang Fang", "vip": true})).json(t, &cv)
	if cv.Name != "Wang Fang" || !cv.VIP {
		t.Errorf("after the edit: %+v", cv)
	}
	e.wantError(e.do("PATCH", base, e.sup, map[string]any{}), 400, "body")
	e.wantError(e.do("PATCH", base, e.sup, map[string]any{"language": "chinese!"}), 422, "language")
	e.wantError(e.do("PATCH", "/api/v1/customers/nobody", e.sup, map[string]any{"tier": "gold"}), 404, "")

	// Contacts from other channels find the customer by any identity.
	var ct ContactView
	e.ok(201, e.do("POST", "/api/v1/contacts", e.integ, map[string]any{"channel": "chat", "address": "wang@example.com", "summary": "invoice"})).json(t, &ct)
	if ct.CustomerID != a.ID {
		t.Errorf("a chat by e-mail landed on %s, want %s", ct.CustomerID, a.ID)
	}
	e.ok(201, e.do("POST", "/api/v1/contacts", e.integ, map[string]any{"channel": "chat", "address": "wechat:wxid_wang",
		"identities": []IdentityRequest{{Kind: "crm", Value: "SF-0012"}}})).json(t, &ct)
	if ct.CustomerID != a.ID {
		t.Errorf("a chat by CRM ID landed on %s, want %s", ct.CustomerID, a.ID)
	}
	var l List[CustomerView]
	e.ok(200, e.do("GET", "/api/v1/customers?email=WANG@example.com", e.sup, nil)).json(t, &l)
	if len(l.Items) != 1 || l.Items[0].ID != a.ID {
		t.Errorf("by e-mail: %+v", l.Items)
	}
	e.wantError(e.do("POST", "/api/v1/contacts", e.integ, map[string]any{"channel": "chat",
		"identities": []IdentityRequest{{Kind: "account", Value: "12#4"}}}), 422, "identities[0].value")
	ae = e.wantError(e.do("POST", "/api/v1/contacts", e.integ, map[string]any{"channel": "email",
		"identities": []IdentityRequest{{Kind: "email", Value: "wang@example.com"}, {Kind: "phone", Value: "+8613800000002"}}}), 409, "")
	if ae.Customer != b.ID {
		t.Errorf("identities of two customers: %+v, want the second's owner %s", ae, b.ID)
	}

	// Remove an identity.
	e.ok(200, e.do("DELETE", base+"/identities/crm/SF-0012", e.sup, nil)).json(t, &cv)
	// The chat handle the CRM-identified chat came from was learned; the CRM ID is gone.
	if len(cv.Identities) != 3 || !slices.Contains(cv.Identities, IdentityView{"chat", "wechat:wxid_wang"}) {
		t.Errorf("after removing the CRM ID: %+v", cv.Identities)
	}
	e.wantError(e.do("DELETE", base+"/identities/crm/SF-0012", e.sup, nil), 404, "")
	// A value with a slash, escaped in the path.
	e.ok(201, e.do("POST", base+"/identities", e.sup, IdentityRequest{Kind: "crm", Value: "acme/42"}))
	e.ok(200, e.do("DELETE", base+"/identities/crm/"+url.PathEscape("acme/42"), e.sup, nil)).json(t, &cv)
	if slices.Contains(cv.Identities, IdentityView{"crm", "acme/42"}) {
		t.Errorf("the CRM ID with a slash was not removed: %+v", cv.Identities)
	}
	e.wantError(e.do("DELETE", base+"/identities/fax/1", e.sup, nil), 400, "kind")

	// Merge b into a: b's contact follows, the merge is on a's timeline, b's ID points to a.
	if _, err := e.store.AddContact(e.ctx, customers.Contact{CustomerID: b.ID, Queue: "support", Outcome: customers.OutcomeAbandoned}); err != nil {
		t.Fatal(err)
	}
	e.wantError(e.do("POST", base+"/merge", e.agent1, MergeRequest{From: b.ID}), 403, "")
	e.wantError(e.do("POST", base+"/merge", e.integ, MergeRequest{From: b.ID}), 403, "")
	e.wantError(e.do("POST", base+"/merge", e.sup, MergeRequest{From: a.ID}), 400, "from")
	e.wantError(e.do("POST", base+"/merge", e.sup, MergeRequest{}), 400, "from")
	e.wantError(e.do("POST", base+"/merge", e.sup, MergeRequest{From: "nobody"}), 404, "")
	e.wantError(e.do("POST", "/api/v1/customers/nobody/merge", e.sup, MergeRequest{From: b.ID}), 404, "")
	var mr MergeResult
	e.ok(200, e.do("POST", base+"/merge", e.sup, MergeRequest{From: b.ID})).json(t, &mr)
	if mr.Customer.ID != a.ID || mr.Merge.MergedID != b.ID || mr.Merge.Moved["contacts"] != 1 || mr.Merge.Moved["identities"] != 1 || len(mr.Merge.Identities) != 1 ||
		len(mr.Merge.MovedIDs["contacts"]) != 1 {
		t.Errorf("merge result %+v", mr)
	}
	var tl List[TimelineEntryView]
	e.ok(200, e.do("GET", base+"/timeline", e.sup, nil)).json(t, &tl)
	last := tl.Items[len(tl.Items)-1]
	if last.Kind != "merge" || last.Merge == nil || last.Merge.MergedID != b.ID || len(tl.Items) != 4 {
		t.Errorf("timeline after the merge: %d entries, last %+v", len(tl.Items), last)
	}
	res := e.doWith(noRedirect, "GET", "/api/v1/customers/"+b.ID, e.sup, nil, nil)
	if res.status != 301 || res.header.Get("Location") != "/api/v1/customers/"+a.ID || res.apiError(t).Customer != a.ID {
		t.Errorf("GET on the merged-away record: %d %s %s", res.status, res.header.Get("Location"), res.body)
	}
	e.ok(200, e.do("GET", "/api/v1/customers/"+b.ID, e.sup, nil)).json(t, &cv) // a client that follows lands on the survivor
	if cv.ID != a.ID {
		t.Errorf("following the 301 gave %s", cv.ID)
	}
	if ae := e.wantError(e.do("PATCH", "/api/v1/customers/"+b.ID, e.sup, map[string]any{"tier": "gold"}), 409, ""); ae.Customer != a.ID {
		t.Errorf("a change through the merged-away ID: %+v", ae)
	}

	got := e.auditActions("?action=customer.")
	want := []string{"customer.merge " + a.ID + " supervisor", "customer.identity.remove " + a.ID + " supervisor",
		"customer.identity.add " + a.ID + " supervisor", "customer.identity.remove " + a.ID + " supervisor", "customer.update " + a.ID + " supervisor",
		"customer.identity.add " + a.ID + " integration", "customer.identity.add " + a.ID + " supervisor"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("audit\n%v\nwant\n%v", got, want)
	}
	r = e.do("GET", "/api/v1/audit?action=customer.", e.sup, nil)
	for _, v := range []string{"wang@example.com", "SF-0012", "Wang Fang", "13800000001"} {
		if strings.Contains(string(r.body), v) {
			t.Errorf("the audit trail holds %q: %s", v, r.body)
		}
	}
}

// Erase and export: supervisors only, audited; after the erasure the customer's data is gone
// from the API, and the export said everything before.
func TestCustomerEraseAndExport(t *testing.T) {
	e := newEnv(t)
	vm := e.voicemail("+8613800000009")
	c, err := e.store.ByNumber(e.ctx, "+8613800000009")
	if err != nil || c == nil {
		t.Fatal(c, err)
	}
	base := "/api/v1/customers/" + c.ID
	e.ok(200, e.do("PATCH", base, e.sup, map[string]any{"name": "Zhuang Meiling"}))
	e.ok(201, e.do("POST", base+"/identities", e.sup, IdentityRequest{Kind: "email", Value: "zml@example.com"}))
	e.ok(201, e.do("POST", "/api/v1/tickets/"+vm.Number+"/notes", e.sup, NoteRequest{Body: "Zhuang Meiling asked for a refund"}))
	for _, tok := range []string{e.agent1, e.integ} {
		e.wantError(e.do("GET", base+"/export", tok, nil), 403, "")
		e.wantError(e.do("DELETE", base, tok, nil), 403, "")
	}
	e.wantError(e.do("GET", "/api/v1/customers/nobody/export", e.sup, nil), 404, "")
	e.wantError(e.do("DELETE", "/api/v1/customers/nobody", e.sup, nil), 404, "")

	var x ExportView
	r := e.ok(200, e.do("GET", base+"/export", e.sup, nil))
	r.json(t, &x)
	if x.Customer.Name != "Zhuang Meiling" || len(x.Customer.Identities) != 2 || len(x.Tickets) != 1 || len(x.Tickets[0].Notes) != 1 ||
		len(x.Recordings) != 1 || x.Recordings[0].Kind != "voicemail" {
		t.Errorf("export: %s", r.body)
	}
	if !strings.HasPrefix(r.header.Get("Content-Disposition"), "attachment") {
		t.Errorf("export Content-Disposition %q", r.header.Get("Content-Disposition"))
	}

	var cv CustomerView
	e.ok(200, e.do("DELETE", base, e.sup, nil)).json(t, &cv)
	if cv.ErasedAt == nil || cv.Name != "" || len(cv.Identities) != 0 {
		t.Errorf("erased: %+v", cv)
	}
	e.ok(200, e.do("DELETE", base, e.sup, nil)) // twice: harmless
	r = e.ok(200, e.do("GET", base+"/export", e.sup, nil))
	for _, v := range []string{"Zhuang", "zml@example.com", "13800000009", "refund"} {
		if strings.Contains(string(r.body), v) {
			t.Errorf("the export after the erasure holds %q: %s", v, r.body)
		}
	}
	e.wantError(e.do("GET", "/api/v1/recordings/"+vm.Recording.ID, e.sup, nil), 410, "")
	e.wantError(e.do("PATCH", base, e.sup, map[string]any{"name": "x"}), 409, "")
	e.wantError(e.do("POST", base+"/identities", e.sup, IdentityRequest{Kind: "phone", Value: "+8613800000009"}), 409, "")
	var l List[CustomerView]
	e.ok(200, e.do("GET", "/api/v1/customers?number="+url.QueryEscape("+8613800000009"), e.sup, nil)).json(t, &l)
	if len(l.Items) != 0 {
		t.Errorf("the erased number still finds %+v", l.Items)
	}
	got := e.auditActions("?action=customer.")
	if len(got) < 3 || got[0] != "customer.export "+c.ID+" supervisor" || got[1] != "customer.erase "+c.ID+" supervisor" || got[3] != "customer.export "+c.ID+" supervisor" {
		t.Errorf("audit %v", got)
	}
	r = e.do("GET", "/api/v1/audit", e.sup, nil)
	for _, v := range []string{"Zhuang", "zml@example.com", "13800000009"} {
		if strings.Contains(string(r.body), v) {
			t.Errorf("the audit trail holds %q", v)
		}
	}
}
