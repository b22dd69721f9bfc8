package dashboard

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/audio"
	"github.com/hotline-cc/hotline/call"
	"github.com/hotline-cc/hotline/customers"
)

// newMonitorEnv is a dashboard with two supervisors configured and call c1 connected to
// agent 1001 in support, c2 queued in sales.
func newMonitorEnv(t *testing.T, opts func(*Options)) *env {
	e := newEnv(t)
	e.opts.Supervisors = []string{"9001", "9002"}
	if opts != nil {
		opts(&e.opts)
	}
	old := e.ts.URL
	e.restart()
	e.loginURL = e.ts.URL + strings.TrimPrefix(e.loginURL, old) // the code is in the tokens file
	e.live.enqueue("c1", "support", "+8613800000001")
	e.live.connect("c1", "1001")
	e.live.d.Pause("1002", "x")
	e.live.d.Pause("1003", "x")
	e.live.enqueue("c2", "sales", "+8613800000002")
	return e
}

func (e *env) auditActions(query string) []string {
	e.t.Helper()
	var l List[AuditView]
	e.ok(200, e.do("GET", "/api/v1/audit"+query, e.sup, nil)).json(e.t, &l)
	var out []string
	for _, a := range l.Items {
		out = append(out, a.Action+" "+a.Object+" "+a.Role)
	}
	return out
}

