package queuesqlite_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/queue-sqlite/queuesqlite"
)

// reportLatency reports the p50 and p99 of ds as benchmark metrics.
func reportLatency(b *testing.B, ds []time.Duration) {
	if len(ds) == 0 {
		return
	}
	slices.Sort(ds)
	pct := func(p float64) float64 { return float64(ds[int(p*float64(len(ds)-1))].Microseconds()) / 1000 }
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
}

// BenchmarkListenLatency: a change made in this process, until its
// listener runs.
func BenchmarkListenLatency(b *testing.B) {
	q := benchQueue(b, nil)
	got := make(chan time.Time, 1)
	q.Listen("k", func(ctx context.Context, c *queuesqlite.Change) error {
		got <- time.Now()
		return nil
	}, nil)
	q.Start(context.Background())
	var ds []time.Duration
	for i := 0; b.Loop(); i++ {
		sent := time.Now()
		if _, err := q.SetListenData(context.Background(), "k", i); err != nil {
			b.Fatal(err)
		}
		ds = append(ds, (<-got).Sub(sent))
	}
	reportLatency(b, ds)
}

// BenchmarkListenLatencyCrossProcess: a change made by another OS process
// (this test binary re-run), until the listener here runs. The child stamps
// each value with its wall-clock send time.
func BenchmarkListenLatencyCrossProcess(b *testing.B) {
	dir := b.TempDir()
	q, err := queuesqlite.Open(dir, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer q.Close()
	got := make(chan time.Duration, 1024)
	q.Listen("remote", func(ctx context.Context, c *queuesqlite.Change) error {
		ns, _ := strconv.ParseInt(c.New.String(), 10, 64)
		got <- time.Since(time.Unix(0, ns))
		return nil
	}, nil)
	q.Start(context.Background())
	n := max(b.N, 1)
	cmd := exec.Command(os.Args[0], "-test.run=^TestListenLatencyChild$")
	cmd.Env = append(os.Environ(), "QUEUESQLITE_LATENCY_CHILD="+dir, fmt.Sprint("QUEUESQLITE_LATENCY_N=", n))
	b.ResetTimer()
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("child: %v\n%s", err, out)
	}
	var ds []time.Duration
	for range n {
		select {
		case d := <-got:
			ds = append(ds, d)
		case <-time.After(30 * time.Second):
			b.Fatalf("received %d of %d changes", len(ds), n)
		}
	}
	reportLatency(b, ds)
}

// TestListenLatencyChild writes stamped values, 5 ms apart, for
// BenchmarkListenLatencyCrossProcess.
func TestListenLatencyChild(t *testing.T) {
	dir := os.Getenv("QUEUESQLITE_LATENCY_CHILD")
	if dir == "" {
		t.Skip("only runs as a child process")
	}
	n, _ := strconv.Atoi(os.Getenv("QUEUESQLITE_LATENCY_N"))
	q, err := queuesqlite.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	for range n {
		if _, err := q.SetListenData(context.Background(), "remote", strconv.FormatInt(time.Now().UnixNano(), 10)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond) // a steady rate, not synchronisation
	}
}

// BenchmarkSetListenData: sets per second from one writer, with a listener
// group present (so every change is logged too).
func BenchmarkSetListenData(b *testing.B) {
	q := benchQueue(b, nil)
	q.Listen("other", func(ctx context.Context, c *queuesqlite.Change) error { return nil }, nil)
	q.Start(context.Background())
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := q.SetListenData(context.Background(), "k", i); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "sets/s")
}
