package migrate_test

import (
	"bufio"
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
	"github.com/queue-sqlite/queuesqlite/driver/postgres"
	"github.com/queue-sqlite/queuesqlite/driver/sqlite"
	"github.com/queue-sqlite/queuesqlite/internal/pgtest"
	"github.com/queue-sqlite/queuesqlite/migrate"
)

// The child role: move the source given in the environment, printing
// progress lines, so the parent can kill it half-way.
const (
	roleEnv = "MIGRATE_TEST_ROLE"
	fromEnv = "MIGRATE_TEST_FROM"
	toEnv   = "MIGRATE_TEST_TO"
)

func TestMain(m *testing.M) {
	if os.Getenv(roleEnv) == "mover" {
		os.Exit(moverRole())
	}
	os.Exit(m.Run())
}

func moverRole() int {
	dst, closeDst, err := openSpec(os.Getenv(toEnv))
	if err != nil {
		fmt.Println("error", err)
		return 1
	}
	defer closeDst()
	_, err = migrate.FromDir(context.Background(), os.Getenv(fromEnv), dst, &migrate.Options{BatchSize: 500,
		Progress: func(done, total int) { fmt.Printf("progress %d %d\n", done, total) }})
	if err != nil {
		fmt.Println("error", err)
		return 1
	}
	fmt.Println("done")
	return 0
}

// snapshot is what a test compares between source and destination.
type snapshot map[string]string

func messagesOf(t *testing.T, q *queuesqlite.Queue) snapshot {
	t.Helper()
	out := snapshot{}
	cursor := ""
	for {
		page, err := q.ListPage(context.Background(), &queuesqlite.ListOpts{Limit: queuesqlite.ListPageMax}, cursor)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range page.Messages {
			out[m.ID] = fmt.Sprintf("%s %v attempt=%d result=%s err=%q prio=%d content=%s created=%d", m.Destination, m.Status,
				m.Attempt, m.Result, m.LastError, m.Priority, m.Content, m.CreatedAt.UnixMicro())
		}
		if page.Next == "" {
			return out
		}
		cursor = page.Next
	}
}

// target is a kind of destination a move is tested into.
type target struct {
	name string
	// open opens a fresh destination, a queue over it (closed when t ends)
	// and the spec a child process opens it by.
	open func(t *testing.T) (migrate.Destination, *queuesqlite.Queue, string)
}

// targets are the destinations available here: SQLite always, PostgreSQL
// when a server is (and always under CI=true).
func targets(t *testing.T) []target {
	out := []target{{"sqlite", openSQLiteTarget}}
	if pgtest.Unavailable() == "" || os.Getenv("CI") == "true" {
		out = append(out, target{"postgres", openPostgresTarget})
	} else {
		t.Logf("PostgreSQL destination skipped: %s", pgtest.Unavailable())
	}
	return out
}

func openSQLiteTarget(t *testing.T) (migrate.Destination, *queuesqlite.Queue, string) {
	dir := filepath.Join(t.TempDir(), "dst")
	dst, err := sqlite.OpenDir(context.Background(), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	q, err := queuesqlite.New(nil, dst.Drivers()...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close(); dst.Release() })
	return dst.DBs[0], q, "sqlite:" + dir
}

