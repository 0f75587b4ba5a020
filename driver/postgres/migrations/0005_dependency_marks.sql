-- Incremental dependency resolution (driver.DependencyStore): instead of
-- reading every dependency row, the resolver reads the marks, written by
-- the triggers below in the transaction that changed the message, of
-- messages whose rows may have settled: a parent (has_dependants) that
-- finished or was deleted, a waiting child that stopped waiting or was
-- deleted. It deletes the marks it has read (by number, so a mark
-- committed meanwhile is kept) once their rows are settled, so its cost
-- follows the messages that changed, not those still waiting. A mark
-- names the message by id (a parent's rows name it so) and seq (a
-- child's), seq NULL for a parent no longer stored.
CREATE TABLE {s}.dependency_marks (
    n   bigserial PRIMARY KEY,
    id  text      NOT NULL,
    seq bigint
);

CREATE INDEX dependencies_parent ON {s}.dependencies (parent_id);

-- Set by the insert of a dependency row on its parent, so that the
-- triggers test a column, not the dependency table, for every message.
ALTER TABLE {s}.messages ADD COLUMN has_dependants boolean NOT NULL DEFAULT false;

-- Dependency rows' parents have dependants, and are marked at once if
-- they have finished already.
CREATE FUNCTION {s}.dependency_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE {s}.messages m SET has_dependants = true
    FROM (SELECT DISTINCT parent_id FROM added) a WHERE m.id = a.parent_id AND NOT m.has_dependants;
    INSERT INTO {s}.dependency_marks (id, seq)
    SELECT m.id, m.seq FROM {s}.messages m JOIN (SELECT DISTINCT parent_id FROM added) a ON m.id = a.parent_id
    WHERE m.status IN ({terminal});
    RETURN NULL;
END $$;
CREATE TRIGGER dependency_added AFTER INSERT ON {s}.dependencies
REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION {s}.dependency_added();

-- Marks the message a row trigger fired for (NEW for an update, OLD for
-- a delete).
CREATE FUNCTION {s}.dependency_mark() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        INSERT INTO {s}.dependency_marks (id, seq) VALUES (OLD.id, OLD.seq);
    ELSE
        INSERT INTO {s}.dependency_marks (id, seq) VALUES (NEW.id, NEW.seq);
    END IF;
    RETURN NULL;
END $$;

-- A parent finishes, or a waiting child (scheduled at
-- driver.WaitingRunAt) stops waiting.
CREATE TRIGGER dependency_changed AFTER UPDATE OF status, run_at ON {s}.messages FOR EACH ROW
WHEN ((NEW.has_dependants AND NEW.status IN ({terminal}) AND OLD.status NOT IN ({terminal}))
   OR (OLD.status = {scheduled} AND OLD.run_at = '9999-12-31 23:59:59.999999+00'
       AND (NEW.status <> {scheduled} OR NEW.run_at <> OLD.run_at)))
EXECUTE FUNCTION {s}.dependency_mark();

-- A parent or a waiting child is deleted.
CREATE TRIGGER dependency_deleted AFTER DELETE ON {s}.messages FOR EACH ROW
WHEN (OLD.has_dependants OR (OLD.status = {scheduled} AND OLD.run_at = '9999-12-31 23:59:59.999999+00'))
EXECUTE FUNCTION {s}.dependency_mark();

-- What the store holds already: its parents have dependants, and every
-- message a row names is marked once, so the first pass settles what the
-- full scans before would have.
UPDATE {s}.messages SET has_dependants = true WHERE id IN (SELECT parent_id FROM {s}.dependencies);
INSERT INTO {s}.dependency_marks (id, seq)
SELECT id, seq FROM {s}.messages WHERE id IN (SELECT parent_id FROM {s}.dependencies)
    OR seq IN (SELECT child_seq FROM {s}.dependencies);
INSERT INTO {s}.dependency_marks (id, seq)
SELECT DISTINCT parent_id, NULL::bigint FROM {s}.dependencies d
WHERE NOT EXISTS (SELECT 1 FROM {s}.messages m WHERE m.id = d.parent_id);
