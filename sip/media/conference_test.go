package media

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/audio"
)

// The parties' voices: each phone sends its own tone, so what a phone hears says whom it
// hears. Hold music has a fourth.
const (
	toneCaller = 400.0
	toneAgent  = 700.0
	toneThird  = 1100.0
	toneMusic  = 1500.0
	toneAmp    = 8000.0
	// tonePower is the Goertzel power of one party's tone as sent (amplitude²/2).
	tonePower = toneAmp * toneAmp / 2
)

// A party is a phone (a peer session on loopback, sending its tone as real RTP) and the
// hotline leg it talks to (the session the call path bridges, holds and mixes).
type party struct {
	name  string
	freq  float64
	phone *Session
	leg   *Session
	heard tapRecorder // what the phone receives
}

func newParty(t *testing.T, name string, freq float64, c Codec) *party {
	t.Helper()
	p := &party{name: name, freq: freq, phone: newTestSession(t), leg: newTestSession(t)}
	connect(p.phone, p.leg, c, 101, c, 101)
	t.Cleanup(p.phone.AddTap(p.heard.tap))
	return p
}

// talk makes the phone send its tone until the returned stop is called.
func (p *party) talk() (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	voice := tone(p.freq, 8000, toneAmp, 8000) // whole cycles: the loop is seamless
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			_ = p.phone.Play(ctx, voice)
		}
	}()
	return func() { cancel(); <-done }
}

// listen returns what each party's phone received during d, after settle (for packets in
// flight and the jitter buffer to fill after a change).
func listen(settle, d time.Duration, ps ...*party) [][]int16 {
	time.Sleep(settle)
	marks := make([]int, len(ps))
	for i, p := range ps {
		_, pcm := p.heard.get()
		marks[i] = len(pcm)
	}
	time.Sleep(d)
	out := make([][]int16, len(ps))
	for i, p := range ps {
		_, pcm := p.heard.get()
		out[i] = pcm[marks[i]:]
	}
	return out
}

// checkHears asserts that pcm, d of what a phone received, carries each tone of want at
// close to the level it was sent and none of notWant, and reports the measured powers (dB
// relative to a tone as sent).
func checkHears(t *testing.T, who string, pcm []int16, d time.Duration, want, notWant []float64) {
	t.Helper()
	if got, min := len(pcm), int(0.8*d.Seconds()*8000); got < min {
		t.Errorf("%s received %d ms of audio in %v, want at least %d", who, got/8, d, min/8)
		return
	}
	var report []string
	for _, f := range want {
		p := audio.Goertzel(pcm, 8000, f) / tonePower
		report = append(report, fmt.Sprintf("%.0f Hz %+.1f dB", f, 10*math.Log10(p)))
		if p < 0.5 { // -3 dB: the tone arrived whole, at its level, barely a frame lost
			t.Errorf("%s: %.0f Hz at %.1f dB, want about 0 dB (heard)", who, f, 10*math.Log10(p))
		}
	}
	for _, f := range notWant {
		p := audio.Goertzel(pcm, 8000, f) / tonePower
		report = append(report, fmt.Sprintf("%.0f Hz %+.1f dB", f, 10*math.Log10(p)))
		if p > 1e-3 { // -30 dB: nothing of it (G.711 noise is below -40 dB)
			t.Errorf("%s: %.0f Hz at %.1f dB, want nothing (not heard)", who, f, 10*math.Log10(p))
		}
	}
	t.Logf("%s hears: %s", who, strings.Join(report, ", "))
}

// conference runs Conference in the background; stop ends it and returns what it returned.
func conference(t *testing.T, legs ...*Session) (stop func() (int, error)) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	type result struct {
		i   int
		err error
	}
	done := make(chan result, 1)
	go func() {
		i, err := Conference(ctx, legs...)
		done <- result{i, err}
	}()
	return func() (int, error) { cancel(); r := <-done; return r.i, r.err }
}

// bridge relays a and b to each other as sip.Channel.Bridge does (one Relay per direction);
// stop ends both and fails the test unless both had been relaying until then.
func bridge(t *testing.T, a, b *Session) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	errs := make(chan error, 2)
	go func() { errs <- a.Relay(ctx, b) }()
	go func() { errs <- b.Relay(ctx, a) }()
	return func() {
		t.Helper()
		cancel()
		for range 2 {
			if err := <-errs; !errors.Is(err, context.Canceled) {
				t.Errorf("Relay returned %v, want context.Canceled (relaying until stopped)", err)
			}
		}
	}
}

