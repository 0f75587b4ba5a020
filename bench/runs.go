package main

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/queue-sqlite/queuesqlite/internal/benchkit"
)

// Fixed shapes of the scenarios (as in internal/benchkit).
const (
	batchSize      = 1000
	sendersMany    = 32
	workersBench   = 100
	latencyWarmup  = 10 // probes left out of the percentiles
	rssSampleEvery = 10 * time.Millisecond
)

// withInstance opens sys, runs fn on it and closes it, keeping fn's error.
func withInstance(ctx context.Context, sys *system, e env, fn func(benchkit.Instance) (benchkit.Sample, error)) (benchkit.Sample, error) {
	inst, err := sys.Open(ctx, e)
	if err != nil {
		return benchkit.Sample{}, fmt.Errorf("open %s: %w", sys.Name, err)
	}
	s, err := fn(inst)
	if cerr := inst.Close(); cerr != nil && err == nil {
		err = cerr
	}
	return s, err
}

// timed runs fn, which handles n messages, and measures its rate and, for
// systems that count them, its write transactions per message.
func timed(inst benchkit.Instance, n int, fn func() error) (benchkit.Sample, error) {
	tx0 := writeTransactions(inst)
	start := time.Now()
	err := fn()
	s := benchkit.Sample{PerSec: perSec(n, time.Since(start))}
	if tx0 >= 0 {
		s.WriteTxPerMsg = float64(writeTransactions(inst)-tx0) / float64(n)
	}
	return s, err
}

func writeTransactions(inst benchkit.Instance) int64 {
	if w, ok := inst.(benchkit.WriteCounter); ok {
		return w.WriteTransactions()
	}
	return -1
}

func perSec(n int, d time.Duration) float64 { return float64(n) / max(d, time.Nanosecond).Seconds() }

// runSend1 sends n jobs one after another from one goroutine.
func runSend1(ctx context.Context, sys *system, e env, n int) (benchkit.Sample, error) {
	return withInstance(ctx, sys, e, func(inst benchkit.Instance) (benchkit.Sample, error) {
		return timed(inst, n, func() error { return sendMany(ctx, inst, n) })
	})
}

// runSend32 sends n jobs from sendersMany goroutines at once.
func runSend32(ctx context.Context, sys *system, e env, n int) (benchkit.Sample, error) {
	return withInstance(ctx, sys, e, func(inst benchkit.Instance) (benchkit.Sample, error) {
		each := n / sendersMany
		return timed(inst, each*sendersMany, func() error {
			errs := make([]error, sendersMany)
			var wg sync.WaitGroup
			for g := range sendersMany {
				wg.Go(func() { errs[g] = sendMany(ctx, inst, each) })
			}
			wg.Wait()
			return errors.Join(errs...)
		})
	})
}

func sendMany(ctx context.Context, inst benchkit.Instance, n int) error {
	for range n {
		if err := inst.Send(ctx, benchkit.NewPayload()); err != nil {
			return err
		}
	}
	return nil
}

// runBatch sends n jobs in batches of batchSize, one batch after another.
func runBatch(ctx context.Context, sys *system, e env, n int) (benchkit.Sample, error) {
	return withInstance(ctx, sys, e, func(inst benchkit.Instance) (benchkit.Sample, error) {
		ps := make([][]benchkit.Payload, n/batchSize)
		for i := range ps {
			ps[i] = benchkit.Payloads(batchSize)
		}
		return timed(inst, len(ps)*batchSize, func() error {
			for _, batch := range ps {
				if err := inst.SendBatch(ctx, batch); err != nil {
					return err
				}
			}
			return nil
		})
	})
}

