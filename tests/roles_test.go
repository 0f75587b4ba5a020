package tests

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/queue-sqlite/queuesqlite"
	"github.com/queue-sqlite/queuesqlite/internal/backendtest"
)

// workerSpec configures the "worker" child role: a process that opens a
// queue, registers handlers with canned behaviours, runs the workers and
// stops gracefully (Stop with a deadline, then Close) on SIGTERM. It
// answers the command "pauses" (see answerPauses).
type workerSpec struct {
	Dir         string            // the queue directory
	Store       string            // a backendtest store spec; when set, used instead of Dir
	Records     string            // where the record file goes
	Name        string            // names the record file
	Workers     int               //
	Shards      int               //
	Lease       time.Duration     //
	Maintenance time.Duration     // Config.MaintenanceInterval
	Poll        time.Duration     // Config.PollInterval
	MaxAttempts int               // handlers' MaxAttempts
	StopAfter   time.Duration     // the Stop deadline on SIGTERM
	Handlers    map[string]string // destination -> behaviour (see handlerFor)
	WorkFor     time.Duration     // "record" handlers work up to this long (random)
	Send        int               // messages to send to "job" once started
	ClockAhead  time.Duration     // when set, Config.Clock runs this far ahead of time.Now
	// QueueLimit, when set, puts every handler in worker queue "limited"
	// (Workers workers) with this QueueConfig.GlobalConcurrency.
	QueueLimit int
	// DestLimit, when set, is every handler's HandlerOpts.GlobalConcurrency.
	DestLimit int
	// RateLimit and RatePer, when set, are every handler's HandlerOpts.RateLimit and RatePer.
	RateLimit int
	RatePer   time.Duration
}

// out serializes the lines a child prints for its parent.
var out sync.Mutex

// say prints one protocol line on stdout.
func say(format string, args ...any) {
	out.Lock()
	defer out.Unlock()
	fmt.Fprintf(os.Stdout, format+"\n", args...)
}

func readSpec(v any) error {
	return json.Unmarshal([]byte(os.Getenv(specEnv)), v)
}

// childLogger logs the queue's warnings to stderr, where the parent can read
// them.
func childLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

func workerRole() int {
	var spec workerSpec
	if err := readSpec(&spec); err != nil {
		say("error spec: %v", err)
		return 2
	}
	terms := make(chan os.Signal, 1)
	signal.Notify(terms, syscall.SIGTERM)
	cfg := &queuesqlite.Config{
		Workers: spec.Workers, Shards: spec.Shards, Lease: spec.Lease, MaintenanceInterval: spec.Maintenance,
		PollInterval: spec.Poll, StopTimeout: spec.StopAfter, Logger: childLogger(),
		Backoff: func(int) time.Duration { return 10 * time.Millisecond },
	}
	if ahead := spec.ClockAhead; ahead != 0 {
		cfg.Clock = func() time.Time { return time.Now().Add(ahead) }
	}
	opts := queuesqlite.HandlerOpts{MaxAttempts: spec.MaxAttempts, GlobalConcurrency: spec.DestLimit,
		RateLimit: spec.RateLimit, RatePer: spec.RatePer}
	if spec.QueueLimit > 0 {
		cfg.Workers, opts.Queue = 0, limitedQueue
		cfg.Queues = map[string]queuesqlite.QueueConfig{limitedQueue: {MaxWorkers: spec.Workers, GlobalConcurrency: spec.QueueLimit}}
	}
	var q *queuesqlite.Queue
	var err error
	if spec.Store != "" {
		q, err = backendtest.OpenSpec(spec.Store, cfg)
	} else {
		q, err = queuesqlite.Open(spec.Dir, cfg)
	}
	if err != nil {
		say("error open: %v", err)
		return 1
	}
	rec, err := openRecorder(filepath.Join(spec.Records, fmt.Sprintf("records-%s-%d.log", spec.Name, os.Getpid())))
	if err != nil {
		say("error records: %v", err)
		return 1
	}
	for dest, behaviour := range spec.Handlers {
		h := handlerFor(behaviour, rec, spec.WorkFor)
		if behaviour == "deps" { // record, after checking the message's dependencies (workflow_test.go)
			h = depsHandler(q, h)
		}
		if err := q.Handle(dest, h, &opts); err != nil {
			say("error handle: %v", err)
			return 1
		}
	}
	if err := q.Start(context.Background()); err != nil {
		say("error start: %v", err)
		return 1
	}
	say("ready %d", os.Getpid())
	go answerPauses(q)
	if spec.Send > 0 {
		if err := sendJobs(q, spec.Send); err != nil {
			say("error send: %v", err)
			return 1
		}
		say("sent %d", spec.Send)
	}
	<-terms
	termAt := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), spec.StopAfter)
	defer cancel()
	if err := q.Stop(ctx); err != nil {
		say("error stop: %v", err)
	}
	stopped := time.Since(termAt)
	if err := q.Close(); err != nil {
		say("error close: %v", err)
		return 1
	}
	say("stopped stop=%v close=%v", stopped.Round(time.Millisecond), (time.Since(termAt) - stopped).Round(time.Millisecond))
	return 0
}

