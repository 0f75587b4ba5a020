-- Liveness of lease owners (one row per started queue run). The owner's
-- heartbeat bumps beats every Lease/3; a rescuer judges an owner dead when
-- beats stops moving for one lease of the rescuer's own monotonic time, so
-- no wall clock (the owner's or the rescuer's) decides a rescue. beat_at is
-- the owner's wall time of its last beat, for people reading the table.
CREATE TABLE owners (
    owner    TEXT    PRIMARY KEY,
    beats    INTEGER NOT NULL,
    lease_us INTEGER NOT NULL,           -- the owner's lease, microseconds
    gone     INTEGER NOT NULL DEFAULT 0, -- 1: stopped cleanly; its leftovers are rescued at once
    beat_at  INTEGER NOT NULL
) WITHOUT ROWID;
