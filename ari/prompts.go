package ari

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/hotline-cc/hotline/audio"
	"github.com/hotline-cc/hotline/call"
	"github.com/hotline-cc/hotline/prompts"
)

// Asterisk's format_wav plays and records 8 kHz mono 16-bit PCM WAV files; prompts in other
// WAV flavours (espeak-ng renders 22.05 kHz, studios deliver 44.1/48 kHz stereo) are converted
// when they are placed in the sounds directory.

// CacheDir is the folder under the sounds directory where prompts from elsewhere (and
// silences) are placed for Asterisk to read.
const CacheDir = "hotline-cache"

// sounds maps call.Prompt files to Asterisk media URIs. The sounds directory is shared with
// Asterisk at the same path: a file inside it plays as sound:<absolute path, without
// extension>; a file outside it is copied (as 8 kHz mono WAV) to
// <dir>/hotline-cache/<content hash>.wav first.
//
// The path is absolute because Asterisk resolves a relative sound name under its own sounds
// directory (astdatadir/sounds/<language>/...), not under the directory hotline shares: with
// "sound:hotline-cache/<hash>" Asterisk 22 answers the play with PlaybackFinished "failed"
// although the file is there, and plays "sound:/var/lib/hotline-sounds/hotline-cache/<hash>"
// (ari/testdata/asterisk22/hold-moh.jsonl records both).
type sounds struct {
	dir string

	mu    sync.Mutex
	cache map[string]cachedSound // absolute source path -> placed sound
}

type cachedSound struct {
	size  int64
	mtime time.Time
	media string
}

// media returns the media URI for p, or "" for a prompt that plays nothing (zero silence).
func (s *sounds) media(p call.Prompt) (string, error) {
	if s.dir == "" {
		return "", fmt.Errorf("%w: no sounds directory shared with Asterisk is configured", ErrBadPrompt)
	}
	if p.File == "" {
		ms := p.Silence.Milliseconds()
		if ms <= 0 {
			return "", nil
		}
		name := fmt.Sprintf("silence-%d", ms)
		return s.place(name, func() ([]byte, error) {
			return audio.EncodeWAV(audio.SampleRate, 1, make([]int16, ms*audio.SampleRate/1000)), nil
		})
	}
	abs, err := filepath.Abs(p.File)
	if err != nil {
		return "", fmt.Errorf("%w: %q: %v", ErrBadPrompt, p.File, err)
	}
	st, err := os.Stat(abs)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrBadPrompt, err)
	}
	if st.IsDir() {
		return "", fmt.Errorf("%w: %q is a directory", ErrBadPrompt, p.File)
	}
	s.mu.Lock()
	c, ok := s.cache[abs]
	s.mu.Unlock()
	if ok && c.size == st.Size() && c.mtime.Equal(st.ModTime()) {
		return c.media, nil
	}
	media, err := s.resolve(abs)
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	if s.cache == nil {
		s.cache = map[string]cachedSound{}
	}
	s.cache[abs] = cachedSound{size: st.Size(), mtime: st.ModTime(), media: media}
	s.mu.Unlock()
	return media, nil
}

func (s *sounds) resolve(abs string) (string, error) {
	data, err := os.ReadFile(abs)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrBadPrompt, err)
	}
	ext := strings.ToLower(filepath.Ext(abs))
	dir, _ := filepath.Abs(s.dir)
	rel, err := filepath.Rel(dir, abs)
	inside := err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
	if ext != ".wav" {
		if inside { // .ulaw, .gsm, .sln16 ...: Asterisk reads them as they are
			return soundURI(abs), nil
		}
		sum := sha256.Sum256(data)
		return s.place(hex.EncodeToString(sum[:8])+ext, func() ([]byte, error) { return data, nil })
	}
	info, err := audio.ReadInfo(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return "", fmt.Errorf("%w: %q: %v", ErrBadPrompt, abs, err)
	}
	if inside && asteriskPlays(info.Format) {
		return soundURI(abs), nil
	}
	pcm, err := audio.ReadWAV(bytes.NewReader(data)) // any rate and layout, to 8 kHz mono
	if err != nil {
		return "", fmt.Errorf("%w: %q: %v", ErrBadPrompt, abs, err)
	}
	conv := audio.EncodeWAV(audio.SampleRate, 1, pcm)
	sum := sha256.Sum256(conv)
	return s.place(hex.EncodeToString(sum[:8]), func() ([]byte, error) { return conv, nil })
}

// place writes a file into the cache folder unless it is there already, and returns its URI.
// name has no extension for WAV files.
func (s *sounds) place(name string, content func() ([]byte, error)) (string, error) {
	file := name
	if filepath.Ext(name) == "" {
		file += ".wav"
	}
	dir, err := filepath.Abs(s.dir)
	if err != nil {
		return "", fmt.Errorf("%w: sounds directory %q: %v", ErrBadPrompt, s.dir, err)
	}
	path := filepath.Join(dir, CacheDir, file)
	if _, err := os.Stat(path); err == nil {
		return soundURI(path), nil
	}
	data, err := content()
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", fmt.Errorf("%w: %v", ErrBadPrompt, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrBadPrompt, err)
	}
	_, werr := tmp.Write(data)
	cerr := tmp.Close()
	if werr == nil {
		werr = cerr
	}
	if werr == nil {
		_ = os.Chmod(tmp.Name(), 0o644)    // Asterisk runs as another user
		werr = os.Rename(tmp.Name(), path) // Asterisk never sees a half-written file
	}
	if werr != nil {
		_ = os.Remove(tmp.Name())
		return "", fmt.Errorf("%w: %v", ErrBadPrompt, werr)
	}
	return soundURI(path), nil
}

// beep is the tone played before a recording: hotline's shipped beep (prompts/shipped),
// placed in the cache folder. ARI's own beep=true plays Asterisk's core sound "beep", which an
// Asterisk installed without the core sounds package does not have.
func (s *sounds) beep() (string, error) {
	if s.dir == "" {
		return "", fmt.Errorf("%w: no sounds directory shared with Asterisk is configured", ErrBadPrompt)
	}
	return s.place("hotline-beep", func() ([]byte, error) {
		data, err := fs.ReadFile(prompts.Shipped(), "beep.wav")
		if err != nil {
			return nil, fmt.Errorf("%w: shipped beep: %v", ErrBadPrompt, err)
		}
		pcm, err := audio.ReadWAV(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("%w: shipped beep: %v", ErrBadPrompt, err)
		}
		return audio.EncodeWAV(audio.SampleRate, 1, pcm), nil
	})
}

// soundURI is sound:<absolute path without extension, with forward slashes>.
func soundURI(abs string) string {
	abs = strings.TrimSuffix(abs, filepath.Ext(abs))
	return "sound:" + filepath.ToSlash(abs)
}

// asteriskPlays reports whether Asterisk's format_wav plays audio in format f as it is.
func asteriskPlays(f audio.Format) bool {
	return f.Tag == audio.FormatPCM && f.Channels == 1 && f.Bits == 16 && f.SampleRate == audio.SampleRate
}
