package queuesqlite

import (
	"bufio"
	"crypto/rand"
	"testing"
	"time"

	"github.com/google/uuid"
)

// TestNewIDsUUIDv7: generated ids are RFC 9562 version 7 UUIDs in their
// canonical text, strictly increasing within a batch and from batch to
// batch, with the time of their generation.
func TestNewIDsUUIDv7(t *testing.T) {
	const batches, perBatch = 50, 1000
	prev := ""
	for range batches {
		before := time.Now()
		ids := make([]string, perBatch)
		fillIDs(ids)
		if len(ids) != perBatch {
			t.Fatalf("%d ids, want %d", len(ids), perBatch)
		}
		for _, id := range ids {
			u, err := uuid.Parse(id)
			if err != nil || u.String() != id {
				t.Fatalf("id %q is not a canonical UUID (%v)", id, err)
			}
			if u.Version() != 7 || u.Variant() != uuid.RFC4122 {
				t.Fatalf("id %q: version %d, variant %v; want 7, RFC 4122", id, u.Version(), u.Variant())
			}
			// The counter may run ahead of the clock by one millisecond per
			// idSubMilli ids handed out.
			at := time.UnixMilli(int64(u[0])<<40 | int64(u[1])<<32 | int64(u[2])<<24 | int64(u[3])<<16 | int64(u[4])<<8 | int64(u[5]))
			ahead := time.Duration(batches*perBatch/idSubMilli+1) * time.Millisecond
			if at.Before(before.Truncate(time.Millisecond)) || at.After(time.Now().Add(ahead)) {
				t.Fatalf("id %q has the time %v, generated at %v", id, at, before)
			}
			if id <= prev {
				t.Fatalf("id %q follows %q: not increasing", id, prev)
			}
			prev = id
		}
	}
}

// TestNewIDsRandom: two batches generated at once differ in their random
// part, not only in the counter.
func TestNewIDsRandom(t *testing.T) {
	a, b := newID(), newID()
	if a[19:] == b[19:] {
		t.Fatalf("ids %q and %q share their random part", a, b)
	}
}

// TestFillIDsNone: no ids asked, none made.
func TestFillIDsNone(t *testing.T) {
	fillIDs(nil)
	if got := newID(); len(got) != idLen {
		t.Fatalf("newID after an empty fill = %q", got)
	}
}

// BenchmarkFillIDs1000 prices the ids of a batch of 1000: fillIDs against
// github.com/google/uuid's NewV7 (with one buffered random read per batch,
// as fillIDs does), the reason ids.go generates them itself.
func BenchmarkFillIDs1000(b *testing.B) {
	ids := make([]string, 1000)
	b.Run("fillIDs", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			fillIDs(ids)
		}
	})
	b.Run("google-uuid", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			r := bufio.NewReaderSize(rand.Reader, 16*len(ids))
			for i := range ids {
				ids[i] = uuid.Must(uuid.NewV7FromReader(r)).String()
			}
		}
	})
}
