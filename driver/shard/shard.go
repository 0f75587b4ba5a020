// Package shard composes N storage drivers into one driver.Driver, so the
// queue above sees a single store. It exists because SQLite has one writer
// per file: a queue that needs more write throughput spreads its messages
// over several files (shards), and this package routes, merges and pages
// across them.
//
// What it owns:
//   - Routing. A message goes to shardkey.For(ShardKey, n), or, without a
//     ShardKey, to its unique key's shard (a unique message) or its
//     parents' shard (a message with dependencies), else to its id's home
//     shard, shardkey.For(ID, n).
//   - Ids unique per store: a message stored outside its id's home shard is
//     preceded by an id route in the home (driver.Router), see ids.go.
//   - Seqs. Each shard numbers its own messages; the seq this driver hands
//     out is local<<SeqBits | shard, so the queue treats it as opaque and
//     every call taking a seq (Complete, ExtendLeases, AckCallbacks) finds
//     its shard again. Message.Shard is set on every message returned, for
//     display only.
//   - Claims merged across shards in priority order (claim.go), List paged
//     across shards in send time order with a cursor of its own (Pager),
//     Stats summed (and per shard through PerShard), owners merged. It
//     does not implement driver.ClaimCompleter: outcomes span shards that
//     commit apart, so the queue records them with Complete, each shard's
//     in one commit, apart from the claims.
//   - Store-wide state on shard 0: listen data, pauses, leader elections,
//     metadata, the database clock, the application's DB() pool and its
//     transactions (SendTx, see InsertTx).
//
// A Driver over one shard adds nothing; the queue uses a lone driver as it
// is. All shards should be of one backend: an optional interface the first
// shard lacks fails its calls with ErrInvalidArgument.
package shard

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/queue-sqlite/queuesqlite/driver"
	"github.com/queue-sqlite/queuesqlite/internal/shardkey"
	"github.com/queue-sqlite/queuesqlite/queuetype"
)

// SeqBits is how many low bits of a seq name the shard.
const SeqBits = 8

// seqShardMask selects the shard of a seq.
const seqShardMask = 1<<SeqBits - 1

// Driver is a store made of several shards. Build it with New.
type Driver struct {
	shards []driver.Driver
	turn   atomic.Uint64 // whose turn it is at the front among shards of equal priority

	changes chan struct{}
	stop    context.CancelFunc
	bg      sync.WaitGroup
}

// clockDriver is a Driver whose first shard tells the database's time.
type clockDriver struct {
	*Driver
	clock driver.Clock
}

// Now implements driver.Clock with the first shard's clock.
func (c clockDriver) Now(ctx context.Context) (time.Time, error) { return c.clock.Now(ctx) }

// New composes shards (at least 2, at most shardkey.Max) into one driver.
// The result implements driver.Clock when the first shard does. The shards
// are closed by the driver's Close.
func New(shards []driver.Driver) (driver.Driver, error) {
	d, err := newDriver(shards)
	if err != nil {
		return nil, err
	}
	if c, ok := shards[0].(driver.Clock); ok {
		return clockDriver{d, c}, nil
	}
	return d, nil
}

func newDriver(shards []driver.Driver) (*Driver, error) {
	if len(shards) < 2 || len(shards) > shardkey.Max {
		return nil, fmt.Errorf("%w: a sharded store needs 2..%d shards, not %d", queuetype.ErrInvalidArgument, shardkey.Max, len(shards))
	}
	ctx, cancel := context.WithCancel(context.Background())
	d := &Driver{shards: shards, changes: make(chan struct{}, 1), stop: cancel}
	for _, s := range shards {
		d.bg.Go(func() { d.forward(ctx, s.Changes()) })
	}
	return d, nil
}

// Of returns the sharded driver inside d, and false when d is not one.
func Of(d driver.Driver) (*Driver, bool) {
	switch s := d.(type) {
	case *Driver:
		return s, true
	case clockDriver:
		return s.Driver, true
	}
	return nil, false
}

// Count returns the number of shards.
func (d *Driver) Count() int { return len(d.shards) }

// Shards returns the shards' drivers, in shard order. Callers must not
// close them.
func (d *Driver) Shards() []driver.Driver { return d.shards }

// Seq returns the seq this driver hands out for a shard's own seq.
func Seq(local int64, shard int) int64 { return local<<SeqBits | int64(shard) }

// Split returns the shard and the shard's own seq of a seq this driver
// handed out.
func Split(seq int64) (local int64, shard int) { return seq >> SeqBits, int(seq & seqShardMask) }

// split is Split checked against the shard count.
func (d *Driver) split(seq int64) (int64, int, error) {
	local, shard := Split(seq)
	if shard >= len(d.shards) || seq < 0 {
		return 0, 0, fmt.Errorf("%w: seq %d names no shard of %d", queuetype.ErrInvalidArgument, seq, len(d.shards))
	}
	return local, shard, nil
}

// mark turns messages read from shard into this driver's: seq encoded,
// Shard set.
func mark(shard int, ms ...*queuetype.Message) {
	for _, m := range ms {
		if m != nil {
			m.Seq, m.Shard = Seq(m.Seq, shard), shard
		}
	}
}

// home returns the shard of a key (a ShardKey, unique key or id).
func (d *Driver) home(key string) int { return shardkey.For(key, len(d.shards)) }

// forward turns one shard's change signals into the driver's.
func (d *Driver) forward(ctx context.Context, ch <-chan struct{}) {
	for {
		select {
		case <-ch:
			select {
			case d.changes <- struct{}{}:
			default:
			}
		case <-ctx.Done():
			return
		}
	}
}

// each runs fn on every shard in parallel and returns the errors joined,
// each naming its shard.
func (d *Driver) each(fn func(i int, s driver.Driver) error) error {
	errs := make([]error, len(d.shards))
	var wg sync.WaitGroup
	for i, s := range d.shards {
		wg.Go(func() {
			if err := fn(i, s); err != nil {
				errs[i] = fmt.Errorf("shard %d: %w", i, err)
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Changes implements driver.Driver: a signal of any shard.
func (d *Driver) Changes() <-chan struct{} { return d.changes }

// Close implements driver.Driver: it closes every shard.
func (d *Driver) Close() error {
	d.stop()
	d.bg.Wait()
	var errs []error
	for _, s := range d.shards {
		if err := s.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Check implements driver.Driver: every shard's check, joined.
func (d *Driver) Check(ctx context.Context) error {
	var errs []error
	for _, s := range d.shards {
		if err := s.Check(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Meta implements driver.Driver: the store's metadata lives in shard 0.
func (d *Driver) Meta(ctx context.Context, key string) (string, bool, error) {
	return d.shards[0].Meta(ctx, key)
}

// SetMeta implements driver.Driver on shard 0.
func (d *Driver) SetMeta(ctx context.Context, key, value string) error {
	return d.shards[0].SetMeta(ctx, key, value)
}

// DeleteMeta deletes a key of shard 0's metadata, where its backend can.
func (d *Driver) DeleteMeta(ctx context.Context, key string) error {
	m, ok := d.shards[0].(interface {
		DeleteMeta(ctx context.Context, key string) error
	})
	if !ok {
		return unsupported("deleting metadata")
	}
	return m.DeleteMeta(ctx, key)
}

// unsupported is the error of an optional call the shards' backend lacks.
func unsupported(what string) error {
	return fmt.Errorf("%w: the shards' storage backend does not support %s", queuetype.ErrInvalidArgument, what)
}
