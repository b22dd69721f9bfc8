// Package prompts is hotline's audio: the prompt files shipped in the binary, the
// operator's prompt directory, and text spoken by espeak-ng and cached on disk, plus the
// words for numbers, digits and durations in each language. It makes files; drivers play them.
package prompts

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/hotline-cc/hotline/audio"
	"github.com/hotline-cc/hotline/call"
)

//go:embed shipped/*.wav
var shipped embed.FS

var (
	// ErrUnknownPrompt is returned for a prompt name found neither in the prompt directory
	// nor among the shipped prompts.
	ErrUnknownPrompt = errors.New("prompts: no such prompt")
	// ErrNoVoice is returned by Say for a language with no voice in prompts.voices.
	ErrNoVoice = errors.New("prompts: no voice for language")
	// ErrEmptyText is returned by Say for text with nothing to speak.
	ErrEmptyText = errors.New("prompts: nothing to say")
)

// Shipped is the file system of the prompts built into the binary (NAME.wav at its root).
func Shipped() fs.FS {
	sub, _ := fs.Sub(shipped, "shipped")
	return sub
}

// Library resolves prompt names to files and renders text with espeak-ng.
// It is safe for concurrent use; each (voice, text) is rendered once, however many calls
// ask for it at the same moment.
type Library struct {
	dir      string
	cacheDir string
	espeak   string
	voices   map[string]string
	log      *slog.Logger
	timeout  time.Duration

	renders singleflight.Group
	// rendered remembers when a say: file was last seen in the cache, so a thousand calls a
	// second saying the same greeting do not stat it each time. A file is looked at again
	// after renderedFor, in case the cache was cleared underneath; the map is emptied when
	// it reaches renderedMax files (texts with a ticket number in them are each new).
	renderedMu sync.Mutex
	rendered   map[string]time.Time

	extractOnce sync.Once
	extractErr  error
}

// renderedFor is how long Say trusts that a rendered file it saw is still in the cache.
const renderedFor = 10 * time.Second

// renderedMax bounds the files Say remembers having seen.
const renderedMax = 1024

// Option configures a Library.
type Option func(*Library)

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option { return func(lib *Library) { lib.log = l } }

// WithRenderTimeout bounds one espeak-ng run (default 30 s).
func WithRenderTimeout(d time.Duration) Option { return func(lib *Library) { lib.timeout = d } }

// Config is where prompts come from and how text is spoken (the prompts section of the
// configuration file).
type Config struct {
	Dir      string            // extra prompt files; names here override the shipped ones
	CacheDir string            // where say: text is rendered; "" = <dataDir>/say-cache
	Espeak   string            // espeak-ng binary; "" = espeak-ng
	Voices   map[string]string // language -> espeak-ng voice
}

// New makes a Library. The cache directory is cfg.CacheDir, or <dataDir>/say-cache; nothing
// is written until a prompt is needed.
func New(cfg Config, dataDir string, opts ...Option) *Library {
	cache := cfg.CacheDir
	if cache == "" {
		cache = filepath.Join(dataDir, "say-cache")
	}
	espeak := cfg.Espeak
	if espeak == "" {
		espeak = "espeak-ng"
	}
	voices := map[string]string{}
	for k, v := range cfg.Voices {
		voices[k] = v
	}
	l := &Library{dir: cfg.Dir, cacheDir: cache, espeak: espeak, voices: voices,
		log: slog.Default(), timeout: 30 * time.Second}
	for _, o := range opts {
		o(l)
	}
	l.log = l.log.With("component", "prompts")
	return l
}

// CacheDir is where rendered text and extracted shipped prompts are kept.
func (l *Library) CacheDir() string { return l.cacheDir }

// validName accepts names like "beep" or "greetings/welcome": relative, no "..", no extension.
func validName(name string) bool {
	if name == "" || strings.HasSuffix(name, ".wav") || strings.Contains(name, "\\") {
		return false
	}
	return fs.ValidPath(name)
}

// Has reports whether a prompt of this name exists (in the prompt directory or shipped).
func (l *Library) Has(name string) bool {
	if !validName(name) {
		return false
	}
	if l.dir != "" {
		if st, err := os.Stat(filepath.Join(l.dir, filepath.FromSlash(name)+".wav")); err == nil && st.Mode().IsRegular() {
			return true
		}
	}
	_, err := fs.Stat(Shipped(), name+".wav")
	return err == nil
}

