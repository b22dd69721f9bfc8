package sip

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
)

// AuthGuard configures the digest brute-force lockout. Zero fields take the defaults in
// brackets; a negative MaxFailures or UserMaxFailures turns that lock off.
//
// The shape follows what Kamailio's recipes do with htable (count failed auth per source IP,
// refuse the IP for a while without looking at its credentials) rather than a tarpit: a
// delayed answer would hold a goroutine and a transaction per guess, turning the attacker's
// rate into our memory. A locked source gets 403 at once, no digest computed and no new
// challenge, so a guessing tool learns nothing and a real phone stops retransmitting.
type AuthGuard struct {
	// MaxFailures failed authentications from one IP address within Window lock that address
	// out for Lockout [5 in 5m, locked 15m].
	MaxFailures int
	Window      time.Duration
	Lockout     time.Duration
	// UserMaxFailures failed authentications as one account, from any addresses, within
	// Window lock the account for UserLockout [20, 5m] against every address that has not
	// authenticated as it in the last day: the agent's own phones keep working while a
	// botnet guesses its password, and a new place to log in from waits at most UserLockout
	// after the attack stops.
	UserMaxFailures int
	UserLockout     time.Duration
	// MaxSources bounds the addresses tracked [10000]; past it the oldest quiet ones are
	// forgotten first, so a flood from many addresses costs bounded memory.
	MaxSources int
	// Exempt addresses are never locked (an office whose phones share one NAT address, a
	// monitoring probe); their failures are still security events.
	Exempt []netip.Prefix
}

func (c AuthGuard) withDefaults() AuthGuard {
	if c.MaxFailures == 0 {
		c.MaxFailures = 5
	}
	if c.Window <= 0 {
		c.Window = 5 * time.Minute
	}
	if c.Lockout <= 0 {
		c.Lockout = 15 * time.Minute
	}
	if c.UserMaxFailures == 0 {
		c.UserMaxFailures = 20
	}
	if c.UserLockout <= 0 {
		c.UserLockout = 5 * time.Minute
	}
	if c.MaxSources <= 0 {
		c.MaxSources = 10000
	}
	return c
}

// trustFor is how long an address that authenticated as an account stays exempt from that
// account's lock; trustedPerUser bounds how many are kept per account (phones, desk, home).
const (
	trustFor       = 24 * time.Hour
	trustedPerUser = 16
)

// lock scopes, as hotline_sip_auth_lockouts_total and the events' reasons name them.
const (
	scopeSource = "source"
	scopeUser   = "user"
)

// guard counts failed digest authentications per source address and per account and says
// who is locked out. Pure bookkeeping with an injected clock; authGate does the SIP side.
type guard struct {
	cfg AuthGuard
	now func() time.Time

	mu      sync.Mutex
	sources map[netip.Addr]*strikes
	users   map[string]*account
}

// strikes are the failures counted since since; until is the end of a lock.
type strikes struct {
	n     int
	since time.Time
	until time.Time
}

type account struct {
	strikes
	trusted map[netip.Addr]time.Time // address -> last successful authentication
}

func newGuard(cfg AuthGuard, now func() time.Time) *guard {
	return &guard{cfg: cfg.withDefaults(), now: now, sources: map[netip.Addr]*strikes{}, users: map[string]*account{}}
}

