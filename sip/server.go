package sip

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/hotline-cc/hotline/call"
	"github.com/hotline-cc/hotline/sip/media"
)

// Config is what the SIP engine needs to know; config.SIP maps onto it.
type Config struct {
	Addr       string   // host:port to listen on (UDP and TCP)
	Transports []string // udp, tcp, tls
	TLS        TLSConfig
	// SRTP is the policy (off, optional, required; "" optional) for calls signalled over TLS,
	// and AgentSRTP an agent's own for the calls hotline places to them: see srtp.go.
	SRTP        string
	AgentSRTP   map[string]string
	PublicIP    string // advertised in Contact and SDP; default the listen IP
	Realm       string
	UserAgent   string
	RTPPortMin  int
	RTPPortMax  int
	RTPTimeout  time.Duration
	RingTimeout time.Duration
	Codecs      []media.Codec
	NonceTTL    time.Duration
	// TransactionLinger, when set, is how long completed transactions stay to absorb
	// retransmissions: sipgo's Timers J, L and M, which are the process's (0: sipgo's 32 s).
	TransactionLinger time.Duration
	Auth              AuthGuard // digest brute-force lockout (guard.go)
	MinExpires        int
	MaxExpires        int
	Trunk             string // host:port for calls to plain numbers
	NAT               string // NATAuto (""), NATForce or NATOff: see behindNAT
	// SymmetricRTP sends each call's RTP to where the peer's RTP comes from, once learned,
	// rather than to its SDP address (phones behind NAT).
	SymmetricRTP bool
	// Limits are the admission limits (see Limits): 0 fields take the machine's defaults.
	Limits Limits
	// Bindings stores the registrar's bindings (nil: this process's memory). Nodes of one
	// site share one store (cluster.NewBindings) to reach phones registered at any of them.
	Bindings Bindings
	// Node names this node in its bindings (informational; "" on a node on its own).
	Node string
}

// Server is the native SIP engine: listeners, registrar, inbound and outbound calls.
type Server struct {
	cfg      Config
	log      *slog.Logger
	handler  call.Handler
	password func(agent string) (string, bool)
	onReg    func(agent string, contacts int)
	now      func() time.Time

	ua     *sipgo.UserAgent
	srv    *sipgo.Server
	client *sipgo.Client
	dua    dialogUAs
	auth   *Authenticator
	reg    *Registrar
	srtp   srtpPolicies
	gate   *authGate  // digest through the brute-force guard, and security events
	ip     netip.Addr // media and Contact address
	port   int
	prompt *promptCache
	// openMedia gives a new call its RTP session (newMediaSession; a fake in unit tests).
	openMedia func() (*media.Session, error)
	// takeWait is how long the call path has to take a leg's request (see Requests).
	takeWait time.Duration
	admit    *gate // admission control (admission.go)

	mu      sync.Mutex
	dialogs map[string]*Channel // dialog ID -> channel, both directions
	wg      sync.WaitGroup      // calls in progress
	ctx     context.Context
	cancel  context.CancelFunc
	// stopListening closes the listeners, after shutdown's hangups.
	stopListening context.CancelFunc
	ready         chan struct{}
	closed        bool
}

// Option configures a Server.
type Option func(*Server)

func WithLogger(l *slog.Logger) Option { return func(s *Server) { s.log = l } }

// WithHandler sets the function that receives every inbound call.
func WithHandler(h call.Handler) Option { return func(s *Server) { s.handler = h } }

// WithCredentials sets how agents' digest passwords are found.
func WithCredentials(f func(agent string) (string, bool)) Option {
	return func(s *Server) { s.password = f }
}

// WithRegistrationHook is called when an agent's number of registered contacts changes.
func WithRegistrationHook(f func(agent string, contacts int)) Option {
	return func(s *Server) { s.onReg = f }
}

// WithClock replaces time.Now (registrar expiry and nonces).
func WithClock(now func() time.Time) Option { return func(s *Server) { s.now = now } }

// setLinger sets sipgo's linger timers once: they are package variables its transactions
// read, so they are set before the first server's first transaction and never again.
var setLinger sync.Once

