// Package notify fans a "something changed" signal out to any number of
// subscribers. Signals coalesce: a subscriber that is busy when several
// arrive sees one, which is all a "go and look" signal needs.
package notify

import "sync"

// Hub broadcasts signals to its subscribers. The zero value is ready to use.
type Hub struct {
	mu   sync.Mutex
	subs map[*Sub]struct{}
}

// Sub is one subscription; receive from C to wait for the next signal.
type Sub struct {
	C   <-chan struct{}
	c   chan struct{}
	hub *Hub
}

// Subscribe returns a new subscription. Call Close when done with it.
func (h *Hub) Subscribe() *Sub {
	c := make(chan struct{}, 1)
	s := &Sub{C: c, c: c, hub: h}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.subs == nil {
		h.subs = map[*Sub]struct{}{}
	}
	h.subs[s] = struct{}{}
	return s
}

// Close ends the subscription.
func (s *Sub) Close() {
	s.hub.mu.Lock()
	defer s.hub.mu.Unlock()
	delete(s.hub.subs, s)
}

// Publish signals every subscriber without blocking.
func (h *Hub) Publish() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		Signal(s.c)
	}
}

// Signal puts a coalescing signal on a channel with a buffer of one.
func Signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}
