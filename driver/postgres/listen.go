package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/queue-sqlite/queuesqlite/driver"
	"github.com/queue-sqlite/queuesqlite/queuetype"
)

// SetListen implements driver.ListenStore.
func (d *DB) SetListen(ctx context.Context, p driver.SetListenParams) (*queuetype.Change, error) {
	var change *queuetype.Change
	err := d.tx(ctx, func(tx pgx.Tx) (err error) {
		change, err = d.setListen(ctx, pgxQuerier{tx}, p)
		return err
	})
	if err != nil {
		return nil, d.wrap("set listen data", err)
	}
	if change != nil {
		d.signal(driver.Topic{Kind: driver.TopicListen})
	}
	return change, nil
}

// SetListenTx implements driver.ListenStore. The listen lock is held until
// the caller's transaction ends: keep it short.
func (d *DB) SetListenTx(ctx context.Context, tx driver.Tx, p driver.SetListenParams) (*queuetype.Change, error) {
	q, err := d.checkTx(ctx, tx)
	if err != nil {
		return nil, err
	}
	change, err := d.setListen(ctx, q, p)
	if err == nil && change != nil {
		err = d.signalInTx(ctx, q, []driver.Topic{{Kind: driver.TopicListen}})
	}
	return change, d.wrap("set listen data", err)
}

// setListen takes the listen lock, writes the new value when it differs
// from the stored one and logs the change when some listener group will
// read it. The lock, held to commit, orders the writers of every host: the
// seq a change takes is higher than every committed one, and no lower one
// can commit after it.
func (d *DB) setListen(ctx context.Context, q querier, p driver.SetListenParams) (*queuetype.Change, error) {
	if _, err := q.exec(ctx, sqlListenLock, d.lockKey(lockSpaceListen), int32(0)); err != nil {
		return nil, err
	}
	old, err := d.listenEntry(ctx, q, p.Key)
	if err != nil {
		return nil, err
	}
	change, version := driver.ListenWrite(old, p)
	switch {
	case change == nil:
		return nil, nil // nothing changes
	case p.Value == nil:
		_, err = q.exec(ctx, d.sql(sqlListenDelete), p.Key)
	default:
		_, err = q.exec(ctx, d.sql(sqlListenPut), p.Key, int16(p.Value.Kind), nonNil(p.Value.Raw), version, ts(p.Now))
	}
	if err != nil {
		return nil, err
	}
	return change, d.logChange(ctx, q, change)
}

// logChange appends the change to the log if any listener group exists.
func (d *DB) logChange(ctx context.Context, q querier, c *queuetype.Change) error {
	var groups bool
	if err := queryOne(ctx, q, []any{&groups}, d.sql(sqlListenCursor)); err != nil || !groups {
		return err
	}
	oldKind, oldRaw := valueArgs(c.Old)
	newKind, newRaw := valueArgs(c.New)
	return queryOne(ctx, q, []any{&c.Seq}, d.sql(sqlListenLog), c.Key, oldKind, oldRaw, newKind, newRaw, ts(c.Time))
}

func valueArgs(v *queuetype.Value) (*int16, []byte) {
	if v == nil {
		return nil, nil
	}
	k := int16(v.Kind)
	return &k, nonNil(v.Raw)
}

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

func decodeValue(kind *int16, raw []byte) *queuetype.Value {
	if kind == nil {
		return nil
	}
	return &queuetype.Value{Kind: queuetype.ValueKind(*kind), Raw: nonNil(raw)}
}

// listenEntry reads one key, nil when absent.
func (d *DB) listenEntry(ctx context.Context, q querier, key string) (*queuetype.ListenEntry, error) {
	es, err := d.listenEntries(ctx, q, d.sql(sqlListenGet), key)
	if err != nil || len(es) == 0 {
		return nil, err
	}
	return es[0], nil
}

func (d *DB) listenEntries(ctx context.Context, q querier, query string, args ...any) ([]*queuetype.ListenEntry, error) {
	r, err := q.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var out []*queuetype.ListenEntry
	for r.Next() {
		e := &queuetype.ListenEntry{}
		var kind int16
		var raw []byte
		var at time.Time
		if err := r.Scan(&e.Key, &kind, &raw, &e.Version, &at); err != nil {
			return nil, err
		}
		e.Value, e.UpdatedAt = queuetype.Value{Kind: queuetype.ValueKind(kind), Raw: nonNil(raw)}, at.UTC()
		out = append(out, e)
	}
	return out, r.Err()
}

// GetListen implements driver.ListenStore.
func (d *DB) GetListen(ctx context.Context, key string) (*queuetype.ListenEntry, error) {
	var e *queuetype.ListenEntry
	err := d.reread(ctx, func() (err error) { e, err = d.listenEntry(ctx, d.poolQ(), key); return err })
	if err != nil {
		return nil, d.wrap("get listen data", err)
	}
	if e == nil {
		return nil, fmt.Errorf("listen key %q: %w", key, queuetype.ErrNotFound)
	}
	return e, nil
}

// ListListen implements driver.ListenStore.
func (d *DB) ListListen(ctx context.Context, prefix string) ([]*queuetype.ListenEntry, error) {
	var es []*queuetype.ListenEntry
	err := d.reread(ctx, func() (err error) {
		es, err = d.listenEntries(ctx, d.poolQ(), d.sql(sqlListenList), prefix)
		return err
	})
	if err != nil {
		return nil, d.wrap("list listen data", err)
	}
	out := es[:0]
	for _, e := range es {
		if !strings.HasPrefix(e.Key, prefix) {
			break // keys are in byte order: past the prefix range
		}
		out = append(out, e)
	}
	return out, nil
}

