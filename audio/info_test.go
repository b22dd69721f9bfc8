package audio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// wavWithList builds a WAV file: format 1 (PCM16), 6 (A-law) or 7 (µ-law), mono, 8 kHz,
// with n bytes of audio and a LIST chunk before fmt, as some recorders write. declared
// overrides the data chunk's size field (-1 = n).
func wavWithList(format uint16, n int, declared int64) []byte {
	bits, blockAlign := uint16(16), uint16(2)
	if format != 1 {
		bits, blockAlign = 8, 1
	}
	rate := uint32(8000)
	var b bytes.Buffer
	w := func(v any) { binary.Write(&b, binary.LittleEndian, v) }
	b.WriteString("RIFF")
	w(uint32(4 + 8 + 16 + 8 + 8 + 4 + n))
	b.WriteString("WAVE")
	b.WriteString("LIST")
	w(uint32(4))
	b.WriteString("INFO")
	b.WriteString("fmt ")
	w(uint32(16))
	w(format)
	w(uint16(1))
	w(rate)
	w(rate * uint32(blockAlign))
	w(blockAlign)
	w(bits)
	b.WriteString("data")
	if declared < 0 {
		declared = int64(n)
	}
	w(uint32(declared))
	b.Write(bytes.Repeat([]byte{0x7f}, n))
	return b.Bytes()
}

// A recording's duration comes from its header, and a recording cut short by a hangup (size
// never written, or written as a streaming placeholder) still has its true length.
func TestReadInfoDuration(t *testing.T) {
	for _, tc := range []struct {
		name string
		body []byte
		want time.Duration
	}{
		{"pcm16 2s", wavWithList(1, 32000, -1), 2 * time.Second},
		{"ulaw 250ms", wavWithList(7, 2000, -1), 250 * time.Millisecond},
		{"alaw 1s", wavWithList(6, 8000, -1), time.Second},
		{"streaming placeholder size", wavWithList(7, 4000, 0xFFFFFFFF), 500 * time.Millisecond},
		{"zero size written before the hangup", wavWithList(7, 4000, 0), 500 * time.Millisecond},
		{"cut short: declared 10s, 1s present", wavWithList(7, 8000, 80000), time.Second},
	} {
		info, err := ReadInfo(bytes.NewReader(tc.body), int64(len(tc.body)))
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if got := info.Duration(); got != tc.want {
			t.Errorf("%s: duration %v, want %v", tc.name, got, tc.want)
		}
		if info.DataOffset != 56 || info.DataOffset+info.DataSize != int64(len(tc.body)) {
			t.Errorf("%s: audio at %d, %d bytes; want from 56 to the end (%d)", tc.name, info.DataOffset, info.DataSize, len(tc.body))
		}
	}
	for _, bad := range [][]byte{nil, []byte("RIFF"), []byte("RIFF\x00\x00\x00\x00WAVEdata\x00\x00\x00\x00"), wavWithList(1, 10, -1)[:36]} {
		if _, err := ReadInfo(bytes.NewReader(bad), int64(len(bad))); !errors.Is(err, ErrNotWAV) {
			t.Errorf("ReadInfo(%q) = %v, want ErrNotWAV", bad, err)
		}
	}
}

