// Package pgtest gives tests a PostgreSQL server to run against: the one
// QUEUESQLITE_PG_DSN names (default the local test server), a fresh schema
// per test, and one rule for when there is none: the test is skipped with
// one line, except under CI=true, where it fails.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
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
