package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mattn/go-sqlite3"

	qdriver "github.com/queue-sqlite/queuesqlite/driver"
	"github.com/queue-sqlite/queuesqlite/queuetype"
)

// cleanupBatchDefault is how many rows one cleanup transaction deletes, so
// cleanup never holds the write lock for long.
const cleanupBatchDefault = 2000

// listLimitDefault bounds List when the caller gives no limit.
const listLimitDefault = 100

// sqlCache keeps generated statements, keyed by shape, so each is built once.
var sqlCache sync.Map

func cachedSQL(key string, build func() string) string {
	if s, ok := sqlCache.Load(key); ok {
		return s.(string)
	}
	s, _ := sqlCache.LoadOrStore(key, build())
	return s.(string)
}

// Insert implements driver.Driver. A lone message is one insert that
// stores it only if its id has no route here; a batch runs in a savepoint, its rows then
// checked against the id routes at once (insert_rows.go). A batch without
// dependencies is written with multi-row inserts; one with dependencies
// message by message, each after its parents.
func (d *DB) Insert(ctx context.Context, p qdriver.InsertParams) error {
	deps := hasDependencies(p.Messages)
	multi := len(p.Messages) > 1 || deps
	err := d.w.do(ctx, multi, func(t *tx) error {
		if !multi {
			return insertAll(p, txInserter{t}, true)
		}
		after, err := maxSeq(t)
		if err != nil {
			return err
		}
		if deps {
			err = insertAll(p, txInserter{t}, false)
		} else {
			err = insertRows(t, insertBatch{ms: p.Messages, owners: p.CallbackOwners, standIn: p.MaxAttemptsDefault}, after)
		}
		if err != nil {
			return err
		}
		return checkRoutedAfter(t, after)
	})
	return d.wrap("insert", err)
}

// InsertTx implements driver.Driver. tx must be a *sql.Tx (or anything
// with ExecContext and QueryContext) begun on this file. Each message is
// stored only if its id has no route here, so a refused one is not written.
func (d *DB) InsertTx(ctx context.Context, tx qdriver.Tx, p qdriver.InsertParams) error {
	q, err := d.checkTx(ctx, tx)
	if err != nil {
		return err
	}
	return d.wrap("insert", insertAll(p, sqlInserter{ctx, q}, true))
}

// querier runs statements inside a caller's transaction. *sql.Tx
// implements it.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// checkTx checks that a caller's transaction is one this driver can use,
// and that it runs on this file: it reads the store id inside it.
func (d *DB) checkTx(ctx context.Context, tx qdriver.Tx) (querier, error) {
	q, ok := tx.(querier)
	if !ok || q == nil {
		return nil, fmt.Errorf("%w: the SQLite driver takes a *sql.Tx, not %T", queuetype.ErrInvalidArgument, tx)
	}
	var id string
	err := q.QueryRowContext(ctx, sqlMetaGet, metaStoreID).Scan(&id)
	if err == nil && id == d.storeID {
		return q, nil
	}
	if err != nil && !isNoMessagesTable(err) && !errors.Is(err, sql.ErrNoRows) {
		return nil, d.wrap("check the caller's transaction", err)
	}
	return nil, fmt.Errorf("%w (%w): the caller's transaction is not on the queue's file %s "+
		"(begin it on the queue's DB() pool)", queuetype.ErrForeignTx, queuetype.ErrInvalidArgument, d.path)
}

// isNoMessagesTable reports the error of a statement run on a database that
// has no queue in it.
func isNoMessagesTable(err error) bool {
	var se sqlite3.Error
	return errors.As(err, &se) && se.Code == sqlite3.ErrError && strings.Contains(se.Error(), "no such table")
}

// insertAll stores p's messages one by one. With routeEach, each insert
// stores its row only if its id has no route here, and a routed id is
// refused (the caller checks the rows at once otherwise).
func insertAll(p qdriver.InsertParams, ins inserter, routeEach bool) error {
	query := sqlInsert
	if routeEach {
		query = sqlInsertUnrouted
	}
	for i, m := range p.Messages {
		owner := ""
		if p.CallbackOwners != nil {
			owner = p.CallbackOwners[i]
		}
		if err := insertMessage(ins, query, m, owner, p.MaxAttemptsDefault); err != nil {
			return err
		}
	}
	return nil
}

