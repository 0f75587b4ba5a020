package benchkit

import (
	"context"
	"sync"
)

// Counter counts finished jobs and lets one goroutine wait for a total.
// Systems use it to implement Instance.WaitFinished.
type Counter struct {
	mu     sync.Mutex
	n      int64
	target int64
	reach  chan struct{}
}

// Add adds d to the count.
func (c *Counter) Add(d int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n += d
	if c.reach != nil && c.n >= c.target {
		close(c.reach)
		c.reach = nil
	}
}

// Load returns the count.
func (c *Counter) Load() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// Wait blocks until the count reaches n or ctx ends. One goroutine at a
// time may wait.
func (c *Counter) Wait(ctx context.Context, n int64) error {
	c.mu.Lock()
	if c.n >= n {
		c.mu.Unlock()
		return nil
	}
	c.target, c.reach = n, make(chan struct{})
	reach := c.reach
	c.mu.Unlock()
	select {
	case <-reach:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
