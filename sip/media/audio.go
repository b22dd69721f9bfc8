package media

import "github.com/hotline-cc/hotline/audio"

// SampleRate is the rate of all PCM this package hands out and takes in: 8 kHz mono, the
// rate of G.711 and of its RTP clock (RFC 3551 §4.5.14). WAV files, G.711 and levels live in
// package audio.
const SampleRate = audio.SampleRate
