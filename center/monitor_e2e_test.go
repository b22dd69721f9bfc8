package center

import (
	"context"
	"fmt"
	"math"
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
	"github.com/hotline-cc/hotline/internal/sipptest"
)

// recordedFlow queues the caller; once the agent has gone it asks for a card number
// (sensitive input), which the recording must not hold.
const recordedFlow = `description: Support, then a card number after the agent (recording end-to-end tests)
language: en
start: wait
nodes:
  wait:
    queue:
      name: support
    on:
      answered: card
      timeout: bye
      full: bye
      no_agents: bye
      callback: bye
      voicemail: bye
      error: bye
  card:
    input:
      prompt: Please enter your card number, then press pound.
      into: card
      max: 19
      timeout: 3s
      retries: 0
      sensitive: true
    on:
      next: bye
      timeout: bye
      invalid: bye
      retries_exhausted: bye
      error: bye
  bye:
    hangup: {}
`

// recordedSupport: the recorded flow, support recording always (with the consent
// announcement), supervisor 9001, and the given edit.
func recordedSupport(t *testing.T) func(*config.Config) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "direct.yaml"), []byte(recordedFlow), 0o644); err != nil {
		t.Fatal(err)
	}
	fast := fastSupport(t)
	return func(c *config.Config) {
		fast(c)
		c.Flows.Dir = dir
		for i := range c.Queues {
			if c.Queues[i].Name == "support" {
				c.Queues[i].RingTimeout = config.Duration(10 * time.Second) // baresip answers by itself after a moment
				c.Queues[i].AnnounceEvery = 0
				c.Queues[i].Recording = config.QueueRecording{Policy: config.RecordAlways, RetainDays: 30}
			}
		}
		c.Supervisors = []config.Supervisor{{ID: "9001", Name: "Mei", Password: "9001-demo"}}
	}
}

// tonesIn says which of freqs sound in pcm[from:to] (8 kHz), as a share of the window's
// level: present above 0.3, absent below 0.08 (between is neither, and fails both checks).
func tonesIn(pcm []int16, from, to time.Duration, freqs ...int) map[int]float64 {
	a, b := int(from.Seconds()*8000), int(to.Seconds()*8000)
	if a < 0 {
		a = 0
	}
	if b > len(pcm) {
		b = len(pcm)
	}
	out := map[int]float64{}
	if b-a < 1600 {
		return out
	}
	w := pcm[a:b]
	rms := audio.RMS(w)
	for _, f := range freqs {
		if rms > 0 {
			out[f] = math.Sqrt(audio.Goertzel(w, 8000, float64(f))) / rms
		}
	}
	return out
}

// phase is a stretch of the call in one monitoring mode, as offsets into each dump.
type phase struct {
	name     string
	from, to time.Time
}

func checkHears(t *testing.T, who string, pcm []int16, t0 time.Time, ph phase, hears, deaf []int) {
	t.Helper()
	from, to := ph.from.Sub(t0)+700*time.Millisecond, ph.to.Sub(t0)-700*time.Millisecond
	lv := tonesIn(pcm, from, to, append(append([]int{}, hears...), deaf...)...)
	var bad []string
	for _, f := range hears {
		if lv[f] < 0.3 {
			bad = append(bad, fmt.Sprintf("%d Hz missing (%.2f)", f, lv[f]))
		}
	}
	for _, f := range deaf {
		if lv[f] > 0.08 {
			bad = append(bad, fmt.Sprintf("%d Hz heard (%.2f)", f, lv[f]))
		}
	}
	if len(bad) > 0 {
		t.Errorf("%s during %s (%.1f-%.1f s of its audio): %s", who, ph.name, from.Seconds(), to.Seconds(), strings.Join(bad, ", "))
	} else {
		t.Logf("%s during %s: %v", who, ph.name, lv)
	}
}

