-- Two indexes made to fit the statements that use them.
--
-- The leased index gains seq: the statements that fence on a lease
-- (completion, lease renewal) join their parameter arrays on seq and
-- owner, and a prepared statement's generic plan (the one pgx's statement
-- cache runs after five executions) probes this index per array element.
-- Keyed on the owner alone, each probe read every lease the owner holds
-- (a completion of 300 outcomes over 300 leases: 90,000 entries); keyed on
-- (owner, seq) it reads one. The reads on the owner alone (rescue, lost
-- claims, owners) use its first column as before.
DROP INDEX {s}.messages_leased;
CREATE INDEX messages_leased ON {s}.messages (lease_owner, seq) WHERE status = 1;

-- The callback index holds only finished messages, the only ones its one
-- reader (the finished-callback scan) asks for: a message sent with a
-- callback no longer adds an entry when it is sent and another when it is
-- claimed (a status change is never a HOT update, so each new row version
-- of an indexed row adds one).
DROP INDEX {s}.messages_callback;
CREATE INDEX messages_callback ON {s}.messages (callback_owner)
WHERE callback_owner IS NOT NULL AND status IN ({terminal});
