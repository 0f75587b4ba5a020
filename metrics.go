package queuesqlite

import "github.com/queue-sqlite/queuesqlite/driver"

// WriteTransactions returns the write transactions the queue's SQLite
// writers have committed since Open, summed over its shards (0 over drivers that do not count them,
// see driver.WriteCounter). Divided by the messages processed in
// the same span, it tells how well group commit and batching fold work
// together; `queuesqlite bench` reports it per processed message.
func (q *Queue) WriteTransactions() int64 {
	if w, ok := q.d.(driver.WriteCounter); ok {
		return w.WriteTransactions()
	}
	return 0
}

// WriteOps returns the storage calls (a Send, a claim, a batch of outcomes,
// a maintenance step) that the transactions counted by WriteTransactions
// carried, summed over the shards. WriteOps / WriteTransactions is the mean
// size of a group commit.
func (q *Queue) WriteOps() int64 {
	if w, ok := q.d.(driver.WriteCounter); ok {
		return w.WriteOps()
	}
	return 0
}
