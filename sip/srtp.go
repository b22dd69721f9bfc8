package sip

import (
	"errors"
	"fmt"

	"github.com/hotline-cc/hotline/sip/media"
)

// SRTP with SDES keys (RFC 4568). The keys travel in the SDP, so they are only as private as
// the signalling: hotline puts keys in SDP, and takes them from it, only on TLS. The policy
// (media.srtp, an agent's own srtp) applies to calls signalled over TLS; on udp and tcp the
// audio is plain, and a policy of required refuses such calls rather than fall back.

// ErrSRTPNeedsTLS: SRTP is required but the call is signalled over udp or tcp, where its keys
// would travel in the clear.
var ErrSRTPNeedsTLS = errors.New("SRTP is required and its keys travel only over TLS")

// srtpPolicies is the policy for calls in general and for each agent that has its own.
type srtpPolicies struct {
	all    media.SRTPPolicy
	agents map[string]media.SRTPPolicy
}

func parseSRTPPolicies(all string, agents map[string]string) (srtpPolicies, error) {
	p := srtpPolicies{agents: map[string]media.SRTPPolicy{}}
	var err error
	if all == "" {
		all = "optional"
	}
	if p.all, err = media.ParseSRTPPolicy(all); err != nil {
		return p, fmt.Errorf("sip: srtp: %w", err)
	}
	for a, v := range agents {
		if v == "" {
			continue
		}
		if p.agents[a], err = media.ParseSRTPPolicy(v); err != nil {
			return p, fmt.Errorf("sip: srtp of agent %s: %w", a, err)
		}
	}
	return p, nil
}

// forCall is the policy of a call with agent ("" for a caller) on a connection that is or is
// not TLS: off on udp and tcp, unless required, which refuses the call.
func (p srtpPolicies) forCall(agent string, tls bool) (media.SRTPPolicy, error) {
	policy := p.all
	if own, ok := p.agents[agent]; ok && agent != "" {
		policy = own
	}
	switch {
	case tls:
		return policy, nil
	case policy == media.SRTPRequired:
		return policy, ErrSRTPNeedsTLS
	}
	return media.SRTPOff, nil
}

// errSRTP: an offer whose media protection hotline will not take (RFC 4568 §7.5: 488).
func errSRTP(err error) *StatusError {
	text := "SRTP not acceptable"
	switch {
	case errors.Is(err, ErrSRTPNeedsTLS):
		text = "SRTP required: call over TLS (sips: or ;transport=tls)"
	case errors.Is(err, media.ErrSRTPRequired):
		text = "SRTP required: offer RTP/SAVP or a=crypto"
	case errors.Is(err, media.ErrSRTPRefused):
		text = "SRTP keys are accepted only over TLS, or SRTP is off"
	}
	return &StatusError{Status: 488, Reason: "Not Acceptable Here", Label: "srtp", WarnCode: 399, WarnText: text, Err: err}
}

// isSRTPError says whether a negotiation failed on media protection rather than codecs.
func isSRTPError(err error) bool {
	return errors.Is(err, media.ErrSRTPRequired) || errors.Is(err, media.ErrSRTPRefused) || errors.Is(err, ErrSRTPNeedsTLS)
}
