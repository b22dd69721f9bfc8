-- hotline customer store, schema version 3: conversation recordings and the audit trail.
-- A call recording's row says what it holds beyond the file: the call and queue, the agents
-- heard on it, the spans of silence while it was paused (JSON [{"start_ms":..,"end_ms":..}]),
-- whether audio is missing (a crash, a write error), and when its queue's retention ends
-- (NULL = the store's default). Voicemails keep the defaults.

ALTER TABLE recordings ADD COLUMN call_id TEXT NOT NULL DEFAULT '';
ALTER TABLE recordings ADD COLUMN queue TEXT NOT NULL DEFAULT '';
ALTER TABLE recordings ADD COLUMN agents TEXT NOT NULL DEFAULT '[]';      -- JSON list of agent IDs
ALTER TABLE recordings ADD COLUMN paused TEXT NOT NULL DEFAULT '[]';      -- JSON list of spans
ALTER TABLE recordings ADD COLUMN incomplete INTEGER NOT NULL DEFAULT 0;
ALTER TABLE recordings ADD COLUMN retain_until BIGINT;                   -- NULL = the store's retention
CREATE INDEX recordings_contact ON recordings (contact_id);
CREATE INDEX recordings_retain ON recordings (retain_until);

-- Who did what to what: recordings played and downloaded, recordings started, stopped,
-- paused and resumed, monitoring sessions. detail is a JSON object; it never holds a secret
-- or a full phone number.
CREATE TABLE audit (
    id     TEXT PRIMARY KEY,                 -- UUIDv7
    at     BIGINT NOT NULL,
    actor  TEXT NOT NULL,                    -- the token ID, or "system" / "phone:<agent>"
    role   TEXT NOT NULL DEFAULT '',         -- supervisor | agent | integration | system
    action TEXT NOT NULL,                    -- recording.play, monitor.start, ...
    object TEXT NOT NULL DEFAULT '',         -- a recording ID, a call ID
    detail TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_at ON audit (at, id);
CREATE INDEX audit_object ON audit (object, at);
CREATE INDEX audit_action ON audit (action, at);
