package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"strconv"
	"time"

	qdriver "github.com/queue-sqlite/queuesqlite/driver"
	"github.com/queue-sqlite/queuesqlite/queuetype"
)

var _ qdriver.DependencyStore = (*DB)(nil)

// depRounds bounds the rounds of one ResolveDependencies call (each its
// own transaction, so the write lock is never held long); the next call
// goes on.
const depRounds = 16

// inserter is where an insert writes: the writer's transaction or a
// caller's.
type inserter interface {
	// insert runs an insert of one row and returns its seq, or stored
	// false if the statement wrote no row.
	insert(query string, args []any) (seq int64, stored bool, err error)
	queryInt(query string, args ...any) (int64, bool, error)
	exec(query string, args ...any) error
}

// txInserter writes through the writer's transaction.
type txInserter struct{ t *tx }

func (i txInserter) insert(query string, args []any) (int64, bool, error) {
	res, err := i.t.exec(query, args...)
	return insertedSeq(res, err)
}

func (i txInserter) queryInt(query string, args ...any) (int64, bool, error) {
	return i.t.queryInt(query, args...)
}

func (i txInserter) exec(query string, args ...any) error {
	_, err := i.t.exec(query, args...)
	return err
}

// sqlInserter writes through a caller's transaction.
type sqlInserter struct {
	ctx context.Context
	q   querier
}

func (i sqlInserter) insert(query string, args []any) (int64, bool, error) {
	res, err := i.q.ExecContext(i.ctx, query, args...)
	return insertedSeq(res, err)
}

// insertedSeq returns the seq of the row a one-row insert stored, and
// whether it stored one.
func insertedSeq(res interface {
	LastInsertId() (int64, error)
	RowsAffected() (int64, error)
}, err error) (int64, bool, error) {
	if err != nil {
		return 0, false, err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return 0, false, err
	}
	seq, err := res.LastInsertId()
	return seq, err == nil, err
}

func (i sqlInserter) queryInt(query string, args ...any) (int64, bool, error) {
	var v int64
	err := i.q.QueryRowContext(i.ctx, query, args...).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	return v, err == nil, err
}

func (i sqlInserter) exec(query string, args ...any) error {
	_, err := i.q.ExecContext(i.ctx, query, args...)
	return err
}

// hasDependencies reports whether a message of ms has dependencies.
func hasDependencies(ms []*queuetype.Message) bool {
	for _, m := range ms {
		if len(m.DependsOn) > 0 {
			return true
		}
	}
	return false
}

// checkParents refuses a message whose parents are not all stored.
func checkParents(ins inserter, m *queuetype.Message) error {
	for _, parent := range m.DependsOn {
		_, ok, err := ins.queryInt(sqlParentStored, parent)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("%w: message %q depends on %q, which is not stored in this shard "+
				"(send a dependency before its dependants, or earlier in the same batch)", queuetype.ErrInvalidArgument, m.ID, parent)
		}
	}
	return nil
}

