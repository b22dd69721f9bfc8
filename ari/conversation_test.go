package ari

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/ari/aritest"
	"github.com/hotline-cc/hotline/audio"
	"github.com/hotline-cc/hotline/call"
)

// conversation is a caller bridged with agent 1001 by the handler, as the call path does.
type conversation struct {
	h      *harness
	caller *Channel
	agent  *Channel
	far    *aritest.Call // the caller's phone
	ended  chan string   // who ended the handler's Bridge
}

func startConversation(t *testing.T) *conversation {
	t.Helper()
	legs := make(chan [2]*Channel, 1)
	cv := &conversation{ended: make(chan string, 1)}
	var h *harness
	h = start(t, harnessOptions{}, func(ch call.Channel) {
		_ = ch.Answer(context.Background())
		leg, err := h.drv.Originate(ch.Context(), call.Target{Agent: "1001"}, call.OriginateOptions{RingTimeout: 5 * time.Second})
		if err != nil {
			t.Errorf("originate the agent: %v", err)
			return
		}
		defer func() { _ = leg.Hangup(call.CauseNormal) }()
		legs <- [2]*Channel{ch.(*Channel), leg.(*Channel)}
		who, _ := ch.Bridge(ch.Context(), leg)
		cv.ended <- who
	})
	h.fake.SetAgent("1001", aritest.Answer)
	h.fake.SetAgent("9001", aritest.Answer)
	cv.h = h
	cv.far = h.inbound("", "")
	l := recv(t, legs, "the agent leg")
	cv.caller, cv.agent = l[0], l[1]
	h.until("caller and agent bridged", func() bool { id, _ := cv.caller.bridged(cv.agent.id); return id != "" })
	return cv
}

// stereo reads a two-channel 8 kHz WAV that writeStereo wrote (a canonical 44-byte header).
func stereo(t *testing.T, path string) (left, right []int16) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	info, err := audio.ReadInfo(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	if info.Format.Channels != 2 || info.Format.SampleRate != 8000 || info.Format.Bits != 16 {
		t.Fatalf("%s: format %+v, want 2 channels, 8000 Hz, 16 bits", path, info.Format)
	}
	data := b[audio.HeaderSize:]
	for i := 0; i+4 <= len(data); i += 4 {
		left = append(left, int16(binary.LittleEndian.Uint16(data[i:])))
		right = append(right, int16(binary.LittleEndian.Uint16(data[i+2:])))
	}
	return left, right
}

func toneRMS(pcm []int16, freq float64) float64 { return math.Sqrt(audio.Goertzel(pcm, 8000, freq)) }

// snoopRecordings are the live recordings of the snoops on the caller, by spy direction.
func (cv *conversation) snoopRecordings(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	cv.h.until("both snoops recording", func() bool {
		for id, dir := range cv.h.fake.Snoops(cv.caller.id) {
			if name := cv.h.fake.Recording(id); name != "" {
				out[strings.TrimSuffix(dir, "/none")] = name
			}
		}
		return len(out) == 2
	})
	return out
}

