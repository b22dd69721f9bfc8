package sip

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/audio"
	"github.com/hotline-cc/hotline/call"
	"github.com/hotline-cc/hotline/internal/sipptest"
)

func TestMonitorRefusesForeignChannels(t *testing.T) {
	c := &Channel{}
	ctl := call.NewMonitorControl(call.Listen)
	if _, err := c.Monitor(context.Background(), otherDriver{}, &Channel{}, ctl); !errors.Is(err, call.ErrNotBridgeable) {
		t.Errorf("an agent of another driver: %v, want call.ErrNotBridgeable", err)
	}
	if _, err := c.Monitor(context.Background(), &Channel{}, (*Channel)(nil), ctl); err == nil {
		t.Error("a nil supervisor: no error")
	}
	if _, err := c.Monitor(context.Background(), &Channel{}, &Channel{}, nil); !errors.Is(err, ErrNoMonitorControl) {
		t.Errorf("no control: %v, want ErrNoMonitorControl", err)
	}
}

// stereoRMS reads a two-channel recording and returns each channel's RMS.
func stereoRMS(t *testing.T, path string) (left, right float64, d time.Duration) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < audio.HeaderSize || string(b[:4]) != "RIFF" || b[22] != 2 {
		t.Fatalf("%s is not a two-channel WAV", path)
	}
	var l, r []int16
	for i := audio.HeaderSize; i+4 <= len(b); i += 4 {
		l = append(l, int16(uint16(b[i])|uint16(b[i+1])<<8))
		r = append(r, int16(uint16(b[i+2])|uint16(b[i+3])<<8))
	}
	return audio.RMS(l), audio.RMS(r), time.Duration(len(l)) * time.Second / 8000
}

