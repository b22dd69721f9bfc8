// Package center wires a call's journey together: a driver delivers a channel, the flow
// runs, the ACD queues it, an agent answers, and the outcome is recorded. It owns process
// lifetime (listeners, readiness) and holds no telephony or routing logic of its own.
package center

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/hotline-cc/hotline/acd"
	"github.com/hotline-cc/hotline/call"
	"github.com/hotline-cc/hotline/config"
	"github.com/hotline-cc/hotline/customers"
	"github.com/hotline-cc/hotline/dashboard"
	"github.com/hotline-cc/hotline/ivr"
	"github.com/hotline-cc/hotline/prompts"
	"github.com/hotline-cc/hotline/sip"
)

// Center is one running hotline.
type Center struct {
	cfg          config.Config
	log          *slog.Logger
	out          io.Writer   // where the start-up banner goes
	sip          *sip.Server // the native engine, when driver is native
	engine       engine
	live         *live
	dash         *dashboard.Server
	samples      chan reportSample // ACD samples to put on their contacts, for reports
	hist         queueHistograms   // wait and handle time, on this center's /metrics
	http         *http.Server
	ready        atomic.Bool
	voice        *prompts.Library
	flows        *ivr.Library
	runner       *ivr.Runner
	acd          *acd.Distributor
	queues       *queues
	agentCfg     map[string]config.Agent
	dirty        atomic.Bool // agent states changed since last saved
	calls        *callLog
	store        *customers.Store
	records      *records
	callbacks    *callbacks
	contacts     sync.Map // call ID -> contact ID, for calls in progress
	ctx          context.Context
	stop         context.CancelFunc
	clock        func() time.Time
	reloadEvery  time.Duration
	deliveryOpts []customers.DelivererOption
	ariHTTP      *http.Client
	afterStart   []func() // run once the engine is ready

	httpAddr net.Addr
	started  chan struct{}
}

// Option configures a Center.
type Option func(*Center)

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option { return func(c *Center) { c.log = l } }

// WithBanner sets where the start-up banner is printed (default stdout).
func WithBanner(w io.Writer) Option { return func(c *Center) { c.out = w } }

// WithFlowClock sets the clock flows see (opening hours, schedules); for tests and simulations.
func WithFlowClock(now func() time.Time) Option { return func(c *Center) { c.clock = now } }

// WithDeliveryOptions tunes the webhook deliverer (tests shorten its backoff).
func WithDeliveryOptions(opts ...customers.DelivererOption) Option {
	return func(c *Center) { c.deliveryOpts = append(c.deliveryOpts, opts...) }
}

// WithReloadInterval sets how often flow files are checked for edits (default 2 s).
func WithReloadInterval(d time.Duration) Option { return func(c *Center) { c.reloadEvery = d } }

// New checks the configuration and prepares every part; Run starts them.
func New(cfg config.Config, opts ...Option) (*Center, error) {
	c := &Center{cfg: cfg, log: slog.Default(), out: os.Stdout, started: make(chan struct{}), reloadEvery: 2 * time.Second,
		agentCfg: map[string]config.Agent{}, calls: newCallLog(500)}
	for _, o := range opts {
		o(c)
	}
	c.ctx, c.stop = context.WithCancel(context.Background())
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return nil, fmt.Errorf("data_dir: %w", err)
	}
	c.voice = prompts.New(PromptsConfig(cfg), cfg.DataDir, prompts.WithLogger(c.log))
	store, err := OpenStore(c.ctx, cfg, customers.WithLogger(c.log))
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	c.store = store
	c.records = &records{c: c, store: store}
	c.callbacks = newCallbacks(c, store)
	if err := c.openFlows(); err != nil {
		return nil, err
	}
	c.samples = make(chan reportSample, 1024)
	c.hist = newQueueHistograms()
	d, err := acd.New(acdConfig(cfg), acd.SystemClock{}, acd.WithObserver(observer{c}))
	if err != nil {
		return nil, err
	}
	c.acd = d
	for _, a := range cfg.Agents {
		c.agentCfg[a.ID] = a
	}
	if c.engine, err = c.newEngine(); err != nil {
		return nil, err
	}
	c.queues = newQueues(c.ctx, d, c.engine.dialer, c.voice, c.log)
	if c.queues.rules, err = joinRules(cfg); err != nil {
		return nil, err
	}
	c.queues.moh = map[string]string{}
	for _, q := range cfg.Queues {
		c.queues.moh[q.Name] = q.MusicOnHold
	}
	c.live = newLive(c)
	c.queues.hooks.agentChanged = func(a acd.AgentStateChanged) { c.dirty.Store(true); c.live.agentChanged(a) }
	c.queues.hooks.callState = c.live.state
	c.queues.hooks.callback = c.callbacks.offer
	c.queues.book = c.records.bookFromQueue
	c.queues.converted = c.callbacks.convert
	c.runner = &ivr.Runner{
		Voice: c.voice, Queues: c.queues, Dialer: c.engine.dialer, Log: c.log,
		Customers: c.records, Voicemail: c.records, Callbacks: c.records, Surveys: c.records,
		Metrics:  flowMetrics,
		Observer: c.live,
		TempDir:  filepath.Join(cfg.DataDir, "tmp"),
		Clock:    c.clock,
	}
	if err := os.MkdirAll(c.runner.TempDir, 0o750); err != nil {
		return nil, err
	}
	if err := c.loadState(); err != nil {
		store.Close()
		return nil, fmt.Errorf("agent states: %w", err)
	}
	if c.dash, err = dashboard.New(dashboardOptions(cfg, dashboard.Options{Live: c.live, Store: store, Log: c.log})); err != nil {
		store.Close()
		return nil, fmt.Errorf("dashboard: %w", err)
	}
	return c, nil
}

