package audio

import (
	"fmt"
	"math"
	"testing"
)

// A 1 kHz prompt recorded at any common rate plays at 1 kHz and at the same level on the
// phone: no pitch shift (wrong ratio) and no level loss (wrong filter gain).
func TestResampleKeepsToneFrequencyAndLevel(t *testing.T) {
	for _, rate := range []int{8000, 11025, 16000, 22050, 32000, 44100, 48000} {
		t.Run(fmt.Sprint(rate), func(t *testing.T) {
			in := tone(1000, float64(rate), 10000, rate) // 1 s
			out := Resample(in, rate, 8000)
			if len(out) != 8000 {
				t.Fatalf("1 s at %d Hz gave %d samples, want 8000", rate, len(out))
			}
			mid := out[400 : len(out)-400] // skip the filter's edge transients
			if f := frequency(mid, 8000); !within(f, 1000, 0.002) {
				t.Errorf("frequency %.2f Hz, want 1000", f)
			}
			if r := RMS(mid); !within(r, 10000/math.Sqrt2, 0.01) {
				t.Errorf("RMS %.0f, want %.0f ±1%%", r, 10000/math.Sqrt2)
			}
		})
	}
}

// Sound above 4 kHz cannot be carried at 8 kHz; if it is not filtered out it folds back
// into the speech band as an audible whistle. 6 kHz from 48 kHz would alias to 2 kHz, and
// 4.5 kHz from 44.1 kHz to 3.5 kHz.
func TestResampleRejectsAliases(t *testing.T) {
	for _, c := range []struct{ rate, freq int }{{48000, 6000}, {44100, 4500}, {22050, 5000}, {16000, 7000}, {11025, 5000}} {
		in := tone(float64(c.freq), float64(c.rate), 10000, c.rate)
		if out := Resample(in, c.rate, 8000); RMS(out[400:len(out)-400]) > 1 {
			t.Errorf("%d Hz at %d Hz: RMS %.1f left after resampling", c.freq, c.rate, RMS(out))
		}
		// Measure before rounding to int16, where the residue is far below one LSB.
		f := make([]float64, len(in))
		for i, s := range in {
			f[i] = float64(s)
		}
		out := resampleFloat(f, c.rate, 8000)[400 : 8000-400]
		var sum float64
		for _, v := range out {
			sum += v * v
		}
		att := 20 * math.Log10(RMS(in)/math.Sqrt(sum/float64(len(out))))
		t.Logf("%d Hz at %d Hz: attenuated by %.1f dB", c.freq, c.rate, att)
		if att < 40 {
			t.Errorf("%d Hz at %d Hz: attenuated by %.1f dB, want > 40 dB", c.freq, c.rate, att)
		}
	}
}

// The top of the telephone band (3.4 kHz) must still pass nearly unchanged.
func TestResamplePassesTelephoneBand(t *testing.T) {
	for _, f := range []float64{300, 3000, 3400} {
		in := tone(f, 48000, 10000, 48000)
		out := Resample(in, 48000, 8000)
		loss := 20 * math.Log10(RMS(in)/RMS(out[400:len(out)-400]))
		if loss > 1 || loss < -0.1 {
			t.Errorf("%v Hz: level changed by %.2f dB, want within 1 dB", f, -loss)
		}
	}
}

func TestResampleEdgeCases(t *testing.T) {
	if Resample([]int16{1, 2}, 0, 8000) != nil {
		t.Error("rate 0 accepted")
	}
	in := []int16{1, 2, 3}
	out := Resample(in, 8000, 8000)
	out[0] = 9
	if in[0] != 1 {
		t.Error("same-rate resample did not copy")
	}
	// Upsampling works too (8 kHz → 16 kHz), for callers that need it.
	up := Resample(tone(1000, 8000, 8000, 8000), 8000, 16000)
	if f := frequency(up[800:len(up)-800], 16000); !within(f, 1000, 0.002) {
		t.Errorf("upsampled tone at %.1f Hz", f)
	}
	// Full-scale square waves overshoot (Gibbs) and must clip, not wrap around.
	sq := make([]int16, 4800)
	for i := range sq {
		if (i/24)%2 == 0 {
			sq[i] = math.MaxInt16
		} else {
			sq[i] = math.MinInt16
		}
	}
	out = Resample(sq, 48000, 8000)
	for k := 10; k < 90; k++ {
		if p1, p2, n1, n2 := out[8*k+1], out[8*k+2], out[8*k+5], out[8*k+6]; p1 < 20000 || p2 < 20000 || n1 > -20000 || n2 > -20000 {
			t.Fatalf("square wave period %d resampled to %d %d / %d %d: overshoot wrapped around", k, p1, p2, n1, n2)
		}
	}
}