// NewServer prepares the engine; Serve starts it.
func NewServer(cfg Config, opts ...Option) (*Server, error) {
	if d := cfg.TransactionLinger; d > 0 {
		setLinger.Do(func() { sip.Timer_J, sip.Timer_L, sip.Timer_M = d, d, d })
	}
	s := &Server{
		cfg: cfg, log: slog.Default(), now: time.Now,
		password: func(string) (string, bool) { return "", false },
		handler:  func(ch call.Channel) { _ = ch.Hangup(call.CauseUnallocated) },
		dialogs:  map[string]*Channel{}, ready: make(chan struct{}),
		prompt: newPromptCache(64), takeWait: takeWait,
	}
	s.openMedia = s.newMediaSession
	for _, o := range opts {
		o(s)
	}
	s.log = s.log.With("component", "sip")
	if len(s.cfg.Codecs) == 0 {
		s.cfg.Codecs = []media.Codec{media.PCMU, media.PCMA}
	}
	if s.cfg.RingTimeout == 0 {
		s.cfg.RingTimeout = 30 * time.Second
	}
	if s.cfg.NonceTTL == 0 {
		s.cfg.NonceTTL = 5 * time.Minute
	}
	if s.cfg.MinExpires == 0 {
		s.cfg.MinExpires, s.cfg.MaxExpires = 60, 3600
	}
	nat, err := ParseNAT(s.cfg.NAT)
	if err != nil {
		return nil, fmt.Errorf("sip: nat: %w", err)
	}
	s.cfg.NAT = nat
	if len(s.cfg.Transports) == 0 {
		s.cfg.Transports = []string{"udp", "tcp"}
	}
	host, portStr, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("sip: listen address %q: %w", cfg.Addr, err)
	}
	s.port, _ = strconv.Atoi(portStr)
	ipStr := host
	if cfg.PublicIP != "" {
		ipStr = cfg.PublicIP
	}
	if ipStr == "" || ipStr == "0.0.0.0" || ipStr == "::" {
		ipStr = outboundIP()
	}
	if s.ip, err = netip.ParseAddr(ipStr); err != nil {
		return nil, fmt.Errorf("sip: %q is not an IP address to advertise (set sip.public_addr)", ipStr)
	}
	if s.srtp, err = parseSRTPPolicies(cfg.SRTP, cfg.AgentSRTP); err != nil {
		return nil, err
	}
	s.auth = NewAuthenticator(cfg.Realm, s.cfg.NonceTTL, s.now)
	s.admit = newGate(s.cfg.Limits, time.Now, s.ActiveCalls, // real time: rates are about real traffic, whatever clock the registrar is given
		slog.New(newThrottle(s.log.Handler(), 10, time.Minute)))
	s.reg = newRegistrar(s.auth, s.password, s.cfg.MinExpires, s.cfg.MaxExpires, s.now, s.log, s.onReg, s.cfg.Bindings, s.cfg.Node)
	s.gate = newAuthGate(s.auth, s.password, s.cfg.Auth, s.now, s.log)
	s.reg.gate = s.gate
	return s, nil
}

// Registrar gives access to agents' registrations.
func (s *Server) Registrar() *Registrar { return s.reg }

// Ready is closed once the listeners accept requests.
func (s *Server) Ready() <-chan struct{} { return s.ready }

