package tests

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"

	"github.com/queue-sqlite/queuesqlite"
)

// lockerSpec configures the "locker" child role: a process that holds the
// write lock of one SQLite file (BEGIN IMMEDIATE) until it is killed, as
// another tool or a frozen process would.
type lockerSpec struct {
	File string
}

func lockerRole() int {
	var spec lockerSpec
	if err := readSpec(&spec); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	db, err := sql.Open("sqlite3", "file:"+spec.File)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	conn, err := db.Conn(context.Background())
	if err == nil {
		_, err = conn.ExecContext(context.Background(), "BEGIN IMMEDIATE")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "lock:", err)
		return 2
	}
	say("locked")
	select {} // until killed
}

// Test 8: another process holds the write lock of the queue's file and is
// frozen (SIGSTOP). Every call returns by its deadline: Send with a 1 s
// deadline fails with ErrLocked (and DeadlineExceeded), reads work, and
// Close returns within its stop timeout plus a margin, with a handler's
// outcome waiting for the lock. Once the process is killed (the OS drops
// its lock), the queue works and nothing is half-written.
func TestLockedByAFrozenProcess_CallsReturnByTheirDeadline(t *testing.T) {
	dir := t.TempDir()
	qdir := filepath.Join(dir, "queue")
	checkAtEnd(t, qdir)
	createQueue(t, qdir, 0, 3, "job")
	cfg := &queuesqlite.Config{Workers: 2, StopTimeout: 500 * time.Millisecond, Logger: testLogger(t), Lease: 2 * time.Second,
		MaintenanceInterval: 50 * time.Millisecond}
	q, err := queuesqlite.Open(qdir, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	running, finish := make(chan struct{}, 3), make(chan struct{})
	q.Handle("job", func(ctx context.Context, m *queuesqlite.Message) (any, error) {
		running <- struct{}{}
		<-finish
		return "done", nil
	}, nil)
	if err := q.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	<-running

	locker := startChild(t, dir, "locker", "locker", lockerSpec{File: filepath.Join(qdir, "queue_shard_0.db")})
	locker.waitLine("locked")
	locker.signal(syscall.SIGSTOP)
	close(finish) // the running handlers' outcomes now wait for the lock

	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	began := time.Now()
	_, err = q.Send(ctx, queuesqlite.NewMessage("job", "lost"), nil)
	took := time.Since(began)
	if !errors.Is(err, queuesqlite.ErrLocked) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Send while another process holds the lock: %v; want ErrLocked and DeadlineExceeded", err)
	}
	if took > 10*time.Second {
		t.Fatalf("Send with a 1 s deadline returned after %v", took)
	}
	rctx, rcancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer rcancel()
	if _, err := q.Stats(rctx); err != nil {
		t.Fatalf("Stats while locked: %v", err)
	}
	began = time.Now()
	closed := make(chan error, 1)
	go func() { closed <- q.Close() }()
	select {
	case <-closed:
	case <-time.After(cfg.StopTimeout + 10*time.Second):
		t.Fatal("Close did not return while another process held the write lock")
	}
	t.Logf("Send returned after %v with: %v; Close returned after %v", took.Round(time.Millisecond), err,
		time.Since(began).Round(time.Millisecond))

	locker.signal(syscall.SIGKILL)
	locker.wait()
	q2, err := queuesqlite.Open(qdir, &queuesqlite.Config{Lease: time.Second, MaintenanceInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer q2.Close()
	q2.Handle("job", func(ctx context.Context, m *queuesqlite.Message) (any, error) { return "done", nil }, nil)
	if err := q2.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	id, err := q2.Send(context.Background(), queuesqlite.NewMessage("job", "after"), nil)
	if err != nil {
		t.Fatal(err)
	}
	raw := openRaw(t, qdir)
	waitUntil(t, "every message to complete once the lock is gone", func() bool {
		c := raw.counts()
		return c[queuesqlite.StatusCompleted] == total(c)
	})
	if c := raw.counts(); total(c) != 4 {
		t.Fatalf("%d messages stored (%s), want the 3 sent before plus %s", total(c), fmtCounts(c), id)
	}
}