// insertMessage stores one message with query (sqlInsert or
// sqlInsertUnrouted: no row stored means its id is routed elsewhere)
// and, when it has dependencies, checks its parents first and stores it
// waiting with its dependency rows.
func insertMessage(ins inserter, query string, m *queuetype.Message, owner string, standIn int) error {
	if len(m.DependsOn) > 0 {
		if err := checkParents(ins, m); err != nil {
			return err
		}
	}
	runAt := m.RunAt
	if len(m.DependsOn) > 0 {
		m.Status, m.RunAt = queuetype.StatusScheduled, qdriver.WaitingRunAt
	}
	args, err := insertArgs(m, owner, standIn)
	if err != nil {
		return err
	}
	seq, stored, err := ins.insert(query, args)
	if err != nil {
		return err
	}
	if !stored {
		return routedError(m.ID)
	}
	m.Seq = seq
	for _, parent := range m.DependsOn {
		if err := ins.exec(sqlDepInsert, m.Seq, parent, micros(runAt)); err != nil {
			return err
		}
	}
	return nil
}

// Claim implements driver.Driver.
func (d *DB) Claim(ctx context.Context, p qdriver.ClaimParams) ([]*queuetype.Message, error) {
	if len(p.Destinations) == 0 || p.Max <= 0 {
		return nil, nil
	}
	c := newClaimCall(p)
	// multi: a claim that fails after its update (failing a bad row) is
	// rolled back whole, so no claimed row is left leased to nobody.
	err := d.w.do(ctx, true, c.run)
	if err != nil {
		return nil, d.wrap("claim", err)
	}
	return c.sorted(), nil
}

// claimCall is one claim's statement and arguments, run in the writer's
// transaction by run (perhaps more than once: each run starts afresh).
type claimCall struct {
	p      qdriver.ClaimParams
	read   string // claimSelectSQL
	update string // claimUpdateSQL
	args   []any
	out    []*queuetype.Message
}

func newClaimCall(p qdriver.ClaimParams) *claimCall {
	n := len(p.Destinations)
	read := cachedSQL(fmt.Sprint("claim-read/", n), func() string { return claimSelectSQL(n) })
	update := cachedSQL(fmt.Sprint("claim-update/", n), func() string { return claimUpdateSQL(n) })
	args := make([]any, 0, 5+3*n)
	args = append(args, micros(p.Now), p.Owner, micros(p.LeaseUntil), int64(p.Max), p.Me)
	for _, dest := range p.Destinations {
		args = append(args, dest)
	}
	for i := range p.Destinations {
		var maxAttempts any // NULL: keep what the sender stored
		if i < len(p.MaxAttempts) && p.MaxAttempts[i] > 0 {
			maxAttempts = int64(p.MaxAttempts[i])
		}
		args = append(args, maxAttempts)
	}
	args = append(args, make([]any, n)...) // the caps, set in the transaction
	return &claimCall{p: p, read: read, update: update, args: args}
}

// run claims in t: within the queue's room and the destinations' limits.
func (c *claimCall) run(t *tx) (err error) {
	c.out = nil
	p, n := c.p, len(c.p.Destinations)
	if p.Max, err = t.queueRoom(p); err != nil || p.Max == 0 {
		return err // the queue is at its global limit
	}
	c.args[3] = int64(p.Max)
	limits, err := t.claimCaps(p, c.args[5+2*n:])
	if err != nil {
		return err
	}
	if limits != nothingToClaim {
		if c.out, err = t.claimRows(c.read, c.update, micros(p.Now), p.Me, c.args, n); err != nil {
			return err
		}
	}
	if limits == unlimited {
		return nil
	}
	return t.takeTokens(p, c.out) // also when nothing was claimed: the bucket's time moves to Now
}

// sorted returns the claimed messages in claim order.
func (c *claimCall) sorted() []*queuetype.Message {
	slices.SortFunc(c.out, func(a, b *queuetype.Message) int {
		if a.Priority != b.Priority {
			return int(b.Priority - a.Priority)
		}
		return int(a.Seq - b.Seq)
	})
	return c.out
}

