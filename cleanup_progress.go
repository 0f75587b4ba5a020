package queuesqlite

import "context"

// cleanupProgressKey is the context key of WithCleanupProgress.
type cleanupProgressKey struct{}

// WithCleanupProgress returns a copy of ctx that makes Cleanup call fn after
// each shard it has cleaned up, with the number of shards done and the
// total, from the goroutine that called Cleanup (as net/http/httptrace
// hooks a request). A progress display uses it.
func WithCleanupProgress(ctx context.Context, fn func(shardsDone, shards int)) context.Context {
	return context.WithValue(ctx, cleanupProgressKey{}, fn)
}

// cleanupProgress reports progress to the function ctx carries, if any.
func cleanupProgress(ctx context.Context, done, total int) {
	if fn, ok := ctx.Value(cleanupProgressKey{}).(func(int, int)); ok && fn != nil {
		fn(done, total)
	}
}
