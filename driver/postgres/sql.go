package postgres

import (
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/queue-sqlite/queuesqlite/queuetype"
)

// Every SQL statement of the PostgreSQL backend is in this file (the schema
// is in migrations/). The statements are templates: {s} stands for the
// queue's quoted schema and {pending}, {processing}, ... for the numbers of
// the statuses, which stay literals in the text so that the partial
// indexes of the schema (WHERE status = 0, ...) match. statements renders
// them once per open.

// messageColumns is the column list every row-returning statement uses;
// scanMessage reads rows in this order.
const messageColumns = messageColumnsHead + `max_attempts` + messageColumnsTail

// exportColumns is messageColumns for moving rows: a max_attempts still
// unset reads as 0, so the row stays unset where it is imported.
const exportColumns = messageColumnsHead + `CASE WHEN max_attempts_unset THEN 0 ELSE max_attempts END` + messageColumnsTail

const (
	messageColumnsHead = `seq, id, type, status, destination, source, content, result, priority,
	created_at, updated_at, run_at, expire_at, finished_at, attempt, `
	messageColumnsTail = `, retry_count,
	last_error, tags, metadata, lease_owner, lease_expires_at, shard_key, callback_owner`
)

// Schema bookkeeping and locks.
const (
	sqlCreateSchema   = `CREATE SCHEMA IF NOT EXISTS {s}`
	sqlVersionTable   = `CREATE TABLE IF NOT EXISTS {s}.schema_version (version integer NOT NULL)`
	sqlVersionGet     = `SELECT COALESCE(max(version), 0) FROM {s}.schema_version`
	sqlVersionSet     = `INSERT INTO {s}.schema_version (version) VALUES ($1)`
	sqlVersionExists  = `SELECT to_regclass($1) IS NOT NULL`
	sqlMigrateLock    = `SELECT pg_advisory_xact_lock($1, $2)`
	sqlListenLock     = `SELECT pg_advisory_xact_lock($1, $2)`
	sqlUniqueLock     = `SELECT pg_advisory_xact_lock($1, hashtext($2))`
	sqlNow            = `SELECT clock_timestamp()`
	sqlStoreIDComment = `COMMENT ON TABLE {s}.meta IS `
	// The store id, read through the comment on the meta table: a query
	// that cannot fail, so checking a caller's transaction never aborts it.
	sqlStoreIDOf = `SELECT COALESCE(obj_description(to_regclass($1), 'pg_class'), '')`
	sqlCheck     = `SELECT count(*) FROM {s}.messages WHERE false`
	// The begin of the queue's own transactions, %d the idle-in-transaction
	// timeout in milliseconds: one simple query (no parameters), so BEGIN
	// and SET LOCAL share one round trip.
	sqlBeginIdleInTx = `BEGIN; SET LOCAL idle_in_transaction_session_timeout = %d`
)

// asyncCommit is a CTE (named async, one row; a statement joins it so it
// runs) that lets the statement's transaction commit without waiting for
// its WAL to reach disk. Only for writes whose loss in a server crash
// changes nothing that matters: a lease renewal (lease_expires_at is shown,
// never compared; liveness is judged by heartbeats), and a wake-up sent
// after a commit (sqlNotifyAfter; it writes nothing). Claims, sends,
// completions, cancels, listen data and elections keep the server's
// synchronous_commit.
const asyncCommit = `async AS MATERIALIZED (SELECT set_config('synchronous_commit', 'off', true) AS sc)`

// sqlGenericPlans makes the rest of its transaction (the claim's implicit
// one: a pipelined batch) run cached prepared statements with their
// generic plan. Without it PostgreSQL plans the claim afresh at every
// execution (its generic plan's guessed cost, from LIMIT $4, is far above
// a custom plan's), and planning took a third as long as running it.
const sqlGenericPlans = `SELECT set_config('plan_cache_mode', 'force_generic_plan', true)`

