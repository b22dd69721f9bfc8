package ari

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/hotline-cc/hotline/internal/redact"
)

// Config says how to reach Asterisk's REST interface (ari.conf user, http.conf address).
type Config struct {
	URL      string // http://host:8088 or http://host:8088/ari
	Username string
	Password string
	App      string // Stasis application name, as in extensions.conf Stasis(<app>,...)

	ReconnectMin time.Duration // first wait after the event WebSocket drops (0 = 500 ms)
	ReconnectMax time.Duration // cap of the exponential backoff (0 = 30 s)
	PingInterval time.Duration // WebSocket ping to detect a dead connection (0 = 20 s, <0 = off)
	Timeout      time.Duration // per REST request, recording downloads excepted (0 = 10 s)
}

// Option configures a Client.
type Option func(*Client)

// WithLogger sets the logger; the client logs with component=ari.
func WithLogger(l *slog.Logger) Option { return func(c *Client) { c.log = l } }

// WithHTTPClient replaces the HTTP client used for REST calls and the WebSocket handshake.
func WithHTTPClient(h *http.Client) Option { return func(c *Client) { c.http = h } }

// Client is a thin ARI client: REST calls and one event WebSocket for one Stasis application.
type Client struct {
	cfg  Config
	base string // .../ari
	log  *slog.Logger
	http *http.Client
	own  bool // the HTTP client is ours to close

	subs      registry
	listening atomic.Bool

	mu        sync.Mutex
	ready     chan struct{} // closed on the first connection
	readyDone bool
	gen       chan struct{} // closed (and replaced) on every reconnect
	hooks     []func(ctx context.Context, reconnect bool)
	connected bool
}

// NewClient checks cfg and prepares a client; Listen connects the events.
func NewClient(cfg Config, opts ...Option) (*Client, error) {
	u, err := url.Parse(strings.TrimSpace(cfg.URL))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("ari: url %q: want http://host:port or http://host:port/ari", redact.URL(cfg.URL))
	}
	if cfg.App == "" {
		return nil, errors.New("ari: app: the Stasis application name must not be empty")
	}
	if cfg.ReconnectMin <= 0 {
		cfg.ReconnectMin = 500 * time.Millisecond
	}
	if cfg.ReconnectMax <= 0 {
		cfg.ReconnectMax = 30 * time.Second
	}
	if cfg.ReconnectMax < cfg.ReconnectMin {
		cfg.ReconnectMax = cfg.ReconnectMin
	}
	if cfg.PingInterval == 0 {
		cfg.PingInterval = 20 * time.Second
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if u.User != nil { // http://user:pass@host: the credentials go in headers, never in a URL that errors repeat
		if cfg.Username == "" {
			cfg.Username = u.User.Username()
		}
		if p, ok := u.User.Password(); ok && cfg.Password == "" {
			cfg.Password = p
		}
		u.User = nil
	}
	base := strings.TrimRight(u.String(), "/")
	if !strings.HasSuffix(base, "/ari") {
		base += "/ari"
	}
	c := &Client{cfg: cfg, base: base, log: slog.Default(), ready: make(chan struct{}), gen: make(chan struct{})}
	for _, o := range opts {
		o(c)
	}
	if c.http == nil {
		c.http = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
		c.own = true
	}
	c.log = c.log.With("component", "ari")
	return c, nil
}

// App is the Stasis application name.
func (c *Client) App() string { return c.cfg.App }

// Close releases idle HTTP connections. Stop Listen (cancel its context) first.
func (c *Client) Close() error {
	if c.own {
		c.http.CloseIdleConnections()
	}
	return nil
}

// newID makes a unique ID for a channel, playback, recording or bridge.
func newID(prefix string) string {
	var b [10]byte
	_, _ = rand.Read(b[:])
	return prefix + "-" + hex.EncodeToString(b[:])
}

// do sends one REST request. params go in the query string (as Asterisk expects); body, if
// not nil, is sent as JSON. The status is checked before anything is decoded: a non-2xx
// answer becomes *Error carrying Asterisk's "message"; a 2xx body is decoded into out
// when out is not nil.
func (c *Client) do(ctx context.Context, method, path string, params url.Values, body, out any) error {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	res, err := c.send(ctx, method, path, params, body)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, 8<<20))
	if err != nil {
		return fmt.Errorf("ari: %s %s: reading response: %w", method, path, err)
	}
	if out == nil || len(bytes.TrimSpace(data)) == 0 {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("ari: %s %s: decoding %d response: %w", method, path, res.StatusCode, err)
	}
	return nil
}

// send performs the request and returns the response only when its status is 2xx.
func (c *Client) send(ctx context.Context, method, path string, params url.Values, body any) (*http.Response, error) {
	u := c.base + path
	if len(params) > 0 {
		u += "?" + params.Encode()
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("ari: %s %s: %w", method, path, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, fmt.Errorf("ari: %s %s: %w", method, path, err)
	}
	req.SetBasicAuth(c.cfg.Username, c.cfg.Password)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := c.http.Do(req)
	if err != nil {
		countRequest(method, 0)
		return nil, fmt.Errorf("ari: %s %s: %w", method, path, err)
	}
	countRequest(method, res.StatusCode)
	if res.StatusCode/100 == 2 {
		return res, nil
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	return nil, &Error{Method: method, Path: path, Status: res.StatusCode, Message: errorMessage(data)}
}

// errorMessage is Asterisk's {"message": "..."}, or the start of a body that is not JSON.
func errorMessage(body []byte) string {
	var m struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &m) == nil && m.Message != "" {
		return m.Message
	}
	s := strings.TrimSpace(string(body))
	if !utf8.ValidString(s) {
		return fmt.Sprintf("%d bytes of non-text body", len(body))
	}
	if len(s) > 200 {
		n := 200
		for n > 0 && !utf8.RuneStart(s[n]) {
			n--
		}
		s = s[:n] + "…"
	}
	return s
}

// ignoreNotFound makes a 404 a success (hangups and deletes of things already gone).
func ignoreNotFound(err error) error {
	if IsNotFound(err) {
		return nil
	}
	return err
}
