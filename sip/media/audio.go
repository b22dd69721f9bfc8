package media

import (
	"io"

	"github.com/hotline-cc/hotline/audio"
)

// WAV files, G.711 and levels live in package audio; these forwarders keep the SIP driver's
// calls working while they move over.

// SampleRate is the rate of all PCM this package hands out and takes in: 8 kHz mono, the
// rate of G.711 and of its RTP clock (RFC 3551 §4.5.14).
const SampleRate = audio.SampleRate

// WAVWriter streams 8 kHz mono PCM16 to a WAV file (see audio.WAVWriter).
type WAVWriter = audio.WAVWriter

// NewWAVWriter returns a writer of 8 kHz mono PCM16 WAV to w.
//
// Deprecated: use audio.NewWAVWriter.
func NewWAVWriter(w io.WriteSeeker) *WAVWriter { return audio.NewWAVWriter(w) }

// ReadWAV reads a WAV file as 8 kHz mono PCM16.
//
// Deprecated: use audio.ReadWAV.
func ReadWAV(r io.Reader) ([]int16, error) { return audio.ReadWAV(r) }

// LoadWAVFile reads the WAV file at path as 8 kHz mono PCM16.
//
// Deprecated: use audio.LoadWAVFile.
func LoadWAVFile(path string) ([]int16, error) { return audio.LoadWAVFile(path) }

// RMS returns the root mean square level of pcm.
//
// Deprecated: use audio.RMS.
func RMS(pcm []int16) float64 { return audio.RMS(pcm) }
