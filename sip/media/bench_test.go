package media

import (
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/hotline-cc/hotline/audio"
	"github.com/hotline-cc/hotline/call"
)

// One 20 ms frame: PCM → G.711 → RTP packet bytes, reusing the buffers as Session does.
func BenchmarkPacketizer(b *testing.B) {
	pcm := tone(1000, 8000, 10000, FrameSamples)
	pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SSRC: 0x1234}}
	payload := make([]byte, 0, FrameSamples)
	buf := make([]byte, 1500)
	b.ReportAllocs()
	for b.Loop() {
		pkt.Payload = PCMU.Encode(payload[:0], pcm)
		pkt.SequenceNumber++
		pkt.Timestamp += FrameSamples
		if _, err := pkt.MarshalTo(buf); err != nil {
			b.Fatal(err)
		}
	}
}

// One telephone-event packet through the decoder (a key press every 7 packets).
func BenchmarkDTMFDecoder(b *testing.B) {
	pkts, _ := DTMFPackets('5', 0, 100*FrameInterval/20)
	payloads := make([][]byte, len(pkts))
	for i, p := range pkts {
		payloads[i] = p.Event.Marshal()
	}
	var dec DTMFDecoder
	var seq uint16
	var ts uint32
	digits := 0
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		k := i % len(pkts)
		if k == 0 {
			ts += 8000
		}
		seq++
		if _, ok := dec.Feed(seq, ts, pkts[k].Marker, payloads[k]); ok {
			digits++
		}
	}
	if digits == 0 {
		b.Fatal("no digits decoded")
	}
}

// One frame of pacing on the simulated clock (the cost of the schedule, not of sleeping).
func BenchmarkPacer(b *testing.B) {
	p := NewPacer(newSimClock(), FrameInterval)
	defer p.Stop()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := p.Wait(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// Receiving one audio packet (source check, loss and jitter accounting) with a recording tap
// and a relay to another leg (transcoded PCMU → PCMA), as a bridged, recorded call does 50
// times a second per direction.
func BenchmarkReceiveRelayPacket(b *testing.B) {
	sink, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	defer sink.Close()
	from := newBenchSession(b, PCMU)
	to := newBenchSession(b, PCMA)
	to.SetRemote(sink.LocalAddr().(*net.UDPAddr).AddrPort())
	defer from.AddTap(func([]int16) {})()
	from.relay = &relayState{to: to}
	defer func() { from.relay = nil }()
	r := newReceiver()
	phone := netip.MustParseAddrPort("127.0.0.1:40000") // a source other than the SDP address: learned, then latched
	from.symmetric = true
	from.SetRemote(netip.MustParseAddrPort("10.20.30.40:40000"))
	r.from = phone
	raw, _ := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SSRC: 9}, Payload: PCMU.Encode(nil, tone(1000, 8000, 8000, FrameSamples))}).Marshal()
	b.ReportAllocs()
	for b.Loop() {
		raw[3]++ // next sequence number (the low byte: wraps every 256, as in a real stream)
		if raw[3] == 0 {
			raw[2]++
		}
		from.handlePacket(r, raw)
	}
	if from.Remote() != phone {
		b.Fatalf("the source was not learned: remote %v", from.Remote())
	}
}

func newBenchSession(b *testing.B, c Codec) *Session {
	conn, rtcpConn, err := ListenRTP(loopback, 0, 0)
	if err != nil {
		b.Fatal(err)
	}
	s := NewSession(conn, rtcpConn, WithCodec(c, 101), WithLogger(slog.New(slog.DiscardHandler)))
	b.Cleanup(func() { s.Close() })
	return s
}

// Memory held by one started session (sockets, buffers, read and RTCP goroutines and their stacks),
// measured over 200 sessions: what a node pays per call leg before any audio flows.
func BenchmarkSessionMemory(b *testing.B) {
	const n = 200
	var heapPer, stackPer float64
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		sessions := make([]*Session, n)
		for i := range sessions {
			conn, rtcpConn, err := ListenRTP(loopback, 0, 0)
			if err != nil {
				b.Fatal(err)
			}
			sessions[i] = NewSession(conn, rtcpConn, WithCodec(PCMU, 101))
			sessions[i].SetRemote(sessions[i].LocalAddr())
			sessions[i].Start()
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		heapPer = float64(after.HeapAlloc-before.HeapAlloc) / n
		stackPer = float64(after.StackInuse-before.StackInuse) / n
		for _, s := range sessions {
			s.Close()
		}
	}
	b.ReportMetric(heapPer, "heap-B/session")
	b.ReportMetric(stackPer, "stack-B/session")
	b.ReportMetric(heapPer+stackPer, "B/session")
	b.ReportMetric(0, "ns/op")
}

