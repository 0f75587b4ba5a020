package queuesqlite

import (
	"context"
	"sync"
	"time"

	"github.com/queue-sqlite/queuesqlite/driver"
)

// finishedBatch bounds the finished messages fetched per shard per look.
const finishedBatch = 1000

// finished is told of every message this process saw reach a terminal
// status: it fires the message's callback (if this process holds it) and
// wakes anyone waiting for it.
func (q *Queue) finished(m *Message) {
	if cb, ok := q.callbacks.Take(m.ID); ok {
		msg := m.Clone()
		if !q.cbPool.Submit(m.ID, func() { cb(msg) }) {
			q.abandoned.callbacksDropped.Add(1)
			q.logger.Warn("callback dropped: the queue closed before it could run", "id", m.ID)
		}
	}
	q.waiters.wake(m.ID)
}

// watchCallbacks collects results that other processes recorded for
// messages this process sent with a callback, whenever a shard changes (and
// as a slow fallback). It runs from Open to Close, with or without workers.
func (q *Queue) watchCallbacks(ctx context.Context) {
	sub := q.changes.Subscribe(driver.Topic{Kind: driver.TopicFinished})
	defer sub.Close()
	t := time.NewTicker(q.cfg.MaintenanceInterval)
	defer t.Stop()
	for {
		select {
		case <-sub.C:
			q.waiters.wakeAll()
		case <-t.C:
		case <-ctx.Done():
			return
		}
		if q.callbacks.Len() > 0 {
			q.collectRemoteResults(ctx)
		}
	}
}

func (q *Queue) collectRemoteResults(ctx context.Context) {
	ms, err := q.d.Finished(ctx, q.instance, finishedBatch)
	if err != nil {
		if ctx.Err() == nil { // else: the queue is closing
			q.logger.Warn("look for finished messages", "err", err)
		}
		return
	}
	if len(ms) == 0 {
		return
	}
	seqs := make([]int64, len(ms))
	for i, m := range ms {
		seqs[i] = m.Seq
		q.finished(m)
	}
	if err := q.d.AckCallbacks(ctx, seqs); err != nil && ctx.Err() == nil {
		q.logger.Warn("acknowledge callbacks", "err", err)
	}
}

// waiters wakes Wait calls when their message may have finished.
type waiters struct {
	mu sync.Mutex
	m  map[string]map[chan struct{}]struct{}
}

func (w *waiters) add(id string) chan struct{} {
	c := make(chan struct{}, 1)
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.m == nil {
		w.m = map[string]map[chan struct{}]struct{}{}
	}
	if w.m[id] == nil {
		w.m[id] = map[chan struct{}]struct{}{}
	}
	w.m[id][c] = struct{}{}
	return c
}

func (w *waiters) remove(id string, c chan struct{}) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.m[id], c)
	if len(w.m[id]) == 0 {
		delete(w.m, id)
	}
}

func (w *waiters) wake(id string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for c := range w.m[id] {
		signal(c)
	}
}

func (w *waiters) wakeAll() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, cs := range w.m {
		for c := range cs {
			signal(c)
		}
	}
}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}
