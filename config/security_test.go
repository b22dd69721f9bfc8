package config

import (
	"net/netip"
	"strings"
	"testing"
)

func TestSIPAuthKeys(t *testing.T) {
	cfg, err := Parse("auth.yaml", []byte("sip:\n  auth:\n    max_failures: 3\n    lockout: 1h\n    exempt: [198.51.100.0/24, 2001:db8::1]\n"))
	if err != nil {
		t.Fatal(err)
	}
	a := cfg.SIP.Auth
	if a.MaxFailures != 3 || a.Lockout.D().String() != "1h0m0s" || a.Window != 0 {
		t.Errorf("sip.auth = %+v", a)
	}
	got := a.ExemptPrefixes()
	if len(got) != 2 || !got[0].Contains(netip.MustParseAddr("198.51.100.77")) || got[1] != netip.MustParsePrefix("2001:db8::1/128") {
		t.Errorf("exempt = %v", got)
	}
}

func TestSIPAuthErrorsSayWhatIsWrong(t *testing.T) {
	_, err := Parse("auth.yaml", []byte("sip:\n  auth:\n    max_failures: -5\n    window: 500ms\n    max_sources: 10\n    exempt: [office]\n"))
	if err == nil {
		t.Fatal("bad sip.auth accepted")
	}
	for _, want := range []string{
		"sip.auth.max_failures", "-1 = no lockout per address",
		"sip.auth.window", "want 1s to 24h0m0s",
		"sip.auth.max_sources", "sip.auth.exempt[0]", `"office" is not an IP address or CIDR prefix`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not say %q:\n%v", want, err)
		}
	}
}
