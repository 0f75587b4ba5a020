package queuesqlite_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/queue-sqlite/queuesqlite/driver/sqlite"

	"github.com/queue-sqlite/queuesqlite"
	"github.com/queue-sqlite/queuesqlite/internal/dbtest"
)

// idFor returns a message id whose home shard (ShardFor(id, n)) is shard.
func idFor(t *testing.T, shard, n int, salt string) string {
	t.Helper()
	return keyFor(t, shard, n, "id-"+salt+"-")
}

// keyed returns a message with this id whose shard key routes it to shard.
func keyed(t *testing.T, id string, shard, n int, content any) *queuesqlite.Message {
	t.Helper()
	m := queuesqlite.NewMessage("job", content)
	m.ID, m.ShardKey = id, keyFor(t, shard, n, "key-"+id+fmt.Sprint(shard))
	return m
}

// countID counts the rows holding id across the queue's files.
func countID(t *testing.T, dir, id string) int {
	t.Helper()
	n := 0
	for _, path := range dbtest.ShardFiles(t, dir) {
		var c int
		if err := dbtest.Open(t, path).QueryRow(`SELECT count(*) FROM messages WHERE id = ?`, id).Scan(&c); err != nil {
			t.Fatal(err)
		}
		n += c
	}
	return n
}

func TestIDs_UniqueAcrossShards(t *testing.T) {
	t.Parallel()
	const n = 4
	cfg := fast()
	cfg.Shards = n
	q, dir := setup(t, cfg)
	ctx := context.Background()
	id := idFor(t, 0, n, "a")
	first := keyed(t, id, 1, n, "first")
	if _, err := q.Send(ctx, first, nil); err != nil {
		t.Fatal(err)
	}
	plain := queuesqlite.NewMessage("job", "plain")
	plain.ID = id
	for name, m := range map[string]*queuesqlite.Message{
		"another shard key": keyed(t, id, 2, n, "second"),
		"the same key":      keyed(t, id, 1, n, "second"),
		"no shard key":      plain,
	} {
		if _, err := q.Send(ctx, m, nil); !errors.Is(err, queuesqlite.ErrDuplicate) {
			t.Errorf("second send of id %s with %s: err %v, want ErrDuplicate", id, name, err)
		}
	}
	// The other way round: the id stored in its home shard first.
	id2 := idFor(t, 3, n, "b")
	home := queuesqlite.NewMessage("job", "home")
	home.ID = id2
	send(t, q, home, nil)
	if _, err := q.Send(ctx, keyed(t, id2, 0, n, "away"), nil); !errors.Is(err, queuesqlite.ErrDuplicate) {
		t.Errorf("keyed send of an id stored in its home shard: %v, want ErrDuplicate", err)
	}
	// Within one batch.
	id3 := idFor(t, 2, n, "c")
	if _, err := q.SendBatch(ctx, []*queuesqlite.Message{keyed(t, id3, 0, n, 1), keyed(t, id3, 1, n, 2)}, nil); !errors.Is(err, queuesqlite.ErrDuplicate) {
		t.Errorf("one id twice in a batch: %v, want ErrDuplicate", err)
	}
	for _, x := range []string{id, id2} {
		if c := countID(t, dir, x); c != 1 {
			t.Errorf("id %s stored %d times, want once", x, c)
		}
	}
	if c := countID(t, dir, id3); c != 0 {
		t.Errorf("refused batch stored id %s %d times", id3, c)
	}
	got, err := q.Get(ctx, id)
	if err != nil || string(got.Content) != `"first"` || got.Shard != 1 {
		t.Fatalf("get %s: %v, %+v; want the first message, in shard 1", id, err, got)
	}
}

