package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/queue-sqlite/queuesqlite"
)

// cancel cancels the pending messages it is given, and reports (exit 1)
// a running one, a finished one and an unknown id, leaving them as they are.
func TestCancel(t *testing.T) {
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
	done := sendN(t, q, "nobody", 1)[0]
	if _, err := q.Cancel(t.Context(), done); err != nil {
		t.Fatal(err)
	}

	r := cli(t, "cancel", "--dir", dir, pending[0], running, done, "nope", pending[1])
	if r.code != 1 {
		t.Fatalf("exit %d, want 1\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{"cancelled " + pending[0] + "\n", "cancelled " + pending[1] + "\n", "cancelled 2 of 5 message(s)\n"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
		}
	}
	for _, want := range []string{"cancel " + running + ": ", "it is processing", "cancel " + done + ": ", "it is cancelled", `cancel nope: message "nope": not found`} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	for id, want := range map[string]queuesqlite.Status{pending[0]: queuesqlite.StatusCancelled, pending[1]: queuesqlite.StatusCancelled,
		running: queuesqlite.StatusProcessing} {
		if got := get(t, q, id).Status; got != want {
			t.Errorf("%s: %s, want %s", id, got, want)
		}
	}
	fails(t, "cancel needs the ids", "cancel", "--dir", dir)
}
