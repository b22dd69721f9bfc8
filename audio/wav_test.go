package audio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// makeWAV builds a PCM16 WAV with the given channels and rate; each frame repeats the
// sample in every channel unless right is given (stereo only).
func makeWAV(rate, channels int, left, right []int16) []byte {
	var data []byte
	for i, s := range left {
		data = binary.LittleEndian.AppendUint16(data, uint16(s))
		for c := 1; c < channels; c++ {
			v := s
			if right != nil {
				v = right[i]
			}
			data = binary.LittleEndian.AppendUint16(data, uint16(v))
		}
	}
	return makeWAVRaw(FormatPCM, rate, channels, 16, data)
}

func makeWAVRaw(tag uint16, rate, channels, bits int, data []byte) []byte {
	var b []byte
	b = append(b, "RIFF"...)
	b = binary.LittleEndian.AppendUint32(b, uint32(36+len(data)))
	b = append(b, "WAVEfmt "...)
	b = binary.LittleEndian.AppendUint32(b, 16)
	b = binary.LittleEndian.AppendUint16(b, tag)
	b = binary.LittleEndian.AppendUint16(b, uint16(channels))
	b = binary.LittleEndian.AppendUint32(b, uint32(rate))
	b = binary.LittleEndian.AppendUint32(b, uint32(rate*channels*bits/8))
	b = binary.LittleEndian.AppendUint16(b, uint16(channels*bits/8))
	b = binary.LittleEndian.AppendUint16(b, uint16(bits))
	b = append(b, "data"...)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(data)))
	return append(b, data...)
}

// Prompts come in whatever the tool that made them writes. Each one must play at 1 kHz and
// the right level after conversion to 8 kHz mono.
func TestReadWAVRatesAndChannels(t *testing.T) {
	for _, rate := range []int{8000, 16000, 22050, 44100, 48000} {
		for _, ch := range []int{1, 2} {
			t.Run(fmt.Sprintf("%dHz-%dch", rate, ch), func(t *testing.T) {
				pcm, err := ReadWAV(bytes.NewReader(makeWAV(rate, ch, tone(1000, float64(rate), 12000, rate/2), nil)))
				if err != nil {
					t.Fatal(err)
				}
				if len(pcm) != 4000 {
					t.Fatalf("0.5 s gave %d samples at 8 kHz, want 4000", len(pcm))
				}
				mid := pcm[400:3600]
				if f := frequency(mid, 8000); !within(f, 1000, 0.003) {
					t.Errorf("plays at %.1f Hz, want 1000", f)
				}
				if r := RMS(mid); !within(r, 12000/math.Sqrt2, 0.01) {
					t.Errorf("RMS %.0f, want %.0f", r, 12000/math.Sqrt2)
				}
			})
		}
	}
}

// Stereo is mixed down by averaging: a tone on the left only comes out at half level,
// never clipped by summing.
func TestReadWAVStereoMixdown(t *testing.T) {
	l := tone(1000, 8000, 30000, 800)
	r := make([]int16, 800)
	pcm, err := ReadWAV(bytes.NewReader(makeWAV(8000, 2, l, r)))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := RMS(pcm), RMS(l)/2; !within(got, want, 0.01) {
		t.Errorf("RMS %.0f, want %.0f", got, want)
	}
}

// Real files from the tools hotline's users make prompts with: sox (G.711 with an 18-byte
// fmt chunk and a fact chunk, WAVE_FORMAT_EXTENSIBLE 24-bit, stereo 48 kHz) and espeak-ng
// writing to stdout (sizes 0x7ffff000, data runs to end of file).
func TestReadWAVRealFiles(t *testing.T) {
	for _, c := range []struct {
		file    string
		samples int
		rms     float64 // 0: speech, just check it is there
	}{
		{"sox-ulaw-8k.wav", 2000, 16384 / math.Sqrt2},
		{"sox-alaw-8k.wav", 2000, 16384 / math.Sqrt2},
		{"sox-pcm16-48k-stereo.wav", 800, 16384 / math.Sqrt2},
		{"sox-pcm24-44k.wav", 800, 16384 / math.Sqrt2},
		{"espeak-ng-stdout.wav", (28190 - 44) / 2 * 8000 / 22050, 0},
	} {
		t.Run(c.file, func(t *testing.T) {
			pcm, err := LoadWAVFile(filepath.Join("testdata", c.file))
			if err != nil {
				t.Fatal(err)
			}
			if len(pcm) != c.samples {
				t.Errorf("%d samples, want %d", len(pcm), c.samples)
			}
			if c.rms == 0 {
				if r := RMS(pcm); r < 500 {
					t.Errorf("speech RMS %.0f: the words are missing", r)
				}
				return
			}
			mid := pcm[200 : len(pcm)-200]
			if r := RMS(mid); !within(r, c.rms, 0.03) {
				t.Errorf("RMS %.0f, want %.0f ±3%%", r, c.rms)
			}
			if f := frequency(mid, 8000); !within(f, 1000, 0.003) {
				t.Errorf("plays at %.1f Hz, want 1000", f)
			}
		})
	}
}

