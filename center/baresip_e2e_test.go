package center

import (
	"fmt"
	"os"
	"os/exec"
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

// startBaresip runs baresip as agent's softphone: it registers with digest, answers by
// itself, speaks a 440 Hz tone and dumps what it hears (sndfile) into the returned folder.
func startBaresip(t *testing.T, registrar, agent, password string) (heard string) {
	t.Helper()
	return runBaresip(t, baresipPhone{Registrar: registrar, User: agent, Password: password, Tone: 440})
}

// baresipPhone is how a baresip softphone is set up for a test.
type baresipPhone struct {
	Registrar, User, Password string // registers as User (digest) unless Password is ""
	Tone                      int    // the sine it speaks, Hz
	Dial                      string // a URI it calls at start; "" answers incoming calls by itself
	// TLS puts its signalling on TLS to Registrar (a TLS listener), trusting the CA in CAFile.
	TLS    bool
	CAFile string
	Menc   string // media encryption (srtp: SDES-keyed SRTP, offered as RTP/AVP with keys)
	// RTPPort is the first of the four ports its RTP and RTCP may use; 0 picks free ones.
	RTPPort int
}

// runBaresip runs a baresip softphone that speaks its own tone and dumps what it hears
// (sndfile, one *-dec.wav per call) into the returned folder.
func runBaresip(t *testing.T, ph baresipPhone) (heard string) {
	t.Helper()
	bin := testenv.Tool(t, "baresip")
	dir := t.TempDir()
	heard = filepath.Join(dir, "dumps")
	os.Mkdir(heard, 0o755)
	port, rtp := sipptest.FreeUDPPort(t), ph.RTPPort // four ports each: SIP, and RTP+RTCP
	if rtp == 0 {
		rtp = sipptest.FreeUDPPort(t)
	}
	cfg := fmt.Sprintf(`module_path /usr/lib/baresip/modules
module g711.so
module srtp.so
module ausine.so
module sndfile.so
module aubridge.so
module account.so
module menu.so
audio_source ausine,%d
ausrc_srate 48000
ausrc_channels 2
audio_player aubridge,sink
snd_path %s
sip_listen 127.0.0.1:%d
sip_transports udp
rtp_ports %d-%d
`, ph.Tone, heard, port, rtp, rtp+3)
	if ph.TLS {
		cfg += "sip_cafile " + ph.CAFile + "\n"
	}
	aor := fmt.Sprintf("sip:%s@%s", ph.User, ph.Registrar)
	if ph.TLS {
		aor += ";transport=tls"
	}
	account := fmt.Sprintf("<%s>;answermode=auto;audio_codecs=PCMU,PCMA", aor)
	if ph.Menc != "" {
		account += ";mediaenc=" + ph.Menc
	}
	if ph.Password != "" {
		account += fmt.Sprintf(";auth_pass=%s;regint=300", ph.Password)
	} else {
		account += ";regint=0"
	}
	os.WriteFile(filepath.Join(dir, "config"), []byte(cfg), 0o644)
	os.WriteFile(filepath.Join(dir, "accounts"), []byte(account+"\n"), 0o644)
	args := []string{"-oL", "-eL", bin, "-f", dir, "-t", "90", "-s"}
	if ph.Dial != "" {
		args = append(args, "-e", "d "+ph.Dial)
	}
	var out testenv.Output
	cmd := exec.Command("stdbuf", args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("baresip %s output:\n%s", ph.User, out.String())
		}
	})
	return heard
}

// A real softphone (baresip) as the agent: it registers with digest, is logged in by
// auto-login, answers a queued sipp caller, and audio crosses hotline's relay both ways.
func TestBaresipAgentTakesQueuedCall(t *testing.T) {
	fast := fastSupport(t)
	h := startHotline(t, func(c *config.Config) {
		fast(c)
		for i := range c.Queues { // baresip's auto-answer waits a moment, as a person would
			c.Queues[i].RingTimeout = config.Duration(10 * time.Second)
		}
	})
	heard := startBaresip(t, h.sipAddr, "1001", "1001-demo")
	deadline := time.Now().Add(10 * time.Second)
	for {
		if st, _ := h.ACD().AgentState("1001"); st == acd.Available {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("baresip never registered agent 1001")
		}
		time.Sleep(100 * time.Millisecond)
	}
	sipptest.Start(t, sipptest.Options{Scenario: "uac_voice.xml", Target: h.sipAddr, Service: "hotline", Pause: 9 * time.Second}).MustSucceed(t)
	rec := h.waitCalls(t, 1, 10*time.Second)[0]
	j := strings.Join(rec.Queued, "; ")
	if rec.Outcome != "answered" || rec.Agent != "1001" {
		t.Fatalf("call outcome %s agent %q: %s", rec.Outcome, rec.Agent, j)
	}
	m := regexp.MustCompile(`(\d+) packets to the agent, (\d+) from the agent`).FindStringSubmatch(j)
	if m == nil || atoi(m[1]) < 100 || atoi(m[2]) < 100 {
		t.Errorf("too little RTP across the bridge: %s", j)
	}
	pcm := baresipHeard(t, heard)
	if rms := audio.RMS(pcm); rms < 300 {
		t.Errorf("the agent heard silence (RMS %.0f): the caller's voice did not reach baresip", rms)
	}
	t.Logf("%s; baresip heard %.1f s, RMS %.0f", j, float64(len(pcm))/8000, audio.RMS(pcm))
}

// baresipHeard is what baresip heard in its call, from the dump startBaresip set up (read
// once baresip has closed it after the BYE).
func baresipHeard(t *testing.T, dir string) []int16 {
	t.Helper()
	pcm, err := audio.LoadWAVFile(baresipDump(t, dir))
	if err != nil {
		t.Fatalf("baresip's recording: %v", err)
	}
	return pcm
}

// baresipDump is the file of what baresip heard in its call (its sndfile *-dec.wav), once
// baresip has closed it after the BYE.
func baresipDump(t *testing.T, dir string) string {
	t.Helper()
	time.Sleep(500 * time.Millisecond)
	dumps, _ := filepath.Glob(filepath.Join(dir, "*-dec.wav"))
	if len(dumps) == 0 {
		t.Fatalf("baresip recorded nothing in %s", dir)
	}
	return dumps[0]
}
