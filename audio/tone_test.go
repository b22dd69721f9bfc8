package audio

import (
	"math"
	"testing"
)

// Goertzel finds each tone of a mix at its own power, hears nothing where no tone is, and
// is not fooled by a neighbour, a frequency off the DFT bins or a short window.
func TestGoertzelMeasuresEachToneOfAMix(t *testing.T) {
	const n = 1600 // 200 ms
	mix := make([]int16, n)
	for _, f := range []struct{ freq, amp float64 }{{400, 8000}, {700, 4000}, {1100, 2000}} {
		for i, v := range tone(f.freq, 8000, f.amp, n) {
			mix[i] += v
		}
	}
	for _, c := range []struct {
		freq, want float64
	}{
		{400, 8000 * 8000 / 2},
		{700, 4000 * 4000 / 2},
		{1100, 2000 * 2000 / 2},
		{1500, 0},
		{250, 0},
	} {
		got := Goertzel(mix, 8000, c.freq)
		if c.want == 0 {
			if got > 1e-4*8000*8000/2 { // -40 dB below the loudest tone
				t.Errorf("%.0f Hz: power %.0f where no tone is", c.freq, got)
			}
			continue
		}
		if !within(got, c.want, 0.01) {
			t.Errorf("%.0f Hz: power %.0f, want %.0f", c.freq, got, c.want)
		}
	}
}

func TestGoertzelOffBinAndShortWindows(t *testing.T) {
	// 437 Hz over 160 samples (one 20 ms frame) is between bins (50 Hz apart).
	pcm := tone(437, 8000, 10000, 160)
	if got := Goertzel(pcm, 8000, 437); !within(got, 10000*10000/2, 0.05) {
		t.Errorf("437 Hz over one frame: power %.0f, want %.0f", got, 10000.0*10000/2)
	}
	if got := math.Sqrt(Goertzel(pcm, 8000, 437)); !within(got, RMS(pcm), 0.05) {
		t.Errorf("sqrt(power) %.0f, want the tone's RMS %.0f", got, RMS(pcm))
	}
	if Goertzel(nil, 8000, 400) != 0 {
		t.Error("no samples: power != 0")
	}
	if got := Goertzel(make([]int16, 800), 8000, 400); got != 0 {
		t.Errorf("silence: power %v", got)
	}
	// A tone's power does not depend on its phase.
	shifted := tone(700, 8000, 6000, 1000)[3:803]
	if got := Goertzel(shifted, 8000, 700); !within(got, 6000*6000/2, 0.01) {
		t.Errorf("phase-shifted 700 Hz: power %.0f, want %.0f", got, 6000.0*6000/2)
	}
}
