package sqlite

import "context"

// reshardProgressKey is the context key of WithReshardProgress.
type reshardProgressKey struct{}

// WithReshardProgress returns a copy of ctx that makes Reshard call fn as it
// goes through the messages: examined of total messages (every message of
// every file, moved or not) have been looked at. It is called once with
// examined 0 before the first move, after each batch, and at the end with
// examined equal to total, from the goroutine that called Reshard. A
// progress display uses it.
func WithReshardProgress(ctx context.Context, fn func(examined, total int)) context.Context {
	return context.WithValue(ctx, reshardProgressKey{}, fn)
}

// reshardProgress reports progress to the function ctx carries, if any.
func reshardProgress(ctx context.Context, examined, total int) {
	if fn, ok := ctx.Value(reshardProgressKey{}).(func(int, int)); ok && fn != nil {
		fn(examined, total)
	}
}
