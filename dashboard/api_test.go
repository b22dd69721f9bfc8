package dashboard

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/acd"
	"github.com/hotline-cc/hotline/customers"
)

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

var pathParam = regexp.MustCompile(`\{[a-z_]+\}`)

// Every endpoint but the OpenAPI document refuses a request without a token: 401, JSON.
func TestNoTokenIs401(t *testing.T) {
	e := newEnv(t)
	for _, rt := range e.srv.routes {
		path := pathParam.ReplaceAllString(rt.Path, "x")
		var body any
		if rt.Body != nil {
			body = "{}"
		}
		r := e.do(rt.Method, path, "", body)
		if rt.Public {
			e.ok(200, r)
			continue
		}
		if r.status != 401 {
			t.Errorf("%s %s without a token: %d, want 401", rt.Method, path, r.status)
			continue
		}
		if ae := r.apiError(t); ae.Code != "unauthorized" || r.header.Get("WWW-Authenticate") == "" {
			t.Errorf("%s %s: %+v, WWW-Authenticate %q", rt.Method, path, ae, r.header.Get("WWW-Authenticate"))
		}
		if r := e.do(rt.Method, path, "hl_not-a-token", body); r.status != 401 {
			t.Errorf("%s %s with a wrong token: %d, want 401", rt.Method, path, r.status)
		}
	}
}

func TestAgentCannotPauseAnotherAgent(t *testing.T) {
	e := newEnv(t)
	r := e.do("POST", "/api/v1/agents/1002/actions", e.agent1, map[string]string{"action": "pause", "reason": "lunch"})
	if ae := e.wantError(r, 403, ""); !strings.Contains(ae.Message, "1001") {
		t.Errorf("message %q does not say whose agent the token is", ae.Message)
	}
	if st, _ := e.live.d.AgentState("1002"); st != acd.Available {
		t.Fatalf("1002 is %s after another agent's refused pause", st)
	}
	var a AgentView
	e.ok(200, e.do("POST", "/api/v1/agents/1001/actions", e.agent1, map[string]string{"action": "pause", "reason": "lunch"})).json(t, &a)
	if a.State != "paused" || a.PauseReason != "lunch" {
		t.Fatalf("after pausing itself: %+v", a)
	}
	// An agent sees only itself.
	var l List[AgentView]
	e.ok(200, e.do("GET", "/api/v1/agents", e.agent1, nil)).json(t, &l)
	if len(l.Items) != 1 || l.Items[0].ID != "1001" {
		t.Errorf("agent list for 1001: %+v", l.Items)
	}
	e.wantError(e.do("GET", "/api/v1/agents/1002", e.agent1, nil), 403, "")
}

func TestRolesAreEnforced(t *testing.T) {
	e := newEnv(t)
	for _, c := range []struct {
		token, method, path string
		body                any
	}{
		{e.integ, "GET", "/api/v1/queues", nil},
		{e.integ, "GET", "/api/v1/agents", nil},
		{e.integ, "POST", "/api/v1/agents/1001/actions", map[string]string{"action": "logout"}},
		{e.integ, "GET", "/api/v1/events", nil},
		{e.agent1, "GET", "/api/v1/calls", nil},
		{e.agent1, "GET", "/api/v1/queues", nil},
		{e.agent1, "POST", "/api/v1/contacts", map[string]string{"channel": "chat", "address": "+8613800000001"}},
		{e.agent1, "GET", "/api/v1/contacts?agent=1002", nil}, // its own contacts only
		{e.agent1, "GET", "/api/v1/customers?number=%2B8613800000001", nil},
		{e.agent1, "GET", "/api/v1/reports?from=2026-05-11", nil},
		{e.agent1, "GET", "/api/v1/staffing?calls_per_hour=10&aht=3m", nil},
		{e.integ, "GET", "/api/v1/callbacks", nil},
		{e.agent1, "POST", "/api/v1/tickets", map[string]string{"subject": "x"}},
	} {
		r := e.do(c.method, c.path, c.token, c.body)
		if r.status != 403 || r.apiError(t).Code != "forbidden" {
			t.Errorf("%s %s as %s: %d %s, want 403", c.method, c.path, tokenRole(e, c.token), r.status, r.body)
		}
	}
}

func tokenRole(e *env, tok string) string {
	tk, _ := e.srv.Tokens().Verify(tok)
	return string(tk.Role) + " " + tk.Agent
}

func TestQueues(t *testing.T) {
	e := newEnv(t)
	e.live.enqueue("c1", "support", "+8613800000001") // taken by an available agent at once: ringing
	e.live.d.Pause("1001", "x")
	e.live.d.Pause("1002", "x")
	e.live.d.Pause("1003", "x")
	e.live.enqueue("c2", "sales", "+8613800000002")
	e.clk.Advance(7 * time.Second)
	var l List[QueueView]
	e.ok(200, e.do("GET", "/api/v1/queues", e.sup, nil)).json(t, &l)
	if len(l.Items) != 3 || l.Items[0].Queue != "support" {
		t.Fatalf("queues %+v", l.Items)
	}
	var q QueueView
	e.ok(200, e.do("GET", "/api/v1/queues/sales", e.sup, nil)).json(t, &q)
	if q.Waiting != 1 || q.OldestWait != 7 || q.ServiceLevelWindow != "15m0s" {
		t.Errorf("sales: waiting %d oldest %v window %s", q.Waiting, q.OldestWait, q.ServiceLevelWindow)
	}
	e.wantError(e.do("GET", "/api/v1/queues/nope", e.sup, nil), 404, "")
	e.wantError(e.do("GET", "/api/v1/queues?limit=0", e.sup, nil), 400, "limit")
	e.wantError(e.do("GET", "/api/v1/queues?limit=501", e.sup, nil), 400, "limit")
	e.wantError(e.do("GET", "/api/v1/queues?cursor=zzz", e.sup, nil), 400, "cursor")
	e.ok(200, e.do("GET", "/api/v1/queues?limit=2", e.sup, nil)).json(t, &l)
	if len(l.Items) != 2 || l.NextCursor == "" {
		t.Fatalf("page 1: %d items, cursor %q", len(l.Items), l.NextCursor)
	}
	e.ok(200, e.do("GET", "/api/v1/queues?limit=2&cursor="+l.NextCursor, e.sup, nil)).json(t, &l)
	if len(l.Items) != 1 || l.Items[0].Queue != "billing" || l.NextCursor != "" {
		t.Fatalf("page 2: %+v %q", l.Items, l.NextCursor)
	}
	e.wantError(e.do("POST", "/api/v1/queues", e.sup, "{}"), 405, "")
}

