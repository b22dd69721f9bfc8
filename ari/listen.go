package ari

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// Ready is closed once the event WebSocket has connected for the first time.
func (c *Client) Ready() <-chan struct{} { return c.ready }

// Connected reports whether the event WebSocket is up now.
func (c *Client) Connected() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.connected
}

// OnConnect registers f to run (on a goroutine of its own) after every connection of the
// event WebSocket; reconnect is false the first time. Events lost while the WebSocket was
// down are never replayed by Asterisk: this is where to find out what changed.
func (c *Client) OnConnect(f func(ctx context.Context, reconnect bool)) {
	c.mu.Lock()
	c.hooks = append(c.hooks, f)
	c.mu.Unlock()
}

// reconnected is closed at the next reconnection of the event WebSocket: anyone waiting for
// an event may have lost it and should ask Asterisk.
func (c *Client) reconnected() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

// eventsURL is /ari/events?app=...&subscribeAll=false on ws:// or wss://. It carries no
// credentials: they go in the upgrade's Authorization header (eventsHeader), so the URL is
// safe in any error or log line. Asterisk's res_ari authenticates every /ari request, the
// WebSocket upgrade included, by HTTP basic auth first and ?api_key= only when there is no
// Authorization header (authenticate_user in res/res_ari.c).
func (c *Client) eventsURL() string {
	u, _ := url.Parse(c.base + "/events") // base was checked by NewClient
	u.Scheme = strings.Replace(u.Scheme, "http", "ws", 1)
	q := url.Values{"app": {c.cfg.App}, "subscribeAll": {"false"}}
	u.RawQuery = q.Encode()
	return u.String()
}

// eventsHeader is the upgrade request's Authorization: Basic header.
func (c *Client) eventsHeader() http.Header {
	r := http.Request{Header: http.Header{}}
	r.SetBasicAuth(c.cfg.Username, c.cfg.Password)
	return r.Header
}

// backoff is the wait before reconnect attempt n (0-based): ReconnectMin doubled n times,
// capped at ReconnectMax, plus up to 20 % jitter so a fleet does not reconnect in step.
func (c *Client) backoff(n int) time.Duration {
	d := c.cfg.ReconnectMin
	for i := 0; i < n && d < c.cfg.ReconnectMax; i++ {
		d *= 2
	}
	d = min(d, c.cfg.ReconnectMax)
	return d + time.Duration(rand.Int64N(int64(d)/5+1))
}

// Listen connects the event WebSocket and dispatches events to subscriptions until ctx ends,
// reconnecting with exponential backoff whenever the connection fails or drops. It returns
// nil when ctx ends.
func (c *Client) Listen(ctx context.Context) error {
	if !c.listening.CompareAndSwap(false, true) {
		return ErrListening
	}
	defer c.listening.Store(false)
	var hooks sync.WaitGroup
	defer hooks.Wait()
	first, fails := true, 0
	for dialed := false; ; dialed = true {
		if dialed { // the very first dial goes at once; every other waits
			wait := c.backoff(fails)
			c.log.Info("event WebSocket: reconnecting", "in", wait.Round(time.Millisecond), "failures", fails)
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return nil
			case <-t.C:
			}
		}
		conn, err := c.dial(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if e := (*Error)(nil); first && errors.As(err, &e) && e.Status == http.StatusUnauthorized {
				return err // wrong user or password in the configuration: retrying will not help
			}
			fails++
			c.log.Warn("event WebSocket: connect failed", "error", err, "failures", fails)
			continue
		}
		fails = 0
		c.mu.Lock()
		c.connected = true
		if first {
			close(c.ready)
		} else {
			close(c.gen)
			c.gen = make(chan struct{})
		}
		hs := append([]func(context.Context, bool){}, c.hooks...)
		c.mu.Unlock()
		if first {
			c.log.Info("event WebSocket connected", "app", c.cfg.App)
		} else {
			mReconnects.Inc()
			c.log.Warn("event WebSocket reconnected: events sent meanwhile are lost", "app", c.cfg.App)
		}
		reconnect := !first
		for _, h := range hs {
			hooks.Add(1)
			go func() { defer hooks.Done(); h(ctx, reconnect) }()
		}
		first = false
		err = c.read(ctx, conn)
		c.mu.Lock()
		c.connected = false
		c.mu.Unlock()
		if ctx.Err() != nil {
			return nil // read closed the WebSocket with a close frame
		}
		c.log.Warn("event WebSocket lost", "error", err)
	}
}