// answerPauses answers each "pauses" command on stdin with the queue's
// pauses (Queue.Paused, after which this process follows them): a line
// "pauses kind:name ...".
func answerPauses(q *queuesqlite.Queue) {
	for cmd := range commands() {
		if cmd != "pauses" {
			continue
		}
		ps, err := q.Paused(context.Background())
		if err != nil {
			say("error paused: %v", err)
			continue
		}
		line := "pauses"
		for _, p := range ps {
			line += fmt.Sprintf(" %s:%s", p.Kind, p.Name)
		}
		say("%s", line)
	}
}

// sendJobs sends n messages to "job" in batches of 100.
func sendJobs(q *queuesqlite.Queue, n int) error {
	for sent := 0; sent < n; {
		batch := make([]*queuesqlite.Message, min(100, n-sent))
		for i := range batch {
			batch[i] = queuesqlite.NewMessage("job", map[string]any{"n": sent + i, "from": os.Getpid()})
		}
		if _, err := q.SendBatch(context.Background(), batch, nil); err != nil {
			return err
		}
		sent += len(batch)
	}
	return nil
}

// handlerFor returns a handler with a canned behaviour:
//
//	record    record (id, attempt), then return a result
//	hold      record, print "holding", wait for the context to end, print
//	          "cancelled" with its cause, then return a (late) result
//	polite    print "started", return when the context ends
//	stubborn  print "started", never return, ignoring the context
//	sleep     print "sleeping", work for workFor exactly (ending early,
//	          with a "cancelled" line, if the context ends), record, then
//	          return a result
//	selfkill  record, then SIGKILL its own process
//	panic     record, then panic
//	deps      record (workerRole checks the dependencies first)
func handlerFor(behaviour string, rec *recorder, workFor time.Duration) queuesqlite.HandlerFunc {
	never := make(chan struct{})
	return func(ctx context.Context, m *queuesqlite.Message) (any, error) {
		switch behaviour {
		case "polite", "stubborn":
			say("started %s %d", m.ID, m.Attempt)
			if behaviour == "stubborn" {
				<-never
			}
			<-ctx.Done()
			return nil, context.Cause(ctx)
		case "sleep":
			return sleepFor(ctx, m, rec, workFor)
		}
		if workFor > 0 {
			time.Sleep(rand.N(workFor))
		}
		if err := rec.add(m.ID, m.Attempt); err != nil {
			say("error record: %v", err)
			os.Exit(3)
		}
		switch behaviour {
		case "hold":
			say("holding %s %d", m.ID, m.Attempt)
			<-ctx.Done()
			cause := context.Cause(ctx)
			say("cancelled %s %d leaselost=%t cause=%v", m.ID, m.Attempt, errors.Is(cause, queuesqlite.ErrLeaseLost), cause)
			return map[string]any{"late": os.Getpid()}, nil
		case "selfkill":
			_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
			<-never
		case "panic":
			panic(fmt.Sprintf("handler panics on purpose (attempt %d)", m.Attempt))
		}
		return map[string]any{"pid": os.Getpid(), "attempt": m.Attempt}, nil
	}
}

// sleepFor is the "sleep" behaviour: a handler that keeps its message for
// d (its lease renewed meanwhile) unless its context ends first.
func sleepFor(ctx context.Context, m *queuesqlite.Message, rec *recorder, d time.Duration) (any, error) {
	say("sleeping %s %d", m.ID, m.Attempt)
	select {
	case <-time.After(d):
	case <-ctx.Done():
		cause := context.Cause(ctx)
		say("cancelled %s %d leaselost=%t cause=%v", m.ID, m.Attempt, errors.Is(cause, queuesqlite.ErrLeaseLost), cause)
		return nil, cause
	}
	if err := rec.add(m.ID, m.Attempt); err != nil {
		say("error record: %v", err)
		os.Exit(3)
	}
	return map[string]any{"pid": os.Getpid(), "attempt": m.Attempt}, nil
}

// commands returns the lines the parent writes to the child's stdin.
func commands() <-chan string {
	c := make(chan string)
	go func() {
		sc := bufio.NewScanner(os.Stdin)
		for sc.Scan() {
			c <- sc.Text()
		}
		close(c)
	}()
	return c
}
