package callgen

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"syscall"
	"time"

	"github.com/hotline-cc/hotline/audio"
	"github.com/hotline-cc/hotline/sip/media"
)

type callState uint8

const (
	stIdle       callState = iota
	stInviting             // INVITE sent, nothing heard: Timer A runs
	stProceeding           // a 1xx came
	stAnswered             // 200 ACKed; media flows
	stHangingUp            // BYE sent: Timer E runs
	stDone
)

type call struct {
	state      callState
	live       bool  // counted in the live calls (answered, not yet hung up)
	slot, pos  int32 // where in slots it is while live
	rtp, rtcp  int   // socket fds, -1 when closed
	port       int
	invitedAt  int64 // wall ns: the first INVITE
	answeredAt int64 // wall ns: kernel receive time of the 200
	firstRx    int64 // wall ns: kernel receive time of hotline's first RTP packet
	retransIv  time.Duration
	txn        uint32        // the client transaction being retransmitted: 1 INVITE, 2 BYE
	deadline   time.Duration // mono: Timer B/F, or IVR's wait for hotline's BYE
	to, target []byte        // from the 200: To with its tag, the Contact URI
	seq        uint16
	ts, ssrc   uint32
	digitAt    time.Duration // mono: when the IVR digit goes, 0 = not yet due
	dtmf       int           // DTMF packets sent
	dtmfTS     uint32
	rx         Stream
	packets    uint64 // RTP received
	lastRx     int64  // wall ns: kernel receive time of the latest RTP packet
	dropped    uint32 // by the RTP socket's full buffer (SO_RXQ_OVFL)
	failure    string
	hungUpBy   string
}

type timerKind uint8

const (
	tRetransmit timerKind = iota // Timer A (INVITE) or E (BYE)
	tDeadline                    // Timer B/F, or the IVR's hangup wait
	tHoldEnd                     // Streams: hang up
)

type timer struct {
	at   time.Duration // mono
	call int32
	kind timerKind
	gen  uint32 // tRetransmit: the transaction it is for (call.txn)
}

// timers is a binary min-heap by at: typed, so a push allocates nothing once grown.
type timers []timer

func (h *timers) push(t timer) {
	*h = append(*h, t)
	s := *h
	for i := len(s) - 1; i > 0; {
		p := (i - 1) / 2
		if s[p].at <= s[i].at {
			break
		}
		s[p], s[i] = s[i], s[p]
		i = p
	}
}

func (h *timers) pop() timer {
	s := *h
	t := s[0]
	n := len(s) - 1
	s[0] = s[n]
	s = s[:n]
	for i := 0; ; {
		l, m := 2*i+1, i
		if l < n && s[l].at < s[m].at {
			m = l
		}
		if r := l + 1; r < n && s[r].at < s[m].at {
			m = r
		}
		if m == i {
			break
		}
		s[i], s[m] = s[m], s[i]
		i = m
	}
	*h = s
	return t
}

// engine runs every call of a run on one goroutine: an epoll loop over the SIP socket and
// every call's RTP socket, woken for the next call start, timer or 20 ms send tick.
type engine struct {
	cfg    Config
	d      dialogs
	start  time.Time
	epfd   int
	sip    int
	calls  []call
	byFD   []int32 // fd -> call number + 1
	timers timers
	// slots are the answered calls by the millisecond of each 20 ms in which they send their
	// frame: a call's phase is its answer's, so the frames of a run are spread out in time as
	// real phones' are, not sent in one burst every 20 ms.
	slots  [frameSlots][]int32
	live   int
	tickNo int64 // 1 ms ticks since the start
	ports  []int // free RTP ports, FIFO: a port is reused as late as possible
	rx     *receiver
	out    []byte // a message or packet being built
	vias   [][]byte
	tone   []byte // one 20 ms PCMU frame
	digits []media.DTMFPacket
	rep    Report
	done   int
}

