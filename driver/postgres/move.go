package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/queue-sqlite/queuesqlite/driver"
	"github.com/queue-sqlite/queuesqlite/queuetype"
)

// importStandIn is the max_attempts stored for a moved message whose
// MaxAttempts is still unset (exported as 0); a claim replaces it with the
// handler's MaxAttempts.
const importStandIn = 1

// Export implements driver.Exporter.
func (d *DB) Export(ctx context.Context, after int64, limit int) ([]*queuetype.Message, error) {
	var ms []*queuetype.Message
	err := d.reread(ctx, func() (err error) {
		ms, err = scanWithErrors(ctx, d.poolQ(), d.sql(sqlExport), after, int64(limit))
		return err
	})
	return ms, d.wrap("export", err)
}

// importColumns are sqlImport's parameters: one array per column.
type importColumns struct {
	id, typ, dest, src                    []string
	status, priority                      []int16
	content, result, metadata             [][]byte
	created, updated, runAt               []time.Time
	expire, finished, leaseExpiry         []*time.Time
	attempt, maxAttempts, retries         []int32
	unset                                 []bool
	lastError, tags, leaseOwner, shardKey []*string
	attemptErrors                         []*string
}

func (c *importColumns) add(m *queuetype.Message) error {
	tags, err := tagsJSON(m.Tags)
	if err != nil {
		return err
	}
	maxAttempts, unset := int32(m.MaxAttempts), m.MaxAttempts <= 0
	if unset {
		maxAttempts = importStandIn
	}
	c.id, c.typ, c.dest, c.src = append(c.id, m.ID), append(c.typ, m.Type), append(c.dest, m.Destination), append(c.src, m.Source)
	c.status, c.priority = append(c.status, int16(m.Status)), append(c.priority, int16(m.Priority))
	c.content, c.result, c.metadata = append(c.content, []byte(m.Content)), append(c.result, nullJSON(m.Result)), append(c.metadata, nullJSON(m.Metadata))
	c.created, c.updated, c.runAt = append(c.created, ts(m.CreatedAt)), append(c.updated, ts(m.UpdatedAt)), append(c.runAt, ts(m.RunAt))
	c.expire, c.finished, c.leaseExpiry = append(c.expire, nullTime(m.ExpireAt)), append(c.finished, nullTime(m.FinishedAt)), append(c.leaseExpiry, nullTime(m.LeaseExpiry))
	c.attempt, c.maxAttempts, c.retries = append(c.attempt, int32(m.Attempt)), append(c.maxAttempts, maxAttempts), append(c.retries, int32(m.RetryCount))
	c.unset = append(c.unset, unset)
	c.lastError, c.tags = append(c.lastError, nullText(m.LastError)), append(c.tags, tags)
	c.leaseOwner, c.shardKey = append(c.leaseOwner, nullText(m.LeaseOwner)), append(c.shardKey, nullText(m.ShardKey))
	c.attemptErrors = append(c.attemptErrors, encodeAttemptErrors(m.Errors()))
	return nil
}

func (c *importColumns) args() []any {
	return []any{c.id, c.typ, c.status, c.dest, c.src, c.content, c.result, c.priority, c.created, c.updated,
		c.runAt, c.expire, c.finished, c.attempt, c.maxAttempts, c.unset, c.retries, c.lastError, c.tags,
		c.metadata, c.leaseOwner, c.leaseExpiry, c.shardKey, c.attemptErrors}
}

// Import implements driver.Importer: one statement for the batch, then a
// comparison of the ids that were stored already with their copies.
func (d *DB) Import(ctx context.Context, ms []*queuetype.Message) error {
	if len(ms) == 0 {
		return nil
	}
	var cols importColumns
	for _, m := range ms {
		if err := cols.add(m); err != nil {
			return err
		}
	}
	err := d.tx(ctx, func(tx pgx.Tx) error {
		r, err := tx.Query(ctx, d.sql(sqlImport), cols.args()...)
		if err != nil {
			return err
		}
		stored, err := pgx.CollectRows(r, pgx.RowTo[string])
		if err != nil {
			return err
		}
		if len(stored) == len(ms) {
			return nil
		}
		return d.compareCopies(ctx, tx, ms, stored)
	})
	if err != nil {
		if isSentinel(err) || isDuplicate(err) {
			return err
		}
		return d.wrap("import", err)
	}
	d.signal(driver.Topic{Kind: driver.TopicAny})
	return nil
}

func isDuplicate(err error) bool { return errors.Is(err, queuetype.ErrDuplicate) }

