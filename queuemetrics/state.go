package queuemetrics

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/queue-sqlite/queuesqlite"
)

// statsCache keeps the latest reading of the queue's state, so scrapes
// closer together than StatsMaxAge read the store once.
type statsCache struct {
	mu     sync.Mutex
	at     time.Time // monotonic: when the reading was taken
	stats  *queuesqlite.Stats
	listen *queuesqlite.ListenStats // nil when the queue has no change log
	err    error
}

// state returns a reading no older than StatsMaxAge, taking one if needed.
// Concurrent scrapes wait for the same reading.
func (c *Collector) state() (*queuesqlite.Stats, *queuesqlite.ListenStats, error) {
	s := &c.cache
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.at.IsZero() || time.Since(s.at) >= c.opts.StatsMaxAge {
		ctx, cancel := context.WithTimeout(context.Background(), c.opts.ScrapeTimeout)
		defer cancel()
		s.stats, s.err = c.q.Stats(ctx)
		s.listen = nil
		if s.err == nil {
			if ls, err := c.q.ListenStats(ctx); err == nil {
				s.listen = ls
			}
		}
		s.at = time.Now()
	}
	return s.stats, s.listen, s.err
}

// collectState sends the gauges read from Stats and ListenStats. A failed
// reading sets scrape_error to 1 and leaves the gauges out, so one bad
// scrape does not fail the application's whole /metrics page.
func (c *Collector) collectState(ch chan<- prometheus.Metric) {
	st, ls, err := c.state()
	if err != nil {
		ch <- prometheus.MustNewConstMetric(c.scrapeErr, prometheus.GaugeValue, 1)
		return
	}
	ch <- prometheus.MustNewConstMetric(c.scrapeErr, prometheus.GaugeValue, 0)
	for dest, counts := range st.ByDestination {
		for status, n := range counts {
			ch <- prometheus.MustNewConstMetric(c.depth, prometheus.GaugeValue, float64(n), dest, status.String())
		}
	}
	ch <- prometheus.MustNewConstMetric(c.oldest, prometheus.GaugeValue, st.OldestPendingAge.Seconds())
	if ls == nil {
		return
	}
	for _, g := range ls.Groups {
		ch <- prometheus.MustNewConstMetric(c.listenLag, prometheus.GaugeValue, float64(g.Lag), g.Name)
	}
}
