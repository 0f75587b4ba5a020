package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/queue-sqlite/queuesqlite"
)

func init() { register(newDoctorCmd) }

func newDoctorCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "doctor",
		Short: "Check the integrity of every shard file; exit 1 if one is damaged",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out := cmd.OutOrStdout()
			q, err := openQueue(cmd, queuesqlite.Config{}, true)
			if errors.Is(err, queuesqlite.ErrCorrupt) {
				printProblems(out, splitErrors(err))
				return errors.New("the queue cannot be opened: a file is damaged")
			}
			if err != nil {
				return err
			}
			defer q.Close()
			return checkShards(cmd, q, out)
		},
	}
}

// checkShards runs Queue.Check and prints one line per shard file, then
// any problem that names no shard file.
func checkShards(cmd *cobra.Command, q *queuesqlite.Queue, out io.Writer) error {
	problems := splitErrors(q.Check(cmd.Context()))
	fmt.Fprintf(out, "queue %s: %d shard file(s)\n", q.Dir(), q.ShardCount())
	shown := make([]bool, len(problems))
	for i := range q.ShardCount() {
		printShard(out, queuesqlite.ShardPath(q.Dir(), i), problems, shown)
	}
	for i, err := range problems {
		if !shown[i] {
			printProblems(out, []error{err})
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("%d problem(s) found", len(problems))
	}
	fmt.Fprintln(out, "all files passed the integrity check")
	return nil
}

// printShard prints "ok" for path, or the problems that name it (marking
// them shown).
func printShard(out io.Writer, path string, problems []error, shown []bool) {
	ok := true
	for i, err := range problems {
		if se := storageError(err); se != nil && se.Path == path {
			printProblems(out, []error{err})
			shown[i], ok = true, false
		}
	}
	if ok {
		fmt.Fprintf(out, "ok       %s\n", path)
	}
}

// printProblems prints one line per error: CORRUPT for damage, ERROR for
// anything else (the check itself could not run).
func printProblems(out io.Writer, errs []error) {
	for _, err := range errs {
		label := "ERROR"
		if errors.Is(err, queuesqlite.ErrCorrupt) {
			label = "CORRUPT"
		}
		fmt.Fprintf(out, "%-8s %v\n", label, err)
	}
}

// splitErrors undoes errors.Join; nil gives nothing.
func splitErrors(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

func storageError(err error) *queuesqlite.StorageError {
	var se *queuesqlite.StorageError
	if errors.As(err, &se) {
		return se
	}
	return nil
}