// compareCopies fails when a message not stored by the import (its id was
// there) differs from the stored one.
func (d *DB) compareCopies(ctx context.Context, tx pgx.Tx, ms []*queuetype.Message, stored []string) error {
	var skipped []string
	for _, m := range ms {
		if !slices.Contains(stored, m.ID) {
			skipped = append(skipped, m.ID)
		}
	}
	here, err := scanWithErrors(ctx, pgxQuerier{tx}, d.sql(sqlExportIDs), skipped)
	if err != nil {
		return err
	}
	byID := make(map[string]*queuetype.Message, len(here))
	for _, h := range here {
		byID[h.ID] = h
	}
	for _, m := range ms {
		if h := byID[m.ID]; h != nil && !sameStored(m, h) {
			return fmt.Errorf("message id %q: %w: another message with this id is already in schema %s",
				m.ID, queuetype.ErrDuplicate, d.schema)
		}
	}
	return nil
}

// sameStored reports whether two messages hold the same stored columns
// (seq, shard and the callback owner aside).
func sameStored(a, b *queuetype.Message) bool {
	tm := func(t time.Time) int64 {
		if t.IsZero() {
			return 0
		}
		return t.Truncate(time.Microsecond).UnixMicro()
	}
	return a.ID == b.ID && a.Type == b.Type && a.Status == b.Status && a.Destination == b.Destination &&
		a.Source == b.Source && bytes.Equal(a.Content, b.Content) && bytes.Equal(nullJSON(a.Result), nullJSON(b.Result)) &&
		a.Priority == b.Priority && tm(a.CreatedAt) == tm(b.CreatedAt) && tm(a.UpdatedAt) == tm(b.UpdatedAt) &&
		tm(a.RunAt) == tm(b.RunAt) && tm(a.ExpireAt) == tm(b.ExpireAt) && tm(a.FinishedAt) == tm(b.FinishedAt) &&
		a.Attempt == b.Attempt && a.MaxAttempts == b.MaxAttempts && a.RetryCount == b.RetryCount &&
		a.LastError == b.LastError && slices.Equal(a.Tags, b.Tags) && bytes.Equal(nullJSON(a.Metadata), nullJSON(b.Metadata)) &&
		a.LeaseOwner == b.LeaseOwner && tm(a.LeaseExpiry) == tm(b.LeaseExpiry) && a.ShardKey == b.ShardKey &&
		sameHistory(a.Errors(), b.Errors())
}

// sameHistory reports whether two attempt histories hold the same entries
// (times to the microsecond stored); none and empty are the same.
func sameHistory(a, b []queuetype.AttemptError) bool {
	return slices.EqualFunc(a, b, func(x, y queuetype.AttemptError) bool {
		return x.Attempt == y.Attempt && x.Error == y.Error && x.At.Truncate(time.Microsecond).Equal(y.At.Truncate(time.Microsecond))
	})
}

// ImportListen implements driver.ListenImporter.
func (d *DB) ImportListen(ctx context.Context, p driver.ListenImport) error {
	now := ts(time.Now())
	err := d.tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, sqlListenLock, d.lockKey(lockSpaceListen), int32(0)); err != nil {
			return err
		}
		batch := &pgx.Batch{}
		for _, e := range p.Entries {
			kind, raw := valueArgs(&e.Value)
			batch.Queue(d.sql(sqlImportListenEntry), e.Key, kind, raw, e.Version, ts(e.UpdatedAt))
		}
		for _, c := range p.Changes {
			oldKind, oldRaw := valueArgs(c.Old)
			newKind, newRaw := valueArgs(c.New)
			batch.Queue(d.sql(sqlImportListenChange), c.Seq, c.Key, oldKind, oldRaw, newKind, newRaw, ts(c.Time))
		}
		for _, g := range p.Groups {
			batch.Queue(d.sql(sqlImportListenGroup), g.Name, g.Cursor, now)
		}
		batch.Queue(d.sql(sqlListenSeqAdvance))
		return tx.SendBatch(ctx, batch).Close()
	})
	if err != nil {
		return d.wrap("import listen data", err)
	}
	d.signal(driver.Topic{Kind: driver.TopicListen})
	return nil
}

// Count returns the number of messages in the queue.
func (d *DB) Count(ctx context.Context) (int, error) {
	var n int64
	err := d.reread(ctx, func() error { return d.pool.QueryRow(ctx, d.sql(sqlCountAll)).Scan(&n) })
	return int(n), d.wrap("count", err)
}
