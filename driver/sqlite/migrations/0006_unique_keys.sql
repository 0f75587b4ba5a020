-- Unique messages. unique_key is the digest the queue derives from a
-- message's destination, shard key and unique key (or content) and period;
-- NULL for a message that is not unique, and for one whose key stopped
-- blocking. unique_states has bit 1<<status set for the statuses in which
-- the key blocks a duplicate (per message: the unfinished statuses, plus
-- any finished ones the sender chose).
ALTER TABLE messages ADD COLUMN unique_key TEXT;
ALTER TABLE messages ADD COLUMN unique_states INTEGER NOT NULL DEFAULT 0;

-- The messages holding a key. Not UNIQUE and no trigger: a key blocks while
-- its message's status is in unique_states, which the look-up reads, so a
-- status change costs nothing extra (a release trigger on every status
-- update cost about 10% of a completion).
CREATE INDEX messages_unique_key ON messages (unique_key) WHERE unique_key IS NOT NULL;
