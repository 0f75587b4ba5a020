-- Pauses: destinations (kind 1) and named worker queues (kind 2) that no
-- process claims for until they are resumed. The claim does not read this
-- table: every process caches it and leaves paused destinations out of its
-- claims. since_at is when the pause was first recorded. A sharded queue
-- keeps its pauses in shard 0.
CREATE TABLE pauses (
    kind     INTEGER NOT NULL,
    name     TEXT    NOT NULL,
    since_at INTEGER NOT NULL,
    PRIMARY KEY (kind, name)
) WITHOUT ROWID;