// Messages.
const (
	// $1.. parallel arrays, one element per message, in send order;
	// $19 the notification channel, $20 the payloads to notify on it in
	// the statement's own transaction (none: the wake-up goes after the
	// commit, see wake.go). The CTE runs once, as the filter's InitPlan,
	// before the first row is read. The arrays are unnested in the select
	// list, in step: the rows come out in array order (element 1 of each,
	// then element 2, ...), so the seqs follow send order, without the
	// tuplestores that unnest in FROM (ROWS FROM ... WITH ORDINALITY)
	// fills first, a quarter of the statement's time for 1000 rows.
	sqlInsert = `WITH notified AS MATERIALIZED (SELECT count(pg_notify($19, p)) AS n FROM unnest($20::text[]) AS p)
	INSERT INTO {s}.messages (id, type, status, destination, source, content, priority,
	created_at, updated_at, run_at, expire_at, max_attempts, max_attempts_unset, tags, metadata, shard_key,
	callback_owner, unique_key, unique_states)
	SELECT id, type, status, destination, source, content, priority, created_at, created_at, run_at, expire_at,
	max_attempts, max_attempts_unset, tags, metadata, shard_key, callback_owner, unique_key, unique_states
	FROM (SELECT unnest($1::text[]) AS id, unnest($2::text[]) AS type, unnest($3::smallint[]) AS status,
	unnest($4::text[]) AS destination, unnest($5::text[]) AS source, unnest($6::bytea[]) AS content,
	unnest($7::smallint[]) AS priority, unnest($8::timestamptz[]) AS created_at, unnest($9::timestamptz[]) AS run_at,
	unnest($10::timestamptz[]) AS expire_at, unnest($11::integer[]) AS max_attempts,
	unnest($12::boolean[]) AS max_attempts_unset, unnest($13::jsonb[]) AS tags, unnest($14::bytea[]) AS metadata,
	unnest($15::text[]) AS shard_key, unnest($16::text[]) AS callback_owner, unnest($17::text[]) AS unique_key,
	unnest($18::integer[]) AS unique_states) AS u
	WHERE (SELECT n FROM notified) >= 0
	RETURNING id, seq`

	// $1 now, $2 owner, $3 lease until, $4 limit, $5 me, $6 destinations,
	// $7 max attempts parallel to them (0: keep the stand-in), $8 how many
	// of each the claim may take ($4 unless it is limited). Each
	// destination is read from the ready index in claim order on its own
	// (a short index range each, skipping rows other claims hold), then
	// the candidates are merged. The claim keeps the server's
	// synchronous_commit: a claim lost in a server crash would let another
	// worker run the message again with the same attempt number while the
	// first still runs it (the host tests saw it), so a claim is durable
	// before a handler starts.
	// The picked rows are updated through the primary key from an array
	// (= ANY), whatever the planner guesses of their number, so the generic
	// plan (sqlGenericPlans) is as good as a custom one: a join on picked
	// would be planned for the 10% of the table a LIMIT $4 is guessed at.
	sqlClaim = `WITH picked AS (
		SELECT c.seq FROM unnest($6::text[], $8::integer[]) AS d(name, cap) CROSS JOIN LATERAL (
			SELECT seq, priority FROM {s}.messages
			WHERE status = {pending} AND destination = d.name
			ORDER BY priority DESC, seq LIMIT d.cap FOR UPDATE SKIP LOCKED) AS c
		ORDER BY c.priority DESC, c.seq LIMIT $4)
	UPDATE {s}.messages m SET
	status = CASE WHEN m.expire_at <= $1 THEN {expired} ELSE {processing} END,
	attempt = m.attempt + (CASE WHEN m.expire_at <= $1 THEN 0 ELSE 1 END),
	lease_owner = CASE WHEN m.expire_at <= $1 THEN NULL ELSE $2 END,
	lease_expires_at = CASE WHEN m.expire_at <= $1 THEN NULL ELSE $3::timestamptz END,
	finished_at = CASE WHEN m.expire_at <= $1 THEN $1 END,
	last_error = CASE WHEN m.expire_at <= $1 THEN 'expired before it could start' ELSE m.last_error END,
	callback_owner = CASE WHEN m.expire_at <= $1 THEN NULLIF(m.callback_owner, $5) ELSE m.callback_owner END,
	max_attempts = CASE WHEN NOT m.max_attempts_unset THEN m.max_attempts
		ELSE COALESCE((SELECT NULLIF(x.n, 0) FROM unnest($6::text[], $7::integer[]) AS x(name, n)
		               WHERE x.name = m.destination LIMIT 1), m.max_attempts) END,
	max_attempts_unset = false,
	updated_at = $1
	WHERE m.seq = ANY(ARRAY(SELECT seq FROM picked))
	RETURNING ` + claimedColumns

	// $1 owner, $2 lease times of the owner's claims that got no answer,
	// $3 the new lease time, $4 limit: the rows such a claim committed
	// (see lostClaims), leased again to the owner.
	sqlAdoptClaims = `UPDATE {s}.messages m SET lease_expires_at = $3
	WHERE m.seq IN (SELECT seq FROM {s}.messages WHERE status = {processing} AND lease_owner = $1
	                AND lease_expires_at = ANY($2::timestamptz[]) ORDER BY seq LIMIT $4 FOR UPDATE)
	RETURNING ` + claimedColumns

	// $1 destinations
	sqlHead = `SELECT max(h.p) FROM unnest($1::text[]) AS d(name) CROSS JOIN LATERAL (
		SELECT priority AS p FROM {s}.messages WHERE status = {pending} AND destination = d.name
		ORDER BY priority DESC LIMIT 1) AS h`

	// Parallel arrays, one element per completion: $1 seq, $2 attempt,
	// $3 owner, $4 status, $5 result, $6 error (NULL keeps the previous),
	// $7 run at (NULL keeps), $8 finished at (NULL unless terminal),
	// $9 1 to give the attempt back, $10 1 to count a retry, $11 me,
	// $12 now. The WHERE clause is the fence.
	sqlComplete = `UPDATE {s}.messages m SET
	status = c.status,
	result = c.result,
	last_error = COALESCE(c.error, m.last_error),
	attempt_errors = CASE WHEN c.error IS NULL OR c.status NOT IN ({attemptFailed}) THEN m.attempt_errors
	ELSE ` + attemptErrorsAppend + `c.attempt, 'at', c.now, 'error', left(c.error, {maxAttemptErrorLength}))) END,
	run_at = COALESCE(c.run_at, m.run_at),
	finished_at = c.finished_at,
	attempt = m.attempt - c.uncharge,
	retry_count = m.retry_count + c.retried,
	lease_owner = NULL,
	lease_expires_at = NULL,
	callback_owner = CASE WHEN c.finished_at IS NULL THEN m.callback_owner ELSE NULLIF(m.callback_owner, c.me) END,
	updated_at = c.now
	FROM unnest($1::bigint[], $2::integer[], $3::text[], $4::smallint[], $5::bytea[], $6::text[],
	     $7::timestamptz[], $8::timestamptz[], $9::integer[], $10::integer[], $11::text[], $12::timestamptz[])
	AS c(seq, attempt, owner, status, result, error, run_at, finished_at, uncharge, retried, me, now)
	WHERE m.seq = c.seq AND m.status = {processing} AND m.lease_owner = c.owner AND m.attempt = c.attempt
	RETURNING m.seq, m.status, m.destination, m.callback_owner`

	// $1 lease until, $2 owner, $3 seqs, $4 attempts parallel to them
	sqlExtendLeases = `WITH ` + asyncCommit + `
	UPDATE {s}.messages m SET lease_expires_at = $1
	FROM async, unnest($3::bigint[], $4::integer[]) AS l(seq, attempt)
	WHERE m.seq = l.seq AND m.status = {processing} AND m.lease_owner = $2 AND m.attempt = l.attempt
	RETURNING m.seq`

	// $1 now, $2 limit, $3 me, $4 dead owners, $5 owners without a
	// liveness row watched for a lease: theirs are rescued once the stored
	// lease time has passed too.
	sqlRescue = `UPDATE {s}.messages SET
	status = CASE WHEN attempt >= max_attempts THEN {failed} ELSE {pending} END,
	finished_at = CASE WHEN attempt >= max_attempts THEN $1 END,
	retry_count = retry_count + (CASE WHEN attempt < max_attempts THEN 1 ELSE 0 END),
	last_error = ` + rescueError + `,
	attempt_errors = ` + attemptErrorsAppend + `attempt, 'at', $1, 'error', left(` + rescueError + `, {maxAttemptErrorLength}))),
	callback_owner = CASE WHEN attempt >= max_attempts THEN NULLIF(callback_owner, $3) ELSE callback_owner END,
	lease_owner = NULL,
	lease_expires_at = NULL,
	updated_at = $1
	WHERE seq IN (SELECT seq FROM {s}.messages WHERE status = {processing}
	              AND (lease_owner = ANY($4::text[])
	                   OR (lease_owner = ANY($5::text[]) AND lease_expires_at < $1))
	              ORDER BY lease_expires_at LIMIT $2 FOR UPDATE SKIP LOCKED)
	RETURNING ` + messageColumns

	// $1 dead owners, $2 watched owners without a row, $3 now: free the
	// listener groups they hold (their cursors stay).
	sqlReleaseDeadGroups = `UPDATE {s}.listen_cursors SET lease_owner = NULL, lease_expires_at = NULL
	WHERE lease_owner = ANY($1::text[]) OR (lease_owner = ANY($2::text[]) AND lease_expires_at < $3)`

	// $1 dead owners: forget those that lease nothing any more.
	sqlForgetOwners = `DELETE FROM {s}.owners o WHERE o.owner = ANY($1::text[])
	AND NOT EXISTS (SELECT 1 FROM {s}.messages WHERE status = {processing} AND lease_owner = o.owner)
	AND NOT EXISTS (SELECT 1 FROM {s}.listen_cursors WHERE lease_owner = o.owner)`

	// $1 owner, $2 lease (microseconds), $3 now
	sqlBeatOwner = `INSERT INTO {s}.owners AS o (owner, beats, lease_us, gone, beat_at) VALUES ($1, 1, $2, false, $3)
	ON CONFLICT (owner) DO UPDATE SET beats = o.beats + 1, lease_us = excluded.lease_us, gone = false,
	beat_at = excluded.beat_at`

	// $1 owner
	sqlRetireOwner = `UPDATE {s}.owners SET gone = true, beats = beats + 1 WHERE owner = $1`

	// Every liveness row, then the lease holders (of messages and listener
	// groups) that have none.
	sqlOwners = `SELECT owner, beats, lease_us, gone, false FROM {s}.owners
	UNION SELECT lease_owner, 0, 0, false, true FROM {s}.messages WHERE status = {processing} AND lease_owner IS NOT NULL
	      AND lease_owner NOT IN (SELECT owner FROM {s}.owners)
	UNION SELECT lease_owner, 0, 0, false, true FROM {s}.listen_cursors WHERE lease_owner IS NOT NULL
	      AND lease_owner NOT IN (SELECT owner FROM {s}.owners)`

	// $1 now, $2 error, $3 me, $4 seq: a claimed row that cannot be
	// decoded fails at once, without running.
	sqlFailUndecodable = `UPDATE {s}.messages SET status = {failed}, finished_at = $1, updated_at = $1, last_error = $2,
	lease_owner = NULL, lease_expires_at = NULL, callback_owner = NULLIF(callback_owner, $3)
	WHERE seq = $4`

	// $1 now, $2 limit
	sqlPromote = `UPDATE {s}.messages SET status = {pending}, updated_at = $1
	WHERE seq IN (SELECT seq FROM {s}.messages WHERE status IN ({timed}) AND run_at <= $1
	              ORDER BY run_at LIMIT $2 FOR UPDATE SKIP LOCKED)
	RETURNING destination`

	sqlNextDue = `SELECT min(run_at) FROM {s}.messages WHERE status IN ({timed})`

	// $1 now, $2 limit, $3 me
	sqlExpire = `UPDATE {s}.messages SET
	status = {expired},
	finished_at = $1,
	last_error = 'expired before it could start',
	callback_owner = NULLIF(callback_owner, $3),
	updated_at = $1
	WHERE seq IN (SELECT seq FROM {s}.messages WHERE expire_at IS NOT NULL AND status IN ({notStarted})
	              AND expire_at <= $1 ORDER BY expire_at LIMIT $2 FOR UPDATE SKIP LOCKED)
	RETURNING ` + messageColumns

	// $1 status, $2 finished before, $3 limit
	sqlCleanup = `DELETE FROM {s}.messages WHERE seq IN (
	SELECT seq FROM {s}.messages WHERE status = $1 AND finished_at IS NOT NULL AND finished_at < $2 LIMIT $3)`

	sqlGet = `SELECT ` + messageColumns + ` FROM {s}.messages WHERE id = $1`

	// $1 now, $2 id, $3 me
	sqlCancel = `UPDATE {s}.messages SET status = {cancelled}, finished_at = $1, updated_at = $1,
	callback_owner = NULLIF(callback_owner, $3)
	WHERE id = $2 AND status IN ({notStarted})
	RETURNING ` + messageColumns

	// $1 now, $2 id
	sqlRequeue = `UPDATE {s}.messages SET status = {pending}, attempt = 0, finished_at = NULL, expire_at = NULL,
	run_at = $1, updated_at = $1, callback_owner = NULL
	WHERE id = $2 AND status IN ({requeueable})
	RETURNING ` + messageColumns

	// $1 owner, $2 limit
	sqlFinished = `SELECT ` + messageColumns + ` FROM {s}.messages
	WHERE callback_owner = $1 AND status IN ({terminal}) LIMIT $2`

	// $1 seqs
	sqlAckCallbacks = `UPDATE {s}.messages SET callback_owner = NULL WHERE seq = ANY($1::bigint[])`

	sqlStatsCounts = `SELECT destination, status, count(*) FROM {s}.messages GROUP BY destination, status`
	sqlStatsOldest = `SELECT min(created_at) FROM {s}.messages WHERE status = {pending}`
	sqlMetaGet     = `SELECT value FROM {s}.meta WHERE key = $1`
	sqlMetaSet     = `INSERT INTO {s}.meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value`
	sqlMetaInit    = `INSERT INTO {s}.meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING`
	sqlMetaDelete  = `DELETE FROM {s}.meta WHERE key = $1`
	// $1 prefix, $2 after, $3 limit
	sqlMetaPrefixed = `SELECT key, value FROM {s}.meta WHERE key > $2 AND starts_with(key, $1) ORDER BY key LIMIT $3`

	// List: after seq, then the filters that are set (listQuery), then the
	// limit. Tags are a JSON array: a tag matches an element exactly.
	sqlListHead          = `SELECT ` + messageColumns + ` FROM {s}.messages WHERE seq > $1`
	sqlListStatuses      = ` AND status = ANY($%d::smallint[])`
	sqlListDestination   = ` AND destination = $%d`
	sqlListByTag         = ` AND tags @> jsonb_build_array($%d::text)`
	sqlListCreatedFrom   = ` AND created_at >= $%d`
	sqlListCreatedBefore = ` AND created_at < $%d`
	sqlListTail          = ` ORDER BY seq LIMIT $%d`

	// $1 statuses, $2 since, $3 destination ('' = all), $4 limit
	sqlListFinished = `SELECT ` + messageColumns + ` FROM {s}.messages
	WHERE status = ANY($1::smallint[]) AND finished_at >= $2 AND ($3 = '' OR destination = $3)
	ORDER BY finished_at, seq LIMIT $4`
)

