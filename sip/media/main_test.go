package media

import (
	"math"
	"testing"

	"go.uber.org/goleak"

	"github.com/hotline-cc/hotline/audio"
)

// TestMain fails the package if any test leaves a goroutine behind (a session that was not
// closed, a relay that did not stop).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// tone and frequency make and measure the test tones (audio.Tone, audio.Frequency).
var tone, frequency = audio.Tone, audio.Frequency

// within reports whether got is within frac (relative) of want.
func within(got, want, frac float64) bool {
	return math.Abs(got-want) <= math.Abs(want)*frac
}
