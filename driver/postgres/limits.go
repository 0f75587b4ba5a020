package postgres

import (
	"context"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/queue-sqlite/queuesqlite/driver"
	"github.com/queue-sqlite/queuesqlite/queuetype"
)

// EnforcesClaimLimits implements driver.Limiter. A claim with limits runs
// in a transaction holding an advisory lock per limited destination (taken
// in name order) from reading its running count and bucket to the commit,
// so claims on every host take a limited destination's slots and tokens
// one at a time. Claims without limits take no lock.
func (d *DB) EnforcesClaimLimits() bool { return true }

var _ driver.Limiter = (*DB)(nil)

// limitedClaim reports whether p's claim has a limit to enforce, per
// destination or for its queue.
func limitedClaim(p driver.ClaimParams) bool {
	return hasLimits(p.Limits) || p.QueueLimit.Concurrency > 0
}

func hasLimits(ls []driver.ClaimLimit) bool {
	for _, l := range ls {
		if !l.IsZero() {
			return true
		}
	}
	return false
}

// claimLimited is Claim, in tx, for destinations of which some are limited.
func (d *DB) claimLimited(ctx context.Context, tx pgx.Tx, p driver.ClaimParams, maxAttempts, caps []int32) ([]*queuetype.Message, error) {
	var out []*queuetype.Message
	err := func() error {
		if err := d.lockQueue(ctx, tx, p.QueueLimit); err != nil {
			return err
		}
		most, err := d.queueRoom(ctx, tx, p)
		if err != nil || most == 0 {
			return err // the queue is at its global limit
		}
		p.Max = most
		for i := range caps {
			caps[i] = min(caps[i], int32(most))
		}
		limited := d.limitedDestinations(p)
		if err := d.lockLimited(ctx, tx, limited); err != nil {
			return err
		}
		processing, buckets, err := d.limitState(ctx, tx, limited)
		if err != nil {
			return err
		}
		room := false
		for i, dest := range p.Destinations {
			if i < len(p.Limits) && !p.Limits[i].IsZero() {
				l := p.Limits[i]
				caps[i] = int32(l.Cap(p.Max, processing[dest], tokensAt(buckets, dest, l, p.Now)))
			}
			room = room || caps[i] > 0
		}
		if room {
			if out, err = d.claimRows(ctx, pgxQuerier{tx}, p, maxAttempts, caps); err != nil {
				return err
			}
		}
		return d.takeTokens(ctx, tx, p, buckets, out)
	}()
	return out, err
}

// limitedDestinations are the destinations of p with a limit, in order.
func (d *DB) limitedDestinations(p driver.ClaimParams) []string {
	var out []string
	for i, dest := range p.Destinations {
		if i < len(p.Limits) && !p.Limits[i].IsZero() {
			out = append(out, dest)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func (d *DB) lockLimited(ctx context.Context, tx pgx.Tx, dests []string) error {
	for _, dest := range dests {
		if _, err := tx.Exec(ctx, sqlUniqueLock, d.lockKey(lockSpaceLimits), dest); err != nil {
			return err
		}
	}
	return nil
}

// lockQueue takes the advisory lock of a queue's global limit, before any
// destination's (so two claims never wait for each other in a circle).
func (d *DB) lockQueue(ctx context.Context, tx pgx.Tx, ql driver.QueueLimit) error {
	if ql.Concurrency <= 0 {
		return nil
	}
	_, err := tx.Exec(ctx, sqlUniqueLock, d.lockKey(lockSpaceQueueLimits), ql.Name)
	return err
}

// queueRoom returns how many messages the claim may take in all under
// p.QueueLimit, counted under its lock.
func (d *DB) queueRoom(ctx context.Context, tx pgx.Tx, p driver.ClaimParams) (int, error) {
	ql := p.QueueLimit
	if ql.Concurrency <= 0 {
		return p.Max, nil
	}
	var processing int64
	if err := tx.QueryRow(ctx, d.sql(sqlProcessingOfAll), ql.Destinations).Scan(&processing); err != nil {
		return 0, err
	}
	return ql.Room(p.Max, int(processing)), nil
}

// bucket is a stored token bucket.
type bucket struct {
	tokens float64
	at     time.Time
}

// limitState reads the running counts and buckets of the destinations.
func (d *DB) limitState(ctx context.Context, tx pgx.Tx, dests []string) (map[string]int, map[string]bucket, error) {
	processing := map[string]int{}
	if len(dests) == 0 {
		return processing, map[string]bucket{}, nil // only the queue is limited
	}
	r, err := tx.Query(ctx, d.sql(sqlProcessingOf), dests)
	if err != nil {
		return nil, nil, err
	}
	for r.Next() {
		var dest string
		var n int64
		if err := r.Scan(&dest, &n); err != nil {
			r.Close()
			return nil, nil, err
		}
		processing[dest] = int(n)
	}
	r.Close()
	if err := r.Err(); err != nil {
		return nil, nil, err
	}
	buckets := map[string]bucket{}
	r, err = tx.Query(ctx, d.sql(sqlBucketsOf), dests)
	if err != nil {
		return nil, nil, err
	}
	defer r.Close()
	for r.Next() {
		var dest string
		var b bucket
		if err := r.Scan(&dest, &b.tokens, &b.at); err != nil {
			return nil, nil, err
		}
		buckets[dest] = b
	}
	return processing, buckets, r.Err()
}

// tokensAt is dest's tokens at now: full when it has no bucket yet.
func tokensAt(buckets map[string]bucket, dest string, l driver.ClaimLimit, now time.Time) float64 {
	b, ok := buckets[dest]
	if !ok {
		return float64(l.Rate)
	}
	return l.Refill(b.tokens, now.Sub(b.at))
}

// takeTokens stores each rate-limited destination's bucket after the
// claim (also when it took nothing: the bucket's time moves to Now, or
// stays where it is when Now is a little behind it: ClaimLimit.Stamp).
func (d *DB) takeTokens(ctx context.Context, tx pgx.Tx, p driver.ClaimParams, buckets map[string]bucket, claimed []*queuetype.Message) error {
	started := map[string]int{}
	for _, m := range claimed {
		if m.Status == queuetype.StatusProcessing {
			started[m.Destination]++
		}
	}
	done := map[string]bool{}
	for i, dest := range p.Destinations {
		if i >= len(p.Limits) || p.Limits[i].Rate <= 0 || done[dest] {
			continue
		}
		done[dest] = true
		left := tokensAt(buckets, dest, p.Limits[i], p.Now) - float64(started[dest])
		at := p.Now
		if b, ok := buckets[dest]; ok {
			at = p.Limits[i].Stamp(b.at, p.Now)
		}
		if _, err := tx.Exec(ctx, d.sql(sqlBucketPut), dest, left, ts(at)); err != nil {
			return err
		}
	}
	return nil
}
