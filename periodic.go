package queuesqlite

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/queue-sqlite/queuesqlite/internal/periodic"
)

// MaxPeriodicNameLength bounds PeriodicJob.Name, in bytes.
const MaxPeriodicNameLength = 256

// PeriodicMinEvery is the shortest PeriodicJob.Every.
const PeriodicMinEvery = periodic.MinEvery

// periodicSource is the Source of a tick's message whose template names none.
const periodicSource = "periodic"

// PeriodicJob is a message sent on a schedule: at each tick of Schedule
// (or every Every), the leader of the queue's shared maintenance (see
// Leader) sends a copy of Message. Register it with AddPeriodic.
//
// Each tick is sent once across every process on the queue: its message
// is unique (see UniqueOpts) by job name and tick time, in every status,
// while it is stored (Retention), and the last tick sent is stored with
// the queue, so a new leader, after a hand-over or a restart, goes on
// from it. The message's RunAt is its tick (plus the template's Delay).
//
// Only the leader's registrations count: register the same periodic jobs
// in every process that starts the queue, as with handlers. A job
// registered only in a process that does not lead is not sent until that
// process leads; of two registrations under one name, the leader's wins.
//
// Missed ticks: when no process led at a tick (everything was down, or the
// job was removed for a while), the job is sent once for the ticks missed,
// as the latest of them, not once per missed tick; with SkipMissed it is
// not sent for them at all. A job whose name the queue never saw counts
// its ticks from when the leading process added it (its first tick is the
// next one after AddPeriodic).
type PeriodicJob struct {
	// Name identifies the job in the queue (and in its stored last tick);
	// required, at most MaxPeriodicNameLength bytes of UTF-8.
	Name string
	// Schedule is a standard five-field cron expression ("*/5 * * * *":
	// minute, hour, day of month, month, day of week) or a descriptor
	// (@yearly, @monthly, @weekly, @daily, @hourly, @every 90s), parsed
	// with github.com/robfig/cron/v3. Fields are in UTC unless the
	// expression starts with CRON_TZ=<zone>, e.g. "CRON_TZ=Europe/Paris
	// 0 9 * * *". Set Schedule or Every, not both.
	Schedule string
	// Every ticks at the multiples of Every since the zero time, UTC (so
	// 5*time.Minute ticks at :00, :05, ...); at least PeriodicMinEvery.
	// "@every d" in Schedule is the same.
	Every time.Duration
	// Message is the template of each tick's message: Destination and
	// Content are required, and Priority, Tags, Metadata, MaxAttempts,
	// ShardKey, Delay, TTL and Source apply (Source "periodic" when
	// empty). ID, RunAt and Unique must be unset: the queue sets them.
	Message *Message
	// SkipMissed drops the ticks missed while no process led, instead of
	// sending the job once for them.
	SkipMissed bool
}

// PeriodicInfo is a registered periodic job with its stored state.
type PeriodicInfo struct {
	Job PeriodicJob
	// Last is the last tick sent, as stored with the queue (by whichever
	// process led then). For a job never sent it is when the leader's
	// ticks of it count from, and zero until a leader has seen the job.
	Last time.Time
	// Next is the job's first tick after now.
	Next time.Time
}

// periodicEntry is a registered job with its parsed schedule.
type periodicEntry struct {
	job   PeriodicJob
	sched periodic.Schedule
	added time.Time // by the queue's clock
}

// periodicState holds this queue's periodic jobs and, while the queue is
// started with at least one job, the run's scheduler.
type periodicState struct {
	mu    sync.Mutex
	jobs  map[string]*periodicEntry
	run   *runState           // the started run; nil when stopped
	sched *periodic.Scheduler // nil until the run has a job
}

// AddPeriodic registers a periodic job; if the queue is started it takes
// effect at once (after a tick being sent at that moment, which it waits
// for). A bad Name, Schedule, Every or Message, or a Name already
// registered here, is refused with ErrInvalidArgument.
func (q *Queue) AddPeriodic(job PeriodicJob) error {
	if err := q.checkOpen(); err != nil {
		return err
	}
	e, err := newPeriodicEntry(job, q.now())
	if err != nil {
		return err
	}
	p := &q.periodic
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, taken := p.jobs[job.Name]; taken {
		return fmt.Errorf("%w: periodic job %q is registered already (RemovePeriodic it first)", ErrInvalidArgument, job.Name)
	}
	if p.jobs == nil {
		p.jobs = map[string]*periodicEntry{}
	}
	p.jobs[job.Name] = e
	q.syncPeriodic()
	return nil
}

