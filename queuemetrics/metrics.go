// Package queuemetrics exports a queue's metrics to Prometheus.
//
// New installs the send and handler middleware and the outcome observer
// that count and time what the queue does, and returns a
// prometheus.Collector that also reads the queue's depth, the write
// transactions of its SQLite writers and its listener lag when scraped.
// Register it in any registry:
//
//	c, err := queuemetrics.New(q, nil)
//	...
//	prometheus.MustRegister(c)
//	http.Handle("/metrics", promhttp.Handler())
//
// The metrics (default namespace "queuesqlite"):
//
//	queuesqlite_messages_sent_total{destination}          counter   messages stored by Send, SendBatch, SendTx
//	queuesqlite_messages_finished_total{destination,outcome} counter outcome completed or failed
//	queuesqlite_attempts_total{destination,outcome}       counter   every recorded attempt: outcome completed,
//	                                                                failed, retrying, scheduled (RunAgainAfter)
//	                                                                or pending (given back at shutdown)
//	queuesqlite_handler_duration_seconds{destination}     histogram one attempt, middleware included
//	queuesqlite_wait_seconds{destination}                 histogram from when a message was due (RunAt)
//	                                                                to when its attempt started
//	queuesqlite_queue_depth{destination,status}           gauge     messages stored, per status
//	queuesqlite_oldest_waiting_seconds                    gauge     age of the oldest ready message (0: none)
//	queuesqlite_write_transactions_total                  counter   SQLite write transactions committed
//	queuesqlite_write_ops_total                           counter   writes those transactions carried
//	queuesqlite_listener_lag_changes{group}               gauge     changes logged but not yet delivered
//
// The mean group-commit size is rate(queuesqlite_write_ops_total[1m]) /
// rate(queuesqlite_write_transactions_total[1m]). Message ids are never
// labels. Counters count what this process did since it opened the queue;
// the gauges describe the whole queue (every process sharing it), read
// with Queue.Stats at scrape time and reused for Opts.StatsMaxAge, so a
// burst of scrapes reads the store once.
package queuemetrics

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/queue-sqlite/queuesqlite"
)

// Defaults of Opts.
const (
	NamespaceDefault   = "queuesqlite"
	StatsMaxAgeDefault = time.Second
	// ScrapeTimeoutDefault bounds the store reads of one scrape.
	ScrapeTimeoutDefault = 5 * time.Second
)

// Opts configures a Collector. A zero field takes its default.
type Opts struct {
	// Namespace prefixes every metric name. Default "queuesqlite".
	Namespace string
	// ConstLabels are added to every metric, e.g. {"queue": "billing"},
	// so that several queues can share one registry. Default none.
	ConstLabels prometheus.Labels
	// StatsMaxAge is how long one reading of the queue's depth is reused
	// by later scrapes. Default 1s.
	StatsMaxAge time.Duration
	// ScrapeTimeout bounds the store reads of one scrape. Default 5s.
	ScrapeTimeout time.Duration
	// DurationBuckets are the buckets, in seconds, of the handler duration
	// and wait histograms. Default prometheus.DefBuckets (5ms to 10s).
	DurationBuckets []float64
}

// Collector is the queue's metrics. It implements prometheus.Collector.
type Collector struct {
	q    *queuesqlite.Queue
	opts Opts

	sent     *prometheus.CounterVec
	finished *prometheus.CounterVec
	attempts *prometheus.CounterVec
	duration *prometheus.HistogramVec
	wait     *prometheus.HistogramVec

	depth, oldest, writeTx, writeOps, listenLag, scrapeErr *prometheus.Desc

	byDest sync.Map // destination -> *destMetrics, the hot path's label lookups done once
	cache  statsCache
}

// destMetrics are one destination's metrics with their labels resolved.
type destMetrics struct {
	sent     prometheus.Counter
	duration prometheus.Observer
	wait     prometheus.Observer
	attempts [statusSlots]atomic.Pointer[prometheus.Counter] // by status, resolved on first use
	finished [statusSlots]atomic.Pointer[prometheus.Counter]
}

// statusSlots bounds the statuses kept resolved per destination; a status
// beyond them (added later) is looked up each time.
const statusSlots = int(queuesqlite.StatusScheduled) + 1

// New builds q's collector and installs its middleware and outcome
// observer on q (Queue.UseSend, Queue.UseHandler, Queue.OnOutcome): call it
// once per queue, before the sends and attempts it should count. opts may
// be nil.
func New(q *queuesqlite.Queue, opts *Opts) (*Collector, error) {
	if q == nil {
		return nil, errors.New("queuemetrics: nil queue")
	}
	c := newCollector(q, opts)
	if err := q.UseSend(c.SendMiddleware); err != nil {
		return nil, err
	}
	if err := q.UseHandler(c.HandlerMiddleware); err != nil {
		return nil, err
	}
	if err := q.OnOutcome(c.observe); err != nil {
		return nil, err
	}
	return c, nil
}

func newCollector(q *queuesqlite.Queue, opts *Opts) *Collector {
	var o Opts
	if opts != nil {
		o = *opts
	}
	if o.Namespace == "" {
		o.Namespace = NamespaceDefault
	}
	if o.StatsMaxAge <= 0 {
		o.StatsMaxAge = StatsMaxAgeDefault
	}
	if o.ScrapeTimeout <= 0 {
		o.ScrapeTimeout = ScrapeTimeoutDefault
	}
	if len(o.DurationBuckets) == 0 {
		o.DurationBuckets = prometheus.DefBuckets
	}
	c := &Collector{q: q, opts: o}
	c.buildEventMetrics()
	c.buildStateDescs()
	return c
}

