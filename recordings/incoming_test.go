package recordings

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/audio"
)

// stereo is a two-channel 8 kHz PCM16 WAV of ms milliseconds, as a conversation recording is.
func stereo(ms int) []byte { return audio.EncodeWAV(audio.SampleRate, 2, make([]int16, 2*ms*8)) }

// A conversation recording whose writer crashed between two header rewrites: the header says
// 1 s, the file holds 2.5 s and half a frame. Adopting it repairs the header from the real
// length, and the checksum is that of the repaired file.
func TestAdoptRepairsCrashedRecording(t *testing.T) {
	at := time.Date(2026, 5, 12, 10, 15, 0, 0, time.UTC)
	s, err := New(t.TempDir(), WithClock(func() time.Time { return at }))
	if err != nil {
		t.Fatal(err)
	}
	in, err := s.Begin(time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Dir(in.Path) != filepath.Join(s.Dir(), IncomingDir) {
		t.Fatalf("incoming path %s is not in %s", in.Path, IncomingDir)
	}
	body := stereo(2500)
	binary.LittleEndian.PutUint32(body[40:], 1000*8*4) // the last header rewrite said 1 s
	binary.LittleEndian.PutUint32(body[4:], 36+1000*8*4)
	body = append(body, 0x01, 0x02) // half a stereo frame, torn by the crash
	if err := os.WriteFile(in.Path, body, 0o640); err != nil {
		t.Fatal(err)
	}
	left, err := s.Incoming()
	if err != nil || len(left) != 1 || left[0] != in {
		t.Fatalf("incoming after the crash: %v %v, want %v", left, err, in)
	}
	// Retention runs before recovery: the incoming folder is never pruned.
	if got, _ := s.Prune(context.Background(), at.Add(24*time.Hour)); len(got) != 0 {
		t.Fatalf("prune deleted %v from the incoming folder", got)
	}
	rec, err := s.Adopt(context.Background(), in, Meta{})
	if err != nil {
		t.Fatal(err)
	}
	if rec.ID != in.ID || rec.Duration != 2500*time.Millisecond || rec.Size != int64(44+2500*8*4) {
		t.Errorf("adopted %+v, want 2.5 s of stereo, the torn frame dropped", rec)
	}
	got, err := os.ReadFile(rec.Path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(got)
	if rec.SHA256 != hex.EncodeToString(sum[:]) {
		t.Errorf("checksum %s is not the file's %x", rec.SHA256, sum)
	}
	if err := s.Verify(rec.ID, rec.SHA256); err != nil {
		t.Error(err)
	}
	info, err := audio.LoadWAVInfo(rec.Path)
	if err != nil || info.DataSize != 2500*8*4 || binary.LittleEndian.Uint32(got[4:]) != uint32(len(got)-8) {
		t.Errorf("repaired header: %+v %v, RIFF size %d for %d bytes", info, err, binary.LittleEndian.Uint32(got[4:]), len(got))
	}
	if _, err := os.Stat(in.Path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the incoming file is still there: %v", err)
	}
	if left, _ := s.Incoming(); len(left) != 0 {
		t.Errorf("incoming after adoption: %v", left)
	}
	// A well-formed file is left as it is.
	if changed, err := RepairWAV(rec.Path); changed || err != nil {
		t.Errorf("repairing a good file: %v %v", changed, err)
	}
}

func TestDiscardIncoming(t *testing.T) {
	s, _ := New(t.TempDir())
	in, err := s.Begin(time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(in.Sidecar(), []byte("{}"), 0o640)
	if err := s.Discard(in); err != nil { // no WAV was ever written
		t.Fatal(err)
	}
	if _, err := os.Stat(in.Sidecar()); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("sidecar left: %v", err)
	}
	if _, err := s.Adopt(context.Background(), in, Meta{}); !errors.Is(err, ErrNotFound) {
		t.Errorf("adopting a discarded recording: %v", err)
	}
}

// Prune spares the recordings it is told to keep (a queue keeping its recordings longer).
func TestPruneKeeping(t *testing.T) {
	at := time.Date(2026, 5, 12, 10, 15, 0, 0, time.UTC)
	s, _ := New(t.TempDir(), WithClock(func() time.Time { return at }))
	a, _ := s.Save(context.Background(), bytes.NewReader(wav(100)), Meta{})
	b, _ := s.Save(context.Background(), bytes.NewReader(wav(100)), Meta{})
	got, err := s.PruneKeeping(context.Background(), at.Add(time.Hour), map[string]bool{b.ID: true})
	if err != nil || len(got) != 1 || got[0] != a.ID {
		t.Fatalf("pruned %v %v, want only %s", got, err, a.ID)
	}
	if err := s.Verify(b.ID, b.SHA256); err != nil {
		t.Errorf("the kept recording: %v", err)
	}
}
