package queuemetrics

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/queue-sqlite/queuesqlite"
)

const testDeadline = 30 * time.Second

func setup(t *testing.T, opts *Opts) (*queuesqlite.Queue, *Collector, *prometheus.Registry) {
	t.Helper()
	q, err := queuesqlite.Open(t.TempDir(), &queuesqlite.Config{Workers: 4, MaintenanceInterval: 20 * time.Millisecond,
		Backoff: func(int) time.Duration { return time.Millisecond }, StopTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close() })
	c, err := New(q, opts)
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(c); err != nil {
		t.Fatal(err)
	}
	return q, c, reg
}

func waitFor(t *testing.T, q *queuesqlite.Queue, id string) *queuesqlite.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testDeadline)
	defer cancel()
	m, err := q.Wait(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// family gathers reg and returns the named family's metrics.
func family(t *testing.T, reg *prometheus.Registry, name string) []*dto.Metric {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()
		}
	}
	return nil
}

// labelled returns the metric of ms whose labels are exactly want.
func labelled(ms []*dto.Metric, want map[string]string) *dto.Metric {
	for _, m := range ms {
		got := map[string]string{}
		for _, lp := range m.GetLabel() {
			got[lp.GetName()] = lp.GetValue()
		}
		if fmt.Sprint(got) == fmt.Sprint(want) {
			return m
		}
	}
	return nil
}

