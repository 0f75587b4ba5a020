package httpapi

import (
	"testing"
	"time"

	"github.com/queue-sqlite/queuesqlite"
)

// TestSampler_StopsWithShutdown: the sampling goroutine has ended when
// Shutdown returns, a request after it does not start another, and a
// handler whose dashboard was never used starts none.
func TestSampler_StopsWithShutdown(t *testing.T) {
	q, err := queuesqlite.Open(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	h := New(q, &Options{SampleInterval: time.Millisecond})
	h.sampler.start(h.stopWait)
	deadline := time.Now().Add(30 * time.Second)
	for len(h.sampler.snapshot()) < 2 {
		if time.Now().After(deadline) {
			t.Fatal("no samples")
		}
		time.Sleep(time.Millisecond)
	}
	h.Shutdown()
	select {
	case <-h.sampler.done:
	default:
		t.Fatal("Shutdown returned while the sampler still runs")
	}
	n := len(h.sampler.snapshot())
	h.sampler.start(h.stopWait) // a late request
	h.sampler.wait()
	if got := len(h.sampler.snapshot()); got != n {
		t.Fatalf("samples after Shutdown: %d, then %d", n, got)
	}

	idle := New(q, nil)
	idle.Shutdown()
	if len(idle.sampler.snapshot()) != 0 {
		t.Fatal("a handler whose dashboard was never used sampled")
	}
}

// TestSampler_RingIsBounded: the history keeps the last HistorySamples.
func TestSampler_RingIsBounded(t *testing.T) {
	q, err := queuesqlite.Open(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	s := newSampler(q, time.Second)
	for range HistorySamples + 10 {
		s.take(t.Context())
	}
	ring := s.snapshot()
	if len(ring) != HistorySamples || ring[0].Time.After(ring[len(ring)-1].Time) {
		t.Fatalf("ring holds %d samples, want %d, oldest first", len(ring), HistorySamples)
	}
}

// TestPercentile is the nearest-rank percentile.
func TestPercentile(t *testing.T) {
	var v []float64
	for i := 1; i <= 20; i++ {
		v = append(v, float64(i))
	}
	for p, want := range map[float64]float64{50: 10, 95: 19, 100: 20, 1: 1} {
		if got := percentile(v, p); got == nil || *got != want {
			t.Errorf("p%v = %v, want %v", p, got, want)
		}
	}
	if percentile(nil, 50) != nil {
		t.Error("percentile of nothing is not null")
	}
}
