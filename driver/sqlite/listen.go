package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"time"

	qdriver "github.com/queue-sqlite/queuesqlite/driver"
	"github.com/queue-sqlite/queuesqlite/queuetype"
)

var _ qdriver.ListenStore = (*DB)(nil)

// runner is what setListen needs from a transaction, so the same code runs
// in the writer's group commit and in an application's *sql.Tx.
type runner interface {
	exec(query string, args ...any) (lastID int64, err error)
	rows(query string, args ...any) ([][]driver.Value, error)
}

// SetListen implements driver.ListenStore.
func (d *DB) SetListen(ctx context.Context, p qdriver.SetListenParams) (*queuetype.Change, error) {
	var change *queuetype.Change
	err := d.w.do(ctx, true, func(t *tx) (err error) {
		change, err = setListen(writerRunner{t}, p)
		return err
	})
	return change, d.wrap("set listen data", err)
}

// SetListenTx implements driver.ListenStore.
func (d *DB) SetListenTx(ctx context.Context, tx qdriver.Tx, p qdriver.SetListenParams) (*queuetype.Change, error) {
	q, err := d.checkTx(ctx, tx)
	if err != nil {
		return nil, err
	}
	change, err := setListen(txRunner{ctx, q}, p)
	return change, d.wrap("set listen data", err)
}

// setListen writes the new value when it differs from the stored one and
// logs the change when some listener group will read it.
func setListen(r runner, p qdriver.SetListenParams) (*queuetype.Change, error) {
	rows, err := r.rows(sqlListenGet, p.Key)
	if err != nil {
		return nil, err
	}
	var old *queuetype.ListenEntry
	if len(rows) == 1 {
		old = decodeEntry(rows[0])
	}
	change, version := qdriver.ListenWrite(old, p)
	switch {
	case change == nil:
		return nil, nil // nothing changes
	case p.Value == nil:
		_, err = r.exec(sqlListenDelete, p.Key)
	default:
		_, err = r.exec(sqlListenPut, p.Key, int64(p.Value.Kind), p.Value.Raw, version, micros(p.Now))
	}
	if err != nil {
		return nil, err
	}
	return change, logChange(r, change)
}

// logChange appends the change to the log if any listener group exists.
// Its seq is taken inside the write transaction (the writer's, or an
// application's holding SQLite's write lock), so changes commit in seq
// order: the visibility order driver.ListenStore requires.
func logChange(r runner, c *queuetype.Change) error {
	rows, err := r.rows(sqlListenCursor)
	if err != nil || len(rows) == 0 || asInt(rows[0][0]) == 0 {
		return err
	}
	oldKind, oldRaw := valueArgs(c.Old)
	newKind, newRaw := valueArgs(c.New)
	c.Seq, err = r.exec(sqlListenLog, c.Key, oldKind, oldRaw, newKind, newRaw, micros(c.Time))
	return err
}

func valueArgs(v *queuetype.Value) (any, any) {
	if v == nil {
		return nil, nil
	}
	raw := v.Raw
	if raw == nil {
		raw = []byte{}
	}
	return int64(v.Kind), raw
}

func decodeEntry(v []driver.Value) *queuetype.ListenEntry {
	return &queuetype.ListenEntry{
		Key:       asString(v[0]),
		Value:     queuetype.Value{Kind: queuetype.ValueKind(asInt(v[1])), Raw: nonNil(asBytes(v[2]))},
		Version:   asInt(v[3]),
		UpdatedAt: asTime(v[4]),
	}
}

func decodeValue(kind, raw driver.Value) *queuetype.Value {
	if kind == nil {
		return nil
	}
	return &queuetype.Value{Kind: queuetype.ValueKind(asInt(kind)), Raw: nonNil(asBytes(raw))}
}

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// GetListen implements driver.ListenStore.
func (d *DB) GetListen(ctx context.Context, key string) (*queuetype.ListenEntry, error) {
	rows, err := d.readRows(ctx, sqlListenGet, key)
	if err != nil {
		return nil, d.wrap("get listen data", err)
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("listen key %q: %w", key, queuetype.ErrNotFound)
	}
	return decodeEntry(rows[0]), nil
}

// ListListen implements driver.ListenStore.
func (d *DB) ListListen(ctx context.Context, prefix string) ([]*queuetype.ListenEntry, error) {
	rows, err := d.readRows(ctx, sqlListenList, prefix)
	if err != nil {
		return nil, d.wrap("list listen data", err)
	}
	var out []*queuetype.ListenEntry
	for _, r := range rows {
		e := decodeEntry(r)
		if len(e.Key) < len(prefix) || e.Key[:len(prefix)] != prefix {
			break // keys are sorted: past the prefix range
		}
		out = append(out, e)
	}
	return out, nil
}

// ListenChanges implements driver.ListenStore.
func (d *DB) ListenChanges(ctx context.Context, after int64, limit int) ([]*queuetype.Change, error) {
	rows, err := d.readRows(ctx, sqlListenChanges, after, int64(limit))
	if err != nil {
		return nil, d.wrap("read listen changes", err)
	}
	out := make([]*queuetype.Change, len(rows))
	for i, r := range rows {
		out[i] = &queuetype.Change{Seq: asInt(r[0]), Key: asString(r[1]),
			Old: decodeValue(r[2], r[3]), New: decodeValue(r[4], r[5]), Time: asTime(r[6])}
	}
	return out, nil
}

