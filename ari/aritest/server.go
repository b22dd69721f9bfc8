// Package aritest is a fake Asterisk ARI server for tests: REST over httptest and the event
// WebSocket over github.com/coder/websocket. Every event it sends and every response body it
// answers with is copied from the genuine Asterisk 20.20.1 traces in ari/testdata, with only
// ids, timestamps, digits, caller numbers and channel names substituted. It must not be used
// outside tests.
//
// A test in another package runs a whole flow on it with ari's exported API
// (ari/flow_test.go is the worked example):
//
//	fake := aritest.New(t, aritest.Options{Second: 20 * time.Millisecond})
//	fake.SetAgent("1001", aritest.Answer)
//	client, _ := ari.NewClient(ari.Config{URL: fake.URL(), Username: fake.Username(),
//		Password: fake.Password(), App: fake.App()})
//	drv, _ := ari.NewDriver(client, ari.DriverConfig{SoundsDir: t.TempDir()}, handler)
//	go drv.Run(ctx)                                  // cancel ctx and wait for Run at the end
//	fake.WaitConnected(ctx)                          // Asterisk declines calls until then
//	caller, _ := fake.Inbound("+4930123456", "1000") // StasisStart: the handler gets the call
//	caller.DTMF("1")                                 // ChannelDtmfReceived
//	fake.Legs("1001")[0].Hangup()                    // the agent hangs up
//	<-caller.Done()                                  // hotline hung the caller up
package aritest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// Options shape the fake. Zero values give the traces' user, password and application.
type Options struct {
	App      string // default "hotline"
	Username string // default "hotline"
	Password string // default "secret"

	// Second is how long one of Asterisk's seconds lasts in the fake: the originate timeout,
	// recording limits and the default playback length are counted in it (default 1 s).
	// Tests make it short so a 5 s ring timeout takes 5 × Second.
	Second time.Duration
	// SoundLength is how long a playback of media lasts (default 3 × Second).
	SoundLength func(media string) time.Duration
	// AnswerAfter is how long an Answer agent rings before answering (default Second / 10).
	AnswerAfter time.Duration
	// Testdata is the folder of the traces (default: ari/testdata of this module).
	Testdata string
}

// Behavior is how an agent's phone answers an originate.
type Behavior int

const (
	// Answer rings, then answers: Dial "" → RINGING → ANSWER, StasisStart for the leg.
	Answer Behavior = iota
	// NoAnswer rings until the originate timeout: Dial "" → RINGING, then ChannelDestroyed cause 19.
	NoAnswer
	// Busy answers 486: Dial "" → BUSY, ChannelDestroyed cause 17.
	Busy
	// Unreachable never responds: Dial "", then after the timeout ChannelDestroyed cause 19 (no RINGING).
	Unreachable
)

// ErrDeclined is Inbound's answer while no event WebSocket is connected: Asterisk's
// Stasis() fails and the caller gets 603 Declined.
var ErrDeclined = errors.New("aritest: no event WebSocket connected: Asterisk declines the call (603)")

// Request is one REST request the fake received.
type Request struct {
	Method string
	Path   string // as sent, with the /ari prefix
	Query  url.Values
	Body   string
	At     time.Time
}

// Server is the fake Asterisk.
type Server struct {
	t    testing.TB
	opts Options
	fx   *fixtures
	hs   *httptest.Server

	mu        sync.Mutex
	closed    bool
	conn      *websocket.Conn
	drop      chan struct{} // closed to end the current WebSocket handler
	refuse    int
	attempts  []time.Time
	auths     []Handshake
	closes    []websocket.StatusCode
	connects  int
	lost      []string
	requests  []Request
	failures  []failure
	seq       int
	channels  map[string]*channel
	playbacks map[string]*playback
	live      map[string]*recording
	stored    map[string][]byte
	bridges   map[string]*bridge
	agents    map[string]Behavior
	offline   map[string]bool     // agents whose phone unregistered (SetRegistered)
	subs      []string            // eventSources the application subscribed to
	progress  map[string][]string // channel -> transfer_progress states, in order
	timers    map[*time.Timer]struct{}
}