func TestIDs_SendTxCannotDuplicateAnID(t *testing.T) {
	t.Parallel()
	const n = 4
	cfg := fast()
	cfg.Shards = n
	q, dir := setup(t, cfg)
	ctx := context.Background()
	db, err := q.DB()
	if err != nil {
		t.Fatal(err)
	}
	sendTx := func(ms ...*queuesqlite.Message) ([]string, error) {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		ids, err := q.SendTx(ctx, tx, ms...)
		if err != nil {
			tx.Rollback()
			return nil, err
		}
		return ids, tx.Commit()
	}
	// Send first (routed to shard 2), then SendTx (shard 0, the id's home).
	id := idFor(t, 0, n, "tx")
	send(t, q, keyed(t, id, 2, n, "sent"), nil)
	again := queuesqlite.NewMessage("job", "tx")
	again.ID = id
	if _, err := sendTx(again); !errors.Is(err, queuesqlite.ErrDuplicate) {
		t.Errorf("SendTx of an id already sent to shard 2: %v, want ErrDuplicate", err)
	}
	// SendTx first, then Send routed elsewhere.
	id2 := idFor(t, 0, n, "tx2")
	m := queuesqlite.NewMessage("job", "tx")
	m.ID = id2
	if _, err := sendTx(m); err != nil {
		t.Fatal(err)
	}
	if _, err := q.Send(ctx, keyed(t, id2, 3, n, "sent"), nil); !errors.Is(err, queuesqlite.ErrDuplicate) {
		t.Errorf("Send of an id stored by SendTx: %v, want ErrDuplicate", err)
	}
	// An explicit id whose home is not shard 0 is stored in shard 0 (the
	// transaction's) with its route in its home, written before the
	// transaction: unique all the same.
	far := queuesqlite.NewMessage("job", "far")
	far.ID = idFor(t, 1, n, "far")
	if _, err := sendTx(far); err != nil {
		t.Fatalf("SendTx of id %s (home shard 1): %v", far.ID, err)
	}
	if m, err := q.Get(ctx, far.ID); err != nil || m.Shard != 0 {
		t.Fatalf("get %s: %v, %+v; want it in shard 0", far.ID, err, m)
	}
	if _, err := q.Send(ctx, keyed(t, far.ID, 3, n, "sent"), nil); !errors.Is(err, queuesqlite.ErrDuplicate) {
		t.Errorf("Send of an id SendTx stored outside its home: %v, want ErrDuplicate", err)
	}
	// A ShardKey of another shard cannot be written by a transaction on
	// shard 0: refused, naming it, nothing stored.
	other := queuesqlite.NewMessage("job", "other")
	other.ShardKey = keyFor(t, 2, n, "other")
	if _, err := sendTx(other); !errors.Is(err, queuesqlite.ErrInvalidArgument) || !strings.Contains(err.Error(), other.ShardKey) {
		t.Errorf("SendTx with a ShardKey of shard 2: %v, want ErrInvalidArgument naming the key", err)
	}
	// Generated ids have shard 0 as their home.
	ids, err := sendTx(queuesqlite.NewMessage("job", 1), queuesqlite.NewMessage("job", 2), queuesqlite.NewMessage("job", 3))
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range ids {
		if h := queuesqlite.ShardFor(x, n); h != 0 {
			t.Errorf("SendTx generated id %s with home shard %d", x, h)
		}
		if c := countID(t, dir, x); c != 1 {
			t.Errorf("id %s stored %d times", x, c)
		}
	}
	for _, x := range []string{id, id2} {
		if c := countID(t, dir, x); c != 1 {
			t.Errorf("id %s stored %d times, want once", x, c)
		}
	}
}

