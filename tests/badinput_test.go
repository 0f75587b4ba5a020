package tests

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/queue-sqlite/queuesqlite"
)

// noPanic runs fn and fails the test if it panics.
func noPanic(t *testing.T, what string, fn func() error) (err error) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Errorf("%s panicked: %v", what, r)
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return fn()
}

// Test 9 (table): invalid options get a clear error wrapping
// ErrInvalidArgument, naming what is wrong, at Open, Handle or Send; never
// a panic, and nothing is written.
func TestBadInput_InvalidOptionsAreRefused(t *testing.T) {
	t.Parallel()
	opens := []struct {
		name string
		cfg  queuesqlite.Config
		want string
	}{
		{"NegativeWorkers", queuesqlite.Config{Workers: -1}, "Config.Workers"},
		{"TooManyWorkers", queuesqlite.Config{Workers: queuesqlite.WorkersMax + 1}, "Config.Workers"},
		{"TooManyCallbackWorkers", queuesqlite.Config{CallbackWorkers: 1 << 40}, "Config.CallbackWorkers"},
		{"NegativeShards", queuesqlite.Config{Shards: -4}, "Config.Shards"},
		{"TooManyShards", queuesqlite.Config{Shards: queuesqlite.ShardsMax + 1}, "Config.Shards"},
		{"NegativeRetention", queuesqlite.Config{Retention: queuesqlite.Retention{Failed: -time.Hour}}, "Config.Retention.Failed"},
		{"NegativeMaxAttempts", queuesqlite.Config{MaxAttempts: -1}, "Config.MaxAttempts"},
		{"BadSynchronous", queuesqlite.Config{Synchronous: "SOMETIMES"}, "Config.Synchronous"},
		{"LowerCaseSynchronous", queuesqlite.Config{Synchronous: "normal"}, "Config.Synchronous"},
		{"LeaseTooShort", queuesqlite.Config{Lease: time.Millisecond}, "Config.Lease"},
		{"PollTooShort", queuesqlite.Config{PollInterval: time.Microsecond}, "Config.PollInterval"},
		{"MaintenanceTooShort", queuesqlite.Config{MaintenanceInterval: time.Nanosecond}, "Config.MaintenanceInterval"},
		{"NegativeStopTimeout", queuesqlite.Config{StopTimeout: -time.Second}, "Config.StopTimeout"},
	}
	for _, tc := range opens {
		t.Run("Open"+tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			var q *queuesqlite.Queue
			err := noPanic(t, "Open", func() (err error) {
				q, err = queuesqlite.Open(dir, &tc.cfg)
				return err
			})
			if q != nil {
				q.Close()
			}
			if !errors.Is(err, queuesqlite.ErrInvalidArgument) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Open(%+v) = %v; want ErrInvalidArgument naming %s", tc.cfg, err, tc.want)
			}
			if len(recordFiles(t, dir)) != 0 || len(filesIn(t, dir)) != 0 {
				t.Errorf("a refused Open left files in %s: %v", dir, filesIn(t, dir))
			}
		})
	}
	t.Run("OpenEmptyDirectory", func(t *testing.T) {
		t.Parallel()
		_, err := queuesqlite.Open("", nil)
		if !errors.Is(err, queuesqlite.ErrInvalidArgument) {
			t.Errorf("Open(\"\") = %v", err)
		}
	})
	t.Run("SendAndHandle", func(t *testing.T) {
		t.Parallel()
		sendsAndHandlersAreRefused(t)
	})
}

