package queuesqlite

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/queue-sqlite/queuesqlite/driver"
	"github.com/queue-sqlite/queuesqlite/queuetype"
)

// Send stores m and returns its id once it is committed. cb, if not nil, is
// called once in this process when the message finishes (completed, failed,
// expired or cancelled), whichever process ran it. m itself is not modified,
// so one message value can be sent several times (with distinct or empty
// IDs).
func (q *Queue) Send(ctx context.Context, m *Message, cb Callback) (string, error) {
	ids, err := q.SendBatch(ctx, []*Message{m}, cb)
	if err != nil {
		return "", err
	}
	return ids[0], nil
}

// SendBatch stores several messages and returns their ids in input order.
// On one shard (the default) the batch is one transaction: all or nothing.
// With several shards each shard's part is one transaction; if one fails,
// the error says so and the other parts may have been stored. cb, if not
// nil, is registered for every message.
func (q *Queue) SendBatch(ctx context.Context, ms []*Message, cb Callback) ([]string, error) {
	if err := q.checkOpen(); err != nil {
		return nil, err
	}
	rows, err := q.prepare(ms)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(rows))
	for i, m := range rows {
		ids[i] = m.ID
		if cb != nil {
			q.callbacks.Add(m.ID, cb) // before the insert: the message may finish at once
		}
	}
	store := func(ctx context.Context, rows []*Message) error { return q.insert(ctx, rows, cb != nil) }
	if err := q.sendThrough(ctx, rows, store); err != nil { // send middleware: middleware.go
		if cb != nil {
			for _, id := range ids {
				q.callbacks.Take(id)
			}
		}
		return nil, err
	}
	q.sent(rows)
	return ids, nil
}

// SendTx stores messages inside the caller's transaction, which must be on
// the queue's DB(): they exist if and only if tx commits. They go to the
// first shard. Workers notice them within Config.PollInterval of the commit.
// Completion callbacks are not available here; use Wait or Get.
func (q *Queue) SendTx(ctx context.Context, tx *sql.Tx, ms ...*Message) ([]string, error) {
	if err := q.checkOpen(); err != nil {
		return nil, err
	}
	rows, err := q.prepare(ms)
	if err != nil {
		return nil, err
	}
	store := func(ctx context.Context, rows []*Message) error {
		return q.shards[0].InsertTx(ctx, tx, driver.InsertParams{Messages: rows})
	}
	if err := q.sendThrough(ctx, rows, store); err != nil { // send middleware: middleware.go
		return nil, err
	}
	ids := make([]string, len(rows))
	for i, m := range rows {
		ids[i] = m.ID
	}
	return ids, nil
}

// prepare validates messages and builds the rows to store, filling in ids,
// times, status and defaults.
func (q *Queue) prepare(ms []*Message) ([]*Message, error) {
	if len(ms) == 0 {
		return nil, fmt.Errorf("%w: no messages to send", ErrInvalidArgument)
	}
	now := q.now()
	rows := make([]*Message, len(ms))
	for i, m := range ms {
		if err := m.Validate(); err != nil {
			return nil, fmt.Errorf("message %d: %w", i, err)
		}
		rows[i] = q.row(m, now)
	}
	return rows, nil
}

func (q *Queue) row(m *Message, now time.Time) *Message {
	r := *m
	r.Result, r.FinishedAt, r.Attempt, r.RetryCount, r.LastError = nil, time.Time{}, 0, 0, ""
	r.LeaseOwner, r.LeaseExpiry, r.Seq = "", time.Time{}, 0
	if r.ID == "" {
		r.ID = uuid.Must(uuid.NewV7()).String()
	}
	r.Type = queuetype.TypeTask
	if r.Source == "" {
		r.Source = queuetype.SourceDefault
	}
	r.CreatedAt, r.UpdatedAt = now, now
	if r.RunAt.IsZero() {
		r.RunAt = now.Add(r.Delay)
	}
	r.RunAt = r.RunAt.UTC()
	r.Status = StatusPending
	if r.RunAt.After(now) {
		r.Status = StatusScheduled
	}
	if r.ExpireAt.IsZero() && r.TTL > 0 {
		r.ExpireAt = now.Add(r.TTL)
	}
	r.ExpireAt = r.ExpireAt.UTC()
	if string(r.Metadata) == "null" {
		r.Metadata = nil
	}
	if r.MaxAttempts == 0 {
		r.MaxAttempts = q.maxAttemptsFor(r.Destination)
	}
	r.Shard = q.shardOf(&r)
	return &r
}

func (q *Queue) maxAttemptsFor(dest string) int {
	if h, ok := q.handlerMap()[dest]; ok {
		return h.opts.MaxAttempts
	}
	return q.cfg.MaxAttempts
}

// insert stores rows, one transaction per shard (shards in parallel).
func (q *Queue) insert(ctx context.Context, rows []*Message, withCallback bool) error {
	byShard := map[int][]*Message{}
	for _, m := range rows {
		byShard[m.Shard] = append(byShard[m.Shard], m)
	}
	if len(byShard) == 1 {
		for shard, part := range byShard {
			return q.insertShard(ctx, shard, part, withCallback)
		}
	}
	var wg sync.WaitGroup
	errs := make([]error, len(q.shards))
	for shard, part := range byShard {
		wg.Go(func() { errs[shard] = q.insertShard(ctx, shard, part, withCallback) })
	}
	wg.Wait()
	for shard, err := range errs {
		if err != nil {
			return fmt.Errorf("send to shard %d (other shards' messages may be stored): %w", shard, err)
		}
	}
	return nil
}

func (q *Queue) insertShard(ctx context.Context, shard int, part []*Message, withCallback bool) error {
	p := driver.InsertParams{Messages: part}
	if withCallback {
		p.CallbackOwners = make([]string, len(part))
		for i := range part {
			p.CallbackOwners[i] = q.instance
		}
	}
	return q.shards[shard].Insert(ctx, p)
}

// sent wakes whoever should act on freshly stored messages.
func (q *Queue) sent(rows []*Message) {
	r := q.run.Load()
	if r == nil {
		return
	}
	for _, m := range rows {
		if m.Status == StatusScheduled {
			r.maint.WakePromoter()
			break
		}
	}
	r.fetcher.Wake()
}
