package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/queue-sqlite/queuesqlite/driver/sqlite"

	"github.com/spf13/cobra"
)

func init() { register(newReshardCmd) }

func newReshardCmd() *cobra.Command {
	var to int
	cmd := &cobra.Command{
		Use:   "reshard --to N",
		Short: "Move every message to a new shard count (stop every process using the queue first)",
		Long: "Move every message of the queue at --dir to the shard file its id (or shard key) routes to\n" +
			"under N shards, then record N. Nothing is lost or duplicated. If it is interrupted, run\n" +
			"it again with the same --to: it resumes where it stopped. The queue cannot be opened\n" +
			"while a reshard is unfinished. It refuses, moving nothing, when the recorded shard count\n" +
			"disagrees with the shard files or an id is stored in two files; the error names the fix.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runReshard(cmd, to) },
	}
	cmd.Flags().IntVar(&to, "to", 0, "the new number of shards (at least 1)")
	return cmd
}

func runReshard(cmd *cobra.Command, to int) error {
	if to < 1 {
		return fmt.Errorf("--to must be at least 1, not %d", to)
	}
	if err := refuseDSN(cmd); err != nil {
		return err
	}
	dir, _, err := queueFlags(cmd)
	if err != nil {
		return err
	}
	if _, err := os.Stat(sqlite.ShardPath(dir, 0)); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("no queue in %s (%s not found); check --dir", dir, sqlite.ShardPath(dir, 0))
	}
	res, err := reshardWithProgress(cmd, dir, to)
	if err != nil {
		return err
	}
	verb := "resharded"
	if res.Resumed {
		verb = "finished an interrupted reshard"
	}
	fmt.Fprintf(cmd.OutOrStdout(), "%s %s: %d -> %d %s, moved %d of %d messages\n",
		verb, dir, res.From, res.To, plural(res.To, "shard"), res.Moved, res.Total)
	return nil
}

// reshardWithProgress runs Reshard, showing the messages it has gone
// through on stderr: a bar on a terminal, lines otherwise. The display
// starts once Reshard has counted the messages.
func reshardWithProgress(cmd *cobra.Command, dir string, to int) (*sqlite.ReshardResult, error) {
	var res *sqlite.ReshardResult
	err := withCountedProgress(cmd, workResharding, func(report func(int, int)) (err error) {
		res, err = sqlite.Reshard(sqlite.WithReshardProgress(cmd.Context(), report), dir, to, nil)
		return err
	})
	return res, err
}

// plural returns word, with an s unless n is 1.
func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}