// A refused duplicate must not take over (or drop) the callback of the
// message that holds the id, on one shard or several.
func TestIDs_CallbackGoesToTheRightMessage(t *testing.T) {
	t.Parallel()
	for _, n := range []int{1, 4} {
		t.Run(fmt.Sprint(n, " shards"), func(t *testing.T) {
			t.Parallel()
			cfg := fast()
			cfg.Shards = n
			q, _ := setup(t, cfg)
			ctx := context.Background()
			release := make(chan struct{})
			q.Handle("job", func(ctx context.Context, m *queuesqlite.Message) (any, error) {
				<-release
				return string(m.Content), nil
			}, nil)
			id := idFor(t, 0, n, "cb")
			var mu sync.Mutex
			got := map[string][]string{}
			cb := func(name string) queuesqlite.Callback {
				return func(m *queuesqlite.Message) {
					mu.Lock()
					defer mu.Unlock()
					got[name] = append(got[name], string(m.Result))
				}
			}
			send(t, q, keyed(t, id, n-1, n, "first"), cb("first"))
			if _, err := q.Send(ctx, keyed(t, id, 0, n, "second"), cb("second")); !errors.Is(err, queuesqlite.ErrDuplicate) {
				t.Fatalf("duplicate send: %v, want ErrDuplicate", err)
			}
			start(t, q)
			close(release)
			wait(t, q, id)
			eventually(t, "the first callback", func() bool { mu.Lock(); defer mu.Unlock(); return len(got["first"]) > 0 })
			mu.Lock()
			defer mu.Unlock()
			if fmt.Sprint(got["first"]) != `["\"first\""]` || len(got["second"]) != 0 {
				t.Fatalf("callbacks: %v; want only the first, once, with the first message's result", got)
			}
		})
	}
}

func TestIDs_GetCancelRetryFollowTheRoute(t *testing.T) {
	t.Parallel()
	const n = 4
	cfg := fast()
	cfg.Shards = n
	q, _ := setup(t, cfg)
	ctx := context.Background()
	id := idFor(t, 1, n, "route")
	m := keyed(t, id, 3, n, "x")
	m.Delay = time.Hour
	send(t, q, m, nil)
	got, err := q.Get(ctx, id)
	if err != nil || got.Shard != 3 {
		t.Fatalf("get: %v %+v, want shard 3", err, got)
	}
	if c, err := q.Cancel(ctx, id); err != nil || c.Status != queuesqlite.StatusCancelled || c.Shard != 3 {
		t.Fatalf("cancel: %v %+v", err, c)
	}
	if r, err := q.Retry(ctx, id); err != nil || r.Status != queuesqlite.StatusPending || r.Shard != 3 {
		t.Fatalf("retry: %v %+v", err, r)
	}
	if _, err := q.Get(ctx, idFor(t, 1, n, "absent")); !errors.Is(err, queuesqlite.ErrNotFound) {
		t.Fatalf("get of an absent id: %v", err)
	}
}

// plantCopy copies the row of id into shard file to with a different
// content, as a directory written before ids were unique per queue can hold.
func plantCopy(t *testing.T, dir, id string, from, to int) {
	t.Helper()
	src := dbtest.Open(t, sqlite.ShardPath(dir, from))
	var dest, source, created string
	var status, prio, maxAtt int
	var createdAt, updatedAt, runAt int64
	if err := src.QueryRow(`SELECT destination, source, status, priority, max_attempts, created_at, updated_at, run_at, type
		FROM messages WHERE id = ?`, id).Scan(&dest, &source, &status, &prio, &maxAtt, &createdAt, &updatedAt, &runAt, &created); err != nil {
		t.Fatal(err)
	}
	dst := dbtest.Open(t, sqlite.ShardPath(dir, to))
	if _, err := dst.Exec(`INSERT INTO messages (id, type, status, destination, source, content, priority,
		created_at, updated_at, run_at, max_attempts) VALUES (?, ?, ?, ?, ?, '"planted"', ?, ?, ?, ?, ?)`,
		id, created, status, dest, source, prio, createdAt, updatedAt, runAt, maxAtt); err != nil {
		t.Fatal(err)
	}
}

