// Package queuesqlite is a persistent task queue for Go programs, stored in
// SQLite by default.
//
// Register a handler under a name, Start the workers, and Send messages
// (JSON content, a priority, an optional delay, expiry, tags and metadata)
// to that name. Workers run the handlers; results are stored with the
// message; an optional callback fires in the sending process when the
// message finishes. See the examples.
//
// # Guarantees
//
// Delivery is at least once. A message is committed to disk before Send
// returns. A worker claims it under a lease that its process renews while
// the handler runs; if the process dies (crash, kill -9, power cut), the
// lease expires and the message runs again with that attempt counted. So a
// handler may run more than once for one message (only when an attempt was
// interrupted) and should be idempotent. Outcomes are fenced: an attempt
// that lost its lease cannot overwrite a newer attempt's outcome.
//
// Durability depends on Config.Synchronous. With SyncNormal (the default)
// every committed message survives a crash of the process; an operating
// system crash or power loss may roll back the last commits before it, but
// never corrupts the queue. With SyncFull every commit is synced to disk
// before Send returns and survives power loss too.
//
// Ordering: ready messages run highest priority first (Urgent, High, Normal,
// Low) and, within a priority, in send order; with several workers,
// messages start in that order but may finish in any order. With several
// shards the order holds within a shard and priority holds across shards.
//
// Atomicity: SendBatch on one shard is one transaction (all or nothing);
// SendTx enqueues inside the application's own transaction, so the
// messages exist if and only if it commits. Every state change of a message
// (claim, outcome, rescue, expiry, cancel) is one transaction.
package queuesqlite