var flowMetrics = ivr.NewMetrics(prometheus.DefaultRegisterer)

// openFlows loads the flows (the shipped ones, or flows.dir) and checks them against the
// configuration; a broken flow stops start-up with file:line:col messages.
func (c *Center) openFlows() error {
	cat, err := FlowCatalog(c.cfg, c.voice)
	if err != nil {
		return err
	}
	if c.flows, err = ivr.OpenFlows(FlowsConfig(c.cfg), cat, ivr.WithLibraryLogger(c.log)); err != nil {
		return fmt.Errorf("flows are not valid:\n%w", err)
	}
	return nil
}

// Flows is the flow library (for tests and the dashboard).
func (c *Center) Flows() *ivr.Library { return c.flows }

// ACD is the distributor (for tests and the dashboard).
func (c *Center) ACD() *acd.Distributor { return c.acd }

// Store is the customer store (for tests and the dashboard).
func (c *Center) Store() *customers.Store { return c.store }

// queueCfg is a queue's configuration (zero for an unknown name).
func (c *Center) queueCfg(name string) config.Queue {
	for _, q := range c.cfg.Queues {
		if q.Name == name {
			return q
		}
	}
	return config.Queue{}
}

// housekeeping applies the recordings retention once a day (and at start).
func (c *Center) housekeeping(ctx context.Context) {
	for {
		if r, err := c.store.ApplyRetention(ctx, time.Now()); err != nil {
			if ctx.Err() == nil {
				c.log.Error("retention", "error", err)
			}
		} else {
			c.log.Debug("retention applied", "result", fmt.Sprintf("%+v", r))
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(24 * time.Hour):
		}
	}
}

// Calls returns the most recent finished calls, newest last.
func (c *Center) Calls() []CallRecord { return c.calls.list() }

// SIP is the native engine (nil when calls run on Asterisk).
func (c *Center) SIP() *sip.Server { return c.sip }

// HTTPAddr is the bound HTTP address, valid after Started.
func (c *Center) HTTPAddr() net.Addr { return c.httpAddr }

// Started is closed once every listener accepts connections.
func (c *Center) Started() <-chan struct{} { return c.started }

