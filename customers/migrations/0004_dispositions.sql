-- hotline customer store, schema version 4: wrap-up dispositions. After a call the agent
-- picks a disposition code of the queue (resolved, follow-up, ...) and writes a note; one row
-- per contact and agent (a second submit replaces code and note). The note is personal data:
-- Erase blanks it. Times are Unix milliseconds.

CREATE TABLE dispositions (
    id          TEXT PRIMARY KEY,                 -- UUIDv7
    contact_id  TEXT NOT NULL,
    call_id     TEXT NOT NULL DEFAULT '',
    customer_id TEXT NOT NULL DEFAULT '',
    queue       TEXT NOT NULL DEFAULT '',
    agent       TEXT NOT NULL,
    code        TEXT NOT NULL DEFAULT '',         -- '' = a note only (the queue has no codes)
    note        TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE UNIQUE INDEX dispositions_contact ON dispositions (contact_id, agent);
CREATE INDEX dispositions_queue ON dispositions (queue, created_at);
CREATE INDEX dispositions_agent ON dispositions (agent, created_at);
CREATE INDEX dispositions_customer ON dispositions (customer_id);
