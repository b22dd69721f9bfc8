package media

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
)

// Session is the RTP side of one call leg: an RTP socket and the RTCP socket above it, one
// outgoing stream (one SSRC, sequence numbers and timestamps continuing across everything
// sent), and the reading of what arrives, which decodes DTMF, feeds taps and relays to
// another session: on Linux by the process's RTP pollers (poller_linux.go), one goroutine
// per core for all sessions, elsewhere by a read goroutine per session. RTCP is read and
// sent by one goroutine for all sessions (reporter.go).
//
// RTCP (RFC 3550 §6, rtcp.go): the session sends a compound report about every
// ReportInterval (WithRTCPInterval), the first soon after Start: an SR if it sent RTP since
// the last one, else an RR, with a report block about the peer's stream and an SDES CNAME,
// and a BYE when it ends. Reports go to the remote's RTP port + 1, or to where the peer's
// RTCP comes from once some arrived (symmetric RTCP); on hold nothing is sent. The peer's SR
// and RR are read on the RTCP socket and, multiplexed, on the RTP port (RFC 5761); what they
// say about this session's stream (loss, jitter, round-trip time) is in Stats.
//
// SRTP (srtp.go): after SetSRTP every RTP and RTCP packet is encrypted as it leaves and
// authenticated and decrypted as it arrives, before anything else looks at it; a packet that
// fails is dropped and counted in Stats.SRTPRejected.
//
// Its lifetime: NewSession, SetRemote/SetCodec (and SetSRTP), Start, then Play, SendDigit, Digits,
// AddTap, Relay, Conference/Mix and RecordCall as the call needs; Close when the call ends. Done is closed when the
// session ends, by Close or by the inactivity timeout (Err tells which). After Close
// returns no goroutine of the session remains and both sockets are closed.
//
// All methods are safe for concurrent use. Plays and digits sent are serialised: a second
// Play waits for the first to finish.
//
// Where RTP comes from (strict RTP with learning): the session accepts packets from anywhere
// until it knows its peer's source, which is the SDP address as soon as a packet comes from
// it, or an address that sent LearnPackets packets in sequence. After that, packets from any
// other address are dropped, unless a new address sends LearnPackets in sequence while the
// known source has been silent for a second (a NAT that rebound). SetRemote starts learning
// afresh. With WithSymmetricRTP, a learned source other than the SDP address also becomes
// where the session sends: a phone behind NAT advertises an address nobody can reach, and
// only its packets' source address works.
type Session struct {
	conn     *net.UDPConn
	rawFD    int          // conn's fd for raw sends and the poller; -1: none, or closed (under out.mu)
	family   int          // conn's address family (AF_INET, AF_INET6), for the prebuilt sockaddrs
	poll     *pollReg     // the session's place on an RTP poller (poller_linux.go); nil: a read goroutine
	rtcpConn *net.UDPConn // nil: RTCP only multiplexed on the RTP socket
	report   *reportSlot  // this session's place in the reports' schedule (reporter.go)
	local    netip.AddrPort
	log      *slog.Logger
	clock    Clock

	paramsMu sync.Mutex // serialises writers of params
	params   atomic.Pointer[sessionParams]

	symmetric  bool                       // send to the learned source (WithSymmetricRTP)
	inactivity atomic.Int64               // time.Duration; 0 = disabled
	inactTimer atomic.Pointer[time.Timer] // checks inactivity when the poller reads (no read deadline then)
	lastRx     atomic.Int64               // wall-clock UnixNano of the last RTP packet (or of Start)

	out      outStream
	producer chan struct{} // holds a token while a Play or SendDigit runs
	mclock   *mediaClock   // paces Play (mediaclock.go); set by the first Play
	player   player        // this session's place on mclock

	fanout sync.RWMutex // taps, relay and mix: the read loop holds it shared while using them
	taps   []*tap
	relay  *relayState
	mix    *mixLeg                       // the session's place in a Conference
	rec    atomic.Pointer[CallRecording] // the conversation recording, if any (callrecord.go)

	digits  chan rune
	onDigit atomic.Pointer[func(rune)] // set: digits go here, not to digits

	ctx     context.Context // ends with the session; its cause is Err
	cancel  context.CancelCauseFunc
	once    sync.Once
	closeMu sync.Mutex
	closeEr error
	started atomic.Bool
	wg      sync.WaitGroup

	packetsIn, packetsOut atomic.Uint64
	srtpRejects           atomic.Uint64 // SRTP packets dropped (srtp.go)
	srtcpRejects          atomic.Uint64 // SRTCP packets dropped
	srtpLogged            atomic.Bool   // the first rejected SRTP packet was logged
	srtcpLogged           atomic.Bool
	octetsOut             atomic.Uint64 // RTP payload octets sent, for the SR
	// The receive quality, published by the read goroutine (quality.go).
	rxDone   atomic.Uint64 // earlier inbound streams: expected<<32 | received
	rxCounts atomic.Uint64 // current inbound stream: expected<<32 | received
	rxStream atomic.Uint64 // current inbound stream: SSRC<<32 | extended highest sequence number
	rxJitter atomic.Uint32 // interarrival jitter, timestamp units

	rtcpInterval time.Duration
	cname        string
	rtcp         rtcpState
}

