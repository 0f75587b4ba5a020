package queuesqlite

import (
	"context"
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
	if err := q.placeDependants(ctx, rows); err != nil { // deps.go
		return nil, err
	}
	if err := q.checkDependencies(rows); err != nil {
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
// ErrForeignTx, writing nothing. They go to the
// first shard. Workers notice them within Config.PollInterval of the commit.
// Completion callbacks are not available here; use Wait or Get.
//
// With several shards, an id must have the first shard as its home
// (ShardFor(id, shards) == 0) for that transaction alone to keep it unique
// in the queue: ids SendTx generates do; a given ID with another home is
// refused with ErrInvalidArgument (send it with Send, or leave ID empty).
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
	if err := q.homeZeroIDs(ms, rows); err != nil {
		return nil, err
	}
	store := func(ctx context.Context, rows []*Message) error {
		return q.shards[0].InsertTx(ctx, tx, driver.InsertParams{Messages: rows, MaxAttemptsDefault: q.cfg.MaxAttempts})
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
			if len(ms) == 1 {
				return nil, err // a single Send: no index to name
			}
			return nil, fmt.Errorf("message %d: %w", i, err)
		}
		rows[i] = q.row(m, now)
		if err := rows[i].ValidateTimes(); err != nil { // what Delay and TTL gave
			return nil, fmt.Errorf("message %d: %w", i, err)
		}
	}
	if err := checkBatchIDs(rows); err != nil {
		return nil, err
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
	// MaxAttempts 0 stays 0: it is stored unset (Config.MaxAttempts as a
	// stand-in), and the worker that claims the message resolves it from its
	// handler (see driver.ClaimParams.MaxAttempts).
	r.Shard = q.shardOf(&r)
	return &r
}

// insert stores rows, one transaction per shard (shards in parallel),
// after the id routes of those stored outside their id's home shard.
func (q *Queue) insert(ctx context.Context, rows []*Message, withCallback bool, u *uniqueSet) error {
	routes, err := q.putRoutes(ctx, rows)
	if err != nil {
		return err
	}
	byShard := map[int][]*Message{}
	for _, m := range rows {
		byShard[m.Shard] = append(byShard[m.Shard], m)
	}
	if len(byShard) == 1 {
		for shard, part := range byShard {
			err := q.insertShard(ctx, shard, part, withCallback, u)
			if err != nil && routes != nil {
				q.dropRoutes(ctx, routes, nil)
			} else if dups := u.duplicateIDs(); err == nil && routes != nil && len(dups) > 0 {
				q.dropRoutes(ctx, routes, dups) // duplicates were not stored
			}
			return err
		}
	}
	var wg sync.WaitGroup
	errs := make([]error, len(q.shards))
	for shard, part := range byShard {
		wg.Go(func() { errs[shard] = q.insertShard(ctx, shard, part, withCallback, u) })
	}
	wg.Wait()
	if dups := u.duplicateIDs(); routes != nil && len(dups) > 0 {
		q.dropRoutes(ctx, routes, dups) // duplicates were not stored
	}
	var first error
	for shard, err := range errs {
		if err == nil {
			continue
		}
		if routes != nil {
			q.dropRoutes(ctx, routes, idsOf(byShard[shard]))
		}
		if first == nil {
			first = fmt.Errorf("send to shard %d (other shards' messages may be stored): %w", shard, err)
		}
	}
	return first
}

func idsOf(ms []*Message) []string {
	ids := make([]string, len(ms))
	for i, m := range ms {
		ids[i] = m.ID
	}
	return ids
}

// takeCallbacks withdraws the callbacks registered for ids.
func (q *Queue) takeCallbacks(ids []string) {
	for _, id := range ids {
		q.callbacks.Take(id)
	}
}

func (q *Queue) insertShard(ctx context.Context, shard int, part []*Message, withCallback bool, u *uniqueSet) error {
	p := driver.InsertParams{Messages: part, MaxAttemptsDefault: q.cfg.MaxAttempts}
	if withCallback {
		p.CallbackOwners = make([]string, len(part))
		for i := range part {
			p.CallbackOwners[i] = q.instance
		}
	}
	if u.has(part) {
		return q.insertUnique(ctx, shard, p, u)
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
	q.dependenciesSent(r, rows)
	r.wake()
}
