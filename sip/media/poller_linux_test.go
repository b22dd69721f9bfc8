//go:build linux && (amd64 || arm64)

package media

import (
	"context"
	"encoding/binary"
	"log/slog"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// pollerPeer is a phone on loopback that sends numbered RTP to sessions.
type pollerPeer struct {
	t    testing.TB
	conn *net.UDPConn
	pkt  []byte
}

func newPollerPeer(t testing.TB) *pollerPeer {
	t.Helper()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	pkt := make([]byte, rtpHeaderLen+160)
	putHeader(pkt, false, PCMU.PayloadType, 0, 0, 1)
	return &pollerPeer{t: t, conn: conn, pkt: pkt}
}

func (p *pollerPeer) addr() netip.AddrPort { return p.conn.LocalAddr().(*net.UDPAddr).AddrPort() }

// send sends s its packet number seq (SSRC ssrc).
func (p *pollerPeer) send(to netip.AddrPort, ssrc uint32, seq uint16) {
	binary.BigEndian.PutUint16(p.pkt[2:], seq)
	binary.BigEndian.PutUint32(p.pkt[4:], uint32(seq)*FrameSamples)
	binary.BigEndian.PutUint32(p.pkt[8:], ssrc)
	if _, err := p.conn.WriteToUDPAddrPort(p.pkt, to); err != nil {
		p.t.Error(err)
	}
}

// newPolledSession is a started session whose peer is from, read by a poller.
func newPolledSession(t *testing.T, from netip.AddrPort, opts ...SessionOption) *Session {
	t.Helper()
	s := newTestSession(t, opts...)
	s.SetRemote(from)
	s.Start()
	if s.poll == nil {
		t.Fatal("session not on an RTP poller")
	}
	return s
}

// Many sessions on the pollers each receive, and count, every packet sent to them.
func TestPollerManySessions(t *testing.T) {
	const n, packets = 500, 20
	peer := newPollerPeer(t)
	ss := make([]*Session, n)
	for i := range ss {
		ss[i] = newPolledSession(t, peer.addr())
	}
	for seq := range uint16(packets) {
		for i, s := range ss {
			peer.send(s.LocalAddr(), uint32(i+1), seq)
		}
	}
	ok := waitFor(5*time.Second, func() bool {
		for _, s := range ss {
			if s.Stats().PacketsReceived < packets {
				return false
			}
		}
		return true
	})
	for i, s := range ss {
		if st := s.Stats(); st.PacketsReceived != packets || st.PacketsLost != 0 {
			t.Fatalf("session %d of %d: received %d, lost %d, want %d and 0 (all done: %v)", i, n, st.PacketsReceived, st.PacketsLost, packets, ok)
		}
	}
}

// A session flooded with packets does not hold up the others: they get theirs, on time.
func TestPollerFloodDoesNotStarve(t *testing.T) {
	flooder := newPollerPeer(t)
	peer := newPollerPeer(t)
	victim := newPolledSession(t, flooder.addr())
	const n, packets = 20, 50
	ss := make([]*Session, n)
	// A packet is late if handled more than 40 ms after it was sent (measured from the send,
	// so a sender that overslept does not count). The tap's k-th call is packet k: loopback
	// keeps the order.
	var sent [packets]atomic.Int64
	var late, worst atomic.Int64
	for i := range ss {
		ss[i] = newPolledSession(t, peer.addr())
		k := 0
		ss[i].AddTap(func([]int16) {
			if k < packets {
				d := time.Now().UnixNano() - sent[k].Load()
				if d > int64(40*time.Millisecond) {
					late.Add(1)
				}
				if d > worst.Load() {
					worst.Store(d)
				}
			}
			k++
		})
	}
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		for seq := uint16(0); ctx.Err() == nil; seq++ {
			flooder.send(victim.LocalAddr(), 99, seq)
		}
	})
	for seq := range uint16(packets) {
		sent[seq].Store(time.Now().UnixNano())
		for i, s := range ss {
			peer.send(s.LocalAddr(), uint32(i+1), seq)
		}
		time.Sleep(FrameInterval)
	}
	waitFor(time.Second, func() bool {
		for _, s := range ss {
			if s.Stats().PacketsReceived < packets {
				return false
			}
		}
		return true
	})
	stop()
	wg.Wait()
	for i, s := range ss {
		if got := s.Stats().PacketsReceived; got != packets {
			t.Errorf("session %d received %d of %d packets during the flood", i, got, packets)
		}
	}
	if v := victim.Stats().PacketsReceived; v < 1000 {
		t.Errorf("the flooded session received only %d packets", v)
	}
	// Under -race on a loaded machine some may be late; starved sessions would be late for
	// most of their packets, and later and later.
	if l := late.Load(); l > n*packets/4 || time.Duration(worst.Load()) > time.Second {
		t.Errorf("%d of %d packets to the other sessions handled more than 40 ms after they were sent (the latest %v)", l, n*packets, time.Duration(worst.Load()))
	}
	t.Logf("flooded session: %d packets; others: %d of %d later than 40 ms, the latest %v", victim.Stats().PacketsReceived, late.Load(), n*packets, time.Duration(worst.Load()))
}

