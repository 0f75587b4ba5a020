package postgres

import (
	"context"
	"errors"
	"io"
	"net"

	"github.com/jackc/pgx/v5/pgconn"
)

// A connection the server ended (a restart or failover, pg_terminate_backend,
// a proxy's idle timeout) stays in the pool until a statement uses it, and
// that statement fails. Reads run once more when that is why they failed
// (reread): a read changes nothing, so running it twice is harmless. So do
// the two writes whose second run changes nothing that matters (rewrite): a
// heartbeat (beats need only move) and a lease renewal (the same lease time
// again). They are the ones that must get through right after a server
// restart: a live owner whose beat fails for a lease is rescued as dead. No
// other write does: the answer to a write may be lost after it committed,
// and the callers (with their fences and the lost-claims bookkeeping)
// decide what to do then.

// lostConnCodes are the SQLSTATEs the server ends a connection with:
// admin_shutdown (pg_terminate_backend, a fast shutdown), crash_shutdown
// (another backend crashed) and cannot_connect_now (still starting up).
var lostConnCodes = map[string]bool{"57P01": true, "57P02": true, "57P03": true}

// lostConnection reports whether err says the read's connection was lost,
// not that the read itself failed or that ctx ended.
func lostConnection(ctx context.Context, err error) bool {
	if err == nil || ctx.Err() != nil {
		return false
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return lostConnCodes[pe.Code]
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var ne net.Error
	return pgconn.SafeToRetry(err) || errors.As(err, &ne) || errors.Is(err, io.EOF) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed)
}

// reread runs read, an idempotent read through the pool, and runs it once
// more when it failed because its connection was lost, after the pool has
// dropped the connections that are dead too (they were likely ended
// together). read must start afresh each time: assign its results, do not
// append to them. Only reads may use it, never a statement that writes.
func (d *DB) reread(ctx context.Context, read func() error) error {
	return d.runAgainIfLost(ctx, read)
}

// rewrite is reread for a write that may run twice: a heartbeat or a lease
// renewal, never anything else.
func (d *DB) rewrite(ctx context.Context, write func() error) error {
	return d.runAgainIfLost(ctx, write)
}

// runAgainIfLost runs run, and once more if it failed because its
// connection was lost, after dropping the pool's dead connections.
func (d *DB) runAgainIfLost(ctx context.Context, run func() error) error {
	err := run()
	if d.closed.Load() || !lostConnection(ctx, err) {
		return err
	}
	d.dropDeadConns(ctx)
	return run()
}

// dropDeadConns pings every idle connection of the pool: a dead one fails,
// is closed, and the pool destroys it when it is released. A live one
// stays, so the other callers' connections are not reset.
func (d *DB) dropDeadConns(ctx context.Context) {
	for _, c := range d.pool.AcquireAllIdle(ctx) {
		_ = c.Ping(ctx) // its failure is the point: the connection is closed
		c.Release()
	}
}
