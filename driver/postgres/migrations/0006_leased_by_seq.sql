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
