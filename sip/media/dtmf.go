package media

import (
	"encoding/binary"
	"fmt"
	"time"
)

// RFC 4733 telephone-events: payload format (§2.3), receiver (§2.5.2) and sender (§2.5.1).

// DTMFPayloadSize is the size of one telephone-event payload (RFC 4733 §2.3).
const DTMFPayloadSize = 4

// DTMFEvent is one telephone-event payload (RFC 4733 §2.3):
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	|     event     |E|R| volume    |          duration             |
type DTMFEvent struct {
	Event    uint8  // 0–9, 10 '*', 11 '#', 12–15 'A'–'D', 16 flash (RFC 4733 §3.2)
	End      bool   // E bit: last packet(s) of the event
	Volume   uint8  // power level, 0 to 63 in -dBm0 (higher is quieter)
	Duration uint16 // since the event's timestamp, in RTP clock units (1/8000 s)
}

// DefaultDTMFVolume is the power level hotline sends digits at: -10 dBm0, as most phones do.
const DefaultDTMFVolume = 10

// MarshalTo writes the payload into b, which must hold DTMFPayloadSize bytes. The reserved
// R bit is sent as zero, as RFC 4733 §2.3 requires.
func (e DTMFEvent) MarshalTo(b []byte) (int, error) {
	if len(b) < DTMFPayloadSize {
		return 0, ErrShortDTMFPayload
	}
	b[0] = e.Event
	b[1] = e.Volume & 0x3F
	if e.End {
		b[1] |= 0x80
	}
	binary.BigEndian.PutUint16(b[2:4], e.Duration)
	return DTMFPayloadSize, nil
}

// Marshal returns the payload as a new 4-byte slice.
func (e DTMFEvent) Marshal() []byte {
	b := make([]byte, DTMFPayloadSize)
	_, _ = e.MarshalTo(b)
	return b
}

// ParseDTMFEvent decodes a telephone-event payload. Bytes after the first four (padding, or
// a sender packing more than it should) are ignored; the R bit is ignored (§2.3).
func ParseDTMFEvent(b []byte) (DTMFEvent, error) {
	if len(b) < DTMFPayloadSize {
		return DTMFEvent{}, fmt.Errorf("%w (got %d)", ErrShortDTMFPayload, len(b))
	}
	return DTMFEvent{
		Event:    b[0],
		End:      b[1]&0x80 != 0,
		Volume:   b[1] & 0x3F,
		Duration: binary.BigEndian.Uint16(b[2:4]),
	}, nil
}

const dtmfDigits = "0123456789*#ABCD"

// DigitEvent returns the RFC 4733 §3.2 event code of a DTMF digit. Lower-case a–d are
// accepted.
func DigitEvent(d rune) (uint8, error) {
	switch {
	case d >= '0' && d <= '9':
		return uint8(d - '0'), nil
	case d == '*':
		return 10, nil
	case d == '#':
		return 11, nil
	case d >= 'A' && d <= 'D':
		return uint8(d-'A') + 12, nil
	case d >= 'a' && d <= 'd':
		return uint8(d-'a') + 12, nil
	}
	return 0, fmt.Errorf("%w: %q", ErrNotDTMFDigit, d)
}

// EventDigit returns the digit of an event code, and false for codes that are not DTMF
// digits (16 is hook flash, higher codes are line tones).
func EventDigit(ev uint8) (rune, bool) {
	if int(ev) < len(dtmfDigits) {
		return rune(dtmfDigits[ev]), true
	}
	return 0, false
}

// DTMFDecoder turns the telephone-event packets of one RTP stream into digits. Each key
// press is reported exactly once, on the first packet that arrives of it, so losing any of
// its packets — including all three end packets — loses nothing as long as one arrives.
//
// A packet starts a new event when its timestamp (with its event code) is not one of the
// recent events' (RFC 4733 §2.5.2.1: packets of one event share its timestamp); packets of
// the current event, and old packets that arrive late (retransmitted or reordered), carry a
// timestamp already seen and are ignored. Sequence numbers are not trusted for this: a
// sender that replays captured events (sipp's pcaps) may step them backwards, and may replay
// the very same capture for a second press of the same key: with FeedAt, a remembered event
// masks only packets arriving within lateWindow of its last packet. The zero value is ready
// to use.
type DTMFDecoder struct {
	started bool
	ts      uint32 // timestamp of the current event
	event   uint8
	ended   bool
	recent  [8]dtmfSeen // events already reported, newest at next-1
	next    int
}

