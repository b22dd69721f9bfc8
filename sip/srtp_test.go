package sip

import (
	"errors"
	"testing"

	"github.com/hotline-cc/hotline/sip/media"
)

// The policy of a call: the agent's own over media.srtp, on TLS only; required on udp/tcp
// refuses the call rather than fall back to plain audio.
func TestSRTPPolicyForCall(t *testing.T) {
	p, err := parseSRTPPolicies("optional", map[string]string{"1001": "required", "1002": "off", "1003": ""})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		agent string
		tls   bool
		want  media.SRTPPolicy
		err   error
	}{
		{"", true, media.SRTPOptional, nil},
		{"", false, media.SRTPOff, nil},
		{"1001", true, media.SRTPRequired, nil},
		{"1001", false, media.SRTPRequired, ErrSRTPNeedsTLS},
		{"1002", true, media.SRTPOff, nil},
		{"1003", true, media.SRTPOptional, nil},
	} {
		got, err := p.forCall(c.agent, c.tls)
		if got != c.want || !errors.Is(err, c.err) {
			t.Errorf("agent %q tls %v: %v, %v; want %v, %v", c.agent, c.tls, got, err, c.want, c.err)
		}
	}
	if _, err := parseSRTPPolicies("sometimes", nil); err == nil {
		t.Error("a policy of sometimes was taken")
	}
}
