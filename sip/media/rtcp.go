package media

import (
	"errors"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"sync"
	"time"

	"github.com/pion/rtcp"
)

// RTCP (RFC 3550 §6): every session sends a compound report about every ReportInterval
// (randomised 0.5–1.5×, RFC 3550 §6.2 simplified: two participants, no bandwidth share):
// an SR if it sent RTP since its last report, else an RR, with one report block about the
// peer's stream if packets of it arrived since, and an SDES CNAME; at the end it adds a BYE.
// It reads the peer's SR and RR on the RTCP port, or multiplexed on the RTP port (RFC 5761),
// and keeps what the peer says about this session's stream: loss, jitter and, from LSR and
// DLSR, the round-trip time.

// ReportInterval is how often a session sends an RTCP report, on average (RFC 3550 §6.2's
// minimum).
const ReportInterval = 5 * time.Second

// firstReportDelay is when the first report goes out after Start, on average: soon, so even a
// short call (a prompt and a hang-up) gets its reports across.
const firstReportDelay = time.Second

// WithRTCPInterval sets the average RTCP report interval (ReportInterval by default; tests
// use a few milliseconds). The first report goes out after a fifth of it, capped at a second;
// every delay is randomised 0.5–1.5× (RFC 3550 §6.3.1) so sessions do not synchronise.
func WithRTCPInterval(d time.Duration) SessionOption {
	return func(s *Session) {
		if d > 0 {
			s.rtcpInterval = d
		}
	}
}

// rtcpState is what the session knows for and from RTCP. RTCP is a few packets every few
// seconds, never on the RTP path, so a mutex guards it.
type rtcpState struct {
	mu sync.Mutex

	// Where reports go: the source of the peer's RTCP once some arrived (symmetric RTCP),
	// else the remote's RTP port + 1.
	dest    netip.AddrPort
	destMux bool   // dest was learned on the RTP socket: reply there (RFC 5761)
	destGen uint64 // sessionParams.remoteGen dest belongs to

	// What the last report said (RFC 3550 A.3: fraction lost is per interval).
	sentAtReport                 uint64 // packetsOut at the last report: an SR only if it grew
	priorSSRC                    uint32
	priorExpected, priorReceived uint32

	// The peer's last SR, for LSR/DLSR in our report block about its stream.
	lsr     uint32 // middle 32 bits of its NTP timestamp
	lsrSSRC uint32
	lsrAt   time.Time

	// What the peer says about our stream.
	reports       uint64 // SR and RR received
	remote        bool   // a report block about our SSRC arrived
	remoteFrac    float64
	remoteLost    uint64
	remoteJitter  time.Duration
	remoteSentRef uint64 // packetsOut when it arrived: what the loss is a share of
	rtt           time.Duration
	haveRTT       bool
}

// ntpTime is t as a 64-bit NTP timestamp (RFC 3550 §4).
func ntpTime(t time.Time) uint64 {
	const epochOffset = 2208988800 // 1900-01-01 to 1970-01-01 in seconds
	sec := uint64(t.Unix()) + epochOffset
	frac := uint64(t.Nanosecond()) << 32 / uint64(time.Second)
	return sec<<32 | frac
}

// ntpMiddle is the middle 32 bits of an NTP timestamp, the unit of LSR and of RTT arithmetic
// (1/65536 s).
func ntpMiddle(ntp uint64) uint32 { return uint32(ntp >> 16) }

// reportDelay is the randomised wait before the next report.
func (s *Session) reportDelay(first bool) time.Duration {
	d := s.rtcpInterval
	if first {
		d = min(d/5, firstReportDelay)
	}
	return time.Duration(float64(d) * (0.5 + rand.Float64()))
}

// rtcpTarget returns the socket to send RTCP from and where to, or false when there is
// nowhere to send (no remote, or on hold).
func (s *Session) rtcpTarget() (*net.UDPConn, netip.AddrPort, bool) {
	p := s.params.Load()
	if !p.canSend() {
		return nil, netip.AddrPort{}, false
	}
	conn := s.rtcpConn
	if conn == nil {
		conn = s.conn
	}
	s.rtcp.mu.Lock()
	dest, mux, gen := s.rtcp.dest, s.rtcp.destMux, s.rtcp.destGen
	s.rtcp.mu.Unlock()
	if dest.IsValid() && gen == p.remoteGen {
		if mux {
			conn = s.conn
		}
		return conn, dest, true
	}
	if p.remote.Port() == 65535 {
		return nil, netip.AddrPort{}, false
	}
	return conn, netip.AddrPortFrom(p.remote.Addr(), p.remote.Port()+1), true // RFC 3550 §11
}

