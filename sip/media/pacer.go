package media

import (
	"context"
	"time"
)

// Clock is the time source of a Pacer and a Session. The real one is SystemClock; tests
// inject a simulated clock so that minutes of playback run in milliseconds.
type Clock interface {
	Now() time.Time
	// NewTimer returns a stopped-or-running timer that fires once after d, like time.NewTimer.
	NewTimer(d time.Duration) Timer
}

// Timer is the part of *time.Timer a Pacer needs.
type Timer interface {
	C() <-chan time.Time
	// Reset re-arms the timer to fire after d. As with time.Timer since Go 1.23, no stale
	// value is received after Reset or Stop returns.
	Reset(d time.Duration) bool
	Stop() bool
}

// SystemClock is the wall clock (with Go's monotonic reading).
var SystemClock Clock = systemClock{}

type systemClock struct{}

func (systemClock) Now() time.Time                 { return time.Now() }
func (systemClock) NewTimer(d time.Duration) Timer { return systemTimer{time.NewTimer(d)} }

type systemTimer struct{ t *time.Timer }

func (t systemTimer) C() <-chan time.Time        { return t.t.C }
func (t systemTimer) Reset(d time.Duration) bool { return t.t.Reset(d) }
func (t systemTimer) Stop() bool                 { return t.t.Stop() }

// FrameInterval is the packetisation time hotline sends: 20 ms (RFC 3551 §4.5, a=ptime:20).
const FrameInterval = 20 * time.Millisecond

// maxLag is how far behind schedule a Pacer may fall before it gives up catching up. A
// process stalled for longer (a VM paused, a debugger) would otherwise send the missed
// frames in one burst that the far end's jitter buffer throws away.
const maxLag = time.Second

// Pacer releases frames on a fixed schedule: frame n at start + n·interval. It sleeps until
// each absolute deadline, so waking late for one frame does not delay the following ones
// and there is no cumulative drift. Only if it falls more than a second behind does it
// move its schedule rather than burst.
//
// A Pacer is used by one goroutine at a time; it is not safe for concurrent use.
type Pacer struct {
	clock    Clock
	interval time.Duration
	start    time.Time
	n        int64
	timer    Timer
	resyncs  int
}

// NewPacer returns a pacer with the given frame interval (FrameInterval if 0) whose frame 0
// is due at the first Wait.
func NewPacer(clock Clock, interval time.Duration) *Pacer {
	if clock == nil {
		clock = SystemClock
	}
	if interval <= 0 {
		interval = FrameInterval
	}
	return &Pacer{clock: clock, interval: interval}
}

// Wait blocks until the next frame is due and returns nil, or returns ctx.Err() if ctx
// ends first. The first call returns at once and fixes the schedule's start.
func (p *Pacer) Wait(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	now := p.clock.Now()
	if p.n == 0 {
		p.start = now
		p.n = 1
		return nil
	}
	deadline := p.start.Add(time.Duration(p.n) * p.interval)
	if lag := now.Sub(deadline); lag > maxLag {
		// Resume the schedule from now: frame n is due now.
		p.start = now.Add(-time.Duration(p.n) * p.interval)
		p.resyncs++
		deadline = now
	}
	p.n++
	d := deadline.Sub(now)
	if d <= 0 {
		return nil
	}
	if p.timer == nil {
		p.timer = p.clock.NewTimer(d)
	} else {
		p.timer.Reset(d)
	}
	select {
	case <-p.timer.C():
		return nil
	case <-ctx.Done():
		p.timer.Stop()
		return ctx.Err()
	}
}

// Frames returns how many frames have been released.
func (p *Pacer) Frames() int64 { return p.n }

// Resyncs returns how often the pacer fell more than a second behind and moved its schedule.
func (p *Pacer) Resyncs() int { return p.resyncs }

// Stop releases the pacer's timer.
func (p *Pacer) Stop() {
	if p.timer != nil {
		p.timer.Stop()
	}
}
