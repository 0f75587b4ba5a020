package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/queue-sqlite/queuesqlite"
)

func init() { register(newStatsCmd) }

// statusOrder lists the statuses in the order a message lives through them.
var statusOrder = []queuesqlite.Status{
	queuesqlite.StatusPending, queuesqlite.StatusScheduled, queuesqlite.StatusProcessing,
	queuesqlite.StatusRetrying, queuesqlite.StatusCompleted, queuesqlite.StatusFailed,
	queuesqlite.StatusExpired, queuesqlite.StatusCancelled,
}

func newStatsCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "stats",
		Short: "Print message counts per status, destination and shard",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withQueueReadOnly(cmd, func(q *queuesqlite.Queue) error {
				st, err := q.Stats(cmd.Context())
				if err != nil {
					return err
				}
				if asJSON {
					return writeJSON(cmd.OutOrStdout(), statsView(st))
				}
				return printStats(cmd.OutOrStdout(), q.Dir(), st)
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of tables")
	return cmd
}

// statsJSON is the --json form of Stats. Processed and Unhandled are left
// out: they describe the process that opened the queue, here this command.
type statsJSON struct {
	Total            int                       `json:"total"`
	ByStatus         map[string]int            `json:"by_status"`
	ByDestination    map[string]map[string]int `json:"by_destination"`
	OldestPending    *time.Time                `json:"oldest_pending"`
	OldestPendingAge float64                   `json:"oldest_pending_age_seconds"`
	Shards           []shardJSON               `json:"shards"`
	// Paused lists the stored pauses (every process leaves them alone).
	Paused []queuesqlite.Pause `json:"paused"`
}

type shardJSON struct {
	Shard            int            `json:"shard"`
	Total            int            `json:"total"`
	ByStatus         map[string]int `json:"by_status"`
	OldestPendingAge float64        `json:"oldest_pending_age_seconds"`
}

func statsView(st *queuesqlite.Stats) statsJSON {
	v := statsJSON{ByStatus: named(st.ByStatus), ByDestination: map[string]map[string]int{},
		OldestPendingAge: st.OldestPendingAge.Seconds(), Shards: []shardJSON{}, Paused: []queuesqlite.Pause{}}
	v.Paused = append(v.Paused, st.Paused...)
	v.Total = sum(st.ByStatus)
	for dest, counts := range st.ByDestination {
		v.ByDestination[dest] = named(counts)
	}
	if !st.OldestPending.IsZero() {
		t := st.OldestPending
		v.OldestPending = &t
	}
	for _, s := range st.Shards {
		v.Shards = append(v.Shards, shardJSON{Shard: s.Shard, Total: sum(s.ByStatus),
			ByStatus: named(s.ByStatus), OldestPendingAge: s.OldestPendingAge.Seconds()})
	}
	return v
}

// named keys counts by status name, every status present (zero included).
func named(counts map[queuesqlite.Status]int) map[string]int {
	out := map[string]int{}
	for _, s := range statusOrder {
		out[s.String()] = counts[s]
	}
	return out
}

func sum(counts map[queuesqlite.Status]int) int {
	n := 0
	for _, c := range counts {
		n += c
	}
	return n
}

// printStats writes Stats as three tables: per status, per destination,
// per shard; then the pauses.
func printStats(w io.Writer, dir string, st *queuesqlite.Stats) error {
	fmt.Fprintf(w, "queue %s: %d messages in %d shard(s)\n", clean(dir, errorMax), sum(st.ByStatus), len(st.Shards))
	fmt.Fprintf(w, "oldest pending: %s\n\n", ageText(st.OldestPending, st.OldestPendingAge))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "STATUS\tCOUNT")
	for _, s := range statusOrder {
		fmt.Fprintf(tw, "%s\t%d\n", s, st.ByStatus[s])
	}
	fmt.Fprintln(tw)
	var dests, shards []countRow
	for _, k := range sortedKeys(st.ByDestination) {
		dests = append(dests, countRow{clean(k, fieldMax), st.ByDestination[k]})
	}
	for _, s := range st.Shards {
		shards = append(shards, countRow{fmt.Sprint(s.Shard), s.ByStatus})
	}
	writeCountTable(tw, "DESTINATION", dests)
	fmt.Fprintln(tw)
	writeCountTable(tw, "SHARD", shards)
	writePaused(tw, st.Paused)
	return tw.Flush()
}

// writePaused writes the pauses as a table, or says there is none.
func writePaused(w io.Writer, ps []queuesqlite.Pause) {
	fmt.Fprintln(w)
	if len(ps) == 0 {
		fmt.Fprintln(w, "paused: none")
		return
	}
	fmt.Fprintln(w, "PAUSED\tNAME\tSINCE")
	for _, p := range ps {
		fmt.Fprintf(w, "%s\t%s\t%s\n", p.Kind, clean(p.Name, fieldMax), p.Since.UTC().Format(time.RFC3339))
	}
}

// countRow is one row of a count table: a name and its counts per status.
type countRow struct {
	name   string
	counts map[queuesqlite.Status]int
}

// writeCountTable writes one row per entry with a column per status.
func writeCountTable(w io.Writer, title string, rows []countRow) {
	fmt.Fprintf(w, "%s\t", title)
	for _, s := range statusOrder {
		fmt.Fprintf(w, "%s\t", s)
	}
	fmt.Fprintln(w, "total")
	for _, r := range rows {
		fmt.Fprintf(w, "%s\t", r.name)
		for _, s := range statusOrder {
			fmt.Fprintf(w, "%d\t", r.counts[s])
		}
		fmt.Fprintf(w, "%d\n", sum(r.counts))
	}
}

func ageText(oldest time.Time, age time.Duration) string {
	if oldest.IsZero() {
		return "none"
	}
	return fmt.Sprintf("%s ago (sent %s)", age.Round(time.Millisecond), oldest.UTC().Format(time.RFC3339))
}

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}

// writeJSON writes v as indented JSON. encoding/json escapes C0 controls
// but writes C1 and bidi controls raw; those are escaped too (\u009b), which
// is the same JSON (outside strings, JSON has no non-ASCII characters).
func writeJSON(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = io.WriteString(w, escapeJSON(b)+"\n")
	return err
}

// escapeJSON returns the JSON text b with C1 and bidi controls escaped.
func escapeJSON(b []byte) string {
	var out strings.Builder
	for _, r := range string(b) {
		if unicode.IsControl(r) && r >= utf8.RuneSelf || unicode.Is(unicode.Bidi_Control, r) {
			fmt.Fprintf(&out, `\u%04x`, r)
			continue
		}
		out.WriteRune(r)
	}
	return out.String()
}