// ListenHead implements driver.ListenStore.
func (d *DB) ListenHead(ctx context.Context) (int64, int64, error) {
	var last, first int64
	err := d.read.QueryRowContext(ctx, sqlListenHead).Scan(&last, &first)
	return first, last, d.wrap("read listen head", err)
}

// ClaimListenGroup implements driver.ListenStore.
func (d *DB) ClaimListenGroup(ctx context.Context, p qdriver.ListenLeaseParams) (int64, bool, error) {
	var rows [][]driver.Value
	err := d.w.do(ctx, false, func(t *tx) (err error) {
		rows, err = writerRunner{t}.rows(sqlListenClaimGroup, p.Group, p.Owner, micros(p.Now), micros(p.Until),
			ownerList(p.Dead), ownerList(p.Ownerless))
		return err
	})
	if err != nil || len(rows) == 0 {
		return 0, false, d.wrap("claim listener group", err)
	}
	return asInt(rows[0][0]), true, nil
}

// AdvanceListenGroup implements driver.ListenStore.
func (d *DB) AdvanceListenGroup(ctx context.Context, p qdriver.ListenLeaseParams) (bool, error) {
	var n int64
	err := d.w.do(ctx, false, func(t *tx) error {
		res, err := t.exec(sqlListenAdvance, p.Group, p.Owner, p.Seq, micros(p.Until), micros(p.Now))
		if err == nil {
			n, err = res.RowsAffected()
		}
		return err
	})
	return n == 1, d.wrap("advance listener group", err)
}

// ReleaseListenGroup implements driver.ListenStore.
func (d *DB) ReleaseListenGroup(ctx context.Context, group, owner string) error {
	return d.wrap("release listener group", d.execWrite(ctx, sqlListenRelease, group, owner))
}

// DropListenGroup implements driver.ListenStore.
func (d *DB) DropListenGroup(ctx context.Context, group string) error {
	return d.wrap("drop listener group", d.execWrite(ctx, sqlListenDropGroup, group))
}

// RecordListenFailure implements driver.ListenStore.
func (d *DB) RecordListenFailure(ctx context.Context, f qdriver.ListenFailure) error {
	err := d.execWrite(ctx, sqlListenFail, f.Group, f.Listener, f.Seq, f.Key, int64(f.Attempts), f.Error, micros(f.Now))
	return d.wrap("record listener failure", err)
}

// PruneListenChanges implements driver.ListenStore.
func (d *DB) PruneListenChanges(ctx context.Context, p qdriver.PruneParams) (int, error) {
	var n int64
	err := d.w.do(ctx, false, func(t *tx) error {
		res, err := t.exec(sqlListenPrune, micros(p.Before), int64(max(p.Keep, 1)))
		if err == nil {
			n, err = res.RowsAffected()
		}
		return err
	})
	return int(n), d.wrap("prune listen changes", err)
}

// ListenGroups implements driver.ListenStore.
func (d *DB) ListenGroups(ctx context.Context) ([]qdriver.ListenGroup, error) {
	rows, err := d.readRows(ctx, sqlListenGroups)
	if err != nil {
		return nil, d.wrap("list listener groups", err)
	}
	out := make([]qdriver.ListenGroup, len(rows))
	for i, r := range rows {
		out[i] = qdriver.ListenGroup{Name: asString(r[0]), Cursor: asInt(r[1]), LeaseOwner: asString(r[2]),
			Failures: int(asInt(r[4]))}
		if until := asInt(r[3]); until > 0 {
			out[i].LeaseUntil = time.UnixMicro(until).UTC()
		}
	}
	return out, nil
}

// execWrite runs one statement through the writer.
func (d *DB) execWrite(ctx context.Context, query string, args ...any) error {
	return d.w.do(ctx, false, func(t *tx) error {
		_, err := t.exec(query, args...)
		return err
	})
}

// readRows runs a query on the read pool and returns every row's values.
func (d *DB) readRows(ctx context.Context, query string, args ...any) ([][]driver.Value, error) {
	rows, err := d.read.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return collectRows(rows)
}

func collectRows(rows *sql.Rows) ([][]driver.Value, error) {
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	var out [][]driver.Value
	for rows.Next() {
		raw := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range raw {
			ptrs[i] = &raw[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		vals := make([]driver.Value, len(raw))
		for i, v := range raw {
			vals[i] = v
		}
		out = append(out, vals)
	}
	return out, rows.Err()
}

// writerRunner runs statements in the writer's transaction.
type writerRunner struct{ t *tx }

func (r writerRunner) exec(query string, args ...any) (int64, error) {
	res, err := r.t.exec(query, args...)
	if err != nil {
		return 0, err
	}
	return res.LastInsertId()
}

func (r writerRunner) rows(query string, args ...any) ([][]driver.Value, error) {
	rows, err := r.t.w.query(query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out [][]driver.Value
	for {
		vals := make([]driver.Value, len(rows.Columns()))
		if err := rows.Next(vals); err != nil {
			if errors.Is(err, errEOF) {
				return out, nil
			}
			return nil, err
		}
		for i, v := range vals {
			if b, ok := v.([]byte); ok {
				vals[i] = append([]byte(nil), b...) // the driver reuses its buffers
			}
		}
		out = append(out, vals)
	}
}

// txRunner runs statements in an application's transaction.
type txRunner struct {
	ctx context.Context
	tx  querier
}

func (r txRunner) exec(query string, args ...any) (int64, error) {
	res, err := r.tx.ExecContext(r.ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return res.LastInsertId()
}

func (r txRunner) rows(query string, args ...any) ([][]driver.Value, error) {
	rows, err := r.tx.QueryContext(r.ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return collectRows(rows)
}