// sendReport sends one compound RTCP packet: SR or RR, SDES CNAME, and BYE if bye.
func (s *Session) sendReport(now time.Time, bye bool) {
	conn, to, ok := s.rtcpTarget()
	if !ok {
		return
	}
	pkts := s.buildReport(now)
	if bye {
		pkts = append(pkts, &rtcp.Goodbye{Sources: []uint32{s.out.ssrc}})
	}
	b, err := rtcp.Marshal(pkts)
	if err != nil {
		s.log.Debug("RTCP report not built", "err", err)
		return
	}
	if st := s.params.Load().srtp; st != nil {
		if b, err = st.protectRTCP(b); err != nil {
			s.log.Debug("SRTCP encryption failed; report not sent", "err", err)
			return
		}
	}
	if _, err := conn.WriteToUDPAddrPort(b, to); err != nil {
		if !errors.Is(err, net.ErrClosed) {
			s.log.Debug("RTCP send failed", "remote", to.String(), "err", err)
		}
		return
	}
	metricRTCPSent.Inc()
}

// buildReport returns the SR or RR (RFC 3550 §6.4) and the SDES CNAME (§6.5.1) of a report
// sent at now, and remembers what it said for the next one.
func (s *Session) buildReport(now time.Time) []rtcp.Packet {
	st := &s.rtcp
	st.mu.Lock()
	defer st.mu.Unlock()

	var blocks []rtcp.ReceptionReport
	stream, counts := s.rxStream.Load(), s.rxCounts.Load()
	ssrc, extMax := uint32(stream>>32), uint32(stream)
	expected, received := uint32(counts>>32), uint32(counts)
	if ssrc != st.priorSSRC || expected < st.priorExpected || received < st.priorReceived {
		st.priorExpected, st.priorReceived = 0, 0 // a new stream, or a restarted one
	}
	if expected > 0 && received != st.priorReceived { // heard from since the last report
		// RFC 3550 A.3
		expInt, recInt := int64(expected-st.priorExpected), int64(received-st.priorReceived)
		var frac uint8
		if lostInt := expInt - recInt; expInt > 0 && lostInt > 0 {
			frac = uint8(min(lostInt<<8/expInt, 255))
		}
		lost := min(max(int64(expected)-int64(received), 0), 0x7FFFFF) // 24 bits, signed
		block := rtcp.ReceptionReport{SSRC: ssrc, FractionLost: frac, TotalLost: uint32(lost),
			LastSequenceNumber: extMax, Jitter: s.rxJitter.Load()}
		if !st.lsrAt.IsZero() && st.lsrSSRC == ssrc {
			block.LastSenderReport = st.lsr
			block.Delay = uint32(now.Sub(st.lsrAt).Seconds() * 65536) // DLSR, 1/65536 s
		}
		blocks = append(blocks, block)
		st.priorSSRC, st.priorExpected, st.priorReceived = ssrc, expected, received
	}

	var report rtcp.Packet
	if sent := s.packetsOut.Load(); sent != st.sentAtReport {
		st.sentAtReport = sent
		report = &rtcp.SenderReport{SSRC: s.out.ssrc, NTPTime: ntpTime(now), RTPTime: s.out.timestampAt(now),
			PacketCount: uint32(sent), OctetCount: uint32(s.octetsOut.Load()), Reports: blocks}
	} else {
		report = &rtcp.ReceiverReport{SSRC: s.out.ssrc, Reports: blocks}
	}
	return []rtcp.Packet{report, rtcp.NewCNAMESourceDescription(s.out.ssrc, s.cname)}
}

// timestampAt is the outgoing stream's RTP timestamp at wall-clock time now: the last
// packet's, plus the time since it was sent (RFC 3550 §6.4.1, "RTP timestamp").
func (o *outStream) timestampAt(now time.Time) uint32 {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.lastSend.IsZero() {
		return o.ts
	}
	return o.lastTS + uint32(now.Sub(o.lastSend).Seconds()*SampleRate)
}

