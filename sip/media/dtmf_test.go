package media

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestDTMFEventMarshalParse(t *testing.T) {
	// RFC 4733 §2.3 layout: event 11 ('#'), E=1, volume 10, duration 800.
	want := []byte{11, 0x80 | 10, 0x03, 0x20}
	e := DTMFEvent{Event: 11, End: true, Volume: 10, Duration: 800}
	if got := e.Marshal(); string(got) != string(want) {
		t.Fatalf("Marshal = % x, want % x", got, want)
	}
	back, err := ParseDTMFEvent(want)
	if err != nil || back != e {
		t.Fatalf("Parse = %+v, %v", back, err)
	}
	// The reserved R bit is ignored on receive and never sent.
	if p, _ := ParseDTMFEvent([]byte{1, 0x40 | 7, 0, 160}); p != (DTMFEvent{Event: 1, Volume: 7, Duration: 160}) {
		t.Errorf("R bit leaked: %+v", p)
	}
	if b := (DTMFEvent{Volume: 0xFF}).Marshal(); b[1] != 0x3F {
		t.Errorf("volume overflowed into E/R bits: %#x", b[1])
	}
	for _, n := range []int{0, 1, 3} {
		if _, err := ParseDTMFEvent(make([]byte, n)); !errors.Is(err, ErrShortDTMFPayload) {
			t.Errorf("%d-byte payload: %v", n, err)
		}
	}
	if _, err := (DTMFEvent{}).MarshalTo(make([]byte, 3)); !errors.Is(err, ErrShortDTMFPayload) {
		t.Errorf("MarshalTo short buffer: %v", err)
	}
}

func TestDigitEvents(t *testing.T) {
	for i, d := range dtmfDigits {
		ev, err := DigitEvent(d)
		if err != nil || int(ev) != i {
			t.Errorf("DigitEvent(%q) = %d, %v", d, ev, err)
		}
		if r, ok := EventDigit(ev); !ok || r != d {
			t.Errorf("EventDigit(%d) = %q", ev, r)
		}
	}
	if ev, _ := DigitEvent('c'); ev != 14 {
		t.Error("lower-case c")
	}
	if _, err := DigitEvent('E'); !errors.Is(err, ErrNotDTMFDigit) {
		t.Errorf("DigitEvent('E') = %v", err)
	}
	if _, ok := EventDigit(16); ok {
		t.Error("flash reported as a digit")
	}
}

// RFC 4733 §2.5.1: marker on the first packet only, one timestamp for the whole event,
// duration growing by one frame per packet, and the final packet sent three times.
func TestDTMFPacketsShape(t *testing.T) {
	pkts, err := DTMFPackets('5', 4242, 100*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if len(pkts) != 7 {
		t.Fatalf("%d packets for 100 ms, want 5 frames + 2 repeats", len(pkts))
	}
	for i, p := range pkts {
		if p.Marker != (i == 0) {
			t.Errorf("packet %d marker %v", i, p.Marker)
		}
		if p.Timestamp != 4242 || p.Event.Event != 5 || p.Event.Volume != DefaultDTMFVolume {
			t.Errorf("packet %d: %+v", i, p)
		}
		wantDur := uint16(min(i+1, 5) * 160)
		if p.Event.Duration != wantDur {
			t.Errorf("packet %d duration %d, want %d", i, p.Event.Duration, wantDur)
		}
		if p.Event.End != (i >= 4) {
			t.Errorf("packet %d end bit %v", i, p.Event.End)
		}
	}
	if p, _ := DTMFPackets('1', 0, time.Millisecond); len(p) != 4 || p[3].Event.Duration != 320 {
		t.Errorf("1 ms not raised to 40 ms: %d packets", len(p))
	}
	if p, _ := DTMFPackets('1', 0, time.Minute); p[len(p)-1].Event.Duration != 64000 {
		t.Errorf("1 min not capped at 8 s: duration %d", p[len(p)-1].Event.Duration)
	}
	if _, err := DTMFPackets('x', 0, 0); !errors.Is(err, ErrNotDTMFDigit) {
		t.Errorf("DTMFPackets('x') = %v", err)
	}
}

type dtmfWire struct {
	seq     uint16
	ts      uint32
	marker  bool
	payload []byte
}

// press returns the wire packets for one key press, numbered from seq.
func press(t *testing.T, d rune, seq uint16, ts uint32) []dtmfWire {
	t.Helper()
	pkts, err := DTMFPackets(d, ts, 100*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]dtmfWire, len(pkts))
	for i, p := range pkts {
		out[i] = dtmfWire{seq + uint16(i), p.Timestamp, p.Marker, p.Event.Marshal()}
	}
	return out
}

