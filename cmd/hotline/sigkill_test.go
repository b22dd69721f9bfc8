package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/customers"
	"github.com/hotline-cc/hotline/internal/sipptest"
	"github.com/hotline-cc/hotline/internal/testenv"
)

const voicemailFlow = `description: leave a message
language: en
start: record
nodes:
  record:
    voicemail:
      greeting: Please leave a message after the tone.
      max_duration: 30s
    on: {next: told, empty: bye, error: bye}
  told:
    say: Your ticket number is ${say_digits(ticket)}. Goodbye.
    next: bye
  bye:
    hangup: {}
`

// Issue 5, acceptance 6: a voicemail committed as a ticket survives SIGKILL right after the
// commit, and its webhook (refused by the helpdesk until then) is delivered after restart.
func TestNothingLostOnSIGKILL(t *testing.T) {
	testenv.Tool(t, "espeak-ng")
	const secret = "kill-test"
	var accept atomic.Bool
	var mu sync.Mutex
	var delivered []string
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if !accept.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		if err := customers.VerifySignature(secret, body, r.Header.Get("X-Hotline-Signature")); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		mu.Lock()
		delivered = append(delivered, string(body))
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer receiver.Close()

	dir := t.TempDir()
	flows := filepath.Join(dir, "flows")
	os.Mkdir(flows, 0o755)
	os.WriteFile(filepath.Join(flows, "hotline.yaml"), []byte(voicemailFlow), 0o644)
	sipAddr := fmt.Sprintf("127.0.0.1:%d", sipptest.FreeUDPPort(t))
	httpAddr := fmt.Sprintf("127.0.0.1:%d", sipptest.FreeUDPPort(t))
	cfg := filepath.Join(dir, "hotline.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`data_dir: %s
sip: {addr: %q}
http: {addr: %q}
flows: {dir: %s}
queues: [{name: support}]
webhooks: {url: %q, secret: %q, timeout: 2s}
`, filepath.Join(dir, "data"), sipAddr, httpAddr, flows, receiver.URL, secret)), 0o644)

	start := func() (*exec.Cmd, *bufio.Scanner) {
		cmd := exec.Command(binary, "serve", "--config", cfg)
		pr, pw := io.Pipe()
		cmd.Stdout, cmd.Stderr = pw, pw
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		go func() { cmd.Wait(); pw.Close() }()
		t.Cleanup(func() { cmd.Process.Kill() })
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "hotline is running") {
				return cmd, sc
			}
		}
		t.Fatal("serve did not start")
		return nil, nil
	}

	cmd, out := start()
	caller := sipptest.Start(t, sipptest.Options{Scenario: "uac_voicemail.xml", Target: sipAddr, Service: "hotline",
		Pause: 4 * time.Second, Keys: map[string]string{"caller": "+8613500135000"}})
	ticketRE := regexp.MustCompile(`msg="voicemail saved".*ticket=(T-\d+)`)
	var ticket string
	for out.Scan() {
		if m := ticketRE.FindStringSubmatch(out.Text()); m != nil {
			ticket = m[1]
			cmd.Process.Kill() // SIGKILL the moment the commit is logged
			break
		}
	}
	if ticket == "" {
		t.Fatalf("no voicemail was saved\n%s", caller.Log())
	}
	go drain(out)
	caller.Kill()

	accept.Store(true)
	cmd2, out2 := start()
	go drain(out2)
	// The kill may land while the refused POST is in flight (the row stays leased for the
	// 2 s timeout + 5 s) or just after it (the first retry waits 10 s).
	deadline := time.Now().Add(45 * time.Second)
	for {
		mu.Lock()
		got := strings.Join(delivered, "\n")
		mu.Unlock()
		if strings.Contains(got, ticket) {
			t.Logf("webhook for %s delivered %v after the restart", ticket, time.Since(deadline.Add(-45*time.Second)).Round(time.Millisecond))
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("webhook for %s never delivered after restart; got %q", ticket, got)
		}
		time.Sleep(200 * time.Millisecond)
	}
	cmd2.Process.Signal(os.Interrupt)
	time.Sleep(500 * time.Millisecond)

	store, err := customers.Open(context.Background(), customers.Config{DataDir: filepath.Join(dir, "data")})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	tk, err := store.Ticket(context.Background(), ticket)
	if err != nil {
		t.Fatalf("ticket %s lost: %v", ticket, err)
	}
	if tk.Recording == nil || tk.Recording.Size < 8000 {
		t.Fatalf("ticket %s lost its recording: %+v", ticket, tk.Recording)
	}
	if err := store.Recordings().Verify(tk.Recording.ID, tk.Recording.SHA256); err != nil {
		t.Errorf("recording damaged: %v", err)
	}
}

// drain reads the rest of a server's output so it never blocks on a full pipe.
func drain(sc *bufio.Scanner) {
	for sc.Scan() {
	}
}
