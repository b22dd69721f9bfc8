-- hotline customer store, schema version 1. Written once for SQLite and PostgreSQL:
-- {{blob}} becomes BLOB or BYTEA. Times are Unix milliseconds (UTC) in BIGINT columns named
-- *_at; durations are milliseconds in *_ms columns; IDs are UUIDv7 text.

CREATE TABLE customers (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL DEFAULT '',
    language    TEXT NOT NULL DEFAULT '',
    tier        TEXT NOT NULL DEFAULT '',
    vip         INTEGER NOT NULL DEFAULT 0,
    anonymous   INTEGER NOT NULL DEFAULT 0,    -- a withheld caller: never matched to anyone
    merged_into TEXT REFERENCES customers (id), -- set on the record merged away
    erased_at   BIGINT,                         -- personal data removed; counts kept
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX customers_merged_into ON customers (merged_into);

CREATE TABLE identities (
    kind        TEXT NOT NULL,                  -- phone (E.164) | account | email | sip
    value       TEXT NOT NULL,                  -- normalized
    customer_id TEXT NOT NULL REFERENCES customers (id),
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (kind, value)
);
CREATE INDEX identities_customer ON identities (customer_id);

CREATE TABLE contacts (
    id          TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL REFERENCES customers (id),
    call_id     TEXT NOT NULL DEFAULT '',       -- the driver's call ID or another system's reference
    channel     TEXT NOT NULL,                  -- voice | chat | email | sms
    direction   TEXT NOT NULL,                  -- inbound | outbound
    address     TEXT NOT NULL DEFAULT '',       -- the customer's number or address on this contact
    dialed      TEXT NOT NULL DEFAULT '',       -- the service number or address they reached
    flow        TEXT NOT NULL DEFAULT '',
    queue       TEXT NOT NULL DEFAULT '',
    agent       TEXT NOT NULL DEFAULT '',
    language    TEXT NOT NULL DEFAULT '',
    callback_id TEXT,                           -- set on callback attempts
    started_at  BIGINT NOT NULL,
    queued_at   BIGINT,
    answered_at BIGINT,
    ended_at    BIGINT,
    wait_ms     BIGINT NOT NULL DEFAULT 0,
    talk_ms     BIGINT NOT NULL DEFAULT 0,
    outcome     TEXT NOT NULL DEFAULT '',       -- '' while in progress
    events      TEXT NOT NULL DEFAULT '[]'      -- JSON list of events
);
CREATE INDEX contacts_customer ON contacts (customer_id, started_at);
CREATE INDEX contacts_started ON contacts (started_at, id);
CREATE INDEX contacts_queue ON contacts (queue, started_at);
CREATE INDEX contacts_call ON contacts (call_id);

CREATE TABLE callbacks (
    id              TEXT PRIMARY KEY,
    customer_id     TEXT NOT NULL REFERENCES customers (id),
    contact_id      TEXT,                       -- the contact that asked for it
    number          TEXT NOT NULL,              -- E.164
    queue           TEXT NOT NULL,
    source          TEXT NOT NULL,              -- queue | scheduled | abandoned | api
    arrived_at      BIGINT NOT NULL,            -- original arrival in the queue: the place kept
    priority        INTEGER NOT NULL DEFAULT 0,
    language        TEXT NOT NULL DEFAULT '',
    status          TEXT NOT NULL,              -- pending | dialing | completed | failed | cancelled
    attempts        INTEGER NOT NULL DEFAULT 0,
    max_attempts    INTEGER NOT NULL,
    next_attempt_at BIGINT,
    slot_at         BIGINT,                     -- the time the caller chose, if scheduled
    dialing_until   BIGINT,                     -- lease of the node dialing it
    last_result     TEXT NOT NULL DEFAULT '',
    ticket_id       TEXT,                       -- opened when the attempts ran out
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
-- One live callback per customer and queue: a second request updates the first.
CREATE UNIQUE INDEX callbacks_one_live ON callbacks (customer_id, queue) WHERE status IN ('pending', 'dialing');
CREATE INDEX callbacks_due ON callbacks (status, next_attempt_at);
CREATE INDEX callbacks_created ON callbacks (created_at, id);

CREATE TABLE recordings (
    id           TEXT PRIMARY KEY,              -- the recordings store's ID
    kind         TEXT NOT NULL,                 -- voicemail | call
    customer_id  TEXT REFERENCES customers (id),
    contact_id   TEXT,
    sha256       TEXT NOT NULL,
    size         BIGINT NOT NULL,
    duration_ms  BIGINT NOT NULL,
    created_at   BIGINT NOT NULL,
    deleted_at   BIGINT,                        -- the file is gone; the row remembers it existed
    deleted_why  TEXT NOT NULL DEFAULT ''       -- retention | erased
);
CREATE INDEX recordings_created ON recordings (created_at);
CREATE INDEX recordings_customer ON recordings (customer_id);

CREATE TABLE tickets (
    id           TEXT PRIMARY KEY,
    number       TEXT NOT NULL UNIQUE,          -- T-000123
    customer_id  TEXT REFERENCES customers (id),
    contact_id   TEXT,
    callback_id  TEXT,
    recording_id TEXT,
    kind         TEXT NOT NULL,                 -- voicemail | callback_failed | missed | manual
    queue        TEXT NOT NULL DEFAULT '',
    subject      TEXT NOT NULL,
    status       TEXT NOT NULL,                 -- open | pending | solved
    priority     TEXT NOT NULL,                 -- low | normal | high | urgent
    assignee     TEXT NOT NULL DEFAULT '',
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    solved_at    BIGINT
);
CREATE INDEX tickets_customer ON tickets (customer_id);
CREATE INDEX tickets_created ON tickets (created_at, id);

CREATE TABLE ticket_notes (
    id         TEXT PRIMARY KEY,
    ticket_id  TEXT NOT NULL REFERENCES tickets (id),
    author     TEXT NOT NULL DEFAULT '',
    body       TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX ticket_notes_ticket ON ticket_notes (ticket_id, created_at);

CREATE TABLE surveys (
    id          TEXT PRIMARY KEY,
    call_id     TEXT NOT NULL DEFAULT '',
    contact_id  TEXT,
    customer_id TEXT,
    survey      TEXT NOT NULL,
    queue       TEXT NOT NULL DEFAULT '',
    agent       TEXT NOT NULL DEFAULT '',
    score       INTEGER NOT NULL,
    language    TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL
);
CREATE INDEX surveys_created ON surveys (created_at);

-- Webhook deliveries, written in the transaction of what they announce.
CREATE TABLE outbox (
    id              TEXT PRIMARY KEY,           -- the delivery ID (X-Hotline-Delivery)
    event           TEXT NOT NULL,              -- ticket.created | contact.missed | customer.erased
    customer_id     TEXT,
    payload         TEXT NOT NULL,              -- the exact JSON body that is signed
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    lease_until     BIGINT,                     -- a deliverer is sending it
    last_error      TEXT NOT NULL DEFAULT '',
    delivered_at    BIGINT,
    created_at      BIGINT NOT NULL
);
CREATE INDEX outbox_due ON outbox (delivered_at, next_attempt_at);

CREATE TABLE agent_states (
    id       INTEGER PRIMARY KEY,               -- always 1: one blob for the site
    data     {{blob}} NOT NULL,
    saved_at BIGINT NOT NULL
);

CREATE TABLE counters (
    name  TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO counters (name, value) VALUES ('ticket', 0);