func TestReadWAVOtherSampleFormats(t *testing.T) {
	src := tone(1000, 8000, 16000, 800)
	var u8, f32 []byte
	for _, s := range src {
		u8 = append(u8, byte(int(s>>8)+128))
		f32 = binary.LittleEndian.AppendUint32(f32, math.Float32bits(float32(s)/32767))
	}
	for name, wav := range map[string][]byte{
		"8-bit":  makeWAVRaw(FormatPCM, 8000, 1, 8, u8),
		"float":  makeWAVRaw(FormatFloat, 8000, 1, 32, f32),
		"µ-law":  makeWAVRaw(FormatULaw, 8000, 1, 8, ULawEncodeAppend(nil, src)),
		"A-law":  makeWAVRaw(FormatALaw, 8000, 1, 8, ALawEncodeAppend(nil, src)),
		"µ-law3": makeWAVRaw(FormatULaw, 8000, 3, 8, bytes.Repeat(ULawEncodeAppend(nil, src[:1]), 3)),
	} {
		pcm, err := ReadWAV(bytes.NewReader(wav))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if name == "µ-law3" {
			if len(pcm) != 1 || pcm[0] != ULawDecode(ULawEncode(src[0])) {
				t.Errorf("%s: %v", name, pcm)
			}
			continue
		}
		if r := RMS(pcm); !within(r, RMS(src), 0.03) {
			t.Errorf("%s: RMS %.0f, want %.0f", name, r, RMS(src))
		}
	}
}

