package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/queue-sqlite/queuesqlite"
)

func init() { register(newFailedCmd) }

// failedLimitDefault is how many dead letters `failed list` shows.
const failedLimitDefault = 100

func newFailedCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "failed",
		Short: "List and requeue dead letters (messages that used up their attempts)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return fmt.Errorf("failed needs a subcommand: list or retry (see '%s --help')", cmd.CommandPath())
		},
	}
	cmd.AddCommand(newFailedListCmd(), newFailedRetryCmd())
	return cmd
}

func newFailedListCmd() *cobra.Command {
	var (
		dest   string
		limit  int
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List dead letters: id, destination, attempts, finish time, last error",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if limit <= 0 {
				return fmt.Errorf("--limit must be at least 1, not %d", limit)
			}
			return withQueueReadOnly(cmd, func(q *queuesqlite.Queue) error { return runFailedList(cmd, q, dest, limit, asJSON) })
		},
	}
	cmd.Flags().StringVar(&dest, "destination", "", "only messages for this destination")
	cmd.Flags().IntVar(&limit, "limit", failedLimitDefault, "show at most this many")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of a table")
	return cmd
}

// runFailedList prints at most limit dead letters as a table or JSON.
func runFailedList(cmd *cobra.Command, q *queuesqlite.Queue, dest string, limit int, asJSON bool) error {
	ms, err := listFailed(cmd, q, dest, limit)
	if err != nil {
		return err
	}
	if asJSON {
		return writeJSON(cmd.OutOrStdout(), failedView(ms))
	}
	return printFailed(cmd.OutOrStdout(), ms)
}

// listFailed returns at most limit dead letters. ListFailed's limit is per
// shard, so the merged list is cut to limit.
func listFailed(cmd *cobra.Command, q *queuesqlite.Queue, dest string, limit int) ([]*queuesqlite.Message, error) {
	ms, err := q.ListFailed(cmd.Context(), dest, limit)
	if err != nil {
		return nil, err
	}
	return ms[:min(len(ms), limit)], nil
}

// failedJSON is one dead letter in `failed list --json`.
type failedJSON struct {
	ID          string    `json:"id"`
	Destination string    `json:"destination"`
	Shard       int       `json:"shard"`
	Attempts    int       `json:"attempts"`
	MaxAttempts int       `json:"max_attempts"`
	LastError   string    `json:"last_error"`
	FinishedAt  time.Time `json:"finished_at"`
}

func failedView(ms []*queuesqlite.Message) []failedJSON {
	out := []failedJSON{}
	for _, m := range ms {
		out = append(out, failedJSON{ID: m.ID, Destination: m.Destination, Shard: m.Shard,
			Attempts: m.Attempt, MaxAttempts: m.MaxAttempts, LastError: m.LastError, FinishedAt: m.FinishedAt})
	}
	return out
}

func printFailed(w io.Writer, ms []*queuesqlite.Message) error {
	if len(ms) == 0 {
		_, err := fmt.Fprintln(w, "no failed messages")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tDESTINATION\tATTEMPTS\tFINISHED\tLAST ERROR")
	for _, m := range ms {
		fmt.Fprintf(tw, "%s\t%s\t%d/%d\t%s\t%s\n", clean(m.ID, fieldMax), clean(m.Destination, fieldMax), m.Attempt, m.MaxAttempts,
			m.FinishedAt.UTC().Format(time.RFC3339), firstLine(m.LastError, 80))
	}
	return tw.Flush()
}

// firstLine returns the first line of s, cut to at most n runes, escaped
// for the terminal (see clean).
func firstLine(s string, n int) string {
	s, _, _ = strings.Cut(s, "\n")
	if r := []rune(s); len(r) > n {
		s = string(r[:n-1]) + "…"
	}
	return clean(s, n)
}

func newFailedRetryCmd() *cobra.Command {
	var (
		all  bool
		dest string
	)
	cmd := &cobra.Command{
		Use:   "retry <id>... | --all",
		Short: "Requeue dead letters: back to pending with their attempts reset",
		RunE: func(cmd *cobra.Command, ids []string) error {
			if all == (len(ids) > 0) {
				return errors.New("give the ids to requeue, or --all (not both)")
			}
			if dest != "" && !all {
				return errors.New("--destination only applies with --all")
			}
			return withQueue(cmd, func(q *queuesqlite.Queue) error {
				if all {
					return retryAll(cmd, q, dest)
				}
				return retryIDs(cmd, q, ids)
			})
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "requeue every failed message")
	cmd.Flags().StringVar(&dest, "destination", "", "with --all: only messages for this destination")
	return cmd
}

// retryIDs requeues each id, reporting every failure and going on with the
// rest.
func retryIDs(cmd *cobra.Command, q *queuesqlite.Queue, ids []string) error {
	var errs []error
	n := 0
	for _, id := range ids {
		if _, err := q.Retry(cmd.Context(), id); err != nil {
			errs = append(errs, fmt.Errorf("retry %s: %w", id, err))
			continue
		}
		n++
		fmt.Fprintf(cmd.OutOrStdout(), "requeued %s\n", clean(id, fieldMax))
	}
	fmt.Fprintf(cmd.OutOrStdout(), "requeued %d of %d message(s)\n", n, len(ids))
	return errors.Join(errs...)
}

// retryPage is how many dead letters retry --all lists at a time.
const retryPage = 500

// retryAll requeues failed messages page by page until none is left (or
// only ones that could not be requeued).
func retryAll(cmd *cobra.Command, q *queuesqlite.Queue, dest string) error {
	r := retrier{tried: map[string]bool{}}
	for {
		ms, err := q.ListFailed(cmd.Context(), dest, retryPage)
		if err != nil {
			return errors.Join(append(r.errs, err)...)
		}
		if r.page(cmd.Context(), q, ms) == 0 {
			fmt.Fprintf(cmd.OutOrStdout(), "requeued %d message(s)\n", r.n)
			return errors.Join(r.errs...)
		}
	}
}

// retrier requeues pages of dead letters, each id at most once.
type retrier struct {
	tried map[string]bool
	n     int // requeued
	errs  []error
}

// page requeues the messages of ms not tried before and returns how many
// it tried.
func (r *retrier) page(ctx context.Context, q *queuesqlite.Queue, ms []*queuesqlite.Message) int {
	fresh := 0
	for _, m := range ms {
		if r.tried[m.ID] {
			continue
		}
		r.tried[m.ID], fresh = true, fresh+1
		if _, err := q.Retry(ctx, m.ID); err != nil {
			r.errs = append(r.errs, fmt.Errorf("retry %s: %w", m.ID, err))
			continue
		}
		r.n++
	}
	return fresh
}
