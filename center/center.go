// Package center is the wiring: it builds hotline's parts from the configuration, connects
// them, and owns process lifetime (listeners, readiness, shutdown). A call's life is a
// journey (package journey) that the driver's goroutine carries through the flow (ivr), the
// waiting room (waitroom) and its records; center holds no telephony, routing or waiting logic.
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
	"github.com/hotline-cc/hotline/agents"
	"github.com/hotline-cc/hotline/call"
	"github.com/hotline-cc/hotline/callbacks"
	"github.com/hotline-cc/hotline/config"
	"github.com/hotline-cc/hotline/conversation"
	"github.com/hotline-cc/hotline/customers"
	"github.com/hotline-cc/hotline/dashboard"
	"github.com/hotline-cc/hotline/ivr"
	"github.com/hotline-cc/hotline/journey"
	"github.com/hotline-cc/hotline/prompts"
	"github.com/hotline-cc/hotline/reports"
	"github.com/hotline-cc/hotline/sip"
	"github.com/hotline-cc/hotline/waitroom"
	"github.com/hotline-cc/hotline/webphone"
)

// Center is one running hotline: the parts, built from the configuration, and connected.
type Center struct {
	cfg     config.Config
	log     *slog.Logger
	out     io.Writer        // where the start-up banner goes
	sip     *sip.Server      // the native engine, when driver is native
	phones  *webphone.Phones // agents' browser phones (native engine, desk.browser_phone)
	engine  engine
	ctx     context.Context
	stop    context.CancelFunc
	started chan struct{}
	ready   atomic.Bool

	// The parts, each with one job.
	store     *customers.Store
	voice     *prompts.Library
	flows     *ivr.Library
	runner    *ivr.Runner
	acd       acd.Engine
	calls     *journey.Registry // the journeys in progress
	callLog   *journey.Log      // the last calls finished
	records   *journey.Records
	samples   *journey.Samples
	room      *waitroom.Room
	callbacks *callbacks.Dialer
	live      *live // the dashboard's view
	dash      *dashboard.Server
	hist      reports.QueueHistograms // wait and handle time, on this center's /metrics
	agents    *agents.Desk
	plan      conversation.DialPlan // what agents transfer to
	recorder  *conversation.Recorder
	monitors  *conversation.Monitors
	texts     *prompts.Texts
	site      site // with cluster.shared

	http     *http.Server
	httpAddr net.Addr

	// Options.
	clock        func() time.Time
	reloadEvery  time.Duration
	reloadMu     sync.Mutex // one ReloadFlows at a time
	deliveryOpts []customers.DelivererOption
	ariHTTP      *http.Client
	afterStart   []func() // run once the engine is ready
	// bannerPasswords shows SIP passwords in the banner (the demo configuration only).
	bannerPasswords bool
}

// Option configures a Center.
type Option func(*Center)

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option { return func(c *Center) { c.log = l } }

// WithBannerPasswords prints the agents' and supervisors' SIP passwords in the start-up
// banner: for the embedded demo configuration, whose passwords are no secret; with a real
// configuration file they are (off by default).
func WithBannerPasswords(on bool) Option { return func(c *Center) { c.bannerPasswords = on } }

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

