package dashboard

import (
	"net/url"
	"testing"
	"time"
)

// A supervisor pausing and logging out an agent is on the audit trail with the token, its
// role and the client's address; an agent pausing itself is not. The list filters by actor,
// action prefix, object, source and time, and refuses filters it cannot read.
func TestAuditOfSupervisorActions(t *testing.T) {
	e := newEnv(t)
	e.ok(200, e.do("POST", "/api/v1/agents/1001/actions", e.agent1, map[string]string{"action": "pause", "reason": "lunch"}))
	e.ok(200, e.do("POST", "/api/v1/agents/1001/actions", e.sup, map[string]string{"action": "unpause"}))
	e.clk.Advance(time.Minute)
	e.ok(200, e.do("POST", "/api/v1/agents/1002/actions", e.sup, map[string]string{"action": "pause", "reason": "coaching"}))
	e.clk.Advance(time.Minute)
	e.ok(200, e.do("POST", "/api/v1/agents/1002/actions", e.sup, map[string]string{"action": "logout"}))

	var l List[AuditView]
	e.ok(200, e.do("GET", "/api/v1/audit?action=agent", e.sup, nil)).json(t, &l)
	if len(l.Items) != 3 {
		t.Fatalf("agent actions audited: %+v, want the supervisor's 3 (not the agent's own pause)", l.Items)
	}
	var me Me
	e.ok(200, e.do("GET", "/api/v1/me", e.sup, nil)).json(t, &me)
	got := l.Items[0]
	if got.Action != "agent.logout" || got.Object != "1002" || got.Role != "supervisor" || got.From != "127.0.0.1" ||
		got.Actor == "" || got.Seq == 0 || len(got.Hash) != 64 || !got.At.Equal(t0.Add(2*time.Minute)) {
		t.Errorf("newest entry: %+v", got)
	}
	if l.Items[1].Detail["reason"] != "coaching" {
		t.Errorf("the pause's reason: %+v", l.Items[1])
	}
	for _, c := range []struct {
		query string
		want  int
	}{
		{"?action=agent.pause", 1},
		{"?action=agent.&object=1002", 2},
		{"?action=agent&from=127.0.0.1", 3},
		{"?from=192.0.2.1", 0},
		{"?action=agent&actor=" + url.QueryEscape(got.Actor), 3},
		{"?action=agent&since=" + url.QueryEscape(t0.Add(time.Minute).Format(time.RFC3339)), 2},
		{"?action=agent&until=" + url.QueryEscape(t0.Add(time.Minute).Format(time.RFC3339)), 1},
	} {
		var l List[AuditView]
		e.ok(200, e.do("GET", "/api/v1/audit"+c.query, e.sup, nil)).json(t, &l)
		if len(l.Items) != c.want {
			t.Errorf("GET /api/v1/audit%s: %d entries, want %d", c.query, len(l.Items), c.want)
		}
	}
	e.wantError(e.do("GET", "/api/v1/audit?action=Agent.Pause", e.sup, nil), 400, "action")
	e.wantError(e.do("GET", "/api/v1/audit?since=2026-05-12T00:00:00Z&until=2026-05-11T00:00:00Z", e.sup, nil), 400, "until")
	e.wantError(e.do("GET", "/api/v1/audit?until=tomorrow", e.sup, nil), 400, "until")
	e.wantError(e.do("GET", "/api/v1/audit", e.agent1, nil), 403, "")

	// The first supervisor token, made at first start, is on the trail too.
	var made List[AuditView]
	e.ok(200, e.do("GET", "/api/v1/audit?action=token.create", e.sup, nil)).json(t, &made)
	if len(made.Items) != 1 || made.Items[0].Actor != "system" || made.Items[0].From != "system" || made.Items[0].Detail["role"] != "supervisor" {
		t.Errorf("the first-start token's audit: %+v", made.Items)
	}

	// The trail verifies: every entry above is in the chain.
	c, err := e.store.VerifyAudit(e.ctx)
	if err != nil || !c.OK() || c.Checked < 4 {
		t.Errorf("verify: %+v %v", c, err)
	}
}
