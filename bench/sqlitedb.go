package main

import (
	"database/sql"
	"fmt"
	"net/url"
	"path/filepath"

	_ "github.com/mattn/go-sqlite3" // the SQLite driver every system here uses
)

// openSQLite opens file name in dir for a peer, with the settings every
// SQLite system in the comparison shares: WAL, the scenario's synchronous
// level, a 5 s busy timeout and IMMEDIATE write transactions (so a
// transaction never fails upgrading a read lock). conns bounds the pool; 1
// serializes the peer's statements in Go instead of in SQLite's busy
// handler, as goqite and River document for SQLite.
func openSQLite(dir, name, sync string, conns int) (*sql.DB, error) {
	q := url.Values{}
	q.Set("_journal_mode", "WAL")
	q.Set("_synchronous", sync)
	q.Set("_busy_timeout", "5000")
	q.Set("_txlock", "immediate")
	q.Set("_foreign_keys", "true")
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(dir, name)+"?"+q.Encode())
	if err != nil {
		return nil, err
	}
	if conns > 0 {
		db.SetMaxOpenConns(conns)
		db.SetMaxIdleConns(conns)
	}
	if err := db.Ping(); err != nil {
		db.Close()
		return nil, fmt.Errorf("open %s: %w", name, err)
	}
	return db, nil
}

// countRows returns the rows of table.
func countRows(db *sql.DB, table string) (int, error) {
	var n int
	err := db.QueryRow("SELECT count(*) FROM " + table).Scan(&n)
	return n, err
}
