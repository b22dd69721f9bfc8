package center

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/acd"
	"github.com/hotline-cc/hotline/audio"
	"github.com/hotline-cc/hotline/config"
	"github.com/hotline-cc/hotline/customers"
	"github.com/hotline-cc/hotline/internal/sipptest"
)

// Issue "Transfers, hold and three-way calls", native engine: a real caller reaches agent
// 1001, whose softphone (sipp) transfers them blind to 1002 with a REFER. 1001's phone gets
// 202 and NOTIFYs of 100 Trying and 200 OK (its scenario checks them) and is released; the
// caller's audio reaches 1002 and 1002's comes back (counted on 1002's leg); the contact has
// one segment per agent; /metrics counts the transfer on the queue and on 1001.
func TestBlindTransferWithRealPhones(t *testing.T) {
	h := startHotline(t, fastSupport(t))
	first := sipptest.Start(t, sipptest.Options{Scenario: "uas_refer.xml", Timeout: 60 * time.Second})
	colleague := sipptest.Start(t, sipptest.Options{Scenario: "uas", Args: []string{"-rtp_echo"}, Timeout: 60 * time.Second})
	registerPhone(t, h, "1001", "1001-demo", first.Port) // registers first: idle longest, rung first
	time.Sleep(50 * time.Millisecond)
	registerPhone(t, h, "1002", "1002-demo", colleague.Port)
	caller := sipptest.Start(t, sipptest.Options{Scenario: "uac_voice.xml", Target: h.sipAddr, Service: "hotline",
		Pause: 6 * time.Second, Keys: map[string]string{"caller": "+8613800000031"}})
	caller.MustSucceed(t)
	first.MustSucceed(t)
	colleague.MustSucceed(t)
	recs := h.waitCalls(t, 1, 10*time.Second)
	rec := recs[0]
	j := strings.Join(rec.Queued, "; ")
	t.Logf("journal: %s", j)
	for _, want := range []string{"answered 1001", "transfer by 1001 to agent 1002", "answered 1002", "transferred to 1002"} {
		if !strings.Contains(j, want) {
			t.Errorf("journal lacks %q", want)
		}
	}
	m := regexp.MustCompile(`bridged 1002: (\d+) packets to the agent, (\d+) from the agent`).FindStringSubmatch(j)
	if m == nil {
		t.Fatalf("no audio figures for 1002's leg in %q", j)
	}
	to, _ := strconv.Atoi(m[1])
	from, _ := strconv.Atoi(m[2])
	if to < 100 || from < 100 {
		t.Errorf("1002's leg: %d packets to the agent, %d from it; want the caller's recording to reach 1002 and come back", to, from)
	}
	if rec.Agent != "1002" || rec.Outcome != "answered" {
		t.Errorf("record: agent %q, outcome %s; want answered, last agent 1002", rec.Agent, rec.Outcome)
	}
	ct, parts := agentParts(t, h, rec.ID)
	if !slices.Equal(parts, []string{"1001: transferred to agent 1002", "1002: hangup"}) {
		t.Errorf("the contact's agent parts are %q", parts)
	}
	if ct.Agent != "1002" {
		t.Errorf("the contact's agent is %q, want 1002 (the last)", ct.Agent)
	}
	// One recording follows the caller across the transfer (support records always).
	if r := oneRecording(t, h, ct.ID); strings.Join(r.Agents, ",") != "1001,1002" {
		t.Errorf("the recording's agents are %v, want 1001 then 1002 on one recording", r.Agents)
	}
	metrics := h.metrics(t)
	if v := metricValue(t, metrics, `hotline_queue_transferred_total{queue="support"}`); v != 1 {
		t.Errorf("transferred_total = %v, want 1", v)
	}
	if v := metricValue(t, metrics, `hotline_agent_transfers_total{agent="1001"}`); v != 1 {
		t.Errorf("1001's transfers_total = %v, want 1", v)
	}
}

