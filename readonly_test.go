package queuesqlite_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/queue-sqlite/queuesqlite"
)

// dirState describes every file of dir: name, mode, size and a hash of the
// bytes, so that any created, removed or changed file shows.
func dirState(t *testing.T, dir string) map[string]string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, e := range ents {
		p := filepath.Join(dir, e.Name())
		fi, err := os.Lstat(p)
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = fmt.Sprintf("%v %d %x", fi.Mode(), fi.Size(), sha256.Sum256(b))
	}
	return out
}

func assertSameState(t *testing.T, before, after map[string]string) {
	t.Helper()
	for name, s := range after {
		if before[name] != s {
			t.Errorf("%s changed or appeared: %q -> %q", name, before[name], s)
		}
	}
	for name := range before {
		if _, ok := after[name]; !ok {
			t.Errorf("%s disappeared", name)
		}
	}
}

// A closed queue opened read-only is read as it is: nothing in its
// directory is created or changed, not even queue.lock.
func TestOpenReadOnly_ChangesNoFile(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "queue")
	q, err := queuesqlite.Open(dir, &queuesqlite.Config{Shards: 2})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		send(t, q, queuesqlite.NewMessage(fmt.Sprint("job", i%3), i), nil)
	}
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, "queue.lock")); err != nil {
		t.Fatal(err)
	}
	before := dirState(t, dir)
	r, err := queuesqlite.OpenReadOnly(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	st, err := r.Stats(ctx)
	if err != nil || st.ByStatus[queuesqlite.StatusPending] != 10 || len(st.Shards) != 2 {
		t.Fatalf("stats of the read-only queue: %+v, %v; want 10 pending in 2 shards", st, err)
	}
	if _, err := r.Send(ctx, queuesqlite.NewMessage("job", 1), nil); err == nil {
		t.Fatal("a send to a read-only queue succeeded")
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	assertSameState(t, before, dirState(t, dir))
}

// With another process's queue open (its log in use), a read-only open
// reads the log too: it sees every committed message, and adds no file.
func TestOpenReadOnly_SeesALiveQueue(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "queue")
	q, err := queuesqlite.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	send(t, q, queuesqlite.NewMessage("job", 1), nil)
	names := func() map[string]bool {
		m := map[string]bool{}
		for name := range dirState(t, dir) {
			m[name] = true
		}
		return m
	}
	before := names()
	r, err := queuesqlite.OpenReadOnly(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	send(t, q, queuesqlite.NewMessage("job", 2), nil)
	st, err := r.Stats(context.Background())
	if err != nil || st.ByStatus[queuesqlite.StatusPending] != 2 {
		t.Fatalf("stats: %+v, %v; want the 2 pending messages", st, err)
	}
	for name := range names() {
		if !before[name] {
			t.Errorf("the read-only open created %s", name)
		}
	}
}

func TestOpenReadOnly_NoQueue(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if _, err := queuesqlite.OpenReadOnly(dir, nil); !errors.Is(err, queuesqlite.ErrNotFound) {
		t.Fatalf("read-only open of an empty directory: %v, want ErrNotFound", err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("the read-only open created %d file(s)", len(ents))
	}
}