func (g *guard) exempt(ip netip.Addr) bool {
	for _, p := range g.cfg.Exempt {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// locked says whether a request from ip for user must be refused unchecked, by which lock
// and until when.
func (g *guard) locked(ip netip.Addr, user string) (scope string, until time.Time) {
	if g.exempt(ip) {
		return "", time.Time{}
	}
	now := g.now()
	g.mu.Lock()
	defer g.mu.Unlock()
	if s := g.sources[ip]; s != nil && now.Before(s.until) {
		return scopeSource, s.until
	}
	if a := g.users[user]; a != nil && now.Before(a.until) {
		if t, ok := a.trusted[ip]; !ok || now.Sub(t) > trustFor {
			return scopeUser, a.until
		}
	}
	return "", time.Time{}
}

// fail counts a failed authentication from ip, as user if known (an account that exists:
// made-up names are not tracked, so they cannot grow the table). It returns the scopes this
// failure locked.
func (g *guard) fail(ip netip.Addr, user string, known bool) []string {
	now := g.now()
	var locked []string
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.cfg.MaxFailures > 0 && !g.exempt(ip) {
		s := g.sources[ip]
		if s == nil {
			g.makeRoom(now)
			s = &strikes{}
			g.sources[ip] = s
		}
		if s.count(now, g.cfg.Window, g.cfg.MaxFailures, g.cfg.Lockout) {
			locked = append(locked, scopeSource)
		}
	}
	if known && g.cfg.UserMaxFailures > 0 {
		a := g.users[user]
		if a == nil {
			if len(g.users) >= g.cfg.MaxSources {
				return locked
			}
			a = &account{trusted: map[netip.Addr]time.Time{}}
			g.users[user] = a
		}
		if a.count(now, g.cfg.Window, g.cfg.UserMaxFailures, g.cfg.UserLockout) {
			locked = append(locked, scopeUser)
		}
	}
	return locked
}

// count adds a failure; it reports whether the failure starts a lock. A lock starts the
// count afresh, so an address that keeps guessing after it ends is locked again within max.
func (s *strikes) count(now time.Time, window time.Duration, max int, lockout time.Duration) bool {
	if now.Before(s.until) {
		return false // already locked (an exempt check raced a lock): nothing new
	}
	if s.n == 0 || now.Sub(s.since) > window {
		s.n, s.since = 0, now
	}
	s.n++
	if s.n < max {
		return false
	}
	s.n, s.until = 0, now.Add(lockout)
	return true
}

// succeed forgets ip's failures and trusts ip for user.
func (g *guard) succeed(ip netip.Addr, user string) {
	now := g.now()
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.sources, ip)
	a := g.users[user]
	if a == nil {
		if len(g.users) >= g.cfg.MaxSources {
			return
		}
		a = &account{trusted: map[netip.Addr]time.Time{}}
		g.users[user] = a
	}
	if _, ok := a.trusted[ip]; !ok && len(a.trusted) >= trustedPerUser {
		var oldest netip.Addr
		var at time.Time
		for k, t := range a.trusted {
			if at.IsZero() || t.Before(at) {
				oldest, at = k, t
			}
		}
		delete(a.trusted, oldest)
	}
	a.trusted[ip] = now
}

// makeRoom keeps the source table under MaxSources: first it drops the addresses whose
// count and lock have both run out; if every one is live, it drops unlocked ones, then any.
// It runs only when the table is full, and frees a tenth of it, so a flood pays the sweep
// once per thousand new addresses, not per packet.
func (g *guard) makeRoom(now time.Time) {
	if len(g.sources) < g.cfg.MaxSources {
		return
	}
	target := g.cfg.MaxSources - max(1, g.cfg.MaxSources/10)
	for ip, s := range g.sources {
		if !now.Before(s.until) && now.Sub(s.since) > g.cfg.Window {
			delete(g.sources, ip)
		}
	}
	for ip, s := range g.sources {
		if len(g.sources) <= target {
			return
		}
		if !now.Before(s.until) {
			delete(g.sources, ip)
		}
	}
	for ip := range g.sources {
		if len(g.sources) <= target {
			return
		}
		delete(g.sources, ip)
	}
}

// tracked is the number of source addresses in the table (tests: bounded memory).
func (g *guard) tracked() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.sources)
}

// authGate is digest authentication as the SIP edge does it: the guard's locks first (no
// digest work for a locked address), then the Authenticator, then the bookkeeping and the
// security event of the outcome. The registrar and the INVITEs that need digest share it.
type authGate struct {
	auth     *Authenticator
	password func(user string) (string, bool)
	guard    *guard
	events   *securityLog
}

func newAuthGate(auth *Authenticator, password func(string) (string, bool), cfg AuthGuard, now func() time.Time, log *slog.Logger) *authGate {
	return &authGate{auth: auth, password: password, guard: newGuard(cfg, now), events: newSecurityLog(log, now)}
}

