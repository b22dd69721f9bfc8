package media

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"

	"github.com/hotline-cc/hotline/audio"
	"github.com/hotline-cc/hotline/internal/testenv"
)

// keyPair returns the keys of the two ends of an SRTP call: a's, and b's (a's mirrored).
func keyPair(t *testing.T, suite Suite) (a, b *SRTPKeys) {
	t.Helper()
	ka, err := NewCrypto(1, suite)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := NewCrypto(1, suite)
	return &SRTPKeys{Local: ka, Remote: kb}, &SRTPKeys{Local: kb, Remote: ka}
}

func mustSetSRTP(t *testing.T, s *Session, k *SRTPKeys) {
	t.Helper()
	if err := s.SetSRTP(k); err != nil {
		t.Fatal(err)
	}
}

// datagram is one packet the wiretap saw.
type datagram struct {
	rtcp bool
	b    []byte
}

// wiretap sits on the wire between sessions a and b, RTP and RTCP both ways, and keeps a
// copy of every datagram a sends: what someone capturing the call's UDP would see.
type wiretap struct {
	rtpConn, rtcpConn *net.UDPConn
	a, b              *Session
	mu                sync.Mutex
	fromA             []datagram
	wg                sync.WaitGroup
}

func newWiretap(t *testing.T, a, b *Session) *wiretap {
	c, cr, err := ListenRTP(loopback, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	w := &wiretap{rtpConn: c, rtcpConn: cr, a: a, b: b}
	for _, conn := range []*net.UDPConn{c, cr} {
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			isRTCP := conn == cr
			buf := make([]byte, 1500)
			for {
				n, from, err := conn.ReadFromUDPAddrPort(buf)
				if err != nil {
					return
				}
				to := b.LocalAddr()
				if from.Port() != a.LocalAddr().Port() && from.Port() != a.LocalAddr().Port()+1 {
					to = a.LocalAddr()
				} else {
					w.mu.Lock()
					w.fromA = append(w.fromA, datagram{rtcp: isRTCP, b: append([]byte(nil), buf[:n]...)})
					w.mu.Unlock()
				}
				if isRTCP {
					to = netip.AddrPortFrom(to.Addr(), to.Port()+1)
				}
				_, _ = conn.WriteToUDPAddrPort(buf[:n], to)
			}
		}()
	}
	t.Cleanup(func() { c.Close(); cr.Close(); w.wg.Wait() })
	return w
}

func (w *wiretap) addr() netip.AddrPort { return w.rtpConn.LocalAddr().(*net.UDPAddr).AddrPort() }

func (w *wiretap) captured() []datagram {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]datagram(nil), w.fromA...)
}

// An SRTP call between two sessions through a wiretap: voice and RFC 4733 digits cross both
// ways and are heard as sent, RTCP reports are exchanged and understood (loss, RTT), and what
// the wiretap captured is not the audio: every RTP payload differs from the plain G.711
// frames and carries the suite's tag, and the RTCP's CNAME is encrypted. Every suite.
func TestSRTPCallThroughWiretap(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		suite Suite
		tag   int // bytes SRTP adds to an RTP packet
		index int // where the SRTCP E flag and index start, from the end (RFC 3711 §3.4, RFC 7714 §9)
	}{
		{SuiteAES128SHA1_80, 10, 14},
		{SuiteAES128SHA1_32, 4, 14}, // SRTCP keeps the 80-bit tag (RFC 4568 §6.2.2)
		{SuiteAES128GCM, 16, 4},
	} {
		t.Run(tc.suite.String(), func(t *testing.T) {
			t.Parallel()
			testSRTPCallThroughWiretap(t, tc.suite, tc.tag, tc.index)
		})
	}
}

