package sip

import (
	"fmt"
	"net"
	"net/netip"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// How requests reach a peer whose Contact is not where its packets come from (a phone
// behind NAT advertises its private address, which nobody outside its LAN can reach).
const (
	// NATAuto sends to the packets' source when the Contact is a private address
	// (RFC 1918, RFC 6598 shared, unique-local, link-local) on another host than the source.
	NATAuto = "auto"
	// NATForce always sends to the source (every phone is behind NAT).
	NATForce = "force"
	// NATOff always follows the Contact (phones and hotline share a network).
	NATOff = "off"
)

// ParseNAT checks a sip.nat value ("" is NATAuto).
func ParseNAT(v string) (string, error) {
	switch v {
	case "":
		return NATAuto, nil
	case NATAuto, NATForce, NATOff:
		return v, nil
	}
	return "", fmt.Errorf("%q is not a NAT mode (auto, force or off)", v)
}

var sharedSpace = netip.MustParsePrefix("100.64.0.0/10") // RFC 6598, carrier-grade NAT

// behindNAT reports whether requests for a peer that gave contact, and whose packets come
// from source (host:port), must go to source instead.
func (s *Server) behindNAT(contact sip.Uri, source string) bool {
	if s.cfg.NAT == NATOff || source == "" {
		return false
	}
	src, err := netip.ParseAddrPort(source)
	if err != nil {
		return false
	}
	if s.cfg.NAT == NATForce {
		return true
	}
	ip, err := netip.ParseAddr(contact.Host)
	if err != nil {
		return false // a host name: the phone knows how it is reached
	}
	ip = ip.Unmap()
	private := ip.IsPrivate() || ip.IsLinkLocalUnicast() || sharedSpace.Contains(ip)
	return private && ip != src.Addr().Unmap()
}

// dialogUA is the dialog user agent for a peer: one that sends in-dialog requests (ACK,
// BYE, re-INVITE) to the address the peer's messages come from, or one that follows the
// Contact; for a peer on TLS, always back over its connection.
func (s *Server) dialogUA(nat, tls bool) *sipgo.DialogUA {
	switch {
	case tls:
		return s.dua.tls
	case nat:
		return s.dua.nat
	}
	return s.dua.plain
}

// hostPort formats a contact's address for logs.
func hostPort(u sip.Uri) string {
	port := u.Port
	if port == 0 {
		port = 5060
	}
	return net.JoinHostPort(u.Host, fmt.Sprint(port))
}
