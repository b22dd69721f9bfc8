package media

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

// SampleRate is the rate of all PCM this package hands out and takes in: 8 kHz mono, the
// rate of G.711.
const SampleRate = 8000

// MaxWAVData bounds the audio bytes ReadWAV accepts (about 45 minutes of 48 kHz stereo
// PCM16), so that a hostile or broken header cannot make it read without end.
const MaxWAVData = 512 << 20

// WAV format tags (RFC 2361, Appendix A).
const (
	wavPCM        = 0x0001
	wavFloat      = 0x0003
	wavALaw       = 0x0006
	wavULaw       = 0x0007
	wavExtensible = 0xFFFE
)

// WAVFormat describes the audio in a WAV file as found in its fmt chunk.
type WAVFormat struct {
	Tag        uint16 // 1 PCM, 3 float, 6 A-law, 7 µ-law (WAVE_FORMAT_EXTENSIBLE resolved)
	Channels   int
	SampleRate int
	Bits       int
}

// ReadWAV reads a WAV file and returns its audio as 8 kHz mono PCM16: channels are mixed
// down and other rates are resampled (see Resample). It accepts 8/16/24/32-bit integer PCM,
// 32-bit float, and G.711 µ-law (tag 7) and A-law (tag 6), at any rate from 4 to 192 kHz.
// A data chunk whose size runs past the end of the input (a WAV streamed by espeak-ng or
// sox to a pipe) is read up to the end.
func ReadWAV(r io.Reader) ([]int16, error) {
	pcm, f, err := DecodeWAV(r)
	if err != nil {
		return nil, err
	}
	if f.SampleRate != SampleRate {
		pcm = Resample(pcm, f.SampleRate, SampleRate)
	}
	return pcm, nil
}

// LoadWAVFile reads the WAV file at path as 8 kHz mono PCM16 (see ReadWAV).
func LoadWAVFile(path string) ([]int16, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	pcm, err := ReadWAV(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return pcm, nil
}

// DecodeWAV reads a WAV file and returns its audio as mono PCM16 at the file's own rate,
// with the format it found.
func DecodeWAV(r io.Reader) ([]int16, WAVFormat, error) {
	var f WAVFormat
	var hdr [12]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, f, fmt.Errorf("%w: shorter than a RIFF header", ErrNotWAV)
	}
	if string(hdr[0:4]) != "RIFF" || string(hdr[8:12]) != "WAVE" {
		return nil, f, fmt.Errorf("%w: starts with %q", ErrNotWAV, hdr[0:4])
	}
	haveFmt := false
	for {
		var ch [8]byte
		if _, err := io.ReadFull(r, ch[:]); err != nil {
			if !haveFmt {
				return nil, f, fmt.Errorf("%w: no fmt chunk", ErrNotWAV)
			}
			return nil, f, fmt.Errorf("%w: no data chunk", ErrNotWAV)
		}
		id, size := string(ch[0:4]), int64(binary.LittleEndian.Uint32(ch[4:8]))
		switch id {
		case "fmt ":
			if size < 16 || size > 1024 {
				return nil, f, fmt.Errorf("%w: fmt chunk of %d bytes", ErrNotWAV, size)
			}
			b := make([]byte, size)
			if _, err := io.ReadFull(r, b); err != nil {
				return nil, f, fmt.Errorf("%w: truncated fmt chunk", ErrNotWAV)
			}
			if size&1 == 1 {
				_, _ = io.CopyN(io.Discard, r, 1) // RIFF pad byte
			}
			var err error
			if f, err = parseWAVFormat(b); err != nil {
				return nil, f, err
			}
			haveFmt = true
		case "data":
			if !haveFmt {
				return nil, f, fmt.Errorf("%w: data chunk before fmt chunk", ErrNotWAV)
			}
			if size > MaxWAVData {
				size = MaxWAVData + 1 // streamed WAVs claim ~2 GiB; read what is there
			}
			data, err := io.ReadAll(io.LimitReader(r, size))
			if err != nil {
				return nil, f, fmt.Errorf("wav: reading data: %w", err)
			}
			if len(data) > MaxWAVData {
				return nil, f, fmt.Errorf("%w: more than %d MiB of audio", ErrUnsupportedWAV, MaxWAVData>>20)
			}
			return decodeWAVData(data, f), f, nil
		default: // LIST, fact, cue, ...: skip, with the RIFF pad byte
			if _, err := io.CopyN(io.Discard, r, size+size&1); err != nil {
				return nil, f, fmt.Errorf("%w: no data chunk", ErrNotWAV)
			}
		}
	}
}