// RemovePeriodic unregisters a periodic job (ErrNotFound if it is not
// registered here). Once it returns, this process sends no tick of it;
// another process that registered it still does when it leads. The job's
// stored last tick is kept: added again, it follows the missed-ticks rule.
func (q *Queue) RemovePeriodic(name string) error {
	if err := q.checkOpen(); err != nil {
		return err
	}
	p := &q.periodic
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.jobs[name]; !ok {
		return fmt.Errorf("periodic job %q: %w", name, ErrNotFound)
	}
	delete(p.jobs, name)
	q.syncPeriodic()
	return nil
}

// Periodic lists the periodic jobs registered here, by name, with their
// stored last tick.
func (q *Queue) Periodic(ctx context.Context) ([]PeriodicInfo, error) {
	if err := q.checkOpen(); err != nil {
		return nil, err
	}
	q.periodic.mu.Lock()
	entries := make([]*periodicEntry, 0, len(q.periodic.jobs))
	for _, e := range q.periodic.jobs {
		entries = append(entries, e)
	}
	q.periodic.mu.Unlock()
	slices.SortFunc(entries, func(a, b *periodicEntry) int { return cmp.Compare(a.job.Name, b.job.Name) })
	store, now := periodicStore{q}, q.now()
	out := make([]PeriodicInfo, len(entries))
	for i, e := range entries {
		last, _, err := store.Last(ctx, e.job.Name)
		if err != nil {
			return nil, fmt.Errorf("periodic jobs: %w", err)
		}
		out[i] = PeriodicInfo{Job: e.job, Last: last, Next: e.sched.Next(now)}
		out[i].Job.Message = e.job.Message.Clone()
	}
	return out, nil
}

// newPeriodicEntry validates job and parses its schedule.
func newPeriodicEntry(job PeriodicJob, now time.Time) (*periodicEntry, error) {
	if err := validatePeriodicName(job.Name); err != nil {
		return nil, err
	}
	sched, err := periodicSchedule(job)
	if err != nil {
		return nil, fmt.Errorf("%w: periodic job %q: %v", ErrInvalidArgument, job.Name, err)
	}
	if sched.Next(now).IsZero() {
		return nil, fmt.Errorf("%w: periodic job %q: schedule %q never fires", ErrInvalidArgument, job.Name, job.Schedule)
	}
	if err := validatePeriodicMessage(job.Message); err != nil {
		return nil, fmt.Errorf("periodic job %q: %w", job.Name, err)
	}
	job.Message = job.Message.Clone()
	return &periodicEntry{job: job, sched: sched, added: now}, nil
}

func validatePeriodicName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: periodic job with an empty name", ErrInvalidArgument)
	case len(name) > MaxPeriodicNameLength:
		return fmt.Errorf("%w: periodic job name of %d bytes, longer than %d", ErrInvalidArgument, len(name), MaxPeriodicNameLength)
	case !utf8.ValidString(name):
		return fmt.Errorf("%w: periodic job name %q is not valid UTF-8", ErrInvalidArgument, name)
	}
	return nil
}

// periodicSchedule parses Schedule or builds the Every schedule.
func periodicSchedule(job PeriodicJob) (periodic.Schedule, error) {
	switch {
	case job.Schedule != "" && job.Every != 0:
		return nil, fmt.Errorf("both Schedule %q and Every %v are set; set one", job.Schedule, job.Every)
	case job.Schedule != "":
		s, err := periodic.Parse(job.Schedule)
		if err != nil {
			return nil, fmt.Errorf("bad cron expression %q: %v", job.Schedule, err)
		}
		return s, nil
	case job.Every < 0:
		return nil, fmt.Errorf("negative interval Every %v", job.Every)
	case job.Every > 0:
		return periodic.Every(job.Every)
	}
	return nil, fmt.Errorf("neither Schedule nor Every is set")
}

