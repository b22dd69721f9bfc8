package media

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"syscall"
)

// ListenRTP opens a UDP socket for RTP on ip (the unspecified address, or an invalid Addr,
// for all interfaces) at an even port in [minPort, maxPort] (RFC 3550 §11: RTP on even
// ports, RTCP on the next odd one, which hotline does not open). The search starts at a
// random even port, so concurrent calls rarely race for the same one. minPort = maxPort = 0
// lets the system pick any port.
func ListenRTP(ip netip.Addr, minPort, maxPort int) (*net.UDPConn, error) {
	network := "udp"
	var laddr net.UDPAddr
	if ip.IsValid() {
		ip = ip.Unmap()
		laddr.IP = ip.AsSlice()
		laddr.Zone = ip.Zone()
		if ip.Is4() {
			network = "udp4"
		} else {
			network = "udp6"
		}
	}
	if minPort == 0 && maxPort == 0 {
		return net.ListenUDP(network, &laddr)
	}
	if minPort < 1 || maxPort > 65535 || minPort > maxPort {
		return nil, fmt.Errorf("%w %d-%d (want 1 ≤ min ≤ max ≤ 65535)", ErrBadPortRange, minPort, maxPort)
	}
	first := minPort + minPort&1
	if first > maxPort {
		return nil, fmt.Errorf("%w %d-%d (no even port in it)", ErrBadPortRange, minPort, maxPort)
	}
	count := (maxPort-first)/2 + 1
	start := rand.IntN(count)
	for i := range count {
		laddr.Port = first + 2*((start+i)%count)
		conn, err := net.ListenUDP(network, &laddr)
		if err == nil {
			return conn, nil
		}
		if !errors.Is(err, syscall.EADDRINUSE) && !errors.Is(err, syscall.EACCES) {
			return nil, err // a bad address or a closed system: trying other ports won't help
		}
	}
	return nil, fmt.Errorf("%w %d-%d on %v", ErrNoFreePort, minPort, maxPort, ip)
}
