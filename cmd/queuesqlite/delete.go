package main

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/spf13/cobra"

	"github.com/queue-sqlite/queuesqlite"
)

func init() { register(newDeleteCmd) }

// deletePage is how many messages delete --all lists and deletes at a time.
const deletePage = 500

func newDeleteCmd() *cobra.Command {
	var (
		all      bool
		statuses []string
		dest     string
	)
	cmd := &cobra.Command{
		Use:   "delete <id>... | --status <status> --all",
		Short: "Delete messages for good, in any status but processing",
		Long: "Delete each message given, or with --all every message of the given statuses (and\n" +
			"destination). A running message, or an unknown id, is reported and left as it is;\n" +
			"the exit status is 1 if any was. Messages that depend on a deleted one are cancelled.",
		Example: "  queuesqlite delete --dir ./q 0192c3d4-...\n  queuesqlite delete --dir ./q --status failed --destination charge --all",
		RunE: func(cmd *cobra.Command, ids []string) error {
			if all == (len(ids) > 0) {
				return errors.New("give the ids to delete, or --status with --all (not both)")
			}
			if !all && (len(statuses) > 0 || dest != "") {
				return errors.New("--status and --destination only apply with --all")
			}
			sts, err := statusNames(statuses)
			if err != nil {
				return err
			}
			if all && len(sts) == 0 {
				return errors.New("--all needs --status (for example --status failed): it does not delete every message")
			}
			return withQueue(cmd, func(q *queuesqlite.Queue) error {
				if all {
					return deleteAll(cmd, q, &queuesqlite.ListOpts{Statuses: sts, Destination: dest, Limit: deletePage})
				}
				return deleteIDs(cmd, q, ids)
			})
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "delete every message of --status (and --destination)")
	cmd.Flags().StringSliceVar(&statuses, "status", nil, "with --all: these statuses (repeat or comma list): "+allStatusNames())
	cmd.Flags().StringVar(&dest, "destination", "", "with --all: only messages for this destination")
	return cmd
}

// deleteIDs deletes the ids in one call and reports each.
func deleteIDs(cmd *cobra.Command, q *queuesqlite.Queue, ids []string) error {
	res, err := q.Delete(cmd.Context(), ids...)
	if res == nil {
		return err
	}
	reportDeleted(cmd, res)
	fmt.Fprintf(cmd.OutOrStdout(), "deleted %d of %d message(s)\n", len(res.Deleted), len(ids))
	return deleteErrors(res, err)
}

// reportDeleted prints one line per deleted id.
func reportDeleted(cmd *cobra.Command, res *queuesqlite.DeleteResult) {
	for _, id := range res.Deleted {
		fmt.Fprintf(cmd.OutOrStdout(), "deleted %s\n", clean(id, fieldMax))
	}
}

// deleteErrors names every id that was not deleted; err is Delete's error,
// kept when it is not one of those.
func deleteErrors(res *queuesqlite.DeleteResult, err error) error {
	var errs []error
	for _, id := range res.Processing {
		errs = append(errs, fmt.Errorf("delete %s: it is processing; delete it once its attempt has ended", clean(id, fieldMax)))
	}
	for _, id := range res.NotFound {
		errs = append(errs, fmt.Errorf("delete %s: %w", clean(id, fieldMax), queuesqlite.ErrNotFound))
	}
	if err != nil && !errors.Is(err, queuesqlite.ErrInvalidState) && !errors.Is(err, queuesqlite.ErrNotFound) {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// deleteAll deletes every message matching o, page by page (following the
// cursor, so running ones are passed over), with its progress on stderr.
func deleteAll(cmd *cobra.Command, q *queuesqlite.Queue, o *queuesqlite.ListOpts) error {
	ctx := cmd.Context()
	total, err := matchingCount(ctx, q, o)
	if err != nil {
		return err
	}
	var count atomic.Int64
	var n int
	var errs []error
	done := make(chan struct{})
	go func() {
		defer close(done)
		n, errs = deletePages(ctx, cmd, q, o, &count)
	}()
	perr := trackProgressOf(ctx, cmd.ErrOrStderr(), false, total, workDeleting, func() int64 { return min(count.Load(), total) }, done)
	<-done
	fmt.Fprintf(cmd.OutOrStdout(), "deleted %d message(s)\n", n)
	return errors.Join(append(errs, perr)...)
}

// deletePages lists and deletes the matching messages a page at a time.
func deletePages(ctx context.Context, cmd *cobra.Command, q *queuesqlite.Queue, o *queuesqlite.ListOpts, count *atomic.Int64) (int, []error) {
	var errs []error
	n, cursor := 0, ""
	for {
		page, err := q.ListPage(ctx, o, cursor)
		if err != nil {
			return n, append(errs, err)
		}
		ids := make([]string, len(page.Messages))
		for i, m := range page.Messages {
			ids[i] = m.ID
		}
		if len(ids) > 0 {
			res, err := q.Delete(ctx, ids...)
			if res == nil {
				return n, append(errs, err)
			}
			n += len(res.Deleted)
			count.Add(int64(len(ids)))
			if err := deleteErrors(res, err); err != nil {
				errs = append(errs, err)
			}
		}
		if page.Next == "" {
			return n, errs
		}
		cursor = page.Next
	}
}

// matchingCount is how many messages have the statuses (and destination)
// of o.
func matchingCount(ctx context.Context, q *queuesqlite.Queue, o *queuesqlite.ListOpts) (int64, error) {
	st, err := q.Stats(ctx)
	if err != nil {
		return 0, err
	}
	var total int64
	for _, s := range o.Statuses {
		if o.Destination != "" {
			total += int64(st.ByDestination[o.Destination][s])
		} else {
			total += int64(st.ByStatus[s])
		}
	}
	return total, nil
}