// Converting one second of 48 kHz audio to 8 kHz (prompt loading).
func BenchmarkResample48kPerSecond(b *testing.B) {
	in := tone(1000, 48000, 10000, 48000)
	b.ReportAllocs()
	for b.Loop() {
		audio.Resample(in, 48000, 8000)
	}
}

// Same for 44.1 kHz (80 filter phases).
func BenchmarkResample44kPerSecond(b *testing.B) {
	in := tone(1000, 44100, 10000, 44100)
	b.ReportAllocs()
	for b.Loop() {
		audio.Resample(in, 44100, 8000)
	}
}

// One 20 ms frame of a three-way conference: each leg's packet received (source check,
// accounting, G.711 decoded into its buffer; one leg on A-law), then the mix: three frames
// summed, each leg's own subtracted, clamped, encoded and sent.
func BenchmarkConferenceMix(b *testing.B) {
	m, pkts, rs, sink := newBenchConference(b, 3)
	defer sink.Close()
	b.ReportAllocs()
	for b.Loop() {
		conferenceFrame(m, pkts, rs)
	}
	if st := m.legs[0].s.Stats(); st.PacketsReceived == 0 || st.PacketsSent == 0 {
		b.Fatalf("nothing went through: %+v", st)
	}
	reportPerCall(b)
}

// One 20 ms frame of a monitored call: as BenchmarkConferenceMix, with whom each leg hears
// asked of a MonitorControl in whisper mode for every pair, every frame.
func BenchmarkMixMonitoredCall(b *testing.B) {
	m, pkts, rs, sink := newBenchConference(b, 3)
	defer sink.Close()
	ctl := call.NewMonitorControl(call.Whisper)
	m.hears = func(a, b int) bool { return ctl.Mode().Hears(a, b) }
	b.ReportAllocs()
	for b.Loop() {
		conferenceFrame(m, pkts, rs)
	}
	reportPerCall(b)
}

// The monitored call's frame without the three sendto system calls (the legs have nowhere
// to send): what the receive accounting, decoding, mixing by hearing and encoding cost.
func BenchmarkMixMonitoredCallWithoutSend(b *testing.B) {
	m, pkts, rs, sink := newBenchConference(b, 3)
	defer sink.Close()
	for _, l := range m.legs {
		l.s.SetRemote(netip.AddrPort{})
	}
	ctl := call.NewMonitorControl(call.Whisper)
	m.hears = func(a, b int) bool { return ctl.Mode().Hears(a, b) }
	b.ReportAllocs()
	for b.Loop() {
		conferenceFrame(m, pkts, rs)
	}
	reportPerCall(b)
}

// The same monitored call, recorded on the caller's leg: each frame also lands in the
// recording's two rings and one frame of each side goes to the file.
func BenchmarkMixMonitoredRecordedCall(b *testing.B) {
	m, pkts, rs, sink := newBenchConference(b, 3)
	defer sink.Close()
	ctl := call.NewMonitorControl(call.Barge)
	m.hears = func(a, b int) bool { return ctl.Mode().Hears(a, b) }
	caller := m.legs[0].s
	r, err := createCallRecording(caller, filepath.Join(b.TempDir(), "call.wav"), CallRecordOptions{})
	if err != nil {
		b.Fatal(err)
	}
	caller.rec.Store(r)
	defer r.finish()
	b.ReportAllocs()
	for b.Loop() {
		conferenceFrame(m, pkts, rs)
		r.frame()
	}
	if r.err != nil || r.samples == 0 {
		b.Fatalf("recorded %d samples: %v", r.samples, r.err)
	}
	reportPerCall(b)
}

