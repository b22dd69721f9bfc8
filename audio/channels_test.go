package audio

import (
	"bytes"
	"testing"
)

func TestDecodeWAVChannelsKeepsThemApart(t *testing.T) {
	left, right := Tone(440, 8000, 8000, 800), Tone(1000, 8000, 8000, 800)
	inter := make([]int16, 0, 1600)
	for i := range left {
		inter = append(inter, left[i], right[i])
	}
	ch, f, err := DecodeWAVChannels(bytes.NewReader(EncodeWAV(8000, 2, inter)))
	if err != nil {
		t.Fatal(err)
	}
	if f.Channels != 2 || len(ch) != 2 || len(ch[0]) != 800 {
		t.Fatalf("got %d channels of %d samples (format %+v)", len(ch), len(ch[0]), f)
	}
	if Frequency(ch[0], 8000) < 430 || Frequency(ch[0], 8000) > 450 || Frequency(ch[1], 8000) < 990 || Frequency(ch[1], 8000) > 1010 {
		t.Errorf("left %.0f Hz, right %.0f Hz; want 440 and 1000", Frequency(ch[0], 8000), Frequency(ch[1], 8000))
	}
}

// Conversation recordings fetched from Asterisk are outside input: DecodeWAVChannels must
// refuse or read any bytes, and agree with DecodeWAV on how many samples there are.
func FuzzDecodeWAVChannels(f *testing.F) {
	f.Add(EncodeWAV(8000, 2, Tone(440, 8000, 8000, 64)))
	f.Add(EncodeWAV(8000, 1, Tone(1000, 8000, 8000, 32)))
	f.Add([]byte("RIFF\x00\x00\x00\x00WAVE"))
	f.Fuzz(func(t *testing.T, b []byte) {
		chans, format, err := DecodeWAVChannels(bytes.NewReader(b))
		if err != nil {
			return
		}
		mono, _, err := DecodeWAV(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("DecodeWAVChannels read it (%+v) but DecodeWAV says %v", format, err)
		}
		if len(chans) != format.Channels {
			t.Fatalf("%d channels for a %d-channel format", len(chans), format.Channels)
		}
		for c := range chans {
			if len(chans[c]) != len(mono) {
				t.Fatalf("channel %d has %d samples, the mono mix %d", c, len(chans[c]), len(mono))
			}
		}
	})
}