// The wallboard's service level is the ACD's 15-minute window, the one /metrics exports as
// window="15m0s".
func TestWallboardServiceLevelIsTheACDs(t *testing.T) {
	e := newEnv(t)
	for _, a := range []string{"1001", "1002", "1003"} {
		e.live.d.Pause(a, "x")
	}
	answer := func(id string, wait time.Duration) {
		e.live.enqueue(id, "support", "+861380000000"+id[1:])
		e.clk.Advance(wait)
		e.live.d.Unpause("1001")
		if _, err := e.live.d.Answered(id, "1001"); err != nil {
			t.Fatal(err)
		}
		e.live.d.Pause("1001", "x")
		e.live.d.Hangup(id)
		e.clk.Advance(time.Minute)
	}
	answer("c1", 10*time.Second)
	answer("c2", 40*time.Second)
	answer("c3", 5*time.Second)
	var q QueueView
	e.ok(200, e.do("GET", "/api/v1/queues/support", e.sup, nil)).json(t, &q)
	live, _ := e.live.d.QueueStats("support")
	var want float64 = math.NaN()
	for _, w := range live.Windows {
		if w.Window == 15*time.Minute {
			want = w.KPIs.ServiceLevel
		}
	}
	if q.ServiceLevel == nil || *q.ServiceLevel != want || math.Abs(want-2.0/3) > 1e-12 {
		t.Fatalf("wallboard service level %v, ACD 15m window %v, want 2/3", q.ServiceLevel, want)
	}
}

func TestAgentActions(t *testing.T) {
	e := newEnv(t)
	act := func(body any) resp { return e.do("POST", "/api/v1/agents/1003/actions", e.sup, body) }
	e.wantError(act(map[string]string{"action": "pause"}), 400, "reason")
	e.wantError(act(map[string]string{"action": "nap"}), 400, "action")
	e.wantError(act(map[string]string{}), 400, "action")
	e.wantError(act(map[string]string{"action": "unpause", "reason": "x"}), 400, "reason")
	ae := e.wantError(act(`{"action":"pause","reasn":"lunch"}`), 400, "reasn")
	if ae.Code != "unknown_field" || !strings.Contains(ae.Message, "action, reason") {
		t.Errorf("unknown field: %+v", ae)
	}
	e.wantError(act(`{"action": 5}`), 400, "action")
	e.wantError(act(`{"action":"pause"`), 400, "body")
	e.wantError(act(`{"action":"logout"} {"x":1}`), 400, "body")
	r := e.doWith(http.DefaultClient, "POST", "/api/v1/agents/1003/actions", e.sup, `{"action":"logout"}`, map[string]string{"Content-Type": "text/plain"})
	e.wantError(r, 415, "")
	e.wantError(act(map[string]string{"action": "unpause"}), 409, "") // available, not paused
	e.wantError(e.do("POST", "/api/v1/agents/9999/actions", e.sup, map[string]string{"action": "logout"}), 404, "")
	var a AgentView
	e.ok(200, act(map[string]string{"action": "pause", "reason": "training"})).json(t, &a)
	if a.State != "paused" || a.PauseReason != "training" {
		t.Fatalf("%+v", a)
	}
	e.ok(200, act(map[string]string{"action": "unpause"})).json(t, &a)
	e.ok(200, act(map[string]string{"action": "logout"})).json(t, &a)
	if a.State != "logged-out" {
		t.Fatalf("after logout %+v", a)
	}
	e.ok(200, act(map[string]string{"action": "login"})).json(t, &a)
	if a.State != "available" || len(a.Queues) != 2 {
		t.Fatalf("after login %+v", a)
	}
	if got := strings.Join(e.live.actionLog(), "; "); got != "1003 pause training; 1003 unpause ; 1003 logout ; 1003 login " {
		t.Errorf("actions reaching the center: %s", got)
	}
}

func TestCallsAndFlows(t *testing.T) {
	e := newEnv(t)
	e.live.enqueue("c1", "support", "+8613800000001")
	e.clk.Advance(time.Second)
	e.live.enqueue("c2", "sales", "+8613800000002")
	var l List[LiveCall]
	e.ok(200, e.do("GET", "/api/v1/calls?limit=1", e.sup, nil)).json(t, &l)
	if len(l.Items) != 1 || l.Items[0].ID != "c1" || l.NextCursor == "" {
		t.Fatalf("%+v", l)
	}
	e.ok(200, e.do("GET", "/api/v1/calls?limit=1&cursor="+l.NextCursor, e.sup, nil)).json(t, &l)
	if len(l.Items) != 1 || l.Items[0].ID != "c2" || l.Items[0].State != CallQueued {
		t.Fatalf("%+v", l)
	}
	var fl List[FlowView]
	e.ok(200, e.do("GET", "/api/v1/flows", e.sup, nil)).json(t, &fl)
	if len(fl.Items) != 1 || fl.Items[0].Name != "hotline" || !strings.HasPrefix(fl.Items[0].Mermaid, "flowchart") {
		t.Fatalf("%+v", fl)
	}
	svg := e.ok(200, e.do("GET", fl.Items[0].GraphURL, e.sup, nil))
	if svg.header.Get("Content-Type") != "image/svg+xml" || !strings.Contains(string(svg.body), ">greet</text>") ||
		!strings.Contains(string(svg.body), ">1 support, 2 sales</text>") || strings.Count(string(svg.body), "<path d=") != 7 {
		t.Errorf("graph: %s", svg.body)
	}
	e.wantError(e.do("GET", "/api/v1/flows/none/graph.svg", e.sup, nil), 404, "")
}