func openPostgresTarget(t *testing.T) (migrate.Destination, *queuesqlite.Queue, string) {
	schema := pgtest.Schema(t)
	db, err := postgres.Open(context.Background(), pgtest.DSN(), &postgres.Options{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	q, err := queuesqlite.New(nil, db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close() })
	return db, q, "postgres:" + schema
}

// openSpec opens the destination a spec names, in a child process.
func openSpec(spec string) (migrate.Destination, func(), error) {
	kind, addr, _ := strings.Cut(spec, ":")
	if kind == "postgres" {
		db, err := postgres.Open(context.Background(), pgtest.DSN(), &postgres.Options{Schema: addr})
		if err != nil {
			return nil, nil, err
		}
		return db, func() { db.Close() }, nil
	}
	dst, err := sqlite.OpenDir(context.Background(), addr, nil)
	if err != nil {
		return nil, nil, err
	}
	return dst.DBs[0], func() { dst.Close() }, nil
}

// buildSource makes a stopped queue with messages in several statuses,
// listen data and a listener group, and returns its snapshot.
func buildSource(t *testing.T, dir string, shards int) (snapshot, string) {
	t.Helper()
	ctx := context.Background()
	q, err := queuesqlite.Open(dir, &queuesqlite.Config{Shards: shards, MaintenanceInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	heard := make(chan struct{}, 10)
	if err := q.Listen("config", func(context.Context, *queuesqlite.Change) error { heard <- struct{}{}; return nil }, nil); err != nil {
		t.Fatal(err)
	}
	if err := q.Handle("ok", func(_ context.Context, m *queuesqlite.Message) (any, error) { return "done:" + m.ID, nil }, nil); err != nil {
		t.Fatal(err)
	}
	if err := q.Handle("bad", func(context.Context, *queuesqlite.Message) (any, error) {
		return nil, fmt.Errorf("no: %w", queuesqlite.ErrSkipRetry)
	}, nil); err != nil {
		t.Fatal(err)
	}
	if err := q.Start(ctx); err != nil {
		t.Fatal(err)
	}
	var finished []string
	for i := range 20 {
		dest := map[bool]string{true: "ok", false: "bad"}[i%3 != 0]
		m := queuesqlite.NewMessage(dest, i)
		m.Priority = queuesqlite.Priority(i % 4)
		id, err := q.Send(ctx, m, nil)
		if err != nil {
			t.Fatal(err)
		}
		finished = append(finished, id)
	}
	for _, id := range finished {
		wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		if _, err := q.Wait(wctx, id); err != nil {
			t.Fatal(err)
		}
		cancel()
	}
	later := queuesqlite.NewMessage("nobody", "later")
	later.Delay = time.Hour
	if _, err := q.Send(ctx, later, nil); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, err := q.SetListenData(ctx, "config", i); err != nil {
			t.Fatal(err)
		}
		<-heard
	}
	if _, err := q.SetListenData(ctx, "other", "x"); err != nil {
		t.Fatal(err)
	}
	want := messagesOf(t, q)
	if err := q.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	st, err := q.ListenStats(ctx)
	if err != nil || len(st.Groups) != 1 {
		t.Fatalf("listen stats: %+v %v", st, err)
	}
	return want, fmt.Sprint(st.Groups[0].Cursor)
}

func TestFromDir_MovesEverything(t *testing.T) {
	for _, tg := range targets(t) {
		for _, shards := range []int{1, 3} {
			t.Run(fmt.Sprint(tg.name, "/", shards, "shards"), func(t *testing.T) { testMovesEverything(t, tg, shards) })
		}
	}
}

func testMovesEverything(t *testing.T, tg target, shards int) {
	src := filepath.Join(t.TempDir(), "src")
	want, cursor := buildSource(t, src, shards)
	dst, q, _ := tg.open(t)
	res, err := migrate.FromDir(context.Background(), src, dst, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Messages != len(want) || res.Resumed || res.ListenValues != 2 || res.Groups != 1 {
		t.Fatalf("result %+v, want %d messages, 2 listen values, 1 group", res, len(want))
	}
	got := messagesOf(t, q)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("destination holds\n%v\nwant\n%v", got, want)
	}
	e, err := q.GetListenData(context.Background(), "config")
	if err != nil || e.Value.String() != "2" {
		t.Fatalf("listen value config: %+v %v", e, err)
	}
	st, err := q.ListenStats(context.Background())
	if err != nil || len(st.Groups) != 1 || fmt.Sprint(st.Groups[0].Cursor) != cursor || st.LastSeq < st.Groups[0].Cursor {
		t.Fatalf("listen stats after the move: %+v %v, want the group at %s", st, err, cursor)
	}
	// A repeated move changes nothing and says it resumed.
	res, err = migrate.FromDir(context.Background(), src, dst, nil)
	if err != nil || !res.Resumed {
		t.Fatalf("repeated move: %+v %v", res, err)
	}
	if got := messagesOf(t, q); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("after a repeated move the destination holds %d messages, want %d", len(got), len(want))
	}
}

func TestFromDir_RefusesAQueueThatIsOpen(t *testing.T) {
	src := filepath.Join(t.TempDir(), "src")
	q, err := queuesqlite.Open(src, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	dst, _, _ := openSQLiteTarget(t)
	_, err = migrate.FromDir(context.Background(), src, dst, nil)
	if err == nil || !strings.Contains(err.Error(), "stop every process") {
		t.Fatalf("move of an open queue: %v, want a refusal naming the fix", err)
	}
}

func TestFromDir_RefusesADifferentMessageWithTheSameID(t *testing.T) {
	for _, tg := range targets(t) {
		t.Run(tg.name, func(t *testing.T) { testRefusesSameID(t, tg) })
	}
}

func testRefusesSameID(t *testing.T, tg target) {
	ctx := context.Background()
	src := filepath.Join(t.TempDir(), "src")
	q, err := queuesqlite.Open(src, nil)
	if err != nil {
		t.Fatal(err)
	}
	m := queuesqlite.NewMessage("x", "from the source")
	m.ID = "same-id"
	if _, err := q.Send(ctx, m, nil); err != nil {
		t.Fatal(err)
	}
	q.Close()
	dst, d, _ := tg.open(t)
	other := queuesqlite.NewMessage("x", "already in the destination")
	other.ID = "same-id"
	if _, err := d.Send(ctx, other, nil); err != nil {
		t.Fatal(err)
	}
	_, err = migrate.FromDir(ctx, src, dst, nil)
	if !errors.Is(err, queuesqlite.ErrDuplicate) || !strings.Contains(err.Error(), "same-id") {
		t.Fatalf("move over a different message with the same id: %v, want ErrDuplicate naming it", err)
	}
}

// A move killed half-way (SIGKILL) and run again ends with every message
// in the destination once.
func TestFromDir_KilledHalfwayResumes(t *testing.T) {
	for _, tg := range targets(t) {
		t.Run(tg.name, func(t *testing.T) { testKilledHalfway(t, tg) })
	}
}

func testKilledHalfway(t *testing.T, tg target) {
	n := 100_000
	if testing.Short() {
		n = 10_000
	}
	ctx := context.Background()
	src := filepath.Join(t.TempDir(), "src")
	q, err := queuesqlite.Open(src, &queuesqlite.Config{Shards: 2})
	if err != nil {
		t.Fatal(err)
	}
	for sent := 0; sent < n; {
		batch := make([]*queuesqlite.Message, min(5000, n-sent))
		for i := range batch {
			batch[i] = queuesqlite.NewMessage("job", sent+i)
		}
		if _, err := q.SendBatch(ctx, batch, nil); err != nil {
			t.Fatal(err)
		}
		sent += len(batch)
	}
	want := messagesOf(t, q)
	q.Close()
	dst, dq, spec := tg.open(t)

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), roleEnv+"=mover", fromEnv+"="+src, toEnv+"="+spec)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	killedAt := -1
	for sc.Scan() {
		var done, total int
		if _, err := fmt.Sscanf(sc.Text(), "progress %d %d", &done, &total); err == nil && done >= total/2 {
			killedAt = done
			_ = cmd.Process.Kill()
			break
		}
		if strings.HasPrefix(sc.Text(), "done") || strings.HasPrefix(sc.Text(), "error") {
			t.Fatalf("the mover ended before it was killed: %s", sc.Text())
		}
	}
	_ = cmd.Wait()
	if killedAt < 0 {
		t.Fatal("the mover printed no progress")
	}

	res, err := migrate.FromDir(ctx, src, dst, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Resumed || res.Messages != n {
		t.Fatalf("resumed move: %+v, want resumed with %d messages", res, n)
	}
	got := messagesOf(t, dq)
	if len(got) != n || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("destination holds %d messages after the resumed move, want the %d of the source", len(got), n)
	}
	t.Logf("%d messages; the first move was killed after %d, the second finished", n, killedAt)
}
