-- Ids are unique per queue, not only per shard file. A message lives in
-- its id's home shard (ShardFor(id, shards)) unless its shard key (or
-- SendTx) puts it in another one; then the home shard holds a route row
-- naming that shard, written before the message. Lookups by id read the
-- home shard and follow the route; the two triggers make a home shard hold
-- an id either as a message or as a route, never both.
CREATE TABLE id_routes (
    id        TEXT    PRIMARY KEY,
    shard     INTEGER NOT NULL,                 -- the shard holding the message
    routed_at INTEGER NOT NULL,                 -- UTC, unix microseconds; renewed by a retried send
    token     INTEGER NOT NULL                  -- changes on every write, so a stale delete misses
) WITHOUT ROWID;
-- Pruning of routes whose message is gone (cleaned up, or never stored).
CREATE INDEX id_routes_age ON id_routes (routed_at);

CREATE TRIGGER messages_id_routed BEFORE INSERT ON messages
WHEN EXISTS (SELECT 1 FROM id_routes WHERE id = NEW.id)
BEGIN
    SELECT RAISE(ABORT, 'a message with this id is stored in another shard (this one, its home, routes it there)');
END;

CREATE TRIGGER id_routes_id_stored BEFORE INSERT ON id_routes
WHEN EXISTS (SELECT 1 FROM messages WHERE id = NEW.id)
BEGIN
    SELECT RAISE(ABORT, 'a message with this id is stored in this shard, its home');
END;