// The header reader and the decoder agree on the real files prompts are made with: the
// format, and where the audio is (espeak-ng's streamed sizes included).
func TestReadInfoRealFiles(t *testing.T) {
	for _, c := range []struct {
		file string
		want Format
		dur  time.Duration
	}{
		{"sox-ulaw-8k.wav", Format{Tag: FormatULaw, Channels: 1, SampleRate: 8000, Bits: 8}, 250 * time.Millisecond},
		{"sox-alaw-8k.wav", Format{Tag: FormatALaw, Channels: 1, SampleRate: 8000, Bits: 8}, 250 * time.Millisecond},
		{"sox-pcm16-48k-stereo.wav", Format{Tag: FormatPCM, Channels: 2, SampleRate: 48000, Bits: 16}, 100 * time.Millisecond},
		{"sox-pcm24-44k.wav", Format{Tag: FormatPCM, Channels: 1, SampleRate: 44100, Bits: 24}, 100 * time.Millisecond},
		{"espeak-ng-stdout.wav", Format{Tag: FormatPCM, Channels: 1, SampleRate: 22050, Bits: 16}, (28190 - 44) * time.Second / 44100},
	} {
		t.Run(c.file, func(t *testing.T) {
			path := filepath.Join("testdata", c.file)
			info, err := LoadWAVInfo(path)
			if err != nil {
				t.Fatal(err)
			}
			if info.Format != c.want {
				t.Errorf("format %+v, want %+v", info.Format, c.want)
			}
			if info.Duration() != c.dur {
				t.Errorf("duration %v, want %v", info.Duration(), c.dur)
			}
			raw, _ := os.ReadFile(path)
			pcm, f, err := DecodeWAV(bytes.NewReader(raw))
			if err != nil || f != info.Format {
				t.Fatalf("DecodeWAV: %+v, %v", f, err)
			}
			frame := int64(f.Channels * f.Bits / 8)
			if int64(len(pcm)) != info.DataSize/frame {
				t.Errorf("ReadInfo counts %d frames, DecodeWAV decoded %d", info.DataSize/frame, len(pcm))
			}
			if info.DataOffset+info.DataSize != int64(len(raw)) {
				t.Errorf("audio at %d, %d bytes, in a %d-byte file", info.DataOffset, info.DataSize, len(raw))
			}
		})
	}
	if _, err := LoadWAVInfo(filepath.Join("testdata", "missing.wav")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

// ReadInfo gives a duration even for a format DecodeWAV cannot play (GSM 6.10 in WAV, as
// Asterisk's wav49 writes), while DecodeWAV refuses it with ErrUnsupportedWAV.
func TestReadInfoAcceptsUndecodableFormats(t *testing.T) {
	b := makeWAVRaw(0x0031, 8000, 1, 0, make([]byte, 1625)) // 1625 bytes/s at 8 kHz GSM
	binary.LittleEndian.PutUint32(b[28:], 1625)
	info, err := ReadInfo(bytes.NewReader(b), int64(len(b)))
	if err != nil || info.Tag != 0x0031 || info.Duration() != time.Second {
		t.Errorf("GSM WAV: %+v (%v), %v; want tag 0x31, 1 s", info, info.Duration(), err)
	}
	if _, _, err := DecodeWAV(bytes.NewReader(b)); !errors.Is(err, ErrUnsupportedWAV) {
		t.Errorf("DecodeWAV of GSM: %v, want ErrUnsupportedWAV", err)
	}
}

// Round trip: a WAV written by EncodeWAV, at any rate and channel count, reads back with
// the format it was written with, the right duration and every sample (mixed down).
func TestEncodeWAVRoundTrip(t *testing.T) {
	for _, c := range []struct{ rate, channels int }{{8000, 1}, {16000, 1}, {22050, 2}, {48000, 2}, {44100, 8}} {
		n := c.rate / 4 // about 250 ms
		dur := time.Duration(n) * time.Second / time.Duration(c.rate)
		pcm := make([]int16, n*c.channels)
		for i := range n {
			for ch := range c.channels {
				pcm[i*c.channels+ch] = int16((i*37 + ch*1000) % 30000)
			}
		}
		b := EncodeWAV(c.rate, c.channels, pcm)
		if len(b) != HeaderSize+2*len(pcm) {
			t.Fatalf("%+v: %d bytes, want %d", c, len(b), HeaderSize+2*len(pcm))
		}
		info, err := ReadInfo(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			t.Fatalf("%+v: %v", c, err)
		}
		want := Format{Tag: FormatPCM, Channels: c.channels, SampleRate: c.rate, Bits: 16}
		if info.Format != want || info.Duration() != dur || info.DataOffset != HeaderSize {
			t.Errorf("%+v: %+v, %v", c, info, info.Duration())
		}
		got, f, err := DecodeWAV(bytes.NewReader(b))
		if err != nil || f != want || len(got) != n {
			t.Fatalf("%+v: DecodeWAV %d samples, %+v, %v", c, len(got), f, err)
		}
		for i := range n { // DecodeWAV mixes down: the mean of the channels, truncated
			var sum int64
			for ch := range c.channels {
				sum += int64(pcm[i*c.channels+ch])
			}
			if got[i] != int16(sum/int64(c.channels)) {
				t.Fatalf("%+v: frame %d decoded as %d, want %d", c, i, got[i], sum/int64(c.channels))
			}
		}
	}
	empty := EncodeWAV(SampleRate, 1, nil)
	if pcm, err := ReadWAV(bytes.NewReader(empty)); err != nil || len(pcm) != 0 {
		t.Errorf("empty WAV: %d samples, %v", len(pcm), err)
	}
}

// FuzzReadWAVInfo: headers come from whatever recorded the message (our media stack, Asterisk,
// an API upload); no header may panic the reader, give a negative duration, or place the
// audio outside the file.
func FuzzReadWAVInfo(f *testing.F) {
	f.Add(wavWithList(1, 100, -1))
	f.Add(wavWithList(7, 100, 0xFFFFFFFF))
	f.Add(wavWithList(6, 3, 0))
	f.Add([]byte("RIFF\xff\xff\xff\xffWAVEfmt \x10\x00\x00\x00"))
	f.Add(EncodeWAV(22050, 2, make([]int16, 8)))
	f.Fuzz(func(t *testing.T, b []byte) {
		info, err := ReadInfo(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return
		}
		if info.DataSize < 0 || info.DataSize > int64(len(b)) {
			t.Fatalf("data size %d outside a %d-byte file", info.DataSize, len(b))
		}
		if info.DataOffset < 12 || info.DataOffset+info.DataSize > int64(len(b)) {
			t.Fatalf("audio at %d, %d bytes, outside a %d-byte file", info.DataOffset, info.DataSize, len(b))
		}
		if info.Duration() < 0 {
			t.Fatalf("negative duration %v", info.Duration())
		}
	})
}
