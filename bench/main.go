// Command bench runs queuesqlite and its peers (goqite, River on SQLite,
// backlite, and River on PostgreSQL when -pg-dsn is given) through the same
// scenarios with the same no-op handler and counts, and prints one table
// with the ratio of each peer to queuesqlite.
//
//	cd bench && go run . [-runs 3] [-quick] [-markdown] [-json] [-only send-1,drain]
//	                     [-pg-dsn postgres://postgres@127.0.0.1:5432/test?sslmode=disable]
//
// It is a module of its own so that the peers never become dependencies of
// the library.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"time"

	"github.com/queue-sqlite/queuesqlite/internal/benchkit"
)

// tunedPollDefault is the poll interval of the "(tuned)" variants.
const tunedPollDefault = 5 * time.Millisecond

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// config is the parsed command line.
type config struct {
	opts      benchkit.Options
	pgDSN     string
	markdown  bool
	json      bool
	tunedPoll time.Duration
	systems   string
}

func parseFlags(args []string, stderr io.Writer) (*config, error) {
	var c config
	var only string
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&c.opts.Runs, "runs", 0, "runs per scenario and system (default 3, 1 with -quick)")
	fs.BoolVar(&c.opts.Quick, "quick", false, "small counts: a smoke run, not a measurement")
	fs.BoolVar(&c.opts.Big, "big", false, "add claim-1m and drain-1m for queuesqlite (slow to prepare)")
	fs.BoolVar(&c.opts.FullPeers, "full-peers", false, "run the synchronous=FULL scenarios for the SQLite peers too")
	fs.StringVar(&c.opts.Dir, "dir", "", "directory for the runs' files (default: the system's temporary directory)")
	fs.StringVar(&only, "only", "", "comma-separated scenarios to run (default: all but the -big ones)")
	fs.StringVar(&c.systems, "systems", "", "comma-separated systems to run (default: all); queuesqlite always runs")
	fs.StringVar(&c.pgDSN, "pg-dsn", "", "PostgreSQL DSN: adds River on PostgreSQL")
	fs.BoolVar(&c.markdown, "markdown", false, "print the table as Markdown")
	fs.BoolVar(&c.json, "json", false, "print one JSON object per scenario and system instead of the table")
	fs.DurationVar(&c.tunedPoll, "tuned-poll", tunedPollDefault, "poll interval of the (tuned) peer variants")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if only != "" {
		c.opts.Only = strings.Split(only, ",")
	}
	return &c, c.check()
}

// check rejects unknown scenario and system names.
func (c *config) check() error {
	known := map[string]bool{}
	for _, sc := range benchkit.Scenarios(benchkit.CountsFor(false)) {
		known[sc.Name] = true
	}
	for _, name := range c.opts.Only {
		if !known[name] {
			return fmt.Errorf("unknown scenario %q", name)
		}
	}
	if c.tunedPoll <= 0 {
		return errors.New("-tuned-poll must be positive")
	}
	return nil
}

// systemsFor lists queuesqlite first (the baseline), then the peers.
func systemsFor(c *config) []benchkit.System {
	all := []benchkit.System{
		benchkit.Ours(),
		goqiteSystem(0), goqiteSystem(c.tunedPoll),
		riverSQLiteSystem(riverTuning{}), riverSQLiteSystem(tunedRiver(c.tunedPoll)),
		backliteSystem(),
	}
	if c.pgDSN != "" {
		all = append(all, riverPGSystem(c.pgDSN, riverTuning{}), riverPGSystem(c.pgDSN, tunedRiver(c.tunedPoll)))
	}
	if c.systems == "" {
		return all
	}
	want := strings.Split(c.systems, ",")
	return slices.DeleteFunc(all, func(s benchkit.System) bool {
		base, _, _ := strings.Cut(s.Name, " ")
		return s.Name != benchkit.OursName && !slices.Contains(want, base)
	})
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	systems := systemsFor(c)
	c.opts.Progress = func(done, total int, step string) {
		fmt.Fprintf(stderr, "[%d/%d] %s\n", done, total, step)
	}
	started := time.Now()
	results, err := benchkit.Run(ctx, systems, c.opts)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "finished in %s\n", time.Since(started).Round(time.Second))
	if c.json {
		return benchkit.WriteJSON(stdout, results)
	}
	table := benchkit.BuildTable(systems, results)
	if c.markdown {
		return table.WriteMarkdown(stdout)
	}
	return table.WriteText(stdout)
}
