package center

import (
	"fmt"
	"math"
	"path/filepath"
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
	time.Sleep(500 * time.Millisecond) // baresip closes its recording after the BYE
	dumps, _ := filepath.Glob(filepath.Join(dir, "*-dec.wav"))
	if len(dumps) == 0 {
		t.Fatalf("baresip recorded nothing in %s", dir)
	}
	chans, f, err := audio.LoadWAVChannels(dumps[0])
	if err != nil {
		t.Fatalf("baresip's recording: %v", err)
	}
	pcm := chans[0]
	if skip := f.SampleRate / 2; len(pcm) > 2*skip { // the first half second is ringing and set-up
		pcm = pcm[skip:]
	}
	return toneShare(pcm, float64(f.SampleRate), hz), float64(len(chans[0])) / float64(f.SampleRate)
}

// Issue 14: baresip registers as an agent over TLS and a baresip caller calls over TLS; the
// call is queued to the agent and each hears the other's tone.
func TestBaresipAgentAndCallerOverTLS(t *testing.T) {
	fast := fastSupport(t)
	var tlsAddr, ca string
	h := startHotline(t, func(c *config.Config) {
		fast(c)
		tlsAddr, ca = withTLS(t, c)
		for i := range c.Queues {
			c.Queues[i].RingTimeout = config.Duration(10 * time.Second)
		}
	})
	agentHeard := runBaresip(t, baresipPhone{Registrar: tlsAddr, User: "1001", Password: "1001-demo", Tone: 440, TLS: true, CAFile: ca})
	waitAvailable(t, h, "1001")
	if bs := h.sip.Registrar().Contacts("1001"); len(bs) != 1 || bs[0].Transport != "tls" {
		t.Fatalf("agent 1001's registration: %+v, want one binding over tls", bs)
	}
	callerRTP := sipptest.FreeUDPPort(t)
	capture := captureUDP(t, callerRTP, callerRTP+1, callerRTP+2, callerRTP+3)
	callerHeard := runBaresip(t, baresipPhone{Registrar: tlsAddr, User: "+447700900123", Tone: 660, TLS: true, CAFile: ca,
		Dial: "sip:support@" + tlsAddr + ";transport=tls", RTPPort: callerRTP})
	waitJournal(t, h, "answered 1001", 20*time.Second)
	time.Sleep(4 * time.Second)
	for _, l := range h.calls.Calls() { // the agent hangs up: BYE to baresip over its TLS connection
		if err := h.live.HangupAgent(t.Context(), l.ID); err != nil {
			t.Fatal(err)
		}
	}
	rec := h.waitCalls(t, 1, 10*time.Second)[0]
	j := strings.Join(rec.Queued, "; ")
	m := regexp.MustCompile(`(\d+) packets to the agent, (\d+) from the agent`).FindStringSubmatch(j)
	if rec.Outcome != "answered" || m == nil || atoi(m[1]) < 150 || atoi(m[2]) < 150 {
		t.Fatalf("call over TLS: outcome %s, want answered with ≥ 150 packets each way: %s", rec.Outcome, j)
	}
	// TLS alone protects the signalling: the audio is plain RTP, and the capture hears the
	// tones in it (which is what the SRTP test must not find).
	seen := summarizeRTP(capture.payloads(), 440, 660)
	if seen.packets < 300 || seen.plainTone < seen.packets/2 {
		t.Errorf("captured %d RTP packets of the caller, %d with a tone in the clear: want ≥ 300, most of them plain", seen.packets, seen.plainTone)
	}
	t.Logf("captured on the wire: %d RTP packets of the caller's leg, %d carry a tone in the clear; payload sizes %v", seen.packets, seen.plainTone, seen.sizes)
	agentShare, agentSecs := heardTone(t, agentHeard, 660)
	callerShare, callerSecs := heardTone(t, callerHeard, 440)
	if agentShare < 0.5 || callerShare < 0.5 {
		t.Errorf("tones across the TLS call: the agent heard the caller's 660 Hz at %.2f, the caller the agent's 440 Hz at %.2f; want ≥ 0.5", agentShare, callerShare)
	}
	t.Logf("%s; agent heard 660 Hz share %.2f over %.1f s, caller heard 440 Hz share %.2f over %.1f s", j, agentShare, agentSecs, callerShare, callerSecs)
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
