package queuesqlite_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/queue-sqlite/queuesqlite"
	"github.com/queue-sqlite/queuesqlite/queuetype"
)

// changeLog records what a listener received.
type changeLog struct {
	mu  sync.Mutex
	got []*queuesqlite.Change
	ch  chan *queuesqlite.Change
}

func newChangeLog() *changeLog { return &changeLog{ch: make(chan *queuesqlite.Change, 10000)} }

func (l *changeLog) fn(ctx context.Context, c *queuesqlite.Change) error {
	l.mu.Lock()
	l.got = append(l.got, c)
	l.mu.Unlock()
	l.ch <- c
	return nil
}

func (l *changeLog) next(t *testing.T) *queuesqlite.Change {
	t.Helper()
	select {
	case c := <-l.ch:
		return c
	case <-time.After(testDeadline):
		t.Fatal("no change delivered")
		return nil
	}
}

func (l *changeLog) all() []*queuesqlite.Change {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]*queuesqlite.Change(nil), l.got...)
}

func setData(t *testing.T, q *queuesqlite.Queue, key string, v any) *queuesqlite.Change {
	t.Helper()
	c, err := q.SetListenData(context.Background(), key, v)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestListen_ValuesArriveAsSet(t *testing.T) {
	t.Parallel()
	q, _ := setup(t, fast())
	log := newChangeLog()
	if err := q.Listen("config", log.fn, nil); err != nil {
		t.Fatal(err)
	}
	start(t, q)
	setData(t, q, "config", "dark_mode=true")
	c := log.next(t)
	if c.Key != "config" || c.Old != nil || c.New.Kind != queuetype.ValueText || c.New.String() != "dark_mode=true" {
		t.Fatalf("first change: %+v", c)
	}
	setData(t, q, "config", json.RawMessage(`{"dark":true}`))
	c = log.next(t)
	if c.Old.String() != "dark_mode=true" || c.New.Kind != queuetype.ValueJSON || c.New.String() != `{"dark":true}` {
		t.Fatalf("second change: %+v", c)
	}
	if _, err := q.DeleteListenData(context.Background(), "config"); err != nil {
		t.Fatal(err)
	}
	if c = log.next(t); !c.Deleted() || c.Old.String() != `{"dark":true}` {
		t.Fatalf("deletion: %+v", c)
	}
	entries, _ := q.ListListenData(context.Background(), "")
	if len(entries) != 0 {
		t.Fatalf("entries after delete: %v", entries)
	}
}

func TestListen_EqualValueRecordsNothing(t *testing.T) {
	t.Parallel()
	q, _ := setup(t, fast())
	log := newChangeLog()
	q.Listen("k", log.fn, nil)
	start(t, q)
	for _, v := range []string{"a", "a", "b", "b", "a"} {
		setData(t, q, "k", v)
	}
	for _, want := range []string{"a", "b", "a"} {
		if c := log.next(t); c.New.String() != want {
			t.Fatalf("got %q, want %q", c.New.String(), want)
		}
	}
	st, _ := q.ListenStats(context.Background())
	if st.LastSeq-st.FirstSeq != 2 {
		t.Fatalf("change log %d..%d, want 3 entries", st.FirstSeq, st.LastSeq)
	}
}

func TestListen_NoListenersNothingLogged(t *testing.T) {
	t.Parallel()
	q, _ := setup(t, fast())
	start(t, q)
	for i := range 5 {
		setData(t, q, "k", i)
	}
	st, err := q.ListenStats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.LastSeq != 0 || len(st.Groups) != 0 {
		t.Fatalf("change log written without listeners: %+v", st)
	}
	e, err := q.GetListenData(context.Background(), "k")
	if err != nil || e.Value.String() != "4" || e.Version != 5 {
		t.Fatalf("value: %+v %v", e, err)
	}
}

func TestListen_OrderHoldsUnderConcurrentWriters(t *testing.T) {
	t.Parallel()
	q, _ := setup(t, fast())
	log := newChangeLog()
	q.ListenPrefix("", log.fn, nil)
	start(t, q)
	const writers, each = 8, 50
	var wg sync.WaitGroup
	var changed atomic.Int32
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				key := fmt.Sprint("key-", (w+i)%3)
				if c := setData(t, q, key, fmt.Sprint(w, "-", i)); c != nil {
					changed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	eventually(t, "every change delivered", func() bool { return len(log.all()) == int(changed.Load()) })
	last := map[string]int64{}
	prev := map[string]string{}
	for _, c := range log.all() {
		if c.Seq <= last[c.Key] {
			t.Fatalf("key %s: seq %d after %d", c.Key, c.Seq, last[c.Key])
		}
		if old := prev[c.Key]; c.Old != nil && c.Old.String() != old {
			t.Fatalf("key %s seq %d: old value %q, but the previous change set %q", c.Key, c.Seq, c.Old.String(), old)
		}
		last[c.Key], prev[c.Key] = c.Seq, c.New.String()
	}
}

func TestListen_FailuresAreRetriedAndIsolated(t *testing.T) {
	t.Parallel()
	q, _ := setup(t, fast())
	var panics, flaky atomic.Int32
	q.Listen("bad", func(ctx context.Context, c *queuesqlite.Change) error {
		panics.Add(1)
		panic("listener bug")
	}, &queuesqlite.ListenOpts{MaxAttempts: 3, Backoff: func(int) time.Duration { return 5 * time.Millisecond }})
	q.Listen("flaky", func(ctx context.Context, c *queuesqlite.Change) error {
		if flaky.Add(1) < 3 {
			return errors.New("not yet")
		}
		return nil
	}, &queuesqlite.ListenOpts{Backoff: func(int) time.Duration { return time.Millisecond }})
	good := newChangeLog()
	q.Listen("good", good.fn, nil)
	start(t, q)
	setData(t, q, "bad", 1)
	for i := range 5 {
		setData(t, q, "good", i)
		if c := good.next(t); c.New.String() != fmt.Sprint(i) {
			t.Fatalf("good listener got %q, want %d", c.New.String(), i)
		}
	}
	setData(t, q, "flaky", 1)
	eventually(t, "the bad change recorded as failed", func() bool {
		st, _ := q.ListenStats(context.Background())
		return len(st.Groups) == 1 && st.Groups[0].Failures == 1
	})
	if panics.Load() != 3 {
		t.Fatalf("panicking listener called %d times, want 3", panics.Load())
	}
	eventually(t, "flaky listener succeeds on its third call", func() bool { return flaky.Load() == 3 })
	// Delivery moved on: a later change of the bad key is delivered again.
	setData(t, q, "bad", 2)
	eventually(t, "the next bad change tried", func() bool { return panics.Load() == 6 })
	eventually(t, "the cursor passes every change", func() bool {
		st, _ := q.ListenStats(context.Background())
		return st.Groups[0].Lag == 0
	})
}

func TestListen_LatestOnlySkipsSupersededChanges(t *testing.T) {
	t.Parallel()
	q, _ := setup(t, fast())
	release := make(chan struct{})
	var seen []string
	var mu sync.Mutex
	q.Listen("k", func(ctx context.Context, c *queuesqlite.Change) error {
		mu.Lock()
		seen = append(seen, c.New.String())
		mu.Unlock()
		if c.New.String() == "1" {
			<-release
		}
		return nil
	}, &queuesqlite.ListenOpts{LatestOnly: true})
	start(t, q)
	setData(t, q, "k", "1")
	eventually(t, "first change in progress", func() bool { mu.Lock(); defer mu.Unlock(); return len(seen) == 1 })
	for _, v := range []string{"2", "3", "4"} {
		setData(t, q, "k", v)
	}
	close(release)
	eventually(t, "latest value seen", func() bool { mu.Lock(); defer mu.Unlock(); return seen[len(seen)-1] == "4" })
	mu.Lock()
	defer mu.Unlock()
	if fmt.Sprint(seen) != "[1 4]" {
		t.Fatalf("latest-only listener saw %v, want [1 4]", seen)
	}
}

func TestListen_ReplaysWhatItMissedAfterRestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := fast()
	cfg.ListenGroup = "reloader"
	open := func() *queuesqlite.Queue {
		q, err := queuesqlite.Open(dir, cfg)
		if err != nil {
			t.Fatal(err)
		}
		return q
	}
	first := newChangeLog()
	q := open()
	q.Listen("config", first.fn, nil)
	start(t, q)
	setData(t, q, "config", "v1")
	first.next(t)
	q.Close()

	// While the listener process is down, another writes three changes.
	writer := open()
	for _, v := range []string{"v2", "v3", "v4"} {
		setData(t, writer, "config", v)
	}
	writer.Close()

	again := newChangeLog()
	q = open()
	defer q.Close()
	q.Listen("config", again.fn, nil)
	start(t, q)
	for _, want := range []string{"v2", "v3", "v4"} {
		if c := again.next(t); c.New.String() != want {
			t.Fatalf("after restart got %q, want %q", c.New.String(), want)
		}
	}
}

func TestListen_AtomicSendAndSet(t *testing.T) {
	t.Parallel()
	q, _ := setup(t, fast())
	log := newChangeLog()
	q.Listen("state", log.fn, nil)
	q.Handle("job", func(ctx context.Context, m *queuesqlite.Message) (any, error) { return nil, nil }, nil)
	start(t, q)
	ctx := context.Background()
	var ids []string
	boom := errors.New("abort")
	err := q.InTx(ctx, func(tx *sql.Tx) error {
		var err error
		if ids, err = q.SendTx(ctx, tx, queuesqlite.NewMessage("job", 1)); err != nil {
			return err
		}
		if _, err := q.SetListenDataTx(ctx, tx, "state", "sent"); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatal(err)
	}
	if _, err := q.Get(ctx, ids[0]); !errors.Is(err, queuesqlite.ErrNotFound) {
		t.Fatalf("message of an aborted transaction: %v", err)
	}
	if _, err := q.GetListenData(ctx, "state"); !errors.Is(err, queuesqlite.ErrNotFound) {
		t.Fatalf("listen data of an aborted transaction: %v", err)
	}
	err = q.InTx(ctx, func(tx *sql.Tx) error {
		var err error
		if ids, err = q.SendTx(ctx, tx, queuesqlite.NewMessage("job", 2)); err != nil {
			return err
		}
		_, err = q.SetListenDataTx(ctx, tx, "state", "sent")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if c := log.next(t); c.New.String() != "sent" {
		t.Fatalf("change: %+v", c)
	}
	if m := wait(t, q, ids[0]); m.Status != queuesqlite.StatusCompleted {
		t.Fatalf("message: %s", m.Status)
	}
}

func TestListen_PruneAfterDelivery(t *testing.T) {
	t.Parallel()
	q, _ := setup(t, fast())
	log := newChangeLog()
	q.Listen("k", log.fn, nil)
	start(t, q)
	for i := range 10 {
		setData(t, q, "k", i)
	}
	for range 10 {
		log.next(t)
	}
	eventually(t, "cursor saved", func() bool {
		st, _ := q.ListenStats(context.Background())
		return st.Groups[0].Lag == 0
	})
	res, err := q.Cleanup(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	st, _ := q.ListenStats(context.Background())
	if res.ChangesPruned != 10 || st.FirstSeq != 0 {
		t.Fatalf("pruned %d, log now %d..%d", res.ChangesPruned, st.FirstSeq, st.LastSeq)
	}
	setData(t, q, "k", "after")
	if c := log.next(t); c.Seq != 11 {
		t.Fatalf("seq after pruning %d, want 11 (never reused)", c.Seq)
	}
}

func TestListen_WorksWithShards(t *testing.T) {
	t.Parallel()
	cfg := fast()
	cfg.Shards = 3
	q, _ := setup(t, cfg)
	log := newChangeLog()
	q.Listen("k", log.fn, nil)
	start(t, q)
	setData(t, q, "k", "v")
	if c := log.next(t); c.New.String() != "v" {
		t.Fatal(c)
	}
}

// TestListen_ChangeFromAnotherProcess runs a child process (this test
// binary) that sets a key; the parent's listener must receive it.
func TestListen_ChangeFromAnotherProcess(t *testing.T) {
	t.Parallel()
	q, dir := setup(t, &queuesqlite.Config{PollInterval: 5 * time.Millisecond, MaintenanceInterval: time.Hour})
	log := newChangeLog()
	q.Listen("remote", log.fn, nil)
	start(t, q)
	eventually(t, "the group exists", func() bool {
		st, _ := q.ListenStats(context.Background())
		return len(st.Groups) == 1
	})
	cmd := exec.Command(os.Args[0], "-test.run=^TestListenChild$")
	cmd.Env = append(os.Environ(), "QUEUESQLITE_LISTEN_CHILD="+dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	if c := log.next(t); c.Key != "remote" || c.New.String() != "from the child process" {
		t.Fatalf("change: %+v", c)
	}
}

// TestListenChild is the child of TestListen_ChangeFromAnotherProcess.
func TestListenChild(t *testing.T) {
	dir := os.Getenv("QUEUESQLITE_LISTEN_CHILD")
	if dir == "" {
		t.Skip("only runs as a child process")
	}
	q, err := queuesqlite.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	if _, err := q.SetListenData(context.Background(), "remote", "from the child process"); err != nil {
		t.Fatal(err)
	}
}