// Serve listens on the configured transports until ctx ends, then hangs up every call and
// waits for them to finish.
func (s *Server) Serve(ctx context.Context) error {
	stack := slog.New(newThrottle(s.log.Handler(), 10, time.Minute)).With("component", "sipgo")
	uaOpts := []sipgo.UserAgentOption{sipgo.WithUserAgent(s.cfg.UserAgent), sipgo.WithUserAgentHostname(s.ip.String()),
		sipgo.WithUserAgentParser(newParser()),
		sipgo.WithUserAgentTransportLayerOptions(sip.WithTransportLayerLogger(stack), sip.WithTransportLayerReadFilter(s.admit.filter)),
		sipgo.WithUserAgentTransactionLayerOptions(sip.WithTransactionLayerLogger(stack))}
	var serverTLS *tls.Config
	if s.cfg.hasTransport("tls") {
		var dialTLS *tls.Config
		var err error
		if serverTLS, dialTLS, err = s.tlsSetup(); err != nil {
			return err
		}
		uaOpts = append(uaOpts, sipgo.WithUserAgenTLSConfig(dialTLS))
	}
	ua, err := sipgo.NewUA(uaOpts...)
	if err != nil {
		return err
	}
	s.ua = ua
	if s.srv, err = sipgo.NewServer(ua, sipgo.WithServerLogger(stack)); err != nil {
		return err
	}
	if s.client, err = sipgo.NewClient(ua, sipgo.WithClientHostname(s.ip.String()), sipgo.WithClientLogger(stack)); err != nil {
		return err
	}
	s.dua = s.newDialogUAs()
	s.srv.OnInvite(s.admit.invite(s.onInvite))
	s.srv.OnAck(s.onAck)
	s.srv.OnBye(s.onBye)
	s.srv.OnCancel(s.onCancel) // those matching an INVITE are answered by the transaction layer
	s.srv.OnRegister(s.admit.request(kindRegister, s.onRegister))
	s.srv.OnOptions(s.admit.request(kindOptions, s.onOptions))
	s.srv.OnInfo(s.onInfo)
	s.srv.OnRefer(s.onRefer)
	// A method hotline has no handler for gets 405 whatever else is wrong with it (RFC 4475
	// mismatch02, intmeth): its CSeq is not worth a second look.
	s.srv.OnNoRoute(func(req *sip.Request, tx sip.ServerTransaction) {
		s.reject(tx, req, errMethodNotAllowed(req.Method))
	})

	s.ctx, s.cancel = context.WithCancel(ctx)
	// The listeners outlive s.ctx until shutdown has hung up every call: the BYEs go out on
	// the same sockets (a listener closed with s.ctx raced them: SIGTERM left callers in
	// calls nobody ended).
	listenCtx, stopListening := context.WithCancel(context.WithoutCancel(ctx))
	s.stopListening = stopListening
	defer stopListening()
	defer s.cancel()
	errc := make(chan error, len(s.cfg.Transports))
	var listening sync.WaitGroup
	for _, tr := range s.cfg.Transports {
		listening.Add(1)
		go func() {
			lctx := context.WithValue(listenCtx, sipgo.ListenReadyCtxKey, sipgo.ListenReadyFuncCtxValue(func(string, string) { listening.Done() }))
			addr := s.cfg.Addr
			var err error
			if tr == "tls" {
				addr = s.cfg.tlsAddr()
				err = s.srv.ListenAndServeTLS(lctx, tr, addr, serverTLS)
			} else {
				err = s.listenAndServe(lctx, tr)
			}
			if err != nil && s.ctx.Err() == nil {
				errc <- fmt.Errorf("sip: listen %s %s: %w", tr, addr, err)
				listening.Done()
				return
			}
			errc <- nil
		}()
	}
	listening.Wait()
	select {
	case err := <-errc:
		if err != nil {
			s.cancel()
			s.shutdown()
			return err
		}
	default:
	}
	close(s.ready)
	if s.cfg.hasTransport("tls") {
		s.log.Info("SIP listening", "addr", s.cfg.Addr, "tls_addr", s.cfg.tlsAddr(), "transports", s.cfg.Transports, "media_ip", s.ip)
	} else {
		s.log.Info("SIP listening", "addr", s.cfg.Addr, "transports", s.cfg.Transports, "media_ip", s.ip)
	}

	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-s.ctx.Done():
			s.shutdown()
			return nil
		case err := <-errc:
			if err != nil {
				s.cancel()
				s.shutdown()
				return err
			}
		case <-tick.C:
			s.reg.Expire()
		}
	}
}

func (s *Server) shutdown() {
	s.mu.Lock()
	s.closed = true
	calls := make([]*Channel, 0, len(s.dialogs))
	for _, c := range s.dialogs {
		calls = append(calls, c)
	}
	s.mu.Unlock()
	for _, c := range calls {
		c.end(call.CauseNormal)
	}
	s.wg.Wait()
	if s.stopListening != nil {
		s.stopListening()
	}
	var errs []error
	if s.client != nil {
		errs = append(errs, s.client.Close())
	}
	if s.srv != nil {
		errs = append(errs, s.srv.Close())
	}
	if s.ua != nil {
		errs = append(errs, s.ua.Close())
	}
	if err := errors.Join(errs...); err != nil {
		s.log.Debug("closing SIP stack", "error", err)
	}
}

// allowedMethods are the methods hotline has handlers for, as Allow lists them (OPTIONS,
// and the 405 for any other, RFC 3261 §8.2.1).
const allowedMethods = "INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, INFO, REFER"

// newParser is sipgo's message parser without its Refer-To parser: hotline reads Refer-To
// itself (parseReferTo), so that a REFER whose Refer-To it cannot use gets a 400 saying why
// rather than being dropped by the transport as an unparseable message.
func newParser() *sip.Parser {
	headers := maps.Clone(sip.DefaultHeadersParser())
	delete(headers, "refer-to")
	return sip.NewParser(sip.WithHeadersParsers(headers))
}

// responder is the side of a server transaction that answers its request; sipgo's
// sip.ServerTransaction has it.
type responder interface {
	Respond(res *sip.Response) error
}

// reject answers req with the refusal err classifies itself as (a *StatusError; anything else
// is a 500) and counts it: the one place where the SIP edge says no.
func (s *Server) reject(tx responder, req *sip.Request, err error) {
	var rej *StatusError
	if !errors.As(err, &rej) {
		rej = &StatusError{Status: 500, Reason: "Server Internal Error", Label: "internal", Err: err}
	}
	countReject(string(req.Method), rej)
	if err := tx.Respond(rej.Response(req)); err != nil {
		s.log.Debug("respond failed", "method", req.Method, "status", rej.Status, "error", err)
	}
}