// claimedColumns is messageColumns qualified for the claim's UPDATE ... FROM
// (sql_test.go checks the two agree).
const claimedColumns = `m.seq, m.id, m.type, m.status, m.destination, m.source, m.content, m.result, m.priority,
	m.created_at, m.updated_at, m.run_at, m.expire_at, m.finished_at, m.attempt, m.max_attempts, m.retry_count,
	m.last_error, m.tags, m.metadata, m.lease_owner, m.lease_expires_at, m.shard_key, m.callback_owner`

// Unique messages: the key's advisory lock is held from the look-up to the
// commit, so no other transaction on any host stores the key between them.
const (
	// $1 key: a message whose key blocks (it holds the key in one of its
	// blocking states).
	sqlUniqueHolder = `SELECT id FROM {s}.messages WHERE unique_key = $1 AND ((unique_states >> status) & 1) = 1 LIMIT 1`
)

// Listen data. Every append to the change log runs under the listen lock
// (sqlListenLock with lockListen), taken before the seq and held to
// commit, so changes commit, and become visible, in seq order.
const (
	sqlListenGet    = `SELECT key, kind, value, version, updated_at FROM {s}.listen_data WHERE key = $1`
	sqlListenList   = `SELECT key, kind, value, version, updated_at FROM {s}.listen_data WHERE key >= $1 ORDER BY key`
	sqlListenCursor = `SELECT EXISTS (SELECT 1 FROM {s}.listen_cursors)`
	// $1 key, $2 old kind, $3 old value, $4 new kind, $5 new value, $6 now
	sqlListenLog = `INSERT INTO {s}.listen_changes (seq, key, old_kind, old_value, new_kind, new_value, changed_at)
	VALUES (nextval('{s}.listen_seq'), $1, $2, $3, $4, $5, $6) RETURNING seq`
	// $1 key, $2 kind, $3 value, $4 version, $5 now
	sqlListenPut = `INSERT INTO {s}.listen_data (key, kind, value, version, updated_at) VALUES ($1, $2, $3, $4, $5)
	ON CONFLICT (key) DO UPDATE SET kind = excluded.kind, value = excluded.value,
	version = excluded.version, updated_at = excluded.updated_at`
	sqlListenDelete = `DELETE FROM {s}.listen_data WHERE key = $1`
	// $1 after seq, $2 limit
	sqlListenChanges = `SELECT seq, key, old_kind, old_value, new_kind, new_value, changed_at
	FROM {s}.listen_changes WHERE seq > $1 ORDER BY seq LIMIT $2`
	sqlListenHead = `SELECT COALESCE(min(seq), 0), COALESCE(max(seq), 0) FROM {s}.listen_changes`
	// $1 group, $2 owner, $3 now, $4 lease until, $5 dead owners, $6 owners
	// without a liveness row watched for a lease. A new group starts at the
	// newest change. A live holder keeps the group whatever $3 says.
	sqlListenClaimGroup = `INSERT INTO {s}.listen_cursors AS c (grp, seq, lease_owner, lease_expires_at, updated_at)
	VALUES ($1, (SELECT COALESCE(max(seq), 0) FROM {s}.listen_changes), $2, $4, $3)
	ON CONFLICT (grp) DO UPDATE SET lease_owner = $2, lease_expires_at = $4, updated_at = $3
	WHERE c.lease_owner IS NULL OR c.lease_owner = $2
	OR c.lease_owner = ANY($5::text[])
	OR (c.lease_owner = ANY($6::text[]) AND c.lease_expires_at < $3)
	RETURNING c.seq`
	// $1 group, $2 owner, $3 seq, $4 lease until, $5 now
	sqlListenAdvance = `UPDATE {s}.listen_cursors SET seq = greatest(seq, $3), lease_expires_at = $4, updated_at = $5
	WHERE grp = $1 AND lease_owner = $2`
	sqlListenRelease   = `UPDATE {s}.listen_cursors SET lease_owner = NULL, lease_expires_at = NULL WHERE grp = $1 AND lease_owner = $2`
	sqlListenDropGroup = `DELETE FROM {s}.listen_cursors WHERE grp = $1`
	// $1 group, $2 listener, $3 seq, $4 key, $5 attempts, $6 error, $7 now
	sqlListenFail = `INSERT INTO {s}.listen_failures (grp, listener, seq, key, attempts, error, failed_at)
	VALUES ($1, $2, $3, $4, $5, $6, $7)`
	// $1 changed before, $2 keep at most this many changes
	sqlListenPrune = `DELETE FROM {s}.listen_changes WHERE seq <= (SELECT COALESCE(min(seq), 0) FROM {s}.listen_cursors)
	OR changed_at < $1
	OR seq <= (SELECT COALESCE(max(seq), 0) FROM {s}.listen_changes) - $2`
	sqlListenGroups = `SELECT c.grp, c.seq, COALESCE(c.lease_owner, ''), c.lease_expires_at,
	(SELECT count(*) FROM {s}.listen_failures f WHERE f.grp = c.grp)
	FROM {s}.listen_cursors c ORDER BY c.grp`
)

