package queuesqlite

import (
	"context"
	"errors"
	"fmt"

	"github.com/queue-sqlite/queuesqlite/driver"
)

// checkDependencies refuses messages with dependencies the queue cannot
// store: a backend without dependencies, or a unique message (a duplicate
// is not stored, so its dependency rows would have no child).
func (q *Queue) checkDependencies(rows []*Message) error {
	for i, m := range rows {
		if len(m.DependsOn) == 0 {
			continue
		}
		if _, ok := q.shards[m.Shard].(driver.DependencyStore); !ok {
			return fmt.Errorf("message %d: %w: this storage backend cannot store dependencies", i, ErrInvalidArgument)
		}
		if m.Unique != nil {
			return fmt.Errorf("message %d: %w: a unique message cannot have dependencies", i, ErrInvalidArgument)
		}
		if err := m.ValidateDependsOn(); err != nil { // again: the id may have been generated
			return fmt.Errorf("message %d: %w", i, err)
		}
	}
	return nil
}

// placeDependants puts each message with dependencies in its parents'
// shard, as a sharded queue keeps a family in one shard: a child without a
// ShardKey takes its first parent's (or that parent's id, when it has
// none), so it lands where the parent is; a child whose own ShardKey
// routes it elsewhere, or whose parents are in several shards, is refused.
// Parents are found earlier in the batch or in the store.
func (q *Queue) placeDependants(ctx context.Context, rows []*Message) error {
	if len(q.shards) == 1 {
		return nil
	}
	inBatch := make(map[string]*Message, len(rows))
	for i, m := range rows {
		if len(m.DependsOn) > 0 {
			if err := q.placeChild(ctx, m, inBatch); err != nil {
				return fmt.Errorf("message %d: %w", i, err)
			}
		}
		inBatch[m.ID] = m
	}
	return nil
}

// placeChild sets m's ShardKey and Shard from its parents.
func (q *Queue) placeChild(ctx context.Context, m *Message, inBatch map[string]*Message) error {
	key, shard := "", -1
	for _, id := range m.DependsOn {
		p, err := q.parent(ctx, id, inBatch)
		if err != nil {
			return err
		}
		if shard >= 0 && p.Shard != shard {
			return fmt.Errorf("%w: message %q depends on messages in shards %d and %d; a sharded queue keeps "+
				"a message and its dependencies in one shard (give the family one ShardKey)", ErrInvalidArgument, m.ID, shard, p.Shard)
		}
		if shard < 0 {
			key, shard = p.ShardKey, p.Shard
			if key == "" {
				key = p.ID
			}
		}
	}
	if m.ShardKey == "" {
		m.ShardKey, m.Shard = key, shard
	}
	if m.Shard != shard {
		return fmt.Errorf("%w: message %q has ShardKey %q (shard %d) but its dependencies are in shard %d; "+
			"give the family one ShardKey, or leave the child's empty", ErrInvalidArgument, m.ID, m.ShardKey, m.Shard, shard)
	}
	return nil
}

// parent returns the message id, earlier in the batch or stored.
func (q *Queue) parent(ctx context.Context, id string, inBatch map[string]*Message) (*Message, error) {
	if p, ok := inBatch[id]; ok {
		return p, nil
	}
	p, err := q.Get(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("%w: dependency %q is not stored (send a dependency before its dependants, "+
			"or earlier in the same batch)", ErrInvalidArgument, id)
	}
	return p, err
}

// dependenciesSent tells the promoter of a running queue that messages
// with dependencies were stored.
func (q *Queue) dependenciesSent(r *runState, rows []*Message) {
	for _, m := range rows {
		if len(m.DependsOn) > 0 {
			r.maint.DependenciesSent()
			return
		}
	}
}