func TestMonitorCall(t *testing.T) {
	e := newMonitorEnv(t, nil)
	const path = "/api/v1/calls/c1/monitor"
	// Agents may not monitor, not even their own call.
	if ae := e.wantError(e.do("POST", path, e.agent1, MonitorRequest{Mode: call.Listen, Supervisor: "9001"}), 403, ""); !strings.Contains(ae.Message, "agent") {
		t.Errorf("403 message %q", ae.Message)
	}
	// Bad bodies name the field.
	e.wantError(e.do("POST", path, e.sup, map[string]string{"mode": "spy", "supervisor": "9001"}), 400, "mode")
	e.wantError(e.do("POST", path, e.sup, map[string]string{"supervisor": "9001"}), 400, "mode")
	if ae := e.wantError(e.do("POST", path, e.sup, map[string]string{"mode": "listen"}), 400, "supervisor"); !strings.Contains(ae.Message, "9001, 9002") {
		t.Errorf("missing supervisor: %q does not list the configured ones", ae.Message)
	}
	e.wantError(e.do("POST", path, e.sup, map[string]string{"mode": "listen", "supervisor": "9100"}), 422, "supervisor")
	e.wantError(e.do("POST", path, e.sup, map[string]string{"mode": "listen", "supervisor": "9001", "volume": "11"}), 400, "volume")
	// 9002 has no phone; a queued call has no agent to monitor; no such call.
	if ae := e.wantError(e.do("POST", path, e.sup, MonitorRequest{Mode: call.Listen, Supervisor: "9002"}), 409, "supervisor"); !strings.Contains(ae.Message, "supervisor 9002 has no registered phone") {
		t.Errorf("unreachable supervisor: %q", ae.Message)
	}
	if ae := e.wantError(e.do("POST", "/api/v1/calls/c2/monitor", e.sup, MonitorRequest{Mode: call.Listen, Supervisor: "9001"}), 409, ""); !strings.Contains(ae.Message, "not connected to an agent") {
		t.Errorf("a queued call: %q", ae.Message)
	}
	e.wantError(e.do("POST", "/api/v1/calls/nope/monitor", e.sup, MonitorRequest{Mode: call.Listen, Supervisor: "9001"}), 404, "")

	var c LiveCall
	e.ok(200, e.do("POST", path, e.sup, MonitorRequest{Mode: call.Listen, Supervisor: "9001"})).json(t, &c)
	if c.Monitor == nil || c.Monitor.Supervisor != "9001" || c.Monitor.Mode != call.Listen {
		t.Fatalf("the call after monitor: %+v", c)
	}
	supTok, _ := e.srv.Tokens().Verify(e.sup)
	if a := e.live.mon.actors; len(a) != 1 || a[0].TokenID != supTok.ID || a[0].Role != RoleSupervisor || a[0].Name != supTok.Name {
		t.Errorf("the center was told the actor %+v, want token %s", a, supTok.ID)
	}
	// One supervisor per call.
	if ae := e.wantError(e.do("POST", path, e.sup, MonitorRequest{Mode: call.Barge, Supervisor: "9001"}), 409, ""); ae.Code != "monitored" {
		t.Errorf("a second monitor: %+v", ae)
	}
	e.ok(200, e.do("PATCH", path, e.sup, MonitorPatch{Mode: call.Whisper})).json(t, &c)
	if c.Monitor == nil || c.Monitor.Mode != call.Whisper {
		t.Errorf("after whisper: %+v", c.Monitor)
	}
	e.wantError(e.do("PATCH", path, e.sup, map[string]string{"mode": "shout"}), 400, "mode")
	e.wantError(e.do("PATCH", path, e.agent1, MonitorPatch{Mode: call.Barge}), 403, "")
	e.wantError(e.do("DELETE", path, e.agent1, nil), 403, "")
	e.clk.Advance(90 * time.Second)
	c = LiveCall{}
	e.ok(200, e.do("DELETE", path, e.sup, nil)).json(t, &c)
	if c.Monitor != nil || c.State != CallConnected {
		t.Errorf("after stop: %+v", c)
	}
	if ae := e.wantError(e.do("DELETE", path, e.sup, nil), 409, ""); ae.Code != "not_monitored" {
		t.Errorf("stopping twice: %+v", ae)
	}
	// The call hangs up as the supervisor's phone answers.
	e.live.mon.endOnMonitor = map[string]bool{"c1": true}
	if ae := e.wantError(e.do("POST", path, e.sup, MonitorRequest{Mode: call.Listen, Supervisor: "9001"}), 409, ""); !strings.Contains(ae.Message, "the call just ended") {
		t.Errorf("a call that just ended: %q", ae.Message)
	}
	got := e.auditActions("?action=monitor.")
	want := []string{"monitor.stop c1 supervisor", "monitor.mode c1 supervisor", "monitor.start c1 supervisor"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("audit %v, want %v", got, want)
	}
	var l List[AuditView]
	e.ok(200, e.do("GET", "/api/v1/audit?action=monitor.stop", e.sup, nil)).json(t, &l)
	if d := l.Items[0].Detail; d["duration_ms"] != float64(90000) || d["mode"] != "whisper" || d["supervisor"] != "9001" || l.Items[0].Actor != supTok.ID {
		t.Errorf("monitor.stop entry: %+v", l.Items[0])
	}
	e.wantError(e.do("GET", "/api/v1/audit", e.agent1, nil), 403, "")
	e.wantError(e.do("GET", "/api/v1/audit", e.integ, nil), 403, "")
	e.wantError(e.do("GET", "/api/v1/audit?since=yesterday", e.sup, nil), 400, "since")
}

// With one supervisor configured the supervisor may be left out; /me lists them.
func TestMonitorOneSupervisor(t *testing.T) {
	e := newMonitorEnv(t, func(o *Options) { o.Supervisors = []string{"9001"} })
	var me Me
	e.ok(200, e.do("GET", "/api/v1/me", e.sup, nil)).json(t, &me)
	if fmt.Sprint(me.Supervisors) != "[9001]" {
		t.Errorf("me.supervisors = %v", me.Supervisors)
	}
	var c LiveCall
	e.ok(200, e.do("POST", "/api/v1/calls/c1/monitor", e.sup, map[string]string{"mode": "barge"})).json(t, &c)
	if c.Monitor == nil || c.Monitor.Supervisor != "9001" || c.Monitor.Mode != call.Barge {
		t.Errorf("monitor: %+v", c.Monitor)
	}
}

