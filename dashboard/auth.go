package dashboard

import (
	"context"
	"crypto/subtle"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hotline-cc/hotline/customers"
)

// Cookie and header names.
const (
	SessionCookie = "hotline_session"
	CSRFCookie    = "hotline_csrf"
	CSRFHeader    = "X-CSRF-Token"
)

// SessionTTL is how long a browser session lasts (a shift); then the user logs in again.
const SessionTTL = 12 * time.Hour

// principal is who makes a request.
type principal struct {
	Role    Role
	Agent   string // for agent tokens
	TokenID string
	Name    string
	session *session // nil for a Bearer token
}

func (p *principal) author() string {
	switch {
	case p.Role == RoleAgent:
		return p.Agent
	case p.Name != "":
		return p.Name
	}
	return string(p.Role)
}

// session is the browser session a request presents.
type session struct {
	key string // SHA-256 of the cookie: where the session's one-time reveal waits
}

// sessionStore keeps browser sessions where a restart, and every node sharing the store,
// finds them: the customer store. It keeps only the SHA-256 of each cookie.
type sessionStore interface {
	CreateSession(ctx context.Context, cookie string, se customers.Session) error
	Session(ctx context.Context, cookie string) (customers.Session, error)
	DeleteSession(ctx context.Context, cookie string) error
}

var _ sessionStore = (*customers.Store)(nil)

// takeReveal returns the secret a session is to show once and forgets it. Reveals stay in
// this process's memory (see Server.reveals).
func (s *Server) takeReveal(se *session) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.reveals[se.key]
	delete(s.reveals, se.key)
	return r
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// authenticate finds who makes the request: a Bearer token, or a browser session (whose
// state-changing requests must carry the CSRF token in X-CSRF-Token).
func (s *Server) authenticate(r *http.Request) (*principal, *APIError) {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, secret, _ := strings.Cut(h, " ")
		if !strings.EqualFold(scheme, "Bearer") {
			return nil, apiErr(http.StatusUnauthorized, "unauthorized", "", "use Authorization: Bearer <token>")
		}
		tk, ok := s.tokens.Verify(strings.TrimSpace(secret))
		if !ok {
			return nil, apiErr(http.StatusUnauthorized, "unauthorized", "", "the token is not valid (mistyped or revoked)")
		}
		return &principal{Role: tk.Role, Agent: tk.Agent, TokenID: tk.ID, Name: tk.Name}, nil
	}
	c, err := r.Cookie(SessionCookie)
	if err != nil {
		return nil, apiErr(http.StatusUnauthorized, "unauthorized", "", "send Authorization: Bearer <token>, or log in to the dashboard")
	}
	expired := apiErr(http.StatusUnauthorized, "unauthorized", "", "the session has expired; log in again")
	if c.Value == "" || len(c.Value) > 100 {
		return nil, expired
	}
	se, err := s.sessions.Session(r.Context(), c.Value)
	if errors.Is(err, customers.ErrNotFound) {
		return nil, expired
	}
	if err != nil {
		s.log.Error("reading a browser session", "err", err)
		return nil, errSessionStore
	}
	if !s.now().Before(se.ExpiresAt) {
		s.dropSession(r, c.Value)
		return nil, expired
	}
	tk, ok := s.tokens.ByID(se.TokenID)
	if !ok {
		s.dropSession(r, c.Value)
		return nil, apiErr(http.StatusUnauthorized, "unauthorized", "", "the session's token was revoked; log in again")
	}
	if !safeMethod(r.Method) {
		got := r.Header.Get(CSRFHeader)
		if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(se.CSRF)) != 1 {
			return nil, apiErr(http.StatusForbidden, "csrf", "", "missing or wrong %s header (browser sessions send the value of the %s cookie)", CSRFHeader, CSRFCookie)
		}
		if !s.sameOrigin(r) {
			return nil, apiErr(http.StatusForbidden, "csrf", "", "cross-origin request refused")
		}
	}
	return &principal{Role: tk.Role, Agent: tk.Agent, TokenID: tk.ID, Name: tk.Name, session: &session{key: hashSecret(c.Value)}}, nil
}

// errSessionStore: the store could not be asked about a session; the browser may retry.
var errSessionStore = apiErr(http.StatusServiceUnavailable, "unavailable", "", "browser sessions cannot be checked right now (the store does not answer); try again")

