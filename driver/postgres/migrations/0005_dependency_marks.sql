-- Incremental dependency resolution (driver.DependencyStore): instead of
-- reading every dependency row, the resolver reads the messages whose
-- rows may have settled, found through two partial indexes: parents
-- (has_dependants) that have finished, and children (waits) that no
-- longer wait (scheduled at driver.WaitingRunAt). It clears the flags
-- once their rows are settled, so its cost follows the messages that
-- changed, not those still waiting; other messages pay only the indexes'
-- conditions (no trigger on updates). Deleted parents and children leave
-- a mark (dependency_marks), as does a parent already finished when a row
-- naming it is inserted (so a resolver clearing its flag meanwhile loses
-- nothing); the resolver deletes the marks it read by number. A mark names
-- the message by id and seq (NULL for a parent already gone here).
CREATE TABLE {s}.dependency_marks (
    n   bigserial PRIMARY KEY,
    id  text      NOT NULL,
    seq bigint
);

CREATE INDEX dependencies_parent ON {s}.dependencies (parent_id);

ALTER TABLE {s}.messages ADD COLUMN has_dependants boolean NOT NULL DEFAULT false;
ALTER TABLE {s}.messages ADD COLUMN waits boolean NOT NULL DEFAULT false;

CREATE INDEX messages_parents_finished ON {s}.messages (seq)
WHERE has_dependants AND status IN ({terminal});
CREATE INDEX messages_children_moved ON {s}.messages (seq)
WHERE waits AND (status <> {scheduled} OR run_at <> '9999-12-31 23:59:59.999999+00');

-- Dependency rows flag their parents and children, and mark a parent
-- that has finished already.
CREATE FUNCTION {s}.dependency_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE {s}.messages m SET has_dependants = true
    FROM (SELECT DISTINCT parent_id FROM added) a WHERE m.id = a.parent_id AND NOT m.has_dependants;
    UPDATE {s}.messages m SET waits = true
    FROM (SELECT DISTINCT child_seq FROM added) a WHERE m.seq = a.child_seq AND NOT m.waits;
    INSERT INTO {s}.dependency_marks (id, seq)
    SELECT m.id, m.seq FROM {s}.messages m JOIN (SELECT DISTINCT parent_id FROM added) a ON m.id = a.parent_id
    WHERE m.status IN ({terminal});
    RETURN NULL;
END $$;
CREATE TRIGGER dependency_added AFTER INSERT ON {s}.dependencies
REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION {s}.dependency_added();

-- A flagged parent or child is deleted.
CREATE FUNCTION {s}.dependency_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO {s}.dependency_marks (id, seq) VALUES (OLD.id, OLD.seq);
    RETURN NULL;
END $$;
CREATE TRIGGER dependency_deleted AFTER DELETE ON {s}.messages FOR EACH ROW
WHEN (OLD.has_dependants OR OLD.waits)
EXECUTE FUNCTION {s}.dependency_deleted();

-- What the store holds already.
UPDATE {s}.messages SET has_dependants = true WHERE id IN (SELECT parent_id FROM {s}.dependencies);
UPDATE {s}.messages SET waits = true WHERE seq IN (SELECT child_seq FROM {s}.dependencies);
INSERT INTO {s}.dependency_marks (id, seq)
SELECT DISTINCT parent_id, NULL::bigint FROM {s}.dependencies d
WHERE NOT EXISTS (SELECT 1 FROM {s}.messages m WHERE m.id = d.parent_id);