// authenticate checks req's Authorization for its method. It returns the user, or an error
// the caller answers with: ErrNoCredentials, ErrStaleNonce, ErrForeignNonce and ErrReplay ask
// for a new challenge (401); ErrLockedOut and ErrBadCredentials (ErrUnknownUser among them)
// refuse (403).
func (g *authGate) authenticate(req *sip.Request) (string, error) {
	ip := sourceIP(req)
	// A locked source is refused first, credentials unread, even without them (no nonce for
	// it to work with): the cheapest answer hotline has, for the address that sends the most.
	if scope, until := g.guard.locked(ip, ""); scope != "" {
		g.events.reportLazy(req, EventFailedACL, "", func() string { return lockedReason(scope, until) })
		return "", ErrLockedOut
	}
	var header string
	if h := req.GetHeader("Authorization"); h != nil {
		header = h.Value()
	}
	cr, err := parseCredentials(header)
	if cr != nil {
		if scope, until := g.guard.locked(ip, cr.Username); scope != "" {
			g.events.reportLazy(req, EventFailedACL, cr.Username, func() string { return lockedReason(scope, until) })
			return cr.Username, ErrLockedOut
		}
	}
	if errors.Is(err, ErrNoCredentials) {
		return "", err
	}
	if err != nil {
		g.events.report(req, EventRequestBadFormat, "", "unreadable Authorization: "+err.Error())
		return "", err
	}
	user, err := g.auth.verify(cr, string(req.Method), ip, g.password)
	switch {
	case err == nil:
		g.guard.succeed(ip, user)
		return user, nil
	case errors.Is(err, ErrReplay):
		// Not counted as a guess and left out of the fail2ban filter: a replay needs no
		// knowledge of the password and can come with a forged source address.
		g.events.report(req, EventChallengeResponseFailed, cr.Username, "nonce count replayed")
		return cr.Username, err
	case errors.Is(err, ErrForeignNonce):
		g.events.report(req, EventChallengeResponseFailed, cr.Username, "nonce not issued by hotline to this address")
		return cr.Username, err
	case errors.Is(err, ErrStaleNonce):
		return cr.Username, err
	case errors.Is(err, ErrUnknownUser):
		g.events.report(req, EventInvalidAccountID, cr.Username, "no account with this user name")
		g.lockedNow(req, cr.Username, g.guard.fail(ip, cr.Username, false))
		return cr.Username, err
	default:
		reason := "digest response does not match the password"
		if err != ErrBadCredentials { // a realm, algorithm or qop hotline never asked for
			reason = err.Error()
		}
		g.events.report(req, EventInvalidPassword, cr.Username, reason)
		_, known := g.password(cr.Username)
		g.lockedNow(req, cr.Username, g.guard.fail(ip, cr.Username, known))
		return cr.Username, err
	}
}

func lockedReason(scope string, until time.Time) string {
	return scope + " locked out until " + until.UTC().Format(time.RFC3339) + " after failed authentications"
}

// lockedNow reports the locks a failure started.
func (g *authGate) lockedNow(req *sip.Request, user string, scopes []string) {
	c := g.guard.cfg
	for _, scope := range scopes {
		mLockouts.WithLabelValues(scope).Inc()
		reason := fmt.Sprintf("source locked out for %v after %d failed authentications within %v", c.Lockout, c.MaxFailures, c.Window)
		if scope == scopeUser {
			reason = fmt.Sprintf("account locked for %v against new sources after %d failed authentications within %v", c.UserLockout, c.UserMaxFailures, c.Window)
		}
		g.events.report(req, EventFailedACL, user, reason)
	}
}

// challenge is a WWW-Authenticate value for req's source; stale when err says the nonce
// was merely old or not meant for this address (the phone retries without asking its user).
func (g *authGate) challenge(req *sip.Request, err error) string {
	return g.auth.Challenge(sourceIP(req), errors.Is(err, ErrStaleNonce) || errors.Is(err, ErrForeignNonce))
}

// sourceIP is the address a request came from (its transport's, else its Via's); the zero
// Addr if neither is an IP.
func sourceIP(req *sip.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(req.Source())
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}