type sessionParams struct {
	remote    netip.AddrPort
	remoteGen uint64      // bumped by SetRemote: the peer's source is learned again
	sa        rawSockaddr // remote, prebuilt for sendto: per call, not per packet
	latched   bool        // remote is a learned source, not the SDP address
	codec     Codec
	dtmfPT    uint8
	srtp      *srtpState // nil: plain RTP (SetSRTP)
}

// canSend reports whether there is somewhere to send to: not unset, not 0.0.0.0 (hold).
func (p *sessionParams) canSend() bool {
	return p.remote.IsValid() && p.remote.Port() != 0 && !p.remote.Addr().IsUnspecified()
}

// outStream is the session's one outgoing RTP stream.
type outStream struct {
	mu       sync.Mutex
	ssrc     uint32
	seq      uint16
	ts       uint32
	gen      uint64    // bumped by every local (Play, SendDigit) send, so relays re-anchor
	lastSend time.Time // wall clock of the last packet, to keep timestamps in step with time
	lastTS   uint32    // media time of the last packet at lastSend, for the SR
	buf      []byte    // the packet being sent (SRTP encrypts it into srtpState.tx); see packet
}

// Packet buffer sizes: a 20 ms G.711 frame or an RFC 4733 event fits the first; a peer's
// longer frames (relayed 60 ms, say) grow it once for the call, never past maxPacket.
const (
	firstPacketBuf = 256
	maxPacket      = 1500
)

// packet is the stream's packet buffer, with room for size bytes, or nil if size is more
// than maxPacket. Sized per call, not per packet: most calls never grow it, so a session
// keeps 256 bytes for sending instead of an MTU.
func (o *outStream) packet(size int) []byte {
	if size > maxPacket {
		return nil
	}
	if size > len(o.buf) {
		o.buf = make([]byte, max(size, firstPacketBuf))
	}
	return o.buf
}

type tap struct{ fn func(pcm []int16) }

// SessionOption configures a Session.
type SessionOption func(*Session)

// WithLogger sets the logger; the session adds component=rtp and its local address.
func WithLogger(l *slog.Logger) SessionOption { return func(s *Session) { s.log = l } }

// WithInactivityTimeout ends the session with ErrInactive when no RTP arrives for d after
// Start (0, the default, disables it). It is measured on the wall clock, whatever Clock the
// session uses.
func WithInactivityTimeout(d time.Duration) SessionOption {
	return func(s *Session) { s.inactivity.Store(int64(max(d, 0))) }
}

// WithSymmetricRTP makes the session send to where its peer's RTP comes from, once learned,
// rather than to the SDP address (symmetric RTP, RFC 4961; "comedia" in other products).
func WithSymmetricRTP(on bool) SessionOption { return func(s *Session) { s.symmetric = on } }

// LearnPackets is how many packets in sequence an address must send before the session
// takes it as its peer's source.
const LearnPackets = 4

// rebindSilence is how long the known source must have been silent before another address
// may take its place.
const rebindSilence = time.Second

// WithClock sets the clock that paces Play and SendDigit (SystemClock by default).
func WithClock(c Clock) SessionOption { return func(s *Session) { s.clock = c } }

// WithCodec sets the initial codec and telephone-event payload type (default PCMU, no DTMF).
func WithCodec(c Codec, dtmfPT uint8) SessionOption {
	return func(s *Session) { s.params.Store(&sessionParams{codec: c, dtmfPT: dtmfPT}) }
}

// DigitBuffer is how many received digits Digits holds before further ones are dropped.
const DigitBuffer = 32

// NewSession wraps the RTP socket conn and the RTCP socket rtcpConn (typically both from
// ListenRTP); the session owns them from now on. rtcpConn may be nil: RTCP is then sent from
// and read on the RTP socket only. Nothing is read or sent until Start.
func NewSession(conn, rtcpConn *net.UDPConn, opts ...SessionOption) *Session {
	s := &Session{
		conn:         conn,
		rtcpConn:     rtcpConn,
		rtcpInterval: ReportInterval,
		log:          slog.Default(),
		clock:        SystemClock,
		producer:     make(chan struct{}, 1),
		digits:       make(chan rune, DigitBuffer),
	}
	s.player = player{s: s, done: make(chan struct{}, 1)}
	s.report = &reportSlot{s: s, idx: -1}
	if rtcpConn != nil {
		stampArrivals(rtcpConn)
	}
	s.params.Store(&sessionParams{codec: PCMU})
	s.socketFD(conn)
	if ua, ok := conn.LocalAddr().(*net.UDPAddr); ok {
		s.local = ua.AddrPort()
	}
	for _, o := range opts {
		o(s)
	}
	if s.clock == nil {
		s.clock = SystemClock
	}
	s.log = s.log.With("component", "rtp", "local", s.local.String())
	s.cname = cname(s.local.Addr())
	s.out.ssrc = rand.Uint32()
	s.out.seq = uint16(rand.Uint32())
	s.out.ts = rand.Uint32()
	s.ctx, s.cancel = context.WithCancelCause(context.Background())
	return s
}

