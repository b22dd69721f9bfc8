package callgen

import (
	"fmt"
	"net/netip"
	"syscall"
	"unsafe"
)

// The sockets are raw non-blocking file descriptors served by one epoll loop: on one core
// that is the cheapest way to read 200,000 datagrams a second (no goroutine per socket, no
// netpoller wake-ups, no allocation per packet).

// openUDP returns a non-blocking UDP socket bound to ip:port whose datagrams carry their
// kernel receive time (SO_TIMESTAMPNS) and the socket's drop count (SO_RXQ_OVFL).
func openUDP(ip netip.Addr, port int) (int, error) {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_DGRAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("callgen: UDP socket: %w", err)
	}
	for _, o := range []struct {
		name     string
		opt, val int
	}{
		{"SO_TIMESTAMPNS", syscall.SO_TIMESTAMPNS, 1},
		{"SO_RXQ_OVFL", syscall.SO_RXQ_OVFL, 1}, // so a drop by callgen's own buffer is told apart from hotline's loss
		// Room for hotline's bursts after a stall (the kernel doubles it, capped by rmem_max):
		// what overflows is dropped, and counted by SO_RXQ_OVFL.
		{"SO_RCVBUF", syscall.SO_RCVBUF, 256 << 10},
	} {
		if err := syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, o.opt, o.val); err != nil {
			syscall.Close(fd)
			return -1, fmt.Errorf("callgen: %s: %w", o.name, err)
		}
	}
	if err := syscall.Bind(fd, sockaddr(netip.AddrPortFrom(ip, uint16(port)))); err != nil {
		syscall.Close(fd)
		return -1, fmt.Errorf("callgen: bind %s:%d: %w", ip, port, err)
	}
	return fd, nil
}

func sockaddr(ap netip.AddrPort) *syscall.SockaddrInet4 {
	return &syscall.SockaddrInet4{Addr: ap.Addr().As4(), Port: int(ap.Port())}
}

// localPort returns the port fd is bound to.
func localPort(fd int) int {
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		return 0
	}
	if in, ok := sa.(*syscall.SockaddrInet4); ok {
		return in.Port
	}
	return 0
}

// receiver reads datagrams with their kernel receive time through one reused msghdr.
type receiver struct {
	buf []byte
	oob []byte
	iov syscall.Iovec
	msg syscall.Msghdr
}

func newReceiver(size int) *receiver {
	r := &receiver{buf: make([]byte, size), oob: make([]byte, OOBSize)}
	r.iov.Base = &r.buf[0]
	r.iov.SetLen(len(r.buf))
	r.msg.Iov = &r.iov
	r.msg.Iovlen = 1
	r.msg.Control = &r.oob[0]
	return r
}

// recv reads one datagram from the non-blocking fd: its bytes (valid until the next recv)
// and control messages, or syscall.EAGAIN when none is waiting. RawSyscall is safe here: a
// non-blocking socket never blocks.
func (r *receiver) recv(fd int) ([]byte, Control, syscall.Errno) {
	r.msg.SetControllen(len(r.oob))
	r.msg.Flags = 0
	n, _, errno := syscall.RawSyscall(syscall.SYS_RECVMSG, uintptr(fd), uintptr(unsafe.Pointer(&r.msg)), 0)
	if errno != 0 {
		return nil, Control{}, errno
	}
	return r.buf[:n], ParseControl(r.oob[:r.msg.Controllen]), 0
}

// send writes b on the connected, non-blocking fd. A full socket buffer drops the datagram
// as the network would; the caller counts it.
func send(fd int, b []byte) syscall.Errno {
	_, _, errno := syscall.RawSyscall(syscall.SYS_WRITE, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
	return errno
}
