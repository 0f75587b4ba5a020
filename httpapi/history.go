package httpapi

import (
	"context"
	"math"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/queue-sqlite/queuesqlite"
)

// The dashboard's history of the queue: a ring of samples taken by one
// goroutine of the handler. It starts on the first request for the
// dashboard or the history (an API-only deployment pays nothing) and stops
// with Shutdown.
const (
	// SampleIntervalDefault is how often the history is sampled.
	SampleIntervalDefault = 5 * time.Second
	// HistorySamples is how many samples the ring keeps (10 minutes at
	// the default interval).
	HistorySamples = 120
	// latencyLookback widens the scan for finished messages to those sent
	// this long before the previous sample.
	latencyLookback = time.Minute
	// latencyScan bounds the finished messages read per sample.
	latencyScan = 2 * queuesqlite.ListPageMax
)

// sampleJSON is one point of the history. Rates are per second since the
// previous sample (null on the first); the latency percentiles are over the
// messages that finished since the previous sample (null when none did).
type sampleJSON struct {
	Time             time.Time      `json:"time"`
	ByStatus         map[string]int `json:"by_status"`
	Total            int            `json:"total"`
	Processed        int64          `json:"processed"`
	OldestPendingAge float64        `json:"oldest_pending_age_seconds"`
	FinishedPerSec   *float64       `json:"finished_per_second"`
	SentPerSec       *float64       `json:"sent_per_second"`
	LatencyP50       *float64       `json:"latency_p50_seconds"`
	LatencyP95       *float64       `json:"latency_p95_seconds"`
	LatencyMax       *float64       `json:"latency_max_seconds"`
	LatencyCount     int            `json:"latency_count"`
}

// historyJSON is the answer of GET /v1/stats/history, oldest sample first.
type historyJSON struct {
	IntervalSeconds float64      `json:"interval_seconds"`
	Samples         []sampleJSON `json:"samples"`
}

// sampler keeps the ring of samples.
type sampler struct {
	q        *queuesqlite.Queue
	interval time.Duration
	once     sync.Once
	done     chan struct{} // closed when the sampling goroutine has ended
	mu       sync.Mutex
	ring     []sampleJSON // at most HistorySamples, oldest first
}

func newSampler(q *queuesqlite.Queue, interval time.Duration) *sampler {
	return &sampler{q: q, interval: interval, done: make(chan struct{})}
}

// start runs the sampling goroutine once, until stop is done. A sampler
// whose stop is already done never starts.
func (s *sampler) start(stop context.Context) {
	s.once.Do(func() {
		if s.q == nil || stop.Err() != nil {
			close(s.done)
			return
		}
		go s.run(stop)
	})
}

// wait blocks until the goroutine has ended; it must follow the end of
// the stop context. A sampler never started counts as ended.
func (s *sampler) wait() {
	s.once.Do(func() { close(s.done) })
	<-s.done
}

func (s *sampler) run(stop context.Context) {
	defer close(s.done)
	t := time.NewTicker(s.interval)
	defer t.Stop()
	for {
		s.take(stop)
		select {
		case <-stop.Done():
			return
		case <-t.C:
		}
	}
}

// take records one sample; a failed read (the queue closing) records
// nothing.
func (s *sampler) take(ctx context.Context) {
	st, err := s.q.Stats(ctx)
	if err != nil {
		return
	}
	now := time.Now().UTC()
	cur := sampleJSON{Time: now, ByStatus: named(st.ByStatus), Total: sum(st.ByStatus),
		Processed: st.Processed, OldestPendingAge: st.OldestPendingAge.Seconds()}
	s.mu.Lock()
	prev, hasPrev := s.last()
	s.mu.Unlock()
	since := now.Add(-s.interval)
	if hasPrev {
		since = prev.Time
		dt := now.Sub(prev.Time).Seconds()
		cur.FinishedPerSec = rate(finished(cur.ByStatus)-finished(prev.ByStatus), dt)
		cur.SentPerSec = rate(cur.Total-prev.Total, dt)
	}
	if lat, err := s.latencies(ctx, since); err == nil {
		cur.LatencyCount = len(lat)
		cur.LatencyP50, cur.LatencyP95, cur.LatencyMax = percentile(lat, 50), percentile(lat, 95), percentile(lat, 100)
	}
	s.mu.Lock()
	s.ring = append(s.ring, cur)
	if len(s.ring) > HistorySamples {
		s.ring = s.ring[len(s.ring)-HistorySamples:]
	}
	s.mu.Unlock()
}

func (s *sampler) last() (sampleJSON, bool) {
	if len(s.ring) == 0 {
		return sampleJSON{}, false
	}
	return s.ring[len(s.ring)-1], true
}

// latencies are finished_at - created_at, in seconds, of the messages that
// completed or failed after since, among those sent at most
// latencyLookback before it (at most latencyScan read), sorted.
func (s *sampler) latencies(ctx context.Context, since time.Time) ([]float64, error) {
	opts := &queuesqlite.ListOpts{Statuses: []queuesqlite.Status{queuesqlite.StatusCompleted, queuesqlite.StatusFailed},
		CreatedFrom: since.Add(-latencyLookback), Limit: queuesqlite.ListPageMax}
	var out []float64
	cursor := ""
	for read := 0; read < latencyScan; {
		page, err := s.q.ListPage(ctx, opts, cursor)
		if err != nil {
			return nil, err
		}
		for _, m := range page.Messages {
			if m.FinishedAt.After(since) {
				out = append(out, m.FinishedAt.Sub(m.CreatedAt).Seconds())
			}
		}
		read += len(page.Messages)
		if page.Next == "" {
			break
		}
		cursor = page.Next
	}
	slices.Sort(out)
	return out, nil
}

// snapshot copies the ring.
func (s *sampler) snapshot() []sampleJSON {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]sampleJSON{}, s.ring...)
}

// finished counts the messages in a final status.
func finished(byStatus map[string]int) int {
	n := 0
	for _, st := range queuesqlite.AllStatuses {
		if st.Terminal() {
			n += byStatus[st.String()]
		}
	}
	return n
}

// rate is delta per second, never negative: a cleanup that deletes
// finished messages shows as no progress rather than as negative work.
func rate(delta int, seconds float64) *float64 {
	r := 0.0
	if delta > 0 && seconds > 0 {
		r = float64(delta) / seconds
	}
	return &r
}

func (h *Handler) history(w http.ResponseWriter, r *http.Request) error {
	if _, err := readParams(r); err != nil {
		return err
	}
	h.sampler.start(h.stopWait)
	return writeJSON(w, http.StatusOK, historyJSON{IntervalSeconds: h.sampler.interval.Seconds(), Samples: h.sampler.snapshot()})
}

// percentile is the nearest-rank p-th percentile of sorted, or nil when
// it is empty.
func percentile(sorted []float64, p float64) *float64 {
	if len(sorted) == 0 {
		return nil
	}
	i := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	v := sorted[max(0, min(i, len(sorted)-1))]
	return &v
}
