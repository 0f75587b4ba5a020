package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/spf13/cobra"

	"github.com/queue-sqlite/queuesqlite"
)

func init() { register(newDoctorCmd) }

func newDoctorCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "doctor",
		Short: "Check the integrity of every shard file; exit 1 if one is damaged",
		Long: "Open every shard file of the queue at --dir on its own and run a full integrity check,\n" +
			"printing one line per file. Unlike opening the queue, which stops at the first damaged\n" +
			"file, it reports on all of them. Exits 1 when any file is damaged.",
		Args: cobra.NoArgs,
		RunE: runDoctor,
	}
}

func runDoctor(cmd *cobra.Command, _ []string) error {
	dir, _, err := queueFlags(cmd)
	if err != nil {
		return err
	}
	if _, err := os.Stat(queuesqlite.ShardPath(dir, 0)); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("no queue in %s (%s not found); check --dir", dir, queuesqlite.ShardPath(dir, 0))
	}
	checks, err := queuesqlite.CheckDir(cmd.Context(), dir)
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
