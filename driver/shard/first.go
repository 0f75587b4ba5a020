package shard

import (
	"context"
	"database/sql"
	"sync"

	"github.com/queue-sqlite/queuesqlite/driver"
	"github.com/queue-sqlite/queuesqlite/queuetype"
)

// listen returns shard 0's listen store: listen data lives there.
func (d *Driver) listen() (driver.ListenStore, error) {
	ls, ok := d.shards[0].(driver.ListenStore)
	if !ok {
		return nil, unsupported("listen data")
	}
	return ls, nil
}

// SetListen implements driver.ListenStore on shard 0.
func (d *Driver) SetListen(ctx context.Context, p driver.SetListenParams) (*queuetype.Change, error) {
	ls, err := d.listen()
	if err != nil {
		return nil, err
	}
	return ls.SetListen(ctx, p)
}

// SetListenTx implements driver.ListenStore on shard 0 (TxShard).
func (d *Driver) SetListenTx(ctx context.Context, tx driver.Tx, p driver.SetListenParams) (*queuetype.Change, error) {
	ls, err := d.listen()
	if err != nil {
		return nil, err
	}
	return ls.SetListenTx(ctx, tx, p)
}

// GetListen implements driver.ListenStore on shard 0.
func (d *Driver) GetListen(ctx context.Context, key string) (*queuetype.ListenEntry, error) {
	ls, err := d.listen()
	if err != nil {
		return nil, err
	}
	return ls.GetListen(ctx, key)
}

// ListListen implements driver.ListenStore on shard 0.
func (d *Driver) ListListen(ctx context.Context, prefix string) ([]*queuetype.ListenEntry, error) {
	ls, err := d.listen()
	if err != nil {
		return nil, err
	}
	return ls.ListListen(ctx, prefix)
}

// ListenChanges implements driver.ListenStore on shard 0.
func (d *Driver) ListenChanges(ctx context.Context, after int64, limit int) ([]*queuetype.Change, error) {
	ls, err := d.listen()
	if err != nil {
		return nil, err
	}
	return ls.ListenChanges(ctx, after, limit)
}

// ListenHead implements driver.ListenStore on shard 0.
func (d *Driver) ListenHead(ctx context.Context) (int64, int64, error) {
	ls, err := d.listen()
	if err != nil {
		return 0, 0, err
	}
	return ls.ListenHead(ctx)
}

// ClaimListenGroup implements driver.ListenStore on shard 0.
func (d *Driver) ClaimListenGroup(ctx context.Context, p driver.ListenLeaseParams) (int64, bool, error) {
	ls, err := d.listen()
	if err != nil {
		return 0, false, err
	}
	return ls.ClaimListenGroup(ctx, p)
}

// AdvanceListenGroup implements driver.ListenStore on shard 0.
func (d *Driver) AdvanceListenGroup(ctx context.Context, p driver.ListenLeaseParams) (bool, error) {
	ls, err := d.listen()
	if err != nil {
		return false, err
	}
	return ls.AdvanceListenGroup(ctx, p)
}

// ReleaseListenGroup implements driver.ListenStore on shard 0.
func (d *Driver) ReleaseListenGroup(ctx context.Context, group, owner string) error {
	ls, err := d.listen()
	if err != nil {
		return err
	}
	return ls.ReleaseListenGroup(ctx, group, owner)
}

// DropListenGroup implements driver.ListenStore on shard 0.
func (d *Driver) DropListenGroup(ctx context.Context, group string) error {
	ls, err := d.listen()
	if err != nil {
		return err
	}
	return ls.DropListenGroup(ctx, group)
}

// RecordListenFailure implements driver.ListenStore on shard 0.
func (d *Driver) RecordListenFailure(ctx context.Context, f driver.ListenFailure) error {
	ls, err := d.listen()
	if err != nil {
		return err
	}
	return ls.RecordListenFailure(ctx, f)
}

// PruneListenChanges implements driver.ListenStore on shard 0.
func (d *Driver) PruneListenChanges(ctx context.Context, p driver.PruneParams) (int, error) {
	ls, err := d.listen()
	if err != nil {
		return 0, err
	}
	return ls.PruneListenChanges(ctx, p)
}

// ListenGroups implements driver.ListenStore on shard 0.
func (d *Driver) ListenGroups(ctx context.Context) ([]driver.ListenGroup, error) {
	ls, err := d.listen()
	if err != nil {
		return nil, err
	}
	return ls.ListenGroups(ctx)
}

// SetPaused implements driver.Pauser: pauses live in shard 0.
func (d *Driver) SetPaused(ctx context.Context, p driver.PauseParams) error {
	ps, ok := d.shards[0].(driver.Pauser)
	if !ok {
		return unsupported("pauses")
	}
	return ps.SetPaused(ctx, p)
}

