package media

import (
	"container/heap"
	"errors"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"time"
	"unsafe"
)

// One goroutine per process sends every session's RTCP reports and reads what the peers sent
// on the sessions' RTCP sockets, instead of a goroutine per call blocked on its RTCP socket.
// RTCP is a packet every few seconds each way, so the peer's reports wait in the socket's
// buffer until the session's next report is due and are read then, without blocking; the
// kernel stamps each with its arrival time (SO_TIMESTAMPNS), so round-trip times and the
// delay since the peer's last SR (DLSR) are what they would be had the packet been read at
// once. A goroutine's stack is most of a live call's memory beside its buffers; this one
// is shared.

// reportsPerTick bounds how many queued RTCP packets one due session reads at a time: a
// flooded RTCP port is read no faster than a quiet one, and the kernel drops the rest.
const reportsPerTick = 16

// reporter schedules the sessions' reports on a heap of due times.
type reporter struct {
	mu      sync.Mutex
	due     reportHeap
	wake    chan struct{}
	running bool

	// Read only on the reporter's goroutine, one session at a time.
	buf [1500]byte
	oob []byte
}

var reports = &reporter{wake: make(chan struct{}, 1), oob: make([]byte, syscall.CmsgSpace(int(unsafe.Sizeof(syscall.Timespec{}))))}

type reportSlot struct {
	s   *Session
	at  time.Time
	idx int // in the heap; -1 when out of it
}

type reportHeap []*reportSlot

func (h reportHeap) Len() int           { return len(h) }
func (h reportHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h reportHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i]; h[i].idx = i; h[j].idx = j }
func (h *reportHeap) Push(x any)        { sl := x.(*reportSlot); sl.idx = len(*h); *h = append(*h, sl) }
func (h *reportHeap) Pop() any {
	old := *h
	sl := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	sl.idx = -1
	return sl
}

// add schedules s's next report at at.
func (r *reporter) add(sl *reportSlot, at time.Time) {
	r.mu.Lock()
	sl.at = at
	if sl.idx >= 0 {
		heap.Fix(&r.due, sl.idx)
	} else {
		heap.Push(&r.due, sl)
	}
	first := r.due[0] == sl
	start := !r.running
	r.running = true
	r.mu.Unlock()
	switch {
	case start:
		go r.run()
	case first:
		r.poke()
	}
}

// remove takes s out of the schedule (its session ended).
func (r *reporter) remove(sl *reportSlot) {
	r.mu.Lock()
	if sl.idx >= 0 {
		heap.Remove(&r.due, sl.idx)
	}
	r.mu.Unlock()
	r.poke() // so the goroutine ends when nothing is left
}

func (r *reporter) poke() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// run sends reports as they fall due, and ends when no session is left.
func (r *reporter) run() {
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for {
		r.mu.Lock()
		if len(r.due) == 0 {
			r.running = false
			r.mu.Unlock()
			return
		}
		now := time.Now()
		sl := r.due[0]
		if wait := sl.at.Sub(now); wait > 0 {
			r.mu.Unlock()
			t.Reset(wait)
			select {
			case <-t.C:
			case <-r.wake:
				if !t.Stop() {
					<-t.C
				}
			}
			continue
		}
		heap.Pop(&r.due)
		r.mu.Unlock()
		if sl.s.ctx.Err() != nil {
			continue
		}
		sl.s.reportDue(now, r.buf[:], r.oob)
		r.mu.Lock()
		if sl.s.ctx.Err() == nil && sl.idx < 0 {
			sl.at = time.Now().Add(sl.s.reportDelay(false))
			heap.Push(&r.due, sl)
		}
		r.mu.Unlock()
	}
}

// reportDue reads what the peer sent on the RTCP socket since the last report, then sends
// this session's report.
func (s *Session) reportDue(now time.Time, buf, oob []byte) {
	if s.rtcpConn != nil {
		s.drainRTCP(buf, oob)
	}
	s.sendReport(now, false)
}

// drainRTCP reads up to reportsPerTick waiting datagrams from the RTCP socket without
// blocking, each with its kernel arrival time.
func (s *Session) drainRTCP(buf, oob []byte) {
	rc, err := s.rtcpConn.SyscallConn()
	if err != nil {
		return
	}
	for range reportsPerTick {
		var n, oobn int
		var from syscall.Sockaddr
		var rerr error
		if err := rc.Read(func(fd uintptr) bool {
			n, oobn, _, from, rerr = syscall.Recvmsg(int(fd), buf, oob, syscall.MSG_DONTWAIT)
			return true // never wait: what has not arrived is read at the next report
		}); err != nil || rerr != nil {
			if rerr != nil && !errors.Is(rerr, syscall.EAGAIN) && !errors.Is(rerr, net.ErrClosed) {
				s.log.Debug("reading RTCP", "err", rerr)
			}
			return
		}
		s.handleRTCP(buf[:n], sockaddrPort(from), false, arrival(oob[:oobn]))
	}
}

// arrival is a datagram's kernel receive time from its control messages (SCM_TIMESTAMPNS),
// or now when the kernel gave none.
func arrival(oob []byte) time.Time {
	msgs, err := syscall.ParseSocketControlMessage(oob)
	if err == nil {
		for _, m := range msgs {
			if m.Header.Level == syscall.SOL_SOCKET && m.Header.Type == syscall.SCM_TIMESTAMPNS && len(m.Data) >= int(unsafe.Sizeof(syscall.Timespec{})) {
				ts := (*syscall.Timespec)(unsafe.Pointer(&m.Data[0]))
				return time.Unix(ts.Unix())
			}
		}
	}
	return time.Now()
}

func sockaddrPort(sa syscall.Sockaddr) netip.AddrPort {
	switch a := sa.(type) {
	case *syscall.SockaddrInet4:
		return netip.AddrPortFrom(netip.AddrFrom4(a.Addr), uint16(a.Port))
	case *syscall.SockaddrInet6:
		return netip.AddrPortFrom(netip.AddrFrom16(a.Addr).Unmap(), uint16(a.Port))
	}
	return netip.AddrPort{}
}

// stampArrivals asks the kernel to stamp datagrams on conn with their arrival time.
func stampArrivals(conn *net.UDPConn) {
	rc, err := conn.SyscallConn()
	if err != nil {
		return
	}
	_ = rc.Control(func(fd uintptr) {
		_ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_TIMESTAMPNS, 1)
	})
}
