package media

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"time"
)

// The media clock: every stream Play sends is paced by one shared clock rather than by a
// timer and a goroutine of its own. A mediaClock is a wheel of clockSlots phases of
// slotWidth each, one 20 ms frame per turn; a playing session sits in one slot and is sent
// its next frame each time the wheel passes that slot, by the clock's goroutine. So a
// stream keeps its 20 ms spacing however many others play, the work of a turn is spread
// over its slots rather than bunched, and waking up costs one timer per slot for all
// streams instead of one per stream per frame. The clock's goroutine runs only while some
// stream plays.
//
// There is one mediaClock per core for sessions on SystemClock (a session stays on the one
// it first played on), and one of its own for a session on another Clock, so tests keep
// simulated time per session.
const (
	clockSlots = 20
	slotWidth  = FrameInterval / clockSlots
	// spreadSlots is how many slots ahead a stream starting afresh may be put, to the least
	// loaded: calls answered in the same millisecond do not all land in one slot, and a
	// prompt starts at most this many slots late.
	spreadSlots = 5
)

type mediaClock struct {
	clock Clock

	mu      sync.Mutex
	slots   [clockSlots][]*player
	players int       // players in slots
	running bool      // the clock's goroutine runs (it exits when players is 0)
	epoch   time.Time // when tick 0 was due; ticks are counted from it for good
	tick    int64     // the next tick to run: due at epoch + tick·slotWidth
	wake    chan struct{}
	resyncs int // times the clock fell more than maxLag behind and moved its epoch
}

func newMediaClock(c Clock) *mediaClock {
	return &mediaClock{clock: c, epoch: c.Now(), wake: make(chan struct{}, 1)}
}

// systemClocks are the media clocks of sessions on SystemClock: one per core.
var systemClocks = sync.OnceValue(func() []*mediaClock {
	cs := make([]*mediaClock, runtime.GOMAXPROCS(0))
	for i := range cs {
		cs[i] = newMediaClock(SystemClock)
	}
	return cs
})

// mediaClockFor returns the media clock a session on c starts playing on: the least busy
// of the system ones, or a clock of its own on any other Clock.
func mediaClockFor(c Clock) *mediaClock {
	if c != SystemClock {
		return newMediaClock(c)
	}
	cs := systemClocks()
	best, least := cs[0], -1
	for _, m := range cs {
		m.mu.Lock()
		n := m.players
		m.mu.Unlock()
		if least < 0 || n < least {
			best, least = m, n
		}
	}
	return best
}

// player is one session's place on a media clock: what it is playing and where it is.
// A session has one, reused by every Play (they are serialised).
type player struct {
	s      *Session
	pcms   [][]int16 // played one after the other, as one stream
	one    [1][]int16
	loop   bool // pcms over again until stopped
	cur    int  // the pcm playing
	off    int  // the next sample of it
	first  bool // the next frame starts the stream (RTP marker)
	slot   int  // its slot while on the clock
	idx    int  // its index in the slot
	on     bool // in a slot
	played bool // some frame went out: lastTick is meaningful
	// lastTick is the tick of the last frame sent, so the next Play continues 20 ms after it.
	lastTick int64
	done     chan struct{} // a token when the last frame has played out
	pad      [FrameSamples]int16
}

// next returns the next frame, padded with silence if its pcm ends short, or false when
// everything has been sent.
func (p *player) next() ([]int16, bool) {
	for p.off >= len(p.pcms[p.cur]) {
		p.cur, p.off = p.cur+1, 0
		if p.cur == len(p.pcms) {
			if !p.loop {
				return nil, false
			}
			p.cur = 0
		}
	}
	pcm := p.pcms[p.cur]
	frame := pcm[p.off:min(p.off+FrameSamples, len(pcm))]
	p.off += FrameSamples
	if len(frame) < FrameSamples {
		n := copy(p.pad[:], frame)
		clear(p.pad[n:])
		frame = p.pad[:]
	}
	return frame, true
}

