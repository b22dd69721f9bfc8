package config

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// SIPLimits is sip.limits: admission control, the limits above which new calls, REGISTERs and
// OPTIONS are refused with 503 and Retry-After before any work is done for them. Every key
// left out (or 0) takes the default derived from the machine's cores; off (or -1) removes a
// limit. docs/security.md says how the defaults are derived and how to size them.
type SIPLimits struct {
	MaxCalls           Limit `yaml:"max_calls"`            // call legs in progress
	MaxPending         Limit `yaml:"max_pending"`          // INVITEs not answered yet, plus REGISTER/OPTIONS being handled
	InviteRate         Limit `yaml:"invite_rate"`          // new INVITEs per second, all sources
	InviteBurst        Limit `yaml:"invite_burst"`         // new INVITEs at once after a quiet spell, all sources
	SourceInviteRate   Limit `yaml:"source_invite_rate"`   // new INVITEs per second from one IP
	SourceInviteBurst  Limit `yaml:"source_invite_burst"`  // new INVITEs at once from one IP
	RegisterRate       Limit `yaml:"register_rate"`        // REGISTERs per second, all sources (burst twice that)
	SourceRegisterRate Limit `yaml:"source_register_rate"` // REGISTERs per second from one IP (burst twice that)
	OptionsRate        Limit `yaml:"options_rate"`         // OPTIONS per second, all sources (burst twice that)
	SourceOptionsRate  Limit `yaml:"source_options_rate"`  // OPTIONS per second from one IP (burst twice that)
	Sources            Limit `yaml:"sources"`              // source IPs remembered for per-source limits
	RetryAfter         Limit `yaml:"retry_after"`          // seconds, sent in Retry-After (off: no header)
	// Exempt lists addresses or CIDR prefixes spared the per-source rates (a trunk, a proxy in
	// front of hotline); left out, the host itself (127.0.0.1, ::1); [] for none.
	Exempt []string `yaml:"exempt"`
}

// Limit is one limit's value: a whole number, 0 for the default, or off (also -1) for none.
type Limit int

// LimitOff is the value of a limit that is off.
const LimitOff Limit = -1

func (l *Limit) UnmarshalText(b []byte) error {
	s := strings.TrimSpace(string(b))
	if s == "off" {
		*l = LimitOff
		return nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return fmt.Errorf("%q is not a limit; use a whole number, 0 for the default, or off", s)
	}
	*l = Limit(n)
	return nil
}

func (l Limit) MarshalText() ([]byte, error) {
	if l == LimitOff {
		return []byte("off"), nil
	}
	return []byte(strconv.Itoa(int(l))), nil
}

// LimitValues is SIPLimits as plain numbers (-1 for off), field for field what sip.Limits
// holds, so that the wiring converts one into the other.
type LimitValues struct {
	MaxCalls, MaxPending                int
	InviteRate, InviteBurst             int
	SourceInviteRate, SourceInviteBurst int
	RegisterRate, SourceRegisterRate    int
	OptionsRate, SourceOptionsRate      int
	Sources, RetryAfter                 int
	Exempt                              []netip.Prefix // nil: the default
}

// Values is l as plain numbers.
func (l SIPLimits) Values() LimitValues {
	return LimitValues{
		MaxCalls: int(l.MaxCalls), MaxPending: int(l.MaxPending),
		InviteRate: int(l.InviteRate), InviteBurst: int(l.InviteBurst),
		SourceInviteRate: int(l.SourceInviteRate), SourceInviteBurst: int(l.SourceInviteBurst),
		RegisterRate: int(l.RegisterRate), SourceRegisterRate: int(l.SourceRegisterRate),
		OptionsRate: int(l.OptionsRate), SourceOptionsRate: int(l.SourceOptionsRate),
		Sources: int(l.Sources), RetryAfter: int(l.RetryAfter),
		Exempt: exemptPrefixes(l.Exempt),
	}
}

// exemptPrefixes parses the exempt list (validate has reported what does not parse): an
// address is a prefix of its full length.
func exemptPrefixes(list []string) []netip.Prefix {
	if list == nil {
		return nil
	}
	out := make([]netip.Prefix, 0, len(list))
	for _, s := range list {
		if p, err := parsePrefix(s); err == nil {
			out = append(out, p)
		}
	}
	return out
}

// validate reports each limit that is neither a count, 0 nor off, and the ones that cannot
// be off.
func (l SIPLimits) validate(bad func(key, format string, a ...any)) {
	for _, f := range []struct {
		key string
		v   Limit
	}{
		{"max_calls", l.MaxCalls}, {"max_pending", l.MaxPending},
		{"invite_rate", l.InviteRate}, {"invite_burst", l.InviteBurst},
		{"source_invite_rate", l.SourceInviteRate}, {"source_invite_burst", l.SourceInviteBurst},
		{"register_rate", l.RegisterRate}, {"source_register_rate", l.SourceRegisterRate},
		{"options_rate", l.OptionsRate}, {"source_options_rate", l.SourceOptionsRate},
		{"sources", l.Sources}, {"retry_after", l.RetryAfter},
	} {
		if f.v < LimitOff {
			bad("sip.limits."+f.key, "%d is not a limit; use a whole number, 0 for the default, or off", f.v)
		}
	}
	if l.Sources == LimitOff {
		bad("sip.limits.sources", "cannot be off: the table of sources must stay bounded under a flood from many addresses; give a number of entries (default 10000, about 2 MiB)")
	}
	for i, e := range l.Exempt {
		if _, err := parsePrefix(e); err != nil {
			bad(fmt.Sprintf("sip.limits.exempt[%d]", i), "%q is not an IP address or CIDR prefix (e.g. 203.0.113.10 or 203.0.113.0/24)", e)
		}
	}
	if l.RetryAfter > 86400 {
		bad("sip.limits.retry_after", "%d seconds is more than a day; phones and proxies would give up on hotline (use 1-10)", l.RetryAfter)
	}
}
