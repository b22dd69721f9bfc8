package media

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/call"
)

// The monitored call's voices.
const (
	monCaller     = 440.0
	monAgent      = 1000.0
	monSupervisor = 2000.0
)

// mix runs Mix in the background; stop ends it and returns what it returned.
func mix(t *testing.T, hears Hearing, legs ...*Session) (stop func() (int, error), done <-chan struct{}) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	type result struct {
		i   int
		err error
	}
	res := make(chan result, 1)
	ended := make(chan struct{})
	go func() {
		i, err := Mix(ctx, hears, legs...)
		res <- result{i, err}
		close(ended)
	}()
	return func() (int, error) { cancel(); r := <-res; return r.i, r.err }, ended
}

// A supervisor monitors a call: caller (µ-law), agent (A-law) and supervisor, each phone
// sending its own tone, mixed with the hearing of a MonitorControl that switches listen →
// whisper → barge → listen while the mix runs. In every mode each phone hears exactly the
// parties the mode says (call.MonitorMode.Hears), at their level, and nobody else.
func TestMixHearingFollowsMonitorModes(t *testing.T) {
	t.Parallel()
	ps := []*party{
		newParty(t, "caller", monCaller, PCMU),
		newParty(t, "agent", monAgent, PCMA),
		newParty(t, "supervisor", monSupervisor, PCMU),
	}
	for _, p := range ps {
		defer p.talk()()
	}
	ctl := call.NewMonitorControl(call.Listen)
	stop, _ := mix(t, func(a, b int) bool { return ctl.Mode().Hears(a, b) }, ps[0].leg, ps[1].leg, ps[2].leg)
	const settle, d = 150 * time.Millisecond, 400 * time.Millisecond
	for _, mode := range []call.MonitorMode{call.Listen, call.Whisper, call.Barge, call.Listen} {
		ctl.Set(mode)
		heard := listen(settle, d, ps...)
		for a, p := range ps {
			var want, notWant []float64
			for b, o := range ps {
				if mode.Hears(a, b) {
					want = append(want, o.freq)
				} else {
					notWant = append(notWant, o.freq)
				}
			}
			checkHears(t, string(mode)+": "+p.name, heard[a], d, want, notWant)
		}
	}
	if i, err := stop(); i != -1 || !errors.Is(err, context.Canceled) {
		t.Errorf("Mix = %d, %v; want -1, context.Canceled", i, err)
	}
}

