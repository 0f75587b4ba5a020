-- Incremental dependency resolution (driver.DependencyStore): instead of
-- reading every dependency row, the resolver reads the marks, written by
-- the triggers below in the transaction that changed the message, of
-- messages whose rows may have settled: a parent (has_dependants) that
-- finished or was deleted, a waiting child that stopped waiting or was
-- deleted. It deletes the marks it has read once their rows are settled,
-- so its cost follows the messages that changed, not those still waiting.
-- A mark names the message by id (a parent's rows name it so) and seq (a
-- child's), seq NULL for a parent no longer stored.
CREATE TABLE dependency_marks (
    n   INTEGER PRIMARY KEY,
    id  TEXT    NOT NULL,
    seq INTEGER
);

CREATE INDEX dependencies_parent ON dependencies (parent_id);

-- Set by the insert of a dependency row on its parent, so that the
-- triggers test a column, not the dependency table, for every message.
ALTER TABLE messages ADD COLUMN has_dependants INTEGER NOT NULL DEFAULT 0;

-- A dependency row's parent has dependants, and is marked at once if it
-- has finished already.
CREATE TRIGGER dependency_added AFTER INSERT ON dependencies
BEGIN
    UPDATE messages SET has_dependants = 1 WHERE id = NEW.parent_id AND has_dependants = 0;
    INSERT INTO dependency_marks (id, seq)
    SELECT id, seq FROM messages WHERE id = NEW.parent_id AND status IN (2, 3, 5, 6);
END;

-- A parent finishes (2 completed, 3 failed, 5 expired, 6 cancelled), or a
-- waiting child (7 scheduled at driver.WaitingRunAt, 253402300799999999
-- microseconds) stops waiting.
CREATE TRIGGER dependency_changed AFTER UPDATE OF status, run_at ON messages
WHEN (NEW.has_dependants = 1 AND NEW.status IN (2, 3, 5, 6) AND OLD.status NOT IN (2, 3, 5, 6))
  OR (OLD.status = 7 AND OLD.run_at = 253402300799999999 AND (NEW.status <> 7 OR NEW.run_at <> OLD.run_at))
BEGIN
    INSERT INTO dependency_marks (id, seq) VALUES (NEW.id, NEW.seq);
END;

-- A parent or a waiting child is deleted.
CREATE TRIGGER dependency_deleted AFTER DELETE ON messages
WHEN OLD.has_dependants = 1 OR (OLD.status = 7 AND OLD.run_at = 253402300799999999)
BEGIN
    INSERT INTO dependency_marks (id, seq) VALUES (OLD.id, OLD.seq);
END;

-- What the store holds already: its parents have dependants, and every
-- message a row names is marked once, so the first pass settles what the
-- full scans before would have.
UPDATE messages SET has_dependants = 1 WHERE id IN (SELECT parent_id FROM dependencies);
INSERT INTO dependency_marks (id, seq)
SELECT id, seq FROM messages WHERE id IN (SELECT parent_id FROM dependencies)
    OR seq IN (SELECT child_seq FROM dependencies);
INSERT INTO dependency_marks (id, seq)
SELECT DISTINCT parent_id, NULL FROM dependencies WHERE parent_id NOT IN (SELECT id FROM messages);
