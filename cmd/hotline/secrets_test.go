package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/internal/sipptest"
	"github.com/hotline-cc/hotline/internal/testenv"
)

// The distinctive secrets of the configurations below: none may appear in anything hotline
// writes or answers.
const (
	agentPassword1 = "Agt1001-kX93qv"
	agentPassword2 = "Agt1002-pM41zr"
	supervisorPass = "Sup9001-wQ77ht"
	webhookSecret  = "Whk-secret-Lr52nb"
	ariPassword    = "Ari-pass-Dv66tc"
	pgPassword     = "Pg-pass-Zx81mk"
	// The caller's number: only its last four digits may show.
	callerNumber = "+4930555123456"
)

var secrets = []string{agentPassword1, agentPassword2, supervisorPass, webhookSecret, ariPassword, pgPassword}

// leaks lists every secret, and the caller's full number, found in text.
func leaks(text string, extra ...string) []string {
	var found []string
	for _, s := range append(append([]string{}, secrets...), extra...) {
		if strings.Contains(text, s) {
			found = append(found, s)
		}
	}
	for _, n := range []string{callerNumber, strings.TrimPrefix(callerNumber, "+"), "30555123456"} {
		if strings.Contains(text, n) {
			found = append(found, n)
		}
	}
	return found
}

// cardFlow takes a card number as sensitive input: it must never show, digit by digit or whole.
const cardFlow = `description: a card number
language: en
start: card
nodes:
  card:
    input:
      prompt: Card number.
      into: card
      max: 8
      timeout: 4s
      retries: 0
      sensitive: true
    on: {next: bye, timeout: missed, invalid: missed, retries_exhausted: missed, error: missed}
  bye:
    hangup: {}
  missed:
    hangup: {}
`

// cardDigits is what the caller keys in (RFC 2833, sipp's pcaps).
const cardDigits = "42429731"