// Head implements driver.Driver.
func (d *DB) Head(ctx context.Context, destinations []string) (queuetype.Priority, bool, error) {
	n := len(destinations)
	if n == 0 {
		return 0, false, nil
	}
	query := cachedSQL(fmt.Sprint("head/", n), func() string { return headSQL(n) })
	args := make([]any, n)
	for i, dest := range destinations {
		args[i] = dest
	}
	var p sql.NullInt64
	if err := d.read.QueryRowContext(ctx, query, args...).Scan(&p); err != nil {
		return 0, false, d.wrap("head", err)
	}
	return queuetype.Priority(p.Int64), p.Valid, nil
}

// Complete implements driver.Driver.
func (d *DB) Complete(ctx context.Context, cs []*qdriver.Completion) error {
	err := d.w.do(ctx, len(cs) > 1, func(t *tx) error { return t.complete(cs) })
	return d.wrap("complete", err)
}

// complete applies cs in t, each only if its attempt holds the lease.
func (t *tx) complete(cs []*qdriver.Completion) error {
	for _, c := range cs {
		c.Applied = false
	}
	for _, c := range cs {
		res, err := t.exec(sqlComplete, completeArgs(c)...)
		if err != nil {
			return err
		}
		n, _ := res.RowsAffected()
		c.Applied = n == 1
	}
	return nil
}

func completeArgs(c *qdriver.Completion) []any {
	var finished, uncharge, retried any = nil, int64(0), int64(0)
	if c.Status.Terminal() {
		finished = micros(c.Now)
	}
	if c.Uncharge {
		uncharge = int64(1)
	}
	if c.Status == queuetype.StatusRetrying {
		retried = int64(1)
	}
	return []any{
		int64(c.Status), nullJSON(c.Result), nullText(c.Error), nullMicros(c.RunAt), finished,
		uncharge, retried, c.Me, micros(c.Now), c.Seq, c.Owner, int64(c.Attempt),
	}
}

// ExtendLeases implements driver.Driver.
func (d *DB) ExtendLeases(ctx context.Context, p qdriver.LeaseParams) ([]int64, error) {
	if len(p.Attempts) != len(p.Seqs) {
		return nil, fmt.Errorf("%w: extend leases: %d attempts for %d seqs", queuetype.ErrInvalidArgument, len(p.Attempts), len(p.Seqs))
	}
	var held []int64
	err := d.w.do(ctx, false, func(t *tx) error {
		held = held[:0]
		for i, seq := range p.Seqs {
			res, err := t.exec(sqlExtendLease, micros(p.Until), seq, p.Owner, int64(p.Attempts[i]))
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 1 {
				held = append(held, seq)
			}
		}
		return nil
	})
	return held, d.wrap("extend leases", err)
}

// Rescue implements driver.Driver.
func (d *DB) Rescue(ctx context.Context, p qdriver.MaintainParams) ([]*queuetype.Message, error) {
	if len(p.Dead) == 0 && len(p.Ownerless) == 0 {
		return nil, nil
	}
	dead, ownerless := ownerList(p.Dead), ownerList(p.Ownerless)
	var out []*queuetype.Message
	err := d.w.do(ctx, false, func(t *tx) (err error) {
		out, err = t.queryMessages(sqlRescue, micros(p.Now), int64(limit(p.Limit)), p.Me, dead, ownerless)
		if err == nil {
			_, err = t.exec(sqlReleaseDeadGroups, dead, ownerless, micros(p.Now))
		}
		if err == nil {
			_, err = t.exec(sqlForgetOwners, dead)
		}
		return err
	})
	return out, d.wrap("rescue", err)
}

// BeatOwner implements driver.Driver.
func (d *DB) BeatOwner(ctx context.Context, p qdriver.OwnerParams) error {
	err := d.w.do(ctx, false, func(t *tx) error {
		_, err := t.exec(sqlBeatOwner, p.Owner, p.Lease.Microseconds(), micros(p.Now))
		return err
	})
	return d.wrap("owner heartbeat", err)
}

// RetireOwner implements driver.Driver.
func (d *DB) RetireOwner(ctx context.Context, owner string) error {
	err := d.w.do(ctx, false, func(t *tx) error {
		_, err := t.exec(sqlRetireOwner, owner)
		return err
	})
	return d.wrap("retire owner", err)
}