func TestReshard_DuplicateIDStopsWithoutLosingARow(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	q, err := queuesqlite.Open(dir, &queuesqlite.Config{Shards: 2})
	if err != nil {
		t.Fatal(err)
	}
	// More ids than one page of the duplicate check (2000 per file); the
	// planted id sorts after every generated one, so it is on a later page.
	batch := make([]*queuesqlite.Message, 4100)
	for i := range batch {
		batch[i] = queuesqlite.NewMessage("job", i)
	}
	ids, err := q.SendBatch(context.Background(), batch, nil)
	if err != nil {
		t.Fatal(err)
	}
	id := idFor(t, 0, 2, "planted")
	m := queuesqlite.NewMessage("job", "original")
	m.ID = id
	send(t, q, m, nil)
	q.Close()
	plantCopy(t, dir, id, 0, 1)
	before := len(shardContentsAllowingDuplicates(t, dir))

	_, err = sqlite.Reshard(context.Background(), dir, 1, nil)
	if !errors.Is(err, queuesqlite.ErrDuplicate) || !strings.Contains(err.Error(), id) {
		t.Fatalf("reshard 2->1 with id %s in both files: %v, want ErrDuplicate naming it", id, err)
	}
	if c := countID(t, dir, id); c != 2 {
		t.Fatalf("id %s has %d rows after the refused reshard, want both kept", id, c)
	}
	if after := len(shardContentsAllowingDuplicates(t, dir)); after != before {
		t.Fatalf("%d rows before the reshard, %d after", before, after)
	}
	// Nothing was changed: the queue still opens with 2 shards.
	q, err = queuesqlite.Open(dir, nil)
	if err != nil {
		t.Fatalf("open after the refused reshard: %v", err)
	}
	defer q.Close()
	if q.ShardCount() != 2 {
		t.Fatalf("%d shards after the refused reshard", q.ShardCount())
	}
	for _, x := range ids {
		if _, err := q.Get(context.Background(), x); err != nil {
			t.Fatal(err)
		}
	}
}

// shardContentsAllowingDuplicates lists every row of the queue's files as
// "shard/id".
func shardContentsAllowingDuplicates(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	for i, path := range dbtest.ShardFiles(t, dir) {
		rows, err := dbtest.Open(t, path).Query(`SELECT id FROM messages`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var id string
			rows.Scan(&id)
			out = append(out, fmt.Sprint(i, "/", id))
		}
		rows.Close()
	}
	return out
}

// testClock is a settable clock for Config.Clock.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// routeIDs lists the ids routed by the queue's files.
func routeIDs(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	for _, path := range dbtest.ShardFiles(t, dir) {
		rows, err := dbtest.Open(t, path).Query(`SELECT id FROM id_routes ORDER BY id`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var id string
			rows.Scan(&id)
			out = append(out, id)
		}
		rows.Close()
	}
	return out
}

