package queuesqlite_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/queue-sqlite/queuesqlite/driver/sqlite"

	"github.com/queue-sqlite/queuesqlite"
)

// TestMaxAttempts_WorkerHandlerDecidesForAProducersMessage: a producer with
// no handler for the destination sends without MaxAttempts; the worker
// process's HandlerOpts.MaxAttempts bounds the attempts, not the producer's
// Config.MaxAttempts. An explicit Message.MaxAttempts still wins.
func TestMaxAttempts_WorkerHandlerDecidesForAProducersMessage(t *testing.T) {
	t.Parallel()
	pcfg := fast()
	pcfg.MaxAttempts = 5
	producer, dir := setup(t, pcfg)
	defaulted := send(t, producer, queuesqlite.NewMessage("flaky", "default"), nil)
	explicit := queuesqlite.NewMessage("flaky", "explicit")
	explicit.MaxAttempts = 3
	explicitID := send(t, producer, explicit, nil)

	worker, err := queuesqlite.Open(dir, fast())
	if err != nil {
		t.Fatal(err)
	}
	defer worker.Close()
	var mu sync.Mutex
	runs := map[string]int{}
	worker.Handle("flaky", func(ctx context.Context, m *queuesqlite.Message) (any, error) {
		mu.Lock()
		runs[m.ID]++
		mu.Unlock()
		return nil, errors.New("always fails")
	}, &queuesqlite.HandlerOpts{MaxAttempts: 2})
	start(t, worker)
	for id, want := range map[string]int{defaulted: 2, explicitID: 3} {
		m := wait(t, producer, id)
		mu.Lock()
		n := runs[id]
		mu.Unlock()
		if m.Status != queuesqlite.StatusFailed || m.Attempt != want || m.MaxAttempts != want || n != want {
			t.Errorf("message %s: status %s, attempt %d of %d, ran %d times; want failed after %d",
				id, m.Status, m.Attempt, m.MaxAttempts, n, want)
		}
	}
}

// TestMaxAttempts_UnsetSurvivesAReshard: a moved message that was sent
// without MaxAttempts still takes the worker's handler value.
func TestMaxAttempts_UnsetSurvivesAReshard(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	producer, err := queuesqlite.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i := range 6 {
		ids = append(ids, send(t, producer, queuesqlite.NewMessage("flaky", i), nil))
	}
	producer.Close()
	if _, err := sqlite.Reshard(context.Background(), dir, 3, nil); err != nil {
		t.Fatal(err)
	}
	worker, err := queuesqlite.Open(dir, fast())
	if err != nil {
		t.Fatal(err)
	}
	defer worker.Close()
	worker.Handle("flaky", func(context.Context, *queuesqlite.Message) (any, error) {
		return nil, errors.New("always fails")
	}, &queuesqlite.HandlerOpts{MaxAttempts: 2})
	start(t, worker)
	for _, id := range ids {
		if m := wait(t, worker, id); m.Status != queuesqlite.StatusFailed || m.Attempt != 2 || m.MaxAttempts != 2 {
			t.Errorf("message %s (shard %d): %s after %d of %d attempts; want failed after 2", id, m.Shard, m.Status, m.Attempt, m.MaxAttempts)
		}
	}
}
