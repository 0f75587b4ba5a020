package queuesqlite_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/queue-sqlite/queuesqlite"
	"github.com/queue-sqlite/queuesqlite/driver/sqlite"
)

// dbClockOffset puts the database's clock far from the host's, so a time
// taken from the wrong clock shows.
const dbClockOffset = 400 * 24 * time.Hour

// clockedDB is a real SQLite shard whose "database" clock runs
// dbClockOffset ahead of the host's, as a backend on another host would.
type clockedDB struct {
	*sqlite.DB
	reads atomic.Int64
	fail  atomic.Bool
	back  atomic.Int64 // nanoseconds the clock has been stepped back
}

// Now implements driver.Clock.
func (d *clockedDB) Now(context.Context) (time.Time, error) {
	d.reads.Add(1)
	if d.fail.Load() {
		return time.Time{}, errors.New("clock unreachable")
	}
	return time.Now().Add(dbClockOffset - time.Duration(d.back.Load())), nil
}

func openClocked(t *testing.T) *clockedDB {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "shard.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	return &clockedDB{DB: db}
}

func newOn(t *testing.T, cfg *queuesqlite.Config, d *clockedDB) *queuesqlite.Queue {
	t.Helper()
	q, err := queuesqlite.New(cfg, d)
	if err != nil {
		d.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close() })
	return q
}

// sentAt sends a message and returns the creation time the queue stored.
func sentAt(t *testing.T, q *queuesqlite.Queue) time.Time {
	t.Helper()
	ctx := context.Background()
	id, err := q.Send(ctx, &queuesqlite.Message{Destination: "x", Content: []byte(`{}`)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	m, err := q.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return m.CreatedAt
}

// TestDatabaseClockRulesTheQueue: over a driver that implements
// driver.Clock, the times the queue stores come from the database, not the
// host; Config.Clock, when set, still wins.
func TestDatabaseClockRulesTheQueue(t *testing.T) {
	t.Run("DatabaseTime", func(t *testing.T) {
		d := openClocked(t)
		q := newOn(t, nil, d)
		got, want := sentAt(t, q), time.Now().Add(dbClockOffset)
		if got.Before(want.Add(-time.Hour)) || got.After(want.Add(time.Hour)) {
			t.Fatalf("created at %v, want the database's time near %v", got, want)
		}
		if d.reads.Load() == 0 {
			t.Fatal("the database clock was never read")
		}
	})
	t.Run("ConfigClockWins", func(t *testing.T) {
		fixed := time.Date(2030, 5, 6, 7, 8, 9, 0, time.UTC)
		q := newOn(t, &queuesqlite.Config{Clock: func() time.Time { return fixed }}, openClocked(t))
		if got := sentAt(t, q); !got.Equal(fixed) {
			t.Fatalf("created at %v, want Config.Clock's %v", got, fixed)
		}
	})
	t.Run("NeverGoesBack", func(t *testing.T) {
		d := openClocked(t)
		q := newOn(t, nil, d)
		prev := sentAt(t, q)
		d.back.Store(int64(time.Hour))
		read := d.reads.Load()
		deadline := time.Now().Add(testDeadline)
		for d.reads.Load() == read { // until the queue reads the stepped-back clock
			if time.Now().After(deadline) {
				t.Fatal("the database clock was not read again")
			}
			got := sentAt(t, q)
			if got.Before(prev) {
				t.Fatalf("created at %v, before the earlier %v", got, prev)
			}
			prev = got
		}
		if got := sentAt(t, q); got.Before(prev) {
			t.Fatalf("after the clock stepped back: created at %v, before the earlier %v", got, prev)
		}
	})
	t.Run("UnreadableLaterKeepsTheLastReading", func(t *testing.T) {
		d := openClocked(t)
		q := newOn(t, nil, d)
		prev := sentAt(t, q)
		d.fail.Store(true)
		read := d.reads.Load()
		deadline := time.Now().Add(testDeadline)
		for d.reads.Load() == read { // until the queue has tried the failing clock
			if time.Now().After(deadline) {
				t.Fatal("the database clock was not read again")
			}
			prev = sentAt(t, q)
		}
		got := sentAt(t, q)
		if got.Before(prev) || got.Before(time.Now().Add(dbClockOffset-time.Hour)) {
			t.Fatalf("after a failed reading: created at %v, want the database's time, not before %v", got, prev)
		}
	})
	t.Run("UnreadableAtNewFails", func(t *testing.T) {
		d := openClocked(t)
		defer d.Close()
		d.fail.Store(true)
		if q, err := queuesqlite.New(nil, d); err == nil {
			q.Close()
			t.Fatal("New succeeded with an unreadable database clock")
		}
	})
}