// LocalAddr returns the address the socket is bound to.
func (s *Session) LocalAddr() netip.AddrPort { return s.local }

// SSRC returns the synchronisation source of what this session sends.
func (s *Session) SSRC() uint32 { return s.out.ssrc }

// SetRemote sets where RTP is sent. An unspecified address (0.0.0.0, as in an RFC 2543
// hold) or an unset one stops sending; timestamps keep running.
func (s *Session) SetRemote(addr netip.AddrPort) {
	s.updateParams(func(p *sessionParams) {
		p.remote = netip.AddrPortFrom(addr.Addr().Unmap(), addr.Port())
		p.sa = s.sockaddrFor(p.remote)
		p.remoteGen++
		p.latched = false
	})
}

// Remote returns where RTP is sent.
func (s *Session) Remote() netip.AddrPort { return s.params.Load().remote }

// Latched reports whether the session sends to a learned source rather than the SDP address.
func (s *Session) Latched() bool { return s.params.Load().latched }

// SetCodec sets the codec (with the negotiated payload type) and the telephone-event
// payload type (0 if none) for sending and receiving. It may be called at any time, e.g.
// after a re-INVITE; a Play in progress switches at its next frame.
func (s *Session) SetCodec(c Codec, dtmfPT uint8) {
	s.updateParams(func(p *sessionParams) { p.codec, p.dtmfPT = c, dtmfPT })
}

// Codec returns the current codec and telephone-event payload type.
func (s *Session) Codec() (Codec, uint8) {
	p := s.params.Load()
	return p.codec, p.dtmfPT
}

func (s *Session) updateParams(f func(*sessionParams)) {
	s.paramsMu.Lock()
	defer s.paramsMu.Unlock()
	p := *s.params.Load()
	f(&p)
	s.params.Store(&p)
}

// SetInactivityTimeout changes the inactivity timeout of a running session (0 disables it),
// e.g. to suspend it while the remote holds the call and sends nothing. The timeout counts
// from now.
func (s *Session) SetInactivityTimeout(d time.Duration) {
	d = max(d, 0)
	s.inactivity.Store(int64(d))
	s.lastRx.Store(time.Now().UnixNano())
	if !s.started.Load() {
		return
	}
	s.closeMu.Lock() // Start sets poll under it
	polled := s.poll != nil
	s.closeMu.Unlock()
	if polled {
		s.armInactivity(d)
		return
	}
	if d == 0 {
		_ = s.conn.SetReadDeadline(time.Time{})
	} else {
		_ = s.conn.SetReadDeadline(time.Now().Add(d))
	}
}

// Start starts reading RTP. Calling it again does nothing.
func (s *Session) Start() {
	s.closeMu.Lock() // orders Start against end: a session is either started, or ended first
	defer s.closeMu.Unlock()
	if s.ctx.Err() != nil || !s.started.CompareAndSwap(false, true) {
		return
	}
	metricSessionsActive.Inc()
	s.lastRx.Store(time.Now().UnixNano())
	d := time.Duration(s.inactivity.Load())
	if s.startPolling() {
		s.armInactivity(d)
	} else {
		if d > 0 {
			_ = s.conn.SetReadDeadline(time.Now().Add(d))
		}
		s.wg.Add(1)
		go s.readLoop()
	}
	reports.add(s.report, time.Now().Add(s.reportDelay(true)))
}

// Done is closed when the session has ended.
func (s *Session) Done() <-chan struct{} { return s.ctx.Done() }

// Context ends when the session does (its cause is Err()): for context.AfterFunc, where a
// goroutine waiting on Done would cost a stack per call.
func (s *Session) Context() context.Context { return s.ctx }

// Err returns nil while the session runs, then why it ended: ErrSessionClosed after Close,
// ErrInactive after the inactivity timeout, or a socket error.
func (s *Session) Err() error {
	if s.ctx.Err() == nil {
		return nil
	}
	return context.Cause(s.ctx)
}

// Close ends the session, closes the socket and waits for the read goroutine to finish.
// It is idempotent and returns the socket's close error, if any. Do not call it from a tap.
func (s *Session) Close() error {
	s.end(ErrSessionClosed)
	s.wg.Wait()
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	return s.closeEr
}