// Leader elections (leader.go).
const (
	// $1 name, $2 candidate, $3 now: take an empty seat.
	sqlElectEmpty = `INSERT INTO {s}.leader (name, owner, term, since_at) VALUES ($1, $2, 1, $3)
	ON CONFLICT (name) DO NOTHING`
	// $1 name, $2 candidate, $3 now, $4 owners judged dead: take the seat of
	// a dead holder, one retired, one without a liveness row, or an empty
	// (resigned) one.
	sqlElectTakeover = `UPDATE {s}.leader l SET owner = $2, term = l.term + 1, since_at = $3
	WHERE l.name = $1 AND l.owner <> $2
	AND (l.owner = ANY($4::text[])
	     OR NOT EXISTS (SELECT 1 FROM {s}.owners o WHERE o.owner = l.owner AND NOT o.gone))`
	// $1 name: the holder; a resigned seat (owner '') is empty.
	sqlLeader = `SELECT owner, term, since_at FROM {s}.leader WHERE name = $1 AND owner <> ''`
	// $1 name: lock the seat's row for one election.
	sqlLeaderLock = `SELECT 1 FROM {s}.leader WHERE name = $1 FOR UPDATE`
	// $1 name, $2 owner: the row stays, so the next holder's term follows on.
	sqlResign = `UPDATE {s}.leader SET owner = '' WHERE name = $1 AND owner = $2`
)

