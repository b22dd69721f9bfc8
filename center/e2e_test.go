package center

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/config"
	"github.com/hotline-cc/hotline/internal/sipptest"
	"github.com/hotline-cc/hotline/internal/testenv"
)

// A Monday morning in Shanghai: the sample's office schedule is open.
var mondayMorning = time.Date(2026, 11, 23, 10, 0, 0, 0, time.FixedZone("CST", 8*3600))

type hotline struct {
	*Center
	sipAddr, httpAddr string
	cancel            func()
}

// startHotline runs the same Center `hotline serve` runs, on free ports and a temp data dir.
func startHotline(t *testing.T, edit func(*config.Config), opts ...Option) *hotline {
	t.Helper()
	testenv.Tool(t, "espeak-ng")
	cfg, err := config.Load("")
	if err != nil {
		t.Fatal(err)
	}
	cfg.DataDir = t.TempDir()
	cfg.SIP.Addr = fmt.Sprintf("127.0.0.1:%d", sipptest.FreeUDPPort(t))
	cfg.HTTP.Addr = "127.0.0.1:0"
	cfg.SIP.RTPPortMin, cfg.SIP.RTPPortMax = 0, 0
	off := false
	for i := range cfg.Queues { // the tests time their callers; the ones about consent turn it on
		cfg.Queues[i].Recording.Consent = &off
	}
	if edit != nil {
		edit(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if os.Getenv("HOTLINE_TEST_LOG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	all := append([]Option{WithLogger(log), WithBanner(io.Discard), WithFlowClock(func() time.Time { return mondayMorning })}, opts...)
	c, err := New(cfg, all...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- c.Run(ctx) }()
	select {
	case <-c.Started():
	case err := <-errc:
		t.Fatalf("run: %v", err)
	}
	h := &hotline{Center: c, sipAddr: cfg.SIP.Addr, httpAddr: c.HTTPAddr().String()}
	var stopped bool
	h.cancel = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-errc; err != nil {
			t.Errorf("run: %v", err)
		}
	}
	t.Cleanup(h.cancel)
	return h
}

// waitCalls waits until n calls have finished their flows.
func (h *hotline) waitCalls(t *testing.T, n int, timeout time.Duration) []CallRecord {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if recs := h.Calls(); len(recs) >= n {
			return recs
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%d calls finished within %v, want %d", len(h.Calls()), timeout, n)
	return nil
}

func (h *hotline) metrics(t *testing.T) string {
	t.Helper()
	res, err := http.Get("http://" + h.httpAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return string(b)
}

// Issue 3, acceptance 4: a real caller presses 2 (中文) then 1 (support) and the call's
// recorded events show language → menu → support queue.
func TestCallerPathThroughShippedFlow(t *testing.T) {
	h := startHotline(t, nil)
	p := sipptest.Start(t, sipptest.Options{Scenario: "uac_menu.xml", Target: h.sipAddr, Service: "hotline", Pause: 2500 * time.Millisecond})
	p.MustSucceed(t)
	rec := h.waitCalls(t, 1, 10*time.Second)[0]
	var path []string
	for _, e := range rec.Path {
		path = append(path, e.Node+"("+e.Exit+")")
	}
	got := strings.Join(path, " ")
	want := []string{"language(digit:2)", "chinese", "menu(digit:1)", "support(hangup)"}
	at := 0
	for _, w := range want {
		i := strings.Index(got[at:], w)
		if i < 0 {
			t.Fatalf("path %q lacks %q (in order: %v)", got, w, want)
		}
		at += i + len(w)
	}
	if rec.Queue != "support" || rec.Flow != "hotline" {
		t.Errorf("record: flow %q queue %q", rec.Flow, rec.Queue)
	}
	t.Logf("path: %s; outcome %s", got, rec.Outcome)
}
