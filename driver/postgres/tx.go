package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/queue-sqlite/queuesqlite/driver"
	"github.com/queue-sqlite/queuesqlite/queuetype"
)

// querier runs statements: on the pool, in a pgx.Tx, or in an application's
// *sql.Tx over pgx's stdlib adapter. The same code writes through all three.
type querier interface {
	exec(ctx context.Context, query string, args ...any) (int64, error)
	query(ctx context.Context, query string, args ...any) (rows, error)
}

// rows is what the backend reads from a result: pgx.Rows has it, and
// sqlRows gives it to *sql.Rows.
type rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close()
}

// pgxQueries are the methods a pool, a connection and a pgx.Tx share.
type pgxQueries interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// pgxQuerier runs statements through pgx.
type pgxQuerier struct{ q pgxQueries }

func (p pgxQuerier) exec(ctx context.Context, query string, args ...any) (int64, error) {
	tag, err := p.q.Exec(ctx, query, args...)
	return tag.RowsAffected(), err
}

func (p pgxQuerier) query(ctx context.Context, query string, args ...any) (rows, error) {
	return p.q.Query(ctx, query, args...)
}

// sqlQueries are the methods of *sql.Tx the backend uses.
type sqlQueries interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// sqlQuerier runs statements through database/sql.
type sqlQuerier struct{ q sqlQueries }

func (s sqlQuerier) exec(ctx context.Context, query string, args ...any) (int64, error) {
	res, err := s.q.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (s sqlQuerier) query(ctx context.Context, query string, args ...any) (rows, error) {
	r, err := s.q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return sqlRows{r}, nil
}

type sqlRows struct{ *sql.Rows }

func (r sqlRows) Close() { _ = r.Rows.Close() }

// txQuerier returns a querier for a caller's transaction: a pgx.Tx, or
// anything with database/sql's ExecContext and QueryContext (a *sql.Tx).
func txQuerier(tx driver.Tx) (querier, error) {
	switch t := tx.(type) {
	case pgx.Tx:
		if t != nil {
			return pgxQuerier{t}, nil
		}
	case sqlQueries:
		if t != nil {
			return sqlQuerier{t}, nil
		}
	}
	return nil, fmt.Errorf("%w: the PostgreSQL driver takes a pgx.Tx or a *sql.Tx, not %T", queuetype.ErrInvalidArgument, tx)
}

// checkTx checks that a caller's transaction is one this driver can use and
// runs on this queue's database and schema: it reads the store id recorded
// in the comment of the schema's meta table, with a query that cannot fail
// (a failed statement would abort the caller's transaction).
func (d *DB) checkTx(ctx context.Context, tx driver.Tx) (querier, error) {
	q, err := txQuerier(tx)
	if err != nil {
		return nil, err
	}
	var got string
	err = queryOne(ctx, q, []any{&got}, sqlStoreIDOf, d.sql(`{s}.meta`))
	var pe *pgconn.PgError
	if err != nil && (errors.As(err, &pe) || isConnError(err)) {
		return nil, d.wrap("check the caller's transaction", err)
	}
	// Any other failure: the transaction is not PostgreSQL's (another
	// engine's *sql.Tx), so not on this store either.
	if err != nil || got != storeIDPrefix+d.storeID {
		return nil, fmt.Errorf("%w (%w): the caller's transaction is not on the queue's database and schema %s "+
			"(begin it on the queue's Pool or AppDB)", queuetype.ErrForeignTx, queuetype.ErrInvalidArgument, d.schema)
	}
	return q, nil
}

// queryOne reads one row into dest; it leaves dest as it is when there is none.
func queryOne(ctx context.Context, q querier, dest []any, query string, args ...any) error {
	r, err := q.query(ctx, query, args...)
	if err != nil {
		return err
	}
	defer r.Close()
	if r.Next() {
		if err := r.Scan(dest...); err != nil {
			return err
		}
	}
	return r.Err()
}

// pool returns the querier of the pool.
func (d *DB) poolQ() querier { return pgxQuerier{d.pool} }

// isConnError reports a failure to reach the server.
func isConnError(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) || pgconn.SafeToRetry(err) || pgconn.Timeout(err)
}
