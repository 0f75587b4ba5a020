-- Incremental dependency resolution (driver.DependencyStore): instead of
-- reading every dependency row, the resolver reads the messages whose
-- rows may have settled, found through two partial indexes: parents
-- (has_dependants) that have finished, and children (waits) that no
-- longer wait (scheduled at driver.WaitingRunAt, 253402300799999999
-- microseconds). It clears the flags once their rows are settled, so its
-- cost follows the messages that changed, not those still waiting; other
-- messages pay only the indexes' conditions (no trigger on updates).
-- Deleted parents and children leave a mark (dependency_marks) instead;
-- a mark names the message by id and seq (NULL for a parent already gone
-- at this migration).
CREATE TABLE dependency_marks (
    n   INTEGER PRIMARY KEY,
    id  TEXT    NOT NULL,
    seq INTEGER
);

CREATE INDEX dependencies_parent ON dependencies (parent_id);

ALTER TABLE messages ADD COLUMN has_dependants INTEGER NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN waits INTEGER NOT NULL DEFAULT 0;

CREATE INDEX messages_parents_finished ON messages (seq)
WHERE has_dependants = 1 AND status IN (2, 3, 5, 6);
CREATE INDEX messages_children_moved ON messages (seq)
WHERE waits = 1 AND (status <> 7 OR run_at <> 253402300799999999);

-- A dependency row flags its parent and its child.
CREATE TRIGGER dependency_added AFTER INSERT ON dependencies
BEGIN
    UPDATE messages SET has_dependants = 1 WHERE id = NEW.parent_id AND has_dependants = 0;
    UPDATE messages SET waits = 1 WHERE seq = NEW.child_seq AND waits = 0;
END;

-- A flagged parent or child is deleted.
CREATE TRIGGER dependency_deleted AFTER DELETE ON messages
WHEN OLD.has_dependants = 1 OR OLD.waits = 1
BEGIN
    INSERT INTO dependency_marks (id, seq) VALUES (OLD.id, OLD.seq);
END;

-- What the store holds already.
UPDATE messages SET has_dependants = 1 WHERE id IN (SELECT parent_id FROM dependencies);
UPDATE messages SET waits = 1 WHERE seq IN (SELECT child_seq FROM dependencies);
INSERT INTO dependency_marks (id, seq)
SELECT DISTINCT parent_id, NULL FROM dependencies WHERE parent_id NOT IN (SELECT id FROM messages);
