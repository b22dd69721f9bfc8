// Package media moves a call's audio over RTP: SDP, G.711 payloads, paced playback, RFC 4733
// DTMF, recordings, bridging and conferences. It must not know SIP dialogs, nor import
// hotline packages other than audio (WAV files, G.711 companding and resampling live there).
//
// The layers are small and stack in this order, each usable and tested alone:
//
//	codec.go            RTP payload formats: PCM16 ↔ G.711 µ-law/A-law via package audio
//	dtmf.go             RFC 4733 telephone-event payloads, decoder and sender
//	pacer.go            20 ms frame schedule on an injectable Clock (DTMF, mixes, recordings)
//	mediaclock.go       the shared media clock that paces every Play: one timer per core
//	session.go          one RTP socket: Play, Digits, SendDigit, taps, Relay, inactivity
//	conference.go       mixing 2 to 8 sessions: each hears the others, never itself
//	sdp.go              SDP offer/answer for one audio stream (RFC 3264, RFC 4566)
//	sdes.go             SRTP keys in SDP (a=crypto, RFC 4568) and the off/optional/required policy
//	srtp.go             SRTP/SRTCP (RFC 3711, pion/srtp) on a session: encrypt on send, decrypt first on receipt
//	record.go           recording end conditions (max duration, silence) on an audio.WAVWriter
//	audio.go            forwarders to package audio (WAV prompts in, recordings out)
//
// Everything on the packet path reuses its buffers: sending or receiving a packet does not
// allocate, with SRTP or without.
//
// SRTP with SDES, as the SIP layer uses it (keys travel in the SDP: only over TLS):
//
//	Offer received:  d, err := ParseSDP(body)
//	                 n, err := NegotiateSRTP(d, codecs, policy) // ErrSRTPRequired/ErrSRTPRefused: 488
//	                 sess.SetRemote(n.Remote); sess.SetCodec(n.Codec, n.DTMFPayloadType)
//	                 err = sess.SetSRTP(n.SRTP)                  // nil: plain RTP
//	                 answer := AnswerSDP(local, id, ver, n)      // n.Profile and n.SRTP.Local's a=crypto
//
//	Offer made:      o, err := NewSRTPOffer(policy)              // nil under SRTPOff
//	                 offer := OfferSDP(local, id, ver, codecs, dtmfPT, WithSRTP(o))
//	                 d, err := ParseSDP(answerBody)
//	                 n, err := NegotiateAnswer(d, codecs, o)     // matches the answer's tag to o's keys
//	                 err = sess.SetSRTP(n.SRTP)
//
// A re-offer received during the call: n.SRTP = n.SRTP.Keep(previous.SRTP) before SetSRTP and
// AnswerSDP keeps hotline's key when the peer kept its own. A re-offer hotline makes (hold)
// keeps its key: HoldOfferSDP(..., WithCrypto(n.Profile, n.SRTP.Local)).
package media
