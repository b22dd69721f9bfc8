//go:build !linux || !(amd64 || arm64)

package media

import (
	"net"
	"net/netip"
)

// Without the epoll poller (poller_linux.go) each session reads its RTP socket with a
// goroutine of its own (readLoop) and sends through its net.UDPConn.

type pollReg struct{}

type rawSockaddr struct{}

func (s *Session) startPolling() bool { return false }

func (s *Session) stopPolling() {}

func (s *Session) socketFD(*net.UDPConn) { s.rawFD = -1 }

func (s *Session) sockaddrFor(netip.AddrPort) rawSockaddr { return rawSockaddr{} }

func (s *Session) sendRTP(p *sessionParams, b []byte) error {
	_, err := s.conn.WriteToUDPAddrPort(b, p.remote)
	return err
}