// The agent's phone puts the caller on hold with a re-INVITE (a=sendonly) for 1.5 s: the caller
// keeps receiving RTP, the queue's hold music, where a phone on hold sends nothing; hold time
// is on the contact's agent part.
func TestHoldWithARealPhone(t *testing.T) {
	h := startHotline(t, fastSupport(t))
	agent := sipptest.Start(t, sipptest.Options{Scenario: "uas_hold.xml", Pause: 1500 * time.Millisecond, Timeout: 60 * time.Second})
	registerPhone(t, h, "1001", "1001-demo", agent.Port)
	caller := sipptest.Start(t, sipptest.Options{Scenario: "uac_voice.xml", Target: h.sipAddr, Service: "hotline",
		Pause: 5 * time.Second, Keys: map[string]string{"caller": "+8613800000032"}})
	caller.MustSucceed(t)
	agent.MustSucceed(t)
	rec := h.waitCalls(t, 1, 10*time.Second)[0]
	j := strings.Join(rec.Queued, "; ")
	t.Logf("journal: %s; caller leg: %+v", j, rec.Media)
	if !strings.Contains(j, "hold by 1001") || !strings.Contains(j, "resumed by 1001") {
		t.Errorf("journal lacks the hold and the resume: %q", j)
	}
	// The agent's phone sends no RTP at all: what the caller received is the hold music
	// (1.5 s at 50 packets a second) and the few packets of music while it waited.
	if rec.Media.ToCaller < 60 {
		t.Errorf("the caller received %d RTP packets; want the hold music (about 75) during 1.5 s of hold", rec.Media.ToCaller)
	}
	ct, err := h.Store().ContactByCallID(context.Background(), rec.ID)
	if err != nil {
		t.Fatal(err)
	}
	// The hold is on the recording: the agent's phone sends nothing, so its right channel
	// (what the caller heard) is the hold music during the hold.
	r := oneRecording(t, h, ct.ID)
	path, _ := h.Store().Recordings().Path(r.ID)
	if chans, _, err := audio.LoadWAVChannels(path); err != nil {
		t.Error(err)
	} else if rms := audio.RMS(chans[1]); rms < 100 {
		t.Errorf("the recording's right channel has RMS %.0f, want the hold music the caller heard", rms)
	}
	for _, e := range ct.Events {
		if e.Step == "agent" {
			if ms, _ := e.Data["hold_ms"].(float64); ms < 1200 {
				t.Errorf("the agent part's hold is %v ms, want about 1500", e.Data["hold_ms"])
			}
			return
		}
	}
	t.Error("no agent part on the contact")
}

// A three-way call with real phones: 1001's phone holds the caller and calls 1002 (a second
// INVITE, digest-authenticated as 1001: the consultation); the call is merged; everyone is in
// one mix until the caller hangs up. 1001's phone sends no audio and 1002's echoes what it
// hears, so 1002 sending back a hundred packets or more means it heard the caller through
// the mix, and 1001 receiving them means it heard both.
func TestThreeWayWithRealPhones(t *testing.T) {
	h := startHotline(t, fastSupport(t))
	agent := sipptest.Start(t, sipptest.Options{Scenario: "uas_hold.xml", Pause: 3 * time.Second, Timeout: 60 * time.Second})
	colleague := sipptest.Start(t, sipptest.Options{Scenario: "uas", Args: []string{"-rtp_echo"}, Timeout: 60 * time.Second})
	registerPhone(t, h, "1001", "1001-demo", agent.Port)
	time.Sleep(50 * time.Millisecond)
	registerPhone(t, h, "1002", "1002-demo", colleague.Port)
	caller := sipptest.Start(t, sipptest.Options{Scenario: "uac_voice.xml", Target: h.sipAddr, Service: "hotline",
		Pause: 7 * time.Second, Keys: map[string]string{"caller": "+8613800000033"}})
	callID := waitJournal(t, h, "hold by 1001", 5*time.Second)
	consult := sipptest.Start(t, sipptest.Options{Scenario: "uac_feature.xml", Target: h.sipAddr, Service: "1002",
		Auth: [2]string{"1001", "1001-demo"}, Inject: [][]string{{"1001"}}, Timeout: 30 * time.Second})
	waitJournal(t, h, "consulting 1002", 5*time.Second)
	if err := h.live.Conference(context.Background(), callID); err != nil {
		t.Fatalf("merge: %v", err)
	}
	caller.MustSucceed(t)
	agent.MustSucceed(t)
	consult.MustSucceed(t)
	colleague.MustSucceed(t)
	rec := h.waitCalls(t, 1, 10*time.Second)[0]
	j := strings.Join(rec.Queued, "; ")
	t.Logf("journal: %s", j)
	if !strings.Contains(j, "three-way call: caller, 1001 and 1002") {
		t.Fatalf("no three-way call in %q", j)
	}
	m := regexp.MustCompile(`consulted 1002: (\d+) packets to the colleague, (\d+) from the colleague`).FindStringSubmatch(j)
	a := regexp.MustCompile(`bridged 1001: (\d+) packets to the agent`).FindStringSubmatch(j)
	if m == nil || a == nil {
		t.Fatalf("no audio figures in %q", j)
	}
	back, _ := strconv.Atoi(m[2])
	toAgent, _ := strconv.Atoi(a[1])
	if back < 100 || toAgent < 100 {
		t.Errorf("1002 sent back %d packets, 1001 received %d; want the mix to reach both (100 or more)", back, toAgent)
	}
}

