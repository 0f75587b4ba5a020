package sqlite

import (
	"fmt"
	"strings"
)

// Every SQL statement of the SQLite backend is in this file (the schema is in
// migrations/). Times are unix microseconds, UTC.

// messageColumns is the column list every row-returning statement uses; scan
// reads rows in this order. It names only columns of the first schema
// versions, so a file of an older version can still be read as it is.
const messageColumns = messageColumnsHead + `max_attempts` + messageColumnsTail

// exportColumns is messageColumns for moving rows between files: a
// max_attempts still unset (see migration 0004) reads as 0, so the row
// stays unset where it is imported.
const exportColumns = messageColumnsHead + `CASE WHEN max_attempts_unset = 1 THEN 0 ELSE max_attempts END` + messageColumnsTail

const (
	messageColumnsHead = `seq, id, type, status, destination, source, content, result, priority,
	created_at, updated_at, run_at, expire_at, finished_at, attempt, `
	messageColumnsTail = `, retry_count,
	last_error, tags, metadata, lease_owner, lease_expires_at, shard_key, callback_owner`
)

const (
	sqlBegin        = `BEGIN IMMEDIATE`
	sqlCommit       = `COMMIT`
	sqlRollback     = `ROLLBACK`
	sqlSavepoint    = `SAVEPOINT op`
	sqlRelease      = `RELEASE op`
	sqlRollbackTo   = `ROLLBACK TO op`
	sqlDataVersion  = `PRAGMA data_version`
	sqlUserVersion  = `PRAGMA user_version`
	sqlIncrVacuum   = `PRAGMA incremental_vacuum`
	sqlCheckpoint   = `PRAGMA wal_checkpoint(TRUNCATE)`
	sqlPageCount    = `PRAGMA page_count`
	sqlPageSize     = `PRAGMA page_size`
	sqlFreelist     = `PRAGMA freelist_count`
	sqlQuickCheck   = `PRAGMA quick_check`
	sqlIntegrity    = `PRAGMA integrity_check`
	sqlSchemaExists = `SELECT count(*) FROM sqlite_master`
	sqlHasMessages  = `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'messages'`

	// ?1 id, ?2 type, ?3 status, ?4 destination, ?5 source, ?6 content,
	// ?7 priority, ?8 created_at (= updated_at), ?9 run_at, ?10 expire_at,
	// ?11 max_attempts, ?12 tags, ?13 metadata, ?14 shard_key, ?15 callback_owner,
	// ?16 max_attempts_unset
	sqlInsert = `INSERT INTO messages (id, type, status, destination, source, content, priority,
	created_at, updated_at, run_at, expire_at, max_attempts, tags, metadata, shard_key, callback_owner,
	max_attempts_unset)
	VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)`

	// sqlInsert of a message stored alone, with no savepoint: no row when
	// its id ?1 has a route here (insert_rows.go). OR FAIL: one row's
	// constraints are checked before anything is written, so a failure
	// leaves nothing behind without a statement journal.
	sqlInsertUnrouted = `INSERT OR FAIL INTO messages (id, type, status, destination, source, content, priority,
	created_at, updated_at, run_at, expire_at, max_attempts, tags, metadata, shard_key, callback_owner,
	max_attempts_unset)
	SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16
	WHERE NOT EXISTS (SELECT 1 FROM id_routes WHERE id = ?1)`

	// The largest seq stored (insert_rows.go), 0 for none.
	sqlMaxSeq = `SELECT coalesce(max(seq), 0) FROM messages`
	// ?1 seq: the id of a message stored after ?1 that has an id route in
	// this file (refused: the route names another shard). The new rows are
	// read by seq and each looked up in id_routes; with no route at all
	// (every unsharded file) the seek starts past the largest seq, so the
	// check reads no row (the EXISTS runs once, before the seek; as a term
	// of its own SQLite would run it per row).
	sqlRoutedAfter = `SELECT m.id FROM messages AS m CROSS JOIN id_routes AS r ON r.id = m.id
	WHERE m.seq > CASE WHEN EXISTS (SELECT 1 FROM id_routes) THEN ?1 ELSE 9223372036854775807 END LIMIT 1`

	// ?1 status, ?2 result, ?3 error (NULL keeps the previous), ?4 run_at
	// (NULL keeps), ?5 finished_at (NULL unless terminal), ?6 1 to give the
	// attempt back, ?7 1 to count a retry, ?8 me, ?9 now, ?10 seq, ?11 owner,
	// ?12 attempt. The WHERE clause is the fence.
	sqlComplete = `UPDATE messages SET
	status = ?1,
	result = ?2,
	last_error = COALESCE(?3, last_error),
	attempt_errors = CASE WHEN ?3 IS NULL OR ?1 NOT IN (` + stFailed + `, ` + stRetrying + `) THEN attempt_errors
	ELSE ` + attemptErrorsAppend + `?12, 'at', ?9, 'error', substr(?3, 1, ` + sqlMaxAttemptErrorLength + `))) END,
	run_at = COALESCE(?4, run_at),
	finished_at = ?5,
	attempt = attempt - ?6,
	retry_count = retry_count + ?7,
	lease_owner = NULL,
	lease_expires_at = NULL,
	callback_owner = CASE WHEN ?5 IS NULL THEN callback_owner ELSE NULLIF(callback_owner, ?8) END,
	updated_at = ?9
	WHERE seq = ?10 AND status = ` + stProcessing + ` AND lease_owner = ?11 AND attempt = ?12`

	// ?1 lease until, ?2 seq, ?3 owner, ?4 attempt
	sqlExtendLease = `UPDATE messages SET lease_expires_at = ?1
	WHERE seq = ?2 AND status = ` + stProcessing + ` AND lease_owner = ?3 AND attempt = ?4`

	// ?1 now, ?2 limit, ?3 me, ?4 dead owners (JSON array), ?5 owners
	// without a liveness row watched for a lease (JSON array): theirs are
	// rescued once the stored lease time has passed too.
	sqlRescue = `UPDATE messages SET
	status = CASE WHEN attempt >= max_attempts THEN ` + stFailed + ` ELSE ` + stPending + ` END,
	finished_at = CASE WHEN attempt >= max_attempts THEN ?1 END,
	retry_count = retry_count + (attempt < max_attempts),
	last_error = ` + rescueError + `,
	attempt_errors = ` + attemptErrorsAppend + `attempt, 'at', ?1, 'error', substr(` + rescueError + `, 1, ` + sqlMaxAttemptErrorLength + `))),
	callback_owner = CASE WHEN attempt >= max_attempts THEN NULLIF(callback_owner, ?3) ELSE callback_owner END,
	lease_owner = NULL,
	lease_expires_at = NULL,
	updated_at = ?1
	WHERE seq IN (SELECT seq FROM messages WHERE status = ` + stProcessing + `
	              AND (lease_owner IN (SELECT value FROM json_each(?4))
	                   OR (lease_owner IN (SELECT value FROM json_each(?5)) AND lease_expires_at < ?1))
	              ORDER BY lease_expires_at LIMIT ?2)
	RETURNING ` + messageColumns

	// ?1 dead owners, ?2 watched owners without a row (JSON arrays), ?3 now:
	// free the listener groups they hold (their cursors stay).
	sqlReleaseDeadGroups = `UPDATE listen_cursors SET lease_owner = NULL, lease_expires_at = NULL
	WHERE lease_owner IN (SELECT value FROM json_each(?1))
	OR (lease_owner IN (SELECT value FROM json_each(?2)) AND lease_expires_at < ?3)`

	// ?1 dead owners (JSON array): forget those that lease nothing any more.
	sqlForgetOwners = `DELETE FROM owners WHERE owner IN (SELECT value FROM json_each(?1))
	AND NOT EXISTS (SELECT 1 FROM messages WHERE status = ` + stProcessing + ` AND lease_owner = owners.owner)
	AND NOT EXISTS (SELECT 1 FROM listen_cursors WHERE lease_owner = owners.owner)`

	// ?1 owner, ?2 lease (microseconds), ?3 now
	sqlBeatOwner = `INSERT INTO owners (owner, beats, lease_us, gone, beat_at) VALUES (?1, 1, ?2, 0, ?3)
	ON CONFLICT (owner) DO UPDATE SET beats = beats + 1, lease_us = excluded.lease_us, gone = 0,
	beat_at = excluded.beat_at`

	// ?1 owner
	sqlRetireOwner = `UPDATE owners SET gone = 1, beats = beats + 1 WHERE owner = ?1`

	// Every liveness row, then the lease holders (of messages and listener
	// groups) that have none.
	sqlOwners = `SELECT owner, beats, lease_us, gone, 0 FROM owners
	UNION SELECT lease_owner, 0, 0, 0, 1 FROM messages WHERE status = ` + stProcessing + ` AND lease_owner IS NOT NULL
	      AND lease_owner NOT IN (SELECT owner FROM owners)
	UNION SELECT lease_owner, 0, 0, 0, 1 FROM listen_cursors WHERE lease_owner IS NOT NULL
	      AND lease_owner NOT IN (SELECT owner FROM owners)`

	// ?1 now, ?2 error, ?3 me, ?4 seq: a claimed row that cannot be decoded
	// fails at once, without running.
	sqlFailUndecodable = `UPDATE messages SET status = ` + stFailed + `, finished_at = ?1, updated_at = ?1, last_error = ?2,
	lease_owner = NULL, lease_expires_at = NULL, callback_owner = NULLIF(callback_owner, ?3)
	WHERE seq = ?4`

	// ?1 now, ?2 limit
	sqlPromote = `UPDATE messages SET status = ` + stPending + `, updated_at = ?1
	WHERE seq IN (SELECT seq FROM messages WHERE status IN (` + stTimed + `) AND run_at <= ?1
	              ORDER BY run_at LIMIT ?2)`

	sqlNextDue = `SELECT min(run_at) FROM messages WHERE status IN (` + stTimed + `)`

	// ?1 now, ?2 limit, ?3 me
	sqlExpire = `UPDATE messages SET
	status = ` + stExpired + `,
	finished_at = ?1,
	last_error = 'expired before it could start',
	callback_owner = NULLIF(callback_owner, ?3),
	updated_at = ?1
	WHERE seq IN (SELECT seq FROM messages WHERE expire_at IS NOT NULL AND status IN (` + stNotStarted + `)
	              AND expire_at <= ?1 ORDER BY expire_at LIMIT ?2)
	RETURNING ` + messageColumns

	// ?1 status, ?2 finished before, ?3 limit
	sqlCleanup = `DELETE FROM messages WHERE seq IN (
	SELECT seq FROM messages WHERE status = ?1 AND finished_at IS NOT NULL AND finished_at < ?2 LIMIT ?3)`

	sqlGet = `SELECT ` + messageColumns + ` FROM messages WHERE id = ?1`

	// ?1 now, ?2 id, ?3 me
	sqlCancel = `UPDATE messages SET status = ` + stCancelled + `, finished_at = ?1, updated_at = ?1,
	callback_owner = NULLIF(callback_owner, ?3)
	WHERE id = ?2 AND status IN (` + stNotStarted + `)
	RETURNING ` + messageColumns

	// ?1 now, ?2 id
	sqlRequeue = `UPDATE messages SET status = ` + stPending + `, attempt = 0, finished_at = NULL, expire_at = NULL,
	run_at = ?1, updated_at = ?1, callback_owner = NULL
	WHERE id = ?2 AND status IN (` + stRequeueable + `)
	RETURNING ` + messageColumns

	// ?1 owner, ?2 limit
	sqlFinished = `SELECT ` + messageColumns + ` FROM messages
	WHERE callback_owner = ?1 AND status IN (` + stTerminal + `) LIMIT ?2`

	// ?1 seq
	sqlAckCallback = `UPDATE messages SET callback_owner = NULL WHERE seq = ?1`

	sqlStatsCounts  = `SELECT destination, status, count(*) FROM messages GROUP BY destination, status`
	sqlStatsOldest  = `SELECT min(created_at) FROM messages WHERE status = ` + stPending
	sqlMetaGet      = `SELECT value FROM meta WHERE key = ?1`
	sqlMetaSet      = `INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value`
	sqlListTemplate = `SELECT ` + messageColumns + ` FROM messages WHERE seq > ? %s ORDER BY seq LIMIT ?`
)

