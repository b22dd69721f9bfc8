package ari

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// Asterisk's format_wav plays and records 8 kHz mono 16-bit PCM WAV files; prompts in other
// WAV flavours (espeak-ng renders 22.05 kHz, studios deliver 44.1/48 kHz stereo) are converted
// when they are placed in the sounds directory.

var errNotWAV = errors.New("not a RIFF/WAVE file")

// wavInfo is what a WAV header says.
type wavInfo struct {
	format     uint16 // 1 PCM, 6 A-law, 7 µ-law
	channels   int
	rate       int
	bits       int
	dataOffset int
	dataLen    int
}

// parseWAV reads the RIFF chunks of a WAV file (RFC 2361; WAVE_FORMAT_EXTENSIBLE included).
func parseWAV(b []byte) (wavInfo, error) {
	var w wavInfo
	if len(b) < 12 || string(b[0:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		return w, errNotWAV
	}
	haveFmt := false
	for i := 12; i+8 <= len(b); {
		id := string(b[i : i+4])
		size := int(binary.LittleEndian.Uint32(b[i+4 : i+8]))
		body := i + 8
		if size < 0 || size > len(b)-body {
			if id == "data" { // streamed or truncated files: take what is there
				size = len(b) - body
			} else {
				return w, fmt.Errorf("wav: chunk %q overruns the file", id)
			}
		}
		switch id {
		case "fmt ":
			if size < 16 {
				return w, errors.New("wav: fmt chunk too short")
			}
			f := b[body : body+size]
			w.format = binary.LittleEndian.Uint16(f[0:2])
			w.channels = int(binary.LittleEndian.Uint16(f[2:4]))
			w.rate = int(binary.LittleEndian.Uint32(f[4:8]))
			w.bits = int(binary.LittleEndian.Uint16(f[14:16]))
			if w.format == 0xFFFE && size >= 26 { // WAVE_FORMAT_EXTENSIBLE: the sub-format's first two bytes
				w.format = binary.LittleEndian.Uint16(f[24:26])
			}
			haveFmt = true
		case "data":
			if !haveFmt {
				return w, errors.New("wav: data before fmt")
			}
			w.dataOffset, w.dataLen = body, size
			return w, w.check()
		}
		i = body + size + size&1
	}
	return w, errors.New("wav: no data chunk")
}

func (w wavInfo) check() error {
	switch {
	case w.channels < 1 || w.channels > 8:
		return fmt.Errorf("wav: %d channels", w.channels)
	case w.rate < 4000 || w.rate > 192000:
		return fmt.Errorf("wav: sample rate %d", w.rate)
	case w.format == 1 && w.bits != 16 && w.bits != 8:
		return fmt.Errorf("wav: %d-bit PCM (want 8 or 16)", w.bits)
	case (w.format == 6 || w.format == 7) && w.bits != 8:
		return fmt.Errorf("wav: %d-bit G.711", w.bits)
	case w.format != 1 && w.format != 6 && w.format != 7:
		return fmt.Errorf("wav: format %d (want PCM, A-law or µ-law)", w.format)
	}
	return nil
}

func (w wavInfo) frameBytes() int { return w.channels * w.bits / 8 }

// duration is the audio length the header and data size describe.
func (w wavInfo) duration() time.Duration {
	fb := w.frameBytes()
	if fb == 0 || w.rate == 0 {
		return 0
	}
	frames := w.dataLen / fb
	return time.Duration(frames) * time.Second / time.Duration(w.rate)
}

// asteriskReady reports whether Asterisk's format_wav plays the file as it is.
func (w wavInfo) asteriskReady() bool {
	return w.format == 1 && w.channels == 1 && w.bits == 16 && w.rate == 8000
}

// wavDuration is the length of a WAV file's audio; 0 when it is not a WAV file.
func wavDuration(b []byte) time.Duration {
	w, err := parseWAV(b)
	if err != nil {
		return 0
	}
	return w.duration()
}

// to8kMono converts any supported WAV file to 8 kHz mono 16-bit PCM WAV bytes.
func to8kMono(b []byte) ([]byte, error) {
	w, err := parseWAV(b)
	if err != nil {
		return nil, err
	}
	data := b[w.dataOffset : w.dataOffset+w.dataLen]
	fb := w.frameBytes()
	n := len(data) / fb
	mono := make([]float64, n)
	for i := range n {
		var sum float64
		for ch := range w.channels {
			off := i*fb + ch*w.bits/8
			var v int16
			switch {
			case w.format == 7:
				v = ulaw(data[off])
			case w.format == 6:
				v = alaw(data[off])
			case w.bits == 8:
				v = int16(int(data[off])-128) << 8
			default:
				v = int16(binary.LittleEndian.Uint16(data[off:]))
			}
			sum += float64(v)
		}
		mono[i] = sum / float64(w.channels)
	}
	return encodeWAV8k(resample(mono, w.rate, 8000)), nil
}

// resample converts by averaging the input samples each output sample spans (a box filter,
// enough against aliasing for speech prompts) or by linear interpolation when upsampling.
func resample(in []float64, from, to int) []int16 {
	if len(in) == 0 {
		return nil
	}
	n := int(int64(len(in)) * int64(to) / int64(from))
	out := make([]int16, n)
	ratio := float64(from) / float64(to)
	for i := range out {
		var v float64
		if ratio > 1 {
			lo, hi := int(float64(i)*ratio), int(float64(i+1)*ratio)
			hi = min(max(hi, lo+1), len(in))
			for _, s := range in[lo:hi] {
				v += s
			}
			v /= float64(hi - lo)
		} else {
			pos := float64(i) * ratio
			j := int(pos)
			frac := pos - float64(j)
			v = in[j]
			if j+1 < len(in) {
				v += (in[j+1] - in[j]) * frac
			}
		}
		out[i] = int16(max(-32768, min(32767, v)))
	}
	return out
}

// encodeWAV8k writes a canonical 44-byte-header WAV of 8 kHz mono 16-bit PCM.
func encodeWAV8k(pcm []int16) []byte {
	b := make([]byte, 44+2*len(pcm))
	copy(b[0:], "RIFF")
	binary.LittleEndian.PutUint32(b[4:], uint32(36+2*len(pcm)))
	copy(b[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(b[16:], 16)
	binary.LittleEndian.PutUint16(b[20:], 1)     // PCM
	binary.LittleEndian.PutUint16(b[22:], 1)     // mono
	binary.LittleEndian.PutUint32(b[24:], 8000)  // rate
	binary.LittleEndian.PutUint32(b[28:], 16000) // byte rate
	binary.LittleEndian.PutUint16(b[32:], 2)     // block align
	binary.LittleEndian.PutUint16(b[34:], 16)    // bits
	copy(b[36:], "data")
	binary.LittleEndian.PutUint32(b[40:], uint32(2*len(pcm)))
	for i, s := range pcm {
		binary.LittleEndian.PutUint16(b[44+2*i:], uint16(s))
	}
	return b
}

// ulaw and alaw decode G.711 (ITU-T G.711 §A.2 / §B.2 tables, computed).
func ulaw(u byte) int16 {
	u = ^u
	t := (int(u&0x0F) << 3) + 0x84
	t <<= (u & 0x70) >> 4
	if u&0x80 != 0 {
		return int16(0x84 - t)
	}
	return int16(t - 0x84)
}

func alaw(a byte) int16 {
	a ^= 0x55
	t := int(a&0x0F) << 4
	seg := int(a&0x70) >> 4
	switch seg {
	case 0:
		t += 8
	case 1:
		t += 0x108
	default:
		t += 0x108
		t <<= seg - 1
	}
	if a&0x80 != 0 {
		return int16(t)
	}
	return int16(-t)
}