// Run places cfg's calls and returns what it measured. It blocks until every call has
// ended, or ctx is done: then the calls up are sent a BYE, counted as failed, and the report
// comes with ctx's error. It keeps the calling goroutine busy throughout.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	e, err := newEngine(cfg)
	if err != nil {
		return nil, err
	}
	defer e.close()
	return e.run(ctx)
}

func newEngine(cfg Config) (*engine, error) {
	e := &engine{cfg: cfg, sip: -1, calls: make([]call, cfg.Calls), rx: newReceiver(65536)}
	for i := range e.calls {
		e.calls[i].rtp, e.calls[i].rtcp = -1, -1
	}
	for p := cfg.RTPPortMin; p <= cfg.RTPPortMax; p += 2 {
		e.ports = append(e.ports, p)
	}
	// 400 Hz: 20 samples a period, so every 160-sample frame is the same and is encoded once.
	e.tone = audio.ULawEncodeAppend(nil, audio.Tone(400, 8000, 8000, media.FrameSamples))
	// 80 ms: three packets and the end packet three times (RFC 4733 §2.5.1.4).
	digits, err := media.DTMFPackets(cfg.Digit, 0, 80*time.Millisecond)
	if err != nil {
		return nil, fmt.Errorf("callgen: digit %q: %w", cfg.Digit, err)
	}
	e.digits = digits
	e.rep = Report{Mode: cfg.Mode, Calls: cfg.Calls, Failures: map[string]int{},
		Setup: NewHistogram(100*time.Microsecond, 40*time.Second), RX: NewReception(),
		Per: make([]CallTiming, cfg.Calls)}
	if e.epfd, err = syscall.EpollCreate1(syscall.EPOLL_CLOEXEC); err != nil {
		return nil, fmt.Errorf("callgen: epoll: %w", err)
	}
	// Opened first: the first socket asking for kernel timestamps turns them on from deferred
	// work (net_enable_timestamp), done long before the first RTP packet comes.
	if e.sip, err = openUDP(cfg.Local, cfg.SIPPort); err != nil {
		e.close()
		return nil, err
	}
	// Connected: writes need no address, and only hotline's datagrams are read.
	if err := syscall.Connect(e.sip, sockaddr(cfg.Server)); err != nil {
		e.close()
		return nil, fmt.Errorf("callgen: connect the SIP socket to %s: %w", cfg.Server, err)
	}
	if err := e.watch(e.sip, -1); err != nil {
		e.close()
		return nil, err
	}
	local := netip.AddrPortFrom(cfg.Local, uint16(localPort(e.sip)))
	e.d = dialogs{local: local.String(), localIP: cfg.Local.String(), server: cfg.Server.String(),
		service: cfg.Service, caller: cfg.Caller, run: strconv.FormatInt(time.Now().UnixNano()%1e9, 36)}
	return e, nil
}

func (e *engine) close() {
	for i := range e.calls {
		e.closeMedia(&e.calls[i])
	}
	if e.sip >= 0 {
		syscall.Close(e.sip)
	}
	if e.epfd > 0 {
		syscall.Close(e.epfd)
	}
}

func (e *engine) watch(fd int, callNum int) error {
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(fd)}
	if err := syscall.EpollCtl(e.epfd, syscall.EPOLL_CTL_ADD, fd, &ev); err != nil {
		return fmt.Errorf("callgen: epoll add: %w", err)
	}
	for len(e.byFD) <= fd {
		e.byFD = append(e.byFD, 0)
	}
	e.byFD[fd] = int32(callNum + 1)
	return nil
}

func (e *engine) mono() time.Duration { return time.Since(e.start) }

