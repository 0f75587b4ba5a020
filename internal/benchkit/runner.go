package benchkit

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"time"
)

// Run timeouts: a run that takes longer is reported as failed.
const (
	runTimeout    = 5 * time.Minute
	bigRunTimeout = 20 * time.Minute
)

// Options chooses what Run measures.
type Options struct {
	// Runs is how often each scenario runs per system. Default 3 (1 when Quick).
	Runs int
	// Quick runs smaller counts: a smoke run, not a measurement.
	Quick bool
	// Big adds claim-1m and drain-1m (slow to prepare).
	Big bool
	// FullPeers runs the synchronous=FULL scenarios for the SQLite peers too
	// (by default only the baseline runs them).
	FullPeers bool
	// Only, when not empty, names the scenarios to run.
	Only []string
	// Dir is where the runs' files go (a fresh subdirectory per run,
	// removed afterwards). Default: the system's temporary directory.
	Dir string
	// Progress, when not nil, is told after every run.
	Progress func(done, total int, step string)
}

// Result is one scenario's outcome for one system over all its runs.
type Result struct {
	Scenario      string  `json:"scenario"`
	System        string  `json:"system"`
	What          string  `json:"what"`
	N             int     `json:"n"`
	Runs          int     `json:"runs"`
	PerSec        float64 `json:"per_sec"`
	PerSecMin     float64 `json:"per_sec_min"`
	PerSecMax     float64 `json:"per_sec_max"`
	P50ms         float64 `json:"p50_ms,omitempty"`
	P99ms         float64 `json:"p99_ms,omitempty"`
	P50msMin      float64 `json:"p50_ms_min,omitempty"`
	P50msMax      float64 `json:"p50_ms_max,omitempty"`
	P99msMin      float64 `json:"p99_ms_min,omitempty"`
	P99msMax      float64 `json:"p99_ms_max,omitempty"`
	PeakRSSMB     float64 `json:"peak_rss_mb,omitempty"`
	WriteTxPerMsg float64 `json:"write_tx_per_msg,omitempty"`
	// Ratio is the system's median per_sec divided by the baseline's (the
	// first system's); for latency, its p50 divided by the baseline's.
	Ratio float64 `json:"ratio,omitempty"`
	Error string  `json:"error,omitempty"`
}

// step is one (scenario, system) pair that Run measures.
type step struct {
	sc  Scenario
	sys *System
	idx int // the system's index; 0 is the baseline
}

// Plan lists the scenarios that Run would measure with these options, in order.
func Plan(o Options) []Scenario {
	var out []Scenario
	for _, sc := range Scenarios(CountsFor(o.Quick)) {
		if len(o.Only) > 0 && !slices.Contains(o.Only, sc.Name) {
			continue
		}
		if bigScenarios[sc.Name] && !o.Big && !slices.Contains(o.Only, sc.Name) {
			continue
		}
		out = append(out, sc)
	}
	return out
}

// eligible says whether the system at index idx runs sc.
func eligible(sc Scenario, sys *System, idx int, o Options) bool {
	switch {
	case sys.Tuned && !sc.PollSensitive:
		return false
	case sc.BaselineOnly && idx != 0:
		return false
	case sc.Sync == SyncFull && idx != 0:
		return sys.SQLite && o.FullPeers && !sys.Tuned
	}
	return true
}

func steps(systems []System, o Options) [][]step {
	var out [][]step
	for _, sc := range Plan(o) {
		var group []step
		for i := range systems {
			if eligible(sc, &systems[i], i, o) {
				group = append(group, step{sc: sc, sys: &systems[i], idx: i})
			}
		}
		out = append(out, group)
	}
	return out
}

// Run measures every planned scenario on every eligible system (the first
// system is the baseline), Runs times each. Runs of one scenario alternate
// between systems, so drift of the machine affects all alike. A failing run
// is reported in its Result, not as Run's error; Run fails only when ctx
// ends or Options are invalid.
func Run(ctx context.Context, systems []System, o Options) ([]Result, error) {
	if len(systems) == 0 {
		return nil, errors.New("benchkit: no systems")
	}
	o = o.withDefaults()
	groups := steps(systems, o)
	p := &progress{total: Total(systems, o), fn: o.Progress}
	var results []Result
	for _, g := range groups {
		rs, err := runGroup(ctx, g, o, p)
		results = append(results, rs...)
		if err != nil {
			return results, err
		}
	}
	return results, nil
}

