package main

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/queue-sqlite/queuesqlite"
)

func init() { register(newGetCmd) }

// contentMax bounds a content, result or metadata that get prints for a
// human (--json prints it whole).
const contentMax = 64 << 10

func newGetCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "get <id>",
		Short: "Print one message: content, result, status, attempts, last error, lease, times",
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return fmt.Errorf("get needs one message id, got %d argument(s)", len(args))
			}
			return withQueueReadOnly(cmd, func(q *queuesqlite.Queue) error {
				m, err := q.Get(cmd.Context(), args[0])
				if errors.Is(err, queuesqlite.ErrNotFound) {
					return fmt.Errorf("no message %s in %s (never sent, or deleted after its retention)", args[0], q.Dir())
				}
				if err != nil {
					return err
				}
				if asJSON {
					return writeJSON(cmd.OutOrStdout(), messageView(m))
				}
				return printMessage(cmd.OutOrStdout(), m)
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// printMessage writes every field of m, one per line; texts that may span
// lines (content, result, last error) are indented under their name.
func printMessage(w io.Writer, m *queuesqlite.Message) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(name, value string) { fmt.Fprintf(tw, "%s:\t%s\n", name, value) }
	row("id", clean(m.ID, fieldMax))
	row("status", m.Status.String())
	row("destination", clean(m.Destination, fieldMax))
	row("source", clean(m.Source, fieldMax))
	row("type", clean(m.Type, fieldMax))
	row("priority", m.Priority.String())
	row("attempts", fmt.Sprintf("%d/%d (%d retried)", m.Attempt, m.MaxAttempts, m.RetryCount))
	row("tags", cleanList(m.Tags))
	row("shard", fmt.Sprint(m.Shard))
	if m.ShardKey != "" {
		row("shard key", clean(m.ShardKey, fieldMax))
	}
	if m.LeaseOwner != "" {
		row("lease", fmt.Sprintf("%s until %s", clean(m.LeaseOwner, fieldMax), timeText(m.LeaseExpiry)))
	}
	row("created", timeText(m.CreatedAt))
	row("updated", timeText(m.UpdatedAt))
	row("run at", timeText(m.RunAt))
	row("expires", timeText(m.ExpireAt))
	row("finished", timeText(m.FinishedAt))
	if err := tw.Flush(); err != nil {
		return err
	}
	block(w, "metadata", string(m.Metadata))
	block(w, "content", string(m.Content))
	block(w, "result", string(m.Result))
	block(w, "last error", m.LastError)
	if errs := m.Errors(); len(errs) > 0 {
		fmt.Fprintf(w, "attempt errors:\n")
		for _, e := range errs {
			fmt.Fprintf(w, "  %d  %s  %s\n", e.Attempt, timeText(e.At), firstLine(e.Error, listErrorMax))
		}
	}
	return nil
}

// block writes a possibly multi-line text under its name, indented, or
// "name: -" when empty.
func block(w io.Writer, name, text string) {
	if text == "" {
		fmt.Fprintf(w, "%s: -\n", name)
		return
	}
	fmt.Fprintf(w, "%s:\n", name)
	for line := range strings.SplitSeq(cleanLines(text, contentMax), "\n") {
		fmt.Fprintf(w, "  %s\n", line)
	}
}

// cleanList is the escaped, comma-separated list, or "-" when empty.
func cleanList(items []string) string {
	if len(items) == 0 {
		return "-"
	}
	out := make([]string, len(items))
	for i, s := range items {
		out[i] = clean(s, fieldMax)
	}
	return strings.Join(out, ", ")
}
