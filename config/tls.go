package config

import (
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"slices"
)

// SIPTLS is SIP over TLS (sips:, RFC 3261 §26.2), on when sip.transports lists tls.
type SIPTLS struct {
	Addr     string `yaml:"addr"`      // host:port of the TLS listener; "" = the sip.addr host, port 5061
	CertFile string `yaml:"cert_file"` // PEM certificate chain (leaf first); reloaded when the file changes
	KeyFile  string `yaml:"key_file"`  // PEM private key
	CAFile   string `yaml:"ca_file"`   // roots that verify peers hotline dials over TLS; "" = the system's
}

// Media is how call audio is protected.
type Media struct {
	// SRTP is the policy for SDES-keyed SRTP (RFC 4568) on calls whose signalling is on TLS:
	// off, optional (encrypt when the phone offers or accepts it) or required (refuse plain
	// audio, and calls on udp or tcp, with 488). Keys never travel over udp or tcp.
	SRTP string `yaml:"srtp"`
}

// SRTPPolicies are the values of media.srtp and agents[].srtp.
var SRTPPolicies = []string{"off", "optional", "required"}

func validSRTP(v string) bool { return slices.Contains(SRTPPolicies, v) }

// validateTLS checks the TLS listener and the SRTP policies; the certificate and key are
// loaded here so that a wrong path or a key that does not match is a config error at start.
func (c *Config) validateTLS(bad func(key, format string, args ...any)) {
	tlsOn := slices.Contains(c.SIP.Transports, "tls")
	t := c.SIP.TLS
	if t.Addr != "" {
		checkHostPort(bad, "sip.tls.addr", t.Addr)
	}
	switch {
	case tlsOn && (t.CertFile == "" || t.KeyFile == ""):
		bad("sip.tls.cert_file", "sip.transports lists tls: set sip.tls.cert_file and sip.tls.key_file (docs/security.md shows how to make a lab certificate)")
	case tlsOn:
		if _, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile); err != nil {
			bad("sip.tls.cert_file", "%v", err)
		}
	case t.CertFile != "" || t.KeyFile != "":
		bad("sip.tls", "a certificate is set but sip.transports does not list tls")
	}
	if t.CAFile != "" {
		if _, err := os.Stat(t.CAFile); err != nil {
			bad("sip.tls.ca_file", "%v", err)
		}
	}
	if !validSRTP(c.Media.SRTP) {
		bad("media.srtp", "%q is not an SRTP policy; use off, optional or required", c.Media.SRTP)
	}
	for i, a := range c.Agents {
		if a.SRTP != "" && !validSRTP(a.SRTP) {
			bad(fmt.Sprintf("agents[%d].srtp", i), "%q is not an SRTP policy; use off, optional or required", a.SRTP)
		}
	}
}

// ListenAddr is where the TLS listener binds: Addr, or the sip.addr host on port 5061.
func (t SIPTLS) ListenAddr(sipAddr string) string {
	if t.Addr != "" {
		return t.Addr
	}
	host, _, _ := net.SplitHostPort(sipAddr)
	return net.JoinHostPort(host, "5061")
}
