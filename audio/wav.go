package audio

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"time"
)

// A WAV file is a RIFF file of form type "WAVE": a 12-byte RIFF header, then chunks of a
// 4-byte ID, a 32-bit little-endian size and the body, padded to an even length (RFC 2361,
// Appendix A; Microsoft "Multimedia Programming Interface and Data Specifications 1.0").
// The "fmt " chunk describes the audio and must come before the "data" chunk; LIST, fact,
// cue and any other chunks are skipped. This file is the only RIFF reader in hotline.

// MaxWAVData bounds the audio bytes DecodeWAV accepts (about 45 minutes of 48 kHz stereo
// PCM16), so that a hostile or broken header cannot make it read without end.
const MaxWAVData = 512 << 20

// Format tags (RFC 2361, Appendix A).
const (
	FormatPCM        = 0x0001
	FormatFloat      = 0x0003
	FormatALaw       = 0x0006
	FormatULaw       = 0x0007
	formatExtensible = 0xFFFE // WAVE_FORMAT_EXTENSIBLE: the real tag is in the SubFormat GUID
)

// maxFmtChunk bounds the fmt chunk read into memory (WAVE_FORMAT_EXTENSIBLE needs 40 bytes).
const maxFmtChunk = 1024

// Format describes the audio in a WAV file as found in its fmt chunk.
type Format struct {
	Tag        uint16 // 1 PCM, 3 float, 6 A-law, 7 µ-law (WAVE_FORMAT_EXTENSIBLE resolved)
	Channels   int
	SampleRate int
	Bits       int
}

// Info is what a WAV file's header says about its audio, as ReadInfo finds it.
type Info struct {
	Format
	ByteRate   int   // bytes of audio per second, as the fmt chunk declares
	DataOffset int64 // offset of the first byte of audio in the file
	DataSize   int64 // bytes of audio present in the file
}

// Duration is how long the audio plays (0 when the header gives no byte rate).
func (w Info) Duration() time.Duration {
	if w.ByteRate <= 0 || w.DataSize <= 0 {
		return 0
	}
	br := int64(w.ByteRate)
	sec, rem := w.DataSize/br, w.DataSize%br
	if limit := int64(time.Duration(1<<62) / time.Second); sec > limit {
		sec = limit // absurd sizes clamp rather than wrap
	}
	return time.Duration(sec)*time.Second + time.Duration(rem*int64(time.Second)/br)
}

// ReadInfo reads the RIFF/WAVE header of a file of the given size, without reading the
// audio. A data chunk whose declared size is missing (0), a streaming placeholder
// (0xFFFFFFFF) or larger than the file counts the bytes actually present, so a recording cut
// short by a hangup still has its true duration. It accepts any format tag (a GSM or MP3
// WAV still has a duration); DecodeWAV says whether the audio can be decoded.
func ReadInfo(r io.ReaderAt, size int64) (Info, error) {
	sr := io.NewSectionReader(r, 0, size)
	h, err := readHeader(sr, false)
	if err != nil {
		return Info{}, err
	}
	if h.byteRate == 0 {
		return Info{}, fmt.Errorf("%w: byte rate is 0", ErrNotWAV)
	}
	n := h.declared
	if avail := size - h.offset; n == 0 || n == 0xFFFFFFFF || n > avail {
		n = avail
	}
	return Info{Format: h.format, ByteRate: int(h.byteRate), DataOffset: h.offset, DataSize: n}, nil
}

