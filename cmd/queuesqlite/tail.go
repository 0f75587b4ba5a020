package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/queue-sqlite/queuesqlite"
)

func init() { register(newTailCmd) }

const (
	// tailLateness is how far before the newest finish time shown each look
	// reads again. A finish time is stamped by the finishing process a
	// moment before its write commits, and processes' clocks differ a
	// little, so a finish may become visible after a later-stamped one; one
	// that shows up later than this is missed.
	tailLateness = 5 * time.Second
	// tailPage is how many outcomes one read asks for.
	tailPage = queuesqlite.ListPageMax
)

// tailOpts are the flags of `tail`.
type tailOpts struct {
	dest     string
	statuses []string
	since    string
	interval durationFlag
	asJSON   bool
}

func newTailCmd() *cobra.Command {
	o := tailOpts{interval: durationFlag{followIntervalDefault}}
	cmd := &cobra.Command{
		Use:   "tail",
		Short: "Follow outcomes live: print each message as it finishes, until Ctrl-C",
		Long: "Print each message that reaches a final status (completed, failed, expired,\n" +
			"cancelled) from now on (or from --since), in the order they finished, across\n" +
			"shards, until interrupted. It only reads the queue: run it beside the workers.\n" +
			"A message requeued and finished again is printed again. Finish times come\n" +
			"from the finishing process's clock; one that becomes visible more than 5s\n" +
			"after its stamped time (a clock far behind) is not printed.",
		Example: "  queuesqlite tail --destination charge --status failed\n  queuesqlite tail --since 10m --json",
		Args:    cobra.NoArgs,
		RunE:    func(cmd *cobra.Command, _ []string) error { return runTail(cmd, &o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.dest, "destination", "", "only messages for this destination")
	f.StringSliceVar(&o.statuses, "status", nil, "only these final statuses (repeat or comma list): completed, failed, expired, cancelled")
	f.StringVar(&o.since, "since", "", "start with the outcomes since this: RFC 3339 time, or a duration meaning that long ago (10m)")
	f.Var(&o.interval, "interval", "how often to look for new outcomes")
	f.BoolVar(&o.asJSON, "json", false, "print one JSON object per line")
	return cmd
}

// runTail prints outcomes until the command's context ends.
func runTail(cmd *cobra.Command, o *tailOpts) error {
	t, err := o.tailer(time.Now())
	if err != nil {
		return err
	}
	first := true
	return follow(cmd, o.interval.d, func(ctx context.Context, q *queuesqlite.Queue) error {
		if err := t.look(ctx, q, cmd.OutOrStdout()); err != nil {
			return err
		}
		if first {
			first = false
			fmt.Fprintf(cmd.ErrOrStderr(), "following outcomes since %s (Ctrl-C to stop)\n", timeText(t.from))
		}
		return nil
	})
}

// tailer remembers what tail has printed.
type tailer struct {
	opts   queuesqlite.FinishedOpts
	from   time.Time // print nothing that finished before this
	newest time.Time // the latest finish printed
	seen   map[outcome]bool
	asJSON bool
}

// outcome identifies one finish of a message (a requeued message finishes
// again, at another time).
type outcome struct {
	id       string
	finished int64 // unix microseconds
}

func (o *tailOpts) tailer(now time.Time) (*tailer, error) {
	statuses, err := statusNames(o.statuses)
	if err != nil {
		return nil, err
	}
	for _, s := range statuses {
		if !s.Terminal() {
			return nil, fmt.Errorf("--status: %s is not a final status; tail follows completed, failed, expired and cancelled", s)
		}
	}
	from, err := parseWhen("--since", o.since, now)
	if err != nil {
		return nil, err
	}
	if from.IsZero() {
		from = now.UTC()
	}
	return &tailer{opts: queuesqlite.FinishedOpts{Statuses: statuses, Destination: o.dest, Limit: tailPage},
		from: from, seen: map[outcome]bool{}, asJSON: o.asJSON}, nil
}

// look prints the outcomes not printed yet, reading from tailLateness
// before the newest one printed, page by page.
func (t *tailer) look(ctx context.Context, q *queuesqlite.Queue, w io.Writer) error {
	since := t.from
	if late := t.newest.Add(-tailLateness); late.After(since) {
		since = late
	}
	for {
		opts := t.opts
		opts.Since = since
		ms, err := q.ListFinished(ctx, &opts)
		if err != nil {
			return err
		}
		fresh, err := t.print(w, ms)
		if err != nil || len(ms) < tailPage {
			t.forget()
			return err
		}
		next := ms[len(ms)-1].FinishedAt
		if fresh == 0 && !next.After(since) {
			// A whole page finished at one instant and was printed: go past it.
			next = next.Add(time.Microsecond)
		}
		since = next
	}
}

// print writes the messages not seen before and returns how many it wrote.
func (t *tailer) print(w io.Writer, ms []*queuesqlite.Message) (int, error) {
	n := 0
	for _, m := range ms {
		k := outcome{m.ID, m.FinishedAt.UnixMicro()}
		if t.seen[k] {
			continue
		}
		t.seen[k] = true
		if m.FinishedAt.After(t.newest) {
			t.newest = m.FinishedAt
		}
		n++
		if err := t.line(w, m); err != nil {
			return n, err
		}
	}
	return n, nil
}

func (t *tailer) line(w io.Writer, m *queuesqlite.Message) error {
	if t.asJSON {
		return writeJSONLine(w, messageView(m))
	}
	errText := ""
	if m.LastError != "" && m.Status != queuesqlite.StatusCompleted {
		errText = "  " + firstLine(m.LastError, listErrorMax)
	}
	_, err := fmt.Fprintf(w, "%s  %-9s  %s  %s  %d/%d%s\n", timeText(m.FinishedAt), m.Status,
		clean(m.Destination, fieldMax), clean(m.ID, fieldMax), m.Attempt, m.MaxAttempts, errText)
	return err
}

// forget drops the outcomes that finished before the next look's window:
// they cannot be read again.
func (t *tailer) forget() {
	edge := t.newest.Add(-tailLateness).UnixMicro()
	for k := range t.seen {
		if k.finished < edge {
			delete(t.seen, k)
		}
	}
}
