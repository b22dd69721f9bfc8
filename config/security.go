package config

import (
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// SIPAuth is the digest brute-force lockout (sip.auth). Zero values take the defaults
// (docs/security.md); -1 turns a lock off.
type SIPAuth struct {
	// MaxFailures failed digest authentications from one IP address within Window lock it
	// out for Lockout: answered 403 at once, credentials unread (default 5, in 5m, for 15m).
	MaxFailures int      `yaml:"max_failures"`
	Window      Duration `yaml:"window"`
	Lockout     Duration `yaml:"lockout"`
	// UserMaxFailures failures for one account, from any addresses, within Window lock that
	// account for UserLockout against addresses it has not authenticated from in the last
	// day; its own phones keep working (default 20, for 5m).
	UserMaxFailures int      `yaml:"user_max_failures"`
	UserLockout     Duration `yaml:"user_lockout"`
	// MaxSources bounds the addresses tracked (default 10000).
	MaxSources int `yaml:"max_sources"`
	// Exempt are addresses or CIDR prefixes never locked (an office NAT, monitoring).
	Exempt []string `yaml:"exempt"`
}

// ExemptPrefixes is Exempt parsed; validate has refused what does not parse.
func (a SIPAuth) ExemptPrefixes() []netip.Prefix {
	var out []netip.Prefix
	for _, s := range a.Exempt {
		if p, err := parsePrefix(s); err == nil {
			out = append(out, p)
		}
	}
	return out
}

// parsePrefix reads "192.0.2.0/24", "2001:db8::/32" or a single address.
func parsePrefix(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		return p.Masked(), err
	}
	ip, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	ip = ip.Unmap()
	return netip.PrefixFrom(ip, ip.BitLen()), nil
}

func (a SIPAuth) validate(bad func(key, format string, a ...any)) {
	if a.MaxFailures < -1 || a.MaxFailures > 1000 {
		bad("sip.auth.max_failures", "%d: want 1 to 1000 (0 = 5, -1 = no lockout per address)", a.MaxFailures)
	}
	if a.UserMaxFailures < -1 || a.UserMaxFailures > 100000 {
		bad("sip.auth.user_max_failures", "%d: want 1 to 100000 (0 = 20, -1 = no lockout per account)", a.UserMaxFailures)
	}
	for key, d := range map[string]struct {
		v   Duration
		max time.Duration
	}{"window": {a.Window, 24 * time.Hour}, "lockout": {a.Lockout, 7 * 24 * time.Hour}, "user_lockout": {a.UserLockout, 24 * time.Hour}} {
		if d.v.D() > d.max || (d.v != 0 && d.v.D() < time.Second) {
			bad("sip.auth."+key, "%s: want 1s to %s (0 = the default)", d.v.D(), d.max)
		}
	}
	if a.MaxSources < 0 || (a.MaxSources > 0 && a.MaxSources < 100) || a.MaxSources > 10_000_000 {
		bad("sip.auth.max_sources", "%d: want 100 to 10000000 (0 = 10000)", a.MaxSources)
	}
	for i, s := range a.Exempt {
		if _, err := parsePrefix(s); err != nil {
			bad(fmt.Sprintf("sip.auth.exempt[%d]", i), "%q is not an IP address or CIDR prefix (like 192.0.2.0/24)", s)
		}
	}
}
