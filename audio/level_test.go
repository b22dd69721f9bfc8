package audio

import "testing"

func TestRMS(t *testing.T) {
	if RMS(nil) != 0 {
		t.Error("RMS(nil) != 0")
	}
	if r := RMS([]int16{3, -3, 3, -3}); r != 3 {
		t.Errorf("RMS = %v", r)
	}
	if r := RMS(tone(1000, 8000, 32767, 8000)); !within(r, 23170, 0.001) {
		t.Errorf("full-scale sine RMS = %.0f, want 23170", r)
	}
}
