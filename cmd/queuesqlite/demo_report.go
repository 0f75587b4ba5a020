package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/queue-sqlite/queuesqlite"
)

// report stops the workers (so every outcome is recorded), prints the
// stats and checks them against what the demo sent.
func (d *demo) report(ctx context.Context) error {
	fmt.Fprintf(d.out, "\n== stats ==\n")
	if err := d.q.Stop(ctx); err != nil {
		return err
	}
	st, err := d.q.Stats(ctx)
	if err != nil {
		return err
	}
	if err := printStats(d.out, d.q.Dir(), st); err != nil {
		return err
	}
	fmt.Fprintf(d.out, "\nprocessed by this process: %d attempts\n", st.Processed)
	fmt.Fprintf(d.out, "throughput: %.0f msgs/s (main batch: %d tasks in %v, measured by the demo)\n",
		float64(d.opts.n)/d.elapsed.Seconds(), d.opts.n, d.elapsed.Round(1e6))
	return d.checkStats(st)
}

// wantProcessed is the number of attempts the demo causes: one per task,
// two for the retry, one per held worker, the dead letter's failed attempts
// and its requeued one, the message sent with the listen data, and those
// of the job features (with the periodic job's ticks).
func (d *demo) wantProcessed() int64 {
	return int64(d.opts.n + 2 + d.opts.workers + chargeTries + 1 + 1 + featureAttempts + extraAttempts + d.features.ticks)
}

// checkStats compares the stats with what the demo expects.
func (d *demo) checkStats(st *queuesqlite.Stats) error {
	var errs []error
	dests := map[string]bool{}
	for k := range st.ByDestination {
		dests[k] = true
	}
	for k := range d.sent {
		dests[k] = true
	}
	for _, dest := range slices.Sorted(maps.Keys(dests)) {
		for _, s := range statusOrder {
			if got, want := st.ByDestination[dest][s], d.sent[dest][s]; got != want {
				errs = append(errs, fmt.Errorf("%s: %d %s, want %d", dest, got, s, want))
			}
		}
	}
	if st.Processed != d.wantProcessed() {
		errs = append(errs, fmt.Errorf("processed %d attempts, want %d", st.Processed, d.wantProcessed()))
	}
	errs = append(errs, d.checkMiddleware(st))
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("the stats do not match what the demo did:\n%w", err)
	}
	fmt.Fprintln(d.out, "stats match what the demo sent: ok")
	return nil
}
