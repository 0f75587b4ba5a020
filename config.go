package queuesqlite

import (
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"os"
	"time"

	"github.com/queue-sqlite/queuesqlite/internal/shardkey"
	"github.com/queue-sqlite/queuesqlite/queuetype"
)

// Defaults for Config and HandlerOpts. A zero field takes its default.
const (
	WorkersDefault             = 10
	CallbackWorkersDefault     = 2
	ShardsDefault              = 1
	MaxAttemptsDefault         = 4 // one attempt and three retries, as the original's max_retries=3
	LeaseDefault               = 30 * time.Second
	PollIntervalDefault        = 20 * time.Millisecond
	ClaimBatchDefault          = 100
	MaintenanceIntervalDefault = time.Second
	CleanupIntervalDefault     = 5 * time.Minute
	StopTimeoutDefault         = 10 * time.Second
	RetainCompletedDefault     = 24 * time.Hour
	RetainFailedDefault        = 7 * 24 * time.Hour
	RetainExpiredDefault       = 24 * time.Hour
	RetainCancelledDefault     = 24 * time.Hour
	// FileModeDefault: the queue's files are readable and writable by their
	// owner only.
	FileModeDefault os.FileMode = 0o600
)

// Limits of Config; larger values are refused with ErrInvalidArgument. Each
// worker is a goroutine started by Start, each callback worker one started by
// Open, and each shard a file with its own writer and connections, so an
// absurd value would exhaust memory or file descriptors instead of failing.
const (
	WorkersMax         = 10_000
	CallbackWorkersMax = 1_000
	ShardsMax          = shardkey.Max
)

// intervalMin is the shortest PollInterval, MaintenanceInterval and
// CleanupInterval: anything shorter would spin a background loop.
const intervalMin = time.Millisecond

// Synchronous levels for Config.Synchronous.
const (
	// SyncNormal: a committed message survives a crash of the process; an OS
	// crash or power cut may lose the last few commits (never corrupt).
	SyncNormal = "NORMAL"
	// SyncFull: every commit is on disk before Send returns; survives power
	// loss. Slower: one fsync per group commit.
	SyncFull = "FULL"
)

