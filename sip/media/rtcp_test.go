package media

import (
	"context"
	"log/slog"
	"math"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// testRTCPInterval keeps reports coming every few milliseconds in tests.
const testRTCPInterval = 20 * time.Millisecond

// rtcpPeer is a phone made of two bare sockets: RTP on an even port, RTCP on the odd one.
type rtcpPeer struct {
	t         *testing.T
	rtp, rtcp *net.UDPConn
	ssrc      uint32
	seq       uint16
}

// reportingTo is a started session, reporting every testRTCPInterval, whose remote is phone.
func reportingTo(t *testing.T, phone *rtcpPeer) *Session {
	t.Helper()
	s := newTestSession(t, WithRTCPInterval(testRTCPInterval))
	s.SetRemote(phone.addr())
	s.Start()
	return s
}

func newRTCPPeer(t *testing.T, ssrc uint32) *rtcpPeer {
	t.Helper()
	c, cr, err := ListenRTP(loopback, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(); cr.Close() })
	return &rtcpPeer{t: t, rtp: c, rtcp: cr, ssrc: ssrc, seq: 1000}
}

func (p *rtcpPeer) addr() netip.AddrPort { return p.rtp.LocalAddr().(*net.UDPAddr).AddrPort() }

// sendRTP sends n PCMU packets to s, skipping `skip` sequence numbers before the last one.
func (p *rtcpPeer) sendRTP(s *Session, n, skip int) {
	p.t.Helper()
	for i := range n {
		p.seq++
		if i == n-1 {
			p.seq += uint16(skip)
		}
		b, _ := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: p.seq,
			Timestamp: uint32(p.seq) * 160, SSRC: p.ssrc}, Payload: make([]byte, 160)}).Marshal()
		if _, err := p.rtp.WriteToUDPAddrPort(b, s.LocalAddr()); err != nil {
			p.t.Fatal(err)
		}
	}
}