func (c *Collector) buildEventMetrics() {
	o := c.opts
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: o.Namespace, Name: name, Help: help,
			ConstLabels: o.ConstLabels}, labels)
	}
	histogram := func(name, help string) *prometheus.HistogramVec {
		return prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: o.Namespace, Name: name, Help: help,
			ConstLabels: o.ConstLabels, Buckets: o.DurationBuckets}, []string{"destination"})
	}
	c.sent = counter("messages_sent_total", "Messages stored by Send, SendBatch and SendTx in this process.", "destination")
	c.finished = counter("messages_finished_total",
		"Messages this process's workers finished, by outcome (completed or failed).", "destination", "outcome")
	c.attempts = counter("attempts_total",
		"Attempts whose outcome this process recorded, by the status stored (completed, failed, retrying, scheduled, pending).",
		"destination", "outcome")
	c.duration = histogram("handler_duration_seconds", "How long one attempt of a handler took, middleware included.")
	c.wait = histogram("wait_seconds", "How long a due message waited for a worker: from its RunAt to its attempt's start.")
}

func (c *Collector) buildStateDescs() {
	o := c.opts
	desc := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName(o.Namespace, "", name), help, labels, o.ConstLabels)
	}
	c.depth = desc("queue_depth", "Messages stored in the queue, by destination and status.", "destination", "status")
	c.oldest = desc("oldest_waiting_seconds", "Age of the oldest ready (pending) message; 0 when none waits.")
	c.writeTx = desc("write_transactions_total", "Write transactions the queue's SQLite writers committed since the queue was opened.")
	c.writeOps = desc("write_ops_total", "Writes carried by those transactions; divided by write_transactions_total it is the group-commit size.")
	c.listenLag = desc("listener_lag_changes", "Changes logged but not yet delivered to a listener group.", "group")
	c.scrapeErr = desc("scrape_error", "1 when the last reading of the queue's state failed (see the logs), else 0.")
}

// SendMiddleware counts the messages stored. New installs it; it is
// exported for queues that list their middleware in the Config.
func (c *Collector) SendMiddleware(next queuesqlite.SendFunc) queuesqlite.SendFunc {
	return func(ctx context.Context, ms []*queuesqlite.Message) error {
		if err := next(ctx, ms); err != nil {
			return err
		}
		var last string
		var dm *destMetrics
		for _, m := range ms {
			if dm == nil || m.Destination != last {
				last, dm = m.Destination, c.dest(m.Destination)
			}
			dm.sent.Inc()
		}
		return nil
	}
}

// HandlerMiddleware times each attempt and the wait before it. New
// installs it.
func (c *Collector) HandlerMiddleware(next queuesqlite.HandlerFunc) queuesqlite.HandlerFunc {
	return func(ctx context.Context, m *queuesqlite.Message) (any, error) {
		dm := c.dest(m.Destination)
		start := time.Now()
		if !m.RunAt.IsZero() {
			dm.wait.Observe(max(start.Sub(m.RunAt).Seconds(), 0))
		}
		defer func() { dm.duration.Observe(time.Since(start).Seconds()) }()
		return next(ctx, m)
	}
}

// observe counts a recorded outcome.
func (c *Collector) observe(m *queuesqlite.Message, s queuesqlite.Status) {
	if s < 0 || int(s) >= statusSlots {
		c.attempts.WithLabelValues(m.Destination, s.String()).Inc()
		if s.Terminal() {
			c.finished.WithLabelValues(m.Destination, s.String()).Inc()
		}
		return
	}
	dm := c.dest(m.Destination)
	resolved(&dm.attempts[s], c.attempts, m.Destination, s).Inc()
	if s.Terminal() {
		resolved(&dm.finished[s], c.finished, m.Destination, s).Inc()
	}
}

// resolved returns vec's counter for destination and status, resolving
// the labels once.
func resolved(slot *atomic.Pointer[prometheus.Counter], vec *prometheus.CounterVec, dest string, s queuesqlite.Status) prometheus.Counter {
	if p := slot.Load(); p != nil {
		return *p
	}
	ctr := vec.WithLabelValues(dest, s.String())
	slot.Store(&ctr)
	return ctr
}

// dest returns a destination's resolved metrics.
func (c *Collector) dest(name string) *destMetrics {
	if v, ok := c.byDest.Load(name); ok {
		return v.(*destMetrics)
	}
	dm := &destMetrics{sent: c.sent.WithLabelValues(name), duration: c.duration.WithLabelValues(name),
		wait: c.wait.WithLabelValues(name)}
	v, _ := c.byDest.LoadOrStore(name, dm)
	return v.(*destMetrics)
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	c.sent.Describe(ch)
	c.finished.Describe(ch)
	c.attempts.Describe(ch)
	c.duration.Describe(ch)
	c.wait.Describe(ch)
	for _, d := range []*prometheus.Desc{c.depth, c.oldest, c.writeTx, c.writeOps, c.listenLag, c.scrapeErr} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	c.sent.Collect(ch)
	c.finished.Collect(ch)
	c.attempts.Collect(ch)
	c.duration.Collect(ch)
	c.wait.Collect(ch)
	ch <- prometheus.MustNewConstMetric(c.writeTx, prometheus.CounterValue, float64(c.q.WriteTransactions()))
	ch <- prometheus.MustNewConstMetric(c.writeOps, prometheus.CounterValue, float64(c.q.WriteOps()))
	c.collectState(ch)
}
