package main

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/queue-sqlite/queuesqlite/internal/benchkit"
)

// Settings of the PostgreSQL reports (-pg-deadtuples, -pg-profile).
const (
	pgReportTimeout   = 45 * time.Minute
	pgStatsSettle     = 500 * time.Millisecond // between two reads of the statistics views
	pgStatsDeadline   = 20 * time.Second       // for the statistics to settle after the backends exit
	pgProfileDB       = "queuesqlite_bench_profile"
	pgProfileDrain    = 20000
	pgProfileTopN     = 12
	pgProfileQueryLen = 150
)

// pgInstance is an instance on PostgreSQL whose client can be closed
// before its schema is dropped, so the schema's statistics can be read.
type pgInstance interface {
	benchkit.Instance
	closeClient() error
	pgTarget() (dsn, schema string)
}

// pgReportSystems are the systems the reports run on: ours on PostgreSQL
// and River tuned (untuned River drains at its 1 s poll: 1M jobs would take
// a quarter of an hour on their own).
func pgReportSystems(dsn string, poll time.Duration) []system {
	return []system{oursPGSystem(dsn), riverPGSystem(dsn, tunedRiver(poll))}
}

// tableStat is one row of pg_stat_user_tables.
type tableStat struct {
	table                        string
	live, dead, upd, hotUpd, del int64
	autovacuums, vacuums         int64
	lastAutovacuum               *time.Time
	bytes                        int64
}

// readTableStats reads the statistics of schema's tables, waiting until
// two reads pgStatsSettle apart agree (backends flush their counts when
// they exit, a moment after the pool closes).
func readTableStats(ctx context.Context, conn *pgx.Conn, schema string) ([]tableStat, error) {
	var last []tableStat
	deadline := time.Now().Add(pgStatsDeadline)
	for {
		ts, err := tableStatsOnce(ctx, conn, schema)
		if err != nil {
			return nil, err
		}
		if sameStats(ts, last) || time.Now().After(deadline) {
			return ts, nil
		}
		last = ts
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(pgStatsSettle):
		}
	}
}

func sameStats(a, b []tableStat) bool {
	if len(a) != len(b) || a == nil {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if x.live != y.live || x.dead != y.dead || x.upd != y.upd || x.del != y.del {
			return false
		}
	}
	return true
}

func tableStatsOnce(ctx context.Context, conn *pgx.Conn, schema string) ([]tableStat, error) {
	rows, err := conn.Query(ctx, `SELECT relname, n_live_tup, n_dead_tup, n_tup_upd, n_tup_hot_upd, n_tup_del,
		autovacuum_count, vacuum_count, last_autovacuum, pg_total_relation_size(relid)
		FROM pg_stat_user_tables WHERE schemaname = $1 AND n_live_tup + n_dead_tup > 0 ORDER BY relname`, schema)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (tableStat, error) {
		var t tableStat
		err := r.Scan(&t.table, &t.live, &t.dead, &t.upd, &t.hotUpd, &t.del, &t.autovacuums, &t.vacuums,
			&t.lastAutovacuum, &t.bytes)
		return t, err
	})
}

