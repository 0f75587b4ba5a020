package drivertest

import (
	"strings"
	"testing"
)

// TestCheckCursorReadsCatchesASkip: the order check of the conformance
// suite fails when seq 11 became visible before seq 10 (the cursor moved
// past 10), and passes for reads in seq order with gaps left by rollbacks.
func TestCheckCursorReadsCatchesASkip(t *testing.T) {
	skipped := []cursorRead{{After: 0, Seqs: []int64{1, 2, 3}}, {After: 3, Seqs: []int64{5}}}
	err := checkCursorReads(skipped, []int64{1, 2, 3, 4, 5})
	if err == nil || !strings.Contains(err.Error(), "seq 4") {
		t.Fatalf("a change skipped by the cursor was not reported: %v", err)
	}
	inOrder := []cursorRead{{After: 0, Seqs: []int64{1, 2}}, {After: 2, Seqs: []int64{4, 5}}}
	if err := checkCursorReads(inOrder, []int64{1, 2, 4, 5}); err != nil {
		t.Fatalf("reads in seq order reported: %v", err)
	}
	backwards := []cursorRead{{After: 0, Seqs: []int64{2, 1}}}
	if err := checkCursorReads(backwards, []int64{1, 2}); err == nil {
		t.Fatal("a read out of seq order was not reported")
	}
}
