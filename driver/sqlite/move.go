package sqlite

import (
	"context"
	"encoding/json"

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
// every column but seq. A message whose id is already here is skipped, so
// an interrupted move can simply be repeated.
func (d *DB) Import(ctx context.Context, ms []*queuetype.Message) error {
	err := d.w.do(ctx, len(ms) > 1, func(t *tx) error {
		for _, m := range ms {
			args, err := importArgs(m)
			if err != nil {
				return err
			}
			if _, err := t.exec(sqlImport, args...); err != nil {
				return err
			}
		}
		return nil
	})
	return d.wrap("import", err)
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
		nullText(m.ShardKey), nil, unset,
	}, nil
}