// voicemailFlows is a flows directory with the voicemail flow as the entry and the card
// flow for calls to "card".
func voicemailFlows(t *testing.T, dir string) string {
	t.Helper()
	flows := filepath.Join(dir, "flows")
	if err := os.Mkdir(flows, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, text := range map[string]string{"hotline.yaml": voicemailFlow, "card.yaml": cardFlow} {
		if err := os.WriteFile(filepath.Join(flows, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return flows
}

// cardScenario is uac_dtmf_pcmu.xml keying cardDigits after a pause for the prompt,
// written to dir; the name it returns is relative to sipptest.Dir(), as Options.Scenario is.
func cardScenario(t *testing.T, dir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(sipptest.Dir(), "uac_dtmf_pcmu.xml"))
	if err != nil {
		t.Fatal(err)
	}
	keys := regexp.MustCompile(`(?s)  <nop><action><exec play_pcap_audio=.*dtmf_2833_pound.pcap"/></action></nop>\n`)
	var play strings.Builder
	play.WriteString("  <pause milliseconds=\"2500\"/>\n")
	for i, d := range cardDigits { // the eighth digit ends the input: hotline hangs up at once
		if i > 0 {
			play.WriteString("  <pause milliseconds=\"400\"/>\n")
		}
		fmt.Fprintf(&play, "  <nop><action><exec play_pcap_audio=\"%s/dtmf_2833_%c.pcap\"/></action></nop>\n", sipptest.PcapDir, d)
	}
	if !keys.Match(b) {
		t.Fatal("uac_dtmf_pcmu.xml no longer keys digits the way this test rewrites")
	}
	path := filepath.Join(dir, "uac_card.xml")
	if err := os.WriteFile(path, keys.ReplaceAll(b, []byte(play.String())), 0o644); err != nil {
		t.Fatal(err)
	}
	rel, err := filepath.Rel(sipptest.Dir(), path)
	if err != nil {
		t.Fatal(err)
	}
	return rel
}

// serveProc is a running `hotline serve` whose whole output is kept.
type serveProc struct {
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan error
}

func startServe(t *testing.T, args ...string) *serveProc {
	t.Helper()
	p := &serveProc{out: &syncBuffer{}, done: make(chan error, 1)}
	p.cmd = exec.Command(binary, append([]string{"serve"}, args...)...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() { _ = p.cmd.Process.Kill() })
	return p
}

// waitFor polls the output for want.
func (p *serveProc) waitFor(t *testing.T, want string, d time.Duration) {
	t.Helper()
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if strings.Contains(p.out.String(), want) {
			return
		}
	}
	t.Fatalf("no %q in hotline's output within %v:\n%s", want, d, p.out.String())
}

func (p *serveProc) stop(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.done:
		if err != nil {
			t.Errorf("serve exited with %v after SIGTERM:\n%s", err, p.out.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("serve did not stop on SIGTERM:\n%s", p.out.String())
	}
}

// Issue 14, item 9: a real `hotline serve` at debug level, with a configuration full of
// secrets, driven through what makes it log: REGISTERs that succeed and fail (one with
// another agent's password), a call from a full international number into a voicemail flow,
// a webhook the helpdesk refuses, API calls with a good token, a bad one and a secret used as
// a token. Then its whole output, /metrics and every API error body are searched for each
// configured secret and for the caller's full number: none may be there.
func TestNoSecretInLogsMetricsOrErrors(t *testing.T) {
	testenv.Tool(t, "espeak-ng")
	testenv.Tool(t, "sipp")
	var refused atomic.Int32
	helpdesk := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		refused.Add(1)
		_, _ = io.Copy(io.Discard, r.Body)
		http.Error(w, "helpdesk down for maintenance", http.StatusServiceUnavailable)
	}))
	defer helpdesk.Close()

	dir := t.TempDir()
	flows := voicemailFlows(t, dir)
	sipAddr := fmt.Sprintf("127.0.0.1:%d", sipptest.FreeUDPPort(t))
	httpAddr := fmt.Sprintf("127.0.0.1:%d", sipptest.FreeUDPPort(t))
	cfg := filepath.Join(dir, "hotline.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`data_dir: %s
log: {level: debug}
sip: {addr: %q}
http: {addr: %q}
flows: {dir: %s, routes: {card: card}}
queues: [{name: support}]
agents:
  - {id: "1001", name: Alice, password: %q, queues: [support]}
  - {id: "1002", name: Bo, password: %q, queues: [support]}
supervisors:
  - {id: "9001", name: Sam, password: %q}
webhooks: {url: %q, secret: %q, timeout: 2s}
ari: {password: %q}
`, filepath.Join(dir, "data"), sipAddr, httpAddr, flows, agentPassword1, agentPassword2, supervisorPass,
		helpdesk.URL, webhookSecret, ariPassword)), 0o644)

	out, code := hotlineCmd(t, "token", "create", "--role", "supervisor", "--config", cfg)
	m := regexp.MustCompile(`shown only now:\s+(\S+)`).FindStringSubmatch(out)
	if code != 0 || m == nil {
		t.Fatalf("token create: exit %d\n%s", code, out)
	}
	token := m[1]

	p := startServe(t, "--config", cfg)
	p.waitFor(t, "hotline is running", 20*time.Second)

	// REGISTERs: one right, one wrong, one with the other agent's password.
	sipptest.Start(t, sipptest.Options{Scenario: "register.xml", Target: sipAddr, Auth: [2]string{"1001", agentPassword1},
		Inject: [][]string{{"1001", "-", "5992", "60"}}}).MustSucceed(t)
	sipptest.Start(t, sipptest.Options{Scenario: "register_wrong.xml", Target: sipAddr, Auth: [2]string{"1002", "guess"},
		Inject: [][]string{{"1002", "-", "5994", "60"}}}).MustSucceed(t)
	sipptest.Start(t, sipptest.Options{Scenario: "register_wrong.xml", Target: sipAddr, Auth: [2]string{"1002", agentPassword1},
		Inject: [][]string{{"1002", "-", "5996", "60"}}}).MustSucceed(t)

	// A call from a full number: a voicemail whose ticket's webhook the helpdesk refuses.
	caller := sipptest.Start(t, sipptest.Options{Scenario: "uac_voicemail.xml", Target: sipAddr, Service: "hotline",
		Pause: 3 * time.Second, Keys: map[string]string{"caller": callerNumber}})
	p.waitFor(t, "voicemail saved", 30*time.Second)
	p.waitFor(t, "webhook delivery failed", 15*time.Second)
	caller.Wait()

	// A caller keys a card number into a sensitive input.
	sipptest.Start(t, sipptest.Options{Scenario: cardScenario(t, dir), Target: sipAddr, Service: "card",
		Keys: map[string]string{"caller": callerNumber}}).MustSucceed(t)

	// The API: a good token, a bad one, a secret tried as a token, a missing call.
	var bodies strings.Builder
	api := func(method, path, bearer string, want int) {
		t.Helper()
		req, _ := http.NewRequest(method, "http://"+httpAddr+path, strings.NewReader(`{"target":"1002"}`))
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != want {
			t.Errorf("%s %s: %d, want %d: %s", method, path, res.StatusCode, want, body)
		}
		if res.StatusCode >= 400 {
			fmt.Fprintf(&bodies, "%s %s %d %s\n", method, path, res.StatusCode, body)
		}
	}
	api("GET", "/api/v1/queues", token, 200)
	api("GET", "/api/v1/queues", "hl_not-a-token", 401)
	api("GET", "/api/v1/agents", webhookSecret, 401)
	api("GET", "/api/v1/agents", agentPassword1, 401)
	api("POST", "/api/v1/calls/no-such-call/transfer", token, 404)
	api("GET", "/api/v1/queues/no-such-queue", token, 404)

	res, err := http.Get("http://" + httpAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(res.Body)
	res.Body.Close()
	p.stop(t)

	logged := p.out.String()
	// The lines this test is about were written, masked.
	for _, want := range []string{"***3456", "webhook delivery failed", "1002", `flow=card outcome=completed path="card > bye"`} {
		if !strings.Contains(logged, want) {
			t.Errorf("the log lacks %q:\n%s", want, logged)
		}
	}
	if refused.Load() == 0 {
		t.Error("the helpdesk never got the webhook")
	}
	if regexp.MustCompile(`digits?="?[0-9#*]`).MatchString(logged) {
		t.Errorf("a DTMF digit is in the log:\n%s", logged)
	}
	for what, text := range map[string]string{"output": logged, "/metrics": string(metrics), "API error bodies": bodies.String()} {
		if found := leaks(text, token, cardDigits); len(found) > 0 {
			t.Errorf("%s of hotline serve holds %q:\n%s", what, found, text)
		}
	}
}

