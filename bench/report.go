package main

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
)

// ratioColumn heads the column of our figure over the floor's.
const ratioColumn = "ours/floor"

// table is the results laid out for printing: a row per scenario metric;
// columns ours, the floor, ours/floor, then the peers (each with its ratio
// to ours).
type table struct {
	header []string
	rows   [][]string
	legend []string
}

func buildTable(systems []system, results []result) table {
	var cols []string
	for _, s := range systems {
		if slices.ContainsFunc(results, func(r result) bool { return r.System == s.Name }) {
			cols = append(cols, s.Name)
		}
	}
	t := table{header: []string{"scenario"}}
	for _, c := range cols {
		t.header = append(t.header, c)
		if c == floorName {
			t.header = append(t.header, ratioColumn)
		}
	}
	for _, sc := range scenarioOrder(results) {
		by := map[string]result{}
		for _, r := range results {
			if r.Scenario == sc {
				by[r.System] = r
			}
		}
		t.rows = append(t.rows, rowsFor(sc, cols, by)...)
	}
	t.legend = legendFor(systems, cols, results)
	return t
}

func scenarioOrder(results []result) []string {
	var out []string
	for _, r := range results {
		if !slices.Contains(out, r.Scenario) {
			out = append(out, r.Scenario)
		}
	}
	return out
}

// rowsFor returns the scenario's main row and, when measured, its write
// transaction (ours on SQLite counts its own; the PostgreSQL systems are
// counted by a pgx tracer on their pools, see writeTracer) and peak RSS rows.
func rowsFor(sc string, cols []string, by map[string]result) [][]string {
	rows := [][]string{row(sc, cols, by, mainCell, floorRatio)}
	if anyOf(by, func(r result) bool { return r.WriteTxPerMsg > 0 }) {
		rows = append(rows, row(sc+" write tx/msg", cols, by, func(r result) string {
			if r.WriteTxPerMsg == 0 {
				return "–"
			}
			return fmt.Sprintf("%.4f", r.WriteTxPerMsg)
		}, nil))
	}
	if anyOf(by, func(r result) bool { return r.PeakRSSMB > 0 }) {
		rows = append(rows, row(sc+" peak RSS", cols, by, func(r result) string {
			return fmt.Sprintf("%.0f MB", r.PeakRSSMB)
		}, nil))
	}
	return rows
}

func anyOf(by map[string]result, f func(result) bool) bool {
	for _, r := range by {
		if f(r) {
			return true
		}
	}
	return false
}

// row lays out one metric; after the floor's cell comes ratio's (or "–").
func row(label string, cols []string, by map[string]result, cell func(result) string, ratio func(result) string) []string {
	out := []string{label}
	for _, c := range cols {
		r, ok := by[c]
		switch {
		case !ok:
			out = append(out, "–")
		case r.Runs == 0:
			out = append(out, "failed")
		default:
			out = append(out, cell(r))
		}
		if c == floorName {
			if ratio != nil && ok {
				out = append(out, ratio(r))
			} else {
				out = append(out, "–")
			}
		}
	}
	return out
}

func floorRatio(r result) string {
	if r.OursVsFloor == 0 {
		return "–"
	}
	return "**" + ratioText(r.OursVsFloor) + "**"
}

// mainCell shows the median with its range and, for a peer, its ratio to
// ours.
func mainCell(r result) string {
	var s string
	if r.P50ms > 0 {
		s = fmt.Sprintf("%s / %s ms (p50 %s–%s)", ms(r.P50ms), ms(r.P99ms), ms(r.P50msMin), ms(r.P50msMax))
	} else {
		s = fmt.Sprintf("%s/s (%s–%s)", count(r.PerSec), count(r.PerSecMin), count(r.PerSecMax))
	}
	if r.System != oursName && r.System != floorName && r.VsOurs > 0 {
		s += " ×" + ratioText(r.VsOurs)
	}
	if r.Error != "" {
		s += " (some runs failed)"
	}
	return s
}

func count(x float64) string {
	switch {
	case x >= 1e6:
		return fmt.Sprintf("%.2fM", x/1e6)
	case x >= 1e4:
		return fmt.Sprintf("%.1fk", x/1e3)
	case x >= 1e3:
		return fmt.Sprintf("%.2fk", x/1e3)
	}
	return fmt.Sprintf("%.0f", x)
}

func ms(x float64) string {
	switch {
	case x < 1:
		return fmt.Sprintf("%.2f", x)
	case x < 10:
		return fmt.Sprintf("%.1f", x)
	}
	return fmt.Sprintf("%.0f", x)
}

func ratioText(x float64) string {
	if x < 0.1 {
		return fmt.Sprintf("%.3f", x)
	}
	return fmt.Sprintf("%.2f", x)
}

func legendFor(systems []system, cols []string, results []result) []string {
	out := []string{
		"Cells: median over the runs (min–max). " + ratioColumn + ": our median over the floor's from the same run " +
			"(throughput: below 1 is slower than the floor; latency, p50 over p50: above 1 is slower). " +
			"×r on a peer: its median over ours (throughput: below 1 is slower than ours; latency: above 1 is slower); " +
			"on the PostgreSQL peers (river-pg) over " + oursPGName + "'s, from the same run.",
	}
	seen := map[string]bool{}
	for _, r := range results {
		if !seen[r.Scenario] {
			seen[r.Scenario] = true
			out = append(out, fmt.Sprintf("%s: n=%d per run", r.Scenario, r.N))
		}
	}
	for _, k := range append(kinds(), kind{name: kindsLatency + "-R", what: "send->start latency at a steady R/s, p50 / p99 ms"},
		kind{name: kindsXproc + "-R", what: "send->start latency at a steady R/s, the sender a separate OS process " +
			"(this binary re-executed), the workers in this one; latency from a timestamp in the message, one host, one clock"}) {
		out = append(out, k.name+": "+k.what)
	}
	for _, s := range systems {
		if slices.Contains(cols, s.Name) && s.Note != "" {
			out = append(out, s.Name+": "+s.Note)
		}
	}
	for _, r := range results {
		if r.Error != "" {
			out = append(out, "error: "+r.Error)
		}
	}
	return out
}

func (t table) writeText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(t.header, "\t"))
	for _, r := range t.rows {
		fmt.Fprintln(tw, strings.ReplaceAll(strings.Join(r, "\t"), "**", ""))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	return writeLegend(w, t.legend, "")
}

func (t table) writeMarkdown(w io.Writer) error {
	line := func(cells []string) string { return "| " + strings.Join(cells, " | ") + " |\n" }
	var b strings.Builder
	b.WriteString(line(t.header))
	sep := make([]string, len(t.header))
	for i := range sep {
		sep[i] = "---"
	}
	b.WriteString(line(sep))
	for _, r := range t.rows {
		b.WriteString(line(r))
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return err
	}
	return writeLegend(w, t.legend, "- ")
}

func writeLegend(w io.Writer, lines []string, bullet string) error {
	if _, err := fmt.Fprintln(w); err != nil {
		return err
	}
	for _, l := range lines {
		if _, err := fmt.Fprintln(w, bullet+l); err != nil {
			return err
		}
	}
	return nil
}

func writeJSON(w io.Writer, results []result) error {
	enc := json.NewEncoder(w)
	for _, r := range results {
		if err := enc.Encode(r); err != nil {
			return err
		}
	}
	return nil
}