// runDeadTuples sends n jobs in batches to each system, drains them with
// workersBench workers at the queue's defaults, closes the client and
// reports the dead and live tuples of its tables.
func runDeadTuples(ctx context.Context, dsn string, poll time.Duration, n int, w io.Writer, progress func(string)) error {
	admin, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer admin.Close(context.Background())
	var av string
	if err := admin.QueryRow(ctx, "SHOW autovacuum").Scan(&av); err != nil {
		return err
	}
	fmt.Fprintf(w, "Dead tuples after %d messages (sent in batches of %d, drained by %d workers, the queue's cleanup and "+
		"retention at their defaults); server autovacuum = %s\n\n", n, batchSize, workersBench, av)
	fmt.Fprintln(w, "| system | send msgs/s | drain jobs/s | table | n_live_tup | n_dead_tup | dead/live | n_tup_upd (HOT) | n_tup_del | autovacuums | last_autovacuum | size |")
	fmt.Fprintln(w, "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
	for _, sys := range pgReportSystems(dsn, poll) {
		if err := deadTuplesOf(ctx, admin, &sys, n, w, progress); err != nil {
			return fmt.Errorf("%s: %w", sys.Name, err)
		}
	}
	return nil
}

func deadTuplesOf(ctx context.Context, admin *pgx.Conn, sys *system, n int, w io.Writer, progress func(string)) error {
	ctx, cancel := context.WithTimeout(ctx, pgReportTimeout)
	defer cancel()
	e := env{Env: benchkit.Env{Workers: workersBench, Sync: benchkit.SyncNormal, Track: true}, Size: sizeDefault}
	inst, err := sys.Open(ctx, e)
	if err != nil {
		return err
	}
	defer inst.Close()
	pi := inst.(pgInstance)
	start := time.Now()
	if err := presendAll(ctx, inst, n); err != nil {
		return err
	}
	sendRate := perSec(n, time.Since(start))
	progress(fmt.Sprintf("dead tuples: %s sent %d at %.0f/s", sys.Name, n, sendRate))
	start = time.Now()
	if err := inst.Start(ctx); err != nil {
		return err
	}
	if err := inst.WaitFinished(ctx, n); err != nil {
		return err
	}
	drainRate := perSec(n, time.Since(start))
	progress(fmt.Sprintf("dead tuples: %s drained at %.0f/s", sys.Name, drainRate))
	if err := pi.closeClient(); err != nil {
		return err
	}
	_, schema := pi.pgTarget()
	ts, err := readTableStats(ctx, admin, schema)
	if err != nil {
		return err
	}
	for _, t := range ts {
		last := "never"
		if t.lastAutovacuum != nil {
			last = t.lastAutovacuum.UTC().Format(time.TimeOnly)
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %d | %d | %s | %d (%d) | %d | %d | %s | %.1f MB |\n", sys.Name, count(sendRate),
			count(drainRate), t.table, t.live, t.dead, deadRatio(t), t.upd, t.hotUpd, t.del, t.autovacuums, last,
			float64(t.bytes)/(1<<20))
	}
	return nil
}

func deadRatio(t tableStat) string {
	if t.live == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f", float64(t.dead)/float64(t.live))
}

// presendAll stores n jobs in batches of batchSize.
func presendAll(ctx context.Context, inst benchkit.Instance, n int) error {
	for sent := 0; sent < n; sent += batchSize {
		if err := inst.SendBatch(ctx, benchkit.Payloads(min(batchSize, n-sent))); err != nil {
			return err
		}
	}
	return nil
}

// withDatabase returns dsn naming database db instead.
func withDatabase(dsn, db string) string {
	if u, err := url.Parse(dsn); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		u.Path = "/" + db
		return u.String()
	}
	return dsn + " dbname=" + db
}

// statementRow is one statement of pg_stat_statements.
type statementRow struct {
	calls               int64
	total, mean         float64
	rows                int64
	walRecords, walByte int64
	query               string
}

// runProfile drains pgProfileDrain pre-sent jobs once per system in a
// database of its own (so pg_stat_statements and the tracer see only that
// system) and reports the top statements by total time, the write
// transactions and the WAL per job.
func runProfile(ctx context.Context, dsn string, poll time.Duration, w io.Writer, progress func(string)) error {
	admin, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer admin.Close(context.Background())
	var exists bool
	if err := admin.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", pgProfileDB).Scan(&exists); err != nil {
		return err
	}
	if !exists {
		if _, err := admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{pgProfileDB}.Sanitize()); err != nil {
			return err
		}
	}
	if _, err := admin.Exec(ctx, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements"); err != nil {
		return fmt.Errorf("pg_stat_statements (needs shared_preload_libraries): %w", err)
	}
	var dbid uint32
	if err := admin.QueryRow(ctx, "SELECT oid FROM pg_database WHERE datname = $1", pgProfileDB).Scan(&dbid); err != nil {
		return err
	}
	for _, sys := range pgReportSystems(withDatabase(dsn, pgProfileDB), poll) {
		if err := profileOf(ctx, admin, dbid, &sys, w, progress); err != nil {
			return fmt.Errorf("%s: %w", sys.Name, err)
		}
	}
	return nil
}

