package center

import (
	"context"
	"fmt"
	"net/http"
	"slices"

	"github.com/hotline-cc/hotline/ari"
	"github.com/hotline-cc/hotline/call"
	"github.com/hotline-cc/hotline/config"
	"github.com/hotline-cc/hotline/sip"
	"github.com/hotline-cc/hotline/sip/media"
)

// engine is what carries the calls: hotline's own SIP/RTP stack, or Asterisk over ARI. The
// flows, the ACD and the records above it are the same code either way.
type engine struct {
	dialer call.Dialer
	run    func(ctx context.Context) error
	ready  func() <-chan struct{}
	banner []string // where to point phones, for the start-up banner
}

func (c *Center) newEngine() (engine, error) {
	if c.cfg.Driver == "ari" {
		return c.newARIEngine()
	}
	return c.newSIPEngine()
}

func (c *Center) newSIPEngine() (engine, error) {
	cfg := c.cfg
	codecs := make([]media.Codec, 0, len(cfg.SIP.Codecs))
	for _, name := range cfg.SIP.Codecs {
		if name == "PCMA" {
			codecs = append(codecs, media.PCMA)
		} else {
			codecs = append(codecs, media.PCMU)
		}
	}
	passwords := map[string]string{}
	for _, a := range cfg.Agents {
		passwords[a.ID] = a.Password
	}
	supervisors := supervisorNames(cfg)
	for _, s := range cfg.Supervisors {
		passwords[s.ID] = s.Password // supervisors' phones register too: monitoring calls them
	}
	srv, err := sip.NewServer(sip.Config{
		Addr: cfg.SIP.Addr, Transports: cfg.SIP.Transports, PublicIP: cfg.SIP.PublicAddr,
		TLS:   sip.TLSConfig{Addr: cfg.SIP.TLS.Addr, CertFile: cfg.SIP.TLS.CertFile, KeyFile: cfg.SIP.TLS.KeyFile, CAFile: cfg.SIP.TLS.CAFile},
		Realm: cfg.SIP.Realm, UserAgent: cfg.SIP.UserAgent,
		RTPPortMin: cfg.SIP.RTPPortMin, RTPPortMax: cfg.SIP.RTPPortMax,
		RTPTimeout: cfg.SIP.RTPTimeout.D(), RingTimeout: cfg.SIP.RingTimeout.D(), TransactionLinger: cfg.SIP.TransactionLinger.D(),
		Codecs: codecs, NonceTTL: cfg.SIP.NonceTTL.D(),
		MinExpires: cfg.SIP.MinExpires, MaxExpires: cfg.SIP.MaxExpires, Trunk: cfg.SIP.Trunk,
		NAT: cfg.SIP.NAT, SymmetricRTP: cfg.SIP.SymmetricRTP, Limits: sip.Limits(cfg.SIP.Limits.Values()),
		SRTP: cfg.Media.SRTP, AgentSRTP: agentSRTP(cfg.Agents),
		Bindings: c.siteBindings(), Node: c.siteNode(),
		Auth: sip.AuthGuard{
			MaxFailures: cfg.SIP.Auth.MaxFailures, Window: cfg.SIP.Auth.Window.D(), Lockout: cfg.SIP.Auth.Lockout.D(),
			UserMaxFailures: cfg.SIP.Auth.UserMaxFailures, UserLockout: cfg.SIP.Auth.UserLockout.D(),
			MaxSources: cfg.SIP.Auth.MaxSources, Exempt: cfg.SIP.Auth.ExemptPrefixes(),
		},
	},
		sip.WithLogger(c.log),
		sip.WithHandler(c.handleCall),
		sip.WithCredentials(func(agent string) (string, bool) { p, ok := passwords[agent]; return p, ok }),
		sip.WithRegistrationHook(func(user string, contacts int) {
			if _, sup := supervisors[user]; !sup {
				c.agents.Registered(user, contacts+c.webContacts(user), c.room.Apply)
			}
		}),
	)
	if err != nil {
		return engine{}, err
	}
	c.sip = srv
	var dialer call.Dialer = srv
	if cfg.Desk.Phone() {
		if c.phones, err = c.newPhones(); err != nil {
			return engine{}, fmt.Errorf("desk: %w", err)
		}
		dialer = agentDialer{sip: srv, web: c.phones, agent: isAgent(cfg)}
	}
	e := engine{dialer: dialer, run: srv.Serve, ready: srv.Ready,
		banner: []string{fmt.Sprintf("Call the hotline:   sip:hotline@%s (%v)", cfg.SIP.Addr, cfg.SIP.Transports)}}
	if slices.Contains(cfg.SIP.Transports, "tls") {
		e.banner = append(e.banner, fmt.Sprintf("Over TLS:           sip:hotline@%s;transport=tls (SRTP %s; phones register with ;transport=tls)", cfg.SIP.TLS.ListenAddr(cfg.SIP.Addr), cfg.Media.SRTP))
	}
	password := func(p string) string {
		if c.bannerPasswords {
			return p
		}
		return "(as configured)"
	}
	for _, a := range cfg.Agents {
		e.banner = append(e.banner, fmt.Sprintf("Agent softphone:    user %s, password %s, registrar %s (%s)", a.ID, password(a.Password), cfg.SIP.Addr, a.Name))
	}
	for _, s := range cfg.Supervisors {
		e.banner = append(e.banner, fmt.Sprintf("Supervisor phone:   user %s, password %s, registrar %s (%s): dial *81<agent> to listen", s.ID, password(s.Password), cfg.SIP.Addr, s.Name))
	}
	return e, nil
}

