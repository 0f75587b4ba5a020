package benchkit

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
)

// Table is the results laid out for printing: a row per scenario metric, a
// column per system.
type Table struct {
	Header []string
	Rows   [][]string
	Legend []string
}

// BuildTable lays out results. Systems give the column order and the notes;
// a system with no result in a scenario shows "–" there.
func BuildTable(systems []System, results []Result) Table {
	var cols []string
	for _, s := range systems {
		if slices.ContainsFunc(results, func(r Result) bool { return r.System == s.Name }) {
			cols = append(cols, s.Name)
		}
	}
	t := Table{Header: append([]string{"scenario"}, cols...)}
	for _, sc := range scenarioOrder(results) {
		byName := map[string]Result{}
		for _, r := range results {
			if r.Scenario == sc {
				byName[r.System] = r
			}
		}
		t.Rows = append(t.Rows, rowsFor(sc, cols, byName)...)
	}
	t.Legend = legend(systems, cols, results)
	return t
}

func scenarioOrder(results []Result) []string {
	var out []string
	for _, r := range results {
		if !slices.Contains(out, r.Scenario) {
			out = append(out, r.Scenario)
		}
	}
	return out
}

// rowsFor returns the scenario's main row and, when measured, its peak RSS
// and write-transaction rows.
func rowsFor(sc string, cols []string, by map[string]Result) [][]string {
	rows := [][]string{row(sc, cols, by, mainCell)}
	if anyOf(by, func(r Result) bool { return r.PeakRSSMB > 0 }) {
		rows = append(rows, row(sc+" peak RSS", cols, by, func(r Result) string {
			return fmt.Sprintf("%.0f MB", r.PeakRSSMB)
		}))
	}
	if anyOf(by, func(r Result) bool { return r.WriteTxPerMsg > 0 }) {
		rows = append(rows, row(sc+" write tx/msg", cols, by, func(r Result) string {
			if r.WriteTxPerMsg == 0 {
				return "–"
			}
			return fmt.Sprintf("%.4f", r.WriteTxPerMsg)
		}))
	}
	return rows
}

func anyOf(by map[string]Result, f func(Result) bool) bool {
	for _, r := range by {
		if f(r) {
			return true
		}
	}
	return false
}

func row(label string, cols []string, by map[string]Result, cell func(Result) string) []string {
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
	}
	return out
}

// mainCell shows the median with its range and the ratio to the baseline.
func mainCell(r Result) string {
	var s string
	if r.P50ms > 0 {
		s = fmt.Sprintf("%s / %s ms (p50 %s–%s)", ms(r.P50ms), ms(r.P99ms), ms(r.P50msMin), ms(r.P50msMax))
	} else {
		s = fmt.Sprintf("%s/s (%s–%s)", count(r.PerSec), count(r.PerSecMin), count(r.PerSecMax))
	}
	if r.Ratio > 0 && r.Ratio != 1 {
		s += fmt.Sprintf(" ×%s", ratioText(r.Ratio))
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

func legend(systems []System, cols []string, results []Result) []string {
	out := []string{
		"Cells: median over the runs (min–max); ×r = the system's median / " + firstOr(cols) +
			"'s (throughput: below 1 is slower than " + firstOr(cols) + "; latency: above 1 is slower).",
	}
	for _, sc := range scenarioOrder(results) {
		r := results[slices.IndexFunc(results, func(r Result) bool { return r.Scenario == sc })]
		out = append(out, fmt.Sprintf("%s: %s (n=%d per run)", sc, r.What, r.N))
	}
	for _, s := range systems {
		if slices.Contains(cols, s.Name) && s.Note != "" {
			out = append(out, s.Name+": "+s.Note)
		}
	}
	for _, r := range results {
		if r.Error != "" {
			out = append(out, fmt.Sprintf("error: %s", r.Error))
		}
	}
	return out
}

func firstOr(cols []string) string {
	if len(cols) == 0 {
		return "the baseline"
	}
	return cols[0]
}

// WriteText prints the table with aligned columns, then the legend.
func (t Table) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(t.Header, "\t"))
	for _, r := range t.Rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	return writeLegend(w, t.Legend, "")
}

// WriteMarkdown prints the table as Markdown, then the legend as a list.
func (t Table) WriteMarkdown(w io.Writer) error {
	line := func(cells []string) string { return "| " + strings.Join(cells, " | ") + " |\n" }
	var b strings.Builder
	b.WriteString(line(t.Header))
	sep := make([]string, len(t.Header))
	for i := range sep {
		sep[i] = "---"
	}
	b.WriteString(line(sep))
	for _, r := range t.Rows {
		b.WriteString(line(r))
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return err
	}
	return writeLegend(w, t.Legend, "- ")
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

// WriteJSON prints one JSON object per result, one per line.
func WriteJSON(w io.Writer, results []Result) error {
	enc := json.NewEncoder(w)
	for _, r := range results {
		if err := enc.Encode(r); err != nil {
			return err
		}
	}
	return nil
}