// A claim is two statements in the writer's transaction: claimSelectSQL
// reads the claimed rows as the claim leaves them, then claimUpdateSQL
// writes that to the same rows (given by seq). Reading first and updating
// without RETURNING costs less than one UPDATE ... RETURNING, which SQLite
// buffers row by row (issue 12). Both take their values from claimSet, so
// what a claim returns is what it stores.

// claimSelectSQL builds the read of a claim for n destinations. Each
// destination is read from the ready index in priority order on its own
// (one short index range each), then the candidates are merged, so the cost
// does not grow with the backlog. Parameters: ?1 now, ?2 owner, ?3 lease
// until, ?4 limit, ?5 me, ?6.. the destinations, ?6+n.. their max attempts
// (claimMaxAttempts), ?6+2n.. how many of each the claim may take (?4
// unless it is limited).
func claimSelectSQL(n int) string {
	cols := claimedColumns(n)
	if n == 1 {
		return `SELECT ` + cols + ` FROM messages WHERE status = ` + stPending + ` AND destination = ?6
		ORDER BY priority DESC, seq LIMIT ?8`
	}
	parts := make([]string, n)
	for i := range parts {
		parts[i] = fmt.Sprintf(`SELECT seq, priority FROM (SELECT seq, priority FROM messages
		WHERE status = `+stPending+` AND destination = ?%d ORDER BY priority DESC, seq LIMIT ?%d)`, i+6, i+6+2*n)
	}
	return `SELECT ` + cols + ` FROM messages WHERE seq IN (SELECT seq FROM (` + strings.Join(parts, "\n UNION ALL ") + `)
	              ORDER BY priority DESC, seq LIMIT ?4)
	ORDER BY priority DESC, seq`
}