func (s *Session) end(cause error) {
	s.once.Do(func() {
		// Count and log first: whoever waits on Done sees the metric already updated.
		if errors.Is(cause, ErrInactive) {
			metricInactivityTimeouts.Inc()
			s.log.Warn("RTP session ended: no RTP received", "timeout", time.Duration(s.inactivity.Load()))
		} else {
			s.log.Debug("RTP session ended", "cause", cause)
		}
		if st := s.Stats(); st.PacketsExpected > 0 {
			metricCallLoss.Observe(st.LossRatio())
			metricCallJitter.Observe(st.Jitter.Seconds())
		}
		s.rtcp.mu.Lock()
		loss, reported := s.rtcp.remoteLossRatio()
		rtt, haveRTT := s.rtcp.rtt, s.rtcp.haveRTT
		s.rtcp.mu.Unlock()
		if reported {
			metricRemoteLoss.Observe(loss)
		}
		if haveRTT {
			metricRTT.Observe(rtt.Seconds())
		}
		if s.started.Load() {
			s.sendBye()
		}
		s.cancel(cause)
		reports.remove(s.report) // after cancel: a report being sent now is not scheduled again
		if t := s.inactTimer.Load(); t != nil {
			t.Stop()
		}
		s.closeMu.Lock() // after cancel, Start registers no more: poll is final
		s.closeMu.Unlock()
		s.stopPolling() // the poller is done with the fd...
		s.out.mu.Lock()
		s.rawFD = -1 // ...and so are the senders: the fd number may be reused once closed
		s.out.mu.Unlock()
		err := s.conn.Close()
		if s.rtcpConn != nil {
			err = errors.Join(err, s.rtcpConn.Close())
		}
		s.closeMu.Lock()
		s.closeEr = err
		if s.started.Load() {
			metricSessionsActive.Dec()
		}
		s.closeMu.Unlock()
	})
}

// Digits returns the channel of digits received as RFC 4733 events, each key press once.
// It holds DigitBuffer digits; more are dropped (and logged) until it is read. It is never
// closed: select on Done as well. After OnDigit it receives nothing.
func (s *Session) Digits() <-chan rune { return s.digits }

// OnDigit hands each digit received from now on to f, on the goroutine that reads the session,
// instead of to Digits: a channel that buffers digits itself needs no goroutine per call to
// forward them. f must not block, nor call Close (it would wait for itself).
func (s *Session) OnDigit(f func(rune)) { s.onDigit.Store(&f) }

// Stats counts this session's packets and measures what it receives, as an RTCP receiver
// report would, and what the peer's RTCP reports say it receives of this session's stream.
type Stats struct {
	PacketsReceived uint64        // valid RTP packets received
	PacketsSent     uint64        // RTP packets sent
	PacketsExpected uint64        // received packets' sequence numbers span this many
	PacketsLost     uint64        // expected and never received (late ones count as received)
	SRTPRejected    uint64        // SRTP packets dropped: failed authentication or replayed
	SRTCPRejected   uint64        // SRTCP packets dropped likewise (plain RTCP included)
	Jitter          time.Duration // interarrival jitter of the received audio (RFC 3550 A.8)

	// From the peer's RTCP (RFC 3550 §6.4): zero until it reports.
	ReportsReceived    uint64        // SR and RR packets received
	RemoteReported     bool          // a report block about this session's stream arrived
	RemoteLost         uint64        // the peer's cumulative count of our packets lost
	RemoteFractionLost float64       // share of our packets lost in the peer's last interval, 0..1
	RemoteJitter       time.Duration // the peer's interarrival jitter of our stream
	RTT                time.Duration // round-trip time from LSR/DLSR (§6.4.1); 0 until measured
}

// LossRatio is the share of expected packets lost, 0 when nothing was expected.
func (st Stats) LossRatio() float64 {
	if st.PacketsExpected == 0 {
		return 0
	}
	return float64(st.PacketsLost) / float64(st.PacketsExpected)
}

// Stats returns this session's packet counts and receive quality.
func (s *Session) Stats() Stats {
	st := Stats{PacketsReceived: s.packetsIn.Load(), PacketsSent: s.packetsOut.Load(), SRTPRejected: s.srtpRejects.Load(), SRTCPRejected: s.srtcpRejects.Load(),
		Jitter: tsDuration(s.rxJitter.Load(), SampleRate)}
	st.PacketsExpected, st.PacketsLost = rxTotals(s.rxDone.Load(), s.rxCounts.Load())
	s.rtcp.mu.Lock()
	defer s.rtcp.mu.Unlock()
	st.ReportsReceived, st.RemoteReported = s.rtcp.reports, s.rtcp.remote
	st.RemoteLost, st.RemoteFractionLost, st.RemoteJitter = s.rtcp.remoteLost, s.rtcp.remoteFrac, s.rtcp.remoteJitter
	st.RTT = s.rtcp.rtt
	return st
}

// AddTap registers fn to receive every inbound audio packet, decoded to 8 kHz PCM (usually
// 160 samples), in arrival order, on the read goroutine: fn must be quick and must not keep
// pcm after returning. Once remove has returned, fn is not running and will not be called
// again; remove must not be called from inside fn.
func (s *Session) AddTap(fn func(pcm []int16)) (remove func()) {
	t := &tap{fn: fn}
	s.fanout.Lock()
	s.taps = append(s.taps[:len(s.taps):len(s.taps)], t)
	s.fanout.Unlock()
	return sync.OnceFunc(func() {
		s.fanout.Lock()
		defer s.fanout.Unlock()
		taps := make([]*tap, 0, len(s.taps))
		for _, x := range s.taps {
			if x != t {
				taps = append(taps, x)
			}
		}
		s.taps = taps
	})
}

