package main

import (
	"context"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/queue-sqlite/queuesqlite/internal/benchkit"
)

// runTimeout bounds one run of one scenario on one system.
const runTimeout = 5 * time.Minute

// plan is what a run measures.
type plan struct {
	scenarios []scenario
	systems   []system
	runs      int
	peersAll  bool // the peers run every size and FULL too, not only 100 B NORMAL
	dir       string
	progress  func(done, total int, step string)
}

// result is one scenario's outcome on one system over its runs.
type result struct {
	Scenario      string  `json:"scenario"`
	Kind          string  `json:"kind"`
	Size          int     `json:"size"`
	Sync          string  `json:"sync"`
	Rate          int     `json:"rate,omitempty"`
	System        string  `json:"system"`
	N             int     `json:"n"`
	Runs          int     `json:"runs"`
	PerSec        float64 `json:"per_sec"`
	PerSecMin     float64 `json:"per_sec_min"`
	PerSecMax     float64 `json:"per_sec_max"`
	P50ms         float64 `json:"p50_ms,omitempty"`
	P50msMin      float64 `json:"p50_ms_min,omitempty"`
	P50msMax      float64 `json:"p50_ms_max,omitempty"`
	P99ms         float64 `json:"p99_ms,omitempty"`
	PeakRSSMB     float64 `json:"peak_rss_mb,omitempty"`
	WriteTxPerMsg float64 `json:"write_tx_per_msg,omitempty"`
	// VsOurs is this system's median over ours (throughput), or its p50 over
	// ours (latency), ours being its system's VsName (queuesqlite-pg for the
	// PostgreSQL peers) or else queuesqlite; on the floor's row it is ours
	// over the floor's (OursVsFloor), from the same run.
	VsOurs      float64 `json:"vs_ours,omitempty"`
	OursVsFloor float64 `json:"ours_vs_floor,omitempty"`
	Error       string  `json:"error,omitempty"`
}

// eligible says whether sys runs sc: ours and the floor run everything; a
// peer runs the default size at NORMAL (every dimension with peersAll), a
// tuned variant only what polling affects, and FULL only on SQLite.
func (p *plan) eligible(sc scenario, sys *system) bool {
	switch {
	case sys.Tuned && !sc.PollSensitive:
		return false
	case sc.Shared && !sys.Shared:
		return false
	case sc.Sync == benchkit.SyncFull && !sys.SQLite:
		return false
	case sys.core() || p.peersAll:
		return true
	}
	return sc.Size == sizeDefault && sc.Sync == benchkit.SyncNormal
}

func (p *plan) total() int {
	n := 0
	for _, sc := range p.scenarios {
		for i := range p.systems {
			if p.eligible(sc, &p.systems[i]) {
				n += p.runs
			}
		}
	}
	return n
}

// execute runs every scenario, its runs alternating between the systems
// so drift of the machine affects all alike.
func (p *plan) execute(ctx context.Context) ([]result, error) {
	total, done := p.total(), 0
	var out []result
	for _, sc := range p.scenarios {
		var syss []*system
		for i := range p.systems {
			if p.eligible(sc, &p.systems[i]) {
				syss = append(syss, &p.systems[i])
			}
		}
		samples := make([][]benchkit.Sample, len(syss))
		errs := make([]error, len(syss))
		for run := range p.runs {
			for i, sys := range syss {
				if err := ctx.Err(); err != nil {
					return out, err
				}
				s, err := p.once(ctx, sc, sys)
				if err == nil {
					samples[i] = append(samples[i], s)
				} else if errs[i] == nil {
					errs[i] = err
				}
				done++
				if p.progress != nil {
					p.progress(done, total, fmt.Sprintf("%s %s %d/%d", sc.Name, sys.Name, run+1, p.runs))
				}
			}
		}
		out = append(out, summarize(sc, syss, samples, errs)...)
	}
	return out, nil
}

// once runs sc once on sys in a fresh directory.
func (p *plan) once(ctx context.Context, sc scenario, sys *system) (benchkit.Sample, error) {
	dir, err := os.MkdirTemp(p.dir, "bench-")
	if err != nil {
		return benchkit.Sample{}, err
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(ctx, runTimeout)
	defer cancel()
	e := env{Env: benchkit.Env{Dir: dir, Workers: workersBench, Sync: sc.Sync}, Size: sc.Size}
	s, err := sc.run(ctx, sys, e, sc.N)
	if err != nil {
		return s, fmt.Errorf("%s on %s: %w", sc.Name, sys.Name, err)
	}
	return s, nil
}

func summarize(sc scenario, syss []*system, samples [][]benchkit.Sample, errs []error) []result {
	out := make([]result, len(syss))
	for i, sys := range syss {
		out[i] = resultOf(sc, sys.Name, samples[i], errs[i])
	}
	find := func(name string) int { return slices.IndexFunc(out, func(r result) bool { return r.System == name }) }
	ours := find(oursName)
	for i, sys := range syss {
		base := ours
		if sys.VsName != "" {
			base = find(sys.VsName)
		}
		if base < 0 {
			continue
		}
		out[i].VsOurs = ratio(out[i], out[base])
		if out[i].System == floorName {
			out[i].OursVsFloor = ratio(out[base], out[i])
		}
	}
	return out
}

// ratio is r over base: throughputs, or p50 latencies.
func ratio(r, base result) float64 {
	switch {
	case r.Runs == 0 || base.Runs == 0:
		return 0
	case r.P50ms > 0 && base.P50ms > 0:
		return r.P50ms / base.P50ms
	case base.PerSec > 0:
		return r.PerSec / base.PerSec
	}
	return 0
}

func resultOf(sc scenario, sys string, ss []benchkit.Sample, err error) result {
	pick := func(f func(benchkit.Sample) float64) (med, lo, hi float64) {
		xs := make([]float64, len(ss))
		for i, s := range ss {
			xs[i] = f(s)
		}
		if len(xs) == 0 {
			return 0, 0, 0
		}
		slices.Sort(xs)
		return quantile(xs, 0.5), xs[0], xs[len(xs)-1]
	}
	r := result{Scenario: sc.Name, Kind: sc.Kind, Size: sc.Size, Sync: sc.Sync, Rate: sc.Rate, System: sys,
		N: sc.N, Runs: len(ss)}
	r.PerSec, r.PerSecMin, r.PerSecMax = pick(func(s benchkit.Sample) float64 { return s.PerSec })
	r.P50ms, r.P50msMin, r.P50msMax = pick(func(s benchkit.Sample) float64 { return s.P50ms })
	r.P99ms, _, _ = pick(func(s benchkit.Sample) float64 { return s.P99ms })
	r.PeakRSSMB, _, _ = pick(func(s benchkit.Sample) float64 { return s.PeakRSSMB })
	r.WriteTxPerMsg, _, _ = pick(func(s benchkit.Sample) float64 { return s.WriteTxPerMsg })
	if err != nil {
		r.Error = err.Error()
	}
	return r
}
