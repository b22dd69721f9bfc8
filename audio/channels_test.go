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
