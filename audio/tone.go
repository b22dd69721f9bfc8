package audio

import "math"

// Tone is n samples of a sine at freq Hz, sampled at rate Hz, with peak amplitude amp: a
// test signal whose frequency Frequency finds again, so each party of a call can be given
// its own tone and heard where it should be.
func Tone(freq, rate, amp float64, n int) []int16 {
	out := make([]int16, n)
	for i := range out {
		out[i] = int16(math.Round(amp * math.Sin(2*math.Pi*freq*float64(i)/rate)))
	}
	return out
}

// Frequency estimates the frequency of a tone in pcm (sampled at rate Hz) from its rising
// zero crossings, linearly interpolated between samples; 0 when there are fewer than two.
func Frequency(pcm []int16, rate float64) float64 {
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

// Goertzel returns the power of the freq Hz component of pcm (sampled at rate Hz), as a
// mean square in sample units: a sine of amplitude A at freq gives A²/2, its RMS squared,
// whatever else is mixed in with it, so sqrt(Goertzel) compares with RMS. It evaluates the
// one DFT term at freq (Goertzel's recurrence, exact for any frequency, not only a bin's),
// over a rectangular window: a tone f Hz away leaks in at most about
// (rate/(π·f·len(pcm)))² of its power. 0 for no samples.
func Goertzel(pcm []int16, rate, freq float64) float64 {
	if len(pcm) == 0 {
		return 0
	}
	coeff := 2 * math.Cos(2*math.Pi*freq/rate)
	var s1, s2 float64
	for _, x := range pcm {
		s1, s2 = float64(x)+coeff*s1-s2, s1
	}
	n := float64(len(pcm))
	return 2 * (s1*s1 + s2*s2 - coeff*s1*s2) / (n * n)
}
