package media

import (
	"testing"

	"github.com/hotline-cc/hotline/audio"
)

func TestCodecEncodeDecode(t *testing.T) {
	pcm := tone(1000, 8000, 10000, 160)
	for _, c := range []Codec{PCMU, PCMA} {
		payload := c.Encode(nil, pcm)
		if len(payload) != 160 {
			t.Fatalf("%v: payload of %d bytes for 160 samples, want 160", c, len(payload))
		}
		out := c.Decode(nil, payload)
		if r, want := audio.RMS(out), audio.RMS(pcm); r < want*0.98 || r > want*1.02 {
			t.Errorf("%v: decoded RMS %.0f, want %.0f ±2%%", c, r, want)
		}
	}
	if PCMU.Encode(nil, []int16{0})[0] != PCMU.silenceByte() || PCMA.Encode(nil, []int16{0})[0] != PCMA.silenceByte() {
		t.Error("silence byte does not encode zero")
	}
}

// A codec hotline cannot handle must produce no bytes rather than garbage on the wire.
func TestCodecUnsupported(t *testing.T) {
	g729 := Codec{Name: "G729", PayloadType: 18, ClockRate: 8000}
	if g729.Supported() || len(g729.Encode(nil, []int16{1, 2})) != 0 || len(g729.Decode(nil, []byte{1})) != 0 {
		t.Error("G729 treated as supported")
	}
	if !(Codec{Name: "pcmu", PayloadType: 0, ClockRate: 8000}).Supported() {
		t.Error("encoding names are case-insensitive (RFC 4855 §3)")
	}
	if (Codec{Name: "PCMU", ClockRate: 16000}).Supported() {
		t.Error("PCMU/16000 is not G.711")
	}
}

func TestTranscodeAppend(t *testing.T) {
	pcm := tone(700, 8000, 8000, 160)
	u := PCMU.Encode(nil, pcm)
	a := transcodeAppend(nil, PCMU, PCMA, u)
	if got, want := audio.RMS(PCMA.Decode(nil, a)), audio.RMS(pcm); got < want*0.97 || got > want*1.03 {
		t.Errorf("µ→A transcoded RMS %.0f, want %.0f", got, want)
	}
	if same := transcodeAppend(nil, PCMU, PCMU, u); string(same) != string(u) {
		t.Error("same-law transcode changed the payload")
	}
	if g := transcodeAppend([]byte{1}, PCMU, Codec{Name: "G729", ClockRate: 8000}, u); len(g) != 1 {
		t.Error("transcode to an unsupported codec appended bytes")
	}
}
