package media

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"
)

// Conference sizes: a three-way call is the usual case; more legs cost one decode, one
// encode and one packet each per frame.
const (
	MinConferenceLegs = 2
	MaxConferenceLegs = 8
)

// ConferenceJitter is how far behind its arrival a leg's audio is mixed: a packet up to this
// late, or this much out of order, still makes its frame. A packet later than that is
// dropped and its frame is silence for that leg; the delay does not grow.
const ConferenceJitter = 2 * FrameInterval

// Sizes of a leg's receive buffer, in samples.
const (
	jitterSamples = int64(ConferenceJitter / FrameInterval * FrameSamples)
	maxLead       = jitterSamples + 2*FrameSamples // a packet starting further ahead re-anchors
	mixRing       = 8 * FrameSamples               // 160 ms: the furthest a packet may end ahead
)

// lateTicks is how many frames in a row a sender's newest packet must come too late before
// its stream is re-anchored: one late burst after a stall is not a slow clock.
const lateTicks = 3

// Hearing says whom each leg of a Mix hears: listener hears speaker when it returns true.
// Legs are numbered in the order given to Mix. It is asked for every pair each frame, on the
// mixer's goroutine, so a mode read from an atomic changes what everyone hears from the
// next frame on, without restarting the mix; it must be quick and must not block. A leg
// never hears itself, whatever it says. nil is everyone hears everyone else (Conference).
type Hearing func(listener, speaker int) bool

// Conference mixes legs until ctx ends or one of them ends: every 20 ms, paced by the first
// leg's clock, it takes one frame of each leg's audio (decoded from whichever G.711 law the
// leg receives), and sends each leg the sum of all the others, clamped to 16 bits, encoded
// with that leg's codec on its own outgoing stream. Nobody hears themselves. It is Mix with
// everyone hearing everyone else.
func Conference(ctx context.Context, legs ...*Session) (int, error) {
	return Mix(ctx, nil, legs...)
}

// Mix mixes legs as Conference does, except that each leg hears only the legs hears says it
// does (a supervisor listening to, whispering to or barging into a call), asked afresh each
// frame; nil hears is Conference. A leg that hears nobody is sent silence, so its stream
// carries on.
//
// Each leg's packets are placed by RTP timestamp ConferenceJitter ahead of the mix, so
// reordered packets take their place, and a frame whose packet has not arrived in time is
// silence for that leg, never a delay: after a stall, the packets that are due already are
// dropped and the mix carries on where it was. A sender whose timestamps jump, whose stream
// restarts (a new SSRC) or whose clock runs fast or slow is re-anchored, so a leg's delay
// stays between ConferenceJitter and 40 ms more.
//
// RFC 4733 events are consumed, not mixed nor forwarded: each leg's digits still arrive on
// its own Digits, for the call path to act on; the other parties hear nothing of them.
//
// The legs must be distinct, 2 to MaxConferenceLegs, each with a G.711 codec set, and not
// relaying (ErrRelayBusy). Mix takes each leg's turn to send, as Play does: a Play or
// SendDigit on a leg waits until the mix ends, and a Play in progress delays its start.
// Nothing may be relayed to a leg meanwhile.
//
// It returns the index of the leg whose session ended, with that session's Err(), or -1
// with ctx.Err() when ctx ended first. Once it has returned, nothing more is sent to any leg
// on its behalf and the sessions can be played to, relayed or mixed again.
func Mix(ctx context.Context, hears Hearing, legs ...*Session) (int, error) {
	if len(legs) < MinConferenceLegs || len(legs) > MaxConferenceLegs {
		return -1, fmt.Errorf("%w (got %d)", ErrConferenceLegs, len(legs))
	}
	for i, s := range legs {
		for _, o := range legs[:i] {
			if o == s {
				return -1, fmt.Errorf("%w: leg %d twice", ErrConferenceLegs, i)
			}
		}
		if c, _ := s.Codec(); !c.Supported() {
			return -1, fmt.Errorf("%w: leg %d: %v", ErrUnsupportedCodec, i, c)
		}
	}
	for i, s := range legs {
		if err := s.Err(); err != nil {
			return i, err
		}
	}

	m := &mixer{legs: make([]*mixLeg, len(legs)), hears: hears}
	for i, s := range legs {
		m.legs[i] = &mixLeg{s: s}
	}
	for i, l := range m.legs {
		if err := l.s.joinMix(l); err != nil {
			m.leave(i)
			return -1, fmt.Errorf("leg %d: %w", i, err)
		}
	}
	defer m.leave(len(m.legs))

	// Any leg ending ends the mix.
	mctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for _, s := range legs {
		stop := context.AfterFunc(s.ctx, cancel)
		defer stop()
	}
	for i, s := range legs {
		if err := s.acquire(mctx); err != nil {
			for _, o := range legs[:i] {
				o.release()
			}
			return ended(ctx, legs)
		}
	}
	defer func() {
		for _, s := range legs {
			s.release()
		}
	}()
	for _, l := range m.legs {
		l.reset() // whatever arrived while a Play finished is stale
	}

	p := NewPacer(legs[0].clock, FrameInterval)
	defer p.Stop()
	for first := true; p.Wait(mctx) == nil; first = false {
		m.mix(first)
	}
	return ended(ctx, legs)
}

