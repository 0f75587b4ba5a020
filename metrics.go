package queuesqlite

// WriteTransactions returns the write transactions the queue's SQLite
// writers have committed since Open, summed over its shards (0 for a queue
// built with New over other drivers). Divided by the messages processed in
// the same span, it tells how well group commit and batching fold work
// together; `queuesqlite bench` reports it per processed message.
func (q *Queue) WriteTransactions() int64 {
	var n int64
	for _, db := range q.sqlite {
		n += db.WriteTransactions()
	}
	return n
}

// WriteOps returns the storage calls (a Send, a claim, a batch of outcomes,
// a maintenance step) that the transactions counted by WriteTransactions
// carried, summed over the shards. WriteOps / WriteTransactions is the mean
// size of a group commit.
func (q *Queue) WriteOps() int64 {
	var n int64
	for _, db := range q.sqlite {
		n += db.WriteOps()
	}
	return n
}
