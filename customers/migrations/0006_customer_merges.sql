-- hotline customer store, schema version 6: merges described. Merge writes one row per merge
-- on the survivor's timeline: which record went into which, who did it, when, and what moved
-- (counts per table, in moved, a JSON object such as {"contacts": 3, "tickets": 1}). The
-- identities that moved and the merged record's name are personal data, kept so that a
-- supervisor can see what the merge joined: Erase blanks them (identities '[]', name '').

CREATE TABLE customer_merges (
    id          TEXT PRIMARY KEY,                 -- UUIDv7
    survivor_id TEXT NOT NULL,                    -- the record kept
    merged_id   TEXT NOT NULL,                    -- the record merged away (merged_into = survivor_id)
    actor       TEXT NOT NULL DEFAULT '',         -- the token ID, or "system"
    moved       TEXT NOT NULL DEFAULT '{}',       -- JSON: rows moved per table
    moved_ids   TEXT NOT NULL DEFAULT '{}',       -- JSON: the IDs of those rows per table (identities are below)
    identities  TEXT NOT NULL DEFAULT '[]',       -- JSON: the identities that moved [{"kind":..,"value":..}]
    name        TEXT NOT NULL DEFAULT '',         -- the merged record's name before the merge
    at          BIGINT NOT NULL
);
CREATE INDEX customer_merges_survivor ON customer_merges (survivor_id, at);
CREATE INDEX customer_merges_merged ON customer_merges (merged_id);
