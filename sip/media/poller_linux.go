//go:build linux && (amd64 || arm64)

package media

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"runtime"
	"sync"
	"syscall"
	"unsafe"
)

// The RTP receive poller: one goroutine per core reads every session's RTP socket, instead
// of a goroutine per session blocked on its own. A goroutine's stack and its wake-ups per
// packet were most of what a streaming call cost; here the sockets sit in an epoll
// instance, the poller reads whichever are ready with recvmmsg into buffers of its own (one
// batch per poller, not a buffer per session: a session's packet is handled before the next
// is read) and hands each packet to the session's handlePacket, as the read goroutine did.
//
// The epoll instance is itself waited on through the Go netpoller (an epoll fd is pollable):
// the poller goroutine parks like any reader when nothing is ready, rather than blocking a
// thread in epoll_wait, which with GOMAXPROCS=1 would stall every other goroutine until the
// runtime took the P back.
//
// Sockets are registered level-triggered: each turn reads at most pollBatch datagrams from a
// ready socket and moves on, and the kernel reports a socket with more waiting again at the
// next epoll_wait. So a flooded session is read no faster than pollBatch per turn while the
// others keep theirs, without a ready list of our own; edge-triggered would need every
// socket drained to EAGAIN (one flood starves the rest) or re-armed by hand. recvmmsg reads
// what is queued, up to pollBatch, in one call, and a socket with one packet costs one call,
// not a second one to learn it is empty.
//
// An event names its session by slot and generation, not by fd: a session closed while its
// event is in a batch already fetched, and its fd number reused by a new socket, is not
// handed the new socket's packets (nor the new session the old one's event).

const (
	pollBatch  = 8   // datagrams read from one socket per turn
	pollEvents = 128 // events taken per epoll_wait
	wakeSlot   = -1  // the event data of the wake pipe
)

// rtpPoller is one epoll instance and the goroutine that serves it.
type rtpPoller struct {
	epfd   int
	file   *os.File // epfd, for the Go netpoller to wait on
	raw    syscall.RawConn
	wakeR  int // a pipe in the epoll set, written to wake the goroutine (the last session left)
	wakeW  int
	pollFn func(fd uintptr) bool

	mu      sync.Mutex
	regs    []*pollReg // by slot; nil where free
	genOf   []uint32   // by slot: the generation of its latest registration
	free    []int32
	live    int  // sessions registered
	running bool // the goroutine runs (it exits when live is 0)

	// Used only by the poller's goroutine.
	events [pollEvents]syscall.EpollEvent
	hdrs   [pollBatch]mmsghdr
	iovs   [pollBatch]syscall.Iovec
	names  [pollBatch]syscall.RawSockaddrInet6
	bufs   [pollBatch][1500]byte
}

// mmsghdr is struct mmsghdr (recvmmsg(2)) on 64-bit Linux.
type mmsghdr struct {
	hdr syscall.Msghdr
	n   uint32
	_   [4]byte
}

// pollReg is one session's registration.
type pollReg struct {
	// mu is held by the poller while it handles the session's packets; remove takes it, so
	// once remove has returned the poller is done with the session and its fd.
	mu     sync.Mutex
	closed bool // removed: events still in a fetched batch are ignored
	s      *Session
	r      *receiver
	fd     int
	slot   int32
	gen    uint32
	p      *rtpPoller
	failed bool // a read error ended the session; the socket is out of the epoll set
}

// rtpPollers are the process's pollers, one per core; nil if epoll could not be set up
// (sessions then read with a goroutine each).
var rtpPollers = sync.OnceValue(func() []*rtpPoller {
	ps := make([]*rtpPoller, runtime.GOMAXPROCS(0))
	for i := range ps {
		p, err := newRTPPoller()
		if err != nil {
			fmt.Fprintf(os.Stderr, "media: RTP poller: %v; reading with a goroutine per session\n", err)
			return nil
		}
		ps[i] = p
	}
	return ps
})