func (s *Server) respond(tx responder, req *sip.Request, status int, reason string, headers ...sip.Header) {
	res := sip.NewResponseFromRequest(req, status, reason, nil)
	for _, h := range headers {
		res.AppendHeader(h)
	}
	countRequest(string(req.Method), status)
	if err := tx.Respond(res); err != nil {
		s.log.Debug("respond failed", "method", req.Method, "status", status, "error", err)
	}
}

func (s *Server) onRegister(req *sip.Request, tx sip.ServerTransaction) {
	res := s.reg.handle(req)
	countRequest("REGISTER", res.StatusCode)
	if err := tx.Respond(res); err != nil {
		s.log.Debug("REGISTER respond failed", "error", err)
	}
}

func (s *Server) onOptions(req *sip.Request, tx sip.ServerTransaction) {
	if s.refuseMalformed(tx, req) {
		return
	}
	s.respond(tx, req, 200, "OK",
		sip.NewHeader("Allow", allowedMethods),
		sip.NewHeader("Accept", "application/sdp"))
}

func (s *Server) onAck(req *sip.Request, tx sip.ServerTransaction) {
	if c := s.lookup(req, true); c != nil && c.server != nil {
		_ = c.server.ReadAck(req, tx)
		if c.lateAnswer != nil {
			select {
			case c.lateAnswer <- req.Body(): // the first ACK only; retransmissions are ignored
			default:
			}
		}
	}
}

func (s *Server) onBye(req *sip.Request, tx sip.ServerTransaction) {
	if s.refuseMalformed(tx, req) {
		return
	}
	c, err := s.dialogOf(req)
	if err != nil {
		s.reject(tx, req, err)
		return
	}
	if c.server != nil {
		err = c.server.ReadBye(req, tx)
	} else {
		err = c.client.ReadBye(req, tx)
	}
	if err != nil {
		s.reject(tx, req, errBadRequest(err))
		return
	}
	countRequest("BYE", 200)
	c.remoteHangup()
}

// onInfo accepts SIP INFO DTMF (application/dtmf-relay) from phones that do not send RFC 4733.
func (s *Server) onInfo(req *sip.Request, tx sip.ServerTransaction) {
	if s.refuseMalformed(tx, req) {
		return
	}
	c, err := s.dialogOf(req)
	if err != nil {
		s.reject(tx, req, err)
		return
	}
	c.infoDigits(req.Body())
	s.respond(tx, req, 200, "OK")
}

// dialogOf finds the call an in-dialog request (BYE, re-INVITE, INFO) belongs to, whichever
// side began it; errNoDialog (481, RFC 3261 §12.2.2) if hotline has none.
func (s *Server) dialogOf(req *sip.Request) (*Channel, error) {
	if c := s.lookup(req, true); c != nil {
		return c, nil
	}
	if c := s.lookup(req, false); c != nil {
		return c, nil
	}
	return nil, errNoDialog()
}

// lookup finds the channel a mid-dialog request belongs to, as the dialog's UAS or its UAC.
func (s *Server) lookup(req *sip.Request, uas bool) *Channel {
	var id string
	var err error
	if uas {
		id, err = sip.DialogIDFromRequestUAS(req)
	} else {
		id, err = sip.DialogIDFromRequestUAC(req)
	}
	if err != nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dialogs[id]
}

func (s *Server) track(id string, c *Channel) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.dialogs[id] = c
	return true
}

func (s *Server) untrack(id string) {
	s.mu.Lock()
	delete(s.dialogs, id)
	s.mu.Unlock()
}

// ActiveCalls is the number of call legs in progress.
func (s *Server) ActiveCalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.dialogs)
}

func (s *Server) newMediaSession() (*media.Session, error) {
	conn, rtcpConn, err := media.ListenRTP(s.listenIP(), s.cfg.RTPPortMin, s.cfg.RTPPortMax)
	if err != nil {
		return nil, err
	}
	return media.NewSession(conn, rtcpConn, media.WithLogger(s.log), media.WithInactivityTimeout(s.cfg.RTPTimeout),
		media.WithSymmetricRTP(s.cfg.SymmetricRTP)), nil
}

// listenIP is where RTP sockets bind: the SIP listen IP (loopback stays loopback).
func (s *Server) listenIP() netip.Addr {
	host, _, _ := net.SplitHostPort(s.cfg.Addr)
	if ip, err := netip.ParseAddr(host); err == nil {
		return ip
	}
	return netip.IPv4Unspecified()
}

// outboundIP is the first non-loopback IPv4 address of this host, for a wildcard listener.
func outboundIP() string {
	addrs, err := net.InterfaceAddrs()
	if err == nil {
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil {
				return n.IP.String()
			}
		}
	}
	return "127.0.0.1"
}