// Owners implements driver.Driver.
func (d *DB) Owners(ctx context.Context) ([]qdriver.OwnerState, error) {
	rows, err := d.readRows(ctx, sqlOwners)
	if err != nil {
		return nil, d.wrap("read owners", err)
	}
	out := make([]qdriver.OwnerState, len(rows))
	for i, r := range rows {
		out[i] = qdriver.OwnerState{Owner: asString(r[0]), Beats: asInt(r[1]),
			Lease: time.Duration(asInt(r[2])) * time.Microsecond, Gone: asInt(r[3]) != 0, NoRow: asInt(r[4]) != 0}
	}
	return out, nil
}

// ownerList encodes owner ids as the JSON array the statements read with
// json_each.
func ownerList(owners []string) string {
	if len(owners) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(owners) // strings always encode
	return string(b)
}

// Expire implements driver.Driver.
func (d *DB) Expire(ctx context.Context, p qdriver.MaintainParams) ([]*queuetype.Message, error) {
	return d.writeMessages(ctx, "expire", sqlExpire, micros(p.Now), int64(limit(p.Limit)), p.Me)
}

// Promote implements driver.Driver.
func (d *DB) Promote(ctx context.Context, p qdriver.MaintainParams) (int, error) {
	var n int64
	err := d.w.do(ctx, false, func(t *tx) error {
		res, err := t.exec(sqlPromote, micros(p.Now), int64(limit(p.Limit)))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), d.wrap("promote", err)
}

// NextDue implements driver.Driver.
func (d *DB) NextDue(ctx context.Context) (time.Time, bool, error) {
	var v sql.NullInt64
	if err := d.read.QueryRowContext(ctx, sqlNextDue).Scan(&v); err != nil {
		return time.Time{}, false, d.wrap("next due", err)
	}
	if !v.Valid {
		return time.Time{}, false, nil
	}
	return time.UnixMicro(v.Int64).UTC(), true, nil
}

func limit(n int) int {
	if n <= 0 {
		return 1000
	}
	return n
}

func (d *DB) writeMessages(ctx context.Context, op, query string, args ...any) ([]*queuetype.Message, error) {
	var out []*queuetype.Message
	err := d.w.do(ctx, false, func(t *tx) (err error) {
		out, err = t.queryMessages(query, args...)
		return err
	})
	return out, d.wrap(op, err)
}

// Cleanup implements driver.Driver. It deletes in short transactions, then
// gives the file's free pages back (Compact) whenever it has some, whether
// or not this run deleted anything.
func (d *DB) Cleanup(ctx context.Context, p qdriver.CleanupParams) (qdriver.CleanupResult, error) {
	var res qdriver.CleanupResult
	batch := p.BatchSize
	if batch <= 0 {
		batch = cleanupBatchDefault
	}
	before := fileSize(d.path)
	for status, cutoff := range p.Before {
		for {
			var n int64
			err := d.w.do(ctx, false, func(t *tx) error {
				r, err := t.exec(sqlCleanup, int64(status), micros(cutoff), int64(batch))
				if err != nil {
					return err
				}
				n, err = r.RowsAffected()
				return err
			})
			if err != nil {
				return res, d.wrap("cleanup", err)
			}
			res.Deleted += int(n)
			if n < int64(batch) {
				break
			}
		}
	}
	// Whatever this run deleted: a run that crashed after its deletes left
	// free pages that only a vacuum gives back.
	if err := d.compact(ctx, res.Deleted > 0); err != nil {
		return res, err
	}
	res.BytesFreed = before - fileSize(d.path)
	return res, nil
}

// checkpoint copies the write-ahead log into the database and truncates it.
// The checkpoint waits for readers (of any process) to leave the log; the
// writer's connection waits only lockSlice at a time, so this tries again
// until BusyTimeout has passed or ctx ends. A checkpoint still busy then is
// no error: a later one empties the log.
func (d *DB) checkpoint(ctx context.Context) error {
	deadline := time.Now().Add(d.opts.BusyTimeout)
	for {
		var busy int64
		err := d.w.doOutsideTx(ctx, func(t *tx) (err error) {
			busy, _, err = t.queryInt(sqlCheckpoint)
			return err
		})
		if err != nil || busy == 0 || time.Now().After(deadline) {
			return err
		}
		t := time.NewTimer(lockPause)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil
		}
	}
}