// Claim limits (limits.go): a limited claim runs in a transaction that
// holds each limited destination's advisory lock (sqlUniqueLock with
// lockSpaceLimits) from the counts to the commit.
const (
	// $1 destinations: processing messages of each, of every owner.
	sqlProcessingOf = `SELECT destination, count(*) FROM {s}.messages WHERE status = {processing}
	AND destination = ANY($1::text[]) GROUP BY destination`
	// $1 destinations: processing messages of all of them, of every owner
	// (a queue's global limit, under its lock in lockSpaceQueueLimits).
	sqlProcessingOfAll = `SELECT count(*) FROM {s}.messages WHERE status = {processing}
	AND destination = ANY($1::text[])`
	// $1 destinations: their buckets.
	sqlBucketsOf = `SELECT destination, tokens, at FROM {s}.rate_buckets WHERE destination = ANY($1::text[])`
	// $1 destination, $2 tokens left, $3 at
	sqlBucketPut = `INSERT INTO {s}.rate_buckets (destination, tokens, at) VALUES ($1, $2, $3)
	ON CONFLICT (destination) DO UPDATE SET tokens = excluded.tokens, at = excluded.at`
)

// Pauses (pause.go).
const (
	// $1 kind, $2 name, $3 now: a pause already recorded keeps its time.
	sqlPause  = `INSERT INTO {s}.pauses (kind, name, since_at) VALUES ($1, $2, $3) ON CONFLICT (kind, name) DO NOTHING`
	sqlResume = `DELETE FROM {s}.pauses WHERE kind = $1 AND name = $2`
	sqlPauses = `SELECT kind, name, since_at FROM {s}.pauses ORDER BY kind, name`
)

