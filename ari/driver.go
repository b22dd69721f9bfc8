package ari

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/hotline-cc/hotline/call"
)

// RecordingsFetch says what happens to a recording Asterisk stored once Record has it.
type RecordingsFetch string

const (
	// FetchAndDelete downloads the stored recording over REST to the path Record was given,
	// then deletes it from Asterisk (the default).
	FetchAndDelete RecordingsFetch = "rest"
	// FetchAndKeep downloads it but leaves Asterisk's copy in place.
	FetchAndKeep RecordingsFetch = "rest-keep"
)

// DriverConfig is what the driver needs beyond the client.
type DriverConfig struct {
	// SoundsDir is the directory shared with Asterisk (its sounds directory, or one it reads
	// by relative path): a prompt file inside it plays as sound:<relative path without
	// extension>; any other prompt is copied into SoundsDir/hotline-cache first.
	SoundsDir string
	// Endpoint turns an agent id into an Asterisk endpoint (default "PJSIP/%s").
	Endpoint string
	// URIEndpoint turns a number or SIP URI target into an endpoint, e.g. "PJSIP/%s@trunk"
	// ("" = such targets are unreachable). A target already written as Tech/resource is used as is.
	URIEndpoint string
	// RecordingsFetch: what to do with Asterisk's stored copy of a recording ("" = FetchAndDelete).
	RecordingsFetch RecordingsFetch
	// RingTimeout is used when OriginateOptions.RingTimeout is 0 (default 30 s).
	RingTimeout time.Duration
}

// Driver runs calls on Asterisk: it hands every inbound channel that enters the Stasis
// application to the handler, and places outbound calls (call.Dialer).
type Driver struct {
	c       *Client
	cfg     DriverConfig
	handler call.Handler
	log     *slog.Logger
	snd     *sounds

	regHook func(agent string, contacts int) // WithRegistrationHook
	regMu   sync.Mutex
	regQ    []regChange
	regLast map[string]int // agent -> contacts+1 last reported
	regWake chan struct{}

	mu      sync.Mutex
	ctx     context.Context // of Run; nil when not running
	calls   map[string]*Channel
	pending map[string]*origination
	wg      sync.WaitGroup // inbound handlers and orphan hangups
}

var _ call.Dialer = (*Driver)(nil)

// originateArg is the first StasisStart argument of legs hotline originated, so a leg that
// answers after its Originate gave up is recognised and hung up, never taken for a caller.
const originateArg = "hotline-originate"

// snoopArg is the first StasisStart argument of the snoop channels hotline creates to record
// and monitor conversations: the code that made one owns it, it is never taken for a caller.
const snoopArg = "hotline-snoop"

// NewDriver prepares a driver over client; handler receives inbound calls (nil: they are
// declined). Run starts it.
func NewDriver(client *Client, cfg DriverConfig, handler call.Handler, opts ...DriverOption) (*Driver, error) {
	if client == nil {
		return nil, errors.New("ari: NewDriver: nil client")
	}
	if cfg.Endpoint == "" {
		cfg.Endpoint = "PJSIP/%s"
	}
	if strings.Count(cfg.Endpoint, "%s") != 1 {
		return nil, fmt.Errorf("ari: endpoint %q: want one %%s for the agent id, e.g. PJSIP/%%s", cfg.Endpoint)
	}
	if cfg.URIEndpoint != "" && strings.Count(cfg.URIEndpoint, "%s") != 1 {
		return nil, fmt.Errorf("ari: uri endpoint %q: want one %%s for the number, e.g. PJSIP/%%s@trunk", cfg.URIEndpoint)
	}
	switch cfg.RecordingsFetch {
	case "":
		cfg.RecordingsFetch = FetchAndDelete
	case FetchAndDelete, FetchAndKeep:
	default:
		return nil, fmt.Errorf("ari: recordings fetch %q: want %q or %q", cfg.RecordingsFetch, FetchAndDelete, FetchAndKeep)
	}
	if cfg.RingTimeout <= 0 {
		cfg.RingTimeout = 30 * time.Second
	}
	if handler == nil {
		handler = func(ch call.Channel) { _ = ch.Hangup(call.CauseBusy) }
	}
	d := &Driver{c: client, cfg: cfg, handler: handler, log: client.log,
		snd: &sounds{dir: cfg.SoundsDir}, calls: map[string]*Channel{}, pending: map[string]*origination{},
		regLast: map[string]int{}, regWake: make(chan struct{}, 1)}
	for _, o := range opts {
		o(d)
	}
	client.OnConnect(d.reconcile)
	if d.FollowsRegistration() {
		client.OnConnect(d.syncEndpoints)
	}
	return d, nil
}

// Client is the ARI client the driver uses.
func (d *Driver) Client() *Client { return d.c }

// Ready is closed once the event WebSocket first connects; Originate needs it.
func (d *Driver) Ready() <-chan struct{} { return d.c.Ready() }

// ActiveCalls is the number of channels in progress.
func (d *Driver) ActiveCalls() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.calls)
}