// New checks the configuration and prepares every part; Run starts them. Each part is
// built complete, from what was built before it: nothing is wired in afterwards.
func New(cfg config.Config, opts ...Option) (*Center, error) {
	c := &Center{cfg: cfg, log: slog.Default(), out: os.Stdout, started: make(chan struct{}), reloadEvery: 2 * time.Second,
		callLog: journey.NewLog(500)}
	for _, o := range opts {
		o(c)
	}
	c.ctx, c.stop = context.WithCancel(context.Background())
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return nil, fmt.Errorf("data_dir: %w", err)
	}
	c.voice = prompts.New(PromptsConfig(cfg), cfg.DataDir, prompts.WithLogger(c.log))
	texts, err := prompts.LoadTexts(cfg.Prompts.Dir)
	if err != nil {
		return nil, fmt.Errorf("prompts.dir texts:\n%w", err)
	}
	c.texts = texts
	if err := c.openFlows(); err != nil {
		return nil, err
	}
	rules, err := joinRules(cfg, c.flows.Set())
	if err != nil {
		return nil, err
	}
	store, err := OpenStore(c.ctx, cfg, customers.WithLogger(c.log),
		customers.WithErased(func(_ context.Context, id string) error { return c.voice.ForgetCustomer(id) }))
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	c.store = store
	fail := func(err error) (*Center, error) { store.Close(); return nil, err }
	// Conversation recordings a crash interrupted are kept, marked incomplete.
	if n, err := store.RecoverRecordings(c.ctx); err != nil {
		return fail(fmt.Errorf("recovering interrupted recordings: %w", err))
	} else if n > 0 {
		c.log.Warn("recordings interrupted by a crash were kept, marked incomplete", "recordings", n)
	}
	// Calls a crash cut off are closed on their customers' timelines, outcome interrupted.
	if n, err := store.RecoverContacts(c.ctx); err != nil {
		return fail(err)
	} else if n > 0 {
		c.log.Warn("calls interrupted by a crash were closed on their contacts", "contacts", n)
	}
	c.samples = journey.NewSamples(store, 1024, c.log)
	c.hist = reports.NewQueueHistograms()
	if c.acd, err = c.openACD(); err != nil {
		return fail(err)
	}
	fail = func(err error) (*Center, error) { store.Close(); c.stop(); c.closeSite(); return nil, err }
	c.agents = agents.New(agents.Config{Distributor: c.acd, Store: store, Voice: c.voice, Texts: texts, AutoLogin: autoLogin(cfg), Log: c.log})
	if c.engine, err = c.newEngine(); err != nil {
		return fail(err)
	}
	c.plan = dialPlan(cfg)
	events := newHub(c.acd)
	c.calls = journey.NewRegistry(events.callChanged)
	c.callbacks = callbacks.New(c.ctx, callbacks.Config{Store: store, Distributor: c.acd, Dialer: c.engine.dialer,
		Voice: c.voice, Texts: texts, CallerID: cfg.SIP.UserAgent, MissReason: waitroom.MissReason, Log: c.log})
	c.records = journey.NewRecords(store, c.calls, journey.RecordsConfig{Queues: queuePolicies(cfg), CallbackBooked: c.callbacks.Kick, Log: c.log})
	c.recorder = &conversation.Recorder{Policy: recordingPolicies(cfg), Tapes: tapes{store: store, retain: retainDays(cfg)},
		Calls: c.calls, Audit: c.audit, Log: c.log}
	c.monitors = &conversation.Monitors{Dialer: c.engine.dialer, Calls: c.calls, Supervisors: supervisorNames(cfg), Log: c.log}
	c.room = waitroom.New(c.ctx, waitroom.Config{
		Distributor: c.acd, Dialer: c.engine.dialer, Calls: c.calls, Voice: c.voice, Texts: texts,
		Booker: c.records, Callbacks: c.callbacks, MusicOnHold: musicOnHold(cfg), Consent: consentAnnouncements(cfg), Log: c.log,
		Talk: conversation.Config{Plan: c.plan, KeepArrival: keepArrival(cfg), Outbound: store.CheckOutbound, Resolver: resolver(c.engine.dialer),
			Recorder: c.recorder, Monitors: c.monitors, Audit: c.audit},
		Priority:     func(queue string, base int, vars map[string]any) int { return priority(rules[queue], base, vars) },
		AgentChanged: func(a acd.AgentStateChanged) { c.agents.Changed(); events.agentChanged(a) },
	})
	c.live = &live{hub: events, acd: c.acd, flows: c.flows, calls: c.calls, room: c.room, callbacks: c.callbacks,
		monitors: c.monitors, recorder: c.recorder, phones: c.phones, isAgent: isAgent(cfg), log: c.log}
	c.runner = &ivr.Runner{
		Voice: c.voice, Queues: c.room, Dialer: c.engine.dialer, Log: c.log,
		Customers: c.records, Voicemail: c.records, Callbacks: c.records, Surveys: c.records,
		Metrics:  flowMetrics,
		Observer: flowObserver{Nodes: journey.Nodes{Calls: c.calls}, rec: c.recorder},
		TempDir:  filepath.Join(cfg.DataDir, "tmp"),
		Clock:    c.clock,
	}
	if err := os.MkdirAll(c.runner.TempDir, 0o750); err != nil {
		return fail(err)
	}
	c.startACD() // before the first request: Restore's
	if err := c.agents.Restore(c.ctx, c.room.Apply); err != nil {
		return fail(fmt.Errorf("agent states: %w", err))
	}
	dopts := dashboardOptions(cfg, dashboard.Options{Live: c.live, Store: store, Log: c.log, WrapUp: c.live})
	if r := c.site.replica; r != nil {
		dopts.Site = dashboard.Site{Node: cfg.Cluster.Node, Nodes: r.Nodes}
	}
	if c.dash, err = dashboard.New(dopts); err != nil {
		return fail(fmt.Errorf("dashboard: %w", err))
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

// ReloadFlows reads the flow files again now; a clean edit is what new calls get, a broken
// one is refused (the error: its diagnostics) and the flows serving stay. from says who
// asked, for the audit trail: "signal" (SIGHUP), "watch" (flows.reload saw the files
// change). A reload that changed the flows is audited as flows.reload, one refused on a
// signal as flows.reload_refused.
func (c *Center) ReloadFlows(from string) error {
	c.reloadMu.Lock() // the watcher and a signal: each sees its own before and after
	defer c.reloadMu.Unlock()
	before := c.flows.Set()
	err := c.flows.Reload()
	after := c.flows.Set()
	ctx := context.WithoutCancel(c.ctx)
	switch {
	case after != before:
		var changed []string
		for _, name := range after.Names() {
			if o := before.Flow(name); o == nil || o.Version != after.Flow(name).Version {
				changed = append(changed, name+"@"+after.Flow(name).Version)
			}
		}
		c.systemAudit(ctx, "flows.reload", c.cfg.Flows.Dir, from, map[string]any{"changed": changed})
	case err != nil && from != "watch": // the watcher retries every interval: the library logs a refusal once
		n := 1
		var diags ivr.Diagnostics
		if errors.As(err, &diags) {
			n = len(diags)
		}
		c.systemAudit(ctx, "flows.reload_refused", c.cfg.Flows.Dir, from, map[string]any{"errors": n})
	}
	return err
}

// watchFlows reloads the flows every reloadEvery until ctx ends.
func (c *Center) watchFlows(ctx context.Context) {
	t := time.NewTicker(c.reloadEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			_ = c.ReloadFlows("watch")
		}
	}
}

