package dashboard

import (
	"errors"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"

	"github.com/hotline-cc/hotline/customers"
	"github.com/hotline-cc/hotline/customers/storetest"
)

// TestSessionSurvivesRestart: a supervisor logged in before hotline restarts is still logged
// in after it, with the same cookies, and the session still demands its CSRF value.
func TestSessionSurvivesRestart(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	var me Me
	e.ok(200, e.doWith(b, "GET", "/api/v1/me", "", nil, nil)).json(t, &me)
	if !strings.HasPrefix(me.NewToken, "hl_") {
		t.Fatalf("me before the restart %+v: want the first-start token shown", me)
	}
	csrf, cookie := e.csrf(b), e.sessionCookie(b)

	e.restart()
	me = Me{}
	e.ok(200, e.doWith(b, "GET", "/api/v1/me", "", nil, nil)).json(t, &me)
	if me.Role != RoleSupervisor || !me.Session || me.NewToken != "" {
		t.Fatalf("me after the restart %+v: want the same supervisor session, the token not shown again", me)
	}
	pause := map[string]string{"action": "pause", "reason": "lunch"}
	if ae := e.wantError(e.doWith(b, "POST", "/api/v1/agents/1001/actions", "", pause, nil), 403, ""); ae.Code != "csrf" {
		t.Fatalf("a change without the CSRF header after the restart: %+v", ae)
	}
	e.wantError(e.doWith(b, "POST", "/api/v1/agents/1001/actions", "", pause, map[string]string{CSRFHeader: "forged"}), 403, "")
	var a AgentView
	e.ok(200, e.doWith(b, "POST", "/api/v1/agents/1001/actions", "", pause, map[string]string{CSRFHeader: csrf})).json(t, &a)
	if a.State != "paused" || a.PauseReason != "lunch" {
		t.Fatalf("agent after the paused action: %+v", a)
	}

	// Logout deletes the session: the old cookie, replayed after another restart, opens nothing.
	e.ok(204, e.doWith(b, "POST", "/logout", "", nil, map[string]string{CSRFHeader: csrf}))
	if _, err := e.store.Session(e.ctx, cookie); !errors.Is(err, customers.ErrNotFound) {
		t.Fatalf("the session after logout: %v, want it deleted", err)
	}
	e.restart()
	replay := map[string]string{"Cookie": SessionCookie + "=" + cookie + "; " + CSRFCookie + "=" + csrf}
	e.wantError(e.doWith(http.DefaultClient, "GET", "/api/v1/me", "", nil, replay), 401, "")
}

// TestSessionExpires: a session works until SessionTTL has passed, then is refused with the
// message to log in again, and its row is deleted.
func TestSessionExpires(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	cookie := e.sessionCookie(b)
	e.clk.Advance(SessionTTL - 1)
	e.ok(200, e.doWith(b, "GET", "/api/v1/me", "", nil, nil))
	e.clk.Advance(1)
	ae := e.wantError(e.doWith(b, "GET", "/api/v1/me", "", nil, nil), 401, "")
	if ae.Message != "the session has expired; log in again" {
		t.Fatalf("expired session: %q", ae.Message)
	}
	if _, err := e.store.Session(e.ctx, cookie); !errors.Is(err, customers.ErrNotFound) {
		t.Fatalf("the expired session: %v, want it deleted", err)
	}
	// A revoked token's session is deleted too.
	b = e.browserWith(e.agent1)
	cookie = e.sessionCookie(b)
	tk, _ := e.srv.Tokens().Verify(e.agent1)
	if err := e.srv.Tokens().Revoke(tk.ID); err != nil {
		t.Fatal(err)
	}
	if ae := e.wantError(e.doWith(b, "GET", "/api/v1/me", "", nil, nil), 401, ""); !strings.Contains(ae.Message, "revoked") {
		t.Fatalf("revoked token's session: %q", ae.Message)
	}
	if _, err := e.store.Session(e.ctx, cookie); !errors.Is(err, customers.ErrNotFound) {
		t.Fatalf("the revoked token's session: %v, want it deleted", err)
	}
}

