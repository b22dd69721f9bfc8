package main

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/internal/sipptest"
	"github.com/hotline-cc/hotline/internal/testenv"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "hotline-bin")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "hotline")
	out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func hotlineCmd(t *testing.T, args ...string) (string, int) {
	t.Helper()
	out, err := exec.Command(binary, args...).CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return string(out), code
}

// syncBuffer is a bytes.Buffer safe to read while exec writes the process's output into it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Issue 2, acceptance 7: `hotline serve` with no file at all (what `make run` starts) answers
// /healthz and a call from sipp's built-in caller, and stops cleanly on SIGTERM.
func TestServeWithEmbeddedDefaults(t *testing.T) {
	testenv.Tool(t, "espeak-ng")
	sipPort := sipptest.FreeUDPPort(t)
	httpPort := sipptest.FreeUDPPort(t)
	var out syncBuffer // written by the process's output copier while the test reads it
	cmd := exec.Command(binary, "serve", "--sip-addr", fmt.Sprintf("127.0.0.1:%d", sipPort),
		"--http-addr", fmt.Sprintf("127.0.0.1:%d", httpPort), "--data-dir", t.TempDir())
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	health := fmt.Sprintf("http://127.0.0.1:%d/healthz", httpPort)
	var res *http.Response
	var err error
	for i := 0; i < 100; i++ {
		if res, err = http.Get(health); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("healthz never answered: %v\n%s", err, out.String())
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("healthz: %d", res.StatusCode)
	}
	for _, want := range []string{"hotline is running", "Agent softphone:    user 1001, password 1001-demo", "Call the hotline:   sip:hotline@127.0.0.1:"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("banner lacks %q:\n%s", want, out.String())
		}
	}
	p := sipptest.Start(t, sipptest.Options{Scenario: "uac", Target: fmt.Sprintf("127.0.0.1:%d", sipPort), Service: "hotline", Pause: 2 * time.Second})
	p.MustSucceed(t) // answered (200) and hung up cleanly
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serve exited with %v after SIGTERM:\n%s", err, out.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("serve did not stop on SIGTERM:\n%s", out.String())
	}
}

func TestServeRefusesBadConfigAndBrokenFlows(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("sip:\n  adr: 0.0.0.0:5060\n"), 0o644)
	out, code := hotlineCmd(t, "serve", "--config", bad)
	if code != 1 || !strings.Contains(out, "bad.yaml:2: sip.adr: unknown key") {
		t.Errorf("unknown key: exit %d\n%s", code, out)
	}

	flows := filepath.Join(dir, "flows")
	os.Mkdir(flows, 0o755)
	os.WriteFile(filepath.Join(flows, "hotline.yaml"), []byte("description: x\nstart: a\nnodes:\n  a:\n    goto: nowhere\n"), 0o644)
	cfg := filepath.Join(dir, "hotline.yaml")
	os.WriteFile(cfg, []byte("flows:\n  dir: "+flows+"\n"), 0o644)
	out, code = hotlineCmd(t, "serve", "--config", cfg, "--check-config", "--data-dir", t.TempDir())
	if code != 1 || !strings.Contains(out, filepath.Join(flows, "hotline.yaml")+":5:") {
		t.Errorf("broken flow: exit %d, want 1 with file:line:col\n%s", code, out)
	}

	out, code = hotlineCmd(t, "serve", "--check-config", "--data-dir", t.TempDir())
	if code != 0 || !strings.Contains(out, "configuration ok") {
		t.Errorf("--check-config on the defaults: exit %d\n%s", code, out)
	}
	// Issue 7, acceptance 2: the Asterisk deployment's config validates without reaching
	// Asterisk, PostgreSQL or Redis.
	out, code = hotlineCmd(t, "serve", "--check-config", "--config", "../../deploy/hotline-ari.yaml")
	if code != 0 || !strings.Contains(out, "configuration ok") {
		t.Errorf("--check-config deploy/hotline-ari.yaml: exit %d\n%s", code, out)
	}
	out, code = hotlineCmd(t, "version")
	if code != 0 || !strings.HasPrefix(out, "hotline ") {
		t.Errorf("version: %d %q", code, out)
	}
	if _, code = hotlineCmd(t, "bogus"); code != 2 {
		t.Errorf("unknown command: exit %d, want 2", code)
	}
}
