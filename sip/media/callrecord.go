package media

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hotline-cc/hotline/audio"
)

// CallRecordOptions controls Session.RecordCall.
type CallRecordOptions struct {
	// MaxDuration ends the recording after this much audio (0: only the WAV size limit,
	// about 37 hours).
	MaxDuration time.Duration
	// Paused starts the recording paused: silence until Resume.
	Paused bool
}

// Span is a stretch of a recording, as offsets from its start.
type Span struct{ Start, End time.Duration }

// RecordedCall is what a finished conversation recording holds.
type RecordedCall struct {
	Path     string
	Duration time.Duration // audio in the file, paused spans included
	Paused   []Span        // the spans of silence written while paused, in order
	// Incomplete says writing the file failed: what was written before is kept.
	Incomplete bool
}

// callRecordMaxSamples keeps the RIFF size of a two-channel PCM16 file below 4 GiB.
const callRecordMaxSamples = (math.MaxUint32 - (audio.HeaderSize - 8)) / 4

// callRecordFlush is how many frames are buffered before they are written out and the
// header's sizes rewritten: a second, so a crash loses at most about that much.
const callRecordFlush = int(time.Second / FrameInterval)

// CallRecording records a session's conversation to a two-channel 8 kHz 16-bit WAV file:
// the left channel is what the session receives (the caller's voice, decoded), the right
// what is sent to it on every path: Play (prompts, hold music), audio relayed from another
// session (the agent; what went out, after any transcoding) and Mix frames. RFC 4733 events
// are never audio.
//
// Each side's audio is placed by its RTP timestamp in a small ring, as a Mix leg's is
// (ConferenceJitter behind arrival, re-anchored when a stream jumps), and a writer paced at
// 20 ms takes one frame of each side per tick, silence where nothing arrived: a quiet side,
// a late packet or a stall never shifts the other side. Paused frames are written as
// silence and their spans kept, in samples, so they match the file exactly. The file's
// audio is written, and its header's sizes rewritten, every second: a crash leaves a valid
// WAV of what was written.
//
// Its methods are safe for concurrent use.
type CallRecording struct {
	s          *Session
	path       string
	f          *os.File
	maxSamples int64 // per channel

	rx, tx mixLeg // received and sent audio, by position
	txMu   sync.Mutex
	txPCM  [mixRing - maxLead]int16 // a relayed payload decoded (under txMu)

	paused atomic.Bool
	cancel context.CancelFunc
	done   chan struct{} // closed when the writer has finished the file

	// The writer's (run's) state; result and err are read after done is closed.
	buf     []byte // frames not yet written out: interleaved little-endian L, R
	off     int64  // file offset of buf[0]
	samples int64  // per channel, written or buffered
	inPause bool
	pauseAt int64 // sample the current pause began at
	spans   []Span
	hdr     [4]byte
	err     error
	result  RecordedCall
}

// RecordCall starts recording the session's conversation to a WAV file created at path (see
// CallRecording). One recording at a time: ErrCallRecordingBusy while one runs. It records
// until Stop, the session's end or opts.MaxDuration.
func (s *Session) RecordCall(path string, opts CallRecordOptions) (*CallRecording, error) {
	if err := s.Err(); err != nil {
		return nil, err
	}
	r := newCallRecording(s, path, opts)
	if !s.rec.CompareAndSwap(nil, r) { // claimed before the file is created: a busy session's is left alone
		return nil, ErrCallRecordingBusy
	}
	if err := r.create(); err != nil {
		s.rec.CompareAndSwap(r, nil)
		return nil, err
	}
	ctx, cancel := context.WithCancel(s.ctx)
	r.cancel = cancel
	go r.run(ctx)
	return r, nil
}

// newCallRecording returns a recording of s (nil in tests) to path, not yet written.
func newCallRecording(s *Session, path string, opts CallRecordOptions) *CallRecording {
	maxS := int64(callRecordMaxSamples)
	if opts.MaxDuration > 0 {
		maxS = min(maxS, max(samplesOf(opts.MaxDuration), 1))
	}
	r := &CallRecording{s: s, path: path, maxSamples: maxS, off: audio.HeaderSize,
		done: make(chan struct{}), cancel: func() {}, buf: make([]byte, 0, callRecordFlush*FrameSamples*4)}
	r.paused.Store(opts.Paused)
	return r
}

// create creates the file with its header (sizes 0 until the first second is written).
func (r *CallRecording) create() error {
	f, err := os.Create(r.path)
	if err != nil {
		return fmt.Errorf("rtp: recording the call: %w", err)
	}
	if _, err := f.WriteAt(audio.EncodeWAV(SampleRate, 2, nil), 0); err != nil {
		_ = f.Close()
		return fmt.Errorf("rtp: recording the call: %w", err)
	}
	r.f = f
	return nil
}

// Pause makes the recording hold silence from the next frame until Resume. It reports
// whether it changed anything.
func (r *CallRecording) Pause() bool { return r.paused.CompareAndSwap(false, true) }

// Resume ends a pause from the next frame. It reports whether it changed anything.
func (r *CallRecording) Resume() bool { return r.paused.CompareAndSwap(true, false) }

