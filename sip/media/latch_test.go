package media

import (
	"context"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// peer is a bare UDP socket playing a phone: it sends RTP with its own sequence numbers.
type peer struct {
	t    *testing.T
	conn *net.UDPConn
	seq  uint16
	ssrc uint32
}

func newPeer(t *testing.T, ssrc uint32) *peer {
	t.Helper()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &peer{t: t, conn: conn, ssrc: ssrc}
}

func (p *peer) addr() netip.AddrPort { return p.conn.LocalAddr().(*net.UDPAddr).AddrPort() }

// send sends n PCMU packets of silence to s, in sequence.
func (p *peer) send(s *Session, n int) {
	p.t.Helper()
	for range n {
		p.seq++
		b, _ := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: p.seq,
			Timestamp: uint32(p.seq) * 160, SSRC: p.ssrc}, Payload: make([]byte, 160)}).Marshal()
		if _, err := p.conn.WriteToUDPAddrPort(b, s.LocalAddr()); err != nil {
			p.t.Fatal(err)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// received reports whether p gets an RTP packet within d.
func (p *peer) received(d time.Duration) bool {
	buf := make([]byte, 1500)
	_ = p.conn.SetReadDeadline(time.Now().Add(d))
	_, err := p.conn.Read(buf)
	return err == nil
}

// unreachable is an address nobody listens on: a phone's private SDP address behind NAT.
func unreachable(t *testing.T) netip.AddrPort {
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	a := c.LocalAddr().(*net.UDPAddr).AddrPort()
	c.Close()
	return a
}

// A phone behind NAT advertises an address nobody can reach: with symmetric RTP the session
// sends to where the phone's packets come from once LearnPackets arrived in sequence.
func TestSymmetricRTPLatchesToSource(t *testing.T) {
	phone := newPeer(t, 1)
	s := newTestSession(t, WithSymmetricRTP(true))
	sdp := unreachable(t)
	s.SetRemote(sdp)
	s.Start()

	phone.send(s, LearnPackets-1)
	if s.Latched() || s.Remote() != sdp {
		t.Fatalf("latched after %d packets (remote %v)", LearnPackets-1, s.Remote())
	}
	latched := counterValue(metricLatched)
	phone.send(s, 1)
	if !waitFor(time.Second, s.Latched) {
		t.Fatalf("not latched after %d packets in sequence", LearnPackets)
	}
	if s.Remote() != phone.addr() {
		t.Fatalf("remote %v, want the source %v", s.Remote(), phone.addr())
	}
	if counterValue(metricLatched)-latched != 1 {
		t.Error("hotline_rtp_latched_total not counted")
	}
	if err := s.Play(context.Background(), make([]int16, 320)); err != nil {
		t.Fatal(err)
	}
	if !phone.received(time.Second) {
		t.Fatal("the phone got no RTP after latching")
	}

	// A re-INVITE names a new address: it is used, and learning starts again.
	s.SetRemote(sdp)
	if s.Latched() || s.Remote() != sdp {
		t.Fatalf("SetRemote kept the latched address: %v", s.Remote())
	}
	phone.send(s, LearnPackets)
	if !waitFor(time.Second, s.Latched) {
		t.Fatal("not latched again after the re-INVITE")
	}
}

// Without symmetric RTP the session keeps sending to the SDP address, and packets out of
// sequence never count as a stream.
func TestNoLatchWithoutSymmetricOrSequence(t *testing.T) {
	sdp := unreachable(t)
	plain := newTestSession(t)
	plain.SetRemote(sdp)
	plain.Start()
	phone := newPeer(t, 1)
	phone.send(plain, 2*LearnPackets)
	if !waitFor(time.Second, func() bool { return plain.Stats().PacketsReceived == 2*LearnPackets }) {
		t.Fatalf("received %d packets while learning, want all %d", plain.Stats().PacketsReceived, 2*LearnPackets)
	}
	if plain.Latched() || plain.Remote() != sdp {
		t.Fatalf("latched without symmetric RTP: %v", plain.Remote())
	}

	sym := newTestSession(t, WithSymmetricRTP(true))
	sym.SetRemote(sdp)
	sym.Start()
	jumpy := newPeer(t, 2)
	for range 2 * LearnPackets {
		jumpy.seq += 2 // every other sequence number: not a stream in sequence
		jumpy.send(sym, 1)
	}
	if !waitFor(time.Second, func() bool { return sym.Stats().PacketsReceived == 2*LearnPackets }) {
		t.Fatalf("received %d", sym.Stats().PacketsReceived)
	}
	if sym.Latched() {
		t.Fatal("latched to packets out of sequence")
	}

	// On hold (0.0.0.0) nothing is sent, so nothing is latched either.
	held := newTestSession(t, WithSymmetricRTP(true))
	held.SetRemote(netip.AddrPortFrom(netip.IPv4Unspecified(), 4000))
	held.Start()
	phone.send(held, LearnPackets)
	if !waitFor(time.Second, func() bool { return held.Stats().PacketsReceived == LearnPackets }) {
		t.Fatalf("received %d", held.Stats().PacketsReceived)
	}
	if held.Latched() {
		t.Fatal("latched while on hold")
	}
}

// Once the peer's source is known, packets from anyone else are dropped (no injected audio or
// digits), unless the source has gone quiet and a new address sends a stream (NAT rebinding).
func TestStrangerRTPDroppedUntilRebinding(t *testing.T) {
	phone := newPeer(t, 1)
	s := newTestSession(t, WithSymmetricRTP(true))
	s.SetRemote(phone.addr())
	s.Start()
	phone.send(s, 3)
	if !waitFor(time.Second, func() bool { return s.Stats().PacketsReceived == 3 }) {
		t.Fatalf("received %d from the SDP address, want 3", s.Stats().PacketsReceived)
	}

	stranger := newPeer(t, 99)
	dropped := counterValue(dropStranger)
	stranger.send(s, 2*LearnPackets) // while the phone is still talking
	phone.send(s, 1)
	if !waitFor(time.Second, func() bool { return s.Stats().PacketsReceived == 4 }) {
		t.Fatalf("received %d, want the phone's 4 only", s.Stats().PacketsReceived)
	}
	if got := counterValue(dropStranger) - dropped; got != 2*LearnPackets {
		t.Errorf("dropped %v stranger packets, want %d", got, 2*LearnPackets)
	}
	if s.Remote() != phone.addr() {
		t.Fatalf("the stranger took the stream: remote %v", s.Remote())
	}

	// The phone's NAT rebinds: its old address falls silent and a new one carries on.
	time.Sleep(rebindSilence + 100*time.Millisecond)
	rebound := newPeer(t, 1)
	rebound.send(s, LearnPackets)
	if !waitFor(time.Second, s.Latched) || s.Remote() != rebound.addr() {
		t.Fatalf("after the rebinding the remote is %v, want %v", s.Remote(), rebound.addr())
	}
}

// A datagram from source port 0 ("no reply expected", RFC 768; sipp's raw-socket pcap
// playback can send such) is heard while learning, but never becomes where RTP is sent.
func TestLearnerNeverLearnsPortZero(t *testing.T) {
	p := &sessionParams{remote: netip.MustParseAddrPort("10.20.30.40:40000"), remoteGen: 1}
	var l learner
	zero := netip.MustParseAddrPort("127.0.0.1:0")
	for seq := range uint16(10) {
		ok, learned := l.admit(p, zero, seq, int64(seq))
		if !ok || learned {
			t.Fatalf("packet %d from port 0: ok %v, learned %v", seq, ok, learned)
		}
	}
}
