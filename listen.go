package queuesqlite

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"

	"github.com/queue-sqlite/queuesqlite/driver"
	"github.com/queue-sqlite/queuesqlite/internal/listen"
	"github.com/queue-sqlite/queuesqlite/queuetype"
)

// Listen-data defaults.
const (
	ListenGroupDefault       = "default"
	ListenMaxAttemptsDefault = 5
	ListenRetentionDefault   = 7 * 24 * time.Hour
	ListenKeepDefault        = 1_000_000
	listenBatch              = 500
	listenWindow             = 2000
)

// Value is a listen value exactly as it was set (text, JSON or bytes).
type Value = queuetype.Value

// ListenEntry is one key of the listen data.
type ListenEntry = queuetype.ListenEntry

// Change is one change of listen data, as listeners receive it. Old is nil
// for a new key, New is nil for a deletion.
type Change = queuetype.Change

// ListenFunc is a listener. An error (or a panic) makes the queue call it
// again for the same change with backoff; other keys' changes are not held
// up meanwhile.
type ListenFunc func(ctx context.Context, c *Change) error

// ListenOpts are per-listener settings.
type ListenOpts struct {
	// Name identifies the listener in failure records. Default: the key
	// (or the prefix followed by "*").
	Name string
	// LatestOnly skips a change when, by the time it would be delivered, a
	// newer change of the same key exists (waiting, or already stored), so
	// the listener sees the latest value rather than every change.
	LatestOnly bool
	// MaxAttempts is how often a change is tried before it is recorded as
	// failed for this listener and delivery moves on. Default 5.
	MaxAttempts int
	// Backoff gives the pause before each retry. Default: 10ms doubling to 1s.
	Backoff BackoffFunc
}

// Listen registers fn for changes of key. Several listeners may listen to one
// key; each change reaches them in registration order, and a key's changes
// arrive in the order they were made, also when another process made them
// and also across restarts (the group's cursor is durable). Register
// listeners before Start.
func (q *Queue) Listen(key string, fn ListenFunc, opts *ListenOpts) error {
	if key == "" {
		return fmt.Errorf("%w: empty listen key (use ListenPrefix(\"\", ...) for every key)", ErrInvalidArgument)
	}
	return q.addListener(key, false, fn, opts)
}

// ListenPrefix registers fn for changes of every key that starts with
// prefix; the empty prefix listens to every key.
func (q *Queue) ListenPrefix(prefix string, fn ListenFunc, opts *ListenOpts) error {
	return q.addListener(prefix, true, fn, opts)
}

func (q *Queue) addListener(key string, prefix bool, fn ListenFunc, opts *ListenOpts) error {
	if fn == nil {
		return fmt.Errorf("%w: nil listener", ErrInvalidArgument)
	}
	if err := queuetype.ValidateListenKey(key); err != nil {
		return err
	}
	if _, err := q.listenStore(); err != nil {
		return err
	}
	var o ListenOpts
	if opts != nil {
		o = *opts
	}
	if o.MaxAttempts < 0 {
		return fmt.Errorf("%w: negative ListenOpts.MaxAttempts", ErrInvalidArgument)
	}
	setDefault(&o.MaxAttempts, ListenMaxAttemptsDefault)
	if o.Backoff == nil {
		o.Backoff = func(attempt int) time.Duration { return min(10*time.Millisecond<<min(attempt-1, 10), time.Second) }
	}
	if o.Name == "" {
		o.Name = key
		if prefix {
			o.Name += "*"
		}
	}
	l := &listen.Listener{Name: o.Name, Key: key, Prefix: prefix, LatestOnly: o.LatestOnly,
		MaxAttempts: o.MaxAttempts, Backoff: o.Backoff,
		Fn: func(ctx context.Context, c *queuetype.Change) error { return fn(ctx, c) }}
	q.mu.Lock()
	defer q.mu.Unlock()
	if err := q.checkOpen(); err != nil {
		return err
	}
	if q.run.Load() != nil {
		return fmt.Errorf("register listener %q: %w: register listeners before Start", o.Name, ErrStarted)
	}
	q.listeners = append(q.listeners, l)
	return nil
}