// record-snoop.jsonl: the left channel holds what the caller said (the trace's 440 Hz
// through spy=in), the right what it heard (1000 Hz through spy=out); a pause is one mute and
// one unmute per recording however often it is asked for, and holds silence; Asterisk keeps
// nothing afterwards.
func TestRecordCallTwoChannels(t *testing.T) {
	cv := startConversation(t)
	path := filepath.Join(t.TempDir(), "calls", "c1.wav")
	rec, err := cv.caller.RecordCall(path, call.CallRecordOptions{})
	if err != nil {
		t.Fatal(err)
	}
	names := cv.snoopRecordings(t)
	time.Sleep(20 * time.Millisecond)
	if !rec.Pause() || rec.Pause() {
		t.Error("Pause, Pause: want true, then false")
	}
	for _, n := range names {
		if !cv.h.fake.Muted(n) {
			t.Errorf("recording %s not muted after Pause twice (a second mute would unmute it in Asterisk)", n)
		}
		if got := len(cv.h.fake.Requested("POST", "/ari/recordings/live/"+n+"/mute")); got != 1 {
			t.Errorf("%s: %d mute requests, want 1", n, got)
		}
	}
	time.Sleep(100 * time.Millisecond)
	if !rec.Resume() || rec.Resume() {
		t.Error("Resume, Resume: want true, then false")
	}
	for _, n := range names {
		if cv.h.fake.Muted(n) {
			t.Errorf("recording %s still muted after Resume", n)
		}
	}
	got, err := rec.Stop()
	if err != nil {
		t.Fatal(err)
	}
	if again, err := rec.Stop(); err != nil || again.Duration != got.Duration {
		t.Errorf("second Stop = %+v, %v; want the first's result", again, err)
	}
	if got.Incomplete || got.Path != path || got.Duration < 120*time.Millisecond || len(got.Paused) != 1 {
		t.Fatalf("recorded %+v: want complete, at %s, ≥120 ms, one paused span", got, path)
	}
	sp := got.Paused[0]
	if sp.Start < 20*time.Millisecond || sp.End-sp.Start < 100*time.Millisecond || sp.End > got.Duration {
		t.Errorf("paused span %+v in %v: want from ≥20 ms, ≥100 ms long", sp, got.Duration)
	}
	left, right := stereo(t, path)
	if len(left) != 12000 {
		t.Errorf("%d frames, want 12000 (the traced 1.5 s snoop recordings)", len(left))
	}
	from, to := int(sp.Start*8000/time.Second), int(sp.End*8000/time.Second)
	for i := from; i < to && i < len(left); i++ {
		if left[i] != 0 || right[i] != 0 {
			t.Fatalf("frame %d in the paused span %v is %d/%d, want silence", i, sp, left[i], right[i])
		}
	}
	tail := len(left) - 4000 // the last half second, after the pause
	if l, r := left[tail:], right[tail:]; toneRMS(l, 440) < 3000 || toneRMS(l, 1000) > 100 || toneRMS(r, 1000) < 3000 || toneRMS(r, 440) > 100 {
		t.Errorf("left 440 Hz %.0f / 1000 Hz %.0f, right 1000 Hz %.0f / 440 Hz %.0f: want the caller left, the agent right",
			toneRMS(l, 440), toneRMS(l, 1000), toneRMS(r, 1000), toneRMS(r, 440))
	}
	if n := cv.h.fake.StoredNames(); len(n) != 0 {
		t.Errorf("Asterisk still stores %v", n)
	}
	if s := cv.h.fake.Snoops(cv.caller.id); len(s) != 0 {
		t.Errorf("snoops left on the caller: %v", s)
	}
	cv.far.Hangup()
	recv(t, cv.ended, "the bridge to end")
}

// A stored file that cannot be fetched leaves its side silent and the recording Incomplete;
// the other side is kept.
func TestRecordCallFetchFails(t *testing.T) {
	cv := startConversation(t)
	path := filepath.Join(t.TempDir(), "c2.wav")
	rec, err := cv.caller.RecordCall(path, call.CallRecordOptions{Paused: true})
	if err != nil {
		t.Fatal(err)
	}
	names := cv.snoopRecordings(t)
	for _, n := range names {
		if !cv.h.fake.Muted(n) {
			t.Errorf("recording %s started paused but is not muted", n)
		}
	}
	cv.h.fake.FailNext("GET", "/ari/recordings/stored/"+names["in"]+"/file", 500, `{"message":"Internal Server Error"}`)
	got, err := rec.Stop()
	if err != nil {
		t.Fatal(err)
	}
	if !got.Incomplete || len(got.Paused) != 1 || got.Paused[0].Start != 0 || got.Paused[0].End != got.Duration {
		t.Errorf("recorded %+v: want Incomplete and paused from 0 to the end", got)
	}
	left, right := stereo(t, path)
	if len(right) != 12000 || toneRMS(left, 440) != 0 {
		t.Errorf("%d frames, left 440 Hz %.0f: want the right side's 12000 and a silent left", len(right), toneRMS(left, 440))
	}
	cv.far.Hangup()
	recv(t, cv.ended, "the bridge to end")
}

