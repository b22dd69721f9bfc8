package recordings

import (
	"encoding/binary"
	"fmt"
	"io"
	"time"
)

// WAVInfo is what a WAV file's header says about its audio.
type WAVInfo struct {
	Format     uint16 // 1 PCM, 6 A-law, 7 µ-law, 0xFFFE extensible
	Channels   uint16
	SampleRate uint32
	ByteRate   uint32 // bytes of audio per second
	Bits       uint16
	DataSize   int64 // bytes of audio present in the file
}

// Duration is how long the audio plays.
func (w WAVInfo) Duration() time.Duration {
	if w.ByteRate == 0 || w.DataSize <= 0 {
		return 0
	}
	br := int64(w.ByteRate)
	sec, rem := w.DataSize/br, w.DataSize%br
	if sec > int64(time.Duration(1<<62)/time.Second) {
		sec = int64(time.Duration(1<<62) / time.Second) // absurd sizes clamp rather than wrap
	}
	return time.Duration(sec)*time.Second + time.Duration(rem*int64(time.Second)/br)
}

// ReadWAVInfo reads the RIFF/WAVE header of a file of the given size. A data chunk whose
// declared size is missing (0), a streaming placeholder (0xFFFFFFFF) or larger than the file
// counts the bytes actually present, so a recording cut short by a hangup still has its
// true duration.
func ReadWAVInfo(r io.ReaderAt, size int64) (WAVInfo, error) {
	var w WAVInfo
	var hdr [12]byte
	if _, err := r.ReadAt(hdr[:], 0); err != nil {
		return w, fmt.Errorf("%w: %d bytes is too short for a RIFF header", ErrNotWAV, size)
	}
	if string(hdr[0:4]) != "RIFF" || string(hdr[8:12]) != "WAVE" {
		return w, fmt.Errorf("%w: no RIFF/WAVE signature", ErrNotWAV)
	}
	off := int64(12)
	haveFmt := false
	for i := 0; i < 64 && off+8 <= size; i++ {
		var ch [8]byte
		if _, err := r.ReadAt(ch[:], off); err != nil {
			break
		}
		id := string(ch[0:4])
		n := int64(binary.LittleEndian.Uint32(ch[4:8]))
		body := off + 8
		switch id {
		case "fmt ":
			if n < 16 || body+16 > size {
				return w, fmt.Errorf("%w: fmt chunk of %d bytes is too short", ErrNotWAV, n)
			}
			var f [16]byte
			if _, err := r.ReadAt(f[:], body); err != nil {
				return w, fmt.Errorf("%w: reading fmt chunk: %v", ErrNotWAV, err)
			}
			w.Format = binary.LittleEndian.Uint16(f[0:2])
			w.Channels = binary.LittleEndian.Uint16(f[2:4])
			w.SampleRate = binary.LittleEndian.Uint32(f[4:8])
			w.ByteRate = binary.LittleEndian.Uint32(f[8:12])
			w.Bits = binary.LittleEndian.Uint16(f[14:16])
			haveFmt = true
		case "data":
			if !haveFmt {
				return w, fmt.Errorf("%w: data chunk before fmt chunk", ErrNotWAV)
			}
			if w.ByteRate == 0 {
				return w, fmt.Errorf("%w: byte rate is 0", ErrNotWAV)
			}
			avail := size - body
			if n == 0 || n == 0xFFFFFFFF || n > avail {
				n = avail
			}
			w.DataSize = n
			return w, nil
		}
		off = body + n + n&1 // chunks are padded to an even length
	}
	return w, fmt.Errorf("%w: no data chunk", ErrNotWAV)
}
