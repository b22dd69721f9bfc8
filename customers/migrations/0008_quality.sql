-- hotline customer store, schema version 8: the quality loop. Surveys say their scale (csat:
-- 1 to 5, nps: 0 to 10); rows from before are csat. Missed contacts become work items with an
-- owner and a done state. Flows that ended without a queue were all self_service; they are now
-- completed_in_ivr (the flow reached its end) or abandoned_in_ivr (the caller hung up in the
-- menus). Old rows cannot be told apart and become completed_in_ivr, as they were counted.
-- Times are Unix milliseconds.

ALTER TABLE surveys ADD COLUMN scale TEXT NOT NULL DEFAULT 'csat';
CREATE INDEX surveys_queue ON surveys (queue, created_at);

UPDATE contacts SET outcome = 'completed_in_ivr' WHERE outcome = 'self_service';

CREATE TABLE worklist (
    id          TEXT PRIMARY KEY,                 -- UUIDv7
    contact_id  TEXT NOT NULL,                    -- the missed contact (one item per contact)
    customer_id TEXT NOT NULL DEFAULT '',
    queue       TEXT NOT NULL DEFAULT '',
    reason      TEXT NOT NULL,                    -- the contact's outcome: abandoned, timeout, ...
    address     TEXT NOT NULL DEFAULT '',         -- the number to call back ('' withheld)
    state       TEXT NOT NULL DEFAULT 'open',     -- open | taken | done
    owner       TEXT NOT NULL DEFAULT '',         -- the agent or user who has it
    taken_at    BIGINT,
    done_by     TEXT NOT NULL DEFAULT '',
    done_how    TEXT NOT NULL DEFAULT '',         -- called_back | ticket | no_action
    done_note   TEXT NOT NULL DEFAULT '',
    done_at     BIGINT,
    due_at      BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE UNIQUE INDEX worklist_contact ON worklist (contact_id);
CREATE INDEX worklist_state ON worklist (state, due_at);
CREATE INDEX worklist_owner ON worklist (owner, state);
CREATE INDEX worklist_customer ON worklist (customer_id);