// send writes RTCP packets as one compound packet from conn to `to`.
func sendRTCP(t *testing.T, conn *net.UDPConn, to netip.AddrPort, pkts ...rtcp.Packet) {
	t.Helper()
	b, err := rtcp.Marshal(pkts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.WriteToUDPAddrPort(b, to); err != nil {
		t.Fatal(err)
	}
}

// readRTCP reads compound packets from conn until match accepts one, or d passes.
func readRTCP(conn *net.UDPConn, d time.Duration, match func([]rtcp.Packet) bool) []rtcp.Packet {
	buf := make([]byte, 1500)
	deadline := time.Now().Add(d)
	for {
		_ = conn.SetReadDeadline(deadline)
		n, err := conn.Read(buf)
		if err != nil {
			return nil
		}
		if buf[1] < 192 || buf[1] > 223 { // RTP on a multiplexed port
			continue
		}
		if pkts, err := rtcp.Unmarshal(buf[:n]); err == nil && match(pkts) {
			return pkts
		}
	}
}

func rtcpAddr(s *Session) netip.AddrPort {
	return netip.AddrPortFrom(s.LocalAddr().Addr(), s.LocalAddr().Port()+1)
}

// blockAbout returns the report block about ssrc in a compound packet's SR or RR.
func blockAbout(pkts []rtcp.Packet, ssrc uint32) (rtcp.ReceptionReport, bool) {
	for _, p := range pkts {
		var blocks []rtcp.ReceptionReport
		switch p := p.(type) {
		case *rtcp.SenderReport:
			blocks = p.Reports
		case *rtcp.ReceiverReport:
			blocks = p.Reports
		}
		for _, b := range blocks {
			if b.SSRC == ssrc {
				return b, true
			}
		}
	}
	return rtcp.ReceptionReport{}, false
}

func senderReport(pkts []rtcp.Packet) *rtcp.SenderReport {
	for _, p := range pkts {
		if sr, ok := p.(*rtcp.SenderReport); ok {
			return sr
		}
	}
	return nil
}

// lossyRelay sits between a and b: RTP from a reaches b except every drop-th packet;
// RTCP crosses both ways untouched. a sends to the relay, b to a directly.
type lossyRelay struct {
	rtpConn, rtcpConn *net.UDPConn
	mu                sync.Mutex
	dropped           int
	wg                sync.WaitGroup
}

func newLossyRelay(t *testing.T, a, b *Session, drop int) *lossyRelay {
	c, cr, err := ListenRTP(loopback, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	r := &lossyRelay{rtpConn: c, rtcpConn: cr}
	r.wg.Add(2)
	go func() {
		defer r.wg.Done()
		buf := make([]byte, 1500)
		for i := 0; ; i++ {
			n, err := c.Read(buf)
			if err != nil {
				return
			}
			if i%drop == 1 {
				r.mu.Lock()
				r.dropped++
				r.mu.Unlock()
				continue
			}
			_, _ = c.WriteToUDPAddrPort(buf[:n], b.LocalAddr())
		}
	}()
	go func() {
		defer r.wg.Done()
		buf := make([]byte, 1500)
		for {
			n, from, err := cr.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			to := rtcpAddr(b)
			if from == to {
				to = rtcpAddr(a)
			}
			_, _ = cr.WriteToUDPAddrPort(buf[:n], to)
		}
	}()
	t.Cleanup(func() { c.Close(); cr.Close(); r.wg.Wait() })
	return r
}

func (r *lossyRelay) addr() netip.AddrPort { return r.rtpConn.LocalAddr().(*net.UDPAddr).AddrPort() }

func (r *lossyRelay) droppedCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.dropped
}

// Two hotline sessions report to each other: each hears the other's reports, the one that
// sends audio through a lossy link learns from the other's RR how much of it was lost, and its
// SR lets the other measure nothing wrong (no loss) the other way; both measure a round trip.
func TestRTCPSessionsExchangeReports(t *testing.T) {
	t.Parallel()
	a := newTestSession(t, WithRTCPInterval(testRTCPInterval))
	b := newTestSession(t, WithRTCPInterval(testRTCPInterval))
	relay := newLossyRelay(t, a, b, 4)
	a.SetRemote(relay.addr())
	b.SetRemote(a.LocalAddr())
	a.Start()
	b.Start()
	sent, received := counterValue(metricRTCPSent), counterValue(metricRTCPReceived)

	ctx := context.Background()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _ = b.Play(ctx, make([]int16, 25*FrameSamples)) }()
	if err := a.Play(ctx, make([]int16, 25*FrameSamples)); err != nil { // 25 packets, every 4th from the 2nd dropped
		t.Fatal(err)
	}
	wg.Wait()
	const lost = 6
	if !waitFor(2*time.Second, func() bool { return b.Stats().PacketsLost == lost && a.Stats().RemoteLost == lost }) {
		t.Fatalf("a's peer reports %d lost, b counts %d; the relay dropped %d, want %d",
			a.Stats().RemoteLost, b.Stats().PacketsLost, relay.droppedCount(), lost)
	}
	// Both have sent SRs (both played) answered by blocks with LSR/DLSR: both measure an RTT.
	if !waitFor(2*time.Second, func() bool { return a.Stats().RTT > 0 && b.Stats().RTT > 0 }) {
		t.Fatalf("RTT not measured: a %v, b %v", a.Stats().RTT, b.Stats().RTT)
	}
	sa, sb := a.Stats(), b.Stats()
	if sa.ReportsReceived == 0 || sb.ReportsReceived == 0 || !sa.RemoteReported || !sb.RemoteReported {
		t.Fatalf("reports received: a %d (about us: %v), b %d (about us: %v)", sa.ReportsReceived, sa.RemoteReported, sb.ReportsReceived, sb.RemoteReported)
	}
	if sb.RemoteLost != 0 {
		t.Errorf("b's audio crossed a clean link, but a reports %d lost", sb.RemoteLost)
	}
	for name, rtt := range map[string]time.Duration{"a": sa.RTT, "b": sb.RTT} {
		if rtt > 100*time.Millisecond {
			t.Errorf("%s measures RTT %v on loopback", name, rtt)
		}
	}
	if counterValue(metricRTCPSent)-sent < 4 || counterValue(metricRTCPReceived)-received < 2 {
		t.Error("hotline_rtp_rtcp_packets_{sent,received}_total not counted")
	}

	// At the end each session's histograms get the peer's view of it.
	lossBefore, rttBefore := histogramCount(metricRemoteLoss), histogramCount(metricRTT)
	a.Close()
	if histogramCount(metricRemoteLoss)-lossBefore < 1 || histogramCount(metricRTT)-rttBefore < 1 {
		t.Error("session_remote_loss_ratio / session_rtt_seconds not observed at the end")
	}
}