// ListenChanges implements driver.ListenStore.
func (d *DB) ListenChanges(ctx context.Context, after int64, limit int) ([]*queuetype.Change, error) {
	var out []*queuetype.Change
	err := d.reread(ctx, func() (err error) { out, err = d.listenChanges(ctx, after, limit); return err })
	if err != nil {
		return nil, d.wrap("read listen changes", err)
	}
	return out, nil
}

// listenChanges reads the changes after a seq once.
func (d *DB) listenChanges(ctx context.Context, after int64, limit int) ([]*queuetype.Change, error) {
	r, err := d.pool.Query(ctx, d.sql(sqlListenChanges), after, int64(limit))
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var out []*queuetype.Change
	for r.Next() {
		c := &queuetype.Change{}
		var oldKind, newKind *int16
		var oldRaw, newRaw []byte
		var at time.Time
		if err := r.Scan(&c.Seq, &c.Key, &oldKind, &oldRaw, &newKind, &newRaw, &at); err != nil {
			return nil, err
		}
		c.Old, c.New, c.Time = decodeValue(oldKind, oldRaw), decodeValue(newKind, newRaw), at.UTC()
		out = append(out, c)
	}
	return out, r.Err()
}

// ListenHead implements driver.ListenStore.
func (d *DB) ListenHead(ctx context.Context) (int64, int64, error) {
	var first, last int64
	err := d.reread(ctx, func() error { return d.pool.QueryRow(ctx, d.sql(sqlListenHead)).Scan(&first, &last) })
	return first, last, d.wrap("read listen head", err)
}

// ClaimListenGroup implements driver.ListenStore. It takes the listen lock,
// so a new group's cursor starts at a seq below which no change can still
// commit.
func (d *DB) ClaimListenGroup(ctx context.Context, p driver.ListenLeaseParams) (int64, bool, error) {
	var cursor int64
	held := false
	err := d.tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, sqlListenLock, d.lockKey(lockSpaceListen), int32(0)); err != nil {
			return err
		}
		err := tx.QueryRow(ctx, d.sql(sqlListenClaimGroup), p.Group, p.Owner, ts(p.Now), ts(p.Until),
			owners(p.Dead), owners(p.Ownerless)).Scan(&cursor)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		held = err == nil
		return err
	})
	if err != nil {
		return 0, false, d.wrap("claim listener group", err)
	}
	return cursor, held, nil
}

// AdvanceListenGroup implements driver.ListenStore.
func (d *DB) AdvanceListenGroup(ctx context.Context, p driver.ListenLeaseParams) (bool, error) {
	tag, err := d.pool.Exec(ctx, d.sql(sqlListenAdvance), p.Group, p.Owner, p.Seq, ts(p.Until), ts(p.Now))
	return err == nil && tag.RowsAffected() == 1, d.wrap("advance listener group", err)
}

// ReleaseListenGroup implements driver.ListenStore.
func (d *DB) ReleaseListenGroup(ctx context.Context, group, owner string) error {
	_, err := d.pool.Exec(ctx, d.sql(sqlListenRelease), group, owner)
	return d.wrap("release listener group", err)
}

// DropListenGroup implements driver.ListenStore.
func (d *DB) DropListenGroup(ctx context.Context, group string) error {
	_, err := d.pool.Exec(ctx, d.sql(sqlListenDropGroup), group)
	return d.wrap("drop listener group", err)
}

// RecordListenFailure implements driver.ListenStore.
func (d *DB) RecordListenFailure(ctx context.Context, f driver.ListenFailure) error {
	_, err := d.pool.Exec(ctx, d.sql(sqlListenFail), f.Group, f.Listener, f.Seq, f.Key, int32(f.Attempts), f.Error, ts(f.Now))
	return d.wrap("record listener failure", err)
}

// PruneListenChanges implements driver.ListenStore.
func (d *DB) PruneListenChanges(ctx context.Context, p driver.PruneParams) (int, error) {
	tag, err := d.pool.Exec(ctx, d.sql(sqlListenPrune), ts(p.Before), int64(max(p.Keep, 1)))
	if err != nil {
		return 0, d.wrap("prune listen changes", err)
	}
	return int(tag.RowsAffected()), nil
}

// ListenGroups implements driver.ListenStore.
func (d *DB) ListenGroups(ctx context.Context) ([]driver.ListenGroup, error) {
	var out []driver.ListenGroup
	err := d.reread(ctx, func() (err error) { out, err = d.listenGroups(ctx); return err })
	if err != nil {
		return nil, d.wrap("list listener groups", err)
	}
	return out, nil
}

// listenGroups reads the listener groups once.
func (d *DB) listenGroups(ctx context.Context) ([]driver.ListenGroup, error) {
	r, err := d.pool.Query(ctx, d.sql(sqlListenGroups))
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var out []driver.ListenGroup
	for r.Next() {
		var g driver.ListenGroup
		var until *time.Time
		var failures int64
		if err := r.Scan(&g.Name, &g.Cursor, &g.LeaseOwner, &until, &failures); err != nil {
			return nil, err
		}
		g.LeaseUntil, g.Failures = utc(until), int(failures)
		out = append(out, g)
	}
	return out, r.Err()
}
