package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/queue-sqlite/queuesqlite/driver/sqlite"

	"github.com/spf13/cobra"

	"github.com/queue-sqlite/queuesqlite"
)

// queueFlags returns the root's --dir and --shards, validated.
func queueFlags(cmd *cobra.Command) (dir string, shards int, err error) {
	dir, err = cmd.Flags().GetString("dir")
	if err != nil {
		return "", 0, err
	}
	shards, err = cmd.Flags().GetInt("shards")
	if err != nil {
		return "", 0, err
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
