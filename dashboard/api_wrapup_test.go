package dashboard

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/acd"
	"github.com/hotline-cc/hotline/customers"
)

// distributorWrapUp ends wrap-ups on the fake center's distributor, as the center would.
type distributorWrapUp struct{ d *acd.Distributor }

func (w distributorWrapUp) EndWrapUp(agent string) error {
	_, err := w.d.EndWrapUp(agent)
	return err
}

var sampleDispositions = map[string][]string{
	"support": {"resolved", "follow-up", "escalated", "wrong-number"},
	"sales":   {"resolved", "follow-up", "escalated", "wrong-number"},
}

// wrapUpEnv is the test env with the sample's disposition codes (billing: none) and the
// distributor ending wrap-ups.
func wrapUpEnv(t *testing.T) *env {
	e := newEnv(t)
	e.srv.dispositions, e.srv.wrapUp = sampleDispositions, distributorWrapUp{e.live.d}
	return e
}

// handled runs a call through the distributor to agent's wrap-up and stores its contact as
// the center would once the call ended.
func (e *env) handled(callID, queue, agent string) customers.Contact {
	e.t.Helper()
	d := e.live.d
	var others []string // kept from the offer, which must go to agent
	for _, a := range sampleAgents {
		if a.ID != agent {
			if _, err := d.Pause(a.ID, "test"); err == nil {
				others = append(others, a.ID)
			}
		}
	}
	if _, err := d.Enqueue(acd.Call{ID: callID, Queue: queue}); err != nil {
		e.t.Fatal(err)
	}
	if _, err := d.Answered(callID, agent); err != nil {
		e.t.Fatal(err)
	}
	for _, a := range others {
		d.Unpause(a)
	}
	e.clk.Advance(time.Minute)
	if _, err := d.Hangup(callID); err != nil {
		e.t.Fatal(err)
	}
	if s, _ := d.AgentState(agent); s != acd.WrapUp {
		e.t.Fatalf("agent %s is %s after the call, want wrap-up", agent, s)
	}
	c, err := e.store.AddContact(e.ctx, customers.Contact{Address: "+8613800138000", CallID: callID, Queue: queue, Agent: agent,
		Outcome: customers.OutcomeAnswered, Events: []customers.Event{{At: e.clk.Now().Add(-time.Minute), Node: agent, Step: "agent", Exit: "hangup", DurationMS: 60000}}})
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

func TestWrapUpSavesTheDispositionAndEndsTheWrapUp(t *testing.T) {
	e := wrapUpEnv(t)
	c := e.handled("call-1", "support", "1001")
	var res WrapUpResult
	e.ok(200, e.do("POST", "/api/v1/calls/call-1/wrapup", e.agent1, map[string]any{"code": "follow-up", "note": "send the form again"})).json(t, &res)
	if res.ContactID != c.ID || res.Agent != "1001" || res.Code != "follow-up" || res.Note != "send the form again" || res.Queue != "support" || !res.WrapUpEnded {
		t.Fatalf("result %+v", res)
	}
	if s, _ := e.live.d.AgentState("1001"); s != acd.Available {
		t.Fatalf("agent 1001 is %s after the form, want available", s)
	}
	// A second submit replaces the code; the wrap-up is over by now.
	e.ok(200, e.do("POST", "/api/v1/calls/call-1/wrapup", e.agent1, map[string]any{"code": "resolved"})).json(t, &res)
	if res.Code != "resolved" || res.Note != "" || res.WrapUpEnded {
		t.Fatalf("resubmit %+v", res)
	}
	// The timeline shows it.
	var tl List[TimelineEntryView]
	e.ok(200, e.do("GET", "/api/v1/customers/"+c.CustomerID+"/timeline", e.sup, nil)).json(t, &tl)
	var found bool
	for _, en := range tl.Items {
		if en.Kind == "disposition" && en.Disposition != nil && en.Disposition.Code == "resolved" && en.Disposition.Agent == "1001" {
			found = true
		}
	}
	if !found {
		t.Errorf("no disposition entry on the timeline: %+v", tl.Items)
	}
}

func TestWrapUpRefusesAnUnknownCode(t *testing.T) {
	e := wrapUpEnv(t)
	e.handled("call-2", "support", "1001")
	ae := e.wantError(e.do("POST", "/api/v1/calls/call-2/wrapup", e.agent1, map[string]any{"code": "sorted"}), 422, "code")
	if !strings.Contains(ae.Message, `"sorted"`) || !strings.Contains(ae.Message, "resolved, follow-up, escalated, wrong-number") {
		t.Errorf("message %q should name the code and the allowed ones", ae.Message)
	}
	e.wantError(e.do("POST", "/api/v1/calls/call-2/wrapup", e.agent1, map[string]any{"note": "no code"}), 422, "code")
	e.wantError(e.do("POST", "/api/v1/calls/call-2/wrapup", e.agent1, map[string]any{"code": "resolved", "note": strings.Repeat("x", 2001)}), 422, "note")
	if s, _ := e.live.d.AgentState("1001"); s != acd.WrapUp {
		t.Errorf("refused forms must not end the wrap-up; 1001 is %s", s)
	}
	// billing has no codes: a note only.
	e.handled("call-3", "billing", "1002")
	e.wantError(e.do("POST", "/api/v1/calls/call-3/wrapup", e.agent2, map[string]any{"code": "resolved"}), 422, "code")
	var res WrapUpResult
	e.ok(200, e.do("POST", "/api/v1/calls/call-3/wrapup", e.agent2, map[string]any{"note": "asked about the invoice"})).json(t, &res)
	if res.Code != "" || !res.WrapUpEnded {
		t.Errorf("note-only wrap-up %+v", res)
	}
}

func TestWrapUpOfAnotherAgentsCallIsForbidden(t *testing.T) {
	e := wrapUpEnv(t)
	e.handled("call-4", "support", "1001")
	ae := e.wantError(e.do("POST", "/api/v1/calls/call-4/wrapup", e.agent2, map[string]any{"code": "resolved"}), 403, "")
	if ae.Code != "not_your_call" {
		t.Errorf("code %q, want not_your_call", ae.Code)
	}
	e.wantError(e.do("POST", "/api/v1/calls/call-4/wrapup", e.sup, map[string]any{"code": "resolved"}), 422, "agent")
	if ae := e.wantError(e.do("POST", "/api/v1/calls/call-4/wrapup", e.sup, map[string]any{"code": "resolved", "agent": "1002"}), 403, "agent"); ae.Code != "not_your_call" {
		t.Errorf("code %q", ae.Code)
	}
	e.wantError(e.do("POST", "/api/v1/calls/no-such-call/wrapup", e.agent1, map[string]any{"code": "resolved"}), 404, "")
	var res WrapUpResult
	e.ok(200, e.do("POST", "/api/v1/calls/call-4/wrapup", e.sup, map[string]any{"code": "escalated", "agent": "1001"})).json(t, &res)
	if res.Agent != "1001" || !res.WrapUpEnded {
		t.Errorf("supervisor's wrap-up for 1001: %+v", res)
	}
	// The supervisor's wrap-up for an agent is audited (code and agent, not the note).
	var l List[AuditView]
	e.ok(200, e.do("GET", "/api/v1/audit?action=wrapup.save", e.sup, nil)).json(t, &l)
	if len(l.Items) != 1 || l.Items[0].Object != "call-4" || l.Items[0].Detail["agent"] != "1001" || l.Items[0].Detail["code"] != "escalated" ||
		l.Items[0].Detail["disposition"] != res.ID {
		t.Errorf("wrap-up audit: %+v", l.Items)
	}
}

func TestWrapUpAfterTheTimerRanOutIsStillSaved(t *testing.T) {
	e := wrapUpEnv(t)
	e.handled("call-5", "support", "1001")
	e.clk.Advance(sampleWrapUp)
	e.live.d.Tick()
	var res WrapUpResult
	e.ok(200, e.do("POST", "/api/v1/calls/call-5/wrapup", e.agent1, map[string]any{"code": "resolved"})).json(t, &res)
	if res.WrapUpEnded || res.ID == "" {
		t.Fatalf("result %+v: want saved with wrap_up_ended false", res)
	}
	// Without a WrapUp in the options the form only saves.
	e.srv.wrapUp = nil
	e.handled("call-6", "support", "1002")
	e.ok(200, e.do("POST", "/api/v1/calls/call-6/wrapup", e.agent2, map[string]any{"code": "resolved"})).json(t, &res)
	if res.WrapUpEnded {
		t.Errorf("no WrapUpEnder, yet wrap_up_ended: %+v", res)
	}
}

func TestListDispositions(t *testing.T) {
	e := wrapUpEnv(t)
	e.handled("call-7", "support", "1001")
	e.ok(200, e.do("POST", "/api/v1/calls/call-7/wrapup", e.agent1, map[string]any{"code": "resolved"}))
	e.clk.Advance(time.Minute)
	e.handled("call-8", "sales", "1001")
	e.ok(200, e.do("POST", "/api/v1/calls/call-8/wrapup", e.agent1, map[string]any{"code": "wrong-number"}))
	e.clk.Advance(time.Minute)
	e.handled("call-9", "support", "1002")
	e.ok(200, e.do("POST", "/api/v1/calls/call-9/wrapup", e.agent2, map[string]any{"code": "resolved"}))
	calls := func(path, token string) string {
		t.Helper()
		var l List[DispositionView]
		e.ok(200, e.do("GET", path, token, nil)).json(t, &l)
		var ids []string
		for _, d := range l.Items {
			ids = append(ids, d.CallID)
		}
		return strings.Join(ids, " ")
	}
	for path, want := range map[string]string{
		"/api/v1/dispositions":                          "call-9 call-8 call-7",
		"/api/v1/dispositions?queue=support":            "call-9 call-7",
		"/api/v1/dispositions?code=resolved&agent=1001": "call-7",
		"/api/v1/dispositions?code=wrong-number":        "call-8",
		"/api/v1/dispositions?to=2026-05-11T02:03:30Z":  "call-8 call-7",
	} {
		if got := calls(path, e.sup); got != want {
			t.Errorf("%s: %q, want %q", path, got, want)
		}
	}
	if got := calls("/api/v1/dispositions", e.agent2); got != "call-9" {
		t.Errorf("agent 1002 sees %q, want only its own", got)
	}
	e.wantError(e.do("GET", "/api/v1/dispositions?agent=1001", e.agent2, nil), http.StatusForbidden, "")
	var l List[DispositionView]
	e.ok(200, e.do("GET", "/api/v1/dispositions?limit=2", e.sup, nil)).json(t, &l)
	if len(l.Items) != 2 || l.NextCursor == "" {
		t.Fatalf("first page %+v", l)
	}
	e.ok(200, e.do("GET", "/api/v1/dispositions?limit=2&cursor="+l.NextCursor, e.sup, nil)).json(t, &l)
	if len(l.Items) != 1 || l.Items[0].CallID != "call-7" {
		t.Errorf("second page %+v", l)
	}
	e.wantError(e.do("GET", "/api/v1/dispositions", e.integ, nil), http.StatusForbidden, "")
	// The agent's page builds its form from /me.
	var me Me
	e.ok(200, e.do("GET", "/api/v1/me", e.agent2, nil)).json(t, &me)
	if len(me.Dispositions["support"]) != 4 || me.Dispositions["billing"] != nil {
		t.Errorf("me dispositions %v: want support's four codes, none for billing", me.Dispositions)
	}
}