func feedAll(dec *DTMFDecoder, pkts []dtmfWire) string {
	var got []rune
	for _, p := range pkts {
		if d, ok := dec.Feed(p.seq, p.ts, p.marker, p.payload); ok {
			got = append(got, d)
		}
	}
	return string(got)
}

// The loss matrix: whichever packet of a key press is lost, the caller's digit arrives
// exactly once — never dropped, never doubled by the redundant end packets.
func TestDTMFDecoderLossMatrix(t *testing.T) {
	losses := map[string]func([]dtmfWire) []dtmfWire{
		"no loss":        func(p []dtmfWire) []dtmfWire { return p },
		"first lost":     func(p []dtmfWire) []dtmfWire { return p[1:] },
		"last lost":      func(p []dtmfWire) []dtmfWire { return p[:len(p)-1] },
		"all ends lost":  func(p []dtmfWire) []dtmfWire { return p[:len(p)-3] },
		"middle lost":    func(p []dtmfWire) []dtmfWire { return append(append([]dtmfWire{}, p[:2]...), p[3:]...) },
		"only last":      func(p []dtmfWire) []dtmfWire { return p[len(p)-1:] },
		"first two swap": func(p []dtmfWire) []dtmfWire { return append([]dtmfWire{p[1], p[0]}, p[2:]...) },
		"duplicated":     func(p []dtmfWire) []dtmfWire { return append(append([]dtmfWire{}, p...), p...) },
	}
	for _, d := range dtmfDigits {
		for name, lose := range losses {
			t.Run(fmt.Sprintf("%c/%s", d, name), func(t *testing.T) {
				var dec DTMFDecoder
				// A previous digit on the same stream, so the decoder is mid-call.
				got := feedAll(&dec, press(t, '0', 1000, 80000))
				got += feedAll(&dec, lose(press(t, d, 1050, 88000)))
				if want := "0" + string(d); got != want {
					t.Errorf("decoded %q, want %q", got, want)
				}
			})
		}
	}
}

// Pressing the same key twice gives two digits (a new press has a new timestamp).
func TestDTMFDecoderRepeatedDigit(t *testing.T) {
	var dec DTMFDecoder
	got := feedAll(&dec, press(t, '7', 10, 1000))
	got += feedAll(&dec, press(t, '7', 30, 5000))
	got += feedAll(&dec, press(t, '7', 50, 9000)[1:]) // third press, marker packet lost
	if got != "777" {
		t.Errorf("decoded %q, want 777", got)
	}
}

// Packets of an event already reported that arrive late — a retransmission, or a packet
// reordered behind the next key press — do not produce a second digit.
func TestDTMFDecoderIgnoresOldEvents(t *testing.T) {
	var dec DTMFDecoder
	first := press(t, '1', 100, 8000)
	second := press(t, '2', 120, 16000)
	got := feedAll(&dec, first[1:]) // first packet delayed...
	got += feedAll(&dec, second)
	got += feedAll(&dec, first[:1]) // ...arrives after the next digit
	got += feedAll(&dec, first)     // whole event retransmitted
	if got != "12" {
		t.Errorf("decoded %q, want 12", got)
	}
}

// A sender that restarts its stream (new SSRC after a re-INVITE or transfer: new random
// sequence numbers and timestamps) is still understood.
func TestDTMFDecoderStreamRestart(t *testing.T) {
	var dec DTMFDecoder
	got := feedAll(&dec, press(t, '4', 40000, 3000000))
	got += feedAll(&dec, press(t, '5', 1200, 20))   // sequence and timestamp jumped backwards
	got += feedAll(&dec, press(t, '6', 65530, 800)) // sequence wraps inside the event
	dec.Reset()
	got += feedAll(&dec, press(t, '6', 65530, 800)) // after Reset the same packets count again
	if got != "4566" {
		t.Errorf("decoded %q, want 4566", got)
	}
}

