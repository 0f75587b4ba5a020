package postgres

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/queue-sqlite/queuesqlite/driver"
	"github.com/queue-sqlite/queuesqlite/internal/pgtest"
	"github.com/queue-sqlite/queuesqlite/queuetype"
)

const showIdleInTx = `SHOW idle_in_transaction_session_timeout`

// openIdle opens a queue in a fresh schema with the given timeout.
func openIdle(t *testing.T, idleInTx time.Duration) *DB {
	t.Helper()
	d, err := Open(context.Background(), pgtest.DSN(), &Options{Schema: pgtest.Schema(t), IdleInTxTimeout: idleInTx})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// serverIdleInTx is the setting of a session the queue did not touch.
func serverIdleInTx(t *testing.T) string {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), pgtest.DSN())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var v string
	if err := conn.QueryRow(context.Background(), showIdleInTx).Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// inQueueTx reads the setting inside a transaction the driver opens.
func inQueueTx(t *testing.T, d *DB) string {
	t.Helper()
	var v string
	if err := d.tx(context.Background(), func(tx pgx.Tx) error {
		return tx.QueryRow(context.Background(), showIdleInTx).Scan(&v)
	}); err != nil {
		t.Fatal(err)
	}
	return v
}

// The queue's own transactions carry the idle-in-transaction timeout
// (the default, a chosen one, or none when negative), and only for the
// transaction: the pool's sessions keep the server's setting.
func TestTx_QueueTransactionsSetIdleInTransactionTimeout(t *testing.T) {
	server := serverIdleInTx(t)
	for _, c := range []struct {
		opt  time.Duration
		want string
	}{
		{0, "10s"},
		{1500 * time.Millisecond, "1500ms"},
		{-1, server},
	} {
		d := openIdle(t, c.opt)
		if got := inQueueTx(t, d); got != c.want {
			t.Errorf("IdleInTxTimeout %v: %q inside the queue's transaction, want %q", c.opt, got, c.want)
		}
		var after string
		if err := d.pool.QueryRow(context.Background(), showIdleInTx).Scan(&after); err != nil {
			t.Fatal(err)
		}
		if after != server {
			t.Errorf("IdleInTxTimeout %v: %q on the pool after the transaction, want the server's %q (SET LOCAL)", c.opt, after, server)
		}
	}
}

// A transaction of the caller's (InsertTx on the application's pgx.Tx or
// *sql.Tx) keeps its own setting: the queue does not alter it.
func TestTx_CallerTransactionKeepsItsIdleInTransactionTimeout(t *testing.T) {
	d := openIdle(t, 1500*time.Millisecond)
	server := serverIdleInTx(t)
	ctx := context.Background()
	msg := func(id string) driver.InsertParams {
		now := time.Now().UTC()
		return driver.InsertParams{Messages: []*queuetype.Message{{ID: id, Type: queuetype.TypeTask,
			Status: queuetype.StatusPending, Destination: "x", Source: queuetype.SourceDefault, Content: []byte(`1`),
			MaxAttempts: 1, CreatedAt: now, UpdatedAt: now, RunAt: now}}}
	}
	tx, err := d.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if err := d.InsertTx(ctx, tx, msg("native")); err != nil {
		t.Fatal(err)
	}
	var got string
	if err := tx.QueryRow(ctx, showIdleInTx).Scan(&got); err != nil {
		t.Fatal(err)
	}
	if got != server {
		t.Errorf("the caller's pgx.Tx after InsertTx: %q, want its own %q", got, server)
	}
	app, err := d.AppDB()
	if err != nil {
		t.Fatal(err)
	}
	stx, err := app.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer stx.Rollback()
	if err := d.InsertTx(ctx, stx, msg("app")); err != nil {
		t.Fatal(err)
	}
	if err := stx.QueryRowContext(ctx, showIdleInTx).Scan(&got); err != nil {
		t.Fatal(err)
	}
	if got != server {
		t.Errorf("the caller's *sql.Tx after InsertTx: %q, want its own %q", got, server)
	}
}

// A process that stalls inside one of the queue's transactions does not
// hold it open: the server ends its session after the timeout, and the
// transaction (with its locks) is gone.
func TestTx_StalledQueueTransactionIsEndedByTheServer(t *testing.T) {
	const idle = 50 * time.Millisecond
	d := openIdle(t, idle)
	ctx := context.Background()
	watch, err := pgx.Connect(ctx, pgtest.DSN())
	if err != nil {
		t.Fatal(err)
	}
	defer watch.Close(ctx)
	err = d.tx(ctx, func(tx pgx.Tx) error {
		var pid int32
		if err := tx.QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&pid); err != nil {
			return err
		}
		// Stall, idle in the transaction, until the server ends the session.
		deadline := time.Now().Add(30 * time.Second)
		for {
			var n int
			if err := watch.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE pid = $1`, pid).Scan(&n); err != nil {
				return err
			}
			if n == 0 {
				return nil
			}
			if time.Now().After(deadline) {
				t.Fatalf("the session idle in the queue's transaction is still there after 30s (timeout %v)", idle)
			}
			time.Sleep(5 * time.Millisecond) // polling the server's view: nothing to wait on
		}
	})
	if err == nil {
		t.Fatal("the commit of a transaction the server ended succeeded")
	}
}

func TestOptions_IdleInTxTimeoutBeyondTheServersMaximumIsRefused(t *testing.T) {
	_, err := (&Options{IdleInTxTimeout: idleInTxTimeoutMax + time.Millisecond}).withDefaults()
	if !errors.Is(err, queuetype.ErrInvalidArgument) {
		t.Fatalf("IdleInTxTimeout past %v: %v, want ErrInvalidArgument", idleInTxTimeoutMax, err)
	}
	o, err := (&Options{IdleInTxTimeout: idleInTxTimeoutMax}).withDefaults()
	if err != nil || o.IdleInTxTimeout != idleInTxTimeoutMax {
		t.Fatalf("IdleInTxTimeout at the maximum: %v, %v", o.IdleInTxTimeout, err)
	}
}
