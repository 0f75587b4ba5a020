package main

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// TestWriteTracer_Counts feeds the tracer statement sequences as pgx
// reports them and checks which count as write transactions.
func TestWriteTracer_Counts(t *testing.T) {
	type stmt struct{ sql, tag string }
	cases := []struct {
		name  string
		stmts []stmt
		want  int64
	}{
		{"autocommit insert", []stmt{{"INSERT INTO t VALUES (1)", "INSERT 0 1"}}, 1},
		{"autocommit update of no row", []stmt{{"UPDATE t SET a = 1 WHERE false", "UPDATE 0"}}, 0},
		{"read-only transaction", []stmt{{"begin", "BEGIN"}, {"SELECT updated_at FROM t", "SELECT 3"}, {"commit", "COMMIT"}}, 0},
		{"writing transaction", []stmt{{"begin", "BEGIN"}, {"SELECT 1", "SELECT 1"},
			{"UPDATE t SET a = 1", "UPDATE 3"}, {"DELETE FROM t", "DELETE 2"}, {"commit", "COMMIT"}}, 1},
		{"rolled back", []stmt{{"begin", "BEGIN"}, {"INSERT INTO t VALUES (1)", "INSERT 0 1"}, {"rollback", "ROLLBACK"}}, 0},
		{"comment names a write", []stmt{{"-- name: JobUpdate :one\nSELECT /* update */ 1", "SELECT 1"}}, 0},
		{"notify", []stmt{{"SELECT pg_notify($1, $2)", "SELECT 1"}}, 1},
		{"writing CTE", []stmt{{"WITH x AS (SELECT 1) UPDATE t SET a = 1 RETURNING a", "UPDATE 5"}}, 1},
	}
	ctx := context.Background()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tr := newWriteTracer()
			var conn *pgx.Conn
			for _, s := range c.stmts {
				tr.TraceQueryStart(ctx, conn, pgx.TraceQueryStartData{SQL: s.sql})
				tr.TraceQueryEnd(ctx, conn, pgx.TraceQueryEndData{CommandTag: pgconn.NewCommandTag(s.tag)})
			}
			if got := tr.Writes(); got != c.want {
				t.Errorf("%d write transactions, want %d", got, c.want)
			}
		})
	}
}

// TestWriteTracer_Batch counts an autocommit batch that writes once, and
// a COPY as a write.
func TestWriteTracer_Batch(t *testing.T) {
	ctx := context.Background()
	tr := newWriteTracer()
	var conn *pgx.Conn
	tr.TraceBatchStart(ctx, conn, pgx.TraceBatchStartData{})
	for range 3 {
		tr.TraceBatchQuery(ctx, conn, pgx.TraceBatchQueryData{SQL: "INSERT INTO t VALUES (1)", CommandTag: pgconn.NewCommandTag("INSERT 0 1")})
	}
	tr.TraceBatchEnd(ctx, conn, pgx.TraceBatchEndData{})
	tr.TraceCopyFromStart(ctx, conn, pgx.TraceCopyFromStartData{})
	tr.TraceCopyFromEnd(ctx, conn, pgx.TraceCopyFromEndData{CommandTag: pgconn.NewCommandTag("COPY 10")})
	if got := tr.Writes(); got != 2 {
		t.Errorf("%d write transactions, want 2 (one batch, one copy)", got)
	}
}