// A phone sends RTP with a gap and reports on hotline's stream: hotline's RR tells the phone
// what it lost, and hotline keeps what the phone's reports say about its own stream.
func TestRTCPReportsAboutEachOthersStream(t *testing.T) {
	t.Parallel()
	phone := newRTCPPeer(t, 0xCAFE)
	s := reportingTo(t, phone)

	phone.sendRTP(s, 10, 3) // 10 packets received, 3 sequence numbers skipped before the last
	pkts := readRTCP(phone.rtcp, 2*time.Second, func(p []rtcp.Packet) bool {
		b, ok := blockAbout(p, phone.ssrc)
		return ok && b.TotalLost == 3
	})
	if pkts == nil {
		t.Fatal("no report about the phone's stream with 3 lost")
	}
	if _, ok := pkts[0].(*rtcp.ReceiverReport); !ok {
		t.Errorf("hotline sent nothing, so it must send an RR, sent %T", pkts[0])
	}
	block, _ := blockAbout(pkts, phone.ssrc)
	if block.LastSequenceNumber != uint32(phone.seq) || block.FractionLost != 3*256/13 {
		t.Errorf("block: highest seq %d (want %d), fraction %d/256 (want %d)", block.LastSequenceNumber, phone.seq, block.FractionLost, 3*256/13)
	}
	if cname, err := rtcp.CompoundPacket(pkts).CNAME(); err != nil || cname != "hotline@127.0.0.1" {
		t.Errorf("CNAME %q (%v), want hotline@127.0.0.1", cname, err)
	}

	// The phone's reports about hotline's stream: an SR and, later, an RR.
	sendRTCP(t, phone.rtcp, rtcpAddr(s),
		&rtcp.SenderReport{SSRC: phone.ssrc, NTPTime: ntpTime(time.Now()), Reports: []rtcp.ReceptionReport{
			{SSRC: 12345, TotalLost: 99}, // about someone else: ignored
			{SSRC: s.SSRC(), FractionLost: 64, TotalLost: 7, Jitter: 160}}},
		rtcp.NewCNAMESourceDescription(phone.ssrc, "phone@127.0.0.1"))
	if !waitFor(time.Second, func() bool { return s.Stats().RemoteLost == 7 }) {
		t.Fatalf("RemoteLost %d, want the phone's 7", s.Stats().RemoteLost)
	}
	st := s.Stats()
	if st.ReportsReceived != 1 || st.RemoteFractionLost != 0.25 || st.RemoteJitter != 20*time.Millisecond || st.RTT != 0 {
		t.Errorf("after the phone's SR: %+v; want 1 report, fraction 0.25, jitter 20ms, no RTT (LSR 0)", st)
	}
	sendRTCP(t, phone.rtcp, rtcpAddr(s), &rtcp.ReceiverReport{SSRC: phone.ssrc, Reports: []rtcp.ReceptionReport{
		{SSRC: s.SSRC(), TotalLost: 0xFFFFFF}}}) // -1: a duplicate; never a negative loss
	if !waitFor(time.Second, func() bool { return s.Stats().ReportsReceived == 2 }) {
		t.Fatal("the phone's RR was not read")
	}
	if st := s.Stats(); st.RemoteLost != 0 || st.RemoteFractionLost != 0 {
		t.Errorf("after a report of -1 lost: RemoteLost %d, fraction %v", st.RemoteLost, st.RemoteFractionLost)
	}

	// While hotline sends audio its reports are SRs, with its counts and, in the block about
	// the phone's stream, the phone's last SR (LSR) and the delay since (DLSR).
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 10 { // the phone talks meanwhile, so the SRs carry a block
			phone.seq++
			b, _ := (&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: phone.seq, SSRC: phone.ssrc}, Payload: make([]byte, 160)}).Marshal()
			_, _ = phone.rtp.WriteToUDPAddrPort(b, s.LocalAddr())
			time.Sleep(FrameInterval)
		}
	}()
	go func() { _ = s.Play(context.Background(), make([]int16, 10*FrameSamples)) }()
	pkts = readRTCP(phone.rtcp, 2*time.Second, func(p []rtcp.Packet) bool {
		_, block := blockAbout(p, phone.ssrc)
		return senderReport(p) != nil && block
	})
	<-done
	if pkts == nil {
		t.Fatal("no SR with a block about the phone's stream while both talk")
	}
	sr := senderReport(pkts)
	if sr.SSRC != s.SSRC() || sr.PacketCount == 0 || sr.OctetCount != 160*sr.PacketCount {
		t.Errorf("SR: SSRC %x (want %x), %d packets, %d octets (want 160 a packet)", sr.SSRC, s.SSRC(), sr.PacketCount, sr.OctetCount)
	}
	if d := time.Since(ntpToTime(sr.NTPTime)); d < 0 || d > time.Second {
		t.Errorf("SR NTP time is %v off", d)
	}
	if b, ok := blockAbout(pkts, phone.ssrc); !ok || b.LastSenderReport == 0 || b.Delay == 0 {
		t.Errorf("the block after the phone's SR has LSR %x, DLSR %d (found: %v)", b.LastSenderReport, b.Delay, ok)
	}
}

