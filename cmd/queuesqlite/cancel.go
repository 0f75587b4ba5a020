package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/queue-sqlite/queuesqlite"
)

func init() { register(newCancelCmd) }

func newCancelCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "cancel <id>...",
		Short: "Cancel messages that have not started (pending, scheduled or retrying)",
		Long: "Cancel each message that has not started. A running or finished message, or an\n" +
			"unknown id, is reported and left as it is; the exit status is 1 if any was.",
		RunE: func(cmd *cobra.Command, ids []string) error {
			if len(ids) == 0 {
				return errors.New("cancel needs the ids of the messages to cancel")
			}
			return withQueue(cmd, func(q *queuesqlite.Queue) error { return cancelIDs(cmd, q, ids) })
		},
	}
}

// cancelIDs cancels each id, reporting every failure and going on with the
// rest.
func cancelIDs(cmd *cobra.Command, q *queuesqlite.Queue, ids []string) error {
	var errs []error
	n := 0
	for _, id := range ids {
		if _, err := q.Cancel(cmd.Context(), id); err != nil {
			errs = append(errs, fmt.Errorf("cancel %s: %w", id, err))
			continue
		}
		n++
		fmt.Fprintf(cmd.OutOrStdout(), "cancelled %s\n", clean(id, fieldMax))
	}
	fmt.Fprintf(cmd.OutOrStdout(), "cancelled %d of %d message(s)\n", n, len(ids))
	return errors.Join(errs...)
}
