package maintain

import (
	"context"
	"maps"
	"slices"
	"time"

	"github.com/queue-sqlite/queuesqlite/queuetype"
)

// waiting is what the unhandled duty last saw of one destination that no
// handler of this process serves.
type waiting struct {
	counts   map[queuetype.Status]int // every shard's counts of the destination
	since    time.Time                // when these counts were first seen (monotonic)
	reported bool
}

// watchUnhandled looks, every UnhandledEvery, for destinations that no
// handler of this process serves whose ready messages make no progress: their
// counts have not changed for UnhandledAfter, so no process is working on
// them. Each is reported once (while it stays stuck).
func (m *Maintainer) watchUnhandled(ctx context.Context) {
	seen := map[string]*waiting{}
	t := time.NewTicker(m.cfg.UnhandledEvery)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			if m.leads() {
				m.checkUnhandled(ctx, seen)
			} else {
				clear(seen) // the leader watches; start afresh on coming to lead
			}
		case <-ctx.Done():
			return
		}
	}
}

func (m *Maintainer) checkUnhandled(ctx context.Context, seen map[string]*waiting) {
	counts, ok := m.unservedCounts(ctx)
	if !ok {
		return
	}
	now := time.Now()
	for dest, c := range counts {
		w := seen[dest]
		switch {
		case c[queuetype.StatusPending] == 0:
			delete(seen, dest)
		case w == nil || !maps.Equal(w.counts, c):
			seen[dest] = &waiting{counts: c, since: now}
		case !w.reported && now.Sub(w.since) >= m.cfg.UnhandledAfter:
			w.reported = true
			m.cfg.Unhandled(dest, c[queuetype.StatusPending], now.Sub(w.since))
		}
	}
	for dest := range seen {
		if _, ok := counts[dest]; !ok {
			delete(seen, dest)
		}
	}
}

// unservedCounts returns the store's counts of the destinations no
// handler of this process serves; false when they could not be read.
func (m *Maintainer) unservedCounts(ctx context.Context) (map[string]map[queuetype.Status]int, bool) {
	out := map[string]map[queuetype.Status]int{}
	st, err := m.cfg.Store.Stats(ctx)
	if err != nil {
		m.warn(ctx, "look for unhandled destinations", "err", err)
		return nil, false
	}
	for dest, c := range st.Counts {
		if !slices.Contains(m.cfg.Served, dest) {
			out[dest] = maps.Clone(c)
		}
	}
	return out, true
}