// record-snoop.jsonl, the caller's BYE: the snoops' recordings finish and are stored; Done
// closes and Stop still joins what Asterisk kept. Recording a gone channel is ErrHangup.
func TestRecordCallCallerHangsUp(t *testing.T) {
	cv := startConversation(t)
	path := filepath.Join(t.TempDir(), "c3.wav")
	rec, err := cv.caller.RecordCall(path, call.CallRecordOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cv.snoopRecordings(t)
	cv.far.Hangup()
	cv.h.wait(rec.Done(), "Done after the caller hung up")
	if rec.Pause() {
		t.Error("Pause after the end changed something")
	}
	got, err := rec.Stop()
	if err != nil || got.Incomplete {
		t.Fatalf("Stop = %+v, %v; want the stored files joined", got, err)
	}
	if left, right := stereo(t, path); toneRMS(left, 440) < 3000 || toneRMS(right, 1000) < 3000 {
		t.Errorf("left 440 Hz %.0f, right 1000 Hz %.0f: want both sides", toneRMS(left, 440), toneRMS(right, 1000))
	}
	recv(t, cv.ended, "the bridge to end")
	if _, err := cv.caller.RecordCall(path, call.CallRecordOptions{}); !errors.Is(err, call.ErrHangup) {
		t.Errorf("RecordCall on a gone channel: %v, want ErrHangup", err)
	}
}

// hearing is who hears whom in the fake, as call.MonitorMode.Hears numbers the parties.
func hearing(fake *aritest.Server, ids [3]string, m call.MonitorMode) bool {
	for a := range 3 {
		for b := range 3 {
			if a != b && fake.Hears(ids[a], ids[b]) != m.Hears(a, b) {
				return false
			}
		}
	}
	return true
}

// monitor-snoop.jsonl: listen, whisper and barge give exactly the hearing MonitorMode.Hears
// describes, following the control at once; the supervisor hanging up ends Monitor with its
// id, and caller and agent stay bridged with nothing of the monitor left.
func TestMonitorModes(t *testing.T) {
	cv := startConversation(t)
	h := cv.h
	sup, err := h.drv.Originate(h.ctx(), call.Target{Agent: "9001"}, call.OriginateOptions{RingTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctl := call.NewMonitorControl(call.Listen)
	type result struct {
		who string
		err error
	}
	done := make(chan result, 1)
	go func() {
		who, err := cv.caller.Monitor(context.Background(), cv.agent, sup, ctl)
		done <- result{who, err}
	}()
	ids := [3]string{cv.caller.id, cv.agent.id, sup.ID()}
	for _, m := range []call.MonitorMode{call.Listen, call.Whisper, call.Barge, call.Listen, call.Barge, call.Whisper} {
		ctl.Set(m)
		h.until("hearing as in "+string(m), func() bool { return hearing(h.fake, ids, m) })
	}
	if s := h.fake.Snoops(cv.agent.id); len(s) != 1 {
		t.Errorf("snoops on the agent while whispering: %v, want one (out)", s)
	}
	h.fake.Call(sup.ID()).Hangup()
	r := recv(t, done, "Monitor to return")
	if r.who != sup.ID() || r.err != nil {
		t.Errorf("Monitor = %q, %v; want the supervisor %q", r.who, r.err, sup.ID())
	}
	if !h.fake.Hears(cv.caller.id, cv.agent.id) || !h.fake.Hears(cv.agent.id, cv.caller.id) {
		t.Error("caller and agent no longer hear each other after the supervisor left")
	}
	if s := h.fake.Snoops(cv.agent.id); len(s) != 0 {
		t.Errorf("snoops left on the agent: %v", s)
	}
	if b := h.fake.Bridged(); len(b) != 1 {
		t.Errorf("bridges left: %v, want only the conversation's", b)
	}
	cv.far.Hangup()
	if who := recv(t, cv.ended, "the bridge to end"); who != cv.caller.id {
		t.Errorf("bridge ended by %q, want the caller", who)
	}
}

// Ending Monitor's context takes a barging supervisor out of the conversation and leaves it
// up; a monitor of a call that has ended, or of a caller not bridged with the agent, fails.
func TestMonitorEnds(t *testing.T) {
	cv := startConversation(t)
	h := cv.h
	sup, err := h.drv.Originate(h.ctx(), call.Target{Agent: "9001"}, call.OriginateOptions{RingTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sup.Hangup(call.CauseNormal) }()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan string, 1)
	go func() {
		who, _ := cv.caller.Monitor(ctx, cv.agent, sup, call.NewMonitorControl(call.Barge))
		done <- who
	}()
	h.until("the supervisor barged in", func() bool { return h.fake.Hears(cv.caller.id, sup.ID()) })
	cancel()
	if who := recv(t, done, "Monitor to return"); who != "" {
		t.Errorf("Monitor ended by its context returned %q, want \"\"", who)
	}
	if h.fake.Hears(cv.caller.id, sup.ID()) || h.fake.Hears(sup.ID(), cv.caller.id) || sup.Context().Err() != nil {
		t.Error("the supervisor is still in the conversation, or was hung up")
	}
	cv.far.Hangup()
	recv(t, cv.ended, "the bridge to end")
	who, err := cv.caller.Monitor(context.Background(), cv.agent, sup, call.NewMonitorControl(call.Listen))
	if who != cv.caller.id || !errors.Is(err, call.ErrHangup) {
		t.Errorf("Monitor after the call ended = %q, %v; want the caller and ErrHangup", who, err)
	}
}
