package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/queue-sqlite/queuesqlite"
	"github.com/queue-sqlite/queuesqlite/internal/dbtest"
)

// testDeadline bounds every wait in the tests; it is never a measure of speed.
const testDeadline = 30 * time.Second

// result is what one in-process run of the command line gave.
type result struct {
	code           int
	stdout, stderr string
}

// cli runs the command line in-process, as the binary would.
func cli(t *testing.T, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(t.Context(), args, &out, &errb)
	return result{code, out.String(), errb.String()}
}

// ok runs the command line and fails the test unless it exits 0.
func ok(t *testing.T, args ...string) string {
	t.Helper()
	r := cli(t, args...)
	if r.code != 0 {
		t.Fatalf("%v: exit %d\nstdout:\n%s\nstderr:\n%s", args, r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

// fails runs the command line and fails the test unless it exits 1 with
// want in its stderr.
func fails(t *testing.T, want string, args ...string) result {
	t.Helper()
	r := cli(t, args...)
	if r.code != 1 || !strings.Contains(r.stderr, want) {
		t.Fatalf("%v: exit %d, want 1 with %q in stderr\nstdout:\n%s\nstderr:\n%s", args, r.code, want, r.stdout, r.stderr)
	}
	return r
}

// openDir opens the queue in dir for the test to prepare or inspect; it is
// closed and its files' invariants checked by the returned function, or
// when the test ends if it was not called.
func openDir(t *testing.T, dir string, cfg *queuesqlite.Config) (*queuesqlite.Queue, func()) {
	t.Helper()
	q, err := queuesqlite.Open(dir, cfg)
	if err != nil {
		t.Fatal(err)
	}
	closeQ := sync.OnceFunc(func() {
		if err := q.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
		dbtest.CheckInvariants(t, dir)
	})
	t.Cleanup(closeQ)
	return q, closeQ
}

// seeded is a queue directory prepared by seed: what each id ended as.
type seeded struct {
	dir       string
	completed []string // destination "ok"
	failed    []string // destination "charge": error "card declined" + a second line
	other     []string // failed, destination "other"
	pending   []string // destination "nobody" (no handler)
}

// seed prepares a closed queue with completed, failed and pending messages.
func seed(t *testing.T, shards int) seeded {
	t.Helper()
	s := seeded{dir: filepath.Join(t.TempDir(), "q")}
	q, closeQ := openDir(t, s.dir, &queuesqlite.Config{Workers: 2, Shards: shards})
	q.Handle("ok", func(context.Context, *queuesqlite.Message) (any, error) { return "done", nil }, nil)
	fail := func(context.Context, *queuesqlite.Message) (any, error) {
		return nil, fmt.Errorf("card declined\nsecond line of detail: %w", queuesqlite.ErrSkipRetry)
	}
	q.Handle("charge", fail, nil)
	q.Handle("other", fail, nil)
	if err := q.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	s.completed = sendAndWait(t, q, "ok", 3)
	s.failed = sendAndWait(t, q, "charge", 2)
	s.other = sendAndWait(t, q, "other", 1)
	s.pending = sendN(t, q, "nobody", 1)
	closeQ()
	return s
}

func sendN(t *testing.T, q *queuesqlite.Queue, dest string, n int) []string {
	t.Helper()
	var ids []string
	for i := range n {
		id, err := q.Send(t.Context(), queuesqlite.NewMessage(dest, map[string]int{"i": i}), nil)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	return ids
}

// sendAndWait sends n messages to dest and waits until each is finished.
func sendAndWait(t *testing.T, q *queuesqlite.Queue, dest string, n int) []string {
	t.Helper()
	ids := sendN(t, q, dest, n)
	ctx, cancel := context.WithTimeout(t.Context(), testDeadline)
	defer cancel()
	for _, id := range ids {
		if _, err := q.Wait(ctx, id); err != nil {
			t.Fatalf("wait for %s: %v", id, err)
		}
	}
	return ids
}

func get(t *testing.T, q *queuesqlite.Queue, id string) *queuesqlite.Message {
	t.Helper()
	m, err := q.Get(t.Context(), id)
	if err != nil {
		t.Fatalf("get %s: %v", id, err)
	}
	return m
}

func TestRoot_Subcommands(t *testing.T) {
	t.Parallel()
	var names []string
	for _, c := range newRootCmd().Commands() {
		names = append(names, c.Name())
	}
	for _, want := range []string{"cancel", "cleanup", "delete", "demo", "doctor", "failed", "get", "list", "listen", "pause", "resume", "send", "stats", "tail"} {
		if !slices.Contains(names, want) {
			t.Errorf("subcommand %q not registered; have %v", want, names)
		}
	}
}

func TestRoot_BadFlags(t *testing.T) {
	t.Parallel()
	s := seed(t, 1)
	missing := filepath.Join(t.TempDir(), "missing")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"NegativeShards", []string{"stats", "--dir", s.dir, "--shards", "-1"}, "--shards must be 0"},
		{"ShardMismatch", []string{"stats", "--dir", s.dir, "--shards", "2"}, "has 1 shard, --shards asks for 2"},
		{"UnknownFlag", []string{"stats", "--dir", s.dir, "--bogus"}, "unknown flag: --bogus (see 'queuesqlite stats --help')"},
		{"UnknownCommand", []string{"frobnicate"}, `unknown command "frobnicate"`},
		{"MissingQueue", []string{"stats", "--dir", missing}, "no queue in " + missing},
		{"SendOneArg", []string{"send", "--dir", s.dir, "x"}, "send needs a destination and a JSON content"},
		{"SendBadJSON", []string{"send", "--dir", s.dir, "x", "{bad"}, `the content "{bad" is not valid JSON`},
		{"SendBadPriority", []string{"send", "--dir", s.dir, "x", "{}", "--priority", "hgh"}, `unknown priority "hgh"`},
		{"SendNegativeTTL", []string{"send", "--dir", s.dir, "x", "{}", "--ttl", "-1s"}, "must be positive"},
		{"SendBadDelay", []string{"send", "--dir", s.dir, "x", "{}", "--delay", "soon"}, "not a duration"},
		{"SendNoDestination", []string{"send", "--dir", s.dir, "", "{}"}, "no destination"},
		{"DemoZeroCount", []string{"demo", "--dir", missing, "-n", "0"}, "-n must be at least 1"},
		{"DemoZeroWorkers", []string{"demo", "--dir", missing, "--workers", "0"}, "--workers must be at least 1"},
		{"FailedNoSubcommand", []string{"failed", "--dir", s.dir}, "failed needs a subcommand"},
		{"FailedListLimit", []string{"failed", "list", "--dir", s.dir, "--limit", "0"}, "--limit must be at least 1"},
		{"RetryNothing", []string{"failed", "retry", "--dir", s.dir}, "give the ids to requeue, or --all"},
		{"RetryBoth", []string{"failed", "retry", "--dir", s.dir, "--all", "x"}, "give the ids to requeue, or --all"},
		{"CleanupZero", []string{"cleanup", "--dir", s.dir, "--older-than", "0s"}, "must be positive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := fails(t, tt.want, tt.args...)
			if r.stdout != "" && !strings.HasPrefix(tt.name, "Failed") {
				t.Errorf("stdout should be empty on a usage error, got:\n%s", r.stdout)
			}
		})
	}
	if _, err := os.Stat(missing); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a failed command created %s (stat: %v)", missing, err)
	}
}
