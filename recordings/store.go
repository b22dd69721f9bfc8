package recordings

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/hotline-cc/hotline/audio"
)

// Store keeps recordings under one directory, a folder per day:
// <dir>/2026/05/12/20260512T101500Z-1a2b3c4d5e6f7a8b.wav. A recording's ID says where it is,
// so nothing but the file system is needed to find one.
type Store struct {
	dir string
	now func() time.Time
}

// Option configures a Store.
type Option func(*Store)

// WithClock sets the clock that dates new recordings (default time.Now).
func WithClock(now func() time.Time) Option { return func(s *Store) { s.now = now } }

// New opens (creating if needed) the recordings directory.
func New(dir string, opts ...Option) (*Store, error) {
	if dir == "" {
		return nil, errors.New("recordings: directory is empty")
	}
	s := &Store{dir: dir, now: time.Now}
	for _, o := range opts {
		o(s)
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("recordings: %w", err)
	}
	return s, nil
}

// Dir is the directory the recordings are kept in.
func (s *Store) Dir() string { return s.dir }

// Meta describes a recording being saved.
type Meta struct {
	// Duration, when known; zero reads it from the WAV header (0 if the header is unreadable:
	// a message is kept even when its header is odd).
	Duration time.Duration
	// At dates the recording (default now); retention counts from it.
	At time.Time
}

// Recording is a saved file.
type Recording struct {
	ID        string
	Path      string
	SHA256    string // hex
	Size      int64
	Duration  time.Duration
	CreatedAt time.Time
}

var idRE = regexp.MustCompile(`^(\d{4})(\d{2})(\d{2})T\d{6}Z-[0-9a-f]{16}$`)

// ParseID checks that s is a recording ID and returns the day it was made. IDs reach the
// dashboard's download URLs, so nothing else may be turned into a path.
func ParseID(s string) (time.Time, error) {
	if !idRE.MatchString(s) {
		return time.Time{}, fmt.Errorf("%w: %q", ErrBadID, s)
	}
	t, err := time.Parse("20060102T150405Z", s[:16])
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: %q", ErrBadID, s)
	}
	return t, nil
}

// Path is where the recording with this ID lives.
func (s *Store) Path(id string) (string, error) {
	if _, err := ParseID(id); err != nil {
		return "", err
	}
	return filepath.Join(s.dir, id[0:4], id[4:6], id[6:8], id+".wav"), nil
}

func newID(at time.Time) string {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return at.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:])
}

// Save writes src as a new recording: to a temporary name, fsynced, then renamed into place
// and the directory fsynced, so a recording either exists whole or not at all.
func (s *Store) Save(ctx context.Context, src io.Reader, meta Meta) (Recording, error) {
	at := meta.At
	if at.IsZero() {
		at = s.now()
	}
	rec := Recording{ID: newID(at), CreatedAt: at.UTC().Truncate(time.Millisecond)}
	rec.Path, _ = s.Path(rec.ID)
	day := filepath.Dir(rec.Path)
	if err := s.mkdirs(day); err != nil {
		return Recording{}, err
	}
	tmp, err := os.CreateTemp(day, ".tmp-*.wav")
	if err != nil {
		return Recording{}, fmt.Errorf("recordings: %w", err)
	}
	done := false
	defer func() {
		if !done {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), ctxReader{ctx, src})
	if err != nil {
		return Recording{}, fmt.Errorf("recordings: writing %s: %w", rec.ID, err)
	}
	rec.Size, rec.SHA256, rec.Duration = n, hex.EncodeToString(h.Sum(nil)), meta.Duration
	if rec.Duration == 0 {
		if info, err := audio.ReadInfo(tmp, n); err == nil {
			rec.Duration = info.Duration()
		}
	}
	if err := tmp.Sync(); err != nil {
		return Recording{}, fmt.Errorf("recordings: fsync %s: %w", rec.ID, err)
	}
	if err := tmp.Close(); err != nil {
		return Recording{}, fmt.Errorf("recordings: %w", err)
	}
	if err := os.Rename(tmp.Name(), rec.Path); err != nil {
		return Recording{}, fmt.Errorf("recordings: %w", err)
	}
	done = true
	if err := syncDir(day); err != nil {
		os.Remove(rec.Path)
		return Recording{}, err
	}
	return rec, nil
}

// SaveFile copies the file at path into the store (the caller may delete it afterwards).
func (s *Store) SaveFile(ctx context.Context, path string, meta Meta) (Recording, error) {
	f, err := os.Open(path)
	if err != nil {
		return Recording{}, fmt.Errorf("recordings: %w", err)
	}
	defer f.Close()
	return s.Save(ctx, f, meta)
}

// Open returns the recording for reading, e.g. to stream it with http.ServeContent.
func (s *Store) Open(id string) (*os.File, error) {
	p, err := s.Path(id)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	return f, err
}

// Verify recomputes the checksum of a recording and compares it with want.
func (s *Store) Verify(id, want string) error {
	f, err := s.Open(id)
	if err != nil {
		return err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return fmt.Errorf("recordings: reading %s: %w", id, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != strings.ToLower(want) {
		return fmt.Errorf("%w: %s has sha256 %s, saved as %s", ErrChecksum, id, got, want)
	}
	return nil
}

// Delete removes a recording. Deleting one that is already gone is not an error.
func (s *Store) Delete(id string) error {
	p, err := s.Path(id)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("recordings: %w", err)
	}
	return syncDir(filepath.Dir(p))
}

// Prune deletes every recording made before the given time, and temporary files left by an
// interrupted Save more than an hour old, and returns the IDs of the recordings it deleted.
// The customer store calls it for retention, after marking its own records. The incoming
// folder (recordings being made, or left by a crash for recovery) is never pruned.
func (s *Store) Prune(ctx context.Context, before time.Time) ([]string, error) {
	return s.PruneKeeping(ctx, before, nil)
}

// PruneKeeping is Prune sparing the recordings keep holds (kept longer than the default, by
// a per-queue retention).
func (s *Store) PruneKeeping(ctx context.Context, before time.Time, keep map[string]bool) ([]string, error) {
	var deleted []string
	incoming := filepath.Join(s.dir, IncomingDir)
	staleTmp := s.now().Add(-time.Hour)
	err := filepath.WalkDir(s.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if d.IsDir() {
			if p == incoming {
				return filepath.SkipDir
			}
			return nil
		}
		name := d.Name()
		if strings.HasPrefix(name, ".tmp-") {
			if info, err := d.Info(); err == nil && info.ModTime().Before(staleTmp) {
				os.Remove(p)
			}
			return nil
		}
		id, ok := strings.CutSuffix(name, ".wav")
		if !ok {
			return nil
		}
		t, err := ParseID(id)
		if err != nil || !t.Before(before) || keep[id] {
			return nil
		}
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("recordings: %w", err)
		}
		deleted = append(deleted, id)
		return nil
	})
	return deleted, err
}

// mkdirs creates the day folder and fsyncs each new directory's parent, so the folder a
// recording is renamed into survives a crash too.
func (s *Store) mkdirs(dir string) error {
	if _, err := os.Stat(dir); err == nil {
		return nil
	}
	var created []string
	for d := dir; d != s.dir && d != "." && d != string(filepath.Separator); d = filepath.Dir(d) {
		if _, err := os.Stat(d); err == nil {
			break
		}
		created = append(created, d)
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("recordings: %w", err)
	}
	for _, d := range created {
		if err := syncDir(filepath.Dir(d)); err != nil {
			return err
		}
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("recordings: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("recordings: fsync %s: %w", dir, err)
	}
	return nil
}

// ctxReader stops a copy when the context ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
