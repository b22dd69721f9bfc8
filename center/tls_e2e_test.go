package center

import (
	"fmt"
	"math"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/acd"
	"github.com/hotline-cc/hotline/audio"
	"github.com/hotline-cc/hotline/config"
	"github.com/hotline-cc/hotline/internal/sipptest"
	"github.com/hotline-cc/hotline/internal/testenv"
)

// withTLS turns SIP over TLS on, on a fresh lab certificate; it returns the TLS address and
// the certificate, which the phones trust as their CA.
func withTLS(t *testing.T, c *config.Config) (tlsAddr, ca string) {
	t.Helper()
	cert, key := testenv.Cert(t, t.TempDir(), "hotline-lab")
	tlsAddr = fmt.Sprintf("127.0.0.1:%d", sipptest.FreeUDPPort(t))
	c.SIP.Transports = []string{"udp", "tls"}
	c.SIP.TLS = config.SIPTLS{Addr: tlsAddr, CertFile: cert, KeyFile: key}
	return tlsAddr, cert
}

// toneShare is how much of what was heard is the tone at hz: the tone's RMS over the whole
// signal's (1 for a pure tone, near 0 for another tone or noise).
func toneShare(pcm []int16, rate, hz float64) float64 {
	rms := audio.RMS(pcm)
	if rms == 0 {
		return 0
	}
	return math.Sqrt(audio.Goertzel(pcm, rate, hz)) / rms
}

// heardTone loads what a baresip heard and measures its share of the tone at hz.
func heardTone(t *testing.T, dir string, hz float64) (share float64, seconds float64) {
	t.Helper()
	chans, f, err := audio.LoadWAVChannels(baresipDump(t, dir))
	if err != nil {
		t.Fatalf("baresip's recording: %v", err)
	}
	pcm := chans[0]
	if skip := f.SampleRate / 2; len(pcm) > 2*skip { // the first half second is ringing and set-up
		pcm = pcm[skip:]
	}
	return toneShare(pcm, float64(f.SampleRate), hz), float64(len(chans[0])) / float64(f.SampleRate)
}

// tlsCall is a call between two baresip softphones over TLS: agent 1001 registered over TLS
// speaking 440 Hz, and a caller calling over TLS speaking 660 Hz, queued to the agent; each
// with its media encryption (baresip's mediaenc, "" for none). The loopback capture holds
// both phones' RTP as it crossed the wire.
type tlsCall struct {
	journey                 string
	toAgent, fromAgent      int
	agentHeard, callerHeard float64 // share of the other's tone in what each heard
	agentSecs, callerSecs   float64
	caller, agent           rtpSeen
}

func runTLSCall(t *testing.T, srtp, agentSRTP, agentMenc, callerMenc string) tlsCall {
	t.Helper()
	fast := fastSupport(t)
	var tlsAddr, ca string
	h := startHotline(t, func(c *config.Config) {
		fast(c)
		tlsAddr, ca = withTLS(t, c)
		c.Media.SRTP = srtp
		for i := range c.Agents {
			if c.Agents[i].ID == "1001" {
				c.Agents[i].SRTP = agentSRTP
			}
		}
		for i := range c.Queues {
			c.Queues[i].RingTimeout = config.Duration(10 * time.Second)
		}
	})
	agentRTP, callerRTP := sipptest.FreeUDPPort(t), sipptest.FreeUDPPort(t)
	agentCap := captureUDP(t, agentRTP, agentRTP+1, agentRTP+2, agentRTP+3)
	callerCap := captureUDP(t, callerRTP, callerRTP+1, callerRTP+2, callerRTP+3)
	agentDump := runBaresip(t, baresipPhone{Registrar: tlsAddr, User: "1001", Password: "1001-demo", Tone: 440,
		TLS: true, CAFile: ca, Menc: agentMenc, RTPPort: agentRTP})
	waitAvailable(t, h, "1001")
	if bs := h.sip.Registrar().Contacts("1001"); len(bs) != 1 || bs[0].Transport != "tls" {
		t.Fatalf("agent 1001's registration: %+v, want one binding over tls", bs)
	}
	callerDump := runBaresip(t, baresipPhone{Registrar: tlsAddr, User: "+447700900123", Tone: 660, TLS: true, CAFile: ca,
		Menc: callerMenc, RTPPort: callerRTP, Dial: "sip:support@" + tlsAddr + ";transport=tls"})
	waitJournal(t, h, "answered 1001", 20*time.Second)
	time.Sleep(4 * time.Second)
	for _, l := range h.calls.Calls() { // the agent hangs up: BYE to baresip over its TLS connection
		if err := h.live.HangupAgent(t.Context(), l.ID); err != nil {
			t.Fatal(err)
		}
	}
	rec := h.waitCalls(t, 1, 10*time.Second)[0]
	r := tlsCall{journey: strings.Join(rec.Queued, "; ")}
	m := regexp.MustCompile(`(\d+) packets to the agent, (\d+) from the agent`).FindStringSubmatch(r.journey)
	if rec.Outcome != "answered" || m == nil {
		t.Fatalf("call over TLS: outcome %s, want answered: %s", rec.Outcome, r.journey)
	}
	r.toAgent, r.fromAgent = atoi(m[1]), atoi(m[2])
	r.agentHeard, r.agentSecs = heardTone(t, agentDump, 660)
	r.callerHeard, r.callerSecs = heardTone(t, callerDump, 440)
	r.caller = summarizeRTP(callerCap.payloads(), 440, 660)
	r.agent = summarizeRTP(agentCap.payloads(), 440, 660)
	t.Logf("%s; agent heard 660 Hz share %.2f over %.1f s, caller heard 440 Hz share %.2f over %.1f s", r.journey, r.agentHeard, r.agentSecs, r.callerHeard, r.callerSecs)
	t.Logf("on the wire: caller's leg %d RTP packets, %d with a tone in the clear, payload sizes %v; agent's leg %d, %d in the clear, sizes %v",
		r.caller.packets, r.caller.plainTone, r.caller.sizes, r.agent.packets, r.agent.plainTone, r.agent.sizes)
	return r
}

