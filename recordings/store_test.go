package recordings

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/audio"
)

// wav is a WAV file of PCM16 silence at 8 kHz mono, ms milliseconds long (as the SIP
// driver's recorder writes them).
func wav(ms int) []byte { return audio.EncodeWAV(audio.SampleRate, 1, make([]int16, ms*8)) }

func TestSaveOpenVerifyDelete(t *testing.T) {
	at := time.Date(2026, 5, 12, 10, 15, 0, 0, time.UTC)
	s, err := New(t.TempDir(), WithClock(func() time.Time { return at }))
	if err != nil {
		t.Fatal(err)
	}
	body := wav(1500) // 1.5 s of PCM16 at 8 kHz
	rec, err := s.Save(context.Background(), bytes.NewReader(body), Meta{})
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(body)
	if rec.SHA256 != hex.EncodeToString(sum[:]) || rec.Size != int64(len(body)) {
		t.Errorf("checksum/size = %s/%d, want %x/%d", rec.SHA256, rec.Size, sum, len(body))
	}
	if rec.Duration != 1500*time.Millisecond {
		t.Errorf("duration = %v, want 1.5s", rec.Duration)
	}
	if !strings.HasPrefix(rec.ID, "20260512T101500Z-") || rec.Path != filepath.Join(s.Dir(), "2026", "05", "12", rec.ID+".wav") {
		t.Errorf("id %s at %s: not dated from the clock", rec.ID, rec.Path)
	}
	// No temporary file is left beside it.
	entries, _ := os.ReadDir(filepath.Dir(rec.Path))
	if len(entries) != 1 {
		t.Errorf("day folder holds %d files, want only the recording", len(entries))
	}
	f, err := s.Open(rec.ID)
	if err != nil {
		t.Fatal(err)
	}
	// Streaming a download seeks (http.ServeContent does).
	if _, err := f.Seek(int64(len(body)-10), io.SeekStart); err != nil {
		t.Fatal(err)
	}
	tail, _ := io.ReadAll(f)
	f.Close()
	if !bytes.Equal(tail, body[len(body)-10:]) {
		t.Error("seeking into the recording read the wrong bytes")
	}
	if err := s.Verify(rec.ID, rec.SHA256); err != nil {
		t.Errorf("Verify of an intact file: %v", err)
	}
	os.WriteFile(rec.Path, append(body, 0), 0o640)
	if err := s.Verify(rec.ID, rec.SHA256); !errors.Is(err, ErrChecksum) {
		t.Errorf("Verify of a changed file = %v, want ErrChecksum", err)
	}
	if err := s.Delete(rec.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Open(rec.ID); !errors.Is(err, ErrNotFound) || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Open after Delete = %v, want ErrNotFound", err)
	}
	if err := s.Delete(rec.ID); err != nil {
		t.Errorf("deleting twice: %v", err)
	}
}

func TestSaveFileKeepsAMessageWithAnOddHeader(t *testing.T) {
	s, _ := New(t.TempDir())
	src := filepath.Join(t.TempDir(), "vm.wav")
	os.WriteFile(src, []byte("not a wav at all"), 0o640)
	rec, err := s.SaveFile(context.Background(), src, Meta{})
	if err != nil {
		t.Fatal(err)
	}
	if rec.Duration != 0 || rec.Size != 16 {
		t.Errorf("got %v/%d, want 0 duration and 16 bytes kept", rec.Duration, rec.Size)
	}
	rec, err = s.SaveFile(context.Background(), src, Meta{Duration: 42 * time.Second})
	if err != nil || rec.Duration != 42*time.Second {
		t.Errorf("a known duration is kept: %v %v", rec.Duration, err)
	}
}

func TestSaveCancelledLeavesNothing(t *testing.T) {
	s, _ := New(t.TempDir())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Save(ctx, bytes.NewReader(wav(1000)), Meta{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	n := 0
	filepath.WalkDir(s.Dir(), func(_ string, d fs.DirEntry, _ error) error {
		if !d.IsDir() {
			n++
		}
		return nil
	})
	if n != 0 {
		t.Errorf("%d files left after a cancelled save", n)
	}
}

func TestIDsNeverEscapeTheDirectory(t *testing.T) {
	s, _ := New(t.TempDir())
	for _, id := range []string{"", "../../etc/passwd", "20260512T101500Z-1a2b3c4d5e6f7a8b/../x",
		"20260512T101500Z-1A2B3C4D5E6F7A8B", "20261312T101500Z-1a2b3c4d5e6f7a8b", "x.wav"} {
		if _, err := s.Open(id); !errors.Is(err, ErrBadID) {
			t.Errorf("Open(%q) = %v, want ErrBadID", id, err)
		}
		if err := s.Delete(id); !errors.Is(err, ErrBadID) {
			t.Errorf("Delete(%q) = %v, want ErrBadID", id, err)
		}
	}
}

func TestPrune(t *testing.T) {
	now := time.Date(2026, 5, 12, 10, 0, 0, 0, time.UTC)
	s, _ := New(t.TempDir(), WithClock(func() time.Time { return now }))
	ctx := context.Background()
	old, _ := s.Save(ctx, bytes.NewReader(wav(100)), Meta{At: now.AddDate(0, 0, -91)})
	kept, _ := s.Save(ctx, bytes.NewReader(wav(100)), Meta{At: now.AddDate(0, 0, -89)})
	stale := filepath.Join(filepath.Dir(kept.Path), ".tmp-123.wav")
	os.WriteFile(stale, []byte("x"), 0o640)
	os.Chtimes(stale, now.Add(-2*time.Hour), now.Add(-2*time.Hour))
	fresh := filepath.Join(filepath.Dir(kept.Path), ".tmp-456.wav")
	os.WriteFile(fresh, []byte("x"), 0o640)
	os.Chtimes(fresh, now, now)

	deleted, err := s.Prune(ctx, now.AddDate(0, 0, -90))
	if err != nil {
		t.Fatal(err)
	}
	if len(deleted) != 1 || deleted[0] != old.ID {
		t.Errorf("deleted %v, want only %s", deleted, old.ID)
	}
	if _, err := os.Stat(kept.Path); err != nil {
		t.Errorf("the recording inside retention is gone: %v", err)
	}
	if _, err := os.Stat(stale); !errors.Is(err, fs.ErrNotExist) {
		t.Error("a temporary file from an interrupted save two hours ago was kept")
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Error("a temporary file of a save that may be running was removed")
	}
}

// FuzzParseID: IDs arrive in download URLs; only well-formed ones may become paths.
func FuzzParseID(f *testing.F) {
	f.Add("20260512T101500Z-1a2b3c4d5e6f7a8b")
	f.Add("../20260512T101500Z-1a2b3c4d5e6f7a8b")
	f.Fuzz(func(t *testing.T, id string) {
		s := &Store{dir: "/recordings"}
		p, err := s.Path(id)
		if err != nil {
			return
		}
		if filepath.Clean(p) != p || !strings.HasPrefix(p, "/recordings/") || strings.Contains(id, "/") || strings.Contains(id, ".") {
			t.Fatalf("ID %q maps to %q", id, p)
		}
	})
}
