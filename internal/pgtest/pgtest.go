// Package pgtest gives tests a PostgreSQL server to run against: the one
// QUEUESQLITE_PG_DSN names (default the local test server), a fresh schema
// per test, and one rule for when there is none: the test is skipped with
// one line, except under CI=true, where it fails.
package pgtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// DSNDefault is the server the tests use unless QUEUESQLITE_PG_DSN names
// another.
const DSNDefault = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// connectTimeout bounds the check that a server is there.
const connectTimeout = 5 * time.Second

// DSN returns the test server's DSN.
func DSN() string {
	if v := os.Getenv("QUEUESQLITE_PG_DSN"); v != "" {
		return v
	}
	return DSNDefault
}

var (
	once sync.Once
	why  string
)

// Unavailable returns "" when the test server answers, else why not.
func Unavailable() string {
	once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), connectTimeout)
		defer cancel()
		conn, err := pgx.Connect(ctx, DSN())
		if err != nil {
			why = "no PostgreSQL server at " + DSN() + " (set QUEUESQLITE_PG_DSN): " + err.Error()
			return
		}
		conn.Close(ctx)
	})
	return why
}

// Require skips t when there is no server (fails it under CI=true).
func Require(t testing.TB) {
	t.Helper()
	if w := Unavailable(); w != "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("PostgreSQL is required under CI=true: %s", w)
		}
		t.Skip("PostgreSQL tests skipped: " + w)
	}
}

// Schema returns the name of a fresh schema for one test, dropped with
// everything in it when t ends. It requires a server (see Require).
func Schema(t testing.TB) string {
	t.Helper()
	Require(t)
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "qt_" + hex.EncodeToString(b)
	t.Cleanup(func() { Drop(name) })
	return name
}

// Drop drops a schema and everything in it.
func Drop(schema string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, DSN())
	if err != nil {
		return
	}
	defer conn.Close(ctx)
	_, _ = conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE")
}

// bouncerReady bounds how long PgBouncer may take to accept connections.
const bouncerReady = 30 * time.Second

// Bouncer starts a PgBouncer in transaction pooling mode in front of the
// test server, stopped when t ends, and returns a DSN through it (with
// the query mode PgBouncer before 1.21 needs: no named prepared
// statements). It skips t without pgbouncer(1) (fails under CI=true).
func Bouncer(t testing.TB) string {
	t.Helper()
	Require(t)
	bin := bouncerBin()
	if bin == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("pgbouncer is required under CI=true (apt-get install pgbouncer)")
		}
		t.Skip("PgBouncer tests skipped: pgbouncer not installed")
	}
	cfg, err := pgx.ParseConfig(DSN())
	if err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	dir, err := os.MkdirTemp("", "pgbouncer-*")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	_ = os.Chmod(dir, 0o777) // pgbouncer, run as postgres, writes its log here
	ini := fmt.Sprintf(`[databases]
* = host=%s port=%d user=%s
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = %d
unix_socket_dir =
auth_type = any
pool_mode = transaction
max_client_conn = 200
default_pool_size = 20
ignore_startup_parameters = extra_float_digits
logfile = %s/pgbouncer.log
`, cfg.Host, cfg.Port, cfg.User, port, dir)
	path := filepath.Join(dir, "pgbouncer.ini")
	if err := os.WriteFile(path, []byte(ini), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{path}
	if os.Geteuid() == 0 {
		args = append([]string{"-u", "postgres"}, args...) // it refuses to run as root
	}
	cmd := exec.Command(bin, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	dsn := fmt.Sprintf("postgres://%s@127.0.0.1:%d/%s?sslmode=disable&default_query_exec_mode=exec", cfg.User, port, cfg.Database)
	deadline := time.Now().Add(bouncerReady)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), connectTimeout)
		conn, err := pgx.Connect(ctx, dsn)
		cancel()
		if err == nil {
			conn.Close(context.Background())
			return dsn
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "pgbouncer.log"))
			t.Fatalf("pgbouncer did not accept connections within %v: %v\n%s\n%s", bouncerReady, err, out.String(), log)
		}
		time.Sleep(50 * time.Millisecond) // polling a server's start-up: nothing to wait on
	}
}

// bouncerBin is the path of pgbouncer(1), "" when it is not installed.
func bouncerBin() string {
	if bin, err := exec.LookPath("pgbouncer"); err == nil {
		return bin
	}
	for _, p := range []string{"/usr/sbin/pgbouncer", "/usr/bin/pgbouncer"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

// BouncerUnavailable returns "" when Bouncer can run here, else why not.
func BouncerUnavailable() string {
	if w := Unavailable(); w != "" {
		return w
	}
	if bouncerBin() == "" {
		return "pgbouncer not installed (apt-get install pgbouncer)"
	}
	return ""
}

func freePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
