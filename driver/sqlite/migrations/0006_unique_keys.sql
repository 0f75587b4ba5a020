-- Unique messages. unique_key is the digest the queue derives from a
-- message's destination, shard key and unique key (or content) and period;
-- NULL for a message that is not unique, and for one whose key stopped
-- blocking. unique_states has bit 1<<status set for the statuses in which
-- the key blocks a duplicate (per message: the unfinished statuses, plus
-- any finished ones the sender chose).
ALTER TABLE messages ADD COLUMN unique_key TEXT;
ALTER TABLE messages ADD COLUMN unique_states INTEGER NOT NULL DEFAULT 0;

-- One stored message per key and shard (the queue routes a key to one shard).
CREATE UNIQUE INDEX messages_unique_key ON messages (unique_key) WHERE unique_key IS NOT NULL;

-- A message that moves to a status outside its unique_states releases its
-- key, within the statement that moved it, whichever statement that is
-- (completion, cancel, expiry, rescue, admin).
CREATE TRIGGER messages_unique_release AFTER UPDATE OF status ON messages
WHEN NEW.unique_key IS NOT NULL AND ((NEW.unique_states >> NEW.status) & 1) = 0
BEGIN
    UPDATE messages SET unique_key = NULL WHERE seq = NEW.seq;
END;