func TestRecordingControls(t *testing.T) {
	e := newMonitorEnv(t, nil)
	const path = "/api/v1/calls/c1/recording"
	var r RecordingResult
	e.ok(200, e.do("POST", path, e.agent1, RecordingRequest{Action: RecordingStart})).json(t, &r) // 1001's own call
	if !r.Changed || r.Call.Recording != RecordingOn {
		t.Errorf("start: %+v", r)
	}
	e.ok(200, e.do("POST", path, e.sup, RecordingRequest{Action: RecordingStart})).json(t, &r)
	if r.Changed || r.Call.Recording != RecordingOn {
		t.Errorf("starting again: %+v, want unchanged", r)
	}
	e.ok(200, e.do("POST", path, e.sup, RecordingRequest{Action: RecordingPause})).json(t, &r)
	if !r.Changed || r.Call.Recording != RecordingPaused {
		t.Errorf("pause: %+v", r)
	}
	if ae := e.wantError(e.do("POST", path, e.agent2, RecordingRequest{Action: RecordingResume}), 403, ""); !strings.Contains(ae.Message, "1002") {
		t.Errorf("another agent's call: %q", ae.Message)
	}
	e.wantError(e.do("POST", path, e.integ, RecordingRequest{Action: RecordingResume}), 403, "")
	e.wantError(e.do("POST", path, e.sup, map[string]string{"action": "rewind"}), 400, "action")
	e.wantError(e.do("POST", path, e.sup, map[string]string{}), 400, "action")
	e.wantError(e.do("POST", path, e.sup, "not json"), 400, "body")
	e.live.connect("c2", "1003")
	if ae := e.wantError(e.do("POST", "/api/v1/calls/c2/recording", e.sup, RecordingRequest{Action: RecordingStart}), 409, "action"); ae.Code != "recording_policy" || !strings.Contains(ae.Message, "never records") {
		t.Errorf("starting on a never queue: %+v", ae)
	}
	e.live.hangup("c1")
	e.wantError(e.do("POST", path, e.sup, RecordingRequest{Action: RecordingResume}), 404, "")
	got := e.auditActions("?action=recording.")
	want := []string{"recording.pause c1 supervisor", "recording.start c1 supervisor", "recording.start c1 agent"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("audit %v, want %v", got, want)
	}
}

// Agent tokens see who monitors their call unless the dashboard hides it.
func TestMonitorSeenByAgents(t *testing.T) {
	for _, hide := range []bool{false, true} {
		e := newMonitorEnv(t, func(o *Options) { o.HideMonitorFromAgents = hide })
		e.ok(200, e.do("POST", "/api/v1/calls/c1/monitor", e.sup, MonitorRequest{Mode: call.Listen, Supervisor: "9001"}))
		var c LiveCall
		e.ok(200, e.do("POST", "/api/v1/calls/c1/hold", e.agent1, nil)).json(t, &c)
		if (c.Monitor == nil) != hide {
			t.Errorf("HideMonitorFromAgents %v: the agent sees monitor %+v", hide, c.Monitor)
		}
		var r RecordingResult
		e.ok(200, e.do("POST", "/api/v1/calls/c1/recording", e.agent1, RecordingRequest{Action: RecordingStart})).json(t, &r)
		if (r.Call.Monitor == nil) != hide {
			t.Errorf("HideMonitorFromAgents %v: the recording answer shows monitor %+v", hide, r.Call.Monitor)
		}
		e.ok(200, e.do("POST", "/api/v1/calls/c1/hold", e.sup, nil)).json(t, &c)
		if c.Monitor == nil {
			t.Error("the supervisor does not see the monitor")
		}
	}
}

