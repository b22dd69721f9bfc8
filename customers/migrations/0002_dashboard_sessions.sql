-- hotline customer store, schema version 2: dashboard browser sessions, here so that they
-- survive a restart and every node sharing the store knows them. A session is keyed by the
-- SHA-256 of its hotline_session cookie; the cookie itself is never stored, so reading the
-- database opens no one's session. The one-time reveal of the first-start supervisor token
-- is not stored here either (it stays in the memory of the node that made the login link).

CREATE TABLE dashboard_sessions (
    cookie_sha256 TEXT PRIMARY KEY,           -- hex SHA-256 of the session cookie
    token_id      TEXT NOT NULL,              -- the API token the browser acts as (tokens.json)
    csrf          TEXT NOT NULL,              -- the hotline_csrf cookie's value (double submit)
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL
);
CREATE INDEX dashboard_sessions_expires ON dashboard_sessions (expires_at);
