package ari

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/call"
)

type recorded struct {
	rec    call.Recording
	err    error
	hungUp bool
}

// recordingHandler answers, records a voicemail to path, and reports.
func recordingHandler(path string, ctxOf func(call.Channel) context.Context, out chan<- recorded) call.Handler {
	return func(ch call.Channel) {
		_ = ch.Answer(context.Background())
		rec, err := ch.Record(ctxOf(ch), path, call.RecordOptions{
			MaxDuration: 30 * time.Second, SilenceTimeout: 4 * time.Second, EndOnPound: true, Beep: true,
		})
		out <- recorded{rec, err, ch.Context().Err() != nil}
	}
}

// edge/record-hangup: the caller hangs up while recording (ChannelHangupRequest, then
// RecordingFinished "done", then StasisEnd). Record ends with End=hangup and the voicemail is
// kept: the stored file is fetched byte for byte, then deleted from Asterisk.
func TestRecordCallerHangsUp(t *testing.T) {
	out := make(chan recorded, 1)
	path := filepath.Join(t.TempDir(), "voicemail", "msg.wav")
	h := start(t, harnessOptions{}, recordingHandler(path, func(call.Channel) context.Context { return context.Background() }, out))
	caller := h.inbound("", "")
	h.until("the recording", func() bool { return h.fake.Recording(caller.ID) != "" })
	name := h.fake.Recording(caller.ID)
	caller.Hangup()
	r := recv(t, out, "Record to return")
	if r.err != nil || r.rec.End != call.RecordEndHangup || r.rec.Path != path {
		t.Fatalf("Record = %+v, %v; want End=hangup at %s", r.rec, r.err, path)
	}
	got, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(got, h.fake.RecordingWAV()) {
		t.Fatalf("voicemail file: %d bytes, %v; want the %d bytes Asterisk stored", len(got), err, len(h.fake.RecordingWAV()))
	}
	if r.rec.Duration != 3060*time.Millisecond {
		t.Errorf("Duration = %v, want 3.06 s (the WAV's length)", r.rec.Duration)
	}
	if _, still := h.fake.Stored(name); still {
		t.Errorf("stored recording %s left on Asterisk after it was fetched", name)
	}
	reqs := h.fake.Requested("POST", "/ari/channels/"+caller.ID+"/record")
	if len(reqs) != 1 {
		t.Fatalf("record requests = %d, want 1", len(reqs))
	}
	q := reqs[0].Query
	for k, want := range map[string]string{"name": name, "format": "wav", "maxDurationSeconds": "30", "maxSilenceSeconds": "4",
		"terminateOn": "#", "beep": "false", "ifExists": "overwrite"} {
		if q.Get(k) != want {
			t.Errorf("record %s = %q, want %q", k, q.Get(k), want)
		}
	}
	// the beep is hotline's shipped one, played from the shared directory before recording:
	// Asterisk's own beep=true needs its core sounds, which many installations lack
	plays := h.fake.Requested("POST", "/ari/channels/"+caller.ID+"/play")
	if len(plays) != 1 || !strings.HasSuffix(plays[0].Query.Get("media"), "/"+CacheDir+"/hotline-beep") ||
		!plays[0].At.Before(reqs[0].At) {
		t.Errorf("plays %+v: want hotline's beep by absolute path before the recording", plays)
	}
	if len(h.fake.Requested("GET", "/ari/recordings/stored/"+name+"/file")) != 1 || len(h.fake.Requested("DELETE", "/ari/recordings/stored/"+name)) != 1 {
		t.Error("want one GET of the stored file and one DELETE of the stored recording")
	}
}

// edge/record-hangup part B: '#' ends the recording (Asterisk stops on terminateOn and sends
// ChannelDtmfReceived "#" then RecordingFinished "done"); the call stays up.
func TestRecordPound(t *testing.T) {
	out := make(chan recorded, 1)
	path := filepath.Join(t.TempDir(), "msg.wav")
	h := start(t, harnessOptions{}, recordingHandler(path, func(call.Channel) context.Context { return context.Background() }, out))
	caller := h.inbound("", "")
	h.until("the recording", func() bool { return h.fake.Recording(caller.ID) != "" })
	if err := caller.DTMF("#"); err != nil {
		t.Fatal(err)
	}
	r := recv(t, out, "Record to return")
	if r.err != nil || r.rec.End != call.RecordEndDigit || r.hungUp {
		t.Fatalf("Record = %+v, %v (hung up %v); want End=digit with the call up", r.rec, r.err, r.hungUp)
	}
	if got, err := os.ReadFile(path); err != nil || !bytes.Equal(got, h.fake.RecordingWAV()) {
		t.Errorf("recording file: %d bytes, %v; want Asterisk's", len(got), err)
	}
	if n := len(h.fake.StoredNames()); n != 0 {
		t.Errorf("%d stored recordings left on Asterisk", n)
	}
	if n := len(h.fake.Requested("POST", "/ari/recordings/live/"+h.fake.Requested("POST", "/ari/channels/"+caller.ID+"/record")[0].Query.Get("name")+"/stop")); n != 0 {
		t.Errorf("hotline stopped a recording Asterisk ended by itself (%d stop requests)", n)
	}
	caller.Hangup()
}

// The flow stops a recording (its ctx ends): POST /recordings/live/{name}/stop, End=stopped,
// and what was said so far is kept.
func TestRecordStopped(t *testing.T) {
	out := make(chan recorded, 1)
	path := filepath.Join(t.TempDir(), "msg.wav")
	stop := make(chan struct{})
	h := start(t, harnessOptions{}, recordingHandler(path, func(call.Channel) context.Context {
		ctx, cancel := context.WithCancel(context.Background())
		go func() { <-stop; cancel() }()
		return ctx
	}, out))
	caller := h.inbound("", "")
	h.until("the recording", func() bool { return h.fake.Recording(caller.ID) != "" })
	name := h.fake.Recording(caller.ID)
	close(stop)
	r := recv(t, out, "Record to return")
	if r.err != nil || r.rec.End != call.RecordEndStopped {
		t.Fatalf("Record = %+v, %v; want End=stopped", r.rec, r.err)
	}
	if len(h.fake.Requested("POST", "/ari/recordings/live/"+name+"/stop")) != 1 {
		t.Error("the live recording was not stopped")
	}
	if fi, err := os.Stat(path); err != nil || fi.Size() != int64(len(h.fake.RecordingWAV())) {
		t.Errorf("recording file: %v", err)
	}
	caller.Hangup()
}