// claimUpdateSQL builds the write of a claim for n destinations: the
// parameters of claimSelectSQL up to ?5+2n, with ?4 the claimed seqs (a
// JSON array).
func claimUpdateSQL(n int) string {
	set := make([]string, 0, len(claimSet)+2)
	for _, a := range claimSet {
		set = append(set, a.column+" = "+a.value)
	}
	set = append(set, "max_attempts = "+claimMaxAttempts(n), "max_attempts_unset = 0")
	return `UPDATE messages SET ` + strings.Join(set, ",\n\t") + `
	WHERE seq IN (SELECT value FROM json_each(?4))`
}

// claimedColumns is messageColumns with every column a claim sets read as
// the claim sets it.
func claimedColumns(n int) string {
	cols := strings.Split(messageColumns, ",")
	for i, c := range cols {
		c = strings.TrimSpace(c)
		cols[i] = c
		if c == "max_attempts" {
			cols[i] = claimMaxAttempts(n)
		}
		for _, a := range claimSet {
			if a.column == c {
				cols[i] = a.value
			}
		}
	}
	return strings.Join(cols, ", ")
}

// claimSet is what a claim stores: a message that expired while it waited
// is expired, not run; any other is leased and charged an attempt.
var claimSet = []struct{ column, value string }{
	{"status", `CASE WHEN expire_at <= ?1 THEN ` + stExpired + ` ELSE ` + stProcessing + ` END`},
	{"attempt", `attempt + (CASE WHEN expire_at <= ?1 THEN 0 ELSE 1 END)`},
	{"lease_owner", `CASE WHEN expire_at <= ?1 THEN NULL ELSE ?2 END`},
	{"lease_expires_at", `CASE WHEN expire_at <= ?1 THEN NULL ELSE ?3 END`},
	{"finished_at", `CASE WHEN expire_at <= ?1 THEN ?1 END`},
	{"last_error", `CASE WHEN expire_at <= ?1 THEN 'expired before it could start' ELSE last_error END`},
	{"callback_owner", `CASE WHEN expire_at <= ?1 THEN NULLIF(callback_owner, ?5) ELSE callback_owner END`},
	{"updated_at", `?1`},
}

