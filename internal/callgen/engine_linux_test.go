package callgen

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/hotline-cc/hotline/sip/media"
)

// fakeUAS is the far end of the smoke tests: it answers INVITEs with RTP from a socket of
// its own, a 20 ms frame at a time, and hangs up when it hears a whole digit (IVR).
type fakeUAS struct {
	t       *testing.T
	sip     *net.UDPConn
	refuse  int  // answer every INVITE with this status instead
	dropN   int  // ignore the first dropN INVITEs (to see Timer A)
	dropBye int  // ignore the first dropBye BYEs (Timer E)
	hangup  bool // BYE after a digit's end packets

	mu     sync.Mutex
	calls  map[string]*uasCall
	digits []string // per call: the events heard, with how many end packets
	wg     sync.WaitGroup
}

type uasCall struct {
	rtp  *net.UDPConn
	stop chan struct{}
	once sync.Once
}

// startUAS starts a UAS that setup, if not nil, configures before it serves.
func startUAS(t *testing.T, setup func(*fakeUAS)) *fakeUAS {
	t.Cleanup(func() { goleak.VerifyNone(t) }) // first registered, so run after u.close
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	u := &fakeUAS{t: t, sip: c, calls: map[string]*uasCall{}}
	if setup != nil {
		setup(u)
	}
	u.wg.Add(1)
	go u.serve()
	t.Cleanup(u.close)
	return u
}

func (u *fakeUAS) addr() netip.AddrPort { return u.sip.LocalAddr().(*net.UDPAddr).AddrPort() }

func (u *fakeUAS) close() {
	u.sip.Close()
	u.mu.Lock()
	for _, c := range u.calls {
		c.end()
	}
	u.mu.Unlock()
	u.wg.Wait()
}

func (c *uasCall) end() { c.once.Do(func() { close(c.stop); c.rtp.Close() }) }

func (u *fakeUAS) serve() {
	defer u.wg.Done()
	buf := make([]byte, 4096)
	invites, byes := 0, 0
	for {
		n, from, err := u.sip.ReadFromUDPAddrPort(buf)
		if err != nil {
			return
		}
		m, err := Parse(buf[:n], nil)
		if err != nil || m.Method == nil {
			continue
		}
		id := string(m.CallID)
		switch string(m.Method) {
		case "INVITE":
			if invites++; invites <= u.dropN {
				continue
			}
			if u.refuse != 0 {
				u.sip.WriteToUDPAddrPort(appendReply(nil, &m, u.refuse, "Busy Here"), from)
				continue
			}
			u.answer(&m, from, id)
		case "BYE":
			if byes++; byes <= u.dropBye {
				continue
			}
			u.sip.WriteToUDPAddrPort(appendReply(nil, &m, 200, "OK"), from)
			u.mu.Lock()
			if c := u.calls[id]; c != nil {
				c.end()
			}
			u.mu.Unlock()
		}
	}
}

func (u *fakeUAS) answer(m *Message, from netip.AddrPort, id string) {
	offer, err := media.ParseSDP(m.Body)
	if err != nil {
		u.t.Errorf("the INVITE's SDP: %v", err)
		return
	}
	rtp, err := net.DialUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}, net.UDPAddrFromAddrPort(offer.Remote))
	if err != nil {
		u.t.Error(err)
		return
	}
	port := rtp.LocalAddr().(*net.UDPAddr).Port
	c := &uasCall{rtp: rtp, stop: make(chan struct{})}
	u.mu.Lock()
	u.calls[id] = c
	u.mu.Unlock()
	sdp := fmt.Sprintf("v=0\r\no=uas 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"+
		"m=audio %d RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n", port)
	ok := appendReply(nil, m, 200, "OK")
	ok = bytes.Replace(ok, []byte("Content-Length: 0\r\n\r\n"),
		fmt.Appendf(nil, "Contact: <sip:uas@%s>\r\nContent-Type: application/sdp\r\nContent-Length: %d\r\n\r\n%s", u.addr(), len(sdp), sdp), 1)
	u.sip.WriteToUDPAddrPort(appendReply(nil, m, 100, "Trying"), from)
	u.sip.WriteToUDPAddrPort(ok, from)
	toTagged, _ := Parse(ok, nil)
	bye := fmt.Appendf(nil, "BYE %s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bKuas\r\nFrom: %s\r\nTo: %s\r\n"+
		"Call-ID: %s\r\nCSeq: 1 BYE\r\nContent-Length: 0\r\n\r\n", URI(m.Vias[0][len("SIP/2.0/UDP "):]), u.addr(), toTagged.To, m.From, m.CallID)
	bye = bytes.Replace(bye, []byte("BYE 127"), []byte("BYE sip:caller@127"), 1)
	u.wg.Add(2)
	go u.send(c)
	go u.listen(c, from, bye)
}

// send plays 20 ms PCMU frames, sequence and timestamp counting up, until the call ends.
func (u *fakeUAS) send(c *uasCall) {
	defer u.wg.Done()
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	pkt := make([]byte, 12+160)
	pkt[0], pkt[8] = 0x80, 0x55
	for seq := uint16(65500); ; seq++ { // across the wrap
		select {
		case <-c.stop:
			return
		case <-t.C:
		}
		ts := uint32(seq) * 160
		pkt[2], pkt[3] = byte(seq>>8), byte(seq)
		pkt[4], pkt[5], pkt[6], pkt[7] = byte(ts>>24), byte(ts>>16), byte(ts>>8), byte(ts)
		c.rtp.Write(pkt)
	}
}