// dropSession deletes a session that can no longer be used (expired, its token revoked), and
// its reveal if one waits. A failure is only logged: the session is refused all the same, and
// retention removes the row once it expires.
func (s *Server) dropSession(r *http.Request, cookie string) error {
	s.mu.Lock()
	delete(s.reveals, hashSecret(cookie))
	s.mu.Unlock()
	err := s.sessions.DeleteSession(r.Context(), cookie)
	if err != nil {
		s.log.Error("deleting a browser session", "err", err)
	}
	return err
}

// sameOrigin: a browser's Origin header, when present, must be this server.
func (s *Server) sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	u, err := url.Parse(o)
	if err != nil {
		return false
	}
	if u.Host == r.Host {
		return true
	}
	if pu, err := url.Parse(s.publicURL); err == nil && pu.Host != "" && pu.Host == u.Host {
		return true
	}
	return false
}

// secure says whether cookies get the Secure flag: over TLS, or when the public URL is https
// (behind a TLS proxy). On plain http://127.0.0.1 they do not, or the browser would drop them.
func (s *Server) secure(r *http.Request) bool {
	return r.TLS != nil || strings.HasPrefix(strings.ToLower(s.publicURL), "https://")
}

// startSession saves a new session in the store and sets its cookies. reveal, if not empty,
// is shown once by GET /api/v1/me in this session.
func (s *Server) startSession(w http.ResponseWriter, r *http.Request, tk Token, reveal string) error {
	cookie, csrf, now := randomSecret(""), randomSecret(""), s.now()
	err := s.sessions.CreateSession(r.Context(), cookie, customers.Session{TokenID: tk.ID, CSRF: csrf, CreatedAt: now, ExpiresAt: now.Add(SessionTTL)})
	if err != nil {
		s.log.Error("dashboard login: saving the session", "token", tk.ID, "err", err)
		return err
	}
	if reveal != "" {
		s.mu.Lock()
		s.reveals[hashSecret(cookie)] = reveal
		s.mu.Unlock()
	}
	sec := s.secure(r)
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: cookie, Path: "/", HttpOnly: true, Secure: sec,
		SameSite: http.SameSiteStrictMode, MaxAge: int(SessionTTL.Seconds())})
	http.SetCookie(w, &http.Cookie{Name: CSRFCookie, Value: csrf, Path: "/", HttpOnly: false, Secure: sec,
		SameSite: http.SameSiteStrictMode, MaxAge: int(SessionTTL.Seconds())})
	s.log.Info("dashboard login", "token", tk.ID, "role", tk.Role, "agent", tk.Agent)
	return nil
}

// handleLoginLink redeems a one-time login link: GET /login?code=...
func (s *Server) handleLoginLink(w http.ResponseWriter, r *http.Request) {
	code := r.URL.Query().Get("code")
	tk, ok := s.tokens.Redeem(code)
	if !ok {
		http.Redirect(w, r, "/#login-failed", http.StatusSeeOther)
		return
	}
	reveal := ""
	s.mu.Lock()
	if s.first.code == code {
		reveal = s.first.secret
		s.first.secret = ""
	}
	s.mu.Unlock()
	if err := s.startSession(w, r, tk, reveal); err != nil {
		http.Error(w, "the session could not be saved (the store does not answer) and the link is used up; "+
			"make a new one with: hotline token create --role supervisor --login-link", http.StatusServiceUnavailable)
		return
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// handleLoginForm logs in with a token pasted in the login form: POST /login, token=...
func (s *Server) handleLoginForm(w http.ResponseWriter, r *http.Request) {
	if !s.sameOrigin(r) {
		http.Error(w, "cross-origin login refused", http.StatusForbidden)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 4096)
	tk, ok := s.tokens.Verify(strings.TrimSpace(r.PostFormValue("token")))
	if !ok {
		http.Redirect(w, r, "/#login-failed", http.StatusSeeOther)
		return
	}
	if err := s.startSession(w, r, tk, ""); err != nil {
		http.Error(w, "the session could not be saved (the store does not answer); try again", http.StatusServiceUnavailable)
		return
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// handleLogout ends the browser session: POST /logout with the CSRF header.
func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) {
	p, e := s.authenticate(r)
	if e != nil {
		writeError(w, e)
		return
	}
	if c, err := r.Cookie(SessionCookie); err == nil && p.session != nil {
		if err := s.dropSession(r, c.Value); err != nil {
			writeError(w, errSessionStore) // the session still works: say so rather than pretend
			return
		}
	}
	for _, name := range []string{SessionCookie, CSRFCookie} {
		http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: "/", MaxAge: -1, HttpOnly: name == SessionCookie,
			Secure: s.secure(r), SameSite: http.SameSiteStrictMode})
	}
	w.WriteHeader(http.StatusNoContent)
}
