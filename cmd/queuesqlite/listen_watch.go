package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/queue-sqlite/queuesqlite"
)

func newListenWatchCmd() *cobra.Command {
	var (
		prefix   string
		interval = durationFlag{followIntervalDefault}
		asJSON   bool
	)
	cmd := &cobra.Command{
		Use:   "watch [<key> | --prefix P]",
		Short: "Print changes of listen data as they happen, until Ctrl-C",
		Long: "Print each change of one key, of the keys under --prefix, or of every key, from now\n" +
			"on, until interrupted. It compares the stored keys and versions at each look and only\n" +
			"reads: it joins no listener group, so it takes no change away from the application's\n" +
			"listeners and needs none to exist. Several changes of a key between two looks show as\n" +
			"its newest value, with the number of changes.",
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 || len(args) == 1 && prefix != "" {
				return errors.New("listen watch takes one key, or --prefix, or neither (every key)")
			}
			w := &watcher{prefix: prefix, asJSON: asJSON, note: cmd.ErrOrStderr()}
			if len(args) == 1 {
				if args[0] == "" {
					return errors.New("listen watch: empty key")
				}
				w.prefix, w.exact = args[0], true
			}
			return follow(cmd, interval.d, func(ctx context.Context, q *queuesqlite.Queue) error {
				return w.look(ctx, q, cmd.OutOrStdout())
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&prefix, "prefix", "", "watch every key that starts with this")
	f.Var(&interval, "interval", "how often to look for changes")
	f.BoolVar(&asJSON, "json", false, "print one JSON object per line")
	return cmd
}

// watcher compares listen data between looks.
type watcher struct {
	prefix string
	exact  bool // prefix is the one key to watch
	asJSON bool
	note   io.Writer                           // told once the first look is done
	known  map[string]*queuesqlite.ListenEntry // nil before the first look
}

// look reads the watched keys and prints what changed since the last look;
// the first look only remembers.
func (w *watcher) look(ctx context.Context, q *queuesqlite.Queue, out io.Writer) error {
	es, err := q.ListListenData(ctx, w.prefix)
	if err != nil {
		return err
	}
	now := map[string]*queuesqlite.ListenEntry{}
	for _, e := range es {
		if !w.exact || e.Key == w.prefix {
			now[e.Key] = e
		}
	}
	first := w.known == nil
	old := w.known
	w.known = now
	if first {
		fmt.Fprintln(w.note, "watching listen data; changes from now on are printed (Ctrl-C to stop)")
		return nil
	}
	for _, e := range es {
		if now[e.Key] == nil {
			continue
		}
		if was := old[e.Key]; was == nil || was.Version != e.Version || !was.UpdatedAt.Equal(e.UpdatedAt) {
			if err := w.printSet(out, was, e); err != nil {
				return err
			}
		}
	}
	return w.printDeleted(out, old, now)
}

// printSet writes that key e changed (was is nil when it was new).
func (w *watcher) printSet(out io.Writer, was, e *queuesqlite.ListenEntry) error {
	changes := int64(0)
	if was != nil && e.Version > was.Version {
		changes = e.Version - was.Version
	}
	if w.asJSON {
		v := entryView(e)
		v.Event, v.Changes = "set", changes
		return writeJSONLine(out, v)
	}
	note := ""
	if changes > 1 {
		note = fmt.Sprintf(", %d changes since the last look", changes)
	}
	_, err := fmt.Fprintf(out, "%s  set  %s = %s  (%s, version %d%s)\n", timeText(e.UpdatedAt), clean(e.Key, fieldMax),
		clean(e.Value.String(), fieldMax), kindName(e.Value.Kind), e.Version, note)
	return err
}

// printDeleted writes the keys in old that are gone from now, in key order.
func (w *watcher) printDeleted(out io.Writer, old, now map[string]*queuesqlite.ListenEntry) error {
	for _, k := range sortedKeys(old) {
		if now[k] != nil {
			continue
		}
		var err error
		if w.asJSON {
			err = writeJSONLine(out, listenJSON{Event: "deleted", Key: k})
		} else {
			_, err = fmt.Fprintf(out, "%s  deleted  %s\n", timeText(time.Now()), clean(k, fieldMax))
		}
		if err != nil {
			return err
		}
	}
	return nil
}