// Three parties in a conference, one of them on A-law: each phone hears both others' tones
// at their level and not its own; every packet a phone sent reached its leg, every packet a
// leg sent reached its phone, one per 20 ms.
func TestConferenceEachHearsTheOthers(t *testing.T) {
	t.Parallel()
	ps := []*party{
		newParty(t, "caller", toneCaller, PCMU),
		newParty(t, "agent", toneAgent, PCMA),
		newParty(t, "third", toneThird, PCMU),
	}
	start := time.Now()
	stop := conference(t, ps[0].leg, ps[1].leg, ps[2].leg)
	var quiet []func()
	for _, p := range ps {
		quiet = append(quiet, p.talk())
	}
	const d = 600 * time.Millisecond
	heard := listen(300*time.Millisecond, d, ps...)
	for _, q := range quiet {
		q()
	}
	i, err := stop()
	elapsed := time.Since(start)
	if i != -1 || !errors.Is(err, context.Canceled) {
		t.Errorf("Conference = %d, %v; want -1, context.Canceled", i, err)
	}
	for k, p := range ps {
		var others []float64
		for _, o := range ps {
			if o != p {
				others = append(others, o.freq)
			}
		}
		checkHears(t, p.name, heard[k], d, others, []float64{p.freq})
	}
	for _, p := range ps {
		sent, recv := p.phone.Stats().PacketsSent, func() uint64 { return p.leg.Stats().PacketsReceived }
		if !waitFor(time.Second, func() bool { return recv() == sent }) {
			t.Errorf("%s: phone sent %d packets, its leg received %d", p.name, sent, recv())
		}
		mixed := p.leg.Stats().PacketsSent
		if !waitFor(time.Second, func() bool { return p.phone.Stats().PacketsReceived == mixed }) {
			t.Errorf("%s: leg sent %d packets, the phone received %d", p.name, mixed, p.phone.Stats().PacketsReceived)
		}
		if frames := uint64(elapsed / FrameInterval); mixed < frames*8/10 || mixed > frames+1 {
			t.Errorf("%s: leg sent %d packets in %v, want one per 20 ms (%d)", p.name, mixed, elapsed, frames)
		}
		t.Logf("%s: phone → leg %d packets, leg → phone %d in %v", p.name, sent, mixed, elapsed.Round(time.Millisecond))
	}
}

// A party hanging up ends the conference: Conference says which leg ended, and nothing more
// is sent to the others.
func TestConferenceEndsWhenALegEnds(t *testing.T) {
	t.Parallel()
	ps := []*party{newParty(t, "caller", toneCaller, PCMU), newParty(t, "agent", toneAgent, PCMU), newParty(t, "third", toneThird, PCMA)}
	done := make(chan error, 1)
	var ended int
	go func() {
		var err error
		ended, err = Conference(context.Background(), ps[0].leg, ps[1].leg, ps[2].leg)
		done <- err
	}()
	if !waitFor(time.Second, func() bool { return ps[0].phone.Stats().PacketsReceived >= 5 }) {
		t.Fatal("the conference sent nothing")
	}
	ps[1].leg.Close() // the agent's leg hangs up
	select {
	case err := <-done:
		if ended != 1 || !errors.Is(err, ErrSessionClosed) {
			t.Errorf("Conference = %d, %v; want 1, ErrSessionClosed", ended, err)
		}
	case <-time.After(time.Second):
		t.Fatal("the conference went on after a leg ended")
	}
	sent := ps[0].leg.Stats().PacketsSent
	time.Sleep(100 * time.Millisecond)
	if now := ps[0].leg.Stats().PacketsSent; now != sent {
		t.Errorf("the caller's leg sent %d packets after the conference ended", now-sent)
	}
}

