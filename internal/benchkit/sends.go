package benchkit

import (
	"context"
	"errors"
	"sync"
	"time"
)

// withInstance opens sys, runs fn on it and closes it, keeping fn's error
// first.
func withInstance(ctx context.Context, sys *System, env Env, fn func(Instance) (Sample, error)) (Sample, error) {
	inst, err := openFor(ctx, sys, env)
	if err != nil {
		return Sample{}, err
	}
	s, err := fn(inst)
	if cerr := inst.Close(); cerr != nil && err == nil {
		err = cerr
	}
	return s, err
}

// runSend1 sends n jobs one after another from one goroutine.
func runSend1(ctx context.Context, sys *System, env Env, n int) (Sample, error) {
	return withInstance(ctx, sys, env, func(inst Instance) (Sample, error) {
		return timed(inst, n, func() error { return sendMany(ctx, inst, n) })
	})
}

// timed runs fn, which handles n messages, and measures its rate and, for
// systems that count them, its write transactions per message.
func timed(inst Instance, n int, fn func() error) (Sample, error) {
	tx0 := writeTransactions(inst)
	start := time.Now()
	err := fn()
	s := Sample{PerSec: perSec(n, time.Since(start))}
	if tx0 >= 0 {
		s.WriteTxPerMsg = float64(writeTransactions(inst)-tx0) / float64(n)
	}
	return s, err
}

// runSend32 sends n jobs from SendersMany goroutines at once.
func runSend32(ctx context.Context, sys *System, env Env, n int) (Sample, error) {
	return withInstance(ctx, sys, env, func(inst Instance) (Sample, error) {
		each := max(n/SendersMany, 1)
		return timed(inst, each*SendersMany, func() error {
			errs := make([]error, SendersMany)
			var wg sync.WaitGroup
			for g := range SendersMany {
				wg.Go(func() { errs[g] = sendMany(ctx, inst, each) })
			}
			wg.Wait()
			return errors.Join(errs...)
		})
	})
}

func sendMany(ctx context.Context, inst Instance, n int) error {
	for range n {
		if err := inst.Send(ctx, NewPayload()); err != nil {
			return err
		}
	}
	return nil
}

// runBatch sends n jobs in batches of BatchSize, one batch after another.
func runBatch(ctx context.Context, sys *System, env Env, n int) (Sample, error) {
	return withInstance(ctx, sys, env, func(inst Instance) (Sample, error) {
		batches := max(n/BatchSize, 1)
		ps := make([][]Payload, batches)
		for i := range ps {
			ps[i] = Payloads(BatchSize)
		}
		return timed(inst, batches*BatchSize, func() error {
			for _, batch := range ps {
				if err := inst.SendBatch(ctx, batch); err != nil {
					return err
				}
			}
			return nil
		})
	})
}

// presend stores n jobs in batches of BatchSize, untimed.
func presend(ctx context.Context, inst Instance, n int) error {
	for sent := 0; sent < n; sent += BatchSize {
		if err := inst.SendBatch(ctx, Payloads(min(BatchSize, n-sent))); err != nil {
			return err
		}
	}
	return nil
}
