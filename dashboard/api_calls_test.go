package dashboard

import (
	"strings"
	"testing"

	"github.com/hotline-cc/hotline/call"
)

// Transfers and hold through the API: the target is checked and named when wrong, an agent
// moves only their own call, and how the transfer ended decides the answer.
func TestCallTransferAndHold(t *testing.T) {
	e := newEnv(t)
	e.live.transferAnswer = map[string]call.TransferProgress{
		"1003":        {Status: 486, Reason: "Busy Here"},
		"+4420123456": {Status: 403, Reason: "Forbidden: number +4420123456 is outside the allowed prefixes +86"},
		"queue-x":     {Status: 404, Reason: `Not Found: no queue "x"`},
	}
	e.live.enqueue("c1", "support", "+8613800000001")
	path := "/api/v1/calls/c1/transfer"
	if ae := e.ok(409, e.do("POST", path, e.sup, map[string]string{"target": "1002"})).apiError(t); ae.Code != "conflict" {
		t.Errorf("a queued call: %+v", ae)
	}
	e.live.connect("c1", "1001")
	for _, tc := range []struct {
		token, target string
		status        int
		code, field   string
	}{
		{e.sup, "", 400, "invalid", "target"},
		{e.sup, "sip:1002@evil", 400, "invalid", "target"},
		{e.sup, "queue-x", 400, "invalid", "target"},
		{e.sup, "+4420123456", 422, "transfer_refused", "target"},
		{e.sup, "1003", 409, "transfer_failed", "target"},
		{e.agent2, "1003", 403, "forbidden", ""}, // not 1002's call
	} {
		ae := e.ok(tc.status, e.do("POST", path, tc.token, map[string]string{"target": tc.target})).apiError(t)
		if ae.Code != tc.code || ae.Field != tc.field {
			t.Errorf("target %q: %+v, want %d %s field %q", tc.target, ae, tc.status, tc.code, tc.field)
		}
	}
	var res TransferResult
	e.ok(200, e.do("POST", path, e.agent1, map[string]string{"target": "queue-billing"})).json(t, &res)
	if res.Status != 200 || res.Call.ID != "c1" {
		t.Errorf("transfer by the call's own agent: %+v", res)
	}
	if ae := e.ok(400, e.do("POST", path, e.sup, map[string]any{"target": "1002", "priority": 1})).apiError(t); ae.Code != "unknown_field" {
		t.Errorf("an unknown field: %+v", ae)
	}
	e.ok(404, e.do("POST", "/api/v1/calls/nope/transfer", e.sup, map[string]string{"target": "1002"}))

	var held LiveCall
	e.ok(200, e.do("POST", "/api/v1/calls/c1/hold", e.agent1, nil)).json(t, &held)
	if !held.OnHold {
		t.Errorf("after hold: %+v", held)
	}
	var resumed LiveCall
	e.ok(200, e.do("POST", "/api/v1/calls/c1/resume", e.sup, nil)).json(t, &resumed)
	if resumed.OnHold || resumed.ID != "c1" {
		t.Errorf("after resume: %+v", resumed)
	}
	if ae := e.ok(409, e.do("POST", "/api/v1/calls/c1/conference", e.agent1, nil)).apiError(t); !strings.Contains(ae.Message, "not consulting") {
		t.Errorf("a three-way call without a consultation: %+v", ae)
	}
	e.ok(403, e.do("POST", "/api/v1/calls/c1/hold", e.agent2, nil))
	e.ok(403, e.do("POST", "/api/v1/calls/c1/hold", e.integ, nil))

	// The supervisor's transfers that reached the call, and the resume, are audited, with
	// how each ended and the number masked; the agent's own hold and transfer are not.
	got := e.auditActions("?action=call&object=c1")
	want := []string{"call.resume c1 supervisor", "call.transfer c1 supervisor", "call.transfer c1 supervisor", "call.transfer c1 supervisor"}
	if strings.Join(got, ", ") != strings.Join(want, ", ") {
		t.Errorf("audit of call c1: %v, want %v", got, want)
	}
	var l List[AuditView]
	e.ok(200, e.do("GET", "/api/v1/audit?action=call.transfer", e.sup, nil)).json(t, &l)
	if d := l.Items[1].Detail; d["target"] != "…3456" || d["status"] != float64(403) {
		t.Errorf("the refused transfer's detail: %v", d)
	}
}
