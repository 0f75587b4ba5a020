-- Dependencies (driver.DependencyStore): one row per (waiting child,
-- parent id). The child is stored as scheduled with run_at at the far
-- sentinel (driver.WaitingRunAt), so nothing claims or promotes it; run_at
-- here is the run time its sender asked for, restored when it is
-- released. Rows go when the parent completes (the last one releases the
-- child) or when the child stops waiting.
CREATE TABLE dependencies (
    child_seq INTEGER NOT NULL,
    parent_id TEXT    NOT NULL,
    run_at    INTEGER NOT NULL,
    PRIMARY KEY (child_seq, parent_id)
) WITHOUT ROWID;