// The supervisor's keys switch modes: in a monitored mix their digits arrive on the
// supervisor's leg, and neither phone of the call receives them. The supervisor hanging up
// ends the mix, naming that leg.
func TestMixSupervisorDigitsAndHangup(t *testing.T) {
	t.Parallel()
	ps := []*party{
		newParty(t, "caller", monCaller, PCMU),
		newParty(t, "agent", monAgent, PCMU),
		newParty(t, "supervisor", monSupervisor, PCMA),
	}
	ctl := call.NewMonitorControl(call.Whisper)
	stop, ended := mix(t, func(a, b int) bool { return ctl.Mode().Hears(a, b) }, ps[0].leg, ps[1].leg, ps[2].leg)
	time.Sleep(40 * time.Millisecond)
	if err := ps[2].phone.SendDigit(context.Background(), '3', 60*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if got := readDigits(ps[2].leg, 1, time.Second); got != "3" {
		t.Errorf("the supervisor's leg decoded %q, want 3", got)
	}
	for _, p := range ps[:2] {
		if got := readDigits(p.phone, 1, 100*time.Millisecond); got != "" {
			t.Errorf("%s's phone received the digit %q", p.name, got)
		}
	}
	ps[2].leg.Close()
	select {
	case <-ended:
	case <-time.After(time.Second):
		t.Fatal("the mix went on after the supervisor's leg ended")
	}
	if i, err := stop(); i != 2 || !errors.Is(err, ErrSessionClosed) {
		t.Errorf("Mix = %d, %v; want 2, ErrSessionClosed", i, err)
	}
}

// Whom a leg hears is asked per frame: switching changes the very next frame, and a leg
// hearing nobody is sent silence, not nothing.
func TestMixHearingPerFrame(t *testing.T) {
	m, pkts, rs, _ := newBenchConference(t, 3)
	hearsAll := true
	m.hears = func(a, b int) bool { return hearsAll || b != 2 }
	var got [3][2]float64 // per leg: power heard with everyone, then without leg 2
	for k, all := range []bool{true, false} {
		hearsAll = all
		for range int(jitterSamples/FrameSamples) + 1 {
			conferenceFrame(m, pkts, rs)
		}
		for i, l := range m.legs {
			got[i][k] = meanSquare(l.out[:])
		}
	}
	// Legs 0 and 1 lose leg 2's tone; leg 2 hears the same both times.
	if !(got[0][1] < got[0][0] && got[1][1] < got[1][0]) || got[2][1] != got[2][0] {
		t.Errorf("power heard (everyone, then not leg 2): %v", got)
	}
	m.hears = func(a, b int) bool { return false }
	sent := m.legs[0].s.Stats().PacketsSent
	conferenceFrame(m, pkts, rs)
	if m.legs[0].s.Stats().PacketsSent != sent+1 || meanSquare(m.legs[0].out[:]) != 0 {
		t.Error("a leg hearing nobody was not sent a frame of silence")
	}
}

func meanSquare(pcm []int16) float64 {
	var s float64
	for _, v := range pcm {
		s += float64(v) * float64(v)
	}
	return s / float64(len(pcm))
}

// A frame of a monitored call (three packets in, three mixed out by hearing) does not
// allocate.
func TestMixHearingDoesNotAllocate(t *testing.T) {
	m, pkts, r, _ := newBenchConference(t, 3)
	ctl := call.NewMonitorControl(call.Whisper)
	m.hears = func(a, b int) bool { return ctl.Mode().Hears(a, b) }
	if n := testing.AllocsPerRun(200, func() { conferenceFrame(m, pkts, r) }); n != 0 {
		t.Errorf("one monitored frame: %.1f allocations", n)
	}
}

// A monitored call recorded on the caller's leg: the right channel holds what the caller
// hears from the mix (the agent; the supervisor only once barging), the left the caller.
func TestMixIsRecordedOnTheRight(t *testing.T) {
	t.Parallel()
	ps := []*party{
		newParty(t, "caller", monCaller, PCMU),
		newParty(t, "agent", monAgent, PCMA),
		newParty(t, "supervisor", monSupervisor, PCMU),
	}
	for _, p := range ps {
		defer p.talk()()
	}
	ctl := call.NewMonitorControl(call.Whisper)
	stop, _ := mix(t, func(a, b int) bool { return ctl.Mode().Hears(a, b) }, ps[0].leg, ps[1].leg, ps[2].leg)
	defer stop()
	rec, err := ps[0].leg.RecordCall(t.TempDir()+"/monitored.wav", CallRecordOptions{})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	bargeAt := 500 * time.Millisecond // about: the file runs with wall time
	ctl.Set(call.Barge)
	time.Sleep(500 * time.Millisecond)
	res, err := rec.Stop()
	if err != nil {
		t.Fatal(err)
	}
	w := readStereoWAV(t, res.Path)
	const d = 300 * time.Millisecond
	checkHears(t, "left, whisper", at(w.left, 150*time.Millisecond, 150*time.Millisecond+d), d, []float64{monCaller}, []float64{monAgent, monSupervisor})
	checkHears(t, "right, whisper", at(w.right, 150*time.Millisecond, 150*time.Millisecond+d), d, []float64{monAgent}, []float64{monCaller, monSupervisor})
	from := bargeAt + 150*time.Millisecond
	checkHears(t, "right, barge", at(w.right, from, from+d), d, []float64{monAgent, monSupervisor}, []float64{monCaller})
}
