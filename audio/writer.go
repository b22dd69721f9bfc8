package audio

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"sync"
	"time"
)

// HeaderSize is the length of the canonical WAV header EncodeWAV and WAVWriter write: RIFF
// header, a 16-byte fmt chunk (PCM) and the data chunk's header. A file of that size holds
// no audio.
const HeaderSize = 44

// Offsets of the two size fields in the canonical header.
const (
	riffSizeAt = 4  // RIFF chunk size: file length - 8
	dataSizeAt = 40 // data chunk size: audio bytes
)

// EncodeWAV returns a WAV file of PCM16 audio at rate Hz; pcm holds channels interleaved
// samples per frame (for mono, just the samples).
func EncodeWAV(rate, channels int, pcm []int16) []byte {
	b := appendHeader(make([]byte, 0, HeaderSize+2*len(pcm)), rate, channels, 2*len(pcm))
	for _, s := range pcm {
		b = binary.LittleEndian.AppendUint16(b, uint16(s))
	}
	return b
}

// appendHeader appends the canonical 44-byte header of PCM16 audio with dataBytes of data.
func appendHeader(b []byte, rate, channels, dataBytes int) []byte {
	b = append(b, "RIFF"...)
	b = binary.LittleEndian.AppendUint32(b, uint32(HeaderSize-8+dataBytes))
	b = append(b, "WAVEfmt "...)
	b = binary.LittleEndian.AppendUint32(b, 16) // fmt chunk size
	b = binary.LittleEndian.AppendUint16(b, FormatPCM)
	b = binary.LittleEndian.AppendUint16(b, uint16(channels))
	b = binary.LittleEndian.AppendUint32(b, uint32(rate))
	b = binary.LittleEndian.AppendUint32(b, uint32(rate*channels*2)) // byte rate
	b = binary.LittleEndian.AppendUint16(b, uint16(channels*2))      // block align
	b = binary.LittleEndian.AppendUint16(b, 16)                      // bits per sample
	b = append(b, "data"...)
	return binary.LittleEndian.AppendUint32(b, uint32(dataBytes))
}

// WAVWriter streams 8 kHz mono PCM16 to a WAV file. The RIFF and data sizes are rewritten
// every second of audio and on Close, so a file cut short by a crash still plays up to the
// last second. It is safe for concurrent use (a tap writing while the call hangs up).
type WAVWriter struct {
	mu         sync.Mutex
	w          io.WriteSeeker
	closer     io.Closer // set by CreateWAVFile: the file is ours to close
	start      int64     // offset of the RIFF header in w
	samples    int64
	unsynced   int64 // samples written since the sizes were last rewritten
	headerDone bool
	closed     bool
	err        error
	buf        []byte
}

// wavSyncEvery is how much audio may be written before the header sizes are refreshed.
const wavSyncEvery = SampleRate

// wavMaxSamples keeps the RIFF size below 4 GiB.
const wavMaxSamples = (math.MaxUint32 - (HeaderSize - 8)) / 2

// NewWAVWriter returns a writer of 8 kHz mono PCM16 WAV to w, starting at w's current
// offset. Close fixes up the header; it does not close w.
func NewWAVWriter(w io.WriteSeeker) *WAVWriter {
	return &WAVWriter{w: w}
}

// CreateWAVFile creates (or truncates) the file at path and returns a WAVWriter for it;
// Close also closes the file.
func CreateWAVFile(path string) (*WAVWriter, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	ww := NewWAVWriter(f)
	ww.closer = f
	return ww, nil
}

// Write appends samples to the file.
func (w *WAVWriter) Write(pcm []int16) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return ErrWAVClosed
	}
	if w.err != nil {
		return w.err
	}
	if w.samples+int64(len(pcm)) > wavMaxSamples {
		w.err = ErrWAVTooLong
		return w.err
	}
	if err := w.writeHeader(); err != nil {
		return err
	}
	w.buf = w.buf[:0]
	for _, s := range pcm {
		w.buf = binary.LittleEndian.AppendUint16(w.buf, uint16(s))
	}
	if _, err := w.w.Write(w.buf); err != nil {
		w.err = fmt.Errorf("wav: %w", err)
		return w.err
	}
	w.samples += int64(len(pcm))
	w.unsynced += int64(len(pcm))
	if w.unsynced >= wavSyncEvery {
		if err := w.syncSizes(); err != nil {
			return err
		}
	}
	return nil
}

// Close writes the final sizes (and closes the file if CreateWAVFile opened it). Closing
// twice is harmless.
func (w *WAVWriter) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil
	}
	w.closed = true
	err := w.err
	if err == nil {
		if err = w.writeHeader(); err == nil && w.unsynced > 0 {
			err = w.syncSizes()
		}
	}
	if w.closer != nil {
		err = errors.Join(err, w.closer.Close())
	}
	return err
}

// Duration returns how much audio has been written.
func (w *WAVWriter) Duration() time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	return time.Duration(w.samples) * time.Second / SampleRate
}

// Samples returns how many samples have been written.
func (w *WAVWriter) Samples() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.samples
}

func (w *WAVWriter) writeHeader() error {
	if w.headerDone {
		return nil
	}
	start, err := w.w.Seek(0, io.SeekCurrent)
	if err != nil {
		w.err = fmt.Errorf("wav: %w", err)
		return w.err
	}
	w.start = start
	w.buf = appendHeader(w.buf[:0], SampleRate, 1, 0) // the buffer Write reuses for samples
	if _, err := w.w.Write(w.buf); err != nil {
		w.err = fmt.Errorf("wav: %w", err)
		return w.err
	}
	w.headerDone = true
	return nil
}

// syncSizes rewrites the RIFF and data chunk sizes and returns to the end of the data.
func (w *WAVWriter) syncSizes() error {
	data := uint32(w.samples * 2)
	var b [4]byte
	put := func(off int64, v uint32) error {
		if _, err := w.w.Seek(w.start+off, io.SeekStart); err != nil {
			return err
		}
		binary.LittleEndian.PutUint32(b[:], v)
		_, err := w.w.Write(b[:])
		return err
	}
	err := put(riffSizeAt, HeaderSize-8+data)
	if err == nil {
		err = put(dataSizeAt, data)
	}
	if err == nil {
		_, err = w.w.Seek(w.start+HeaderSize+int64(data), io.SeekStart)
	}
	if err != nil {
		w.err = fmt.Errorf("wav: updating header: %w", err)
		return w.err
	}
	w.unsynced = 0
	return nil
}
