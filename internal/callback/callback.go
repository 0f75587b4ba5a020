// Package callback runs completion callbacks on a fixed pool of goroutines,
// in the order they were queued, so that a slow callback delays only other
// callbacks and never a task worker. The queue in front of the pool is
// unbounded: queuing never blocks the caller. Close is bounded: callbacks
// that ignore it are abandoned, never waited for.
package callback

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"github.com/google/uuid"
)

// Pool runs submitted functions on a fixed number of goroutines.
type Pool struct {
	// Late, if set (before the first Submit), is told when a callback that
	// Close abandoned returns at last.
	Late func(id string)

	logger  *slog.Logger
	mu      sync.Mutex
	cond    *sync.Cond
	queue   []*task
	closing bool
	wg      sync.WaitGroup
	idle    chan struct{}  // closed and replaced whenever the queue drains
	running map[*task]bool // the callbacks running now; true once abandoned
}

// task is one queued callback and the message id it is for.
type task struct {
	id string
	fn func()
}

// NewPool starts a pool of n goroutines (at least one).
func NewPool(n int, logger *slog.Logger) *Pool {
	p := &Pool{logger: logger, idle: make(chan struct{}), running: map[*task]bool{}}
	p.cond = sync.NewCond(&p.mu)
	for range max(n, 1) {
		p.wg.Go(p.work)
	}
	return p
}

// Submit queues fn, the callback of message id. It never blocks. After
// Close, fn is dropped and false is returned.
func (p *Pool) Submit(id string, fn func()) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closing {
		return false
	}
	p.queue = append(p.queue, &task{id: id, fn: fn})
	p.cond.Signal()
	return true
}

func (p *Pool) work() {
	for {
		p.mu.Lock()
		for len(p.queue) == 0 && !p.closing {
			p.cond.Wait()
		}
		if len(p.queue) == 0 {
			p.mu.Unlock()
			return
		}
		t := p.queue[0]
		p.queue[0] = nil
		p.queue = p.queue[1:]
		p.running[t] = false
		p.mu.Unlock()
		p.run(t.fn)
		p.mu.Lock()
		abandoned := p.running[t]
		delete(p.running, t)
		if len(p.queue) == 0 && len(p.running) == 0 {
			close(p.idle)
			p.idle = make(chan struct{})
		}
		p.mu.Unlock()
		if abandoned {
			p.logger.Warn("abandoned callback returned", "id", t.id)
			if p.Late != nil {
				p.Late(t.id)
			}
			return // Close has stopped waiting for this goroutine
		}
	}
}

// run calls fn, turning a panic into a logged error: a callback's bug must
// not take the process down.
func (p *Pool) run(fn func()) {
	defer func() {
		if r := recover(); r != nil {
			p.logger.Error("callback panicked", "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
		}
	}()
	fn()
}

// Wait blocks until every queued callback has run, or ctx ends.
func (p *Pool) Wait(ctx context.Context) error {
	for {
		p.mu.Lock()
		if len(p.queue) == 0 && len(p.running) == 0 {
			p.mu.Unlock()
			return nil
		}
		idle := p.idle
		p.mu.Unlock()
		select {
		case <-idle:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Close runs what is queued until ctx ends, then drops the rest and stops
// the goroutines, waiting up to grace for the callbacks still running. It
// returns the message ids of the callbacks dropped (never run) and of those
// abandoned (still running after the grace: each was called once and is
// never called again; its goroutine ends when it returns).
func (p *Pool) Close(ctx context.Context, grace time.Duration) (dropped, abandoned []string) {
	_ = p.Wait(ctx)
	p.mu.Lock()
	p.closing = true
	for _, t := range p.queue {
		dropped = append(dropped, t.id)
	}
	p.queue = nil
	p.cond.Broadcast()
	p.mu.Unlock()
	exited := make(chan struct{})
	go func() {
		p.wg.Wait()
		close(exited)
	}()
	timer := time.NewTimer(grace)
	defer timer.Stop()
	select {
	case <-exited:
		return dropped, nil
	case <-timer.C:
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for t, already := range p.running {
		if !already {
			p.running[t] = true
			abandoned = append(abandoned, t.id)
		}
	}
	return dropped, abandoned
}

// Registry maps message ids to the callbacks waiting for them. Take removes
// an entry, so each callback is handed out at most once.
//
// A queue may hold a callback for every message in a backlog of millions,
// so ids in the canonical UUID form (what the queue generates) are kept as
// 16-byte arrays rather than 36-byte strings: about a third of the memory.
type Registry[F any] struct {
	mu     sync.Mutex
	byUUID map[uuid.UUID]F
	byText map[string]F
}

// Add registers fn for id.
func (r *Registry[F]) Add(id string, fn F) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if u, ok := parseUUID(id); ok {
		if r.byUUID == nil {
			r.byUUID = map[uuid.UUID]F{}
		}
		r.byUUID[u] = fn
		return
	}
	if r.byText == nil {
		r.byText = map[string]F{}
	}
	r.byText[id] = fn
}

// AddNew registers fn for id unless id already has a callback, and reports
// whether it did: a second message with the id must not take over (or, when
// it is refused, drop) the first one's callback.
func (r *Registry[F]) AddNew(id string, fn F) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if u, ok := parseUUID(id); ok {
		if _, taken := r.byUUID[u]; taken {
			return false
		}
		if r.byUUID == nil {
			r.byUUID = map[uuid.UUID]F{}
		}
		r.byUUID[u] = fn
		return true
	}
	if _, taken := r.byText[id]; taken {
		return false
	}
	if r.byText == nil {
		r.byText = map[string]F{}
	}
	r.byText[id] = fn
	return true
}

// Take removes and returns the callback for id.
func (r *Registry[F]) Take(id string) (F, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if u, ok := parseUUID(id); ok {
		fn, found := r.byUUID[u]
		if found {
			delete(r.byUUID, u)
		}
		return fn, found
	}
	fn, found := r.byText[id]
	if found {
		delete(r.byText, id)
	}
	return fn, found
}

// Len returns how many callbacks are waiting.
func (r *Registry[F]) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.byUUID) + len(r.byText)
}

// parseUUID accepts only the canonical 36-character form, so that an id
// maps to exactly one key (uuid.Parse also takes other spellings of the
// same UUID, which are different message ids).
func parseUUID(id string) (uuid.UUID, bool) {
	if len(id) != 36 {
		return uuid.UUID{}, false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return uuid.UUID{}, false
			}
		default:
			if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
				return uuid.UUID{}, false
			}
		}
	}
	u, err := uuid.Parse(id)
	return u, err == nil
}
