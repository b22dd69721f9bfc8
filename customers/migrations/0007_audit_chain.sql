-- hotline customer store, schema version 7: the audit trail becomes a hash chain, and says
-- from where each action came. Every entry written from now on has a place in the chain
-- (seq, 1, 2, 3, ... with no gap), the hash of the entry before it (prev_hash) and its own
-- hash: SHA-256 over its canonical content and prev_hash (customers/audit.go, chainHash).
-- audit_head is one row holding the last entry's seq and hash: appends lock it, so the
-- chain stays linear with several writers and several nodes, and a deleted last entry is
-- seen too. Entries from before this version keep seq NULL: `hotline audit verify` counts
-- them apart and says where the chain starts.

ALTER TABLE audit ADD COLUMN src TEXT NOT NULL DEFAULT '';        -- the client IP, "cli", "signal", "phone", "system"
ALTER TABLE audit ADD COLUMN seq BIGINT;                           -- NULL: written before the chain
ALTER TABLE audit ADD COLUMN prev_hash TEXT NOT NULL DEFAULT '';   -- hex SHA-256 of the entry before ('' for the first)
ALTER TABLE audit ADD COLUMN hash TEXT NOT NULL DEFAULT '';        -- hex SHA-256 of this entry
CREATE UNIQUE INDEX audit_seq ON audit (seq);
CREATE INDEX audit_actor ON audit (actor, at);

CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  BIGINT NOT NULL,                   -- the last entry's seq (0: none yet)
    hash TEXT NOT NULL                      -- the last entry's hash
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '');
