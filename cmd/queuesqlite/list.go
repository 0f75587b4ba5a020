package main

import (
	"errors"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/queue-sqlite/queuesqlite"
)

func init() { register(newListCmd) }

// listErrorMax is how much of a last error a list row shows.
const listErrorMax = 60

// listOpts are the flags of `list`.
type listOpts struct {
	statuses     []string
	dest, tag    string
	since, until string
	limit        int
	cursor       string
	all, asJSON  bool
}

func newListCmd() *cobra.Command {
	var o listOpts
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List messages, filtered by status, destination, tag and send time",
		Long: "List messages in send order (across shards), one page of --limit at a time. When more\n" +
			"match, the cursor of the next page is printed on stderr: pass it as --cursor, or use\n" +
			"--all to print every page. --json prints one JSON object per message per line.",
		Example: "  queuesqlite list --status failed,expired --destination charge --since 1h\n" +
			"  queuesqlite list --tag nightly --all --json",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts, err := o.listOpts(time.Now())
			if err != nil {
				return err
			}
			return withQueueReadOnly(cmd, func(q *queuesqlite.Queue) error { return runList(cmd, q, &o, opts) })
		},
	}
	f := cmd.Flags()
	f.StringSliceVar(&o.statuses, "status", nil, "only these statuses (repeat or comma list): "+allStatusNames())
	f.StringVar(&o.dest, "destination", "", "only messages for this destination")
	f.StringVar(&o.tag, "tag", "", "only messages carrying this tag")
	f.StringVar(&o.since, "since", "", "only messages sent at or after this: RFC 3339 time, or a duration meaning that long ago (1h)")
	f.StringVar(&o.until, "until", "", "only messages sent before this: RFC 3339 time, or a duration meaning that long ago")
	f.IntVar(&o.limit, "limit", queuesqlite.ListPageDefault, fmt.Sprintf("messages per page (1 to %d)", queuesqlite.ListPageMax))
	f.StringVar(&o.cursor, "cursor", "", "start at this page (the cursor a previous list printed)")
	f.BoolVar(&o.all, "all", false, "print every page, not just the first")
	f.BoolVar(&o.asJSON, "json", false, "print one JSON object per line instead of a table")
	return cmd
}

// listOpts validates the flags and makes the queue's filter.
func (o *listOpts) listOpts(now time.Time) (*queuesqlite.ListOpts, error) {
	if o.limit < 1 || o.limit > queuesqlite.ListPageMax {
		return nil, fmt.Errorf("--limit must be 1 to %d, not %d", queuesqlite.ListPageMax, o.limit)
	}
	statuses, err := statusNames(o.statuses)
	if err != nil {
		return nil, err
	}
	from, err := parseWhen("--since", o.since, now)
	if err != nil {
		return nil, err
	}
	before, err := parseWhen("--until", o.until, now)
	if err != nil {
		return nil, err
	}
	if !from.IsZero() && !before.IsZero() && !from.Before(before) {
		return nil, fmt.Errorf("--since (%s) must be before --until (%s)", timeText(from), timeText(before))
	}
	return &queuesqlite.ListOpts{Statuses: statuses, Destination: o.dest, Tag: o.tag,
		CreatedFrom: from, CreatedBefore: before, Limit: o.limit}, nil
}

// runList prints one page, or every page with --all, and the next cursor
// on stderr when a page is left.
func runList(cmd *cobra.Command, q *queuesqlite.Queue, o *listOpts, opts *queuesqlite.ListOpts) error {
	cursor, shown := o.cursor, 0
	for {
		page, err := q.ListPage(cmd.Context(), opts, cursor)
		if errors.Is(err, queuesqlite.ErrInvalidArgument) && cursor != "" {
			return fmt.Errorf("--cursor: %w (a cursor is valid only for the queue and the shard count it came from)", err)
		}
		if err != nil {
			return err
		}
		if err := printPage(cmd.OutOrStdout(), page.Messages, o.asJSON, shown == 0); err != nil {
			return err
		}
		shown += len(page.Messages)
		cursor = page.Next
		if cursor == "" || !o.all {
			break
		}
	}
	if shown == 0 && !o.asJSON {
		fmt.Fprintln(cmd.OutOrStdout(), "no messages")
	}
	if cursor != "" {
		fmt.Fprintf(cmd.ErrOrStderr(), "more messages: add --cursor %s\n", cursor)
	}
	return nil
}

// printPage writes messages as JSON lines or as table rows (with the
// header when first).
func printPage(w io.Writer, ms []*queuesqlite.Message, asJSON, first bool) error {
	if asJSON {
		for _, m := range ms {
			if err := writeJSONLine(w, messageView(m)); err != nil {
				return err
			}
		}
		return nil
	}
	if len(ms) == 0 {
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	if first {
		fmt.Fprintln(tw, "ID\tSTATUS\tDESTINATION\tPRIORITY\tATTEMPTS\tCREATED\tLAST ERROR")
	}
	for _, m := range ms {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d/%d\t%s\t%s\n", clean(m.ID, fieldMax), m.Status, clean(m.Destination, fieldMax),
			m.Priority, m.Attempt, m.MaxAttempts, m.CreatedAt.UTC().Format(time.RFC3339), firstLine(m.LastError, listErrorMax))
	}
	return tw.Flush()
}
