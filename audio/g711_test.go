package audio

import (
	"math"
	"testing"
)

// Known pairs from the ITU-T G.711 decode tables (identical in Sun's g711.c and in the
// ITU-T G.191 STL): a wrong table shows up here as a wrong, audibly distorted level.
func TestG711KnownValues(t *testing.T) {
	ulawDec := map[byte]int16{
		0x00: -32124, 0x80: 32124, 0xFF: 0, 0x7F: 0, 0x7E: -8, 0xFE: 8,
		0x70: -120, 0xF0: 120, 0x10: -15996, 0x90: 15996, 0x0F: -16764, 0x8F: 16764,
	}
	for b, want := range ulawDec {
		if got := ULawDecode(b); got != want {
			t.Errorf("ULawDecode(%#02x) = %d, want %d", b, got, want)
		}
	}
	alawDec := map[byte]int16{
		0x55: -8, 0xD5: 8, 0x2A: -32256, 0xAA: 32256, 0x00: -5504, 0x80: 5504,
		0x54: -24, 0xD4: 24, 0x45: -264, 0xC5: 264,
	}
	for b, want := range alawDec {
		if got := ALawDecode(b); got != want {
			t.Errorf("ALawDecode(%#02x) = %d, want %d", b, got, want)
		}
	}
	ulawEnc := map[int16]byte{0: 0xFF, -1: 0x7F, 32767: 0x80, -32768: 0x00, 8: 0xFE, -8: 0x7E, 32124: 0x80, 1000: 0xCE}
	for s, want := range ulawEnc {
		if got := ULawEncode(s); got != want {
			t.Errorf("ULawEncode(%d) = %#02x, want %#02x", s, got, want)
		}
	}
	alawEnc := map[int16]byte{0: 0xD5, -1: 0x55, 32767: 0xAA, -32768: 0x2A, 15: 0xD5, 16: 0xD4, -17: 0x54, 1000: 0xFA}
	for s, want := range alawEnc {
		if got := ALawEncode(s); got != want {
			t.Errorf("ALawEncode(%d) = %#02x, want %#02x", s, got, want)
		}
	}
}

// refULawCompress and refALawCompress are line-by-line transcriptions of ulaw_compress and
// alaw_compress in ITU-T G.191 (STL, g711.c), kept deliberately literal.
func refULawCompress(lin int16) byte {
	var absno int32
	if lin < 0 {
		absno = int32(^lin)>>2 + 33
	} else {
		absno = int32(lin)>>2 + 33
	}
	if absno > 0x1FFF {
		absno = 0x1FFF
	}
	i := absno >> 6
	segno := int32(1)
	for i != 0 {
		segno++
		i >>= 1
	}
	high := 0x0008 - segno
	low := 0x000F - (absno>>segno)&0x000F
	out := high<<4 | low
	if lin >= 0 {
		out |= 0x0080
	}
	return byte(out)
}

func refALawCompress(lin int16) byte {
	var ix int32
	if lin < 0 {
		ix = int32(^lin) >> 4
	} else {
		ix = int32(lin) >> 4
	}
	if ix > 15 {
		iexp := int32(1)
		for ix > 16+15 {
			ix >>= 1
			iexp++
		}
		ix -= 16
		ix += iexp << 4
	}
	if lin >= 0 {
		ix |= 0x0080
	}
	return byte(ix ^ 0x0055)
}

func TestG711EncodeMatchesReferenceForEverySample(t *testing.T) {
	for v := math.MinInt16; v <= math.MaxInt16; v++ {
		s := int16(v)
		if got, want := ULawEncode(s), refULawCompress(s); got != want {
			t.Fatalf("ULawEncode(%d) = %#02x, G.191 gives %#02x", s, got, want)
		}
		if got, want := ALawEncode(s), refALawCompress(s); got != want {
			t.Fatalf("ALawEncode(%d) = %#02x, G.191 gives %#02x", s, got, want)
		}
	}
}