// A call's audio figures reach the API as the center gives them, and a call without media
// statistics (Asterisk carries the audio) has no audio object at all. What a leg's peer hears
// is there once it has reported by RTCP (the agent's phone here), and absent, not zero, for a
// peer that has not (the caller).
func TestCallAudio(t *testing.T) {
	e := newEnv(t)
	e.live.enqueue("c1", "support", "+8613800000001")
	e.clk.Advance(time.Second)
	e.live.enqueue("c2", "sales", "+8613800000002")
	want := &CallAudio{Caller: &LegAudio{PacketsReceived: 1450, PacketsLost: 50, LostRatio: 50.0 / 1500, JitterMS: 41.25},
		Agent: &LegAudio{PacketsReceived: 1490, JitterMS: 2.5, HeardLostRatio: ptr(0.0), HeardJitterMS: ptr(3.125), RTTMS: ptr(80.5)}}
	e.live.setAudio("c1", want)
	r := e.ok(200, e.do("GET", "/api/v1/calls", e.sup, nil))
	var l List[LiveCall]
	r.json(t, &l)
	if len(l.Items) != 2 || l.Items[0].ID != "c1" || !reflect.DeepEqual(l.Items[0].Audio, want) {
		t.Fatalf("c1's audio came back as %s", r.body)
	}
	if l.Items[1].Audio != nil {
		t.Errorf("c2 has no media statistics but shows audio %+v", l.Items[1].Audio)
	}
	var raw struct {
		Items []map[string]json.RawMessage `json:"items"`
	}
	r.json(t, &raw)
	if got := string(raw.Items[0]["audio"]); got != `{"caller":{"packets_received":1450,"packets_lost":50,"lost_ratio":0.03333333333333333,"jitter_ms":41.25},`+
		`"agent":{"packets_received":1490,"packets_lost":0,"lost_ratio":0,"jitter_ms":2.5,"heard_lost_ratio":0,"heard_jitter_ms":3.125,"rtt_ms":80.5}}` {
		t.Errorf("audio JSON %s", got)
	}
	if _, ok := raw.Items[1]["audio"]; ok {
		t.Errorf("c2 carries an audio field: %s", r.body)
	}
	// Only the caller's leg before an agent is connected.
	e.live.setAudio("c1", &CallAudio{Caller: want.Caller})
	e.ok(200, e.do("GET", "/api/v1/calls", e.sup, nil)).json(t, &raw)
	if got := string(raw.Items[0]["audio"]); strings.Contains(got, "agent") || !strings.Contains(got, `"caller"`) {
		t.Errorf("caller-only audio JSON %s", got)
	}
}

func TestEventStream(t *testing.T) {
	e := newEnv(t)
	for _, a := range []string{"1001", "1002", "1003"} {
		e.live.d.Pause(a, "x")
	}
	s := e.stream(e.sup)
	name, data, err := s.next()
	if err != nil || name != "snapshot" {
		t.Fatalf("first event %q %v", name, err)
	}
	var snap Snapshot
	json.Unmarshal(data, &snap)
	if len(snap.Queues) != 3 || len(snap.Agents) != 3 {
		t.Fatalf("snapshot %+v", snap)
	}
	start := time.Now()
	e.live.enqueue("c1", "support", "+8613800000001")
	sawCall, sawQueue := false, false
	for !(sawCall && sawQueue) {
		name, data, err := s.next()
		if err != nil {
			t.Fatal(err)
		}
		var ev StreamEvent
		json.Unmarshal(data, &ev)
		switch {
		case name == "call" && ev.Call != nil && ev.Call.ID == "c1":
			sawCall = true
		case name == "queue" && ev.Queue != nil && ev.Queue.Queue == "support" && ev.Queue.Waiting == 1:
			sawQueue = true
		}
		if time.Since(start) > time.Second {
			t.Fatalf("no call and queue event within 1 s of the call entering the queue")
		}
	}
	// An agent's stream carries its own agent, its queues and its own calls: not the others'.
	as := e.stream(e.agent1)
	name, data, _ = as.next()
	json.Unmarshal(data, &snap)
	if name != "snapshot" || len(snap.Agents) != 1 || len(snap.Queues) != 3 || len(snap.Calls) != 0 {
		t.Fatalf("agent snapshot %s", data)
	}
	e.live.hangup("c1")
	e.ok(200, e.do("POST", "/api/v1/agents/1002/actions", e.sup, map[string]string{"action": "unpause"}))
	e.ok(200, e.do("POST", "/api/v1/agents/1001/actions", e.sup, map[string]string{"action": "unpause"}))
	var ev StreamEvent
	for {
		name, data, _ = as.next()
		ev = StreamEvent{}
		json.Unmarshal(data, &ev)
		if name != "queue" {
			break
		}
	}
	if name != "agent" || ev.Agent == nil || ev.Agent.ID != "1001" || ev.Agent.State != "available" {
		t.Fatalf("agent stream got %s %s; want only 1001's change (and its queues)", name, data)
	}
}

