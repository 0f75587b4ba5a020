package queuesqlite

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/queue-sqlite/queuesqlite/driver"
)

// dbClockResync is how often the database's clock is read again. Between
// readings the last one is advanced by the local monotonic clock, so the
// queue's many time reads cost no round trip.
const dbClockResync = time.Second

// dbClockTimeout bounds one reading of the database's clock.
const dbClockTimeout = 5 * time.Second

// dbClock is the queue's clock when its driver implements driver.Clock:
// the database's time, never going back.
type dbClock struct {
	src    driver.Clock
	logger *slog.Logger

	mu      sync.Mutex
	base    time.Time // the last reading of the database's clock
	at      time.Time // the local time of that reading (monotonic)
	next    time.Time // the local time to read the database's clock again
	last    time.Time // the last time returned
	reading bool      // a caller is taking a new reading
}

// newDBClock reads the database's clock once, so a backend whose clock
// cannot be read fails at New.
func newDBClock(src driver.Clock, logger *slog.Logger) (*dbClock, error) {
	c := &dbClock{src: src, logger: logger}
	now, local, err := c.read()
	if err != nil {
		return nil, fmt.Errorf("read the database clock: %w", err)
	}
	c.base, c.at, c.next = now, local, local.Add(dbClockResync)
	return c, nil
}

// read takes a reading of the database's clock and the local time it was
// taken at.
func (c *dbClock) read() (time.Time, time.Time, error) {
	ctx, cancel := context.WithTimeout(context.Background(), dbClockTimeout)
	defer cancel()
	now, err := c.src.Now(ctx)
	return now, time.Now(), err
}

// now returns the database's time: the last reading advanced by the local
// monotonic clock, read again once per dbClockResync, and never earlier
// than a time already returned. One caller takes the new reading while the
// others go on with the old one; a failed reading keeps the old one.
func (c *dbClock) now() time.Time {
	c.mu.Lock()
	due := !c.reading && !time.Now().Before(c.next)
	c.reading = c.reading || due
	c.mu.Unlock()
	if due {
		c.refresh()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.base.Add(time.Since(c.at))
	if t.Before(c.last) {
		t = c.last
	}
	c.last = t
	return t
}

// refresh takes a new reading (outside the lock) and stores it.
func (c *dbClock) refresh() {
	now, local, err := c.read()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reading, c.next = false, local.Add(dbClockResync)
	if err != nil {
		c.logger.Warn("queuesqlite: database clock unreadable; advancing the last reading", "err", err)
		return
	}
	c.base, c.at = now, local
}

// useDBClock makes the database's clock the queue's when the store offers
// one and the caller set no Config.Clock.
func useDBClock(c *Config, cfg *Config, d driver.Driver) error {
	src, ok := d.(driver.Clock)
	if !ok || (cfg != nil && cfg.Clock != nil) {
		return nil
	}
	dc, err := newDBClock(src, c.Logger)
	if err != nil {
		return err
	}
	c.Clock = dc.now
	return nil
}
