package sqlite

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"

	"github.com/queue-sqlite/queuesqlite/queuetype"
)

// The methods in this file move messages between the files of one queue
// when its shard count changes. They are SQLite-specific: other backends do
// not shard.

// Export returns up to limit messages with seq > after, in seq order, every
// column included.
func (d *DB) Export(ctx context.Context, after int64, limit int) ([]*queuetype.Message, error) {
	ms, err := d.readMessages(ctx, sqlExport, after, int64(limit))
	return ms, d.wrap("export", err)
}

// Import stores messages exported from another file of the queue, keeping
// every column but seq, all or none. A message whose id is already here
// with every column equal (a copy left by an interrupted move) is skipped,
// so a move can simply be repeated; one whose id is here with other
// contents is a duplicate id: Import fails with ErrDuplicate naming it and
// stores nothing, so the caller keeps its source row.
func (d *DB) Import(ctx context.Context, ms []*queuetype.Message) error {
	err := d.w.do(ctx, true, func(t *tx) error {
		after, err := maxSeq(t)
		if err != nil {
			return err
		}
		for _, m := range ms {
			if err := importOne(t, m); err != nil {
				return err
			}
		}
		return checkRoutedAfter(t, after)
	})
	return d.wrap("import", err)
}

func importOne(t *tx, m *queuetype.Message) error {
	args, err := importArgs(m)
	if err != nil {
		return err
	}
	res, err := t.exec(sqlImport, args...)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return nil
	}
	here, err := t.queryMessages(sqlExportID, m.ID)
	if err != nil || len(here) == 0 {
		return err
	}
	hereArgs, err := importArgs(here[0])
	if err != nil {
		return err
	}
	if !reflect.DeepEqual(args, hereArgs) {
		return fmt.Errorf("message id %q: %w: another message with this id is already in %s", m.ID, queuetype.ErrDuplicate, t.w.path)
	}
	return nil
}

// ClearRoutes deletes every id route of the file (a reshard rebuilds them
// for the new shard count).
func (d *DB) ClearRoutes(ctx context.Context) error {
	return d.wrap("clear id routes", d.execWrite(ctx, sqlRoutesClear))
}

// IDsAfter returns up to limit message ids greater than after, in order.
func (d *DB) IDsAfter(ctx context.Context, after string, limit int) ([]string, error) {
	rows, err := d.read.QueryContext(ctx, sqlIDsAfter, after, int64(limit))
	if err != nil {
		return nil, d.wrap("list ids", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, d.wrap("list ids", err)
		}
		out = append(out, id)
	}
	return out, d.wrap("list ids", rows.Err())
}

// KeyedMessage is a message's seq, id and shard key.
type KeyedMessage struct {
	Seq     int64
	ID, Key string
}

// KeyedAfter returns up to limit messages with a shard key and seq > after,
// in seq order: the messages that may be stored outside their id's home.
func (d *DB) KeyedAfter(ctx context.Context, after int64, limit int) ([]KeyedMessage, error) {
	rows, err := d.read.QueryContext(ctx, sqlKeyedAfter, after, int64(limit))
	if err != nil {
		return nil, d.wrap("list keyed", err)
	}
	defer rows.Close()
	var out []KeyedMessage
	for rows.Next() {
		var k KeyedMessage
		if err := rows.Scan(&k.Seq, &k.ID, &k.Key); err != nil {
			return nil, d.wrap("list keyed", err)
		}
		out = append(out, k)
	}
	return out, d.wrap("list keyed", rows.Err())
}

// DeleteSeqs deletes messages by seq (after they were imported elsewhere).
func (d *DB) DeleteSeqs(ctx context.Context, seqs []int64) error {
	err := d.w.do(ctx, len(seqs) > 1, func(t *tx) error {
		for _, s := range seqs {
			if _, err := t.exec(sqlDeleteSeq, s); err != nil {
				return err
			}
		}
		return nil
	})
	return d.wrap("delete moved", err)
}

// Count returns the number of messages in the file.
func (d *DB) Count(ctx context.Context) (int, error) {
	var n int
	err := d.read.QueryRowContext(ctx, sqlCountAll).Scan(&n)
	return n, d.wrap("count", err)
}

// DeleteMeta removes a metadata key.
func (d *DB) DeleteMeta(ctx context.Context, key string) error {
	return d.wrap("delete meta", d.execWrite(ctx, sqlMetaDelete, key))
}

// importStandIn is the max_attempts stored for a moved message whose
// MaxAttempts is still unset (exported as 0). A claim replaces it with the
// handler's MaxAttempts; it is used only by a claim that names none.
const importStandIn = 1

func importArgs(m *queuetype.Message) ([]any, error) {
	var tags any
	if len(m.Tags) > 0 {
		b, err := json.Marshal(m.Tags)
		if err != nil {
			return nil, err
		}
		tags = string(b)
	}
	maxAttempts, unset, err := storedMaxAttempts(m, importStandIn)
	if err != nil {
		return nil, err
	}
	return []any{
		m.ID, m.Type, int64(m.Status), m.Destination, m.Source, string(m.Content), nullJSON(m.Result),
		int64(m.Priority), micros(m.CreatedAt), micros(m.UpdatedAt), micros(m.RunAt), nullMicros(m.ExpireAt),
		nullMicros(m.FinishedAt), int64(m.Attempt), maxAttempts, int64(m.RetryCount),
		nullText(m.LastError), tags, nullJSON(m.Metadata), nullText(m.LeaseOwner), nullMicros(m.LeaseExpiry),
		nullText(m.ShardKey), nil, unset, encodeAttemptErrors(m.Errors()),
	}, nil
}

// CountUpTo returns the number of messages with seq <= seq.
func (d *DB) CountUpTo(ctx context.Context, seq int64) (int, error) {
	var n int
	err := d.read.QueryRowContext(ctx, sqlCountUpTo, seq).Scan(&n)
	return n, d.wrap("count", err)
}