// Total returns how many runs Run makes with these systems and options.
func Total(systems []System, o Options) int {
	o = o.withDefaults()
	total := 0
	for _, g := range steps(systems, o) {
		total += len(g) * o.Runs
	}
	return total
}

// progress counts finished runs for Options.Progress.
type progress struct {
	done, total int
	fn          func(done, total int, step string)
}

func (p *progress) step(label string) {
	p.done++
	if p.fn != nil {
		p.fn(p.done, p.total, label)
	}
}

// runGroup runs one scenario on its systems, alternating between them run
// by run, and summarizes it.
func runGroup(ctx context.Context, g []step, o Options, p *progress) ([]Result, error) {
	samples := make([][]Sample, len(g))
	errs := make([]error, len(g))
	for run := range o.Runs {
		for i, st := range g {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			s, err := runOnce(ctx, st, o)
			if err == nil {
				samples[i] = append(samples[i], s)
			} else if errs[i] == nil {
				errs[i] = err
			}
			p.step(fmt.Sprintf("%s %s %d/%d", st.sc.Name, st.sys.Name, run+1, o.Runs))
		}
	}
	return summarize(g, samples, errs), nil
}

func (o Options) withDefaults() Options {
	if o.Runs <= 0 {
		o.Runs = 3
		if o.Quick {
			o.Runs = 1
		}
	}
	return o
}

// runOnce runs one scenario once on one system in a fresh directory.
func runOnce(ctx context.Context, st step, o Options) (Sample, error) {
	dir, err := os.MkdirTemp(o.Dir, "bench-"+st.sc.Name+"-")
	if err != nil {
		return Sample{}, err
	}
	defer os.RemoveAll(dir)
	timeout := runTimeout
	if bigScenarios[st.sc.Name] {
		timeout = bigRunTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	env := Env{Dir: dir, Workers: WorkersBench, Sync: st.sc.Sync}
	s, err := st.sc.run(ctx, st.sys, env, st.sc.N)
	if err != nil {
		return s, fmt.Errorf("%s on %s: %w", st.sc.Name, st.sys.Name, err)
	}
	return s, nil
}

// summarize turns one scenario's samples into results with ratios to the
// baseline.
func summarize(g []step, samples [][]Sample, errs []error) []Result {
	out := make([]Result, len(g))
	for i, st := range g {
		out[i] = resultOf(st, samples[i], errs[i])
	}
	if len(g) == 0 || g[0].idx != 0 {
		return out
	}
	base := out[0]
	for i := range out {
		out[i].Ratio = ratio(out[i], base)
	}
	return out
}

func ratio(r, base Result) float64 {
	if r.P50ms > 0 && base.P50ms > 0 {
		return r.P50ms / base.P50ms
	}
	if base.PerSec > 0 {
		return r.PerSec / base.PerSec
	}
	return 0
}

func resultOf(st step, ss []Sample, err error) Result {
	pick := func(f func(Sample) float64) Spread {
		xs := make([]float64, len(ss))
		for i, s := range ss {
			xs[i] = f(s)
		}
		return spreadOf(xs)
	}
	per := pick(func(s Sample) float64 { return s.PerSec })
	p50 := pick(func(s Sample) float64 { return s.P50ms })
	p99 := pick(func(s Sample) float64 { return s.P99ms })
	r := Result{Scenario: st.sc.Name, System: st.sys.Name, What: st.sc.What, N: st.sc.N, Runs: len(ss),
		PerSec: per.Median, PerSecMin: per.Min, PerSecMax: per.Max,
		P50ms: p50.Median, P50msMin: p50.Min, P50msMax: p50.Max,
		P99ms: p99.Median, P99msMin: p99.Min, P99msMax: p99.Max,
		PeakRSSMB:     pick(func(s Sample) float64 { return s.PeakRSSMB }).Median,
		WriteTxPerMsg: pick(func(s Sample) float64 { return s.WriteTxPerMsg }).Median,
	}
	if err != nil {
		r.Error = err.Error()
	}
	return r
}