// Moving a queue in and out (move.go).
const (
	// $1 after seq, $2 limit
	sqlExport = `SELECT ` + exportColumns + `, attempt_errors FROM {s}.messages WHERE seq > $1 ORDER BY seq LIMIT $2`
	// $1 ids: rows as Export reads them, to compare with imported copies.
	sqlExportIDs = `SELECT ` + exportColumns + `, attempt_errors FROM {s}.messages WHERE id = ANY($1::text[])`
	// Parallel arrays, one element per message, in order; nothing for an
	// id stored already. Returns the ids stored.
	sqlImport = `INSERT INTO {s}.messages (id, type, status, destination, source, content, result, priority,
	created_at, updated_at, run_at, expire_at, finished_at, attempt, max_attempts, max_attempts_unset,
	retry_count, last_error, tags, metadata, lease_owner, lease_expires_at, shard_key, attempt_errors)
	SELECT id, type, status, destination, source, content, result, priority, created_at, updated_at, run_at,
	expire_at, finished_at, attempt, max_attempts, max_attempts_unset, retry_count, last_error, tags, metadata,
	lease_owner, lease_expires_at, shard_key, attempt_errors
	FROM unnest($1::text[], $2::text[], $3::smallint[], $4::text[], $5::text[], $6::bytea[], $7::bytea[],
	$8::smallint[], $9::timestamptz[], $10::timestamptz[], $11::timestamptz[], $12::timestamptz[],
	$13::timestamptz[], $14::integer[], $15::integer[], $16::boolean[], $17::integer[], $18::text[],
	$19::jsonb[], $20::bytea[], $21::text[], $22::timestamptz[], $23::text[], $24::jsonb[]) WITH ORDINALITY
	AS u(id, type, status, destination, source, content, result, priority, created_at, updated_at, run_at,
	expire_at, finished_at, attempt, max_attempts, max_attempts_unset, retry_count, last_error, tags, metadata,
	lease_owner, lease_expires_at, shard_key, attempt_errors, ord)
	ORDER BY ord
	ON CONFLICT (id) DO NOTHING
	RETURNING id`

	sqlImportListenEntry = `INSERT INTO {s}.listen_data (key, kind, value, version, updated_at) VALUES ($1, $2, $3, $4, $5)
	ON CONFLICT (key) DO UPDATE SET kind = excluded.kind, value = excluded.value, version = excluded.version,
	updated_at = excluded.updated_at`
	sqlImportListenChange = `INSERT INTO {s}.listen_changes (seq, key, old_kind, old_value, new_kind, new_value, changed_at)
	VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (seq) DO NOTHING`
	sqlImportListenGroup = `INSERT INTO {s}.listen_cursors AS c (grp, seq, updated_at) VALUES ($1, $2, $3)
	ON CONFLICT (grp) DO UPDATE SET seq = greatest(c.seq, excluded.seq)`
	// Later changes continue after the highest seq stored.
	sqlListenSeqAdvance = `SELECT setval('{s}.listen_seq', greatest((SELECT COALESCE(max(seq), 0) FROM {s}.listen_changes), 1),
	(SELECT count(*) > 0 FROM {s}.listen_changes))`
	sqlCountAll = `SELECT count(*) FROM {s}.messages`
)

