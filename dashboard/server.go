package dashboard

import (
	"cmp"
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"mime"
	"net/http"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hotline-cc/hotline/customers"
	"github.com/hotline-cc/hotline/reports"
)

// Options are what the dashboard needs. Live, Store and DataDir are required.
type Options struct {
	Live    Live
	Store   *customers.Store // the customer record, and where browser sessions are kept
	Log     *slog.Logger
	DataDir string // where the tokens file lives
	// Site names this node and lists the site's nodes, on a site of several (zero: one node).
	Site Site
	// SharedTokens keeps the API tokens in Store instead of DataDir's file, so every node of
	// a site accepts them (cluster.shared).
	SharedTokens bool
	Clock        func() time.Time // default time.Now
	// PublicURL is the base URL people open the dashboard at (http.public_url): login links,
	// the origins accepted, Secure cookies when it is https. "" = http://<Addr>.
	PublicURL string
	Addr      string // host:port the HTTP server listens on (http.addr)
	// Rules are the configured queues' thresholds, by queue name, for reports and plans; a
	// queue not here is unknown to them. Thresholds left at zero get the ACD's defaults.
	Rules map[string]reports.Rules
	// Members are the configured agents and the queues each is in, by agent ID: an agent's
	// token sees those queues only, and tickets may be assigned to these agents (to anyone
	// when there are none).
	Members map[string][]string
	// SampleEvery is how often the wallboard chart samples each queue (default 1 minute); the
	// last 24 hours of samples are kept in memory.
	SampleEvery time.Duration
	// RefreshEvery is how often queue figures are pushed to live streams even without events,
	// so rolling windows and waits stay current (default 5 s).
	RefreshEvery time.Duration
	// Supervisors are the configured supervisors' IDs (their phones join calls they monitor),
	// in the order the supervisor UI offers them. With one, POST .../monitor may leave the
	// supervisor out; with several it must name one of them.
	Supervisors []string
	// HideMonitorFromAgents keeps agent tokens from seeing who monitors their calls (the
	// monitor field of a live call). By default they see it.
	HideMonitorFromAgents bool
	// Dispositions are each queue's wrap-up codes (queue → codes), shown in the agent's
	// wrap-up form and checked when it is submitted; a queue without any takes notes only.
	Dispositions map[string][]string
	// WrapUp ends an agent's wrap-up when they submit the wrap-up form; nil = the form only
	// saves the disposition (the wrap-up timer ends the wrap-up).
	WrapUp WrapUpEnder
	// ICEServers are the STUN/TURN servers the browser phone is told to use.
	ICEServers []ICEServer
}

// Server is the dashboard and the API: an http.Handler for everything except /healthz,
// /readyz and /metrics, which the center mounts. Close stops its background work.
type Server struct {
	site      Site
	live      Live
	store     *customers.Store
	publicURL string
	addr      string
	log       *slog.Logger
	now       func() time.Time
	tokens    *Tokens
	sessions  sessionStore
	hub       *hub
	mux       *http.ServeMux
	routes    []route
	rules     map[string]reports.Rules
	members   map[string][]string // agent → configured queues
	// supervisors who may monitor calls; hideMonitor hides who does from agent tokens
	supervisors []string
	hideMonitor bool
	// the agent desktop: wrap-up codes by queue and what ends a wrap-up (nil-safe), the
	// browser phone's ICE servers, and the browser phones registered now (agent → line)
	dispositions map[string][]string
	wrapUp       WrapUpEnder
	iceServers   []ICEServer
	lines        map[string]PhoneLine

	mu    sync.Mutex
	first struct{ code, secret string }
	// reveals is the first-start supervisor secret waiting to be shown once to the session
	// the login link opened, by the SHA-256 of its cookie. It stays in this process's memory
	// on purpose: the store keeps sessions, but no token secret in clear. A restart, or a node
	// other than the one that printed the link answering /api/v1/me, before the banner showed
	// loses it; hotline token create makes another supervisor token.
	reveals map[string]string
}

//go:embed web
var webFS embed.FS