// claimMaxAttempts is the value a claim gives max_attempts: for a message
// sent without one, the handler's value for its destination (parameters
// ?6+n.. parallel to the destinations; NULL keeps the stand-in the sender
// stored).
func claimMaxAttempts(n int) string {
	var b strings.Builder
	b.WriteString(`CASE WHEN max_attempts_unset = 0 THEN max_attempts
	ELSE COALESCE(CASE destination`)
	for i := range n {
		fmt.Fprintf(&b, ` WHEN ?%d THEN ?%d`, i+6, i+6+n)
	}
	b.WriteString(` END, max_attempts) END`)
	return b.String()
}

// headSQL builds the query for the best ready priority among n destinations
// (?1.. the destinations).
func headSQL(n int) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = fmt.Sprintf(`SELECT max(priority) AS p FROM messages WHERE status = `+stPending+` AND destination = ?%d`, i+1)
	}
	return `SELECT max(p) FROM (` + strings.Join(parts, " UNION ALL ") + `)`
}

// Listen data statements.
const (
	sqlListenGet    = `SELECT key, kind, value, version, updated_at FROM listen_data WHERE key = ?1`
	sqlListenList   = `SELECT key, kind, value, version, updated_at FROM listen_data WHERE key >= ?1 ORDER BY key`
	sqlListenCursor = `SELECT EXISTS (SELECT 1 FROM listen_cursors)`
	// ?1 key, ?2 old kind, ?3 old value, ?4 new kind, ?5 new value, ?6 now
	sqlListenLog = `INSERT INTO listen_changes (key, old_kind, old_value, new_kind, new_value, changed_at)
	VALUES (?1, ?2, ?3, ?4, ?5, ?6)`
	// ?1 key, ?2 kind, ?3 value, ?4 version, ?5 now
	sqlListenPut = `INSERT INTO listen_data (key, kind, value, version, updated_at) VALUES (?1, ?2, ?3, ?4, ?5)
	ON CONFLICT (key) DO UPDATE SET kind = excluded.kind, value = excluded.value,
	version = excluded.version, updated_at = excluded.updated_at`
	sqlListenDelete = `DELETE FROM listen_data WHERE key = ?1`
	// ?1 after seq, ?2 limit
	sqlListenChanges = `SELECT seq, key, old_kind, old_value, new_kind, new_value, changed_at
	FROM listen_changes WHERE seq > ?1 ORDER BY seq LIMIT ?2`
	sqlListenHead = `SELECT COALESCE(max(seq), 0), COALESCE(min(seq), 0) FROM listen_changes`
	// ?1 group, ?2 owner, ?3 now, ?4 lease until, ?5 dead owners (JSON
	// array), ?6 owners without a liveness row watched for a lease (JSON
	// array). A new group starts at the newest change: it sees what happens
	// from its first claim on. A live holder keeps the group whatever ?3 says.
	sqlListenClaimGroup = `INSERT INTO listen_cursors (grp, seq, lease_owner, lease_expires_at, updated_at)
	VALUES (?1, (SELECT COALESCE(max(seq), 0) FROM listen_changes), ?2, ?4, ?3)
	ON CONFLICT (grp) DO UPDATE SET lease_owner = ?2, lease_expires_at = ?4, updated_at = ?3
	WHERE lease_owner IS NULL OR lease_owner = ?2
	OR lease_owner IN (SELECT value FROM json_each(?5))
	OR (lease_owner IN (SELECT value FROM json_each(?6)) AND lease_expires_at < ?3)
	RETURNING seq`
	// ?1 group, ?2 owner, ?3 seq, ?4 lease until, ?5 now
	sqlListenAdvance = `UPDATE listen_cursors SET seq = max(seq, ?3), lease_expires_at = ?4, updated_at = ?5
	WHERE grp = ?1 AND lease_owner = ?2`
	sqlListenRelease   = `UPDATE listen_cursors SET lease_owner = NULL, lease_expires_at = NULL WHERE grp = ?1 AND lease_owner = ?2`
	sqlListenDropGroup = `DELETE FROM listen_cursors WHERE grp = ?1`
	// ?1 group, ?2 listener, ?3 seq, ?4 key, ?5 attempts, ?6 error, ?7 now
	sqlListenFail = `INSERT INTO listen_failures (grp, listener, seq, key, attempts, error, failed_at)
	VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)`
	// ?1 changed before, ?2 keep at most this many changes
	sqlListenPrune = `DELETE FROM listen_changes WHERE seq <= (SELECT COALESCE(min(seq), 0) FROM listen_cursors)
	OR changed_at < ?1
	OR seq <= (SELECT COALESCE(max(seq), 0) FROM listen_changes) - ?2`
	sqlListenGroups = `SELECT c.grp, c.seq, COALESCE(c.lease_owner, ''), COALESCE(c.lease_expires_at, 0),
	(SELECT count(*) FROM listen_failures f WHERE f.grp = c.grp)
	FROM listen_cursors c ORDER BY c.grp`
)