// handleRTCP reads one RTCP compound packet from `from`, received at now on the RTCP socket
// or, if mux, on the RTP socket; with SRTP on it is decrypted first. Malformed and
// unauthenticated packets are counted and ignored.
func (s *Session) handleRTCP(b []byte, from netip.AddrPort, mux bool, now time.Time) {
	p := s.params.Load()
	if p.srtp != nil {
		var ok bool
		if b, ok = s.unprotectRTCP(p.srtp, b, from); !ok {
			return
		}
	}
	pkts, err := rtcp.Unmarshal(b)
	if err != nil {
		dropRTCP.Inc()
		s.log.Debug("ignoring malformed RTCP", "from", from, "err", err)
		return
	}
	metricRTCPReceived.Inc()
	st := &s.rtcp
	st.mu.Lock()
	defer st.mu.Unlock()
	// Symmetric RTCP: reply to where the peer's RTCP comes from, if it comes from the host
	// RTP goes to (a stranger cannot redirect reports; with WithSymmetricRTP that host is the
	// learned one).
	if from.IsValid() && from.Port() != 0 && p.canSend() && from.Addr() == p.remote.Addr() && (from != st.dest || mux != st.destMux) {
		s.log.Debug("RTCP destination learned", "from", from, "mux", mux)
		st.dest, st.destMux, st.destGen = from, mux, p.remoteGen
	}
	for _, pk := range pkts {
		switch pk := pk.(type) {
		case *rtcp.SenderReport:
			st.reports++
			st.lsr, st.lsrSSRC, st.lsrAt = ntpMiddle(pk.NTPTime), pk.SSRC, now
			s.readBlocks(st, p, pk.Reports, now)
		case *rtcp.ReceiverReport:
			st.reports++
			s.readBlocks(st, p, pk.Reports, now)
		case *rtcp.Goodbye:
			s.log.Debug("RTCP BYE received", "from", from, "reason", pk.Reason)
		}
	}
}

// readBlocks keeps what a report's blocks say about this session's stream (st.mu is held).
func (s *Session) readBlocks(st *rtcpState, p *sessionParams, blocks []rtcp.ReceptionReport, now time.Time) {
	for _, rb := range blocks {
		if rb.SSRC != s.out.ssrc {
			continue
		}
		lost := rb.TotalLost & 0xFFFFFF
		if lost&0x800000 != 0 {
			lost = 0 // negative: duplicates outnumber the losses
		}
		clock := p.codec.ClockRate
		if clock == 0 {
			clock = SampleRate
		}
		st.remote = true
		st.remoteFrac = float64(rb.FractionLost) / 256
		st.remoteLost = uint64(lost)
		st.remoteJitter = tsDuration(rb.Jitter, clock)
		st.remoteSentRef = s.packetsOut.Load()
		if rb.LastSenderReport == 0 {
			continue // no SR of ours reached the peer yet
		}
		// RFC 3550 §6.4.1: RTT = A − LSR − DLSR, in 1/65536 s.
		if rtt := ntpMiddle(ntpTime(now)) - rb.LastSenderReport - rb.Delay; int32(rtt) >= 0 {
			st.rtt, st.haveRTT = time.Duration(uint64(rtt)*uint64(time.Second)>>16), true
		}
	}
}

// remoteLossRatio is the share of the packets sent that the peer reported lost, and whether
// the peer reported at all.
func (st *rtcpState) remoteLossRatio() (float64, bool) {
	if !st.remote || st.remoteSentRef == 0 {
		return 0, false
	}
	return min(float64(st.remoteLost)/float64(st.remoteSentRef), 1), true
}

// sendBye sends the last report with a BYE (RFC 3550 §6.6), best effort: the socket's write
// deadline keeps a full send buffer from holding up the end of the session.
func (s *Session) sendBye() {
	for _, c := range []*net.UDPConn{s.conn, s.rtcpConn} {
		if c != nil {
			_ = c.SetWriteDeadline(time.Now().Add(50 * time.Millisecond))
		}
	}
	s.sendReport(time.Now(), true)
}

// cname is the SDES CNAME of every session of this process (RFC 3550 §6.5.1: user@host,
// with the host's address): "hotline@" and the local address, or the host name when the
// socket is bound to all interfaces.
func cname(local netip.Addr) string {
	if local.IsValid() && !local.IsUnspecified() {
		return "hotline@" + local.String()
	}
	return hostCNAME()
}

// hostCNAME is the CNAME by host name, looked up once per process.
var hostCNAME = sync.OnceValue(func() string {
	if h, err := os.Hostname(); err == nil && h != "" {
		return "hotline@" + h
	}
	return "hotline"
})
