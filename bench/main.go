// Command bench runs queuesqlite, a minimal reference queue (the floor,
// floor.go) and the peers (goqite, River on SQLite, backlite, and River on
// PostgreSQL when -pg-dsn is given) through the same scenarios with the same
// no-op handler and counts, and prints one table: per scenario our figure,
// the floor's, our ratio to the floor from the same run, and each peer with
// its ratio to ours.
//
// Scenarios are kinds (send-1, send-32, batch-1000, drain, latency at each
// -rates) at each content size of -sizes and each synchronous level of
// -syncs. Ours and the floor run every combination; the peers run 100 B at
// NORMAL unless -peers-all.
//
//	cd bench && go run . -quick                         # every dimension, small counts (~5 min)
//	go run . -runs 3 -markdown [-sizes 100] [-syncs NORMAL] [-rates 200] [-only drain,batch-1000]
//	         [-systems floor,goqite] [-pg-dsn postgres://...] [-cpuprofile cpu.out]
//	go run . -pg-dsn postgres://... -pg-deadtuples 1000000   # dead tuples after 1M messages
//	go run . -pg-dsn postgres://... -pg-profile              # pg_stat_statements of one drain per system
//
// The PostgreSQL systems' write transactions are counted by a pgx tracer
// on their own pools (pgtrace.go). drain-1x100, drain-4x25 and
// latency-xproc run workers or the sender in child processes: this binary
// re-executed with its job in the environment (procs.go).
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
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/queue-sqlite/queuesqlite/internal/benchkit"
)

// tunedPollDefault is the poll interval of the "(tuned)" variants.
const tunedPollDefault = 5 * time.Millisecond

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	var err error
	if job := os.Getenv(childEnv); job != "" {
		err = runChild(ctx, job, os.Stdin, os.Stdout)
	} else {
		err = run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	}
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// config is the parsed command line.
type config struct {
	runs       int
	quick      bool
	peersAll   bool
	dir        string
	pgDSN      string
	markdown   bool
	json       bool
	tunedPoll  time.Duration
	systems    string
	cpuprofile string
	deadTuples int
	pgProfile  bool
	dims       dims
}

func parseFlags(args []string, stderr io.Writer) (*config, error) {
	var c config
	var only, sizes, syncs, rates string
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&c.runs, "runs", 0, "runs per scenario and system (default 3, 1 with -quick)")
	fs.BoolVar(&c.quick, "quick", false, "small counts: a smoke run, not a measurement")
	fs.BoolVar(&c.peersAll, "peers-all", false, "run the peers at every size and synchronous level too (default: 100 B, NORMAL)")
	fs.StringVar(&c.dir, "dir", "", "directory for the runs' files (default: the system's temporary directory)")
	fs.StringVar(&only, "only", "", "comma-separated kinds to run: send-1,send-32,batch-1000,drain,drain-1x100,drain-4x25,latency,latency-xproc (default: all)")
	fs.StringVar(&sizes, "sizes", sizesDefault, "comma-separated content sizes in bytes")
	fs.StringVar(&syncs, "syncs", syncsDefault, "comma-separated synchronous levels (NORMAL, FULL)")
	fs.StringVar(&rates, "rates", ratesDefault, "comma-separated send rates per second of the latency scenarios")
	fs.StringVar(&c.systems, "systems", "", "comma-separated systems besides queuesqlite (floor, goqite, river-sqlite, backlite, river-pg; default: all; 'ours' = queuesqlite alone)")
	fs.StringVar(&c.pgDSN, "pg-dsn", "", "PostgreSQL DSN: adds River on PostgreSQL")
	fs.BoolVar(&c.markdown, "markdown", false, "print the table as Markdown")
	fs.BoolVar(&c.json, "json", false, "print one JSON object per scenario and system instead of the table")
	fs.DurationVar(&c.tunedPoll, "tuned-poll", tunedPollDefault, "poll interval of the (tuned) peer variants")
	fs.StringVar(&c.cpuprofile, "cpuprofile", "", "write a CPU profile of the whole run to this file")
	fs.IntVar(&c.deadTuples, "pg-deadtuples", 0, "instead of the table: send and drain this many messages on each PostgreSQL system "+
		"and report the dead and live tuples of its tables (needs -pg-dsn)")
	fs.BoolVar(&c.pgProfile, "pg-profile", false, "instead of the table: one drain per PostgreSQL system in a database of its own, "+
		"with pg_stat_statements' top statements and the WAL per job (needs -pg-dsn and pg_stat_statements preloaded)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if err := c.parseDims(only, sizes, syncs, rates); err != nil {
		return nil, err
	}
	return &c, c.check()
}

