package ari

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/hotline-cc/hotline/ari/aritest"
)

// Issue 14, item 9: the credentials travel in the upgrade's Authorization header, never in
// the events URL, and the fake (like Asterisk's res_ari) lets the header decide: a wrong
// header is refused even with a right api_key, while a client that sends only api_key (as
// the traced Python client did) still connects.
func TestEventsAuthenticateWithHeader(t *testing.T) {
	fake := aritest.New(t, aritest.Options{Password: "pa55-in-header"})
	c := newClient(t, fake, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- c.Listen(ctx) }()
	if err := fake.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	hs := fake.Handshakes()
	if len(hs) != 1 || !hs[0].Basic || hs[0].APIKey || strings.Contains(hs[0].Query, "pa55") {
		t.Errorf("handshakes = %+v; want one with the Authorization header and no api_key in the URL", hs)
	}
	cancel()
	<-done

	dial := func(rawQuery string, header http.Header) int {
		t.Helper()
		dctx, dcancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer dcancel()
		u := strings.Replace(fake.URL(), "http", "ws", 1) + "/events?" + rawQuery
		conn, res, err := websocket.Dial(dctx, u, &websocket.DialOptions{HTTPHeader: header})
		if err == nil {
			_ = conn.Close(websocket.StatusNormalClosure, "")
			return http.StatusSwitchingProtocols
		}
		if res == nil {
			t.Fatalf("dial %s: %v", rawQuery, err)
		}
		return res.StatusCode
	}
	basic := func(user, pass string) http.Header {
		r := http.Request{Header: http.Header{}}
		r.SetBasicAuth(user, pass)
		return r.Header
	}
	if got := dial("app=hotline&api_key=hotline:pa55-in-header", nil); got != 101 {
		t.Errorf("api_key alone (the trace's client): %d, want 101", got)
	}
	if got := dial("app=hotline&api_key=hotline:pa55-in-header", basic("hotline", "wrong")); got != 401 {
		t.Errorf("wrong Authorization header with a right api_key: %d, want 401 (the header decides)", got)
	}
	if got := dial("app=hotline", nil); got != 401 {
		t.Errorf("no credentials: %d, want 401", got)
	}
}

// syncLog is a log buffer safe for the client's goroutines.
type syncLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *syncLog) Write(p []byte) (int, error) { l.mu.Lock(); defer l.mu.Unlock(); return l.b.Write(p) }
func (l *syncLog) String() string              { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

// Issue 14, item 9: with Asterisk unreachable the client logs every failed reconnect, and a
// REST call fails; neither the log nor the error holds the password, also when the URL was
// given as http://user:password@host.
func TestUnreachableAsteriskLeaksNoPassword(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now: every connect is refused
	const password = "Zq8-ari-password-x1"
	for _, url := range []string{"http://" + addr + "/ari", "http://hotline:" + password + "@" + addr} {
		var out syncLog
		c, err := NewClient(Config{URL: url, Username: "hotline", Password: password, App: "hotline",
			ReconnectMin: 5 * time.Millisecond, ReconnectMax: 10 * time.Millisecond, Timeout: time.Second},
			WithLogger(slog.New(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: slog.LevelDebug}))))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		_, restErr := c.Channels(ctx)
		_ = c.Listen(ctx)
		cancel()
		logged := out.String()
		if !strings.Contains(logged, "event WebSocket: connect failed") || restErr == nil {
			t.Fatalf("%s: want failed connects logged and a REST error; log:\n%s\nREST: %v", url, logged, restErr)
		}
		for what, text := range map[string]string{"log": logged, "REST error": restErr.Error()} {
			if strings.Contains(text, password) || strings.Contains(text, "api_key") {
				t.Errorf("%s: the %s holds the credentials:\n%s", url, what, text)
			}
		}
	}
}

// Issue 14, item 10: when Listen's context ends (SIGTERM), the event WebSocket is closed with
// a close frame, status 1000, and Asterisk's answer is waited for before Listen returns;
// Asterisk otherwise logs "Web socket closed abruptly" (edge/logs/ws-reconnect.asterisk.log).
func TestListenClosesWithCloseFrame(t *testing.T) {
	fake := aritest.New(t, aritest.Options{})
	c := newClient(t, fake, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Listen(ctx) }()
	wctx, wcancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer wcancel()
	if err := fake.WaitConnected(wctx); err != nil {
		t.Fatal(err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Listen = %v after its context ended, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Listen did not return after its context ended")
	}
	if err := fake.Wait(wctx, "the fake to see the WebSocket end", func() bool { return len(fake.Closes()) > 0 }); err != nil {
		t.Fatal(err)
	}
	if got := fake.Closes(); len(got) != 1 || got[0] != websocket.StatusNormalClosure {
		t.Errorf("the fake saw the WebSocket end with %v, want one close frame with status 1000", got)
	}
}