func testSRTPCallThroughWiretap(t *testing.T, suite Suite, tag, index int) {
	a := newTestSession(t, WithRTCPInterval(testRTCPInterval))
	b := newTestSession(t, WithRTCPInterval(testRTCPInterval))
	ka, kb := keyPair(t, suite)
	mustSetSRTP(t, a, ka)
	mustSetSRTP(t, b, kb)
	w := newWiretap(t, a, b)
	a.SetRemote(w.addr())
	b.SetRemote(w.addr())
	a.SetCodec(PCMU, 101)
	b.SetCodec(PCMU, 101)
	a.Start()
	b.Start()
	var atA, atB tapRecorder
	defer a.AddTap(atA.tap)()
	defer b.AddTap(atB.tap)()

	toneA, toneB := tone(1000, 8000, 10000, 3200), tone(500, 8000, 10000, 3200)
	ctx := context.Background()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _ = b.Play(ctx, toneB) }()
	if err := a.Play(ctx, toneA); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	wg.Add(1)
	go func() { defer wg.Done(); _ = b.SendDigit(ctx, '#', 60*time.Millisecond) }()
	if err := a.SendDigit(ctx, '7', 60*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	wg.Wait()

	if got := readDigits(b, 1, 2*time.Second); got != "7" {
		t.Errorf("b received digits %q, want 7", got)
	}
	if got := readDigits(a, 1, 2*time.Second); got != "#" {
		t.Errorf("a received digits %q, want #", got)
	}
	if !waitFor(time.Second, func() bool { n, _ := atB.get(); m, _ := atA.get(); return n >= 20 && m >= 20 }) {
		t.Fatal("audio did not arrive")
	}
	_, heardB := atB.get()
	_, heardA := atA.get()
	if f := frequency(heardB, 8000); !within(f, 1000, 0.01) {
		t.Errorf("b hears %.1f Hz, want a's 1000", f)
	}
	if f := frequency(heardA, 8000); !within(f, 500, 0.01) {
		t.Errorf("a hears %.1f Hz, want b's 500", f)
	}
	if r := audio.RMS(heardB); !within(r, audio.RMS(toneA), 0.05) {
		t.Errorf("b hears RMS %.0f, want %.0f", r, audio.RMS(toneA))
	}
	if !waitFor(2*time.Second, func() bool {
		sa, sb := a.Stats(), b.Stats()
		return sa.RemoteReported && sb.RemoteReported && sa.RTT > 0 && sb.RTT > 0
	}) {
		t.Fatalf("SRTCP reports not understood: a %+v, b %+v", a.Stats(), b.Stats())
	}
	if sa, sb := a.Stats(), b.Stats(); sa.SRTPRejected+sb.SRTPRejected+sa.SRTCPRejected+sb.SRTCPRejected != 0 || sa.RemoteLost != 0 {
		t.Errorf("a clean SRTP call rejected %+v / %+v, lost %d", sa, sb, sa.RemoteLost)
	}

	// What the wire saw.
	plain := map[string]bool{}
	for off := 0; off < len(toneA); off += FrameSamples {
		plain[string(PCMU.Encode(nil, toneA[off:off+FrameSamples]))] = true
	}
	var audioPkts, eventPkts, rtcpPkts int
	var wirePCM []int16
	for _, d := range w.captured() {
		if d.rtcp {
			rtcpPkts++
			if bytes.Contains(d.b, []byte(a.cname)) {
				t.Errorf("captured RTCP shows the CNAME %q in the clear", a.cname)
			}
			if e := d.b[len(d.b)-index]; e&0x80 == 0 {
				t.Errorf("captured RTCP has no SRTCP E flag: % x", d.b[len(d.b)-index:])
			}
			continue
		}
		var h rtp.Header
		n, err := h.Unmarshal(d.b)
		if err != nil || h.Version != 2 {
			t.Fatalf("captured packet is not RTP-shaped: %v", err)
		}
		payload := d.b[n:]
		switch h.PayloadType {
		case 0:
			audioPkts++
			if len(payload) != FrameSamples+tag {
				t.Errorf("captured audio payload %d bytes, want 160 + %d-byte tag", len(payload), tag)
			}
			if plain[string(payload[:FrameSamples])] {
				t.Error("captured audio payload is a plain G.711 frame of the tone")
			}
			wirePCM = PCMU.Decode(wirePCM, payload[:FrameSamples])
		case 101:
			eventPkts++
			if len(payload) != 4+tag {
				t.Errorf("captured telephone-event payload %d bytes, want 4 + %d-byte tag", len(payload), tag)
			}
		}
	}
	if audioPkts != 20 || eventPkts == 0 || rtcpPkts == 0 {
		t.Fatalf("captured %d audio, %d event, %d RTCP packets from a; want 20, some, some", audioPkts, eventPkts, rtcpPkts)
	}
	if f := frequency(wirePCM, 8000); within(f, 1000, 0.05) {
		t.Errorf("the captured payloads, played as G.711, are a %.0f Hz tone: not encrypted", f)
	}
}

