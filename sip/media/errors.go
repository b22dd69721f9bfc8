package media

import "errors"

// Sentinel errors. Functions wrap them with details (%w), so test with errors.Is.
var (
	// SDP (sdp.go)
	ErrMalformedSDP         = errors.New("sdp: malformed")
	ErrNoAudio              = errors.New("sdp: no audio media line")
	ErrAudioRejected        = errors.New("sdp: audio media line rejected (port 0)")
	ErrUnsupportedTransport = errors.New("sdp: unsupported audio transport (want RTP/AVP or RTP/SAVP)")
	ErrNoConnection         = errors.New("sdp: no connection address (c=) for audio")
	ErrBadConnection        = errors.New("sdp: bad connection address")
	ErrBadPayloadType       = errors.New("sdp: bad payload type")
	ErrNoCommonCodec        = errors.New("sdp: no common codec")

	// SRTP with SDES keys (sdes.go, srtp.go). ErrSRTPRequired and ErrSRTPRefused answer an
	// offer with 488 Not Acceptable Here; the others describe an a=crypto line skipped.
	ErrBadSRTPPolicy     = errors.New("srtp: bad policy")
	ErrUnknownSuite      = errors.New("sdp: unknown SRTP crypto suite")
	ErrBadCrypto         = errors.New("sdp: malformed a=crypto")
	ErrUnsupportedCrypto = errors.New("sdp: a=crypto asks for what hotline cannot honour")
	ErrSRTPRequired      = errors.New("srtp: SRTP required, the peer offers or answers plain RTP")
	ErrSRTPRefused       = errors.New("srtp: the peer wants SRTP hotline cannot give")
	ErrBadSRTPKeys       = errors.New("srtp: bad keys")

	// RFC 4733 DTMF (dtmf.go)
	ErrShortDTMFPayload = errors.New("dtmf: payload shorter than 4 bytes")
	ErrNotDTMFDigit     = errors.New("dtmf: not a DTMF digit (want 0-9, *, #, A-D)")

	// WAV files: audio.ErrNotWAV, audio.ErrUnsupportedWAV, audio.ErrWAVTooLong, audio.ErrWAVClosed

	// RTP session (session.go, port.go, conference.go)
	ErrSessionClosed     = errors.New("rtp: session closed")
	ErrInactive          = errors.New("rtp: no RTP received within the inactivity timeout")
	ErrNoTelephoneEvent  = errors.New("rtp: telephone-event not negotiated")
	ErrUnsupportedCodec  = errors.New("rtp: codec not supported (want PCMU or PCMA)")
	ErrRelayBusy         = errors.New("rtp: session is already relaying")
	ErrRelaySelf         = errors.New("rtp: cannot relay a session to itself")
	ErrCallRecordingBusy = errors.New("rtp: the session's conversation is being recorded already")
	ErrConferenceLegs    = errors.New("rtp: a conference mixes 2 to 8 distinct sessions")
	ErrNoFreePort        = errors.New("rtp: no free RTP/RTCP port pair (even port and the odd one above it) in range")
	ErrBadPortRange      = errors.New("rtp: bad port range")
)
