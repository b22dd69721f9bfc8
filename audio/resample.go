package audio

import (
	"math"
	"sync"
)

// Band-limited resampling with a Kaiser-windowed sinc low-pass (J. O. Smith, "Digital Audio
// Resampling", bandlimited interpolation). The kernel is tabulated once and linearly
// interpolated, so any rate pair works, including 44.1 kHz and 22.05 kHz against 8 kHz.
//
// For the 8 kHz target the cut-off is 3.6 kHz and the Kaiser window (β = 9, 24 lobes each
// side) reaches its ≈ -90 dB stop band by about 4 kHz: nothing above the telephone band
// aliases back into it, and the 300–3400 Hz speech band passes flat.
const (
	resampleLobes      = 24   // sinc zero crossings on each side of the centre tap
	resampleOversample = 512  // kernel table entries per lobe
	resampleBeta       = 9.0  // Kaiser β: ≈ 90 dB side-lobe rejection
	resampleCutoff     = 0.45 // cut-off as a fraction of the lower of the two rates
)

var resampleKernel = sync.OnceValue(func() []float64 {
	n := resampleLobes*resampleOversample + 2
	k := make([]float64, n)
	i0b := besselI0(resampleBeta)
	for i := range k {
		x := float64(i) / resampleOversample // in lobes
		if x >= resampleLobes {
			break // tail stays zero
		}
		r := x / resampleLobes
		w := besselI0(resampleBeta*math.Sqrt(1-r*r)) / i0b
		k[i] = sinc(x) * w
	}
	return k
})

func sinc(x float64) float64 {
	if x == 0 {
		return 1
	}
	return math.Sin(math.Pi*x) / (math.Pi * x)
}

// besselI0 is the modified Bessel function of the first kind, order 0 (power series).
func besselI0(x float64) float64 {
	sum, term := 1.0, 1.0
	for k := 1; k < 64; k++ {
		term *= (x / (2 * float64(k))) * (x / (2 * float64(k)))
		sum += term
		if term < sum*1e-17 {
			break
		}
	}
	return sum
}

// Resample converts mono PCM from fromRate to toRate (Hz). Both rates must be positive;
// equal rates return a copy. The output has len(pcm)*toRate/fromRate samples.
func Resample(pcm []int16, fromRate, toRate int) []int16 {
	if fromRate <= 0 || toRate <= 0 {
		return nil
	}
	if fromRate == toRate {
		return append([]int16(nil), pcm...)
	}
	in := make([]float64, len(pcm))
	for i, s := range pcm {
		in[i] = float64(s)
	}
	f := resampleFloat(in, fromRate, toRate)
	out := make([]int16, len(f))
	for i, v := range f {
		out[i] = clip16(v)
	}
	return out
}

// maxPolyphase bounds the precomputed filter bank; rate pairs needing more phases (e.g.
// 11025 → 8000 needs 320, 44101 → 8000 needs 8000), and inputs too short to amortise the
// bank, interpolate the kernel per tap instead.
const maxPolyphase = 256

func resampleFloat(in []float64, fromRate, toRate int) []float64 {
	kernel := resampleKernel()
	out := make([]float64, int64(len(in))*int64(toRate)/int64(fromRate))

	// Cut-off in cycles per input sample; the kernel's lobes are 1/(2fc) input samples wide.
	fc := resampleCutoff * float64(min(fromRate, toRate)) / float64(fromRate)
	lobesPerSample := 2 * fc
	half := int(math.Ceil(resampleLobes/lobesPerSample)) + 1
	// tap is the filter weight for an input sample τ input samples away from the output
	// instant, including the gain that keeps DC at unity.
	tap := func(tau float64) float64 {
		x := math.Abs(tau) * lobesPerSample * resampleOversample
		i := int(x)
		if i >= len(kernel)-1 {
			return 0
		}
		f := x - float64(i)
		return (kernel[i] + f*(kernel[i+1]-kernel[i])) * lobesPerSample
	}

	g := gcd(fromRate, toRate)
	phases := toRate / g
	var bank [][]float64                                // bank[p][j]: weight of input sample ci-half+j at phase p
	if phases <= maxPolyphase && len(out) >= 4*phases { // worth building only if reused

		bank = make([][]float64, phases)
		for p := range bank {
			frac := float64(p) / float64(phases)
			w := make([]float64, 2*half+1)
			for j := range w {
				w[j] = tap(float64(half-j) + frac)
			}
			bank[p] = w
		}
	}
	for n := range out {
		// Exact position of output sample n on the input grid: n·from/to = ci + p/phases.
		num := int64(n) * int64(fromRate)
		ci := int(num / int64(toRate))
		p := int(num%int64(toRate)) / g
		lo, hi := max(ci-half, 0), min(ci+half, len(in)-1)
		var acc float64
		if bank != nil {
			w := bank[p][lo-(ci-half):]
			for k, x := range in[lo : hi+1] {
				acc += x * w[k]
			}
		} else {
			frac := float64(p) / float64(phases)
			for k := lo; k <= hi; k++ {
				acc += in[k] * tap(float64(ci-k)+frac)
			}
		}
		out[n] = acc
	}
	return out
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

func clip16(v float64) int16 {
	v = math.Round(v)
	switch {
	case v > math.MaxInt16:
		return math.MaxInt16
	case v < math.MinInt16:
		return math.MinInt16
	}
	return int16(v)
}