// sessionCtx returns ctx, additionally cancelled when the session ends.
func (s *Session) sessionCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(ctx)
	stop := context.AfterFunc(s.ctx, func() { cancel(s.Err()) })
	return ctx, func() { stop(); cancel(nil) }
}

// interrupted returns the error for a Play or SendDigit that stopped early: the caller's
// context error, or else why the session ended.
func (s *Session) interrupted(parent context.Context) error {
	if err := parent.Err(); err != nil {
		return err
	}
	if err := s.Err(); err != nil {
		return err
	}
	return context.Canceled
}

func (s *Session) acquire(ctx context.Context) error {
	select {
	case s.producer <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-s.ctx.Done():
		return s.Err()
	}
}

func (s *Session) release() { <-s.producer }

// sendAudio sends one frame on the outgoing stream; now is the wall clock of its tick.
func (s *Session) sendAudio(frame []int16, first bool, now time.Time) {
	p := s.params.Load()
	if !p.codec.Supported() {
		return
	}
	o := &s.out
	o.mu.Lock()
	defer o.mu.Unlock()
	if first {
		o.skipIdleTime(now)
	}
	buf := o.packet(rtpHeaderLen + len(frame)) // G.711: a byte a sample
	if buf == nil {
		return
	}
	o.gen++
	ts := o.ts
	n := putHeader(buf, first, p.codec.PayloadType, o.seq, ts, o.ssrc)
	payload := p.codec.Encode(buf[n:n], frame)
	o.seq++
	o.ts += uint32(len(frame))
	o.lastSend, o.lastTS = now, ts
	if r := s.rec.Load(); r != nil {
		r.sent(o.ssrc, ts, frame)
	}
	s.write(p, buf[:n+len(payload)], n)
}

// errSendBufferFull is a packet dropped because the socket's send buffer was full (counted
// in packets_dropped_total, not logged: it comes in bursts).
var errSendBufferFull = errors.New("rtp: send buffer full; packet dropped")

// rtpHeaderLen is the length of the headers this package sends: no CSRC, no extension.
const rtpHeaderLen = 12

// putHeader writes an RTP header (RFC 3550 §5.1) into b and returns its length: in place,
// for the packet about to be sent.
func putHeader(b []byte, marker bool, pt uint8, seq uint16, ts, ssrc uint32) int {
	_ = b[rtpHeaderLen-1]
	b[0] = 2 << 6 // version 2, no padding, extension or CSRC
	b[1] = pt & 0x7F
	if marker {
		b[1] |= 0x80
	}
	binary.BigEndian.PutUint16(b[2:], seq)
	binary.BigEndian.PutUint32(b[4:], ts)
	binary.BigEndian.PutUint32(b[8:], ssrc)
	return rtpHeaderLen
}

// skipIdleTime advances the timestamp by the time nothing was sent, so the far end's
// jitter buffer sees the pause as the silence it was (RFC 3550 §5.1).
func (o *outStream) skipIdleTime(now time.Time) {
	if o.lastSend.IsZero() {
		return
	}
	if idle := now.Sub(o.lastSend) - FrameInterval; idle > 0 {
		frames := uint32(idle / FrameInterval)
		o.ts += frames * FrameSamples
	}
}

// write sends one RTP packet whose header is hdr bytes long, encrypted if SRTP is on. It is
// the one place RTP leaves the session, and runs with s.out.mu held.
func (s *Session) write(p *sessionParams, b []byte, hdr int) {
	if !p.canSend() {
		return
	}
	plainLen := len(b)
	if p.srtp != nil {
		var err error
		if b, err = s.protect(p.srtp, b); err != nil {
			s.log.Debug("SRTP encryption failed; packet not sent", "err", err)
			return
		}
	}
	if err := s.sendRTP(p, b); err != nil {
		if s.ctx.Err() == nil && !errors.Is(err, net.ErrClosed) && err != errSendBufferFull {
			s.log.Debug("RTP send failed", "remote", p.remote.String(), "err", err)
		}
		return
	}
	s.packetsOut.Add(1)
	s.octetsOut.Add(uint64(plainLen - hdr))
	metricPacketsSent.Inc()
}

// SendDigit sends one DTMF digit as RFC 4733 events lasting dur (see DTMFPackets for the
// limits; 0 means 100 ms), paced at 20 ms, and returns when its end has been sent. Audio
// Play waits meanwhile.
func (s *Session) SendDigit(ctx context.Context, d rune, dur time.Duration) error {
	pkts, err := DTMFPackets(d, 0, dur)
	if err != nil {
		return err
	}
	if _, pt := s.Codec(); pt == 0 {
		return ErrNoTelephoneEvent
	}
	if err := s.acquire(ctx); err != nil {
		return err
	}
	defer s.release()
	pctx, stop := s.sessionCtx(ctx)
	defer stop()
	p := NewPacer(s.clock, FrameInterval)
	defer p.Stop()

	o := &s.out
	o.mu.Lock()
	o.skipIdleTime(time.Now())
	start := o.ts
	o.mu.Unlock()
	frames := uint32(len(pkts) - 2)
	defer func() {
		o.mu.Lock()
		o.ts = start + frames*FrameSamples // audio resumes after the event (RFC 4733 §2.5.1.2)
		o.mu.Unlock()
	}()
	for _, pk := range pkts {
		if err := p.Wait(pctx); err != nil {
			return s.interrupted(ctx)
		}
		s.sendEvent(pk, start)
	}
	metricDTMFOut.Inc()
	return nil
}

