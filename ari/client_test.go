package ari

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hotline-cc/hotline/ari/aritest"
)

// REST errors as Asterisk gives them: a 404 on hangup or delete is success, other errors
// decode Asterisk's {"message"} into *Error, and the status is read before any body is
// decoded, so an error page that is not JSON cannot break the client.
func TestRESTErrors(t *testing.T) {
	fake := aritest.New(t, aritest.Options{})
	c := newClient(t, fake, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	deletes404 := mRequests.WithLabelValues("DELETE", "404").(prometheus.Counter)
	before := counterValue(t, deletes404)

	// Gone already: done (the trace's 404 bodies).
	for name, err := range map[string]error{
		"hangup":         c.Hangup(ctx, "no-such-channel", "normal"),
		"stop playback":  c.StopPlayback(ctx, "pb-long"),
		"stop recording": c.StopRecording(ctx, "edge-rec-hangup"),
		"delete stored":  c.DeleteStoredRecording(ctx, "hotline-msg"),
		"destroy bridge": c.DestroyBridge(ctx, "no-such-bridge"),
	} {
		if err != nil {
			t.Errorf("%s of something Asterisk no longer has = %v, want success", name, err)
		}
	}
	if got := counterValue(t, deletes404) - before; got != 4 {
		t.Errorf(`hotline_ari_rest_requests_total{method="DELETE",status="404"} rose by %v, want 4`, got)
	}

	wantErr := func(what string, err error, status int, msg string) {
		t.Helper()
		var e *Error
		if !errors.As(err, &e) || e.Status != status || e.Message != msg {
			t.Errorf("%s: %v; want *ari.Error %d %q", what, err, status, msg)
		}
	}
	// A 404 where it means something is an error.
	err := c.Answer(ctx, "no-such-channel")
	wantErr("answer a missing channel", err, 404, "Channel not found")
	if !IsNotFound(err) {
		t.Error("IsNotFound(answer of a missing channel) = false")
	}
	_, err = c.Channel(ctx, "no-such-channel")
	wantErr("get a missing channel", err, 404, "Channel not found")
	// The trace's 400 (POST /channels without an endpoint).
	_, err = c.Originate(ctx, OriginateParams{})
	wantErr("originate without endpoint", err, 400, "Endpoint must be specified")
	// A 500 with Asterisk's message.
	fake.FailNext("POST", "/ari/bridges", 500, `{"message": "Allocation failed"}`)
	_, err = c.CreateBridge(ctx, "b1", "mixing", "")
	wantErr("create bridge", err, 500, "Allocation failed")
	// A proxy's HTML error page: no JSON to decode, the status still tells.
	fake.FailNext("GET", "/ari/channels", 502, "<html><body>Bad Gateway</body></html>")
	_, err = c.Channels(ctx)
	wantErr("list channels via a broken proxy", err, 502, "<html><body>Bad Gateway</body></html>")
	// A 2xx with a broken body is a decoding error, not a panic and not *Error.
	fake.FailNext("GET", "/ari/channels", 200, "{not json")
	if _, err = c.Channels(ctx); err == nil || errors.As(err, new(*Error)) {
		t.Errorf("2xx with a broken body: %v, want a decoding error", err)
	}
	// Binary junk in an error body.
	fake.FailNext("DELETE", "/ari/channels/x", 500, "\xff\xfe\x00junk")
	err = c.Hangup(ctx, "x", "")
	var e *Error
	if !errors.As(err, &e) || e.Status != 500 || !strings.Contains(e.Message, "non-text") {
		t.Errorf("binary error body: %v", err)
	}
	// Wrong password: the trace's 401.
	bad := newClient(t, fake, func(cfg *Config) { cfg.Password = "wrong" })
	_, err = bad.Channels(ctx)
	wantErr("wrong password", err, http.StatusUnauthorized, "Authentication required")
	if err := bad.Listen(ctx); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("Listen with a wrong password = %v, want a 401 error at once (not endless retries)", err)
	}

	// A success through Asterisk's "Content-type" header decodes.
	if list, err := c.Channels(ctx); err != nil || list == nil {
		t.Errorf("GET /channels = %v, %v; want an empty list", list, err)
	}
}

func TestNewClientConfig(t *testing.T) {
	for _, cfg := range []Config{
		{URL: "", App: "hotline"},
		{URL: "ftp://x", App: "hotline"},
		{URL: "http://127.0.0.1:8088"},
	} {
		if _, err := NewClient(cfg); err == nil {
			t.Errorf("NewClient(%+v): want an error", cfg)
		}
	}
	for url, want := range map[string]string{
		"http://127.0.0.1:8088":                "ws://127.0.0.1:8088/ari/events?app=hotline&subscribeAll=false",
		"https://pbx.example/ari/":             "wss://pbx.example/ari/events?app=hotline&subscribeAll=false",
		"http://127.0.0.1:8088/ari":            "ws://127.0.0.1:8088/ari/events?app=hotline&subscribeAll=false",
		"http://hotline:secret@127.0.0.1:8088": "ws://127.0.0.1:8088/ari/events?app=hotline&subscribeAll=false",
	} {
		c, err := NewClient(Config{URL: url, Username: "hotline", Password: "secret", App: "hotline"})
		if err != nil {
			t.Fatal(err)
		}
		if got := c.eventsURL(); got != want {
			t.Errorf("events URL for %s = %s, want %s", url, got, want)
		}
	}
	c, _ := NewClient(Config{URL: "http://x", App: "a", ReconnectMin: 100 * time.Millisecond, ReconnectMax: time.Second})
	for n, want := range []time.Duration{100, 200, 400, 800, 1000, 1000} {
		want *= time.Millisecond
		if got := c.backoff(n); got < want || got > want*6/5 {
			t.Errorf("backoff(%d) = %v, want %v plus at most 20%% jitter", n, got, want)
		}
	}
}