// Config configures a queue. The zero value (or nil) gives a working queue;
// every field's comment says its default.
type Config struct {
	// Workers is the number of handler goroutines of the default queue
	// (QueueDefault), the one every handler belongs to unless its
	// HandlerOpts.Queue names another. Default 10, at most WorkersMax. It
	// must be 0 when Queues configures QueueDefault itself.
	Workers int
	// Queues configures named worker queues beyond the default one: each
	// has its own MaxWorkers slots, claims for its own handlers' messages
	// (in priority order among them) and runs beside the others, so a slow
	// destination in one queue cannot hold the workers of another. A
	// handler joins a queue with HandlerOpts.Queue; Handle refuses a queue
	// not configured here. The limits are per process. A queue without a
	// handler in this process starts no goroutine. Default none: one
	// queue, QueueDefault, with Workers workers. The MaxWorkers of all
	// queues (the default included) add up to at most WorkersMax.
	Queues map[string]QueueConfig
	// CallbackWorkers is the number of goroutines that run completion
	// callbacks, so a slow callback never holds a task worker. Default 2, at
	// most CallbackWorkersMax.
	CallbackWorkers int
	// Shards is the number of SQLite files the queue spreads messages over.
	// 0 takes what the directory has (1 for a new one); at most ShardsMax.
	// It is fixed when the queue directory is created; opening with another
	// count is refused (see Reshard).
	Shards int
	// Synchronous is SyncNormal (default) or SyncFull.
	Synchronous string
	// MaxAttempts is the default for handlers that set none. Default 4.
	MaxAttempts int
	// Backoff is the default retry delay for handlers that set none.
	// Default DefaultBackoff.
	Backoff BackoffFunc
	// Lease is how long a claimed message stays leased to this process
	// without a heartbeat; the heartbeat (a beat counter stored per queue
	// run, and the lease renewal) runs every Lease/3. If the process dies,
	// freezes or stops cleanly, its messages run again once another process
	// has seen its counter stand still for one Lease of its own monotonic
	// clock (at once after a clean stop), so wall-clock steps play no part.
	// Default 30s.
	Lease time.Duration
	// PollInterval bounds how late work or results written by another
	// process are noticed (a PRAGMA data_version check, not a query of the
	// table). Work sent from this process starts without polling. Default
	// 20ms, at least 1ms (as for the other intervals).
	PollInterval time.Duration
	// ClaimBatch is the most messages one claim takes. Default 100.
	ClaimBatch int
	// MaintenanceInterval is how often expired leases are rescued and
	// overdue messages expired. Default 1s. Every 30 intervals a running
	// queue also counts the messages of destinations it has no handler for,
	// and logs (once per destination) one whose ready messages made no
	// progress for 60 intervals: no process seems to handle it.
	MaintenanceInterval time.Duration
	// CleanupInterval is how often finished messages past their retention
	// are deleted. Default 5m.
	CleanupInterval time.Duration
	// Retention says how long finished messages are kept, per status.
	Retention Retention
	// StopTimeout is how long Close lets running handlers finish. Default 10s.
	StopTimeout time.Duration
	// ListenGroup names this process's listener group: its durable cursor
	// in the change log. One process at a time delivers a group's changes
	// (the others stand by); give processes with different listeners
	// different groups. Default "default".
	ListenGroup string
	// ListenRetention and ListenKeep bound the change log: changes older
	// than ListenRetention, or beyond the newest ListenKeep, are pruned even
	// if a group never read them. Defaults 7 days and 1,000,000.
	ListenRetention time.Duration
	ListenKeep      int
	// FileMode is the permission bits of the files the queue creates: the
	// shard files (SQLite gives their -wal and -shm files the same mode)
	// and queue.lock. Directories it creates get the same bits plus search
	// permission wherever read is given (0600 -> 0700, 0640 -> 0750). The
	// umask still applies, and files that exist keep their mode. The owner
	// must keep read and write. Default 0600: no other local user can read
	// the messages. Open refuses a queue directory that another user (root
	// excepted) owns or that every user can write to, or that its group can
	// write to unless FileMode gives the group write permission (0660).
	FileMode os.FileMode
	// Logger receives the queue's logs; nil keeps the queue quiet.
	Logger *slog.Logger
	// Clock replaces time.Now for the wall times the queue stores and
	// compares: creation, run, expiry and finish times, and the lease times
	// shown for display. Timers, deadlines, heartbeats and the judgement of
	// dead lease owners use the monotonic clock and never read it; tests step
	// the wall clock with it. Default time.Now, or the database's time
	// when the driver implements driver.Clock (see New).
	Clock func() time.Time
	// HandlerMiddleware wraps every handler, the first outermost; more can
	// be added with Queue.UseHandler. Default none.
	HandlerMiddleware []HandlerMiddleware
	// SendMiddleware wraps every Send, SendBatch and SendTx, the first
	// outermost; more can be added with Queue.UseSend. Default none.
	SendMiddleware []SendMiddleware
	// ErrorHandler is told of every failed attempt and every panic (as a
	// *PanicError). Default none.
	ErrorHandler ErrorHandlerFunc
}

// QueueDefault is the name of the queue of handlers that name none
// (HandlerOpts.Queue "").
const QueueDefault = "default"

// QueueConfig configures one named worker queue (Config.Queues).
type QueueConfig struct {
	// MaxWorkers is how many of the queue's messages run at once in this
	// process; required, at least 1 and at most WorkersMax.
	MaxWorkers int
	// GlobalConcurrency, when above 0, is the most messages of the queue's
	// destinations (its handlers' names in this process, paused ones
	// included) processing at once across every process and host on the
	// store, enforced by the store at each claim as
	// HandlerOpts.GlobalConcurrency is for one destination; both bounds
	// hold when both are set. Processes that share the queue should give
	// it the same handlers and limit (each claim counts the destinations
	// its own process names). It needs a queue of one shard and a backend
	// that enforces limits (driver.Limiter): Handle refuses a handler of
	// such a queue otherwise. Default 0: no global bound.
	GlobalConcurrency int
}

// Retention says how long finished messages are kept before cleanup deletes
// them. Zero takes the default; negative is an error.
type Retention struct {
	Completed time.Duration // default 24h
	Failed    time.Duration // default 7 days (the dead-letter set)
	Expired   time.Duration // default 24h
	Cancelled time.Duration // default 24h
}