// Packets that do not authenticate are dropped and counted before anything reads them: a
// tampered one, a replayed one, plain RTP, and a forger's stream from another address, which
// must not make a symmetric-RTP session latch to it. The genuine phone still latches.
func TestSRTPRejectsForgeriesAndReplays(t *testing.T) {
	t.Parallel()
	s := newTestSession(t, WithSymmetricRTP(true), WithCodec(PCMU, 101), WithRTCPInterval(testRTCPInterval)) // RTCP is read when a report is due
	hotline, phoneKeys := keyPair(t, SuiteAES128SHA1_80)
	mustSetSRTP(t, s, hotline)
	sdpAddr := unreachable(t)
	s.SetRemote(sdpAddr)
	s.Start()
	phone, forger := newPeer(t, 0xABCD), newPeer(t, 0xABCD)
	enc, err := srtp.CreateContext(phoneKeys.Local.Key[:16], phoneKeys.Local.Key[16:], srtp.ProtectionProfileAes128CmHmacSha1_80)
	if err != nil {
		t.Fatal(err)
	}
	var seq uint16 = 100
	packet := func() []byte {
		seq++
		b, _ := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: seq, Timestamp: uint32(seq) * 160, SSRC: 0xABCD},
			Payload: PCMU.Encode(nil, tone(1000, 8000, 8000, FrameSamples))}).Marshal()
		out, err := enc.EncryptRTP(nil, b, nil)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	sendFrom := func(p *peer, b []byte) {
		if _, err := p.conn.WriteToUDPAddrPort(b, s.LocalAddr()); err != nil {
			t.Fatal(err)
		}
	}
	authBefore, replayBefore := counterValue(dropSRTPAuth), counterValue(dropSRTPReplay)

	// The forger sends a run of packets in sequence: tampered copies of genuine ones, and
	// plain RTP. Without authentication this run would be learned and latched.
	for range 2 * LearnPackets {
		b := packet()
		b[20] ^= 0x55 // one payload byte
		sendFrom(forger, b)
		plainPkt, _ := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: seq + 1000, SSRC: 0xABCD}, Payload: make([]byte, 160)}).Marshal()
		sendFrom(forger, plainPkt)
	}
	if !waitFor(time.Second, func() bool { return s.Stats().SRTPRejected == 4*LearnPackets }) {
		t.Fatalf("rejected %d forged packets, want %d", s.Stats().SRTPRejected, 4*LearnPackets)
	}
	if st := s.Stats(); st.PacketsReceived != 0 || s.Latched() || s.Remote() != sdpAddr {
		t.Fatalf("forgeries reached the session: received %d, latched %v to %v", st.PacketsReceived, s.Latched(), s.Remote())
	}
	if d := counterValue(dropSRTPAuth) - authBefore; d < 4*LearnPackets {
		t.Errorf("packets_dropped_total{reason=srtp_auth} grew by %v, want %d", d, 4*LearnPackets)
	}

	// The genuine phone: its packets are accepted, learned and latched.
	var first []byte
	for i := range LearnPackets {
		b := packet()
		if i == 0 {
			first = b
		}
		sendFrom(phone, b)
		time.Sleep(2 * time.Millisecond)
	}
	if !waitFor(time.Second, func() bool { return s.Latched() }) {
		t.Fatalf("genuine SRTP not latched: received %d, remote %v", s.Stats().PacketsReceived, s.Remote())
	}
	if s.Remote() != phone.addr() {
		t.Errorf("latched to %v, want the phone %v", s.Remote(), phone.addr())
	}
	// A replay of a genuine packet, from the phone's own address, is refused.
	rejected := s.Stats().SRTPRejected
	sendFrom(phone, first)
	if !waitFor(time.Second, func() bool { return s.Stats().SRTPRejected == rejected+1 }) {
		t.Fatal("a replayed packet was not rejected")
	}
	if d := counterValue(dropSRTPReplay) - replayBefore; d < 1 {
		t.Errorf("packets_dropped_total{reason=srtp_replay} grew by %v, want 1", d)
	}
	// A plain RTCP report on the RTCP port claiming total loss of hotline's stream: dropped,
	// and the session's view of its stream stays untouched.
	rr, _ := (&rtcp.ReceiverReport{SSRC: 0xABCD, Reports: []rtcp.ReceptionReport{{SSRC: s.SSRC(), FractionLost: 255, TotalLost: 1000}}}).Marshal()
	if _, err := forger.conn.WriteToUDPAddrPort(rr, rtcpAddr(s)); err != nil {
		t.Fatal(err)
	}
	if !waitFor(time.Second, func() bool { return s.Stats().SRTCPRejected == 1 }) {
		t.Fatal("plain RTCP was not rejected")
	}
	if st := s.Stats(); st.ReportsReceived != 0 || st.RemoteReported {
		t.Errorf("a forged RTCP report was read: %+v", st)
	}
	if got := s.Stats().PacketsReceived; got != LearnPackets {
		t.Errorf("received %d packets, want the phone's %d", got, LearnPackets)
	}
}