// TestSessionSharedByNodes: two hotline nodes on one store (sharing the tokens file): a
// browser logged in on one is logged in on the other, and logging out on the other ends it
// on both. On SQLite and on PostgreSQL.
func TestSessionSharedByNodes(t *testing.T) {
	for _, db := range []struct {
		name string
		dsn  func(t *testing.T) string
	}{{"sqlite", func(*testing.T) string { return "" }}, {"postgres", func(t *testing.T) string { return storetest.PostgresDSN(t) }}} {
		t.Run(db.name, func(t *testing.T) {
			e := newEnvOn(t, db.dsn(t))
			if got := e.store.Dialect(); got != db.name {
				t.Fatalf("store dialect %s, want %s", got, db.name)
			}
			store2, srv2, ts2 := e.node()
			t.Cleanup(func() { srv2.Close(); ts2.Close(); store2.Close() })
			other := *e
			other.store, other.srv, other.ts = store2, srv2, ts2

			b := e.browser() // on node 1
			csrf := e.csrf(b)
			var me Me
			other.ok(200, other.doWith(b, "GET", "/api/v1/me", "", nil, nil)).json(t, &me)
			if me.Role != RoleSupervisor || !me.Session {
				t.Fatalf("me on node 2: %+v", me)
			}
			pause := map[string]string{"action": "pause", "reason": "meeting"}
			other.wantError(other.doWith(b, "POST", "/api/v1/agents/1002/actions", "", pause, map[string]string{CSRFHeader: "forged"}), 403, "")
			other.ok(200, other.doWith(b, "POST", "/api/v1/agents/1002/actions", "", pause, map[string]string{CSRFHeader: csrf}))

			cookies := map[string]string{"Cookie": SessionCookie + "=" + e.sessionCookie(b)}
			other.ok(204, other.doWith(b, "POST", "/logout", "", nil, map[string]string{CSRFHeader: csrf}))
			e.wantError(e.doWith(http.DefaultClient, "GET", "/api/v1/me", "", nil, cookies), 401, "")
		})
	}
}

// TestSessionStoreDown: when the store does not answer, a session is neither accepted nor
// thrown away: the browser gets 503 and may retry, and a login says it could not be saved.
// Bearer tokens do not need the store to authenticate.
func TestSessionStoreDown(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	if err := e.store.Close(); err != nil {
		t.Fatal(err)
	}
	ae := e.wantError(e.doWith(b, "GET", "/api/v1/me", "", nil, nil), 503, "")
	if ae.Code != "unavailable" || !strings.Contains(ae.Message, "try again") {
		t.Fatalf("session check with the store down: %+v", ae)
	}
	if e.sessionCookie(b) == "" {
		t.Fatal("the browser lost its cookie")
	}
	res, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).
		PostForm(e.ts.URL+"/login", map[string][]string{"token": {e.sup}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 503 || len(res.Cookies()) != 0 {
		t.Fatalf("login with the store down: %d, cookies %v; want 503 and no cookie", res.StatusCode, res.Cookies())
	}
	e.ok(200, e.do("GET", "/api/v1/me", e.sup, nil))
}

// sessionCookie is the browser's session cookie (HttpOnly: the page cannot read it, the jar can).
func (e *env) sessionCookie(c *http.Client) string {
	e.t.Helper()
	for _, ck := range c.Jar.Cookies(mustURL(e.ts.URL)) {
		if ck.Name == SessionCookie {
			return ck.Value
		}
	}
	e.t.Fatal("no session cookie")
	return ""
}

// browserWith is a browser logged in with a token through the login form.
func (e *env) browserWith(token string) *http.Client {
	e.t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	res, err := c.PostForm(e.ts.URL+"/login", map[string][]string{"token": {token}})
	if err != nil {
		e.t.Fatal(err)
	}
	res.Body.Close()
	if res.Request.URL.Path != "/" || res.Request.URL.Fragment != "" {
		e.t.Fatalf("form login led to %s", res.Request.URL)
	}
	return c
}