// Notifications (notify.go).
const (
	// $1 channel, $2 payload: inside a caller's transaction.
	sqlNotify = `SELECT pg_notify($1, $2)`
	// $1 channel, $2 payloads: a handle's wake-ups after its commits, in
	// one transaction of their own that commits without waiting for its
	// WAL to reach disk (see asyncCommit): the notifications go out at the
	// commit all the same, and nothing is lost in a server crash that a
	// restart would not lose anyway (listeners report TopicAny when they
	// reconnect).
	sqlNotifyAfter = `WITH ` + asyncCommit + `
	SELECT count(pg_notify($1, p)) FROM async, unnest($2::text[]) AS p`
)

// statusSets are the status placeholders and their SQL lists.
var statusSets = map[string][]queuetype.Status{
	"pending":    {queuetype.StatusPending},
	"processing": {queuetype.StatusProcessing},
	"failed":     {queuetype.StatusFailed},
	"expired":    {queuetype.StatusExpired},
	"cancelled":  {queuetype.StatusCancelled},
	"scheduled":  {queuetype.StatusScheduled},
	// timed: waiting for their run time (Promote makes them ready).
	"timed": {queuetype.StatusRetrying, queuetype.StatusScheduled},
	// notStarted: not yet run and not running.
	"notStarted": {queuetype.StatusPending, queuetype.StatusRetrying, queuetype.StatusScheduled},
	"terminal": {queuetype.StatusCompleted, queuetype.StatusFailed, queuetype.StatusExpired,
		queuetype.StatusCancelled},
	// attemptFailed: the outcomes of an attempt that failed (its error
	// goes into the attempt history).
	"attemptFailed": {queuetype.StatusFailed, queuetype.StatusRetrying},
	// requeueable: finished without a result.
	"requeueable": {queuetype.StatusFailed, queuetype.StatusExpired, queuetype.StatusCancelled},
}

// render fills a statement template for a schema.
func render(template, schema string) string {
	pairs := []string{"{s}", pgx.Identifier{schema}.Sanitize(),
		"{maxAttemptErrors}", strconv.Itoa(queuetype.MaxAttemptErrors),
		"{maxAttemptErrorLength}", strconv.Itoa(queuetype.MaxAttemptErrorLength)}
	for name, set := range statusSets {
		nums := make([]string, len(set))
		for i, s := range set {
			nums[i] = strconv.Itoa(int(s))
		}
		pairs = append(pairs, "{"+name+"}", strings.Join(nums, ", "))
	}
	return strings.NewReplacer(pairs...).Replace(template)
}

