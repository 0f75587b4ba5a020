package sqlite

import (
	"database/sql/driver"
	"errors"
	"fmt"
	"time"

	qdriver "github.com/queue-sqlite/queuesqlite/driver"
	"github.com/queue-sqlite/queuesqlite/queuetype"
)

var _ qdriver.Limiter = (*DB)(nil)

// EnforcesClaimLimits implements driver.Limiter. The claim reads each
// limited destination's running count and bucket in its write
// transaction, under the file's write lock, which orders the claims of
// every process: two can never both take the last slot or token.
func (d *DB) EnforcesClaimLimits() bool { return true }

// queueRoom returns how many messages the claim may take in all under
// p.QueueLimit: p.Max less what the queue's global limit leaves, counted
// in the write transaction like the per-destination limits.
func (t *tx) queueRoom(p qdriver.ClaimParams) (int, error) {
	ql := p.QueueLimit
	if ql.Concurrency <= 0 {
		return p.Max, nil
	}
	n := len(ql.Destinations)
	if n == 0 {
		return ql.Room(p.Max, 0), nil
	}
	query := cachedSQL(fmt.Sprint("processing-of/", n), func() string { return processingOfSQL(n) })
	args := make([]any, n)
	for i, dest := range ql.Destinations {
		args[i] = dest
	}
	processing, _, err := t.queryInt(query, args...)
	if err != nil {
		return 0, err
	}
	return ql.Room(p.Max, int(processing)), nil
}

// claimLimits says what claimCaps found.
type claimLimits int

const (
	unlimited      claimLimits = iota // no destination is limited
	limited                           // some are; their tokens must be taken
	nothingToClaim                    // every destination is at its limit
)

// claimCaps fills caps (parallel to p.Destinations) with how many of each
// destination the claim may take.
func (t *tx) claimCaps(p qdriver.ClaimParams, caps []any) (claimLimits, error) {
	kind, room := unlimited, false
	for i, dest := range p.Destinations {
		most := p.Max
		if i < len(p.Limits) && !p.Limits[i].IsZero() {
			kind = limited
			var err error
			if most, err = t.capOf(dest, p.Limits[i], p.Max, p.Now); err != nil {
				return 0, err
			}
		}
		caps[i] = int64(most)
		room = room || most > 0
	}
	if !room {
		return nothingToClaim, nil
	}
	return kind, nil
}

// capOf returns how many of dest a claim at now may take under l.
func (t *tx) capOf(dest string, l qdriver.ClaimLimit, most int, now time.Time) (int, error) {
	processing := int64(0)
	if l.Concurrency > 0 {
		var err error
		if processing, _, err = t.queryInt(sqlProcessingOf, dest); err != nil {
			return 0, err
		}
	}
	tokens := 0.0
	if l.Rate > 0 {
		var err error
		if tokens, _, err = t.bucket(dest, l, now); err != nil {
			return 0, err
		}
	}
	return l.Cap(most, int(processing), tokens), nil
}

// bucket returns dest's tokens at now (full when it has no bucket yet) and
// the time to store the bucket with after a claim at now.
func (t *tx) bucket(dest string, l qdriver.ClaimLimit, now time.Time) (float64, time.Time, error) {
	rows, err := t.w.query(sqlBucketGet, dest)
	if err != nil {
		return 0, time.Time{}, err
	}
	defer rows.Close()
	vals := make([]driver.Value, 2)
	if err := rows.Next(vals); err != nil {
		if errors.Is(err, errEOF) {
			return float64(l.Rate), now, nil
		}
		return 0, time.Time{}, err
	}
	tokens, _ := vals[0].(float64)
	if i, ok := vals[0].(int64); ok {
		tokens = float64(i)
	}
	at := asTime(vals[1])
	return l.Refill(tokens, now.Sub(at)), l.Stamp(at, now), nil
}

// takeTokens stores each rate-limited destination's bucket after the
// claim: its tokens at the claim's Now less one per message started.
func (t *tx) takeTokens(p qdriver.ClaimParams, claimed []*queuetype.Message) error {
	started := map[string]int{}
	for _, m := range claimed {
		if m.Status == queuetype.StatusProcessing {
			started[m.Destination]++
		}
	}
	for i, dest := range p.Destinations {
		if i >= len(p.Limits) || p.Limits[i].Rate <= 0 {
			continue
		}
		tokens, at, err := t.bucket(dest, p.Limits[i], p.Now)
		if err != nil {
			return err
		}
		if _, err := t.exec(sqlBucketPut, dest, tokens-float64(started[dest]), micros(at)); err != nil {
			return err
		}
	}
	return nil
}
