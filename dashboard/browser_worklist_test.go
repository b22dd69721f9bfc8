package dashboard

import (
	"strings"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/customers"
	"github.com/hotline-cc/hotline/dashboard/browsertest"
)

// The supervisor's worklist in headless Chromium: a caller who hung up in the menus appears,
// the supervisor takes the item and closes it as called back; then the reports view shows
// CSAT and NPS by agent.
func TestBrowserWorklistAndSatisfaction(t *testing.T) {
	b := browsertest.Start(t)
	e := newEnv(t)
	id := e.missed("+8613800138055", "support", customers.OutcomeAbandonedInIVR)
	for _, sv := range []customers.Survey{
		{Name: "csat", Queue: "support", Agent: "1001", Score: 5, At: t0.Add(-time.Hour)},
		{Name: "csat", Queue: "support", Agent: "1001", Score: 2, At: t0.Add(-time.Hour)},
		{Name: "nps", Queue: "support", Agent: "1001", Scale: customers.ScaleNPS, Score: 9, At: t0.Add(-time.Hour)},
		{Name: "nps", Queue: "support", Agent: "1001", Scale: customers.ScaleNPS, Score: 8, At: t0.Add(-time.Hour)},
	} {
		if _, err := e.store.SaveSurvey(e.ctx, sv); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Login(e.loginURL); err != nil {
		t.Fatal(err)
	}
	if err := b.ShowView("missed"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.WaitText(browsertest.WorkRow(id), "hung up in the menus", 3*time.Second); err != nil {
		t.Fatalf("the item is not on the worklist: %v", err)
	}
	text, _ := b.Text(browsertest.WorkRow(id))
	if !strings.Contains(text, "+8613800138055") || !strings.Contains(text, "open") {
		t.Errorf("the item reads %q, want the number and open", text)
	}
	b.Screenshot("worklist-open")
	if err := b.Click(browsertest.WorkButton(id, "take")); err != nil {
		t.Fatal(err)
	}
	if _, err := b.WaitText(browsertest.WorkRow(id), "taken", 3*time.Second); err != nil {
		t.Fatalf("the item was not shown taken: %v", err)
	}
	if it, _ := e.store.WorkItem(e.ctx, id); it.State != customers.WorkTaken {
		t.Fatalf("in the store the item is %s, want taken", it.State)
	}
	if err := b.Click(browsertest.WorkButton(id, "close")); err != nil {
		t.Fatal(err)
	}
	// Closed, it leaves the to-do list; the store knows who and how.
	for until := time.Now().Add(3 * time.Second); time.Now().Before(until); time.Sleep(20 * time.Millisecond) {
		if it, _ := e.store.WorkItem(e.ctx, id); it.State == customers.WorkDone {
			break
		}
	}
	it, _ := e.store.WorkItem(e.ctx, id)
	if it.State != customers.WorkDone || it.DoneHow != customers.ResolvedCalledBack || it.DoneBy == "" {
		t.Fatalf("after close the item is %+v, want done, called back, with who", it)
	}
	if _, err := b.WaitText("#worklist-table tbody", "Nothing to follow up.", 3*time.Second); err != nil {
		t.Errorf("the closed item is still on the to-do list: %v", err)
	}
	b.Screenshot("worklist-closed")

	if err := b.ShowView("reports"); err != nil {
		t.Fatal(err)
	}
	if err := b.SetValue("#report-interval", "1d"); err != nil {
		t.Fatal(err)
	}
	if err := b.Click(`#report-form button[type=submit]`); err != nil {
		t.Fatal(err)
	}
	// 1001: CSAT 1 of 2 = 50 %; NPS (1 promoter, 1 passive) = 50.
	if _, err := b.WaitText(browsertest.SatisfactionRow("1001"), "50", 3*time.Second); err != nil {
		t.Fatalf("no satisfaction row for 1001: %v", err)
	}
	var got string
	if err := b.Eval(`Array.from(document.querySelectorAll(`+"`"+browsertest.SatisfactionRow("1001")+` td`+"`"+`)).map(function (td) { return td.textContent; }).join(" | ")`, &got); err != nil {
		t.Fatal(err)
	}
	if want := "support | 1001 | 50.0% | 2 | 50 | 2"; got != want {
		t.Errorf("the satisfaction row reads %q, want %q", got, want)
	}
	b.Screenshot("satisfaction")
}

// The agent's desk lists the missed calls nobody has; the agent takes one and closes it.
func TestBrowserAgentTakesAndClosesAWorkItem(t *testing.T) {
	b := browsertest.Start(t)
	e := newEnv(t)
	id := e.missed("+8613800138066", "support", customers.OutcomeAbandoned)
	_, tk, err := e.srv.Tokens().Create(RoleAgent, "1002", "desk worklist test")
	if err != nil {
		t.Fatal(err)
	}
	code, err := e.srv.Tokens().LoginCode(tk.ID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Login(e.ts.URL + "/login?code=" + code); err != nil {
		t.Fatal(err)
	}
	row := `#worklist tr[data-work="` + id + `"]`
	if _, err := b.WaitText(row, "hung up waiting", 3*time.Second); err != nil {
		t.Fatalf("the missed call is not on the agent's desk: %v", err)
	}
	if err := b.Click(row + ` button[data-action="take"]`); err != nil {
		t.Fatal(err)
	}
	if _, err := b.WaitText(row, "1002", 3*time.Second); err != nil {
		t.Fatalf("the item is not shown as the agent's: %v", err)
	}
	if err := b.Click(row + ` button[data-action="close"]`); err != nil {
		t.Fatal(err)
	}
	for until := time.Now().Add(3 * time.Second); time.Now().Before(until); time.Sleep(20 * time.Millisecond) {
		if it, _ := e.store.WorkItem(e.ctx, id); it.State == customers.WorkDone {
			break
		}
	}
	if it, _ := e.store.WorkItem(e.ctx, id); it.State != customers.WorkDone || it.DoneBy != "1002" || it.DoneHow != customers.ResolvedCalledBack {
		t.Fatalf("after the agent closed it the item is %+v, want done by 1002, called back", it)
	}
	b.Screenshot("agent-worklist-closed")
}
