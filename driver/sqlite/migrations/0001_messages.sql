-- The message table of one shard, and the indexes that keep every
-- background query proportional to the rows it touches, not to the table.
--
-- Status numbers (queuetype.Status; stored, never renumbered). Migrations
-- are history and keep them literal; the statements in sql.go are built
-- from the named constants of status.go instead.
--   0 pending   1 processing   2 completed   3 failed
--   4 retrying  5 expired      6 cancelled   7 scheduled
CREATE TABLE messages (
    seq              INTEGER PRIMARY KEY,           -- send order within the shard
    id               TEXT    NOT NULL UNIQUE,
    type             TEXT    NOT NULL DEFAULT 'task',
    status           INTEGER NOT NULL CHECK (status BETWEEN 0 AND 7),
    destination      TEXT    NOT NULL,
    source           TEXT    NOT NULL,
    content          TEXT    NOT NULL,              -- JSON
    result           TEXT,                          -- JSON
    priority         INTEGER NOT NULL CHECK (priority BETWEEN 0 AND 3),
    created_at       INTEGER NOT NULL,              -- times: UTC, unix microseconds
    updated_at       INTEGER NOT NULL,
    run_at           INTEGER NOT NULL,
    expire_at        INTEGER,
    finished_at      INTEGER,
    attempt          INTEGER NOT NULL DEFAULT 0,
    max_attempts     INTEGER NOT NULL CHECK (max_attempts > 0),
    retry_count      INTEGER NOT NULL DEFAULT 0,
    last_error       TEXT,
    tags             TEXT,                          -- JSON array
    metadata         TEXT,                          -- JSON object
    lease_owner      TEXT,
    lease_expires_at INTEGER,
    shard_key        TEXT,
    callback_owner   TEXT                           -- instance waiting for the callback
);

-- Claims: per destination, highest priority first, then send order.
CREATE INDEX messages_ready ON messages (destination, priority DESC, seq) WHERE status = 0;
-- Rescue of expired leases.
CREATE INDEX messages_leased ON messages (lease_expires_at) WHERE status = 1;
-- Promotion of delayed and retrying messages when due.
CREATE INDEX messages_due ON messages (run_at) WHERE status IN (4, 7);
-- Expiry of messages that never started.
CREATE INDEX messages_expiry ON messages (expire_at) WHERE expire_at IS NOT NULL AND status IN (0, 4, 7);
-- Cleanup of old finished rows, per status.
CREATE INDEX messages_finished ON messages (status, finished_at) WHERE finished_at IS NOT NULL;
-- Callbacks waiting for a finished message.
CREATE INDEX messages_callback ON messages (callback_owner, status) WHERE callback_owner IS NOT NULL;

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