func validatePeriodicMessage(m *Message) error {
	if m == nil {
		return fmt.Errorf("%w: no Message template", ErrInvalidArgument)
	}
	if err := m.Validate(); err != nil {
		return err
	}
	switch {
	case m.ID != "":
		return fmt.Errorf("%w: the Message template sets ID %q; each tick's message gets its own", ErrInvalidArgument, m.ID)
	case !m.RunAt.IsZero():
		return fmt.Errorf("%w: the Message template sets RunAt; a tick's message runs at its tick (use Delay to run later)", ErrInvalidArgument)
	case m.Unique != nil:
		return fmt.Errorf("%w: the Message template sets Unique; each tick's message is unique by job and tick", ErrInvalidArgument)
	}
	return nil
}

// startPeriodic hooks the periodic jobs to a run (Start); the scheduler is
// only made when a job is registered.
func (q *Queue) startPeriodic(r *runState) {
	q.periodic.mu.Lock()
	defer q.periodic.mu.Unlock()
	q.periodic.run = r
	q.syncPeriodic()
}

// stopPeriodic unhooks the run (Stop): no tick is sent once it returns.
func (q *Queue) stopPeriodic() {
	p := &q.periodic
	p.mu.Lock()
	s := p.sched
	p.run, p.sched = nil, nil
	p.mu.Unlock()
	if s != nil {
		s.Stop()
	}
}

// syncPeriodic hands the registered jobs to the run's scheduler, making it
// on the first job. It holds q.periodic.mu.
func (q *Queue) syncPeriodic() {
	p := &q.periodic
	if p.run == nil || (p.sched == nil && len(p.jobs) == 0) {
		return
	}
	if p.sched == nil {
		p.sched = periodic.New(periodic.Config{Now: q.now, Leading: p.run.leading,
			Poll: q.cfg.MaintenanceInterval, Store: periodicStore{q}, Logger: q.logger})
	}
	p.sched.Set(q.periodicJobs())
}

// periodicJobs are the registered jobs as the scheduler takes them. It
// holds q.periodic.mu.
func (q *Queue) periodicJobs() []periodic.Job {
	jobs := make([]periodic.Job, 0, len(q.periodic.jobs))
	for _, e := range q.periodic.jobs {
		jobs = append(jobs, periodic.Job{Name: e.job.Name, Schedule: e.sched, SkipMissed: e.job.SkipMissed, Since: e.added,
			Enqueue: func(ctx context.Context, tick time.Time) error { return q.sendTick(ctx, e.job, tick) }})
	}
	return jobs
}

// sendTick sends job's message for tick, unique by job name and tick in
// every status (a duplicate is not an error).
func (q *Queue) sendTick(ctx context.Context, job PeriodicJob, tick time.Time) error {
	m := job.Message.Clone()
	m.RunAt = tick.Add(m.Delay)
	if m.Source == "" {
		m.Source = periodicSource
	}
	m.Unique = &UniqueOpts{Key: periodicTickKey(job.Name, tick),
		States: []Status{StatusCompleted, StatusFailed, StatusExpired, StatusCancelled}}
	res, err := q.SendUnique(ctx, m, nil)
	if err != nil {
		return err
	}
	q.logger.Debug("periodic job sent", "job", job.Name, "tick", tick, "id", res.ID, "duplicate", res.Duplicate)
	return nil
}

// periodicTickKey is the unique key of job name's message for tick.
func periodicTickKey(name string, tick time.Time) string {
	return "periodic/" + name + "/" + tick.UTC().Format(time.RFC3339Nano)
}

// periodicStore keeps each job's last tick in the first shard's metadata,
// under periodicMetaKey.
type periodicStore struct{ q *Queue }

func periodicMetaKey(name string) string { return "periodic/" + name + "/last" }

func (s periodicStore) Last(ctx context.Context, name string) (time.Time, bool, error) {
	v, ok, err := s.q.d.Meta(ctx, periodicMetaKey(name))
	if err != nil || !ok {
		return time.Time{}, false, err
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil { // start over from now rather than never again
		s.q.logger.Warn("periodic job: unreadable stored last tick; counting ticks from now", "job", name, "stored", v, "err", err)
		return time.Time{}, false, nil
	}
	return t.UTC(), true, nil
}

func (s periodicStore) SetLast(ctx context.Context, name string, t time.Time) error {
	return s.q.d.SetMeta(ctx, periodicMetaKey(name), t.UTC().Format(time.RFC3339Nano))
}