// A file hotline cannot play is refused with a message that says what it is, so the person
// who uploaded it knows what to convert.
func TestReadWAVErrors(t *testing.T) {
	for _, c := range []struct {
		name    string
		in      []byte
		is      error
		message string
	}{
		{"empty", nil, ErrNotWAV, "shorter than a RIFF header"},
		{"mp3", []byte("ID3\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"), ErrNotWAV, `"ID3\x04"`},
		{"mp3 in wav", makeWAVRaw(0x55, 8000, 1, 0, []byte{1, 2}), ErrUnsupportedWAV, "format tag 0x0055"},
		{"12 bit", makeWAVRaw(FormatPCM, 8000, 1, 12, []byte{1, 2}), ErrUnsupportedWAV, "12-bit PCM"},
		{"9 channels", makeWAVRaw(FormatPCM, 8000, 9, 16, nil), ErrUnsupportedWAV, "9 channels"},
		{"rate 0", makeWAVRaw(FormatPCM, 0, 1, 16, nil), ErrUnsupportedWAV, "sample rate 0 Hz"},
		{"no data", makeWAV(8000, 1, nil, nil)[:36], ErrNotWAV, "no data chunk"},
		{"no fmt", append([]byte("RIFF\x04\x00\x00\x00WAVE"), "data\x00\x00\x00\x00"...), ErrNotWAV, "data chunk before fmt"},
	} {
		_, err := ReadWAV(bytes.NewReader(c.in))
		if !errors.Is(err, c.is) || !strings.Contains(fmt.Sprint(err), c.message) {
			t.Errorf("%s: error %v, want %v mentioning %q", c.name, err, c.is, c.message)
		}
	}
	if _, err := LoadWAVFile(filepath.Join("testdata", "missing.wav")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

// A recording written in pieces reads back sample for sample, with a header any player
// accepts (sizes, 8 kHz, mono, 16-bit).
func TestWAVWriterRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rec.wav")
	w, err := CreateWAVFile(path)
	if err != nil {
		t.Fatal(err)
	}
	src := tone(440, 8000, 9000, 12345)
	for off := 0; off < len(src); off += 160 {
		if err := w.Write(src[off:min(off+160, len(src))]); err != nil {
			t.Fatal(err)
		}
	}
	if d := w.Duration(); d != 12345*time.Second/8000 {
		t.Errorf("Duration %v", d)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := w.Write(src); !errors.Is(err, ErrWAVClosed) {
		t.Errorf("Write after Close: %v", err)
	}
	raw, _ := os.ReadFile(path)
	if len(raw) != 44+2*len(src) {
		t.Fatalf("file is %d bytes, want %d", len(raw), 44+2*len(src))
	}
	if riff, data := binary.LittleEndian.Uint32(raw[4:]), binary.LittleEndian.Uint32(raw[40:]); riff != uint32(36+2*len(src)) || data != uint32(2*len(src)) {
		t.Errorf("RIFF size %d, data size %d", riff, data)
	}
	pcm, f, err := DecodeWAV(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if f != (Format{Tag: FormatPCM, Channels: 1, SampleRate: 8000, Bits: 16}) {
		t.Errorf("format %+v", f)
	}
	if !slices.Equal(pcm, src) {
		t.Error("samples differ after round trip")
	}
}

// If hotline dies in the middle of a voicemail, the file on disk still plays up to the last
// second written.
func TestWAVWriterHeaderSurvivesCrash(t *testing.T) {
	path := filepath.Join(t.TempDir(), "crash.wav")
	w, err := CreateWAVFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for range 130 { // 2.6 s, never closed
		if err := w.Write(make([]int16, 160)); err != nil {
			t.Fatal(err)
		}
	}
	raw, _ := os.ReadFile(path)
	if data := binary.LittleEndian.Uint32(raw[40:]); data < 2*8000*2 {
		t.Errorf("data size on disk %d bytes, want at least 2 s (32000)", data)
	}
}

// An empty recording (caller hung up at once) is still a valid WAV.
func TestWAVWriterEmpty(t *testing.T) {
	path := filepath.Join(t.TempDir(), "empty.wav")
	w, _ := CreateWAVFile(path)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	pcm, err := LoadWAVFile(path)
	if err != nil || len(pcm) != 0 {
		t.Errorf("empty recording: %v, %d samples", err, len(pcm))
	}
}

type failingSeeker struct{ io.WriteSeeker }

func (failingSeeker) Write([]byte) (int, error)      { return 0, errors.New("disk full") }
func (failingSeeker) Seek(int64, int) (int64, error) { return 0, nil }

func TestWAVWriterReportsWriteErrors(t *testing.T) {
	w := NewWAVWriter(failingSeeker{})
	if err := w.Write([]int16{1}); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("Write: %v", err)
	}
	if err := w.Close(); err == nil {
		t.Error("Close hid the write error")
	}
}

// FuzzReadWAV: no file, however broken, crashes the prompt loader or makes it produce
// more audio than the input could hold.
func FuzzReadWAV(f *testing.F) {
	for _, name := range []string{"sox-ulaw-8k.wav", "sox-alaw-8k.wav", "sox-pcm24-44k.wav", "espeak-ng-stdout.wav"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b[:min(len(b), 600)]) // header and a little audio keep the fuzzer fast
	}
	f.Add(makeWAV(22050, 2, tone(1000, 22050, 8000, 64), nil))
	f.Add(makeWAVRaw(FormatFloat, 48000, 1, 32, make([]byte, 64)))
	f.Add([]byte("RIFF\x00\x00\x00\x00WAVE"))
	f.Fuzz(func(t *testing.T, b []byte) {
		pcm, err := ReadWAV(bytes.NewReader(b))
		if err != nil {
			if pcm != nil {
				t.Fatal("samples returned with an error")
			}
			return
		}
		// The lowest accepted rate is 4 kHz with 1-byte samples: at most 2 samples out per byte.
		if len(pcm) > 2*len(b) {
			t.Fatalf("%d samples from %d bytes", len(pcm), len(b))
		}
	})
}