func (r tlsCall) checkAudio(t *testing.T) {
	t.Helper()
	if r.toAgent < 150 || r.fromAgent < 150 {
		t.Errorf("too little RTP across the bridge: %d packets to the agent, %d from; want ≥ 150 each", r.toAgent, r.fromAgent)
	}
	if r.agentHeard < 0.5 || r.callerHeard < 0.5 {
		t.Errorf("tones across the call: the agent heard the caller's 660 Hz at %.2f, the caller the agent's 440 Hz at %.2f; want ≥ 0.5", r.agentHeard, r.callerHeard)
	}
}

// Issue 14: baresip registers as an agent over TLS and a baresip caller calls over TLS, both
// without SRTP; each hears the other's tone. TLS alone protects the signalling: the audio is
// plain RTP and the capture hears the tones in it, the baseline the SRTP test is held to.
func TestBaresipAgentAndCallerOverTLS(t *testing.T) {
	r := runTLSCall(t, "optional", "", "", "")
	r.checkAudio(t)
	for leg, seen := range map[string]rtpSeen{"caller": r.caller, "agent": r.agent} {
		if seen.packets < 300 || seen.plainTone < seen.packets/2 {
			t.Errorf("the %s's leg: %d RTP packets captured, %d with a tone in the clear; want ≥ 300, most of them plain", leg, seen.packets, seen.plainTone)
		}
	}
}

// Issue 14: the same call with SRTP. The agent's phone insists on it (baresip's srtp-mand:
// RTP/SAVP only) and refuses hotline's best-effort offer (RTP/AVP with a=crypto) with 488, so
// hotline offers it RTP/SAVP again, with no srtp setting of the agent's own; the caller
// offers SRTP best effort (baresip's srtp) and hotline (media.srtp: optional) answers with a
// key. Each hears the other's tone through
// two SRTP legs and hotline's relay; on the wire no RTP packet carries a tone in the clear,
// and each carries the 10-byte tag of AES_CM_128_HMAC_SHA1_80.
func TestBaresipAgentAndCallerOverTLSWithSRTP(t *testing.T) {
	r := runTLSCall(t, "optional", "", "srtp-mand", "srtp")
	r.checkAudio(t)
	for leg, seen := range map[string]rtpSeen{"caller": r.caller, "agent": r.agent} {
		if seen.packets < 300 || seen.plainTone != 0 || seen.sizes[170] < seen.packets*9/10 {
			t.Errorf("the %s's leg: %d RTP packets captured, %d with a tone in the clear, payload sizes %v; want ≥ 300, none plain, 160 bytes of audio + 10 of tag",
				leg, seen.packets, seen.plainTone, seen.sizes)
		}
	}
}

// waitAvailable waits for an agent's phone to register and the agent to be available.
func waitAvailable(t *testing.T, h *hotline, agent string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		if st, _ := h.ACD().AgentState(agent); st == acd.Available {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("agent %s never registered and became available", agent)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