// Issue 12: three real softphones (baresip), each speaking its own tone — caller 440 Hz,
// agent 1001 1000 Hz, supervisor 9001 2000 Hz. The supervisor listens, whispers and barges;
// Goertzel filters on what each phone heard prove who heard whom in each mode. The
// conversation is recorded (policy always): caller left, agents right, the agent's pause and
// the flow's sensitive input silent and listed, the checksum good, the audit complete.
func TestMonitorAndRecordWithRealPhones(t *testing.T) {
	h := startHotline(t, recordedSupport(t))
	agentHeard := runBaresip(t, baresipPhone{Registrar: h.sipAddr, User: "1001", Password: "1001-demo", Tone: 1000})
	supHeard := runBaresip(t, baresipPhone{Registrar: h.sipAddr, User: "9001", Password: "9001-demo", Tone: 2000})
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, _ := h.ACD().AgentState("1001")
		if st == acd.Available && len(h.SIP().Registrar().Contacts("9001")) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("agent 1001 is %s and supervisor 9001 has %d contacts; want both registered", st, len(h.SIP().Registrar().Contacts("9001")))
		}
		time.Sleep(50 * time.Millisecond)
	}
	callerHeard := runBaresip(t, baresipPhone{User: "+8613800000077", Registrar: h.sipAddr, Tone: 440, Dial: "sip:hotline@" + h.sipAddr})

	callID := waitJournal(t, h, "answered 1001", 30*time.Second)
	j := h.calls.Get(callID)
	tCaller, contactID := j.Live().Started, j.ContactID()
	for wait := time.Now().Add(10 * time.Second); j.Live().Recording != call.RecordingOn && time.Now().Before(wait); {
		time.Sleep(20 * time.Millisecond) // the consent plays first, then the conversation starts the tape
	}
	if l := j.Live(); l.Recording != call.RecordingOn {
		t.Fatalf("recording state %q once the agent was connected, want %q (policy always); journal %q", l.Recording, call.RecordingOn, j.Journal())
	}
	// Connected after the consent: the recording starts here, and so does the agent's dump
	// (baresip writes what it hears from the first packet; until the consent ended it got none).
	tRecord := time.Now()
	ctx := context.Background()
	time.Sleep(3 * time.Second)

	// Bad asks first: an unknown supervisor, a second monitor of the same call.
	if err := h.monitors.Start(ctx, callID, "9999", call.Listen, "test"); err == nil {
		t.Error("an unknown supervisor was accepted")
	}
	if err := h.monitors.Start(ctx, callID, "9001", call.Listen, "test"); err != nil {
		t.Fatalf("listen: %v", err)
	}
	tListen := time.Now()
	if err := h.monitors.Start(ctx, callID, "9001", call.Barge, "test"); err == nil || !strings.Contains(err.Error(), "already") {
		t.Errorf("a second monitor of the same call: %v; want refused (already monitored)", err)
	}
	if m := j.Live().Monitor; m == nil || m.Supervisor != "9001" || m.Mode != call.Listen {
		t.Errorf("live view's monitor %+v, want 9001 listening", m)
	}
	time.Sleep(4 * time.Second)
	if _, err := h.monitors.SetMode(ctx, callID, call.Whisper, "test"); err != nil {
		t.Fatal(err)
	}
	tWhisper := time.Now()
	time.Sleep(4 * time.Second)
	if _, err := h.monitors.SetMode(ctx, callID, call.Barge, "test"); err != nil {
		t.Fatal(err)
	}
	tBarge := time.Now()
	time.Sleep(4 * time.Second)
	tStop := time.Now()
	if err := h.monitors.Stop(ctx, callID, "test"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)

	// The agent pauses the recording (twice: the second changes nothing) and resumes it.
	tPause := time.Now()
	if changed, err := h.recorder.Pause(ctx, j, "1001"); err != nil || !changed {
		t.Fatalf("pause: changed %v, %v", changed, err)
	}
	if changed, _ := h.recorder.Pause(ctx, j, "1001"); changed {
		t.Error("pausing a paused recording changed something")
	}
	time.Sleep(2 * time.Second)
	if changed, err := h.recorder.Resume(ctx, j, "1001"); err != nil || !changed {
		t.Fatalf("resume: changed %v, %v", changed, err)
	}
	tResume := time.Now()
	time.Sleep(2 * time.Second)
	_ = j.AgentLeg().Hangup(call.CauseNormal) // the caller goes on to the card number (sensitive)
	rec := h.waitCalls(t, 1, 30*time.Second)[0]
	t.Logf("journal: %s", strings.Join(rec.Queued, "; "))

	caller, agent, sup := baresipHeard(t, callerHeard), baresipHeard(t, agentHeard), baresipHeard(t, supHeard)
	listen, whisper, barge := phase{"listen", tListen, tWhisper}, phase{"whisper", tWhisper, tBarge}, phase{"barge", tBarge, tStop}
	for _, ph := range []phase{listen, whisper} {
		checkHears(t, "the caller", caller, tCaller, ph, []int{1000}, []int{2000, 440})
		checkHears(t, "the supervisor", sup, tListen, ph, []int{440, 1000}, []int{2000})
	}
	checkHears(t, "the agent", agent, tRecord, listen, []int{440}, []int{2000, 1000})
	checkHears(t, "the agent", agent, tRecord, whisper, []int{440, 2000}, []int{1000})
	checkHears(t, "the caller", caller, tCaller, barge, []int{1000, 2000}, []int{440})
	checkHears(t, "the agent", agent, tRecord, barge, []int{440, 2000}, []int{1000})
	checkHears(t, "the supervisor", sup, tListen, barge, []int{440, 1000}, []int{2000})
	after := phase{"the bridge after the supervisor left", tStop, tPause}
	checkHears(t, "the caller", caller, tCaller, after, []int{1000}, []int{2000})

	// The recording: kept with its checksum, caller left and agents right, two silent spans.
	list, _, err := h.Store().ListRecordings(ctx, customers.RecordingFilter{ContactID: contactID}, customers.Page{Limit: 10})
	if err != nil || len(list) != 1 {
		t.Fatalf("recordings of the contact: %d, %v; want 1", len(list), err)
	}
	r := list[0]
	t.Logf("recording %s: %v, %d bytes, paused %v, agents %v, incomplete %v", r.ID, r.Duration, r.Size, r.Paused, r.Agents, r.Incomplete)
	if err := h.Store().Recordings().Verify(r.ID, r.SHA256); err != nil {
		t.Errorf("checksum: %v", err)
	}
	if r.Incomplete || len(r.Paused) != 2 || r.Queue != "support" || strings.Join(r.Agents, ",") != "1001" {
		t.Errorf("recording metadata: incomplete %v, paused %v, queue %q, agents %v; want complete, 2 spans (pause, card number), support, 1001",
			r.Incomplete, r.Paused, r.Queue, r.Agents)
	}
	path, _ := h.Store().Recordings().Path(r.ID)
	chans, f, err := audio.LoadWAVChannels(path)
	if err != nil || f.Channels != 2 || f.SampleRate != 8000 || f.Bits != 16 {
		t.Fatalf("recording %s: format %+v, %v; want 2 channels, 8 kHz, 16-bit", path, f, err)
	}
	left, right := chans[0], chans[1]
	checkHears(t, "the recording's left (caller)", left, tRecord, listen, []int{440}, []int{1000, 2000})
	checkHears(t, "the recording's right (agents)", right, tRecord, listen, []int{1000}, []int{440, 2000})
	checkHears(t, "the recording's right (agents)", right, tRecord, barge, []int{1000, 2000}, []int{440})
	if len(r.Paused) == 2 {
		for i, sp := range r.Paused {
			a, b := int(sp.Start.Seconds()*8000), int(sp.End.Seconds()*8000)
			if b > len(left) || a >= b {
				t.Errorf("paused span %d (%v) is outside the recording (%d samples)", i, sp, len(left))
				continue
			}
			if l, rr := audio.RMS(left[a:b]), audio.RMS(right[a:b]); l > 0 || rr > 0 {
				t.Errorf("paused span %d (%v-%v): RMS left %.0f right %.0f, want silence", i, sp.Start, sp.End, l, rr)
			}
		}
		if got, want := r.Paused[0].Start, tPause.Sub(tRecord); got < want-time.Second || got > want+time.Second {
			t.Errorf("the agent's pause starts at %v in the recording, want about %v", got, want)
		}
		if got, want := r.Paused[0].End-r.Paused[0].Start, tResume.Sub(tPause); got < want-500*time.Millisecond || got > want+500*time.Millisecond {
			t.Errorf("the agent's pause lasts %v, want about %v", got, want)
		}
	}

	// The audit: the session with its modes and length, the pause and the resume.
	entries, _, err := h.Store().ListAudit(ctx, customers.AuditFilter{Object: callID}, customers.Page{Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range entries {
		actions = append(actions, e.Action)
		if e.Action == "monitor.end" {
			t.Logf("monitor.end: %v", e.Detail)
			if modes := fmt.Sprint(e.Detail["modes"]); !strings.Contains(modes, "listen@0s") || !strings.Contains(modes, "whisper@") || !strings.Contains(modes, "barge@") {
				t.Errorf("the audit's modes %s, want listen, whisper and barge", modes)
			}
		}
	}
	for _, want := range []string{"monitor.end", "recording.pause", "recording.resume"} { // the API audits the start it serves
		if !strings.Contains(strings.Join(actions, " "), want) {
			t.Errorf("audit of %s: %v, want %s in it", callID, actions, want)
		}
	}

	m := h.metrics(t)
	for _, series := range []string{`hotline_recording_recordings_total{queue="support",result="kept"}`,
		`hotline_recording_pauses_total{reason="agent"}`, `hotline_recording_pauses_total{reason="sensitive"}`,
		`hotline_monitor_sessions_total{mode="listen"}`} {
		if v := metricValue(t, m, series); v < 1 {
			t.Errorf("%s = %v, want at least 1", series, v)
		}
	}
}

// A supervisor's own softphone (sipp, digest as 9001) dials *81 and the agent's extension:
// it joins 1001's call listening, is audited, and is hung up when the caller hangs up. A
// supervisor whose phone is not registered is refused, saying so; the call goes on.
func TestSupervisorDialsMonitorCode(t *testing.T) {
	fast := fastSupport(t)
	h := startHotline(t, func(c *config.Config) {
		fast(c)
		c.Supervisors = []config.Supervisor{{ID: "9001", Name: "Mei", Password: "9001-demo"}, {ID: "9002", Name: "Wu", Password: "9002-demo"}}
	})
	agent := sipptest.Start(t, sipptest.Options{Scenario: "uas", Args: []string{"-rtp_echo"}, Timeout: 60 * time.Second})
	registerPhone(t, h, "1001", "1001-demo", agent.Port)
	caller := sipptest.Start(t, sipptest.Options{Scenario: "uac_voice.xml", Target: h.sipAddr, Service: "hotline",
		Pause: 8 * time.Second, Keys: map[string]string{"caller": "+8613800000078"}})
	callID := waitJournal(t, h, "answered 1001", 10*time.Second)
	err := h.monitors.Start(context.Background(), callID, "9002", call.Listen, "test")
	if err == nil || !strings.Contains(err.Error(), "no registered phone") {
		t.Errorf("monitor by 9002, whose phone is not registered: %v; want refused, saying so", err)
	}
	sup := sipptest.Start(t, sipptest.Options{Scenario: "uac_feature.xml", Target: h.sipAddr, Service: "*811001",
		Auth: [2]string{"9001", "9001-demo"}, Inject: [][]string{{"9001"}}, Timeout: 30 * time.Second})
	waitJournal(t, h, "monitored by 9001 (listen)", 5*time.Second)
	caller.MustSucceed(t)
	sup.MustSucceed(t) // hung up by hotline when the call ended
	agent.MustSucceed(t)
	rec := h.waitCalls(t, 1, 10*time.Second)[0]
	j := strings.Join(rec.Queued, "; ")
	t.Logf("journal: %s", j)
	if !strings.Contains(j, "monitoring by 9001 ended") {
		t.Errorf("no end of the monitoring in %q", j)
	}
	entries, _, err := h.Store().ListAudit(context.Background(), customers.AuditFilter{Object: callID}, customers.Page{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Action+" by "+e.Actor+" ("+e.Role+")")
	}
	if s := strings.Join(got, "; "); !strings.Contains(s, "monitor.start by phone:9001 (supervisor)") || !strings.Contains(s, "monitor.end by phone:9001 (supervisor)") {
		t.Errorf("audit of %s: %s; want the phone's monitor.start and monitor.end", callID, s)
	}
}

// The agent's keys during a recorded call (support records always): *2 pauses and *3
// resumes, sent by a real phone (sipp, RFC 4733); the recording has one silent span of
// about two seconds where the caller's audio would have been.
func TestAgentKeysPauseTheRecording(t *testing.T) {
	h := startHotline(t, fastSupport(t))
	agent := sipptest.Start(t, sipptest.Options{Scenario: "uas_record_keys.xml", Timeout: 60 * time.Second})
	registerPhone(t, h, "1001", "1001-demo", agent.Port)
	caller := sipptest.Start(t, sipptest.Options{Scenario: "uac_voice.xml", Target: h.sipAddr, Service: "hotline",
		Pause: 7 * time.Second, Keys: map[string]string{"caller": "+8613800000079"}})
	callID := waitJournal(t, h, "answered 1001", 10*time.Second)
	contactID := h.calls.Get(callID).ContactID()
	caller.MustSucceed(t)
	agent.MustSucceed(t)
	rec := h.waitCalls(t, 1, 10*time.Second)[0]
	j := strings.Join(rec.Queued, "; ")
	t.Logf("journal: %s", j)
	list, _, err := h.Store().ListRecordings(context.Background(), customers.RecordingFilter{ContactID: contactID}, customers.Page{Limit: 10})
	if err != nil || len(list) != 1 {
		t.Fatalf("recordings: %d, %v; want 1", len(list), err)
	}
	r := list[0]
	t.Logf("recording: %v, paused %v", r.Duration, r.Paused)
	if len(r.Paused) != 1 {
		t.Fatalf("paused spans %v, want one (*2 … *3)", r.Paused)
	}
	if d := r.Paused[0].End - r.Paused[0].Start; d < 1500*time.Millisecond || d > 3*time.Second {
		t.Errorf("the pause lasted %v, want about 2.4 s (*2, two seconds, *3)", d)
	}
	path, _ := h.Store().Recordings().Path(r.ID)
	chans, _, err := audio.LoadWAVChannels(path)
	if err != nil {
		t.Fatal(err)
	}
	a, b := int(r.Paused[0].Start.Seconds()*8000), int(r.Paused[0].End.Seconds()*8000)
	if l := audio.RMS(chans[0][a:b]); l > 0 {
		t.Errorf("the paused span holds the caller at RMS %.0f, want silence", l)
	}
	if l := audio.RMS(chans[0][b:]); l < 100 {
		t.Errorf("after the pause the caller's side is RMS %.0f, want their voice", l)
	}
}