func TestCustomersContactsTimeline(t *testing.T) {
	e := newEnv(t)
	c, err := e.store.FindOrCreateByNumber(e.ctx, "+8613800000001")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.store.LinkAccount(e.ctx, c.ID, "123456"); err != nil {
		t.Fatal(err)
	}
	var l List[CustomerView]
	e.ok(200, e.do("GET", "/api/v1/customers?number="+url.QueryEscape("138 0013 8000"), e.sup, nil)).json(t, &l)
	if len(l.Items) != 0 {
		t.Fatalf("unknown number found %+v", l.Items)
	}
	e.ok(200, e.do("GET", "/api/v1/customers?number=013800000001", e.sup, nil)).json(t, &l)
	if len(l.Items) != 1 || l.Items[0].ID != c.ID {
		t.Fatalf("by national number: %+v", l.Items)
	}
	e.ok(200, e.do("GET", "/api/v1/customers?account=123456", e.sup, nil)).json(t, &l)
	if len(l.Items) != 1 {
		t.Fatalf("by account: %+v", l.Items)
	}
	e.wantError(e.do("GET", "/api/v1/customers", e.sup, nil), 400, "number")
	e.wantError(e.do("GET", "/api/v1/customers?number=1&account=2", e.sup, nil), 400, "number")
	if _, err := e.store.UpdateCustomer(e.ctx, c.ID, customers.CustomerUpdate{Name: ptrTo("Wang Fang")}); err != nil {
		t.Fatal(err)
	}
	e.ok(200, e.do("GET", "/api/v1/customers?name=wang", e.sup, nil)).json(t, &l)
	if len(l.Items) != 1 || l.Items[0].ID != c.ID {
		t.Fatalf("by name: %+v", l.Items)
	}
	e.wantError(e.do("GET", "/api/v1/customers/nobody", e.sup, nil), 404, "")

	// A chat system puts a conversation on the timeline.
	var ct ContactView
	r := e.ok(201, e.do("POST", "/api/v1/contacts", e.integ, map[string]any{"id": "chat-77", "channel": "chat", "address": "+8613800000001",
		"summary": "asked about the invoice", "started_at": t0.Add(-time.Hour), "ended_at": t0.Add(-50 * time.Minute), "outcome": "self_service"}))
	r.json(t, &ct)
	if ct.CustomerID != c.ID || ct.Channel != "chat" || ct.ID != "chat-77" || r.header.Get("Location") != "/api/v1/contacts/chat-77" {
		t.Fatalf("%+v", ct)
	}
	e.wantError(e.do("POST", "/api/v1/contacts", e.integ, map[string]any{"id": "chat-77", "channel": "chat", "customer_id": c.ID}), 409, "id")
	e.wantError(e.do("POST", "/api/v1/contacts", e.integ, map[string]any{"address": "+8613800000001"}), 400, "channel")
	e.wantError(e.do("POST", "/api/v1/contacts", e.integ, map[string]any{"channel": "fax", "address": "+8613800000001"}), 400, "channel")
	e.wantError(e.do("POST", "/api/v1/contacts", e.integ, map[string]any{"channel": "chat"}), 400, "customer_id")
	e.wantError(e.do("POST", "/api/v1/contacts", e.integ, map[string]any{"channel": "chat", "address": "x", "outcome": "great"}), 400, "outcome")
	e.wantError(e.do("POST", "/api/v1/contacts", e.integ, map[string]any{"channel": "email", "address": "not-mail"}), 400, "address")
	e.wantError(e.do("POST", "/api/v1/contacts", e.integ, map[string]any{"channel": "chat", "address": "+8613800000001", "started_at": "yesterday"}), 400, "started_at")
	e.wantError(e.do("POST", "/api/v1/contacts", e.integ, map[string]any{"channel": "chat", "customer_id": "nobody"}), 404, "")
	e.ok(200, e.do("GET", "/api/v1/contacts/chat-77", e.integ, nil))
	e.wantError(e.do("GET", "/api/v1/contacts/none", e.integ, nil), 404, "")

	// A missed call, and the worklist.
	if _, err := e.store.AddContact(e.ctx, customers.Contact{Address: "+8613800000002", Queue: "support", Outcome: customers.OutcomeAbandoned,
		Wait: 45 * time.Second, StartedAt: t0.Add(-10 * time.Minute)}); err != nil {
		t.Fatal(err)
	}
	var cl List[ContactView]
	e.ok(200, e.do("GET", "/api/v1/contacts?missed=true", e.sup, nil)).json(t, &cl)
	if len(cl.Items) != 1 || cl.Items[0].Outcome != "abandoned" || !cl.Items[0].Missed {
		t.Fatalf("missed worklist %+v", cl.Items)
	}
	e.ok(200, e.do("GET", "/api/v1/contacts?channel=chat&outcome=self_service,answered", e.integ, nil)).json(t, &cl)
	if len(cl.Items) != 1 || cl.Items[0].ID != "chat-77" {
		t.Fatalf("filtered %+v", cl.Items)
	}
	e.wantError(e.do("GET", "/api/v1/contacts?outcome=lost", e.sup, nil), 400, "outcome")
	e.wantError(e.do("GET", "/api/v1/contacts?missed=yes", e.sup, nil), 400, "missed")
	e.wantError(e.do("GET", "/api/v1/contacts?from=monday", e.sup, nil), 400, "from")
	e.wantError(e.do("GET", "/api/v1/contacts?cursor=bogus", e.sup, nil), 400, "cursor")

	var tl List[TimelineEntryView]
	e.ok(200, e.do("GET", "/api/v1/customers/"+c.ID+"/timeline", e.sup, nil)).json(t, &tl)
	if len(tl.Items) != 1 || tl.Items[0].Contact == nil || tl.Items[0].Contact.Events[0].Type != "summary" {
		t.Fatalf("timeline %+v", tl.Items)
	}
	// An agent sees a customer only through its tickets.
	e.wantError(e.do("GET", "/api/v1/customers/"+c.ID+"/timeline", e.agent1, nil), 403, "")
	tk, err := e.store.CreateTicket(e.ctx, customers.NewTicket{CustomerID: c.ID, Subject: "invoice", Assignee: "1001"})
	if err != nil {
		t.Fatal(err)
	}
	e.ok(200, e.do("GET", "/api/v1/customers/"+c.ID+"/timeline", e.agent1, nil)).json(t, &tl)
	if len(tl.Items) != 2 || tl.Items[1].Ticket == nil || tl.Items[1].Ticket.Number != tk.Number {
		t.Fatalf("timeline with ticket %+v", tl.Items)
	}
	e.wantError(e.do("GET", "/api/v1/customers/"+c.ID, e.agent2, nil), 403, "")
}

