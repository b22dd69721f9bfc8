package customers

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// Session is a dashboard browser session. The store keeps it under the SHA-256 of its cookie
// and never the cookie itself, so what is in the database opens no one's session. Every node
// on the same store, and the same node after a restart, finds it.
type Session struct {
	TokenID string // the API token the browser acts as
	// CSRF is the value the browser echoes in X-CSRF-Token on changes. It is no credential on
	// its own (the page's script reads it from a cookie), so it is stored as it is.
	CSRF      string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// sessionKey is how a cookie is stored: its SHA-256, in hex.
func sessionKey(cookie string) string {
	h := sha256.Sum256([]byte(cookie))
	return hex.EncodeToString(h[:])
}

// CreateSession stores a session under the SHA-256 of its cookie. CreatedAt defaults to now.
func (s *Store) CreateSession(ctx context.Context, cookie string, se Session) error {
	if cookie == "" || se.TokenID == "" || se.CSRF == "" {
		return fmt.Errorf("%w: a session needs a cookie, a token ID and a CSRF value", ErrInvalid)
	}
	if se.CreatedAt.IsZero() {
		se.CreatedAt = s.now()
	}
	if !se.ExpiresAt.After(se.CreatedAt) {
		return fmt.Errorf("%w: a session must expire after it is created (created %s, expires %s)",
			ErrInvalid, se.CreatedAt.UTC().Format(time.RFC3339), se.ExpiresAt.UTC().Format(time.RFC3339))
	}
	_, err := s.r().exec(ctx, "INSERT INTO dashboard_sessions (cookie_sha256, token_id, csrf, created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
		sessionKey(cookie), se.TokenID, se.CSRF, ms(se.CreatedAt), ms(se.ExpiresAt))
	if err != nil {
		return fmt.Errorf("customers: saving a session: %w", err)
	}
	return nil
}

// Session returns the session a cookie opens, or ErrNotFound. An expired session is returned
// as it is until DeleteExpiredSessions removes it: the caller compares ExpiresAt with its
// clock and refuses it.
func (s *Store) Session(ctx context.Context, cookie string) (Session, error) {
	var se Session
	var created, expires int64
	err := s.r().row(ctx, "SELECT token_id, csrf, created_at, expires_at FROM dashboard_sessions WHERE cookie_sha256 = ?",
		sessionKey(cookie)).Scan(&se.TokenID, &se.CSRF, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return Session{}, fmt.Errorf("%w: no such session", ErrNotFound)
	}
	if err != nil {
		return Session{}, fmt.Errorf("customers: reading a session: %w", err)
	}
	se.CreatedAt, se.ExpiresAt = fromMS(created), fromMS(expires)
	return se, nil
}

// DeleteSession ends the session a cookie opens (logout, a revoked token). A session that is
// already gone is no error.
func (s *Store) DeleteSession(ctx context.Context, cookie string) error {
	if _, err := s.r().exec(ctx, "DELETE FROM dashboard_sessions WHERE cookie_sha256 = ?", sessionKey(cookie)); err != nil {
		return fmt.Errorf("customers: deleting a session: %w", err)
	}
	return nil
}

// DeleteExpiredSessions removes the sessions that expired at or before now and returns how
// many. ApplyRetention runs it.
func (s *Store) DeleteExpiredSessions(ctx context.Context, now time.Time) (int, error) {
	res, err := s.r().exec(ctx, "DELETE FROM dashboard_sessions WHERE expires_at <= ?", ms(now))
	if err != nil {
		return 0, fmt.Errorf("customers: deleting expired sessions: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}
