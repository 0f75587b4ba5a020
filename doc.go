// Package queuesqlite is a persistent task queue for Go programs, stored in
// SQLite by default.
//
// Register a handler under a name, Start the workers, and Send messages
// (JSON content, a priority, an optional delay, expiry, tags and metadata)
// to that name. Workers run the handlers; results are stored with the
// message; an optional callback fires in the sending process when the
// message finishes. See the examples.
//
// # Storage engines
//
// The package links no storage engine. Open opens a queue directory through
// the SQLite backend, which a program registers by importing it:
//
//	import _ "github.com/queue-sqlite/queuesqlite/driver/sqlite"
//
// New builds a queue over drivers the program opened itself (one per
// shard), for example the PostgreSQL backend; such a program builds without
// cgo. Every backend implements package driver's contract and passes its
// conformance suite (driver/drivertest). The queue itself always sees one
// driver: several shards are composed into one by package driver/shard
// (routing, id routes, the cross-shard priority merge, paging), which
// passes the same suite. The SQLite directory's own tools (Reshard,
// CheckDir, RepairShardCount, ShardPath) are in package driver/sqlite.
//
// # Guarantees
//
// Delivery is at least once. Send returns once the message is committed. A
// worker claims it under a lease that its process renews while the handler
// runs; if the process dies (crash, kill -9, power cut) or freezes past the
// lease, the lease expires and the message runs again with that attempt
// counted, until MaxAttempts, after which it is failed. Whether a process is
// dead is judged by its heartbeat counter, watched on the monotonic clock, so
// a step of the system clock (here or in another process) neither re-runs
// healthy work nor delays the rescue of a dead process's messages. So a handler may run
// more than once for one message, only when an attempt was interrupted, and
// should be idempotent; when nothing fails, each message runs once, even with
// several processes sharing the queue. Outcomes are fenced: an attempt that
// lost its lease cannot overwrite anything, and its context ends with cause
// ErrLeaseLost. A panic fails the attempt, with its stack stored. Stop drains
// until its context ends, then returns unfinished messages to pending without
// counting the attempt.
//
// Durability depends on Config.Synchronous (the queue runs SQLite in WAL
// mode). With SyncNormal (the default) every committed transaction survives a
// crash of the process; an operating system crash or power loss may roll back
// the last transactions before it (their messages are gone, or their outcomes
// undone so the messages run again), but leaves the database consistent. With
// SyncFull every commit is synced to disk before Send returns and survives
// power loss too. Both rely on storage that honours fsync.
//
// Ordering: ready messages run highest priority first (Urgent, High, Normal,
// Low) and, within a priority, in send order (a retried message keeps its
// place); with several workers, messages start in that order but may finish
// in any order. With several shards the order holds within a shard and
// priority holds across shards.
//
// Atomicity: SendBatch on one shard is one transaction (all or nothing);
// SendTx enqueues inside the application's own transaction, so the messages
// exist if and only if it commits. Every state change of a message (claim,
// outcome, rescue, expiry, cancel) is all or nothing.
//
// Faults: a full disk makes writes fail with ErrStorageFull, writing nothing,
// and work resumes by itself once space is freed. Open refuses a damaged file
// with ErrCorrupt naming it (how much it scans depends on the file's size and
// on whether it was closed cleanly); Check runs a full integrity check. A torn
// write-ahead log after a crash is not damage: SQLite keeps every transaction
// committed before the tear and drops the rest.
//
// # Workflows
//
// A message may wait for others: Message.DependsOn lists the ids that must
// complete before it becomes ready. Until then it is stored waiting (it
// reads as scheduled, with RunAt at queuetype.MaxTime; its own RunAt is
// kept and applies once it is released). A dependency that fails fails it,
// one cancelled or expired cancels it, each with a LastError naming the
// dependency ("dependency <id> failed"), without running it; the outcome
// cascades down the tree and fires callbacks as any other finish. Each
// dependency must be stored when the message is sent, or come earlier in
// the same batch, else Send refuses it with ErrInvalidArgument and stores
// nothing. In a sharded queue a family lives in one shard: a child without
// a ShardKey takes its parents' (their key, or the first parent's id), and
// one that cannot join them is refused. Every process that runs workers
// settles dependencies with its promoter, every MaintenanceInterval and at
// once after it finishes a message, so a child starts a few milliseconds
// after its last parent completed (BenchmarkDependencyHop), in any process;
// they survive restarts, being stored. Reshard (driver/sqlite) refuses a
// queue while a message waits for dependencies. Delete removes messages
// for good (not running ones); a deleted message's dependants are
// cancelled as for a dependency cleaned up.
//
// SendGroup sends a batch with one callback, fired once in the sending
// process when every member has finished, whatever their outcomes; the
// group's result (members, counts per status, finish time) is stored and
// GroupResult reads it from any process, also after the sender restarted
// (then no callback fires, as for a message's callback).
//
// tests/GUARANTEES.md states each guarantee with the test that shows it: the
// tests kill, freeze and stop real processes, fill a real file system and
// damage real files.
package queuesqlite