// Every code word survives decode→encode (µ-law's negative zero 0x7F decodes to 0, which is
// positive zero 0xFF), and re-encoding a decoded sample never drifts: a prompt transcoded
// any number of times sounds the same.
func TestG711RoundTrip(t *testing.T) {
	for i := range 256 {
		b := byte(i)
		if got := ULawEncode(ULawDecode(b)); got != b && b != 0x7F {
			t.Errorf("µ-law %#02x → %d → %#02x", b, ULawDecode(b), got)
		}
		if got := ALawEncode(ALawDecode(b)); got != b {
			t.Errorf("A-law %#02x → %d → %#02x", b, ALawDecode(b), got)
		}
	}
}

// The quantisation error of encode→decode stays within half a step of the segment, i.e.
// the signal-to-quantisation-noise ratio G.711 promises (about 38 dB for speech levels).
func TestG711QuantisationError(t *testing.T) {
	for v := math.MinInt16; v <= math.MaxInt16; v++ {
		s := int32(v)
		abs := s
		if abs < 0 {
			abs = -abs
		}
		// Largest step is 1024 (µ-law, top segment) / 1024 (A-law); error ≤ step/2 plus the
		// clipping region above the top decision level.
		maxErr := abs/16 + 16
		if abs > 32124 {
			maxErr = abs - 32124 + 512
		}
		if e := int32(ULawDecode(ULawEncode(int16(v)))) - s; e > maxErr || -e > maxErr {
			t.Fatalf("µ-law error for %d is %d (max %d)", v, e, maxErr)
		}
		if e := int32(ALawDecode(ALawEncode(int16(v)))) - s; e > maxErr || -e > maxErr {
			t.Fatalf("A-law error for %d is %d (max %d)", v, e, maxErr)
		}
	}
}

// Decoding is monotonic: a louder code word is never a quieter sample.
func TestG711Monotonic(t *testing.T) {
	prevU, prevA := int16(math.MinInt16), int16(math.MinInt16)
	for v := math.MinInt16; v <= math.MaxInt16; v += 7 {
		u := ULawDecode(ULawEncode(int16(v)))
		a := ALawDecode(ALawEncode(int16(v)))
		if u < prevU || a < prevA {
			t.Fatalf("not monotonic at %d", v)
		}
		prevU, prevA = u, a
	}
}

func TestG711Transcode(t *testing.T) {
	for i := range 256 {
		b := byte(i)
		u := ULawDecode(b)
		if got := ALawDecode(ULawToALaw(b)); abs32(int32(got)-int32(u)) > abs32(int32(u))/16+16 {
			t.Errorf("µ→A %#02x: %d became %d", b, u, got)
		}
		a := ALawDecode(b)
		if got := ULawDecode(ALawToULaw(b)); abs32(int32(got)-int32(a)) > abs32(int32(a))/16+16 {
			t.Errorf("A→µ %#02x: %d became %d", b, a, got)
		}
	}
}

func TestG711AppendReusesBuffer(t *testing.T) {
	pcm := []int16{0, 1000, -1000, 32767}
	buf := make([]byte, 0, 16)
	out := ULawEncodeAppend(buf, pcm)
	if &out[0] != &buf[:1][0] {
		t.Error("ULawEncodeAppend allocated although dst had room")
	}
	dec := ULawDecodeAppend([]int16{7}, out)
	if len(dec) != 5 || dec[0] != 7 || dec[1] != 0 || dec[4] != 32124 {
		t.Errorf("ULawDecodeAppend = %v", dec)
	}
	if got := ALawDecodeAppend(nil, ALawEncodeAppend(nil, pcm)); len(got) != 4 || got[3] != 32256 {
		t.Errorf("A-law append round trip = %v", got)
	}
}

func abs32(v int32) int32 {
	if v < 0 {
		return -v
	}
	return v
}