// Run serves until ctx ends, then stops taking calls and waits for calls in progress to end.
func (c *Center) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer c.stop()
	defer c.store.Close() // last: the background work below saves to it as it stops
	var bg sync.WaitGroup
	defer bg.Wait()
	bg.Add(5)
	go func() { defer bg.Done(); c.recordSamples(ctx) }()
	go func() { defer bg.Done(); c.queues.run(ctx) }()
	go func() { defer bg.Done(); c.persist(ctx) }()
	go func() { defer bg.Done(); c.callbacks.run(ctx) }()
	go func() { defer bg.Done(); c.housekeeping(ctx) }()
	if d := newDeliverer(c.store, c.cfg.Webhooks, append([]customers.DelivererOption{customers.WithDeliveryLogger(c.log)}, c.deliveryOpts...)...); d != nil {
		bg.Add(1)
		go func() { defer bg.Done(); _ = d.Run(ctx) }()
	}
	if c.cfg.Flows.Reload && c.cfg.Flows.Dir != "" {
		bg.Add(1)
		go func() { defer bg.Done(); c.flows.Watch(ctx, c.reloadEvery) }()
	}

	ln, err := net.Listen("tcp", c.cfg.HTTP.Addr)
	if err != nil {
		return fmt.Errorf("http.addr %s: %w", c.cfg.HTTP.Addr, err)
	}
	c.httpAddr = ln.Addr()
	c.http = &http.Server{Handler: c.routes(), ReadHeaderTimeout: 10 * time.Second}
	httpErr := make(chan error, 1)
	go func() { httpErr <- c.http.Serve(ln) }()

	sipErr := make(chan error, 1)
	go func() { sipErr <- c.engine.run(ctx) }()
	select {
	case <-c.engine.ready():
	case err := <-sipErr:
		_ = c.http.Close()
		return err
	}
	for _, f := range c.afterStart {
		f()
	}
	c.ready.Store(true)
	c.banner()
	close(c.started)

	select {
	case <-ctx.Done():
	case err = <-sipErr:
	case err = <-httpErr:
	}
	c.ready.Store(false)
	cancel()
	_ = c.dash.Close() // ends the live event streams, which Shutdown would otherwise wait for
	c.live.closeAll()
	sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer scancel()
	_ = c.http.Shutdown(sctx)
	if e := <-sipErr; e != nil && err == nil {
		err = e
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

func (c *Center) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if !c.ready.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, "starting or stopping\n")
			return
		}
		io.WriteString(w, "ready\n")
	})
	reg := prometheus.NewRegistry()
	reg.MustRegister(newKPICollector(c.acd), outboxGauge(c.store), c.hist.wait, c.hist.handle)
	mux.Handle("GET /metrics", promhttp.HandlerFor(prometheus.Gatherers{prometheus.DefaultGatherer, reg}, promhttp.HandlerOpts{}))
	mux.Handle("/", c.dash) // dashboard, REST API, live events: all behind tokens
	return mux
}

func (c *Center) banner() {
	fmt.Fprintf(c.out, "\nhotline is running.\n")
	for _, line := range c.engine.banner {
		fmt.Fprintln(c.out, "  "+line)
	}
	base := c.cfg.HTTP.PublicURL
	if base == "" {
		base = "http://" + c.httpAddr.String()
	}
	if link, ok := c.dash.LoginURL(base); ok {
		fmt.Fprintf(c.out, "  Dashboard:          %s  (one-time login link for the supervisor token created now)\n", link)
	} else {
		fmt.Fprintf(c.out, "  Dashboard:          %s/  (log in with a token: hotline token create --role supervisor)\n", base)
	}
	fmt.Fprintf(c.out, "  Health and metrics: %s/healthz  %s/metrics\n\n", base, base)
}

// handleCall runs on the goroutine that owns the call: feature codes for agents, the flow
// for everyone else.
func (c *Center) handleCall(ch call.Channel) {
	if strings.HasPrefix(ch.Dialed(), "*") {
		if a, ok := ch.(agentIdentity); ok && a.Agent() != "" {
			c.featureCode(ch, a.Agent())
			return
		}
		_ = ch.Hangup(call.CauseRejected)
		return
	}
	name := c.cfg.Flows.Entry
	if r, ok := c.cfg.Flows.Routes[ch.Dialed()]; ok {
		name = r
	}
	f := c.flows.Flow(name) // the version current now: an edit later does not change this call
	if f == nil {
		c.log.Error("no flow for call", "flow", name)
		_ = ch.Hangup(call.CauseTempFailure)
		return
	}
	c.records.begin(ch.Context(), ch, f.Name)
	c.live.callStarted(ch, f.Name)
	defer c.live.callEnded(ch.ID())
	res := c.runner.Run(ch.Context(), ch, f)
	qo := c.queues.takeOutcome(ch.ID())
	// The record is written even though the caller has gone: a context that outlives the call.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ch.Context()), 10*time.Second)
	c.records.finish(rctx, ch, res, qo)
	cancel()
	c.calls.add(res, ch, c.queues.takeJournal(ch.ID()))
	c.log.Info("flow ended", "call", ch.ID(), "flow", res.Flow, "outcome", res.Outcome, "path", strings.Join(res.Nodes(), " > "))
}

// Check validates a configuration the way New would, without opening the store, binding a
// port or reaching Asterisk: the configuration, the flows against it, and the queues and
// agents as the distributor sees them. It is `hotline serve --check-config`.
func Check(cfg config.Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	voice := prompts.New(PromptsConfig(cfg), os.TempDir())
	cat, err := FlowCatalog(cfg, voice)
	if err != nil {
		return err
	}
	if _, err := ivr.OpenFlows(FlowsConfig(cfg), cat, ivr.WithLibraryLogger(slog.New(slog.DiscardHandler))); err != nil {
		return fmt.Errorf("flows are not valid:\n%w", err)
	}
	if err := acdConfig(cfg).Validate(); err != nil {
		return err
	}
	_, err = joinRules(cfg)
	return err
}