// Handshake is how an event WebSocket handshake authenticated.
type Handshake struct {
	Basic  bool   // with an Authorization: Basic header
	APIKey bool   // with ?api_key=user:password in the URL
	Query  string // the raw query string, as Asterisk would log it
}

type failure struct {
	method, path string
	status       int
	body         string
}

// New starts a fake ARI server; it stops when the test ends.
func New(t testing.TB, opts Options) *Server {
	t.Helper()
	if opts.App == "" {
		opts.App = "hotline"
	}
	if opts.Username == "" {
		opts.Username = "hotline"
	}
	if opts.Password == "" {
		opts.Password = "secret"
	}
	if opts.Second <= 0 {
		opts.Second = time.Second
	}
	if opts.AnswerAfter <= 0 {
		opts.AnswerAfter = opts.Second / 10
	}
	if opts.Testdata == "" {
		dir, err := Testdata()
		if err != nil {
			t.Fatal(err)
		}
		opts.Testdata = dir
	}
	fx, err := loadFixtures(opts.Testdata)
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{
		t: t, opts: opts, fx: fx,
		channels: map[string]*channel{}, playbacks: map[string]*playback{}, live: map[string]*recording{},
		stored: map[string][]byte{}, bridges: map[string]*bridge{}, agents: map[string]Behavior{},
		offline: map[string]bool{}, progress: map[string][]string{},
		timers: map[*time.Timer]struct{}{},
	}
	s.hs = httptest.NewServer(s.routes())
	t.Cleanup(s.Close)
	return s
}

// URL is the ARI base URL, http://127.0.0.1:port/ari.
func (s *Server) URL() string { return s.hs.URL + "/ari" }

// App, Username and Password are what a client must use.
func (s *Server) App() string      { return s.opts.App }
func (s *Server) Username() string { return s.opts.Username }
func (s *Server) Password() string { return s.opts.Password }

// Second is the length of one of the fake Asterisk's seconds.
func (s *Server) Second() time.Duration { return s.opts.Second }

// RecordingWAV is what every recording stores: the WAV Asterisk recorded in the trace.
func (s *Server) RecordingWAV() []byte { return append([]byte(nil), s.fx.wav...) }

// Close stops the server, its timers and the event WebSocket.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	for t := range s.timers {
		t.Stop()
	}
	conn, drop := s.conn, s.drop
	s.conn, s.drop = nil, nil
	s.mu.Unlock()
	if conn != nil {
		_ = conn.CloseNow()
		close(drop)
	}
	s.hs.Close()
}

// SetAgent says how the phone of an agent answers (the resource after the endpoint's
// technology: "1001" in PJSIP/1001). An agent never set makes Asterisk refuse the originate.
func (s *Server) SetAgent(name string, b Behavior) {
	s.mu.Lock()
	s.agents[name] = b
	s.mu.Unlock()
}

// FailNext makes the next request with this method and path (e.g. "DELETE",
// "/ari/channels/x") fail with status and body (sent as JSON when it starts with '{').
func (s *Server) FailNext(method, path string, status int, body string) {
	s.mu.Lock()
	s.failures = append(s.failures, failure{method, path, status, body})
	s.mu.Unlock()
}

// RefuseEvents makes the next n event WebSocket handshakes fail (HTTP 503), as while
// Asterisk restarts.
func (s *Server) RefuseEvents(n int) {
	s.mu.Lock()
	s.refuse = n
	s.mu.Unlock()
}

// DropEvents aborts the event WebSocket without a close frame. Events sent until the client
// reconnects are lost, as Asterisk loses them ("Inactive Stasis app missed message").
func (s *Server) DropEvents() {
	s.mu.Lock()
	conn, drop := s.conn, s.drop
	s.conn, s.drop = nil, nil
	s.mu.Unlock()
	if conn != nil {
		_ = conn.CloseNow()
		close(drop)
	}
}

// Connected reports whether an event WebSocket is connected.
func (s *Server) Connected() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conn != nil
}

// Connects is the number of event WebSocket connections accepted so far.
func (s *Server) Connects() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.connects
}

// Attempts are the times of every event WebSocket handshake, refused ones included.
func (s *Server) Attempts() []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Time(nil), s.attempts...)
}