// A polled session ends with ErrInactive when RTP stops, not while it flows, and the timeout
// can be changed while it runs.
func TestPollerInactivity(t *testing.T) {
	t.Parallel()
	peer := newPollerPeer(t)
	s := newPolledSession(t, peer.addr(), WithInactivityTimeout(100*time.Millisecond))
	// last is when the last packet went: the timeout runs from its arrival, not from the
	// end of the sleep after it.
	var last time.Time
	for seq := range uint16(20) { // 400 ms of RTP: longer than the timeout
		peer.send(s.LocalAddr(), 1, seq)
		last = time.Now()
		time.Sleep(FrameInterval)
	}
	if err := s.Err(); err != nil {
		t.Fatalf("session with RTP flowing ended: %v", err)
	}
	select {
	case <-s.Done():
	case <-time.After(2 * time.Second):
		t.Fatal("session without RTP did not end")
	}
	if el := time.Since(last); el < 80*time.Millisecond {
		t.Errorf("ended %v after the last packet, want about 100 ms", el)
	}
	if s.Err() != ErrInactive {
		t.Errorf("Err() = %v, want ErrInactive", s.Err())
	}

	// Lengthened at run time: counts from then.
	c := newPolledSession(t, peer.addr(), WithInactivityTimeout(50*time.Millisecond))
	c.SetInactivityTimeout(300 * time.Millisecond)
	select {
	case <-c.Done():
		t.Fatalf("ended after %v with a 300 ms timeout", c.Err())
	case <-time.After(150 * time.Millisecond):
	}
	select {
	case <-c.Done():
	case <-time.After(2 * time.Second):
		t.Fatal("lengthened timeout never fired")
	}
	// Enabled at run time on a session started without one.
	d := newPolledSession(t, peer.addr())
	d.SetInactivityTimeout(50 * time.Millisecond)
	select {
	case <-d.Done():
	case <-time.After(2 * time.Second):
		t.Fatal("timeout set at run time never fired")
	}
}

// Sessions closed while their packets are being handled close cleanly: once Close returns,
// no tap of theirs runs, and the others carry on.
func TestPollerCloseDuringTraffic(t *testing.T) {
	peer := newPollerPeer(t)
	const n = 40
	ss := make([]*Session, n)
	closed := make([]atomic.Bool, n)
	var after atomic.Int64
	for i := range ss {
		ss[i] = newPolledSession(t, peer.addr())
		ss[i].AddTap(func([]int16) {
			if closed[i].Load() {
				after.Add(1)
			}
		})
	}
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		for seq := uint16(0); ctx.Err() == nil; seq++ {
			for i, s := range ss {
				peer.send(s.LocalAddr(), uint32(i+1), seq)
			}
			runtime.Gosched()
		}
	})
	time.Sleep(100 * time.Millisecond)
	var closers sync.WaitGroup
	for i := range n / 2 { // half of them, all at once, mid-stream
		closers.Go(func() {
			if err := ss[i].Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
			closed[i].Store(true)
		})
	}
	closers.Wait()
	before := ss[n-1].Stats().PacketsReceived
	growing := waitFor(2*time.Second, func() bool { return ss[n-1].Stats().PacketsReceived > before })
	stop()
	wg.Wait()
	if a := after.Load(); a > 0 {
		t.Errorf("%d packets handed to sessions after their Close returned", a)
	}
	if !growing {
		t.Error("an open session stopped receiving when others were closed")
	}
}