func (c *config) parseDims(only, sizes, syncs, rates string) error {
	var err error
	if only != "" {
		c.dims.only = strings.Split(only, ",")
	}
	if c.dims.sizes, err = positiveInts("-sizes", sizes); err != nil {
		return err
	}
	if c.dims.rates, err = positiveInts("-rates", rates); err != nil {
		return err
	}
	for _, s := range strings.Split(syncs, ",") {
		s = strings.ToUpper(strings.TrimSpace(s))
		if s != benchkit.SyncNormal && s != benchkit.SyncFull {
			return fmt.Errorf("-syncs: unknown synchronous level %q (NORMAL or FULL)", s)
		}
		c.dims.syncs = append(c.dims.syncs, s)
	}
	return nil
}

func positiveInts(flagName, list string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(list, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("%s: %q is not a positive number", flagName, f)
		}
		out = append(out, n)
	}
	return out, nil
}

// check rejects unknown kinds and bad settings.
func (c *config) check() error {
	known := []string{kindsLatency, kindsXproc}
	for _, k := range kinds() {
		known = append(known, k.name)
	}
	for _, name := range c.dims.only {
		if !slices.Contains(known, name) {
			return fmt.Errorf("unknown scenario %q (known: %s)", name, strings.Join(known, ", "))
		}
	}
	if (c.deadTuples != 0 || c.pgProfile) && c.pgDSN == "" {
		return errors.New("-pg-deadtuples and -pg-profile need -pg-dsn")
	}
	if c.deadTuples < 0 {
		return errors.New("-pg-deadtuples must be positive")
	}
	if c.tunedPoll <= 0 {
		return errors.New("-tuned-poll must be positive")
	}
	if c.runs <= 0 {
		c.runs = 3
		if c.quick {
			c.runs = 1
		}
	}
	return nil
}

// systemsFor lists queuesqlite first, the floor, then the peers.
func systemsFor(c *config) []system {
	all := []system{
		oursSystem(), floorSystem(),
		goqiteSystem(0), goqiteSystem(c.tunedPoll),
		riverSQLiteSystem(riverTuning{}), riverSQLiteSystem(tunedRiver(c.tunedPoll)),
		backliteSystem(),
	}
	if c.pgDSN != "" {
		all = append(all, oursPGSystem(c.pgDSN), riverPGSystem(c.pgDSN, riverTuning{}), riverPGSystem(c.pgDSN, tunedRiver(c.tunedPoll)))
	}
	if c.systems == "" {
		return all
	}
	want := strings.Split(c.systems, ",")
	return slices.DeleteFunc(all, func(s system) bool {
		base, _, _ := strings.Cut(s.Name, " ")
		return s.Name != oursName && s.Name != oursPGName && !slices.Contains(want, base)
	})
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	if c.cpuprofile != "" {
		stop, err := startProfile(c.cpuprofile)
		if err != nil {
			return err
		}
		defer stop()
	}
	if c.deadTuples > 0 || c.pgProfile {
		return runPGReports(ctx, c, stdout, stderr)
	}
	p := &plan{scenarios: scenarios(c.dims, countsFor(c.quick)), systems: systemsFor(c), runs: c.runs,
		peersAll: c.peersAll, dir: c.dir}
	p.progress = func(done, total int, step string) { fmt.Fprintf(stderr, "[%d/%d] %s\n", done, total, step) }
	started := time.Now()
	results, err := p.execute(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "finished in %s\n", time.Since(started).Round(time.Second))
	if c.json {
		return writeJSON(stdout, results)
	}
	t := buildTable(p.systems, results)
	if c.markdown {
		return t.writeMarkdown(stdout)
	}
	return t.writeText(stdout)
}

// runPGReports runs the dead-tuple report and the profile c asks for.
func runPGReports(ctx context.Context, c *config, stdout, stderr io.Writer) error {
	progress := func(s string) { fmt.Fprintln(stderr, s) }
	if c.deadTuples > 0 {
		if err := runDeadTuples(ctx, c.pgDSN, c.tunedPoll, c.deadTuples, stdout, progress); err != nil {
			return err
		}
	}
	if c.pgProfile {
		return runProfile(ctx, c.pgDSN, c.tunedPoll, stdout, progress)
	}
	return nil
}

// startProfile starts a CPU profile into path; stop ends it.
func startProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}