// One 20 ms frame of a conversation recording: a received packet's audio and a relayed
// A-law payload placed in their rings, one frame of each side interleaved and, once a
// second, written to the file with its header.
func BenchmarkRecordCallFrame(b *testing.B) {
	r, err := createCallRecording(nil, filepath.Join(b.TempDir(), "call.wav"), CallRecordOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer r.finish()
	f := recordFrame(r)
	b.ReportAllocs()
	for b.Loop() {
		f()
	}
	if r.err != nil {
		b.Fatal(r.err)
	}
	reportPerCall(b)
}

// reportPerCall adds what a benchmark of one 20 ms frame of a call means per second of
// call (50 frames) and as calls one core can carry.
func reportPerCall(b *testing.B) {
	perFrame := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	b.ReportMetric(perFrame*50, "ns/call-s")
	b.ReportMetric(1e9/(perFrame*50), "calls/core")
}

// newBenchConference makes a conference of n legs that send to a sink, without pacing or
// read goroutines: the caller feeds each leg the packet in pkts through its receiver.
func newBenchConference(tb testing.TB, n int) (*mixer, [][]byte, []*receiver, *net.UDPConn) {
	sink, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { sink.Close() })
	m := &mixer{}
	var pkts [][]byte
	var rs []*receiver
	for i := range n {
		c := PCMU
		if i == 1 {
			c = PCMA
		}
		conn, rtcpConn, err := ListenRTP(loopback, 0, 0)
		if err != nil {
			tb.Fatal(err)
		}
		s := NewSession(conn, rtcpConn, WithCodec(c, 101), WithLogger(slog.New(slog.DiscardHandler)))
		tb.Cleanup(func() { s.Close() })
		s.SetRemote(sink.LocalAddr().(*net.UDPAddr).AddrPort())
		l := &mixLeg{s: s}
		if err := s.joinMix(l); err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { s.leaveMix(l) })
		m.legs = append(m.legs, l)
		raw, _ := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: c.PayloadType, SSRC: uint32(10 + i)},
			Payload: c.Encode(nil, tone(400+300*float64(i), 8000, 8000, FrameSamples))}).Marshal()
		pkts = append(pkts, raw)
		r := newReceiver()
		r.from = s.Remote()
		rs = append(rs, r)
	}
	return m, pkts, rs, sink
}

// conferenceFrame feeds each leg its next packet (sequence number and timestamp one frame
// on) and mixes one frame.
func conferenceFrame(m *mixer, pkts [][]byte, rs []*receiver) {
	for i, l := range m.legs {
		raw := pkts[i]
		binary.BigEndian.PutUint16(raw[2:], binary.BigEndian.Uint16(raw[2:])+1)
		binary.BigEndian.PutUint32(raw[4:], binary.BigEndian.Uint32(raw[4:])+FrameSamples)
		l.s.handlePacket(rs[i], raw)
	}
	m.mix(false)
}

// Sending one 20 ms frame of plain RTP: G.711 encoding, the RTP header and the sendto, as
// Play does every 20 ms per leg (the baseline of BenchmarkSRTPSend).
func BenchmarkRTPSend(b *testing.B) {
	s, _ := newBenchSender(b, nil)
	frame := tone(1000, 8000, 8000, FrameSamples)
	b.ReportAllocs()
	for b.Loop() {
		s.sendAudio(frame, false, time.Now())
	}
}

// The same frame sent as SRTP, per suite: the difference to BenchmarkRTPSend is what
// encryption and the authentication tag cost.
func BenchmarkSRTPSend(b *testing.B) {
	for _, suite := range Suites {
		b.Run(suite.String(), func(b *testing.B) {
			s, _ := newBenchSender(b, &suite)
			frame := tone(1000, 8000, 8000, FrameSamples)
			b.ReportAllocs()
			for b.Loop() {
				s.sendAudio(frame, false, time.Now())
			}
			if s.Stats().PacketsSent == 0 {
				b.Fatal("nothing sent")
			}
		})
	}
}

// Receiving one plain RTP audio packet with a recording tap: the baseline of
// BenchmarkSRTPReceive.
func BenchmarkRTPReceive(b *testing.B) { benchReceive(b, nil) }

// Receiving one SRTP audio packet: authentication, replay check and decryption, then what
// every packet goes through (source check, loss and jitter accounting) and a recording tap.
// The packets are encrypted beforehand in batches, outside the timer.
func BenchmarkSRTPReceive(b *testing.B) {
	for _, suite := range Suites {
		b.Run(suite.String(), func(b *testing.B) { benchReceive(b, &suite) })
	}
}

