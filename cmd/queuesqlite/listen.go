package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/queue-sqlite/queuesqlite"
	"github.com/queue-sqlite/queuesqlite/queuetype"
)

func init() { register(newListenCmd) }

func newListenCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "listen",
		Short: "Read, set and watch listen data (the key/value store listeners follow)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return fmt.Errorf("listen needs a subcommand: get, set or watch (see '%s --help')", cmd.CommandPath())
		},
	}
	cmd.AddCommand(newListenGetCmd(), newListenSetCmd(), newListenWatchCmd())
	return cmd
}

// kindNames are the names of the listen value kinds.
var kindNames = map[queuetype.ValueKind]string{
	queuetype.ValueText: "text", queuetype.ValueJSON: "json", queuetype.ValueBytes: "bytes",
}

func kindName(k queuetype.ValueKind) string {
	if n, ok := kindNames[k]; ok {
		return n
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// listenJSON is a listen entry, or a change seen by watch, in --json
// output. Value is a JSON value as it is, a text as a JSON string, bytes
// as base64.
type listenJSON struct {
	Event     string     `json:"event,omitempty"` // watch: "set" or "deleted"
	Key       string     `json:"key"`
	Kind      string     `json:"kind,omitempty"`
	Value     any        `json:"value,omitempty"`
	Version   int64      `json:"version,omitempty"`
	Changes   int64      `json:"changes,omitempty"` // watch: changes since the last look (1 when each was seen)
	UpdatedAt *time.Time `json:"updated_at,omitempty"`
}

func entryView(e *queuesqlite.ListenEntry) listenJSON {
	return listenJSON{Key: e.Key, Kind: kindName(e.Value.Kind), Value: valueJSON(e.Value),
		Version: e.Version, UpdatedAt: optTime(e.UpdatedAt)}
}

func valueJSON(v queuesqlite.Value) any {
	switch v.Kind {
	case queuetype.ValueJSON:
		return json.RawMessage(v.Raw)
	case queuetype.ValueBytes:
		return v.Raw
	}
	return string(v.Raw)
}

func newListenGetCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "get <key>",
		Short: "Print a listen key's value, kind, version and update time",
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return fmt.Errorf("listen get needs one key, got %d argument(s)", len(args))
			}
			return withQueueReadOnly(cmd, func(q *queuesqlite.Queue) error {
				e, err := q.GetListenData(cmd.Context(), args[0])
				if errors.Is(err, queuesqlite.ErrNotFound) {
					return fmt.Errorf("no listen key %s in %s", args[0], q.Dir())
				}
				if err != nil {
					return err
				}
				if asJSON {
					return writeJSON(cmd.OutOrStdout(), entryView(e))
				}
				return printEntry(cmd.OutOrStdout(), e)
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func printEntry(w io.Writer, e *queuesqlite.ListenEntry) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "key:\t%s\n", clean(e.Key, fieldMax))
	fmt.Fprintf(tw, "kind:\t%s\n", kindName(e.Value.Kind))
	fmt.Fprintf(tw, "version:\t%d\n", e.Version)
	fmt.Fprintf(tw, "updated:\t%s\n", timeText(e.UpdatedAt))
	if err := tw.Flush(); err != nil {
		return err
	}
	block(w, "value", e.Value.String())
	return nil
}

func newListenSetCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "set <key> <value>",
		Short: "Set a listen key (text, or JSON with --json); its listeners run if it changed",
		Example: "  queuesqlite listen set config/mode maintenance\n" +
			"  queuesqlite listen set config/limits '{\"rps\":50}' --json",
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) != 2 {
				return fmt.Errorf("listen set needs a key and a value, got %d argument(s)", len(args))
			}
			var value any = args[1]
			if asJSON {
				if !json.Valid([]byte(args[1])) {
					return fmt.Errorf("the value \"%s\" is not valid JSON (quote it for the shell, e.g. '{\"n\":1}')", clean(args[1], echoMax))
				}
				value = json.RawMessage(args[1])
			}
			return withQueue(cmd, func(q *queuesqlite.Queue) error {
				c, err := q.SetListenData(cmd.Context(), args[0], value)
				if err != nil {
					return err
				}
				if c == nil {
					fmt.Fprintf(cmd.OutOrStdout(), "%s unchanged (it already has this value)\n", clean(args[0], fieldMax))
					return nil
				}
				fmt.Fprintf(cmd.OutOrStdout(), "set %s\n", clean(args[0], fieldMax))
				return nil
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "the value is JSON (stored as JSON, not as text)")
	return cmd
}
