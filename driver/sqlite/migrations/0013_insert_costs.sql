-- The id route check of inserts moves from a trigger into the insert
-- statements' own transaction (driver/sqlite/insert_rows.go): a lone
-- insert stores its row only if id_routes lacks its id, a batch checks all
-- its rows with one statement once they are written, and a refusal rolls
-- the batch back. Both run under the file's write lock, as the trigger
-- did, so a home shard still holds an id either as a message or as a
-- route, never both.
-- The trigger ran a sub-program per row and made every insert open a
-- statement journal, about a quarter of an insert's cost; the check costs
-- one look-up per batch while the file has no routes. The other trigger of
-- 0003 (a route refused for an id stored here) stays: routes are few.
DROP TRIGGER messages_id_routed;

-- The callback index holds only what its query (sqlFinished: the finished
-- messages whose callback an instance waits for) reads: finished
-- messages. A message sent with a callback no longer enters it until it
-- finishes, and one whose callback its own worker's process takes (the
-- completion clears callback_owner) never does, so sends and completions
-- with callbacks write one index entry fewer.
DROP INDEX messages_callback;
CREATE INDEX messages_callback ON messages (callback_owner) WHERE callback_owner IS NOT NULL AND status IN (2, 3, 5, 6);
