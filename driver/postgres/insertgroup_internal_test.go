package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/queue-sqlite/queuesqlite/driver"
	"github.com/queue-sqlite/queuesqlite/internal/pgtest"
	"github.com/queue-sqlite/queuesqlite/queuetype"
)

// groupTestWait bounds every wait of these tests.
const groupTestWait = 30 * time.Second

// openGrouped opens a handle whose inserts run one grouped statement at a
// time, so that the calls made while one is held all fold into the next.
func openGrouped(t *testing.T) *DB {
	t.Helper()
	d, err := Open(context.Background(), pgtest.DSN(), &Options{Schema: pgtest.Schema(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	d.inserts.mu.Lock()
	d.inserts.max = 1
	d.inserts.mu.Unlock()
	return d
}

func groupMsg(id string) *queuetype.Message {
	now := time.Now().UTC()
	return &queuetype.Message{ID: id, Type: queuetype.TypeTask, Status: queuetype.StatusPending,
		Destination: "x", Source: queuetype.SourceDefault, Content: []byte(`1`), Priority: queuetype.PriorityNormal,
		CreatedAt: now, UpdatedAt: now, RunAt: now, MaxAttempts: 3}
}

// holdInserts locks the messages table from another connection, so that
// an insert waits until release is called.
func holdInserts(t *testing.T, d *DB) (release func()) {
	t.Helper()
	ctx := context.Background()
	tx, err := d.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, fmt.Sprintf("LOCK TABLE %s.messages IN EXCLUSIVE MODE", pgx.Identifier{d.schema}.Sanitize())); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	release = func() { once.Do(func() { tx.Rollback(ctx) }) }
	t.Cleanup(release)
	return release
}

// waitGroup polls until cond holds on the insert group's state.
func waitGroup(t *testing.T, d *DB, what string, cond func(g *insertGroup) bool) {
	t.Helper()
	deadline := time.Now().Add(groupTestWait)
	for {
		d.inserts.mu.Lock()
		ok := cond(&d.inserts)
		d.inserts.mu.Unlock()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(time.Millisecond) // the group has no event to wait on
	}
}

// insertAsync starts an Insert of ms and returns its outcome channel.
func insertAsync(ctx context.Context, d *DB, ms ...*queuetype.Message) <-chan error {
	out := make(chan error, 1)
	go func() { out <- d.Insert(ctx, driver.InsertParams{Messages: ms}) }()
	return out
}

func awaitInsert(t *testing.T, ch <-chan error) error {
	t.Helper()
	select {
	case err := <-ch:
		return err
	case <-time.After(groupTestWait):
		t.Fatal("an insert did not return")
		return nil
	}
}

// startHeld starts one insert that waits behind the table lock and returns
// once it is the running statement, so later calls queue behind it.
func startHeld(t *testing.T, d *DB) <-chan error {
	t.Helper()
	first := insertAsync(context.Background(), d, groupMsg("first"))
	waitGroup(t, d, "the first insert to run", func(g *insertGroup) bool { return g.running == 1 && len(g.pending) == 0 })
	return first
}

// Twenty calls made while one statement runs are stored by one more
// statement, each with the seq the table gave its message.
func TestInsertGroup_FoldsCallsMadeWhileOneRuns(t *testing.T) {
	d := openGrouped(t)
	release := holdInserts(t, d)
	first := startHeld(t, d)
	const n = 20
	var ms []*queuetype.Message
	var outs []<-chan error
	for i := range n {
		m := groupMsg(fmt.Sprint("m", i))
		ms = append(ms, m)
		outs = append(outs, insertAsync(context.Background(), d, m))
	}
	waitGroup(t, d, "the calls to queue", func(g *insertGroup) bool { return len(g.pending) == n })
	release()
	if err := awaitInsert(t, first); err != nil {
		t.Fatal(err)
	}
	for _, out := range outs {
		if err := awaitInsert(t, out); err != nil {
			t.Fatal(err)
		}
	}
	if got := d.inserts.statements.Load(); got != 2 {
		t.Errorf("%d statements stored 1+%d calls, want 2 (the held one, then one for the queued calls)", got, n)
	}
	seen := map[int64]bool{}
	for _, m := range ms {
		stored, err := d.Get(context.Background(), m.ID)
		if err != nil {
			t.Fatal(err)
		}
		if m.Seq == 0 || stored.Seq != m.Seq || seen[m.Seq] {
			t.Errorf("message %s: seq %d given to the caller, %d stored (or given twice)", m.ID, m.Seq, stored.Seq)
		}
		seen[m.Seq] = true
	}
}

// A call whose message repeats a stored id fails with ErrDuplicate; the
// calls folded with it are stored.
func TestInsertGroup_ARefusedRowFailsOnlyItsCall(t *testing.T) {
	d := openGrouped(t)
	if err := d.Insert(context.Background(), driver.InsertParams{Messages: []*queuetype.Message{groupMsg("taken")}}); err != nil {
		t.Fatal(err)
	}
	release := holdInserts(t, d)
	first := startHeld(t, d)
	good := []<-chan error{insertAsync(context.Background(), d, groupMsg("a")), insertAsync(context.Background(), d, groupMsg("b"))}
	dup := insertAsync(context.Background(), d, groupMsg("taken"))
	good = append(good, insertAsync(context.Background(), d, groupMsg("c"), groupMsg("d")))
	waitGroup(t, d, "the calls to queue", func(g *insertGroup) bool { return len(g.pending) == 4 })
	release()
	for _, out := range append(good, first) {
		if err := awaitInsert(t, out); err != nil {
			t.Errorf("a call folded with a duplicate failed: %v", err)
		}
	}
	if err := awaitInsert(t, dup); !errors.Is(err, queuetype.ErrDuplicate) {
		t.Errorf("the duplicate's call: %v, want ErrDuplicate", err)
	}
	for _, id := range []string{"first", "a", "b", "c", "d"} {
		if _, err := d.Get(context.Background(), id); err != nil {
			t.Errorf("message %s: %v", id, err)
		}
	}
}

// A call that gives up while it waits for its turn returns its context's
// error and writes nothing.
func TestInsertGroup_AQueuedCallThatGivesUpWritesNothing(t *testing.T) {
	d := openGrouped(t)
	release := holdInserts(t, d)
	first := startHeld(t, d)
	ctx, cancel := context.WithCancel(context.Background())
	gaveUp := insertAsync(ctx, d, groupMsg("gave-up"))
	waitGroup(t, d, "the call to queue", func(g *insertGroup) bool { return len(g.pending) == 1 })
	cancel()
	if err := awaitInsert(t, gaveUp); !errors.Is(err, context.Canceled) {
		t.Fatalf("the call that gave up: %v, want context.Canceled", err)
	}
	release()
	if err := awaitInsert(t, first); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Get(context.Background(), "gave-up"); !errors.Is(err, queuetype.ErrNotFound) {
		t.Errorf("the message of a call that gave up before its turn: %v, want ErrNotFound", err)
	}
	waitGroup(t, d, "the group to go idle", func(g *insertGroup) bool { return g.running == 0 && len(g.pending) == 0 })
}

// BenchmarkInsertParallel32 sends one message per Insert from 32
// goroutines, with the calls folded into shared statements (as Insert
// does) and, for comparison in the same run, each on its own.
func BenchmarkInsertParallel32(b *testing.B) {
	for _, mode := range []struct {
		name string
		max  int
		off  bool
	}{{"grouped", 0, false}, {"grouped1", 1, false}, {"grouped2", 2, false}, {"alone", 0, true}} {
		b.Run(mode.name, func(b *testing.B) {
			d, err := Open(context.Background(), pgtest.DSN(), &Options{Schema: pgtest.Schema(b)})
			if err != nil {
				b.Fatal(err)
			}
			defer d.Close()
			d.inserts.max, d.inserts.off = mode.max, mode.off
			var n sync.Mutex
			next := 0
			b.SetParallelism(32)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					n.Lock()
					next++
					id := fmt.Sprint("p", next)
					n.Unlock()
					if err := d.Insert(context.Background(), driver.InsertParams{Messages: []*queuetype.Message{groupMsg(id)}}); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}
