package audio

import (
	"math"
	"time"
)

// SampleRate is the rate of telephone audio (G.711, RFC 3551 §4.5.14): what ReadWAV returns
// and what WAVWriter takes, 8 kHz mono.
const SampleRate = 8000

// DefaultMaxRecording is how long a recording runs when the flow sets no limit, in every
// driver (call.RecordOptions.MaxDuration 0).
const DefaultMaxRecording = 5 * time.Minute

// DefaultSilenceThreshold is the frame RMS below which a frame counts as silence: about
// -42 dBFS, Asterisk's default for Record() and above the idle noise of a G.711 line.
const DefaultSilenceThreshold = 256

// RMS returns the root mean square level of pcm (0 for no samples). A full-scale sine has
// an RMS of about 23170; speech on a telephone line is typically 1000–5000.
func RMS(pcm []int16) float64 {
	if len(pcm) == 0 {
		return 0
	}
	var sum float64
	for _, s := range pcm {
		v := float64(s)
		sum += v * v
	}
	return math.Sqrt(sum / float64(len(pcm)))
}
