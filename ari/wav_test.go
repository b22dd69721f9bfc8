package ari

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/audio"
	"github.com/hotline-cc/hotline/call"
)

func sin440(i, rate int) float64 { return math.Sin(2 * math.Pi * 440 * float64(i) / float64(rate)) }

func TestWAVDurationOfAsteriskRecording(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "hotline-msg.wav"))
	if err != nil {
		t.Fatal(err)
	}
	w, err := audio.ReadInfo(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	if !asteriskPlays(w.Format) || w.Duration() != 3060*time.Millisecond {
		t.Errorf("Asterisk's recording: %+v, %v; want 8 kHz mono PCM16 of 3.06 s", w, w.Duration())
	}
	if d := wavFileDuration(filepath.Join("testdata", "hotline-msg.wav")); d != 3060*time.Millisecond {
		t.Errorf("wavFileDuration = %v, want 3.06 s", d)
	}
}

// Prompts: a file in the shared sounds directory plays by its absolute path (Asterisk looks a
// relative name up in its own sounds directory, not in the shared one); one elsewhere
// (here 22.05 kHz stereo, as espeak-ng and studios deliver) is converted to 8 kHz mono and
// placed in hotline-cache; silence becomes a cached silent file; a missing file is an error.
func TestPromptMedia(t *testing.T) {
	dir := t.TempDir()
	s := &sounds{dir: dir}
	writeWAV(t, filepath.Join(dir, "menu", "main.wav"), 8000, 1, 100)
	got, err := s.media(call.Prompt{File: filepath.Join(dir, "menu", "main.wav")})
	if want := "sound:" + filepath.ToSlash(filepath.Join(dir, "menu", "main")); err != nil || got != want {
		t.Errorf("prompt inside the sounds dir = %q, %v; want %s", got, err, want)
	}
	cache := "sound:" + filepath.ToSlash(filepath.Join(dir, CacheDir)) + "/"

	outside := filepath.Join(t.TempDir(), "greeting.wav")
	writeWAV(t, outside, 22050, 2, 500)
	got, err = s.media(call.Prompt{File: outside})
	if err != nil || !strings.HasPrefix(got, cache) {
		t.Fatalf("prompt outside = %q, %v; want %s<hash>", got, err, cache)
	}
	placed, err := os.ReadFile(strings.TrimPrefix(got, "sound:") + ".wav")
	if err != nil {
		t.Fatal(err)
	}
	w, err := audio.ReadInfo(bytes.NewReader(placed), int64(len(placed)))
	if err != nil || !asteriskPlays(w.Format) || w.Duration() < 490*time.Millisecond || w.Duration() > 510*time.Millisecond {
		t.Errorf("placed copy %+v (%v), %v: want 8 kHz mono PCM16 of 0.5 s", w, w.Duration(), err)
	}
	again, _ := s.media(call.Prompt{File: outside})
	if again != got {
		t.Errorf("second play of the same prompt = %q, want the cached %q", again, got)
	}

	// An inside file Asterisk cannot play as it is (16 kHz) is converted too.
	writeWAV(t, filepath.Join(dir, "wide.wav"), 16000, 1, 100)
	if got, _ := s.media(call.Prompt{File: filepath.Join(dir, "wide.wav")}); !strings.HasPrefix(got, cache) {
		t.Errorf("16 kHz prompt inside = %q, want a converted copy in the cache", got)
	}

	got, err = s.media(call.Prompt{Silence: 750 * time.Millisecond})
	if err != nil || got != cache+"silence-750" {
		t.Errorf("silence = %q, %v", got, err)
	}
	if w, err := audio.LoadWAVInfo(filepath.Join(dir, CacheDir, "silence-750.wav")); err != nil || w.Duration() != 750*time.Millisecond {
		t.Errorf("silence file: %v, %v long", err, w.Duration())
	}
	if got, err := s.media(call.Prompt{}); got != "" || err != nil {
		t.Errorf("empty prompt = %q, %v; want nothing to play", got, err)
	}
	if _, err := s.media(call.Prompt{File: filepath.Join(dir, "nope.wav")}); err == nil {
		t.Error("missing prompt file: want an error")
	}
	if _, err := (&sounds{}).media(call.Prompt{File: outside}); err == nil {
		t.Error("no sounds dir: want an error")
	}
}