func newRTPPoller() (*rtpPoller, error) {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("epoll_create1: %w", err)
	}
	var pipe [2]int
	if err := syscall.Pipe2(pipe[:], syscall.O_NONBLOCK|syscall.O_CLOEXEC); err != nil {
		syscall.Close(epfd)
		return nil, fmt.Errorf("pipe2: %w", err)
	}
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: wakeSlot}
	if err := syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, pipe[0], &ev); err != nil {
		syscall.Close(epfd)
		syscall.Close(pipe[0])
		syscall.Close(pipe[1])
		return nil, fmt.Errorf("epoll_ctl add wake pipe: %w", err)
	}
	// Non-blocking, so os.NewFile puts it in the netpoller and RawConn.Read parks on it.
	if err := syscall.SetNonblock(epfd, true); err != nil {
		return nil, fmt.Errorf("epoll fd non-blocking: %w", err)
	}
	p := &rtpPoller{epfd: epfd, file: os.NewFile(uintptr(epfd), "rtp-epoll"), wakeR: pipe[0], wakeW: pipe[1]}
	if p.raw, err = p.file.SyscallConn(); err != nil {
		return nil, fmt.Errorf("epoll fd: %w", err)
	}
	p.pollFn = p.poll
	for i := range p.hdrs {
		p.iovs[i].Base = &p.bufs[i][0]
		p.iovs[i].SetLen(len(p.bufs[i]))
		p.hdrs[i].hdr.Iov = &p.iovs[i]
		p.hdrs[i].hdr.Iovlen = 1
		p.hdrs[i].hdr.Name = (*byte)(unsafe.Pointer(&p.names[i]))
	}
	return p, nil
}

// pollerFor returns the least loaded poller, or nil if there is none.
func pollerFor() *rtpPoller {
	ps := rtpPollers()
	var best *rtpPoller
	least := -1
	for _, p := range ps {
		p.mu.Lock()
		n := p.live
		p.mu.Unlock()
		if least < 0 || n < least {
			best, least = p, n
		}
	}
	return best
}

// startPolling registers s's RTP socket with a poller; false if it cannot (no poller, no
// fd), and the caller reads with a goroutine.
func (s *Session) startPolling() bool {
	if s.rawFD < 0 {
		return false
	}
	p := pollerFor()
	if p == nil {
		return false
	}
	reg := &pollReg{s: s, r: &receiver{}, fd: s.rawFD, p: p}
	p.mu.Lock()
	if n := len(p.free); n > 0 {
		reg.slot = p.free[n-1]
		p.free = p.free[:n-1]
	} else {
		reg.slot = int32(len(p.regs))
		p.regs = append(p.regs, nil)
	}
	for int(reg.slot) >= len(p.genOf) {
		p.genOf = append(p.genOf, 0)
	}
	p.genOf[reg.slot]++ // a reused slot gets a new generation: an old event cannot pass for the new session's
	reg.gen = p.genOf[reg.slot]
	p.regs[reg.slot] = reg
	p.live++
	start := !p.running
	p.running = true
	p.mu.Unlock()
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: reg.slot, Pad: int32(reg.gen)}
	if err := syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_ADD, reg.fd, &ev); err != nil {
		s.log.Warn("RTP poller: registering the socket failed; reading with a goroutine", "err", err)
		p.release(reg)
		if start {
			go p.run() // it was marked running: it sees no session and exits
		}
		return false
	}
	s.poll = reg
	if start {
		go p.run()
	}
	return true
}

// stopPolling takes s's socket out of its poller and waits until the poller is done with
// it: afterwards the fd may be closed. It must not be called from the poller's goroutine
// (a tap or digit callback).
func (s *Session) stopPolling() {
	reg := s.poll
	if reg == nil {
		return
	}
	p := reg.p
	// Out of the epoll set before the fd is closed: a closed fd's number is reused, and the
	// set would otherwise keep the old socket until every fd to it is closed.
	reg.mu.Lock()
	if !reg.failed {
		_ = syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_DEL, reg.fd, nil)
	}
	reg.closed = true
	reg.mu.Unlock()
	p.release(reg)
}