// A press longer than 8 s continues in a new segment with a later timestamp and no marker
// (RFC 4733 §2.5.1.3); that is still one digit.
func TestDTMFDecoderLongEvent(t *testing.T) {
	var dec DTMFDecoder
	seg := func(seq uint16, ts uint32, m, end bool, dur uint16) dtmfWire {
		return dtmfWire{seq, ts, m, DTMFEvent{Event: 9, End: end, Duration: dur}.Marshal()}
	}
	got := feedAll(&dec, []dtmfWire{
		seg(1, 0, true, false, 160), seg(2, 0, false, false, 0xFFFF),
		seg(3, 0xFFFF, false, false, 160), seg(4, 0xFFFF, false, true, 800), seg(5, 0xFFFF, false, true, 800),
	})
	if got != "9" {
		t.Errorf("decoded %q, want 9", got)
	}
}

func TestDTMFDecoderIgnoresJunk(t *testing.T) {
	var dec DTMFDecoder
	if _, ok := dec.Feed(1, 1, true, []byte{1, 2}); ok {
		t.Error("short payload decoded")
	}
	if _, ok := dec.Feed(2, 160, true, DTMFEvent{Event: 16}.Marshal()); ok {
		t.Error("hook flash reported as a digit")
	}
	if d, ok := dec.Feed(3, 320, true, DTMFEvent{Event: 3}.Marshal()); !ok || d != '3' {
		t.Error("digit after junk lost")
	}
}

// FuzzDTMFPayload: parsing never panics, whatever arrives on the wire, and what parses
// re-marshals to the same first four bytes (apart from the reserved bit).
func FuzzDTMFPayload(f *testing.F) {
	f.Add([]byte{11, 0x8a, 0x03, 0x20}, uint16(1), uint32(0), true)
	f.Add([]byte{1, 0x0a, 0x00, 0xa0}, uint16(65535), uint32(0xFFFFFFFF), false)
	f.Add([]byte{}, uint16(0), uint32(0), false)
	f.Add([]byte{255, 255, 255, 255, 0}, uint16(7), uint32(7), true)
	var dec DTMFDecoder
	f.Fuzz(func(t *testing.T, b []byte, seq uint16, ts uint32, marker bool) {
		e, err := ParseDTMFEvent(b)
		if err != nil {
			if len(b) >= DTMFPayloadSize {
				t.Fatalf("rejected %d bytes: %v", len(b), err)
			}
			return
		}
		out := e.Marshal()
		if out[0] != b[0] || out[1] != b[1]&^0x40 || out[2] != b[2] || out[3] != b[3] {
			t.Fatalf("% x re-marshalled as % x", b[:4], out)
		}
		if d, ok := dec.Feed(seq, ts, marker, b); ok {
			if _, err := DigitEvent(d); err != nil {
				t.Fatalf("decoder emitted %q", d)
			}
		}
	})
}

// sipp's RFC 2833 pcaps all come from one capture: playing "2" then "1" sends the second
// key press with a lower sequence number and timestamp (same SSRC). Both are key presses.
func TestDTMFDecoderReplayedCapturesGoingBackwards(t *testing.T) {
	var d DTMFDecoder
	press := func(digit rune, seq uint16, ts uint32) string {
		pks, err := DTMFPackets(digit, ts, 0)
		if err != nil {
			t.Fatal(err)
		}
		var got string
		for i, p := range pks {
			b := p.Event.Marshal()
			if r, ok := d.Feed(seq+uint16(i), p.Timestamp, p.Marker, b); ok {
				got += string(r)
			}
		}
		return got
	}
	got := press('2', 8042, 23200) + press('1', 7984, 13280) + press('2', 8042, 23200)
	if got != "21" {
		t.Errorf("digits = %q, want 21 (a replay of the same capture of 2 is not a new press)", got)
	}
}

// Pressing the same key twice with sipp replays the same capture: same timestamp, a second
// or more later. That is a second press; a late packet within the window is not.
func TestDTMFDecoderSameCaptureTwiceIsTwoPresses(t *testing.T) {
	var d DTMFDecoder
	t0 := time.Unix(1000, 0)
	press := func(at time.Time) string {
		pks, _ := DTMFPackets('1', 13280, 0)
		var got string
		for i, p := range pks {
			if r, ok := d.FeedAt(at.Add(time.Duration(i)*20*time.Millisecond), 7984+uint16(i), p.Timestamp, p.Marker, p.Event.Marshal()); ok {
				got += string(r)
			}
		}
		return got
	}
	got := press(t0) + press(t0.Add(300*time.Millisecond)) + press(t0.Add(3*time.Second))
	if got != "11" {
		t.Errorf("digits = %q, want 11 (the replay 300 ms later is late packets; 3 s later a new press)", got)
	}
}
