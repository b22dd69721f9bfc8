package media

import (
	"strconv"
	"strings"

	"github.com/hotline-cc/hotline/audio"
)

// Codec is an RTP audio payload format as negotiated in SDP (RFC 3551 §6).
// PayloadType is the number used on the wire, which for a dynamic format is whatever the
// offerer chose; the codec is identified by Name and ClockRate.
type Codec struct {
	Name        string
	PayloadType uint8
	ClockRate   uint32
}

// The G.711 codecs with their static payload types (RFC 3551 §6, table 4).
var (
	PCMU = Codec{Name: "PCMU", PayloadType: 0, ClockRate: 8000}
	PCMA = Codec{Name: "PCMA", PayloadType: 8, ClockRate: 8000}
)

// SupportedCodecs are the codecs this package can encode and decode, in hotline's order of
// preference.
var SupportedCodecs = []Codec{PCMU, PCMA}

// TelephoneEvent is the SDP encoding name of RFC 4733 events.
const TelephoneEvent = "telephone-event"

// FrameSamples is the number of 8 kHz samples in one 20 ms frame.
const FrameSamples = 160

type law uint8

const (
	lawNone law = iota
	lawU
	lawA
)

func (c Codec) law() law {
	if c.ClockRate != 8000 && c.ClockRate != 0 {
		return lawNone
	}
	switch {
	case strings.EqualFold(c.Name, "PCMU"):
		return lawU
	case strings.EqualFold(c.Name, "PCMA"):
		return lawA
	}
	return lawNone
}

// Supported reports whether this package can encode and decode c.
func (c Codec) Supported() bool { return c.law() != lawNone }

// Same reports whether c and o are the same format, whatever payload type each uses.
func (c Codec) Same(o Codec) bool {
	return strings.EqualFold(c.Name, o.Name) && c.ClockRate == o.ClockRate
}

func (c Codec) String() string {
	return c.Name + "/" + strconv.FormatUint(uint64(c.ClockRate), 10) + " (PT " + strconv.Itoa(int(c.PayloadType)) + ")"
}

// Encode appends the payload for pcm (8 kHz samples, one byte each for G.711) to dst and
// returns the extended slice; pass dst[:0] to reuse a buffer. An unsupported codec appends
// nothing.
func (c Codec) Encode(dst []byte, pcm []int16) []byte {
	switch c.law() {
	case lawU:
		return audio.ULawEncodeAppend(dst, pcm)
	case lawA:
		return audio.ALawEncodeAppend(dst, pcm)
	}
	return dst
}

// Decode appends the samples of payload to dst and returns the extended slice. An
// unsupported codec appends nothing.
func (c Codec) Decode(dst []int16, payload []byte) []int16 {
	switch c.law() {
	case lawU:
		return audio.ULawDecodeAppend(dst, payload)
	case lawA:
		return audio.ALawDecodeAppend(dst, payload)
	}
	return dst
}

// transcodeAppend appends payload, encoded with from, re-encoded with to. Same-law payloads
// are copied unchanged; a codec this package does not handle appends nothing.
func transcodeAppend(dst []byte, from, to Codec, payload []byte) []byte {
	fl, tl := from.law(), to.law()
	switch {
	case fl == lawNone || tl == lawNone:
		return dst
	case fl == tl:
		return append(dst, payload...)
	case fl == lawU:
		return audio.ULawToALawAppend(dst, payload)
	default:
		return audio.ALawToULawAppend(dst, payload)
	}
}

// silenceByte is the code word of a zero sample.
func (c Codec) silenceByte() byte {
	if c.law() == lawA {
		return 0xD5
	}
	return 0xFF
}

// staticCodecs are the RFC 3551 §6 static audio payload types, used when an SDP lists a
// static type without an rtpmap line.
var staticCodecs = map[uint8]Codec{
	0:  PCMU,
	3:  {Name: "GSM", PayloadType: 3, ClockRate: 8000},
	4:  {Name: "G723", PayloadType: 4, ClockRate: 8000},
	5:  {Name: "DVI4", PayloadType: 5, ClockRate: 8000},
	6:  {Name: "DVI4", PayloadType: 6, ClockRate: 16000},
	7:  {Name: "LPC", PayloadType: 7, ClockRate: 8000},
	8:  PCMA,
	9:  {Name: "G722", PayloadType: 9, ClockRate: 8000},
	10: {Name: "L16", PayloadType: 10, ClockRate: 44100},
	11: {Name: "L16", PayloadType: 11, ClockRate: 44100},
	12: {Name: "QCELP", PayloadType: 12, ClockRate: 8000},
	13: {Name: "CN", PayloadType: 13, ClockRate: 8000},
	14: {Name: "MPA", PayloadType: 14, ClockRate: 90000},
	15: {Name: "G728", PayloadType: 15, ClockRate: 8000},
	16: {Name: "DVI4", PayloadType: 16, ClockRate: 11025},
	17: {Name: "DVI4", PayloadType: 17, ClockRate: 22050},
	18: {Name: "G729", PayloadType: 18, ClockRate: 8000},
}