// oneRecording is the one conversation recording of contact, checksum verified.
func oneRecording(t *testing.T, h *hotline, contact string) customers.RecordingInfo {
	t.Helper()
	list, _, err := h.Store().ListRecordings(context.Background(), customers.RecordingFilter{ContactID: contact}, customers.Page{Limit: 10})
	if err != nil || len(list) != 1 {
		t.Fatalf("recordings of contact %s: %d, %v; want 1", contact, len(list), err)
	}
	if err := h.Store().Recordings().Verify(list[0].ID, list[0].SHA256); err != nil {
		t.Errorf("recording %s: %v", list[0].ID, err)
	}
	return list[0]
}

// waitJournal waits until a call in progress has line in its journal and returns its ID.
func waitJournal(t *testing.T, h *hotline, line string, timeout time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		for _, l := range h.calls.Calls() {
			if j := h.calls.Get(l.ID); j != nil && slices.Contains(j.Journal(), line) {
				return l.ID
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no call's journal said %q within %v", line, timeout)
	return ""
}

// The colleague on a real softphone: 1001's sipp phone transfers the caller blind to 1002,
// which is baresip. baresip hears the caller's recording (its own dump of what it received
// is loud, not silence), and its 440 Hz tone comes back to hotline.
func TestBlindTransferToBaresip(t *testing.T) {
	fast := fastSupport(t)
	h := startHotline(t, func(c *config.Config) {
		fast(c)
		for i := range c.Queues { // baresip's auto-answer waits a moment, as a person would
			c.Queues[i].RingTimeout = config.Duration(10 * time.Second)
		}
	})
	first := sipptest.Start(t, sipptest.Options{Scenario: "uas_refer.xml", Timeout: 60 * time.Second})
	registerPhone(t, h, "1001", "1001-demo", first.Port)
	time.Sleep(50 * time.Millisecond)
	heard := startBaresip(t, h.sipAddr, "1002", "1002-demo")
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if st, _ := h.ACD().AgentState("1002"); st == acd.Available {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("baresip never registered agent 1002")
		}
	}
	sipptest.Start(t, sipptest.Options{Scenario: "uac_voice.xml", Target: h.sipAddr, Service: "hotline",
		Pause: 9 * time.Second, Keys: map[string]string{"caller": "+8613800000034"}}).MustSucceed(t)
	first.MustSucceed(t)
	rec := h.waitCalls(t, 1, 10*time.Second)[0]
	j := strings.Join(rec.Queued, "; ")
	if rec.Agent != "1002" || !strings.Contains(j, "transferred to 1002") {
		t.Fatalf("the call did not reach baresip: agent %q, %s", rec.Agent, j)
	}
	m := regexp.MustCompile(`bridged 1002: (\d+) packets to the agent, (\d+) from the agent`).FindStringSubmatch(j)
	if m == nil || atoi(m[1]) < 100 || atoi(m[2]) < 100 {
		t.Errorf("too little RTP between the caller and baresip: %s", j)
	}
	pcm := baresipHeard(t, heard)
	if rms := audio.RMS(pcm); rms < 300 {
		t.Errorf("baresip heard silence (RMS %.0f): the transferred caller's voice did not reach it", rms)
	}
	t.Logf("%s; baresip heard %.1f s, RMS %.0f", j, float64(len(pcm))/8000, audio.RMS(pcm))
}

// A failed transfer with real phones: 1002's phone is busy (486). 1001's phone hears
// "486 Busy Here" in the final NOTIFY (its scenario checks it) and keeps the caller, whose
// audio goes on reaching 1001 until they hang up: nobody is dropped.
func TestFailedTransferWithRealPhones(t *testing.T) {
	h := startHotline(t, fastSupport(t))
	first := sipptest.Start(t, sipptest.Options{Scenario: "uas_refer_busy.xml", Timeout: 60 * time.Second})
	busy := sipptest.Start(t, sipptest.Options{Scenario: "uas_busy.xml", Timeout: 60 * time.Second})
	registerPhone(t, h, "1001", "1001-demo", first.Port)
	time.Sleep(50 * time.Millisecond)
	registerPhone(t, h, "1002", "1002-demo", busy.Port)
	caller := sipptest.Start(t, sipptest.Options{Scenario: "uac_voice.xml", Target: h.sipAddr, Service: "hotline",
		Pause: 6 * time.Second, Keys: map[string]string{"caller": "+8613800000036"}})
	caller.MustSucceed(t)
	first.MustSucceed(t)
	rec := h.waitCalls(t, 1, 10*time.Second)[0]
	j := strings.Join(rec.Queued, "; ")
	t.Logf("journal: %s", j)
	if rec.Agent != "1001" || !strings.Contains(j, "transfer to 1002 failed: busy") {
		t.Fatalf("agent %q; journal %s", rec.Agent, j)
	}
	m := regexp.MustCompile(`bridged 1001: (\d+) packets to the agent`).FindStringSubmatch(j)
	if m == nil || atoi(m[1]) < 150 {
		t.Errorf("the caller's audio stopped reaching 1001 after the failed transfer: %s", j)
	}
}

// A blind transfer to a queue with real phones: 1001's phone REFERs the caller to
// queue-sales; the caller waits there (with their original arrival) and 1003, a sales agent
// on a sipp phone that echoes, answers: the caller's audio reaches 1003 and comes back.
func TestTransferToQueueWithRealPhones(t *testing.T) {
	h := startHotline(t, fastSupport(t))
	first := sipptest.Start(t, sipptest.Options{Scenario: "uas_refer_to.xml", Keys: map[string]string{"target": "queue-sales"}, Timeout: 60 * time.Second})
	sales := sipptest.Start(t, sipptest.Options{Scenario: "uas", Args: []string{"-rtp_echo"}, Timeout: 60 * time.Second})
	registerPhone(t, h, "1001", "1001-demo", first.Port) // registers first: idle longest, takes the caller
	time.Sleep(50 * time.Millisecond)
	registerPhone(t, h, "1003", "1003-demo", sales.Port)
	acts, err := h.ACD().Login("1003") // 1003 is not an auto_login agent
	if err != nil {
		t.Fatal(err)
	}
	h.room.Apply(acts)
	caller := sipptest.Start(t, sipptest.Options{Scenario: "uac_voice.xml", Target: h.sipAddr, Service: "hotline",
		Pause: 7 * time.Second, Keys: map[string]string{"caller": "+8613800000037"}})
	caller.MustSucceed(t)
	first.MustSucceed(t)
	rec := h.waitCalls(t, 1, 10*time.Second)[0]
	j := strings.Join(rec.Queued, "; ")
	t.Logf("journal: %s", j)
	if rec.Agent != "1003" || rec.Queue != "support" {
		t.Errorf("record: agent %q queue %q, want 1003 (the flow's queue step was support)", rec.Agent, rec.Queue)
	}
	m := regexp.MustCompile(`bridged 1003: (\d+) packets to the agent, (\d+) from the agent`).FindStringSubmatch(j)
	if m == nil || atoi(m[1]) < 100 || atoi(m[2]) < 100 {
		t.Errorf("the caller's audio did not cross to 1003 and back: %s", j)
	}
	_, parts := agentParts(t, h, rec.ID)
	if !slices.Equal(parts, []string{"1001: transferred to queue sales", "1003: hangup"}) {
		t.Errorf("the contact's agent parts are %q", parts)
	}
}

// A blind transfer to an outside number the rules allow, dialed through the trunk (a sipp
// phone that echoes); and one to a number they forbid, which 1001's phone hears refused with
// the reason (403 in the final NOTIFY, checked by its scenario) while it keeps the caller.
func TestTransferToNumbersWithRealPhones(t *testing.T) {
	trunk := sipptest.Start(t, sipptest.Options{Scenario: "uas", Args: []string{"-rtp_echo"}, Timeout: 60 * time.Second})
	fast := fastSupport(t)
	h := startHotline(t, func(c *config.Config) {
		fast(c)
		c.SIP.Trunk = fmt.Sprintf("127.0.0.1:%d", trunk.Port)
	})
	first := sipptest.Start(t, sipptest.Options{Scenario: "uas_refer_to.xml", Keys: map[string]string{"target": "+861065529988"}, Timeout: 60 * time.Second})
	registerPhone(t, h, "1001", "1001-demo", first.Port)
	sipptest.Start(t, sipptest.Options{Scenario: "uac_voice.xml", Target: h.sipAddr, Service: "hotline",
		Pause: 6 * time.Second, Keys: map[string]string{"caller": "+8613800000038"}}).MustSucceed(t)
	first.MustSucceed(t)
	trunk.MustSucceed(t)
	rec := h.waitCalls(t, 1, 10*time.Second)[0]
	if j := strings.Join(rec.Queued, "; "); !strings.Contains(j, "transferred to +861065529988") || rec.Media.FromCaller < 100 {
		t.Errorf("the outside transfer: %s; caller leg %+v", j, rec.Media)
	}
	if st, _ := h.ACD().AgentState("1001"); st == acd.OnCall {
		t.Error("1001 is still on call after transferring away")
	}

	forbidden := sipptest.Start(t, sipptest.Options{Scenario: "uas_refer_forbidden.xml", Timeout: 60 * time.Second})
	registerPhone(t, h, "1002", "1002-demo", forbidden.Port)
	if _, err := h.ACD().Pause("1001", "break"); err != nil {
		t.Fatal(err)
	}
	sipptest.Start(t, sipptest.Options{Scenario: "uac_voice.xml", Target: h.sipAddr, Service: "hotline",
		Pause: 4 * time.Second, Keys: map[string]string{"caller": "+8613800000039"}}).MustSucceed(t)
	forbidden.MustSucceed(t)
	rec = h.waitCalls(t, 2, 10*time.Second)[1]
	if j := strings.Join(rec.Queued, "; "); rec.Agent != "1002" || !strings.Contains(j, "refused: number +442079460018 is outside the allowed prefixes") {
		t.Errorf("the forbidden transfer: agent %q, %s", rec.Agent, j)
	}
}

// agentParts is the contact of a call and its agents' parts ("1001: transferred to agent
// 1002"), as the timeline shows them.
func agentParts(t *testing.T, h *hotline, callID string) (customers.Contact, []string) {
	t.Helper()
	ct, err := h.Store().ContactByCallID(context.Background(), callID)
	if err != nil {
		t.Fatal(err)
	}
	var parts []string
	for _, e := range ct.Events {
		if e.Step == "agent" {
			parts = append(parts, e.Node+": "+e.Exit)
		}
	}
	return ct, parts
}
