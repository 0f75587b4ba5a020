package queuesqlite_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/queue-sqlite/queuesqlite"
	"github.com/queue-sqlite/queuesqlite/internal/backendtest"
)

// Every attempt's error is kept (Get reads it), then Delete removes the
// message for good.
func TestBackends_AttemptErrorsThenDelete(t *testing.T) {
	backendtest.Run(t, func(t *testing.T, s backendtest.Store) {
		q := s.Open(t, fastConfig())
		ctx := context.Background()
		if err := q.Handle("flaky", func(_ context.Context, m *queuesqlite.Message) (any, error) {
			return nil, fmt.Errorf("boom %d", m.Attempt)
		}, &queuesqlite.HandlerOpts{MaxAttempts: 3, Backoff: func(int) time.Duration { return time.Millisecond }}); err != nil {
			t.Fatal(err)
		}
		startQueue(t, q)
		id, err := q.Send(ctx, queuesqlite.NewMessage("flaky", 1), nil)
		if err != nil {
			t.Fatal(err)
		}
		if m := waitFinished(t, q, id); m.Status != queuesqlite.StatusFailed {
			t.Fatalf("status %v, want failed", m.Status)
		}
		m, err := q.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range m.Errors() {
			if e.At.IsZero() || e.At.After(m.FinishedAt) {
				t.Errorf("attempt %d at %v, want a time by the finish %v", e.Attempt, e.At, m.FinishedAt)
			}
			got = append(got, fmt.Sprintf("%d:%s", e.Attempt, e.Error))
		}
		if strings.Join(got, " ") != "1:boom 1 2:boom 2 3:boom 3" {
			t.Fatalf("attempt history %v, want every attempt's error", got)
		}
		res, err := q.Delete(ctx, id)
		if err != nil || fmt.Sprint(res.Deleted) != "["+id+"]" {
			t.Fatalf("delete: %+v %v", res, err)
		}
		if _, err := q.Get(ctx, id); !errors.Is(err, queuesqlite.ErrNotFound) {
			t.Fatalf("get after delete: %v, want ErrNotFound", err)
		}
		res, err = q.Delete(ctx, id)
		if !errors.Is(err, queuesqlite.ErrNotFound) || fmt.Sprint(res.NotFound) != "["+id+"]" {
			t.Fatalf("delete twice: %+v %v, want ErrNotFound", res, err)
		}
	})
}

// A running message is refused (and keeps running); a waiting one goes,
// and the message that depends on it is cancelled by the promoter.
func TestBackends_DeleteRunningAndWaiting(t *testing.T) {
	backendtest.Run(t, func(t *testing.T, s backendtest.Store) {
		q := s.Open(t, fastConfig())
		ctx := context.Background()
		started, release := make(chan struct{}, 1), make(chan struct{})
		if err := q.Handle("slow", func(context.Context, *queuesqlite.Message) (any, error) {
			started <- struct{}{}
			<-release
			return "done", nil
		}, nil); err != nil {
			t.Fatal(err)
		}
		startQueue(t, q)
		running, err := q.Send(ctx, queuesqlite.NewMessage("slow", 1), nil)
		if err != nil {
			t.Fatal(err)
		}
		select {
		case <-started:
		case <-time.After(backendDeadline):
			t.Fatal("the handler did not start")
		}
		later := queuesqlite.NewMessage("slow", 2)
		later.Delay = time.Hour
		waiting, err := q.Send(ctx, later, nil)
		if err != nil {
			t.Fatal(err)
		}
		dep := queuesqlite.NewMessage("slow", 3)
		dep.DependsOn = []string{waiting}
		dependant, err := q.Send(ctx, dep, nil)
		if err != nil {
			t.Fatal(err)
		}

		res, err := q.Delete(ctx, running, waiting)
		if !errors.Is(err, queuesqlite.ErrInvalidState) || !strings.Contains(err.Error(), "processing") {
			t.Fatalf("delete a running message: %v, want ErrInvalidState naming processing", err)
		}
		if fmt.Sprint(res.Deleted, res.Processing) != fmt.Sprintf("[%s] [%s]", waiting, running) {
			t.Fatalf("deleted %v, processing %v; want [%s] [%s]", res.Deleted, res.Processing, waiting, running)
		}
		m := waitFinished(t, q, dependant)
		if m.Status != queuesqlite.StatusCancelled || !strings.Contains(m.LastError, waiting) {
			t.Fatalf("dependant: %v %q, want cancelled naming its deleted parent", m.Status, m.LastError)
		}
		close(release)
		if m := waitFinished(t, q, running); m.Status != queuesqlite.StatusCompleted {
			t.Fatalf("the refused message: %v, want it completed", m.Status)
		}
		if _, err := q.Delete(ctx, running); err != nil {
			t.Fatalf("delete once finished: %v", err)
		}
	})
}