// play puts p on the clock to send pcms. The first frame goes out in the slot 20 ms after the
// session's last frame if that is yet to come, so back-to-back Plays keep the spacing; at
// the next tick if it has just passed; else in the least loaded of the next spreadSlots.
func (m *mediaClock) play(p *player, pcms [][]int16, loop bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	select { // a token left by a Play that was cancelled as it finished
	case <-p.done:
	default:
	}
	p.pcms, p.loop, p.cur, p.off, p.first = pcms, loop, 0, 0, true
	m.skipIdle(ticksSince(m.epoch, m.clock.Now()))
	slot := -1
	if p.played {
		switch due := p.lastTick + clockSlots; {
		case due >= m.tick:
			slot = int(p.lastTick % clockSlots)
		case m.tick-due < clockSlots:
			slot = int(m.tick % clockSlots)
		}
	}
	if slot < 0 {
		slot = m.quietSlot()
	}
	p.slot, p.idx, p.on = slot, len(m.slots[slot]), true
	m.slots[slot] = append(m.slots[slot], p)
	m.players++
	if !m.running {
		m.running = true
		go m.run()
		return
	}
	select { // the clock may be asleep until a later slot
	case m.wake <- struct{}{}:
	default:
	}
}

// skipIdle moves m.tick on to now, over ticks whose slots are empty: those the clock slept
// through (or all of them, if it is not running). A slot with a stream is never skipped, so
// a clock that woke late still catches up on it.
func (m *mediaClock) skipIdle(now int64) {
	for m.tick < now && len(m.slots[m.tick%clockSlots]) == 0 {
		m.tick++
	}
}

// quietSlot is the least loaded of the next spreadSlots slots, the soonest of equals.
func (m *mediaClock) quietSlot() int {
	best := int(m.tick % clockSlots)
	for i := int64(1); i < spreadSlots; i++ {
		if s := int((m.tick + i) % clockSlots); len(m.slots[s]) < len(m.slots[best]) {
			best = s
		}
	}
	return best
}

// stop takes p off the clock (a Play cancelled); nothing more of it is sent once it returns.
func (m *mediaClock) stop(p *player) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.remove(p)
}

func (m *mediaClock) remove(p *player) {
	if !p.on {
		return
	}
	sl := m.slots[p.slot]
	last := len(sl) - 1
	sl[p.idx] = sl[last]
	sl[p.idx].idx = p.idx
	sl[last] = nil
	m.slots[p.slot] = sl[:last]
	p.on = false
	p.pcms, p.one[0] = nil, nil
	m.players--
}

// ticksSince is the number of the first tick due at or after t.
func ticksSince(epoch, t time.Time) int64 {
	d := t.Sub(epoch)
	return int64((d + slotWidth - 1) / slotWidth)
}

// run is the clock's goroutine: it runs each tick at its deadline (catching up on ticks it
// woke too late for, in order, so no stream loses a frame), sleeps until the next tick that
// has a stream, and exits when none is left.
func (m *mediaClock) run() {
	var timer Timer
	var armed time.Time // the due time timer is pending for; zero when it is not pending
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	m.mu.Lock()
	for {
		if m.players == 0 {
			m.running = false
			m.mu.Unlock()
			return
		}
		now := m.clock.Now()
		next := m.nextBusyTick()
		due := m.epoch.Add(time.Duration(next) * slotWidth)
		wait := due.Sub(now)
		if wait > 0 {
			m.mu.Unlock()
			switch {
			case timer == nil:
				timer = m.clock.NewTimer(wait)
			case armed.IsZero(): // it fired: a Reset puts it back in the runtime's timer heap
				timer.Reset(wait)
			case !armed.Equal(due):
				// Woken by a new stream for another slot. A pending timer that is Reset is
				// marked modified, and the runtime then scans every timer of the process at
				// the next timer check (thousands on a busy node: each call's SIP
				// transactions and socket deadlines); a stream starting every few ms made
				// that 12 % of a core. A new timer instead; the runtime drops the stopped
				// one cheaply, in bulk.
				timer.Stop()
				timer = m.clock.NewTimer(wait)
			}
			armed = due
			select {
			case <-timer.C():
				armed = time.Time{}
			case <-m.wake: // the timer stays armed: the next turn keeps it if due is the same
			}
			m.mu.Lock()
			continue
		}
		if -wait > maxLag {
			// Stalled (a paused VM): resume from now rather than send a second of frames at once.
			m.epoch = now.Add(-time.Duration(next) * slotWidth)
			m.resyncs++
		}
		m.tick = next
		m.runTick(time.Now())
		m.tick++
	}
}

