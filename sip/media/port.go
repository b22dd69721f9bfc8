package media

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"syscall"
)

// systemPortTries is how often ListenRTP asks the system for a port before giving up when
// no range is set: half the ports it hands out are odd, and the odd port above an even one
// may be taken.
const systemPortTries = 64

// ListenRTP opens the UDP socket pair of one RTP session on ip (the unspecified address, or
// an invalid Addr, for all interfaces): rtp on an even port and rtcp on the odd port above it
// (RFC 3550 §11), both in [minPort, maxPort] and both free. The search starts at a random
// even port, so concurrent calls rarely race for the same pair. minPort = maxPort = 0 lets
// the system pick the ports. The caller owns both sockets (NewSession takes them over).
func ListenRTP(ip netip.Addr, minPort, maxPort int) (rtp, rtcp *net.UDPConn, err error) {
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
		for range systemPortTries {
			rtp, err := net.ListenUDP(network, &laddr)
			if err != nil {
				return nil, nil, err
			}
			if port := rtp.LocalAddr().(*net.UDPAddr).Port; port%2 == 0 {
				if rtcp, err := listenRTCP(network, laddr, port); err == nil {
					return rtp, rtcp, nil
				}
			}
			rtp.Close()
		}
		return nil, nil, fmt.Errorf("%w: the system gave no even port with a free odd one above it in %d tries", ErrNoFreePort, systemPortTries)
	}
	if minPort < 1 || maxPort > 65535 || minPort > maxPort {
		return nil, nil, fmt.Errorf("%w %d-%d (want 1 ≤ min ≤ max ≤ 65535)", ErrBadPortRange, minPort, maxPort)
	}
	first := minPort + minPort&1
	if first+1 > maxPort {
		return nil, nil, fmt.Errorf("%w %d-%d (no even port with the odd one above it in it)", ErrBadPortRange, minPort, maxPort)
	}
	count := (maxPort-1-first)/2 + 1
	start := rand.IntN(count)
	for i := range count {
		laddr.Port = first + 2*((start+i)%count)
		rtp, err := net.ListenUDP(network, &laddr)
		if err != nil {
			if !portBusy(err) {
				return nil, nil, err // a bad address or a closed system: trying other ports won't help
			}
			continue
		}
		rtcp, err := listenRTCP(network, laddr, laddr.Port)
		if err == nil {
			return rtp, rtcp, nil
		}
		rtp.Close()
		if !portBusy(err) {
			return nil, nil, err
		}
	}
	return nil, nil, fmt.Errorf("%w %d-%d on %v", ErrNoFreePort, minPort, maxPort, ip)
}

// listenRTCP opens the RTCP socket above the RTP port rtpPort.
func listenRTCP(network string, laddr net.UDPAddr, rtpPort int) (*net.UDPConn, error) {
	laddr.Port = rtpPort + 1
	return net.ListenUDP(network, &laddr)
}

func portBusy(err error) bool {
	return errors.Is(err, syscall.EADDRINUSE) || errors.Is(err, syscall.EACCES)
}
