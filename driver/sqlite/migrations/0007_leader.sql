-- Leader elections: one seat per name. The seat names a lease owner of the
-- owners table; it is held for as long as that owner's beats keep moving
-- (judged by the candidates on their own monotonic clocks), so no stored
-- time decides a takeover. since_at is the new holder's wall time, for
-- people reading the table. A sharded queue holds its elections in shard 0.
CREATE TABLE leader (
    name     TEXT    PRIMARY KEY,
    owner    TEXT    NOT NULL,           -- '' once the holder resigned: the seat is empty
    term     INTEGER NOT NULL,
    since_at INTEGER NOT NULL
) WITHOUT ROWID;
