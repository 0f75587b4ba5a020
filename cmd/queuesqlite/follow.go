package main

import (
	"context"
	"time"

	"github.com/spf13/cobra"

	"github.com/queue-sqlite/queuesqlite"
)

// followIntervalDefault is how often tail and listen watch look again.
const followIntervalDefault = 500 * time.Millisecond

// follow runs look at once and then every interval until the command's
// context ends (Ctrl-C, SIGTERM), which is a success. Each look opens the
// queue read-only anew: it sees a queue that workers opened after the
// command started (a closed queue's files are read as immutable), follows
// a reshard, and holds no lock between looks.
func follow(cmd *cobra.Command, interval time.Duration, look func(ctx context.Context, q *queuesqlite.Queue) error) error {
	ctx := cmd.Context()
	wait := time.NewTimer(0)
	defer wait.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-wait.C:
		}
		err := withQueueReadOnly(cmd, func(q *queuesqlite.Queue) error { return look(ctx, q) })
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			return err
		}
		wait.Reset(interval)
	}
}
