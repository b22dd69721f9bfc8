package center

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/acd"
	"github.com/hotline-cc/hotline/audio"
	"github.com/hotline-cc/hotline/call"
	"github.com/hotline-cc/hotline/config"
	"github.com/hotline-cc/hotline/customers"
	"github.com/hotline-cc/hotline/dashboard"
	"github.com/hotline-cc/hotline/dashboard/browsertest"
	"github.com/hotline-cc/hotline/internal/sipptest"
)

// deskFlow sets what the caller wants (a variable the screen-pop shows) and queues them.
const deskFlow = `description: Support through the agent desktop (desk end-to-end tests)
language: en
start: why
nodes:
  why:
    set:
      reason: '"invoice"'
    next: wait
  wait:
    queue:
      name: support
    on:
      answered: bye
      timeout: bye
      full: bye
      no_agents: bye
      callback: bye
      voicemail: bye
      error: bye
  bye:
    hangup: {}
`

// deskSupport: the desk flow, support rung for 15 s, a long wrap-up (the form ends it), ICE
// and DTLS given 3 s.
func deskSupport(t *testing.T) func(*config.Config) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "direct.yaml"), []byte(deskFlow), 0o644); err != nil {
		t.Fatal(err)
	}
	return func(c *config.Config) {
		c.Flows.Dir, c.Flows.Entry, c.SIP.DefaultEntry = dir, "direct", "direct"
		c.Desk.ConnectTimeout = config.Duration(3 * time.Second)
		for i := range c.Queues {
			if c.Queues[i].Name == "support" {
				q := &c.Queues[i]
				q.Strategy = "longest-idle"
				q.RingTimeout = config.Duration(15 * time.Second)
				q.WrapUp = config.Duration(2 * time.Minute)
				q.AnnounceEvery = 0
				q.CallbackAfter = 0
				q.MaxWait = config.Duration(2 * time.Minute)
				q.Dispositions = []string{"resolved", "follow-up", "escalated", "wrong-number"}
			}
		}
	}
}

// desk is one agent's page in a real Chromium whose microphone speaks a tone.
type desk struct {
	b     *browsertest.Browser
	h     *hotline
	agent string
	token string // the agent token's secret, for API calls the test makes as the agent
}