// listen reads the caller's RTP: it records each RFC 4733 event and, once the third end
// packet of one has come, hangs up if the UAS does.
func (u *fakeUAS) listen(c *uasCall, caller netip.AddrPort, bye []byte) {
	defer u.wg.Done()
	buf := make([]byte, 1500)
	ends := 0
	for {
		n, err := c.rtp.Read(buf)
		if err != nil {
			return
		}
		if n != 16 || buf[1]&0x7f != 101 || buf[13]&0x80 == 0 {
			continue
		}
		if ends++; ends == 3 {
			u.mu.Lock()
			u.digits = append(u.digits, fmt.Sprintf("event %d", buf[12]))
			u.mu.Unlock()
			if u.hangup {
				u.sip.WriteToUDPAddrPort(bye, caller)
			}
		}
	}
}

func testConfig(u *fakeUAS, mode Mode, calls int) Config {
	return Config{Mode: mode, Server: u.addr(), Calls: calls, Rate: 50, Hold: 300 * time.Millisecond,
		DigitAfter: 100 * time.Millisecond, HangupWait: 2 * time.Second, RTPPortMin: 41000, RTPPortMax: 41998}
}

func run(t *testing.T, cfg Config) *Report {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r, err := Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestStreamsAgainstARealUDPPeer(t *testing.T) {
	u := startUAS(t, nil)
	r := run(t, testConfig(u, Streams, 4))
	if r.OK != 4 || r.Answered != 4 || r.Failed() != 0 || r.Setup.Count() != 4 {
		t.Fatalf("ok %d answered %d failures %v setups %d, want 4 4 none 4", r.OK, r.Answered, r.Failures, r.Setup.Count())
	}
	rx := r.RX
	if rx.Packets < 4*10 || rx.Lost != 0 || rx.Reordered != 0 || rx.Streams != 4 {
		t.Errorf("packets %d lost %d reordered %d streams %d: want >= 40 over 300 ms holds, none lost", rx.Packets, rx.Lost, rx.Reordered, rx.Streams)
	}
	if p50 := rx.Spacing.Percentile(50); p50 < 15*time.Millisecond || p50 > 25*time.Millisecond {
		t.Errorf("spacing p50 %v, want about the sender's 20 ms", p50)
	}
	if r.RTPSent < 4*10 || r.PeakLive < 2 {
		t.Errorf("RTP sent %d peak live %d: want a tone from each call while on hold", r.RTPSent, r.PeakLive)
	}
	for i, c := range r.Per {
		if c.Result != "ok" || c.HungUpBy != "callgen" || c.Setup <= 0 {
			t.Errorf("call %d: %+v", i, c)
		}
	}
}

func TestIVRPressesTheDigitAndAnswersTheBYE(t *testing.T) {
	u := startUAS(t, func(u *fakeUAS) { u.hangup = true })
	r := run(t, testConfig(u, IVR, 3))
	if r.OK != 3 || r.DigitsSent != 3 || r.Failed() != 0 {
		t.Fatalf("ok %d digits %d failures %v, want 3 3 none", r.OK, r.DigitsSent, r.Failures)
	}
	u.mu.Lock()
	got := strings.Join(u.digits, ",")
	u.mu.Unlock()
	if got != "event 1,event 1,event 1" {
		t.Errorf("the UAS heard %q, want digit 1 (event 1) ended three times on each call", got)
	}
	for i, c := range r.Per {
		if c.HungUpBy != "hotline" || !c.DigitSent {
			t.Errorf("call %d: %+v, want hung up by the far end after the digit", i, c)
		}
	}
}

func TestIVRWithoutAHangupFails(t *testing.T) {
	u := startUAS(t, nil)
	cfg := testConfig(u, IVR, 1)
	cfg.HangupWait = 400 * time.Millisecond
	r := run(t, cfg)
	if r.OK != 0 || r.Failures["hotline did not hang up"] != 1 {
		t.Errorf("ok %d failures %v, want the call failed for want of a BYE", r.OK, r.Failures)
	}
}

func TestRefusedCallsAreFailures(t *testing.T) {
	u := startUAS(t, func(u *fakeUAS) { u.refuse = 486 })
	r := run(t, testConfig(u, Streams, 3))
	if r.Failures["INVITE 486"] != 3 || r.OK != 0 || r.Answered != 0 {
		t.Errorf("failures %v ok %d answered %d, want 3 x INVITE 486", r.Failures, r.OK, r.Answered)
	}
}

func TestLostInviteIsRetransmittedByTimerA(t *testing.T) {
	u := startUAS(t, func(u *fakeUAS) { u.dropN = 1 })
	r := run(t, testConfig(u, Streams, 1))
	if r.OK != 1 || r.Retransmissions != 1 {
		t.Fatalf("ok %d retransmissions %d, want the call up after one retransmission", r.OK, r.Retransmissions)
	}
	if s := r.Setup.Max(); s < timerT1 || s > timerT1+200*time.Millisecond {
		t.Errorf("setup %v, want about T1 (%v): timed from the first INVITE", s, timerT1)
	}
}

// The INVITE's Timer A, still pending when a short hold ends, must not retransmit the BYE.
func TestLostByeIsRetransmittedByTimerE(t *testing.T) {
	u := startUAS(t, func(u *fakeUAS) { u.dropBye = 1 })
	cfg := testConfig(u, Streams, 1)
	cfg.Hold = 100 * time.Millisecond
	r := run(t, cfg)
	if r.OK != 1 || r.Retransmissions != 1 {
		t.Errorf("ok %d retransmissions %d, want the call over after one BYE retransmission", r.OK, r.Retransmissions)
	}
}