func (e *engine) run(ctx context.Context) (*Report, error) {
	var ru0 syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	e.start = time.Now()
	pid := e.cfg.ServerPID
	if pid != 0 {
		e.rep.RSSBase = procRSS(pid)
	}
	busy0, srv0 := machineBusy(), procCPU(pid)
	events := make([]syscall.EpollEvent, 4096)
	started := 0
	interval := time.Duration(float64(time.Second) / e.cfg.Rate)
	const pollRound = time.Millisecond
	nextTick, nextRSS, roundStart := slotTick, time.Duration(0), time.Duration(0)
	for e.done < len(e.calls) {
		if ctx.Err() != nil {
			e.abort(started)
			break
		}
		now := e.mono()
		for started < len(e.calls) && time.Duration(started)*interval <= now {
			e.startCall(started, now)
			started++
		}
		for len(e.timers) > 0 && e.timers[0].at <= now {
			e.fire(e.timers.pop(), now)
		}
		if now >= nextTick {
			e.rep.TickLateMax = max(e.rep.TickLateMax, now-nextTick)
			// A late loop sends the slots it missed, up to one frame per call: a phone whose
			// thread was late sends late, it does not send two frames at once.
			for k := 0; k < frameSlots && nextTick <= now; k++ {
				e.tick(now)
				nextTick += slotTick
			}
			for nextTick <= now { // more than a frame late: these slots skip a frame
				e.rep.FramesSkipped += uint64(len(e.slots[e.tickNo%frameSlots]))
				nextTick += slotTick
				e.tickNo++
			}
		}
		if now >= nextRSS {
			if pid != 0 {
				e.rep.RSSPeak = max(e.rep.RSSPeak, procRSS(pid))
			}
			e.rep.PeakStreaming = max(e.rep.PeakStreaming, e.streaming(100*time.Millisecond))
			nextRSS = now + 100*time.Millisecond
		}
		wake := nextTick
		if started < len(e.calls) {
			wake = min(wake, time.Duration(started)*interval)
		}
		if len(e.timers) > 0 {
			wake = min(wake, e.timers[0].at)
		}
		// Rounds at most every pollRound: the kernel stamps each datagram as it arrives, so
		// reading it up to a round late changes no figure, and one wake-up serves hundreds of
		// sockets instead of one.
		now = e.mono()
		e.rep.RoundMax = max(e.rep.RoundMax, now-roundStart)
		if rest := roundStart + pollRound - now; rest > 0 && wake > now {
			ts := syscall.NsecToTimespec(int64(min(rest, wake-now)))
			_ = syscall.Nanosleep(&ts, nil)
			now = e.mono()
		}
		wait := max(int((wake-now+time.Millisecond-1)/time.Millisecond), 0)
		n, err := syscall.EpollWait(e.epfd, events, wait)
		roundStart = e.mono()
		if n == 0 { // woken by the timeout: anything beyond its millisecond rounding was the kernel's
			e.rep.WakeLateMax = max(e.rep.WakeLateMax, roundStart-wake-time.Millisecond)
		}
		if err != nil && !errors.Is(err, syscall.EINTR) {
			return nil, fmt.Errorf("callgen: epoll wait: %w", err)
		}
		for _, ev := range events[:max(n, 0)] {
			if int(ev.Fd) == e.sip {
				e.readSIP()
			} else {
				e.readRTP(int(ev.Fd))
			}
		}
	}
	e.rep.Elapsed = time.Since(e.start)
	var ru1 syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	e.rep.CPU = time.Duration(ru1.Utime.Nano() + ru1.Stime.Nano() - ru0.Utime.Nano() - ru0.Stime.Nano())
	if pid != 0 {
		e.rep.ServerCPU = procCPU(pid) - srv0
	}
	e.rep.OtherCPU = max(machineBusy()-busy0-e.rep.CPU-e.rep.ServerCPU, 0)
	for i := range e.calls {
		c := &e.calls[i]
		p := &e.rep.Per[i]
		p.Answered, p.HungUpBy, p.Result = c.answeredAt != 0, c.hungUpBy, c.failure
		if p.Result == "" {
			p.Result = "ok"
		}
		if c.answeredAt != 0 {
			p.Setup = time.Duration(c.answeredAt - c.invitedAt)
		}
		if c.firstRx != 0 && c.answeredAt != 0 {
			p.FirstRTP = time.Duration(c.firstRx - c.answeredAt)
		}
		p.DigitSent, p.Packets = c.dtmf == len(e.digits), c.packets
	}
	return &e.rep, ctx.Err()
}

