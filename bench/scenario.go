package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/queue-sqlite/queuesqlite/internal/benchkit"
)

// The dimensions' defaults: the sizes, synchronous levels and send rates a
// run covers unless the flags say otherwise.
const (
	sizeDefault   = 100 // bytes of content: the size the peers run at
	sizesDefault  = "100,1024,16384,65536"
	syncsDefault  = "NORMAL,FULL"
	ratesDefault  = "50,200,1000"
	kindsLatency  = "latency"
	kindsXproc    = "latency-xproc" // the sender in another OS process
	procsMany     = 4               // worker processes of drain-4x25
	fullSend1Frac = 5               // send-1 with FULL commits one fsync per message: a fifth of the messages
)

// counts sizes one scenario kind at 100 B; larger contents get fewer
// messages so one run writes at most maxBytes.
type counts struct {
	send1, send32, batches, drain int
	latencyFor, xprocFor          time.Duration
	maxBytes                      int
}

func countsFor(quick bool) counts {
	if quick {
		return counts{send1: 300, send32: 640, batches: 2, drain: 2000, latencyFor: time.Second,
			xprocFor: time.Second, maxBytes: 32 << 20}
	}
	return counts{send1: 10000, send32: 20000, batches: 20, drain: 20000, latencyFor: 3 * time.Second,
		xprocFor: 10 * time.Second, maxBytes: 256 << 20}
}

// runFunc runs one scenario once on a freshly opened system.
type runFunc func(ctx context.Context, sys *system, e env, n int) (benchkit.Sample, error)

// kind is a scenario without its dimensions.
type kind struct {
	name, what    string
	pollSensitive bool // its outcome depends on polling: the tuned variants run it
	n             func(c counts) int
	unit          int // n is rounded down to a multiple of it
	// shared marks the multi-process kinds: they run only on systems other
	// processes can open, at the default size and NORMAL.
	shared bool
	run    runFunc
}

func kinds() []kind {
	return []kind{
		{name: "send-1", what: "Send, 1 goroutine, msgs/s", n: func(c counts) int { return c.send1 }, unit: 1, run: runSend1},
		{name: "send-32", what: "Send, 32 goroutines, msgs/s", n: func(c counts) int { return c.send32 }, unit: sendersMany, run: runSend32},
		{name: "batch-1000", what: "SendBatch of 1000, one after another, msgs/s",
			n: func(c counts) int { return c.batches * batchSize }, unit: batchSize, run: runBatch},
		{name: "drain", what: fmt.Sprintf("drain pre-sent no-op jobs, %d workers, jobs/s", workersBench), pollSensitive: true,
			n: func(c counts) int { return c.drain }, unit: batchSize, run: runDrain},
		{name: "drain-1x100", what: fmt.Sprintf("drain pre-sent no-op jobs, 1 worker process x %d workers, jobs/s", workersBench),
			pollSensitive: true, shared: true, n: func(c counts) int { return c.drain }, unit: batchSize,
			run: procsDrainRunner(1, workersBench)},
		{name: "drain-4x25", what: fmt.Sprintf("drain pre-sent no-op jobs, %d worker processes x %d workers, jobs/s",
			procsMany, workersBench/procsMany),
			pollSensitive: true, shared: true, n: func(c counts) int { return c.drain }, unit: batchSize,
			run: procsDrainRunner(procsMany, workersBench/procsMany)},
	}
}

// scenario is one measurement: a kind at a size, a synchronous level and,
// for latency, a rate.
type scenario struct {
	Name          string
	Kind          string
	What          string
	Size          int
	Sync          string
	Rate          int
	N             int
	PollSensitive bool
	Shared        bool // needs a system other processes can open
	run           runFunc
}

// dims are the dimensions a run covers.
type dims struct {
	sizes []int
	syncs []string
	rates []int
	only  []string // kinds; empty = all
}

// scenarios lists every scenario of d, sized by c: for each synchronous
// level and size, the kinds, then latency at each rate.
func scenarios(d dims, c counts) []scenario {
	var out []scenario
	for _, sync := range d.syncs {
		for _, size := range d.sizes {
			dflt := size == sizeDefault && sync == benchkit.SyncNormal
			for _, k := range kinds() {
				if wanted(d, k.name) && (dflt || !k.shared) {
					out = append(out, sized(k, size, sync, c))
				}
			}
			for _, rate := range d.rates {
				if wanted(d, kindsLatency) {
					out = append(out, latencyScenario(size, sync, rate, c))
				}
				if wanted(d, kindsXproc) && dflt {
					out = append(out, xprocScenario(rate, c))
				}
			}
		}
	}
	return out
}

func wanted(d dims, name string) bool {
	if len(d.only) == 0 {
		return true
	}
	for _, o := range d.only {
		if o == name {
			return true
		}
	}
	return false
}

func sized(k kind, size int, sync string, c counts) scenario {
	n := min(k.n(c), max(c.maxBytes/size, k.unit))
	if sync == benchkit.SyncFull && k.name == "send-1" {
		n /= fullSend1Frac
	}
	n = max(n/k.unit, 1) * k.unit
	return scenario{Name: label(k.name, size, sync), Kind: k.name, What: k.what, Size: size, Sync: sync, N: n,
		PollSensitive: k.pollSensitive, Shared: k.shared, run: k.run}
}

func latencyScenario(size int, sync string, rate int, c counts) scenario {
	name := fmt.Sprintf("%s-%d", kindsLatency, rate)
	return scenario{Name: label(name, size, sync), Kind: kindsLatency,
		What: "send->start latency at a steady rate, p50 / p99 ms", Size: size, Sync: sync, Rate: rate,
		N: max(int(c.latencyFor.Seconds()*float64(rate)), 2*latencyWarmup), PollSensitive: true,
		run: latencyRunner(rate)}
}

// xprocScenario is latency with the sender in another OS process.
func xprocScenario(rate int, c counts) scenario {
	name := fmt.Sprintf("%s-%d", kindsXproc, rate)
	return scenario{Name: label(name, sizeDefault, benchkit.SyncNormal), Kind: kindsXproc,
		What: "send->start latency at a steady rate, sender in another OS process, p50 / p99 ms",
		Size: sizeDefault, Sync: benchkit.SyncNormal, Rate: rate,
		N: max(int(c.xprocFor.Seconds()*float64(rate)), 2*latencyWarmup), PollSensitive: true, Shared: true,
		run: xprocLatencyRunner(rate)}
}

// label names a scenario: "drain 16KB FULL".
func label(name string, size int, sync string) string {
	s := name + " " + sizeText(size)
	if sync != benchkit.SyncNormal {
		s += " " + strings.ToUpper(sync)
	}
	return s
}

func sizeText(size int) string {
	if size >= 1024 && size%1024 == 0 {
		return fmt.Sprintf("%dKB", size/1024)
	}
	return fmt.Sprintf("%dB", size)
}
