package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/queue-sqlite/queuesqlite/internal/benchkit"
)

func init() { register(newBenchCmd) }

// benchOpts are the bench command's flags.
type benchOpts struct {
	runs     int
	quick    bool
	big      bool
	asJSON   bool
	markdown bool
	only     string
}

func newBenchCmd() *cobra.Command {
	var o benchOpts
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure the queue on this machine: sends, batch sends, drain, latency, claims",
		Long: "Runs the benchmark scenarios of the project's peer comparison for this queue alone, each " +
			"several times, and prints the median and range of each. The files go to a temporary " +
			"directory, or under --dir when it is given; they are removed afterwards.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runBench(cmd, o) },
	}
	f := cmd.Flags()
	f.IntVar(&o.runs, "runs", 0, "runs per scenario (default 3, 1 with --quick)")
	f.BoolVar(&o.quick, "quick", false, "small counts: a smoke run, not a measurement")
	f.BoolVar(&o.big, "big", false, "add claim-1m and drain-1m (a million messages; slow to prepare)")
	f.BoolVar(&o.asJSON, "json", false, "print one JSON object per scenario instead of the table")
	f.BoolVar(&o.markdown, "markdown", false, "print the table as Markdown")
	f.StringVar(&o.only, "only", "", "comma-separated scenarios to run (e.g. send-1,drain)")
	return cmd
}

func runBench(cmd *cobra.Command, o benchOpts) error {
	opts, err := benchOptions(cmd, o)
	if err != nil {
		return err
	}
	systems := []benchkit.System{benchkit.Ours()}
	bar := newBenchBar(cmd.ErrOrStderr(), benchkit.Total(systems, opts))
	opts.Progress = func(done, _ int, step string) {
		bar.Describe(step)
		_ = bar.Set(done)
	}
	results, err := benchkit.Run(cmd.Context(), systems, opts)
	_ = bar.Finish()
	fmt.Fprintln(cmd.ErrOrStderr())
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	switch {
	case o.asJSON:
		return benchkit.WriteJSON(out, results)
	case o.markdown:
		return benchkit.BuildTable(systems, results).WriteMarkdown(out)
	}
	return benchkit.BuildTable(systems, results).WriteText(out)
}

// benchOptions turns the flags into benchkit options. The files go under
// --dir only when it was given: the default queue directory is no place
// for benchmark files.
func benchOptions(cmd *cobra.Command, o benchOpts) (benchkit.Options, error) {
	opts := benchkit.Options{Runs: o.runs, Quick: o.quick, Big: o.big}
	if o.runs < 0 {
		return opts, fmt.Errorf("--runs must be 1 or more, not %d", o.runs)
	}
	if o.only != "" {
		opts.Only = strings.Split(o.only, ",")
		if err := knownScenarios(opts.Only); err != nil {
			return opts, err
		}
	}
	if cmd.Flags().Changed("dir") {
		dir, _, err := queueFlags(cmd)
		if err != nil {
			return opts, err
		}
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return opts, err
		}
		opts.Dir = dir
	}
	return opts, nil
}

func knownScenarios(names []string) error {
	known := map[string]bool{}
	var all []string
	for _, sc := range benchkit.Scenarios(benchkit.CountsFor(false)) {
		known[sc.Name] = true
		all = append(all, sc.Name)
	}
	for _, n := range names {
		if !known[n] {
			return fmt.Errorf("unknown scenario %q (have %s)", n, strings.Join(all, ", "))
		}
	}
	return nil
}

func newBenchBar(w io.Writer, total int) *progressbar.ProgressBar {
	return progressbar.NewOptions(total,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription("bench"),
		progressbar.OptionShowCount(),
		progressbar.OptionSetWidth(20),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionShowElapsedTimeOnFinish(),
	)
}