// newARIEngine drives calls through Asterisk. Agents are Asterisk endpoints there: the driver
// follows their state (a phone registering or leaving) and logs agents in and out by it, as the
// native registrar does. Only with an endpoint template it cannot follow (text after %s) are
// auto_login agents logged in at start, whether their phone is there or not.
func (c *Center) newARIEngine() (engine, error) {
	cfg := c.cfg.ARI
	client, err := ari.NewClient(ari.Config{URL: cfg.URL, Username: cfg.Username, Password: cfg.Password,
		App: cfg.App, ReconnectMax: cfg.Reconnect.D()}, ari.WithLogger(c.log), ari.WithHTTPClient(c.ariHTTP))
	if err != nil {
		return engine{}, err
	}
	supervisors := supervisorNames(c.cfg)
	d, err := ari.NewDriver(client, ari.DriverConfig{SoundsDir: cfg.SoundsDir, Endpoint: cfg.Endpoint,
		URIEndpoint: cfg.TrunkEndpoint, RingTimeout: c.cfg.SIP.RingTimeout.D()}, c.handleCall,
		ari.WithRegistrationHook(func(user string, contacts int) {
			if _, sup := supervisors[user]; !sup {
				c.agents.Registered(user, contacts, c.room.Apply)
			}
		}))
	if err != nil {
		return engine{}, err
	}
	if !d.FollowsRegistration() {
		c.afterStart = append(c.afterStart, func() {
			for _, a := range c.cfg.Agents {
				if a.AutoLogin {
					acts, err := c.acd.Login(a.ID)
					c.room.Apply(acts)
					c.log.Info("agent auto-login (Asterisk endpoint)", "agent", a.ID, "error", err)
				}
			}
		})
	}
	return engine{dialer: d, run: d.Run, ready: d.Ready, banner: []string{
		fmt.Sprintf("Calls run on Asterisk: %s (Stasis app %q); agents are endpoints %s", cfg.URL, cfg.App, fmt.Sprintf(cfg.Endpoint, "<id>")),
	}}, nil
}

// WithARIHTTPClient sets the HTTP client for the ARI REST calls (tests point it at a fake).
func WithARIHTTPClient(h *http.Client) Option { return func(c *Center) { c.ariHTTP = h } }

// resolver is the engine's way to name the channel of a dialog a phone refers to (attended
// transfers), nil when it has none.
func resolver(d call.Dialer) call.DialogResolver {
	r, _ := d.(call.DialogResolver)
	return r
}

// agentSRTP is the agents' own SRTP policies (agents[].srtp), by agent id.
func agentSRTP(agents []config.Agent) map[string]string {
	m := map[string]string{}
	for _, a := range agents {
		if a.SRTP != "" {
			m[a.ID] = a.SRTP
		}
	}
	return m
}