// listenStore returns where listen data lives: the first shard.
func (q *Queue) listenStore() (driver.ListenStore, error) {
	ls, ok := q.d.(driver.ListenStore)
	if !ok {
		return nil, fmt.Errorf("%w: this storage backend has no listen data", ErrInvalidArgument)
	}
	return ls, nil
}

// SetListenData stores value under key and, when it differs from the stored
// value, fires the key's listeners. The value comes back exactly as given: a
// string stays text, a []byte stays bytes, a json.RawMessage stays JSON, and
// other values are stored as their JSON encoding. It returns the change, or
// nil when the value was equal (nothing is recorded then).
func (q *Queue) SetListenData(ctx context.Context, key string, value any) (*Change, error) {
	v, err := listenValue(key, value)
	if err != nil {
		return nil, err
	}
	return q.writeListen(ctx, driver.SetListenParams{Key: key, Value: &v, Now: q.now()})
}

// DeleteListenData removes key; a deletion is a change (its New is nil). It
// returns nil when the key did not exist.
func (q *Queue) DeleteListenData(ctx context.Context, key string) (*Change, error) {
	return q.writeListen(ctx, driver.SetListenParams{Key: key, Now: q.now()})
}

// SetListenDataTx is SetListenData inside the caller's transaction on DB():
// the change exists, and fires listeners, if and only if tx commits.
func (q *Queue) SetListenDataTx(ctx context.Context, tx Tx, key string, value any) (*Change, error) {
	v, err := listenValue(key, value)
	if err != nil {
		return nil, err
	}
	return q.writeListenTx(ctx, tx, driver.SetListenParams{Key: key, Value: &v, Now: q.now()})
}

// DeleteListenDataTx is DeleteListenData inside the caller's transaction.
func (q *Queue) DeleteListenDataTx(ctx context.Context, tx Tx, key string) (*Change, error) {
	return q.writeListenTx(ctx, tx, driver.SetListenParams{Key: key, Now: q.now()})
}

func listenValue(key string, value any) (Value, error) {
	if key == "" {
		return Value{}, fmt.Errorf("%w: empty listen key", ErrInvalidArgument)
	}
	if err := queuetype.ValidateListenKey(key); err != nil {
		return Value{}, err
	}
	return queuetype.NewValue(value)
}

func (q *Queue) writeListen(ctx context.Context, p driver.SetListenParams) (*Change, error) {
	if err := q.checkOpen(); err != nil {
		return nil, err
	}
	ls, err := q.listenStore()
	if err != nil {
		return nil, err
	}
	c, err := ls.SetListen(ctx, p)
	if c != nil {
		q.wakeListeners()
	}
	return c, err
}

func (q *Queue) writeListenTx(ctx context.Context, tx Tx, p driver.SetListenParams) (*Change, error) {
	if err := q.checkOpen(); err != nil {
		return nil, err
	}
	ls, err := q.listenStore()
	if err != nil {
		return nil, err
	}
	return ls.SetListenTx(ctx, tx, p)
}

// GetListenData returns the entry stored under key, or ErrNotFound.
func (q *Queue) GetListenData(ctx context.Context, key string) (*ListenEntry, error) {
	if err := q.checkOpen(); err != nil {
		return nil, err
	}
	ls, err := q.listenStore()
	if err != nil {
		return nil, err
	}
	return ls.GetListen(ctx, key)
}

// ListListenData returns the entries whose key starts with prefix ("" for
// all), in key order.
func (q *Queue) ListListenData(ctx context.Context, prefix string) ([]*ListenEntry, error) {
	if err := q.checkOpen(); err != nil {
		return nil, err
	}
	ls, err := q.listenStore()
	if err != nil {
		return nil, err
	}
	return ls.ListListen(ctx, prefix)
}

