package callgen

import (
	"testing"
	"time"
)

func TestHistogramPercentilesAreNearestRank(t *testing.T) {
	h := NewHistogram(time.Millisecond, time.Second)
	for i := 1; i <= 1000; i++ { // 1 ms .. 1000 ms, the last beyond the span
		h.Add(int64(i)*int64(time.Millisecond) - 1)
	}
	for _, c := range []struct {
		p    float64
		want time.Duration
	}{
		{50, 500 * time.Millisecond},
		{99, 990 * time.Millisecond},
		{99.9, 999 * time.Millisecond},
		{100, 1000*time.Millisecond - 1}, // clamped to the exact max
	} {
		if got := h.Percentile(c.p); got != c.want {
			t.Errorf("p%g = %v, want %v", c.p, got, c.want)
		}
	}
	if h.Max() != 1000*time.Millisecond-1 || h.Count() != 1000 {
		t.Errorf("max %v count %d, want 999.999999ms and 1000", h.Max(), h.Count())
	}
}

func TestHistogramPercentileIsNeverAboveMax(t *testing.T) {
	h := NewHistogram(10*time.Microsecond, 2*time.Second)
	h.Add(int64(20*time.Millisecond + 3*time.Microsecond))
	h.Add(int64(20*time.Millisecond + 3*time.Microsecond))
	if got := h.Percentile(99); got != 20*time.Millisecond+3*time.Microsecond {
		t.Errorf("p99 of one sample = %v, want the sample", got)
	}
	h.Add(int64(5 * time.Second)) // beyond the span: p99 of two is the max, not the span
	if got := h.Percentile(99); got != 5*time.Second {
		t.Errorf("p99 beyond the span = %v, want the max, 5s", got)
	}
	if got := NewHistogram(time.Millisecond, time.Second).Percentile(50); got != 0 {
		t.Errorf("p50 of nothing = %v, want 0", got)
	}
}

const ms = int64(time.Millisecond)

func TestStreamCountsGapsLossAndReordering(t *testing.T) {
	sum := NewReception()
	s := NewStream(sum, false)
	at := int64(0)
	for _, p := range []struct {
		seq   uint16
		after int64
	}{
		{100, 0}, {101, 20}, {102, 20}, {104, 41}, {103, 1}, {105, 19}, {106, 20},
	} {
		at += p.after * ms
		s.Add(7, p.seq, uint32(p.seq)*FrameTicks, false, at)
	}
	s.Finish()
	if sum.Packets != 7 || sum.Lost != 0 || sum.Reordered != 1 || sum.Gaps != 1 || sum.Streams != 1 {
		t.Errorf("packets %d lost %d reordered %d gaps %d streams %d, want 7 0 1 1 1",
			sum.Packets, sum.Lost, sum.Reordered, sum.Gaps, sum.Streams)
	}
	if sum.Spacing.Max() != 41*time.Millisecond {
		t.Errorf("max spacing %v, want 41ms", sum.Spacing.Max())
	}
}

func TestStreamSequenceWrapIsNotLoss(t *testing.T) {
	sum := NewReception()
	s := NewStream(sum, false)
	seq := uint16(65530)
	for i := range 12 { // 65530 .. 65535, 0 .. 5, with 2 missing
		if seq != 2 {
			s.Add(1, seq, uint32(i)*FrameTicks, false, int64(i)*20*ms)
		}
		seq++
	}
	s.Finish()
	if sum.Lost != 1 || sum.Reordered != 0 || sum.Packets != 11 {
		t.Errorf("across the wrap: lost %d reordered %d packets %d, want 1 0 11", sum.Lost, sum.Reordered, sum.Packets)
	}
}

func TestStreamLateFirstPacketAcrossWrap(t *testing.T) {
	sum := NewReception()
	s := NewStream(sum, false)
	s.Add(1, 0, 160, false, 0)
	s.Add(1, 65535, 0, false, 1*ms) // before the first: extends the stream backwards
	s.Add(1, 1, 320, false, 20*ms)
	s.Finish()
	if sum.Lost != 0 || sum.Reordered != 1 {
		t.Errorf("lost %d reordered %d, want 0 1", sum.Lost, sum.Reordered)
	}
}

func TestStreamNewSSRCStartsAfresh(t *testing.T) {
	sum := NewReception()
	s := NewStream(sum, false)
	s.Add(1, 10, 0, false, 0)
	s.Add(1, 11, 160, false, 20*ms)
	s.Add(2, 5000, 9999, true, 40*ms) // a new stream: no loss for the jump, no spacing
	s.Add(2, 5001, 9999+160, false, 60*ms)
	s.Finish()
	if sum.Lost != 0 || sum.Streams != 2 || sum.Spacing.Count() != 2 {
		t.Errorf("lost %d streams %d spacings %d, want 0 2 2", sum.Lost, sum.Streams, sum.Spacing.Count())
	}
}

// With NextFrameOnly the silence between two prompts is no gap, a stall inside one is.
func TestStreamNextFrameOnlySkipsSilenceBetweenPrompts(t *testing.T) {
	sum := NewReception()
	s := NewStream(sum, true)
	at := int64(0)
	add := func(seq uint16, ts uint32, marker bool, after int64) {
		at += after * ms
		s.Add(3, seq, ts, marker, at)
	}
	add(1, 0, true, 0)
	add(2, 160, false, 20)
	add(3, 320, false, 60)      // inside the prompt, 60 ms late: a gap
	add(4, 320+8000, true, 500) // the next prompt: timestamp jumps, marker set
	add(5, 8320+160, false, 20)
	add(6, 8480+480, false, 60) // hotline skipped two frames' time: not the next frame
	add(7, 8960+160, false, 20)
	s.Finish()
	if sum.Gaps != 1 || sum.Spacing.Count() != 4 || sum.Spacing.Max() != 60*time.Millisecond {
		t.Errorf("gaps %d spacings %d max %v, want 1 4 60ms", sum.Gaps, sum.Spacing.Count(), sum.Spacing.Max())
	}
}

func TestStreamDuplicateIsNotReceivedTwice(t *testing.T) {
	sum := NewReception()
	s := NewStream(sum, false)
	s.Add(1, 1, 0, false, 0)
	s.Add(1, 2, 160, false, 20*ms)
	s.Add(1, 2, 160, false, 21*ms)
	s.Add(1, 4, 480, false, 60*ms)
	s.Finish()
	if sum.Duplicates != 1 || sum.Lost != 1 {
		t.Errorf("duplicates %d lost %d, want 1 1", sum.Duplicates, sum.Lost)
	}
}
