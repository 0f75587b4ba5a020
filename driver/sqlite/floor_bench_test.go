package sqlite

import (
	"context"
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"

	sqlite3 "github.com/mattn/go-sqlite3"
)

// The floor benchmarks measure raw SQLite through mattn/go-sqlite3 on this
// machine, with no queue around it: the same pragmas, the queue's schema,
// prepared statements on one connection. They are the floor the queue's own
// benchmarks (BenchmarkSend, BenchmarkSendBatch1000, BenchmarkDrain20k in
// the root package) can be compared with in one run.

func floorConn(b *testing.B, schema bool) *sqlite3.SQLiteConn {
	b.Helper()
	c, err := (&sqlite3.SQLiteDriver{}).Open("file:" + filepath.Join(b.TempDir(), "floor.db") +
		"?_synchronous=NORMAL&_txlock=immediate&_cache_size=-20000&_busy_timeout=5000")
	if err != nil {
		b.Fatal(err)
	}
	conn := c.(*sqlite3.SQLiteConn)
	b.Cleanup(func() { conn.Close() })
	setup := []string{fmt.Sprintf("PRAGMA page_size = %d", pageSize), "PRAGMA auto_vacuum = INCREMENTAL",
		"PRAGMA journal_mode = WAL", "PRAGMA temp_store = MEMORY"}
	if schema {
		steps, err := migrations()
		if err != nil {
			b.Fatal(err)
		}
		setup = append(setup, steps...)
	} else {
		setup = append(setup, "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
	}
	for _, s := range setup {
		if _, err := conn.Exec(s, nil); err != nil {
			b.Fatal(err)
		}
	}
	return conn
}

func floorExec(b *testing.B, conn *sqlite3.SQLiteConn, stmts map[string]driver.Stmt, query string, args ...any) driver.Result {
	nv := make([]driver.NamedValue, len(args))
	for i, a := range args {
		nv[i] = driver.NamedValue{Ordinal: i + 1, Value: a}
	}
	return floorExecNamed(b, conn, stmts, query, nv)
}

// floorExecNamed runs query, prepared once per conn, with nv.
func floorExecNamed(b *testing.B, conn *sqlite3.SQLiteConn, stmts map[string]driver.Stmt, query string, nv []driver.NamedValue) driver.Result {
	s, ok := stmts[query]
	if !ok {
		var err error
		if s, err = conn.Prepare(query); err != nil {
			b.Fatal(err)
		}
		stmts[query] = s
	}
	res, err := s.(driver.StmtExecContext).ExecContext(context.Background(), nv)
	if err != nil {
		b.Fatal(err)
	}
	return res
}

func floorInsertArgs(n int) []any {
	return []any{fmt.Sprintf("01a2166d-f2e8-712e-a782-%012d", n), "task", int64(0), "noop", "client", `{"n":1}`,
		int64(1), int64(1764000000000000), int64(1764000000000000), nil, int64(4), nil, nil, nil, nil, int64(0)}
}

// BenchmarkFloorCommit: one row per transaction, into a two-column table
// and into the queue's messages table. msgs/s is the most any SQLite queue
// with one commit per send reaches here.
func BenchmarkFloorCommit(b *testing.B) {
	for _, schema := range []bool{false, true} {
		b.Run(map[bool]string{false: "table=simple", true: "table=messages"}[schema], func(b *testing.B) {
			conn := floorConn(b, schema)
			stmts := map[string]driver.Stmt{}
			for i := 0; b.Loop(); i++ {
				floorExec(b, conn, stmts, sqlBegin)
				if schema {
					floorExec(b, conn, stmts, sqlInsert, floorInsertArgs(i)...)
				} else {
					floorExec(b, conn, stmts, "INSERT INTO t (v) VALUES (?)", "x")
				}
				floorExec(b, conn, stmts, sqlCommit)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}

// BenchmarkFloorInsert1000: 1000 messages per transaction, written as
// the driver writes a batch (insert_rows.go): the largest seq, multi-row
// inserts in chunks binding shared values once, the id route check.
func BenchmarkFloorInsert1000(b *testing.B) {
	floorInsertBatches(b, floorConn(b, true), floorInsertChunked)
}

// floorInsertWay is how floorInsertBatches writes a batch.
type floorInsertWay struct {
	chunked bool // multi-row statements, as insertRows; else one statement per row
	check   bool // the id route check of every row, as Insert runs it
}

var floorInsertChunked = floorInsertWay{chunked: true, check: true}

// floorInsertBatches inserts 1000 messages per transaction into conn for
// as long as the benchmark runs, and reports msgs/s and the process's CPU
// time per message (steadier than msgs/s on a shared machine).
func floorInsertBatches(b *testing.B, conn *sqlite3.SQLiteConn, way floorInsertWay) {
	stmts := map[string]driver.Stmt{}
	n := 0
	var c chunk
	cpu := floorCPU()
	for b.Loop() {
		floorExec(b, conn, stmts, sqlBegin)
		after := floorQueryInt(b, conn, stmts, sqlMaxSeq)
		for left := 1000; left > 0; {
			k := 1
			if way.chunked {
				k = chunkSize(left)
			}
			c.args = c.args[:0]
			for range k {
				n++
				c.args = append(c.args, floorInsertArgs(n)...)
			}
			c.bind(k)
			floorExecNamed(b, conn, stmts, c.query(k), c.named)
			left -= k
		}
		if way.check {
			floorQueryInt(b, conn, stmts, sqlRoutedAfter, after)
		}
		floorExec(b, conn, stmts, sqlCommit)
	}
	b.ReportMetric(float64(b.N*1000)/b.Elapsed().Seconds(), "msgs/s")
	b.ReportMetric(float64(floorCPU()-cpu)/float64(b.N*1000), "cpu-ns/msg")
}

// floorQueryInt runs a query and returns the first column of its first
// row if it is an integer, else 0.
func floorQueryInt(b *testing.B, conn *sqlite3.SQLiteConn, stmts map[string]driver.Stmt, query string, args ...any) int64 {
	s, ok := stmts[query]
	if !ok {
		var err error
		if s, err = conn.Prepare(query); err != nil {
			b.Fatal(err)
		}
		stmts[query] = s
	}
	nv := make([]driver.NamedValue, len(args))
	for i, a := range args {
		nv[i] = driver.NamedValue{Ordinal: i + 1, Value: a}
	}
	rows, err := s.(driver.StmtQueryContext).QueryContext(context.Background(), nv)
	if err != nil {
		b.Fatal(err)
	}
	defer rows.Close()
	vals := make([]driver.Value, len(rows.Columns()))
	if rows.Next(vals) != nil {
		return 0
	}
	v, _ := vals[0].(int64)
	return v
}

// BenchmarkFloorClaimComplete100: claim 100 pending messages with the
// queue's claim statement and record their completion, in one transaction
// (the best case for a drain).
func BenchmarkFloorClaimComplete100(b *testing.B) {
	conn := floorConn(b, true)
	stmts := map[string]driver.Stmt{}
	n := 0
	refill := func() {
		floorExec(b, conn, stmts, sqlBegin)
		for range 10000 {
			n++
			floorExec(b, conn, stmts, sqlInsert, floorInsertArgs(n)...)
		}
		floorExec(b, conn, stmts, sqlCommit)
	}
	claim, err := conn.Prepare(claimSelectSQL(1))
	if err != nil {
		b.Fatal(err)
	}
	pending := 0
	vals := make([]driver.Value, messageColumnCount)
	args := []driver.NamedValue{
		{Ordinal: 1, Value: int64(10)}, {Ordinal: 2, Value: "owner"}, {Ordinal: 3, Value: int64(20)},
		{Ordinal: 4, Value: int64(100)}, {Ordinal: 5, Value: "me"}, {Ordinal: 6, Value: "noop"},
		{Ordinal: 7, Value: nil}, {Ordinal: 8, Value: int64(100)}}
	for b.Loop() {
		if pending < 100 {
			b.StopTimer()
			refill()
			pending += 10000
			b.StartTimer()
		}
		floorExec(b, conn, stmts, sqlBegin)
		rows, err := claim.(driver.StmtQueryContext).QueryContext(context.Background(), args)
		if err != nil {
			b.Fatal(err)
		}
		var seqs []int64
		for rows.Next(vals) == nil {
			seqs = append(seqs, vals[0].(int64))
		}
		rows.Close()
		list, _ := json.Marshal(seqs)
		update := append([]driver.NamedValue(nil), args[:7]...)
		update[3].Value = string(list)
		floorExecNamed(b, conn, stmts, claimUpdateSQL(1), update)
		for _, s := range seqs {
			floorExec(b, conn, stmts, sqlComplete, int64(2), nil, nil, nil, int64(30), int64(0), int64(0), "me",
				int64(30), s, "owner", int64(1))
		}
		floorExec(b, conn, stmts, sqlCommit)
		pending -= len(seqs)
	}
	b.ReportMetric(float64(b.N*100)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkFloorInsert1000Without: BenchmarkFloorInsert1000 with parts of
// the schema or of the way it writes dropped (or, "with", added back), to
// show what each part of an insert costs (issue 12: where the gap between
// SendBatch and a minimal queue goes). Only the ratios between the
// variants of one run mean anything; compare cpu-ns/msg, which a loaded
// machine disturbs less than msgs/s.
func BenchmarkFloorInsert1000Without(b *testing.B) {
	secondary := []string{"DROP INDEX messages_ready", "DROP INDEX messages_leased",
		"DROP INDEX messages_due", "DROP INDEX messages_expiry", "DROP INDEX messages_finished",
		"DROP INDEX messages_callback", "DROP INDEX messages_unique_key",
		"DROP INDEX messages_parents_finished", "DROP INDEX messages_children_moved"}
	variants := []struct {
		name string
		way  floorInsertWay
		sql  []string
	}{
		{"without=nothing", floorInsertChunked, nil},
		{"without=route-check", floorInsertWay{chunked: true}, nil},
		{"without=multi-row-inserts", floorInsertWay{check: true}, nil},
		{"without=ready-index", floorInsertChunked, []string{"DROP INDEX messages_ready"}},
		{"without=secondary-indexes", floorInsertChunked, secondary},
		// The insert before issue 12: one statement per row, the routes
		// checked by the per-row trigger that migration 0013 dropped.
		{"before=per-row+trigger", floorInsertWay{}, []string{floorRouteTrigger}},
	}
	for _, v := range variants {
		b.Run(v.name, func(b *testing.B) {
			conn := floorConn(b, true)
			for _, s := range v.sql {
				if _, err := conn.Exec(s, nil); err != nil {
					b.Fatal(err)
				}
			}
			floorInsertBatches(b, conn, v.way)
		})
	}
}

// floorRouteTrigger is the trigger of migration 0003 that 0013 dropped.
const floorRouteTrigger = `CREATE TRIGGER messages_id_routed BEFORE INSERT ON messages
WHEN EXISTS (SELECT 1 FROM id_routes WHERE id = NEW.id)
BEGIN
    SELECT RAISE(ABORT, 'a message with this id is stored in another shard');
END`