func (s *Session) sendEvent(pk DTMFPacket, ts uint32) {
	p := s.params.Load()
	if p.dtmfPT == 0 {
		return
	}
	o := &s.out
	o.mu.Lock()
	defer o.mu.Unlock()
	o.gen++
	buf := o.packet(rtpHeaderLen + DTMFPayloadSize)
	n := putHeader(buf, pk.Marker, p.dtmfPT, o.seq, ts, o.ssrc)
	m, _ := pk.Event.MarshalTo(buf[n:])
	o.seq++
	o.lastSend, o.lastTS = time.Now(), ts+uint32(pk.Event.Duration)
	s.write(p, buf[:n+m], n)
}

// relayState is one direction of a bridge, owned by the source session's read goroutine.
type relayState struct {
	to       *Session
	anchored bool
	inSSRC   uint32
	gen      uint64
	offset   uint32 // added to inbound timestamps
}

// Relay forwards every RTP packet this session receives to the remote of to, as part of
// to's own outgoing stream: SSRC, sequence numbers and timestamps are rewritten so the far
// end sees one continuous stream (re-anchored when the source's SSRC changes or when to has
// played something meanwhile), audio is transcoded when the two legs use different G.711
// laws, and telephone-events go out with to's DTMF payload type (dropped if to has none).
// Digits and taps of this session keep working. Relay returns when ctx ends (ctx.Err())
// or either session ends (that session's Err()). Call it once per direction to bridge two
// legs; a session relays to one target at a time, and neither it nor to may be in a
// Conference (ErrRelayBusy). Once Relay has returned nothing more is forwarded, and the
// sessions can be relayed again, to each other (a bridge resumed after hold) or elsewhere
// (after a transfer).
func (s *Session) Relay(ctx context.Context, to *Session) error {
	if to == s {
		return ErrRelaySelf
	}
	r := &relayState{to: to}
	to.fanout.RLock()
	mixing := to.mix != nil
	to.fanout.RUnlock()
	s.fanout.Lock()
	if s.relay != nil || s.mix != nil || mixing {
		s.fanout.Unlock()
		return ErrRelayBusy
	}
	s.relay = r
	s.fanout.Unlock()
	defer func() {
		s.fanout.Lock()
		s.relay = nil
		s.fanout.Unlock()
	}()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-s.ctx.Done():
		return s.Err()
	case <-to.ctx.Done():
		return to.Err()
	}
}

// packetKind classifies an inbound packet by payload type.
type packetKind uint8

const (
	kindUnknown packetKind = iota
	kindAudio
	kindDTMF
)

// receiver is the state of the reading of one session's RTP (by the poller or the read
// goroutine).
type receiver struct {
	buf       []byte
	pkt       rtp.Packet
	pcm       []int16
	dtmf      DTMFDecoder
	ssrc      uint32
	haveSSRC  bool
	loggedPT  [2]uint64 // payload types already logged as unknown
	readFails int
	from      netip.AddrPort // source of the packet being handled (invalid: not known)
	learn     learner
	quality   quality
}

// learner tracks where the peer's RTP comes from (see Session).
type learner struct {
	gen      uint64         // sessionParams.remoteGen this state belongs to
	src      netip.AddrPort // the peer's known source; invalid while learning
	srcLast  int64          // UnixNano of its last packet
	cand     netip.AddrPort // an address sending packets in sequence
	candSeq  uint16
	candRun  int
	strayLog bool // a dropped stranger was logged
}

// admit decides whether a packet from `from` with sequence number seq is the peer's, and
// whether from has just become the peer's source.
func (l *learner) admit(p *sessionParams, from netip.AddrPort, seq uint16, now int64) (ok, learned bool) {
	if l.gen != p.remoteGen {
		*l = learner{gen: p.remoteGen}
	}
	switch {
	case l.src.IsValid() && from == l.src:
		l.srcLast = now
		return true, false
	case from == p.remote && !l.src.IsValid():
		l.src, l.srcLast = from, now // the SDP address speaks: nothing to learn
		return true, false
	}
	if from.Port() == 0 {
		return !l.src.IsValid(), false // source port 0: "no reply expected" (RFC 768), never learned
	}
	if from == l.cand && seq == l.candSeq+1 {
		l.candRun++
	} else {
		l.cand, l.candRun = from, 1
	}
	l.candSeq = seq
	if l.candRun < LearnPackets {
		return !l.src.IsValid(), false // accepted while learning, dropped once a source is known
	}
	if l.src.IsValid() && now-l.srcLast < int64(rebindSilence) {
		return false, false // the known source is alive: this is not a rebinding
	}
	l.src, l.srcLast, l.strayLog = from, now, false
	return true, true
}

