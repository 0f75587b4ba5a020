package benchkit

import (
	"context"
	"fmt"
	"time"
)

// Counts sizes the scenarios. Every system gets the same counts.
type Counts struct {
	Send1       int           // messages sent by one goroutine
	Send32      int           // messages sent by 32 goroutines together
	Batches     int           // batches of BatchSize
	Drain       int           // pre-sent jobs drained by the workers
	LatencyFor  time.Duration // how long the steady stream of latency probes runs
	ClaimRounds int           // claims of ClaimBatch in the claim scenarios
	BigDrain    int           // jobs drained in drain-1m
	BigBacklog  int           // pending jobs in claim-1m
}

// Fixed shapes of the scenarios.
const (
	BatchSize     = 1000
	SendersMany   = 32
	LatencyRate   = 200 // probes per second
	ClaimBatch    = 100
	SmallBacklog  = 1000
	WorkersBench  = 100
	latencyWarmup = 10 // probes left out of the percentiles
)

// CountsFor returns the default counts, or the smaller ones of a quick
// smoke run.
func CountsFor(quick bool) Counts {
	if quick {
		return Counts{Send1: 300, Send32: 640, Batches: 2, Drain: 2000, LatencyFor: time.Second,
			ClaimRounds: 20, BigDrain: 1_000_000, BigBacklog: 1_000_000}
	}
	return Counts{Send1: 10000, Send32: 20000, Batches: 20, Drain: 20000, LatencyFor: 5 * time.Second,
		ClaimRounds: 200, BigDrain: 1_000_000, BigBacklog: 1_000_000}
}

// Sample is what one run of a scenario measured.
type Sample struct {
	PerSec        float64 // messages (or jobs, or claims' messages) per second
	P50ms, P99ms  float64 // latency scenarios only
	PeakRSSMB     float64 // drain scenarios: the highest VmRSS seen while draining
	WriteTxPerMsg float64 // drain scenarios, for systems with a WriteCounter
}

// Scenario is one measurement, run identically against every system.
type Scenario struct {
	// Name is the scenario's key (in -only and in JSON), e.g. "send-32".
	Name string
	// What says what is measured, for the table's legend.
	What string
	// N is the number of messages or jobs one run handles.
	N int
	// Sync is the synchronous level the systems are opened with.
	Sync string
	// PollSensitive marks scenarios whose outcome depends on polling
	// settings; only these run for tuned variants.
	PollSensitive bool
	// BaselineOnly marks scenarios that run for the baseline (our queue)
	// alone: they need ClaimProber, or are too slow for the peers.
	BaselineOnly bool
	run          func(ctx context.Context, sys *System, env Env, n int) (Sample, error)
}

// Scenarios returns every scenario sized by c. The synchronous=FULL ones
// and the 1M ones are included; Options decide which run.
func Scenarios(c Counts) []Scenario {
	return []Scenario{
		{Name: "send-1", What: "Send, 1 goroutine, msgs/s", N: c.Send1, Sync: SyncNormal, run: runSend1},
		{Name: "send-32", What: "Send, 32 goroutines, msgs/s", N: c.Send32, Sync: SyncNormal, run: runSend32},
		{Name: "batch-1000", What: "SendBatch of 1000, msgs/s", N: c.Batches * BatchSize, Sync: SyncNormal, run: runBatch},
		{Name: "drain", What: fmt.Sprintf("drain %d pre-sent no-op jobs, %d workers, jobs/s", c.Drain, WorkersBench),
			N: c.Drain, Sync: SyncNormal, PollSensitive: true, run: runDrain},
		{Name: "latency-200", What: "send->start latency at a steady 200/s, p50 / p99 ms",
			N: int(c.LatencyFor.Seconds() * LatencyRate), Sync: SyncNormal, PollSensitive: true, run: runLatency},
		{Name: "send-32-full", What: "Send, 32 goroutines, synchronous=FULL, msgs/s", N: c.Send32, Sync: SyncFull, run: runSend32},
		{Name: "drain-full", What: fmt.Sprintf("drain %d jobs, synchronous=FULL, jobs/s", c.Drain),
			N: c.Drain, Sync: SyncFull, run: runDrain},
		{Name: "claim-1k", What: fmt.Sprintf("claim %d + complete, %d pending, msgs/s", ClaimBatch, SmallBacklog),
			N: SmallBacklog, Sync: SyncNormal, BaselineOnly: true, run: claimRunner(c.ClaimRounds)},
		{Name: "claim-1m", What: fmt.Sprintf("claim %d + complete, %d pending, msgs/s", ClaimBatch, c.BigBacklog),
			N: c.BigBacklog, Sync: SyncNormal, BaselineOnly: true, run: claimRunner(c.ClaimRounds)},
		{Name: "drain-1m", What: fmt.Sprintf("drain %d pre-sent jobs, jobs/s (and peak RSS)", c.BigDrain),
			N: c.BigDrain, Sync: SyncNormal, BaselineOnly: true, run: runDrain},
	}
}

// bigScenarios are left out unless Options.Big: preparing them is slow.
var bigScenarios = map[string]bool{"claim-1m": true, "drain-1m": true}

// openFor opens sys with env and registers nothing: the caller closes it.
func openFor(ctx context.Context, sys *System, env Env) (Instance, error) {
	inst, err := sys.Open(ctx, env)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", sys.Name, err)
	}
	return inst, nil
}

// perSec returns n per elapsed second.
func perSec(n int, elapsed time.Duration) float64 {
	if elapsed <= 0 {
		elapsed = time.Nanosecond
	}
	return float64(n) / elapsed.Seconds()
}