// A bridge between two SRTP legs with different keys: the bridge decrypts with one leg's key
// and encrypts with the other's; voice and digits cross, and the bridge's own tap (recording)
// hears plain audio.
func TestSRTPRelayBetweenDifferentKeys(t *testing.T) {
	t.Parallel()
	caller, bin := newTestSession(t), newTestSession(t)
	bout, agent := newTestSession(t), newTestSession(t)
	kc, kbin := keyPair(t, SuiteAES128SHA1_80)
	kbout, kagent := keyPair(t, SuiteAES128GCM)
	mustSetSRTP(t, caller, kc)
	mustSetSRTP(t, bin, kbin)
	mustSetSRTP(t, bout, kbout)
	mustSetSRTP(t, agent, kagent)
	connect(caller, bin, PCMU, 101, PCMU, 101)
	connect(bout, agent, PCMA, 96, PCMA, 96)
	var atAgent, atBridge tapRecorder
	defer agent.AddTap(atAgent.tap)()
	defer bin.AddTap(atBridge.tap)()

	ctx, cancel := context.WithCancel(context.Background())
	errs := make(chan error, 2)
	go func() { errs <- bin.Relay(ctx, bout) }()
	go func() { errs <- bout.Relay(ctx, bin) }()
	time.Sleep(20 * time.Millisecond) // let both relays register
	if err := caller.Play(ctx, tone(1000, 8000, 10000, 3200)); err != nil {
		t.Fatal(err)
	}
	if err := agent.SendDigit(ctx, '4', 60*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if got := readDigits(caller, 1, 2*time.Second); got != "4" {
		t.Errorf("caller received %q, want the agent's 4", got)
	}
	if !waitFor(time.Second, func() bool { n, _ := atAgent.get(); return n >= 20 }) {
		n, _ := atAgent.get()
		t.Fatalf("agent heard %d frames, want 20", n)
	}
	_, heard := atAgent.get()
	_, recorded := atBridge.get()
	if f := frequency(heard, 8000); !within(f, 1000, 0.01) {
		t.Errorf("agent hears %.1f Hz through the bridge, want 1000", f)
	}
	if f := frequency(recorded, 8000); !within(f, 1000, 0.01) {
		t.Errorf("the bridge's tap hears %.1f Hz, want 1000", f)
	}
	for _, s := range []*Session{caller, bin, bout, agent} {
		if n := s.Stats().SRTPRejected; n != 0 {
			t.Errorf("%v rejected %d packets", s.LocalAddr(), n)
		}
	}
	cancel()
	for range 2 {
		if err := <-errs; !errors.Is(err, context.Canceled) {
			t.Errorf("Relay = %v", err)
		}
	}
}

// SetSRTP with the keys in use keeps the contexts (a re-INVITE that changes nothing must not
// reset the replay window); nil turns SRTP off; a key of the wrong length is refused.
func TestSetSRTP(t *testing.T) {
	s := newTestSession(t)
	k, _ := keyPair(t, SuiteAES128SHA1_32)
	mustSetSRTP(t, s, k)
	st := s.params.Load().srtp
	same := *k
	mustSetSRTP(t, s, &same)
	if s.params.Load().srtp != st || !s.SRTP() {
		t.Error("setting the same keys again replaced the SRTP contexts")
	}
	mustSetSRTP(t, s, nil)
	if s.SRTP() {
		t.Error("SetSRTP(nil) left SRTP on")
	}
	bad := &SRTPKeys{Local: Crypto{Tag: 1, Suite: SuiteAES128SHA1_80, Key: make([]byte, 16)}, Remote: k.Remote}
	if err := s.SetSRTP(bad); !errors.Is(err, ErrBadSRTPKeys) {
		t.Errorf("SetSRTP with a 16-byte key = %v", err)
	}
}

// The replay classification depends on pion's error text for duplicates: pin it.
func TestIsReplay(t *testing.T) {
	k, _ := NewCrypto(1, SuiteAES128SHA1_80)
	enc, _ := newContext(k, false)
	dec, _ := newContext(k, true)
	b, _ := (&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: 7, SSRC: 1}, Payload: []byte{1, 2, 3}}).Marshal()
	p, _ := enc.EncryptRTP(nil, b, nil)
	if _, err := dec.DecryptRTP(nil, p, nil); err != nil {
		t.Fatal(err)
	}
	_, err := dec.DecryptRTP(nil, p, nil)
	if err == nil || !isReplay(err) {
		t.Errorf("a replay gives %v, not recognised as one", err)
	}
	p[len(p)-1] ^= 1
	p[3]++ // a new sequence number, so the tag is what fails
	if _, err := dec.DecryptRTP(nil, p, nil); err == nil || isReplay(err) {
		t.Errorf("a bad tag gives %v, taken for a replay", err)
	}
}