// TestCollector_CountsSendsAttemptsAndDurations: the counters move as
// messages are sent (Send, SendBatch, SendTx) and finished, and the
// histograms get one observation per attempt.
func TestCollector_CountsSendsAttemptsAndDurations(t *testing.T) {
	t.Parallel()
	q, c, reg := setup(t, nil)
	q.Handle("ok", func(ctx context.Context, m *queuesqlite.Message) (any, error) { return nil, nil }, nil)
	q.Handle("bad", func(ctx context.Context, m *queuesqlite.Message) (any, error) { return nil, errors.New("no") },
		&queuesqlite.HandlerOpts{MaxAttempts: 2})
	ctx := context.Background()
	if err := q.Start(ctx); err != nil {
		t.Fatal(err)
	}
	ids, err := q.SendBatch(ctx, []*queuesqlite.Message{queuesqlite.NewMessage("ok", 1), queuesqlite.NewMessage("ok", 2)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	bad, err := q.Send(ctx, queuesqlite.NewMessage("bad", 1), nil)
	if err != nil {
		t.Fatal(err)
	}
	db, _ := q.DB()
	tx, _ := db.BeginTx(ctx, nil)
	txIDs, err := q.SendTx(ctx, tx, queuesqlite.NewMessage("ok", 3))
	if err != nil {
		t.Fatal(err)
	}
	tx.Commit()
	for _, id := range append(append(ids, bad), txIDs...) {
		waitFor(t, q, id)
	}
	for _, tc := range []struct {
		c    prometheus.Collector
		want float64
	}{
		{c.sent.WithLabelValues("ok"), 3},
		{c.sent.WithLabelValues("bad"), 1},
		{c.finished.WithLabelValues("ok", "completed"), 3},
		{c.finished.WithLabelValues("bad", "failed"), 1},
		{c.attempts.WithLabelValues("bad", "retrying"), 1},
		{c.attempts.WithLabelValues("bad", "failed"), 1},
	} {
		if got := testutil.ToFloat64(tc.c); got != tc.want {
			t.Errorf("%v: %v, want %v", tc.c.(prometheus.Metric).Desc(), got, tc.want)
		}
	}
	for _, name := range []string{"queuesqlite_handler_duration_seconds", "queuesqlite_wait_seconds"} {
		m := labelled(family(t, reg, name), map[string]string{"destination": "bad"})
		if m == nil || m.GetHistogram().GetSampleCount() != 2 {
			t.Errorf("%s{destination=bad}: %v, want 2 observations", name, m)
		}
	}
	if problems, err := testutil.CollectAndLint(c); err != nil || len(problems) > 0 {
		t.Fatalf("lint: %v %v", problems, err)
	}
}

// TestCollector_GaugesMatchStats: queue depth and the oldest wait are what
// Stats says, read again only once StatsMaxAge has passed.
func TestCollector_GaugesMatchStats(t *testing.T) {
	t.Parallel()
	q, c, reg := setup(t, &Opts{StatsMaxAge: time.Hour})
	ctx := context.Background()
	for range 2 {
		q.Send(ctx, queuesqlite.NewMessage("later", 1), nil) // no handler: they wait
	}
	m := queuesqlite.NewMessage("later", 1)
	m.Delay = time.Hour
	q.Send(ctx, m, nil)
	st, err := q.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	depth := family(t, reg, "queuesqlite_queue_depth")
	for status, want := range map[string]int{"pending": st.ByDestination["later"][queuesqlite.StatusPending],
		"scheduled": st.ByDestination["later"][queuesqlite.StatusScheduled]} {
		g := labelled(depth, map[string]string{"destination": "later", "status": status})
		if g == nil || g.GetGauge().GetValue() != float64(want) {
			t.Fatalf("queue_depth{later,%s} = %v, want %d", status, g, want)
		}
	}
	if want := []int{2, 1}; st.ByDestination["later"][queuesqlite.StatusPending] != want[0] ||
		st.ByDestination["later"][queuesqlite.StatusScheduled] != want[1] {
		t.Fatalf("Stats %v, want 2 pending and 1 scheduled", st.ByDestination)
	}
	oldest := family(t, reg, "queuesqlite_oldest_waiting_seconds")
	if len(oldest) != 1 || oldest[0].GetGauge().GetValue() <= 0 {
		t.Fatalf("oldest_waiting_seconds %v, want > 0", oldest)
	}
	q.Send(ctx, queuesqlite.NewMessage("later", 1), nil)
	g := labelled(family(t, reg, "queuesqlite_queue_depth"), map[string]string{"destination": "later", "status": "pending"})
	if g.GetGauge().GetValue() != 2 {
		t.Fatalf("a scrape within StatsMaxAge read the store again: pending %v, want the cached 2", g.GetGauge().GetValue())
	}
	c.cache.mu.Lock()
	c.cache.at = time.Now().Add(-2 * time.Hour) // the reading is now stale
	c.cache.mu.Unlock()
	g = labelled(family(t, reg, "queuesqlite_queue_depth"), map[string]string{"destination": "later", "status": "pending"})
	if g.GetGauge().GetValue() != 3 {
		t.Fatalf("a stale reading was reused: pending %v, want 3", g.GetGauge().GetValue())
	}
}

// TestCollector_WriteTransactionsAndOps: the group-commit counters follow
// the writers' counts, and a batch of sends is fewer transactions than ops.
func TestCollector_WriteTransactionsAndOps(t *testing.T) {
	t.Parallel()
	q, _, reg := setup(t, nil)
	ctx := context.Background()
	before := q.WriteOps()
	done := make(chan error, 20)
	for range cap(done) {
		go func() { _, err := q.Send(ctx, queuesqlite.NewMessage("x", 1), nil); done <- err }()
	}
	for range cap(done) {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	if got := q.WriteOps() - before; got < int64(cap(done)) {
		t.Fatalf("write ops grew by %d for %d sends", got, cap(done))
	}
	txs := family(t, reg, "queuesqlite_write_transactions_total")
	ops := family(t, reg, "queuesqlite_write_ops_total")
	if len(txs) != 1 || len(ops) != 1 {
		t.Fatalf("write metrics missing: %v %v", txs, ops)
	}
	tx, op := txs[0].GetCounter().GetValue(), ops[0].GetCounter().GetValue()
	if tx < 1 || op < tx || op > float64(q.WriteOps()) || tx > float64(q.WriteTransactions()) {
		t.Fatalf("write transactions %v, ops %v (queue says %d, %d)", tx, op, q.WriteTransactions(), q.WriteOps())
	}
}

// TestCollector_ListenerLag: a listener group that has not delivered the
// changes shows them as lag, back to 0 once it has.
func TestCollector_ListenerLag(t *testing.T) {
	t.Parallel()
	q, _, reg := setup(t, &Opts{StatsMaxAge: time.Nanosecond})
	release := make(chan struct{})
	q.Listen("config", func(ctx context.Context, ch *queuesqlite.Change) error {
		select {
		case <-release:
		case <-ctx.Done():
		}
		return nil
	}, nil)
	ctx := context.Background()
	if err := q.Start(ctx); err != nil {
		t.Fatal(err)
	}
	q.SetListenData(ctx, "config", "a")
	q.SetListenData(ctx, "config", "b")
	lag := func() float64 {
		g := labelled(family(t, reg, "queuesqlite_listener_lag_changes"), map[string]string{"group": "default"})
		if g == nil {
			return -1
		}
		return g.GetGauge().GetValue()
	}
	eventually(t, "lag of 1 or more", func() bool { return lag() >= 1 })
	close(release)
	eventually(t, "lag back to 0", func() bool { return lag() == 0 })
}

// TestCollector_LintClean: every metric name, help and unit follows the
// Prometheus rules, with metrics of every kind present.
func TestCollector_LintClean(t *testing.T) {
	t.Parallel()
	q, c, reg := setup(t, &Opts{ConstLabels: prometheus.Labels{"queue": "billing"}})
	q.Handle("ok", func(ctx context.Context, m *queuesqlite.Message) (any, error) { return nil, nil }, nil)
	q.Start(context.Background())
	id, _ := q.Send(context.Background(), queuesqlite.NewMessage("ok", 1), nil)
	waitFor(t, q, id)
	problems, err := testutil.CollectAndLint(c)
	if err != nil || len(problems) > 0 {
		t.Fatalf("lint: %v %v", problems, err)
	}
	n := testutil.CollectAndCount(c)
	if n < 8 {
		t.Fatalf("%d metrics collected, want every kind", n)
	}
	for _, name := range []string{"queuesqlite_messages_sent_total", "queuesqlite_queue_depth", "queuesqlite_write_ops_total"} {
		ms := family(t, reg, name)
		if len(ms) == 0 || !strings.Contains(fmt.Sprint(ms[0].GetLabel()), `"billing"`) {
			t.Fatalf("%s: const label missing: %v", name, ms)
		}
	}
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(testDeadline)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