// Issue 14, items 9 and 10: with driver ari and Asterisk unreachable, hotline logs every
// failed event WebSocket connect at debug level, and none of those lines holds the ARI
// password (it used to sit in the URL as api_key=user:password); SIGTERM still stops it.
func TestNoARIPasswordInReconnectLogs(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ariAddr := l.Addr().String()
	l.Close() // refused from now on: Asterisk is down
	dir := t.TempDir()
	cfg := filepath.Join(dir, "hotline.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`driver: ari
data_dir: %s
log: {level: debug, format: json}
http: {addr: "127.0.0.1:%d"}
ari: {url: "http://hotline:%s@%s/ari", username: hotline, password: %q, sounds_dir: %s, reconnect: 200ms}
flows: {dir: %s, routes: {card: card}}
queues: [{name: support}]
agents: [{id: "1001", password: %q, queues: [support]}]
`, filepath.Join(dir, "data"), sipptest.FreeUDPPort(t), ariPassword, ariAddr, ariPassword, dir, voicemailFlows(t, dir), agentPassword1)), 0o644)
	p := startServe(t, "--config", cfg)
	p.waitFor(t, "event WebSocket: connect failed", 20*time.Second)
	time.Sleep(1500 * time.Millisecond) // a few more reconnects (at most 200 ms apart, plus jitter)
	p.stop(t)
	if n := strings.Count(p.out.String(), "connect failed"); n < 2 {
		t.Errorf("%d failed connects logged, want several", n)
	}
	t.Logf("hotline's output:\n%s", p.out.String())
	if found := leaks(p.out.String()); len(found) > 0 || strings.Contains(p.out.String(), "api_key") {
		t.Errorf("hotline's output holds %q (or an api_key):\n%s", found, p.out.String())
	}
}

// Issue 14, item 9: a configuration error and a database that refuses the connection name
// the DSN with its password masked.
func TestNoDSNPasswordInErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte(fmt.Sprintf("store: {dsn: \"mysql://hotline:%s@db/hotline\"}\n", pgPassword)), 0o644)
	out, code := hotlineCmd(t, "serve", "--config", bad, "--check-config")
	checkErr := out
	badARI := filepath.Join(dir, "bad-ari.yaml")
	os.WriteFile(badARI, []byte(fmt.Sprintf("driver: ari\nari: {url: \"ws://hotline:%s@pbx:8088/ari\", sounds_dir: /tmp}\n", ariPassword)), 0o644)
	ariOut, ariCode := hotlineCmd(t, "serve", "--config", badARI, "--check-config")
	if ariCode != 1 || !strings.Contains(ariOut, "ari.url") || !strings.Contains(ariOut, "ws://hotline:***@pbx:8088/ari") {
		t.Errorf("an ari.url of the wrong scheme: exit %d, want 1 naming ari.url with the password masked:\n%s", ariCode, ariOut)
	}
	checkErr += ariOut
	if code != 1 || !strings.Contains(out, "store.dsn") || !strings.Contains(out, "mysql://hotline:***@db/hotline") {
		t.Errorf("a DSN of the wrong kind: exit %d, want 1 naming store.dsn with the password masked:\n%s", code, out)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	pgAddr := l.Addr().String()
	l.Close()
	down := filepath.Join(dir, "down.yaml")
	os.WriteFile(down, []byte(fmt.Sprintf(`data_dir: %s
http: {addr: "127.0.0.1:%d"}
sip: {addr: "127.0.0.1:%d"}
store: {dsn: "postgres://hotline:%s@%s/hotline?connect_timeout=2"}
flows: {dir: %s}
`, filepath.Join(dir, "data"), sipptest.FreeUDPPort(t), sipptest.FreeUDPPort(t), pgPassword, pgAddr, voicemailFlows(t, dir))), 0o644)
	out, code = hotlineCmd(t, "serve", "--config", down)
	if code != 1 || !strings.Contains(out, pgAddr) {
		t.Errorf("PostgreSQL unreachable: exit %d, want 1 naming where it tried:\n%s", code, out)
	}
	for name, text := range map[string]string{"config error": checkErr, "connect error": out} {
		if found := leaks(text); len(found) > 0 {
			t.Errorf("%s holds %q:\n%s", name, found, text)
		}
	}
}