// release frees reg's slot; the goroutine is woken to exit if no session is left.
func (p *rtpPoller) release(reg *pollReg) {
	p.mu.Lock()
	if p.regs[reg.slot] == reg {
		p.regs[reg.slot] = nil
		p.free = append(p.free, reg.slot)
		p.live--
	}
	last := p.live == 0
	p.mu.Unlock()
	if last {
		p.wake()
	}
}

func (p *rtpPoller) wake() {
	b := [1]byte{1}
	_, _ = syscall.Write(p.wakeW, b[:]) // EAGAIN: the pipe is full, so a wake-up is pending anyway
}

// run serves the epoll instance until no session is left.
func (p *rtpPoller) run() {
	for {
		if err := p.raw.Read(p.pollFn); err != nil {
			// Not expected: the epoll fd is never closed. Sessions stay registered, so
			// they will time out; say why.
			fmt.Fprintf(os.Stderr, "media: RTP poller stopped: %v\n", err)
			p.mu.Lock()
			p.running = false
			p.mu.Unlock()
			return
		}
		p.mu.Lock()
		if p.live == 0 {
			p.running = false
			p.mu.Unlock()
			return
		}
		p.mu.Unlock()
		// One batch of events at a time, then let the media clock and the rest run: with
		// GOMAXPROCS=1 a poller that kept the P under steady traffic would delay the
		// clock's ticks until preempted.
		runtime.Gosched()
	}
}

// poll handles one batch of ready sockets; false when none was ready, and the goroutine
// parks in the netpoller until one is.
func (p *rtpPoller) poll(fd uintptr) bool {
	n, err := syscall.EpollWait(int(fd), p.events[:], 0)
	if err != nil {
		return errors.Is(err, syscall.EINTR)
	}
	if n <= 0 {
		return false
	}
	for i := range n {
		ev := &p.events[i]
		if ev.Fd == wakeSlot {
			var b [64]byte
			for {
				if m, err := syscall.Read(p.wakeR, b[:]); m <= 0 || err != nil {
					break
				}
			}
			continue
		}
		p.mu.Lock()
		var reg *pollReg
		if int(ev.Fd) < len(p.regs) {
			reg = p.regs[ev.Fd]
		}
		p.mu.Unlock()
		if reg == nil || reg.gen != uint32(ev.Pad) {
			continue // removed after the batch was fetched
		}
		reg.mu.Lock()
		if !reg.closed && !reg.failed {
			p.drain(reg)
		}
		reg.mu.Unlock()
	}
	return true
}

// drain reads up to pollBatch datagrams from reg's socket and handles each; reg.mu is held.
func (p *rtpPoller) drain(reg *pollReg) {
	for i := range p.hdrs {
		p.hdrs[i].hdr.Namelen = uint32(unsafe.Sizeof(p.names[i]))
		p.hdrs[i].hdr.Flags = 0
	}
	n, _, errno := syscall.Syscall6(syscall.SYS_RECVMMSG, uintptr(reg.fd), uintptr(unsafe.Pointer(&p.hdrs[0])), pollBatch, syscall.MSG_DONTWAIT, 0, 0)
	if errno != 0 {
		if errno == syscall.EAGAIN || errno == syscall.EINTR {
			return
		}
		p.readFailed(reg, errno)
		return
	}
	s, r := reg.s, reg.r
	r.readFails = 0
	for i := range int(n) {
		r.from = sockaddrAddrPort(&p.names[i], p.hdrs[i].hdr.Namelen)
		s.handlePacket(r, p.bufs[i][:p.hdrs[i].n])
	}
}

// readFailed counts a read error; the tenth in a row ends the session, as the read
// goroutine's did. The session is ended on a goroutine of its own: ending removes it from
// this poller, which waits for the poller.
func (p *rtpPoller) readFailed(reg *pollReg, errno syscall.Errno) {
	s, r := reg.s, reg.r
	if s.ctx.Err() != nil {
		return
	}
	r.readFails++
	if r.readFails < 10 {
		s.log.Debug("RTP read failed", "err", errno)
		return
	}
	// Level-triggered, a socket in error would be reported at every turn: out of the set
	// now, while its fd is known to be open (reg.mu is held).
	_ = syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_DEL, reg.fd, nil)
	reg.failed = true
	go s.end(fmt.Errorf("rtp: reading from socket: %w", errno))
}