// New builds the dashboard. On the first start (no supervisor token in the tokens file) it
// creates a supervisor token and a one-time login link (LoginURL).
func New(opts Options) (*Server, error) {
	if opts.Live == nil {
		return nil, errors.New("dashboard: Options.Live is required")
	}
	if opts.Store == nil {
		return nil, errors.New("dashboard: Options.Store is required")
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.DataDir == "" {
		return nil, errors.New("dashboard: Options.DataDir is required")
	}
	if opts.SampleEvery <= 0 {
		opts.SampleEvery = time.Minute
	}
	if opts.RefreshEvery <= 0 {
		opts.RefreshEvery = 5 * time.Second
	}
	tokens, err := openTokens(opts)
	if err != nil {
		return nil, err
	}
	s := &Server{site: opts.Site, live: opts.Live, store: opts.Store, publicURL: opts.PublicURL, addr: opts.Addr, log: opts.Log.With("component", "dashboard"),
		now: opts.Clock, tokens: tokens, sessions: opts.Store, reveals: map[string]string{}, mux: http.NewServeMux(),
		rules: reports.QueueRules(opts.Rules), members: map[string][]string{},
		supervisors: slices.Clone(opts.Supervisors), hideMonitor: opts.HideMonitorFromAgents,
		dispositions: map[string][]string{}, wrapUp: opts.WrapUp, iceServers: slices.Clone(opts.ICEServers), lines: map[string]PhoneLine{}}
	for q, codes := range opts.Dispositions {
		s.dispositions[q] = slices.Clone(codes)
	}
	for id, queues := range opts.Members {
		s.members[id] = queues
	}
	has, err := tokens.HasRole(RoleSupervisor)
	if err != nil {
		return nil, err
	}
	if !has {
		secret, tk, err := tokens.Create(RoleSupervisor, "", "created at first start")
		if err != nil {
			return nil, err
		}
		code, err := tokens.LoginCode(tk.ID, LoginTTL)
		if err != nil {
			return nil, err
		}
		s.first.code, s.first.secret = code, secret
		if s.store != nil {
			err := s.store.Audit(context.Background(), customers.AuditEntry{Actor: "system", Role: "system", Action: "token.create", Object: tk.ID,
				From: "system", Detail: map[string]any{"role": string(tk.Role), "name": tk.Name}})
			if err != nil {
				s.log.Error("audit", "action", "token.create", "object", tk.ID, "err", err)
			}
		}
		s.log.Info("created the first supervisor token; open the login link printed at start-up", "token", tk.ID, "file", cmp.Or(tokens.Path(), "(the shared store)"))
	}
	s.routes = s.apiRoutes()
	s.mount()
	s.hub = newHub(s, opts.SampleEvery, opts.RefreshEvery)
	return s, nil
}

// Close stops the live stream and the sampler and ends open event streams.
func (s *Server) Close() error {
	s.hub.close()
	return nil
}

// Tokens is the token store (for tests and tools).
func (s *Server) Tokens() *Tokens { return s.tokens }

// LoginURL is the one-time login link for the start-up banner, if this start created the
// first supervisor token: base (or http.public_url, or http://<http.addr>) + /login?code=...
func (s *Server) LoginURL(base string) (string, bool) {
	s.mu.Lock()
	code := s.first.code
	s.mu.Unlock()
	if code == "" {
		return "", false
	}
	if base == "" {
		base = s.publicURL
	}
	if base == "" {
		base = "http://" + s.addr
	}
	return strings.TrimRight(base, "/") + "/login?code=" + code, true
}

// Security headers on every response.
const csp = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self' blob:; " +
	"connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// ServeHTTP serves the dashboard, the login endpoints and the API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Permissions-Policy", "camera=(), microphone=(self), geolocation=()") // the browser phone
	if s.secure(r) {
		h.Set("Strict-Transport-Security", "max-age=31536000")
	}
	s.mux.ServeHTTP(w, r)
}

func (s *Server) mount() {
	paths := map[string][]string{}
	for _, rt := range s.routes {
		rt := rt
		s.mux.HandleFunc(rt.Method+" "+rt.Path, func(w http.ResponseWriter, r *http.Request) { s.serveAPI(w, r, rt) })
		paths[rt.Path] = append(paths[rt.Path], rt.Method)
	}
	for p, methods := range paths {
		allow := strings.Join(methods, ", ")
		s.mux.HandleFunc(p, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Allow", allow)
			writeError(w, apiErr(http.StatusMethodNotAllowed, "method_not_allowed", "", "%s %s: use %s", r.Method, r.URL.Path, allow))
		})
	}
	s.mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, notFound("no API endpoint %s %s; see /api/v1/openapi.json", r.Method, r.URL.Path))
	})
	s.mux.HandleFunc("GET /login", s.handleLoginLink)
	s.mux.HandleFunc("POST /login", s.handleLoginForm)
	s.mux.HandleFunc("POST /logout", s.handleLogout)
	s.mux.HandleFunc("GET /{$}", s.serveAsset("index.html"))
	s.mux.HandleFunc("GET /agent", s.serveAsset("agent.html"))
	s.mux.HandleFunc("GET /assets/{file}", func(w http.ResponseWriter, r *http.Request) { s.serveAsset(r.PathValue("file"))(w, r) })
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) })
}

func (s *Server) serveAsset(name string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		b, err := fs.ReadFile(webFS, path.Join("web", path.Clean("/"+name)))
		if err != nil {
			http.NotFound(w, r)
			return
		}
		ct := mime.TypeByExtension(path.Ext(name))
		if ct == "" {
			ct = "application/octet-stream"
		}
		w.Header().Set("Content-Type", ct)
		w.Header().Set("Cache-Control", "no-cache")
		w.Write(b)
	}
}

// serveAPI authenticates, checks the route's roles and runs the handler.
func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request, rt route) {
	var p *principal
	if !rt.Public {
		var e *APIError
		if p, e = s.authenticate(r); e != nil {
			writeError(w, e)
			return
		}
		if !slices.Contains(rt.Roles, p.Role) {
			writeError(w, forbidden("a %s token may not %s %s (allowed: %s)", p.Role, r.Method, rt.Path, roleList(rt.Roles)))
			return
		}
	}
	w.Header().Set("Cache-Control", "no-store")
	if err := rt.handle(w, r, p); err != nil {
		e := toAPIError(err)
		if e.Status >= 500 {
			s.log.Error("api", "method", r.Method, "path", r.URL.Path, "err", err)
		}
		writeError(w, e)
	}
}

func roleList(rs []Role) string {
	var out []string
	for _, r := range rs {
		out = append(out, string(r))
	}
	return strings.Join(out, ", ")
}

func (s *Server) errorf(format string, a ...any) error { return fmt.Errorf("dashboard: "+format, a...) }

func openTokens(opts Options) (*Tokens, error) {
	if opts.SharedTokens && opts.Store != nil {
		return OpenSharedTokens(opts.Store, opts.DataDir, opts.Clock)
	}
	return OpenTokens(opts.DataDir, opts.Clock)
}

// Site is this node's place in a site of several nodes.
type Site struct {
	Node  string                                      // this node's name
	Nodes func(ctx context.Context) ([]string, error) // the site's live nodes
}
