package audio

import "math"

// tone returns n samples of a sine at freq Hz, sampled at rate Hz, with peak amplitude amp.
func tone(freq, rate, amp float64, n int) []int16 {
	out := make([]int16, n)
	for i := range out {
		out[i] = int16(math.Round(amp * math.Sin(2*math.Pi*freq*float64(i)/rate)))
	}
	return out
}

// frequency estimates the frequency of a tone from its zero crossings (linearly
// interpolated between samples).
func frequency(pcm []int16, rate float64) float64 {
	var first, last float64
	n := 0
	for i := 1; i < len(pcm); i++ {
		a, b := float64(pcm[i-1]), float64(pcm[i])
		if a < 0 && b >= 0 { // rising crossing
			x := float64(i-1) + (-a)/(b-a)
			if n == 0 {
				first = x
			}
			last = x
			n++
		}
	}
	if n < 2 {
		return 0
	}
	return float64(n-1) * rate / (last - first)
}

// within reports whether got is within frac (relative) of want.
func within(got, want, frac float64) bool {
	return math.Abs(got-want) <= math.Abs(want)*frac
}
