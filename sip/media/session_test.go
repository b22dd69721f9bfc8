package media

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/hotline-cc/hotline/audio"
)

var loopback = netip.MustParseAddr("127.0.0.1")

// newTestSession opens a session on loopback that is closed when the test ends.
func newTestSession(t *testing.T, opts ...SessionOption) *Session {
	t.Helper()
	conn, rtcpConn, err := ListenRTP(loopback, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	s := NewSession(conn, rtcpConn, append([]SessionOption{WithLogger(slog.New(slog.DiscardHandler))}, opts...)...)
	t.Cleanup(func() { s.Close() })
	return s
}

// connect points a and b at each other with the given codecs and starts both.
func connect(a, b *Session, ca Codec, dtmfA uint8, cb Codec, dtmfB uint8) {
	a.SetRemote(b.LocalAddr())
	b.SetRemote(a.LocalAddr())
	a.SetCodec(ca, dtmfA)
	b.SetCodec(cb, dtmfB)
	a.Start()
	b.Start()
}

// recorder collects what a tap receives.
type tapRecorder struct {
	mu     sync.Mutex
	frames int
	pcm    []int16
}

func (r *tapRecorder) tap(pcm []int16) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.frames++
	r.pcm = append(r.pcm, pcm...)
}

func (r *tapRecorder) get() (int, []int16) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.frames, append([]int16(nil), r.pcm...)
}

// waitFor polls cond for up to d.
func waitFor(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if cond() {
			return true
		}
		time.Sleep(5 * time.Millisecond)
	}
	return cond()
}

// readDigits reads n digits or gives up after d.
func readDigits(s *Session, n int, d time.Duration) string {
	var got []rune
	timeout := time.After(d)
	for len(got) < n {
		select {
		case r := <-s.Digits():
			got = append(got, r)
		case <-timeout:
			return string(got)
		}
	}
	return string(got)
}

// A plays a one-second 1 kHz prompt to B: B hears 50 frames of it, at 1 kHz and the
// prompt's level, and the playback takes (at least) the prompt's real duration.
func TestSessionPlayToneReachesPeer(t *testing.T) {
	t.Parallel()
	a, b := newTestSession(t), newTestSession(t)
	connect(a, b, PCMU, 0, PCMU, 0)
	var rec tapRecorder
	defer b.AddTap(rec.tap)()

	src := tone(1000, 8000, 10000, 8000)
	start := time.Now()
	if err := a.Play(context.Background(), src); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el < 990*time.Millisecond {
		t.Errorf("1 s prompt played in %v: not paced", el)
	}
	if !waitFor(time.Second, func() bool { n, _ := rec.get(); return n >= 50 }) {
		n, _ := rec.get()
		t.Fatalf("B's tap got %d frames, want 50", n)
	}
	n, pcm := rec.get()
	if n != 50 || len(pcm) != 8000 {
		t.Errorf("B's tap got %d frames / %d samples, want 50 / 8000", n, len(pcm))
	}
	if r := audio.RMS(pcm); !within(r, audio.RMS(src), 0.03) {
		t.Errorf("B hears RMS %.0f, want %.0f", r, audio.RMS(src))
	}
	if f := frequency(pcm, 8000); !within(f, 1000, 0.005) {
		t.Errorf("B hears %.1f Hz, want 1000", f)
	}
	if st := a.Stats(); st.PacketsSent != 50 {
		t.Errorf("A sent %d packets, want 50", st.PacketsSent)
	}
	if st := b.Stats(); st.PacketsReceived != 50 {
		t.Errorf("B received %d packets, want 50", st.PacketsReceived)
	}
}

// Digits sent with SendDigit arrive, in order and once each, at the other end's Digits().
func TestSessionDigits(t *testing.T) {
	t.Parallel()
	a, b := newTestSession(t), newTestSession(t)
	connect(a, b, PCMA, 101, PCMA, 101)
	before := counterValue(metricDTMFOut)
	ctx := context.Background()
	for _, d := range "123#" {
		if err := a.SendDigit(ctx, d, 60*time.Millisecond); err != nil {
			t.Fatal(err)
		}
	}
	if got := readDigits(b, 4, 2*time.Second); got != "123#" {
		t.Errorf("B received %q, want 123#", got)
	}
	if got := readDigits(b, 1, 100*time.Millisecond); got != "" {
		t.Errorf("extra digits %q", got)
	}
	if d := counterValue(metricDTMFOut) - before; d < 4 {
		t.Errorf("dtmf_digits_total{direction=out} grew by %v, want 4", d)
	}
	if err := a.SendDigit(ctx, 'x', 0); !errors.Is(err, ErrNotDTMFDigit) {
		t.Errorf("SendDigit('x') = %v", err)
	}
	a.SetCodec(PCMA, 0)
	if err := a.SendDigit(ctx, '1', 0); !errors.Is(err, ErrNoTelephoneEvent) {
		t.Errorf("SendDigit without telephone-event = %v", err)
	}
}

