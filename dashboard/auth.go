package dashboard

import (
	"crypto/subtle"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
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

type session struct {
	tokenID string
	csrf    string
	expires time.Time
	reveal  string // a token secret to show once (the first-start supervisor token)
}

type sessions struct {
	mu sync.Mutex
	m  map[string]*session // by SHA-256 of the cookie value
}

func (s *sessions) create(tokenID, reveal string, now time.Time) (cookie string, se *session) {
	cookie = randomSecret("")
	se = &session{tokenID: tokenID, csrf: randomSecret(""), expires: now.Add(SessionTTL), reveal: reveal}
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, v := range s.m { // drop expired ones
		if !now.Before(v.expires) {
			delete(s.m, k)
		}
	}
	s.m[hashSecret(cookie)] = se
	return cookie, se
}

func (s *sessions) get(cookie string, now time.Time) *session {
	if cookie == "" || len(cookie) > 100 {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	se := s.m[hashSecret(cookie)]
	if se == nil || !now.Before(se.expires) {
		return nil
	}
	return se
}

func (s *sessions) drop(cookie string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, hashSecret(cookie))
}

// takeReveal returns the secret to show once and forgets it.
func (s *sessions) takeReveal(se *session) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := se.reveal
	se.reveal = ""
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
	se := s.sessions.get(c.Value, s.now())
	if se == nil {
		return nil, apiErr(http.StatusUnauthorized, "unauthorized", "", "the session has expired; log in again")
	}
	tk, ok := s.tokens.ByID(se.tokenID)
	if !ok {
		s.sessions.drop(c.Value)
		return nil, apiErr(http.StatusUnauthorized, "unauthorized", "", "the session's token was revoked; log in again")
	}
	if !safeMethod(r.Method) {
		got := r.Header.Get(CSRFHeader)
		if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(se.csrf)) != 1 {
			return nil, apiErr(http.StatusForbidden, "csrf", "", "missing or wrong %s header (browser sessions send the value of the %s cookie)", CSRFHeader, CSRFCookie)
		}
		if !s.sameOrigin(r) {
			return nil, apiErr(http.StatusForbidden, "csrf", "", "cross-origin request refused")
		}
	}
	return &principal{Role: tk.Role, Agent: tk.Agent, TokenID: tk.ID, Name: tk.Name, session: se}, nil
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
	if pu, err := url.Parse(s.cfg.HTTP.PublicURL); err == nil && pu.Host != "" && pu.Host == u.Host {
		return true
	}
	return false
}

// secure says whether cookies get the Secure flag: over TLS, or when the public URL is https
// (behind a TLS proxy). On plain http://127.0.0.1 they do not, or the browser would drop them.
func (s *Server) secure(r *http.Request) bool {
	return r.TLS != nil || strings.HasPrefix(strings.ToLower(s.cfg.HTTP.PublicURL), "https://")
}

func (s *Server) startSession(w http.ResponseWriter, r *http.Request, tk Token, reveal string) {
	cookie, se := s.sessions.create(tk.ID, reveal, s.now())
	sec := s.secure(r)
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: cookie, Path: "/", HttpOnly: true, Secure: sec,
		SameSite: http.SameSiteStrictMode, MaxAge: int(SessionTTL.Seconds())})
	http.SetCookie(w, &http.Cookie{Name: CSRFCookie, Value: se.csrf, Path: "/", HttpOnly: false, Secure: sec,
		SameSite: http.SameSiteStrictMode, MaxAge: int(SessionTTL.Seconds())})
	s.log.Info("dashboard login", "token", tk.ID, "role", tk.Role, "agent", tk.Agent)
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
	s.startSession(w, r, tk, reveal)
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
	s.startSession(w, r, tk, "")
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
		s.sessions.drop(c.Value)
	}
	for _, name := range []string{SessionCookie, CSRFCookie} {
		http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: "/", MaxAge: -1, HttpOnly: name == SessionCookie,
			Secure: s.secure(r), SameSite: http.SameSiteStrictMode})
	}
	w.WriteHeader(http.StatusNoContent)
}