// runDrain pre-sends n jobs (untimed), then times the workers from Start
// until all n finished with their outcome stored, sampling the RSS.
func runDrain(ctx context.Context, sys *system, e env, n int) (benchkit.Sample, error) {
	e.Track = true
	return withInstance(ctx, sys, e, func(inst benchkit.Instance) (benchkit.Sample, error) {
		for sent := 0; sent < n; sent += batchSize {
			if err := inst.SendBatch(ctx, benchkit.Payloads(min(batchSize, n-sent))); err != nil {
				return benchkit.Sample{}, err
			}
		}
		debug.FreeOSMemory()
		stop, peak := sampleRSS()
		s, err := timed(inst, n, func() error {
			if err := inst.Start(ctx); err != nil {
				return err
			}
			return inst.WaitFinished(ctx, n)
		})
		stop()
		s.PeakRSSMB = float64(peak.Load()) / (1 << 20)
		return s, err
	})
}

func sampleRSS() (stop func(), peak *atomic.Int64) {
	peak = &atomic.Int64{}
	peak.Store(benchkit.ProcStatus("VmRSS"))
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(rssSampleEvery)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				peak.Store(max(peak.Load(), benchkit.ProcStatus("VmRSS")))
			case <-quit:
				return
			}
		}
	}()
	return func() { close(quit); <-done }, peak
}

// latencyRunner starts the workers, then sends n jobs at a steady rate per
// second (each stamped just before its Send) and reports the p50 and p99
// of the time from the stamp to the handler's start.
func latencyRunner(rate int) runFunc {
	return func(ctx context.Context, sys *system, e env, n int) (benchkit.Sample, error) {
		lat := newLatencies(n)
		e.Track, e.OnStart = true, lat.add
		return withInstance(ctx, sys, e, func(inst benchkit.Instance) (benchkit.Sample, error) {
			if err := inst.Start(ctx); err != nil {
				return benchkit.Sample{}, err
			}
			start := time.Now()
			if err := sendSteady(ctx, inst, n, rate); err != nil {
				return benchkit.Sample{}, err
			}
			if err := inst.WaitFinished(ctx, n); err != nil {
				return benchkit.Sample{}, err
			}
			return lat.sample(n, time.Since(start))
		})
	}
}

// latencies collects send->start times from the handlers.
type latencies struct {
	mu sync.Mutex
	ds []time.Duration
}

func newLatencies(n int) *latencies { return &latencies{ds: make([]time.Duration, 0, n)} }

// add is an Env.OnStart: it records the time since sent.
func (l *latencies) add(sent time.Time) {
	d := time.Since(sent)
	l.mu.Lock()
	l.ds = append(l.ds, d)
	l.mu.Unlock()
}

// sample reports n jobs over elapsed with the p50 and p99 latency, the
// first latencyWarmup probes left out.
func (l *latencies) sample(n int, elapsed time.Duration) (benchkit.Sample, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.ds) <= latencyWarmup {
		return benchkit.Sample{}, errors.New("too few latency probes")
	}
	p50, p99 := quantilesMS(l.ds[latencyWarmup:])
	return benchkit.Sample{PerSec: perSec(n, elapsed), P50ms: p50, P99ms: p99}, nil
}

// sendSteady sends n jobs, the i-th at start + i/rate seconds.
func sendSteady(ctx context.Context, inst benchkit.Instance, n, rate int) error {
	interval := time.Second / time.Duration(rate)
	start := time.Now()
	for i := range n {
		if wait := time.Until(start.Add(time.Duration(i) * interval)); wait > 0 {
			time.Sleep(wait)
		}
		if err := inst.Send(ctx, benchkit.NewPayload()); err != nil {
			return err
		}
	}
	return nil
}

func quantilesMS(ds []time.Duration) (p50, p99 float64) {
	ms := make([]float64, len(ds))
	for i, d := range ds {
		ms[i] = float64(d) / float64(time.Millisecond)
	}
	slices.Sort(ms)
	return quantile(ms, 0.5), quantile(ms, 0.99)
}

// quantile returns the q-quantile of sorted xs, interpolating linearly.
func quantile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	pos := q * float64(len(sorted)-1)
	lo := int(pos)
	if lo+1 >= len(sorted) {
		return sorted[len(sorted)-1]
	}
	frac := pos - float64(lo)
	return sorted[lo]*(1-frac) + sorted[lo+1]*frac
}
