package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/queue-sqlite/queuesqlite/driver/postgres"
	"github.com/queue-sqlite/queuesqlite/driver/sqlite"

	"github.com/spf13/cobra"

	"github.com/queue-sqlite/queuesqlite"
)

// queueFlags returns the root's --dir and --shards, validated (and that
// --dsn is not given with them).
func queueFlags(cmd *cobra.Command) (dir string, shards int, err error) {
	dir, err = cmd.Flags().GetString("dir")
	if err != nil {
		return "", 0, err
	}
	shards, err = cmd.Flags().GetInt("shards")
	if err != nil {
		return "", 0, err
	}
	if dsn, _ := cmd.Flags().GetString("dsn"); dsn != "" {
		if cmd.Flags().Changed("dir") || cmd.Flags().Changed("shards") {
			return "", 0, errors.New("--dsn names a PostgreSQL queue: leave --dir and --shards out (they are for SQLite directories)")
		}
	}
	if dir == "" {
		return "", 0, errors.New("--dir must name a directory")
	}
	if shards < 0 {
		return "", 0, fmt.Errorf("--shards must be 0 (use what the directory has) or more, not %d", shards)
	}
	return dir, shards, nil
}

// openQueue opens the queue at --dir with cfg (its Shards taken from
// --shards). With mustExist, a directory without a queue is an error rather
// than a new empty queue: inspecting a mistyped path should not create one.
func openQueue(cmd *cobra.Command, cfg queuesqlite.Config, mustExist bool) (*queuesqlite.Queue, error) {
	if dsn, schema := pgFlags(cmd); dsn != "" {
		return openPostgres(cmd, dsn, schema, cfg, mustExist)
	}
	dir, shards, err := queueFlags(cmd)
	if err != nil {
		return nil, err
	}
	if mustExist {
		if _, err := os.Stat(sqlite.ShardPath(dir, 0)); errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("no queue in %s (%s not found); check --dir", dir, sqlite.ShardPath(dir, 0))
		}
	}
	cfg.Shards = shards
	q, err := queuesqlite.Open(dir, &cfg)
	if err != nil {
		return nil, flagErr(dir, shards, err)
	}
	return q, nil
}

// withQueueReadOnly opens the existing queue at --dir read-only (creating
// and writing no file, so it works on a read-only file system or another
// user's queue), runs fn and closes the queue, reporting the first error.
func withQueueReadOnly(cmd *cobra.Command, fn func(q *queuesqlite.Queue) error) error {
	if dsn, _ := pgFlags(cmd); dsn != "" {
		return withQueue(cmd, fn) // PostgreSQL grants read-only access by role, not by a mode of the client
	}
	dir, shards, err := queueFlags(cmd)
	if err != nil {
		return err
	}
	q, err := queuesqlite.OpenReadOnly(dir, &queuesqlite.Config{Shards: shards})
	if errors.Is(err, queuesqlite.ErrNotFound) {
		return fmt.Errorf("no queue in %s (%s not found); check --dir", dir, sqlite.ShardPath(dir, 0))
	}
	if err != nil {
		return flagErr(dir, shards, err)
	}
	return runAndClose(q, fn)
}

// withQueue opens the existing queue at --dir, runs fn and closes the
// queue, reporting the first error.
func withQueue(cmd *cobra.Command, fn func(q *queuesqlite.Queue) error) error {
	q, err := openQueue(cmd, queuesqlite.Config{}, true)
	if err != nil {
		return err
	}
	return runAndClose(q, fn)
}

// runAndClose runs fn on q and closes q, reporting the first error.
func runAndClose(q *queuesqlite.Queue, fn func(q *queuesqlite.Queue) error) error {
	err := fn(q)
	if cerr := q.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("close queue: %w", cerr)
	}
	return err
}

// flagErr restates an error of opening the queue in the terms of the
// command line: a shard count mismatch names --shards (the library's text
// names Config.Shards, which a CLI user does not have).
func flagErr(dir string, shards int, err error) error {
	if !errors.Is(err, queuesqlite.ErrShardMismatch) || shards == 0 {
		return err
	}
	q, rerr := queuesqlite.OpenReadOnly(dir, nil)
	if rerr != nil {
		return err // the directory itself is at fault (its count record disagrees with its files), not --shards
	}
	have := q.ShardCount()
	q.Close()
	noun := "shards"
	if have == 1 {
		noun = "shard"
	}
	return fmt.Errorf("%w: the queue in %s has %d %s, --shards asks for %d; leave --shards out (or pass --shards %d), or move the messages with `queuesqlite reshard --to %d`",
		queuesqlite.ErrShardMismatch, dir, have, noun, shards, have, shards)
}

// pgFlags returns --dsn and --schema ("" when the queue is an SQLite
// directory).
func pgFlags(cmd *cobra.Command) (dsn, schema string) {
	dsn, _ = cmd.Flags().GetString("dsn")
	schema, _ = cmd.Flags().GetString("schema")
	return dsn, schema
}

// openPostgres opens the queue in --schema of the database --dsn names.
// With mustExist a schema without a queue is an error, not a new queue.
func openPostgres(cmd *cobra.Command, dsn, schema string, cfg queuesqlite.Config, mustExist bool) (*queuesqlite.Queue, error) {
	db, err := postgres.Open(cmd.Context(), dsn, &postgres.Options{Schema: schema, NoCreate: mustExist, Logger: cfg.Logger})
	if err != nil {
		if errors.Is(err, queuesqlite.ErrNotFound) {
			return nil, fmt.Errorf("%w; check --dsn and --schema", err)
		}
		return nil, err
	}
	q, err := queuesqlite.New(&cfg, db)
	if err != nil {
		db.Close()
		return nil, err
	}
	return q, nil
}

// refuseDSN fails a command that works on SQLite directories only.
func refuseDSN(cmd *cobra.Command) error {
	if dsn, _ := pgFlags(cmd); dsn != "" {
		return fmt.Errorf("%s works on SQLite queue directories (--dir); a PostgreSQL queue (--dsn) has no shard files", cmd.Name())
	}
	return nil
}