func (c *Client) dial(ctx context.Context) (*websocket.Conn, error) {
	dctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	conn, res, err := websocket.Dial(dctx, c.eventsURL(), &websocket.DialOptions{HTTPClient: c.http, HTTPHeader: c.eventsHeader()})
	if res != nil && res.Body != nil {
		_ = res.Body.Close()
	}
	if err != nil {
		if res != nil && res.StatusCode != http.StatusSwitchingProtocols {
			countRequest("GET", res.StatusCode)
			return nil, &Error{Method: "GET", Path: "/events", Status: res.StatusCode, Message: http.StatusText(res.StatusCode)}
		}
		return nil, fmt.Errorf("ari: GET /events: %w", err)
	}
	countRequest("GET", http.StatusSwitchingProtocols)
	conn.SetReadLimit(4 << 20)
	return conn, nil
}

// closeWait bounds the close handshake at shutdown: Asterisk answers a close frame at once,
// one that does not is not waited for longer.
const closeWait = 2 * time.Second

// read dispatches events until the connection fails or ctx ends. When ctx ends it closes
// the WebSocket with a close frame (1000, normal closure) and waits for Asterisk's, so
// Asterisk deactivates the application cleanly instead of logging "Web socket closed
// abruptly". The reads themselves never see ctx: coder/websocket drops the TCP connection
// without a close frame when a Read's context is cancelled.
func (c *Client) read(ctx context.Context, conn *websocket.Conn) error {
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	var pinger, closer sync.WaitGroup
	defer func() { cancel(); pinger.Wait(); closer.Wait() }()
	closer.Add(1)
	go func() {
		defer closer.Done()
		select {
		case <-rctx.Done(): // the connection failed first
			return
		case <-ctx.Done():
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			if err := conn.Close(websocket.StatusNormalClosure, "hotline is shutting down"); err != nil {
				c.log.Debug("event WebSocket: close handshake", "error", err)
			}
		}()
		t := time.NewTimer(closeWait)
		defer t.Stop()
		select {
		case <-done:
		case <-t.C:
			_ = conn.CloseNow()
			<-done
		}
	}()
	if c.cfg.PingInterval > 0 {
		pinger.Add(1)
		go func() {
			defer pinger.Done()
			t := time.NewTicker(c.cfg.PingInterval)
			defer t.Stop()
			for {
				select {
				case <-rctx.Done():
					return
				case <-t.C:
					pctx, pcancel := context.WithTimeout(rctx, c.cfg.Timeout)
					err := conn.Ping(pctx)
					pcancel()
					if err != nil && rctx.Err() == nil {
						c.log.Warn("event WebSocket: no pong: dropping the connection", "error", err)
						_ = conn.CloseNow()
						return
					}
				}
			}
		}()
	}
	for {
		typ, data, err := conn.Read(rctx)
		if err != nil {
			if ctx.Err() == nil {
				_ = conn.CloseNow()
			}
			return err
		}
		if typ != websocket.MessageText {
			continue
		}
		ev, err := DecodeEvent(data)
		if err != nil {
			mEvents.WithLabelValues("invalid").Inc()
			c.log.Warn("undecodable ARI event", "error", err, "bytes", len(data))
			continue
		}
		mEvents.WithLabelValues(metricType(ev.EventType())).Inc()
		c.subs.dispatch(ev)
	}
}