type dtmfSeen struct {
	ts    uint32
	event uint8
	valid bool
	last  time.Time // arrival of its latest packet (zero when fed without times)
}

// lateWindow is how long after an event's last packet a packet with its timestamp is still
// taken as late rather than as a new press (network reordering is milliseconds; a person
// cannot press twice in less).
const lateWindow = time.Second

// Feed processes one telephone-event packet and returns the digit it starts, if any.
func (d *DTMFDecoder) Feed(seq uint16, ts uint32, marker bool, payload []byte) (rune, bool) {
	return d.FeedAt(time.Time{}, seq, ts, marker, payload)
}

// FeedAt is Feed with the packet's arrival time, so that a repeat of an old event long after
// it ended counts as a new press.
func (d *DTMFDecoder) FeedAt(at time.Time, seq uint16, ts uint32, marker bool, payload []byte) (rune, bool) {
	ev, err := ParseDTMFEvent(payload)
	if err != nil {
		return 0, false
	}
	cur := &d.recent[(d.next+len(d.recent)-1)%len(d.recent)]
	if d.started && ts == d.ts && ev.Event == d.event && !stale(cur.last, at) {
		d.ended = d.ended || ev.End
		cur.last = at
		return 0, false // another packet of the current event
	}
	for i := range d.recent {
		r := &d.recent[i]
		if r.valid && r.ts == ts && r.event == ev.Event && !stale(r.last, at) {
			return 0, false // a late packet of an event already reported
		}
	}
	if d.started && !marker && ev.Event == d.event && !d.ended && isLongEventSegment(ts-d.ts) {
		d.ts = ts // RFC 4733 §2.5.1.3: an event longer than 0xFFFF units restarts its timestamp
		return 0, false
	}
	d.started = true
	d.ts, d.event, d.ended = ts, ev.Event, ev.End
	d.recent[d.next] = dtmfSeen{ts: ts, event: ev.Event, valid: true, last: at}
	d.next = (d.next + 1) % len(d.recent)
	return EventDigit(ev.Event)
}

func stale(last, now time.Time) bool {
	return !last.IsZero() && !now.IsZero() && now.Sub(last) > lateWindow
}

// isLongEventSegment reports whether a timestamp step is the one between two segments of a
// long-lasting event (each segment at most 0xFFFF units).
func isLongEventSegment(step uint32) bool { return step >= 0xFF00 && step <= 0x10000 }

// Reset forgets the stream, as when the sender's SSRC changes.
func (d *DTMFDecoder) Reset() { *d = DTMFDecoder{} }

// DTMFPacket is one RTP packet of an outgoing telephone event: all packets of a key press
// share Timestamp, the first carries the marker bit.
type DTMFPacket struct {
	Marker    bool
	Timestamp uint32
	Event     DTMFEvent
}

// Limits on the length of a sent digit: ITU-T Q.24 receivers need at least 40 ms; a single
// event segment cannot describe more than 0xFFFF units (≈ 8.2 s).
const (
	MinDTMFDuration     = 40 * time.Millisecond
	MaxDTMFDuration     = 8 * time.Second
	DefaultDTMFDuration = 100 * time.Millisecond
)

// DTMFPackets returns the packets that send one key press starting at RTP timestamp ts, one
// per 20 ms frame (RFC 4733 §2.5.1): the first has the marker bit, the duration grows by
// 160 per packet, and the final packet, with the E bit, is sent three times (§2.5.1.4).
// dur is clamped to [MinDTMFDuration, MaxDTMFDuration]; 0 means DefaultDTMFDuration. The
// event occupies frames·160 timestamp units, where frames = len(packets) - 2.
func DTMFPackets(digit rune, ts uint32, dur time.Duration) ([]DTMFPacket, error) {
	ev, err := DigitEvent(digit)
	if err != nil {
		return nil, err
	}
	if dur == 0 {
		dur = DefaultDTMFDuration
	}
	dur = min(max(dur, MinDTMFDuration), MaxDTMFDuration)
	frames := int((dur + 20*time.Millisecond - 1) / (20 * time.Millisecond))
	pkts := make([]DTMFPacket, 0, frames+2)
	for i := 1; i <= frames; i++ {
		pkts = append(pkts, DTMFPacket{
			Marker:    i == 1,
			Timestamp: ts,
			Event: DTMFEvent{
				Event:    ev,
				End:      i == frames,
				Volume:   DefaultDTMFVolume,
				Duration: uint16(i * FrameSamples),
			},
		})
	}
	last := pkts[len(pkts)-1]
	last.Marker = false
	return append(pkts, last, last), nil
}