// streaming counts the answered calls that received RTP within the last window: the
// streams hotline is really sending, not the calls merely up.
func (e *engine) streaming(window time.Duration) int {
	since := time.Now().UnixNano() - int64(window)
	n := 0
	for _, slot := range e.slots {
		for _, a := range slot {
			if e.calls[a].lastRx >= since {
				n++
			}
		}
	}
	return n
}

// abort ends a cancelled run: calls not yet placed are not counted, calls up get one BYE
// (not retransmitted) and every call not over is failed.
func (e *engine) abort(started int) {
	e.rep.Calls = started
	e.calls = e.calls[:started]
	e.rep.Per = e.rep.Per[:started]
	for i := range e.calls {
		c := &e.calls[i]
		if c.state == stAnswered {
			e.out = e.d.appendBye(e.out[:0], i, c.to, c.target)
			e.sendSIP(e.out)
		}
		if c.state != stDone {
			e.fail(i, "run interrupted")
		}
	}
}

func (e *engine) startCall(i int, now time.Duration) {
	c := &e.calls[i]
	if err := e.openMedia(i); err != nil {
		c.invitedAt = time.Now().UnixNano()
		e.fail(i, "no RTP socket: "+err.Error())
		return
	}
	c.state, c.retransIv, c.txn = stInviting, timerT1, 1
	c.ssrc = uint32(i)*2654435761 + 1 // distinct per call
	c.rx = NewStream(e.rep.RX, e.cfg.Mode == IVR)
	c.invitedAt = time.Now().UnixNano()
	e.sendINVITE(i)
	e.timers.push(timer{at: now + timerT1, call: int32(i), kind: tRetransmit, gen: c.txn})
	e.setDeadline(i, now+timerB)
}

func (e *engine) setDeadline(i int, at time.Duration) {
	e.calls[i].deadline = at
	e.timers.push(timer{at: at, call: int32(i), kind: tDeadline})
}

// openMedia binds call i's RTP and RTCP sockets on the next free port pair that binds.
func (e *engine) openMedia(i int) error {
	c := &e.calls[i]
	var err error
	for range len(e.ports) {
		if len(e.ports) == 0 {
			break
		}
		port := e.ports[0]
		e.ports = e.ports[1:]
		if c.rtp, err = openUDP(e.cfg.Local, port); err != nil {
			e.ports = append(e.ports, port) // in use by someone else: try it again later
			continue
		}
		if c.rtcp, err = openUDP(e.cfg.Local, port+1); err != nil {
			syscall.Close(c.rtp)
			c.rtp = -1
			e.ports = append(e.ports, port)
			continue
		}
		c.port = port
		return e.watch(c.rtp, i)
	}
	if err == nil {
		err = errors.New("all ports in use")
	}
	return err
}

func (e *engine) closeMedia(c *call) {
	e.rep.SocketDrops += uint64(c.dropped)
	c.dropped = 0
	if c.rtp >= 0 {
		syscall.Close(c.rtp) // closing removes it from the epoll set
		e.byFD[c.rtp] = 0
		syscall.Close(c.rtcp)
		c.rtp, c.rtcp = -1, -1
		e.ports = append(e.ports, c.port)
	}
}

func (e *engine) sendSIP(b []byte) {
	if send(e.sip, b) != 0 {
		e.rep.SIPSendErrors++ // a lost datagram: the retransmission timers cover it, as on a network
	}
}

func (e *engine) sendINVITE(i int) {
	e.out = e.d.appendInvite(e.out[:0], i, e.calls[i].port)
	e.sendSIP(e.out)
}