// InTx runs fn in a transaction on DB() and commits it when fn returns nil.
// Use it to send messages (SendTx) and set listen data (SetListenDataTx)
// atomically: both or neither. Workers and listeners in this process are
// woken as soon as it commits. While another connection holds the write
// lock, InTx waits as long as ctx allows, then fails with ErrLocked.
func (q *Queue) InTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	if err := q.inAppTx(ctx, fn); err != nil {
		return err
	}
	if r := q.run.Load(); r != nil {
		r.wake()
	}
	q.wakeListeners()
	return nil
}

// ListenGroupStats describes one listener group.
type ListenGroupStats struct {
	Name       string
	Cursor     int64 // every change up to here was delivered
	Lag        int64 // changes logged after the cursor
	LeaseOwner string
	LeaseUntil time.Time
	Failures   int // changes a listener gave up on
}

// ListenStats describes the change log and every listener group.
type ListenStats struct {
	FirstSeq, LastSeq int64 // the change log's range (0 when empty)
	Groups            []ListenGroupStats
}

// ListenStats reports the change log and the listener groups' progress.
func (q *Queue) ListenStats(ctx context.Context) (*ListenStats, error) {
	if err := q.checkOpen(); err != nil {
		return nil, err
	}
	ls, err := q.listenStore()
	if err != nil {
		return nil, err
	}
	first, last, err := ls.ListenHead(ctx)
	if err != nil {
		return nil, err
	}
	groups, err := ls.ListenGroups(ctx)
	if err != nil {
		return nil, err
	}
	st := &ListenStats{FirstSeq: first, LastSeq: last}
	for _, g := range groups {
		st.Groups = append(st.Groups, ListenGroupStats{Name: g.Name, Cursor: g.Cursor, Lag: max(last-g.Cursor, 0),
			LeaseOwner: g.LeaseOwner, LeaseUntil: g.LeaseUntil, Failures: g.Failures})
	}
	return st, nil
}

// DropListenGroup forgets a listener group's cursor, so the change log no
// longer keeps changes for it. A group that starts again begins at the
// newest change.
func (q *Queue) DropListenGroup(ctx context.Context, name string) error {
	if err := q.checkOpen(); err != nil {
		return err
	}
	ls, err := q.listenStore()
	if err != nil {
		return err
	}
	return ls.DropListenGroup(ctx, name)
}

// startListeners launches the dispatcher of this process's listener group,
// when listeners are registered.
func (q *Queue) startListeners(r *runState) {
	ls, err := q.listenStore()
	if err != nil || len(q.listeners) == 0 {
		return
	}
	r.listen = listen.Start(listen.Config{
		Store: ls, Group: q.cfg.ListenGroup, Owner: r.owner, Listeners: slices.Clone(q.listeners),
		Now: q.now, Lease: q.cfg.Lease, Poll: q.cfg.MaintenanceInterval, Batch: listenBatch, Window: listenWindow,
		// No PruneEvery: the maintenance leader's cleanup prunes the change log (afterCleanup).
		Logger: q.logger,
		Owners: r.owners, // a sharded store keeps listen data in its first shard
		Abandoned: func(string, string, int64) {
			q.abandoned.listeners.Add(1)
			q.abandoned.running.Add(1)
		},
		Late: func(string) { q.abandoned.running.Add(-1) },
	})
}

func (q *Queue) wakeListeners() {
	if r := q.run.Load(); r != nil && r.listen != nil {
		r.listen.Wake()
	}
}

// inAppTx runs fn in a transaction on the store: through the driver when
// it runs application transactions itself (SQLite waits for a busy
// writer), else on its DB pool.
func (q *Queue) inAppTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	if r, ok := q.d.(driver.TxRunner); ok {
		return r.InAppTx(ctx, fn)
	}
	db, err := q.DB()
	if err != nil {
		return err
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}