func TestTicketsAndVoicemail(t *testing.T) {
	e := newEnv(t)
	vm := e.voicemail("+8613800000005")
	var l List[TicketView]
	e.ok(200, e.do("GET", "/api/v1/tickets?status=open&kind=voicemail", e.sup, nil)).json(t, &l)
	if len(l.Items) != 1 || l.Items[0].Recording == nil || l.Items[0].Recording.URL == "" {
		t.Fatalf("%+v", l.Items)
	}
	rec := l.Items[0].Recording
	e.wantError(e.do("GET", "/api/v1/tickets?status=closed", e.sup, nil), 400, "status")
	e.wantError(e.do("GET", "/api/v1/tickets?kind=email", e.sup, nil), 400, "kind")
	// Not yet assigned: the agent sees nothing and may not touch it.
	e.ok(200, e.do("GET", "/api/v1/tickets", e.agent1, nil)).json(t, &l)
	if len(l.Items) != 0 {
		t.Fatalf("agent sees unassigned tickets: %+v", l.Items)
	}
	e.wantError(e.do("GET", "/api/v1/tickets?assignee=1002", e.agent1, nil), 403, "")
	e.wantError(e.do("GET", "/api/v1/tickets/"+vm.Number, e.agent1, nil), 403, "")
	e.wantError(e.do("GET", rec.URL, e.agent1, nil), 403, "")
	// The supervisor assigns it to 1001.
	e.wantError(e.do("PATCH", "/api/v1/tickets/"+vm.Number, e.sup, map[string]string{"assignee": "9999"}), 400, "assignee")
	e.wantError(e.do("PATCH", "/api/v1/tickets/"+vm.Number, e.sup, map[string]string{"status": "closed"}), 400, "status")
	e.wantError(e.do("PATCH", "/api/v1/tickets/"+vm.Number, e.sup, map[string]string{}), 400, "body")
	e.wantError(e.do("PATCH", "/api/v1/tickets/"+vm.Number, e.sup, `{"assigne":"1001"}`), 400, "assigne")
	e.wantError(e.do("PATCH", "/api/v1/tickets/T-999999", e.sup, map[string]string{"status": "open"}), 404, "")
	var tv TicketView
	e.ok(200, e.do("PATCH", "/api/v1/tickets/"+vm.Number, e.sup, map[string]string{"assignee": "1001", "priority": "high"})).json(t, &tv)
	if tv.Assignee != "1001" || tv.Priority != "high" {
		t.Fatalf("%+v", tv)
	}
	e.ok(200, e.do("GET", "/api/v1/tickets", e.agent1, nil)).json(t, &l)
	if len(l.Items) != 1 {
		t.Fatalf("agent 1001's tickets: %+v", l.Items)
	}
	// The agent plays the voicemail (streamed, with ranges), works the ticket, cannot pass it on.
	audio := e.ok(200, e.do("GET", rec.URL, e.agent1, nil))
	if audio.header.Get("Content-Type") != "audio/wav" || len(audio.body) != int(rec.Size) || string(audio.body[:4]) != "RIFF" {
		t.Fatalf("download: %s, %d bytes of %d", audio.header.Get("Content-Type"), len(audio.body), rec.Size)
	}
	part := e.doWith(http.DefaultClient, "GET", rec.URL, e.agent1, nil, map[string]string{"Range": "bytes=44-99"})
	if part.status != 206 || len(part.body) != 56 {
		t.Fatalf("range: %d, %d bytes", part.status, len(part.body))
	}
	e.wantError(e.do("GET", rec.URL, e.agent2, nil), 403, "")
	e.ok(200, e.do("GET", rec.URL, e.integ, nil))
	e.wantError(e.do("GET", "/api/v1/recordings/../../etc/passwd", e.sup, nil), 404, "")
	e.wantError(e.do("GET", "/api/v1/recordings/20260511T020000Z-0000000000000000", e.sup, nil), 404, "")
	e.wantError(e.do("PATCH", "/api/v1/tickets/"+vm.Number, e.agent1, map[string]string{"assignee": "1002"}), 403, "")
	e.wantError(e.do("PATCH", "/api/v1/tickets/"+vm.Number, e.agent2, map[string]string{"status": "solved"}), 403, "")
	e.ok(200, e.do("PATCH", "/api/v1/tickets/"+vm.Number, e.agent1, map[string]string{"status": "solved"})).json(t, &tv)
	if tv.Status != "solved" || tv.SolvedAt == nil {
		t.Fatalf("%+v", tv)
	}
	e.wantError(e.do("POST", "/api/v1/tickets/"+vm.ID+"/notes", e.agent1, map[string]string{"body": "  "}), 400, "body")
	var n NoteView
	e.ok(201, e.do("POST", "/api/v1/tickets/"+vm.ID+"/notes", e.agent1, map[string]string{"body": "called back, sorted"})).json(t, &n)
	if n.Author != "1001" {
		t.Errorf("note author %q", n.Author)
	}
	e.wantError(e.do("POST", "/api/v1/tickets/"+vm.ID+"/notes", e.agent2, map[string]string{"body": "x"}), 403, "")
	e.ok(200, e.do("GET", "/api/v1/tickets/"+vm.ID, e.agent1, nil)).json(t, &tv)
	if len(tv.Notes) != 1 || tv.Notes[0].Body != "called back, sorted" {
		t.Fatalf("%+v", tv.Notes)
	}
	// An integration opens a ticket.
	e.wantError(e.do("POST", "/api/v1/tickets", e.integ, map[string]string{"subject": " "}), 400, "subject")
	e.wantError(e.do("POST", "/api/v1/tickets", e.integ, map[string]string{"subject": "x", "kind": "voicemail"}), 400, "kind")
	e.wantError(e.do("POST", "/api/v1/tickets", e.integ, map[string]string{"subject": "x", "priority": "asap"}), 400, "priority")
	e.wantError(e.do("POST", "/api/v1/tickets", e.integ, map[string]string{"subject": "x", "contact_id": "none"}), 400, "contact_id")
	r := e.ok(201, e.do("POST", "/api/v1/tickets", e.integ, map[string]string{"subject": "Refund request from chat", "queue": "billing", "note": "see chat 77"}))
	r.json(t, &tv)
	if tv.Kind != "manual" || tv.Number == "" || len(tv.Notes) != 1 {
		t.Fatalf("%+v", tv)
	}
}

