package queuesqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/queue-sqlite/queuesqlite/driver"
	"github.com/queue-sqlite/queuesqlite/queuetype"
)

// Send stores m and returns its id once it is committed. cb, if not nil, is
// called once in this process when the message finishes (completed, failed,
// expired or cancelled), whichever process ran it. m itself is not modified,
// so one message value can be sent several times (with distinct or empty
// IDs). Ids are unique per queue: a message whose ID the queue already
// holds is refused with ErrDuplicate, whichever shard its ShardKey picks.
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
	res, err := q.sendBatch(ctx, ms, cb)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(res))
	for i, r := range res {
		ids[i] = r.ID
	}
	return ids, nil
}

// sendBatch is SendBatch, saying which messages were duplicates of a
// unique message already stored.
func (q *Queue) sendBatch(ctx context.Context, ms []*Message, cb Callback) ([]SendResult, error) {
	if err := q.checkOpen(); err != nil {
		return nil, err
	}
	rows, err := q.prepare(ms)
	if err != nil {
		return nil, err
	}
	if err := q.checkDependencies(rows); err != nil { // deps.go
		return nil, err
	}
	u := q.uniqueKeys(ms, rows)
	ids := make([]string, len(rows))
	for i, m := range rows {
		ids[i] = m.ID
		// Before the insert: the message may finish at once. Never over
		// another message's callback: that id is taken.
		if cb != nil && !q.callbacks.AddNew(m.ID, cb) {
			q.takeCallbacks(ids[:i])
			return nil, fmt.Errorf("message %d: id %q: %w: a message with this id waits for its callback in this process", i, m.ID, ErrDuplicate)
		}
	}
	store := func(ctx context.Context, rows []*Message) error { return q.insert(ctx, rows, cb != nil, u) }
	if err := q.sendThrough(ctx, rows, store); err != nil { // send middleware: middleware.go
		if cb != nil {
			q.takeCallbacks(ids)
		}
		return nil, err
	}
	q.sent(rows)
	return u.results(rows, cb != nil, q.takeCallbacks), nil
}

// Tx is an application's transaction on the queue's store, handed to
// SendTx, SendJobTx, SetListenDataTx and DeleteListenDataTx: a *sql.Tx on
// every backend (begin it on DB(), or use InTx), or the backend's native
// transaction type where it has one (pgx.Tx for PostgreSQL).
type Tx = driver.Tx

// SendTx stores messages inside the caller's transaction, which must be on
// the queue's DB() (any *sql.Tx on the queue's store, or the backend's
// native transaction, such as a pgx.Tx for PostgreSQL): they exist if and
// only if tx commits. A transaction on another database fails with
// ErrForeignTx, writing nothing. Workers notice them within
// Config.PollInterval of the commit. Completion callbacks are not
// available here; use Wait or Get.
//
// With several shards, the transaction is on the first shard's file (the
// one DB() opens), so the messages are stored there: one whose ShardKey
// (or parents) routes it to another shard is refused with
// ErrInvalidArgument naming the shards, before anything is written (send
// it with Send, or pick a ShardKey with ShardFor(key, n) == 0). Ids SendTx
// generates have the first shard as their home; a given ID whose home is
// another shard gets its id route there before the transaction writes (a
// rollback leaves the route behind until cleanup prunes it; it refuses the
// id only for other shards).
func (q *Queue) SendTx(ctx context.Context, tx Tx, ms ...*Message) ([]string, error) {
	if err := q.checkOpen(); err != nil {
		return nil, err
	}
	rows, err := q.prepare(ms)
	if err != nil {
		return nil, err
	}
	if err := refuseUniqueTx(rows); err != nil {
		return nil, err
	}
	if err := q.checkDependencies(rows); err != nil { // deps.go
		return nil, err
	}
	q.homeZeroIDs(ms, rows) // ids.go
	store := func(ctx context.Context, rows []*Message) error {
		return q.d.InsertTx(ctx, tx, driver.InsertParams{Messages: rows, MaxAttemptsDefault: q.cfg.MaxAttempts})
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
// times, status and defaults. The rows share one allocation (a row kept
// by middleware keeps its batch's), and the generated ids one string
// (fillIDs).
func (q *Queue) prepare(ms []*Message) ([]*Message, error) {
	if len(ms) == 0 {
		return nil, fmt.Errorf("%w: no messages to send", ErrInvalidArgument)
	}
	now := q.now()
	slab := make([]Message, len(ms))
	rows := make([]*Message, len(ms))
	generate := 0
	for i, m := range ms {
		if err := m.Validate(); err != nil {
			if len(ms) == 1 {
				return nil, err // a single Send: no index to name
			}
			return nil, fmt.Errorf("message %d: %w", i, err)
		}
		rows[i] = q.row(&slab[i], m, now)
		if err := rows[i].ValidateTimes(); err != nil { // what Delay and TTL gave
			return nil, fmt.Errorf("message %d: %w", i, err)
		}
		if m.ID == "" {
			generate++
		}
	}
	if generate > 0 {
		ids := make([]string, generate)
		fillIDs(ids)
		giveIDs(rows, ids)
	}
	if err := checkBatchIDs(ms, rows); err != nil {
		return nil, err
	}
	return rows, nil
}

// giveIDs hands ids, in order, to the rows that have none.
func giveIDs(rows []*Message, ids []string) {
	for _, r := range rows {
		if r.ID == "" {
			r.ID, ids = ids[0], ids[1:]
		}
	}
}

// row fills r as the row to store for m (leaving the id empty when m has
// none) and returns it.
func (q *Queue) row(r, m *Message, now time.Time) *Message {
	*r = *m
	r.Result, r.FinishedAt, r.Attempt, r.RetryCount, r.LastError = nil, time.Time{}, 0, 0, ""
	r.LeaseOwner, r.LeaseExpiry, r.Seq = "", time.Time{}, 0
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
	// MaxAttempts 0 stays 0: it is stored unset (Config.MaxAttempts as a
	// stand-in), and the worker that claims the message resolves it from its
	// handler (see driver.ClaimParams.MaxAttempts).
	return r
}

// insert stores rows in one call of the store (a sharded store routes them
// and writes each shard's in parallel, see package driver/shard).
func (q *Queue) insert(ctx context.Context, rows []*Message, withCallback bool, u *uniqueSet) error {
	p := driver.InsertParams{Messages: rows, MaxAttemptsDefault: q.cfg.MaxAttempts}
	if withCallback {
		p.CallbackOwners = make([]string, len(rows))
		for i := range rows {
			p.CallbackOwners[i] = q.instance
		}
	}
	if u.has(rows) {
		return q.insertUnique(ctx, p, u)
	}
	return q.d.Insert(ctx, p)
}

// takeCallbacks withdraws the callbacks registered for ids.
func (q *Queue) takeCallbacks(ids []string) {
	for _, id := range ids {
		q.callbacks.Take(id)
	}
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
	q.dependenciesSent(r, rows)
	r.wake()
}