// ntpToTime converts a 64-bit NTP timestamp back to wall-clock time.
func ntpToTime(ntp uint64) time.Time {
	sec := int64(ntp>>32) - 2208988800
	nsec := int64((ntp & 0xFFFFFFFF) * uint64(time.Second) >> 32)
	return time.Unix(sec, nsec)
}

// RFC 3550 §6.4.1: RTT = A − LSR − DLSR. The peer got our SR 350 ms ago (by its LSR), held
// it 100 ms before answering: the round trip is 250 ms.
func TestRTCPRoundTripTime(t *testing.T) {
	t.Parallel()
	s := newTestSession(t)
	t0 := time.Date(2030, 1, 2, 3, 4, 5, 600_000_000, time.UTC)
	now := t0.Add(350 * time.Millisecond)
	rr, _ := rtcp.Marshal([]rtcp.Packet{&rtcp.ReceiverReport{SSRC: 7, Reports: []rtcp.ReceptionReport{
		{SSRC: s.SSRC(), LastSenderReport: ntpMiddle(ntpTime(t0)), Delay: 65536 / 10}}}})
	s.handleRTCP(rr, netip.AddrPort{}, false, now)
	if got := s.Stats().RTT; math.Abs(float64(got-250*time.Millisecond)) > float64(time.Second/65536*2) {
		t.Errorf("RTT %v, want 250ms", got)
	}

	// A DLSR longer than the time since our SR is nonsense (clocks, or forgery): no RTT.
	s2 := newTestSession(t)
	rr, _ = rtcp.Marshal([]rtcp.Packet{&rtcp.ReceiverReport{SSRC: 7, Reports: []rtcp.ReceptionReport{
		{SSRC: s2.SSRC(), LastSenderReport: ntpMiddle(ntpTime(t0)), Delay: 65536}}}})
	s2.handleRTCP(rr, netip.AddrPort{}, false, now)
	if got := s2.Stats().RTT; got != 0 {
		t.Errorf("RTT %v from an impossible DLSR, want none", got)
	}

	// The other way: the peer's SR arrived at t0; our report 200 ms later says so.
	s.handlePacket(newReceiver(), mustRTP(t, 7, 1))
	sr, _ := rtcp.Marshal([]rtcp.Packet{&rtcp.SenderReport{SSRC: 7, NTPTime: 0x0123_4567_89AB_CDEF}})
	s.handleRTCP(sr, netip.AddrPort{}, false, t0)
	block, ok := blockAbout(s.buildReport(t0.Add(200*time.Millisecond)), 7)
	if !ok || block.LastSenderReport != 0x4567_89AB || block.Delay != 65536/5 {
		t.Errorf("block LSR %x DLSR %d (found %v), want LSR 456789ab, DLSR %d", block.LastSenderReport, block.Delay, ok, 65536/5)
	}
}