func TestCallbacks(t *testing.T) {
	e := newEnv(t)
	cb, err := e.store.RequestCallback(e.ctx, customers.CallbackRequest{Number: "+8613800000007", Queue: "support", Source: customers.FromAPI})
	if err != nil {
		t.Fatal(err)
	}
	other, err := e.store.RequestCallback(e.ctx, customers.CallbackRequest{Number: "+8613800000008", Queue: "sales", Source: customers.FromAPI})
	if err != nil {
		t.Fatal(err)
	}
	var l List[CallbackView]
	e.ok(200, e.do("GET", "/api/v1/callbacks?status=pending", e.sup, nil)).json(t, &l)
	if len(l.Items) != 2 {
		t.Fatalf("%+v", l.Items)
	}
	// Agent 1002 works support and billing, not sales.
	e.ok(200, e.do("GET", "/api/v1/callbacks", e.agent2, nil)).json(t, &l)
	if len(l.Items) != 1 || l.Items[0].ID != cb.ID {
		t.Fatalf("agent 1002 sees %+v", l.Items)
	}
	e.wantError(e.do("GET", "/api/v1/callbacks?queue=sales", e.agent2, nil), 403, "")
	e.wantError(e.do("POST", "/api/v1/callbacks/"+other.ID+"/cancel", e.agent2, map[string]string{}), 403, "")
	e.wantError(e.do("GET", "/api/v1/callbacks?status=lost", e.sup, nil), 400, "status")
	// Reschedule: inside the office hours (Mon–Fri 09–18 Shanghai), not in the past.
	e.wantError(e.do("POST", "/api/v1/callbacks/"+cb.ID+"/reschedule", e.agent2, map[string]any{}), 400, "slot")
	e.wantError(e.do("POST", "/api/v1/callbacks/"+cb.ID+"/reschedule", e.agent2, map[string]any{"slot": t0.Add(-3 * time.Hour)}), 422, "slot")
	sunday := time.Date(2026, 5, 17, 3, 0, 0, 0, time.UTC) // 11:00 Sunday in Shanghai
	ae := e.wantError(e.do("POST", "/api/v1/callbacks/"+cb.ID+"/reschedule", e.agent2, map[string]any{"slot": sunday}), 422, "slot")
	if !strings.Contains(ae.Message, "opening hours") {
		t.Errorf("%+v", ae)
	}
	tue := time.Date(2026, 5, 12, 6, 30, 0, 0, time.UTC) // 14:30 Tuesday in Shanghai
	var cv CallbackView
	e.ok(200, e.do("POST", "/api/v1/callbacks/"+cb.ID+"/reschedule", e.agent2, map[string]any{"slot": tue})).json(t, &cv)
	if cv.ID != cb.ID || cv.Slot == nil || !cv.Slot.Equal(tue) || !cv.NextAttemptAt.Equal(tue) || !cv.ArrivedAt.Equal(cb.ArrivedAt) {
		t.Fatalf("rescheduled %+v", cv)
	}
	e.ok(200, e.do("POST", "/api/v1/callbacks/"+cb.ID+"/cancel", e.agent2, map[string]string{"reason": "customer called in"})).json(t, &cv)
	if cv.Status != "cancelled" || !strings.Contains(cv.LastResult, "customer called in") {
		t.Fatalf("%+v", cv)
	}
	e.wantError(e.do("POST", "/api/v1/callbacks/"+cb.ID+"/cancel", e.sup, map[string]string{}), 409, "")
	e.wantError(e.do("POST", "/api/v1/callbacks/"+cb.ID+"/reschedule", e.sup, map[string]any{"slot": tue}), 409, "")
	e.wantError(e.do("POST", "/api/v1/callbacks/none/cancel", e.sup, map[string]string{}), 404, "")
	e.ok(200, e.do("GET", "/api/v1/callbacks/"+other.ID, e.sup, nil))
	e.wantError(e.do("GET", "/api/v1/callbacks/"+other.ID, e.agent2, nil), 403, "")
}

