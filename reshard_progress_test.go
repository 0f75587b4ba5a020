package queuesqlite_test

import (
	"context"
	"testing"

	"github.com/queue-sqlite/queuesqlite/driver/sqlite"
)

// Reshard reports its progress over every message: first 0 of the total,
// then growing batch by batch (never past the total), last the total.
func TestReshard_ReportsProgress(t *testing.T) {
	t.Parallel()
	const n = 5000 // more than two of Reshard's batches
	dir := t.TempDir()
	fillQueue(t, dir, n)
	var got [][2]int
	ctx := sqlite.WithReshardProgress(context.Background(), func(examined, total int) {
		got = append(got, [2]int{examined, total})
	})
	if _, err := sqlite.Reshard(ctx, dir, 3, nil); err != nil {
		t.Fatal(err)
	}
	if len(got) < 4 || got[0] != [2]int{0, n} || got[len(got)-1] != [2]int{n, n} {
		t.Fatalf("progress %v; want it to start at 0/%d, pass through batches and end at %d/%d", got, n, n, n)
	}
	for i := 1; i < len(got); i++ {
		if got[i][1] != n || got[i][0] < got[i-1][0] || got[i][0] > n {
			t.Fatalf("progress step %d: %v after %v (total %d)", i, got[i], got[i-1], n)
		}
	}
	if _, err := sqlite.Reshard(context.Background(), dir, 1, nil); err != nil {
		t.Errorf("reshard without progress: %v", err)
	}
}
