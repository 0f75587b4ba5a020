package driver

import "context"

// UniqueKey is the stored uniqueness of one message: while the message is
// in a status of States, no other message with Key is stored in the same
// shard. The queue derives Key (a fixed-length digest) and routes every
// message with one Key to one shard, so per-shard uniqueness is per-queue.
type UniqueKey struct {
	// Key is the stored key; "" means the message is not unique.
	Key string
	// States has bit 1<<status set for every status in which Key blocks a
	// duplicate. Once the message moves to a status outside it, the key
	// stops blocking, in the statement that moved it, and for good.
	States uint32
}

// UniqueInserter is implemented by drivers that keep unique keys.
type UniqueInserter interface {
	// InsertUnique is Insert where keys, parallel to p.Messages, gives
	// some messages a UniqueKey. A message whose key is held by a stored
	// message (or by an earlier one of the same call) is not stored and not
	// an error: existing[i] is then the id of the message holding the key,
	// and "" for a message stored. All or nothing, like Insert.
	InsertUnique(ctx context.Context, p InsertParams, keys []UniqueKey) (existing []string, err error)
}
