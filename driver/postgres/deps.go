package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/queue-sqlite/queuesqlite/driver"
	"github.com/queue-sqlite/queuesqlite/queuetype"
)

var _ driver.DependencyStore = (*DB)(nil)

// depRounds bounds the rounds of one ResolveDependencies call (each its
// own transaction); the next call goes on.
const depRounds = 16

// hasDependencies reports whether a message of ms has dependencies.
func hasDependencies(ms []*queuetype.Message) bool {
	for _, m := range ms {
		if len(m.DependsOn) > 0 {
			return true
		}
	}
	return false
}

// dependencyRows are sqlDepInsert's parameters.
type dependencyRows struct {
	child  []int64
	parent []string
	runAt  []time.Time
}

// insertWithDependencies stores p's messages (those with dependencies
// waiting), checks their parents and writes the dependency rows, all
// through q, which must be a transaction when p has dependencies.
func (d *DB) insertWithDependencies(ctx context.Context, q querier, p driver.InsertParams) error {
	runAts, err := waitAll(p.Messages)
	if err != nil {
		return err
	}
	if err := insertMessages(ctx, d, q, p, nil, nil); err != nil || runAts == nil {
		return err
	}
	if err := d.checkParents(ctx, q, p.Messages); err != nil {
		return err
	}
	var rows dependencyRows
	for i, m := range p.Messages {
		for _, parent := range m.DependsOn {
			rows.child, rows.parent = append(rows.child, m.Seq), append(rows.parent, parent)
			rows.runAt = append(rows.runAt, ts(runAts[i]))
		}
	}
	_, err = q.exec(ctx, d.sql(sqlDepInsert), rows.child, rows.parent, rows.runAt)
	return err
}

// waitAll sets the messages with dependencies waiting and returns the run
// times they were sent with (nil when none has dependencies). A parent
// later in the batch than its child is refused.
func waitAll(ms []*queuetype.Message) ([]time.Time, error) {
	if !hasDependencies(ms) {
		return nil, nil
	}
	index := make(map[string]int, len(ms))
	for i, m := range ms {
		index[m.ID] = i
	}
	runAts := make([]time.Time, len(ms))
	for i, m := range ms {
		runAts[i] = m.RunAt
		for _, parent := range m.DependsOn {
			if j, ok := index[parent]; ok && j > i {
				return nil, fmt.Errorf("%w: message %q depends on %q, which comes later in the batch "+
					"(send a dependency before its dependants)", queuetype.ErrInvalidArgument, m.ID, parent)
			}
		}
		if len(m.DependsOn) > 0 {
			m.Status, m.RunAt = queuetype.StatusScheduled, driver.WaitingRunAt
		}
	}
	return runAts, nil
}

// checkParents refuses messages whose parents are not all stored.
func (d *DB) checkParents(ctx context.Context, q querier, ms []*queuetype.Message) error {
	for _, m := range ms {
		if len(m.DependsOn) == 0 {
			continue
		}
		var missing *string
		if err := queryOne(ctx, q, []any{&missing}, d.sql(sqlParentsMissing), m.DependsOn); err != nil {
			return err
		}
		if missing != nil {
			return fmt.Errorf("%w: message %q depends on %q, which is not stored "+
				"(send a dependency before its dependants, or earlier in the same batch)", queuetype.ErrInvalidArgument, m.ID, *missing)
		}
	}
	return nil
}

// ResolveDependencies implements driver.DependencyStore: rounds of
// driver.ResolveRound, one transaction each under the schema's resolver
// lock, until one settles nothing.
func (d *DB) ResolveDependencies(ctx context.Context, p driver.MaintainParams) (driver.DependencyResult, error) {
	var total driver.DependencyResult
	for range depRounds {
		ops := &depOps{ctx: ctx, d: d, p: p}
		var res driver.DependencyResult
		var n int
		err := d.tx(ctx, func(tx pgx.Tx) (err error) {
			ops.q, ops.work = pgxQuerier{tx}, nil
			if _, err := ops.q.exec(ctx, d.sql(sqlDepLock), d.lockKey("dependencies")); err != nil {
				return err
			}
			res, n, err = driver.ResolveRound(ops, limit(p.Limit))
			return err
		})
		if err != nil {
			return total, d.wrap("resolve dependencies", err)
		}
		d.signal(append(ops.work, finishedTopics(res.Finished)...)...)
		total.Released += res.Released
		total.Finished = append(total.Finished, res.Finished...)
		if n == 0 {
			break
		}
	}
	return total, nil
}

