package dashboard

import (
	"net/http"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/customers"
)

// missed files a missed contact in the store and returns its work item's ID.
func (e *env) missed(number, queue string, o customers.Outcome) string {
	e.t.Helper()
	c, err := e.store.AddContact(e.ctx, customers.Contact{Address: number, Queue: queue, Outcome: o, EndedAt: e.clk.Now()})
	if err != nil {
		e.t.Fatal(err)
	}
	items, _, err := e.store.ListWorkItems(e.ctx, customers.WorkFilter{}, customers.Page{Limit: 500})
	if err != nil {
		e.t.Fatal(err)
	}
	for _, it := range items {
		if it.ContactID == c.ID {
			return it.ID
		}
	}
	e.t.Fatalf("contact %s (%s) is not on the worklist", c.ID, o)
	return ""
}

func TestWorklistTakeAndClose(t *testing.T) {
	e := newEnv(t)
	ab := e.missed("+8613800138001", "support", customers.OutcomeAbandoned)
	e.clk.Advance(time.Minute)
	ivr := e.missed("+8613800138002", "", customers.OutcomeAbandonedInIVR)

	list := func(path, token string) List[WorkItemView] {
		t.Helper()
		var l List[WorkItemView]
		e.ok(200, e.do("GET", path, token, nil)).json(t, &l)
		return l
	}
	l := list("/api/v1/worklist", e.agent1)
	if len(l.Items) != 2 || l.Items[0].ID != ivr || l.Items[0].Reason != "abandoned_in_ivr" || l.Items[1].State != "open" {
		t.Fatalf("worklist %+v: want the caller lost in the menus, then the abandoned call, both open", l.Items)
	}
	if d := l.Items[1].DueAt.Sub(l.Items[1].CreatedAt); d != customers.DefaultWorkDue {
		t.Errorf("due %v after it was missed, want the default %v", d, customers.DefaultWorkDue)
	}

	// Agent 1001 takes it; 1002 can neither take it, nor close it, nor take it in 1001's name.
	var it WorkItemView
	e.ok(200, e.do("POST", "/api/v1/worklist/"+ab+"/take", e.agent1, nil)).json(t, &it)
	if it.State != "taken" || it.Owner != "1001" {
		t.Fatalf("taken: %+v", it)
	}
	if ae := e.wantError(e.do("POST", "/api/v1/worklist/"+ab+"/take", e.agent2, nil), http.StatusConflict, ""); ae.Code != "conflict" {
		t.Errorf("1002 taking 1001's item: %+v", ae)
	}
	e.wantError(e.do("POST", "/api/v1/worklist/"+ab+"/close", e.agent2, map[string]any{"how": "called_back"}), http.StatusConflict, "")
	e.wantError(e.do("POST", "/api/v1/worklist/"+ivr+"/take", e.agent2, map[string]any{"owner": "1001"}), http.StatusForbidden, "owner")
	if got := list("/api/v1/worklist?owner=me&state=taken", e.agent1); len(got.Items) != 1 || got.Items[0].ID != ab {
		t.Errorf("1001's taken items: %+v", got.Items)
	}
	if got := list("/api/v1/worklist?queue=support", e.sup); len(got.Items) != 1 {
		t.Errorf("queue support: %d items, want 1", len(got.Items))
	}

	// Bad bodies: how missing or unknown, unknown fields, too long a note.
	e.wantError(e.do("POST", "/api/v1/worklist/"+ab+"/close", e.agent1, map[string]any{}), http.StatusUnprocessableEntity, "how")
	e.wantError(e.do("POST", "/api/v1/worklist/"+ab+"/close", e.agent1, map[string]any{"how": "emailed"}), http.StatusUnprocessableEntity, "how")
	e.wantError(e.do("POST", "/api/v1/worklist/"+ab+"/close", e.agent1, map[string]any{"how": "ticket", "by": "x"}), http.StatusBadRequest, "by")
	long := make([]byte, 2001)
	for i := range long {
		long[i] = 'a'
	}
	e.wantError(e.do("POST", "/api/v1/worklist/"+ab+"/close", e.agent1, map[string]any{"how": "ticket", "note": string(long)}), http.StatusUnprocessableEntity, "note")

	e.clk.Advance(10 * time.Minute)
	e.ok(200, e.do("POST", "/api/v1/worklist/"+ab+"/close", e.agent1, map[string]any{"how": "called_back", "note": "rebooked"})).json(t, &it)
	if it.State != "done" || it.DoneBy != "1001" || it.DoneHow != "called_back" || it.DoneNote != "rebooked" || it.DoneAt == nil ||
		it.AgeSeconds != 11*60 || it.Overdue {
		t.Errorf("closed: %+v", it)
	}
	ae := e.wantError(e.do("POST", "/api/v1/worklist/"+ab+"/close", e.sup, map[string]any{"how": "no_action"}), http.StatusConflict, "")
	if ae.Message == "" {
		t.Error("closing twice: no message")
	}
	e.wantError(e.do("POST", "/api/v1/worklist/"+ab+"/release", e.agent1, nil), http.StatusConflict, "")

	// A supervisor assigns the other item to 1002, then takes it over; it becomes overdue.
	e.ok(200, e.do("POST", "/api/v1/worklist/"+ivr+"/take", e.sup, map[string]any{"owner": "1002"})).json(t, &it)
	if it.Owner != "1002" {
		t.Errorf("assigned to %q, want 1002", it.Owner)
	}
	e.ok(200, e.do("POST", "/api/v1/worklist/"+ivr+"/take", e.sup, map[string]any{"owner": "1003"}))
	e.clk.Advance(5 * time.Hour)
	if got := list("/api/v1/worklist?overdue=true", e.sup); len(got.Items) != 1 || got.Items[0].ID != ivr || !got.Items[0].Overdue {
		t.Errorf("overdue: %+v", got.Items)
	}
	if got := list("/api/v1/worklist?state=pending", e.sup); len(got.Items) != 1 {
		t.Errorf("pending: %d, want 1", len(got.Items))
	}
	e.ok(200, e.do("POST", "/api/v1/worklist/"+ivr+"/release", e.sup, nil))

	// Roles, bad filters, unknown items.
	e.wantError(e.do("GET", "/api/v1/worklist", e.integ, nil), http.StatusForbidden, "")
	e.wantError(e.do("POST", "/api/v1/worklist/"+ivr+"/take", e.integ, nil), http.StatusForbidden, "")
	e.wantError(e.do("GET", "/api/v1/worklist?state=closed", e.sup, nil), http.StatusBadRequest, "state")
	e.wantError(e.do("GET", "/api/v1/worklist?reason=answered", e.sup, nil), http.StatusBadRequest, "reason")
	e.wantError(e.do("GET", "/api/v1/worklist?overdue=maybe", e.sup, nil), http.StatusBadRequest, "overdue")
	e.wantError(e.do("POST", "/api/v1/worklist/nope/take", e.agent1, nil), http.StatusNotFound, "")
	e.wantError(e.do("GET", "/api/v1/worklist/nope", e.sup, nil), http.StatusNotFound, "")

	// The contacts' missed filter includes callers lost in the menus.
	var cl List[ContactView]
	e.ok(200, e.do("GET", "/api/v1/contacts?missed=true", e.sup, nil)).json(t, &cl)
	if len(cl.Items) != 2 {
		t.Errorf("missed contacts: %d, want the abandoned call and the caller lost in the menus", len(cl.Items))
	}
}

