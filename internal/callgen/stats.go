package callgen

import (
	"math"
	"time"
)

// Histogram counts durations in fixed-width buckets, so percentiles of millions of samples
// cost a few hundred KiB and no sorting. Samples beyond the last bucket land in it; Max is
// exact.
type Histogram struct {
	width   int64 // bucket width, ns
	buckets []uint32
	n       uint64
	max     int64
}

// NewHistogram returns a histogram of resolution width covering [0, span).
func NewHistogram(width, span time.Duration) *Histogram {
	return &Histogram{width: int64(width), buckets: make([]uint32, int64(span)/int64(width))}
}

// Add counts one sample d (ns); a negative one counts as 0.
func (h *Histogram) Add(d int64) {
	d = max(d, 0)
	i := min(d/h.width, int64(len(h.buckets)-1))
	h.buckets[i]++
	h.n++
	h.max = max(h.max, d)
}

// Count is the number of samples.
func (h *Histogram) Count() uint64 { return h.n }

// Max is the largest sample, exactly.
func (h *Histogram) Max() time.Duration { return time.Duration(h.max) }

// Percentile returns the nearest-rank p-th percentile (0 < p <= 100): the upper edge of the
// bucket holding the ceil(p·n/100)-th smallest sample, never above Max; Max when that sample
// is beyond the span (an upper bound); 0 with no samples.
func (h *Histogram) Percentile(p float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := min(max(uint64(math.Ceil(p/100*float64(h.n)-1e-9)), 1), h.n) // 1e-9: 99.9/100·1000 is not 999 in floating point
	var seen uint64
	for i, c := range h.buckets {
		seen += uint64(c)
		if seen >= rank {
			if i == len(h.buckets)-1 {
				break
			}
			return time.Duration(min(int64(i+1)*h.width, h.max))
		}
	}
	return time.Duration(h.max)
}

// GapThreshold is the spacing above which a caller hears a gap: two frames' worth of audio.
const GapThreshold = 40 * time.Millisecond

// FrameTicks is one 20 ms frame of 8 kHz audio in RTP timestamp units.
const FrameTicks = 160

// Reception sums what every stream of a run received.
type Reception struct {
	Spacing    *Histogram // time between the arrivals of the packets that count (see Stream)
	Gaps       uint64     // spacings > GapThreshold
	Packets    uint64     // packets received
	Lost       uint64     // by RTP sequence: expected - received, per stream
	Reordered  uint64     // arrived after a later sequence number
	Duplicates uint64
	Streams    uint64
}

// NewReception returns an empty sum with a spacing histogram of 10 µs resolution up to 10 s.
func NewReception() *Reception {
	return &Reception{Spacing: NewHistogram(10*time.Microsecond, 10*time.Second)}
}

// Stream is one received RTP stream (one SSRC). Spacing is the kernel receive time between a
// packet and the one that arrived before it. With NextFrameOnly (IVR prompts) a spacing counts
// only when the packet is the next frame of the one before it: sequence +1, timestamp +160 and
// no marker bit. hotline sends nothing between prompts and starts each prompt with a marker
// (RFC 3550 §5.1), so the silence between prompts is not a gap, while a stall inside a prompt
// still is. Without it (continuous hold music) every arrival counts, so a lost packet shows
// as a 40 ms spacing as well as a loss.
type Stream struct {
	NextFrameOnly bool
	sum           *Reception

	started    bool
	ssrc       uint32
	base, high int64 // extended sequence numbers (RFC 3550 §A.1): first and highest seen
	received   uint64
	prevAt     int64
	prevSeq    uint16
	prevTS     uint32
}

// NewStream returns a stream that adds to sum.
func NewStream(sum *Reception, nextFrameOnly bool) Stream {
	return Stream{NextFrameOnly: nextFrameOnly, sum: sum}
}

// Add counts a packet received at kernel time at (ns). A new SSRC ends the stream's loss
// count and starts afresh.
func (s *Stream) Add(ssrc uint32, seq uint16, ts uint32, marker bool, at int64) {
	if s.started && ssrc != s.ssrc {
		s.Finish()
	}
	sum := s.sum
	sum.Packets++
	if !s.started {
		*s = Stream{NextFrameOnly: s.NextFrameOnly, sum: sum, started: true, ssrc: ssrc,
			base: int64(seq), high: int64(seq), received: 1, prevAt: at, prevSeq: seq, prevTS: ts}
		sum.Streams++
		return
	}
	ext := s.high + int64(int16(seq-uint16(s.high))) // nearest to the highest: wraps both ways
	switch {
	case ext > s.high:
		s.high = ext
	case ext == s.high:
		sum.Duplicates++ // (a copy of an older packet counts as reordered: no bitmap is kept)
		s.prevAt, s.prevSeq, s.prevTS = at, seq, ts
		return
	default:
		sum.Reordered++
		s.base = min(s.base, ext)
	}
	s.received++
	if !s.NextFrameOnly || (seq == s.prevSeq+1 && ts-s.prevTS == FrameTicks && !marker) {
		d := at - s.prevAt
		sum.Spacing.Add(d)
		if d > int64(GapThreshold) {
			sum.Gaps++
		}
	}
	s.prevAt, s.prevSeq, s.prevTS = at, seq, ts
}

// Finish adds the stream's loss to the sum; the stream may then start again.
func (s *Stream) Finish() {
	if !s.started {
		return
	}
	if expected := uint64(s.high - s.base + 1); expected > s.received {
		s.sum.Lost += expected - s.received
	}
	s.started = false
}
