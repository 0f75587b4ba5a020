package main

import (
	"context"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// writeTracer counts the write transactions a pgx pool commits, the same
// way for every system on PostgreSQL: a transaction (begin ... commit)
// counts once if any statement in it writes; a write statement outside a
// transaction (autocommit) counts once; a pipelined batch outside a
// transaction is one implicit transaction; a COPY is a write. A statement
// writes when its text, comments stripped, names a data-changing command
// (INSERT, UPDATE, DELETE, MERGE, NOTIFY/pg_notify, a row lock FOR UPDATE,
// or DDL) and it succeeded and, for a command that reports rows, touched
// at least one: a claim or poll that finds nothing changes no row, takes
// no transaction id and writes no commit record, for either system. It
// sees only the statements of the pools it is installed on, so other
// work on the same server is not counted.
type writeTracer struct {
	writes atomic.Int64
	mu     sync.Mutex
	conns  map[*pgx.Conn]*connTx
}

// connTx is what the tracer knows of one connection's transaction.
type connTx struct {
	inTx, wrote bool
	batchWrote  bool
	pending     string // the statement between TraceQueryStart and End
}

var (
	_ pgx.QueryTracer    = (*writeTracer)(nil)
	_ pgx.BatchTracer    = (*writeTracer)(nil)
	_ pgx.CopyFromTracer = (*writeTracer)(nil)
)

var (
	sqlLineComment  = regexp.MustCompile(`--[^\n]*`)
	sqlBlockComment = regexp.MustCompile(`(?s)/\*.*?\*/`)
	sqlWriteWord    = regexp.MustCompile(`(?i)\b(insert|update|delete|merge|notify|pg_notify|truncate|create|alter|drop)\b`)
)

func newWriteTracer() *writeTracer { return &writeTracer{conns: map[*pgx.Conn]*connTx{}} }

// Writes returns the write transactions counted so far.
func (t *writeTracer) Writes() int64 { return t.writes.Load() }

// isWriteSQL says whether a statement changes data (see writeTracer).
func isWriteSQL(sql string) bool {
	sql = sqlBlockComment.ReplaceAllString(sqlLineComment.ReplaceAllString(sql, ""), "")
	return sqlWriteWord.MatchString(sql)
}

// txVerb classifies transaction control: "begin", "commit", "rollback" or "".
func txVerb(sql string) string {
	s := strings.ToLower(strings.TrimSpace(sql))
	switch {
	case strings.HasPrefix(s, "begin"), strings.HasPrefix(s, "start transaction"):
		return "begin"
	case s == "commit", s == "end", strings.HasPrefix(s, "commit "):
		return "commit"
	case s == "rollback", s == "abort":
		return "rollback"
	}
	return ""
}

func (t *writeTracer) state(conn *pgx.Conn) *connTx {
	s, ok := t.conns[conn]
	if !ok {
		s = &connTx{}
		t.conns[conn] = s
	}
	return s
}

// changedRows says whether a finished statement may have changed rows: it
// succeeded and its tag reports rows touched, or reports no row count.
func changedRows(tag pgconn.CommandTag, err error) bool {
	if err != nil {
		return false
	}
	if tag.RowsAffected() > 0 {
		return true
	}
	switch {
	case tag.Insert(), tag.Update(), tag.Delete(), tag.Select(), strings.HasPrefix(tag.String(), "MERGE"),
		strings.HasPrefix(tag.String(), "COPY"):
		return false
	}
	return true
}

// statement accounts for one finished statement on conn; inBatch says it
// is part of a pipelined batch, whose autocommit writes count once at its
// end.
func (t *writeTracer) statement(conn *pgx.Conn, sql string, tag pgconn.CommandTag, err error, inBatch bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.account(t.state(conn), sql, tag, err, inBatch)
}

func (t *writeTracer) account(s *connTx, sql string, tag pgconn.CommandTag, err error, inBatch bool) {
	switch txVerb(sql) {
	case "begin":
		s.inTx, s.wrote = true, false
	case "commit":
		if s.inTx && s.wrote {
			t.writes.Add(1)
		}
		s.inTx, s.wrote = false, false
	case "rollback":
		s.inTx, s.wrote = false, false
	default:
		if !changedRows(tag, err) || !isWriteSQL(sql) {
			return
		}
		switch {
		case s.inTx:
			s.wrote = true
		case inBatch:
			s.batchWrote = true
		default:
			t.writes.Add(1)
		}
	}
}

// TraceQueryStart implements pgx.QueryTracer.
func (t *writeTracer) TraceQueryStart(ctx context.Context, conn *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	t.mu.Lock()
	t.state(conn).pending = d.SQL
	t.mu.Unlock()
	return ctx
}

// TraceQueryEnd implements pgx.QueryTracer.
func (t *writeTracer) TraceQueryEnd(_ context.Context, conn *pgx.Conn, d pgx.TraceQueryEndData) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.state(conn)
	t.account(s, s.pending, d.CommandTag, d.Err, false)
	s.pending = ""
}

// TraceBatchStart implements pgx.BatchTracer.
func (t *writeTracer) TraceBatchStart(ctx context.Context, conn *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	t.mu.Lock()
	t.state(conn).batchWrote = false
	t.mu.Unlock()
	return ctx
}

// TraceBatchQuery implements pgx.BatchTracer.
func (t *writeTracer) TraceBatchQuery(_ context.Context, conn *pgx.Conn, d pgx.TraceBatchQueryData) {
	t.statement(conn, d.SQL, d.CommandTag, d.Err, true)
}

// TraceBatchEnd implements pgx.BatchTracer: an autocommit batch that wrote
// is one transaction.
func (t *writeTracer) TraceBatchEnd(_ context.Context, conn *pgx.Conn, _ pgx.TraceBatchEndData) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if s := t.state(conn); s.batchWrote {
		s.batchWrote = false
		t.writes.Add(1)
	}
}

// TraceCopyFromStart implements pgx.CopyFromTracer.
func (t *writeTracer) TraceCopyFromStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceCopyFromStartData) context.Context {
	return ctx
}

// TraceCopyFromEnd implements pgx.CopyFromTracer: a COPY that stored rows
// is a write.
func (t *writeTracer) TraceCopyFromEnd(_ context.Context, conn *pgx.Conn, d pgx.TraceCopyFromEndData) {
	t.statement(conn, "insert /* copy */", d.CommandTag, d.Err, false)
}

// tracedPool opens a pool on dsn with t installed; maxConns > 0 sets the
// pool size (0 keeps pgxpool's default, as a user's pgxpool.New would).
func tracedPool(ctx context.Context, dsn string, t *writeTracer, maxConns int32) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, err
	}
	if maxConns > 0 && !strings.Contains(dsn, "pool_max_conns") {
		cfg.MaxConns = maxConns
	}
	cfg.ConnConfig.Tracer = t
	return pgxpool.NewWithConfig(ctx, cfg)
}
