package ari

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/hotline-cc/hotline/audio"
	"github.com/hotline-cc/hotline/call"
)

// Asterisk's format_wav plays and records 8 kHz mono 16-bit PCM WAV files; prompts in other
// WAV flavours (espeak-ng renders 22.05 kHz, studios deliver 44.1/48 kHz stereo) are converted
// when they are placed in the sounds directory.

// CacheDir is the folder under the sounds directory where prompts from elsewhere (and
// silences) are placed for Asterisk to read.
const CacheDir = "hotline-cache"

// sounds maps call.Prompt files to Asterisk media URIs. The sounds directory is shared with
// Asterisk: a file inside it plays as sound:<path relative to it, without extension>; a file
// outside it is copied (as 8 kHz mono WAV) to <dir>/hotline-cache/<content hash>.wav first.
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
			return soundURI(rel), nil
		}
		sum := sha256.Sum256(data)
		return s.place(hex.EncodeToString(sum[:8])+ext, func() ([]byte, error) { return data, nil })
	}
	info, err := audio.ReadInfo(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return "", fmt.Errorf("%w: %q: %v", ErrBadPrompt, abs, err)
	}
	if inside && asteriskPlays(info.Format) {
		return soundURI(rel), nil
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
	path := filepath.Join(s.dir, CacheDir, file)
	if _, err := os.Stat(path); err == nil {
		return soundURI(filepath.Join(CacheDir, file)), nil
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
	return soundURI(filepath.Join(CacheDir, file)), nil
}

// soundURI is sound:<path without extension, with forward slashes>.
func soundURI(rel string) string {
	rel = strings.TrimSuffix(rel, filepath.Ext(rel))
	return "sound:" + filepath.ToSlash(rel)
}

// asteriskPlays reports whether Asterisk's format_wav plays audio in format f as it is.
func asteriskPlays(f audio.Format) bool {
	return f.Tag == audio.FormatPCM && f.Channels == 1 && f.Bits == 16 && f.SampleRate == audio.SampleRate
}