// Resharding statements: moving messages between shard files.
const (
	// ?1 after seq, ?2 limit
	sqlExport = `SELECT ` + exportColumns + `, attempt_errors FROM messages WHERE seq > ?1 ORDER BY seq LIMIT ?2`
	// ?1 id: one row as Export reads it, to compare with an imported copy.
	sqlExportID   = `SELECT ` + exportColumns + `, attempt_errors FROM messages WHERE id = ?1`
	sqlDeleteSeq  = `DELETE FROM messages WHERE seq = ?1`
	sqlCountAll   = `SELECT count(*) FROM messages`
	sqlCountUpTo  = `SELECT count(*) FROM messages WHERE seq <= ?1`
	sqlMetaDelete = `DELETE FROM meta WHERE key = ?1`
	// ?1 after, ?2 the end of the prefix's range (prefixEnd), ?3 limit
	sqlMetaPrefixed = `SELECT key, value FROM meta WHERE key > ?1 AND key < ?2 ORDER BY key LIMIT ?3`
)

// Id route statements (see migrations/0003_id_routes.sql).
const (
	sqlRouteGet = `SELECT id, shard, routed_at, token FROM id_routes WHERE id = ?1`
	// ?1 id, ?2 shard, ?3 routed at, ?4 token; the caller has checked that
	// a route already there names the same shard.
	sqlRoutePut = `INSERT INTO id_routes (id, shard, routed_at, token) VALUES (?1, ?2, ?3, ?4)
	ON CONFLICT (id) DO UPDATE SET routed_at = excluded.routed_at, token = excluded.token`
	sqlRouteShard = `SELECT shard FROM id_routes WHERE id = ?1`
	// ?1 id, ?2 token
	sqlRouteDrop = `DELETE FROM id_routes WHERE id = ?1 AND token = ?2`
	// ?1 before, ?2 after routed_at, ?3 after id, ?4 limit
	sqlRoutesOld = `SELECT id, shard, routed_at, token FROM id_routes
	WHERE routed_at < ?1 AND (routed_at > ?2 OR (routed_at = ?2 AND id > ?3))
	ORDER BY routed_at, id LIMIT ?4`
	// ?1 a JSON array of ids
	sqlStoredIDs   = `SELECT id FROM messages WHERE id IN (SELECT value FROM json_each(?1))`
	sqlRoutesClear = `DELETE FROM id_routes`
	// ?1 after id, ?2 limit: ids in order, from the unique index.
	sqlIDsAfter = `SELECT id FROM messages WHERE id > ?1 ORDER BY id LIMIT ?2`
	// ?1 after seq, ?2 limit: the messages that may be stored outside
	// their id's home shard.
	sqlKeyedAfter = `SELECT seq, id, shard_key FROM messages WHERE seq > ?1 AND shard_key IS NOT NULL ORDER BY seq LIMIT ?2`
	// A move's insert: every column but seq (the target file assigns its
	// own, in arrival order); nothing when the id is here already.
	sqlImport = `INSERT INTO messages (id, type, status, destination, source, content, result, priority,
	created_at, updated_at, run_at, expire_at, finished_at, attempt, max_attempts, retry_count,
	last_error, tags, metadata, lease_owner, lease_expires_at, shard_key, callback_owner, max_attempts_unset,
	attempt_errors)
	VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25)
	ON CONFLICT (id) DO NOTHING`
)

