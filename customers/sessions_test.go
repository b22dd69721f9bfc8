package customers

import (
	"errors"
	"time"
)

func testSessions(e *env) {
	const cookie = "Qm9uam91ciBsZXMgc3VwZXJ2aXNldXJzIGRlIGhvdGxpbmU"
	now := e.clk.Now()
	want := Session{TokenID: "tk_0a1b2c3d4e5f", CSRF: "csrf-value-1", CreatedAt: now, ExpiresAt: now.Add(12 * time.Hour)}
	e.must(e.s.CreateSession(e.ctx, cookie, want))

	// The cookie is never stored: the row is keyed by its SHA-256.
	var key string
	var n int
	e.must(e.s.r().row(e.ctx, "SELECT cookie_sha256 FROM dashboard_sessions").Scan(&key))
	if key != sessionKey(cookie) || key == cookie || len(key) != 64 {
		e.Errorf("the session is stored under %q, want the hex SHA-256 of the cookie", key)
	}
	e.must(e.s.r().row(e.ctx, "SELECT COUNT(*) FROM dashboard_sessions WHERE cookie_sha256 = ? OR token_id = ? OR csrf = ?",
		cookie, cookie, cookie).Scan(&n))
	if n != 0 {
		e.Error("the raw cookie is in the database")
	}

	// After a restart, and on another node sharing the store, the cookie finds the session.
	for name, s := range map[string]*Store{"same store": e.s, "another node": e.open()} {
		got, err := s.Session(e.ctx, cookie)
		e.must(err)
		if got.TokenID != want.TokenID || got.CSRF != want.CSRF || !got.CreatedAt.Equal(want.CreatedAt) || !got.ExpiresAt.Equal(want.ExpiresAt) {
			e.Errorf("%s: session %+v, want %+v", name, got, want)
		}
	}
	if _, err := e.s.Session(e.ctx, cookie+"x"); !errors.Is(err, ErrNotFound) {
		e.Errorf("a wrong cookie: %v, want ErrNotFound", err)
	}
	if err := e.s.CreateSession(e.ctx, cookie, want); err == nil {
		e.Error("a second session under the same cookie was accepted")
	}
	for _, bad := range []Session{{CSRF: "c", ExpiresAt: now.Add(time.Hour)}, {TokenID: "tk_1", ExpiresAt: now.Add(time.Hour)},
		{TokenID: "tk_1", CSRF: "c", ExpiresAt: now.Add(-time.Hour)}} {
		if err := e.s.CreateSession(e.ctx, "other", bad); !errors.Is(err, ErrInvalid) {
			e.Errorf("session %+v: %v, want ErrInvalid", bad, err)
		}
	}

	// Logout deletes the row, on every node; deleting it again is harmless.
	e.must(e.s.CreateSession(e.ctx, "logout", Session{TokenID: "tk_1", CSRF: "c2", ExpiresAt: now.Add(time.Hour)}))
	e.must(e.open().DeleteSession(e.ctx, "logout"))
	if _, err := e.s.Session(e.ctx, "logout"); !errors.Is(err, ErrNotFound) {
		e.Errorf("after logout: %v, want ErrNotFound", err)
	}
	e.must(e.s.DeleteSession(e.ctx, "logout"))

	// Retention removes the expired sessions and keeps the live ones.
	e.must(e.s.CreateSession(e.ctx, "short", Session{TokenID: "tk_2", CSRF: "c3", ExpiresAt: now.Add(time.Hour)}))
	e.clk.Advance(time.Hour) // "short" expires exactly now
	got, err := e.s.ApplyRetention(e.ctx, e.clk.Now())
	e.must(err)
	if got.Sessions != 1 {
		e.Errorf("retention removed %d sessions, want the 1 expired one", got.Sessions)
	}
	if _, err := e.s.Session(e.ctx, "short"); !errors.Is(err, ErrNotFound) {
		e.Errorf("the expired session is still there: %v", err)
	}
	if _, err := e.s.Session(e.ctx, cookie); err != nil {
		e.Errorf("retention removed a live session: %v", err)
	}
	e.clk.Advance(11 * time.Hour)
	if n, err := e.s.DeleteExpiredSessions(e.ctx, e.clk.Now()); err != nil || n != 1 {
		e.Errorf("at its expiry the 12-hour session was not removed: %d, %v", n, err)
	}
}
