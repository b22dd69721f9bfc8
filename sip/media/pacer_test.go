package media

import (
	"context"
	"errors"
	"testing"
	"time"
)

// Ten minutes of prompt playback send exactly 30,000 packets of 20 ms — with or without
// late wake-ups. A pacer that slept "20 ms after the last packet" would drift by the sum of
// all wake-up delays and send noticeably fewer (the far end hears gaps and the prompt
// takes longer than it should).
func TestPacerNoDriftOverTenMinutes(t *testing.T) {
	for _, c := range []struct {
		name   string
		jitter time.Duration
	}{{"exact", 0}, {"jitter 5ms", 5 * time.Millisecond}, {"jitter 15ms", 15 * time.Millisecond}, {"jitter 60ms", 60 * time.Millisecond}} {
		t.Run(c.name, func(t *testing.T) {
			clk := newSimClock()
			if c.jitter > 0 {
				clk.jitter = uniformJitter(42, c.jitter)
			}
			p := NewPacer(clk, FrameInterval)
			defer p.Stop()
			start := clk.Now()
			end := start.Add(10 * time.Minute)
			frames := 0
			var maxLate time.Duration
			for {
				if err := p.Wait(context.Background()); err != nil {
					t.Fatal(err)
				}
				now := clk.Now()
				if !now.Before(end) {
					break
				}
				due := start.Add(time.Duration(frames) * FrameInterval)
				if now.Before(due) {
					t.Fatalf("frame %d released %v early", frames, due.Sub(now))
				}
				maxLate = max(maxLate, now.Sub(due))
				frames++
			}
			if frames < 29999 || frames > 30001 {
				t.Errorf("%d packets in 10 minutes, want 30000 ±1", frames)
			}
			// No drift: a frame is never later than one wake-up delay.
			if maxLate > c.jitter {
				t.Errorf("a frame was %v late with wake-up jitter below %v: the schedule drifted", maxLate, c.jitter)
			}
			if p.Resyncs() != 0 {
				t.Errorf("%d resyncs", p.Resyncs())
			}
		})
	}
}

// After a stall of seconds the pacer resumes at 20 ms spacing instead of firing all the
// missed frames at once (which the far end would discard as a burst).
func TestPacerStallDoesNotBurst(t *testing.T) {
	clk := newSimClock()
	p := NewPacer(clk, FrameInterval)
	defer p.Stop()
	ctx := context.Background()
	for range 10 {
		_ = p.Wait(ctx)
	}
	clk.Advance(5 * time.Second)
	_ = p.Wait(ctx)
	resumed := clk.Now()
	for i := 1; i <= 5; i++ {
		_ = p.Wait(ctx)
		if got := clk.Now().Sub(resumed); got != time.Duration(i)*FrameInterval {
			t.Fatalf("frame %d after the stall at +%v, want +%v", i, got, time.Duration(i)*FrameInterval)
		}
	}
	if p.Resyncs() != 1 {
		t.Errorf("%d resyncs, want 1", p.Resyncs())
	}
	// A short hiccup (under a second) is caught up instead: frames follow back to back.
	clk.Advance(100 * time.Millisecond)
	before := clk.Now()
	for range 5 {
		_ = p.Wait(ctx)
	}
	if clk.Now() != before {
		t.Errorf("catching up 100 ms took %v of schedule, want 0", clk.Now().Sub(before))
	}
}

func TestPacerCancel(t *testing.T) {
	p := NewPacer(nil, time.Hour) // system clock
	defer p.Stop()
	ctx, cancel := context.WithCancel(context.Background())
	if err := p.Wait(ctx); err != nil {
		t.Fatalf("first frame: %v", err)
	}
	go func() { time.Sleep(10 * time.Millisecond); cancel() }()
	if err := p.Wait(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Wait = %v, want context.Canceled", err)
	}
	if err := p.Wait(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Wait after cancel = %v", err)
	}
}

// With the real clock the pacer never releases frames early (6 frames span ≥ 100 ms).
func TestPacerSystemClockNotEarly(t *testing.T) {
	p := NewPacer(SystemClock, 0)
	defer p.Stop()
	start := time.Now()
	for range 6 {
		if err := p.Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if el := time.Since(start); el < 100*time.Millisecond {
		t.Errorf("6 frames in %v, want at least 100 ms", el)
	}
}
