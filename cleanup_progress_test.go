package queuesqlite_test

import (
	"slices"
	"testing"

	"github.com/queue-sqlite/queuesqlite"
)

// Cleanup tells the function WithCleanupProgress puts in its context about
// each shard, in order, ending at the total.
func TestQueue_CleanupProgress(t *testing.T) {
	t.Parallel()
	q, _ := setup(t, &queuesqlite.Config{Shards: 3})
	var got [][2]int
	ctx := queuesqlite.WithCleanupProgress(t.Context(), func(done, total int) { got = append(got, [2]int{done, total}) })
	if _, err := q.Cleanup(ctx); err != nil {
		t.Fatal(err)
	}
	if want := [][2]int{{1, 3}, {2, 3}, {3, 3}}; !slices.Equal(got, want) {
		t.Errorf("progress %v, want %v", got, want)
	}
	if _, err := q.Cleanup(t.Context()); err != nil {
		t.Errorf("cleanup without progress: %v", err)
	}
}