// Lost lists the types of the events sent while no WebSocket was connected.
func (s *Server) Lost() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.lost...)
}

// Requests lists the REST requests received, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Requested lists the requests with this method and path.
func (s *Server) Requested(method, path string) []Request {
	var out []Request
	for _, r := range s.Requests() {
		if r.Method == method && r.Path == path {
			out = append(out, r)
		}
	}
	return out
}

// Channels lists the ids of the channels Asterisk has.
func (s *Server) Channels() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.channels))
	for id := range s.channels {
		out = append(out, id)
	}
	return out
}

// Stored is the stored recording called name, if Asterisk has it.
func (s *Server) Stored(name string) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.stored[name]
	return b, ok
}

// StoredNames lists the stored recordings.
func (s *Server) StoredNames() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.stored))
	for n := range s.stored {
		out = append(out, n)
	}
	return out
}

// Wait polls cond (every 2 ms) until it is true or ctx ends.
func (s *Server) Wait(ctx context.Context, what string, cond func() bool) error {
	t := time.NewTicker(2 * time.Millisecond)
	defer t.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("aritest: waiting for %s: %w", what, ctx.Err())
		case <-t.C:
		}
	}
	return nil
}

// WaitConnected waits until an event WebSocket is connected.
func (s *Server) WaitConnected(ctx context.Context) error {
	return s.Wait(ctx, "the event WebSocket", s.Connected)
}

// after runs fn under the lock after d, unless the server closed meanwhile.
func (s *Server) after(d time.Duration, fn func()) *time.Timer {
	var t *time.Timer
	t = time.AfterFunc(d, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		delete(s.timers, t)
		if !s.closed {
			fn()
		}
	})
	s.timers[t] = struct{}{}
	return t
}

func (s *Server) stopTimer(t *time.Timer) {
	if t != nil {
		t.Stop()
		delete(s.timers, t)
	}
}

// emit sends an event on the WebSocket (s.mu held), stamped now. Without a connection it is
// lost, as with Asterisk.
func (s *Server) emit(ev map[string]any) {
	ev["timestamp"] = time.Now().Format(timeLayout)
	typ, _ := ev["type"].(string)
	if s.conn == nil {
		s.lost = append(s.lost, typ)
		return
	}
	data, err := json.Marshal(ev)
	if err != nil {
		s.t.Errorf("aritest: marshal %s: %v", typ, err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := s.conn.Write(ctx, websocket.MessageText, data); err != nil {
		s.lost = append(s.lost, typ)
		_ = s.conn.CloseNow()
		close(s.drop)
		s.conn, s.drop = nil, nil
	}
}

const timeLayout = "2006-01-02T15:04:05.000-0700"

// events is the WebSocket endpoint: /ari/events?app=...&subscribeAll=false. As in Asterisk's
// res_ari (authenticate_user), an Authorization: Basic header is checked first and decides
// alone; only a request without one may authenticate with ?api_key=user:password, which the
// traces show Asterisk accepting.
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	user, pass, basic := r.BasicAuth()
	hs := Handshake{Basic: basic, APIKey: q.Has("api_key"), Query: r.URL.RawQuery}
	s.mu.Lock()
	s.attempts = append(s.attempts, time.Now())
	s.auths = append(s.auths, hs)
	refuse := s.refuse > 0
	if refuse {
		s.refuse--
	}
	s.mu.Unlock()
	ok := q.Get("api_key") == s.opts.Username+":"+s.opts.Password
	if _, set := r.Header["Authorization"]; set {
		ok = basic && user == s.opts.Username && pass == s.opts.Password
	}
	if !ok {
		s.replyFixture(w, "unauthorized")
		return
	}
	if q.Get("app") != s.opts.App {
		s.t.Errorf("aritest: events for app %q, want %q", q.Get("app"), s.opts.App)
		http.Error(w, "wrong app", http.StatusBadRequest)
		return
	}
	if refuse {
		http.Error(w, "Asterisk is restarting", http.StatusServiceUnavailable)
		return
	}
	// The lock is held across the handshake, so the application is registered before the
	// client can act on the 101: nothing it does after connecting can beat the registration.
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
		return
	}
	conn, err := websocket.Accept(w, r, nil)
	if err != nil {
		s.mu.Unlock()
		return
	}
	drop := make(chan struct{})
	if s.conn != nil { // one client per application in these tests: the newest wins
		_ = s.conn.CloseNow()
		close(s.drop)
	}
	s.conn, s.drop = conn, drop
	s.connects++
	s.mu.Unlock()
	// Read answers pings and notices the client leaving: with a close frame (which
	// coder/websocket answers with one of its own, as Asterisk does) or without one, which
	// Asterisk logs as "Web socket closed abruptly".
	left := make(chan websocket.StatusCode, 1)
	go func() {
		for {
			if _, _, err := conn.Read(context.Background()); err != nil {
				left <- websocket.CloseStatus(err)
				return
			}
		}
	}()
	select {
	case code := <-left:
		s.mu.Lock()
		s.closes = append(s.closes, code)
		s.mu.Unlock()
	case <-drop:
	}
	s.mu.Lock()
	if s.conn == conn {
		s.conn, s.drop = nil, nil
	}
	s.mu.Unlock()
	_ = conn.CloseNow()
}