// Dependencies (deps.go, migrations/0003_dependencies.sql).
const (
	// waitingLiteral is driver.WaitingRunAt as SQL text, literal for the
	// partial index messages_children_moved.
	waitingLiteral = "9999-12-31 23:59:59.999999+00"

	// $1 parent ids: those not stored.
	sqlParentsMissing = `SELECT p FROM unnest($1::text[]) AS p
	WHERE NOT EXISTS (SELECT 1 FROM {s}.messages m WHERE m.id = p)`
	// $1 child seqs, $2 parent ids, $3 run times asked for (parallel)
	sqlDepInsert = `INSERT INTO {s}.dependencies (child_seq, parent_id, run_at)
	SELECT * FROM unnest($1::bigint[], $2::text[], $3::timestamptz[])`
	// One resolver at a time per schema: its rounds see each other's
	// commits, and two never decrement one child.
	sqlDepLock = `SELECT pg_advisory_xact_lock($1, 0)`
	// $1 limit: the messages whose rows may have settled, through the
	// partial indexes of migrations/0005_dependency_marks.sql (their
	// conditions repeated literally, so that the planner uses them):
	// finished parents, and children that no longer wait; with the marks
	// of deleted messages (and of parents finished before their rows),
	// the seqs negated to their numbers.
	sqlDepMarks = `(SELECT seq FROM {s}.messages WHERE has_dependants AND status IN ({terminal}) ORDER BY seq LIMIT $1)
	UNION ALL
	(SELECT seq FROM {s}.messages WHERE waits AND (status <> {scheduled} OR run_at <> '` + waitingLiteral + `')
	 ORDER BY seq LIMIT $1)
	UNION ALL
	(SELECT -n FROM {s}.dependency_marks ORDER BY n LIMIT $1)`
	// $1 limit, $2 waiting sentinel, $3 the candidates' seqs, $4 the marks'
	// numbers: the rows of the finished (or gone) parents among them, with
	// the parent's status (NULL when gone), and every row of the children
	// among them that no longer wait (cancelled, expired or requeued
	// meanwhile, or gone).
	sqlDepsSettled = `WITH
	parents AS (SELECT id FROM {s}.messages WHERE seq = ANY($3::bigint[])
	            UNION SELECT id FROM {s}.dependency_marks WHERE n = ANY($4::bigint[])),
	children AS (SELECT unnest($3::bigint[]) AS seq
	             UNION SELECT seq FROM {s}.dependency_marks WHERE n = ANY($4::bigint[]) AND seq IS NOT NULL)
	SELECT d.child_seq, d.parent_id, m.status FROM parents p
	JOIN {s}.dependencies d ON d.parent_id = p.id
	LEFT JOIN {s}.messages m ON m.id = d.parent_id
	WHERE m.seq IS NULL OR m.status IN ({terminal})
	UNION
	SELECT d.child_seq, d.parent_id, m.status FROM children k
	JOIN {s}.dependencies d ON d.child_seq = k.seq
	LEFT JOIN {s}.messages c ON c.seq = d.child_seq
	LEFT JOIN {s}.messages m ON m.id = d.parent_id
	WHERE c.seq IS NULL OR c.status <> {scheduled} OR c.run_at <> $2
	ORDER BY 1 LIMIT $1`
	// $1 the candidates' seqs: finished parents whose rows are all settled
	// lose their flag (a row inserted meanwhile for one marks it instead).
	sqlDepParentsDone = `UPDATE {s}.messages m SET has_dependants = false WHERE seq = ANY($1::bigint[])
	AND has_dependants AND status IN ({terminal})
	AND NOT EXISTS (SELECT 1 FROM {s}.dependencies d WHERE d.parent_id = m.id)`
	// $1 the candidates' seqs: children without rows lose their flag.
	sqlDepChildrenDone = `UPDATE {s}.messages m SET waits = false WHERE seq = ANY($1::bigint[])
	AND waits AND NOT EXISTS (SELECT 1 FROM {s}.dependencies d WHERE d.child_seq = m.seq)`
	// $1 the marks read: exactly those, so one committed meanwhile stays.
	sqlDepForget = `DELETE FROM {s}.dependency_marks WHERE n = ANY($1::bigint[])`
	// $1 child seq, $2 parent id
	sqlDepDelete = `DELETE FROM {s}.dependencies WHERE child_seq = $1 AND parent_id = $2 RETURNING run_at`
	// $1 child seq
	sqlDepRemaining = `SELECT count(*) FROM {s}.dependencies WHERE child_seq = $1`
	// $1 child seq
	sqlDepDropChild = `DELETE FROM {s}.dependencies WHERE child_seq = $1`
	// $1 child seq, $2 run at, $3 now, $4 waiting sentinel
	sqlDepRelease = `UPDATE {s}.messages SET status = CASE WHEN $2::timestamptz <= $3::timestamptz THEN {pending} ELSE {scheduled} END,
	run_at = $2, updated_at = $3, waits = false
	WHERE seq = $1 AND status = {scheduled} AND run_at = $4
	RETURNING destination, status`
	// $1 child seq, $2 status, $3 now, $4 error, $5 me, $6 waiting sentinel
	sqlDepFinish = `UPDATE {s}.messages SET status = $2, finished_at = $3, updated_at = $3, last_error = $4,
	callback_owner = NULLIF(callback_owner, $5), waits = false
	WHERE seq = $1 AND status = {scheduled} AND run_at = $6
	RETURNING ` + messageColumns
	// $1 waiting sentinel: the children still waiting.
	sqlDepsWaiting = `SELECT count(*) FROM {s}.messages WHERE status = {scheduled} AND run_at = $1
	AND seq IN (SELECT child_seq FROM {s}.dependencies)`
)

// rescueError is the error a rescue records: the attempt's lease ran out.
const rescueError = `'lease of ' || COALESCE(lease_owner, '?') || ' expired during attempt ' || attempt || ' (worker crashed, froze or lost the database)'`

// attemptErrorsAppend begins the expression of attempt_errors with one
// entry added at its end, the oldest dropped beyond MaxAttemptErrors (a
// value that is not a JSON array starts afresh); the statement goes on
// with the entry's attempt, then 'at', its time, 'error', its text, and
// closes three parentheses.
const attemptErrorsAppend = `(CASE WHEN jsonb_array_length(` + attemptErrorsCur + `) >= {maxAttemptErrors}
	THEN ` + attemptErrorsCur + ` - 0 ELSE ` + attemptErrorsCur + ` END)
	|| jsonb_build_array(jsonb_build_object('attempt', `

// attemptErrorsCur is the stored attempt history, or [] when there is none.
const attemptErrorsCur = `(CASE WHEN jsonb_typeof(attempt_errors) = 'array' THEN attempt_errors ELSE '[]'::jsonb END)`

// Deleting messages (delete.go) and reading their attempt history.
const (
	// $1 ids: those not running go, with their own dependency rows; the
	// rows come back as (id, true) for a deleted message and (id, false)
	// for a running one, each read under its row lock.
	sqlDelete = `WITH target AS (SELECT seq, id, status FROM {s}.messages WHERE id = ANY($1::text[]) FOR UPDATE),
	gone AS (DELETE FROM {s}.messages m USING target t WHERE m.seq = t.seq AND t.status <> {processing}
	         RETURNING m.seq, m.id),
	deps AS (DELETE FROM {s}.dependencies WHERE child_seq IN (SELECT seq FROM gone))
	SELECT id, true FROM gone UNION ALL SELECT id, false FROM target WHERE status = {processing}`
	// $1 id: Get with the attempt history (migrations/0004_attempt_errors.sql).
	sqlGetWithErrors = `SELECT ` + messageColumns + `, attempt_errors FROM {s}.messages WHERE id = $1`
)
