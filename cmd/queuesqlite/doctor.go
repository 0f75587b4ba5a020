package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/queue-sqlite/queuesqlite/driver/sqlite"

	"github.com/spf13/cobra"

	"github.com/queue-sqlite/queuesqlite"
)

func init() { register(newDoctorCmd) }

func newDoctorCmd() *cobra.Command {
	var fixCount bool
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Check the integrity of every shard file; exit 1 if one is damaged",
		Long: "Open every shard file of the queue at --dir on its own and run a full integrity check,\n" +
			"printing one line per file. Unlike opening the queue, which stops at the first damaged\n" +
			"file, it reports on all of them. Exits 1 when any file is damaged.\n\n" +
			"With --fix-shard-count it instead records, in the first file, the number of shard files\n" +
			"present (numbered from 0 without a gap) as the queue's shard count: the fix for a lost or\n" +
			"damaged count record, which Open refuses. Stop every process using the queue first.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if dsn, _ := pgFlags(cmd); dsn != "" && !fixCount {
				return runDoctorPostgres(cmd)
			}
			if err := refuseDSN(cmd); err != nil {
				return err
			}
			if fixCount {
				return runFixShardCount(cmd)
			}
			return runDoctor(cmd, args)
		},
	}
	cmd.Flags().BoolVar(&fixCount, "fix-shard-count", false, "record the number of shard files present as the shard count")
	return cmd
}

// runFixShardCount rewrites the shard count record from the files present.
func runFixShardCount(cmd *cobra.Command) error {
	dir, err := existingQueueDir(cmd)
	if err != nil {
		return err
	}
	res, err := sqlite.RepairShardCount(cmd.Context(), dir)
	if err != nil {
		return err
	}
	was := res.From
	if was == "" {
		was = "none"
	}
	fmt.Fprintf(cmd.OutOrStdout(), "queue %s: shard count record %s -> %d (the shard files present)\n", dir, was, res.To)
	return nil
}

// existingQueueDir returns --dir, refusing a directory without a queue.
func existingQueueDir(cmd *cobra.Command) (string, error) {
	dir, _, err := queueFlags(cmd)
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(sqlite.ShardPath(dir, 0)); errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("no queue in %s (%s not found); check --dir", dir, sqlite.ShardPath(dir, 0))
	}
	return dir, nil
}

func runDoctor(cmd *cobra.Command, _ []string) error {
	dir, err := existingQueueDir(cmd)
	if err != nil {
		return err
	}
	checks, err := sqlite.CheckDir(cmd.Context(), dir)
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "queue %s: %d shard file(s)\n", clean(dir, errorMax), len(checks))
	problems := 0
	for _, c := range checks {
		if c.Err == nil {
			fmt.Fprintf(out, "ok       %s\n", clean(c.Path, errorMax))
			continue
		}
		problems++
		printProblem(out, c.Err)
	}
	if problems > 0 {
		return fmt.Errorf("%d problem(s) found", problems)
	}
	fmt.Fprintln(out, "all files passed the integrity check")
	return nil
}

// printProblem prints one line: CORRUPT for damage, ERROR for anything else
// (the check itself could not run).
func printProblem(out io.Writer, err error) {
	label := "ERROR"
	if errors.Is(err, queuesqlite.ErrCorrupt) {
		label = "CORRUPT"
	}
	fmt.Fprintf(out, "%-8s %s\n", label, clean(err.Error(), errorMax))
}

// runDoctorPostgres checks a PostgreSQL queue: its schema is at this
// build's version and its tables can be read.
func runDoctorPostgres(cmd *cobra.Command) error {
	return withQueue(cmd, func(q *queuesqlite.Queue) error {
		if err := q.Check(cmd.Context()); err != nil {
			return err
		}
		_, schema := pgFlags(cmd)
		fmt.Fprintf(cmd.OutOrStdout(), "ok: the queue in schema %s is sound\n", schema)
		return nil
	})
}