// A B2BUA bridge: caller ⇄ bridge-in … bridge-out ⇄ agent, the caller on PCMU with DTMF
// type 101, the agent on PCMA with DTMF type 96. Voice and digits cross in both directions,
// transcoded and renumbered, and the bridge still sees the caller's digits and voice.
func TestSessionRelayBothWays(t *testing.T) {
	t.Parallel()
	caller, bin := newTestSession(t), newTestSession(t)
	bout, agent := newTestSession(t), newTestSession(t)
	connect(caller, bin, PCMU, 101, PCMU, 101)
	connect(bout, agent, PCMA, 96, PCMA, 96)

	var atAgent, atCaller, atBridge tapRecorder
	defer agent.AddTap(atAgent.tap)()
	defer caller.AddTap(atCaller.tap)()
	defer bin.AddTap(atBridge.tap)() // recording the caller's voice

	ctx, cancel := context.WithCancel(context.Background())
	errs := make(chan error, 2)
	go func() { errs <- bin.Relay(ctx, bout) }()
	go func() { errs <- bout.Relay(ctx, bin) }()
	time.Sleep(20 * time.Millisecond) // let both relays register

	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); _ = caller.Play(ctx, tone(1000, 8000, 10000, 3200)) }()
	go func() { defer wg.Done(); _ = agent.Play(ctx, tone(500, 8000, 10000, 3200)) }()
	wg.Wait()
	go func() { _ = caller.SendDigit(ctx, '5', 60*time.Millisecond) }()
	if err := agent.SendDigit(ctx, '9', 60*time.Millisecond); err != nil {
		t.Fatal(err)
	}

	if got := readDigits(agent, 1, 2*time.Second); got != "5" {
		t.Errorf("agent received %q, want the caller's 5", got)
	}
	if got := readDigits(bin, 1, time.Second); got != "5" {
		t.Errorf("bridge leg decoded %q, want 5", got)
	}
	if got := readDigits(caller, 1, time.Second); got != "9" {
		t.Errorf("caller received %q, want the agent's 9", got)
	}
	if got := readDigits(bout, 1, time.Second); got != "9" {
		t.Errorf("bridge-out decoded %q, want 9", got)
	}

	check := func(who string, r *tapRecorder, freq float64) {
		t.Helper()
		n, pcm := r.get()
		if n < 19 {
			t.Errorf("%s heard %d frames, want 20", who, n)
			return
		}
		if f := frequency(pcm, 8000); !within(f, freq, 0.01) {
			t.Errorf("%s hears %.1f Hz, want %.0f", who, f, freq)
		}
		if rms := audio.RMS(pcm); !within(rms, 10000/1.4142, 0.05) {
			t.Errorf("%s hears RMS %.0f, want %.0f", who, rms, 10000/1.4142)
		}
	}
	check("agent", &atAgent, 1000)
	check("caller", &atCaller, 500)
	check("bridge tap", &atBridge, 1000)

	cancel()
	for range 2 {
		if err := <-errs; !errors.Is(err, context.Canceled) {
			t.Errorf("Relay returned %v, want context.Canceled", err)
		}
	}
}