func newReceiver() *receiver {
	return &receiver{buf: make([]byte, 1500)} // pcm grows on the first tapped packet
}

// armInactivity (re)starts the inactivity check of a polled session: a timer per call that
// fires when the timeout would end, not a deadline moved by every packet. d = 0 stops it.
func (s *Session) armInactivity(d time.Duration) {
	t := s.inactTimer.Load()
	if d <= 0 {
		if t != nil {
			t.Stop()
		}
		return
	}
	if t == nil {
		t = time.AfterFunc(d, s.checkInactive)
		if s.inactTimer.CompareAndSwap(nil, t) {
			return
		}
		t.Stop()
		t = s.inactTimer.Load()
	}
	t.Reset(d)
}

// checkInactive runs when the inactivity timeout may have passed: it ends the session if no
// RTP came since, or else waits for the new deadline.
func (s *Session) checkInactive() {
	d := time.Duration(s.inactivity.Load())
	if s.ctx.Err() != nil || d == 0 {
		return
	}
	deadline := time.Unix(0, s.lastRx.Load()).Add(d)
	if wait := time.Until(deadline); wait > 0 {
		s.inactTimer.Load().Reset(wait)
		return
	}
	s.end(ErrInactive)
}

// readLoop reads the RTP socket where no poller does (poller_linux.go).
func (s *Session) readLoop() {
	defer s.wg.Done()
	r := newReceiver()
	for {
		n, from, err := s.conn.ReadFromUDPAddrPort(r.buf)
		if err != nil {
			if s.readFailed(r, err) {
				return
			}
			continue
		}
		r.readFails = 0
		r.from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
		s.handlePacket(r, r.buf[:n])
	}
}

// readFailed handles a read error and reports whether the loop must stop.
func (s *Session) readFailed(r *receiver, err error) bool {
	if s.ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
		return true
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		d := time.Duration(s.inactivity.Load())
		if d == 0 {
			_ = s.conn.SetReadDeadline(time.Time{})
			return false
		}
		deadline := time.Unix(0, s.lastRx.Load()).Add(d)
		if !time.Now().Before(deadline) {
			s.end(ErrInactive)
			return true
		}
		_ = s.conn.SetReadDeadline(deadline)
		return false
	}
	r.readFails++
	if r.readFails >= 10 {
		s.end(fmt.Errorf("rtp: reading from socket: %w", err))
		return true
	}
	s.log.Debug("RTP read failed", "err", err)
	return false
}

// handlePacket processes one datagram: SRTP, DTMF, taps, relay or conference. It does not
// allocate (RTCP multiplexed on the RTP port is handed to handleRTCP, which may).
func (s *Session) handlePacket(r *receiver, b []byte) {
	if len(b) < 2 || b[0]>>6 != 2 {
		dropMalformed.Inc()
		return
	}
	if pt := b[1] & 0x7F; pt >= 72 && pt <= 76 { // RTCP multiplexed on the RTP port (RFC 5761 §4)
		s.handleRTCP(b, r.from, true, time.Now())
		return
	}
	if len(b) < 12 {
		dropMalformed.Inc()
		return
	}
	p := s.params.Load()
	if p.srtp != nil { // before anything reads the packet: a forgery must not be learned from
		var ok bool
		if b, ok = s.unprotect(r, p.srtp, b); !ok {
			return
		}
	}
	pkt := &r.pkt
	if err := pkt.Unmarshal(b); err != nil {
		dropMalformed.Inc()
		return
	}
	now := time.Now().UnixNano()
	if r.from.IsValid() {
		ok, learned := r.learn.admit(p, r.from, pkt.SequenceNumber, now)
		if !ok {
			dropStranger.Inc()
			if !r.learn.strayLog {
				r.learn.strayLog = true
				s.log.Warn("dropping RTP from an address other than the peer's", "from", r.from, "peer", r.learn.src)
			}
			return
		}
		if learned {
			p = s.learned(r.from)
		}
	}
	s.packetsIn.Add(1)
	metricPacketsReceived.Inc()
	s.lastRx.Store(now)
	if r.haveSSRC && pkt.SSRC != r.ssrc {
		r.dtmf.Reset() // a new source: its timestamps and sequence numbers start afresh
		r.quality.reset()
	}
	r.ssrc, r.haveSSRC = pkt.SSRC, true

	kind, codec := kindUnknown, Codec{}
	switch pt := pkt.PayloadType; {
	case p.dtmfPT != 0 && pt == p.dtmfPT:
		kind = kindDTMF
	case pt == p.codec.PayloadType && p.codec.Supported():
		kind, codec = kindAudio, p.codec
	case pt == PCMU.PayloadType:
		kind, codec = kindAudio, PCMU
	case pt == PCMA.PayloadType:
		kind, codec = kindAudio, PCMA
	}

	if kind != kindUnknown {
		q := &r.quality
		q.packet(pkt.SequenceNumber, pkt.Timestamp, kind == kindAudio, now, SampleRate)
		if q.doneChanged {
			q.doneChanged = false
			s.rxDone.Store(q.doneWord())
		}
		s.rxCounts.Store(q.countsWord())
		s.rxStream.Store(uint64(r.ssrc)<<32 | uint64(q.extendedMax()))
		s.rxJitter.Store(uint32(q.jitter))
	}

	switch kind {
	case kindDTMF:
		if d, ok := r.dtmf.FeedAt(s.clock.Now(), pkt.SequenceNumber, pkt.Timestamp, pkt.Marker, pkt.Payload); ok {
			metricDTMFIn.Inc()
			if f := s.onDigit.Load(); f != nil {
				(*f)(d)
				break
			}
			select {
			case s.digits <- d:
			default:
				s.log.Warn("DTMF digit dropped: Digits() not read", "digit", string(d))
			}
		}
	case kindUnknown:
		dropUnknownPT.Inc()
		if bit := uint64(1) << (pkt.PayloadType % 64); r.loggedPT[pkt.PayloadType/64]&bit == 0 {
			r.loggedPT[pkt.PayloadType/64] |= bit
			s.log.Debug("ignoring RTP with unexpected payload type", "pt", pkt.PayloadType)
		}
		return
	}

	s.fanout.RLock()
	defer s.fanout.RUnlock()
	rec := s.rec.Load()
	if kind == kindAudio && (len(s.taps) > 0 || s.mix != nil || rec != nil) {
		r.pcm = codec.Decode(r.pcm[:0], pkt.Payload)
		for _, t := range s.taps {
			t.fn(r.pcm)
		}
		if s.mix != nil {
			s.mix.push(pkt.SSRC, pkt.Timestamp, r.pcm)
		}
		if rec != nil {
			rec.received(pkt.SSRC, pkt.Timestamp, r.pcm)
		}
	}
	if s.relay != nil {
		s.forward(s.relay, pkt, kind, codec)
	}
}

