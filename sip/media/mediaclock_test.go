package media

import (
	"context"
	"encoding/binary"
	"net"
	"testing"
	"time"
)

// sentPacket is what a phone sees of one packet: its header fields and when it arrived.
type sentPacket struct {
	seq    uint16
	ts     uint32
	marker bool
	at     time.Time
}

// phoneSink is a socket that collects the RTP packets sent to it.
func phoneSink(t *testing.T) (*net.UDPConn, func(n int) []sentPacket) {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, func(n int) []sentPacket {
		t.Helper()
		var pkts []sentPacket
		buf := make([]byte, 1500)
		for len(pkts) < n {
			_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
			m, err := c.Read(buf)
			if err != nil {
				t.Fatalf("received %d packets of %d: %v", len(pkts), n, err)
			}
			if m < rtpHeaderLen || buf[1]&0x7F >= 72 && buf[1]&0x7F <= 76 {
				continue // RTCP
			}
			pkts = append(pkts, sentPacket{seq: binary.BigEndian.Uint16(buf[2:]), ts: binary.BigEndian.Uint32(buf[4:]),
				marker: buf[1]&0x80 != 0, at: time.Now()})
		}
		return pkts
	}
}

// PlayAll sends its prompts as one stream, as a phone's jitter buffer wants hold music that
// loops: consecutive sequence numbers, timestamps 160 apart, the marker on the first packet
// only, each prompt's short last frame padded rather than cut.
func TestPlayAllIsOneStream(t *testing.T) {
	t.Parallel()
	phone, read := phoneSink(t)
	s := newTestSession(t, WithClock(newSimClock()))
	s.SetRemote(phone.LocalAddr().(*net.UDPAddr).AddrPort())
	prompts := [][]int16{tone(400, 8000, 8000, 2*FrameSamples+40), nil, tone(800, 8000, 8000, FrameSamples)}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.PlayAll(ctx, prompts, true) }()
	pkts := read(12) // three loops of 3 + 1 frames
	cancel()
	if err := <-done; err != context.Canceled {
		t.Errorf("PlayAll after cancel = %v, want context.Canceled", err)
	}
	for i, p := range pkts {
		if p.marker != (i == 0) {
			t.Errorf("packet %d: marker %v", i, p.marker)
		}
		if i == 0 {
			continue
		}
		if d := p.seq - pkts[i-1].seq; d != 1 {
			t.Errorf("packet %d: sequence number %d after %d", i, p.seq, pkts[i-1].seq)
		}
		if d := p.ts - pkts[i-1].ts; d != FrameSamples {
			t.Errorf("packet %d: timestamp %d after the previous, want %d", i, d, FrameSamples)
		}
	}
	if err := s.PlayAll(context.Background(), [][]int16{nil, {}}, true); err != nil {
		t.Errorf("PlayAll of no audio = %v, want nil at once", err)
	}
}

// Back-to-back Plays keep the 20 ms spacing across the change of prompt but for one slot
// (1 ms: the next Play starts once the last frame has played out), and PlayAll keeps it
// exactly: measured in ticks of the media clock, on simulated time.
func TestPlaysBackToBackKeepSpacing(t *testing.T) {
	t.Parallel()
	s := newTestSession(t, WithClock(newSimClock()))
	s.SetRemote(s.LocalAddr()) // not started: nobody reads, the packets are sent all the same
	pcm := make([]int16, 5*FrameSamples)
	var last []int64
	for range 3 {
		if err := s.Play(context.Background(), pcm); err != nil {
			t.Fatal(err)
		}
		last = append(last, s.player.lastTick)
	}
	for i := 1; i < len(last); i++ {
		if d := last[i] - last[i-1]; d != 5*clockSlots+1 {
			t.Errorf("play %d ended %d ticks after the one before, want %d (5 frames, 1 tick to start)", i, d, 5*clockSlots+1)
		}
	}
	start := s.player.lastTick
	if err := s.PlayAll(context.Background(), [][]int16{pcm, pcm, pcm}, false); err != nil {
		t.Fatal(err)
	}
	if d := s.player.lastTick - start; d != 15*clockSlots+1 {
		t.Errorf("PlayAll of 3 prompts of 5 frames ended %d ticks after the Play before, want %d", d, 15*clockSlots+1)
	}
	if st := s.Stats(); st.PacketsSent != 30 {
		t.Errorf("sent %d packets, want 30", st.PacketsSent)
	}
}

// Streams starting in the same millisecond are spread over the next slots rather than all
// sent in one: no slot holds more than its share.
func TestMediaClockSpreadsABurst(t *testing.T) {
	m := newMediaClock(newSimClock())
	m.running = true // no goroutine: the test looks at the slots as play left them
	ps := make([]player, 100)
	for i := range ps {
		ps[i] = player{done: make(chan struct{}, 1)}
		m.play(&ps[i], [][]int16{make([]int16, FrameSamples)}, false)
	}
	for slot, sl := range m.slots {
		if want := 100 / spreadSlots; len(sl) != want && (slot < spreadSlots) {
			t.Errorf("slot %d holds %d streams, want %d", slot, len(sl), want)
		}
		if slot >= spreadSlots && len(sl) != 0 {
			t.Errorf("slot %d holds %d streams: a stream waits more than %d slots for its first frame", slot, len(sl), spreadSlots)
		}
	}
	for i := range ps {
		m.stop(&ps[i])
	}
	if m.players != 0 {
		t.Errorf("%d players left after stopping all", m.players)
	}
}