func mustRTP(t *testing.T, ssrc uint32, seq uint16) []byte {
	t.Helper()
	b, err := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: seq, SSRC: ssrc}, Payload: make([]byte, 160)}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Closing a session sends a BYE to the peer's RTCP port.
func TestRTCPByeOnClose(t *testing.T) {
	t.Parallel()
	phone := newRTCPPeer(t, 1)
	s := newTestSession(t) // the default interval: no report before Close
	s.SetRemote(phone.addr())
	s.Start()
	ssrc := s.SSRC()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	pkts := readRTCP(phone.rtcp, time.Second, func(p []rtcp.Packet) bool {
		for _, x := range p {
			if bye, ok := x.(*rtcp.Goodbye); ok && len(bye.Sources) == 1 && bye.Sources[0] == ssrc {
				return true
			}
		}
		return false
	})
	if pkts == nil {
		t.Fatal("no BYE at the phone's RTCP port")
	}
	if err := rtcp.CompoundPacket(pkts).Validate(); err != nil {
		t.Errorf("the BYE's compound packet is not valid RTCP: %v", err)
	}
}

// RTCP multiplexed on the RTP port (RFC 5761) is read, not dropped, and the replies go back
// to the same port, multiplexed.
func TestRTCPMuxOnRTPPort(t *testing.T) {
	t.Parallel()
	phone := newRTCPPeer(t, 0xBEEF)
	s := reportingTo(t, phone)
	sendRTCP(t, phone.rtp, s.LocalAddr(), &rtcp.ReceiverReport{SSRC: phone.ssrc, Reports: []rtcp.ReceptionReport{
		{SSRC: s.SSRC(), TotalLost: 5}}}, rtcp.NewCNAMESourceDescription(phone.ssrc, "phone"))
	if !waitFor(time.Second, func() bool { return s.Stats().RemoteLost == 5 }) {
		t.Fatalf("multiplexed RR not read: %+v", s.Stats())
	}
	if st := s.Stats(); st.PacketsReceived != 0 || st.ReportsReceived != 1 {
		t.Errorf("the RR counted as RTP (%d packets) or not as a report (%d)", st.PacketsReceived, st.ReportsReceived)
	}
	if readRTCP(phone.rtp, time.Second, func([]rtcp.Packet) bool { return true }) == nil {
		t.Fatal("no multiplexed report back on the phone's RTP port")
	}
}

