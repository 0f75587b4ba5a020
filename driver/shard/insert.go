package shard

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"

	"github.com/queue-sqlite/queuesqlite/driver"
	"github.com/queue-sqlite/queuesqlite/queuetype"
)

// place returns the shard of each message: its ShardKey's, else its
// unique key's (keys may be nil), else its parents' (a family lives in one
// shard, so a child without a ShardKey takes its first parent's, or that
// parent's id, and keeps it, so a reshard moves the family together), else
// its id's home.
func (d *Driver) place(ctx context.Context, ms []*queuetype.Message, keys []driver.UniqueKey) ([]int, error) {
	return d.placeIn(ctx, ms, keys, -1)
}

// placeIn is place where a message with nothing to route it but its id
// goes to shard free when free is not -1 (a transaction's shard).
func (d *Driver) placeIn(ctx context.Context, ms []*queuetype.Message, keys []driver.UniqueKey, free int) ([]int, error) {
	out := make([]int, len(ms))
	inBatch := map[string]int{}
	for i, m := range ms {
		switch {
		case len(m.DependsOn) > 0:
			shard, err := d.placeChild(ctx, m, ms, out, inBatch)
			if err != nil {
				return nil, fmt.Errorf("message %d: %w", i, err)
			}
			out[i] = shard
		case m.ShardKey != "":
			out[i] = d.home(m.ShardKey)
		case keys != nil && keys[i].Key != "":
			out[i] = d.home(keys[i].Key)
		case free >= 0:
			out[i] = free
		default:
			out[i] = d.home(m.ID)
		}
		inBatch[m.ID] = i
	}
	return out, nil
}

// placeChild returns the shard of a message with dependencies, the shard
// of its parents (earlier in the batch or stored), and gives it its first
// parent's ShardKey (or id) when it has none.
func (d *Driver) placeChild(ctx context.Context, m *queuetype.Message, batch []*queuetype.Message, placed []int, inBatch map[string]int) (int, error) {
	key, shard := "", -1
	for _, id := range m.DependsOn {
		p, pshard, err := d.parent(ctx, id, batch, placed, inBatch)
		if err != nil {
			return 0, err
		}
		if shard >= 0 && pshard != shard {
			return 0, fmt.Errorf("%w: message %q depends on messages in shards %d and %d; a sharded queue keeps "+
				"a message and its dependencies in one shard (give the family one ShardKey)", queuetype.ErrInvalidArgument, m.ID, shard, pshard)
		}
		if shard < 0 {
			key, shard = p.ShardKey, pshard
			if key == "" {
				key = p.ID
			}
		}
	}
	if m.ShardKey == "" && d.home(key) == shard {
		m.ShardKey = key // a parent stored elsewhere than its key says (a transaction's) keeps the child unkeyed
	}
	if own := d.home(m.ShardKey); m.ShardKey != "" && own != shard {
		return 0, fmt.Errorf("%w: message %q has ShardKey %q (shard %d) but its dependencies are in shard %d; "+
			"give the family one ShardKey, or leave the child's empty", queuetype.ErrInvalidArgument, m.ID, m.ShardKey, own, shard)
	}
	return shard, nil
}

// parent finds a parent earlier in the batch or stored, with its shard.
func (d *Driver) parent(ctx context.Context, id string, batch []*queuetype.Message, placed []int, inBatch map[string]int) (*queuetype.Message, int, error) {
	if i, ok := inBatch[id]; ok {
		return batch[i], placed[i], nil
	}
	p, err := d.Get(ctx, id)
	if errors.Is(err, queuetype.ErrNotFound) {
		return nil, 0, fmt.Errorf("%w: dependency %q is not stored (send a dependency before its dependants, "+
			"or in the same batch before them)", queuetype.ErrInvalidArgument, id)
	}
	if err != nil {
		return nil, 0, err
	}
	return p, p.Shard, nil
}

// part is the messages of one insert that go to one shard.
type part struct {
	idx    []int // positions in the caller's params
	params driver.InsertParams
	keys   []driver.UniqueKey
}

// split groups p's messages by their shard.
func split(p driver.InsertParams, keys []driver.UniqueKey, shards []int) map[int]*part {
	parts := map[int]*part{}
	for i, m := range p.Messages {
		pt := parts[shards[i]]
		if pt == nil {
			pt = &part{params: driver.InsertParams{MaxAttemptsDefault: p.MaxAttemptsDefault}}
			parts[shards[i]] = pt
		}
		pt.idx = append(pt.idx, i)
		pt.params.Messages = append(pt.params.Messages, m)
		if p.CallbackOwners != nil {
			pt.params.CallbackOwners = append(pt.params.CallbackOwners, p.CallbackOwners[i])
		}
		if keys != nil {
			pt.keys = append(pt.keys, keys[i])
		}
	}
	return parts
}

// Insert implements driver.Driver: each shard's messages in one
// transaction (shards in parallel), after the id routes of those stored
// outside their id's home. All or none holds per shard only: when one
// shard fails, the others' messages may be stored (the error says so).
func (d *Driver) Insert(ctx context.Context, p driver.InsertParams) error {
	_, err := d.insert(ctx, p, nil)
	return err
}