// Cleanup prunes the routes of cleaned-up messages and orphan routes (a
// crash between the route and the insert), once they are older than the
// grace, and keeps every route whose message exists.
func TestIDs_CleanupPrunesRoutes(t *testing.T) {
	t.Parallel()
	const n = 2
	clock := &testClock{now: time.Now().UTC()}
	cfg := fast()
	cfg.Shards, cfg.Clock = n, clock.Now
	cfg.Retention.Completed = time.Hour
	cfg.CleanupInterval = time.Hour // only the explicit Cleanup runs
	q, dir := setup(t, cfg)
	ctx := context.Background()
	q.Handle("job", func(ctx context.Context, m *queuesqlite.Message) (any, error) { return nil, nil }, nil)
	done := idFor(t, 0, n, "done")
	live := idFor(t, 0, n, "live")
	orphan := idFor(t, 1, n, "orphan")
	send(t, q, keyed(t, done, 1, n, "done"), nil)
	lm := keyed(t, live, 1, n, "live")
	lm.Destination = "nobody" // never runs
	send(t, q, lm, nil)
	// An orphan route, as a process killed between its two writes leaves.
	if _, err := dbtest.Open(t, sqlite.ShardPath(dir, 1)).Exec(
		`INSERT INTO id_routes (id, shard, routed_at, token) VALUES (?, 0, ?, 7)`, orphan, clock.Now().UnixMicro()); err != nil {
		t.Fatal(err)
	}
	start(t, q)
	wait(t, q, done)
	if _, err := q.Send(ctx, keyed(t, orphan, 1, n, "new"), nil); !errors.Is(err, queuesqlite.ErrDuplicate) {
		t.Fatalf("send over a fresh orphan route: %v, want ErrDuplicate (the route may be a send in progress)", err)
	}
	if res, err := q.Cleanup(ctx); err != nil || res.RoutesPruned != 0 {
		t.Fatalf("cleanup within the grace: %+v, %v; want no route pruned", res, err)
	}
	clock.Add(48 * time.Hour)
	res, err := q.Cleanup(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.Deleted != 1 || res.RoutesPruned != 2 {
		t.Fatalf("cleanup past retention and grace: %+v; want 1 message deleted, 2 routes pruned", res)
	}
	if got := routeIDs(t, dir); fmt.Sprint(got) != fmt.Sprint([]string{live}) {
		t.Fatalf("routes left: %v, want only %s (its message is pending)", got, live)
	}
	if m, err := q.Get(ctx, live); err != nil || m.Shard != 1 {
		t.Fatalf("get of the routed live message: %v %+v", err, m)
	}
	// The pruned ids are free again, on any shard.
	for _, id := range []string{orphan, done} {
		if _, err := q.Send(ctx, keyed(t, id, 0, n, "again"), nil); err != nil {
			t.Fatalf("send of %s after its route was pruned: %v", id, err)
		}
	}
}

// After a reshard the routes match the new count: a keyed message is found
// through its new home, and its id stays refused elsewhere.
func TestReshard_RebuildsIDRoutes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	q, err := queuesqlite.Open(dir, &queuesqlite.Config{Shards: 2})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i := range 60 {
		m := queuesqlite.NewMessage("job", i)
		m.ShardKey = fmt.Sprint("tenant-", i%5)
		ids = append(ids, send(t, q, m, nil))
	}
	q.Close()
	ctx := context.Background()
	for _, to := range []int{3, 1, 4} {
		if _, err := sqlite.Reshard(ctx, dir, to, nil); err != nil {
			t.Fatal(err)
		}
		want := 0
		where := shardContents(t, dir)
		for id := range where {
			if to > 1 && queuesqlite.ShardFor(id, to) != where[id] {
				want++
			}
		}
		if got := len(routeIDs(t, dir)); got != want {
			t.Fatalf("after reshard to %d: %d routes, want %d (one per message outside its id's home)", to, got, want)
		}
		q, err := queuesqlite.Open(dir, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range ids {
			got, err := q.Get(ctx, id)
			if err != nil || got.Shard != where[id] {
				t.Fatalf("after reshard to %d: get %s: %v %+v, want shard %d", to, id, err, got, where[id])
			}
			dup := queuesqlite.NewMessage("job", "dup")
			dup.ID = id
			if _, err := q.Send(ctx, dup, nil); !errors.Is(err, queuesqlite.ErrDuplicate) {
				t.Fatalf("after reshard to %d: send of existing id %s without key: %v, want ErrDuplicate", to, id, err)
			}
		}
		q.Close()
	}
}

// A directory written before ids were unique per queue has no routes: the
// first Open builds them, so its keyed messages' ids are refused elsewhere
// too; an id such a directory already holds twice is logged, not lost.
func TestIDs_OpenBuildsTheRoutesOfAnOlderDirectory(t *testing.T) {
	t.Parallel()
	const n = 4
	dir := t.TempDir()
	q, err := queuesqlite.Open(dir, &queuesqlite.Config{Shards: n})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i := range 40 {
		m := queuesqlite.NewMessage("job", i)
		m.ShardKey = fmt.Sprint("tenant-", i%3)
		ids = append(ids, send(t, q, m, nil))
	}
	twice := idFor(t, 0, n, "twice")
	m := queuesqlite.NewMessage("job", "home")
	m.ID = twice
	send(t, q, m, nil)
	q.Close()
	routed := len(routeIDs(t, dir))
	if routed == 0 {
		t.Fatal("no message was stored outside its id's home")
	}
	// Back to an older directory: no routes, and one id stored twice.
	for _, path := range dbtest.ShardFiles(t, dir) {
		if _, err := dbtest.Open(t, path).Exec(`DELETE FROM id_routes; DELETE FROM meta WHERE key = 'id_routes'`); err != nil {
			t.Fatal(err)
		}
	}
	plantCopy(t, dir, twice, 0, 2)
	if _, err := dbtest.Open(t, sqlite.ShardPath(dir, 2)).Exec(`UPDATE messages SET shard_key = 'k' WHERE id = ?`, twice); err != nil {
		t.Fatal(err)
	}
	logs := &logCapture{}
	q, err = queuesqlite.Open(dir, &queuesqlite.Config{Logger: slog.New(logs)})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	if got := len(routeIDs(t, dir)); got != routed {
		t.Fatalf("%d routes after open, want the %d the messages need", got, routed)
	}
	if !logs.has("id stored twice, in shards written before ids were unique per queue; keep one of them") {
		t.Fatalf("the id stored twice was not reported: %v", logs.msgs)
	}
	for _, id := range ids {
		dup := queuesqlite.NewMessage("job", "dup")
		dup.ID = id
		if _, err := q.Send(context.Background(), dup, nil); !errors.Is(err, queuesqlite.ErrDuplicate) {
			t.Fatalf("send of existing id %s: %v, want ErrDuplicate", id, err)
		}
	}
	if c := countID(t, dir, twice); c != 2 {
		t.Fatalf("id %s: %d rows, want both kept", twice, c)
	}
}

// A send whose message cannot be stored removes the route it wrote, so the
// id is not left refused for other shards; a route it only renewed stays.
func TestIDs_FailedInsertDropsItsRoute(t *testing.T) {
	t.Parallel()
	const n = 4
	cfg := fast()
	cfg.Shards = n
	q, dir := setup(t, cfg)
	ctx := context.Background()
	// Shard 2 holds id x already, unrouted (as an older directory can).
	x := idFor(t, 0, n, "x")
	send(t, q, keyed(t, x, 0, n, "home"), nil)
	if _, err := dbtest.Open(t, sqlite.ShardPath(dir, 0)).Exec(`DELETE FROM messages WHERE id = ?`, x); err != nil {
		t.Fatal(err)
	}
	plantRow(t, dir, x, 2)
	if _, err := q.Send(ctx, keyed(t, x, 2, n, "again"), nil); !errors.Is(err, queuesqlite.ErrDuplicate) {
		t.Fatalf("send of an id shard 2 holds: %v, want ErrDuplicate", err)
	}
	if got := routeIDs(t, dir); len(got) != 0 {
		t.Fatalf("routes after the failed send: %v, want none (it created the route, so it drops it)", got)
	}
	// A batch: the part for shard 2 fails, the part for shard 3 is stored
	// and keeps its route.
	y := idFor(t, 0, n, "y")
	_, err := q.SendBatch(ctx, []*queuesqlite.Message{keyed(t, x, 2, n, "again"), keyed(t, y, 3, n, "y")}, nil)
	if !errors.Is(err, queuesqlite.ErrDuplicate) {
		t.Fatalf("batch: %v, want ErrDuplicate", err)
	}
	if got := routeIDs(t, dir); fmt.Sprint(got) != fmt.Sprint([]string{y}) {
		t.Fatalf("routes after the half-failed batch: %v, want only %s", got, y)
	}
	// A repeated send of a stored, routed message renews its route and is
	// refused by the target's unique index: the route stays.
	if _, err := q.Send(ctx, keyed(t, y, 3, n, "y"), nil); !errors.Is(err, queuesqlite.ErrDuplicate) {
		t.Fatalf("repeated send: %v, want ErrDuplicate", err)
	}
	if got := routeIDs(t, dir); fmt.Sprint(got) != fmt.Sprint([]string{y}) {
		t.Fatalf("routes after a repeated send: %v, want %s kept", got, y)
	}
	if m, err := q.Get(ctx, y); err != nil || m.Shard != 3 {
		t.Fatalf("get %s: %v %+v", y, err, m)
	}
}

// plantRow stores a minimal pending message with id in shard file to, as a
// directory written before ids were unique per queue can hold.
func plantRow(t *testing.T, dir, id string, to int) {
	t.Helper()
	now := time.Now().UnixMicro()
	if _, err := dbtest.Open(t, sqlite.ShardPath(dir, to)).Exec(`INSERT INTO messages (id, status, destination, source, content,
		priority, created_at, updated_at, run_at, max_attempts) VALUES (?, 0, 'nobody', 'client', '"planted"', 1, ?, ?, ?, 3)`,
		id, now, now, now); err != nil {
		t.Fatal(err)
	}
}