func parseWAVFormat(b []byte) (WAVFormat, error) {
	f := WAVFormat{
		Tag:        binary.LittleEndian.Uint16(b[0:2]),
		Channels:   int(binary.LittleEndian.Uint16(b[2:4])),
		SampleRate: int(binary.LittleEndian.Uint32(b[4:8])),
		Bits:       int(binary.LittleEndian.Uint16(b[14:16])),
	}
	if f.Tag == wavExtensible {
		if len(b) < 40 {
			return f, fmt.Errorf("%w: WAVE_FORMAT_EXTENSIBLE fmt chunk of %d bytes, want 40", ErrNotWAV, len(b))
		}
		f.Tag = binary.LittleEndian.Uint16(b[24:26]) // first two bytes of the SubFormat GUID
	}
	if f.Channels < 1 || f.Channels > 8 {
		return f, fmt.Errorf("%w: %d channels (want 1 to 8)", ErrUnsupportedWAV, f.Channels)
	}
	if f.SampleRate < 4000 || f.SampleRate > 192000 {
		return f, fmt.Errorf("%w: sample rate %d Hz (want 4000 to 192000)", ErrUnsupportedWAV, f.SampleRate)
	}
	switch f.Tag {
	case wavPCM:
		if f.Bits != 8 && f.Bits != 16 && f.Bits != 24 && f.Bits != 32 {
			return f, fmt.Errorf("%w: %d-bit PCM (want 8, 16, 24 or 32)", ErrUnsupportedWAV, f.Bits)
		}
	case wavFloat:
		if f.Bits != 32 {
			return f, fmt.Errorf("%w: %d-bit float (want 32)", ErrUnsupportedWAV, f.Bits)
		}
	case wavALaw, wavULaw:
		if f.Bits != 8 {
			return f, fmt.Errorf("%w: %d-bit G.711 (want 8)", ErrUnsupportedWAV, f.Bits)
		}
	default:
		return f, fmt.Errorf("%w: format tag %#04x (want PCM 1, float 3, A-law 6 or µ-law 7)", ErrUnsupportedWAV, f.Tag)
	}
	return f, nil
}

// decodeWAVData converts interleaved frames to mono PCM16, averaging the channels.
// A trailing partial frame is dropped.
func decodeWAVData(data []byte, f WAVFormat) []int16 {
	bps := f.Bits / 8
	frame := bps * f.Channels
	n := len(data) / frame
	out := make([]int16, n)
	for i := range n {
		var sum int64
		for c := range f.Channels {
			sum += int64(wavSample(data[i*frame+c*bps:], f))
		}
		out[i] = int16(sum / int64(f.Channels))
	}
	return out
}

func wavSample(b []byte, f WAVFormat) int16 {
	switch f.Tag {
	case wavULaw:
		return ULawDecode(b[0])
	case wavALaw:
		return ALawDecode(b[0])
	case wavFloat:
		return clip16(float64(math.Float32frombits(binary.LittleEndian.Uint32(b))) * 32767)
	}
	switch f.Bits {
	case 8:
		return int16(b[0]-128) << 8 // 8-bit WAV is unsigned
	case 24:
		return int16(binary.LittleEndian.Uint16(b[1:3]))
	case 32:
		return int16(binary.LittleEndian.Uint16(b[2:4]))
	}
	return int16(binary.LittleEndian.Uint16(b))
}

// RMS returns the root mean square level of pcm (0 for no samples). A full-scale sine has
// an RMS of about 23170; speech on a telephone line is typically 1000–5000.
func RMS(pcm []int16) float64 {
	if len(pcm) == 0 {
		return 0
	}
	var sum float64
	for _, s := range pcm {
		v := float64(s)
		sum += v * v
	}
	return math.Sqrt(sum / float64(len(pcm)))
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
const wavMaxSamples = (math.MaxUint32 - 36) / 2

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
	var h [44]byte
	copy(h[0:], "RIFF")
	binary.LittleEndian.PutUint32(h[4:], 36)
	copy(h[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(h[16:], 16)
	binary.LittleEndian.PutUint16(h[20:], wavPCM)
	binary.LittleEndian.PutUint16(h[22:], 1) // mono
	binary.LittleEndian.PutUint32(h[24:], SampleRate)
	binary.LittleEndian.PutUint32(h[28:], SampleRate*2) // byte rate
	binary.LittleEndian.PutUint16(h[32:], 2)            // block align
	binary.LittleEndian.PutUint16(h[34:], 16)           // bits per sample
	copy(h[36:], "data")
	if _, err := w.w.Write(h[:]); err != nil {
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
	err := put(4, 36+data)
	if err == nil {
		err = put(40, data)
	}
	if err == nil {
		_, err = w.w.Seek(w.start+44+int64(data), io.SeekStart)
	}
	if err != nil {
		w.err = fmt.Errorf("wav: updating header: %w", err)
		return w.err
	}
	w.unsynced = 0
	return nil
}