// A session's fd number, reused by a new session's socket after Close, delivers the new
// socket's packets to the new session only.
func TestPollerFDReuse(t *testing.T) {
	peer := newPollerPeer(t)
	var prev *Session
	var prevFD, reused int
	for i := range 100 {
		s := newPolledSession(t, peer.addr())
		if s.rawFD == prevFD {
			reused++
		}
		prevFD = s.rawFD
		for seq := range uint16(5) {
			peer.send(s.LocalAddr(), uint32(i+1), seq)
		}
		if !waitFor(2*time.Second, func() bool { return s.Stats().PacketsReceived >= 5 }) {
			t.Fatalf("session %d received %d of 5 packets", i, s.Stats().PacketsReceived)
		}
		if prev != nil {
			if got := prev.Stats().PacketsReceived; got != 5 {
				t.Fatalf("closed session %d received %d packets, want its 5", i-1, got)
			}
		}
		s.Close()
		prev = s
		if got := s.Stats().PacketsReceived; got != 5 {
			t.Fatalf("session %d received %d packets, want 5", i, got)
		}
	}
	if reused == 0 {
		t.Error("no fd number was reused: the test did not test reuse")
	}
	t.Logf("fd numbers reused by the next session %d times of 100", reused)
}

// Receiving a packet through the poller allocates nothing: the poller's read, the source
// checks, quality and a tap.
func TestPollerReceiveAllocs(t *testing.T) {
	peer := newPollerPeer(t)
	s := newPolledSession(t, peer.addr())
	defer s.AddTap(func([]int16) {})()
	to := s.LocalAddr()
	var seq uint16
	recv := func() {
		want := s.packetsIn.Load() + 1
		peer.send(to, 7, seq)
		seq++
		for s.packetsIn.Load() < want {
			runtime.Gosched()
		}
	}
	for range 50 { // learning, the tap's first PCM buffer
		recv()
	}
	if a := testing.AllocsPerRun(1000, recv); a != 0 {
		t.Errorf("%v allocations per received packet, want 0", a)
	}
}

// BenchmarkPollerReceive is one packet sent on loopback and handled by a session on the
// poller, end to end (with -benchmem: 0 allocs/op).
func BenchmarkPollerReceive(b *testing.B) {
	peer := newPollerPeer(b)
	conn, rtcpConn, err := ListenRTP(loopback, 0, 0)
	if err != nil {
		b.Fatal(err)
	}
	s := NewSession(conn, rtcpConn, WithLogger(slog.New(slog.DiscardHandler)))
	defer s.Close()
	s.SetRemote(peer.addr())
	s.Start()
	to := s.LocalAddr()
	var seq uint16
	b.ReportAllocs()
	for b.Loop() {
		want := s.packetsIn.Load() + 1
		peer.send(to, 7, seq)
		seq++
		for s.packetsIn.Load() < want {
			runtime.Gosched()
		}
	}
}

// Sending through the raw sendto allocates nothing either.
func TestRawSendAllocs(t *testing.T) {
	peer := newPollerPeer(t)
	s := newPolledSession(t, peer.addr())
	frame := make([]int16, FrameSamples)
	now := time.Now()
	if a := testing.AllocsPerRun(1000, func() { s.sendAudio(frame, false, now) }); a != 0 {
		t.Errorf("%v allocations per packet sent, want 0", a)
	}
	if s.Stats().PacketsSent == 0 {
		t.Error("nothing sent")
	}
}