// sockaddrAddrPort decodes a sockaddr_in or sockaddr_in6 the kernel wrote, without
// allocating; invalid if it is neither.
func sockaddrAddrPort(sa *syscall.RawSockaddrInet6, n uint32) netip.AddrPort {
	b := (*[unsafe.Sizeof(syscall.RawSockaddrInet6{})]byte)(unsafe.Pointer(sa))
	port := uint16(b[2])<<8 | uint16(b[3])
	switch {
	case sa.Family == syscall.AF_INET && n >= syscall.SizeofSockaddrInet4:
		return netip.AddrPortFrom(netip.AddrFrom4([4]byte(b[4:8])), port)
	case sa.Family == syscall.AF_INET6 && n >= syscall.SizeofSockaddrInet6:
		return netip.AddrPortFrom(netip.AddrFrom16(sa.Addr).Unmap(), port)
	}
	return netip.AddrPort{}
}

// rawSockaddr is where RTP is sent, prebuilt for sendto (sessionParams.sa).
type rawSockaddr struct {
	b syscall.RawSockaddrInet6 // or a RawSockaddrInet4 at its start
	n uint32                   // 0: none; send through the net.UDPConn
}

// socketFD records conn's fd and address family for the raw sends and the poller. The fd is
// used only while the session is open: it is closed by end, after stopPolling and after
// rawFD is cleared under out.mu.
func (s *Session) socketFD(conn *net.UDPConn) {
	s.rawFD = -1
	rc, err := conn.SyscallConn()
	if err != nil {
		return
	}
	_ = rc.Control(func(fd uintptr) {
		fam, err := syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_DOMAIN)
		if err != nil || (fam != syscall.AF_INET && fam != syscall.AF_INET6) {
			return
		}
		s.rawFD, s.family = int(fd), fam
	})
}

// sockaddrFor prebuilds the sockaddr for sending to ap from this session's socket; none
// (send through the conn, which reports why it cannot) for an address the socket's family
// cannot reach or that needs a zone.
func (s *Session) sockaddrFor(ap netip.AddrPort) rawSockaddr {
	var sa rawSockaddr
	a := ap.Addr()
	if !a.IsValid() || a.Zone() != "" {
		return sa
	}
	b := (*[unsafe.Sizeof(syscall.RawSockaddrInet6{})]byte)(unsafe.Pointer(&sa.b))
	switch {
	case s.family == syscall.AF_INET && a.Is4():
		sa.b.Family = syscall.AF_INET
		a4 := a.As4()
		copy(b[4:8], a4[:])
		sa.n = syscall.SizeofSockaddrInet4
	case s.family == syscall.AF_INET6:
		sa.b.Family = syscall.AF_INET6
		sa.b.Addr = a.As16() // an IPv4 address as ::ffff:a.b.c.d, for a dual-stack socket
		sa.n = syscall.SizeofSockaddrInet6
	default:
		return sa
	}
	b[2], b[3] = byte(ap.Port()>>8), byte(ap.Port())
	return sa
}

// sendRTP sends b to p's remote, with s.out.mu held: a raw non-blocking sendto on the
// session's fd, or through the conn where there is no raw address. A full send buffer drops
// the packet (counted): the media clock and the poller must never wait on a socket.
func (s *Session) sendRTP(p *sessionParams, b []byte) error {
	if s.rawFD < 0 || p.sa.n == 0 {
		if s.rawFD < 0 && s.ctx.Err() != nil {
			return net.ErrClosed
		}
		_, err := s.conn.WriteToUDPAddrPort(b, p.remote)
		return err
	}
	for {
		_, _, errno := syscall.Syscall6(syscall.SYS_SENDTO, uintptr(s.rawFD), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)),
			syscall.MSG_DONTWAIT, uintptr(unsafe.Pointer(&p.sa.b)), uintptr(p.sa.n))
		switch errno {
		case 0:
			return nil
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			dropSendFull.Inc()
			return errSendBufferFull
		}
		return &net.OpError{Op: "sendto", Net: "udp", Err: os.NewSyscallError("sendto", errno)}
	}
}