// sniff reads every RTP packet that arrives at conn until it stays quiet for 150 ms.
func sniff(t *testing.T, conn *net.UDPConn) []rtp.Packet {
	t.Helper()
	var out []rtp.Packet
	buf := make([]byte, 1500)
	for {
		_ = conn.SetReadDeadline(time.Now().Add(150 * time.Millisecond))
		n, err := conn.Read(buf)
		if err != nil {
			return out
		}
		var p rtp.Packet
		if err := p.Unmarshal(append([]byte(nil), buf[:n]...)); err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
}

// What the agent's phone sees from the bridge: one SSRC, sequence numbers without a gap
// and timestamps that only move forward — across a prompt played on that leg, a relayed
// caller, the caller's stream restarting with a new SSRC, and a codec change — so its
// jitter buffer never resets and no audio is dropped.
func TestSessionStreamContinuity(t *testing.T) {
	t.Parallel()
	phone, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer phone.Close()
	clk := newSimClock() // pacing in simulated time: the test sends without waiting
	bout := newTestSession(t, WithClock(clk), WithCodec(PCMA, 96))
	bout.SetRemote(phone.LocalAddr().(*net.UDPAddr).AddrPort())
	bin := newTestSession(t, WithCodec(PCMU, 101))
	caller1 := newTestSession(t, WithClock(clk), WithCodec(PCMU, 101))
	caller2 := newTestSession(t, WithClock(clk), WithCodec(PCMU, 101))
	caller1.SetRemote(bin.LocalAddr())
	caller2.SetRemote(bin.LocalAddr())
	bin.Start()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	src := tone(1000, 8000, 10000, 800) // 5 frames

	// 1. A prompt on the agent leg ("call from the hotline queue").
	if err := bout.Play(ctx, src); err != nil {
		t.Fatal(err)
	}
	// 2. The caller, relayed (PCMU → PCMA), then a second caller stream with another SSRC.
	relayDone := make(chan error, 1)
	go func() { relayDone <- bin.Relay(ctx, bout) }()
	time.Sleep(20 * time.Millisecond)
	received := func(n uint64) {
		t.Helper()
		if !waitFor(time.Second, func() bool { return bin.Stats().PacketsReceived >= n }) {
			t.Fatalf("bridge received %d packets, want %d", bin.Stats().PacketsReceived, n)
		}
		time.Sleep(10 * time.Millisecond) // relayed on the read goroutine right after
	}
	for i, c := range []*Session{caller1, caller2} {
		bin.SetRemote(c.LocalAddr()) // as a re-INVITE would: a source other than the peer's is dropped
		if err := c.Play(ctx, src); err != nil {
			t.Fatal(err)
		}
		received(uint64(5 * (i + 1)))
	}
	bin.SetRemote(caller1.LocalAddr())
	if err := caller1.SendDigit(ctx, '7', 60*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	received(15)
	// 3. A re-INVITE switches the agent leg to PCMU; another prompt follows.
	bout.SetCodec(PCMU, 96)
	if err := bout.Play(ctx, src); err != nil {
		t.Fatal(err)
	}

	pkts := sniff(t, phone)
	if len(pkts) != 5+5+5+5+5 {
		t.Fatalf("phone got %d packets, want 25 (5 prompt + 10 relayed + 5 DTMF + 5 prompt)", len(pkts))
	}
	var pts []uint8
	for i, p := range pkts {
		if p.SSRC != bout.SSRC() {
			t.Errorf("packet %d: SSRC %#x, want the bridge leg's %#x", i, p.SSRC, bout.SSRC())
		}
		if i > 0 {
			if p.SequenceNumber != pkts[i-1].SequenceNumber+1 {
				t.Errorf("packet %d: seq %d after %d", i, p.SequenceNumber, pkts[i-1].SequenceNumber)
			}
			if step := int32(p.Timestamp - pkts[i-1].Timestamp); step < 0 {
				t.Errorf("packet %d: timestamp went back by %d", i, -step)
			}
		}
		pts = append(pts, p.PayloadType)
	}
	want := []uint8{8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 96, 96, 96, 96, 96, 0, 0, 0, 0, 0}
	if string(pts) != string(want) {
		t.Errorf("payload types %v, want %v", pts, want)
	}
	// Each talk spurt starts with the marker bit: prompt, caller 1, caller 2, DTMF, prompt.
	for _, i := range []int{0, 5, 10, 15, 20} {
		if !pkts[i].Marker {
			t.Errorf("packet %d (start of a spurt) has no marker", i)
		}
	}
	// The relayed caller audio was transcoded to A-law, not passed through as µ-law.
	var relayed []int16
	for _, p := range pkts[5:15] {
		relayed = PCMA.Decode(relayed, p.Payload)
	}
	if r := audio.RMS(relayed); !within(r, audio.RMS(src), 0.03) {
		t.Errorf("relayed audio RMS %.0f as A-law, want %.0f", r, audio.RMS(src))
	}
	// The relayed DTMF event kept one timestamp and its end bits.
	if ev, _ := ParseDTMFEvent(pkts[19].Payload); !ev.End || ev.Event != 7 || pkts[15].Timestamp != pkts[19].Timestamp {
		t.Errorf("relayed DTMF mangled: %+v", ev)
	}
	cancel()
	if err := <-relayDone; !errors.Is(err, context.Canceled) {
		t.Errorf("Relay = %v", err)
	}
}

// With no RTP for the inactivity timeout, the session ends by itself with ErrInactive (the
// SIP layer then hangs up the dead call); RTP arriving keeps it alive.
func TestSessionInactivity(t *testing.T) {
	t.Parallel()
	before := counterValue(metricInactivityTimeouts)
	a := newTestSession(t)
	b := newTestSession(t, WithInactivityTimeout(150*time.Millisecond))
	connect(a, b, PCMU, 0, PCMU, 0)

	// Kept alive for 400 ms by RTP...
	if err := a.Play(context.Background(), make([]int16, 3200)); err != nil {
		t.Fatal(err)
	}
	if b.Err() != nil {
		t.Fatalf("session with RTP flowing ended: %v", b.Err())
	}
	// ...then ends 150 ms after the last packet.
	select {
	case <-b.Done():
	case <-time.After(2 * time.Second):
		t.Fatal("session without RTP did not end")
	}
	if !errors.Is(b.Err(), ErrInactive) {
		t.Errorf("Err() = %v, want ErrInactive", b.Err())
	}
	if counterValue(metricInactivityTimeouts) <= before {
		t.Error("inactivity_timeouts_total did not grow")
	}
	if err := b.Close(); err != nil {
		t.Errorf("Close after timeout: %v", err)
	}
	if !errors.Is(b.Err(), ErrInactive) {
		t.Errorf("Close changed Err() to %v", b.Err())
	}

	// Disabled at run time (the remote put the call on hold): no timeout.
	c := newTestSession(t, WithInactivityTimeout(50*time.Millisecond))
	c.Start()
	c.SetInactivityTimeout(0)
	select {
	case <-c.Done():
		t.Errorf("timeout fired after being disabled: %v", c.Err())
	case <-time.After(200 * time.Millisecond):
	}
}

// Ending a call stops its audio at once: cancelling the context stops Play with ctx.Err(),
// closing the session stops it with ErrSessionClosed, and Close is safe to repeat.
func TestSessionPlayStopsAndClose(t *testing.T) {
	t.Parallel()
	a := newTestSession(t)
	a.SetRemote(netip.MustParseAddrPort("127.0.0.1:9")) // discard
	a.Start()
	long := make([]int16, 8000*60)

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := a.Play(ctx, long); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Play = %v, want DeadlineExceeded", err)
	}
	if el := time.Since(start); el > 500*time.Millisecond {
		t.Errorf("Play took %v to notice its context", el)
	}

	go func() { time.Sleep(50 * time.Millisecond); a.Close() }()
	if err := a.Play(context.Background(), long); !errors.Is(err, ErrSessionClosed) {
		t.Errorf("Play during Close = %v, want ErrSessionClosed", err)
	}
	<-a.Done()
	if err := a.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
	if err := a.Play(context.Background(), long); !errors.Is(err, ErrSessionClosed) {
		t.Errorf("Play after Close = %v", err)
	}
	if err := a.Relay(context.Background(), newTestSession(t)); !errors.Is(err, ErrSessionClosed) {
		t.Errorf("Relay after Close = %v", err)
	}
	a.Start() // no effect, no goroutine

	// A session never started closes cleanly too.
	if err := newTestSession(t).Close(); err != nil {
		t.Error(err)
	}
}

// Sending to a held call (c=0.0.0.0) sends nothing, and plays still take their time.
func TestSessionHoldSendsNothing(t *testing.T) {
	t.Parallel()
	clk := newSimClock()
	a := newTestSession(t, WithClock(clk))
	a.SetRemote(netip.MustParseAddrPort("0.0.0.0:4000"))
	if err := a.Play(context.Background(), make([]int16, 1600)); err != nil {
		t.Fatal(err)
	}
	if a.Stats().PacketsSent != 0 {
		t.Errorf("sent %d packets to 0.0.0.0", a.Stats().PacketsSent)
	}
}

func TestRelayMisuse(t *testing.T) {
	t.Parallel()
	a, b, c := newTestSession(t), newTestSession(t), newTestSession(t)
	if err := a.Relay(context.Background(), a); !errors.Is(err, ErrRelaySelf) {
		t.Errorf("relay to self = %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Relay(ctx, b) }()
	time.Sleep(20 * time.Millisecond)
	if err := a.Relay(context.Background(), c); !errors.Is(err, ErrRelayBusy) {
		t.Errorf("second relay = %v, want ErrRelayBusy", err)
	}
	// The far leg hanging up ends the relay with that leg's reason.
	b.Close()
	if err := <-done; !errors.Is(err, ErrSessionClosed) {
		t.Errorf("relay after target closed = %v", err)
	}
	cancel()
}

// Removing a tap stops it: the recording of a voicemail stops when the recorder says so.
func TestSessionTapRemove(t *testing.T) {
	t.Parallel()
	clk := newSimClock()
	a, b := newTestSession(t, WithClock(clk)), newTestSession(t)
	connect(a, b, PCMA, 0, PCMA, 0)
	var r1, r2 tapRecorder
	remove1 := b.AddTap(r1.tap)
	defer b.AddTap(r2.tap)()
	_ = a.Play(context.Background(), make([]int16, 800))
	waitFor(time.Second, func() bool { n, _ := r2.get(); return n == 5 })
	remove1()
	remove1() // harmless
	_ = a.Play(context.Background(), make([]int16, 800))
	waitFor(time.Second, func() bool { n, _ := r2.get(); return n == 10 })
	if n1, _ := r1.get(); n1 != 5 {
		t.Errorf("removed tap got %d frames, want 5", n1)
	}
	if n2, _ := r2.get(); n2 != 10 {
		t.Errorf("remaining tap got %d frames, want 10", n2)
	}
}

// Garbage on the RTP port (a scanner, RTCP, an unknown codec) is counted and ignored; the
// call's audio goes on.
func TestSessionIgnoresJunk(t *testing.T) {
	t.Parallel()
	b := newTestSession(t)
	var rec tapRecorder
	defer b.AddTap(rec.tap)()
	b.SetCodec(PCMU, 101)
	b.Start()
	junk, err := net.DialUDP("udp4", nil, net.UDPAddrFromAddrPort(b.LocalAddr()))
	if err != nil {
		t.Fatal(err)
	}
	defer junk.Close()
	malformed := counterValue(dropMalformed)
	good, _ := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SSRC: 1}, Payload: make([]byte, 160)}).Marshal()
	unknown, _ := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 18, SSRC: 1}, Payload: make([]byte, 20)}).Marshal()
	rtcp := []byte{0x80, 200, 0, 6, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	for _, b := range [][]byte{[]byte("GET / HTTP/1.0\r\n\r\n"), {0x80}, rtcp, unknown, good} {
		_, _ = junk.Write(b)
	}
	if !waitFor(time.Second, func() bool { n, _ := rec.get(); return n == 1 }) {
		t.Fatal("good packet after junk not decoded")
	}
	if counterValue(dropMalformed)-malformed < 2 {
		t.Error("malformed datagrams not counted")
	}
	if b.Stats().PacketsReceived != 2 { // the G.729 packet is valid RTP, just not usable
		t.Errorf("PacketsReceived = %d, want 2", b.Stats().PacketsReceived)
	}
}

