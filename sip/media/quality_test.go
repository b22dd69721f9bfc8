package media

import (
	"testing"
	"time"
)

// feed gives q packets with sequence numbers seqs, sent every 20 ms and arriving after
// delay(i).
func feed(q *quality, seqs []uint16, delay func(i int) time.Duration) {
	for i, seq := range seqs {
		ts := uint32(seq) * 160
		arrival := int64(time.Duration(seq)*20*time.Millisecond + delay(i))
		q.packet(seq, ts, true, arrival, SampleRate)
	}
}

func run(from uint16, n int) []uint16 {
	out := make([]uint16, n)
	for i := range out {
		out[i] = from + uint16(i)
	}
	return out
}

func without(seqs []uint16, drop ...uint16) []uint16 {
	var out []uint16
next:
	for _, s := range seqs {
		for _, d := range drop {
			if s == d {
				continue next
			}
		}
		out = append(out, s)
	}
	return out
}

func noDelay(int) time.Duration { return 0 }

func TestQualityLossAndJitter(t *testing.T) {
	cases := []struct {
		name           string
		seqs           []uint16
		delay          func(int) time.Duration
		expected, lost uint64
		jitterMin      time.Duration
		jitterMax      time.Duration
	}{
		{"clean", run(1000, 100), noDelay, 100, 0, 0, 0},
		{"three lost", without(run(1000, 100), 1010, 1011, 1050), noDelay, 100, 3, 0, 0},
		{"first and last lost count only inside the span", without(run(1000, 100), 1000, 1099), noDelay, 98, 0, 0, 0},
		{"reordered", append(append(run(1000, 20), 1021, 1020), run(1022, 78)...), noDelay, 100, 0, 0, 20 * time.Millisecond},
		{"duplicate", append(run(1000, 50), run(1049, 51)...), noDelay, 100, 0, 0, 0},
		{"sequence wraps", run(65500, 100), noDelay, 100, 0, 0, 0},
		{"wraps with loss", without(run(65500, 100), 65535, 0, 1), noDelay, 100, 3, 0, 0},
		{"alternating 10 ms delay", run(1, 200), func(i int) time.Duration { return time.Duration(i%2) * 10 * time.Millisecond }, 200, 0, 9 * time.Millisecond, 10*time.Millisecond + time.Microsecond},
		{"steady 40 ms delay is no jitter", run(1, 200), func(int) time.Duration { return 40 * time.Millisecond }, 200, 0, 0, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var q quality
			feed(&q, c.seqs, c.delay)
			exp, lost := q.totals()
			if exp != c.expected || lost != c.lost {
				t.Errorf("expected %d lost %d, want %d and %d", exp, lost, c.expected, c.lost)
			}
			if j := q.jitterDuration(SampleRate); j < c.jitterMin || j > c.jitterMax {
				t.Errorf("jitter %v, want %v..%v", j, c.jitterMin, c.jitterMax)
			}
		})
	}
}

// A new SSRC (the caller's stream restarted) or a jump in sequence numbers starts a new
// stream; the session's totals add them up instead of counting the jump as loss.
func TestQualityNewStreamsAddUp(t *testing.T) {
	var q quality
	feed(&q, without(run(100, 50), 120), noDelay)
	q.reset() // new SSRC
	feed(&q, without(run(40000, 50), 40010), noDelay)
	feed(&q, run(9000, 10), noDelay) // a restart within the same SSRC
	exp, lost := q.totals()
	if exp != 110 || lost != 2 {
		t.Errorf("expected %d lost %d, want 110 and 2", exp, lost)
	}
}

// Through a real socket: a gap in a peer's stream shows in Stats.
func TestSessionStatsCountLoss(t *testing.T) {
	phone := newPeer(t, 5)
	s := newTestSession(t)
	s.SetRemote(phone.addr())
	s.Start()
	phone.send(s, 10)
	phone.seq += 3 // three packets lost on the way
	phone.send(s, 10)
	if !waitFor(time.Second, func() bool { return s.Stats().PacketsReceived == 20 }) {
		t.Fatalf("received %d", s.Stats().PacketsReceived)
	}
	st := s.Stats()
	if st.PacketsExpected != 23 || st.PacketsLost != 3 {
		t.Errorf("expected %d lost %d, want 23 and 3", st.PacketsExpected, st.PacketsLost)
	}
	if r := st.LossRatio(); r < 0.13 || r > 0.131 {
		t.Errorf("loss ratio %v, want 3/23", r)
	}
}