// Names lists every prompt name, sorted: the shipped ones and those in the prompt directory.
func (l *Library) Names() []string {
	seen := map[string]bool{}
	add := func(fsys fs.FS) {
		_ = fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.HasSuffix(p, ".wav") {
				seen[strings.TrimSuffix(p, ".wav")] = true
			}
			return nil
		})
	}
	add(Shipped())
	if l.dir != "" {
		add(os.DirFS(l.dir))
	}
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Prompt resolves a prompt name to its file. A file in the prompt directory wins over a
// shipped prompt of the same name; shipped prompts are extracted to the cache directory
// the first time one is needed.
func (l *Library) Prompt(name string) (call.Prompt, error) {
	if !validName(name) {
		return call.Prompt{}, fmt.Errorf("%w: %q", ErrUnknownPrompt, name)
	}
	if l.dir != "" {
		p := filepath.Join(l.dir, filepath.FromSlash(name)+".wav")
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			return call.Prompt{File: p, Text: "[" + name + "]"}, nil
		}
	}
	if _, err := fs.Stat(Shipped(), name+".wav"); err != nil {
		return call.Prompt{}, fmt.Errorf("%w: %q", ErrUnknownPrompt, name)
	}
	l.extractOnce.Do(func() { l.extractErr = l.extractShipped() })
	if l.extractErr != nil {
		return call.Prompt{}, l.extractErr
	}
	return call.Prompt{File: filepath.Join(l.cacheDir, "shipped", filepath.FromSlash(name)+".wav"), Text: "[" + name + "]"}, nil
}

func (l *Library) extractShipped() error {
	root := filepath.Join(l.cacheDir, "shipped")
	return fs.WalkDir(Shipped(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(Shipped(), p)
		if err != nil {
			return err
		}
		dst := filepath.Join(root, filepath.FromSlash(p))
		if old, err := os.ReadFile(dst); err == nil && bytes.Equal(old, b) {
			return nil
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o750); err != nil {
			return fmt.Errorf("prompts: %w", err)
		}
		return writeAtomic(dst, b)
	})
}

// Voice is the espeak-ng voice for a language ("zh-CN" finds the voice of "zh").
func (l *Library) Voice(lang string) (string, bool) {
	if v, ok := l.voices[lang]; ok && v != "" {
		return v, true
	}
	v, ok := l.voices[Base(lang)]
	return v, ok && v != ""
}

// Say renders text in the language's voice to a WAV file in the cache directory, keyed by
// a hash of (voice, text), and returns it as a prompt. A text is rendered once: later calls,
// and calls arriving while it renders, get the same file.
func (l *Library) Say(ctx context.Context, lang, text string) (call.Prompt, error) {
	return l.sayIn(ctx, lang, text, filepath.Join(l.cacheDir, "say"))
}

// SayFor is Say for text that speaks a customer's personal data (their name, their number):
// it is cached apart, under <cache>/customers/<customer ID>/, so that erasing the customer
// can remove every rendering of it (ForgetCustomer) while a returning caller is still
// greeted without waiting for a render.
func (l *Library) SayFor(ctx context.Context, lang, text, customerID string) (call.Prompt, error) {
	if customerID == "" {
		p, _, err := l.SayUncached(ctx, lang, text)
		return p, err
	}
	return l.sayIn(ctx, lang, text, customerCache(l.cacheDir, customerID))
}

// ForgetCustomer removes every prompt rendered for a customer (SayFor).
func (l *Library) ForgetCustomer(customerID string) error {
	l.renderedMu.Lock()
	l.rendered = nil // the files it remembers may be gone
	l.renderedMu.Unlock()
	return ForgetCustomer(l.cacheDir, customerID)
}

// ForgetCustomer removes the prompts rendered for a customer from the cache directory
// cacheDir (for a process without the Library, such as hotline customer erase).
func ForgetCustomer(cacheDir, customerID string) error {
	if customerID == "" || cacheDir == "" {
		return nil
	}
	if err := os.RemoveAll(customerCache(cacheDir, customerID)); err != nil {
		return fmt.Errorf("prompts: removing a customer's rendered prompts: %w", err)
	}
	return nil
}

func customerCache(cacheDir, customerID string) string {
	return filepath.Join(cacheDir, "customers", safeDir(customerID))
}

// PersonalSpeaker renders text holding a customer's personal data where erasing the
// customer removes it; *Library is one.
type PersonalSpeaker interface {
	SayFor(ctx context.Context, lang, text, customerID string) (call.Prompt, error)
}

var _ PersonalSpeaker = (*Library)(nil)