// Get implements driver.Driver.
func (d *DB) Get(ctx context.Context, id string) (*queuetype.Message, error) {
	if m, ok, err := d.getWithErrors(ctx, id); ok {
		if err != nil {
			return nil, d.wrap("get", err)
		}
		if m == nil {
			return nil, fmt.Errorf("message %q: %w", id, queuetype.ErrNotFound)
		}
		return m, nil
	}
	ms, err := d.readMessages(ctx, sqlGet, id)
	if err != nil {
		return nil, d.wrap("get", err)
	}
	if len(ms) == 0 {
		return nil, fmt.Errorf("message %q: %w", id, queuetype.ErrNotFound)
	}
	return ms[0], nil
}

// List implements driver.Driver.
func (d *DB) List(ctx context.Context, p qdriver.ListParams) ([]*queuetype.Message, error) {
	query, args := listQuery(p)
	ms, err := d.readMessages(ctx, query, args...)
	return ms, d.wrap("list", err)
}

// Finished implements driver.Driver.
func (d *DB) Finished(ctx context.Context, owner string, n int) ([]*queuetype.Message, error) {
	ms, err := d.readMessages(ctx, sqlFinished, owner, int64(limit(n)))
	return ms, d.wrap("finished", err)
}

// AckCallbacks implements driver.Driver.
func (d *DB) AckCallbacks(ctx context.Context, seqs []int64) error {
	if len(seqs) == 0 {
		return nil
	}
	err := d.w.do(ctx, false, func(t *tx) error {
		for _, s := range seqs {
			if _, err := t.exec(sqlAckCallback, s); err != nil {
				return err
			}
		}
		return nil
	})
	return d.wrap("ack callbacks", err)
}

// Cancel implements driver.Driver.
func (d *DB) Cancel(ctx context.Context, p qdriver.ChangeParams) (*queuetype.Message, error) {
	return d.change(ctx, "cancel", sqlCancel, p, micros(p.Now), p.ID, p.Me)
}

// Requeue implements driver.Driver.
func (d *DB) Requeue(ctx context.Context, p qdriver.ChangeParams) (*queuetype.Message, error) {
	return d.change(ctx, "requeue", sqlRequeue, p, micros(p.Now), p.ID)
}

// change runs a status change on one message; when it matches nothing it
// tells apart a missing message from one in the wrong status.
func (d *DB) change(ctx context.Context, op, query string, p qdriver.ChangeParams, args ...any) (*queuetype.Message, error) {
	var got, current []*queuetype.Message
	err := d.w.do(ctx, false, func(t *tx) (err error) {
		if got, err = t.queryMessages(query, args...); err != nil || len(got) > 0 {
			return err
		}
		current, err = t.queryMessages(sqlGet, p.ID)
		return err
	})
	switch {
	case err != nil:
		return nil, d.wrap(op, err)
	case len(got) == 1:
		return got[0], nil
	case len(current) == 0:
		return nil, fmt.Errorf("%s message %q: %w", op, p.ID, queuetype.ErrNotFound)
	}
	return current[0], fmt.Errorf("%s message %q: it is %s: %w", op, p.ID, current[0].Status, queuetype.ErrInvalidState)
}

// Stats implements driver.Driver.
func (d *DB) Stats(ctx context.Context) (*qdriver.Stats, error) {
	st := &qdriver.Stats{Counts: map[string]map[queuetype.Status]int{}}
	rows, err := d.read.QueryContext(ctx, sqlStatsCounts)
	if err != nil {
		return nil, d.wrap("stats", err)
	}
	defer rows.Close()
	for rows.Next() {
		var dest string
		var status, n int
		if err := rows.Scan(&dest, &status, &n); err != nil {
			return nil, d.wrap("stats", err)
		}
		if st.Counts[dest] == nil {
			st.Counts[dest] = map[queuetype.Status]int{}
		}
		st.Counts[dest][queuetype.Status(status)] = n
	}
	if err := rows.Err(); err != nil {
		return nil, d.wrap("stats", err)
	}
	var oldest sql.NullInt64
	if err := d.read.QueryRowContext(ctx, sqlStatsOldest).Scan(&oldest); err != nil {
		return nil, d.wrap("stats", err)
	}
	if oldest.Valid {
		st.OldestPending = time.UnixMicro(oldest.Int64).UTC()
	}
	return st, nil
}

// Meta implements driver.Driver.
func (d *DB) Meta(ctx context.Context, key string) (string, bool, error) {
	var v string
	err := d.read.QueryRowContext(ctx, sqlMetaGet, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, d.wrap("read meta", err)
	}
	return v, true, nil
}