// InsertUnique implements driver.UniqueInserter: a unique message without
// a ShardKey goes to its key's shard, so per-shard uniqueness is per-store.
func (d *Driver) InsertUnique(ctx context.Context, p driver.InsertParams, keys []driver.UniqueKey) ([]string, error) {
	for _, s := range d.shards {
		if _, ok := s.(driver.UniqueInserter); !ok {
			return nil, unsupported("unique keys")
		}
	}
	return d.insert(ctx, p, keys)
}

// insert stores p (with unique keys when keys is not nil) and returns, for
// unique inserts, the ids holding the keys of duplicates.
func (d *Driver) insert(ctx context.Context, p driver.InsertParams, keys []driver.UniqueKey) ([]string, error) {
	shards, err := d.place(ctx, p.Messages, keys)
	if err != nil {
		return nil, err
	}
	routes, err := d.putRoutes(ctx, p.Messages, shards)
	if err != nil {
		return nil, err
	}
	var existing []string
	if keys != nil {
		existing = make([]string, len(p.Messages))
	}
	parts := split(p, keys, shards)
	var dups []string
	var mu sync.Mutex
	failed := map[int]bool{}
	err = inParts(partsOf(parts), func(shard int, pts []*part) error {
		err := d.insertPart(ctx, shard, pts[0], existing)
		if err != nil {
			mu.Lock()
			failed[shard] = true
			mu.Unlock()
		}
		return err
	})
	for i, id := range existing {
		if id != "" {
			dups = append(dups, p.Messages[i].ID)
		}
	}
	if routes != nil && len(dups) > 0 {
		d.dropRoutes(ctx, routes, dups) // duplicates were not stored
	}
	if err != nil {
		if routes != nil {
			for shard := range failed {
				d.dropRoutes(ctx, routes, idsOf(parts[shard].params.Messages))
			}
		}
		if len(parts) > 1 {
			return existing, fmt.Errorf("insert (other shards' messages may be stored): %w", err)
		}
		return existing, err
	}
	return existing, nil
}

// insertPart stores one shard's part, with unique keys when existing is
// not nil (and sets the ids holding the keys of its duplicates there).
func (d *Driver) insertPart(ctx context.Context, shard int, pt *part, existing []string) error {
	if existing == nil {
		err := d.shards[shard].Insert(ctx, pt.params)
		mark(shard, pt.params.Messages...)
		return err
	}
	ex, err := d.shards[shard].(driver.UniqueInserter).InsertUnique(ctx, pt.params, pt.keys)
	mark(shard, pt.params.Messages...)
	for j, id := range ex {
		existing[pt.idx[j]] = id // distinct indexes: no two goroutines write one
	}
	return err
}

func idsOf(ms []*queuetype.Message) []string {
	ids := make([]string, len(ms))
	for i, m := range ms {
		ids[i] = m.ID
	}
	return ids
}

// partsOf makes parts fit inParts.
func partsOf(parts map[int]*part) map[int][]*part {
	out := make(map[int][]*part, len(parts))
	for s, p := range parts {
		out[s] = []*part{p}
	}
	return out
}

// InsertTx implements driver.Driver. An application transaction is on one
// shard's database: the first shard's, TxShard (the only one whose pool
// the store hands out, AppDB). A message with nothing to route it but its
// id is stored there. One whose ShardKey or parents route it to another
// shard is refused with ErrInvalidArgument naming both shards, before
// anything is written: a transaction cannot write another file. A message
// whose id's home is another shard gets its id route there first, outside
// the transaction (a rolled-back transaction leaves the route behind, to
// be pruned by cleanup; it refuses the id only for other shards).
func (d *Driver) InsertTx(ctx context.Context, tx driver.Tx, p driver.InsertParams) error {
	shards, err := d.placeIn(ctx, p.Messages, nil, TxShard)
	if err != nil {
		return err
	}
	for i, s := range shards {
		if s != TxShard {
			m := p.Messages[i]
			return fmt.Errorf("message %d: %w: %s routes it to shard %d of %d, but a transaction is on shard %d "+
				"(the queue's DB()); send it with Send, or give it a ShardKey of shard %d", i, queuetype.ErrInvalidArgument,
				routedBy(m), s, len(d.shards), TxShard, TxShard)
		}
	}
	routes, err := d.putRoutes(ctx, p.Messages, shards)
	if err != nil {
		return err
	}
	err = d.shards[TxShard].InsertTx(ctx, tx, p)
	if err != nil {
		if routes != nil {
			d.dropRoutes(ctx, routes, nil)
		}
		return err
	}
	mark(TxShard, p.Messages...)
	return nil
}

// TxShard is the shard application transactions are on (SendTx, InTx,
// SetListenTx): the first.
const TxShard = 0

// routedBy names what routed m, for errors.
func routedBy(m *queuetype.Message) string {
	if m.ShardKey != "" {
		return fmt.Sprintf("its ShardKey %q", m.ShardKey)
	}
	return fmt.Sprintf("its id %q", m.ID)
}

// router returns shard i's id routes, if its driver keeps them.
func (d *Driver) router(i int) (driver.Router, bool) {
	r, ok := d.shards[i].(driver.Router)
	return r, ok
}

// newRoute returns the route of a message stored in shard.
func newRoute(m *queuetype.Message, shard int) *driver.Route {
	return &driver.Route{ID: m.ID, Shard: shard, At: m.CreatedAt, Token: rand.Int64()}
}
