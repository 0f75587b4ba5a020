package benchkit

import (
	"context"
	"runtime/debug"
	"sync/atomic"
	"time"
)

// rssSampleEvery is how often VmRSS is read while draining.
const rssSampleEvery = 10 * time.Millisecond

// runDrain pre-sends n jobs, then times the workers from Start until all n
// finished with their outcome stored. It samples the process's RSS while
// the workers run and, for systems that count them, the write transactions
// per processed job.
func runDrain(ctx context.Context, sys *System, env Env, n int) (Sample, error) {
	env.Track = true
	return withInstance(ctx, sys, env, func(inst Instance) (Sample, error) {
		if err := presend(ctx, inst, n); err != nil {
			return Sample{}, err
		}
		debug.FreeOSMemory() // let the RSS reflect the drain, not earlier garbage
		stopRSS, peak := sampleRSS()
		s, err := timed(inst, n, func() error {
			if err := inst.Start(ctx); err != nil {
				return err
			}
			return inst.WaitFinished(ctx, n)
		})
		stopRSS()
		s.PeakRSSMB = float64(peak.Load()) / (1 << 20)
		return s, err
	})
}

// writeTransactions returns inst's write transaction count, or -1 when it
// does not count them.
func writeTransactions(inst Instance) int64 {
	if w, ok := inst.(WriteCounter); ok {
		return w.WriteTransactions()
	}
	return -1
}

// sampleRSS reads VmRSS every rssSampleEvery until stop is called, keeping
// the highest value; stop waits for the sampler to end.
func sampleRSS() (stop func(), peak *atomic.Int64) {
	peak = &atomic.Int64{}
	peak.Store(ProcStatus("VmRSS"))
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(rssSampleEvery)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				if v := ProcStatus("VmRSS"); v > peak.Load() {
					peak.Store(v)
				}
			case <-quit:
				return
			}
		}
	}()
	return func() { close(quit); <-done }, peak
}