// Malformed RTCP, on either port, is counted and ignored; the session goes on reading.
func TestRTCPMalformedIgnored(t *testing.T) {
	t.Parallel()
	phone := newRTCPPeer(t, 1)
	s := newTestSession(t, WithRTCPInterval(testRTCPInterval)) // RTCP is read when a report is due
	s.SetRemote(phone.addr())
	s.Start()
	before := counterValue(dropRTCP)
	bad := [][]byte{
		{0x80, 201, 0xFF, 0xFF, 0, 0, 0, 1},       // RR claiming 256 KiB
		{0x81, 200, 0, 1, 0, 0, 0, 1},             // SR with one block and no room for it
		{0x80, 202, 0, 2, 0, 0, 0, 1, 1, 200, 42}, // SDES item past the end
	}
	for _, b := range bad {
		if _, err := phone.rtcp.WriteToUDPAddrPort(b, rtcpAddr(s)); err != nil {
			t.Fatal(err)
		}
		if _, err := phone.rtp.WriteToUDPAddrPort(b, s.LocalAddr()); err != nil {
			t.Fatal(err)
		}
	}
	if !waitFor(time.Second, func() bool { return counterValue(dropRTCP)-before >= float64(2*len(bad)) }) {
		t.Fatalf("malformed RTCP counted %v times, want %d", counterValue(dropRTCP)-before, 2*len(bad))
	}
	sendRTCP(t, phone.rtcp, rtcpAddr(s), &rtcp.ReceiverReport{SSRC: 1, Reports: []rtcp.ReceptionReport{{SSRC: s.SSRC(), TotalLost: 2}}})
	if !waitFor(time.Second, func() bool { return s.Stats().RemoteLost == 2 }) || s.Err() != nil {
		t.Fatalf("a good report after the junk: %+v, err %v", s.Stats(), s.Err())
	}
	if s.Stats().ReportsReceived != 1 {
		t.Errorf("ReportsReceived %d, want only the good one", s.Stats().ReportsReceived)
	}
}

// Reports go to the remote's RTP port + 1 until the peer's RTCP arrives from somewhere else
// (a NAT, or a phone using another port): then there. On hold nothing is sent.
func TestRTCPSymmetricDestination(t *testing.T) {
	t.Parallel()
	phone := newRTCPPeer(t, 1)
	s := reportingTo(t, phone)
	if readRTCP(phone.rtcp, time.Second, func([]rtcp.Packet) bool { return true }) == nil {
		t.Fatal("no report at the RTP port + 1")
	}
	other := newPeer(t, 2) // same host, another port
	sendRTCP(t, other.conn, rtcpAddr(s), &rtcp.ReceiverReport{SSRC: 1})
	if readRTCP(other.conn, time.Second, func([]rtcp.Packet) bool { return true }) == nil {
		t.Fatal("reports did not follow the peer's RTCP source")
	}

	// A re-INVITE to hold: nothing is sent anywhere.
	s.SetRemote(netip.AddrPortFrom(netip.IPv4Unspecified(), phone.addr().Port()))
	time.Sleep(3 * testRTCPInterval) // a report in flight
	drain := func(c *net.UDPConn) bool {
		return readRTCP(c, 5*testRTCPInterval, func([]rtcp.Packet) bool { return true }) != nil
	}
	if drain(phone.rtcp) || drain(other.conn) {
		t.Error("reports sent while on hold")
	}
}

func histogramCount(h prometheus.Histogram) uint64 {
	var m dto.Metric
	_ = h.Write(&m)
	return m.GetHistogram().GetSampleCount()
}

