// Package fakeclock is time for tests: a Clock moves only when a test moves it (Set,
// Advance), and a timer armed on it fires at once, after moving the clock to its deadline, so
// waits, wrap-ups, retries and paced media run in microseconds and nothing sleeps.
// It must not reach production code: it never reads the wall clock.
package fakeclock

import (
	"sync"
	"time"
)

// Clock is settable time, safe for concurrent use. Its Now method satisfies the clock
// interfaces of acd, customers, recordings and sip/media (with NewTimer).
type Clock struct {
	mu   sync.Mutex
	now  time.Time
	late func() time.Duration
}

// Option configures a Clock.
type Option func(*Clock)

// WithLateWakeups makes each timer fire late() after its deadline (late() ≥ 0), as a loaded
// machine wakes late: the jitter a pacer must absorb without drifting.
func WithLateWakeups(late func() time.Duration) Option { return func(c *Clock) { c.late = late } }

// New returns a clock that reads t until it is moved.
func New(t time.Time, opts ...Option) *Clock {
	c := &Clock{now: t}
	for _, o := range opts {
		o(c)
	}
	return c
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Set moves the clock to t, forward or back.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

// Advance moves the clock by d (a stall of the whole process, for code that paces itself).
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// NewTimer returns a timer armed for d (see Timer.Reset): it has fired by the time NewTimer
// returns.
func (c *Clock) NewTimer(d time.Duration) *Timer {
	t := &Timer{c: c, ch: make(chan time.Time, 1)}
	t.Reset(d)
	return t
}

// Timer is the fake of a *time.Timer: time runs as fast as the code waiting on it. Arming it
// moves the clock to the deadline (plus any late wake-up) unless the clock is already past
// it, and delivers that time on C at once. One goroutine uses a timer at a time.
type Timer struct {
	c  *Clock
	ch chan time.Time
}

// C is the channel the timer fires on.
func (t *Timer) C() <-chan time.Time { return t.ch }

// Reset re-arms the timer for d from now and fires it; a value not yet received is dropped
// first, so none is stale (as with time.Timer since Go 1.23). It reports whether one was.
func (t *Timer) Reset(d time.Duration) bool {
	pending := t.Stop()
	c := t.c
	c.mu.Lock()
	wake := c.now.Add(max(d, 0))
	if c.late != nil {
		wake = wake.Add(c.late())
	}
	if wake.After(c.now) {
		c.now = wake
	}
	now := c.now
	c.mu.Unlock()
	t.ch <- now
	return pending
}

// Stop drops a fired value not yet received and reports whether there was one.
func (t *Timer) Stop() bool {
	select {
	case <-t.ch:
		return true
	default:
		return false
	}
}