// Leader elections (leader.go).
const (
	// ?1 name, ?2 candidate, ?3 now: take an empty seat.
	sqlElectEmpty = `INSERT INTO leader (name, owner, term, since_at) VALUES (?1, ?2, 1, ?3)
	ON CONFLICT (name) DO NOTHING`
	// ?1 name, ?2 candidate, ?3 now, ?4 owners judged dead (JSON array): take
	// the seat of a dead holder, one retired or one without a liveness row.
	sqlElectTakeover = `UPDATE leader SET owner = ?2, term = term + 1, since_at = ?3
	WHERE name = ?1 AND owner <> ?2
	AND (owner IN (SELECT value FROM json_each(?4))
	     OR NOT EXISTS (SELECT 1 FROM owners o WHERE o.owner = leader.owner AND o.gone = 0))`
	// ?1 name: the holder; a resigned seat (owner '') is empty.
	sqlLeader = `SELECT owner, term, since_at FROM leader WHERE name = ?1 AND owner <> ''`
	// ?1 name, ?2 owner: the row stays, so the next holder's term follows on.
	sqlResign = `UPDATE leader SET owner = '' WHERE name = ?1 AND owner = ?2`
)

// Moving listen data in from another store (ImportListen).
const (
	sqlImportListenEntry = `INSERT INTO listen_data (key, kind, value, version, updated_at) VALUES (?1, ?2, ?3, ?4, ?5)
		ON CONFLICT (key) DO UPDATE SET kind = excluded.kind, value = excluded.value, version = excluded.version, updated_at = excluded.updated_at`
	sqlImportListenChange = `INSERT OR IGNORE INTO listen_changes (seq, key, old_kind, old_value, new_kind, new_value, changed_at)
		VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)`
	sqlImportListenGroup = `INSERT INTO listen_cursors (grp, seq, updated_at) VALUES (?1, ?2, ?3)
		ON CONFLICT (grp) DO UPDATE SET seq = max(seq, excluded.seq)`
)

// Claim limits (limits.go, migrations/0009_rate_buckets.sql).
const (
	// ?1 destination: its messages processing, of every owner.
	sqlProcessingOf = `SELECT count(*) FROM messages WHERE status = ` + stProcessing + ` AND destination = ?1`
	// ?1 destination: its bucket's tokens and their time.
	sqlBucketGet = `SELECT tokens, at FROM rate_buckets WHERE destination = ?1`
	// ?1 destination, ?2 tokens left, ?3 at
	sqlBucketPut = `INSERT INTO rate_buckets (destination, tokens, at) VALUES (?1, ?2, ?3)
	ON CONFLICT (destination) DO UPDATE SET tokens = excluded.tokens, at = excluded.at`
)