// ended says why a conference stopped: the first leg found ended, else ctx.
func ended(ctx context.Context, legs []*Session) (int, error) {
	for i, s := range legs {
		if err := s.Err(); err != nil {
			return i, err
		}
	}
	if err := ctx.Err(); err != nil {
		return -1, err
	}
	return -1, context.Canceled
}

// mixer is one conference: its legs, who hears whom, and the sum of their frames.
type mixer struct {
	legs  []*mixLeg
	hears Hearing // nil: everyone hears everyone else
	sum   [FrameSamples]int32
}

// mix sends every leg one frame: the sum of this tick's frames of the legs it hears.
func (m *mixer) mix(first bool) {
	now := time.Now()
	for _, l := range m.legs {
		l.pull()
	}
	if m.hears == nil {
		clear(m.sum[:])
		for _, l := range m.legs {
			for i, v := range l.in {
				m.sum[i] += int32(v)
			}
		}
		for _, l := range m.legs {
			for i, v := range l.in {
				l.out[i] = clamp16(m.sum[i] - int32(v))
			}
			l.s.sendAudio(l.out[:], first, now)
		}
		return
	}
	for a, l := range m.legs {
		clear(m.sum[:])
		for b, o := range m.legs {
			if a == b || !m.hears(a, b) {
				continue
			}
			for i, v := range o.in {
				m.sum[i] += int32(v)
			}
		}
		for i, v := range m.sum {
			l.out[i] = clamp16(v)
		}
		l.s.sendAudio(l.out[:], first, now)
	}
}

// leave detaches the first n legs from their sessions; when it returns, no read goroutine
// is writing into them any more.
func (m *mixer) leave(n int) {
	for _, l := range m.legs[:n] {
		l.s.leaveMix(l)
	}
}

func clamp16(v int32) int16 {
	return int16(min(max(v, math.MinInt16), math.MaxInt16))
}

// mixLeg is one leg's place in a conference: a ring of its audio by sample position, written
// by the session's read goroutine and read a frame at a time by the mixer. A CallRecording
// keeps two (without a session): what its session receives and what it sends.
type mixLeg struct {
	s *Session

	mu        sync.Mutex
	ring      [mixRing]int16 // sample at position p is ring[p%mixRing]; zero = nothing arrived
	readPos   int64          // position of the next frame the mixer takes
	newest    int64          // end position of the newest audio written
	anchored  bool
	ssrc      uint32
	anchorTS  uint32 // an RTP timestamp of the stream…
	anchorPos int64  // …and the position it plays at
	lateRun   int    // frames in a row in which the newest packet came too late
	lateAt    int64  // readPos when lateRun last grew
	late      uint64 // packets dropped: too late for their frame
	resyncs   uint64 // times the stream was re-anchored after the first

	in  [FrameSamples]int16 // this tick's frame from the leg (mixer only)
	out [FrameSamples]int16 // what the leg is sent (mixer only)
}

