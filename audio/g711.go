package audio

import "math/bits"

// G.711 companding (ITU-T G.711, 11/1988), bit-exact with the ITU-T G.191 reference
// implementation (ulaw_compress/ulaw_expand, alaw_compress/alaw_expand). Negative samples are
// folded with the one's complement, as G.191 does, so that -1 encodes to µ-law "negative
// zero" (0x7F) rather than to the next step.

// ULawEncode compresses one 16-bit linear sample to G.711 µ-law (ITU-T G.711 §3, table 2a).
func ULawEncode(s int16) byte { return ulawEncTable[uint16(s)>>2] }

// ALawEncode compresses one 16-bit linear sample to G.711 A-law (ITU-T G.711 §2, table 1a).
func ALawEncode(s int16) byte { return alawEncTable[uint16(s)>>4] }

// ulawCompress computes what ULawEncode looks up. The code word depends only on s>>2 (for
// negative s, ^s>>2 == ^(s>>2)), hence the 16 Ki-entry table.
func ulawCompress(s int16) byte {
	var mag int32
	sign := byte(0x80)
	if s < 0 {
		mag = int32(^s) >> 2
		sign = 0
	} else {
		mag = int32(s) >> 2
	}
	mag += 33 // bias: 0x84 >> 2
	if mag > 0x1FFF {
		mag = 0x1FFF
	}
	segno := 1 + bits.Len32(uint32(mag>>6)) // 1..8
	high := int32(8 - segno)
	low := 0xF - (mag>>segno)&0xF
	return byte(high<<4|low) | sign
}

// ULawDecode expands one G.711 µ-law byte to a 16-bit linear sample (ITU-T G.711 §3, table 2a).
func ULawDecode(b byte) int16 { return ulawTable[b] }

// alawCompress computes what ALawEncode looks up; the code word depends only on s>>4.
func alawCompress(s int16) byte {
	var ix int32
	if s < 0 {
		ix = int32(^s) >> 4
	} else {
		ix = int32(s) >> 4
	}
	if ix > 15 {
		exp := int32(bits.Len32(uint32(ix))) - 4 // 1..7
		ix = (ix >> (exp - 1)) - 16 + exp<<4
	}
	if s >= 0 {
		ix |= 0x80
	}
	return byte(ix) ^ 0x55 // even bits inverted
}

// ALawDecode expands one G.711 A-law byte to a 16-bit linear sample (ITU-T G.711 §2, table 1a).
func ALawDecode(b byte) int16 { return alawTable[b] }

// ULawToALaw converts a µ-law byte to the A-law byte of the same linear value, as a relay
// between a PCMU leg and a PCMA leg needs.
func ULawToALaw(b byte) byte { return ulawToAlaw[b] }

// ALawToULaw converts an A-law byte to the µ-law byte of the same linear value.
func ALawToULaw(b byte) byte { return alawToUlaw[b] }

// ULawEncodeAppend appends the µ-law encoding of pcm to dst and returns the extended slice.
func ULawEncodeAppend(dst []byte, pcm []int16) []byte {
	dst, out := grow(dst, len(pcm))
	for i, s := range pcm {
		out[i] = ulawEncTable[uint16(s)>>2]
	}
	return dst
}

// ALawEncodeAppend appends the A-law encoding of pcm to dst and returns the extended slice.
func ALawEncodeAppend(dst []byte, pcm []int16) []byte {
	dst, out := grow(dst, len(pcm))
	for i, s := range pcm {
		out[i] = alawEncTable[uint16(s)>>4]
	}
	return dst
}

// ULawDecodeAppend appends the linear samples of a µ-law payload to dst.
func ULawDecodeAppend(dst []int16, payload []byte) []int16 {
	dst, out := grow(dst, len(payload))
	for i, b := range payload {
		out[i] = ulawTable[b]
	}
	return dst
}

// ALawDecodeAppend appends the linear samples of an A-law payload to dst.
func ALawDecodeAppend(dst []int16, payload []byte) []int16 {
	dst, out := grow(dst, len(payload))
	for i, b := range payload {
		out[i] = alawTable[b]
	}
	return dst
}

// ULawToALawAppend appends the A-law bytes of a µ-law payload to dst (a relay from a PCMU
// leg to a PCMA leg), without going through linear samples.
func ULawToALawAppend(dst, payload []byte) []byte {
	dst, out := grow(dst, len(payload))
	for i, b := range payload {
		out[i] = ulawToAlaw[b]
	}
	return dst
}

// ALawToULawAppend appends the µ-law bytes of an A-law payload to dst.
func ALawToULawAppend(dst, payload []byte) []byte {
	dst, out := grow(dst, len(payload))
	for i, b := range payload {
		out[i] = alawToUlaw[b]
	}
	return dst
}

// grow extends s by n elements, reusing its capacity when it can, and returns the extended
// slice and the n new elements.
func grow[T any](s []T, n int) (all, added []T) {
	l := len(s)
	if cap(s)-l < n {
		ns := make([]T, l, l+n)
		copy(ns, s)
		s = ns
	}
	s = s[:l+n]
	return s, s[l:]
}

var (
	ulawTable, alawTable   [256]int16
	ulawToAlaw, alawToUlaw [256]byte
	ulawEncTable           [1 << 14]byte
	alawEncTable           [1 << 12]byte
)

func init() {
	for i := range ulawEncTable {
		ulawEncTable[i] = ulawCompress(int16(uint16(i) << 2))
	}
	for i := range alawEncTable {
		alawEncTable[i] = alawCompress(int16(uint16(i) << 4))
	}
	for i := range 256 {
		ulawTable[i] = ulawExpand(byte(i))
		alawTable[i] = alawExpand(byte(i))
	}
	for i := range 256 {
		ulawToAlaw[i] = ALawEncode(ulawTable[i])
		alawToUlaw[i] = ULawEncode(alawTable[i])
	}
}

// ulawExpand follows G.191's ulaw_expand.
func ulawExpand(b byte) int16 {
	sign := int32(1)
	if b < 0x80 {
		sign = -1
	}
	m := int32(^b)
	exp := (m >> 4) & 7
	seg := exp + 1
	m &= 0xF
	step := int32(4) << seg
	return int16(sign * ((0x80 << exp) + step*m + step/2 - 4*33))
}

// alawExpand follows G.191's alaw_expand.
func alawExpand(b byte) int16 {
	ix := int32(b^0x55) & 0x7F
	exp := ix >> 4
	mant := ix & 0xF
	if exp > 0 {
		mant += 16
	}
	mant = mant<<4 + 8
	if exp > 1 {
		mant <<= exp - 1
	}
	if b > 127 {
		return int16(mant)
	}
	return int16(-mant)
}
