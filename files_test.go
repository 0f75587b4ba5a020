package queuesqlite_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/queue-sqlite/queuesqlite/driver/sqlite"

	"github.com/queue-sqlite/queuesqlite"
)

// modeOf returns the permission bits of path (not following a symlink).
// The tests run as root, which ignores permissions, so modes are checked by
// stat rather than by trying to read.
func modeOf(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

// queueFiles lists the files a queue with one shard has while it is open.
func queueFiles(dir string) []string {
	shard := sqlite.ShardPath(dir, 0)
	return []string{shard, shard + "-wal", shard + "-shm", filepath.Join(dir, "queue.lock")}
}

// openAndSend opens the queue in dir with cfg and sends one message, so
// that its log files exist; the queue is closed when the test ends.
func openAndSend(t *testing.T, dir string, cfg *queuesqlite.Config) *queuesqlite.Queue {
	t.Helper()
	q, err := queuesqlite.Open(dir, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close() })
	if _, err := q.Send(context.Background(), queuesqlite.NewMessage("job", 1), nil); err != nil {
		t.Fatal(err)
	}
	return q
}

func TestOpen_CreatesOwnerOnlyFiles(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "a", "queue")
	openAndSend(t, dir, nil)
	for _, d := range []string{dir, filepath.Dir(dir)} {
		if m := modeOf(t, d); m != 0o700 {
			t.Errorf("directory %s has mode %v, want 0700", d, m)
		}
	}
	for _, f := range queueFiles(dir) {
		if m := modeOf(t, f); m != 0o600 {
			t.Errorf("%s has mode %v, want 0600", f, m)
		}
	}
}

func TestOpen_FileModeWidensAccess(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "queue")
	openAndSend(t, dir, &queuesqlite.Config{FileMode: 0o640})
	if m := modeOf(t, dir); m != 0o750 {
		t.Errorf("directory has mode %v, want 0750", m)
	}
	for _, f := range queueFiles(dir) {
		if m := modeOf(t, f); m != 0o640 {
			t.Errorf("%s has mode %v, want 0640", f, m)
		}
	}
}

func TestConfig_RefusesBadFileMode(t *testing.T) {
	t.Parallel()
	for _, mode := range []os.FileMode{0o400, 0o200, 0o1600, os.ModeDir | 0o700} {
		_, err := queuesqlite.Open(t.TempDir(), &queuesqlite.Config{FileMode: mode})
		if !errors.Is(err, queuesqlite.ErrInvalidArgument) || !strings.Contains(err.Error(), "FileMode") {
			t.Errorf("FileMode %v: %v, want ErrInvalidArgument naming FileMode", mode, err)
		}
	}
}

// A queue directory that other users can write to lets them replace the
// queue's files: Open refuses it and names the fix.
func TestOpen_RefusesDirectoryWritableByOthers(t *testing.T) {
	t.Parallel()
	cases := []struct {
		mode os.FileMode
		cfg  *queuesqlite.Config
		ok   bool
	}{
		{0o777, nil, false},
		{os.ModeSticky | 0o777, nil, false},
		{0o707, nil, false},
		{0o770, nil, false},
		{0o777, &queuesqlite.Config{FileMode: 0o660}, false},
		{0o770, &queuesqlite.Config{FileMode: 0o660}, true}, // the group was given write access
		{0o755, nil, true},
	}
	for _, c := range cases {
		dir := filepath.Join(t.TempDir(), "queue")
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(dir, c.mode); err != nil {
			t.Fatal(err)
		}
		q, err := queuesqlite.Open(dir, c.cfg)
		if c.ok {
			if err != nil {
				t.Errorf("directory %v, config %+v: %v", c.mode, c.cfg, err)
			} else {
				q.Close()
			}
			continue
		}
		if err == nil {
			q.Close()
			t.Errorf("directory %v, config %+v: opened, want refused", c.mode, c.cfg)
			continue
		}
		if !errors.Is(err, queuesqlite.ErrInvalidArgument) || !strings.Contains(err.Error(), "chmod") {
			t.Errorf("directory %v: %v, want ErrInvalidArgument naming chmod", c.mode, err)
		}
		if _, err := os.Stat(sqlite.ShardPath(dir, 0)); err == nil {
			t.Errorf("directory %v: refused, but a shard file was created", c.mode)
		}
	}
}

// The lock file and the shard files (and their logs) are never opened
// through a symlink: whoever planted it could make the queue write (or
// truncate) another file.
func TestOpen_RefusesSymlinkedFiles(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"queue.lock", "queue_shard_0.db", "queue_shard_0.db-wal", "queue_shard_0.db-shm"} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "queue")
			if name != "queue.lock" { // a queue that exists, so only the planted file is new
				q, err := queuesqlite.Open(dir, nil)
				if err != nil {
					t.Fatal(err)
				}
				q.Close()
			} else if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			target := filepath.Join(t.TempDir(), "victim")
			if err := os.WriteFile(target, []byte("precious"), 0o600); err != nil {
				t.Fatal(err)
			}
			link := filepath.Join(dir, name)
			os.Remove(link)
			if err := os.Symlink(target, link); err != nil {
				t.Fatal(err)
			}
			q, err := queuesqlite.Open(dir, nil)
			if err == nil {
				q.Close()
				t.Fatalf("opened with %s a symlink", name)
			}
			if !strings.Contains(err.Error(), "symlink") || !strings.Contains(err.Error(), name) {
				t.Fatalf("open with %s a symlink: %v, want an error naming it", name, err)
			}
			if b, _ := os.ReadFile(target); string(b) != "precious" {
				t.Fatalf("the symlink's target changed: %q", b)
			}
		})
	}
}

// A queue directory owned by another user is writable by that user, who
// could replace the queue's files: it is refused too.
func TestOpen_RefusesDirectoryOfAnotherUser(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("skipped: giving a directory to another user needs root (CI runs as root)")
	}
	dir := filepath.Join(t.TempDir(), "queue")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	const otherUID = 4242
	if err := os.Chown(dir, otherUID, otherUID); err != nil {
		t.Fatal(err)
	}
	q, err := queuesqlite.Open(dir, nil)
	if err == nil {
		q.Close()
		t.Fatal("opened a directory owned by another user")
	}
	if !errors.Is(err, queuesqlite.ErrInvalidArgument) || !strings.Contains(err.Error(), "chown") || !strings.Contains(err.Error(), "4242") {
		t.Fatalf("directory of uid %d: %v, want ErrInvalidArgument naming the owner and chown", otherUID, err)
	}
	// Refused before anything was created in it.
	if _, err := os.Stat(sqlite.ShardPath(dir, 0)); err == nil {
		t.Fatal("the refused open created a shard file")
	}
}
