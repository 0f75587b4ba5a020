package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/queue-sqlite/queuesqlite"
)

func init() { register(newDemoCmd) }

// Demo defaults.
const (
	demoCountDefault   = 3000
	demoWorkersDefault = 8
	demoTimeoutDefault = 45 * time.Second
	demoSamples        = 5 // callback lines printed
)

// demoOpts are the flags of `demo`.
type demoOpts struct {
	n       int
	workers int
	timeout time.Duration
	plain   bool
}

func newDemoCmd() *cobra.Command {
	var o demoOpts
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run a few thousand tasks and show priorities, callbacks, a retry, an expiry, a dead letter and listeners",
		Long: "Send a few thousand tasks of mixed priority to three handlers, run them with a\n" +
			"progress display, then show a retry, an expiry, a dead letter being requeued and\n" +
			"listeners firing on listen-data changes, a workflow, a pause, a global limit, a periodic\n" +
			"job and a unique job, and print the queue's stats. Uses a fresh temporary directory unless --dir is given\n" +
			"(then the queue is kept there; it must be empty).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.validate(); err != nil {
				return err
			}
			return runDemo(cmd, o)
		},
	}
	f := cmd.Flags()
	f.IntVarP(&o.n, "count", "n", demoCountDefault, "number of tasks in the main batch")
	f.IntVar(&o.workers, "workers", demoWorkersDefault, "worker goroutines")
	f.DurationVar(&o.timeout, "timeout", demoTimeoutDefault, "give up (exit 1) if the demo takes longer")
	f.BoolVar(&o.plain, "plain", false, "print progress as plain lines even on a terminal")
	return cmd
}

func (o demoOpts) validate() error {
	switch {
	case o.n < 1:
		return fmt.Errorf("-n must be at least 1, not %d", o.n)
	case o.workers < 1:
		return fmt.Errorf("--workers must be at least 1, not %d", o.workers)
	case o.timeout <= 0:
		return fmt.Errorf("--timeout must be positive, not %v", o.timeout)
	}
	return nil
}

// demo is one run of the demo: the queue and what its handlers and
// callbacks observed.
type demo struct {
	opts demoOpts
	out  io.Writer
	q    *queuesqlite.Queue

	done     atomic.Int64 // callbacks of the main batch
	notDone  atomic.Int64 // of which not completed
	mu       sync.Mutex
	samples  []string
	firstByP map[queuesqlite.Priority]int // priorities of the first tenth to finish

	gatewayUp atomic.Bool   // the dead-letter handler succeeds once true
	gate      chan struct{} // closed to release the handlers holding the workers
	holding   chan struct{} // one value per holding handler that started

	allDone  chan struct{} // closed by the last main-batch callback
	lastDone time.Time     // when that was
	elapsed  time.Duration // main batch: Start to last callback

	sent map[string]map[queuesqlite.Status]int // what the demo expects per destination

	changes chan *queuesqlite.Change // what the demo's listener received

	features features // the job features' state (demo_features.go)
	jobs     jobs     // the periodic and unique jobs' state (demo_jobs.go)
	extras   extras   // typed job, rate limit, queues and middleware (demo_extras.go)
}

// runDemo opens the queue, runs every part of the demo and closes it.
func runDemo(cmd *cobra.Command, o demoOpts) error {
	dir, keep, err := demoDir(cmd)
	if err != nil {
		return err
	}
	if !keep {
		defer os.RemoveAll(dir)
	}
	ctx, cancel := context.WithTimeoutCause(cmd.Context(), o.timeout,
		fmt.Errorf("the demo did not finish within --timeout %v", o.timeout))
	defer cancel()
	d := &demo{opts: o, out: cmd.OutOrStdout(), firstByP: map[queuesqlite.Priority]int{},
		allDone: make(chan struct{}), gate: make(chan struct{}), holding: make(chan struct{}, o.workers), sent: map[string]map[queuesqlite.Status]int{}}
	if err := d.open(cmd, dir); err != nil {
		return err
	}
	err = d.run(ctx)
	if cerr := d.q.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("close queue: %w", cerr)
	}
	if err == nil && keep {
		fmt.Fprintf(d.out, "\nqueue kept in %s (try: queuesqlite stats --dir %s)\n", dir, dir)
	}
	return err
}

// demoDir returns --dir when it was given (keep), else a new temporary
// directory.
func demoDir(cmd *cobra.Command) (dir string, keep bool, err error) {
	if cmd.Flags().Changed("dir") {
		dir, _, err := queueFlags(cmd)
		return dir, true, err
	}
	dir, err = os.MkdirTemp("", "queuesqlite-demo-*")
	return dir, false, err
}

// run runs the parts of the demo in order; ctx bounds them all.
func (d *demo) run(ctx context.Context) error {
	steps := []func(context.Context) error{d.mainBatch, d.showRetry, d.showExpiry, d.showDeadLetter, d.showListeners,
		d.showWorkflow, d.showPause, d.showLimit, d.showPeriodic, d.showUnique, d.showTyped, d.showRateLimit, d.showQueues,
		d.report}
	for _, step := range steps {
		if err := step(ctx); err != nil {
			if cause := context.Cause(ctx); cause != nil && errors.Is(err, ctx.Err()) {
				return cause
			}
			return err
		}
	}
	return nil
}

// expect records that the demo expects one more message to end in status
// at destination.
func (d *demo) expect(dest string, status queuesqlite.Status, n int) {
	if d.sent[dest] == nil {
		d.sent[dest] = map[queuesqlite.Status]int{}
	}
	d.sent[dest][status] += n
}

// await waits for a message on ch or for ctx to end, saying what it waited for.
func await[T any](ctx context.Context, ch <-chan T, what string) (T, error) {
	select {
	case v := <-ch:
		return v, nil
	case <-ctx.Done():
		var zero T
		return zero, fmt.Errorf("waiting for %s: %w", what, context.Cause(ctx))
	}
}