// Waiting implements driver.DependencyStore.
func (d *DB) Waiting(ctx context.Context) (int, error) {
	var n int
	err := d.reread(ctx, func() error {
		return d.pool.QueryRow(ctx, d.sql(sqlDepsWaiting), ts(driver.WaitingRunAt)).Scan(&n)
	})
	return n, d.wrap("count waiting messages", err)
}

// depOps runs ResolveRound's statements in one transaction.
type depOps struct {
	ctx  context.Context
	d    *DB
	q    querier
	p    driver.MaintainParams
	work []driver.Topic // destinations released to pending
}

// Marks returns the seqs of the candidates (messages whose rows may have
// settled) and, negated, the numbers of the marks.
func (o *depOps) Marks(n int) ([]int64, error) {
	r, err := o.q.query(o.ctx, o.d.sql(sqlDepMarks), int64(n))
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var out []int64
	for r.Next() {
		var v int64
		if err := r.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, r.Err()
}

// splitMarks turns Marks' answer back into the candidates' seqs and the
// marks' numbers.
func splitMarks(marks []int64) (seqs, ns []int64) {
	seqs, ns = []int64{}, []int64{}
	for _, v := range marks {
		if v < 0 {
			ns = append(ns, -v)
		} else {
			seqs = append(seqs, v)
		}
	}
	return seqs, ns
}

// Forget clears the flags of the candidates whose rows are all settled
// and deletes the marks read.
func (o *depOps) Forget(marks []int64) error {
	seqs, ns := splitMarks(marks)
	for _, st := range []struct {
		query string
		arg   []int64
	}{{sqlDepParentsDone, seqs}, {sqlDepChildrenDone, seqs}, {sqlDepForget, ns}} {
		if _, err := o.q.exec(o.ctx, o.d.sql(st.query), st.arg); err != nil {
			return err
		}
	}
	return nil
}

func (o *depOps) Settled(marks []int64, n int) ([]driver.SettledEdge, error) {
	seqs, ns := splitMarks(marks)
	r, err := o.q.query(o.ctx, o.d.sql(sqlDepsSettled), int64(n), ts(driver.WaitingRunAt), seqs, ns)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var out []driver.SettledEdge
	for r.Next() {
		var e driver.SettledEdge
		var status *int16
		if err := r.Scan(&e.Child, &e.Parent, &status); err != nil {
			return nil, err
		}
		if status != nil {
			e.Status, e.Stored = queuetype.Status(*status), true
		}
		out = append(out, e)
	}
	return out, r.Err()
}

func (o *depOps) DeleteEdge(child int64, parent string) (time.Time, bool, error) {
	var at *time.Time
	err := queryOne(o.ctx, o.q, []any{&at}, o.d.sql(sqlDepDelete), child, parent)
	if err != nil || at == nil {
		return time.Time{}, false, err
	}
	return at.UTC(), true, nil
}

func (o *depOps) Remaining(child int64) (int, error) {
	var n int64
	err := queryOne(o.ctx, o.q, []any{&n}, o.d.sql(sqlDepRemaining), child)
	return int(n), err
}

func (o *depOps) Release(child int64, runAt time.Time) (bool, error) {
	var dest *string
	var status int16
	err := queryOne(o.ctx, o.q, []any{&dest, &status}, o.d.sql(sqlDepRelease), child, ts(runAt), ts(o.p.Now),
		ts(driver.WaitingRunAt))
	if err != nil || dest == nil {
		return false, err
	}
	if queuetype.Status(status) == queuetype.StatusPending {
		o.work = append(o.work, driver.Topic{Kind: driver.TopicWork, Key: *dest})
	}
	return true, nil
}

func (o *depOps) Finish(child int64, status queuetype.Status, lastError string) (*queuetype.Message, error) {
	ms, err := scanMessages(o.ctx, o.q, keepReadable, o.d.sql(sqlDepFinish), child, int16(status), ts(o.p.Now),
		lastError, o.p.Me, ts(driver.WaitingRunAt))
	if err != nil || len(ms) == 0 {
		return nil, err
	}
	return ms[0], nil
}

func (o *depOps) DropChild(child int64) error {
	_, err := o.q.exec(o.ctx, o.d.sql(sqlDepDropChild), child)
	return err
}
