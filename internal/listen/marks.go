package listen

import "sync"

// marks tracks which fetched changes are fully delivered and computes the
// low-water mark: the highest seq such that it and everything before it are
// done. Seqs are added in increasing order.
type marks struct {
	mu      sync.Mutex
	base    int64   // everything <= base is done
	pending []int64 // fetched seqs not yet folded into base, in order
	doneSet map[int64]bool
}

func newMarks(base int64) *marks { return &marks{base: base, doneSet: map[int64]bool{}} }

func (m *marks) add(seq int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.pending = append(m.pending, seq)
}

func (m *marks) done(seq int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.doneSet[seq] = true
	for len(m.pending) > 0 && m.doneSet[m.pending[0]] {
		m.base = m.pending[0]
		delete(m.doneSet, m.base)
		m.pending = m.pending[1:]
	}
}

// low returns the low-water mark.
func (m *marks) low() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.base
}

// inFlight returns how many fetched changes are not yet done.
func (m *marks) inFlight() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.pending)
}
