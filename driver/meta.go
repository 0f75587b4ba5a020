package driver

import "context"

// MetaEntry is one key/value of a shard's metadata.
type MetaEntry struct {
	Key, Value string
}

// MetaScanner is implemented by drivers that list and delete metadata by
// key prefix. The queue uses it to clean up the records of finished
// groups (Queue.SendGroup); over a driver without it they are kept.
//
// Contract: MetaPrefixed returns, in key order, up to limit entries whose
// key starts with prefix and sorts after after (pass prefix itself for the
// first page, then the last key returned); DeleteMeta removes a key (no
// error when it is absent). The conformance suite checks it (drivertest,
// Meta).
type MetaScanner interface {
	// MetaPrefixed lists entries of the prefix after the key after.
	MetaPrefixed(ctx context.Context, prefix, after string, limit int) ([]MetaEntry, error)
	// DeleteMeta removes a metadata key.
	DeleteMeta(ctx context.Context, key string) error
}