// SetMeta implements driver.Driver.
func (d *DB) SetMeta(ctx context.Context, key, value string) error {
	err := d.w.do(ctx, false, func(t *tx) error {
		_, err := t.exec(sqlMetaSet, key, value)
		return err
	})
	return d.wrap("write meta", err)
}

// Check implements driver.Driver: a full PRAGMA integrity_check.
func (d *DB) Check(ctx context.Context) error {
	rows, err := d.read.QueryContext(ctx, sqlIntegrity)
	if err != nil {
		return d.wrap("check", err)
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return d.wrap("check", err)
		}
		if line != "ok" {
			problems = append(problems, line)
		}
	}
	if err := rows.Err(); err != nil {
		return d.wrap("check", err)
	}
	if len(problems) > 0 {
		return &queuetype.StorageError{Op: "check", Path: d.path,
			Err:  fmt.Errorf("%w: %s", queuetype.ErrCorrupt, strings.Join(problems, "; ")),
			Hint: "restore this file from a backup"}
	}
	return nil
}

// readMessages runs a query on the read pool and decodes every row.
func (d *DB) readMessages(ctx context.Context, query string, args ...any) ([]*queuetype.Message, error) {
	rows, err := d.read.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	var out []*queuetype.Message
	raw := make([]any, len(cols))
	ptrs := make([]any, len(raw))
	for i := range raw {
		ptrs[i] = &raw[i]
	}
	vals := make([]driver.Value, len(raw))
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		for i, v := range raw {
			vals[i] = v
		}
		m, err := decodeMessage(vals)
		if m == nil {
			return nil, err
		}
		out = append(out, m) // a row with bad columns, as far as it reads (see decodeMessage)
	}
	return out, rows.Err()
}

// claimRows reads the rows a claim takes (as the claim leaves them), stores
// the claim, and decodes each claimed row on its own. A row that cannot be
// decoded is failed at once, in the same transaction, with the decode error
// as its last error (the attempt the claim counted stays counted): it never
// reaches a handler, and the rows claimed with it run normally. It comes
// back failed, so its callback and waiters learn of it.
// args are claimSelectSQL's for n destinations.
func (t *tx) claimRows(read, update string, now int64, me string, args []any, n int) ([]*queuetype.Message, error) {
	var out []*queuetype.Message
	var bad []badRow
	seqs := append(make([]byte, 0, 256), '[')
	err := t.eachRow(read, args, func(m *queuetype.Message, err error) {
		if err != nil && m.Status == queuetype.StatusProcessing {
			bad = append(bad, badRow{m, err})
		}
		if len(out) > 0 {
			seqs = append(seqs, ',')
		}
		seqs = strconv.AppendInt(seqs, m.Seq, 10)
		out = append(out, m)
	})
	if err != nil || len(out) == 0 {
		return nil, err
	}
	seqs = append(seqs, ']')
	updateArgs := slices.Clone(args[:5+2*n]) // claimUpdateSQL's parameters
	updateArgs[3] = string(seqs)
	if _, err := t.exec(update, updateArgs...); err != nil {
		return nil, err
	}
	for _, b := range bad {
		msg := b.err.Error() + "; failed without running"
		if _, err := t.exec(sqlFailUndecodable, now, msg, me, b.m.Seq); err != nil {
			return nil, err
		}
		b.m.Status, b.m.LastError = queuetype.StatusFailed, msg
		b.m.FinishedAt, b.m.UpdatedAt = time.UnixMicro(now).UTC(), time.UnixMicro(now).UTC()
		b.m.LeaseOwner, b.m.LeaseExpiry = "", time.Time{}
	}
	return out, nil
}

// badRow is a claimed row that could not be decoded.
type badRow struct {
	m   *queuetype.Message
	err error
}

// eachRow runs a row-returning statement on the writer's connection and
// passes every row to fn, decoded as far as it could be (see decodeMessage).
func (t *tx) eachRow(query string, args []any, fn func(*queuetype.Message, error)) error {
	rows, err := t.w.query(query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	vals := make([]driver.Value, len(rows.Columns()))
	for {
		err := rows.Next(vals)
		if errors.Is(err, errEOF) {
			return nil
		}
		if err != nil {
			return err
		}
		m, err := decodeMessage(vals)
		if m == nil {
			return err
		}
		fn(m, err)
	}
}
