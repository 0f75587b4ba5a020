package postgres_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/queue-sqlite/queuesqlite/driver"
	"github.com/queue-sqlite/queuesqlite/driver/postgres"
	"github.com/queue-sqlite/queuesqlite/internal/pgtest"
	"github.com/queue-sqlite/queuesqlite/queuetype"
)

// idleConns is how many connections the test keeps idle in the pool before
// the server ends them: the retry must get past every dead one.
const idleConns = 3

// openNamed opens a poll-only queue (no listen connection of its own)
// whose pool connects under a unique application_name, returned with it.
// The pool never pings a connection it hands out, so a dead one is found
// by the statement that uses it, whatever the timing.
func openNamed(t *testing.T) (*postgres.DB, *pgxpool.Pool, string) {
	t.Helper()
	schema := pgtest.Schema(t)
	cfg, err := pgxpool.ParseConfig(pgtest.DSN())
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	app := "qt_reread_" + hex.EncodeToString(b)
	cfg.ConnConfig.RuntimeParams["application_name"] = app
	cfg.MaxConns = idleConns + 1
	cfg.ShouldPing = func(context.Context, pgxpool.ShouldPingParams) bool { return false }
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	db, err := postgres.OpenPool(context.Background(), pool, &postgres.Options{Schema: schema, PollOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, pool, app
}

// fillPool leaves idleConns fresh connections idle in the pool (none left
// over from before).
func fillPool(t *testing.T, pool *pgxpool.Pool) {
	t.Helper()
	ctx := context.Background()
	pool.Reset()
	var held []*pgxpool.Conn
	defer func() {
		for _, c := range held {
			c.Release() // also on failure: a conn kept acquired would hang the pool's Close
		}
	}()
	for range idleConns {
		c, err := pool.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
		if err := c.Ping(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

// terminate ends, from a connection of its own, every server connection
// named app, and waits until the server has none left.
func terminate(t *testing.T, app string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pgtest.DSN())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1`,
		app).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n < idleConns {
		t.Fatalf("terminated %d connections, want the %d idle ones at least", n, idleConns)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE application_name = $1`, app).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d terminated connections still there after 30s", n)
		}
		time.Sleep(5 * time.Millisecond) // polling the server's view: nothing to wait on
	}
}

// Every read succeeds right after the server ended all the pool's
// connections: it runs once more, after the pool dropped the dead ones.
func TestReads_SurviveTerminatedConnections(t *testing.T) {
	db, pool, app := openNamed(t)
	ctx := context.Background()
	insertM1(t, db)
	reads := []struct {
		name string
		read func() error
	}{
		{"Get", func() error { got, err := db.Get(ctx, "m1"); wantID(t, got, err); return err }},
		{"List", func() error { _, err := db.List(ctx, driver.ListParams{}); return err }},
		{"Stats", func() error { _, err := db.Stats(ctx); return err }},
		{"Finished", func() error { _, err := db.Finished(ctx, "me", 10); return err }},
		{"Head", func() error { _, _, err := db.Head(ctx, []string{"x"}); return err }},
		{"Meta", func() error { _, _, err := db.Meta(ctx, "store_id"); return err }},
		{"Owners", func() error { _, err := db.Owners(ctx); return err }},
		{"Leader", func() error { _, _, err := db.Leader(ctx, "maintenance"); return err }},
		{"NextDue", func() error { _, _, err := db.NextDue(ctx); return err }},
		{"Now", func() error { _, err := db.Now(ctx); return err }},
		{"Paused", func() error { _, err := db.Paused(ctx); return err }},
		{"ListenHead", func() error { _, _, err := db.ListenHead(ctx); return err }},
		{"ListenGroups", func() error { _, err := db.ListenGroups(ctx); return err }},
		{"Check", func() error { return db.Check(ctx) }},
	}
	for _, r := range reads {
		fillPool(t, pool)
		terminate(t, app)
		if err := r.read(); err != nil {
			t.Errorf("%s after the server ended the pool's connections: %v", r.name, err)
		}
	}
}

// insertM1 stores a pending message "m1" for destination x, created now
// (returned), before any connection is ended.
func insertM1(t *testing.T, db *postgres.DB) time.Time {
	t.Helper()
	now := time.Now().UTC().Truncate(time.Microsecond)
	m := &queuetype.Message{ID: "m1", Type: queuetype.TypeTask, Status: queuetype.StatusPending, Destination: "x",
		Source: queuetype.SourceDefault, Content: []byte(`1`), MaxAttempts: 1, CreatedAt: now, UpdatedAt: now, RunAt: now}
	if err := db.Insert(context.Background(), driver.InsertParams{Messages: []*queuetype.Message{m}}); err != nil {
		t.Fatal(err)
	}
	return now
}

func wantID(t *testing.T, m *queuetype.Message, err error) {
	t.Helper()
	if err == nil && m.ID != "m1" {
		t.Errorf("Get read %q, want m1", m.ID)
	}
}

// A heartbeat and a lease renewal, the writes that may run twice, succeed
// right after the server ended all the pool's connections: after a
// restart, a live owner whose beat failed once per dead connection could
// stay silent for a lease and be rescued as dead.
func TestIdempotentWrites_SurviveTerminatedConnections(t *testing.T) {
	db, pool, app := openNamed(t)
	ctx := context.Background()
	now := insertM1(t, db)
	claimed, err := db.Claim(ctx, driver.ClaimParams{Destinations: []string{"x"}, Max: 1, Owner: "o1", Now: now,
		LeaseUntil: now.Add(time.Minute), Me: "me"})
	if err != nil || len(claimed) != 1 {
		t.Fatalf("claim: %d claimed, %v", len(claimed), err)
	}
	fillPool(t, pool)
	terminate(t, app)
	if err := db.BeatOwner(ctx, driver.OwnerParams{Owner: "o1", Lease: time.Minute, Now: now}); err != nil {
		t.Errorf("heartbeat after the server ended the pool's connections: %v", err)
	}
	fillPool(t, pool)
	terminate(t, app)
	held, err := db.ExtendLeases(ctx, driver.LeaseParams{Owner: "o1", Seqs: []int64{claimed[0].Seq},
		Attempts: []int{claimed[0].Attempt}, Until: now.Add(2 * time.Minute)})
	if err != nil || len(held) != 1 || held[0] != claimed[0].Seq {
		t.Errorf("lease renewal after the server ended the pool's connections: held %v, %v; want [%d]", held, err, claimed[0].Seq)
	}
	owners, err := db.Owners(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(owners) != 1 || owners[0].Owner != "o1" || owners[0].NoRow {
		t.Errorf("owners after the heartbeat: %+v, want o1 with a row", owners)
	}
}