// Sending and receiving SRTP does not allocate, like plain RTP (BenchmarkSRTPSend and
// BenchmarkSRTPReceive measure the same paths).
func TestSRTPHotPathsDoNotAllocate(t *testing.T) {
	sink, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	s := newTestSession(t, WithCodec(PCMU, 101))
	s.SetRemote(sink.LocalAddr().(*net.UDPAddr).AddrPort())
	hotline, phone := keyPair(t, SuiteAES128SHA1_80)
	mustSetSRTP(t, s, hotline)
	frame := tone(1000, 8000, 8000, FrameSamples)
	if n := testing.AllocsPerRun(200, func() { s.sendAudio(frame, false, time.Now()) }); n != 0 {
		t.Errorf("sending an SRTP frame: %.1f allocations", n)
	}

	enc, _ := newContext(phone.Local, false)
	plain, _ := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SSRC: 5}, Payload: PCMU.Encode(nil, frame)}).Marshal()
	pkts := make([][]byte, 202) // AllocsPerRun runs once more than asked, to warm up
	for i := range pkts {
		plain[3] = byte(i)
		plain[2] = byte(i >> 8)
		pkts[i], _ = enc.EncryptRTP(nil, plain, nil)
	}
	var sum int
	defer s.AddTap(func(pcm []int16) { sum += len(pcm) })()
	r := newReceiver()
	r.from = s.Remote()
	i := 0
	if n := testing.AllocsPerRun(200, func() { s.handlePacket(r, pkts[i]); i++ }); n != 0 {
		t.Errorf("receiving an SRTP packet: %.1f allocations", n)
	}
	if sum == 0 || s.Stats().SRTPRejected != 0 {
		t.Errorf("tap got %d samples, %d packets rejected", sum, s.Stats().SRTPRejected)
	}
}

