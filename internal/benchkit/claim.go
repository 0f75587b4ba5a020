package benchkit

import (
	"context"
	"fmt"
	"time"
)

// claimRunner returns the claim scenario: store a backlog of n pending
// jobs, then time rounds of "claim ClaimBatch and record their completion",
// refilling the backlog between rounds (untimed) so it stays at n. Only
// instances that implement ClaimProber can run it.
func claimRunner(rounds int) func(ctx context.Context, sys *System, env Env, n int) (Sample, error) {
	return func(ctx context.Context, sys *System, env Env, n int) (Sample, error) {
		return withInstance(ctx, sys, env, func(inst Instance) (Sample, error) {
			p, ok := inst.(ClaimProber)
			if !ok {
				return Sample{}, fmt.Errorf("%s cannot measure claims", sys.Name)
			}
			if err := p.Backlog(ctx, n); err != nil {
				return Sample{}, err
			}
			claimed, elapsed, err := claimRounds(ctx, inst, p, rounds)
			return Sample{PerSec: perSec(claimed, elapsed)}, err
		})
	}
}

func claimRounds(ctx context.Context, inst Instance, p ClaimProber, rounds int) (int, time.Duration, error) {
	var total int
	var elapsed time.Duration
	for range rounds {
		start := time.Now()
		got, err := p.ClaimComplete(ctx, ClaimBatch)
		elapsed += time.Since(start)
		if err != nil {
			return total, elapsed, err
		}
		if got == 0 {
			return total, elapsed, fmt.Errorf("claim found nothing with a backlog")
		}
		total += got
		if err := inst.SendBatch(ctx, Payloads(got)); err != nil {
			return total, elapsed, err
		}
	}
	return total, elapsed, nil
}
