package driver

import (
	"math"
	"time"
)

// ClaimLimit bounds how much of one destination a claim may take, counted
// over every handle on the store (every process and host), so that "at
// most 3 of these at once anywhere" and "at most 100 per minute" hold
// whatever the number of workers. A zero field sets no bound.
type ClaimLimit struct {
	// Concurrency: at most this many messages of the destination processing
	// at once, whoever runs them.
	Concurrency int
	// Rate and Per: at most Rate starts per Per, as a token bucket of
	// capacity Rate, refilled continuously at Rate per Per and full at first.
	// Both or neither are set.
	Rate int
	Per  time.Duration
}

// QueueLimit bounds how many messages of a set of destinations (a worker
// queue's) process at once over every handle on the store. A zero
// Concurrency bounds nothing.
type QueueLimit struct {
	// Name identifies the bound: claims of one name are serialised across
	// handles (the worker queue's name).
	Name string
	// Concurrency: at most this many messages of Destinations processing
	// at once, whoever runs them.
	Concurrency int
	// Destinations are the destinations counted: every destination of the
	// queue, those the claim leaves out (paused ones) included. The claim's
	// own destinations should be among them.
	Destinations []string
}

// Room returns how many messages a claim may take under l with processing
// of its destinations running, bounded by most.
func (l QueueLimit) Room(most, processing int) int {
	if l.Concurrency <= 0 {
		return most
	}
	return max(min(most, l.Concurrency-processing), 0)
}

// IsZero reports whether l bounds nothing.
func (l ClaimLimit) IsZero() bool { return l.Concurrency <= 0 && l.Rate <= 0 }

// Limiter is implemented by drivers that enforce ClaimParams.Limits. A
// queue over a driver without it refuses limits (ErrInvalidArgument).
//
// Contract: a claim takes no more of a limited destination than its limit
// allows at the moment of the claim. Concurrency counts the destination's
// processing messages (of any owner) with those the claim takes. Rate
// keeps one stored token bucket per destination, shared by every handle:
// each message the claim starts (not one it finds expired) takes a token;
// the bucket refills by the time elapsed since its last claim by the
// claim's Now (never negative, so a clock stepped back gives no tokens),
// capped at Rate (so a lowered Rate takes effect at once). Claims of one
// limited destination are serialised across handles, so two concurrent
// claims never both take the last slot or token. Destinations without a
// limit are claimed as before.
//
// ClaimParams.QueueLimit bounds the claim as a whole: it takes at most
// QueueLimit.Concurrency less the processing messages (of any owner) of
// every destination in QueueLimit.Destinations, whatever the per-destination
// limits allow. Claims naming one QueueLimit.Name are serialised across
// handles as limited destinations are, so two concurrent claims never both
// take the queue's last slot. The conformance suite checks both (drivertest,
// Limits), with two handles.
type Limiter interface {
	// EnforcesClaimLimits reports that Claim honours ClaimParams.Limits.
	EnforcesClaimLimits() bool
}

// Refill returns a bucket's tokens after elapsed, for a limit with a rate:
// tokens plus the refill, capped at Rate (elapsed below 0 counts as 0).
func (l ClaimLimit) Refill(tokens float64, elapsed time.Duration) float64 {
	if elapsed > 0 && l.Per > 0 {
		tokens += elapsed.Seconds() * float64(l.Rate) / l.Per.Seconds()
	}
	return math.Min(tokens, float64(l.Rate))
}

// Stamp returns the time a bucket last stamped at is stored with after a
// claim at now. A claim whose Now is behind the bucket by at most Per
// keeps the bucket's time: two handles' clocks differ a little, and a
// claim's Now is read before it waits for its lock, so a later claim can
// commit first; moving the bucket's time back to the earlier Now would
// give the interval between them again as new tokens. A clock stepped back
// by more than Per restarts the bucket from now, so a large step delays
// refills by at most Per.
func (l ClaimLimit) Stamp(at, now time.Time) time.Time {
	if now.Before(at) && at.Sub(now) <= l.Per {
		return at
	}
	return now
}

// Cap returns how many messages a claim may take of a destination with
// limit l, given how many are processing and the bucket's tokens (after
// Refill), bounded by most.
func (l ClaimLimit) Cap(most, processing int, tokens float64) int {
	if l.Concurrency > 0 {
		most = min(most, l.Concurrency-processing)
	}
	if l.Rate > 0 {
		most = min(most, int(math.Floor(tokens+1e-9)))
	}
	return max(most, 0)
}