// A real SDES peer: baresip (libre/libsrtp) calls hotline's media layer with SRTP, as
// RTP/SAVP (mediaenc=srtp-mand, policy required) and as best-effort RTP/AVP with a=crypto
// (mediaenc=srtp, policy optional). A minimal UAS answers with AnswerSDP; then each side
// hears the other's tone through the encryption: hotline decrypts baresip's 440 Hz with the
// offered key and rejects nothing, and baresip's recording of the call holds hotline's
// 1 kHz, which it can only have decrypted with the key of hotline's answer.
func TestSRTPWithBaresip(t *testing.T) {
	bin := testenv.Tool(t, "baresip")
	for _, tc := range []struct {
		mediaenc string
		policy   SRTPPolicy
		profile  string
		seconds  int // long enough for baresip's first RTCP report (about every 5 s) where it is awaited
	}{
		{"srtp-mand", SRTPRequired, ProfileSAVP, 7},
		{"srtp", SRTPOptional, ProfileAVP, 3},
	} {
		t.Run(tc.mediaenc, func(t *testing.T) {
			uas, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
			if err != nil {
				t.Fatal(err)
			}
			defer uas.Close()
			dir := t.TempDir()
			heardDir := filepath.Join(dir, "dumps")
			if err := os.Mkdir(heardDir, 0o755); err != nil {
				t.Fatal(err)
			}
			cfg := "module_path /usr/lib/baresip/modules\nmodule g711.so\nmodule srtp.so\nmodule ausine.so\nmodule sndfile.so\n" +
				"module aubridge.so\nmodule account.so\nmodule menu.so\naudio_source ausine,440\nausrc_srate 48000\nausrc_channels 2\n" +
				"audio_player aubridge,sink\nsnd_path " + heardDir + "\nsip_listen 127.0.0.1:0\nsip_transports udp\n"
			account := "<sip:phone@127.0.0.1>;regint=0;audio_codecs=PCMU;mediaenc=" + tc.mediaenc + "\n"
			if err := os.WriteFile(filepath.Join(dir, "config"), []byte(cfg), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "accounts"), []byte(account), 0o644); err != nil {
				t.Fatal(err)
			}
			var out testenv.Output
			cmd := exec.Command(bin, "-f", dir, "-t", "20", "-e", "/dial sip:hotline@"+uas.LocalAddr().String())
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() {
				_ = cmd.Process.Kill()
				_ = cmd.Wait()
				if t.Failed() {
					t.Logf("baresip output:\n%s", out.String())
				}
			}()

			invite, from := readSIP(t, uas, "INVITE")
			d, err := ParseSDP(sipBody(invite))
			if err != nil {
				t.Fatal(err)
			}
			n, err := NegotiateSRTP(d, SupportedCodecs, tc.policy)
			if err != nil {
				t.Fatal(err)
			}
			if d.Profile != tc.profile || n.SRTP == nil || n.Profile != tc.profile {
				t.Fatalf("offer on %s, negotiated %s with keys %v", d.Profile, n.Profile, n.SRTP)
			}
			s := newTestSession(t, WithRTCPInterval(500*time.Millisecond))
			s.SetRemote(n.Remote)
			s.SetCodec(n.Codec, n.DTMFPayloadType)
			mustSetSRTP(t, s, n.SRTP)
			var heard tapRecorder
			defer s.AddTap(heard.tap)()
			s.Start()
			ok := sipResponse(invite, "200 OK", uas.LocalAddr().String(),
				"Content-Type: application/sdp\r\n", AnswerSDP(s.LocalAddr(), 1, 1, n))
			if _, err := uas.WriteToUDPAddrPort(ok, from); err != nil {
				t.Fatal(err)
			}
			readSIP(t, uas, "ACK")

			if err := s.Play(context.Background(), tone(1000, 8000, 10000, tc.seconds*8000)); err != nil {
				t.Fatal(err)
			}
			st := s.Stats()
			bye := sipBye(invite, uas.LocalAddr().String())
			if _, err := uas.WriteToUDPAddrPort(bye, from); err != nil {
				t.Fatal(err)
			}
			readSIP(t, uas, "SIP/2.0 200")

			// baresip sends a plain RTCP APP "PING" to open NAT pinholes as the call starts,
			// before its SRTCP is up: SRTCP rightly drops that one.
			t.Logf("hotline: %d packets received from baresip, %d sent, %d SRTP and %d SRTCP rejected, %d RTCP reports",
				st.PacketsReceived, st.PacketsSent, st.SRTPRejected, st.SRTCPRejected, st.ReportsReceived)
			if st.PacketsReceived < 100 || st.SRTPRejected != 0 {
				t.Errorf("hotline received %d SRTP packets from baresip and rejected %d; want ≥ 100 and 0", st.PacketsReceived, st.SRTPRejected)
			}
			if st.SRTCPRejected > 1 {
				t.Errorf("hotline rejected %d of baresip's SRTCP packets; want at most its plain pinhole PING", st.SRTCPRejected)
			}
			if tc.seconds > 5 && (st.ReportsReceived == 0 || !st.RemoteReported) {
				t.Errorf("no SRTCP report from baresip understood in %d s (reports %d, about hotline's stream %v)", tc.seconds, st.ReportsReceived, st.RemoteReported)
			}
			_, pcm := heard.get()
			if f := frequency(pcm, 8000); !within(f, 440, 0.02) {
				t.Errorf("hotline hears %.1f Hz from baresip, want 440", f)
			}
			time.Sleep(500 * time.Millisecond) // baresip closes its recording after the BYE
			dumps, _ := filepath.Glob(filepath.Join(heardDir, "*-dec.wav"))
			if len(dumps) == 0 {
				t.Fatalf("baresip recorded nothing in %s", heardDir)
			}
			got, err := audio.LoadWAVFile(dumps[0])
			if err != nil {
				t.Fatal(err)
			}
			if f := frequency(got, 8000); !within(f, 1000, 0.02) || audio.RMS(got) < 1000 {
				t.Errorf("baresip heard %.1f Hz at RMS %.0f, want hotline's 1000 Hz tone", f, audio.RMS(got))
			}
		})
	}
}