// The packet paths (send a frame, receive a frame with a tap and a relay) do not allocate:
// at 50 packets per second per leg, garbage would be the first thing to limit a node.
func TestHotPathsDoNotAllocate(t *testing.T) {
	sink, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	a := newTestSession(t, WithCodec(PCMU, 101))
	to := newTestSession(t, WithCodec(PCMA, 96))
	a.SetRemote(sink.LocalAddr().(*net.UDPAddr).AddrPort())
	to.SetRemote(sink.LocalAddr().(*net.UDPAddr).AddrPort())
	frame := tone(1000, 8000, 8000, 160)
	if n := testing.AllocsPerRun(200, func() { a.sendAudio(frame, false, time.Now()) }); n != 0 {
		t.Errorf("sending a frame: %.1f allocations", n)
	}

	var sum int
	defer a.AddTap(func(pcm []int16) { sum += len(pcm) })()
	a.relay = &relayState{to: to}
	r := newReceiver()
	r.from = a.Remote() // through the source check too
	pkt, _ := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SSRC: 5}, Payload: PCMU.Encode(nil, frame)}).Marshal()
	ev, _ := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 101, SSRC: 5, Timestamp: 1}, Payload: DTMFEvent{Event: 1, Duration: 160}.Marshal()}).Marshal()
	if n := testing.AllocsPerRun(200, func() {
		pkt[3]++ // next sequence number
		a.handlePacket(r, pkt)
		ev[3]++
		a.handlePacket(r, ev)
	}); n != 0 {
		t.Errorf("receiving (tap + relay + DTMF): %.1f allocations per packet pair", n)
	}
	a.relay = nil
	if sum == 0 {
		t.Error("tap not called")
	}
	for len(a.Digits()) > 0 {
		<-a.Digits()
	}
}