// conversationRecording files a 3 s recording of a call with 1001 and 1002, paused 1-1.5 s.
func (e *env) conversationRecording(number string) customers.RecordingInfo {
	e.t.Helper()
	c, err := e.store.FindOrCreateByNumber(e.ctx, number)
	if err != nil {
		e.t.Fatal(err)
	}
	ct, err := e.store.AddContact(e.ctx, customers.Contact{CustomerID: c.ID, CallID: "c9", Queue: "support", Agent: "1002",
		StartedAt: e.clk.Now().Add(-time.Minute), Outcome: customers.OutcomeAnswered})
	if err != nil {
		e.t.Fatal(err)
	}
	p, err := e.store.BeginCallRecording(e.ctx, customers.CallRecordingMeta{CallID: "c9", ContactID: ct.ID, Queue: "support", RetainDays: 30})
	if err != nil {
		e.t.Fatal(err)
	}
	pcm := make([]int16, 2*3*audio.SampleRate)
	for i := range pcm {
		pcm[i] = int16((i / 20 % 2) * 6000)
	}
	if err := os.WriteFile(p.Path(), audio.EncodeWAV(audio.SampleRate, 2, pcm), 0o640); err != nil {
		e.t.Fatal(err)
	}
	ri, err := p.Finish(e.ctx, customers.FinishedRecording{Duration: 3 * time.Second, Agents: []string{"1001", "1002"},
		Paused: []call.Span{{Start: time.Second, End: 1500 * time.Millisecond}}, Incomplete: true})
	if err != nil {
		e.t.Fatal(err)
	}
	return ri
}

func TestCallRecordingAccessIsAudited(t *testing.T) {
	e := newEnv(t)
	ri := e.conversationRecording("+8613800000031")
	url := "/api/v1/recordings/" + ri.ID
	// Agents and integrations may not play conversations, even with a ticket for the customer.
	if _, err := e.store.CreateTicket(e.ctx, customers.NewTicket{CustomerID: ri.CustomerID, Subject: "follow up", Assignee: "1001"}); err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{e.agent1, e.integ} {
		for _, q := range []string{"", "?download=1"} {
			ae := e.wantError(e.do("GET", url+q, tok, nil), 403, "")
			if !strings.Contains(ae.Message, "supervisors only") {
				t.Errorf("403 message %q", ae.Message)
			}
		}
	}
	play := e.ok(200, e.do("GET", url, e.sup, nil))
	if play.header.Get("Content-Disposition") != `inline; filename="`+ri.ID+`.wav"` || int64(len(play.body)) != ri.Size || play.header.Get("Content-Type") != "audio/wav" {
		t.Errorf("play: %d bytes, %v", len(play.body), play.header)
	}
	dl := e.ok(200, e.do("GET", url+"?download=1", e.sup, nil))
	if dl.header.Get("Content-Disposition") != `attachment; filename="`+ri.ID+`.wav"` || !bytes.Equal(dl.body, play.body) {
		t.Errorf("download: %v", dl.header)
	}
	e.wantError(e.do("GET", url+"?download=yes", e.sup, nil), 400, "download")
	// A player: the first range is audited, the seeks and continuations are not, nor HEAD.
	first := e.ok(206, e.doWith(http.DefaultClient, "GET", url, e.sup, nil, map[string]string{"Range": "bytes=0-1023"}))
	if len(first.body) != 1024 {
		t.Errorf("range 0-1023: %d bytes", len(first.body))
	}
	rest := e.ok(206, e.doWith(http.DefaultClient, "GET", url, e.sup, nil, map[string]string{"Range": "bytes=1024-"}))
	if !bytes.Equal(append(first.body, rest.body...), play.body) {
		t.Error("the two ranges are not the file")
	}
	e.ok(200, e.do("HEAD", url, e.sup, nil))
	got := e.auditActions("?object=" + ri.ID)
	want := []string{"recording.play " + ri.ID + " supervisor", "recording.download " + ri.ID + " supervisor", "recording.play " + ri.ID + " supervisor"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("audit of the recording: %v, want %v (refused requests, seeks and HEAD not audited)", got, want)
	}
	supTok, _ := e.srv.Tokens().Verify(e.sup)
	var l List[AuditView]
	e.ok(200, e.do("GET", "/api/v1/audit?action=recording.download&actor="+supTok.ID, e.sup, nil)).json(t, &l)
	if len(l.Items) != 1 || l.Items[0].Detail["kind"] != "call" || l.Items[0].Detail["name"] != supTok.Name {
		t.Errorf("download entry: %+v", l.Items)
	}
	// A voicemail is audited too, and agents still play their tickets' voicemails.
	vm := e.voicemail("+8613800000032")
	e.store.UpdateTicket(e.ctx, vm.ID, customers.TicketUpdate{Assignee: ptr("1001")})
	e.ok(200, e.do("GET", "/api/v1/recordings/"+vm.Recording.ID, e.agent1, nil))
	if got := e.auditActions("?object=" + vm.Recording.ID); len(got) != 1 || got[0] != "recording.play "+vm.Recording.ID+" agent" {
		t.Errorf("voicemail audit: %v", got)
	}
}

