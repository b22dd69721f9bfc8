package media

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/audio"
)

// feedFrames feeds pcm in 20 ms frames until the recorder ends; it returns the number of
// frames fed (including the last) and the reason.
func feedFrames(r *Recorder, pcm []int16) (int, EndReason) {
	for i := 0; i*FrameSamples < len(pcm); i++ {
		if done, why := r.Feed(pcm[i*FrameSamples : min((i+1)*FrameSamples, len(pcm))]); done {
			return i + 1, why
		}
	}
	return -1, EndNone
}

func newRecording(t *testing.T) (*audio.WAVWriter, string) {
	path := filepath.Join(t.TempDir(), "vm.wav")
	w, err := audio.CreateWAVFile(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w, path
}

func speech(d time.Duration) []int16 { return tone(440, 8000, 6000, int(samplesOf(d))) }
func silence(d time.Duration) []int16 {
	// Line noise well under the threshold, not digital zero.
	return tone(100, 8000, 150, int(samplesOf(d)))
}

func cat(parts ...[]int16) []int16 {
	var out []int16
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// A voicemail limited to 2 s ends at exactly 2 s of audio, however the frames fall.
func TestRecorderMaxDuration(t *testing.T) {
	w, path := newRecording(t)
	r := NewRecorder(w, RecorderOptions{MaxDuration: 2*time.Second + 5*time.Millisecond})
	n, why := feedFrames(r, speech(3*time.Second))
	if why != EndMax || n != 101 {
		t.Errorf("ended after %d frames with %q, want 101 frames, max", n, why)
	}
	select {
	case <-r.Done():
	default:
		t.Error("Done not closed")
	}
	w.Close()
	pcm, _ := audio.LoadWAVFile(path)
	if len(pcm) != 16040 {
		t.Errorf("file has %d samples, want 16040 (2.005 s)", len(pcm))
	}
	if done, why := r.Feed(speech(time.Second)); !done || why != EndMax {
		t.Error("Feed after the end did not report it")
	}
}

// The caller speaks for a second and then says nothing: the recording ends after the
// silence timeout, and with TrimSilence the file ends where the caller stopped.
func TestRecorderSilenceAfterSpeech(t *testing.T) {
	for _, trim := range []bool{false, true} {
		w, path := newRecording(t)
		r := NewRecorder(w, RecorderOptions{SilenceTimeout: 1500 * time.Millisecond, TrimSilence: trim, MaxDuration: time.Minute})
		// A 600 ms pause mid-message must neither end it nor be cut out of it.
		n, why := feedFrames(r, cat(speech(time.Second), silence(600*time.Millisecond), speech(400*time.Millisecond), silence(5*time.Second)))
		if why != EndSilence || n != 50+30+20+75 {
			t.Errorf("trim=%v: ended after %d frames with %q, want %d frames, silence", trim, n, why, 50+30+20+75)
		}
		w.Close()
		pcm, _ := audio.LoadWAVFile(path)
		want := 8000 * 35 / 10 // 1 + 0.6 + 0.4 + 1.5 s
		if trim {
			want = 8000 * 2 // up to the end of speech, the pause kept
		}
		if len(pcm) != want {
			t.Errorf("trim=%v: file has %d samples, want %d", trim, len(pcm), want)
		}
	}
}

// Silence from the start ends a recording nobody speaks into — unless WaitForSpeech.
func TestRecorderSilenceFromStart(t *testing.T) {
	w, _ := newRecording(t)
	r := NewRecorder(w, RecorderOptions{SilenceTimeout: time.Second})
	if n, why := feedFrames(r, silence(3*time.Second)); why != EndSilence || n != 50 {
		t.Errorf("ended after %d frames with %q, want 50, silence", n, why)
	}

	w2, _ := newRecording(t)
	r2 := NewRecorder(w2, RecorderOptions{SilenceTimeout: time.Second, WaitForSpeech: true})
	if n, why := feedFrames(r2, silence(5*time.Second)); why != EndNone {
		t.Errorf("WaitForSpeech: ended after %d frames of silence (%q)", n, why)
	}
	if n, why := feedFrames(r2, cat(speech(200*time.Millisecond), silence(2*time.Second))); why != EndSilence || n != 10+50 {
		t.Errorf("WaitForSpeech: ended after %d frames with %q, want 60, silence", n, why)
	}
}

// '#' or a hangup ends the recording through Stop; the first reason sticks.
func TestRecorderStop(t *testing.T) {
	w, path := newRecording(t)
	r := NewRecorder(w, RecorderOptions{SilenceTimeout: 3 * time.Second, TrimSilence: true})
	feedFrames(r, cat(speech(time.Second), silence(500*time.Millisecond)))
	if got := r.Stop(EndDigit); got != EndDigit {
		t.Errorf("Stop = %q", got)
	}
	if got := r.Stop(EndHangup); got != EndDigit || r.Reason() != EndDigit {
		t.Errorf("second Stop changed the reason to %q", got)
	}
	w.Close()
	if pcm, _ := audio.LoadWAVFile(path); len(pcm) != 12000 {
		t.Errorf("file has %d samples, want 12000 (held pause written on Stop)", len(pcm))
	}
	if NewRecorder(w, RecorderOptions{}).Stop(EndNone) != EndStopped {
		t.Error("Stop(EndNone) should end as stopped")
	}
}

func TestRecorderWriteError(t *testing.T) {
	r := NewRecorder(audio.NewWAVWriter(failingSeeker{}), RecorderOptions{})
	if done, why := r.Feed(speech(20 * time.Millisecond)); !done || why != EndError || r.Err() == nil {
		t.Errorf("write error: done=%v reason=%q err=%v", done, why, r.Err())
	}
}

// End to end: a caller's voice arrives over RTP, the recorder taps the session, and the
// voicemail on disk holds what the caller said and ends when they fell silent.
func TestRecorderOnSessionTap(t *testing.T) {
	clk := newSimClock()
	caller := newTestSession(t, WithClock(clk))
	hotline := newTestSession(t)
	connect(caller, hotline, PCMA, 0, PCMA, 0)
	w, path := newRecording(t)
	rec := NewRecorder(w, RecorderOptions{SilenceTimeout: 500 * time.Millisecond, TrimSilence: true, MaxDuration: time.Minute})
	remove := hotline.AddTap(rec.Tap)
	msg := speech(400 * time.Millisecond)
	if err := caller.Play(context.Background(), cat(msg, make([]int16, 8000))); err != nil {
		t.Fatal(err)
	}
	select {
	case <-rec.Done():
	case <-time.After(2 * time.Second):
		t.Fatal("recording did not end on silence")
	}
	remove()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if rec.Reason() != EndSilence {
		t.Errorf("reason %q", rec.Reason())
	}
	pcm, err := audio.LoadWAVFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(pcm) != len(msg) {
		t.Errorf("voicemail is %d samples, want %d", len(pcm), len(msg))
	}
	if r := audio.RMS(pcm); !within(r, audio.RMS(msg), 0.03) {
		t.Errorf("voicemail RMS %.0f, want %.0f", r, audio.RMS(msg))
	}
	if fi, _ := os.Stat(path); fi.Size() != int64(44+2*len(msg)) {
		t.Errorf("file size %d", fi.Size())
	}
}

// failingSeeker is a file whose every write fails (a full disk).
type failingSeeker struct{ io.WriteSeeker }

func (failingSeeker) Write([]byte) (int, error)      { return 0, errors.New("disk full") }
func (failingSeeker) Seek(int64, int) (int64, error) { return 0, nil }
