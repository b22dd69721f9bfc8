package media

import (
	"math/rand/v2"
	"time"

	"github.com/hotline-cc/hotline/internal/fakeclock"
)

// simClock is simulated time that runs as fast as the code using it: a timer fires as soon
// as it is armed, after moving the clock to its deadline plus a random wake-up delay
// (jitter), as a loaded machine would. Safe for concurrent use.
type simClock struct {
	*fakeclock.Clock
	jitter func() time.Duration // extra lateness of each wake-up; nil for none
}

func newSimClock() *simClock {
	c := &simClock{}
	c.Clock = fakeclock.New(time.Date(2025, 1, 1, 9, 0, 0, 0, time.UTC), fakeclock.WithLateWakeups(func() time.Duration {
		if c.jitter == nil {
			return 0
		}
		return c.jitter()
	}))
	return c
}

// NewTimer is fakeclock's timer as the media Timer.
func (c *simClock) NewTimer(d time.Duration) Timer { return c.Clock.NewTimer(d) }

// uniformJitter returns wake-up delays uniformly distributed in [0, max).
func uniformJitter(seed uint64, max time.Duration) func() time.Duration {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	return func() time.Duration { return time.Duration(r.Int64N(int64(max))) }
}