// ResolveDependencies implements driver.DependencyStore: rounds of
// ResolveRound, one transaction each, until one settles nothing.
func (d *DB) ResolveDependencies(ctx context.Context, p qdriver.MaintainParams) (qdriver.DependencyResult, error) {
	var total qdriver.DependencyResult
	var settled int
	if err := d.read.QueryRowContext(ctx, sqlDepsAnySettled).Scan(&settled); err != nil || settled == 0 {
		return total, d.wrap("resolve dependencies", err) // nothing to settle: no write lock taken
	}
	for range depRounds {
		var res qdriver.DependencyResult
		var n int
		err := d.w.do(ctx, false, func(t *tx) (err error) {
			res, n, err = qdriver.ResolveRound(&depOps{t: t, p: p}, limit(p.Limit))
			return err
		})
		if err != nil {
			return total, d.wrap("resolve dependencies", err)
		}
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
	err := d.read.QueryRowContext(ctx, sqlDepsWaiting, micros(qdriver.WaitingRunAt)).Scan(&n)
	if isNoMessagesTable(err) {
		return 0, nil // a file of a schema before dependencies, read only
	}
	return n, d.wrap("count waiting messages", err)
}

// depOps runs ResolveRound's statements in the writer's transaction.
type depOps struct {
	t *tx
	p qdriver.MaintainParams
}

// Marks returns the seqs of the candidates (messages whose rows may have
// settled) and, negated, the numbers of the marks of deleted messages.
func (o *depOps) Marks(n int) ([]int64, error) {
	seqs, err := o.ints(sqlDepCandidates, int64(n))
	if err != nil {
		return nil, err
	}
	marks, err := o.ints(sqlDepMarks, int64(n))
	for _, m := range marks {
		seqs = append(seqs, -m)
	}
	return seqs, err
}

// ints reads a column of integers.
func (o *depOps) ints(query string, args ...any) ([]int64, error) {
	rows, err := o.t.w.query(query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []int64
	vals := make([]driver.Value, 1)
	for {
		if err := rows.Next(vals); err != nil {
			if errors.Is(err, errEOF) {
				return out, nil
			}
			return nil, err
		}
		out = append(out, asInt(vals[0]))
	}
}

// splitMarks turns Marks' answer back into JSON arrays of the candidates'
// seqs and the marks' numbers.
func splitMarks(marks []int64) (seqs, ns string) {
	var s, m []int64
	for _, v := range marks {
		if v < 0 {
			m = append(m, -v)
		} else {
			s = append(s, v)
		}
	}
	return jsonInts(s), jsonInts(m)
}

func jsonInts(vs []int64) string {
	b := []byte{'['}
	for i, v := range vs {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, v, 10)
	}
	return string(append(b, ']'))
}

func (o *depOps) Settled(marks []int64, n int) ([]qdriver.SettledEdge, error) {
	seqs, ns := splitMarks(marks)
	rows, err := o.t.w.query(sqlDepsSettled, int64(n), micros(qdriver.WaitingRunAt), seqs, ns)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []qdriver.SettledEdge
	vals := make([]driver.Value, 3)
	for {
		if err := rows.Next(vals); err != nil {
			if errors.Is(err, errEOF) {
				return out, nil
			}
			return nil, err
		}
		out = append(out, qdriver.SettledEdge{Child: asInt(vals[0]), Parent: asString(vals[1]),
			Status: queuetype.Status(asInt(vals[2])), Stored: vals[2] != nil})
	}
}

// Forget clears the flags of the candidates whose rows are all settled
// and deletes the marks.
func (o *depOps) Forget(marks []int64) error {
	seqs, ns := splitMarks(marks)
	for _, st := range []struct {
		query string
		arg   string
	}{{sqlDepParentsDone, seqs}, {sqlDepChildrenDone, seqs}, {sqlDepForget, ns}} {
		if _, err := o.t.exec(st.query, st.arg); err != nil {
			return err
		}
	}
	return nil
}

func (o *depOps) DeleteEdge(child int64, parent string) (time.Time, bool, error) {
	at, ok, err := o.t.queryInt(sqlDepDelete, child, parent)
	return time.UnixMicro(at).UTC(), ok, err
}

func (o *depOps) Remaining(child int64) (int, error) {
	n, _, err := o.t.queryInt(sqlDepRemaining, child)
	return int(n), err
}

func (o *depOps) Release(child int64, runAt time.Time) (bool, error) {
	res, err := o.t.exec(sqlDepRelease, child, micros(runAt), micros(o.p.Now), micros(qdriver.WaitingRunAt))
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

func (o *depOps) Finish(child int64, status queuetype.Status, lastError string) (*queuetype.Message, error) {
	ms, err := o.t.queryMessages(sqlDepFinish, child, int64(status), micros(o.p.Now), lastError, o.p.Me,
		micros(qdriver.WaitingRunAt))
	if err != nil || len(ms) == 0 {
		return nil, err
	}
	return ms[0], nil
}

func (o *depOps) DropChild(child int64) error {
	_, err := o.t.exec(sqlDepDropChild, child)
	return err
}
