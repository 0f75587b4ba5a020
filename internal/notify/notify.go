// Package notify fans a "something changed" signal out to any number of
// subscribers. Signals coalesce: a subscriber that is busy when several
// arrive sees one, which is all a "go and look" signal needs.
package notify

import (
	"sync"

	"github.com/queue-sqlite/queuesqlite/driver"
)

// Hub broadcasts signals to its subscribers. The zero value is ready to use.
type Hub struct {
	mu   sync.Mutex
	subs map[*Sub]struct{}
}

// Sub is one subscription; receive from C to wait for the next signal.
type Sub struct {
	C      <-chan struct{}
	c      chan struct{}
	hub    *Hub
	topics []driver.Topic // nil: every signal
}

// Subscribe returns a new subscription to signals of the given topics (a
// Key of "" takes every key of its kind), or to every signal when none is
// given. A TopicAny signal reaches every subscription. Call Close when
// done with it.
func (h *Hub) Subscribe(topics ...driver.Topic) *Sub {
	c := make(chan struct{}, 1)
	s := &Sub{C: c, c: c, hub: h, topics: topics}
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
func (h *Hub) Publish() { h.PublishTopic(driver.Topic{Kind: driver.TopicAny}) }

// PublishTopic signals, without blocking, the subscribers whose topics
// match t.
func (h *Hub) PublishTopic(t driver.Topic) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		if s.wants(t) {
			Signal(s.c)
		}
	}
}

// wants reports whether the subscription takes signal t.
func (s *Sub) wants(t driver.Topic) bool {
	if s.topics == nil || t.Kind == driver.TopicAny {
		return true
	}
	for _, w := range s.topics {
		if w.Kind == t.Kind && (w.Key == "" || t.Key == "" || w.Key == t.Key) {
			return true
		}
	}
	return false
}

// Signal puts a coalescing signal on a channel with a buffer of one.
func Signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}
