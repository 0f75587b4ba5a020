package queuesqlite

import (
	"fmt"

	"github.com/google/uuid"

	"github.com/queue-sqlite/queuesqlite/driver/shard"
)

// Ids are unique per queue: a sharded store keeps them so with id routes
// (see package driver/shard).

// checkBatchIDs refuses a batch that names one id twice.
func checkBatchIDs(rows []*Message) error {
	seen := make(map[string]int, len(rows))
	for i, m := range rows {
		if j, dup := seen[m.ID]; dup {
			return fmt.Errorf("messages %d and %d: id %q: %w: an id names one message of the queue", j, i, m.ID, ErrDuplicate)
		}
		seen[m.ID] = i
	}
	return nil
}

// homeZeroIDs draws the ids SendTx generates until their home is the
// shard a transaction is on (shard.TxShard), so the store needs no id
// route for them outside the application's transaction. A given id keeps
// its home; the store routes it there.
func (q *Queue) homeZeroIDs(ms, rows []*Message) {
	if q.nShards == 1 {
		return
	}
	for i, r := range rows {
		if ms[i].ID != "" || r.ShardKey != "" || len(r.DependsOn) > 0 {
			continue
		}
		for ShardFor(r.ID, q.nShards) != shard.TxShard {
			r.ID = uuid.Must(uuid.NewV7()).String()
		}
	}
}