func TestListenRTP(t *testing.T) {
	t.Parallel()
	rtpConn, rtcpConn, err := ListenRTP(loopback, 23470, 23570)
	if err != nil {
		t.Fatal(err)
	}
	port := rtpConn.LocalAddr().(*net.UDPAddr).Port
	rtcpPort := rtcpConn.LocalAddr().(*net.UDPAddr).Port
	rtpConn.Close()
	rtcpConn.Close()
	if port%2 != 0 || port < 23470 || port > 23569 || rtcpPort != port+1 {
		t.Errorf("ports %d/%d: want an even port in 23470-23569 and the odd one above it", port, rtcpPort)
	}
	// A range whose only pair is taken is exhausted.
	busy, busyRTCP, err := ListenRTP(loopback, 23601, 23603)
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	defer busyRTCP.Close()
	if p := busy.LocalAddr().(*net.UDPAddr).Port; p != 23602 {
		t.Errorf("23601-23603 gave port %d, want 23602", p)
	}
	if _, _, err := ListenRTP(loopback, 23601, 23603); !errors.Is(err, ErrNoFreePort) || !strings.Contains(err.Error(), "23601-23603") {
		t.Errorf("exhausted range: %v", err)
	}
	// An even port whose odd neighbour is taken (by anything) is skipped: 23611 is busy, so
	// 23610 is no pair, and 23612/23613 is the only one left.
	odd, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 23611})
	if err != nil {
		t.Fatal(err)
	}
	defer odd.Close()
	for range 10 { // the search starts at a random pair
		c, cr, err := ListenRTP(loopback, 23610, 23613)
		if err != nil {
			t.Fatal(err)
		}
		p := c.LocalAddr().(*net.UDPAddr).Port
		c.Close()
		cr.Close()
		if p != 23612 {
			t.Fatalf("23610-23613 with 23611 taken gave port %d, want 23612", p)
		}
	}
	// Both ports of the pair are in the range: the firewall opens exactly the range.
	for _, r := range [][2]int{{0, 10}, {10, 5}, {1, 70000}, {23603, 23603}, {23602, 23602}, {23601, 23602}} {
		if _, _, err := ListenRTP(loopback, r[0], r[1]); !errors.Is(err, ErrBadPortRange) {
			t.Errorf("range %v: %v", r, err)
		}
	}
	for range 20 { // the system's ports: half are odd, and are passed over
		c, cr, err := ListenRTP(netip.Addr{}, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		p, pr := c.LocalAddr().(*net.UDPAddr).Port, cr.LocalAddr().(*net.UDPAddr).Port
		c.Close()
		cr.Close()
		if p%2 != 0 || pr != p+1 {
			t.Fatalf("system-picked ports %d/%d: want even and the odd one above", p, pr)
		}
	}
}

