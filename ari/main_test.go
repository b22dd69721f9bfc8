package ari

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/hotline-cc/hotline/ari/aritest"
	"github.com/hotline-cc/hotline/audio"
	"github.com/hotline-cc/hotline/call"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// second is one of the fake Asterisk's seconds: a 5 s ring timeout lasts 100 ms.
const second = 20 * time.Millisecond

func testLogger() *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// harness is a driver running against the fake Asterisk.
type harness struct {
	t      *testing.T
	fake   *aritest.Server
	client *Client
	drv    *Driver
	sounds string // SoundsDir, with hotline-welcome.wav and hotline-long.wav
}

type harnessOptions struct {
	fake   aritest.Options
	config func(*Config)
	driver func(*DriverConfig)
}

// newClient is a client for the fake, closed when the test ends.
func newClient(t *testing.T, fake *aritest.Server, mod func(*Config)) *Client {
	t.Helper()
	cfg := Config{URL: fake.URL(), Username: fake.Username(), Password: fake.Password(), App: fake.App(),
		ReconnectMin: 20 * time.Millisecond, ReconnectMax: time.Second, Timeout: 5 * time.Second}
	if mod != nil {
		mod(&cfg)
	}
	c, err := NewClient(cfg, WithLogger(testLogger()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// start runs a driver with handler against a new fake and waits until its events are connected.
func start(t *testing.T, o harnessOptions, handler call.Handler) *harness {
	t.Helper()
	if o.fake.Second == 0 {
		o.fake.Second = second
	}
	if o.fake.SoundLength == nil {
		o.fake.SoundLength = func(media string) time.Duration {
			if strings.HasSuffix(media, "/hotline-long") {
				return 30 * time.Second // edge/bargein's 30 s prompt
			}
			return 0
		}
	}
	fake := aritest.New(t, o.fake)
	h := &harness{t: t, fake: fake, client: newClient(t, fake, o.config), sounds: t.TempDir()}
	writeWAV(t, filepath.Join(h.sounds, "hotline-welcome.wav"), 8000, 1, 800)
	writeWAV(t, filepath.Join(h.sounds, "hotline-long.wav"), 8000, 1, 800)
	dc := DriverConfig{SoundsDir: h.sounds}
	if o.driver != nil {
		o.driver(&dc)
	}
	drv, err := NewDriver(h.client, dc, handler)
	if err != nil {
		t.Fatal(err)
	}
	h.drv = drv
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- drv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("Run did not return after its context ended")
		}
	})
	h.wait(drv.Ready(), "the first event WebSocket connection")
	h.until("the fake Asterisk to see the event WebSocket", fake.Connected)
	return h
}

func (h *harness) ctx() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	h.t.Cleanup(cancel)
	return ctx
}

func (h *harness) wait(ch <-chan struct{}, what string) {
	h.t.Helper()
	select {
	case <-ch:
	case <-time.After(5 * time.Second):
		h.t.Fatalf("timed out waiting for %s", what)
	}
}

func (h *harness) until(what string, cond func() bool) {
	h.t.Helper()
	if err := h.fake.Wait(h.ctx(), what, cond); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) inbound(caller, dialed string) *aritest.Call {
	h.t.Helper()
	c, err := h.fake.Inbound(caller, dialed)
	if err != nil {
		h.t.Fatal(err)
	}
	return c
}

func (h *harness) prompt(name string) []call.Prompt {
	return []call.Prompt{{File: filepath.Join(h.sounds, name+".wav"), Text: name}}
}

// recv takes one value from ch or fails the test.
func recv[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(5 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}

// writeWAV writes ms milliseconds of a 440 Hz tone.
func writeWAV(t *testing.T, path string, rate, channels, ms int) {
	t.Helper()
	n := rate * ms / 1000
	pcm := make([]int16, n*channels)
	for i := range n {
		v := int16(8000 * sin440(i, rate))
		for c := range channels {
			pcm[i*channels+c] = v
		}
	}
	b := audio.EncodeWAV(rate, channels, pcm)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func counterValue(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

func (h *harness) pendingDials() int {
	h.drv.mu.Lock()
	defer h.drv.mu.Unlock()
	return len(h.drv.pending)
}

func (h *harness) channel(id string) *Channel {
	h.t.Helper()
	h.drv.mu.Lock()
	defer h.drv.mu.Unlock()
	ch := h.drv.calls[id]
	if ch == nil {
		h.t.Fatalf("hotline has no channel %s", id)
	}
	return ch
}