// processingOfSQL counts the processing messages of n destinations (?1..?n),
// of every owner, for a queue's global limit.
func processingOfSQL(n int) string {
	marks := make([]string, n)
	for i := range marks {
		marks[i] = fmt.Sprintf("?%d", i+1)
	}
	return `SELECT count(*) FROM messages WHERE status = ` + stProcessing + `
	AND destination IN (` + strings.Join(marks, ", ") + `)`
}

// Pauses (pause.go, migrations/0008_pauses.sql).
const (
	// ?1 kind, ?2 name, ?3 now: a pause already recorded keeps its time.
	sqlPause = `INSERT INTO pauses (kind, name, since_at) VALUES (?1, ?2, ?3)
	ON CONFLICT (kind, name) DO NOTHING`
	// ?1 kind, ?2 name
	sqlResume = `DELETE FROM pauses WHERE kind = ?1 AND name = ?2`
	sqlPauses = `SELECT kind, name, since_at FROM pauses ORDER BY kind, name`
)

// Dependencies (deps.go, migrations/0010_dependencies.sql). ?n of the
// waiting sentinel is micros(driver.WaitingRunAt).
const (
	// waitingMicros is micros(driver.WaitingRunAt), literal for the partial
	// index messages_children_moved (TestMigrate_DependencyMarksSettleExistingRows
	// checks it).
	waitingMicros = "253402300799999999"

	// ?1 id
	sqlParentStored = `SELECT seq FROM messages WHERE id = ?1`
	// ?1 child seq, ?2 parent id, ?3 the run time asked for
	sqlDepInsert = `INSERT INTO dependencies (child_seq, parent_id, run_at) VALUES (?1, ?2, ?3)`
	// ?1 limit: the messages whose rows may have settled, through the
	// partial indexes of migrations/0012_dependency_marks.sql (their
	// conditions are repeated literally, so that the planner uses them):
	// finished parents, and children that no longer wait.
	sqlDepCandidates = `SELECT seq FROM messages INDEXED BY messages_parents_finished
	WHERE has_dependants = 1 AND status IN (` + stTerminal + `)
	UNION
	SELECT seq FROM messages INDEXED BY messages_children_moved
	WHERE waits = 1 AND (status <> ` + stScheduled + ` OR run_at <> ` + waitingMicros + `)
	ORDER BY 1 LIMIT ?1`
	// ?1 limit: the oldest marks of deleted parents and children.
	sqlDepMarks = `SELECT n FROM dependency_marks ORDER BY n LIMIT ?1`
	// ?1 limit, ?2 waiting sentinel, ?3 the candidates' seqs and ?4 the
	// marks' numbers (JSON arrays): the rows of the finished (or gone)
	// parents among them, with the parent's status (NULL when gone), and
	// every row of the children among them that no longer wait (cancelled,
	// expired or requeued meanwhile, or gone).
	sqlDepsSettled = `WITH
	parents (id) AS (SELECT id FROM messages WHERE seq IN (SELECT value FROM json_each(?3))
	                 UNION SELECT id FROM dependency_marks WHERE n IN (SELECT value FROM json_each(?4))),
	children (seq) AS (SELECT value FROM json_each(?3)
	                   UNION SELECT seq FROM dependency_marks WHERE n IN (SELECT value FROM json_each(?4)) AND seq IS NOT NULL)
	SELECT d.child_seq, d.parent_id, m.status FROM parents p
	JOIN dependencies d ON d.parent_id = p.id
	LEFT JOIN messages m ON m.id = d.parent_id
	WHERE m.seq IS NULL OR m.status IN (` + stTerminal + `)
	UNION
	SELECT d.child_seq, d.parent_id, m.status FROM children k
	JOIN dependencies d ON d.child_seq = k.seq
	LEFT JOIN messages c ON c.seq = d.child_seq
	LEFT JOIN messages m ON m.id = d.parent_id
	WHERE c.seq IS NULL OR c.status <> ` + stScheduled + ` OR c.run_at <> ?2
	ORDER BY 1 LIMIT ?1`
	// ?1 the candidates' seqs (JSON): finished parents whose rows are all
	// settled lose their flag.
	sqlDepParentsDone = `UPDATE messages SET has_dependants = 0 WHERE seq IN (SELECT value FROM json_each(?1))
	AND has_dependants = 1 AND status IN (` + stTerminal + `)
	AND NOT EXISTS (SELECT 1 FROM dependencies d WHERE d.parent_id = messages.id)`
	// ?1 the candidates' seqs (JSON): children without rows lose their flag.
	sqlDepChildrenDone = `UPDATE messages SET waits = 0 WHERE seq IN (SELECT value FROM json_each(?1))
	AND waits = 1 AND NOT EXISTS (SELECT 1 FROM dependencies d WHERE d.child_seq = messages.seq)`
	// ?1 the marks' numbers (JSON)
	sqlDepForget = `DELETE FROM dependency_marks WHERE n IN (SELECT value FROM json_each(?1))`
	// Whether anything may be settled, read before the writer is asked for.
	sqlDepsAnySettled = `SELECT EXISTS (SELECT 1 FROM messages INDEXED BY messages_parents_finished
	WHERE has_dependants = 1 AND status IN (` + stTerminal + `))
	OR EXISTS (SELECT 1 FROM messages INDEXED BY messages_children_moved
	WHERE waits = 1 AND (status <> ` + stScheduled + ` OR run_at <> ` + waitingMicros + `))
	OR EXISTS (SELECT 1 FROM dependency_marks)`
	// ?1 child seq, ?2 parent id
	sqlDepDelete = `DELETE FROM dependencies WHERE child_seq = ?1 AND parent_id = ?2 RETURNING run_at`
	// ?1 child seq
	sqlDepRemaining = `SELECT count(*) FROM dependencies WHERE child_seq = ?1`
	// ?1 child seq
	sqlDepDropChild = `DELETE FROM dependencies WHERE child_seq = ?1`
	// ?1 child seq, ?2 run at, ?3 now, ?4 waiting sentinel: ready, or
	// scheduled when the run time asked for is still ahead.
	sqlDepRelease = `UPDATE messages SET status = CASE WHEN ?2 <= ?3 THEN ` + stPending + ` ELSE ` + stScheduled + ` END,
	run_at = ?2, updated_at = ?3, waits = 0
	WHERE seq = ?1 AND status = ` + stScheduled + ` AND run_at = ?4`
	// ?1 child seq, ?2 status, ?3 now, ?4 error, ?5 me, ?6 waiting sentinel
	sqlDepFinish = `UPDATE messages SET status = ?2, finished_at = ?3, updated_at = ?3, last_error = ?4,
	callback_owner = NULLIF(callback_owner, ?5), waits = 0
	WHERE seq = ?1 AND status = ` + stScheduled + ` AND run_at = ?6
	RETURNING ` + messageColumns
	// ?1 waiting sentinel: the children still waiting.
	sqlDepsWaiting = `SELECT count(*) FROM messages WHERE status = ` + stScheduled + ` AND run_at = ?1
	AND seq IN (SELECT child_seq FROM dependencies)`
)

