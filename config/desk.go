package config

import (
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// Desk is the agent desktop: the phone in the browser (WebRTC).
type Desk struct {
	// BrowserPhone lets agents take calls in the agent page with no softphone (native driver
	// only; default on).
	BrowserPhone *bool `yaml:"browser_phone"`
	// STUN are STUN server URLs (stun:host:3478) the browser phone and the server use to find
	// their public addresses, for agents at home behind NAT; none is needed on a LAN.
	STUN []string `yaml:"stun"`
	// TURN relays media when no direct path works (symmetric NAT, strict firewalls).
	TURN TURN `yaml:"turn"`
	// ConnectTimeout bounds ICE and DTLS on an offer: a browser that cannot connect within
	// it misses the offer (unreachable) and the call moves on to the next agent. Default 8s.
	ConnectTimeout Duration `yaml:"connect_timeout"`
	// PublicIP is the address the server's ICE host candidates carry when it sits behind
	// 1:1 NAT (a cloud VM's public IP); "" = its own addresses.
	PublicIP string `yaml:"public_ip"`
}

// TURN is a TURN server (RFC 8656) and its long-term credentials.
type TURN struct {
	URLs       []string `yaml:"urls"` // turn:host:3478?transport=udp, turns:host:5349
	Username   string   `yaml:"username"`
	Credential string   `yaml:"credential"`
}

// Phone reports whether agents may use the browser phone.
func (d Desk) Phone() bool { return d.BrowserPhone == nil || *d.BrowserPhone }

// Connect is the ICE+DTLS deadline on an offer.
func (d Desk) Connect() time.Duration {
	if d.ConnectTimeout <= 0 {
		return 8 * time.Second
	}
	return d.ConnectTimeout.D()
}

func (d Desk) validate(bad func(key, format string, a ...any)) {
	for i, u := range d.STUN {
		if !strings.HasPrefix(u, "stun:") && !strings.HasPrefix(u, "stuns:") {
			bad(fmt.Sprintf("desk.stun[%d]", i), "%q is not a stun: or stuns: URL", u)
		}
	}
	for i, u := range d.TURN.URLs {
		if !strings.HasPrefix(u, "turn:") && !strings.HasPrefix(u, "turns:") {
			bad(fmt.Sprintf("desk.turn.urls[%d]", i), "%q is not a turn: or turns: URL", u)
		}
	}
	if len(d.TURN.URLs) > 0 && (d.TURN.Username == "" || d.TURN.Credential == "") {
		bad("desk.turn", "a TURN server needs username and credential")
	}
	if d.ConnectTimeout < 0 || d.ConnectTimeout.D() > time.Minute {
		bad("desk.connect_timeout", "%s: want at most 1m (0 = 8s)", d.ConnectTimeout.D())
	}
	if d.PublicIP != "" {
		if _, err := netip.ParseAddr(d.PublicIP); err != nil {
			bad("desk.public_ip", "%q is not an IP address", d.PublicIP)
		}
	}
}