// Delete finds messages stored outside their id's home shard (a shard
// key routes them) and reports every list in the order given.
func TestQueue_DeleteAcrossShards(t *testing.T) {
	t.Parallel()
	q, err := queuesqlite.Open(t.TempDir(), &queuesqlite.Config{Shards: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	ctx := context.Background()
	var ids []string
	for i := range 8 {
		m := queuesqlite.NewMessage("nobody", i)
		m.ShardKey = fmt.Sprintf("key-%d", i)
		id, err := q.Send(ctx, m, nil)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	moved := 0
	for _, id := range ids {
		m, err := q.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if m.Shard != queuesqlite.ShardFor(id, 4) {
			moved++
		}
	}
	if moved == 0 {
		t.Fatal("every message is in its id's home shard: the test checks nothing about routes")
	}
	give := append([]string{"missing-1"}, ids...)
	give = append(give, "missing-2")
	res, err := q.Delete(ctx, give...)
	if !errors.Is(err, queuesqlite.ErrNotFound) {
		t.Fatalf("delete with unknown ids: %v, want ErrNotFound", err)
	}
	if fmt.Sprint(res.Deleted) != fmt.Sprint(ids) || fmt.Sprint(res.NotFound) != "[missing-1 missing-2]" {
		t.Fatalf("deleted %v not found %v; want %v and the two unknown ids", res.Deleted, res.NotFound, ids)
	}
	for _, id := range ids {
		if _, err := q.Get(ctx, id); !errors.Is(err, queuesqlite.ErrNotFound) {
			t.Fatalf("get %s after delete: %v", id, err)
		}
	}
}

// Deleting a message this process holds a callback for drops the callback
// unfired, and a Wait on it answers ErrNotFound.
func TestQueue_DeleteEndsWaitAndForgetsTheCallback(t *testing.T) {
	t.Parallel()
	q, err := queuesqlite.Open(t.TempDir(), &queuesqlite.Config{MaintenanceInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	ctx := context.Background()
	fired := make(chan struct{}, 1)
	id, err := q.Send(ctx, queuesqlite.NewMessage("nobody", 1), func(*queuesqlite.Message) { fired <- struct{}{} })
	if err != nil {
		t.Fatal(err)
	}
	waited := make(chan error, 1)
	go func() {
		_, err := q.Wait(ctx, id)
		waited <- err
	}()
	if n := q.CallbacksHeldForTest(); n != 1 {
		t.Fatalf("%d callbacks held after the send, want 1", n)
	}
	if _, err := q.Delete(ctx, id); err != nil {
		t.Fatal(err)
	}
	if n := q.CallbacksHeldForTest(); n != 0 {
		t.Fatalf("%d callbacks held after the delete, want 0", n)
	}
	// The safety poll of Wait is an hour away: only the wake ends it.
	select {
	case err := <-waited:
		if !errors.Is(err, queuesqlite.ErrNotFound) {
			t.Fatalf("wait on a deleted message: %v, want ErrNotFound", err)
		}
	case <-time.After(backendDeadline):
		t.Fatal("Wait did not end when its message was deleted")
	}
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-fired:
		t.Fatal("the callback of a deleted message fired")
	default:
	}
}
