package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/hotline-cc/hotline/ari/aritest"
	"github.com/hotline-cc/hotline/internal/sipptest"
	"github.com/hotline-cc/hotline/internal/testenv"
)

// holdFlow keeps a caller on the line for a minute: a call still up when SIGTERM comes.
const holdFlow = `description: hold the line
language: en
start: hold
nodes:
  hold:
    pause: 60s
    next: bye
  bye:
    hangup: {}
`

// waitForBYE is uac_dtmf_pcmu.xml without its digits: call, then wait for hotline's BYE and
// answer it. Its name is relative to sipptest.Dir(), as Options.Scenario is.
func waitForBYE(t *testing.T, dir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(sipptest.Dir(), "uac_dtmf_pcmu.xml"))
	if err != nil {
		t.Fatal(err)
	}
	keys := regexp.MustCompile(`(?s)  <nop><action><exec play_pcap_audio=.*dtmf_2833_pound.pcap"/></action></nop>\n`)
	if !keys.Match(b) {
		t.Fatal("uac_dtmf_pcmu.xml no longer keys digits the way this test rewrites")
	}
	path := filepath.Join(dir, "uac_wait_bye.xml")
	if err := os.WriteFile(path, keys.ReplaceAll(b, nil), 0o644); err != nil {
		t.Fatal(err)
	}
	rel, err := filepath.Rel(sipptest.Dir(), path)
	if err != nil {
		t.Fatal(err)
	}
	return rel
}

// Issue 14, item 10, and docs/deploy.md: on SIGTERM hotline hangs up the calls it has (the
// caller gets a BYE, not silence until its own timeout), stops answering /readyz with 200,
// and exits 0, well within systemd's TimeoutStopSec=20.
func TestSIGTERMHangsUpCallsAndExits(t *testing.T) {
	testenv.Tool(t, "espeak-ng")
	dir := t.TempDir()
	flows := filepath.Join(dir, "flows")
	os.Mkdir(flows, 0o755)
	os.WriteFile(filepath.Join(flows, "hotline.yaml"), []byte(holdFlow), 0o644)
	sipAddr := fmt.Sprintf("127.0.0.1:%d", sipptest.FreeUDPPort(t))
	httpAddr := fmt.Sprintf("127.0.0.1:%d", sipptest.FreeUDPPort(t))
	cfg := filepath.Join(dir, "hotline.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("data_dir: %s\nsip: {addr: %q}\nhttp: {addr: %q}\nflows: {dir: %s}\nqueues: [{name: support}]\n",
		filepath.Join(dir, "data"), sipAddr, httpAddr, flows)), 0o644)
	p := startServe(t, "--config", cfg)
	p.waitFor(t, "hotline is running", 20*time.Second)
	if res, err := http.Get("http://" + httpAddr + "/readyz"); err != nil || res.StatusCode != 200 {
		t.Fatalf("/readyz before SIGTERM: %v %v", res, err)
	}

	caller := sipptest.Start(t, sipptest.Options{Scenario: waitForBYE(t, dir), Target: sipAddr, Service: "hotline", Timeout: 30 * time.Second})
	p.waitFor(t, "incoming call", 10*time.Second)
	time.Sleep(300 * time.Millisecond) // into the pause
	sent := time.Now()
	p.stop(t)
	took := time.Since(sent)
	if code := caller.Wait(); code != 0 {
		t.Errorf("the caller did not get hotline's BYE (sipp exit %d):\n%s\nhotline:\n%s", code, caller.Log(), p.out.String())
	}
	if took > 10*time.Second {
		t.Errorf("hotline took %v to stop, want well within TimeoutStopSec=20", took)
	}
	if !regexp.MustCompile(`msg="call ended".*cause=`).MatchString(p.out.String()) {
		t.Errorf("no call ended line after SIGTERM:\n%s", p.out.String())
	}
	if res, err := http.Get("http://" + httpAddr + "/readyz"); err == nil && res.StatusCode == 200 {
		t.Error("/readyz still 200 after SIGTERM")
	}
}

// Issue 14, item 10: with driver ari, SIGTERM closes the event WebSocket with a close frame
// (1000) before hotline exits: Asterisk deactivates the application cleanly instead of
// logging "Web socket closed abruptly" on every restart.
func TestSIGTERMClosesARIWebSocketCleanly(t *testing.T) {
	fake := aritest.New(t, aritest.Options{Password: "Ari-close-Qp31"})
	dir := t.TempDir()
	flows := filepath.Join(dir, "flows")
	os.Mkdir(flows, 0o755)
	os.WriteFile(filepath.Join(flows, "hotline.yaml"), []byte(holdFlow), 0o644)
	cfg := filepath.Join(dir, "hotline.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`driver: ari
data_dir: %s
http: {addr: "127.0.0.1:%d"}
ari: {url: %q, username: %q, password: %q, app: %q, sounds_dir: %s}
flows: {dir: %s}
queues: [{name: support}]
`, filepath.Join(dir, "data"), sipptest.FreeUDPPort(t), fake.URL(), fake.Username(), fake.Password(), fake.App(), dir, flows)), 0o644)
	p := startServe(t, "--config", cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := fake.WaitConnected(ctx); err != nil {
		t.Fatalf("%v:\n%s", err, p.out.String())
	}
	p.waitFor(t, "hotline is running", 10*time.Second)
	p.stop(t)
	if err := fake.Wait(ctx, "the WebSocket to end", func() bool { return len(fake.Closes()) > 0 }); err != nil {
		t.Fatal(err)
	}
	if got := fake.Closes(); len(got) != 1 || got[0] != websocket.StatusNormalClosure {
		t.Errorf("Asterisk saw the event WebSocket end with %v, want a close frame with status 1000", got)
	}
	if hs := fake.Handshakes(); len(hs) == 0 || !hs[0].Basic || hs[0].APIKey || strings.Contains(hs[0].Query, fake.Password()) {
		t.Errorf("handshakes %+v: want credentials in the Authorization header only", hs)
	}
}