func TestReportsAndStaffing(t *testing.T) {
	e := newEnv(t)
	for i, o := range []customers.Outcome{customers.OutcomeAnswered, customers.OutcomeAnswered, customers.OutcomeAbandoned} {
		q := t0.Add(time.Duration(i) * time.Minute)
		if _, err := e.store.AddContact(e.ctx, customers.Contact{Address: fmt.Sprintf("+861380000001%d", i), Queue: "support",
			StartedAt: q.Add(-10 * time.Second), QueuedAt: q, Wait: time.Duration(10+20*i) * time.Second, Talk: time.Minute, Outcome: o,
			AnsweredAt: q.Add(time.Duration(10+20*i) * time.Second), EndedAt: q.Add(2 * time.Minute)}); err != nil {
			t.Fatal(err)
		}
	}
	var rep ReportResponse
	e.ok(200, e.do("GET", "/api/v1/reports?from=2026-05-11&interval=1d&queue=support&tz=Asia/Shanghai", e.sup, nil)).json(t, &rep)
	if len(rep.Items) != 2 || rep.Items[0].Offered != 3 || rep.Items[0].Answered != 2 || rep.Items[1].Interval != "total" {
		t.Fatalf("%+v", rep.Items)
	}
	// SL = 1 answered within 20 s of 3 offered; AHT = (60 + 10 wrap-up) s.
	if sl := rep.Items[0].ServiceLevel; sl == nil || math.Abs(*sl-1.0/3) > 1e-12 || *rep.Items[0].AHT != 70 {
		t.Errorf("service level %v AHT %v", sl, rep.Items[0].AHT)
	}
	csv := e.ok(200, e.do("GET", "/api/v1/reports?from=2026-05-11&interval=1h&queue=support&tz=Asia/Shanghai&format=csv", e.sup, nil))
	lines := strings.Split(strings.TrimSpace(string(csv.body)), "\n")
	if csv.header.Get("Content-Type") != "text/csv; charset=utf-8" || len(lines) != 1+24+1 || !strings.HasPrefix(lines[11], "support,1h,2026-05-11T10:00:00+08:00,") {
		t.Fatalf("CSV %s\n%s", csv.header.Get("Content-Type"), csv.body)
	}
	e.wantError(e.do("GET", "/api/v1/reports", e.sup, nil), 400, "from")
	e.wantError(e.do("GET", "/api/v1/reports?from=2026-05-11&interval=5m", e.sup, nil), 400, "interval")
	e.wantError(e.do("GET", "/api/v1/reports?from=2026-05-11&queue=nope", e.sup, nil), 400, "queue")
	e.wantError(e.do("GET", "/api/v1/reports?from=2026-05-11&tz=Mars/Base", e.sup, nil), 400, "tz")
	e.wantError(e.do("GET", "/api/v1/reports?from=2026-05-11&to=2026-05-10", e.sup, nil), 400, "to")
	e.wantError(e.do("GET", "/api/v1/reports?from=2026-05-11&format=xml", e.sup, nil), 400, "format")
	e.wantError(e.do("GET", "/api/v1/reports?from=2020-01-01&to=2026-01-01&interval=15m", e.sup, nil), 400, "")

	var st StaffingView
	e.ok(200, e.do("GET", "/api/v1/staffing?calls=100&period=30m&aht=180s&target=80/20s", e.sup, nil)).json(t, &st)
	if st.Agents != 14 || st.TrafficErlangs != 10 || math.Abs(st.ServiceLevel-0.888) > 0.0005 {
		t.Fatalf("Erlang C reference: %+v", st)
	}
	e.ok(200, e.do("GET", "/api/v1/staffing?calls_per_hour=300&aht=4m&target=80/20s&shrinkage=30%25", e.sup, nil)).json(t, &st)
	if st.Agents != 25 || st.ScheduledAgents != 36 {
		t.Fatalf("%+v", st)
	}
	e.wantError(e.do("GET", "/api/v1/staffing?calls_per_hour=300", e.sup, nil), 400, "aht")
	e.wantError(e.do("GET", "/api/v1/staffing?aht=3m", e.sup, nil), 400, "calls_per_hour")
	e.wantError(e.do("GET", "/api/v1/staffing?calls_per_hour=-4&aht=3m", e.sup, nil), 400, "calls_per_hour")
	e.wantError(e.do("GET", "/api/v1/staffing?calls_per_hour=30&aht=3m&target=fast", e.sup, nil), 400, "target")
	e.wantError(e.do("GET", "/api/v1/staffing?calls_per_hour=30&aht=3m&shrinkage=120%25", e.sup, nil), 400, "shrinkage")
	e.wantError(e.do("GET", "/api/v1/staffing?calls=30&aht=3m", e.sup, nil), 400, "period")

	e.clk.Advance(24 * time.Hour) // Tuesday: Monday is in the last week
	var hp List[HourPlanView]
	e.ok(200, e.do("GET", "/api/v1/staffing/history?queue=support&weeks=1&tz=Asia/Shanghai&limit=168", e.sup, nil)).json(t, &hp)
	if len(hp.Items) != 168 || hp.Items[10].Weekday != "Monday" || hp.Items[10].Offered != 3 || hp.Items[10].Agents < 1 || hp.Items[11].Agents != 0 {
		t.Fatalf("history Monday 10:00 %+v, 11:00 %+v", hp.Items[10], hp.Items[11])
	}
	e.wantError(e.do("GET", "/api/v1/staffing/history", e.sup, nil), 400, "queue")
	e.wantError(e.do("GET", "/api/v1/staffing/history?queue=support&weeks=99", e.sup, nil), 400, "weeks")
}

func TestSamples(t *testing.T) {
	e := newEnv(t)
	var l List[Sample]
	e.ok(200, e.do("GET", "/api/v1/samples?queue=support", e.sup, nil)).json(t, &l)
	if len(l.Items) != 1 || l.Items[0].Queue != "support" || l.Items[0].Waiting != 0 {
		t.Fatalf("the sample taken at start: %+v", l.Items)
	}
	e.wantError(e.do("GET", "/api/v1/samples?since=noon", e.sup, nil), 400, "since")
}

