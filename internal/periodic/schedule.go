package periodic

import (
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// Schedule gives the ticks of a periodic job: Next returns the first tick
// strictly after t, or the zero time when there is none (within five years
// for a cron expression).
type Schedule interface {
	Next(t time.Time) time.Time
}

// everyPrefix starts an interval descriptor.
const everyPrefix = "@every "

// MinEvery is the shortest interval of an interval schedule (as in
// robfig/cron, whose @every rounds up to a second).
const MinEvery = time.Second

// Parse parses a standard five-field cron expression ("*/5 * * * *") or a
// descriptor (@hourly, @daily, @every 10m, ...) with robfig/cron's
// ParseStandard. Fields are evaluated in the time zone of the times the
// queue passes (UTC) unless the expression starts with CRON_TZ=<zone>.
// "@every <duration>" (time.ParseDuration) is the aligned interval
// schedule Every, so that every process computes the same ticks whenever
// it started.
func Parse(expr string) (Schedule, error) {
	if d, ok := strings.CutPrefix(expr, everyPrefix); ok {
		// Not ParseStandard's: it rounds the interval to whole seconds
		// (up to one below a second) and counts it from the last run.
		d, err := time.ParseDuration(strings.TrimSpace(d))
		if err != nil {
			return nil, fmt.Errorf("bad interval in %q: %v", expr, err)
		}
		return Every(d)
	}
	return cron.ParseStandard(expr)
}

// Every returns the schedule that ticks every d, at the multiples of d
// since the zero time (UTC): an interval that divides a day ticks at the
// same clock times each day (Every(5*time.Minute) at :00, :05, ...).
func Every(d time.Duration) (Schedule, error) {
	if d < MinEvery {
		return nil, fmt.Errorf("interval %v is shorter than %v", d, MinEvery)
	}
	return every(d), nil
}

type every time.Duration

func (e every) Next(t time.Time) time.Time {
	d := time.Duration(e)
	return t.Truncate(d).Add(d)
}

// firstWindow is the first look-back of latestTick; each further one is
// windowGrowth times longer, up to maxWindow (then it looks from last).
const (
	firstWindow  = 2 * time.Second
	windowGrowth = 4
	maxWindow    = 10 * 366 * 24 * time.Hour
)

// latestTick returns the latest tick of s after last and at or before now,
// and whether there is one. It looks back from now in growing windows, so
// that a long outage costs about as many Next calls as the ticks of the
// smallest window holding one, not one per missed tick.
func latestTick(s Schedule, last, now time.Time) (time.Time, bool) {
	if first := s.Next(last); first.IsZero() || first.After(now) {
		return time.Time{}, false
	}
	if e, ok := s.(every); ok {
		return now.Truncate(time.Duration(e)), true
	}
	for w := firstWindow; ; w *= windowGrowth {
		from := now.Add(-w)
		if w > maxWindow || !from.After(last) {
			from = last
		}
		if t := s.Next(from); !t.IsZero() && !t.After(now) {
			return lastBefore(s, t, now), true
		}
	}
}

// lastBefore follows the ticks of s from t while they are at or before now.
func lastBefore(s Schedule, t, now time.Time) time.Time {
	for {
		n := s.Next(t)
		if n.IsZero() || n.After(now) {
			return t
		}
		t = n
	}
}
