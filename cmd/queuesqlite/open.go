package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

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
		if _, err := os.Stat(queuesqlite.ShardPath(dir, 0)); errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("no queue in %s (%s not found); check --dir", dir, queuesqlite.ShardPath(dir, 0))
		}
	}
	cfg.Shards = shards
	return queuesqlite.Open(dir, &cfg)
}

// withQueue opens the existing queue at --dir, runs fn and closes the
// queue, reporting the first error.
func withQueue(cmd *cobra.Command, fn func(q *queuesqlite.Queue) error) error {
	q, err := openQueue(cmd, queuesqlite.Config{}, true)
	if err != nil {
		return err
	}
	err = fn(q)
	if cerr := q.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("close queue: %w", cerr)
	}
	return err
}
