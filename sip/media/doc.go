// Package media moves a call's audio over RTP: SDP, G.711 payloads, paced playback, RFC 4733
// DTMF, recordings, bridging and conferences. It must not know SIP dialogs, nor import
// hotline packages other than audio (WAV files, G.711 companding and resampling live there).
//
// The layers are small and stack in this order, each usable and tested alone:
//
//	codec.go            RTP payload formats: PCM16 ↔ G.711 µ-law/A-law via package audio
//	dtmf.go             RFC 4733 telephone-event payloads, decoder and sender
//	pacer.go            20 ms frame schedule on an injectable Clock
//	session.go          one RTP socket: Play, Digits, SendDigit, taps, Relay, inactivity
//	conference.go       mixing 2 to 8 sessions: each hears the others, never itself
//	sdp.go              SDP offer/answer for one audio stream (RFC 3264, RFC 4566)
//	record.go           recording end conditions (max duration, silence) on an audio.WAVWriter
//	audio.go            forwarders to package audio (WAV prompts in, recordings out)
//
// Everything on the packet path reuses its buffers: sending or receiving a packet does not
// allocate.
package media