// nextBusyTick is the first tick from m.tick whose slot holds a stream (players > 0).
func (m *mediaClock) nextBusyTick() int64 {
	for t := m.tick; ; t++ {
		if len(m.slots[t%clockSlots]) > 0 {
			return t
		}
	}
}

// runTick sends the next frame of every stream in the slot of m.tick, and releases those
// whose last frame has played out. wall is the wall clock (what RTP timestamps and reports
// follow, whatever Clock paces): read once per tick, not per packet.
func (m *mediaClock) runTick(wall time.Time) {
	sl := m.slots[m.tick%clockSlots]
	for i := 0; i < len(sl); {
		p := sl[i]
		frame, ok := p.next()
		if !ok {
			m.remove(p) // moves the slot's last player to i
			sl = m.slots[m.tick%clockSlots]
			p.done <- struct{}{}
			continue
		}
		p.s.sendAudio(frame, p.first, wall)
		p.first = false
		p.lastTick, p.played = m.tick, true
		i++
	}
}

// Play sends pcm (8 kHz mono) with the current codec, 160 samples per 20 ms packet, paced
// by the session's media clock; a short last frame is padded with silence. It returns nil
// when the last frame has played out, ctx.Err() if ctx ends first, or Err() if the session
// ends (ErrUnsupportedCodec at once if the codec set is not G.711).
func (s *Session) Play(ctx context.Context, pcm []int16) error {
	_, err := s.play(ctx, nil, pcm, false, nil)
	return err
}

// PlayAll plays each of pcms in turn as one stream, as Play does, with no gap between them
// (each one's short last frame is padded); with loop it starts over after the last until
// ctx or the session ends. It returns at once if pcms hold no audio. pcms must not change
// while it plays.
func (s *Session) PlayAll(ctx context.Context, pcms [][]int16, loop bool) error {
	_, err := s.play(ctx, pcms, nil, loop, nil)
	return err
}

// PlayAllUntil is PlayAll that a key press interrupts: a rune from digits stops the stream
// at once and is returned (with a nil error). The caller's goroutine waits, so a prompt a
// digit may barge into needs no goroutine of its own.
func (s *Session) PlayAllUntil(ctx context.Context, pcms [][]int16, loop bool, digits <-chan rune) (rune, error) {
	return s.play(ctx, pcms, nil, loop, digits)
}

// play plays pcms, or the one pcm if pcms is nil (Play: no slice to allocate), until it has
// played out, ctx or the session ends, or a digit comes on digits (nil: none will).
func (s *Session) play(ctx context.Context, pcms [][]int16, one []int16, loop bool, digits <-chan rune) (rune, error) {
	if c, _ := s.Codec(); !c.Supported() {
		return 0, fmt.Errorf("%w: %v", ErrUnsupportedCodec, c)
	}
	if err := s.acquire(ctx); err != nil {
		return 0, err
	}
	defer s.release()
	p := &s.player
	if pcms == nil { // the player is ours now that the token is
		p.one[0], pcms = one, p.one[:]
	}
	if !slices.ContainsFunc(pcms, func(pcm []int16) bool { return len(pcm) > 0 }) {
		p.one[0] = nil
		return 0, nil
	}
	if s.mclock == nil {
		s.mclock = mediaClockFor(s.clock)
	}
	s.mclock.play(p, pcms, loop)
	select {
	case <-p.done:
		return 0, nil
	case d := <-digits:
		s.mclock.stop(p)
		return d, nil
	case <-ctx.Done():
	case <-s.ctx.Done():
	}
	s.mclock.stop(p)
	return 0, s.interrupted(ctx)
}
