package dashboard

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/audio"
	"github.com/hotline-cc/hotline/customers"
	"github.com/hotline-cc/hotline/internal/fakeclock"
)

// env is a dashboard on a real store and real HTTP, with a fake center, and a token per role.
type env struct {
	t        *testing.T
	ctx      context.Context
	storeCfg customers.Config // the sample's store
	opts     Options          // the sample's dashboard options
	clk      *fakeclock.Clock
	live     *fakeLive
	store    *customers.Store
	srv      *Server
	ts       *httptest.Server
	sup      string // tokens
	integ    string
	agent1   string // agent 1001
	agent2   string // agent 1002
	loginURL string
}

// Monday 11 May 2026, 10:00 in Shanghai: inside the sample configuration's office hours.
var t0 = time.Date(2026, 5, 11, 2, 0, 0, 0, time.UTC)

func newEnv(t *testing.T) *env { return newEnvOn(t, "") }

// newEnvOn is newEnv with the store at dsn ("" = SQLite in the data directory).
func newEnvOn(t *testing.T, dsn string) *env {
	t.Helper()
	dir := t.TempDir()
	e := &env{t: t, ctx: context.Background(), storeCfg: sampleStore(dsn, dir), opts: sampleOptions(dir), clk: fakeclock.New(t0)}
	e.live = newFakeLive(sampleACD(), e.clk)
	for _, a := range []string{"1001", "1002", "1003"} {
		if _, err := e.live.d.Login(a); err != nil {
			t.Fatal(err)
		}
	}
	e.store, e.srv, e.ts = e.node()
	t.Cleanup(func() { e.srv.Close(); e.ts.Close(); e.store.Close() }) // Close ends the event streams first
	var ok bool
	if e.loginURL, ok = e.srv.LoginURL(e.ts.URL); !ok {
		t.Fatal("no login URL on the first start")
	}
	mk := func(role Role, agent string) string {
		s, _, err := e.srv.Tokens().Create(role, agent, "test "+string(role)+" "+agent)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	e.sup, e.integ, e.agent1, e.agent2 = mk(RoleSupervisor, ""), mk(RoleIntegration, ""), mk(RoleAgent, "1001"), mk(RoleAgent, "1002")
	return e
}

// node opens a store on the test's data directory and serves a dashboard on it: what one
// hotline process does. The caller closes them.
func (e *env) node() (*customers.Store, *Server, *httptest.Server) {
	e.t.Helper()
	store, err := customers.Open(e.ctx, e.storeCfg, customers.WithClock(e.clk.Now))
	if err != nil {
		e.t.Fatal(err)
	}
	o := e.opts
	o.Live, o.Store, o.Log = e.live, store, slog.New(slog.NewTextHandler(io.Discard, nil))
	o.Clock, o.RefreshEvery, o.SampleEvery = e.clk.Now, 200*time.Millisecond, time.Hour
	srv, err := New(o)
	if err != nil {
		store.Close()
		e.t.Fatal(err)
	}
	return store, srv, httptest.NewServer(srv)
}

// restart stops the dashboard and closes the store, then opens both again on the same data
// directory, as restarting hotline does. The new server listens on another port; cookie jars
// send a host's cookies to every port of it (RFC 6265 §8.5), as browsers do.
func (e *env) restart() {
	e.t.Helper()
	e.srv.Close()
	e.ts.Close()
	if err := e.store.Close(); err != nil {
		e.t.Fatal(err)
	}
	e.store, e.srv, e.ts = e.node()
}

type resp struct {
	status int
	header http.Header
	body   []byte
}

func (r resp) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decoding %s: %v", r.body, err)
	}
}

func (r resp) apiError(t *testing.T) APIError {
	t.Helper()
	var b struct{ Error APIError }
	r.json(t, &b)
	return b.Error
}

// do sends a request with a Bearer token ("" for none); body is JSON-encoded unless a string.
func (e *env) do(method, path, token string, body any) resp {
	e.t.Helper()
	return e.doWith(http.DefaultClient, method, path, token, body, nil)
}

func (e *env) doWith(c *http.Client, method, path, token string, body any, hdr map[string]string) resp {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, e.ts.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := c.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{res.StatusCode, res.Header, b}
}

// ok asserts the status and returns the response.
func (e *env) ok(want int, r resp) resp {
	e.t.Helper()
	if r.status != want {
		e.t.Fatalf("status %d, want %d: %s", r.status, want, r.body)
	}
	return r
}

// wantError asserts an error status, code and field.
func (e *env) wantError(r resp, status int, field string) APIError {
	e.t.Helper()
	if r.status != status {
		e.t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	ae := r.apiError(e.t)
	if ae.Status != status || ae.Message == "" {
		e.t.Fatalf("error body %s", r.body)
	}
	if ae.Field != field {
		e.t.Fatalf("error field %q, want %q: %s", ae.Field, field, ae.Message)
	}
	return ae
}

// browser is an HTTP client with a cookie jar, logged in through the one-time link.
func (e *env) browser() *http.Client {
	e.t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	res, err := c.Get(e.loginURL)
	if err != nil {
		e.t.Fatal(err)
	}
	res.Body.Close()
	if res.Request.URL.Path != "/" {
		e.t.Fatalf("login link led to %s", res.Request.URL)
	}
	return c
}

func (e *env) csrf(c *http.Client) string {
	for _, ck := range c.Jar.Cookies(mustURL(e.ts.URL)) {
		if ck.Name == CSRFCookie {
			return ck.Value
		}
	}
	e.t.Fatal("no CSRF cookie")
	return ""
}

// wav is a PCM tone, long enough to play.
func wav(seconds int) []byte {
	pcm := make([]int16, audio.SampleRate*seconds)
	for i := range pcm {
		pcm[i] = 8000
		if (i/10)%2 == 0 { // a 400 Hz square wave
			pcm[i] = -8000
		}
	}
	return audio.EncodeWAV(audio.SampleRate, 1, pcm)
}

// voicemail stores a voicemail ticket from number for support and returns it.
func (e *env) voicemail(number string) customers.Ticket {
	e.t.Helper()
	tk, err := e.store.SaveVoicemail(e.ctx, customers.Voicemail{Caller: number, Queue: "support", Audio: bytes.NewReader(wav(3))})
	if err != nil {
		e.t.Fatal(err)
	}
	return tk
}

// sse reads a Server-Sent Events stream.
type sse struct {
	res *http.Response
	rd  *bufio.Reader
}

func (e *env) stream(token string) *sse { e.t.Helper(); return e.stream2(token, "/api/v1/events") }

// stream2 opens another event stream (the browser phone's).
func (e *env) stream2(token, path string) *sse {
	e.t.Helper()
	req, _ := http.NewRequest("GET", e.ts.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	ctx, cancel := context.WithCancel(e.ctx)
	e.t.Cleanup(cancel)
	res, err := http.DefaultClient.Do(req.WithContext(ctx))
	if err != nil {
		e.t.Fatal(err)
	}
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/event-stream") {
		e.t.Fatalf("events: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	e.t.Cleanup(func() { res.Body.Close() })
	return &sse{res: res, rd: bufio.NewReader(res.Body)}
}

// next returns the next event's name and data.
func (s *sse) next() (string, []byte, error) {
	var name string
	var data []byte
	for {
		line, err := s.rd.ReadString('\n')
		if err != nil {
			return "", nil, err
		}
		line = strings.TrimRight(line, "\n")
		switch {
		case line == "" && name != "":
			return name, data, nil
		case strings.HasPrefix(line, "event: "):
			name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			data = []byte(strings.TrimPrefix(line, "data: "))
		}
	}
}