func counterValue(c prometheus.Counter) float64 {
	var m dto.Metric
	_ = c.Write(&m)
	return m.GetCounter().GetValue()
}

func TestPlayRefusesUnsupportedCodec(t *testing.T) {
	t.Parallel()
	s := newTestSession(t, WithCodec(Codec{Name: "G729", PayloadType: 18, ClockRate: 8000}, 0))
	if err := s.Play(context.Background(), make([]int16, 160)); !errors.Is(err, ErrUnsupportedCodec) || !strings.Contains(err.Error(), "G729") {
		t.Errorf("Play with G.729 = %v", err)
	}
}

// The packet buffer starts small, grows once for a longer frame and refuses more than an MTU.
func TestPacketBufferGrowsOnce(t *testing.T) {
	var o outStream
	if b := o.packet(rtpHeaderLen + 160); len(b) != firstPacketBuf {
		t.Fatalf("a 20 ms frame: buffer of %d bytes, want %d", len(b), firstPacketBuf)
	}
	first := &o.buf[0]
	if b := o.packet(rtpHeaderLen + DTMFPayloadSize); &b[0] != first {
		t.Error("a DTMF event reallocated the buffer")
	}
	b := o.packet(rtpHeaderLen + 480) // a relayed 60 ms frame
	if len(b) != rtpHeaderLen+480 {
		t.Fatalf("a 60 ms frame: buffer of %d bytes, want %d", len(b), rtpHeaderLen+480)
	}
	if again := o.packet(rtpHeaderLen + 160); &again[0] != &b[0] {
		t.Error("the grown buffer was not kept")
	}
	if o.packet(maxPacket+1) != nil {
		t.Errorf("a packet over %d bytes got a buffer", maxPacket)
	}
}