// BackoffFunc returns how long to wait before attempt+1, after attempt
// (counting from 1) failed.
type BackoffFunc func(attempt int) time.Duration

// DefaultBackoff waits 1s after the first failure, doubling each time up to
// one hour, with ±20% jitter so retries of a burst do not stampede.
func DefaultBackoff(attempt int) time.Duration {
	d := time.Second << min(max(attempt-1, 0), 12)
	d = min(d, time.Hour)
	jitter := 0.8 + 0.4*rand.Float64()
	return time.Duration(float64(d) * jitter)
}

// resolve validates c and fills in defaults. It never panics on bad input:
// every problem is an error wrapping ErrInvalidArgument.
func (c *Config) resolve() (Config, error) {
	var r Config
	if c != nil {
		r = *c
	}
	if err := r.validate(); err != nil {
		return r, err
	}
	r.Queues = maps.Clone(r.Queues) // the caller's map may change later
	if _, ok := r.Queues[QueueDefault]; !ok {
		setDefault(&r.Workers, WorkersDefault)
	}
	setDefault(&r.CallbackWorkers, CallbackWorkersDefault)
	setDefault(&r.Shards, ShardsDefault)
	setDefault(&r.MaxAttempts, MaxAttemptsDefault)
	setDefault(&r.ClaimBatch, ClaimBatchDefault)
	setDefault(&r.Lease, LeaseDefault)
	setDefault(&r.PollInterval, PollIntervalDefault)
	setDefault(&r.MaintenanceInterval, MaintenanceIntervalDefault)
	setDefault(&r.CleanupInterval, CleanupIntervalDefault)
	setDefault(&r.StopTimeout, StopTimeoutDefault)
	setDefault(&r.Retention.Completed, RetainCompletedDefault)
	setDefault(&r.Retention.Failed, RetainFailedDefault)
	setDefault(&r.Retention.Expired, RetainExpiredDefault)
	setDefault(&r.Retention.Cancelled, RetainCancelledDefault)
	setDefault(&r.ListenRetention, ListenRetentionDefault)
	setDefault(&r.ListenKeep, ListenKeepDefault)
	if r.ListenGroup == "" {
		r.ListenGroup = ListenGroupDefault
	}
	if r.Synchronous == "" {
		r.Synchronous = SyncNormal
	}
	if r.Backoff == nil {
		r.Backoff = DefaultBackoff
	}
	if r.FileMode == 0 {
		r.FileMode = FileModeDefault
	}
	if r.Logger == nil {
		r.Logger = slog.New(slog.DiscardHandler)
	}
	if r.Clock == nil {
		r.Clock = time.Now
	}
	return r, nil
}

// validate reports the first invalid field, in declaration order.
func (r *Config) validate() error {
	type field struct {
		name string
		v    int64
	}
	numbers := []field{
		{"Workers", int64(r.Workers)}, {"CallbackWorkers", int64(r.CallbackWorkers)}, {"Shards", int64(r.Shards)},
		{"MaxAttempts", int64(r.MaxAttempts)}, {"Lease", int64(r.Lease)}, {"PollInterval", int64(r.PollInterval)},
		{"ClaimBatch", int64(r.ClaimBatch)}, {"MaintenanceInterval", int64(r.MaintenanceInterval)},
		{"CleanupInterval", int64(r.CleanupInterval)}, {"Retention.Completed", int64(r.Retention.Completed)},
		{"Retention.Failed", int64(r.Retention.Failed)}, {"Retention.Expired", int64(r.Retention.Expired)},
		{"Retention.Cancelled", int64(r.Retention.Cancelled)}, {"StopTimeout", int64(r.StopTimeout)},
		{"ListenRetention", int64(r.ListenRetention)}, {"ListenKeep", int64(r.ListenKeep)},
	}
	for _, f := range numbers {
		if f.v < 0 {
			return fmt.Errorf("%w: Config.%s is negative (%d)", ErrInvalidArgument, f.name, f.v)
		}
	}
	limits := []struct {
		field
		max int64
	}{
		{field{"Workers", int64(r.Workers)}, WorkersMax},
		{field{"CallbackWorkers", int64(r.CallbackWorkers)}, CallbackWorkersMax},
		{field{"Shards", int64(r.Shards)}, ShardsMax},
	}
	for _, f := range limits {
		if f.v > f.max {
			return fmt.Errorf("%w: Config.%s is %d, more than the maximum %d", ErrInvalidArgument, f.name, f.v, f.max)
		}
	}
	intervals := []struct {
		name string
		d    time.Duration
	}{{"PollInterval", r.PollInterval}, {"MaintenanceInterval", r.MaintenanceInterval}, {"CleanupInterval", r.CleanupInterval}}
	for _, f := range intervals {
		if f.d > 0 && f.d < intervalMin {
			return fmt.Errorf("%w: Config.%s %v is shorter than %v", ErrInvalidArgument, f.name, f.d, intervalMin)
		}
	}
	switch r.Synchronous {
	case "", SyncNormal, SyncFull:
	default:
		return fmt.Errorf("%w: Config.Synchronous %q (want %q or %q)", ErrInvalidArgument, r.Synchronous, SyncNormal, SyncFull)
	}
	if err := validFileMode(r.FileMode); err != nil {
		return err
	}
	if err := r.validateQueues(); err != nil {
		return err
	}
	if r.Lease > 0 && r.Lease < 30*time.Millisecond {
		return fmt.Errorf("%w: Config.Lease %v is too short to renew (minimum 30ms)", ErrInvalidArgument, r.Lease)
	}
	return nil
}

