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
