package fakeclock

import (
	"sync"
	"testing"
	"time"
)

var t0 = time.Date(2026, 5, 11, 10, 0, 0, 0, time.UTC)

func TestClockMovesOnlyWhenTold(t *testing.T) {
	c := New(t0)
	if !c.Now().Equal(t0) || !c.Now().Equal(t0) {
		t.Fatalf("a new clock reads %v, want %v", c.Now(), t0)
	}
	c.Advance(90 * time.Second)
	if want := t0.Add(90 * time.Second); !c.Now().Equal(want) {
		t.Errorf("after Advance(90s): %v, want %v", c.Now(), want)
	}
	c.Set(t0.Add(-time.Hour))
	if want := t0.Add(-time.Hour); !c.Now().Equal(want) {
		t.Errorf("after Set back an hour: %v, want %v", c.Now(), want)
	}
}

func TestTimerFiresAtOnceAtItsDeadline(t *testing.T) {
	c := New(t0)
	tm := c.NewTimer(20 * time.Millisecond)
	if got := <-tm.C(); !got.Equal(t0.Add(20 * time.Millisecond)) {
		t.Errorf("fired at %v, want the deadline %v", got, t0.Add(20*time.Millisecond))
	}
	if !c.Now().Equal(t0.Add(20 * time.Millisecond)) {
		t.Errorf("the clock is at %v after the timer, want its deadline", c.Now())
	}
	tm.Reset(-time.Second) // a deadline already past fires now, time does not go back
	if got := <-tm.C(); !got.Equal(t0.Add(20 * time.Millisecond)) {
		t.Errorf("a past deadline fired at %v, want now", got)
	}
}

func TestResetAndStopDropAStaleValue(t *testing.T) {
	c := New(t0)
	tm := c.NewTimer(time.Second) // fired, not received
	if !tm.Reset(time.Second) {
		t.Error("Reset did not report the value it dropped")
	}
	if got := <-tm.C(); !got.Equal(t0.Add(2 * time.Second)) {
		t.Errorf("after Reset the timer gave %v, want the new deadline %v (no stale value)", got, t0.Add(2*time.Second))
	}
	tm.Reset(time.Second)
	if !tm.Stop() || tm.Stop() {
		t.Error("Stop must drop the pending value once")
	}
	select {
	case v := <-tm.C():
		t.Errorf("a stopped timer delivered %v", v)
	default:
	}
}

func TestLateWakeupsAddToEachDeadline(t *testing.T) {
	c := New(t0, WithLateWakeups(func() time.Duration { return 3 * time.Millisecond }))
	tm := c.NewTimer(20 * time.Millisecond)
	if got := <-tm.C(); !got.Equal(t0.Add(23 * time.Millisecond)) {
		t.Errorf("fired at %v, want 3 ms after the deadline", got)
	}
}

func TestClockIsSafeForConcurrentUse(t *testing.T) {
	c := New(t0)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				c.Advance(time.Millisecond)
				_ = c.Now()
			}
		}()
	}
	wg.Wait()
	if want := t0.Add(800 * time.Millisecond); !c.Now().Equal(want) {
		t.Errorf("after 800 advances of 1 ms: %v, want %v", c.Now(), want)
	}
}