// systemAudit writes what hotline itself did on an operator's behalf (a reload).
func (c *Center) systemAudit(ctx context.Context, action, object, from string, detail map[string]any) {
	if err := c.store.Audit(ctx, customers.AuditEntry{Actor: "system", Role: "system", Action: action, Object: object, From: from, Detail: detail}); err != nil {
		c.log.Error("audit not written", "action", action, "object", object, "error", err)
	}
}

// Flows is the flow library (for tests and the dashboard).
func (c *Center) Flows() *ivr.Library { return c.flows }

// ACD is the distributor (for tests and the dashboard).
func (c *Center) ACD() acd.Engine { return c.acd }

// Store is the customer store (for tests and the dashboard).
func (c *Center) Store() *customers.Store { return c.store }

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
func (c *Center) Calls() []CallRecord { return c.callLog.List() }

// CallRecord is a finished call as its journey saw it.
type CallRecord = journey.Record

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
	defer c.closeSite()
	var bg sync.WaitGroup
	defer bg.Wait()
	bg.Add(5)
	go func() { defer bg.Done(); c.samples.Run(ctx) }()
	go func() { defer bg.Done(); c.room.Run(ctx) }()
	go func() { defer bg.Done(); c.agents.Persist(ctx) }()
	go func() { defer bg.Done(); c.callbacks.Run(ctx, c.room.Apply) }()
	go func() { defer bg.Done(); c.housekeeping(ctx) }()
	if d := newDeliverer(c.store, c.cfg.Webhooks, append([]customers.DelivererOption{customers.WithDeliveryLogger(c.log)}, c.deliveryOpts...)...); d != nil {
		bg.Add(1)
		go func() { defer bg.Done(); _ = d.Run(ctx) }()
	}
	if c.cfg.Flows.Reload && c.cfg.Flows.Dir != "" {
		bg.Add(1)
		go func() { defer bg.Done(); c.watchFlows(ctx) }()
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
	case err = <-c.site.failed: // nil without cluster.shared: never ready
	}
	c.ready.Store(false)
	cancel()
	_ = c.dash.Close() // ends the live event streams, which Shutdown would otherwise wait for
	c.live.Close()
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
	reg.MustRegister(reports.NewCollector(c.acd), reports.OutboxGauge(c.store), c.hist.Wait, c.hist.Handle)
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
	if len(c.cfg.Agents) > 0 {
		fmt.Fprintf(c.out, "  Agent desktop:      %s/agent  (an agent's login link: hotline token create --role agent --agent %s --login-link)\n", base, c.cfg.Agents[0].ID)
	}
	fmt.Fprintf(c.out, "  Health and metrics: %s/healthz  %s/metrics\n\n", base, base)
}