func (e *engine) sendBYE(i int, now time.Duration) {
	c := &e.calls[i]
	e.leaveLive(i)
	e.closeMedia(c)
	c.rx.Finish()
	if c.hungUpBy == "" {
		c.hungUpBy = "callgen"
	}
	c.state, c.retransIv, c.txn = stHangingUp, timerT1, 2
	e.out = e.d.appendBye(e.out[:0], i, c.to, c.target)
	e.sendSIP(e.out)
	e.timers.push(timer{at: now + timerT1, call: int32(i), kind: tRetransmit, gen: c.txn})
	e.setDeadline(i, now+timerB)
}

func (e *engine) fire(t timer, now time.Duration) {
	i := int(t.call)
	c := &e.calls[i]
	switch t.kind {
	case tRetransmit:
		if t.gen != c.txn {
			return // the INVITE's Timer A, outlived by a quick BYE
		}
		switch c.state {
		case stInviting: // Timer A doubles without bound until Timer B (RFC 3261 §17.1.1.2)
			e.sendINVITE(i)
		case stHangingUp: // Timer E doubles up to T2 (§17.1.2.2)
			e.out = e.d.appendBye(e.out[:0], i, c.to, c.target)
			e.sendSIP(e.out)
		default:
			return
		}
		e.rep.Retransmissions++
		if c.state == stInviting {
			c.retransIv *= 2
		} else {
			c.retransIv = min(2*c.retransIv, timerT2)
		}
		e.timers.push(timer{at: now + c.retransIv, call: t.call, kind: tRetransmit, gen: c.txn})
	case tDeadline:
		if t.at != c.deadline {
			return // superseded
		}
		switch c.state {
		case stInviting, stProceeding:
			e.fail(i, "INVITE timed out")
		case stAnswered:
			e.failReason(i, "hotline did not hang up")
			e.sendBYE(i, now)
		case stHangingUp:
			e.fail(i, "BYE timed out")
		}
	case tHoldEnd:
		if c.state == stAnswered {
			e.sendBYE(i, now)
		}
	}
}

// failReason records why call i failed (the first reason counts) without ending it.
func (e *engine) failReason(i int, reason string) {
	if e.calls[i].failure == "" {
		e.calls[i].failure = reason
	}
}

func (e *engine) fail(i int, reason string) {
	e.failReason(i, reason)
	e.finish(i)
}

// finish ends call i: its media is closed and its outcome counted, once.
func (e *engine) finish(i int) {
	c := &e.calls[i]
	if c.state == stDone {
		return
	}
	e.leaveLive(i)
	e.closeMedia(c)
	c.rx.Finish()
	c.state = stDone
	e.done++
	if c.failure == "" {
		e.rep.OK++
	} else {
		e.rep.Failures[c.failure]++
	}
	if c.dtmf == len(e.digits) {
		e.rep.DigitsSent++
	}
}

func (e *engine) leaveLive(i int) {
	c := &e.calls[i]
	if !c.live {
		return
	}
	c.live = false
	e.live--
	slot := e.slots[c.slot] // swap-remove: the order of sending within a slot does not matter
	last := slot[len(slot)-1]
	slot[c.pos] = last
	e.calls[last].pos = c.pos
	e.slots[c.slot] = slot[:len(slot)-1]
}

func (e *engine) readSIP() {
	for {
		b, ctl, errno := e.rx.recv(e.sip)
		if errno != 0 {
			return // EAGAIN; or ECONNREFUSED from an ICMP error, which retransmissions cover
		}
		at := ctl.At
		if at == 0 {
			at = time.Now().UnixNano()
		}
		m, err := Parse(b, e.vias)
		if err != nil {
			continue
		}
		e.vias = m.Vias
		i, ok := e.d.callIndex(m.CallID)
		if !ok || i >= len(e.calls) {
			if m.Method != nil && !bytes.Equal(m.Method, []byte("ACK")) {
				e.out = appendReply(e.out[:0], &m, 481, "Call/Transaction Does Not Exist")
				e.sendSIP(e.out)
			}
			continue
		}
		if m.Method != nil {
			e.onRequest(i, &m)
		} else if bytes.Equal(m.CSeqOf, []byte("INVITE")) {
			e.onInviteResponse(i, &m, at)
		} else if bytes.Equal(m.CSeqOf, []byte("BYE")) {
			e.onByeResponse(i, &m)
		}
	}
}

