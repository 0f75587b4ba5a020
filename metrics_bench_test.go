package queuesqlite_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/queue-sqlite/queuesqlite"
	"github.com/queue-sqlite/queuesqlite/queuemetrics"
)

// BenchmarkDrain20k_Metrics measures the cost of package queuemetrics on
// the drain of BenchmarkDrain20k: every iteration drains 20,000 no-op
// messages once without and once with the metrics middleware (the order
// alternating), so both arms see the same machine load. It reports both
// rates, the wall-time overhead in percent (positive: metrics are slower)
// and the overhead in the process's CPU time per drain, which other
// programs on a shared machine disturb less.
func BenchmarkDrain20k_Metrics(b *testing.B) {
	var plain, metered, plainCPU, meteredCPU time.Duration
	i := 0
	run := func(withMetrics bool) {
		wall, cpu := drainOnce(b, withMetrics)
		if withMetrics {
			metered, meteredCPU = metered+wall, meteredCPU+cpu
		} else {
			plain, plainCPU = plain+wall, plainCPU+cpu
		}
	}
	for b.Loop() {
		run(i%2 == 1)
		run(i%2 == 0)
		i++
	}
	const n = 20000
	b.ReportMetric(float64(b.N*n)/plain.Seconds(), "plain-msgs/s")
	b.ReportMetric(float64(b.N*n)/metered.Seconds(), "metrics-msgs/s")
	b.ReportMetric(100*(metered.Seconds()/plain.Seconds()-1), "overhead-%")
	if plainCPU > 0 {
		b.ReportMetric(100*(meteredCPU.Seconds()/plainCPU.Seconds()-1), "cpu-overhead-%")
	}
}

// drainOnce sends 20,000 messages with callbacks, then times Start until
// the last callback, as BenchmarkDrain20k does; with metrics it installs
// a queuemetrics collector (registered and scraped once at the end).
func drainOnce(b *testing.B, withMetrics bool) (wall, cpu time.Duration) {
	const n = 20000
	ctx := context.Background()
	b.StopTimer()
	defer b.StartTimer()
	q := benchQueue(b, &queuesqlite.Config{Workers: 100})
	defer q.Close()
	var reg *prometheus.Registry
	if withMetrics {
		c, err := queuemetrics.New(q, nil)
		if err != nil {
			b.Fatal(err)
		}
		reg = prometheus.NewRegistry()
		reg.MustRegister(c)
	}
	if err := q.Handle("noop", noop, nil); err != nil {
		b.Fatal(err)
	}
	var done atomic.Int64
	finished := make(chan struct{})
	presend(b, q, n, func(*queuesqlite.Message) {
		if done.Add(1) == n {
			close(finished)
		}
	})
	b.StartTimer()
	start, cpu0 := time.Now(), processCPU()
	q.Start(ctx)
	<-finished
	wall, cpu = time.Since(start), processCPU()-cpu0
	b.StopTimer()
	q.Stop(ctx)
	if reg != nil {
		if _, err := reg.Gather(); err != nil {
			b.Fatal(err)
		}
	}
	return wall, cpu
}