func setDefault[T int | time.Duration](v *T, def T) {
	if *v == 0 {
		*v = def
	}
}

// validFileMode checks Config.FileMode: permission bits only (0 for the
// default), with read and write for the owner.
func validFileMode(m os.FileMode) error {
	switch {
	case m == 0:
		return nil
	case m&^os.ModePerm != 0:
		return fmt.Errorf("%w: Config.FileMode %v has bits other than permissions (want e.g. 0600 or 0640)", ErrInvalidArgument, m)
	case m&0o600 != 0o600:
		return fmt.Errorf("%w: Config.FileMode %#o does not let the owner read and write (want e.g. 0600 or 0640)", ErrInvalidArgument, uint32(m))
	}
	return nil
}

// validateQueues checks Config.Queues: names valid, MaxWorkers in range,
// no second word on the default queue's size, and a total within
// WorkersMax.
func (r *Config) validateQueues() error {
	total := int64(r.Workers)
	if _, ok := r.Queues[QueueDefault]; ok && r.Workers != 0 {
		return fmt.Errorf("%w: Config.Workers is %d and Config.Queues[%q] is set too: give the default queue's size in one of them",
			ErrInvalidArgument, r.Workers, QueueDefault)
	} else if !ok && r.Workers == 0 {
		total = WorkersDefault
	}
	for name, qc := range r.Queues {
		if err := validQueueName(name); err != nil {
			return fmt.Errorf("Config.Queues: %w", err)
		}
		if qc.MaxWorkers <= 0 || qc.MaxWorkers > WorkersMax {
			return fmt.Errorf("%w: Config.Queues[%q].MaxWorkers is %d (want 1 to %d)",
				ErrInvalidArgument, name, qc.MaxWorkers, WorkersMax)
		}
		if qc.GlobalConcurrency < 0 {
			return fmt.Errorf("%w: Config.Queues[%q].GlobalConcurrency is %d (want 0 for none, or more)",
				ErrInvalidArgument, name, qc.GlobalConcurrency)
		}
		total += int64(qc.MaxWorkers)
	}
	if total > WorkersMax {
		return fmt.Errorf("%w: the queues' workers add up to %d, more than the maximum %d", ErrInvalidArgument, total, WorkersMax)
	}
	return nil
}

// validQueueName checks a worker queue's name: not empty, and no longer
// than a destination.
func validQueueName(name string) error {
	if name == "" || len(name) > queuetype.MaxDestinationLength {
		return fmt.Errorf("%w: queue name %q (want 1 to %d bytes)", ErrInvalidArgument, name, queuetype.MaxDestinationLength)
	}
	return nil
}

// queueWorkers returns the worker limit of the named queue, and whether
// the queue is configured.
func (r *Config) queueWorkers(name string) (int, bool) {
	if qc, ok := r.Queues[name]; ok {
		return qc.MaxWorkers, true
	}
	if name == QueueDefault {
		return r.Workers, true
	}
	return 0, false
}