// push places the decoded audio of one packet (RTP timestamp ts of stream ssrc). Called on
// the session's read goroutine.
func (l *mixLeg) push(ssrc, ts uint32, pcm []int16) {
	if len(pcm) == 0 || int64(len(pcm)) > mixRing-maxLead {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.anchored || ssrc != l.ssrc {
		l.anchor(ssrc, ts)
	}
	pos := l.anchorPos + int64(int32(ts-l.anchorTS))
	n := int64(len(pcm))
	switch {
	case pos > l.readPos+maxLead || pos+n < l.readPos-mixRing:
		// Far ahead or far behind: the timestamps jumped, or a clock faster than the mix
		// has gained too much.
		pos = l.resync(ssrc, ts)
	case pos < l.readPos && pos >= l.newest:
		// The newest audio so far, yet late. After a network stall the packets of the
		// stall are due already and the later ones on time again: keep what is still to
		// play. Late in lateTicks frames in a row, the sender's clock is slower than the
		// mix: re-anchor.
		if l.lateAt != l.readPos {
			l.lateAt = l.readPos
			l.lateRun++
		}
		if l.lateRun >= lateTicks {
			pos = l.resync(ssrc, ts)
		}
	case pos >= l.newest:
		l.lateRun = 0
	}
	l.newest = max(l.newest, pos+n)
	if pos < l.readPos { // partly played already (as silence), or a reordered packet
		skip := l.readPos - pos
		if skip >= n {
			l.late++
			return
		}
		pcm, pos = pcm[skip:], l.readPos
	}
	i := int(pos % mixRing)
	k := copy(l.ring[i:], pcm)
	copy(l.ring[:], pcm[k:])
}

// resync re-anchors a stream that lost its place.
func (l *mixLeg) resync(ssrc, ts uint32) int64 {
	l.resyncs++
	l.lateRun = 0
	return l.anchor(ssrc, ts)
}

// anchor makes timestamp ts of stream ssrc play ConferenceJitter after the next frame, and
// returns its position.
func (l *mixLeg) anchor(ssrc, ts uint32) int64 {
	l.anchored, l.ssrc, l.anchorTS = true, ssrc, ts
	l.anchorPos = l.readPos + jitterSamples
	l.newest = l.anchorPos
	return l.anchorPos
}

// reset forgets the stream and what was buffered of it.
func (l *mixLeg) reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	clear(l.ring[:])
	l.anchored = false
}

// pull takes the next frame into l.in, leaving silence in its place.
func (l *mixLeg) pull() {
	l.mu.Lock()
	i := int(l.readPos % mixRing) // frames never wrap: mixRing is whole frames
	copy(l.in[:], l.ring[i:i+FrameSamples])
	clear(l.ring[i : i+FrameSamples])
	l.readPos += FrameSamples
	l.mu.Unlock()
}

// joinMix makes the read goroutine hand this session's audio to l; ErrRelayBusy if the
// session relays or is in a conference already.
func (s *Session) joinMix(l *mixLeg) error {
	s.fanout.Lock()
	defer s.fanout.Unlock()
	if s.relay != nil || s.mix != nil {
		return ErrRelayBusy
	}
	s.mix = l
	return nil
}

// leaveMix stops handing audio to l; once it returns, the read goroutine is done with l.
func (s *Session) leaveMix(l *mixLeg) {
	s.fanout.Lock()
	defer s.fanout.Unlock()
	if s.mix == l {
		s.mix = nil
	}
}
