package postgres_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/queue-sqlite/queuesqlite/driver"
	"github.com/queue-sqlite/queuesqlite/driver/postgres"
	"github.com/queue-sqlite/queuesqlite/internal/pgtest"
	"github.com/queue-sqlite/queuesqlite/queuetype"
)

// exec runs one statement on the test server.
func exec(t *testing.T, sql string) {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), pgtest.DSN())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), sql); err != nil {
		t.Fatal(err)
	}
}

func TestOpen_NewerSchemaIsRefusedUntouched(t *testing.T) {
	schema := pgtest.Schema(t)
	db := openSchema(t, schema, nil)
	db.Close()
	exec(t, `INSERT INTO `+schema+`.schema_version (version) VALUES (999)`)
	_, err := postgres.Open(context.Background(), pgtest.DSN(), &postgres.Options{Schema: schema})
	if !errors.Is(err, queuetype.ErrSchemaTooNew) || !strings.Contains(err.Error(), "999") {
		t.Fatalf("open of a newer schema: %v, want ErrSchemaTooNew naming version 999", err)
	}
}

func TestOpen_SchemaOfSomethingElseIsRefused(t *testing.T) {
	schema := pgtest.Schema(t)
	exec(t, `CREATE SCHEMA `+schema+`; CREATE TABLE `+schema+`.orders (id int)`)
	_, err := postgres.Open(context.Background(), pgtest.DSN(), &postgres.Options{Schema: schema})
	if !errors.Is(err, queuetype.ErrInvalidArgument) || !strings.Contains(err.Error(), "not a queue's") {
		t.Fatalf("open of another application's schema: %v, want ErrInvalidArgument", err)
	}
}

func TestOpen_NoCreateRefusesAMissingQueue(t *testing.T) {
	schema := pgtest.Schema(t)
	_, err := postgres.Open(context.Background(), pgtest.DSN(), &postgres.Options{Schema: schema, NoCreate: true})
	if !errors.Is(err, queuetype.ErrNotFound) {
		t.Fatalf("NoCreate open of a missing queue: %v, want ErrNotFound", err)
	}
	db := openSchema(t, schema, nil) // and it created nothing: a normal open creates it now
	if _, err := postgres.Open(context.Background(), pgtest.DSN(), &postgres.Options{Schema: schema, NoCreate: true}); err != nil {
		t.Fatalf("NoCreate open of an existing queue: %v", err)
	}
	_ = db
}

func TestOpen_BadOptionsAndDSN(t *testing.T) {
	pgtest.Require(t)
	for _, schema := range []string{"bad-name", "x;drop", "1abc", strings.Repeat("a", 49)} {
		_, err := postgres.Open(context.Background(), pgtest.DSN(), &postgres.Options{Schema: schema})
		if !errors.Is(err, queuetype.ErrInvalidArgument) {
			t.Errorf("schema %q: %v, want ErrInvalidArgument", schema, err)
		}
	}
	_, err := postgres.Open(context.Background(), "postgres://u:s3cret@127.0.0.1:1/db?connect_timeout=1", nil)
	if err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("open of an unreachable server: %v, want an error without the password", err)
	}
	_, err = postgres.Open(context.Background(), "::not a dsn", nil)
	if !errors.Is(err, queuetype.ErrInvalidArgument) {
		t.Fatalf("open with a malformed DSN: %v, want ErrInvalidArgument", err)
	}
}

// Many processes opening one new queue at once migrate it once.
func TestOpen_ConcurrentOpensMigrateOnce(t *testing.T) {
	schema := pgtest.Schema(t)
	errs := make(chan error, 8)
	ids := make(chan string, 8)
	for range 8 {
		go func() {
			db, err := postgres.Open(context.Background(), pgtest.DSN(), &postgres.Options{Schema: schema})
			if err == nil {
				ids <- db.StoreID()
				db.Close()
			}
			errs <- err
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	first := <-ids
	for range 7 {
		if id := <-ids; id != first {
			t.Fatalf("store ids %s and %s: the schema was created twice", first, id)
		}
	}
}

// A transaction on the queue's own database reaches its tables, whatever
// pool it was begun on: it is not foreign, and its messages commit with it.
func TestInsertTx_TransactionOfTheSameDatabaseWorks(t *testing.T) {
	a := openSchema(t, pgtest.Schema(t), nil)
	b := openSchema(t, pgtest.Schema(t), nil)
	ctx := context.Background()
	tx, err := b.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	m := &queuetype.Message{ID: "m1", Type: queuetype.TypeTask, Status: queuetype.StatusPending, Destination: "x",
		Source: queuetype.SourceDefault, Content: []byte(`1`), MaxAttempts: 1}
	m.CreatedAt = m.CreatedAt.Add(1)
	m.RunAt = m.CreatedAt
	if err := a.InsertTx(ctx, tx, driver.InsertParams{Messages: []*queuetype.Message{m}}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Get(ctx, "m1"); !errors.Is(err, queuetype.ErrNotFound) {
		t.Fatalf("before commit: %v, want ErrNotFound", err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Get(ctx, "m1"); err != nil {
		t.Fatalf("after commit: %v", err)
	}
	if _, err := b.Get(ctx, "m1"); !errors.Is(err, queuetype.ErrNotFound) {
		t.Fatalf("the other queue holds it: %v", err)
	}
}
