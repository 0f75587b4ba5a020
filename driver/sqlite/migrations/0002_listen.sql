-- Listen data: a small key/value store whose changes fire listeners.
-- It lives in the first shard only, so it has one order.

-- kind: 0 text, 1 JSON, 2 bytes; the value comes back exactly as it was set.
CREATE TABLE listen_data (
    key        TEXT    PRIMARY KEY,
    kind       INTEGER NOT NULL,
    value      BLOB    NOT NULL,
    version    INTEGER NOT NULL,                -- the change seq that wrote it
    updated_at INTEGER NOT NULL
) WITHOUT ROWID;

-- One row per real change, written in the same transaction as the value.
-- AUTOINCREMENT: seqs strictly increase and are never reused after pruning.
CREATE TABLE listen_changes (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    key        TEXT    NOT NULL,
    old_kind   INTEGER,                         -- NULL: the key did not exist
    old_value  BLOB,
    new_kind   INTEGER,                         -- NULL: the key was deleted
    new_value  BLOB,
    changed_at INTEGER NOT NULL
);
CREATE INDEX listen_changes_time ON listen_changes (changed_at);

-- One durable cursor per listener group: every change up to seq has been
-- delivered to the group's listeners. The lease makes one process at a time
-- the group's dispatcher.
CREATE TABLE listen_cursors (
    grp              TEXT    PRIMARY KEY,
    seq              INTEGER NOT NULL,
    lease_owner      TEXT,
    lease_expires_at INTEGER,
    updated_at       INTEGER NOT NULL
) WITHOUT ROWID;

-- Changes a listener gave up on after its retries.
CREATE TABLE listen_failures (
    id        INTEGER PRIMARY KEY,
    grp       TEXT    NOT NULL,
    listener  TEXT    NOT NULL,
    seq       INTEGER NOT NULL,
    key       TEXT    NOT NULL,
    attempts  INTEGER NOT NULL,
    error     TEXT    NOT NULL,
    failed_at INTEGER NOT NULL
);
CREATE INDEX listen_failures_grp ON listen_failures (grp, seq);
