package media

import (
	"math/rand/v2"
	"sync"
	"time"
)

// simClock is simulated time that runs as fast as the code using it: a timer fires as soon
// as it is armed, after moving the clock to its deadline plus a random wake-up delay
// (jitter), as a loaded machine would. Safe for concurrent use.
type simClock struct {
	mu     sync.Mutex
	now    time.Time
	jitter func() time.Duration // extra lateness of each wake-up; nil for none
	wakes  int
}

func newSimClock() *simClock {
	return &simClock{now: time.Date(2025, 1, 1, 9, 0, 0, 0, time.UTC)}
}

func (c *simClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves simulated time forward (a stall of the whole process).
func (c *simClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func (c *simClock) NewTimer(d time.Duration) Timer {
	t := &simTimer{c: c, ch: make(chan time.Time, 1)}
	t.Reset(d)
	return t
}

// uniformJitter returns wake-up delays uniformly distributed in [0, max).
func uniformJitter(seed uint64, max time.Duration) func() time.Duration {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	return func() time.Duration { return time.Duration(r.Int64N(int64(max))) }
}

type simTimer struct {
	c  *simClock
	ch chan time.Time
}

func (t *simTimer) C() <-chan time.Time { return t.ch }

func (t *simTimer) Reset(d time.Duration) bool {
	t.Stop()
	c := t.c
	c.mu.Lock()
	wake := c.now.Add(max(d, 0))
	if c.jitter != nil {
		wake = wake.Add(c.jitter())
	}
	if wake.After(c.now) {
		c.now = wake
	}
	c.wakes++
	now := c.now
	c.mu.Unlock()
	t.ch <- now
	return true
}

func (t *simTimer) Stop() bool {
	select {
	case <-t.ch:
		return true
	default:
		return false
	}
}