// A digit pressed in a conference reaches the call path on that leg's Digits and nobody
// else: it is neither forwarded as an event nor mixed as audio.
func TestConferenceDigitsAreConsumed(t *testing.T) {
	t.Parallel()
	ps := []*party{newParty(t, "caller", toneCaller, PCMU), newParty(t, "agent", toneAgent, PCMA), newParty(t, "third", toneThird, PCMU)}
	stop := conference(t, ps[0].leg, ps[1].leg, ps[2].leg)
	defer stop()
	time.Sleep(40 * time.Millisecond)
	before := []uint64{ps[1].phone.Stats().PacketsReceived, ps[2].phone.Stats().PacketsReceived}
	if err := ps[0].phone.SendDigit(context.Background(), '5', 60*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if got := readDigits(ps[0].leg, 1, time.Second); got != "5" {
		t.Errorf("the caller's leg decoded %q, want 5", got)
	}
	for _, p := range ps[1:] {
		if got := readDigits(p.phone, 1, 200*time.Millisecond); got != "" {
			t.Errorf("%s's phone received the digit %q", p.name, got)
		}
	}
	_, pcm := ps[1].heard.get()
	if r := audio.RMS(pcm); r > 100 {
		t.Errorf("the agent heard RMS %.0f while the caller pressed a key, want silence", r)
	}
	after := []uint64{ps[1].phone.Stats().PacketsReceived, ps[2].phone.Stats().PacketsReceived}
	for k := range before {
		if after[k] == before[k] {
			t.Errorf("%s received no mix while the digit was pressed", ps[k+1].name)
		}
	}
}

// The sum is clamped to 16 bits: two loud parties make the third hear full scale, not a
// wrapped-around negative.
func TestConferenceMixSaturates(t *testing.T) {
	t.Parallel()
	sink, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	m := &mixer{}
	for range 3 {
		s := newTestSession(t, WithCodec(PCMU, 101))
		s.SetRemote(sink.LocalAddr().(*net.UDPAddr).AddrPort())
		m.legs = append(m.legs, &mixLeg{s: s})
	}
	loud := make([]int16, FrameSamples)
	for i := range loud {
		loud[i] = 30000
	}
	for pos := uint32(0); pos < uint32(jitterSamples)+FrameSamples; pos += FrameSamples {
		m.legs[0].push(1, pos, loud)
		m.legs[1].push(2, pos, loud)
	}
	for range jitterSamples/FrameSamples + 1 {
		m.mix(false)
	}
	pkts := sniff(t, sink)
	if len(pkts) != 3*int(jitterSamples/FrameSamples+1) {
		t.Fatalf("%d packets, want 3 per frame", len(pkts))
	}
	last := pkts[len(pkts)-3:] // the frame with audio; legs send in order
	third := PCMU.Decode(nil, last[2].Payload)
	if third[0] < 32000 {
		t.Errorf("30000+30000 mixed to %d, want clamped at full scale", third[0])
	}
	if one := PCMU.Decode(nil, last[0].Payload); !within(float64(one[0]), 30000, 0.03) {
		t.Errorf("leg 0 hears %d, want the other loud leg's 30000 only", one[0])
	}
	// The frames before the jitter delay had nothing yet: silence, not garbage.
	if early := PCMU.Decode(nil, pkts[2].Payload); audio.RMS(early) != 0 {
		t.Errorf("the first frame, before any audio was due, has RMS %.0f", audio.RMS(early))
	}
}

// The per-leg buffer: packets play ConferenceJitter after they arrive, in timestamp order
// whatever order they came in; a lost or too-late packet is a frame of silence; a sender
// whose clock is fast or slow is re-anchored, so the delay never grows.
func TestConferenceJitterBuffer(t *testing.T) {
	t.Parallel()
	frame := func(v int16) []int16 {
		f := make([]int16, FrameSamples)
		for i := range f {
			f[i] = v
		}
		return f
	}
	pulled := func(l *mixLeg) int16 { l.pull(); return l.in[0] }
	lead := int(jitterSamples / FrameSamples)

	t.Run("reordered and lost", func(t *testing.T) {
		l := &mixLeg{}
		const ts0 = 1000
		at := func(k int) uint32 { return ts0 + uint32(k)*FrameSamples }
		// What arrives before each frame is mixed: frame 3 before 2, 4 lost, 4 arriving
		// late after 6.
		arrivals := [][]int{{1}, {3}, {2}, {}, {5}, {6}, {4}, {}}
		var got []int16
		for _, ks := range arrivals {
			for _, k := range ks {
				l.push(7, at(k-1), frame(int16(k)))
			}
			got = append(got, pulled(l))
		}
		if want := "[0 0 1 2 3 0 5 6]"; fmt.Sprint(got) != want {
			t.Errorf("frames %v, want %s (the jitter delay, in order, silence for the lost one)", got, want)
		}
		if l.late != 1 || l.resyncs != 0 {
			t.Errorf("late %d, resyncs %d; want the one late packet dropped, the stream still anchored", l.late, l.resyncs)
		}
	})

	for _, c := range []struct {
		name string
		rate float64 // sender frames per mixer frame
	}{{"sender 1% slow", 0.99}, {"sender 1% fast", 1.01}, {"sender in step", 1}} {
		t.Run(c.name, func(t *testing.T) {
			l := &mixLeg{}
			var ts uint32
			var sent float64
			maxLeadSeen, silent := int64(0), 0
			const ticks = 1000
			for tick := range ticks {
				for ; sent < float64(tick+1)*c.rate; sent++ {
					l.push(9, ts, frame(100))
					ts += FrameSamples
				}
				maxLeadSeen = max(maxLeadSeen, l.newest-l.readPos)
				if pulled(l) == 0 && tick > lead {
					silent++
				}
			}
			if maxLeadSeen > maxLead+FrameSamples {
				t.Errorf("buffered %d ms ahead of the mix, want at most %d", maxLeadSeen/8, (maxLead+FrameSamples)/8)
			}
			if c.rate == 1 && (silent != 0 || l.resyncs != 0) {
				t.Errorf("in step: %d silent frames, %d resyncs; want none", silent, l.resyncs)
			}
			if c.rate != 1 && (l.resyncs == 0 || silent > ticks*3/100) {
				t.Errorf("%d resyncs, %d silent frames of %d: want some resyncs, at most 3%% silence", l.resyncs, silent, ticks)
			}
			t.Logf("max lead %d ms, %d silent frames of %d, %d resyncs, %d late", maxLeadSeen/8, silent, ticks, l.resyncs, l.late)
		})
	}

	// A network stall of 100 ms, then its packets all at once: those already due are
	// dropped, and the stream plays on with the delay it had, not 100 ms more.
	t.Run("stall", func(t *testing.T) {
		l := &mixLeg{}
		var ts uint32
		push := func(v int16) { l.push(3, ts, frame(v)); ts += FrameSamples }
		for range 10 {
			push(1)
			l.pull()
		}
		before := l.newest - l.readPos
		for range 5 {
			l.pull() // nothing arrives
		}
		for range 5 {
			push(2) // the stall's packets
		}
		var got []int16
		for range 10 {
			push(3)
			got = append(got, pulled(l))
		}
		if after := l.newest - l.readPos; after != before || l.resyncs != 0 {
			t.Errorf("after the stall: %d ms ahead, %d resyncs; want %d ms as before, none", after/8, l.resyncs, before/8)
		}
		if want := "[2 2 3 3 3 3 3 3 3 3]"; fmt.Sprint(got) != want {
			t.Errorf("frames after the stall %v, want %s (the two not yet due, then on time)", got, want)
		}
	})

	// A sender whose timestamps jump back (a restart keeping its SSRC) is heard again at
	// once, not dropped as late for ever.
	t.Run("timestamps jump back", func(t *testing.T) {
		l := &mixLeg{}
		for i := range uint32(20) {
			l.push(4, 100000+i*FrameSamples, frame(1))
			l.pull()
		}
		var got []int16
		for i := range uint32(lead + 2) {
			l.push(4, 500+i*FrameSamples, frame(2))
			got = append(got, pulled(l))
		}
		if got[len(got)-1] != 2 || l.resyncs != 1 {
			t.Errorf("frames %v, %d resyncs: the restarted stream is not played", got, l.resyncs)
		}
	})

	t.Run("new SSRC", func(t *testing.T) {
		l := &mixLeg{}
		l.push(1, 5000, frame(1))
		for range lead + 1 {
			l.pull()
		}
		l.push(2, 123, frame(2)) // a restarted stream: unrelated timestamps
		var got []int16
		for range lead + 1 {
			got = append(got, pulled(l))
		}
		if got[lead] != 2 {
			t.Errorf("frames %v: the new stream's first frame not played %d frames on", got, lead)
		}
	})
}

func TestConferenceMisuse(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a, b, c := newTestSession(t), newTestSession(t), newTestSession(t)
	if _, err := Conference(ctx, a); !errors.Is(err, ErrConferenceLegs) {
		t.Errorf("one leg: %v, want ErrConferenceLegs", err)
	}
	nine := make([]*Session, 9)
	for i := range nine {
		nine[i] = a
	}
	if _, err := Conference(ctx, nine...); !errors.Is(err, ErrConferenceLegs) {
		t.Errorf("nine legs: %v, want ErrConferenceLegs", err)
	}
	if _, err := Conference(ctx, a, b, a); !errors.Is(err, ErrConferenceLegs) {
		t.Errorf("a leg twice: %v, want ErrConferenceLegs", err)
	}
	g := newTestSession(t, WithCodec(Codec{Name: "G729", PayloadType: 18, ClockRate: 8000}, 0))
	if _, err := Conference(ctx, a, g); !errors.Is(err, ErrUnsupportedCodec) {
		t.Errorf("a G.729 leg: %v, want ErrUnsupportedCodec", err)
	}

	rctx, cancel := context.WithCancel(ctx)
	relayed := make(chan error, 1)
	go func() { relayed <- a.Relay(rctx, c) }()
	time.Sleep(20 * time.Millisecond)
	if _, err := Conference(ctx, a, b); !errors.Is(err, ErrRelayBusy) {
		t.Errorf("a relaying leg: %v, want ErrRelayBusy", err)
	}
	cancel()
	<-relayed

	stop := conference(t, a, b)
	time.Sleep(20 * time.Millisecond)
	if err := a.Relay(ctx, c); !errors.Is(err, ErrRelayBusy) {
		t.Errorf("relaying from a conference leg: %v, want ErrRelayBusy", err)
	}
	if err := c.Relay(ctx, b); !errors.Is(err, ErrRelayBusy) {
		t.Errorf("relaying into a conference leg: %v, want ErrRelayBusy", err)
	}
	if _, err := Conference(ctx, c, b); !errors.Is(err, ErrRelayBusy) {
		t.Errorf("a leg in two conferences: %v, want ErrRelayBusy", err)
	}
	if i, err := stop(); i != -1 || !errors.Is(err, context.Canceled) {
		t.Errorf("Conference = %d, %v; want -1, context.Canceled", i, err)
	}
	b.Close()
	if i, err := Conference(ctx, a, b); i != 1 || !errors.Is(err, ErrSessionClosed) {
		t.Errorf("with a closed leg: %d, %v; want 1, ErrSessionClosed", i, err)
	}
}

// The call path's moves on the same sessions, one after the other, as a call goes: caller
// and agent bridged; the caller on hold (bridge stopped, music to the caller, nothing to the
// agent); the bridge resumed; a third party conferenced in; back to caller and agent. In
// every phase each phone hears exactly whom it should, and the caller's phone sees one
// stream throughout: one SSRC, no sequence gap.
func TestBridgeHoldResumeConferenceAndBack(t *testing.T) {
	t.Parallel()
	caller := newParty(t, "caller", toneCaller, PCMU)
	agent := newParty(t, "agent", toneAgent, PCMA)
	third := newParty(t, "third", toneThird, PCMU)
	for _, p := range []*party{caller, agent, third} {
		defer p.talk()()
	}
	const settle, d = 150 * time.Millisecond, 400 * time.Millisecond

	// silentTo asserts that a leg sent nothing to its phone during a phase, given its
	// count at the start.
	silentTo := func(p *party, sentBefore uint64) {
		t.Helper()
		if n := p.leg.Stats().PacketsSent - sentBefore; n != 0 {
			t.Errorf("%s's leg sent %d packets, want none", p.name, n)
		}
		if !waitFor(time.Second, func() bool { return p.phone.Stats().PacketsReceived == p.leg.Stats().PacketsSent }) {
			t.Errorf("%s's phone received %d packets, its leg sent %d", p.name, p.phone.Stats().PacketsReceived, p.leg.Stats().PacketsSent)
		}
	}
	twoParty := func(t *testing.T) {
		thirdSent := third.leg.Stats().PacketsSent
		heard := listen(settle, d, caller, agent)
		checkHears(t, "caller", heard[0], d, []float64{toneAgent}, []float64{toneCaller, toneThird, toneMusic})
		checkHears(t, "agent", heard[1], d, []float64{toneCaller}, []float64{toneAgent, toneThird, toneMusic})
		silentTo(third, thirdSent)
	}

	stopBridge := bridge(t, caller.leg, agent.leg)
	t.Run("bridged", twoParty)

	t.Run("hold", func(t *testing.T) {
		stopBridge()
		agentSent := agent.leg.Stats().PacketsSent
		ctx, cancel := context.WithCancel(context.Background())
		music := tone(toneMusic, 8000, toneAmp, 8000)
		played := make(chan struct{})
		go func() { // Play with Loop, as sip.Channel.Play does it
			defer close(played)
			for ctx.Err() == nil {
				_ = caller.leg.Play(ctx, music)
			}
		}()
		heard := listen(settle, d, caller)
		cancel()
		<-played
		checkHears(t, "caller on hold", heard[0], d, []float64{toneMusic}, []float64{toneAgent, toneThird, toneCaller})
		silentTo(agent, agentSent)
	})

	t.Run("resumed", func(t *testing.T) {
		stopBridge = bridge(t, caller.leg, agent.leg)
		twoParty(t)
		stopBridge()
	})

	t.Run("conference", func(t *testing.T) {
		stop := conference(t, caller.leg, agent.leg, third.leg)
		heard := listen(settle, d, caller, agent, third)
		if i, err := stop(); i != -1 || !errors.Is(err, context.Canceled) {
			t.Errorf("Conference = %d, %v; want -1, context.Canceled", i, err)
		}
		checkHears(t, "caller", heard[0], d, []float64{toneAgent, toneThird}, []float64{toneCaller, toneMusic})
		checkHears(t, "agent", heard[1], d, []float64{toneCaller, toneThird}, []float64{toneAgent, toneMusic})
		checkHears(t, "third", heard[2], d, []float64{toneCaller, toneAgent}, []float64{toneThird, toneMusic})
	})

	t.Run("two-party again", func(t *testing.T) {
		stopBridge = bridge(t, caller.leg, agent.leg)
		twoParty(t)
		stopBridge()
	})

	time.Sleep(50 * time.Millisecond) // the last packets land
	st := caller.phone.Stats()
	if st.PacketsLost != 0 || st.PacketsReceived != caller.leg.Stats().PacketsSent {
		t.Errorf("the caller's phone: %d received of %d expected (%d lost), the leg sent %d; want one gapless stream",
			st.PacketsReceived, st.PacketsExpected, st.PacketsLost, caller.leg.Stats().PacketsSent)
	}
	t.Logf("the caller's phone: %d packets, one stream, none lost", st.PacketsReceived)
}

// After a transfer the caller is bridged to another leg: the caller hears the new party,
// the new party the caller, and the old one nothing at all.
func TestBridgeToAnotherLegAfterTransfer(t *testing.T) {
	t.Parallel()
	caller := newParty(t, "caller", toneCaller, PCMU)
	agent := newParty(t, "agent", toneAgent, PCMU)
	target := newParty(t, "target", toneThird, PCMA)
	for _, p := range []*party{caller, agent, target} {
		defer p.talk()()
	}
	const settle, d = 150 * time.Millisecond, 400 * time.Millisecond

	stop := bridge(t, caller.leg, agent.leg)
	heard := listen(settle, d, caller, agent)
	checkHears(t, "caller", heard[0], d, []float64{toneAgent}, []float64{toneCaller, toneThird})
	checkHears(t, "agent", heard[1], d, []float64{toneCaller}, []float64{toneAgent, toneThird})
	stop()

	agentSent := agent.leg.Stats().PacketsSent
	stop = bridge(t, caller.leg, target.leg)
	heard = listen(settle, d, caller, target)
	stop()
	checkHears(t, "caller", heard[0], d, []float64{toneThird}, []float64{toneCaller, toneAgent})
	checkHears(t, "target", heard[1], d, []float64{toneCaller}, []float64{toneThird, toneAgent})
	if n := agent.leg.Stats().PacketsSent - agentSent; n != 0 {
		t.Errorf("the old agent's leg sent %d packets after the transfer, want none", n)
	}
	if !waitFor(time.Second, func() bool { return agent.phone.Stats().PacketsReceived == agentSent }) {
		t.Errorf("the old agent's phone received %d packets, its leg sent %d before the transfer", agent.phone.Stats().PacketsReceived, agentSent)
	}
}

// Receiving a packet into a conference and mixing a frame for three legs do not allocate.
func TestConferenceDoesNotAllocate(t *testing.T) {
	m, pkts, r, _ := newBenchConference(t, 3)
	if n := testing.AllocsPerRun(200, func() { conferenceFrame(m, pkts, r) }); n != 0 {
		t.Errorf("one conference frame (3 packets in, 3 mixed out): %.1f allocations", n)
	}
}
