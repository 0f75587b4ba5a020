package queuesqlite_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/queue-sqlite/queuesqlite/driver/sqlite"

	"github.com/queue-sqlite/queuesqlite"
	"github.com/queue-sqlite/queuesqlite/internal/dbtest"
)

// keyFor returns a shard key that routes to shard among n.
func keyFor(t *testing.T, shard, n int, salt string) string {
	t.Helper()
	for i := range 10000 {
		if k := fmt.Sprint(salt, i); queuesqlite.ShardFor(k, n) == shard {
			return k
		}
	}
	t.Fatalf("no key routes to shard %d", shard)
	return ""
}

func TestShards_RoutingIsStable(t *testing.T) {
	t.Parallel()
	// Golden values: the routing function must never change, or stored
	// messages would be misrouted after an upgrade.
	for key, want := range map[string][2]int{"user-7": {2, 6}, "order-42": {0, 4}, "tenant-a": {3, 3}} {
		if got := [2]int{queuesqlite.ShardFor(key, 4), queuesqlite.ShardFor(key, 8)}; got != want {
			t.Fatalf("ShardFor(%q) = %v, want %v", key, got, want)
		}
	}
	dir := t.TempDir()
	var shards []int
	for range 2 { // across a restart
		q, err := queuesqlite.Open(dir, &queuesqlite.Config{Shards: 4})
		if err != nil {
			t.Fatal(err)
		}
		m := queuesqlite.NewMessage("x", 1)
		m.ShardKey = "user-7"
		id := send(t, q, m, nil)
		got, err := q.Get(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		shards = append(shards, got.Shard)
		q.Close()
	}
	if shards[0] != 2 || shards[1] != 2 {
		t.Fatalf("key user-7 stored in shards %v, want 2 both times", shards)
	}
	dbtest.CheckInvariants(t, dir)
}

func TestShards_SameKeyKeepsOrder(t *testing.T) {
	t.Parallel()
	cfg := fast()
	cfg.Shards, cfg.Workers = 4, 1
	q, _ := setup(t, cfg)
	var rec recorder
	q.Handle("job", func(ctx context.Context, m *queuesqlite.Message) (any, error) {
		rec.add(m.ShardKey + ":" + string(m.Content))
		return nil, nil
	}, nil)
	var msgs []*queuesqlite.Message
	for i := range 10 {
		for _, key := range []string{"k0", "k1", "k2", "k3", "k4"} {
			m := queuesqlite.NewMessage("job", i)
			m.ShardKey = key
			msgs = append(msgs, m)
		}
	}
	ids, err := q.SendBatch(context.Background(), msgs, nil)
	if err != nil {
		t.Fatal(err)
	}
	start(t, q)
	for _, id := range ids {
		wait(t, q, id)
	}
	next := map[string]int{}
	for _, entry := range rec.list() {
		key, n, _ := strings.Cut(entry, ":")
		if n != fmt.Sprint(next[key]) {
			t.Fatalf("key %s ran %s when %d was next (run order %v)", key, n, next[key], rec.list())
		}
		next[key]++
	}
}

func TestShards_PriorityHoldsAcrossShards(t *testing.T) {
	t.Parallel()
	cfg := fast()
	cfg.Shards, cfg.Workers, cfg.ClaimBatch = 4, 1, 1
	q, _ := setup(t, cfg)
	var rec recorder
	q.Handle("job", func(ctx context.Context, m *queuesqlite.Message) (any, error) {
		rec.add(m.Priority.String())
		return nil, nil
	}, nil)
	var msgs []*queuesqlite.Message
	for shard := range 4 {
		for i := range 25 {
			m := queuesqlite.NewMessage("job", i)
			m.ShardKey, m.Priority = keyFor(t, shard, 4, "low"), queuesqlite.PriorityLow
			msgs = append(msgs, m)
		}
	}
	if _, err := q.SendBatch(context.Background(), msgs, nil); err != nil {
		t.Fatal(err)
	}
	urgent := queuesqlite.NewMessage("job", "urgent")
	urgent.ShardKey, urgent.Priority = keyFor(t, 3, 4, "urgent"), queuesqlite.PriorityUrgent
	high := queuesqlite.NewMessage("job", "high")
	high.ShardKey, high.Priority = keyFor(t, 1, 4, "high"), queuesqlite.PriorityHigh
	send(t, q, high, nil)
	last := send(t, q, urgent, nil)
	start(t, q)
	wait(t, q, last)
	eventually(t, "all run", func() bool { return len(rec.list()) == 102 })
	if got := rec.list()[:3]; fmt.Sprint(got) != "[urgent high low]" {
		t.Fatalf("first to run: %v, want urgent (shard 3), then high (shard 1), then low", got)
	}
}

func TestShards_EqualPrioritiesAreServedFairly(t *testing.T) {
	t.Parallel()
	cfg := fast()
	cfg.Shards, cfg.Workers, cfg.ClaimBatch = 4, 2, 8
	q, _ := setup(t, cfg)
	var mu sync.Mutex
	perShard := map[int]int{}
	handled := 0
	q.Handle("job", func(ctx context.Context, m *queuesqlite.Message) (any, error) {
		mu.Lock()
		defer mu.Unlock()
		if handled < 400 {
			perShard[m.Shard]++
		}
		handled++
		return nil, nil
	}, nil)
	var msgs []*queuesqlite.Message
	for shard := range 4 {
		for i := range 300 {
			m := queuesqlite.NewMessage("job", i)
			m.ShardKey = keyFor(t, shard, 4, "fair")
			msgs = append(msgs, m)
		}
	}
	if _, err := q.SendBatch(context.Background(), msgs, nil); err != nil {
		t.Fatal(err)
	}
	start(t, q)
	eventually(t, "400 handled", func() bool { mu.Lock(); defer mu.Unlock(); return handled >= 400 })
	mu.Lock()
	defer mu.Unlock()
	t.Logf("first 400 handled per shard: %v", perShard)
	for shard := range 4 {
		if perShard[shard] < 60 { // a fair share is 100; starving would be near 0
			t.Fatalf("shard %d got %d of the first 400 (per shard: %v)", shard, perShard[shard], perShard)
		}
	}
}

func TestShards_StatsPerShardAddUp(t *testing.T) {
	t.Parallel()
	cfg := fast()
	cfg.Shards = 3
	q, _ := setup(t, cfg)
	for i := range 30 {
		send(t, q, queuesqlite.NewMessage("x", i), nil)
	}
	st, err := q.Stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	sum := 0
	for _, s := range st.Shards {
		sum += s.ByStatus[queuesqlite.StatusPending]
		if s.ByStatus[queuesqlite.StatusPending] == 0 {
			t.Errorf("shard %d holds none of 30 messages", s.Shard)
		}
	}
	if len(st.Shards) != 3 || sum != 30 || st.ByStatus[queuesqlite.StatusPending] != 30 {
		t.Fatalf("per shard %v (sum %d), total %v", st.Shards, sum, st.ByStatus)
	}
}

// shardContents maps every message id in the queue's files to the file
// index it is in, failing on an id stored twice.
func shardContents(t *testing.T, dir string) map[string]int {
	t.Helper()
	where := map[string]int{}
	for i, path := range dbtest.ShardFiles(t, dir) {
		rows, err := dbtest.Open(t, path).Query(`SELECT id, COALESCE(shard_key, '') FROM messages`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var id, key string
			rows.Scan(&id, &key)
			if prev, dup := where[id]; dup {
				t.Fatalf("message %s is in shards %d and %d", id, prev, i)
			}
			where[id] = i
		}
		rows.Close()
	}
	return where
}

// fillQueue sends n messages (every tenth with a shard key) without workers.
func fillQueue(t *testing.T, dir string, n int) {
	t.Helper()
	q, err := queuesqlite.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	batch := make([]*queuesqlite.Message, 0, 1000)
	for i := range n {
		m := queuesqlite.NewMessage("job", i)
		if i%10 == 0 {
			m.ShardKey = fmt.Sprint("key-", i%7)
		}
		batch = append(batch, m)
		if len(batch) == cap(batch) || i == n-1 {
			if _, err := q.SendBatch(context.Background(), batch, nil); err != nil {
				t.Fatal(err)
			}
			batch = batch[:0]
		}
	}
}

func checkPlacement(t *testing.T, dir string, shards, want int) {
	t.Helper()
	where := shardContents(t, dir)
	if len(where) != want {
		t.Fatalf("%d messages after reshard, want %d", len(where), want)
	}
	if files := len(dbtest.ShardFiles(t, dir)); files != shards {
		t.Fatalf("%d shard files, want %d", files, shards)
	}
	q, err := queuesqlite.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	if q.ShardCount() != shards {
		t.Fatalf("queue opens with %d shards, want %d", q.ShardCount(), shards)
	}
	ms, err := q.List(context.Background(), &queuesqlite.ListOpts{Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		key := m.ShardKey
		if key == "" {
			key = m.ID
		}
		if where[m.ID] != queuesqlite.ShardFor(key, shards) {
			t.Fatalf("message %s (key %q) in shard %d, routes to %d", m.ID, key, where[m.ID], queuesqlite.ShardFor(key, shards))
		}
	}
}

func TestReshard_1To4To2LosesNothing(t *testing.T) {
	t.Parallel()
	const n = 100_000
	dir := t.TempDir()
	fillQueue(t, dir, n)
	ctx := context.Background()
	for _, to := range []int{4, 2} {
		res, err := sqlite.Reshard(ctx, dir, to, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("reshard %d -> %d: moved %d of %d", res.From, res.To, res.Moved, res.Total)
		if res.Total != n || res.Moved == 0 {
			t.Fatalf("reshard to %d: %+v", to, res)
		}
		checkPlacement(t, dir, to, n)
	}
	dbtest.CheckInvariants(t, dir)
}

func TestReshard_RefusedWhileTheQueueIsOpen(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	q, err := queuesqlite.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	if _, err := sqlite.Reshard(context.Background(), dir, 2, nil); err == nil || !strings.Contains(err.Error(), "stop every process") {
		t.Fatalf("reshard of an open queue: %v", err)
	}
	if _, err := sqlite.Reshard(context.Background(), dir, 0, nil); !errors.Is(err, queuesqlite.ErrInvalidArgument) {
		t.Fatalf("reshard to 0 shards: %v", err)
	}
}

// TestReshard_ResumesAfterAKill kills a child process in the middle of a
// reshard, checks the queue refuses to open, then finishes the reshard.
func TestReshard_ResumesAfterAKill(t *testing.T) {
	t.Parallel()
	const n = 60_000
	dir := t.TempDir()
	fillQueue(t, dir, n)
	cmd := exec.Command(os.Args[0], "-test.run=^TestReshardChild$")
	cmd.Env = append(os.Environ(), "QUEUESQLITE_RESHARD_CHILD="+dir)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Kill it once some messages have arrived in a new shard file.
	eventually(t, "the child to move messages", func() bool {
		if _, err := os.Stat(sqlite.ShardPath(dir, 3)); err != nil {
			return false
		}
		var moved int
		dbtest.Open(t, sqlite.ShardPath(dir, 3)).QueryRow(`SELECT count(*) FROM messages`).Scan(&moved)
		return moved > 0
	})
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()

	if _, err := queuesqlite.Open(dir, nil); !errors.Is(err, queuesqlite.ErrInvalidState) || !strings.Contains(err.Error(), "reshard --to 4") {
		t.Fatalf("open during an interrupted reshard: %v", err)
	}
	res, err := sqlite.Reshard(context.Background(), dir, 4, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("resumed reshard: %+v", res)
	if !res.Resumed || res.Total != n {
		t.Fatalf("resume: %+v", res)
	}
	checkPlacement(t, dir, 4, n)
	dbtest.CheckInvariants(t, dir)
}

// TestReshardChild is the process TestReshard_ResumesAfterAKill kills.
func TestReshardChild(t *testing.T) {
	dir := os.Getenv("QUEUESQLITE_RESHARD_CHILD")
	if dir == "" {
		t.Skip("only runs as a child process")
	}
	sqlite.Reshard(context.Background(), dir, 4, nil)
	time.Sleep(time.Hour) // if it finished before the kill, the parent still finds a consistent queue
}