func sendsAndHandlersAreRefused(t *testing.T) {
	dir := t.TempDir()
	checkAtEnd(t, dir)
	q, err := queuesqlite.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	msg := func(edit func(m *queuesqlite.Message)) *queuesqlite.Message {
		m := queuesqlite.NewMessage("job", map[string]int{"n": 1})
		edit(m)
		return m
	}
	sends := []struct {
		name string
		m    *queuesqlite.Message
		want string
	}{
		{"UnknownPriority", msg(func(m *queuesqlite.Message) { m.Priority = 7 }), "priority"},
		{"NegativePriority", msg(func(m *queuesqlite.Message) { m.Priority = -1 }), "priority"},
		{"EmptyDestination", msg(func(m *queuesqlite.Message) { m.Destination = "" }), "destination"},
		{"InvalidJSONContent", queuesqlite.NewMessage("job", json.RawMessage(`{"a":`)), "content"},
		{"UnencodableContent", queuesqlite.NewMessage("job", make(chan int)), "content"},
		{"MetadataNotAnObject", msg(func(m *queuesqlite.Message) { m.Metadata = json.RawMessage(`[1,2]`) }), "metadata"},
		{"NegativeMaxAttempts", msg(func(m *queuesqlite.Message) { m.MaxAttempts = -2 }), "negative"},
		{"NegativeDelay", msg(func(m *queuesqlite.Message) { m.Delay = -time.Second }), "negative"},
		{"NegativeTTL", msg(func(m *queuesqlite.Message) { m.TTL = -time.Second }), "negative"},
		{"IDTooLong", msg(func(m *queuesqlite.Message) { m.ID = strings.Repeat("x", 1000) }), "id"},
		{"NilMessage", nil, "nil"},
	}
	ctx := context.Background()
	for _, tc := range sends {
		err := noPanic(t, "Send "+tc.name, func() error {
			_, err := q.Send(ctx, tc.m, nil)
			return err
		})
		if !errors.Is(err, queuesqlite.ErrInvalidArgument) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Send %s = %v; want ErrInvalidArgument mentioning %q", tc.name, err, tc.want)
		}
	}
	// A batch with one bad message stores none of it.
	batch := []*queuesqlite.Message{queuesqlite.NewMessage("job", 1), msg(func(m *queuesqlite.Message) { m.Priority = 9 })}
	if _, err := q.SendBatch(ctx, batch, nil); !errors.Is(err, queuesqlite.ErrInvalidArgument) {
		t.Errorf("SendBatch with a bad message = %v", err)
	}
	if _, err := q.SendBatch(ctx, nil, nil); !errors.Is(err, queuesqlite.ErrInvalidArgument) {
		t.Errorf("SendBatch of nothing = %v", err)
	}
	handlers := []struct {
		name string
		fn   queuesqlite.HandlerFunc
		opts *queuesqlite.HandlerOpts
	}{
		{"", func(context.Context, *queuesqlite.Message) (any, error) { return nil, nil }, nil},
		{"nil-func", nil, nil},
		{"negative-attempts", func(context.Context, *queuesqlite.Message) (any, error) { return nil, nil }, &queuesqlite.HandlerOpts{MaxAttempts: -1}},
		{"negative-timeout", func(context.Context, *queuesqlite.Message) (any, error) { return nil, nil }, &queuesqlite.HandlerOpts{Timeout: -time.Second}},
	}
	for _, h := range handlers {
		err := noPanic(t, "Handle "+h.name, func() error { return q.Handle(h.name, h.fn, h.opts) })
		if !errors.Is(err, queuesqlite.ErrInvalidArgument) {
			t.Errorf("Handle(%q) = %v; want ErrInvalidArgument", h.name, err)
		}
	}
	st, err := q.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d invalid sends, 2 invalid batches and %d invalid handlers refused; messages stored: %v", len(sends), len(handlers), st.ByStatus)
	for s, n := range st.ByStatus {
		if n != 0 {
			t.Errorf("refused sends stored %d %s messages", n, s)
		}
	}
}

// A directory name may hold characters that mean something in a "file:"
// URI ('?', '#', '%'): the queue must still use the files in that
// directory, not some other file.
func TestBadInput_DirectoryNameWithURICharacters(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	for _, name := range []string{"a#b", "c?d=1", "e%20f", "g#h?i%j"} {
		dir := filepath.Join(base, name)
		q, err := queuesqlite.Open(dir, &queuesqlite.Config{Shards: 2})
		if err != nil {
			t.Fatalf("open %q: %v", name, err)
		}
		if _, err := q.Send(context.Background(), queuesqlite.NewMessage("job", name), nil); err != nil {
			t.Fatal(err)
		}
		if err := q.Close(); err != nil {
			t.Fatal(err)
		}
		files := filesIn(t, dir)
		if len(files) < 2 || !strings.HasPrefix(files[0], "queue") {
			t.Errorf("queue in %q wrote its files elsewhere: %q holds %v", name, dir, files)
		}
		checkAtEnd(t, dir)
	}
	if leaked := filesIn(t, base); len(leaked) != 4 {
		t.Errorf("files written beside the queue directories: %v", leaked)
	}
}

func filesIn(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range m {
		out = append(out, filepath.Base(p))
	}
	return out
}
