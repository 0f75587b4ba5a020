package postgres

import (
	"slices"
	"sync"
	"time"
)

// lostClaimsMax bounds the lease times remembered per owner.
const lostClaimsMax = 1000

// lostClaims remembers, per lease owner, the lease times of this handle's
// claims whose answer never came (the connection broke around COMMIT, as
// when the server crashes). Such a claim may have committed: its rows are
// then processing under a live owner that does not know it holds them, so
// nothing renews them and no rescue frees them (their owner beats). The
// owner's next claim takes them back (sqlAdoptClaims), recognised by the
// lost claim's lease time, which no other write of the owner repeats:
// every lease time this handle writes is stamped later than the last.
type lostClaims struct {
	mu   sync.Mutex
	last time.Time              // the last lease time stamped
	lost map[string][]time.Time // owner -> lease times of claims without an answer
}

// stamp returns t as PostgreSQL stores it, moved a microsecond past the
// last stamped time if it is not later.
func (l *lostClaims) stamp(t time.Time) time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	t = ts(t)
	if !t.After(l.last) {
		t = l.last.Add(time.Microsecond)
	}
	l.last = t
	return t
}

// add remembers a claim of owner, stamped until, that got no answer.
func (l *lostClaims) add(owner string, until time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lost == nil {
		l.lost = map[string][]time.Time{}
	}
	ts := append(l.lost[owner], until)
	if len(ts) > lostClaimsMax {
		ts = ts[len(ts)-lostClaimsMax:]
	}
	l.lost[owner] = ts
}

// of returns the lease times of owner's claims without an answer.
func (l *lostClaims) of(owner string) []time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.lost[owner])
}

// drop forgets the given lease times of owner, once their rows are back.
func (l *lostClaims) drop(owner string, done []time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	left := slices.DeleteFunc(l.lost[owner], func(t time.Time) bool { return slices.ContainsFunc(done, t.Equal) })
	if len(left) == 0 {
		delete(l.lost, owner)
		return
	}
	l.lost[owner] = left
}

// forget drops everything remembered of owner (it retired: its rows are
// rescued by whoever looks next).
func (l *lostClaims) forget(owner string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.lost, owner)
}
