package media

import (
	"sync"
	"time"

	"github.com/hotline-cc/hotline/audio"
)

// EndReason says why a recording ended. The values match call.RecordEnd, so the SIP layer
// can convert with call.RecordEnd(reason).
type EndReason string

const (
	EndNone    EndReason = ""        // still recording
	EndMax     EndReason = "max"     // MaxDuration reached
	EndSilence EndReason = "silence" // SilenceTimeout of silence
	EndDigit   EndReason = "digit"   // Stop(EndDigit): the caller pressed the end key
	EndHangup  EndReason = "hangup"  // Stop(EndHangup): the call ended
	EndStopped EndReason = "stopped" // Stop(EndStopped): the flow stopped it
	EndError   EndReason = "error"   // writing the file failed; see Err
)

// DefaultSilenceThreshold is the frame RMS below which a frame counts as silence
// (audio.DefaultSilenceThreshold, about -42 dBFS).
const DefaultSilenceThreshold = audio.DefaultSilenceThreshold

// RecorderOptions sets when a recording ends by itself.
type RecorderOptions struct {
	MaxDuration time.Duration // end after this much audio (0 = no limit)
	// SilenceTimeout ends the recording after this much continuous silence (0 = never).
	SilenceTimeout time.Duration
	// SilenceThreshold is the frame RMS below which audio is silence
	// (0 = DefaultSilenceThreshold).
	SilenceThreshold float64
	// WaitForSpeech starts counting silence only once someone has spoken, so a caller who
	// takes a while to begin is not cut off. Without it, silence counts from the start.
	WaitForSpeech bool
	// TrimSilence leaves the silence that ended the recording out of the file (a voicemail
	// then ends where the caller stopped talking). Shorter pauses are always kept.
	TrimSilence bool
}

// Recorder writes the audio it is fed to an audio.WAVWriter until an end condition is met.
// Time is counted in samples fed, not on the clock, so a recording's length is exactly the
// audio in it. Typical use by the channel layer:
//
//	rec := media.NewRecorder(w, opts)
//	remove := session.AddTap(rec.Tap)
//	select {
//	case <-rec.Done():             // max duration or silence
//	case d := <-session.Digits():  // if d == '#': rec.Stop(media.EndDigit)
//	case <-ctx.Done():             rec.Stop(media.EndHangup)
//	}
//	remove()
//	err := w.Close() // the Recorder never closes the writer
//
// It is safe for concurrent use: Feed from the session's tap, Stop from the call.
type Recorder struct {
	mu        sync.Mutex
	w         *audio.WAVWriter
	opts      RecorderOptions
	fed       int64 // samples fed, written or held
	silentRun int64 // samples of the current stretch of silence
	spoke     bool
	held      []int16 // silence withheld from the file while it may turn out to be the end
	reason    EndReason
	err       error
	done      chan struct{}
}

// NewRecorder returns a recorder that writes to w.
func NewRecorder(w *audio.WAVWriter, opts RecorderOptions) *Recorder {
	if opts.SilenceThreshold <= 0 {
		opts.SilenceThreshold = DefaultSilenceThreshold
	}
	return &Recorder{w: w, opts: opts, done: make(chan struct{})}
}

func samplesOf(d time.Duration) int64 { return int64(d) * SampleRate / int64(time.Second) }

// Feed records pcm (8 kHz) and reports whether the recording has ended, and why. Once it
// has ended, Feed writes nothing and keeps returning the same reason.
func (r *Recorder) Feed(pcm []int16) (done bool, reason EndReason) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.reason != EndNone {
		return true, r.reason
	}
	if maxS := samplesOf(r.opts.MaxDuration); maxS > 0 && r.fed+int64(len(pcm)) >= maxS {
		pcm = pcm[:maxS-r.fed]
		r.fed = maxS
		r.write(r.held)
		r.write(pcm)
		r.end(EndMax)
		return true, r.reason
	}
	r.fed += int64(len(pcm))

	timeout := samplesOf(r.opts.SilenceTimeout)
	if audio.RMS(pcm) >= r.opts.SilenceThreshold {
		r.spoke = true
		r.silentRun = 0
		r.write(r.held)
		r.held = r.held[:0]
		r.write(pcm)
	} else {
		r.silentRun += int64(len(pcm))
		if timeout > 0 && r.opts.TrimSilence {
			r.held = append(r.held, pcm...)
		} else {
			r.write(pcm)
		}
		if timeout > 0 && r.silentRun >= timeout && (r.spoke || !r.opts.WaitForSpeech) {
			r.held = r.held[:0] // trimmed
			r.end(EndSilence)
		}
	}
	if r.reason != EndNone {
		return true, r.reason
	}
	return false, EndNone
}

// Tap is Feed without results, to pass to Session.AddTap.
func (r *Recorder) Tap(pcm []int16) { r.Feed(pcm) }

func (r *Recorder) write(pcm []int16) {
	if len(pcm) == 0 || r.err != nil {
		return
	}
	if err := r.w.Write(pcm); err != nil {
		r.err = err
		r.end(EndError)
	}
}

func (r *Recorder) end(reason EndReason) {
	if r.reason != EndNone {
		return
	}
	r.reason = reason
	close(r.done)
}

// Stop ends the recording for reason (EndDigit, EndHangup, EndStopped) unless it has
// already ended, writes any pause still held back, and returns the reason it ended with.
func (r *Recorder) Stop(reason EndReason) EndReason {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.reason == EndNone {
		r.write(r.held)
		r.held = nil
		if reason == EndNone {
			reason = EndStopped
		}
		r.end(reason)
	}
	return r.reason
}

// Done is closed when the recording ends.
func (r *Recorder) Done() <-chan struct{} { return r.done }

// Reason returns why the recording ended (EndNone while it runs).
func (r *Recorder) Reason() EndReason {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.reason
}

// Err returns the write error that ended the recording, if any.
func (r *Recorder) Err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}
