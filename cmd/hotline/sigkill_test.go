package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/customers"
	"github.com/hotline-cc/hotline/internal/helpdesk"
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
	desk := helpdesk.New(t, secret)

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
`, filepath.Join(dir, "data"), sipAddr, httpAddr, flows, desk.URL, secret)), 0o644)

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

	desk.Accept()
	cmd2, out2 := start()
	go drain(out2)
	// The kill may land while the refused POST is in flight (the row stays leased for the
	// 2 s timeout + 5 s) or just after it (the first retry waits 10 s).
	deadline := time.Now().Add(45 * time.Second)
	for {
		got := desk.Delivered()
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

// Issue 15: calls in progress when hotline is killed with SIGKILL are on their customers'
// timelines after the restart, ended, outcome interrupted; none is lost, none stays "in
// progress" for ever.
func TestCallsInProgressInterruptedBySIGKILL(t *testing.T) {
	dir := t.TempDir()
	flows := filepath.Join(dir, "flows")
	os.Mkdir(flows, 0o755)
	hold, err := os.ReadFile(filepath.Join("..", "..", "testdata", "flows", "load.yaml")) // music until the caller hangs up
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(flows, "hotline.yaml"), hold, 0o644)
	sipAddr := fmt.Sprintf("127.0.0.1:%d", sipptest.FreeUDPPort(t))
	httpAddr := fmt.Sprintf("127.0.0.1:%d", sipptest.FreeUDPPort(t))
	data := filepath.Join(dir, "data")
	cfg := filepath.Join(dir, "hotline.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`data_dir: %s
sip: {addr: %q}
http: {addr: %q}
flows: {dir: %s}
queues: [{name: support}]
`, data, sipAddr, httpAddr, flows)), 0o644)

	srv := startServe(t, "--config", cfg)
	srv.waitFor(t, "hotline is running", 20*time.Second)
	callers := []string{"+8613500135001", "+8613500135002", "+8613500135003", "+8613500135004"}
	var phones []*sipptest.Proc
	for _, n := range callers {
		phones = append(phones, sipptest.Start(t, sipptest.Options{Scenario: "uac_hold.xml", Target: sipAddr, Service: "hotline",
			Pause: time.Minute, Timeout: 90 * time.Second, Keys: map[string]string{"caller": n}}))
	}
	// Every caller is answered and on hold music (its contact was committed before the answer).
	for _, p := range phones {
		for end := time.Now().Add(20 * time.Second); !strings.Contains(p.Messages(), "SIP/2.0 200 OK"); time.Sleep(50 * time.Millisecond) {
			if time.Now().After(end) {
				t.Fatalf("a caller was not answered within 20 s:\n%s\n%s", p.Log(), srv.out.String())
			}
		}
	}
	ctx := context.Background()
	live, err := customers.Open(ctx, customers.Config{DataDir: data})
	if err != nil {
		t.Fatal(err)
	}
	list, _, err := live.ListContacts(ctx, customers.ContactFilter{Channel: customers.ChannelVoice}, customers.Page{})
	if err != nil || len(list) != len(callers) {
		t.Fatalf("%d contacts (%v) for %d answered callers", len(list), err, len(callers))
	}
	live.Close()
	killed := time.Now()
	srv.cmd.Process.Kill()
	<-srv.done

	restarted := startServe(t, "--config", cfg) // closes the calls the kill cut off
	restarted.waitFor(t, "hotline is running", 20*time.Second)
	restarted.stop(t)

	store, err := customers.Open(ctx, customers.Config{DataDir: data})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	for _, n := range callers {
		c, err := store.ByNumber(ctx, n)
		if err != nil || c == nil {
			t.Errorf("caller %s: no customer after the restart (%v)", n, err)
			continue
		}
		tl, err := store.Timeline(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(tl) != 1 || tl[0].Contact == nil {
			t.Errorf("caller %s: timeline %+v, want their one call", n, tl)
			continue
		}
		ct := tl[0].Contact
		if ct.Outcome != customers.OutcomeInterrupted || ct.EndedAt.IsZero() || ct.EndedAt.Before(ct.StartedAt) || ct.EndedAt.After(killed) {
			t.Errorf("caller %s: contact %s outcome %q started %v ended %v; want interrupted, ended between its start and the kill (%v)",
				n, ct.ID, ct.Outcome, ct.StartedAt, ct.EndedAt, killed)
		}
	}
}

// drain reads the rest of a server's output so it never blocks on a full pipe.
func drain(sc *bufio.Scanner) {
	for sc.Scan() {
	}
}
