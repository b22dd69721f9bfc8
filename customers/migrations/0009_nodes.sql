-- hotline customer store, schema version 9: several nodes on one store. Agent states are one
-- row per agent and queue history one row per queue (each the ACD's record as JSON, with when
-- and by which node it was saved), so nodes saving different agents never overwrite each
-- other. The site's one blob of version 1 (agent_states) is split into these rows by the
-- migration's Go step (store.go, upgrades) and then dropped. A callback a node has put in its
-- distributor is claimed by that node (queued_by) until queued_until, renewed while it holds
-- it: no other node queues it meanwhile. A webhook delivery's lease names its deliverer
-- (leased_by), so that one whose lease ran out while it was sending does not write its outcome
-- over the next sender's. Times are Unix milliseconds.

CREATE TABLE agent_records (
    agent_id TEXT PRIMARY KEY,
    data     TEXT NOT NULL,                      -- the agent's record (JSON)
    saved_at BIGINT NOT NULL,
    node     TEXT NOT NULL DEFAULT ''            -- the node that saved it ('' = from version 1)
);

CREATE TABLE queue_records (
    queue    TEXT PRIMARY KEY,
    data     TEXT NOT NULL,                      -- the queue's statistics (JSON)
    saved_at BIGINT NOT NULL,
    node     TEXT NOT NULL DEFAULT ''
);

ALTER TABLE callbacks ADD COLUMN queued_by TEXT NOT NULL DEFAULT '';
ALTER TABLE callbacks ADD COLUMN queued_until BIGINT;
CREATE INDEX callbacks_queued ON callbacks (queued_by) WHERE queued_until IS NOT NULL;

ALTER TABLE outbox ADD COLUMN leased_by TEXT NOT NULL DEFAULT '';