// learned is called by the read loop when from has become the peer's source; with symmetric
// RTP, and unless the call is on hold, the session sends there from now on.
func (s *Session) learned(from netip.AddrPort) *sessionParams {
	p := s.params.Load()
	if !s.symmetric || from == p.remote || !p.canSend() {
		s.log.Debug("RTP source learned", "from", from, "sdp", p.remote)
		return p
	}
	s.paramsMu.Lock()
	defer s.paramsMu.Unlock()
	q := *s.params.Load()
	if q.remoteGen != p.remoteGen {
		return s.params.Load() // a re-INVITE moved the remote meanwhile: learn that one
	}
	s.log.Info("RTP latched: sending to where the peer's RTP comes from", "from", from, "sdp", q.remote)
	metricLatched.Inc()
	q.remote, q.latched = from, true
	q.sa = s.sockaddrFor(from)
	s.params.Store(&q)
	return &q
}

// forward sends pkt on rs.to's outgoing stream.
func (s *Session) forward(rs *relayState, pkt *rtp.Packet, kind packetKind, from Codec) {
	to := rs.to
	tp := to.params.Load()
	var pt uint8
	switch kind {
	case kindAudio:
		if !tp.codec.Supported() {
			return
		}
		pt = tp.codec.PayloadType
	case kindDTMF:
		if tp.dtmfPT == 0 {
			return
		}
		pt = tp.dtmfPT
	}
	o := &to.out
	o.mu.Lock()
	defer o.mu.Unlock()
	now := time.Now()
	marker := pkt.Marker
	if !rs.anchored || pkt.SSRC != rs.inSSRC || o.gen != rs.gen {
		// Continue to's stream from where it is: one timestamp line, one SSRC.
		o.skipIdleTime(now)
		rs.offset = o.ts - pkt.Timestamp
		rs.inSSRC, rs.gen, rs.anchored = pkt.SSRC, o.gen, true
		marker = marker || kind == kindAudio
	}
	ts := pkt.Timestamp + rs.offset
	buf := o.packet(rtpHeaderLen + len(pkt.Payload)) // G.711 to G.711: the same length
	if buf == nil {
		return
	}
	n := putHeader(buf, marker, pt, o.seq, ts, o.ssrc)
	var payload []byte
	end := ts
	if kind == kindAudio {
		payload = transcodeAppend(buf[n:n], from, tp.codec, pkt.Payload)
		end = ts + uint32(len(payload))
		if r := to.rec.Load(); r != nil {
			r.sentPayload(o.ssrc, ts, tp.codec, payload)
		}
	} else {
		payload = append(buf[n:n], pkt.Payload...)
		if ev, err := ParseDTMFEvent(pkt.Payload); err == nil {
			end = ts + uint32(ev.Duration)
		}
	}
	o.seq++
	if int32(end-o.ts) > 0 {
		o.ts = end
	}
	o.lastSend, o.lastTS = now, ts
	to.write(tp, buf[:n+len(payload)], n)
}
