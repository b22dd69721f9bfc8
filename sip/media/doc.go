// Package media moves a call's audio over RTP: SDP, G.711, paced playback, RFC 4733 DTMF, WAV
// prompts, recordings and bridging. It must not know SIP dialogs, nor import hotline packages.
//
// The layers are small and stack in this order, each usable and tested alone:
//
//	g711.go, codec.go   PCM16 ↔ G.711 µ-law/A-law (ITU-T G.711)
//	dtmf.go             RFC 4733 telephone-event payloads, decoder and sender
//	pacer.go            20 ms frame schedule on an injectable Clock
//	session.go          one RTP socket: Play, Digits, SendDigit, taps, Relay, inactivity
//	sdp.go              SDP offer/answer for one audio stream (RFC 3264, RFC 4566)
//	wav.go, resample.go prompts in (any common rate, resampled to 8 kHz) and recordings out
//	record.go           recording end conditions (max duration, silence)
//
// Everything on the packet path reuses its buffers: sending or receiving a packet does not
// allocate.
package media