// rescueError is the error a rescue records: the attempt's lease ran out.
const rescueError = `'lease of ' || COALESCE(lease_owner, '?') || ' expired during attempt ' || attempt || ' (worker crashed, froze or lost the database)'`

// The bounds of the attempt history as SQL literals (checked against
// queuetype in attempts_test.go).
const (
	sqlMaxAttemptErrors      = "20"   // queuetype.MaxAttemptErrors
	sqlMaxAttemptErrorLength = "4096" // queuetype.MaxAttemptErrorLength
)

// attemptErrorsAppend begins the expression of attempt_errors with one
// entry added at its end, the oldest dropped beyond MaxAttemptErrors (a
// value that is not a JSON array, a foreign tool's, starts afresh, so it
// never fails the write); the statement goes on with the entry's attempt,
// then 'at', its time, 'error', its text, and closes three parentheses.
const attemptErrorsAppend = `json_insert(CASE WHEN json_array_length(` + attemptErrorsCur + `) >= ` + sqlMaxAttemptErrors + `
	THEN json_remove(` + attemptErrorsCur + `, '$[0]') ELSE ` + attemptErrorsCur + ` END,
	'$[#]', json_object('attempt', `

// attemptErrorsCur is the stored attempt history, or [] when there is none.
const attemptErrorsCur = `(CASE WHEN json_valid(attempt_errors) AND json_type(attempt_errors) = 'array' THEN attempt_errors ELSE '[]' END)`

// Deleting messages (delete.go) and reading their attempt history.
const (
	// ?1 id: a message that is not running.
	sqlDelete = `DELETE FROM messages WHERE id = ?1 AND status <> ` + stProcessing + ` RETURNING seq`
	// ?1 id
	sqlStatusOf = `SELECT status FROM messages WHERE id = ?1`
	// ?1 id: Get with the attempt history (migrations/0011_attempt_errors.sql).
	sqlGetWithErrors = `SELECT ` + messageColumns + `, attempt_errors FROM messages WHERE id = ?1`
)