// Handshakes lists how every event WebSocket handshake authenticated, refused ones included.
func (s *Server) Handshakes() []Handshake {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Handshake(nil), s.auths...)
}

// Closes lists how each event WebSocket the client ended was ended: the status of its close
// frame (websocket.StatusNormalClosure, 1000, for a clean shutdown), or -1 when the client
// dropped the connection without one. Connections the fake dropped are not listed.
func (s *Server) Closes() []websocket.StatusCode {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]websocket.StatusCode(nil), s.closes...)
}

// handle wraps a REST handler: basic auth, the request log, injected failures and the lock.
func (s *Server) handle(h func(w http.ResponseWriter, r *http.Request)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		user, pass, ok := r.BasicAuth()
		if !ok || user != s.opts.Username || pass != s.opts.Password {
			s.replyFixture(w, "unauthorized")
			return
		}
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		s.mu.Lock()
		defer s.mu.Unlock()
		s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Body: string(body), At: time.Now()})
		for i, f := range s.failures {
			if f.method == r.Method && f.path == r.URL.Path {
				s.failures = append(s.failures[:i], s.failures[i+1:]...)
				writeRaw(w, f.status, f.body)
				return
			}
		}
		h(w, r)
	}
}

// reply writes a response the way Asterisk does (its headers, "Content-type" spelled as it spells it).
func reply(w http.ResponseWriter, status int, body any) {
	h := w.Header()
	h.Set("Server", "Asterisk/20.20.1")
	h.Set("Cache-Control", "no-cache, no-store")
	h.Set("Connection", "close")
	if body == nil {
		h.Set("Content-Length", "0")
		w.WriteHeader(status)
		return
	}
	data, _ := json.Marshal(body)
	h["Content-Type"] = nil // suppress Go's own header: Asterisk writes only "Content-type"
	h["Content-type"] = []string{"application/json"}
	w.WriteHeader(status)
	_, _ = w.Write(data)
}

func writeRaw(w http.ResponseWriter, status int, body string) {
	h := w.Header()
	h.Set("Server", "Asterisk/20.20.1")
	h.Set("Connection", "close")
	h["Content-Type"] = nil
	if strings.HasPrefix(strings.TrimSpace(body), "{") {
		h["Content-type"] = []string{"application/json"}
	} else {
		h["Content-type"] = []string{"text/html"}
	}
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

// replyFixture answers with a traced response as it was.
func (s *Server) replyFixture(w http.ResponseWriter, name string) {
	status, body := s.fx.body(name)
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="Asterisk REST Interface"`)
	}
	if body == nil {
		reply(w, status, nil)
		return
	}
	reply(w, status, body)
}

// replyError answers with a traced error body whose message is the one Asterisk gives for
// this case (the traces show the {"message": ...} shape; some messages come from Asterisk's source).
func (s *Server) replyError(w http.ResponseWriter, status int, message string) {
	_, body := s.fx.body("channel.404")
	body["message"] = message
	reply(w, status, body)
}
