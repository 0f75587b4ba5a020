// Package liveness judges which lease owners are dead without trusting any
// wall clock. Every started queue run (a lease owner) bumps a beat counter
// in each shard every Lease/3. A Tracker remembers, per owner, the counter it
// last saw and the moment (on this process's monotonic clock) it last saw it
// change: an owner whose counter has not moved for one of its leases is
// dead. A step of the system clock, here or in the owner's process, changes
// nothing, and an owner that just came into view is watched for a whole
// lease before it can be judged dead. So is every owner after a failed read:
// while the tracker could not see the store, neither could the owners beat
// into it (a database restart stops both), so what it missed says nothing.
package liveness

import (
	"context"
	"sync"
	"time"

	"github.com/queue-sqlite/queuesqlite/driver"
)

// Source reads the owners' liveness rows of one shard.
type Source interface {
	Owners(ctx context.Context) ([]driver.OwnerState, error)
}

// Verdict is the owners judged dead at one observation.
type Verdict struct {
	// Dead owners: their counter stood still for a lease, or they stopped
	// cleanly.
	Dead []string
	// Ownerless: lease holders without a liveness row, watched for Fallback.
	Ownerless []string
}

// Tracker watches the owners of one shard. It is safe for concurrent use.
type Tracker struct {
	src  Source
	self string        // this process's own owner: never judged dead here
	fall time.Duration // how long a holder without a row is watched
	mono func() time.Time

	mu    sync.Mutex
	seen  map[string]*sighting
	blind bool // the last read failed: every watch starts afresh at the next
}

type sighting struct {
	beats   int64
	changed time.Time // monotonic reading of when beats last changed (or was first seen)
}

// New returns a tracker of src's owners. self is excluded from every
// verdict; fallback is how long a lease holder without a liveness row is
// watched before it counts as dead (use the queue's own lease).
func New(src Source, self string, fallback time.Duration) *Tracker {
	return &Tracker{src: src, self: self, fall: fallback, mono: time.Now, seen: map[string]*sighting{}}
}

// Observe reads the owners and returns those judged dead now.
func (t *Tracker) Observe(ctx context.Context) (Verdict, error) {
	states, err := t.src.Owners(ctx)
	if err != nil {
		t.mu.Lock()
		t.blind = true
		t.mu.Unlock()
		return Verdict{}, err
	}
	return t.judge(states, t.mono()), nil
}

// judge updates the sightings with states, read at the monotonic time now.
func (t *Tracker) judge(states []driver.OwnerState, now time.Time) Verdict {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.blind {
		for _, sg := range t.seen {
			sg.changed = now
		}
		t.blind = false
	}
	var v Verdict
	present := make(map[string]bool, len(states))
	for _, s := range states {
		present[s.Owner] = true
		sg := t.seen[s.Owner]
		if sg == nil || sg.beats != s.Beats {
			sg = &sighting{beats: s.Beats, changed: now}
			t.seen[s.Owner] = sg
		}
		if s.Owner == t.self {
			continue
		}
		switch {
		case s.NoRow && now.Sub(sg.changed) >= t.fall:
			v.Ownerless = append(v.Ownerless, s.Owner)
		case !s.NoRow && (s.Gone || now.Sub(sg.changed) >= max(s.Lease, time.Microsecond)):
			v.Dead = append(v.Dead, s.Owner)
		}
	}
	for o := range t.seen {
		if !present[o] {
			delete(t.seen, o) // forgotten: a later row starts a new watch
		}
	}
	return v
}
