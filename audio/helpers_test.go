package audio

import "math"

// tone and frequency make and measure the test tones (audio.Tone, audio.Frequency).
var tone, frequency = Tone, Frequency

// within reports whether got is within frac (relative) of want.
func within(got, want, frac float64) bool {
	return math.Abs(got-want) <= math.Abs(want)*frac
}
