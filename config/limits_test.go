package config

import (
	"strings"
	"testing"
)

func TestLimits(t *testing.T) {
	cfg, err := Parse("t.yaml", []byte("sip:\n  limits:\n    max_calls: off\n    invite_rate: 50\n    source_invite_rate: -1\n"))
	if err != nil {
		t.Fatal(err)
	}
	v := cfg.SIP.Limits.Values()
	if v.MaxCalls != -1 || v.InviteRate != 50 || v.SourceInviteRate != -1 || v.MaxPending != 0 {
		t.Errorf("off and -1 must read as -1, numbers as numbers, missing keys as 0 (default): %+v", v)
	}
	cfg, err = Parse("t.yaml", []byte("sip:\n  limits:\n    exempt: [203.0.113.10, 198.51.100.0/24]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if ex := cfg.SIP.Limits.Values().Exempt; len(ex) != 2 || ex[0].String() != "203.0.113.10/32" || ex[1].String() != "198.51.100.0/24" {
		t.Errorf("exempt parsed as %v", ex)
	}
	if Default().SIP.Limits.Values().Exempt != nil {
		t.Error("exempt left out must stay nil (the SIP engine's default: the host itself)")
	}
	for _, c := range []struct{ yaml, want string }{
		{"max_pending: -5", "sip.limits.max_pending: -5 is not a limit"},
		{"sources: off", "sip.limits.sources: cannot be off"},
		{"retry_after: 100000", "sip.limits.retry_after: 100000 seconds is more than a day"},
		{"invite_rate: lots", `"lots" is not a limit; use a whole number, 0 for the default, or off`},
		{"invite_rte: 5", "sip.limits.invite_rte: unknown key"},
		{"exempt: [10.0.0.1, 10.0.0/8]", `sip.limits.exempt[1]: "10.0.0/8" is not an IP address or CIDR prefix`},
	} {
		_, err := Parse("t.yaml", []byte("sip:\n  limits:\n    "+c.yaml+"\n"))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want it to say %q", c.yaml, err, c.want)
		}
	}
}
