package tests

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/queue-sqlite/queuesqlite/driver/sqlite"

	"github.com/queue-sqlite/queuesqlite"
	"github.com/queue-sqlite/queuesqlite/internal/dbtest"
)

// mountSmallFS mounts a tmpfs of sizeMB megabytes on a fresh directory and
// unmounts it when the test ends. It skips the test when it cannot (not
// root, no mount permission).
func mountSmallFS(t *testing.T, sizeMB int) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("disk-full test skipped: it mounts a small tmpfs, which needs root (CI runs as root)")
	}
	mnt := filepath.Join(t.TempDir(), "small")
	if err := os.Mkdir(mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", mnt, "tmpfs", 0, "size="+strconv.Itoa(sizeMB)+"m"); err != nil {
		t.Skipf("disk-full test skipped: cannot mount a tmpfs on %s: %v", mnt, err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(mnt, 0); err != nil {
			t.Errorf("unmount %s: %v", mnt, err)
		}
	})
	return mnt
}

// Test 7: a queue on a 3 MB file system fills it up. Send fails with an
// error matching ErrStorageFull, and nothing is half-written: every batch
// is stored whole or not at all, the file passes integrity_check, and the
// stored messages are exactly the successful sends. The workers, whose
// completions hit the full disk too, resume by themselves once space is
// freed, and Send works again, all without reopening the queue.
func TestDiskFull_SendFailsCleanlyAndWorkResumes(t *testing.T) {
	mnt := mountSmallFS(t, 3)
	qdir := filepath.Join(mnt, "queue")
	filler := filepath.Join(mnt, "filler")
	const fillerMB = 2 // what another program took of the disk before the queue filled the rest
	if err := os.WriteFile(filler, make([]byte, fillerMB<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dbtest.CheckInvariants(t, qdir) }) // runs before the unmount
	q, err := queuesqlite.Open(qdir, &queuesqlite.Config{Workers: 4, Lease: time.Second,
		MaintenanceInterval: 50 * time.Millisecond, Backoff: func(int) time.Duration { return time.Millisecond }, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	gate := make(chan struct{})
	var mu sync.Mutex
	done := map[string]int{}
	if err := q.Handle("job", func(ctx context.Context, m *queuesqlite.Message) (any, error) {
		<-gate // the outcomes are recorded once the disk is full
		mu.Lock()
		done[m.ID]++
		mu.Unlock()
		return map[string]string{"ok": strings.Repeat("r", 200)}, nil
	}, &queuesqlite.HandlerOpts{MaxAttempts: 100}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitDeadline)
	defer cancel()
	if err := q.Start(ctx); err != nil {
		t.Fatal(err)
	}

	const batchSize = 50
	pad := strings.Repeat("x", 1000)
	sendBatch := func(b int) ([]string, error) {
		ms := make([]*queuesqlite.Message, batchSize)
		for i := range ms {
			ms[i] = queuesqlite.NewMessage("job", map[string]any{"batch": b, "i": i, "pad": pad})
		}
		return q.SendBatch(ctx, ms, nil)
	}
	var stored []string
	var okBatches, fullErrs int
	var firstFull error
	for b := 0; fullErrs < 5; b++ {
		ids, err := sendBatch(b)
		switch {
		case err == nil:
			stored = append(stored, ids...)
			okBatches++
		case errors.Is(err, queuesqlite.ErrStorageFull):
			fullErrs++
			if firstFull == nil {
				firstFull = err
			}
		default:
			t.Fatalf("batch %d: %v; want nil or an error matching ErrStorageFull", b, err)
		}
		if b > 10_000 {
			t.Fatal("the 3 MB file system never filled up")
		}
	}
	checkWholeBatches(t, qdir, okBatches, batchSize)

	close(gate) // the workers now record outcomes on the full disk
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	freedAt := time.Now()
	var after []string
	for b := 1_000_000; len(after) < 2*batchSize; b++ {
		ids, err := sendBatch(b)
		if err != nil {
			t.Fatalf("send after freeing space: %v", err)
		}
		after = append(after, ids...)
	}
	all := append(stored, after...)
	for _, id := range all {
		m, err := q.Wait(ctx, id)
		if err != nil {
			t.Fatalf("wait for %s: %v", id, err)
		}
		if m.Status != queuesqlite.StatusCompleted {
			t.Errorf("message %s ended %s", id, m.Status)
		}
	}
	resumed := time.Since(freedAt)
	st, err := q.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	reruns := 0
	for _, n := range done {
		reruns += n - 1
	}
	mu.Unlock()
	t.Logf("3 MB tmpfs: %d batches of %d stored before the disk filled; %d sends refused with %q; after freeing %d MB, %d more sent and all %d completed in %v without reopening (handler reruns %d); stats %v",
		okBatches, batchSize, fullErrs, firstFull, fillerMB, len(after), len(all), resumed.Round(time.Millisecond), reruns, st.ByStatus)
	if okBatches == 0 || st.ByStatus[queuesqlite.StatusCompleted] != len(all) {
		t.Errorf("%d batches stored, %d completed; want every stored message completed", okBatches, st.ByStatus[queuesqlite.StatusCompleted])
	}
	var se *queuesqlite.StorageError
	if !errors.As(firstFull, &se) || !strings.Contains(se.Path, "queue_shard_0.db") || se.Hint == "" {
		t.Errorf("storage-full error %v should name the file and give a hint", firstFull)
	}
}

// checkWholeBatches checks, beside the open queue, that the file is sound
// and holds exactly okBatches whole batches: no batch was half-written.
func checkWholeBatches(t *testing.T, qdir string, okBatches, batchSize int) {
	t.Helper()
	db := dbtest.Open(t, sqlite.ShardPath(qdir, 0))
	var integrity string
	if err := db.QueryRow(`PRAGMA integrity_check`).Scan(&integrity); err != nil || integrity != "ok" {
		t.Errorf("integrity_check on the full disk: %q %v", integrity, err)
	}
	rows, err := db.Query(`SELECT json_extract(content, '$.batch'), count(*) FROM messages GROUP BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	batches := 0
	for rows.Next() {
		var b, n int
		if err := rows.Scan(&b, &n); err != nil {
			t.Fatal(err)
		}
		batches++
		if n != batchSize {
			t.Errorf("batch %d stored %d of %d messages", b, n, batchSize)
		}
	}
	if batches != okBatches {
		t.Errorf("%d batches stored, but %d sends succeeded", batches, okBatches)
	}
}