func TestReportCarriesSatisfaction(t *testing.T) {
	e := newEnv(t)
	for _, sv := range []customers.Survey{
		{Name: "csat", Queue: "support", Agent: "1001", Score: 5}, {Name: "csat", Queue: "support", Agent: "1001", Score: 3},
		{Name: "nps", Queue: "support", Agent: "1001", Scale: customers.ScaleNPS, Score: 10},
		{Name: "nps", Queue: "support", Agent: "1002", Scale: customers.ScaleNPS, Score: 2},
	} {
		if _, err := e.store.SaveSurvey(e.ctx, sv); err != nil {
			t.Fatal(err)
		}
	}
	var rep ReportResponse
	e.ok(200, e.do("GET", "/api/v1/reports?from=2026-05-11&interval=1d&queue=support&tz=Asia/Shanghai", e.sup, nil)).json(t, &rep)
	tot := rep.Items[len(rep.Items)-1]
	if tot.Interval != "total" || tot.CSAT == nil || *tot.CSAT != 0.5 || tot.NPS == nil || *tot.NPS != 0 || tot.NPSAnswers != 2 {
		t.Errorf("support total: csat %v nps %v (%d answers), want 0.5 and 0 (one promoter, one detractor)", tot.CSAT, tot.NPS, tot.NPSAnswers)
	}
	if len(rep.Satisfaction) != 2 || rep.Satisfaction[0].Agent != "1001" || *rep.Satisfaction[0].NPS != 100 || *rep.Satisfaction[1].NPS != -100 ||
		rep.Satisfaction[1].CSAT != nil {
		t.Errorf("by agent %+v: want 1001 nps 100, 1002 nps -100 and no csat", rep.Satisfaction)
	}
	e.wantError(e.do("GET", "/api/v1/reports?from=2026-05-11", e.agent1, nil), http.StatusForbidden, "")
}