func profileOf(ctx context.Context, admin *pgx.Conn, dbid uint32, sys *system, w io.Writer, progress func(string)) error {
	ctx, cancel := context.WithTimeout(ctx, pgReportTimeout)
	defer cancel()
	n := pgProfileDrain
	e := env{Env: benchkit.Env{Workers: workersBench, Sync: benchkit.SyncNormal, Track: true}, Size: sizeDefault}
	inst, err := sys.Open(ctx, e)
	if err != nil {
		return err
	}
	defer inst.Close()
	pi := inst.(pgInstance)
	if err := presendAll(ctx, inst, n); err != nil {
		return err
	}
	if _, err := admin.Exec(ctx, "SELECT pg_stat_statements_reset(0, $1, 0)", dbid); err != nil {
		return err
	}
	var lsn0, lsn1 string
	if err := admin.QueryRow(ctx, "SELECT pg_current_wal_lsn()::text").Scan(&lsn0); err != nil {
		return err
	}
	writes0 := writeTransactions(inst)
	start := time.Now()
	if err := inst.Start(ctx); err != nil {
		return err
	}
	if err := inst.WaitFinished(ctx, n); err != nil {
		return err
	}
	elapsed := time.Since(start)
	writes := writeTransactions(inst) - writes0
	if err := admin.QueryRow(ctx, "SELECT pg_current_wal_lsn()::text").Scan(&lsn1); err != nil {
		return err
	}
	stmts, err := topStatements(ctx, admin, dbid)
	if err != nil {
		return err
	}
	var walBytes int64
	if err := admin.QueryRow(ctx, "SELECT pg_wal_lsn_diff($1::pg_lsn, $2::pg_lsn)::bigint", lsn1, lsn0).Scan(&walBytes); err != nil {
		return err
	}
	progress(fmt.Sprintf("profile: %s drained %d at %.0f/s", sys.Name, n, perSec(n, elapsed)))
	if err := pi.closeClient(); err != nil {
		return err
	}
	_, schema := pi.pgTarget()
	writeProfile(w, sys.Name, schema, n, elapsed, writes, walBytes, stmts)
	return nil
}

func topStatements(ctx context.Context, admin *pgx.Conn, dbid uint32) ([]statementRow, error) {
	rows, err := admin.Query(ctx, `SELECT calls, total_exec_time, mean_exec_time, rows, wal_records, wal_bytes::bigint,
		regexp_replace(query, '\s+', ' ', 'g') FROM pg_stat_statements WHERE dbid = $1 ORDER BY total_exec_time DESC`, dbid)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (statementRow, error) {
		var s statementRow
		err := r.Scan(&s.calls, &s.total, &s.mean, &s.rows, &s.walRecords, &s.walByte, &s.query)
		return s, err
	})
}

func writeProfile(w io.Writer, name, schema string, n int, elapsed time.Duration, writes, walBytes int64, stmts []statementRow) {
	var calls, walRecords int64
	var total float64
	for _, s := range stmts {
		calls, walRecords, total = calls+s.calls, walRecords+s.walRecords, total+s.total
	}
	fmt.Fprintf(w, "\n### %s: drain of %d pre-sent jobs, %d workers, %s (%.0f jobs/s)\n\n", name, n, workersBench,
		elapsed.Round(time.Millisecond), perSec(n, elapsed))
	fmt.Fprintf(w, "- statements: %d calls (%.2f per job), %.0f ms server execution in all (%.3f ms per job)\n",
		calls, float64(calls)/float64(n), total, total/float64(n))
	fmt.Fprintf(w, "- write transactions (tracer): %d (%.4f per job)\n", writes, float64(writes)/float64(n))
	fmt.Fprintf(w, "- WAL records of its statements (pg_stat_statements, commit records not included): %d (%.2f per job)\n",
		walRecords, float64(walRecords)/float64(n))
	fmt.Fprintf(w, "- WAL bytes (pg_current_wal_lsn delta, whole server, other work included): %d (%.0f per job)\n\n",
		walBytes, float64(walBytes)/float64(n))
	fmt.Fprintln(w, "| calls | total ms | mean ms | rows | WAL records | statement |")
	fmt.Fprintln(w, "| --- | --- | --- | --- | --- | --- |")
	for i, s := range stmts {
		if i == pgProfileTopN {
			break
		}
		q := strings.ReplaceAll(s.query, schema, "{s}")
		if len(q) > pgProfileQueryLen {
			q = q[:pgProfileQueryLen] + "…"
		}
		fmt.Fprintf(w, "| %d | %.0f | %.3f | %d | %d | `%s` |\n", s.calls, s.total, s.mean, s.rows, s.walRecords,
			strings.ReplaceAll(q, "|", "\\|"))
	}
}
