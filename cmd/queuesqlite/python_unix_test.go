//go:build unix

package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/queue-sqlite/queuesqlite"
)

// pythonDeadline bounds the Python test run; never a measure of speed.
const pythonDeadline = 5 * time.Minute

// TestPythonClient runs the Python client's tests (python/tests) against a
// real `queuesqlite serve` process, while this test process is a Go worker
// on the same queue directory: Python sends through serve, the Go worker
// runs the messages, and Python's wait and callbacks see the results.
// Without python3 it is skipped, except in CI (CI=true), where it fails.
func TestPythonClient(t *testing.T) {
	t.Parallel()
	python, err := exec.LookPath("python3")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("python3 not found: CI must run the Python client's tests")
		}
		t.Skip("python3 not found: the Python client's tests (python/tests) did not run")
	}
	dir := t.TempDir()
	tokens := []string{envToken + "=py-full-token", envReadOnlyToken + "=py-read-token"}
	s := startServe(t, dir, tokens, "--addr", "127.0.0.1:0", "--shards", "2")
	q := startGoWorker(t, dir)

	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), pythonDeadline)
	defer cancel()
	cmd := exec.CommandContext(ctx, python, "-m", "unittest", "discover", "-s", filepath.Join("python", "tests"), "-v")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "PYTHONPATH="+filepath.Join(root, "python"), "PYTHONDONTWRITEBYTECODE=1",
		"QUEUESQLITE_URL="+s.url, "QUEUESQLITE_TOKEN=py-full-token", "QUEUESQLITE_READ_ONLY_TOKEN=py-read-token")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("python tests failed: %v\n%s\nserve:\n%s", err, out, s.logs())
	}
	if strings.Contains(string(out), "skipped") || !strings.Contains(string(out), "\nOK") {
		t.Fatalf("python tests did not all run:\n%s", out)
	}
	t.Logf("python tests:\n%s", out)
	st, err := q.Stats(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if st.ByDestination["add"][queuesqlite.StatusCompleted] == 0 || st.Processed == 0 {
		t.Fatalf("the Go worker ran nothing Python sent: %+v", st.ByDestination)
	}
	s.stop()
}

// startGoWorker opens the queue in dir in this process with the handlers
// and the listener the Python tests expect, and starts it.
func startGoWorker(t *testing.T, dir string) *queuesqlite.Queue {
	t.Helper()
	q, _ := openDir(t, dir, &queuesqlite.Config{Workers: 4, MaintenanceInterval: 50 * time.Millisecond,
		Backoff: func(int) time.Duration { return time.Millisecond }})
	queuesqlite.HandleJSON(q, "add", func(_ context.Context, in struct{ A, B int }) (int, error) {
		return in.A + in.B, nil
	}, nil)
	q.Handle("fail", func(context.Context, *queuesqlite.Message) (any, error) {
		return nil, fmt.Errorf("card declined: %w", queuesqlite.ErrSkipRetry)
	}, nil)
	err := q.Listen("py/ping", func(ctx context.Context, c *queuesqlite.Change) error {
		if c.New == nil {
			return nil
		}
		_, err := q.SetListenData(ctx, "py/pong", c.New.String())
		return err
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = q.Stop(context.Background()) })
	// Changes are logged once a listener group exists; wait for it, so the
	// first ping is not made before anyone listens.
	eventually(t, "the listener group", func() bool {
		ls, err := q.ListenStats(t.Context())
		return err == nil && len(ls.Groups) == 1 && !errors.Is(err, queuesqlite.ErrClosed)
	})
	return q
}
