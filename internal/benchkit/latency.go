package benchkit

import (
	"context"
	"errors"
	"sync"
	"time"
)

// runLatency starts the workers, then sends n jobs at a steady
// LatencyRate per second (each Send stamped just before it is called) and
// reports the p50 and p99 of the time from that stamp to the handler's
// start, in the same process.
func runLatency(ctx context.Context, sys *System, env Env, n int) (Sample, error) {
	var mu sync.Mutex
	lat := make([]time.Duration, 0, n)
	env.Track = true
	env.OnStart = func(sent time.Time) {
		d := time.Since(sent)
		mu.Lock()
		lat = append(lat, d)
		mu.Unlock()
	}
	return withInstance(ctx, sys, env, func(inst Instance) (Sample, error) {
		if err := inst.Start(ctx); err != nil {
			return Sample{}, err
		}
		start := time.Now()
		if err := sendSteady(ctx, inst, n); err != nil {
			return Sample{}, err
		}
		if err := inst.WaitFinished(ctx, n); err != nil {
			return Sample{}, err
		}
		elapsed := time.Since(start)
		mu.Lock()
		defer mu.Unlock()
		if len(lat) <= latencyWarmup {
			return Sample{}, errors.New("too few latency probes")
		}
		p50, p99 := latencyQuantiles(lat[latencyWarmup:])
		return Sample{PerSec: perSec(n, elapsed), P50ms: p50, P99ms: p99}, nil
	})
}

// sendSteady sends n jobs, the i-th at start + i/LatencyRate seconds.
func sendSteady(ctx context.Context, inst Instance, n int) error {
	interval := time.Second / LatencyRate
	start := time.Now()
	for i := range n {
		if wait := time.Until(start.Add(time.Duration(i) * interval)); wait > 0 {
			time.Sleep(wait)
		}
		if err := inst.Send(ctx, NewPayload()); err != nil {
			return err
		}
	}
	return nil
}