// FuzzRTCP feeds the RTCP read path anything: it must not panic, and whatever it accepts must
// leave sane statistics.
func FuzzRTCP(f *testing.F) {
	seed := func(pkts ...rtcp.Packet) {
		b, err := rtcp.Marshal(pkts)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	block := rtcp.ReceptionReport{SSRC: 1, FractionLost: 12, TotalLost: 34, LastSequenceNumber: 5678, Jitter: 90, LastSenderReport: 0x12345678, Delay: 65536}
	seed(&rtcp.SenderReport{SSRC: 2, NTPTime: ntpTime(time.Now()), RTPTime: 160, PacketCount: 1, OctetCount: 160, Reports: []rtcp.ReceptionReport{block}},
		rtcp.NewCNAMESourceDescription(2, "baresip@192.0.2.1"))
	seed(&rtcp.ReceiverReport{SSRC: 2, Reports: []rtcp.ReceptionReport{block}}, rtcp.NewCNAMESourceDescription(2, "x"), &rtcp.Goodbye{Sources: []uint32{2}, Reason: "bye"})
	seed(&rtcp.Goodbye{Sources: []uint32{2}})
	f.Add([]byte{0x80, 201, 0xFF, 0xFF, 0, 0, 0, 1})
	f.Add([]byte{})

	conn, rtcpConn, err := ListenRTP(loopback, 0, 0)
	if err != nil {
		f.Fatal(err)
	}
	s := NewSession(conn, rtcpConn, WithLogger(slog.New(slog.DiscardHandler)))
	defer s.Close()
	// Reports about the session's own SSRC reach every field.
	f.Add(func() []byte {
		b, _ := rtcp.Marshal([]rtcp.Packet{&rtcp.ReceiverReport{SSRC: 9, Reports: []rtcp.ReceptionReport{{SSRC: s.SSRC(), TotalLost: 3, LastSenderReport: 1, Delay: 1}}}})
		return b
	}())
	from := netip.MustParseAddrPort("127.0.0.1:4000")
	f.Fuzz(func(t *testing.T, b []byte) {
		s.handleRTCP(b, from, len(b)%2 == 0, time.Now())
		st := s.Stats()
		if st.RemoteFractionLost < 0 || st.RemoteFractionLost >= 1 || st.RemoteLost > 0x7FFFFF || st.RTT < 0 || st.RemoteJitter < 0 {
			t.Fatalf("stats out of range: %+v", st)
		}
		if _, err := rtcp.Marshal(s.buildReport(time.Now())); err != nil {
			t.Fatalf("our next report does not marshal: %v", err)
		}
	})
}

// The SR's RTP timestamp is the outgoing stream's media time at the SR's NTP time: the last
// packet's timestamp plus the time since it was sent.
func TestRTCPSenderReportTimestamp(t *testing.T) {
	t.Parallel()
	s := newTestSession(t)
	t0 := time.Now()
	s.out.lastSend, s.out.lastTS = t0, 1000
	s.packetsOut.Store(3)
	s.octetsOut.Store(480)
	pkts := s.buildReport(t0.Add(100 * time.Millisecond))
	sr := senderReport(pkts)
	if sr == nil || sr.RTPTime != 1800 || sr.PacketCount != 3 || sr.OctetCount != 480 || sr.NTPTime != ntpTime(t0.Add(100*time.Millisecond)) {
		t.Fatalf("SR %+v, want RTP time 1800, 3 packets, 480 octets", sr)
	}
	if _, ok := s.buildReport(t0.Add(time.Second))[0].(*rtcp.ReceiverReport); !ok {
		t.Error("nothing sent since the last SR: the next report must be an RR")
	}
}

// The peer's RTCP is read when this session's next report is due, not as it arrives; the
// kernel's arrival stamp keeps the round-trip time what it would be had it been read at once.
// Here the RR arrives just after one of our reports, so it waits in the socket at least half
// an interval (500 ms), and says our SR reached the peer 100 ms before it answered at once.
func TestRTCPReadLateKeepsItsArrivalTime(t *testing.T) {
	t.Parallel()
	phone := newRTCPPeer(t, 1)
	s := newTestSession(t, WithRTCPInterval(time.Second))
	s.SetRemote(phone.addr())
	s.Start()
	if readRTCP(phone.rtcp, 3*time.Second, func([]rtcp.Packet) bool { return true }) == nil {
		t.Fatal("no report from the session")
	}
	sent := time.Now()
	sendRTCP(t, phone.rtcp, rtcpAddr(s), &rtcp.ReceiverReport{SSRC: 1, Reports: []rtcp.ReceptionReport{
		{SSRC: s.SSRC(), LastSenderReport: ntpMiddle(ntpTime(sent.Add(-100 * time.Millisecond)))}}})
	if !waitFor(3*time.Second, func() bool { return s.Stats().RTT > 0 }) {
		t.Fatal("the RR was not read")
	}
	if read := time.Since(sent); read < 400*time.Millisecond {
		t.Logf("the RR was read after %v only; the test shows less than it could", read)
	}
	if got := s.Stats().RTT; got < 90*time.Millisecond || got > 150*time.Millisecond {
		t.Errorf("RTT %v, want about 100ms: the arrival time was lost", got)
	}
}
