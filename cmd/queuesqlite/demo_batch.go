package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/queue-sqlite/queuesqlite"
)

// priorityMix is the share of each priority in the main batch, in percent.
var priorityMix = []struct {
	p   queuesqlite.Priority
	pct int
}{{queuesqlite.PriorityUrgent, 10}, {queuesqlite.PriorityHigh, 20}, {queuesqlite.PriorityNormal, 40}, {queuesqlite.PriorityLow, 30}}

// mainBatch sends n tasks of mixed priority in one SendBatch before the
// workers start, then starts them and follows the callbacks to the end.
func (d *demo) mainBatch(ctx context.Context) error {
	fmt.Fprintf(d.out, "\n== main batch ==\n")
	ms, mix := d.batch()
	began := time.Now()
	if _, err := d.q.SendBatch(ctx, ms, d.onBatchDone); err != nil {
		return fmt.Errorf("send the main batch: %w", err)
	}
	fmt.Fprintf(d.out, "sent %d tasks in one SendBatch (%v): %s\n", len(ms), time.Since(began).Round(time.Millisecond), mix)
	began = time.Now()
	if err := d.q.Start(ctx); err != nil {
		return err
	}
	if err := trackProgress(ctx, d.out, d.opts.plain, int64(len(ms)), d.done.Load, d.allDone); err != nil {
		return fmt.Errorf("main batch: %d of %d callbacks: %w", d.done.Load(), len(ms), err)
	}
	d.mu.Lock()
	d.elapsed = d.lastDone.Sub(began)
	d.mu.Unlock()
	return d.batchSummary()
}

// batch builds the main batch: tasks spread over three destinations with
// priorities drawn (reproducibly) from priorityMix.
func (d *demo) batch() ([]*queuesqlite.Message, string) {
	rng := rand.New(rand.NewPCG(1, 2))
	counts := map[queuesqlite.Priority]int{}
	ms := make([]*queuesqlite.Message, d.opts.n)
	for i := range ms {
		ms[i] = task(i)
		ms[i].Priority = drawPriority(rng)
		counts[ms[i].Priority]++
		d.expect(ms[i].Destination, queuesqlite.StatusCompleted, 1)
	}
	var parts []string
	for _, pm := range priorityMix {
		parts = append(parts, fmt.Sprintf("%s %d", pm.p, counts[pm.p]))
	}
	return ms, strings.Join(parts, ", ")
}

func task(i int) *queuesqlite.Message {
	switch i % 3 {
	case 0:
		return queuesqlite.NewMessage(destResize, resizeIn{Image: i, Width: 320})
	case 1:
		return queuesqlite.NewMessage(destEmail, emailIn{To: fmt.Sprintf("user%d@example.com", i), Subject: "Your order shipped"})
	default:
		return queuesqlite.NewMessage(destIndex, indexIn{Doc: i, Words: 100 + i%900})
	}
}

func drawPriority(rng *rand.Rand) queuesqlite.Priority {
	r := rng.IntN(100)
	for _, pm := range priorityMix {
		if r < pm.pct {
			return pm.p
		}
		r -= pm.pct
	}
	return queuesqlite.PriorityNormal
}

// onBatchDone is the completion callback of every main-batch task.
func (d *demo) onBatchDone(m *queuesqlite.Message) {
	n := d.done.Add(1)
	if m.Status != queuesqlite.StatusCompleted {
		d.notDone.Add(1)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if n == int64(d.opts.n) {
		d.lastDone = time.Now()
		close(d.allDone)
	}
	if n <= int64(max(d.opts.n/10, 1)) {
		d.firstByP[m.Priority]++
	}
	if len(d.samples) < demoSamples {
		d.samples = append(d.samples, fmt.Sprintf("  callback: %s %-14s %-6s %s after %d attempt(s) -> %s",
			m.ID, m.Destination, m.Priority, m.Status, m.Attempt, m.Result))
	}
}

// batchSummary prints what the callbacks saw and checks it.
func (d *demo) batchSummary() error {
	n, secs := d.opts.n, d.elapsed.Seconds()
	fmt.Fprintf(d.out, "ran %d tasks in %v: %.0f msgs/s (Start to last callback)\n", n, d.elapsed.Round(time.Millisecond), float64(n)/secs)
	fmt.Fprintf(d.out, "callbacks fired: %d of %d (not completed: %d); the first %d:\n", d.done.Load(), n, d.notDone.Load(), len(d.samples))
	d.mu.Lock()
	defer d.mu.Unlock()
	fmt.Fprintln(d.out, strings.Join(d.samples, "\n"))
	fmt.Fprintf(d.out, "priorities of the first %d to finish: %s\n", max(n/10, 1), d.firstMix())
	if d.done.Load() != int64(n) || d.notDone.Load() != 0 {
		return fmt.Errorf("main batch: want %d completed callbacks, got %d callbacks of which %d not completed",
			n, d.done.Load(), d.notDone.Load())
	}
	return nil
}

func (d *demo) firstMix() string {
	var parts []string
	for _, pm := range priorityMix {
		if c := d.firstByP[pm.p]; c > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", pm.p, c))
		}
	}
	return strings.Join(parts, ", ")
}