// readSIP reads SIP messages on conn until one starts with start (skipping retransmissions
// and provisional responses), for up to 10 s.
func readSIP(t *testing.T, conn *net.UDPConn, start string) ([]byte, netip.AddrPort) {
	t.Helper()
	buf := make([]byte, 65535)
	deadline := time.Now().Add(10 * time.Second)
	for {
		_ = conn.SetReadDeadline(deadline)
		n, from, err := conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			t.Fatalf("waiting for %s: %v", start, err)
		}
		if bytes.HasPrefix(buf[:n], []byte(start)) {
			return append([]byte(nil), buf[:n]...), from
		}
	}
}

func sipBody(msg []byte) []byte {
	_, body, _ := bytes.Cut(msg, []byte("\r\n\r\n"))
	return body
}

// sipHeaders returns the values of the headers named name (full form) in msg.
func sipHeaders(msg []byte, name string) []string {
	head, _, _ := bytes.Cut(msg, []byte("\r\n\r\n"))
	var vals []string
	for _, line := range strings.Split(string(head), "\r\n")[1:] {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(strings.TrimSpace(k), name) {
			vals = append(vals, strings.TrimSpace(v))
		}
	}
	return vals
}

// sipResponse answers the request req with status, the dialog's headers and body.
func sipResponse(req []byte, status, contact, extra string, body []byte) []byte {
	var b strings.Builder
	b.WriteString("SIP/2.0 " + status + "\r\n")
	for _, v := range sipHeaders(req, "Via") {
		b.WriteString("Via: " + v + "\r\n")
	}
	b.WriteString("From: " + sipHeaders(req, "From")[0] + "\r\n")
	b.WriteString("To: " + sipHeaders(req, "To")[0] + ";tag=hotline\r\n")
	b.WriteString("Call-ID: " + sipHeaders(req, "Call-ID")[0] + "\r\n")
	b.WriteString("CSeq: " + sipHeaders(req, "CSeq")[0] + "\r\n")
	b.WriteString("Contact: <sip:hotline@" + contact + ">\r\n" + extra)
	b.WriteString("Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n")
	b.Write(body)
	return []byte(b.String())
}

// sipBye ends the dialog the INVITE invite opened (hotline is the UAS).
func sipBye(invite []byte, local string) []byte {
	contact := sipHeaders(invite, "Contact")[0]
	target := contact
	if i, j := strings.Index(contact, "<"), strings.Index(contact, ">"); i >= 0 && j > i {
		target = contact[i+1 : j]
	}
	return []byte("BYE " + target + " SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP " + local + ";branch=z9hG4bK-hotline-bye\r\n" +
		"Max-Forwards: 70\r\n" +
		"From: " + sipHeaders(invite, "To")[0] + ";tag=hotline\r\n" +
		"To: " + sipHeaders(invite, "From")[0] + "\r\n" +
		"Call-ID: " + sipHeaders(invite, "Call-ID")[0] + "\r\n" +
		"CSeq: 1 BYE\r\nContent-Length: 0\r\n\r\n")
}