func TestSessionsCookiesAndCSRF(t *testing.T) {
	e := newEnv(t)
	res, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Get(e.loginURL)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 303 || res.Header.Get("Location") != "/" {
		t.Fatalf("login link: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	var session *http.Cookie
	for _, c := range res.Cookies() {
		if c.Name == SessionCookie {
			session = c
		}
	}
	if session == nil || !session.HttpOnly || session.SameSite != http.SameSiteStrictMode || session.Secure {
		t.Fatalf("session cookie %+v: want HttpOnly, SameSite=Strict, not Secure on plain http", session)
	}
	// The link works once.
	r2, _ := http.Get(e.loginURL)
	r2.Body.Close()
	if r2.Request.URL.Fragment != "login-failed" && !strings.HasSuffix(r2.Request.URL.String(), "#login-failed") {
		t.Errorf("second use of the link ended at %s", r2.Request.URL)
	}
	// A browser session: me shows the first token once; changes need the CSRF header.
	e2 := newEnv(t)
	b := e2.browser()
	var me Me
	e2.ok(200, e2.doWith(b, "GET", "/api/v1/me", "", nil, nil)).json(t, &me)
	if me.Role != RoleSupervisor || !me.Session || !strings.HasPrefix(me.NewToken, "hl_") {
		t.Fatalf("me %+v", me)
	}
	if _, ok := e2.srv.Tokens().Verify(me.NewToken); !ok {
		t.Fatal("the revealed token does not work")
	}
	me = Me{}
	e2.ok(200, e2.doWith(b, "GET", "/api/v1/me", "", nil, nil)).json(t, &me)
	if me.NewToken != "" {
		t.Fatal("the first token was shown twice")
	}
	body := map[string]string{"action": "pause", "reason": "lunch"}
	ae := e2.wantError(e2.doWith(b, "POST", "/api/v1/agents/1001/actions", "", body, nil), 403, "")
	if ae.Code != "csrf" {
		t.Fatalf("%+v", ae)
	}
	e2.wantError(e2.doWith(b, "POST", "/api/v1/agents/1001/actions", "", body, map[string]string{CSRFHeader: "forged"}), 403, "")
	e2.wantError(e2.doWith(b, "POST", "/api/v1/agents/1001/actions", "", body, map[string]string{CSRFHeader: e2.csrf(b), "Origin": "http://evil.example"}), 403, "")
	e2.ok(200, e2.doWith(b, "POST", "/api/v1/agents/1001/actions", "", body, map[string]string{CSRFHeader: e2.csrf(b), "Origin": e2.ts.URL}))
	// Bearer tokens need no CSRF header.
	e2.ok(200, e2.do("POST", "/api/v1/agents/1001/actions", e2.sup, map[string]string{"action": "unpause"}))
	// Logging out ends the session.
	e2.ok(204, e2.doWith(b, "POST", "/logout", "", nil, map[string]string{CSRFHeader: e2.csrf(b)}))
	e2.wantError(e2.doWith(b, "GET", "/api/v1/me", "", nil, nil), 401, "")
	// A session dies with its token.
	b2 := http.Client{Jar: b.Jar}
	form := url.Values{"token": {e2.agent1}}
	res, err = b2.PostForm(e2.ts.URL+"/login", form)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	e2.ok(200, e2.doWith(&b2, "GET", "/api/v1/me", "", nil, nil)).json(t, &me)
	if me.Role != RoleAgent || me.Agent != "1001" {
		t.Fatalf("form login %+v", me)
	}
	tk, _ := e2.srv.Tokens().Verify(e2.agent1)
	if err := e2.srv.Tokens().Revoke(tk.ID); err != nil {
		t.Fatal(err)
	}
	e2.wantError(e2.doWith(&b2, "GET", "/api/v1/me", "", nil, nil), 401, "")
	e2.wantError(e2.do("GET", "/api/v1/me", e2.agent1, nil), 401, "")
}

func TestSecureCookieBehindHTTPS(t *testing.T) {
	e := newEnv(t)
	e.srv.publicURL = "https://hotline.example.com"
	res, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Get(e.loginURL)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	for _, c := range res.Cookies() {
		if !c.Secure {
			t.Errorf("cookie %s not Secure with an https public URL", c.Name)
		}
	}
	if res.Header.Get("Strict-Transport-Security") == "" {
		t.Error("no HSTS with an https public URL")
	}
}

func TestSecurityHeadersEverywhere(t *testing.T) {
	e := newEnv(t)
	for _, p := range []string{"/", "/assets/app.js", "/api/v1/openapi.json", "/api/v1/queues", "/nothing", "/login?code=x"} {
		res, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Get(e.ts.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		h := res.Header
		if !strings.Contains(h.Get("Content-Security-Policy"), "default-src 'self'") || !strings.Contains(h.Get("Content-Security-Policy"), "frame-ancestors 'none'") ||
			strings.Contains(h.Get("Content-Security-Policy"), "unsafe-inline") || h.Get("X-Frame-Options") != "DENY" ||
			h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") != "no-referrer" {
			t.Errorf("%s: headers %v", p, h)
		}
	}
	// The page has no inline script or style for the CSP to block.
	page := e.ok(200, e.do("GET", "/", "", nil))
	if regexp.MustCompile(`<script>|<script [^s]|style=|<style|onclick=`).Match(page.body) {
		t.Error("index.html has inline script or style")
	}
}

func TestTokensFile(t *testing.T) {
	dir := t.TempDir()
	a, err := OpenTokens(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := OpenTokens(dir, nil) // another process: hotline token create
	if err != nil {
		t.Fatal(err)
	}
	secret, tk, err := b.Create(RoleAgent, "1001", "phone app")
	if err != nil {
		t.Fatal(err)
	}
	a.mu.Lock()
	a.checked = time.Time{} // as if a second had passed
	a.mu.Unlock()
	if got, ok := a.Verify(secret); !ok || got.ID != tk.ID || got.Agent != "1001" {
		t.Fatalf("a token made by another process is not seen: %v %+v", ok, got)
	}
	st, err := os.Stat(filepath.Join(dir, TokensFile))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("tokens file mode %v, want 0600", st.Mode().Perm())
	}
	raw, _ := os.ReadFile(filepath.Join(dir, TokensFile))
	if strings.Contains(string(raw), secret) || strings.Contains(string(raw), secret[3:]) || !strings.Contains(string(raw), hashSecret(secret)) {
		t.Error("the tokens file must hold the SHA-256 of the secret, not the secret")
	}
	code, err := a.LoginCode(tk.ID, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(mustRead(t, filepath.Join(dir, TokensFile))), code) {
		t.Error("login code stored in clear")
	}
	if got, ok := b.Redeem(code); !ok || got.ID != tk.ID {
		t.Fatal("login code not redeemed")
	}
	if _, ok := a.Redeem(code); ok {
		t.Fatal("login code redeemed twice")
	}
	if _, _, err := a.Create(RoleAgent, "", ""); err == nil {
		t.Error("agent token without an agent")
	}
	if _, _, err := a.Create("admin", "", ""); err == nil {
		t.Error("unknown role accepted")
	}
	if err := a.Revoke("tk_nope"); err == nil {
		t.Error("revoking an unknown token")
	}
}

func mustRead(t *testing.T, p string) []byte {
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A restart with a supervisor token on file makes no new token and no login link.
func TestNoLoginLinkOnLaterStarts(t *testing.T) {
	e := newEnv(t)
	o := e.opts
	o.Live, o.Store, o.Clock = e.live, e.store, e.clk.Now
	s2, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if u, ok := s2.LoginURL(""); ok {
		t.Fatalf("second start printed a login link %s", u)
	}
	list, _ := s2.Tokens().List()
	n := 0
	for _, tk := range list {
		if tk.Role == RoleSupervisor {
			n++
		}
	}
	if n != 2 { // the first-start one and the test's
		t.Fatalf("%d supervisor tokens", n)
	}
}

func ptrTo[T any](v T) *T { return &v }