func benchReceive(b *testing.B, suite *Suite) {
	s, peerKey := newBenchSender(b, suite)
	defer s.AddTap(func([]int16) {})()
	r := newReceiver()
	r.from = s.Remote()
	protect := func(dst, plain []byte) ([]byte, error) { return append(dst, plain...), nil }
	if suite != nil {
		enc, err := newContext(peerKey, false)
		if err != nil {
			b.Fatal(err)
		}
		protect = func(dst, plain []byte) ([]byte, error) { return enc.EncryptRTP(dst, plain, nil) }
	}
	const batch = 4096
	plain, _ := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SSRC: 9}, Payload: PCMU.Encode(nil, tone(1000, 8000, 8000, FrameSamples))}).Marshal()
	size := len(plain) + maxAuthTag
	store := make([]byte, batch*size)
	pkts := make([][]byte, batch)
	var seq uint16
	fill := func() {
		for i := range pkts {
			seq++
			binary.BigEndian.PutUint16(plain[2:], seq)
			binary.BigEndian.PutUint32(plain[4:], uint32(seq)*FrameSamples)
			var err error
			if pkts[i], err = protect(store[i*size:i*size], plain); err != nil {
				b.Fatal(err)
			}
		}
	}
	fill()
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		if i == batch {
			b.StopTimer()
			fill()
			i = 0
			b.StartTimer()
		}
		s.handlePacket(r, pkts[i])
		i++
	}
	if st := s.Stats(); st.SRTPRejected != 0 || st.PacketsReceived == 0 {
		b.Fatalf("received %d, rejected %d", st.PacketsReceived, st.SRTPRejected)
	}
}

// newBenchSender is a session on loopback sending to a sink nobody reads, with SRTP in
// suite if not nil; it returns the peer's key (what the session decrypts with).
func newBenchSender(b *testing.B, suite *Suite) (*Session, Crypto) {
	sink, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { sink.Close() })
	s := newBenchSession(b, PCMU)
	s.SetRemote(sink.LocalAddr().(*net.UDPAddr).AddrPort())
	if suite == nil {
		return s, Crypto{}
	}
	local, _ := NewCrypto(1, *suite)
	remote, _ := NewCrypto(1, *suite)
	if err := s.SetSRTP(&SRTPKeys{Local: local, Remote: remote}); err != nil {
		b.Fatal(err)
	}
	return s, remote
}

// One frame of each of n streams on a shared media clock, a turn of the wheel at a time
// (20 ticks of 1 ms; the streams spread over the slots as Play puts them): the next frame
// taken, encoded, its header written and sent. ns/frame is the cost of one stream's packet;
// a core carries 1e9 / (50 · ns/frame) streams.
func BenchmarkMediaClock(b *testing.B) {
	for _, n := range []int{100, 1000} {
		b.Run(fmt.Sprintf("streams=%d", n), func(b *testing.B) { benchMediaClock(b, n, true) })
	}
}

// The same without the sendto (the streams have nowhere to send): what the clock, the
// encoding and the header cost beside the system call.
func BenchmarkMediaClockWithoutSend(b *testing.B) { benchMediaClock(b, 1000, false) }

func benchMediaClock(b *testing.B, n int, send bool) {
	sink, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	defer sink.Close()
	m := newMediaClock(SystemClock)
	m.running = true // the benchmark turns the wheel itself
	music := [][]int16{tone(440, 8000, 8000, 8000)}
	for i := range n {
		s := newBenchSession(b, PCMU)
		if send {
			s.SetRemote(sink.LocalAddr().(*net.UDPAddr).AddrPort())
		}
		m.play(&s.player, music, true)
		if i%(n/clockSlots+1) == 0 {
			m.tick++ // later starts: the streams fill every slot
		}
	}
	wall := time.Now()
	b.ReportAllocs()
	frames := 0
	for b.Loop() {
		for range clockSlots {
			frames += len(m.slots[m.tick%clockSlots])
			m.runTick(wall)
			m.tick++
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(frames), "ns/frame")
	b.ReportMetric(0, "ns/op")
}