func (e *engine) onInviteResponse(i int, m *Message, at int64) {
	c := &e.calls[i]
	now := e.mono()
	switch {
	case m.Status < 200:
		if c.state == stInviting {
			c.state = stProceeding
		}
	case c.state != stInviting && c.state != stProceeding:
		if m.Status < 300 && c.to != nil { // a 200 again: our ACK was lost
			e.out = e.d.appendAck(e.out[:0], i, c.to, c.target, true)
			e.sendSIP(e.out)
		}
	case m.Status >= 300:
		e.out = e.d.appendAck(e.out[:0], i, m.To, nil, false)
		e.sendSIP(e.out)
		e.fail(i, "INVITE "+strconv.Itoa(m.Status))
	default:
		e.answer(i, m, at, now)
	}
}

func (e *engine) answer(i int, m *Message, at int64, now time.Duration) {
	c := &e.calls[i]
	c.answeredAt = at
	e.rep.Answered++
	e.rep.Setup.Add(at - c.invitedAt)
	c.to = bytes.Clone(m.To)
	if c.target = bytes.Clone(URI(m.Contact)); len(c.target) == 0 {
		c.target = e.d.appendInviteURI(nil)
	}
	e.out = e.d.appendAck(e.out[:0], i, c.to, c.target, true)
	e.sendSIP(e.out)
	c.state = stAnswered
	sdp, err := media.ParseSDP(m.Body)
	if err == nil && !sdp.Remote.Addr().Is4() {
		err = fmt.Errorf("RTP address %s is not IPv4", sdp.Remote)
	}
	if err == nil {
		err = syscall.Connect(c.rtp, sockaddr(sdp.Remote))
	}
	if err != nil {
		e.failReason(i, "answer SDP unusable")
		e.sendBYE(i, now)
		return
	}
	c.live = true
	c.slot = int32(e.tickNo % frameSlots)
	c.pos = int32(len(e.slots[c.slot]))
	e.slots[c.slot] = append(e.slots[c.slot], int32(i))
	e.live++
	e.rep.PeakLive = max(e.rep.PeakLive, e.live)
	if e.cfg.Mode == Streams {
		c.deadline = 0 // the answer ends Timer B; the hold ends the call
		e.timers.push(timer{at: now + e.cfg.Hold, call: int32(i), kind: tHoldEnd})
	} else {
		e.setDeadline(i, now+e.cfg.HangupWait)
	}
}

func (e *engine) onByeResponse(i int, m *Message) {
	if e.calls[i].state != stHangingUp || m.Status < 200 {
		return
	}
	if m.Status >= 300 {
		e.failReason(i, "BYE "+strconv.Itoa(m.Status))
	}
	e.finish(i)
}

func (e *engine) onRequest(i int, m *Message) {
	c := &e.calls[i]
	switch string(m.Method) {
	case "ACK":
		return
	case "BYE":
		e.out = appendReply(e.out[:0], m, 200, "OK")
		e.sendSIP(e.out)
		if c.state == stDone {
			return // a retransmission: answered again
		}
		if c.hungUpBy == "" {
			c.hungUpBy = "hotline"
		}
		switch {
		case c.state != stAnswered && c.state != stHangingUp:
			e.failReason(i, "BYE before the answer")
		case e.cfg.Mode == Streams && c.state == stAnswered:
			e.failReason(i, "hotline hung up during the hold")
		case e.cfg.Mode == IVR && c.dtmf < len(e.digits): // (the digit waits for the prompt's audio)
			e.failReason(i, "hotline hung up before the digit")
		}
		e.finish(i)
	case "INVITE":
		e.out = appendReply(e.out[:0], m, 488, "Not Acceptable Here") // callgen keeps its one offer
		e.sendSIP(e.out)
	default:
		e.out = appendReply(e.out[:0], m, 200, "OK")
		e.sendSIP(e.out)
	}
}