// The recordings list and the customer's timeline show a conversation with all it is known
// by; only supervisors get its URLs.
func TestRecordingsListAndTimeline(t *testing.T) {
	e := newEnv(t)
	ri := e.conversationRecording("+8613800000034")
	e.clk.Advance(time.Second)
	vm := e.voicemail("+8613800000034")
	var l List[RecordingView]
	e.ok(200, e.do("GET", "/api/v1/recordings?customer="+ri.CustomerID+"&kind=call", e.sup, nil)).json(t, &l)
	if len(l.Items) != 1 {
		t.Fatalf("call recordings of the customer: %+v", l.Items)
	}
	r := l.Items[0]
	if r.ID != ri.ID || r.Kind != "call" || r.CallID != "c9" || r.Queue != "support" || fmt.Sprint(r.Agents) != "[1001 1002]" || !r.Incomplete ||
		len(r.Paused) != 1 || r.Paused[0] != (SpanView{1000, 1500}) || r.SHA256 != ri.SHA256 || r.Size != ri.Size || r.DurationSeconds != 3 ||
		r.RetainUntil == nil || r.DownloadURL != "/api/v1/recordings/"+ri.ID+"?download=1" || r.ContactID != ri.ContactID {
		t.Errorf("listed recording: %+v", r)
	}
	e.ok(200, e.do("GET", "/api/v1/recordings?contact="+ri.ContactID, e.sup, nil)).json(t, &l)
	if len(l.Items) != 1 || l.Items[0].ID != ri.ID {
		t.Errorf("by contact: %+v", l.Items)
	}
	var all List[RecordingView]
	e.ok(200, e.do("GET", "/api/v1/recordings?customer="+ri.CustomerID, e.sup, nil)).json(t, &all)
	if l := all; len(l.Items) != 2 || l.Items[0].ID != vm.Recording.ID {
		t.Errorf("all the customer's recordings: %+v", l.Items)
	}
	e.wantError(e.do("GET", "/api/v1/recordings?kind=music", e.sup, nil), 400, "kind")
	e.wantError(e.do("GET", "/api/v1/recordings", e.agent1, nil), 403, "")
	e.wantError(e.do("GET", "/api/v1/recordings", e.integ, nil), 403, "")

	var tl List[TimelineEntryView]
	e.ok(200, e.do("GET", "/api/v1/customers/"+ri.CustomerID+"/timeline", e.sup, nil)).json(t, &tl)
	var rec *RecordingView
	for _, en := range tl.Items {
		if en.Kind == "recording" {
			rec = en.Recording
		}
	}
	if rec == nil || rec.URL == "" || !rec.Incomplete {
		t.Fatalf("the timeline's recording: %+v", rec)
	}
	// An agent with a ticket for the customer sees the entry, without a way to play it.
	e.store.UpdateTicket(e.ctx, vm.ID, customers.TicketUpdate{Assignee: ptr("1001")})
	var atl List[TimelineEntryView] // a fresh one: decoding into tl would keep its old fields
	e.ok(200, e.do("GET", "/api/v1/customers/"+ri.CustomerID+"/timeline", e.agent1, nil)).json(t, &atl)
	for _, en := range atl.Items {
		if en.Kind == "recording" && (en.Recording.URL != "" || en.Recording.DownloadURL != "") {
			t.Errorf("an agent gets the call recording's URLs: %+v", en.Recording)
		}
	}
}