// LoadWAVInfo reads the header of the WAV file at path (see ReadInfo).
func LoadWAVInfo(path string) (Info, error) {
	f, err := os.Open(path)
	if err != nil {
		return Info{}, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return Info{}, err
	}
	info, err := ReadInfo(f, st.Size())
	if err != nil {
		return info, fmt.Errorf("%s: %w", path, err)
	}
	return info, nil
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
// with the format it found. A format it cannot decode is ErrUnsupportedWAV; bytes that are
// not a WAV file are ErrNotWAV.
func DecodeWAV(r io.Reader) ([]int16, Format, error) {
	data, f, err := readData(r)
	if err != nil {
		return nil, f, err
	}
	return decodeWAVData(data, f), f, nil
}

// readData reads a WAV file's header and the bytes of its audio.
func readData(r io.Reader) ([]byte, Format, error) {
	h, err := readHeader(r, true)
	if err != nil {
		return nil, h.format, err
	}
	size := h.declared
	if size > MaxWAVData {
		size = MaxWAVData + 1 // streamed WAVs claim ~2 GiB; read what is there
	}
	data, err := io.ReadAll(io.LimitReader(r, size))
	if err != nil {
		return nil, h.format, fmt.Errorf("wav: reading data: %w", err)
	}
	if len(data) > MaxWAVData {
		return nil, h.format, fmt.Errorf("%w: more than %d MiB of audio", ErrUnsupportedWAV, MaxWAVData>>20)
	}
	return data, h.format, nil
}

// header is what readHeader found before the audio.
type header struct {
	format   Format
	byteRate uint32
	offset   int64 // where the data chunk's body starts
	declared int64 // the data chunk's size field
}

// readHeader reads the RIFF header and the chunks up to the data chunk, leaving r at the
// first byte of audio. With strict, the fmt chunk must describe audio DecodeWAV decodes
// (checked when the fmt chunk is read, before any data).
func readHeader(r io.Reader, strict bool) (header, error) {
	var h header
	var riff [12]byte
	if _, err := io.ReadFull(r, riff[:]); err != nil {
		return h, fmt.Errorf("%w: shorter than a RIFF header", ErrNotWAV)
	}
	if string(riff[0:4]) != "RIFF" || string(riff[8:12]) != "WAVE" {
		return h, fmt.Errorf("%w: starts with %q", ErrNotWAV, riff[0:4])
	}
	h.offset = 12
	haveFmt := false
	for {
		var ch [8]byte
		if _, err := io.ReadFull(r, ch[:]); err != nil {
			if !haveFmt {
				return h, fmt.Errorf("%w: no fmt chunk", ErrNotWAV)
			}
			return h, fmt.Errorf("%w: no data chunk", ErrNotWAV)
		}
		id, size := string(ch[0:4]), int64(binary.LittleEndian.Uint32(ch[4:8]))
		h.offset += 8
		switch id {
		case "fmt ":
			if size < 16 || size > maxFmtChunk {
				return h, fmt.Errorf("%w: fmt chunk of %d bytes", ErrNotWAV, size)
			}
			b := make([]byte, size+size&1) // with the RIFF pad byte
			if n, err := io.ReadFull(r, b); err != nil && int64(n) < size {
				return h, fmt.Errorf("%w: truncated fmt chunk", ErrNotWAV)
			}
			h.offset += int64(len(b))
			h.format, h.byteRate = parseFormat(b[:size])
			if strict {
				if err := h.format.check(int(size)); err != nil {
					return h, err
				}
			}
			haveFmt = true
		case "data":
			if !haveFmt {
				return h, fmt.Errorf("%w: data chunk before fmt chunk", ErrNotWAV)
			}
			h.declared = size
			return h, nil
		default: // LIST, fact, cue, ...: skip, with the RIFF pad byte
			if err := skip(r, size+size&1); err != nil {
				return h, fmt.Errorf("%w: no data chunk", ErrNotWAV)
			}
			h.offset += size + size&1
		}
	}
}

// skip moves r forward n bytes: by seeking when r is a section of a file (ReadInfo), else by
// reading.
func skip(r io.Reader, n int64) error {
	if sr, ok := r.(*io.SectionReader); ok {
		pos, err := sr.Seek(0, io.SeekCurrent)
		if err != nil {
			return err
		}
		if pos+n > sr.Size() {
			_, _ = sr.Seek(0, io.SeekEnd)
			return io.ErrUnexpectedEOF
		}
		_, err = sr.Seek(n, io.SeekCurrent)
		return err
	}
	_, err := io.CopyN(io.Discard, r, n)
	return err
}

// parseFormat reads a fmt chunk body of at least 16 bytes (WAVEFORMATEX). The tag of a
// WAVE_FORMAT_EXTENSIBLE chunk is resolved from its SubFormat GUID when the chunk is long
// enough to hold it.
func parseFormat(b []byte) (Format, uint32) {
	f := Format{
		Tag:        binary.LittleEndian.Uint16(b[0:2]),
		Channels:   int(binary.LittleEndian.Uint16(b[2:4])),
		SampleRate: int(binary.LittleEndian.Uint32(b[4:8])),
		Bits:       int(binary.LittleEndian.Uint16(b[14:16])),
	}
	if f.Tag == formatExtensible && len(b) >= 40 {
		f.Tag = binary.LittleEndian.Uint16(b[24:26]) // first two bytes of the SubFormat GUID
	}
	return f, binary.LittleEndian.Uint32(b[8:12])
}

// check reports whether DecodeWAV decodes audio in format f, found in a fmt chunk of
// fmtSize bytes.
func (f Format) check(fmtSize int) error {
	if f.Tag == formatExtensible {
		return fmt.Errorf("%w: WAVE_FORMAT_EXTENSIBLE fmt chunk of %d bytes, want 40", ErrNotWAV, fmtSize)
	}
	if f.Channels < 1 || f.Channels > 8 {
		return fmt.Errorf("%w: %d channels (want 1 to 8)", ErrUnsupportedWAV, f.Channels)
	}
	if f.SampleRate < 4000 || f.SampleRate > 192000 {
		return fmt.Errorf("%w: sample rate %d Hz (want 4000 to 192000)", ErrUnsupportedWAV, f.SampleRate)
	}
	switch f.Tag {
	case FormatPCM:
		if f.Bits != 8 && f.Bits != 16 && f.Bits != 24 && f.Bits != 32 {
			return fmt.Errorf("%w: %d-bit PCM (want 8, 16, 24 or 32)", ErrUnsupportedWAV, f.Bits)
		}
	case FormatFloat:
		if f.Bits != 32 {
			return fmt.Errorf("%w: %d-bit float (want 32)", ErrUnsupportedWAV, f.Bits)
		}
	case FormatALaw, FormatULaw:
		if f.Bits != 8 {
			return fmt.Errorf("%w: %d-bit G.711 (want 8)", ErrUnsupportedWAV, f.Bits)
		}
	default:
		return fmt.Errorf("%w: format tag %#04x (want PCM 1, float 3, A-law 6 or µ-law 7)", ErrUnsupportedWAV, f.Tag)
	}
	return nil
}

// decodeWAVData converts interleaved frames to mono PCM16, averaging the channels.
// A trailing partial frame is dropped.
func decodeWAVData(data []byte, f Format) []int16 {
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

func wavSample(b []byte, f Format) int16 {
	switch f.Tag {
	case FormatULaw:
		return ULawDecode(b[0])
	case FormatALaw:
		return ALawDecode(b[0])
	case FormatFloat:
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