// Paused implements driver.Pauser on shard 0.
func (d *Driver) Paused(ctx context.Context) ([]driver.PauseState, error) {
	ps, ok := d.shards[0].(driver.Pauser)
	if !ok {
		return nil, unsupported("pauses")
	}
	return ps.Paused(ctx)
}

// elector returns shard 0's elections: the leader is elected there.
func (d *Driver) elector() (driver.Elector, error) {
	el, ok := d.shards[0].(driver.Elector)
	if !ok {
		return nil, unsupported("leader elections")
	}
	return el, nil
}

// Elect implements driver.Elector on shard 0.
func (d *Driver) Elect(ctx context.Context, p driver.ElectParams) (driver.LeaderState, error) {
	el, err := d.elector()
	if err != nil {
		return driver.LeaderState{}, err
	}
	return el.Elect(ctx, p)
}

// Resign implements driver.Elector on shard 0.
func (d *Driver) Resign(ctx context.Context, name, owner string) error {
	el, err := d.elector()
	if err != nil {
		return err
	}
	return el.Resign(ctx, name, owner)
}

// Leader implements driver.Elector on shard 0.
func (d *Driver) Leader(ctx context.Context, name string) (driver.LeaderState, bool, error) {
	el, err := d.elector()
	if err != nil {
		return driver.LeaderState{}, false, err
	}
	return el.Leader(ctx, name)
}

// AppDB implements driver.AppDB with shard 0's pool (TxShard).
func (d *Driver) AppDB() (*sql.DB, error) {
	a, ok := d.shards[TxShard].(driver.AppDB)
	if !ok {
		return nil, unsupported("a database/sql pool")
	}
	return a.AppDB()
}

// InAppTx implements driver.TxRunner on shard 0 (TxShard).
func (d *Driver) InAppTx(ctx context.Context, fn func(*sql.Tx) error) error {
	r, ok := d.shards[TxShard].(driver.TxRunner)
	if !ok {
		return unsupported("running application transactions")
	}
	return r.InAppTx(ctx, fn)
}

// WriteTransactions implements driver.WriteCounter: the sum over shards.
func (d *Driver) WriteTransactions() int64 {
	var n int64
	for _, s := range d.shards {
		if w, ok := s.(driver.WriteCounter); ok {
			n += w.WriteTransactions()
		}
	}
	return n
}

// WriteOps implements driver.WriteCounter: the sum over shards.
func (d *Driver) WriteOps() int64 {
	var n int64
	for _, s := range d.shards {
		if w, ok := s.(driver.WriteCounter); ok {
			n += w.WriteOps()
		}
	}
	return n
}

// EnforcesClaimLimits implements driver.Limiter: never, since a limit
// counted per shard does not bound the store.
func (d *Driver) EnforcesClaimLimits() bool { return false }

// TellsTopics implements driver.TopicWatcher: when every shard does.
func (d *Driver) TellsTopics() bool {
	for _, s := range d.shards {
		if w, ok := s.(driver.TopicWatcher); !ok || !w.TellsTopics() {
			return false
		}
	}
	return true
}

// WatchTopics implements driver.TopicWatcher: every shard's signals.
func (d *Driver) WatchTopics(ctx context.Context, fn func(driver.Topic)) {
	var mu sync.Mutex // fn is called from one goroutine at a time
	var wg sync.WaitGroup
	for _, s := range d.shards {
		w, ok := s.(driver.TopicWatcher)
		if !ok {
			continue
		}
		wg.Go(func() {
			w.WatchTopics(ctx, func(t driver.Topic) {
				mu.Lock()
				defer mu.Unlock()
				fn(t)
			})
		})
	}
	wg.Wait()
	<-ctx.Done()
}

// Interfaces the driver implements.
var (
	_ driver.Driver          = (*Driver)(nil)
	_ driver.Clock           = clockDriver{}
	_ driver.ListenStore     = (*Driver)(nil)
	_ driver.Pauser          = (*Driver)(nil)
	_ driver.Elector         = (*Driver)(nil)
	_ driver.DependencyStore = (*Driver)(nil)
	_ driver.UniqueInserter  = (*Driver)(nil)
	_ driver.FinishedLister  = (*Driver)(nil)
	_ driver.AppDB           = (*Driver)(nil)
	_ driver.TxRunner        = (*Driver)(nil)
	_ driver.WriteCounter    = (*Driver)(nil)
	_ driver.Limiter         = (*Driver)(nil)
	_ driver.TopicWatcher    = (*Driver)(nil)
	_ driver.Pager           = (*Driver)(nil)
	_ driver.ShardStatser    = (*Driver)(nil)
)
