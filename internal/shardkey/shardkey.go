// Package shardkey holds the function that routes a message to a shard,
// shared by the queue (which routes sends) and the SQLite backend (which
// moves messages in a reshard and builds id routes).
package shardkey

import "hash/fnv"

// Max is the largest shard count a queue may have.
const Max = 256

// For returns the shard, among n, of a message with this shard key (or,
// without one, this id): a stable hash (FNV-1a) of the key. The function is
// fixed: changing it would misroute every stored message.
func For(key string, n int) int {
	h := fnv.New64a()
	h.Write([]byte(key))
	return int(h.Sum64() % uint64(n))
}
