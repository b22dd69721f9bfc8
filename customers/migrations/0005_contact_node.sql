-- hotline customer store, schema version 5: the node a contact was opened on. A node that
-- restarts after a crash closes its own contacts left in progress (outcome interrupted), and
-- only its own: on a PostgreSQL store shared by several nodes the others' are live calls.
-- Contacts from before this version have node ''.

ALTER TABLE contacts ADD COLUMN node TEXT NOT NULL DEFAULT '';
CREATE INDEX contacts_open ON contacts (node) WHERE ended_at IS NULL;