func (e *engine) readRTP(fd int) {
	if fd >= len(e.byFD) || e.byFD[fd] == 0 {
		return
	}
	c := &e.calls[e.byFD[fd]-1]
	// One read, not until EAGAIN: a stream brings one packet a round, and the failing read
	// would double the system calls. Epoll is level-triggered: a second packet waits a round.
	b, ctl, errno := e.rx.recv(fd)
	if errno != 0 {
		return
	}
	if ctl.HasDrop {
		c.dropped = ctl.Drops
	}
	if len(b) < 12 || b[0]>>6 != 2 || b[1]&0x7f != 0 { // RTP v2, PCMU: the audio offered
		return
	}
	at := ctl.At
	if at == 0 {
		at = time.Now().UnixNano()
	}
	if c.firstRx == 0 {
		c.firstRx = at
		if e.cfg.Mode == IVR {
			c.digitAt = e.mono() + e.cfg.DigitAfter
		}
	}
	seq := uint16(b[2])<<8 | uint16(b[3])
	ts := uint32(b[4])<<24 | uint32(b[5])<<16 | uint32(b[6])<<8 | uint32(b[7])
	ssrc := uint32(b[8])<<24 | uint32(b[9])<<16 | uint32(b[10])<<8 | uint32(b[11])
	c.rx.Add(ssrc, seq, ts, b[1]&0x80 != 0, at)
	c.packets++
	c.lastRx = at
}

// One frame of audio is 20 ms; the shared ticker runs every millisecond and serves one
// slot of calls each time.
const (
	frameSlots = 20
	slotTick   = time.Millisecond
)

// tick sends the calls of this millisecond's slot their next 20 ms frame: the tone, or a
// packet of the digit once it is due (the event's packets replace the audio, RFC 4733 §2.5).
func (e *engine) tick(now time.Duration) {
	slot := e.slots[e.tickNo%frameSlots]
	e.tickNo++
	for _, a := range slot {
		c := &e.calls[a]
		first := c.seq == 0 && c.ts == 0
		var pkt []byte
		switch {
		case c.digitAt != 0 && now >= c.digitAt && c.dtmf < len(e.digits):
			if c.dtmf == 0 {
				c.dtmfTS = c.ts
			}
			d := e.digits[c.dtmf]
			pkt = e.rtpHeader(c, d.Marker, 101, c.dtmfTS)
			var ev [media.DTMFPayloadSize]byte
			_, _ = d.Event.MarshalTo(ev[:])
			pkt = append(pkt, ev[:]...)
			c.dtmf++
		case !e.cfg.Silent:
			pkt = append(e.rtpHeader(c, first, 0, c.ts), e.tone...)
		}
		c.ts += media.FrameSamples
		if pkt == nil {
			continue
		}
		c.seq++
		e.rep.RTPSent++
		if send(c.rtp, pkt) != 0 {
			e.rep.RTPSendErrors++
		}
	}
}

func (e *engine) rtpHeader(c *call, marker bool, pt byte, ts uint32) []byte {
	b := e.out[:0]
	b1 := pt
	if marker {
		b1 |= 0x80
	}
	b = append(b, 0x80, b1, byte(c.seq>>8), byte(c.seq),
		byte(ts>>24), byte(ts>>16), byte(ts>>8), byte(ts),
		byte(c.ssrc>>24), byte(c.ssrc>>16), byte(c.ssrc>>8), byte(c.ssrc))
	e.out = b
	return b
}