// Run connects to Asterisk and serves calls until ctx ends; then every call is hung up and
// Run waits for the handlers to return. It returns nil when ctx ends.
func (d *Driver) Run(ctx context.Context) error {
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	d.mu.Lock()
	if d.ctx != nil {
		d.mu.Unlock()
		return errors.New("ari: driver already running")
	}
	d.ctx = rctx
	d.mu.Unlock()

	starts := d.c.SubscribeFunc(d.onStasisStart, TypeKey("StasisStart"))
	if d.FollowsRegistration() {
		eps := d.c.SubscribeFunc(d.onDeviceState, TypeKey("DeviceStateChanged"))
		defer eps.Close()
		d.wg.Add(1)
		go func() { defer d.wg.Done(); d.runRegistrations(rctx) }()
	}
	err := d.c.Listen(rctx)
	starts.Close()
	cancel() // every channel's context ends: handlers return and hang up

	d.mu.Lock()
	d.ctx = nil
	d.mu.Unlock()
	d.wg.Wait()
	d.mu.Lock()
	left := make([]*Channel, 0, len(d.calls))
	for _, ch := range d.calls {
		left = append(left, ch)
	}
	d.mu.Unlock()
	for _, ch := range left { // outbound legs whose owner did not hang up
		_ = ch.Hangup(call.CauseNormal)
	}
	return err
}

// onStasisStart runs on the event reader: a new inbound call, or an originated leg answering.
func (d *Driver) onStasisStart(ev Event) {
	e, ok := ev.(*StasisStart)
	if !ok {
		return
	}
	id := e.Channel.ID
	d.mu.Lock()
	defer d.mu.Unlock()
	if id == "" || d.calls[id] != nil || d.ctx == nil {
		return
	}
	if p := d.pending[id]; p != nil {
		delete(d.pending, id)
		p.answered <- d.newChannel(e.Channel, "outbound")
		return
	}
	if len(e.Args) > 0 && e.Args[0] == snoopArg {
		return
	}
	if len(e.Args) > 0 && e.Args[0] == originateArg {
		d.log.Warn("originated leg answered after its dial was abandoned: hanging up", "channel", id)
		d.wg.Add(1)
		go func() {
			defer d.wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), d.c.cfg.Timeout)
			defer cancel()
			_ = d.c.Hangup(ctx, id, "normal")
		}()
		return
	}
	ch := d.newChannel(e.Channel, "inbound")
	ch.answered = e.Channel.State == "Up"
	ch.log.Info("inbound call", "caller", ch.caller.Number, "dialed", ch.dialed, "args", e.Args)
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		defer func() { _ = ch.Hangup(call.CauseNormal) }()
		d.handler(ch)
	}()
}

// newChannel creates and tracks a channel and subscribes to its events; d.mu is held and
// the caller runs on the event reader, so no event for the channel can be missed.
func (d *Driver) newChannel(data ChannelData, dir string) *Channel {
	ctx, cancel := context.WithCancel(d.ctx)
	c := &Channel{
		d: d, id: data.ID, name: data.Name, dir: dir, ctx: ctx, cancel: cancel,
		caller: call.Party{Number: data.Caller.Number, Name: data.Caller.Name},
		dialed: data.Dialplan.Exten, digits: call.NewDigits(64),
		started: time.Now(), done: make(chan struct{}),
		reqs: make(chan call.Request), reqWake: make(chan struct{}, 1),
	}
	go c.runRequests()
	c.log = d.log.With("call", c.id, "direction", dir)
	c.answered = dir == "outbound"
	c.sub = d.c.SubscribeFunc(c.onEvent, ChannelKey(c.id))
	d.calls[c.id] = c
	mActiveCalls.Inc()
	return c
}

func (d *Driver) untrack(id string) {
	d.mu.Lock()
	delete(d.calls, id)
	d.mu.Unlock()
}

// reconcile runs after every reconnection of the event WebSocket: Asterisk replays nothing,
// so every call it no longer has is ended here (cause normal) instead of waiting forever.
func (d *Driver) reconcile(ctx context.Context, reconnect bool) {
	if !reconnect {
		return
	}
	d.mu.Lock()
	known := make([]*Channel, 0, len(d.calls)) // taken before asking: later calls are not judged
	for _, ch := range d.calls {
		known = append(known, ch)
	}
	d.mu.Unlock()
	if len(known) == 0 {
		return
	}
	var list []ChannelData
	var err error
	for try := 0; ; try++ {
		if list, err = d.c.Channels(ctx); err == nil {
			break
		}
		if ctx.Err() != nil {
			return
		}
		if try == 4 {
			d.log.Error("reconcile after reconnect: cannot list channels; calls may be stale", "error", err)
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(d.c.backoff(try)):
		}
	}
	have := make(map[string]bool, len(list))
	for _, ch := range list {
		have[ch.ID] = true
	}
	ended := 0
	for _, ch := range known {
		if !have[ch.id] {
			ended++
			ch.remoteEnd(call.CauseNormal, "gone from Asterisk while the event WebSocket was down")
		}
	}
	d.log.Info("reconciled calls after reconnect", "known", len(known), "ended", ended)
}
