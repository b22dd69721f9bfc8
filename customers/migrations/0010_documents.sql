-- hotline customer store, schema version 10: small documents every node of a site reads, kept
-- whole, with a version that grows with each change (nodes re-read a document when its version
-- moved). The first is "tokens": the API tokens and one-time login codes (hashes only), which a
-- single node keeps in data_dir/tokens.json.

CREATE TABLE documents (
    name       TEXT PRIMARY KEY,
    data       TEXT NOT NULL,
    version    BIGINT NOT NULL,
    updated_at BIGINT NOT NULL                   -- Unix milliseconds
);