func openDesk(t *testing.T, h *hotline, agent string, toneHz int) *desk {
	t.Helper()
	wav := filepath.Join(t.TempDir(), "mic.wav")
	if err := os.WriteFile(wav, audio.EncodeWAV(48000, 1, audio.Tone(float64(toneHz), 48000, 9000, 48000*20)), 0o644); err != nil {
		t.Fatal(err)
	}
	b := browsertest.Start(t, browsertest.WithFakeMicrophone(wav), browsertest.WithTimeout(4*time.Minute))
	secret, tk, err := h.dash.Tokens().Create(dashboard.RoleAgent, agent, "desk test")
	if err != nil {
		t.Fatal(err)
	}
	code, err := h.dash.Tokens().LoginCode(tk.ID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Login("http://" + h.httpAddr + "/login?code=" + code); err != nil {
		t.Fatal(err)
	}
	var path string
	if err := b.Eval(`location.pathname`, &path); err != nil || path != "/agent" {
		t.Fatalf("an agent's login landed on %q (%v), want the agent desktop /agent", path, err)
	}
	return &desk{b: b, h: h, agent: agent, token: secret}
}

// phoneOn turns the browser phone on and waits until the agent is available through it.
func (d *desk) phoneOn(t *testing.T) {
	t.Helper()
	if err := d.b.Click("#btn-phone"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.b.WaitText("#phone-state", "phone ready", 10*time.Second); err != nil {
		t.Fatal(err)
	}
	waitAgent(t, d.h, d.agent, acd.Available, 10*time.Second)
}

func waitAgent(t *testing.T, h *hotline, agent string, want acd.AgentState, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		st, _ := h.ACD().AgentState(agent)
		if st == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("agent %s is %s after %v, want %s", agent, st, timeout, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// api calls the hotline API as the desk's agent.
func (d *desk) api(t *testing.T, method, path string, body any) (int, map[string]any) {
	t.Helper()
	var rd *strings.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = strings.NewReader(string(b))
	} else {
		rd = strings.NewReader("")
	}
	req, _ := http.NewRequest(method, "http://"+d.h.httpAddr+path, rd)
	req.Header.Set("Authorization", "Bearer "+d.token)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(res.Body).Decode(&out)
	return res.StatusCode, out
}

// phoneStats is the page's getStats() of its call, as agent.js publishes it.
type phoneStats struct {
	PacketsReceived, PacketsLost, PacketsSent float64
	AudioLevel, Jitter                        float64
}

func (d *desk) stats(t *testing.T) phoneStats {
	t.Helper()
	var st phoneStats
	if err := d.b.Eval(`window.hotlineDesk.phone.stats || {}`, &st); err != nil {
		t.Fatal(err)
	}
	return st
}

func knownCustomer(t *testing.T, h *hotline, number string) customers.Customer {
	t.Helper()
	ctx := context.Background()
	st := h.Store()
	c, err := st.FindOrCreateByNumber(ctx, number)
	if err != nil {
		t.Fatal(err)
	}
	name, tier, vip, lang := "Wang Fang", "gold", true, "zh"
	if c, err = st.UpdateCustomer(ctx, c.ID, customers.CustomerUpdate{Name: &name, Tier: &tier, VIP: &vip, Language: &lang}); err != nil {
		t.Fatal(err)
	}
	if err := st.LinkAccount(ctx, c.ID, "778899"); err != nil {
		t.Fatal(err)
	}
	at := time.Now().Add(-26 * time.Hour)
	if _, err := st.AddContact(ctx, customers.Contact{CustomerID: c.ID, Channel: customers.ChannelChat, Direction: customers.Inbound,
		Address: number, Queue: "support", Agent: "1002", StartedAt: at, AnsweredAt: at.Add(time.Minute), EndedAt: at.Add(6 * time.Minute),
		Outcome: customers.OutcomeAnswered}); err != nil {
		t.Fatal(err)
	}
	return c
}

// Issue 13: a known customer calls from a real softphone; the agent's page shows who it is
// before answering, the agent answers in the browser, each hears the other's tone, the agent
// hangs up in the page and files a disposition that ends wrap-up and lands on the timeline.
func TestAgentDesktopWithBrowserPhone(t *testing.T) {
	h := startHotline(t, deskSupport(t))
	cust := knownCustomer(t, h, "+8613800000088")
	d := openDesk(t, h, "1001", 1000)
	d.phoneOn(t)

	callerHeard := runBaresip(t, baresipPhone{User: "+8613800000088", Registrar: h.sipAddr, Tone: 440, Dial: "sip:hotline@" + h.sipAddr})
	// The offer: the screen-pop shows the customer and their last contact before anyone answers.
	if _, err := d.b.WaitText("#customer", "Wang Fang", 15*time.Second); err != nil {
		t.Fatal(err)
	}
	for sel, want := range map[string]string{"#customer": "778899", "#pop-contacts": "chat", "#ivr-vars": "invoice", "#call-state": "ringing"} {
		if _, err := d.b.WaitText(sel, want, 5*time.Second); err != nil {
			text, _ := d.b.Text(sel)
			t.Errorf("screen-pop %s = %q, want it to show %q: %v", sel, text, want, err)
		}
	}
	var calls []call.Live
	for _, l := range h.calls.Calls() {
		calls = append(calls, l)
	}
	if len(calls) != 1 || calls[0].State != call.StateRinging || calls[0].CustomerID != cust.ID {
		t.Fatalf("live calls at the offer %+v, want one ringing call of customer %s", calls, cust.ID)
	}
	callID := calls[0].ID
	// Another agent may not read this call's screen-pop.
	other := &desk{h: h, agent: "1002"}
	other.token, _, _ = h.dash.Tokens().Create(dashboard.RoleAgent, "1002", "other")
	if code, _ := other.api(t, "GET", "/api/v1/calls/"+callID+"/screen", nil); code != http.StatusForbidden {
		t.Errorf("another agent's screen-pop: %d, want 403", code)
	}
	if _, err := d.b.Screenshot("desk-offer"); err != nil {
		t.Log(err)
	}
	if err := d.b.WaitEnabled("#btn-answer", 10*time.Second); err != nil {
		t.Fatal(err)
	}
	tAnswer := time.Now()
	if err := d.b.Click("#btn-answer"); err != nil {
		t.Fatal(err)
	}
	waitJournal(t, h, "answered 1001", 10*time.Second)
	if _, err := d.b.WaitText("#call-state", "connected", 5*time.Second); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Second)
	st := d.stats(t)
	if st.PacketsReceived < 150 || st.AudioLevel < 0.01 {
		t.Errorf("the page received %v packets at audio level %v in 5 s of call, want ≥ 150 packets and sound", st.PacketsReceived, st.AudioLevel)
	}
	live := h.calls.Get(callID).Live()
	if live.CallerMedia == nil || live.CallerMedia.PacketsSent < 150 || live.AgentMedia == nil || live.AgentMedia.PacketsReceived < 150 {
		t.Errorf("hotline's legs after 5 s: caller %+v, agent %+v; want ≥ 150 packets to the caller and from the browser", live.CallerMedia, live.AgentMedia)
	}
	if _, err := d.b.Screenshot("desk-in-call"); err != nil {
		t.Log(err)
	}
	t.Logf("in call: page received %.0f packets (lost %.0f, level %.2f), sent %.0f; hotline sent the caller %d, received %d from the page",
		st.PacketsReceived, st.PacketsLost, st.AudioLevel, st.PacketsSent, live.CallerMedia.PacketsSent, live.AgentMedia.PacketsReceived)

	// Hang up in the page: the caller's flow ends, the wrap-up form opens.
	tHangup := time.Now()
	if err := d.b.Click("#btn-hangup"); err != nil {
		t.Fatal(err)
	}
	rec := h.waitCalls(t, 1, 20*time.Second)[0]
	if err := d.b.WaitVisible("#wrapup", 5*time.Second); err != nil {
		t.Fatal(err)
	}
	waitAgent(t, h, "1001", acd.WrapUp, 5*time.Second)
	if _, err := d.b.Screenshot("desk-wrap-up"); err != nil {
		t.Log(err)
	}
	// The caller heard the page's 1000 Hz from the answer to the hangup.
	pcm := baresipHeard(t, callerHeard)
	talk := tHangup.Sub(tAnswer)
	start := time.Duration(len(pcm))*time.Second/8000 - talk - time.Second // the dump ends about when the caller hung up
	tones := tonesIn(pcm, start+time.Second, start+talk-500*time.Millisecond, 1000, 440)
	if tones[1000] < 0.3 {
		t.Errorf("the caller heard 1000 Hz at %.2f of the level while talking to the page (dump %v long, talk %v), want the page's tone", tones[1000], time.Duration(len(pcm))*time.Second/8000, talk)
	}
	t.Logf("caller heard the page: 1000 Hz %.2f, own 440 Hz %.4f; record %s", tones[1000], tones[440], rec.Outcome)

	// Bad wrap-ups first: a code the queue does not have, a call that was not theirs.
	if code, body := d.api(t, "POST", "/api/v1/calls/"+callID+"/wrapup", map[string]string{"code": "sold"}); code != http.StatusUnprocessableEntity ||
		!strings.Contains(fmt.Sprint(body), "sold") {
		t.Errorf("an unknown disposition: %d %v, want 422 naming it", code, body)
	}
	if code, _ := other.api(t, "POST", "/api/v1/calls/"+callID+"/wrapup", map[string]string{"code": "resolved"}); code != http.StatusForbidden {
		t.Errorf("another agent's wrap-up of the call: %d, want 403", code)
	}
	const dispSeries = `hotline_wrapup_dispositions_total{agent="1001",code="follow-up",queue="support"}`
	var dispBefore float64 // the counter is the process's: -count=N runs add up
	if m := h.metrics(t); strings.Contains(m, dispSeries+" ") {
		dispBefore = metricValue(t, m, dispSeries)
	}
	if err := d.b.SetValue("#wrapup-code", "follow-up"); err != nil {
		t.Fatal(err)
	}
	if err := d.b.SetValue("#wrapup-note", "sends the invoice again"); err != nil {
		t.Fatal(err)
	}
	if err := d.b.Click("#btn-wrapup"); err != nil {
		t.Fatal(err)
	}
	waitAgent(t, h, "1001", acd.Available, 5*time.Second) // the form ended wrap-up, two minutes early
	tl, err := h.Store().Timeline(context.Background(), cust.ID)
	if err != nil {
		t.Fatal(err)
	}
	var disp *customers.Disposition
	for _, e := range tl {
		if e.Disposition != nil {
			disp = e.Disposition
		}
	}
	if disp == nil || disp.Code != "follow-up" || disp.Note != "sends the invoice again" || disp.Agent != "1001" || disp.Queue != "support" {
		t.Errorf("the customer's timeline disposition %+v, want 1001's follow-up with its note", disp)
	}
	if got := metricValue(t, h.metrics(t), dispSeries) - dispBefore; got != 1 {
		t.Errorf("/metrics counted %v dispositions of the call, want 1", got)
	}
}

// Issue 13 item 7: the page goes away mid-call (the tab closed): the caller goes back in line
// and hears the queue, the agent is not left on a call, the contact says what happened; and
// an offer whose ICE fails moves on to the next agent (a softphone) within the ring timeout.
func TestBrowserPhoneLostAndICEFailure(t *testing.T) {
	h := startHotline(t, deskSupport(t))
	d := openDesk(t, h, "1001", 1000)
	d.phoneOn(t)
	runBaresip(t, baresipPhone{Registrar: h.sipAddr, User: "1002", Password: "1002-demo", Tone: 2000})
	waitAgent(t, h, "1002", acd.Available, 10*time.Second)
	ctx := context.Background()
	if err := h.live.AgentAction(ctx, "1002", dashboard.ActionPause, "test"); err != nil { // the first call goes to the page
		t.Fatal(err)
	}
	runBaresip(t, baresipPhone{User: "+8613800000089", Registrar: h.sipAddr, Tone: 440, Dial: "sip:hotline@" + h.sipAddr})
	if err := d.b.WaitEnabled("#btn-answer", 15*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := d.b.Click("#btn-answer"); err != nil {
		t.Fatal(err)
	}
	callID := waitJournal(t, h, "answered 1001", 10*time.Second)
	time.Sleep(2 * time.Second)
	tGone := time.Now()
	if err := d.b.Open("about:blank"); err != nil { // the tab goes away: page unloaded, its connections closed
		t.Fatal(err)
	}
	// Back in line within the ICE timeouts, hearing the queue, not silence.
	deadline := time.Now().Add(10 * time.Second)
	for {
		j := h.calls.Get(callID)
		if j == nil {
			t.Fatal("the caller's call ended when the agent's page went away; want them back in line")
		}
		if l := j.Live(); l.State == call.StateQueued || (l.State == call.StateRinging && l.Agent != "1001") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("10 s after the page went away the call is %s with %s; journal %q", j.Live().State, j.Live().Agent, j.Journal())
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("caller back in line %v after the page went away", time.Since(tGone).Round(10*time.Millisecond))
	if st, _ := h.ACD().AgentState("1001"); st == acd.OnCall || st == acd.Reserved {
		t.Errorf("agent 1001 is %s after its page went away, want not on a call", st)
	}
	sent := h.calls.Get(callID).Live().CallerMedia.PacketsSent
	time.Sleep(time.Second)
	if l := h.calls.Get(callID); l != nil {
		if now := l.Live().CallerMedia.PacketsSent; now-sent < 40 {
			t.Errorf("the caller back in line got %d packets in a second, want the queue's music (~50)", now-sent)
		}
	}
	// The contact says what happened to the agent's part.
	if j := h.calls.Get(callID); j == nil || !strings.Contains(strings.Join(j.Journal(), "; "), "vanished") {
		t.Errorf("the journal does not say the agent's phone vanished")
	}
	segs := h.calls.Get(callID).Segments()
	if len(segs) == 0 || segs[0].End != "agent connection lost" {
		t.Errorf("the agent's part %+v, want it ended by the lost connection", segs)
	}
	// The page's phone unregisters with it: 1001 is logged out once its wrap-up ends.
	for wait := time.Now().Add(5 * time.Second); h.phones.Registered("1001"); {
		if time.Now().After(wait) {
			t.Fatal("1001's browser phone is still registered 5 s after its page went away")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if st, _ := h.ACD().AgentState("1001"); st != acd.WrapUp {
		t.Errorf("1001 is %s after the lost call, want wrap-up", st)
	}
	if acts, err := h.ACD().EndWrapUp("1001"); err == nil { // as the wrap-up form would
		h.room.Apply(acts)
	}
	waitAgent(t, h, "1001", acd.LoggedOut, 2*time.Second)

	// The ICE failure: the page answers with a broken ICE password; the offer moves on to
	// 1002's softphone within the ring timeout.
	d2 := openDesk(t, h, "1001", 1000)
	if err := d2.b.Eval(`(function(){ var f = window.fetch; window.fetch = function(u, o) {
		if (String(u).indexOf("/sdp") > 0) { var b = JSON.parse(o.body); b.sdp = b.sdp.replace(/a=ice-pwd:\S+/g, "a=ice-pwd:brokenbrokenbrokenbroken00"); o = Object.assign({}, o, {body: JSON.stringify(b)}); }
		return f(u, o); }; return true; })()`, new(bool)); err != nil {
		t.Fatal(err)
	}
	tOffer := time.Now() // registering logs 1001 in: it is offered the waiting caller at once, the offer that fails
	if err := d2.b.Click("#btn-phone"); err != nil {
		t.Fatal(err)
	}
	if _, err := d2.b.WaitText("#phone-state", "phone ready", 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := h.live.AgentAction(ctx, "1002", dashboard.ActionUnpause, ""); err != nil {
		t.Fatal(err)
	}
	id2 := waitJournal(t, h, "answered 1002", 15*time.Second)
	if id2 != callID {
		t.Logf("answered call %s (first %s)", id2, callID)
	}
	took := time.Since(tOffer)
	if took > 15*time.Second {
		t.Errorf("the caller reached 1002 %v after the failing offer began, want within the 15 s ring timeout", took)
	}
	if j := h.calls.Get(id2); j == nil || !strings.Contains(strings.Join(j.Journal(), "; "), "unreachable") {
		var jr []string
		if j != nil {
			jr = j.Journal()
		}
		t.Errorf("the journal does not show 1001's offer missed as unreachable: %q", jr)
	}
	t.Logf("the caller reached 1002 %v after the browser's failing offer began; journal %q", took.Round(10*time.Millisecond), h.calls.Get(id2).Journal())
}

// Issue 13: an agent on a SIP softphone gets the same screen-pop in the page while the phone
// rings, and the page follows the call once the phone answers.
func TestScreenPopForSoftphoneAgent(t *testing.T) {
	h := startHotline(t, deskSupport(t))
	knownCustomer(t, h, "+8613800000090")
	phone := sipptest.Start(t, sipptest.Options{Scenario: "uas_ring_answer.xml", Pause: 3 * time.Second, Timeout: 60 * time.Second})
	registerPhone(t, h, "1002", "1002-demo", phone.Port)
	waitAgent(t, h, "1002", acd.Available, 5*time.Second)
	d := openDesk(t, h, "1002", 1000)
	sipptest.Start(t, sipptest.Options{Scenario: "uac_voice.xml", Target: h.sipAddr, Service: "hotline", Pause: 12 * time.Second,
		Keys: map[string]string{"caller": "+8613800000090"}})
	if _, err := d.b.WaitText("#customer", "Wang Fang", 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := d.b.WaitText("#call-state", "ringing", time.Second); err != nil {
		t.Fatal(err) // shown while the softphone still rings
	}
	if _, err := d.b.WaitText("#offer-hint", "Answer on your phone", time.Second); err != nil {
		t.Error(err)
	}
	if _, err := d.b.WaitText("#pop-contacts", "chat", time.Second); err != nil {
		t.Error(err)
	}
	if _, err := d.b.WaitText("#call-state", "connected", 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := d.b.Screenshot("desk-softphone-in-call"); err != nil {
		t.Log(err)
	}
}
