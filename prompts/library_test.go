package prompts

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/audio"
	"github.com/hotline-cc/hotline/internal/testenv"
)

func testLibrary(t *testing.T, dir string, opts ...Option) *Library {
	t.Helper()
	return New(Config{Dir: dir, Espeak: "espeak-ng",
		Voices: map[string]string{"en": "en-us", "zh": "cmn-latn-pinyin"}}, t.TempDir(), opts...)
}

func TestShippedPromptsAreSmall8kWAVs(t *testing.T) {
	lib := testLibrary(t, "")
	for _, name := range []string{"beep", "hold-music"} {
		if !lib.Has(name) {
			t.Fatalf("shipped prompt %q missing", name)
		}
		p, err := lib.Prompt(name)
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(p.File)
		if err != nil {
			t.Fatalf("%s was not extracted: %v", name, err)
		}
		if len(b) > 100_000 {
			t.Errorf("%s is %d bytes; keep shipped prompts under 100 KB", name, len(b))
		}
		info, err := audio.ReadInfo(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			t.Fatalf("%s is not a WAV file: %v", name, err)
		}
		if info.SampleRate != 8000 || info.Channels != 1 {
			t.Errorf("%s is %d Hz, %d channels; want 8000 Hz mono", name, info.SampleRate, info.Channels)
		}
		if pcm, err := audio.ReadWAV(bytes.NewReader(b)); err != nil || audio.RMS(pcm) == 0 {
			t.Errorf("%s does not decode to sound: RMS %.0f, %v", name, audio.RMS(pcm), err)
		}
	}
	if got := lib.Names(); strings.Join(got, ",") != "beep,hold-music" {
		t.Errorf("Names() = %v", got)
	}
}

func TestPromptDirOverridesShipped(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "beep.wav"), []byte("RIFF-own-beep"), 0o644)
	os.MkdirAll(filepath.Join(dir, "greetings"), 0o755)
	os.WriteFile(filepath.Join(dir, "greetings", "welcome.wav"), []byte("RIFF"), 0o644)
	lib := testLibrary(t, dir)
	p, err := lib.Prompt("beep")
	if err != nil || p.File != filepath.Join(dir, "beep.wav") {
		t.Errorf("beep resolved to %q (%v), want the operator's file", p.File, err)
	}
	if !lib.Has("greetings/welcome") {
		t.Error("a prompt in a subdirectory is not found")
	}
	for _, bad := range []string{"../etc/passwd", "/etc/passwd", "beep.wav", "", "nope"} {
		if lib.Has(bad) {
			t.Errorf("Has(%q) = true", bad)
		}
		if _, err := lib.Prompt(bad); !errors.Is(err, ErrUnknownPrompt) {
			t.Errorf("Prompt(%q) error = %v, want ErrUnknownPrompt", bad, err)
		}
	}
	want := "beep,greetings/welcome,hold-music"
	if got := strings.Join(lib.Names(), ","); got != want {
		t.Errorf("Names() = %s, want %s", got, want)
	}
}

// fakeEspeak writes a script that behaves like espeak-ng -w FILE: it records each run and
// writes a small WAV after a pause, so concurrent callers overlap.
func fakeEspeak(t *testing.T) (bin, runs string) {
	dir := t.TempDir()
	runs = filepath.Join(dir, "runs")
	bin = filepath.Join(dir, "espeak")
	script := `#!/bin/sh
out=""
while [ $# -gt 0 ]; do
  case "$1" in -w) out="$2"; shift;; esac
  shift
done
cat >> "` + runs + `"
sleep 0.2
head -c 200 /dev/zero > "$out"
`
	if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return bin, runs
}

func TestSayRendersOnceUnderConcurrentCalls(t *testing.T) {
	bin, runs := fakeEspeak(t)
	lib := New(Config{Espeak: bin, Voices: map[string]string{"en": "en-us", "zh": "cmn"}}, t.TempDir())
	var wg sync.WaitGroup
	files := make([]string, 8)
	for i := range files {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p, err := lib.Say(context.Background(), "en", "Please hold.")
			if err != nil {
				t.Error(err)
				return
			}
			files[i] = p.File
		}()
	}
	wg.Wait()
	for _, f := range files[1:] {
		if f != files[0] {
			t.Fatalf("callers got different files: %v", files)
		}
	}
	again, err := lib.Say(context.Background(), "en-US", "Please hold.")
	if err != nil || again.File != files[0] || again.Text != "Please hold." {
		t.Errorf("a later call got %+v, %v", again, err)
	}
	zh, _ := lib.Say(context.Background(), "zh", "Please hold.")
	b, _ := os.ReadFile(runs)
	if n := strings.Count(string(b), "Please hold."); n != 2 {
		t.Errorf("espeak ran %d times for 8 concurrent + 1 later en call and 1 zh call, want 2 (once per voice)", n)
	}
	if zh.File == files[0] {
		t.Error("the same text in another voice must be another file")
	}
}

func TestSayRefusesUnknownLanguageAndEmptyText(t *testing.T) {
	lib := testLibrary(t, "")
	if _, err := lib.Say(context.Background(), "fr", "bonjour"); !errors.Is(err, ErrNoVoice) {
		t.Errorf("fr: %v, want ErrNoVoice", err)
	}
	if _, err := lib.Say(context.Background(), "en", "  "); !errors.Is(err, ErrEmptyText) {
		t.Errorf("blank: %v, want ErrEmptyText", err)
	}
}

func TestSayUncachedLeavesNothingBehind(t *testing.T) {
	bin, _ := fakeEspeak(t)
	lib := New(Config{Espeak: bin, Voices: map[string]string{"en": "en-us"}}, t.TempDir())
	p, remove, err := lib.SayUncached(context.Background(), "en", "Your PIN is one two three four.")
	if err != nil {
		t.Fatal(err)
	}
	if p.Text != "" {
		t.Errorf("uncached prompt carries its text %q; it must not reach logs", p.Text)
	}
	if _, err := os.Stat(p.File); err != nil {
		t.Fatalf("file not written: %v", err)
	}
	remove()
	if _, err := os.Stat(p.File); !os.IsNotExist(err) {
		t.Errorf("file still there after remove: %v", err)
	}
	if ents, _ := os.ReadDir(filepath.Join(lib.CacheDir(), "say")); len(ents) != 0 {
		t.Errorf("sensitive text landed in the cache: %v", ents)
	}
}

// With the real espeak-ng: English and Mandarin come out as WAV audio of a plausible length.
func TestSayWithEspeak(t *testing.T) {
	testenv.Tool(t, "espeak-ng")
	lib := testLibrary(t, "", WithRenderTimeout(20*time.Second))
	for _, c := range []struct{ lang, text string }{
		{"en", "You are number " + SayNumber("en", 3) + " in line."},
		{"zh", PositionAnnouncement("zh", 3, 2*time.Minute)},
	} {
		p, err := lib.Say(context.Background(), c.lang, c.text)
		if err != nil {
			t.Fatalf("%s: %v", c.lang, err)
		}
		b, err := os.ReadFile(p.File)
		if err != nil {
			t.Fatal(err)
		}
		info, err := audio.ReadInfo(bytes.NewReader(b), int64(len(b)))
		if err != nil || len(b) < 22050 || info.Duration() < 500*time.Millisecond { // at least half a second
			t.Errorf("%s: %d bytes, %v of audio (%v), not a spoken sentence", c.lang, len(b), info.Duration(), err)
		}
	}
}