// ITU-T G.711 reference points, as Asterisk's recordings and prompts are checked against
// (moved from the ARI driver's own decoder, which this package replaced).
func TestG711Decode(t *testing.T) {
	for _, c := range []struct {
		in   byte
		law  func(byte) int16
		want int16
	}{
		{0xFF, ULawDecode, 0}, {0x7F, ULawDecode, 0}, {0x00, ULawDecode, -32124}, {0x80, ULawDecode, 32124},
		{0xD5, ALawDecode, 8}, {0x55, ALawDecode, -8}, {0xAA, ALawDecode, 32256}, {0x2A, ALawDecode, -32256},
	} {
		if got := c.law(c.in); got != c.want {
			t.Errorf("decode(%#02x) = %d, want %d", c.in, got, c.want)
		}
	}
}

// Round trip over all 256 code words through the slice paths a call's media uses: decoding
// a payload and encoding it again gives the payload back (µ-law's negative zero 0x7F comes
// back as 0xFF), the slice and single-sample functions agree, and transcoding µ-law → A-law
// is the same as decoding and re-encoding.
func TestG711AllCodesRoundTrip(t *testing.T) {
	codes := make([]byte, 256)
	for i := range codes {
		codes[i] = byte(i)
	}
	for _, law := range []struct {
		name   string
		decode func([]int16, []byte) []int16
		encode func([]byte, []int16) []byte
		one    func(byte) int16
		to     func([]byte, []byte) []byte // transcode to the other law
		other  func(int16) byte            // encode in the other law
	}{
		{"µ-law", ULawDecodeAppend, ULawEncodeAppend, ULawDecode, ULawToALawAppend, ALawEncode},
		{"A-law", ALawDecodeAppend, ALawEncodeAppend, ALawDecode, ALawToULawAppend, ULawEncode},
	} {
		pcm := law.decode(nil, codes)
		back := law.encode(nil, pcm)
		trans := law.to(nil, codes)
		if len(pcm) != 256 || len(back) != 256 || len(trans) != 256 {
			t.Fatalf("%s: %d samples, %d bytes back, %d transcoded; want 256", law.name, len(pcm), len(back), len(trans))
		}
		for i, b := range codes {
			if pcm[i] != law.one(b) {
				t.Errorf("%s %#02x: slice decode %d, single decode %d", law.name, b, pcm[i], law.one(b))
			}
			if want := b; back[i] != want && !(law.name == "µ-law" && b == 0x7F && back[i] == 0xFF) {
				t.Errorf("%s %#02x → %d → %#02x", law.name, b, pcm[i], back[i])
			}
			if want := law.other(pcm[i]); trans[i] != want {
				t.Errorf("%s %#02x transcoded to %#02x, re-encoding gives %#02x", law.name, b, trans[i], want)
			}
		}
	}
	if ULawToALaw(0x80) != ULawToALawAppend(nil, []byte{0x80})[0] || ALawToULaw(0xAA) != ALawToULawAppend(nil, []byte{0xAA})[0] {
		t.Error("ULawToALaw/ALawToULaw disagree with their slice forms")
	}
}

// One 20 ms frame encoded and decoded, as the media path does 50 times a second per call.
func BenchmarkG711(b *testing.B) {
	pcm := tone(1000, 8000, 10000, 160)
	payload := make([]byte, 0, 160)
	out := make([]int16, 0, 160)
	b.Run("ULawEncode", func(b *testing.B) {
		for b.Loop() {
			payload = ULawEncodeAppend(payload[:0], pcm)
		}
	})
	b.Run("ALawEncode", func(b *testing.B) {
		for b.Loop() {
			payload = ALawEncodeAppend(payload[:0], pcm)
		}
	})
	b.Run("ULawDecode", func(b *testing.B) {
		u := ULawEncodeAppend(nil, pcm)
		for b.Loop() {
			out = ULawDecodeAppend(out[:0], u)
		}
	})
	b.Run("ULawToALaw", func(b *testing.B) {
		u := ULawEncodeAppend(nil, pcm)
		for b.Loop() {
			payload = ULawToALawAppend(payload[:0], u)
		}
	})
}