// Done is closed when the recording has ended, on its own (the session ended, MaxDuration
// was reached, writing failed) or by Stop, and the file is complete.
func (r *CallRecording) Done() <-chan struct{} { return r.done }

// Stop ends the recording, finishes the file and says what it holds; the error is why the
// file is incomplete, if it is (the RecordedCall is valid even then). Later calls return
// what the first did.
func (r *CallRecording) Stop() (RecordedCall, error) {
	r.cancel()
	<-r.done
	return r.result, r.err
}

// received places audio the session received (its read goroutine).
func (r *CallRecording) received(ssrc, ts uint32, pcm []int16) { r.rx.push(ssrc, ts, pcm) }

// sent places a frame the session sends (under its out.mu).
func (r *CallRecording) sent(ssrc, ts uint32, pcm []int16) { r.tx.push(ssrc, ts, pcm) }

// sentPayload places an encoded payload the session sends (relayed, under its out.mu).
func (r *CallRecording) sentPayload(ssrc, ts uint32, c Codec, payload []byte) {
	if len(payload) > len(r.txPCM) {
		return
	}
	r.txMu.Lock()
	defer r.txMu.Unlock()
	r.tx.push(ssrc, ts, c.Decode(r.txPCM[:0], payload))
}

// run is the writer: one frame of each side per tick, until ctx ends or the recording
// does.
func (r *CallRecording) run(ctx context.Context) {
	p := NewPacer(r.s.clock, FrameInterval)
	defer p.Stop()
	for p.Wait(ctx) == nil && r.frame() {
	}
	if r.err == nil && r.samples < r.maxSamples {
		// What is already in the rings, a few frames at most, is kept.
		for range maxLead/FrameSamples + 1 {
			if r.rx.ahead() <= 0 && r.tx.ahead() <= 0 || !r.frame() {
				break
			}
		}
	}
	r.finish()
}

// ahead is how many samples the ring holds past the next frame.
func (l *mixLeg) ahead() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.anchored {
		return 0
	}
	return l.newest - l.readPos
}

// frame writes one frame of each side and reports whether the recording goes on.
func (r *CallRecording) frame() bool {
	r.rx.pull()
	r.tx.pull()
	if paused := r.paused.Load(); paused != r.inPause {
		r.inPause = paused
		if paused {
			r.pauseAt = r.samples
		} else {
			r.spans = append(r.spans, Span{sampleTime(r.pauseAt), sampleTime(r.samples)})
		}
	}
	n := int(min(FrameSamples, r.maxSamples-r.samples))
	b := r.buf[len(r.buf) : len(r.buf)+4*n]
	if r.inPause {
		clear(b)
	} else {
		for i := range n {
			binary.LittleEndian.PutUint16(b[4*i:], uint16(r.rx.in[i]))
			binary.LittleEndian.PutUint16(b[4*i+2:], uint16(r.tx.in[i]))
		}
	}
	r.buf = r.buf[:len(r.buf)+4*n]
	r.samples += int64(n)
	if len(r.buf) == cap(r.buf) {
		r.flush()
	}
	return r.err == nil && r.samples < r.maxSamples
}

// flush writes the buffered frames, then the header's sizes for them.
func (r *CallRecording) flush() {
	if r.err != nil || len(r.buf) == 0 {
		return
	}
	if _, err := r.f.WriteAt(r.buf, r.off); err != nil {
		r.err = fmt.Errorf("rtp: recording the call: %w", err)
		return
	}
	r.off += int64(len(r.buf))
	r.buf = r.buf[:0]
	data := uint32(r.off - audio.HeaderSize)
	for _, f := range [...]struct {
		at int64
		v  uint32
	}{{4, audio.HeaderSize - 8 + data}, {audio.HeaderSize - 4, data}} {
		binary.LittleEndian.PutUint32(r.hdr[:], f.v)
		if _, err := r.f.WriteAt(r.hdr[:], f.at); err != nil {
			r.err = fmt.Errorf("rtp: recording the call: header: %w", err)
			return
		}
	}
}

// finish writes what is left, closes the file, detaches from the session and publishes
// the result.
func (r *CallRecording) finish() {
	r.flush()
	if err := r.f.Close(); err != nil && r.err == nil {
		r.err = fmt.Errorf("rtp: recording the call: %w", err)
	}
	if r.s != nil {
		r.s.rec.CompareAndSwap(r, nil)
	}
	written := (r.off - audio.HeaderSize) / 4
	if r.inPause {
		r.spans = append(r.spans, Span{sampleTime(r.pauseAt), sampleTime(r.samples)})
	}
	for i := range r.spans { // a write error loses the end of the buffer
		r.spans[i].Start = min(r.spans[i].Start, sampleTime(written))
		r.spans[i].End = min(r.spans[i].End, sampleTime(written))
	}
	r.result = RecordedCall{Path: r.path, Duration: sampleTime(written), Paused: r.spans, Incomplete: r.err != nil}
	close(r.done)
}

// sampleTime is the offset of sample n.
func sampleTime(n int64) time.Duration { return time.Duration(n) * time.Second / SampleRate }
