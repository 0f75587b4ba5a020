package main

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/queue-sqlite/queuesqlite"
)

// delete removes the messages it is given, reports (exit 1) a running one
// and an unknown id; --status --all deletes every match and nothing else.
func TestDelete(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "q")
	q, _ := openDir(t, dir, &queuesqlite.Config{Workers: 1})
	started, release := make(chan string, 1), make(chan struct{})
	q.Handle("block", func(_ context.Context, m *queuesqlite.Message) (any, error) {
		started <- m.ID
		<-release
		return "ok", nil
	}, nil)
	defer close(release)
	pending := sendN(t, q, "nobody", 2)
	running := sendN(t, q, "block", 1)[0]
	if err := q.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	<-started

	r := cli(t, "delete", "--dir", dir, pending[0], running, "nope")
	if r.code != 1 {
		t.Fatalf("exit %d, want 1\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{"deleted " + pending[0] + "\n", "deleted 1 of 3 message(s)\n"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
		}
	}
	for _, want := range []string{"delete " + running + ": it is processing", "delete nope: not found"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	if _, err := q.Get(t.Context(), pending[0]); !errors.Is(err, queuesqlite.ErrNotFound) {
		t.Fatalf("deleted message: %v, want ErrNotFound", err)
	}
	if got := get(t, q, running).Status; got != queuesqlite.StatusProcessing {
		t.Fatalf("running message: %s, want still processing", got)
	}

	cancelled := sendN(t, q, "nobody", 3)
	for _, id := range cancelled {
		if _, err := q.Cancel(t.Context(), id); err != nil {
			t.Fatal(err)
		}
	}
	r = cli(t, "delete", "--dir", dir, "--status", "cancelled", "--all")
	if r.code != 0 || !strings.Contains(r.stdout, "deleted 3 message(s)\n") {
		t.Fatalf("delete --all: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	for _, id := range cancelled {
		if _, err := q.Get(t.Context(), id); !errors.Is(err, queuesqlite.ErrNotFound) {
			t.Fatalf("cancelled %s after delete --all: %v, want ErrNotFound", id, err)
		}
	}
	if got := get(t, q, pending[1]).Status; got != queuesqlite.StatusPending {
		t.Fatalf("pending message after delete --all of cancelled: %s, want kept", got)
	}
	fails(t, "give the ids to delete", "delete", "--dir", dir)
	fails(t, "--all needs --status", "delete", "--dir", dir, "--all")
	fails(t, "only apply with --all", "delete", "--dir", dir, "--status", "failed", pending[1])
}
