// Package backendtest lets the root tests and the reliability suite run
// against every storage backend: each backend makes stores, and a store
// opens any number of queue instances on itself (as several processes or
// hosts would). A store is also named by a spec string, so a child process
// opens the same store.
package backendtest

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/queue-sqlite/queuesqlite"
	"github.com/queue-sqlite/queuesqlite/driver/postgres"
	_ "github.com/queue-sqlite/queuesqlite/driver/sqlite" // the SQLite backend of queuesqlite.Open
	"github.com/queue-sqlite/queuesqlite/internal/pgtest"
)

// Store is one queue's storage, on which tests open queue instances.
type Store interface {
	// Spec names the store for OpenSpec (in a child process).
	Spec() string
	// Open opens a new queue instance on the store, closed when t ends.
	Open(t testing.TB, cfg *queuesqlite.Config) *queuesqlite.Queue
}

// Backend makes stores of one storage engine.
type Backend struct {
	Name string
	// NewStore makes a fresh, empty store, removed when t ends.
	NewStore func(t testing.TB) Store
}

// specSep separates a spec's backend name from its address.
const specSep = ":"

// backends are the engines the tests run on, in order; each entry's
// available reports "" when it can run here, or why not.
var backends = []struct {
	backend   Backend
	available func() string
	open      func(addr string, cfg *queuesqlite.Config) (*queuesqlite.Queue, error)
}{
	{Backend{Name: "sqlite", NewStore: newSQLiteStore}, func() string { return "" }, openSQLite},
	{Backend{Name: shardedName, NewStore: newShardedStore}, func() string { return "" }, openSharded},
	{Backend{Name: "postgres", NewStore: newPostgresStore}, pgtest.Unavailable, openPostgres},
	{Backend{Name: "pgbouncer", NewStore: newBouncerStore}, pgtest.BouncerUnavailable, openBouncer},
}

// All returns the backends available here. A backend that cannot run (no
// server) is left out with one log line, except with CI=true, where that
// fails t: CI runs every backend.
func All(t testing.TB) []Backend {
	t.Helper()
	var out []Backend
	for _, b := range backends {
		if why := b.available(); why != "" {
			if os.Getenv("CI") == "true" {
				t.Fatalf("backend %s is not available under CI=true: %s", b.backend.Name, why)
			}
			t.Logf("backend %s skipped: %s", b.backend.Name, why)
			continue
		}
		out = append(out, b.backend)
	}
	return out
}

// Run runs fn as a subtest per available backend, each with a fresh store.
func Run(t *testing.T, fn func(t *testing.T, s Store)) {
	t.Helper()
	for _, b := range All(t) {
		t.Run(b.Name, func(t *testing.T) { fn(t, b.NewStore(t)) })
	}
}

// OpenSpec opens a queue instance on the store a spec names.
func OpenSpec(spec string, cfg *queuesqlite.Config) (*queuesqlite.Queue, error) {
	name, addr, ok := strings.Cut(spec, specSep)
	if !ok {
		return nil, fmt.Errorf("backendtest: bad store spec %q", spec)
	}
	for _, b := range backends {
		if b.backend.Name == name {
			return b.open(addr, cfg)
		}
	}
	return nil, fmt.Errorf("backendtest: no backend %q", name)
}

// openIn opens a spec's queue and registers its Close with t.
func openIn(t testing.TB, spec string, cfg *queuesqlite.Config) *queuesqlite.Queue {
	t.Helper()
	q, err := OpenSpec(spec, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close() })
	return q
}

// sqliteStore is a queue directory.
type sqliteStore struct{ dir string }

func newSQLiteStore(t testing.TB) Store { return &sqliteStore{dir: t.TempDir() + "/queue"} }

func (s *sqliteStore) Spec() string { return "sqlite" + specSep + s.dir }

func (s *sqliteStore) Open(t testing.TB, cfg *queuesqlite.Config) *queuesqlite.Queue {
	return openIn(t, s.Spec(), cfg)
}

func openSQLite(dir string, cfg *queuesqlite.Config) (*queuesqlite.Queue, error) {
	return queuesqlite.Open(dir, cfg)
}

// shardedName names the backend of SQLite directories of shardedCount
// shards: the queue over package driver/shard.
const shardedName = "sqlite-sharded"

// shardedCount is the shard count of a sharded store.
const shardedCount = 3

// shardedStore is a queue directory of shardedCount shards.
type shardedStore struct{ dir string }

func newShardedStore(t testing.TB) Store { return &shardedStore{dir: t.TempDir() + "/queue"} }

func (s *shardedStore) Spec() string { return shardedName + specSep + s.dir }

func (s *shardedStore) Open(t testing.TB, cfg *queuesqlite.Config) *queuesqlite.Queue {
	return openIn(t, s.Spec(), cfg)
}

// Sharded reports whether s is a store of several shards, where global
// limits are refused (each shard would count on its own).
func Sharded(s Store) bool {
	_, ok := s.(*shardedStore)
	return ok
}

func openSharded(dir string, cfg *queuesqlite.Config) (*queuesqlite.Queue, error) {
	var c queuesqlite.Config
	if cfg != nil {
		c = *cfg
	}
	c.Shards = shardedCount
	return queuesqlite.Open(dir, &c)
}

// postgresStore is a schema on the test server (pgtest).
type postgresStore struct{ schema string }

func newPostgresStore(t testing.TB) Store { return &postgresStore{schema: pgtest.Schema(t)} }

func (s *postgresStore) Spec() string { return "postgres" + specSep + s.schema }

func (s *postgresStore) Open(t testing.TB, cfg *queuesqlite.Config) *queuesqlite.Queue {
	return openIn(t, s.Spec(), cfg)
}

// openPostgres opens a queue on a schema of the test server; a DSN can
// come before the schema ("postgres:<schema>@<dsn>"), for a child process
// in a lab host that reaches another server.
func openPostgres(addr string, cfg *queuesqlite.Config) (*queuesqlite.Queue, error) {
	return openPostgresWith(addr, cfg, postgres.Options{})
}

func openPostgresWith(addr string, cfg *queuesqlite.Config, o postgres.Options) (*queuesqlite.Queue, error) {
	schema, dsn, ok := strings.Cut(addr, "@")
	if !ok {
		dsn = pgtest.DSN()
	}
	o.Schema = schema
	db, err := postgres.Open(context.Background(), dsn, &o)
	if err != nil {
		return nil, err
	}
	q, err := queuesqlite.New(cfg, db)
	if err != nil {
		db.Close()
		return nil, err
	}
	return q, nil
}

// bouncerStore is a schema on the test server reached through a PgBouncer
// of its own in transaction pooling mode (pgtest.Bouncer), poll-only.
type bouncerStore struct{ schema, dsn string }

func newBouncerStore(t testing.TB) Store {
	return &bouncerStore{schema: pgtest.Schema(t), dsn: pgtest.Bouncer(t)}
}

func (s *bouncerStore) Spec() string { return "pgbouncer" + specSep + s.schema + "@" + s.dsn }

func (s *bouncerStore) Open(t testing.TB, cfg *queuesqlite.Config) *queuesqlite.Queue {
	return openIn(t, s.Spec(), cfg)
}

func openBouncer(addr string, cfg *queuesqlite.Config) (*queuesqlite.Queue, error) {
	return openPostgresWith(addr, cfg, postgres.Options{PollOnly: true})
}
