package recordings

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/hotline-cc/hotline/audio"
)

// IncomingDir is the folder, inside the store's directory, where recordings being made are
// written (a conversation recording is written as the call goes). What is left there after a
// crash is recovered at the next start (see Incoming and Adopt); Prune never touches it.
const IncomingDir = "incoming"

// Incoming is a recording being written: the ID it will keep and the path the driver writes.
type Incoming struct {
	ID   string
	Path string // <dir>/incoming/<id>.wav
}

// Sidecar is where a caller may keep what it knows of the incoming recording (a small file
// next to it, <id>.json), so that a recovery after a crash has it too.
func (in Incoming) Sidecar() string { return strings.TrimSuffix(in.Path, ".wav") + ".json" }

// Begin reserves an ID and a path in the incoming folder for a recording about to be made
// (at dates it; zero = now). Nothing is created at the path: the driver creates the file.
func (s *Store) Begin(at time.Time) (Incoming, error) {
	if at.IsZero() {
		at = s.now()
	}
	dir := filepath.Join(s.dir, IncomingDir)
	if err := s.mkdirs(dir); err != nil {
		return Incoming{}, err
	}
	id := newID(at)
	return Incoming{ID: id, Path: filepath.Join(dir, id+".wav")}, nil
}

// Incoming lists the recordings left in the incoming folder, oldest first: after a crash,
// those that were being made. A file whose name is not a recording ID is ignored.
func (s *Store) Incoming() ([]Incoming, error) {
	dir := filepath.Join(s.dir, IncomingDir)
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("recordings: %w", err)
	}
	var out []Incoming
	for _, e := range ents {
		id, ok := strings.CutSuffix(e.Name(), ".wav")
		if !ok || e.IsDir() {
			continue
		}
		if _, err := ParseID(id); err != nil {
			continue
		}
		out = append(out, Incoming{ID: id, Path: filepath.Join(dir, e.Name())})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// Adopt moves a finished incoming recording into the store under its ID: its WAV header is
// first made to agree with the file's real length (RepairWAV), then the file is fsynced, its
// SHA-256 taken, it is renamed into its day folder and both folders are fsynced, like Save.
// meta.Duration zero reads the duration from the (repaired) header. The sidecar, if any, is
// left for the caller to remove once it has recorded the recording elsewhere.
func (s *Store) Adopt(ctx context.Context, in Incoming, meta Meta) (Recording, error) {
	at, err := ParseID(in.ID)
	if err != nil {
		return Recording{}, err
	}
	if !meta.At.IsZero() {
		at = meta.At
	}
	if _, err := os.Stat(in.Path); errors.Is(err, fs.ErrNotExist) {
		return Recording{}, fmt.Errorf("%w: %s has no file in %s", ErrNotFound, in.ID, IncomingDir)
	}
	// A file that is no WAV at all is kept as it is: nothing is lost.
	if _, err := RepairWAV(in.Path); err != nil && !errors.Is(err, audio.ErrNotWAV) {
		return Recording{}, err
	}
	f, err := os.OpenFile(in.Path, os.O_RDWR, 0)
	if err != nil {
		return Recording{}, fmt.Errorf("recordings: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, ctxReader{ctx, f})
	if err != nil {
		return Recording{}, fmt.Errorf("recordings: reading %s: %w", in.ID, err)
	}
	rec := Recording{ID: in.ID, Size: n, SHA256: hex.EncodeToString(h.Sum(nil)), Duration: meta.Duration,
		CreatedAt: at.UTC().Truncate(time.Millisecond)}
	if rec.Duration == 0 {
		if info, err := audio.ReadInfo(f, n); err == nil {
			rec.Duration = info.Duration()
		}
	}
	if err := f.Sync(); err != nil {
		return Recording{}, fmt.Errorf("recordings: fsync %s: %w", in.ID, err)
	}
	rec.Path, _ = s.Path(in.ID)
	day := filepath.Dir(rec.Path)
	if err := s.mkdirs(day); err != nil {
		return Recording{}, err
	}
	if err := os.Rename(in.Path, rec.Path); err != nil {
		return Recording{}, fmt.Errorf("recordings: %w", err)
	}
	if err := errors.Join(syncDir(day), syncDir(filepath.Dir(in.Path))); err != nil {
		return Recording{}, err
	}
	return rec, nil
}

// Discard removes an incoming recording that will not be kept (it never got audio), and its
// sidecar. Discarding what is not there is not an error.
func (s *Store) Discard(in Incoming) error {
	var errs []error
	for _, p := range []string{in.Path, in.Sidecar()} {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("recordings: %w", err))
		}
	}
	return errors.Join(append(errs, syncDir(filepath.Dir(in.Path)))...)
}

// RepairWAV makes the RIFF and data chunk sizes of the WAV file at path agree with its real
// length, as a writer that crashed between two header rewrites left them stale: the data
// chunk runs to the end of the file, cut to whole sample frames (a torn last frame is
// dropped). It reports whether it changed anything, and fsyncs the file when it did.
// A file too short to hold a header is an audio.ErrNotWAV.
func RepairWAV(path string) (bool, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return false, fmt.Errorf("recordings: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return false, fmt.Errorf("recordings: %w", err)
	}
	size := st.Size()
	info, err := audio.ReadInfo(f, size)
	if err != nil {
		return false, fmt.Errorf("recordings: %s: %w", filepath.Base(path), err)
	}
	data := size - info.DataOffset
	if block := int64(info.Channels * info.Bits / 8); block > 1 {
		data -= data % block
	}
	if data > 0xFFFFFFFF-info.DataOffset {
		return false, fmt.Errorf("recordings: %s: %d bytes of audio do not fit a WAV header", filepath.Base(path), data)
	}
	var cur [4]byte
	if _, err := f.ReadAt(cur[:], info.DataOffset-4); err != nil {
		return false, fmt.Errorf("recordings: %w", err)
	}
	var riff [4]byte
	if _, err := f.ReadAt(riff[:], 4); err != nil {
		return false, fmt.Errorf("recordings: %w", err)
	}
	wantRIFF := uint32(info.DataOffset - 8 + data)
	if int64(binary.LittleEndian.Uint32(cur[:])) == data && binary.LittleEndian.Uint32(riff[:]) == wantRIFF && info.DataOffset+data == size {
		return false, nil
	}
	if info.DataOffset+data < size {
		if err := f.Truncate(info.DataOffset + data); err != nil {
			return false, fmt.Errorf("recordings: %w", err)
		}
	}
	binary.LittleEndian.PutUint32(cur[:], uint32(data))
	binary.LittleEndian.PutUint32(riff[:], wantRIFF)
	if _, err := f.WriteAt(cur[:], info.DataOffset-4); err != nil {
		return false, fmt.Errorf("recordings: %w", err)
	}
	if _, err := f.WriteAt(riff[:], 4); err != nil {
		return false, fmt.Errorf("recordings: %w", err)
	}
	if err := f.Sync(); err != nil {
		return false, fmt.Errorf("recordings: fsync: %w", err)
	}
	return true, nil
}
