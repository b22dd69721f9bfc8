package sip

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// throttle is a slog.Handler that lets each message through at most burst times per window
// and then reports how many were suppressed. A flood of malformed packets (a scanner, a
// broken phone) must not drown the log; the first few of each kind are kept.
type throttle struct {
	next   slog.Handler
	burst  int
	window time.Duration
	state  *throttleState
}

type throttleState struct {
	mu     sync.Mutex
	counts map[string]*msgCount
}

type msgCount struct {
	start      time.Time
	n          int
	suppressed int
}

func newThrottle(next slog.Handler, burst int, window time.Duration) *throttle {
	return &throttle{next: next, burst: burst, window: window, state: &throttleState{counts: map[string]*msgCount{}}}
}

func (t *throttle) Enabled(ctx context.Context, l slog.Level) bool { return t.next.Enabled(ctx, l) }

func (t *throttle) Handle(ctx context.Context, r slog.Record) error {
	if r.Level < slog.LevelInfo {
		return t.next.Handle(ctx, r) // debug is opt-in: no throttling
	}
	s := t.state
	s.mu.Lock()
	c := s.counts[r.Message]
	if c == nil || r.Time.Sub(c.start) > t.window {
		if c != nil && c.suppressed > 0 {
			sum := slog.NewRecord(r.Time, slog.LevelWarn, "log messages suppressed", 0)
			sum.AddAttrs(slog.String("message", r.Message), slog.Int("count", c.suppressed), slog.Duration("window", t.window))
			s.mu.Unlock()
			_ = t.next.Handle(ctx, sum)
			s.mu.Lock()
		}
		if len(s.counts) > 1000 { // bounded: forget everything rather than grow
			clear(s.counts)
		}
		c = &msgCount{start: r.Time}
		s.counts[r.Message] = c
	}
	c.n++
	pass := c.n <= t.burst
	if !pass {
		c.suppressed++
	}
	s.mu.Unlock()
	if !pass {
		return nil
	}
	return t.next.Handle(ctx, r)
}

func (t *throttle) WithAttrs(as []slog.Attr) slog.Handler {
	return &throttle{next: t.next.WithAttrs(as), burst: t.burst, window: t.window, state: t.state}
}

func (t *throttle) WithGroup(name string) slog.Handler {
	return &throttle{next: t.next.WithGroup(name), burst: t.burst, window: t.window, state: t.state}
}
