package media

import (
	"math"
	"time"
)

// quality measures what one session receives, as an RTCP receiver report would (RFC 3550
// §6.4.1, A.3, A.8): packets expected from the sequence numbers, packets lost, and the
// interarrival jitter of the audio. It runs on the read goroutine and does not allocate; a
// new SSRC starts a new stream whose counts add to the earlier streams'.
type quality struct {
	started    bool
	baseExt    uint32 // extended sequence number of the stream's first packet
	maxSeq     uint16
	cycles     uint32 // sequence number wrap-arounds, times 65536
	received   uint32
	transit    int64 // last audio packet's arrival minus its timestamp, in timestamp units
	hasTransit bool
	jitter     float64 // timestamp units (RFC 3550 A.8)

	doneExpected, doneReceived uint64 // earlier streams of this session
	doneChanged                bool   // the earlier streams' counts changed since published
}

// maxDropout is how far ahead a sequence number may jump and still count as this stream
// (RFC 3550 A.1's MAX_DROPOUT); beyond it the stream is taken as restarted.
const maxDropout = 3000

// reset ends the current stream (a new SSRC), keeping its counts.
func (q *quality) reset() {
	q.doneExpected += uint64(q.expected())
	q.doneReceived += uint64(q.received)
	done, recv := q.doneExpected, q.doneReceived
	*q = quality{doneExpected: done, doneReceived: recv, doneChanged: true}
}

// packet accounts one packet; audio packets (not DTMF events, whose timestamp is the
// event's start) also feed the jitter. arrival is the wall clock in nanoseconds.
func (q *quality) packet(seq uint16, ts uint32, audio bool, arrival int64, clockRate uint32) {
	if !q.started {
		q.started, q.baseExt, q.maxSeq, q.received = true, uint32(seq), seq, 1
	} else {
		switch delta := seq - q.maxSeq; {
		case delta == 0:
			return // a duplicate
		case delta < maxDropout:
			if seq < q.maxSeq {
				q.cycles += 1 << 16
			}
			q.maxSeq = seq
		case delta <= 1<<16-100:
			// A big jump: the sender restarted its sequence; count from here.
			q.reset()
			q.started, q.baseExt, q.maxSeq = true, uint32(seq), seq
		}
		// else: late or reordered; it counts as received but does not move maxSeq.
		q.received++
	}
	if !audio {
		return
	}
	arrivalTS := arrival * int64(clockRate) / int64(time.Second)
	transit := arrivalTS - int64(ts)
	if q.hasTransit {
		d := math.Abs(float64(transit - q.transit))
		q.jitter += (d - q.jitter) / 16
	}
	q.transit, q.hasTransit = transit, true
}

func (q *quality) expected() uint32 {
	if !q.started {
		return 0
	}
	return q.cycles + uint32(q.maxSeq) - q.baseExt + 1
}

// extendedMax is the extended highest sequence number received (RFC 3550 §6.4.1).
func (q *quality) extendedMax() uint32 { return q.cycles + uint32(q.maxSeq) }

// The read goroutine publishes quality in three words a reader can load without a lock:
// the earlier streams' counts (rewritten only when a stream ends), the current stream's
// counts, and the jitter in timestamp units (what an RTCP report block carries).

// doneWord is the earlier streams' expected<<32 | received.
func (q *quality) doneWord() uint64 { return q.doneExpected<<32 | q.doneReceived&0xFFFFFFFF }

// countsWord is the current stream's expected<<32 | received.
func (q *quality) countsWord() uint64 { return uint64(q.expected())<<32 | uint64(q.received) }

// rxTotals returns packets expected and lost over all streams from the published words (lost
// is never negative: duplicates and late packets can make received exceed expected).
func rxTotals(done, counts uint64) (expected, lost uint64) {
	expected = done>>32 + counts>>32
	received := done&0xFFFFFFFF + counts&0xFFFFFFFF
	if received < expected {
		lost = expected - received
	}
	return expected, lost
}

// totals returns packets expected and lost over all streams.
func (q *quality) totals() (expected uint64, lost uint64) {
	return rxTotals(q.doneWord(), q.countsWord())
}

// jitterDuration is the current jitter estimate as a duration.
func (q *quality) jitterDuration(clockRate uint32) time.Duration {
	return tsDuration(uint32(q.jitter), clockRate)
}

// tsDuration is n timestamp units at clockRate as a duration.
func tsDuration(n, clockRate uint32) time.Duration {
	return time.Duration(uint64(n) * uint64(time.Second) / uint64(clockRate))
}