// A supervisor monitors a call with real phones: the caller speaks (sipp playing
// g711a.pcap), the agent's phone echoes what it hears (sipp -rtp_echo), the supervisor
// dials in and presses 1 2 3 # (listen, whisper, barge, leave). The keys arrive on the
// supervisor's ReadDigits while the three are mixed; the supervisor's leg ending ends
// Monitor, naming it, and caller and agent are bridged again until the caller hangs up. The
// caller's leg is recorded throughout: the caller on the left, the agent's echo of the
// caller on the right; the supervisor's leg, recorded too, heard the call.
func TestMonitorWithPhones(t *testing.T) {
	type result struct {
		monitorEnded, supervisorID string
		bridgeEnded, callerID      string
		keys                       string
		modes                      []call.MonitorMode
		rec, supRec                call.RecordedCall
		elapsed                    time.Duration
		err                        error
	}
	done := make(chan result, 1)
	supervisors := make(chan *Channel, 1)
	dir := t.TempDir()
	srv := startServer(t, func(ch call.Channel) {
		ctx := ch.Context()
		if ch.Dialed() == "monitor" { // the supervisor's call: it lasts until hung up
			if err := ch.Answer(ctx); err == nil {
				supervisors <- ch.(*Channel)
				<-ctx.Done()
			}
			return
		}
		var r result
		defer func() { done <- r }()
		if r.err = ch.Answer(ctx); r.err != nil {
			return
		}
		caller := ch.(*Channel)
		r.callerID = caller.ID()
		ag, err := caller.s.Originate(ctx, call.Target{Agent: "1001"}, call.OriginateOptions{CallerID: ch.Caller(), RingTimeout: 5 * time.Second})
		if err != nil {
			r.err = err
			return
		}
		defer ag.Hangup(call.CauseNormal)
		rec, err := caller.RecordCall(filepath.Join(dir, "call.wav"), call.CallRecordOptions{})
		if err != nil {
			r.err = err
			return
		}
		start := time.Now()
		var sup *Channel
		select {
		case sup = <-supervisors:
		case <-time.After(10 * time.Second):
			r.err = errors.New("the supervisor never called")
			return
		}
		r.supervisorID = sup.ID()
		supRec, err := sup.RecordCall(filepath.Join(dir, "supervisor.wav"), call.CallRecordOptions{})
		if err != nil {
			r.err = err
			return
		}
		ctl := call.NewMonitorControl(call.Listen)
		keysDone := make(chan struct{})
		go func() { // the call path's keys: 1 listen, 2 whisper, 3 barge, # leave
			defer close(keysDone)
			for {
				d, err := sup.ReadDigits(ctx, call.DigitOptions{Max: 1, FirstTimeout: 10 * time.Second})
				if err != nil || d == "" {
					return
				}
				r.keys += d
				switch d {
				case "1", "2", "3":
					ctl.Set([]call.MonitorMode{call.Listen, call.Whisper, call.Barge}[d[0]-'1'])
					r.modes = append(r.modes, ctl.Mode())
				case "#":
					_ = sup.Hangup(call.CauseNormal)
					return
				}
			}
		}()
		r.monitorEnded, r.err = caller.Monitor(ctx, ag, sup, ctl)
		<-keysDone
		if r.err != nil {
			return
		}
		select {
		case <-supRec.Done(): // the supervisor's leg ended, and its recording with it
		case <-time.After(time.Second):
			r.err = errors.New("the supervisor's recording went on after its leg ended")
			return
		}
		if r.supRec, r.err = supRec.Stop(); r.err != nil {
			return
		}
		r.bridgeEnded, r.err = caller.Bridge(ctx, ag)
		if r.err != nil {
			return
		}
		r.elapsed = time.Since(start)
		r.rec, r.err = rec.Stop()
	})
	echo := sipptest.Start(t, sipptest.Options{Scenario: "uas", Args: []string{"-rtp_echo"}})
	sipptest.Start(t, sipptest.Options{Scenario: "register.xml", Target: srv.addr, Auth: [2]string{"1001", testAgents["1001"]},
		Inject: [][]string{{"1001", testAgents["1001"], strconv.Itoa(echo.Port), "300"}}}).MustSucceed(t)
	caller := sipptest.Start(t, sipptest.Options{Scenario: "uac_voice.xml", Target: srv.addr, Service: "hotline", Pause: 5 * time.Second})
	time.Sleep(time.Second) // the caller is talking to the agent
	supervisor := sipptest.Start(t, sipptest.Options{Scenario: "uac_dtmf_pcmu.xml", Target: srv.addr, Service: "monitor"})
	var r result
	select {
	case r = <-done:
	case <-time.After(25 * time.Second):
		t.Fatalf("the call never ended\ncaller:\n%s\nsupervisor:\n%s", caller.Log(), supervisor.Log())
	}
	if r.err != nil {
		t.Fatalf("handler: %v\ncaller:\n%s\nsupervisor:\n%s\necho agent:\n%s", r.err, caller.Log(), supervisor.Log(), echo.Log())
	}
	caller.MustSucceed(t)
	supervisor.MustSucceed(t)
	echo.MustSucceed(t)
	if r.keys != "123#" || len(r.modes) != 3 || r.modes[2] != call.Barge {
		t.Errorf("the supervisor's keys %q switched to %v; want 123# and listen, whisper, barge", r.keys, r.modes)
	}
	if r.monitorEnded != r.supervisorID {
		t.Errorf("Monitor ended by %q, want the supervisor %q", r.monitorEnded, r.supervisorID)
	}
	if r.bridgeEnded != r.callerID {
		t.Errorf("the bridge after monitoring ended by %q, want the caller %q", r.bridgeEnded, r.callerID)
	}
	left, right, d := stereoRMS(t, r.rec.Path)
	if r.rec.Incomplete || len(r.rec.Paused) != 0 || d != r.rec.Duration || r.rec.Duration < r.elapsed {
		t.Errorf("the caller's recording: %+v, %v in the file; want complete, unpaused, at least the %v monitored and bridged", r.rec, d, r.elapsed)
	}
	if left < 500 {
		t.Errorf("the caller's voice recorded at RMS %.0f: (nearly) silent", left)
	}
	if db := 20 * math.Log10(right/left); db < -6 || db > 3 {
		t.Errorf("the right channel (the agent's echo of the caller) at RMS %.0f for the caller's %.0f (%+.1f dB)", right, left, db)
	}
	_, heard, _ := stereoRMS(t, r.supRec.Path)
	if heard < 500 {
		t.Errorf("the supervisor heard RMS %.0f: nothing of the call", heard)
	}
	t.Logf("keys %s → %v; Monitor ended by the supervisor; caller recording %v: left RMS %.0f, right %.0f; supervisor heard RMS %.0f in %v",
		r.keys, r.modes, r.rec.Duration, left, right, heard, r.supRec.Duration)
}
