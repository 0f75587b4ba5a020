package queuesqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/queue-sqlite/queuesqlite"
)

func uniqueMsg(dest, key string, content any) *queuesqlite.Message {
	m := queuesqlite.NewMessage(dest, content)
	m.Unique = &queuesqlite.UniqueOpts{Key: key}
	return m
}

// sendU sends m with SendUnique, failing the test on an error.
func sendU(t *testing.T, q *queuesqlite.Queue, m *queuesqlite.Message) queuesqlite.SendResult {
	t.Helper()
	r, err := q.SendUnique(context.Background(), m, nil)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func countStored(t *testing.T, q *queuesqlite.Queue) int {
	t.Helper()
	ms, err := q.List(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return len(ms)
}

// A second send of a unique key returns the first message's id and says
// it was a duplicate; Send returns that id with a nil error; one message
// is stored.
func TestSendUnique_DuplicateReturnsExistingID(t *testing.T) {
	q, _ := setup(t, fast())
	first := sendU(t, q, uniqueMsg("report", "daily-42", 1))
	if first.Duplicate || first.ID == "" {
		t.Fatalf("first send: %+v", first)
	}
	second := sendU(t, q, uniqueMsg("report", "daily-42", 2))
	if !second.Duplicate || second.ID != first.ID {
		t.Fatalf("second send: %+v, want duplicate of %s", second, first.ID)
	}
	id := send(t, q, uniqueMsg("report", "daily-42", 3), nil)
	if id != first.ID {
		t.Errorf("Send of a duplicate returned %s, want %s", id, first.ID)
	}
	other := sendU(t, q, uniqueMsg("other", "daily-42", 1))
	if other.Duplicate {
		t.Error("the same key to another destination was taken as a duplicate")
	}
	if n := countStored(t, q); n != 2 {
		t.Errorf("%d messages stored, want 2", n)
	}
}

// Without a Key the content is the key.
func TestSendUnique_ByContent(t *testing.T) {
	q, _ := setup(t, fast())
	byContent := func(v any) *queuesqlite.Message {
		m := queuesqlite.NewMessage("sync", v)
		m.Unique = &queuesqlite.UniqueOpts{}
		return m
	}
	a := sendU(t, q, byContent(map[string]int{"user": 1}))
	b := sendU(t, q, byContent(map[string]int{"user": 1}))
	c := sendU(t, q, byContent(map[string]int{"user": 2}))
	if a.Duplicate || !b.Duplicate || b.ID != a.ID || c.Duplicate {
		t.Errorf("results %+v %+v %+v", a, b, c)
	}
}

// A key stops blocking once its message finishes (default states), in
// whatever way it finishes; with States it keeps blocking in those.
func TestSendUnique_KeyReleasedWhenFinished(t *testing.T) {
	q, _ := setup(t, fast())
	fail := errors.New("no")
	q.Handle("job", func(ctx context.Context, m *queuesqlite.Message) (any, error) {
		var mode string
		m.Decode(&mode)
		if mode == "fail" {
			return nil, fmt.Errorf("%w: %w", fail, queuesqlite.ErrSkipRetry)
		}
		return "ok", nil
	}, nil)
	ctx := context.Background()
	// Cancelled before any worker runs.
	c := sendU(t, q, uniqueMsg("job", "cancel", "ok"))
	if _, err := q.Cancel(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	if r := sendU(t, q, uniqueMsg("job", "cancel", "ok")); r.Duplicate {
		t.Error("a cancelled message's key still blocks")
	}
	start(t, q)
	for _, mode := range []string{"ok", "fail"} {
		r := sendU(t, q, uniqueMsg("job", mode, mode))
		wait(t, q, r.ID)
		if again := sendU(t, q, uniqueMsg("job", mode, mode)); again.Duplicate || again.ID == r.ID {
			t.Errorf("%s: the key of a finished message still blocks: %+v", mode, again)
		}
	}
	keep := func() *queuesqlite.Message {
		m := uniqueMsg("job", "keep", "ok")
		m.Unique.States = []queuesqlite.Status{queuesqlite.StatusCompleted}
		return m
	}
	r := sendU(t, q, keep())
	if m := wait(t, q, r.ID); m.Status != queuesqlite.StatusCompleted {
		t.Fatalf("status %v", m.Status)
	}
	if again := sendU(t, q, keep()); !again.Duplicate || again.ID != r.ID {
		t.Errorf("a completed message with completed in its States did not block: %+v", again)
	}
}

// Period puts the send time in the key: a new period is a new key.
func TestSendUnique_ByPeriod(t *testing.T) {
	var now atomic.Int64
	now.Store(time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC).UnixNano())
	cfg := fast()
	cfg.Clock = func() time.Time { return time.Unix(0, now.Load()) }
	q, _ := setup(t, cfg)
	hourly := func() *queuesqlite.Message {
		m := uniqueMsg("digest", "", "x")
		m.Unique.Period = time.Hour
		return m
	}
	a := sendU(t, q, hourly())
	now.Add(int64(59 * time.Minute))
	b := sendU(t, q, hourly())
	now.Add(int64(2 * time.Minute))
	c := sendU(t, q, hourly())
	if a.Duplicate || !b.Duplicate || b.ID != a.ID || c.Duplicate {
		t.Errorf("results %+v %+v %+v", a, b, c)
	}
}

// In a batch a duplicate is not an error: it gets the stored (or earlier
// in the batch) message's id, the others are stored, and a callback runs
// only for the messages stored.
func TestSendBatchUnique_DuplicatesInsideTheBatch(t *testing.T) {
	q, _ := setup(t, fast())
	stored := sendU(t, q, uniqueMsg("job", "k0", 0))
	cbs := newCallbacks()
	res, err := q.SendBatchUnique(context.Background(), []*queuesqlite.Message{
		uniqueMsg("job", "k0", 1), uniqueMsg("job", "k1", 2), uniqueMsg("job", "k1", 3),
		queuesqlite.NewMessage("job", 4),
	}, cbs.fn)
	if err != nil {
		t.Fatal(err)
	}
	want := []bool{true, false, true, false}
	for i, r := range res {
		if r.Duplicate != want[i] {
			t.Errorf("message %d: %+v, duplicate should be %v", i, r, want[i])
		}
	}
	if res[0].ID != stored.ID || res[2].ID != res[1].ID {
		t.Errorf("duplicate ids: %+v, stored %s", res, stored.ID)
	}
	if n := countStored(t, q); n != 3 {
		t.Errorf("%d messages stored, want 3", n)
	}
	q.Handle("job", func(context.Context, *queuesqlite.Message) (any, error) { return nil, nil }, nil)
	start(t, q)
	got := map[string]bool{cbs.next(t).ID: true, cbs.next(t).ID: true}
	if !got[res[1].ID] || !got[res[3].ID] {
		t.Errorf("callbacks for %v, want %s and %s", got, res[1].ID, res[3].ID)
	}
	wait(t, q, stored.ID)
	if n := cbs.count(stored.ID); n != 0 {
		t.Errorf("the duplicate's callback ran %d times on the stored message", n)
	}
}

// With three shards a key is unique per queue: each key's sends meet in
// one shard, whether the id is generated or given; a ShardKey scopes the
// key.
func TestSendUnique_Shards(t *testing.T) {
	cfg := fast()
	cfg.Shards = 3
	q, _ := setup(t, cfg)
	ctx := context.Background()
	const keys = 30
	first := map[string]string{}
	for round := range 3 {
		for k := range keys {
			m := uniqueMsg("job", fmt.Sprint("key-", k), round)
			if round == 2 {
				m.ID = fmt.Sprintf("given-%d", k) // a given id, routed from its home
			}
			r := sendU(t, q, m)
			key := fmt.Sprint(k)
			if round == 0 {
				first[key] = r.ID
				continue
			}
			if !r.Duplicate || r.ID != first[key] {
				t.Fatalf("round %d key %d: %+v, want duplicate of %s", round, k, r, first[key])
			}
		}
	}
	if n := countStored(t, q); n != keys {
		t.Errorf("%d messages stored, want %d", n, keys)
	}
	for k := range keys {
		if _, err := q.Get(ctx, fmt.Sprintf("given-%d", k)); !errors.Is(err, queuesqlite.ErrNotFound) {
			t.Errorf("given id of a duplicate: %v, want ErrNotFound", err)
		}
		if _, err := q.Get(ctx, first[fmt.Sprint(k)]); err != nil {
			t.Errorf("stored message: %v", err)
		}
	}
	// The given ids of the duplicates are free again (their routes dropped).
	if _, err := q.Send(ctx, &queuesqlite.Message{ID: "given-0", Destination: "job", Content: []byte(`1`)}, nil); err != nil {
		t.Errorf("reuse of a duplicate's given id: %v", err)
	}
	scoped := func(shardKey string) queuesqlite.SendResult {
		m := uniqueMsg("job", "scoped", 1)
		m.ShardKey = shardKey
		return sendU(t, q, m)
	}
	a, b, c := scoped("tenant-a"), scoped("tenant-b"), scoped("tenant-a")
	if a.Duplicate || b.Duplicate || !c.Duplicate || c.ID != a.ID {
		t.Errorf("shard-key scoped results %+v %+v %+v", a, b, c)
	}
}

// Bad unique options and unique messages in SendTx are refused, nothing stored.
func TestSendUnique_Refused(t *testing.T) {
	q, _ := setup(t, fast())
	ctx := context.Background()
	bad := []*queuesqlite.UniqueOpts{
		{Period: -time.Second},
		{Key: string(make([]byte, queuesqlite.MaxUniqueKeyLength+1))},
		{States: []queuesqlite.Status{99}},
	}
	for i, u := range bad {
		m := queuesqlite.NewMessage("job", 1)
		m.Unique = u
		if _, err := q.SendUnique(ctx, m, nil); !errors.Is(err, queuesqlite.ErrInvalidArgument) {
			t.Errorf("options %d: %v, want ErrInvalidArgument", i, err)
		}
	}
	err := q.InTx(ctx, func(tx *sql.Tx) error {
		_, err := q.SendTx(ctx, tx, uniqueMsg("job", "k", 1))
		return err
	})
	if !errors.Is(err, queuesqlite.ErrInvalidArgument) {
		t.Errorf("SendTx of a unique message: %v, want ErrInvalidArgument", err)
	}
	if n := countStored(t, q); n != 0 {
		t.Errorf("%d messages stored", n)
	}
}

// A typed job is unique by its args when its template says Unique: the
// second send of equal args is a duplicate of the first.
func TestSendJobUnique_ByArgs(t *testing.T) {
	q, _ := setup(t, fast())
	ctx := context.Background()
	tmpl := &queuesqlite.Message{Unique: &queuesqlite.UniqueOpts{}}
	a, err := queuesqlite.SendJobUnique(ctx, q, emailArgs{To: "a"}, tmpl, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := queuesqlite.SendJobUnique(ctx, q, emailArgs{To: "a"}, tmpl, nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := queuesqlite.SendJobUnique(ctx, q, emailArgs{To: "b"}, tmpl, nil)
	if err != nil {
		t.Fatal(err)
	}
	if a.Duplicate || !b.Duplicate || b.ID != a.ID || c.Duplicate {
		t.Errorf("results %+v %+v %+v", a, b, c)
	}
}

// BenchmarkSendUnique: like BenchmarkSend, each message with its own
// unique key (the look-up of the key before every insert).
func BenchmarkSendUnique(b *testing.B) {
	q := benchQueue(b, nil)
	ctx := context.Background()
	n := 0
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		n++
		if _, err := q.SendUnique(ctx, uniqueMsg("noop", fmt.Sprint(n), 1), nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// A key blocks by its message's status at the time of the look-up: a
// cancelled message that is requeued (Retry) is pending again, and its key
// blocks again.
func TestSendUnique_RequeuedMessageBlocksAgain(t *testing.T) {
	q, _ := setup(t, fast())
	ctx := context.Background()
	first := sendU(t, q, uniqueMsg("job", "k", "x"))
	if _, err := q.Cancel(ctx, first.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := q.Retry(ctx, first.ID); err != nil {
		t.Fatal(err)
	}
	if again := sendU(t, q, uniqueMsg("job", "k", "x")); !again.Duplicate || again.ID != first.ID {
		t.Errorf("the requeued message's key did not block: %+v (first %s)", again, first.ID)
	}
}