func (l *Library) sayIn(ctx context.Context, lang, text, root string) (call.Prompt, error) {
	voice, text, err := l.prepare(lang, text)
	if err != nil {
		return call.Prompt{}, err
	}
	sum := sha256.Sum256([]byte(voice + "\x00" + text))
	file := filepath.Join(root, safeDir(voice), hex.EncodeToString(sum[:12])+".wav")
	if l.seen(file) {
		return call.Prompt{File: file, Text: text}, nil
	}
	if st, err := os.Stat(file); err == nil && st.Size() > audio.HeaderSize {
		l.saw(file)
		return call.Prompt{File: file, Text: text}, nil
	}
	ch := l.renders.DoChan(file, func() (any, error) {
		if st, err := os.Stat(file); err == nil && st.Size() > audio.HeaderSize {
			return nil, nil
		}
		// The render outlives the call that asked for it: others may be waiting for it.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), l.timeout)
		defer cancel()
		start := time.Now()
		if err := l.render(rctx, voice, text, file); err != nil {
			return nil, err
		}
		l.log.Debug("rendered", "voice", voice, "file", filepath.Base(file), "took", time.Since(start))
		return nil, nil
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return call.Prompt{}, r.Err
		}
		return call.Prompt{File: file, Text: text}, nil
	case <-ctx.Done():
		return call.Prompt{}, ctx.Err()
	}
}

// seen says whether file was found in the cache less than renderedFor ago.
func (l *Library) seen(file string) bool {
	l.renderedMu.Lock()
	defer l.renderedMu.Unlock()
	at, ok := l.rendered[file]
	return ok && time.Since(at) < renderedFor
}

// saw notes that file is in the cache now.
func (l *Library) saw(file string) {
	l.renderedMu.Lock()
	defer l.renderedMu.Unlock()
	if l.rendered == nil || len(l.rendered) >= renderedMax {
		l.rendered = map[string]time.Time{}
	}
	l.rendered[file] = time.Now()
}

// SayUncached renders text that must not be kept on disk (it holds a sensitive value) to a
// private temporary file. The caller plays it and then calls remove. Text in the returned
// prompt is empty, so the value cannot reach a log through it.
func (l *Library) SayUncached(ctx context.Context, lang, text string) (call.Prompt, func(), error) {
	voice, text, err := l.prepare(lang, text)
	if err != nil {
		return call.Prompt{}, func() {}, err
	}
	dir := filepath.Join(l.cacheDir, "private")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return call.Prompt{}, func() {}, fmt.Errorf("prompts: %w", err)
	}
	f, err := os.CreateTemp(dir, "say-*.wav")
	if err != nil {
		return call.Prompt{}, func() {}, fmt.Errorf("prompts: %w", err)
	}
	name := f.Name()
	f.Close()
	remove := func() { os.Remove(name) }
	rctx, cancel := context.WithTimeout(ctx, l.timeout)
	defer cancel()
	if err := l.runEspeak(rctx, voice, text, name); err != nil {
		remove()
		return call.Prompt{}, func() {}, err
	}
	return call.Prompt{File: name}, remove, nil
}

func (l *Library) prepare(lang, text string) (voice, clean string, err error) {
	clean = strings.TrimSpace(text)
	if clean == "" {
		return "", "", ErrEmptyText
	}
	voice, ok := l.Voice(lang)
	if !ok {
		return "", "", fmt.Errorf("%w %q (add it under prompts.voices)", ErrNoVoice, lang)
	}
	return voice, clean, nil
}

func (l *Library) render(ctx context.Context, voice, text, file string) error {
	if err := os.MkdirAll(filepath.Dir(file), 0o750); err != nil {
		return fmt.Errorf("prompts: %w", err)
	}
	tmp := file + ".tmp" + fmt.Sprint(time.Now().UnixNano())
	if err := l.runEspeak(ctx, voice, text, tmp); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, file); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("prompts: %w", err)
	}
	return nil
}

// runEspeak speaks text (UTF-8 on stdin, so text is never taken for an option) into file.
func (l *Library) runEspeak(ctx context.Context, voice, text, file string) error {
	cmd := exec.CommandContext(ctx, l.espeak, "-v", voice, "-b", "1", "-w", file, "--stdin")
	cmd.Stdin = strings.NewReader(text + "\n")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg != "" {
			return fmt.Errorf("prompts: %s -v %s: %w: %s", l.espeak, voice, err, msg)
		}
		return fmt.Errorf("prompts: %s -v %s: %w", l.espeak, voice, err)
	}
	if st, err := os.Stat(file); err != nil || st.Size() <= audio.HeaderSize { // a header, no audio
		return fmt.Errorf("prompts: %s -v %s wrote no audio (is the voice installed?)", l.espeak, voice)
	}
	return nil
}

func safeDir(voice string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, voice)
}

func writeAtomic(dst string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(dst), "."+path.Base(filepath.ToSlash(dst))+".*")
	if err != nil {
		return fmt.Errorf("prompts: %w", err)
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return fmt.Errorf("prompts: %w", err)
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("prompts: %w", err)
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("prompts: %w", err)
	}
	return nil
}