// handleCall runs on the goroutine that owns the call: feature codes for agents, the flow
// for everyone else.
func (c *Center) handleCall(ch call.Channel) {
	if c.supervisorCall(ch) {
		return
	}
	if strings.HasPrefix(ch.Dialed(), "*") {
		if a, ok := ch.(agents.Identity); ok && a.Agent() != "" {
			c.agents.FeatureCode(ch, a.Agent(), c.room.Apply)
			return
		}
		_ = ch.Hangup(call.CauseRejected)
		return
	}
	if a, ok := ch.(agents.Identity); ok && a.Agent() != "" && c.plan.Agents[ch.Dialed()] {
		c.room.Consult(ch, a.Agent()) // an agent calling a colleague: a consultation
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
	j := c.calls.Start(ch, f.Name)
	defer c.calls.End(j)
	// The contact is written even when the caller hangs up before its commit (a caller who
	// hangs up at once still called): a context that outlives the call, as for Finish.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ch.Context()), 10*time.Second)
	c.records.Begin(rctx, j)
	cancel()
	res := c.runner.Run(ch.Context(), ch, f)
	c.recorder.Finish(j) // the caller has hung up: the conversation recording ends and is kept
	rctx, cancel = context.WithTimeout(context.WithoutCancel(ch.Context()), 10*time.Second)
	c.records.Finish(rctx, j, res)
	cancel()
	c.callLog.Add(j, res)
	c.log.Info("flow ended", "call", ch.ID(), "flow", res.Flow, "outcome", res.Outcome, "path", strings.Join(res.Nodes(), " > "))
}

// observer feeds the distributor's samples into Prometheus histograms, and onto the contacts
// they describe so reports computed from the store match the live figures.
type observer struct{ c *Center }

func (o observer) ObserveWait(s acd.WaitSample) {
	o.c.hist.Wait.WithLabelValues(s.Queue, string(s.Outcome)).Observe(s.Wait.Seconds())
	o.c.samples.Add(journey.Sample{CallID: s.CallID, Kind: s.Kind, Event: reports.LeftEvent(time.Now(), s)})
}

func (o observer) ObserveHandle(s acd.HandleSample) {
	o.c.hist.Handle.WithLabelValues(s.Queue).Observe(s.Handle().Seconds())
	o.c.samples.Add(journey.Sample{CallID: s.CallID, Kind: s.Kind, Event: reports.HandledEvent(time.Now(), s)})
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
	lib, err := ivr.OpenFlows(FlowsConfig(cfg), cat, ivr.WithLibraryLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		return fmt.Errorf("flows are not valid:\n%w", err)
	}
	if _, err := prompts.LoadTexts(cfg.Prompts.Dir); err != nil {
		return fmt.Errorf("prompts.dir texts:\n%w", err)
	}
	if err := ACDConfig(cfg).Validate(); err != nil {
		return err
	}
	_, err = joinRules(cfg, lib.Set())
	return err
}
