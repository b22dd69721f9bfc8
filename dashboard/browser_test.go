package dashboard

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/customers"
	"github.com/hotline-cc/hotline/dashboard/browsertest"
)

// The supervisor's morning, in headless Chromium: log in with the printed link, watch a call
// arrive on the wallboard within a second, pause an agent with the button, play a voicemail.
// Screenshots go to testdata/artifacts/dashboard/.
func TestBrowserSupervisor(t *testing.T) {
	b := browsertest.Start(t)
	e := newEnv(t)
	e.live.d.Pause("1001", "training")
	e.live.d.Pause("1003", "meeting")
	// Earlier today: calls in the store, for the chart's 15-minute service-level bars.
	for i, wait := range []time.Duration{5, 12, 30, 8, 45, 10} {
		q := t0.Add(-90*time.Minute + time.Duration(i)*15*time.Minute)
		o := customers.OutcomeAnswered
		if wait > 40 {
			o = customers.OutcomeAbandoned
		}
		if _, err := e.store.AddContact(e.ctx, customers.Contact{Address: "+861390000000" + string(rune('0'+i)), Queue: "support",
			StartedAt: q, QueuedAt: q, Wait: wait * time.Second, Talk: time.Minute, Outcome: o}); err != nil {
			t.Fatal(err)
		}
	}

	if err := b.Login(e.loginURL); err != nil {
		t.Fatal(err)
	}
	if _, err := b.WaitText("#new-token", "hl_", 2*time.Second); err != nil {
		t.Fatalf("the first-start token is not shown: %v", err)
	}
	if _, err := b.WaitText(browsertest.QueueWaiting("sales"), "0", 3*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := b.WaitVisible(browsertest.Connection, 3*time.Second); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // the chart's data
	b.Screenshot("wallboard")

	// A caller joins the sales queue (nobody free there): the wallboard shows it within 1 s.
	start := time.Now()
	e.live.enqueue("call-1", "sales", "+8613800000009")
	took, err := b.WaitText(browsertest.QueueWaiting("sales"), "1", time.Second)
	if err != nil {
		t.Fatalf("the waiting caller did not appear on the wallboard within 1 s: %v", err)
	}
	t.Logf("the call appeared on the wallboard %v after it entered the queue (%v polling)", time.Since(start).Round(time.Millisecond), took.Round(time.Millisecond))
	b.Screenshot("call-waiting")
	// The caller's line is bad: 5 % of its packets lost, 62 ms of jitter. No event says so (the
	// center publishes none per packet): the calls view reads it from /api/v1/calls.
	e.live.setAudio("call-1", &CallAudio{Caller: &LegAudio{PacketsReceived: 950, PacketsLost: 50, LostRatio: 0.05, JitterMS: 62.4}})
	if err := b.ShowView("calls"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.WaitText(browsertest.CallRow("call-1"), "+8613800000009", time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := b.WaitText(browsertest.CallAudio("call-1", "caller")+".poor", "caller 5.0% · 62 ms", 2*time.Second); err != nil {
		t.Fatalf("the bad line is not shown as poor audio: %v", err)
	}
	var heard int
	if err := b.Eval(`document.querySelectorAll("#calls-table .audio-heard").length`, &heard); err != nil || heard != 0 {
		t.Errorf("%d legs show what the peer hears before any RTCP report (%v)", heard, err)
	}
	b.Screenshot("call-poor-audio")
	// The line recovers; the view refreshes itself every 5 s and the mark goes.
	e.live.setAudio("call-1", &CallAudio{Caller: &LegAudio{PacketsReceived: 1200, PacketsLost: 50, LostRatio: 0.015, JitterMS: 8}})
	if _, err := b.WaitText(browsertest.CallAudio("call-1", "caller"), "caller 1.5% · 8 ms", 7*time.Second); err != nil {
		t.Fatalf("the calls view did not refresh the audio figures: %v", err)
	}
	var poor int
	if err := b.Eval(`document.querySelectorAll("#calls-table .audio-leg.poor").length`, &poor); err != nil || poor != 0 {
		t.Errorf("%d legs still marked poor after the line recovered (%v)", poor, err)
	}
	// The caller's phone reports by RTCP that it hears hotline badly: 4 % of the last
	// interval's packets lost. What hotline receives is fine; the leg is poor all the same.
	// Opening the view again re-reads the calls at once.
	e.live.setAudio("call-1", &CallAudio{Caller: &LegAudio{PacketsReceived: 1500, PacketsLost: 50, LostRatio: 0.015, JitterMS: 8,
		HeardLostRatio: ptr(0.04), HeardJitterMS: ptr(20.4), RTTMS: ptr(80.2)}})
	if err := b.ShowView("calls"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.WaitText(browsertest.CallAudio("call-1", "caller")+".poor", "caller 1.5% · 8 ms, hears 4.0% · 20 ms · RTT 80 ms", 2*time.Second); err != nil {
		t.Fatalf("the caller's poor reception of hotline is not shown as poor audio: %v", err)
	}
	if got, err := b.Text(browsertest.CallAudioHeard("call-1", "caller")); err != nil || got != "hears 4.0% · 20 ms · RTT 80 ms" {
		t.Errorf("what the caller hears reads %q (%v)", got, err)
	}
	b.Screenshot("call-poor-heard-audio")

	// Bo's colleague Al (1001) has the caller now; the supervisor moves the call to billing
	// from the page, then puts the caller on hold and back.
	e.live.connect("call-1", "1001")
	if err := b.WaitVisible(browsertest.CallTransferTarget("call-1"), 2*time.Second); err != nil {
		t.Fatalf("no transfer control on the connected call: %v", err)
	}
	if err := b.SetValue(browsertest.CallTransferTarget("call-1"), "queue-billing"); err != nil {
		t.Fatal(err)
	}
	if err := b.Click(browsertest.CallButton("call-1", "transfer")); err != nil {
		t.Fatal(err)
	}
	for until := time.Now().Add(2 * time.Second); !slices.Contains(e.live.actionLog(), "transfer call-1 queue-billing") && time.Now().Before(until); {
		time.Sleep(20 * time.Millisecond)
	}
	if !slices.Contains(e.live.actionLog(), "transfer call-1 queue-billing") {
		t.Fatalf("the center got %v, want call-1 transferred to queue-billing", e.live.actionLog())
	}
	if err := b.Click(browsertest.CallButton("call-1", "hold")); err != nil {
		t.Fatal(err)
	}
	if _, err := b.WaitText(browsertest.CallRow("call-1"), "talking · on hold", 2*time.Second); err != nil {
		t.Fatalf("the held call does not say so: %v", err)
	}
	b.Screenshot("call-on-hold")
	if err := b.Click(browsertest.CallButton("call-1", "resume")); err != nil {
		t.Fatal(err)
	}
	if err := b.WaitVisible(browsertest.CallButton("call-1", "hold"), 2*time.Second); err != nil {
		t.Fatalf("resume did not bring the hold button back: %v", err)
	}

	// The supervisor pauses Bo (1002) for lunch with the button; the state changes on screen.
	if err := b.ShowView("agents"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.WaitText(browsertest.AgentState("1002"), "available", 2*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := b.SetValue(browsertest.AgentPauseReason("1002"), "lunch"); err != nil {
		t.Fatal(err)
	}
	if err := b.Click(browsertest.AgentButton("1002", "pause")); err != nil {
		t.Fatal(err)
	}
	if _, err := b.WaitText(browsertest.AgentState("1002"), "paused", 2*time.Second); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(e.live.actionLog(), "1002 pause lunch") {
		t.Fatalf("the center got %v, want 1002 paused for lunch", e.live.actionLog())
	}
	if reason, _ := b.Text(browsertest.AgentRow("1002") + " .reason-cell"); reason != "lunch" {
		t.Errorf("pause reason shown %q", reason)
	}
	b.Screenshot("agent-paused")
	if err := b.Click(browsertest.AgentButton("1002", "unpause")); err != nil {
		t.Fatal(err)
	}
	if _, err := b.WaitText(browsertest.AgentState("1002"), "available", 2*time.Second); err != nil {
		t.Fatal(err)
	}

	// A voicemail ticket: the supervisor opens it and plays the message in the page.
	tk := e.voicemail("+8613800000005")
	if err := b.ShowView("tickets"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.WaitText(browsertest.TicketRow(tk.Number), "Voicemail from +8613800000005", 3*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := b.Click(browsertest.TicketRow(tk.Number)); err != nil {
		t.Fatal(err)
	}
	if err := b.Click(browsertest.PlayVoicemail); err != nil {
		t.Fatal(err)
	}
	a, err := b.WaitAudioPlaying(browsertest.VoicemailAudio, 0.5, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if a.Duration < 2.9 || a.Duration > 3.1 {
		t.Errorf("the player reads %v s of audio, want the 3 s message", a.Duration)
	}
	b.Screenshot("voicemail-playing")

	// The audit view lists what the supervisor did: the pause, the voicemail played, the
	// transfer; filtered to call actions, only the call's.
	if err := b.ShowView("audit"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.WaitText(browsertest.AuditRow("agent.pause"), "1002", 2*time.Second); err != nil {
		t.Fatalf("the audit view does not list the pause: %v", err)
	}
	for action, want := range map[string]string{"recording.play": tk.Recording.ID, "call.transfer": "target=queue-billing"} {
		if got, err := b.Text(browsertest.AuditRow(action)); err != nil || !strings.Contains(got, want) || !strings.Contains(got, "127.0.0.1") {
			t.Errorf("the audit view's %s row reads %q (%v), want %s from 127.0.0.1", action, got, err, want)
		}
	}
	if err := b.SetValue(browsertest.AuditFilter("action"), "call."); err != nil {
		t.Fatal(err)
	}
	if err := b.Click(browsertest.AuditShow); err != nil {
		t.Fatal(err)
	}
	var other int
	for until := time.Now().Add(2 * time.Second); time.Now().Before(until); time.Sleep(20 * time.Millisecond) {
		if err := b.Eval(`[...document.querySelectorAll("#audit-table tbody tr")].filter(r => !r.dataset.action.startsWith("call.")).length`, &other); err == nil && other == 0 {
			break
		}
	}
	if other != 0 {
		t.Errorf("filtered to call actions, the audit view still lists %d others", other)
	}
	if _, err := b.WaitText(browsertest.AuditRow("call.hold"), "call-1", time.Second); err != nil {
		t.Errorf("the hold is not listed among the call actions: %v", err)
	}
	b.Screenshot("audit")

	// The same page in Chinese, and the flow drawn as a graph.
	if err := b.SetLanguage("zh"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.WaitText(`#nav button[data-view="wallboard"]`, "大屏", time.Second); err != nil {
		t.Fatal(err)
	}
	if err := b.ShowView("agents"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.WaitText(browsertest.AgentState("1001"), "暂停", time.Second); err != nil {
		t.Fatal(err)
	}
	b.Screenshot("agents-zh")
	if err := b.ShowView("flows"); err != nil {
		t.Fatal(err)
	}
	var width int
	deadline := time.Now().Add(3 * time.Second)
	for width == 0 && time.Now().Before(deadline) {
		b.Eval(`document.getElementById("flow-graph").naturalWidth`, &width)
		time.Sleep(50 * time.Millisecond)
	}
	if width == 0 {
		t.Error("the flow graph image did not load")
	}
	b.Screenshot("flow-graph")
	if err := b.ShowView("wallboard"); err != nil {
		t.Fatal(err)
	}
	if txt, _ := b.Text(browsertest.QueueCard("sales")); !strings.Contains(txt, "排队") {
		t.Errorf("wallboard card not in Chinese: %q", txt)
	}
	b.Screenshot("wallboard-zh")
}

// A used or wrong link shows the login form, never the dashboard.
func TestBrowserLoginLinkWorksOnce(t *testing.T) {
	b := browsertest.Start(t)
	e := newEnv(t)
	e.browser() // someone used the link already
	if err := b.Login(e.loginURL); err == nil || !strings.Contains(err.Error(), "login form") {
		t.Fatalf("a used link: %v", err)
	}
	if err := b.WaitVisible("#login-failed", time.Second); err != nil {
		t.Fatal(err)
	}
	b.Screenshot("login-failed")
}

// A transferred call on the customer's timeline: one contact, with each agent's part and how
// it ended.
func TestBrowserTimelineShowsAgentParts(t *testing.T) {
	b := browsertest.Start(t)
	e := newEnv(t)
	at := t0.Add(-time.Hour)
	if _, err := e.store.AddContact(e.ctx, customers.Contact{Address: "+8613900000077", Queue: "billing", Agent: "2001",
		StartedAt: at, QueuedAt: at, Talk: 5 * time.Minute, Outcome: customers.OutcomeAnswered, Events: []customers.Event{
			{At: at, Step: "agent", Node: "1001", Exit: "transferred to queue billing", DurationMS: 130000, Data: map[string]any{"hold_ms": 20000}},
			{At: at.Add(3 * time.Minute), Step: "agent", Node: "2001", Exit: "hangup", DurationMS: 185000},
		}}); err != nil {
		t.Fatal(err)
	}
	if err := b.Login(e.loginURL); err != nil {
		t.Fatal(err)
	}
	if err := b.ShowView("customer"); err != nil {
		t.Fatal(err)
	}
	if err := b.SetValue("#customer-q", "+8613900000077"); err != nil {
		t.Fatal(err)
	}
	if err := b.Click(`#customer-search button[type=submit]`); err != nil {
		t.Fatal(err)
	}
	if _, err := b.WaitText("#timeline .agent-parts", "→ transferred to queue billing", 3*time.Second); err != nil {
		t.Fatal(err)
	}
	text, _ := b.Text("#timeline .agent-parts")
	if !strings.Contains(text, "1001") || !strings.Contains(text, "2001") || !strings.Contains(text, "hold") {
		t.Errorf("the agent parts read %q", text)
	}
	b.Screenshot("timeline-transfer")
}

// On the customer page a supervisor adds an e-mail address, merges a second record in (the
// merge shows on the timeline) and erases the customer, all through the page's controls.
func TestBrowserCustomerIdentitiesMergeErase(t *testing.T) {
	b := browsertest.Start(t)
	e := newEnv(t)
	a, err := e.store.FindOrCreateByNumber(e.ctx, "+8613900000088")
	if err != nil {
		t.Fatal(err)
	}
	dup, err := e.store.FindOrCreateByNumber(e.ctx, "+8613900000089")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.AddContact(e.ctx, customers.Contact{CustomerID: dup.ID, Queue: "support", Outcome: customers.OutcomeAbandoned}); err != nil {
		t.Fatal(err)
	}
	if err := b.Login(e.loginURL); err != nil {
		t.Fatal(err)
	}
	var ok bool
	if err := b.Eval(`(window.confirm = function () { return true; }, true)`, &ok); err != nil {
		t.Fatal(err)
	}
	if err := b.ShowView("customer"); err != nil {
		t.Fatal(err)
	}
	if err := b.SetValue("#customer-q", "+8613900000088"); err != nil {
		t.Fatal(err)
	}
	if err := b.Click(`#customer-search button[type=submit]`); err != nil {
		t.Fatal(err)
	}
	if err := b.WaitVisible("#identity-add", 3*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := b.Eval(`(document.querySelector("#identity-kind").value = "email") === "email"`, &ok); err != nil {
		t.Fatal(err)
	}
	if err := b.SetValue("#identity-value", "Li@Example.com"); err != nil {
		t.Fatal(err)
	}
	if err := b.Click(`#identity-add button[type=submit]`); err != nil {
		t.Fatal(err)
	}
	if _, err := b.WaitText("#customer-card .identities", "email li@example.com", 3*time.Second); err != nil {
		t.Fatal(err)
	}
	if f, _ := e.store.ByEmail(e.ctx, "li@example.com"); f == nil || f.ID != a.ID {
		t.Fatalf("the page's identity did not reach the store: %+v", f)
	}
	if err := b.SetValue("#merge-from", dup.ID); err != nil {
		t.Fatal(err)
	}
	if err := b.Click(`#customer-merge button[type=submit]`); err != nil {
		t.Fatal(err)
	}
	if _, err := b.WaitText("#timeline", "Merged customer "+dup.ID, 3*time.Second); err != nil {
		t.Fatal(err)
	}
	b.Screenshot("customer-merged")
	if got, _ := e.store.Customer(e.ctx, dup.ID); got.ID != a.ID {
		t.Fatalf("after the merge the second record is %s", got.ID)
	}
	if err := b.Click("#customer-erase"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.WaitText("#customer-card .erased", "erased", 3*time.Second); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.store.Customer(e.ctx, a.ID); got.ErasedAt.IsZero() || len(got.Identities) != 0 {
		t.Errorf("after the page's erase: %+v", got)
	}
	b.Screenshot("customer-erased")
}
