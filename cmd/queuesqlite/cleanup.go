package main

import (
	"fmt"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/queue-sqlite/queuesqlite"
)

func init() { register(newCleanupCmd) }

func newCleanupCmd() *cobra.Command {
	var olderThan durationFlag
	cmd := &cobra.Command{
		Use:   "cleanup",
		Short: "Delete finished messages past their retention now and give the space back",
		Long: "Delete completed, failed, expired and cancelled messages older than their retention\n" +
			"(the queue's defaults, or --older-than for every status) and return the freed pages\n" +
			"to the file system. Running workers do this by themselves every few minutes.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runCleanup(cmd, olderThan.d) },
	}
	cmd.Flags().Var(&olderThan, "older-than", "retention for every finished status, e.g. 1h (default: the queue's per-status retention)")
	return cmd
}

// runCleanup runs Queue.Cleanup with the queue's retention, or olderThan
// for every status when it is set, and prints what it did.
func runCleanup(cmd *cobra.Command, olderThan time.Duration) error {
	cfg := queuesqlite.Config{}
	if d := olderThan; d > 0 {
		cfg.Retention = queuesqlite.Retention{Completed: d, Failed: d, Expired: d, Cancelled: d}
	}
	q, err := openQueue(cmd, cfg, true)
	if err != nil {
		return err
	}
	defer q.Close()
	res, err := cleanupWithProgress(cmd, q)
	fmt.Fprintf(cmd.OutOrStdout(), "deleted %d finished message(s), freed %d bytes\n", res.Deleted, res.BytesFreed)
	if err != nil {
		return err
	}
	return q.Close()
}

// cleanupWithProgress runs Cleanup, showing the shards done on stderr: a
// bar on a terminal, lines otherwise.
func cleanupWithProgress(cmd *cobra.Command, q *queuesqlite.Queue) (queuesqlite.CleanupResult, error) {
	var done atomic.Int64
	ctx := queuesqlite.WithCleanupProgress(cmd.Context(), func(n, _ int) { done.Store(int64(n)) })
	var (
		res queuesqlite.CleanupResult
		err error
	)
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		res, err = q.Cleanup(ctx)
	}()
	perr := trackProgressOf(cmd.Context(), cmd.ErrOrStderr(), false, int64(q.ShardCount()), workCleanup, done.Load, finished)
	<-finished
	if err == nil {
		err = perr
	}
	return res, err
}
