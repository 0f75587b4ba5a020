package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/queue-sqlite/queuesqlite/driver/sqlite"

	"github.com/queue-sqlite/queuesqlite"
)

// readOnlyQueue makes a queue with one pending and one failed message on a
// tmpfs of its own, closes it and remounts the file system read-only. It
// skips the test when it cannot mount (mounting needs root; CI runs as
// root).
func readOnlyQueue(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("read-only file system test skipped: it mounts a tmpfs, which needs root (CI runs as root)")
	}
	mnt := filepath.Join(t.TempDir(), "ro")
	if err := os.Mkdir(mnt, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", mnt, "tmpfs", 0, "size=16m,mode=0700"); err != nil {
		t.Skipf("read-only file system test skipped: cannot mount a tmpfs on %s: %v", mnt, err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(mnt, 0); err != nil {
			t.Errorf("unmount %s: %v", mnt, err)
		}
	})
	dir := filepath.Join(mnt, "q")
	q, err := queuesqlite.Open(dir, &queuesqlite.Config{Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	q.Handle("charge", func(context.Context, *queuesqlite.Message) (any, error) {
		return nil, errors.New("card declined: " + queuesqlite.ErrSkipRetry.Error())
	}, &queuesqlite.HandlerOpts{MaxAttempts: 1})
	if err := q.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	sendAndWait(t, q, "charge", 1)
	sendN(t, q, "nobody", 1)
	if err := q.Close(); err != nil { // every descriptor closed, or the remount is refused
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", mnt, "tmpfs", syscall.MS_REMOUNT|syscall.MS_RDONLY, ""); err != nil {
		t.Fatalf("remount read-only: %v", err)
	}
	if err := os.WriteFile(filepath.Join(mnt, "probe"), nil, 0o600); !errors.Is(err, syscall.EROFS) {
		t.Fatalf("the file system is not read-only: write gave %v", err)
	}
	return dir
}

// The commands that only read work on a queue on a read-only file system.
func TestReadOnlyFS_ReadingCommandsWork(t *testing.T) {
	t.Parallel()
	dir := readOnlyQueue(t)
	out := ok(t, "stats", "--dir", dir)
	if !strings.Contains(out, "2 messages in 1 shard(s)") {
		t.Errorf("stats on a read-only file system:\n%s", out)
	}
	if out := ok(t, "stats", "--json", "--dir", dir); !strings.Contains(out, `"total": 2`) {
		t.Errorf("stats --json on a read-only file system:\n%s", out)
	}
	if out := ok(t, "failed", "list", "--dir", dir); !strings.Contains(out, "card declined") {
		t.Errorf("failed list on a read-only file system:\n%s", out)
	}
	if out := ok(t, "doctor", "--dir", dir); !strings.Contains(out, "ok       "+sqlite.ShardPath(dir, 0)) {
		t.Errorf("doctor on a read-only file system:\n%s", out)
	}
	// A command that writes says why it cannot, not "no such file".
	r := cli(t, "send", "--dir", dir, "x", "{}")
	if r.code != 1 || strings.Contains(r.stderr, "no such file") || !strings.Contains(strings.ToLower(r.stderr), "read-only") {
		t.Errorf("send on a read-only file system: exit %d, stderr %q; want an error saying read-only", r.code, r.stderr)
	}
}
